"""Rekey failure: a CREATE_CHILD_SA (or IKEv1 Quick Mode) request is re-sent and never answered.

## What it detects
A CREATE_CHILD_SA request (IKEv2 rekey or new child SA), or an IKEv1 Quick Mode message,
re-sent at least `min_retransmissions` times with the same SPIs and message ID and never
answered: from decoded captures and sniffer hex dumps, and from IKE debug
(`sent IKE msg (RETRANSMIT_CREATE_CHILD)`, or the same `exchange=CREATE_CHILD` / `Quick`
arriving again).

When nothing at all came from the peer on that IKE SA after the request, the finding says
so: a peer that refuses the rekey (proposal or PFS mismatch) answers with an error notify
(NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD); silence points at a dead or unreachable peer, or
one that lost the IKE SA. Other packets from the peer's address after the request (ESP of
the old child SA, keepalives, IKE of another SA) show it up and reachable: the finding
names them instead of a dead peer. The outcome lines that follow in the debug (the child SA's hard
expiry and the tunnel going down, the IKE SA given up on `retransmission timeout` and
expired) are named with their times, in the message and the timeline.

## Why it matters
The IKE SA carries the exchange, but the new child SA does not come: when the old one
expires, traffic stops, and when the IKE SA's own retransmissions run out it is deleted.
Typical causes are a peer that lost the IKE SA (reboot, HA failover, one side's IKE SA
expired first) or stopped answering, a PFS or proposal difference that only shows at
rekey, or a path that drops the larger rekey messages.

## Evidence
The first and the last attempt, how many, the waits between them, and the peer; whether
anything came from the peer afterwards; the tunnel-down and IKE SA deletion lines.

## Fix
Compare the phase-2 proposals and PFS (DH group) settings of both ends; make the IKE SA
lifetime of the initiating side shorter than the peer's; check the peer's IKE debug at the
time of the rekey (`diagnose vpn ike log filter rem-addr4 <peer>` then
`diagnose debug application ike -1`). If the path drops large UDP packets, see IKE107.
When nothing at all came from the peer after the request, start with the peer instead:
check that it is up and reachable and still holds the IKE SA (`diagnose vpn ike gateway
list name <phase1>` on the peer), and capture both ends (`diagnose sniffer packet any
'host <peer> and (udp port 500 or udp port 4500)' 6 0 l`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ikeanalyze.analysis import linesearch, sas
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.rules.base import evidence, finding, human_duration, kinds_text, moment
from ikeanalyze.rules.registry import rule

REKEY_EXCHANGES = ("CREATE_CHILD_SA", "Quick Mode")

# The fix when nothing came back: the last sentences of the docstring's Fix section.
SILENT_FIX = ("Check that the peer is up and reachable and still holds the IKE SA (`diagnose vpn ike gateway "
              "list name <phase1>` on the peer), and capture both ends (`diagnose sniffer packet any 'host <peer> "
              "and (udp port 500 or udp port 4500)' 6 0 l`); a proposal or PFS mismatch would have been answered "
              "with an error notify.")

# What the debug says happened after an unanswered rekey, on the same gateway: (what it
# means, pattern); the first line of each after the first attempt is told.
OUTCOMES: list[tuple[str, str]] = [
    ("the child SA hard-expired", linesearch.text_search(r"IPsec SA \S+ hard expired")),
    ("the tunnel went down", linesearch.text_search(r"sending SNMP tunnel DOWN trap|static tunnel down event")),
    ("the IKE SA was given up (`retransmission timeout`)", linesearch.text_search(r"retransmission timeout")),
    ("the IKE SA was expired", linesearch.text_search(r"expiring IKE SA")),
]


@dataclass(frozen=True)
class Thresholds:
    min_retransmissions: int = 1  # unanswered re-sends of one rekey request


# The `negotiation timeout, deleting` that ends the unanswered request (IKE210) is its outcome,
# not a second problem: grouped under it, as IKE105 groups the timeout of an unanswered SA_INIT.
@rule("IKE302", "rekey-failure", severity="error", thresholds=Thresholds(), explains=("IKE304", "IKE210"),
      absence=True)
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    msgs = sas.of(ctx)
    for s in sas.retransmitted_requests(msgs, t.min_retransmissions):
        if s.exchange not in REKEY_EXCHANGES or s.answered:
            continue
        first, last = s.first, s.last
        gaps = s.intervals
        span = sas.seconds(first, last)
        mid = f" msg {sas.msg_id_text(first['msg_id'])}" if pd.notna(first["msg_id"]) else ""
        over = f" over {human_duration(span)}" if span else ""
        local = sas.endpoint(first, "local")
        who = f"{s.peer} sent" if bool(first["in"]) else f"{local} sent"
        to = f" to {local}" if bool(first["in"]) else f" to {s.peer}"
        msg = (f"{who} {s.exchange}{mid} on IKE SA {first['ispi']}{to} {s.count} times{over} "
               f"({sas.where(first)} to {sas.where(last)}{sas.waits(gaps)}); no response came")
        silent = not bool(first["in"]) and not sas.came_in_after(msgs, first)
        alive = _peer_packets_after(ctx, first) if silent else ctx.wire.iloc[:0]
        if silent and len(alive):
            # ESP (or keepalives) still arriving: the peer is up and its packets get here.
            msg += (f", and nothing else came from {s.peer} on that IKE SA afterwards, though "
                    f"{counted(len(alive), 'other packet')} from {alive.iloc[-1]['remote']} did ({kinds_text(Counter(alive['kind'].astype(str)))}, the last at "
                    f"{sas.where(alive.iloc[-1])}): the peer is up and reachable, yet it does not answer on this "
                    "IKE SA: it no longer holds it, or the request is lost on the way (a path that drops "
                    "larger UDP datagrams: see IKE107)")
        elif silent:
            msg += (f", and nothing else came from {s.peer} on that IKE SA afterwards: a refused rekey (proposal "
                    "or PFS mismatch) is answered with an error notify, so the peer is down or unreachable, "
                    "or no longer holds the IKE SA")
        after = _outcomes(ctx, first, s.tunnel) if not bool(first["in"]) else []
        if after:
            msg += "; then " + ", ".join(f"{text} at {sas.where(r)}" for text, r in after)
        msg += "."
        yield finding(
            "IKE302", msg,
            between=(first, after[-1][1] if after else last),
            tunnel=s.tunnel, peer=s.peer,
            evidence=[evidence(first), evidence(last)] + [evidence(r) for _, r in after],
            timeline=[moment(first, f"{s.exchange} request on IKE SA {first['ispi']}: no response"
                                    + (f", nothing from {s.peer}" if silent and not len(alive) else ""))]
            + [moment(r, text[0].upper() + text[1:]) for text, r in after],
            facts={"ispi": str(first["ispi"]), "attempts": s.count, "intervals_s": gaps,
                   "backoff": sas.backoff(gaps), "peer_silent": silent, "peer_packets_after": len(alive),
                   "outcomes": [{"what": text, "ref": int(r.ref)} for text, r in after]},
            fix=SILENT_FIX if silent else None,  # the proposal comparison is for a peer that answered
        )


def _peer_packets_after(ctx: Context, first) -> pd.DataFrame:
    """Packets that came from the peer's address after ``first``, in the same input: ESP,
    keepalives or IKE of another SA, each proof that the peer is up and reaches this side."""
    w = ctx.wire
    mine = w[(w["source"] == first["source"]).to_numpy() & w["in"].to_numpy(dtype=bool)
             & (w["remote"] == first["remote"]).fillna(False).to_numpy()]
    # After by place in the input (sas `order`: a position in ctx.events), not by `ref`: in a
    # capture out of time order (mergecap -a, the outbound capture first) the peer's frames all
    # follow the request's, including those that came before it.
    return mine[sas.order(ctx.events, mine) > int(first["order"])]


def _outcomes(ctx: Context, first, tunnel: str | None) -> list[tuple[str, object]]:
    """The first line of each of :data:`OUTCOMES` after ``first`` on its gateway, in line order."""
    if not tunnel:
        return []
    lines = ng.light(ctx.events)
    if not len(lines):
        return []
    col = ng.light_text(ctx.events)
    mine = ng.gateway_lines(ctx.events, first["source"], tunnel, after=int(first["ref"]))
    found = []
    for text, pattern in OUTCOMES:
        at = np.flatnonzero(mine & col.search(pattern))
        if len(at):
            found.append((text, lines.iloc[at[0]]))
    return sorted(found, key=lambda f: int(f[1]["ref"]))
