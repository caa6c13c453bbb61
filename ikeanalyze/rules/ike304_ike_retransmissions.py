"""IKE retransmissions: requests sent again with the same SPIs and message ID.

## What it detects
An IKE request (or IKEv1 message) sent again with the same SPI pair and message ID, by
either side, at least `min_retransmissions` times: decoded capture frames, sniffer hex
dumps, and IKE debug (`sent IKE msg (RETRANSMIT_*)`, `(retransmit)`, `(P1_RETRANSMIT)`,
`(CFG_RETRANS)`, or the same `comes … exchange=… id=` arriving again). One finding per
IKE SA and direction, with the count, the waits between attempts and whether they grow
like the exponential back-off RFC 7296 §2.1 asks for. The same frame captured twice a few
microseconds apart is a capture duplicate, not a retransmission. The RFC 7383 fragments of
one message (numbered by the debug's `fragment N of M` lines, the capture, or the Fragment
Number in the `in`/`out` hex) are one message: a 7-fragment AUTH sent 3 times is told once.

## Why it matters
A retransmission means the sender did not get the answer it waited for: the request or
the response was lost, the peer is slow (an authentication server behind it, a busy CPU)
or gone. On its own it is a symptom; the finding it is grouped under says why.

## Evidence
The first and the last attempt of each re-sent message, the number of attempts, the
intervals between them in seconds and the back-off they show (exponential, constant,
irregular).

## Fix
Look at the root cause grouped above it (unanswered SA_INIT, NAT-T port blocked, lost
fragments, a stalled UDP path, a slow RADIUS/LDAP server). Without one, capture both ends
(`diagnose sniffer packet any 'host <peer> and (udp port 500 or udp port 4500)' 6 0 l`) to
see which direction loses packets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from ikeanalyze.analysis import sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import rule


@dataclass(frozen=True)
class Thresholds:
    min_retransmissions: int = 1  # re-sends of one message before it is reported


@rule("IKE304", "ike-retransmissions", severity="warning", thresholds=Thresholds(), absence=True)
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    resent = sas.retransmitted_requests(sas.of(ctx), t.min_retransmissions)
    by_sa: dict[tuple, list[sas.Send]] = {}
    for s in resent:
        by_sa.setdefault((str(s.first["source"]), str(s.first["ispi"]), bool(s.first["in"])), []).append(s)
    for (_source, ispi, inbound), group in by_sa.items():
        group.sort(key=lambda s: int(s.first["ref"]))
        group, fragments = _one_per_message(group)
        worst = max(group, key=lambda s: s.count)
        first, last = group[0].first, max((s.last for s in group), key=lambda r: int(r["ref"]))
        local, peer = sas.endpoint(worst.first, "local"), worst.peer
        parts = []
        for s in group[:4]:
            name = s.exchange or "message"
            mid = f" msg {sas.msg_id_text(s.first['msg_id'])}" if pd.notna(s.first["msg_id"]) else ""
            n_frag = fragments.get(id(s), 0)
            mid += f" ({n_frag} fragments)" if n_frag > 1 else ""
            iv = s.intervals
            shape = sas.backoff(iv)
            label = "" if shape == "unknown" else f": {shape}"
            waits = f" (waits {sas.intervals_text(iv)}{label})" if any(x > 0 for x in iv) else ""
            answer = "answered in the end" if s.answered else "never answered"
            parts.append(f"{name}{mid} sent {s.count} times{waits}, {answer}")
        more = f"; and {len(group) - 4} more" if len(group) > 4 else ""
        who = f"{peer} re-sent to {local}" if inbound else f"{local} re-sent to {peer}"
        total = sum(s.retransmissions for s in group)
        msg = f"{who} on IKE SA {ispi}: " + "; ".join(parts) + more + f" ({total} retransmissions in all)."
        shapes = {sas.backoff(s.intervals) for s in group} - {"unknown"}
        if not inbound and shapes and "exponential" not in shapes and any(len(s.intervals) >= 2 for s in group):
            msg += " The waits do not grow: RFC 7296 §2.1 expects an exponentially increasing timer."
        yield finding(
            "IKE304", msg,
            between=(first, last),
            tunnel=worst.tunnel, peer=peer,
            evidence=[evidence(worst.first)] + [evidence(s.last) for s in group[:3]],
            timeline=[moment(worst.first, f"{worst.exchange or 'IKE message'} to {peer} first sent; "
                                          f"{worst.count} attempts in all (last {sas.where(worst.last)})")]
            if not inbound else [],
            facts={"ispi": ispi, "direction": "in" if inbound else "out", "messages": len(group),
                   "retransmissions": total,
                   "sends": [{"exchange": s.exchange, "attempts": s.count, "intervals_s": s.intervals,
                              "backoff": sas.backoff(s.intervals), "answered": s.answered} for s in group]},
        )


def _one_per_message(group: list) -> tuple[list, dict[int, int]]:
    """The sends of ``group`` with the RFC 7383 fragments of one message told once (by its
    first fragment, re-sent as often as the message was), and how many fragments each has.
    A 7-fragment AUTH sent 3 times is one message re-sent twice, not 7 messages."""
    out, fragments, first_of = [], {}, {}
    for s in group:
        frag = s.first.get("frag", 0)
        frag = 0 if pd.isna(frag) else int(frag)
        if not frag:
            out.append(s)
            continue
        key = (s.exchange, s.first["msg_id"], bool(s.first["resp"]) if pd.notna(s.first["resp"]) else None)
        if key not in first_of:
            first_of[key] = s
            out.append(s)
        kept = first_of[key]
        fragments[id(kept)] = max(fragments.get(id(kept), 0), frag)
    return out, fragments
