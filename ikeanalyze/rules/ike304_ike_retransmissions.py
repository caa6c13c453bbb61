"""IKE retransmissions: requests sent again with the same SPIs and message ID.

## What it detects
An IKE request (or IKEv1 message) sent again with the same SPI pair and message ID, by
either side, at least `min_retransmissions` times: decoded capture frames, sniffer hex
dumps, and IKE debug (`sent IKE msg (RETRANSMIT_*)`, `(retransmit)`, `(P1_RETRANSMIT)`,
`(CFG_RETRANS)`, or the same `comes … exchange=… id=` arriving again). One finding per
IKE SA and direction, with the count, the waits between attempts and, for IKEv2, whether
they grow like the exponential back-off RFC 7296 §2.1 asks for (IKEv1 sets no timer). The same frame captured twice a few
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

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ikeanalyze.analysis import linesearch, sas
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import rule

MAX_TOLD = 4  # re-sent messages told in one finding's message; the rest are counted


@dataclass(frozen=True)
class Thresholds:
    min_retransmissions: int = 1  # re-sends of one message before it is reported


@rule("IKE304", "ike-retransmissions", severity="warning", thresholds=Thresholds(), absence=True)
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    msgs = sas.of(ctx)
    resent = sas.retransmitted_requests(msgs, t.min_retransmissions)
    by_sa: dict[tuple, list[sas.Send]] = {}
    for s in resent:
        by_sa.setdefault((str(s.first["source"]), str(s.first["ispi"]), bool(s.first["in"])), []).append(s)
    idle = _idle_probes(ctx) if resent else {}
    probes: dict[int, str] = {}  # a send -> what it is, when a DPD probe
    for (source, ispi, inbound), group in by_sa.items():
        group.sort(key=lambda s: int(s.first["ref"]))
        group, fragments = _one_per_message(group)
        worst = max(group, key=lambda s: s.count)
        first, last = group[0].first, max((s.last for s in group), key=lambda r: int(r["ref"]))
        local, peer = sas.endpoint(worst.first, "local"), worst.peer
        parts, told = [], []
        for s in group:
            answered = sas.answers(msgs, s)
            told.append(int(answered.sum()))
            if len(parts) == MAX_TOLD:
                continue
            name = s.exchange or "message"
            mid = f" msg {sas.msg_id_text(s.first['msg_id'])}" if pd.notna(s.first["msg_id"]) else ""
            n_frag = fragments.get(id(s), 0)
            mid += f" ({n_frag} fragments)" if n_frag > 1 else ""
            probes[id(s)] = _dpd_probe(s, idle)
            mid += probes[id(s)]
            iv = s.intervals
            shape = sas.backoff(iv)
            label = "" if shape == "unknown" else f": {shape}"
            waits = f" (waits {sas.intervals_text(iv)}{label})" if any(x > 0 for x in iv) else ""
            parts.append(f"{name}{mid} {_sent(s)}{waits}, {_answer(s, answered)}")
        more = f"; and {len(group) - MAX_TOLD} more" if len(group) > MAX_TOLD else ""
        # (A NAT-T float moves the ends between sends: both are named, not the first of one
        # and the last of the other.)
        here, there = _ends(worst, "local"), _ends(worst, "remote")
        who = f"{there} re-sent to {here}" if inbound else f"{here} re-sent to {there}"
        total = sum(s.retransmissions for s in group)
        msg = f"{who} on IKE SA {ispi}: " + "; ".join(parts) + more + f" ({counted(total, 'retransmission')} in all)."
        # RFC 7296's back-off is IKEv2's: IKEv1 (RFC 2409) sets no timer, and FortiOS re-sends
        # its Main, Aggressive and Quick Mode messages at a constant interval.
        v2 = [s for s in group if sas.is_v2(s.first)]
        shapes = {sas.backoff(s.intervals) for s in v2} - {"unknown"}
        if not inbound and shapes and "exponential" not in shapes and any(len(s.intervals) >= 2 for s in v2):
            msg += " The waits do not grow: RFC 7296 §2.1 expects an exponentially increasing timer."
        rows = [worst.first] + [s.last for s in group[:3]]
        rows = [r for k, r in enumerate(rows) if int(r["ref"]) not in {int(x["ref"]) for x in rows[:k]}]
        yield finding(
            "IKE304", msg,
            between=(first, last),
            tunnel=worst.tunnel or sas.sa_tunnel(msgs, source, ispi), peer=peer,
            evidence=[evidence(r) for r in rows],
            timeline=[moment(worst.first, f"{worst.exchange or 'IKE message'}{probes.get(id(worst), '')} to {peer} first sent; "
                                          f"{worst.count} attempts in all (last {sas.where(worst.last)})")]
            if not inbound and not _before_input(worst) else [],
            facts={"ispi": ispi, "direction": "in" if inbound else "out", "messages": len(group),
                   "retransmissions": total, "resent_by": peer if inbound else local,
                   "sends": [{"exchange": s.exchange, "attempts": s.count, "intervals_s": s.intervals,
                              "backoff": sas.backoff(s.intervals), "answered": s.answered, "answers": n,
                              "first_send_in_input": not _before_input(s)} for s, n in zip(group, told)]},
        )


# The debug line FortiOS writes before it sends a DPD probe on an idle IKEv2 SA: its seqno
# is the probe's message ID (`link is idle 5 192.0.2.10->203.0.113.45:4500 dpd=1 seqno=9`).
IDLE_PROBE = linesearch.text_search(r"\blink is idle\b.*\bdpd=1 seqno=(?P<seq>[0-9a-fA-F]+)\b")
IDLE_LOOKBACK = 3  # lines before the send the idle line may be on


def _idle_probes(ctx: Context) -> dict[tuple[str, int], tuple[int, str | None]]:
    """(source, line) -> the message ID and gateway of each debug line announcing an idle
    link's DPD probe (searched with the debug text's other patterns: no pass of its own)."""
    hit = ng.light_text(ctx.events).search(IDLE_PROBE)
    if not hit.any():
        return {}
    lines = ng.light(ctx.events)[hit]
    rx = re.compile(IDLE_PROBE)
    out = {}
    for source, ref, line, tunnel in zip(lines["source"], lines["ref"], lines["text"], lines["tunnel"]):
        m = rx.search(str(line))
        if m:
            out[(str(source), int(ref))] = (int(m["seq"], 16), _name(tunnel))
    return out


def _name(tunnel) -> str | None:
    return None if tunnel is None or pd.isna(tunnel) else str(tunnel)


def _dpd_probe(s: sas.Send, idle: dict[tuple[str, int], tuple[int, str | None]]) -> str:
    """` (a DPD probe, R-U-THERE)` after an IKEv1 notify `R-U-THERE`, ` (a DPD probe)` after an
    IKEv2 INFORMATIONAL that the debug announced as the idle link's probe of that message
    ID on that gateway (``idle``: :func:`_idle_probes`; another gateway's probe of the same
    ID may be a line above), else nothing: "INFORMATIONAL" alone could be a delete or a notify."""
    if s.exchange not in ("INFORMATIONAL", "Informational"):
        return ""
    if s.rows["detail"].astype(str).eq("R-U-THERE").any():
        return " (a DPD probe, R-U-THERE)"
    first = s.first
    if pd.isna(first["msg_id"]):
        return ""
    ref = int(first["ref"])
    seqs = {idle.get((str(first["source"]), ref - k)) for k in range(1, IDLE_LOOKBACK + 1)}
    return " (a DPD probe)" if (int(first["msg_id"]), _name(first["tunnel"])) in seqs else ""


def _ends(s: sas.Send, side: str) -> str:
    """One side of a message's sends: `a`, or `a (then b)` where the last send left or
    reached another address or port than the first."""
    first, last = sas.endpoint(s.first, side), sas.endpoint(s.last, side)
    return first if first == last else f"{first} (then {last})"


def _before_input(s: sas.Send) -> bool:
    """The first attempt the input holds is itself a named retransmission (`P1_RETRANSMIT`,
    `RETRANSMIT_AUTH`): the original was sent before the input begins."""
    return bool(s.first["named_retx"])


def _sent(s: sas.Send) -> str:
    """`sent 3 times`, or `re-sent 2 times (its first send is before the input)`: a copy the
    debug calls a retransmission is not the first send, even when it is the first line."""
    if _before_input(s):
        return f"re-sent {_times(s.count)} (its first send is before the input)"
    return f"sent {_times(s.count)}"


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _answer(s: sas.Send, answered: np.ndarray) -> str:
    """Whether the other side answered, and when: a request re-sent after it was answered
    means the answer was lost or refused (an IKEv1 initiator re-sends message 1 when it
    cannot accept message 2), not that the exchange succeeded."""
    n = int(answered.sum())
    if not n:
        return "never answered"
    if n == len(answered) and n > 1:
        return "answered every time and re-sent anyway (the answers were lost or not accepted)"
    if n == 1 and answered[-1]:
        return "answered after the last attempt"
    return f"answered {n} of {len(answered)} times"


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
