"""What to collect next: when the evidence cannot decide, say so and give the exact commands.

Each check looks at what the inputs *are* (which sources, which clock, which transports a
sniffer filter let through) and at what the findings could not settle (an unanswered
request seen from one side only, an encrypted exchange whose notify is hidden, ESP the
CPU sniffer may not see), and returns one sentence ending in the FortiGate commands that
would settle it. The Diagnosis carries them as ``next_steps``; the reports print them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ikeanalyze.analysis import capfilter, views
from ikeanalyze.analysis.context import Context
from ikeanalyze.analysis.flows import PACKET_ORIGINS
from ikeanalyze.diagnosis import Finding
from ikeanalyze.endpoints import host

# Codes whose story is "something was not answered": only the peer's side can say why.
UNANSWERED = {"IKE101", "IKE102", "IKE105", "IKE106", "IKE107", "IKE111", "IKE212", "IKE301", "IKE302", "IKE304"}
# Codes whose cause the input shows outside IKE (a packet dropped before encryption: IKE is
# up): the IKE debug cannot add to them, so they do not call for it.
NOT_IKE = frozenset({"IKE214"})
# Codes whose story is a negotiation that failed or went unanswered: why is in the
# encrypted exchanges. Other troubles come with IKE up (a path that stalled, ESP one way),
# and "why IKE failed" would send the reader after a failure that did not happen.
NEGOTIATION_FAILED = frozenset({"IKE105", "IKE106", "IKE107", "IKE109", "IKE110", "IKE201", "IKE202", "IKE203",
                                "IKE204", "IKE205", "IKE206", "IKE207", "IKE208", "IKE209", "IKE210", "IKE211",
                                "IKE212", "IKE213", "IKE302", "IKE304"})
# Codes of a peer that stopped answering an established tunnel.
PEER_SILENT = frozenset({"IKE101", "IKE102", "IKE301"})
NP_NOTE = "np-offload-may-hide-esp"  # a list rules/ike108_esp_one_way.py appends to (rules.registry.NOTES)
PEER = "<peer>"


# What follows the debug's filter: timestamps on, the IKE debug on.
DEBUG_ON = "`diagnose debug console timestamp enable`, `diagnose debug application ike -1`, `diagnose debug enable`"


def log_filter(peer: str) -> str:
    """The IKE debug's filter on ``peer``: `rem-addr6` for an IPv6 address (`rem-addr4` takes none)."""
    return f"`diagnose vpn ike log filter rem-addr{6 if ':' in peer else 4} {peer}`"


def debug_commands(peer: str) -> str:
    return f"{log_filter(peer)}, {DEBUG_ON}"


def sniffer_command(peer: str) -> str:
    return f"`diagnose sniffer packet any 'host {peer} and (udp port 500 or udp port 4500 or tcp port 5500 or esp)' 6 0 l`"


def tcpdump_command(peer: str) -> str:
    return f"`tcpdump -ni any -tttt 'host {peer} and (udp port 500 or udp port 4500 or tcp port 4500 or tcp port 5500 or esp)'`"


