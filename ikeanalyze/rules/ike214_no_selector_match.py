"""Traffic dropped entering an IPsec tunnel: no phase-2 selector matches the packet.

## What it detects
A `diagnose debug flow` trace that ends in `No matching IPsec selector, drop`: the packet
was routed to the tunnel interface (`enter IPSec interface X`, older builds `enter IPsec
interface-X`), but its source and destination, after NAT, fall in none of the tunnel's
phase-2 selectors, so the FortiGate dropped it before encryption. One finding per tunnel
(per trace when the trace names none), with each dropped packet as the trace shows it:
protocol, source and destination, the source after SNAT (`SNAT 10.0.1.6->10.0.11.17`),
where it came from (`from local`: the FortiGate sent it itself). When the input also holds
the tunnel's `diagnose vpn tunnel list`, its selectors (`src:`/`dst:` under each
`proxyid=`) are compared with the packet, and the side that falls outside is named; without
one, the `phase2s:` lines of its `diagnose vpn ike config` (`<p2> proto 0 src <addr>/<mask>:0
dst ...`), or else the phase 2s of a pasted configuration (`config vpn ipsec phase2-interface`, `set
src-subnet` / `set dst-subnet`, or the defaults `show` leaves out) are.
(Selectors the two peers disagree on, refused during the negotiation, are IKE203; here
the phase 2 is up and the packet fits none of its selectors.)

## Why it matters
The tunnel looks healthy: phase 1 and phase 2 are up, the tunnel list shows SAs and
counters, routing and the firewall policy send the packet to the tunnel. Yet this traffic
never leaves: no ESP goes out for it, the peer sees nothing, and an SD-WAN performance SLA
over the tunnel goes down (its routes withdrawn) while the tunnel is up.

## Evidence
Per dropped packet: the trace's `received a packet(...)` line, its SNAT/DNAT line, the line
naming the tunnel and the drop line; the tunnel list's header and selector lines when the
input has them, else `ike config`'s `name:` and `phase2s:` lines, else the configuration's
`edit` and selector statements. How many traces were dropped on the tunnel.

## Fix
Make the packet fit a phase-2 selector, or a selector fit the packet: compare the packet
as the trace shows it after NAT with `diagnose vpn tunnel list name <phase1>` and add or
widen a phase 2 (`config vpn ipsec phase2-interface`, `set src-subnet` / `set dst-subnet`
or address groups), then mirror it on the peer. If the source is translated (SNAT, IP
pool), the local selector must hold the translated address: change the IP pool or the
selector so they agree; if the trace shows no SNAT where one was meant, check that the
policy the packet hits towards the tunnel has `set nat enable` with the `ippool`. Traffic
the FortiGate sends itself (`from local`: SD-WAN SLA probes, `execute ping`, BGP, logging)
leaves with the outgoing interface's address: give it a source inside the selector (`set
source <address>` in the SD-WAN `health-check`, `execute ping-options source`, the
service's `source-ip`) or give the tunnel interface an address inside the selector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ikeanalyze.analysis import configured, flowtrace, snapshots
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import NoThresholds, rule

# Packets and traces told in a finding's message and evidence; the count says the rest.
MAX_SHOWN = 3
# Distinct packets listed in the finding's facts (`distinct_packets` counts them all).
MAX_FACTS = 50
# What the tunnel list's selectors say of the packet (flowtrace.verdict), for the message.
VERDICTS = {
    "source": "the source {src} is outside every phase-2 source selector (the destination is inside)",
    "destination": "the destination {dst} is outside every phase-2 destination selector (the source is inside)",
    "both": "both the source {src} and the destination {dst} are outside them",
    "pair": "the source and the destination are each inside some phase 2, but not the same one",
    "port": "the addresses are inside, the protocol or port is not",
    "inside": ("they cover this packet: the list is from another moment than the trace, or the phase 2 "
               "that holds it had no SA when the packet came"),
    None: "the packet's addresses cannot be compared with them (not shown or redacted in the trace)",
}

# What the message says of a dropped packet, in order: (when it applies, what it says).
NOTES: list[tuple[Callable[[flowtrace.Drop], object], str]] = [
    (lambda d: d.local, "sent by the FortiGate itself: `from local`"),
    (lambda d: not d.local and d.iface, "received on {iface}"),
    (lambda d: d.snat, "source translated by SNAT from {src}"),
    (lambda d: d.dnat, "destination translated by DNAT from {dst}"),
    (lambda d: not (d.snat or d.dnat), "no NAT in the trace"),
]

# The step for the cause the trace shows (finding(fix=)); other drops get the Fix section.
FIXES = {
    "local": ("The dropped packets are the FortiGate's own (`from local`): they carry the source it picked "
              "({src}, usually the outgoing interface's address), outside the selector, and no firewall "
              "policy's NAT applies to them. Give them a source inside the selector: "
              "`set source <address>` in the SD-WAN `health-check` (SLA probes), `execute ping-options source "
              "<address>` (ping), the service's `source-ip`; or give the tunnel interface an address inside "
              "the selector; or add a phase 2 for {src} (`config vpn ipsec phase2-interface`), mirrored on "
              "the peer."),
    "snat": ("The source is translated before the tunnel (SNAT {src_in} → {src}): the local selector must hold "
             "the translated address. Make the phase 2's `src-subnet` cover what the IP pool gives, or change "
             "the IP pool (or the policy's NAT) so it translates into the selector; mirror the phase 2 on the "
             "peer."),
}


@rule("IKE214", "no-selector-match", severity="error")
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    groups: dict[tuple, list[flowtrace.Drop]] = {}
    for d in flowtrace.drops(ctx.events):
        if d.reason != "no-selector":
            continue  # (a dial-up parent with no instance for the next hop: IKE215)
        groups.setdefault((d.source, d.reason, d.tunnel or f"trace {d.trace_id}"), []).append(d)
    for drops in groups.values():
        yield _finding(ctx, drops)


def _finding(ctx: Context, drops: list[flowtrace.Drop]) -> Finding:
    first, last = drops[0], drops[-1]
    tunnel = first.tunnel
    packets: dict[tuple, flowtrace.Drop] = {}
    for d in drops:
        packets.setdefault((d.proto, d.out_src, d.out_dst, d.snat, d.local), d)
    shown = list(packets.values())[:MAX_SHOWN]
    more = len(packets) - len(shown)
    ids = ", ".join(d.trace_id for d in drops[:MAX_SHOWN]) + (", …" if len(drops) > MAX_SHOWN else "")
    span = first.where + (f" to {last.where}" if len(drops) > 1 else "")
    where = f"IPsec tunnel {tunnel}" if tunnel else "an IPsec tunnel the trace does not name"
    msg = (f"{counted(len(drops), 'traced packet')} entering {where} dropped before encryption "
           f"(`No matching IPsec selector, drop`, trace_id {ids}, {span}): no phase-2 selector matches "
           + "; ".join(_packet(d) for d in shown) + (f"; and {counted(more, 'other packet')}" if more else "") + ".")
    ev = [evidence(r) for d in drops[:MAX_SHOWN] for r in d.rows]
    selectors, where, shown_by, inside = _selectors(ctx, tunnel)
    verdicts = [flowtrace.verdict(selectors, d) for d in shown] if selectors else []
    if selectors:
        listed = ", ".join(f"phase 2 {p['proxyid']} (src {_sels(p['src'])}, dst {_sels(p['dst'])})" for p in selectors)
        said = [(inside if v == "inside" else VERDICTS[v]).format(src=d.out_src, dst=d.out_dst)
                for v, d in zip(verdicts, shown)]
        if len(said) > 1:
            said = [f"for {d.out_src} → {d.out_dst}, {v}" for v, d in zip(said, shown)]
        msg += f" {where} has {listed}: {'; '.join(said)}."
        ev += shown_by
    elif where:  # a configuration whose phase 2s name address objects
        msg += f" {where}"
        ev += shown_by
    elif tunnel:
        msg += (f" The input holds no tunnel list of {tunnel}: compare the packet with `diagnose vpn tunnel "
                f"list name {tunnel}` (`src:`/`dst:` under each `proxyid=`).")
    cause = "snat" if first.snat else "local" if all(d.local for d in drops) else None
    fix = FIXES[cause].format(src=first.out_src, src_in=first.received("src")) if cause else None
    return finding(
        "IKE214", msg,
        between=(first.row, last.row), tunnel=tunnel, evidence=ev, fix=fix,
        timeline=[moment(first.row, f"a packet entering {tunnel or 'an IPsec tunnel'} dropped: "
                                    "no phase-2 selector matches it")],
        facts={"traces": len(drops), "reason": first.reason,
               "distinct_packets": len(packets), "packets": [_fact(d) for d in list(packets.values())[:MAX_FACTS]],
               "selectors": selectors, "outside": verdicts[0] if verdicts else None},
    )


# `diagnose vpn ike config`'s phase 2s that cover the packet: what `inside` means of them.
IKE_CONFIG_INSIDE = ("they cover this packet: the output is from another moment than the trace, or the phase 2 "
                     "that holds it had no SA when the packet came")
# A configuration's phase 2s that cover the packet: what `inside` means of them.
CONFIGURED_INSIDE = ("they cover this packet: the phase 2 that holds it had no SA when the packet came, or the "
                     "configuration pasted is not the one the device ran")


def _selectors(ctx: Context, tunnel: str | None) -> tuple[list[dict], str, list, str]:
    """The tunnel's phase-2 selectors, where they were read (for the message), the lines
    that show them and what a packet inside them means: its tunnel list, else the `phase2s:`
    of its `diagnose vpn ike config`, else its pasted configuration (`config vpn ipsec
    phase2-interface`); none when the input has none of them. A
    configuration whose phase 2s name address objects gives no selectors, only the sentence
    that says so."""
    st = ctx.snapshots.get(tunnel) if tunnel else None
    if st and st.selectors:
        return (st.selectors, f"Its tunnel list (line {st.tunnel.header.ref})",
                [st.tunnel.header, *st.tunnel.evidence("selector")], VERDICTS["inside"])
    b = snapshots.ike_config_selectors(ctx, tunnel)
    if b is not None:
        return (b.facts["selectors"], f"Its `diagnose vpn ike config` (line {b.line('name:').ref})",
                [b.line("name:"), *b.evidence("selector")], IKE_CONFIG_INSIDE)
    phase2s = ctx.configured.phase2s(tunnel)
    if not phase2s:
        return [], "", [], ""
    shown_by = [e for p2 in phase2s for e in p2.evidence(*configured.SELECTOR_KEYS)]
    lines = ("lines " if len(phase2s) > 1 else "line ") + ", ".join(str(p2.header.ref) for p2 in phase2s)
    read = [(p2, configured.selectors(p2)) for p2 in phase2s]
    named = [p2.name for p2, sides in read if sides is None]
    if named:
        return [], (f"Its configuration ({lines}) selects by address object in phase 2 {', '.join(named)}, "
                    "which the input does not resolve: compare the packet with those objects (`show firewall "
                    "address`, `show firewall addrgrp`)."), shown_by, ""
    return ([{"proxyid": p2.name, "src": sides[0], "dst": sides[1]} for p2, sides in read],
            f"Its configuration (`config {phase2s[0].path}`, {lines})", shown_by, CONFIGURED_INSIDE)


def _packet(d: flowtrace.Drop) -> str:
    """`ICMP 10.40.16.57 → 172.31.128.20 (sent by the FortiGate itself: `from local`; no NAT in the trace)`."""
    proto = f"{d.proto_name} " if d.proto_name else ""
    src = d.address("src") if d.out_src else "(source not shown)"
    dst = d.address("dst") if d.out_dst else "(destination not shown)"
    notes = [text.format(iface=d.iface, src=d.received("src"), dst=d.received("dst")) for when, text in NOTES if when(d)]
    return f"{proto}{src} → {dst} ({'; '.join(notes)})"


def _fact(d: flowtrace.Drop) -> dict:
    return {"proto": d.proto, "src": d.out_src, "dst": d.out_dst, "sport": d.sport, "dport": d.dport,
            "received_src": d.received("src"), "received_dst": d.received("dst"), "from": d.iface, "snat": d.snat,
            "dnat": d.dnat}


def _sels(values: list[str]) -> str:
    """Selectors as networks (`172.31.192.0/20`), as printed when not read."""
    out = []
    for v in values:
        s = flowtrace.selector(v)
        out.append(s.shown if s else v)
    return ", ".join(out) or "(none)"


