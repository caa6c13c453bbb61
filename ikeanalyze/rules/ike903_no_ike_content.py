"""No IKE content: the input holds no IKE or IPsec evidence that ikeanalyze can read.

## What it detects
Inputs that were read without error but hold no IKE message, ESP packet, NAT-T
keepalive, IKE-over-TCP stream or TCP packet on IKE's TCP port (a connection reset there:
IKE110), ICMP port unreachable for UDP 500 or 4500, IKE debug line,
state snapshot or `debug flow` line showing a packet in IPsec: for example only authentication-daemon (fnbamd, samld) lines,
a sniffer filter that caught only other traffic, a flow trace of packets that never
reach an IPsec interface, or an empty paste.

## Why it matters
No IPsec finding can come from such an input, so a clean report says nothing about the
tunnel. Findings from other lines (an authentication failure in fnbamd lines) still
stand, but the IKE side of the story is missing.

When some lines are of no form ikeanalyze knows, the finding does not claim there is no
evidence: those lines may be IKE output of another kind (another vendor's log, a format
this version does not read), so it says what it could not read, with the first such line.

A sniffer on a tunnel interface (how the FortiOS docs show that a tunnel passes
traffic) sees the traffic inside the tunnel, never its IKE or ESP: such packets are told
per interface, with the echo requests and replies among them, as what the input does show.

## Evidence
What the input did hold: its accounting by reason and the kinds of events read from it.

## Fix
Collect the IKE side: `diagnose vpn ike log filter rem-addr4 <peer>`, `diagnose debug
application ike -1`, `diagnose debug console timestamp enable`, `diagnose debug enable`,
then reproduce; or a sniffer that includes IKE and ESP: `diagnose sniffer packet any
'host <peer> and (udp port 500 or udp port 4500 or tcp port 5500 or esp)' 6 0 l`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze.analysis.context import Context
from ikeanalyze.analysis.flows import PACKET_ORIGINS
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.rules import fromicmp
from ikeanalyze.rules.base import evidence, finding
from ikeanalyze.rules.registry import NoThresholds, rule

# Event kinds that are not IKE/IPsec evidence on their own. (A `snapshot` is: a tunnel or
# gateway list says what the tunnel's state was, and IKE103/IKE105/IKE108 read it. So is a
# `flow-ipsec` trace line: the packet entered, left or came from an IPsec tunnel; a `flow`
# line, a packet's session, route or policy, is not.)
# A FortiGate event-log line of another subtype than `vpn` (`log-other`) is not either, nor a
# statement of a pasted configuration (`config`): how the tunnel is set up, not what it did.
NOT_IKE = frozenset({"authd", "other", "icmp", "arp", "tcp", "flow", "log-other", "config"})


@rule("IKE903", "no-ike-content", severity="info")
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    ev = ctx.events
    # Only the kind column per source, counted by arrow (in order of first appearance, as a
    # Counter of the values would be), not a Python string per event.
    kinds_by_source = ({s: _count(g) for s, g in ev.groupby("source", sort=False)["kind"]} if len(ev) else {})
    # An ICMP port unreachable for UDP 500/4500 is IKE evidence: IKE or NAT-T was refused (IKE105, IKE106).
    # So is TCP to IKE's TCP port when nothing got through (a reset answering the SYN: IKE110).
    evidence_sources = ({c.source for c in ctx.tcp_ike} | set(ctx.ike_tcp_port_packets["source"].unique())
                        | fromicmp.evidence_sources(ctx))
    for r in ctx.ingest.inputs:
        kinds = kinds_by_source.get(r.source, Counter())
        if any(k not in NOT_IKE for k in kinds) or r.source in evidence_sources:
            continue
        held = ", ".join(f"{v} {k}" for k, v in kinds.most_common()) or "no events"
        counts = ", ".join(f"{k} {v}" for k, v in r.accounting.items() if v)
        unread = r.accounting.get("unrecognised", 0)
        if unread:
            first = f" (first: {r.unit} {r.examples[0][0]}: {r.examples[0][1][:80]!r})" if r.examples else ""
            they, are, were, carry = ("it", "is", "was", "carries") if unread == 1 else ("they", "are", "were", "carry")
            what, unseen = ((f"{counted(unread, 'frame')} {are} on a link layer it does not decode{first}",
                             f"If {they} {carry} IKE or IPsec, it was not looked at")
                            if r.unit == "frame" else
                            (f"{counted(unread, r.unit)} {are} of no form it knows{first}",
                             f"If {they} {are} IKE or IPsec output of another kind (another vendor's log, a format this "
                             f"version does not read), {they} {were} not looked at"))
        mine = ev[(ev["source"] == r.source).to_numpy()] if len(ev) else ev
        inner = " ".join(filter(None, (_inner_traffic(mine), _configuration(mine))))
        if unread:
            msg = (f"{r.source} holds no IKE or IPsec evidence that ikeanalyze can read ({held}; "
                   f"{counted(r.total, r.unit)}: {counts}): {what}. {unseen}; "
                   + (inner or "nothing read here shows what the tunnel did."))
        else:
            msg = (f"{r.source} holds no IKE or IPsec evidence ({held}; {counted(r.total, r.unit)}: {counts or 'empty'}): "
                   + (inner or "nothing here can show what the tunnel did."))
        rows = mine.head(2)
        yield finding("IKE903", msg, evidence=[evidence(row) for row in rows.itertuples()],
                      facts={"source": r.source, "kinds": dict(kinds), "total": r.total})


ECHO = {"echo request": "request", "echo reply": "reply"}


def _inner_traffic(rows) -> str:
    """What the packets that are not IKE or ESP show, per interface: a sniffer on a tunnel
    interface (the docs' own way to show a tunnel passes traffic) sees the traffic inside
    the tunnel, never its IKE or ESP. Empty when there are none."""
    pkts = rows[rows["origin"].isin(PACKET_ORIGINS).to_numpy() & rows["kind"].isin(("icmp", "tcp")).to_numpy()
                & rows["iface"].notna().to_numpy()]
    if pkts.empty:
        return ""
    per = []
    for iface, g in pkts.groupby("iface", sort=False):
        ways = g["direction"].value_counts()
        per.append(f"{iface} ({int(ways.get('out', 0))} out, {int(ways.get('in', 0))} in)")
    echo = pkts["detail"].astype(object).map(ECHO).value_counts()
    asked, answered = int(echo.get("request", 0)), int(echo.get("reply", 0))
    pings = (f" ({counted(asked, 'echo request')}, {counted(answered, 'echo reply', 'echo replies')})"
             if asked or answered else "")
    kinds = " and ".join(k.upper() for k in dict.fromkeys(pkts["kind"].astype(str)))
    return (f"its {counted(len(pkts), f'{kinds} packet')}{pings} crossed {', '.join(per)}. If these are tunnel interfaces, that is "
            f"traffic inside the tunnel, not the IKE or ESP that carries it: it shows whether the tunnel passes "
            f"traffic, not why it fails.")


def _configuration(rows) -> str:
    """What a pasted configuration shows: which tunnels it sets up. Empty when there is none."""
    cfg = rows[(rows["kind"] == "config").fillna(False).to_numpy()]
    if cfg.empty:
        return ""
    tunnels = list(dict.fromkeys(cfg["tunnel"].dropna().astype(str)))
    of = (f" (of tunnel{'s' if len(tunnels) > 1 else ''} {', '.join(tunnels[:5])}{' …' if len(tunnels) > 5 else ''})"
          if tunnels else "")
    return (f"its {counted(len(cfg), 'configuration statement')}{of} say how the tunnel is set up, not what it did: "
            f"collect a debug or a sniffer beside them.")


def _count(kinds) -> Counter:
    counts = pc.value_counts(pa.array(kinds.array))
    return Counter({("<NA>" if v is None else v): n for v, n in zip(counts.field("values").to_pylist(),
                                                                     counts.field("counts").to_pylist())})