def suggest(ctx: Context, findings: list[Finding]) -> list[str]:
    """The next steps for this Diagnosis, most useful first, without repeats."""
    every = [f for top in findings for f in (top, *top.symptoms)]
    peer = next((f.peer_ip for f in every if f.peer_ip), None) or _only_peer(ctx) or PEER
    origins = {str(o) for o in ctx.events["origin"].dropna().unique()} if len(ctx.events) else set()
    codes = {f.code for f in findings}  # the causes: a symptom's step is its cause's
    troubled = any(f.severity in ("warning", "error", "critical") for f in every)
    out: list[str] = []

    if "ikedebug" in origins and troubled and _untimed_debug(ctx):
        out.append("The IKE debug has no timestamps, so waits, back-off and the order against other inputs "
                   "cannot be measured: run `diagnose debug console timestamp enable` before collecting again.")
    # Unless the input from the other end of every such peer is there already (analysis.otherend).
    seen_from_both = {f.peer_ip for f in every if f.facts.get("other_end")}
    if codes & UNANSWERED and any(f.peer_ip not in seen_from_both for f in every if f.code in UNANSWERED):
        # Packets seen only by tcpdump were captured on a host that is no FortiGate (the
        # peer's Linux, a jump host): the same again there is tcpdump, with its date.
        here = tcpdump_command(peer) if origins & set(PACKET_ORIGINS) == {"tcpdump"} else sniffer_command(peer)
        out.append(f"Only this side's view shows what went unanswered; collect the same on {peer} (or at "
                   f"the firewall in between) to see whether the packets arrive: {sniffer_command(_local_or(ctx, peer))} "
                   f"there, and {here} here.")
    of_ike = [f for f in every if f.code not in NOT_IKE]
    if not origins & {"ikedebug"} and (origins & set(PACKET_ORIGINS)) and _needs_debug(ctx, of_ike):
        troubles = {f.code for f in of_ike if f.severity in ("warning", "error", "critical")}
        hidden = "(IKE_AUTH and later exchanges are encrypted and hide the notify)"
        if troubles & NEGOTIATION_FAILED:
            lead = f"Packets alone cannot show why IKE failed {hidden}"
        elif troubles & PEER_SILENT:
            lead = ("Packets alone cannot show why the peer went silent or what IKE did about it (DPD probes, "
                    "deletes and notifies travel in encrypted exchanges)")
        elif troubles:
            lead = ("Packets alone cannot show what IKE knew of it (deletes, rekeys and notifies travel in "
                    "encrypted exchanges)")
        else:
            lead = ("The IKE negotiation reached its encrypted exchanges and no ESP followed in the capture: if "
                    f"the tunnel did not come up, packets alone cannot show why {hidden}")
        out.append(f"{lead}: collect the IKE debug on the gateway: {debug_commands(peer)}, then reproduce.")
    elif "ikedebug" in origins and _several_peers(ctx) and peer != PEER:
        out.append(f"The debug mixes several peers; filter it to the one that fails with "
                   f"{log_filter(peer)} before `diagnose debug application ike -1`.")
    if "ikedebug" in origins and not origins & set(PACKET_ORIGINS) and codes & UNANSWERED:
        out.append(f"The debug cannot show packets lost on the way; run the sniffer at the same time: "
                   f"{sniffer_command(peer)}.")
    if "sniffer" in origins and _filter_too_narrow(ctx):
        out.append(_udp500_only(ctx, peer))
    hidden = ctx.extras.get(NP_NOTE)
    if hidden:
        out.append(f"ESP is seen one way only by the CPU sniffer for {', '.join(sorted(set(hidden)))}; with NP "
                   f"offload the sniffer may miss the other direction. Check `diagnose vpn tunnel list name "
                   f"<tunnel>` (`npu_flag`, `enc`/`dec` counters) or test with `set npu-offload disable` on the "
                   f"phase 1.")
    return list(dict.fromkeys(out))


def _untimed_debug(ctx: Context) -> bool:
    ev = ctx.events
    dbg = (ev["origin"] == "ikedebug").fillna(False).to_numpy()
    return bool(dbg.any()) and bool(ev["time"][dbg].isna().all())


def _only_peer(ctx: Context) -> str | None:
    flows = ctx.flows
    if flows.empty or "remote" not in flows:
        return None
    peers = set(flows["remote"].dropna().astype(str))
    return peers.pop() if len(peers) == 1 else None


def _local_or(ctx: Context, peer: str) -> str:
    """The local side's address, for the sniffer command run on ``peer``. Never ``peer``
    itself: where the flows took it for the local side (a tcpdump of one host refusing
    another's IKE with ICMP: which end captured cannot be told, and the finding names the
    refusing host as the peer), this side is the other end of its flows."""
    flows = ctx.flows
    if flows.empty or "local" not in flows:
        # No packets: a tunnel list or gateway list of that peer names this side's address.
        mine = [host(str(s["local"])) for s in ctx.snapshots.as_list()
                if s.get("local") and s.get("remote") and host(str(s["remote"])) == peer]
        return next((a for a in mine if a != peer), "<this gateway>")
    local = flows["local"].astype(str)
    ends = local[flows["local"].notna().to_numpy() & (local != peer).to_numpy()]
    if not len(ends) and "remote" in flows:
        ends = flows["remote"][(local == peer).to_numpy()].dropna().astype(str)
        ends = ends[ends != peer]
    counts = ends.value_counts()
    return str(counts.index[0]) if len(counts) else "<this gateway>"


def _several_peers(ctx: Context) -> bool:
    ev = ctx.events
    dbg = (ev["origin"] == "ikedebug").fillna(False).to_numpy() & (ev["kind"] == "ike-received").fillna(False).to_numpy()
    return ev["src"][dbg].dropna().nunique() > 1


def _needs_debug(ctx: Context, findings: list[Finding]) -> bool:
    """A failure is visible, or an IKEv2 negotiation reached its encrypted part and no ESP
    followed: the reason is inside the encrypted exchanges."""
    if any(f.severity in ("warning", "error", "critical") for f in findings):
        return True
    ev = ctx.events
    ike = (ev["kind"] == "ike").fillna(False).to_numpy()
    if not ike.any():
        return False
    encrypted = ev["payloads"][ike].fillna("").astype(str).str.contains(r"\bSKF?\b").any()
    esp = bool((ev["kind"] == "esp").fillna(False).any())
    return bool(encrypted and not esp)


