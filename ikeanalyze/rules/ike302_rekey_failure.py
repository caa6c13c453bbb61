"""Rekey failure: a CREATE_CHILD_SA (or IKEv1 Quick Mode) request is re-sent and never answered.

## What it detects
A CREATE_CHILD_SA request (IKEv2 rekey or new child SA), or an IKEv1 Quick Mode message,
re-sent at least `min_retransmissions` times with the same SPIs and message ID and never
answered: from decoded captures and sniffer hex dumps, and from IKE debug
(`sent IKE msg (RETRANSMIT_CREATE_CHILD)`, or the same `exchange=CREATE_CHILD` / `Quick`
arriving again).

## Why it matters
The IKE SA itself is up (the exchange is protected by it), but the new child SA does not
come: when the old one expires, traffic stops. Typical causes are a peer that lost the
IKE SA (reboot, HA failover, one side's IKE SA expired first), a PFS or proposal
difference that only shows at rekey, or a path that drops the larger rekey messages.

## Evidence
The first and the last attempt, how many, the waits between them, and the peer.

## Fix
Compare the phase-2 proposals and PFS (DH group) settings of both ends; make the IKE SA
lifetime of the initiating side shorter than the peer's; check the peer's IKE debug at the
time of the rekey (`diagnose vpn ike log filter rem-addr4 <peer>` then
`diagnose debug application ike -1`). If the path drops large UDP packets, see IKE107.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from ikeanalyze.analysis import sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import evidence, finding, human_duration, moment
from ikeanalyze.rules.registry import rule

REKEY_EXCHANGES = ("CREATE_CHILD_SA", "Quick Mode")


@dataclass(frozen=True)
class Thresholds:
    min_retransmissions: int = 1  # unanswered re-sends of one rekey request


@rule("IKE302", "rekey-failure", severity="error", thresholds=Thresholds(), explains=("IKE304",), absence=True)
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    for s in sas.retransmitted_requests(sas.of(ctx), t.min_retransmissions):
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
               f"({sas.where(first)} to {sas.where(last)}{sas.waits(gaps)}); no response came.")
        yield finding(
            "IKE302", msg,
            between=(first, last),
            tunnel=s.tunnel, peer=s.peer, evidence=[evidence(first), evidence(last)],
            timeline=[moment(first, f"{s.exchange} request on IKE SA {first['ispi']}: no response")],
            facts={"ispi": str(first["ispi"]), "attempts": s.count, "intervals_s": gaps,
                   "backoff": sas.backoff(gaps)},
        )
