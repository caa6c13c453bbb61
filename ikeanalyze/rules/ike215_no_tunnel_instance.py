"""Traffic routed into a dial-up tunnel interface finds no tunnel instance for its next hop.

## What it detects
A `diagnose debug flow` trace that ends at `enter IPSec interface X, tun_id=0.0.0.0` (no
`IPsec encrypt`, no `send to` after it), where X is a dial-up phase 1: a tunnel list in
the input shows its instances (`name=X_1 ... parent=X ... tun_id=...`, or `mode=dial_inst`
on an `X_<n>` name). A hub sends such traffic into the instance whose tunnel ID is the
route's next hop; here none has it. One finding per interface, naming the route's next
hop (`find a route: ... gw-N via X`) and the instances' tunnel IDs. With no tunnel list but
packets arriving from X with a tunnel ID (`received a packet(...) tun_id=10.0.0.4 from
X`), it is told at severity info, as a question: a static tunnel receives with a tunnel ID
too (its remote gateway's), and a paste cut after the `enter` line ends the same way.
(A static tunnel prints the same `tun_id=0.0.0.0` line and then encrypts: only a trace
that ends on it counts. Not when an instance in the list has the next hop: the list and
the trace were taken at other times. The list quoted is the one nearest the dropped
packets: a paste of before and after a fix lists an instance twice.)

## Why it matters
The hub drops the packet silently: no ESP leaves, nothing is logged, the spoke never sees
it. ADVPN and dial-up designs with dynamic routing (BGP over the overlay) hit this when the
next hop of the learned routes (the spoke's overlay or loopback address) is not what the
hub knows as any instance's tunnel ID: spoke-to-spoke traffic through the hub, and the
shortcuts that traffic should trigger, never happen, while every tunnel shows up.

## Evidence
The trace's `received a packet(...)` line, its route line (the next hop) and the line it
ends on; the tunnel list's header of each instance of the interface, with its `tun_id`.

## Fix
Make the route's next hop an instance's tunnel ID. Let the hub give the spokes their
overlay addresses (`set mode-cfg enable` with an `ipv4-start-ip`/`ipv4-end-ip` range on the
hub's phase 1), or have the spokes tell theirs (`set exchange-interface-ip enable` on both
ends, and the BGP next hop the spoke's tunnel interface address); then compare the next
hop in `get router info routing-table details <destination>` with the `tun_id` of
`diagnose vpn tunnel list` (or `diagnose vpn ike gateway list`) for the instances of the
interface.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from ikeanalyze.analysis import flowtrace
from ikeanalyze.analysis.context import Context
from ikeanalyze.analysis.snapshots import Block, TunnelState
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import NoThresholds, rule

MAX_SHOWN = 3  # traces and instances told in the message; the facts hold the counts
# A tunnel list's `mode=` of a dial-up instance (`mode=dial_inst/3`).
DIAL_INSTANCE = "dial_inst"
# A route's next hop when it names none (`gw-0.0.0.0 via X`).
NO_HOP = "0.0.0.0"
# A dial-up instance's name: its parent's and a number (`EDGE_INET1_1`).
INSTANCE = r"^{parent}_\d+$"


@rule("IKE215", "no-tunnel-instance", severity="error")
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    groups: dict[tuple, list[flowtrace.Drop]] = {}
    for d in flowtrace.drops(ctx.events):
        if d.reason == "no-instance" and d.tunnel:
            groups.setdefault((d.source, d.tunnel), []).append(d)
    for (source, parent), drops in groups.items():
        listed = _instances(ctx, parent)
        traced = _traced_through(ctx, source, parent)
        later = traced.loc[traced["ref"] > int(drops[-1].row.ref), "ref"]
        until = float(later.min()) if len(later) else float("inf")  # the next trace through it
        found = [_in_force(st, drops[0], until) for st in listed]
        instances, lists = [st for st, b in zip(listed, found) if b], [b for b in found if b]
        ids = {st.name: str(b.facts["tun_id"]) for st, b in zip(instances, lists) if b.facts.get("tun_id")}
        if set(ids.values()) & {d.route_gw for d in drops}:
            continue  # an instance has the next hop now: the list and the trace disagree (taken at other times)
        if listed:
            yield _finding(parent, drops, lists, ids, lists_later_at=None if instances else until)
        elif traced["text"].astype(str).str.contains(flowtrace.PACKET_WORDS, regex=False).any():
            # A packet received from the interface with a tunnel ID (sources/flow.py names the
            # tunnel of such a first line, and of no other first line).
            f = _finding(parent, drops, lists, ids)
            # A static tunnel also receives with a tunnel ID (its remote gateway's), and a
            # paste cut after its `enter` line ends the same way: said as a question.
            f.severity = "info"
            f.message += (f" Nothing here lists {parent}'s instances, so this holds if {parent} is a dial-up "
                          f"phase 1; if it is a static tunnel, the trace was only cut there.")
            yield f


def _instances(ctx: Context, parent: str) -> list[TunnelState]:
    """The tunnel-list states of the dial-up instances of ``parent`` (`parent=` names it, or
    `mode=dial_inst` on an `<parent>_<n>` name)."""
    named = re.compile(INSTANCE.format(parent=re.escape(parent)))
    return [st for st in ctx.snapshots.tunnels.values() if st.tunnel is not None and (
        st.tunnel.facts.get("parent") == parent
        or (str(st.tunnel.facts.get("mode", "")).startswith(DIAL_INSTANCE) and named.match(st.name)))]


def _in_force(st: TunnelState, drop: flowtrace.Drop, until: float) -> Block | None:
    """The tunnel list of an instance nearest the dropped packet: its last block of the
    trace's input above the trace, else its first below it and above the input's next
    trace through the interface (``until``), else its latest when the input lists it
    nowhere (another input's).
    None for an instance listed only after that next trace: a paste of before and after a
    fix lists, after the fix, instances (or tun_ids) that did not exist at the drop."""
    mine = [b for b in st.history if b.source == drop.source]
    before = [b for b in mine if b.ref < int(drop.row.ref)]
    if before:
        return before[-1]
    if mine:
        return mine[0] if mine[0].ref < until else None
    return st.tunnel


def _traced_through(ctx: Context, source: str, parent: str) -> pd.DataFrame:
    """The `debug flow` lines of ``source`` that sources/flow.py gave tunnel ``parent``
    (the lines of a trace from the one naming it on), their `ref` and `text`."""
    ev = ctx.events
    mine = (ev["origin"] == "flow").fillna(False).to_numpy() & (ev["source"] == source).to_numpy() \
        & (ev["tunnel"] == parent).fillna(False).to_numpy()
    return ev.loc[mine, ["ref", "text"]]


def _finding(parent: str, drops: list[flowtrace.Drop], lists: list[Block], ids: dict[str, str],
             lists_later_at: float | None = None) -> Finding:
    """``lists_later_at``: the line of the later trace below which alone the input lists
    the instances (so none is as it was at the drop)."""
    first, last = drops[0], drops[-1]
    hops = list(dict.fromkeys(d.route_gw for d in drops if d.route_gw))
    real = [h for h in hops if h != NO_HOP]
    span = first.where + (f" to {last.where}" if len(drops) > 1 else "")
    told = list(dict.fromkeys(f"{d.proto_name or 'a packet'} {d.address('src')} → {d.address('dst')}" for d in drops))
    packets = "; ".join(told[:MAX_SHOWN]) + (f"; and {counted(len(told) - MAX_SHOWN, 'other packet')}" if len(told) > MAX_SHOWN else "")
    why = (f"no instance of {parent} has the route's next hop {', '.join(real)} as its tunnel ID" if real else
           f"the route names no next hop ({'gw-' + NO_HOP if hops else 'none printed'}), so there is no tunnel ID "
           f"to pick an instance of {parent} by")
    them, these = ("it", "this packet was") if len(drops) == 1 else ("them", "these packets were")
    msg = (f"{counted(len(drops), 'traced packet')} routed into dial-up tunnel interface {parent} entered it with "
           f"tun_id=0.0.0.0 and went no further ({span}: {packets}): {why}, so the hub cannot pick the tunnel to "
           f"send {them} into and drops {them} without a word.")
    if ids:
        listed = ", ".join(f"{name} tun_id={tid}" for name, tid in list(ids.items())[:MAX_SHOWN])
        more = f" and {len(ids) - MAX_SHOWN} more" if len(ids) > MAX_SHOWN else ""
        msg += f" Its instances in the tunnel list: {listed}{more}."
    elif lists_later_at is not None:
        msg += (f" The input lists {parent}'s instances only below a later trace into it (line "
                f"{int(lists_later_at)}), not as they were when {these} dropped.")
    elif not lists:
        msg += (f" The input holds no tunnel list of its instances: compare the next hop with the `tun_id` of "
                f"`diagnose vpn tunnel list` for {parent}_N.")
    ev = [evidence(r) for d in drops[:MAX_SHOWN] for r in d.rows]
    ev += [b.header for b in lists[:MAX_SHOWN]]
    return finding(
        "IKE215", msg,
        between=(first.row, last.row), tunnel=parent, evidence=ev,
        timeline=[moment(first.row, f"a packet routed into {parent} finds no tunnel instance"
                         + (f" for next hop {real[0]}" if real else ""))],
        facts={"traces": len(drops), "next_hops": hops, "instances": ids},
    )