# What a sniffer that saw IKE on UDP 500 only may have missed (capfilter.passes_with_udp500's kinds).
BEYOND_UDP500 = [("NAT-T (UDP 4500)", "nat-t"), ("IKE over TCP", "tcp"), ("ESP", "esp")]


def _udp500_only(ctx: Context, peer: str) -> str:
    """The step for a sniffer that shows IKE on UDP 500 only: what its filter (when the
    paste shows it, and it is read: capfilter) left out, or that the negotiation never got
    further. A paste of several runs is told by the filters of the runs its packets are
    in: one that let everything through and saw nothing more settles it."""
    again = f"Capture again with {sniffer_command(peer)}."
    runs = _packet_runs(ctx)
    known = [r for r in runs if r is not None]
    judged = [(r, capfilter.passes_with_udp500(r.filter)) for r in known]
    wide = next((r for r, p in judged if p is not None and all(p[kind] for _, kind in BEYOND_UDP500)), None)
    if wide is not None:
        shown = _shown(wide, len(runs) > 1)
        return (f"The sniffer shows IKE on UDP 500 only, though {shown} lets NAT-T, IKE over TCP and ESP "
                f"through: the negotiation never got past UDP 500 (no NAT between the peers, or it failed before "
                f"phase 2); the IKE debug says where.")
    if not known or len(known) < len(runs) or any(p is None for _, p in judged):
        # (the paste kept neither `filters=[...]` nor the command for some packets, or a filter is not read)
        named = ", ".join(f"`{r.filter}`" for r in known if r.filter)
        its = f"its filter{'s' if len(known) > 1 else ''} ({named})" if named else "its filter"
        return (f"The sniffer shows IKE on UDP 500 only: no NAT-T (UDP 4500), IKE over TCP or ESP, where the rest "
                f"of the story happens; either {its} left them out or the negotiation never got that far. "
                f"{again}")
    left_out = [what for what, kind in BEYOND_UDP500 if not any(p[kind] for _, p in judged)]
    let = [what for what, kind in BEYOND_UDP500 if any(p[kind] for _, p in judged)]
    if len(known) == 1:
        shown, verb = _shown(known[0], False), "leaves"
    else:
        shown, verb = f"its runs' filters ({', '.join(f'`{r.filter}`' for r in known)})", "leave"
    return (f"The sniffer shows IKE on UDP 500 only, and {shown} {verb} out {_and(left_out)}, "
            f"where the rest of the story happens" + (f" ({'it lets' if len(known) == 1 else 'they let'} {_and(let)} through: none came)" if let else "")
            + f". {again}")


def _shown(run, several: bool) -> str:
    """A run's filter as the step names it (among ``several`` runs, by the line it starts at)."""
    if several:
        return f"its run from line {run.first} " + (f"(`{run.filter}`)" if run.filter else "(without a filter)")
    return f"its filter (`{run.filter}`)" if run.filter else "it ran without a filter, which"


def _packet_runs(ctx: Context) -> list:
    """The sniffer runs (ingest.CaptureRun) the input's sniffer packets were printed in, in
    order; None for packets under no run the paste shows."""
    ev = ctx.events
    mine = (ev["origin"] == "sniffer").fillna(False).to_numpy()
    out: list = []
    reports = {r.source: r for r in ctx.ingest.inputs}
    for source, refs in ev[["source", "ref"]][mine].groupby("source", sort=False, observed=True)["ref"]:
        report = reports.get(str(source))
        runs = report.capture_runs if report is not None else []
        at, inside = views.runs_at(refs.dropna().to_numpy(dtype=np.float64), runs)
        for k in np.unique(at):
            # (packets above the first run, or below a run's end after a prompt: under no filter
            # shown; listed where they come, after the run a prompt ended, not first as -1 would)
            held = inside[at == k]
            if held.any():
                out.append(runs[k])
            if not held.all():
                out.append(None)
    return list(dict.fromkeys(out))


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _filter_too_narrow(ctx: Context) -> bool:
    ev = ctx.events
    mine = (ev["origin"] == "sniffer").fillna(False).to_numpy()
    if not mine.any():
        return False
    sn = ev[["transport", "proto"]][mine]  # columns first: slicing every column copies the text
    transports = {str(x) for x in sn["transport"].dropna().unique()}
    proto = {str(x) for x in sn["proto"].dropna().unique()}
    return transports == {"udp500"} and "esp" not in proto and not pd.isna(sn["transport"]).all()
