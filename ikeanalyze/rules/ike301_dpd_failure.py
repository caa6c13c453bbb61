"""Dead peer detection failed: liveness probes go unanswered until the SA is given up.

## What it detects
Dead peer detection probes that the peer never answers: an IKEv2 INFORMATIONAL request
carrying nothing but its encrypted payload (the empty INFORMATIONAL of RFC 7296 §1.4,
which FortiOS sends for DPD) re-sent at least `min_retransmissions` times with no
response; in IKE debug `sent IKE msg (RETRANSMIT_INFORMATIONAL)` for one message ID, or
IKEv1 `send IKEv1 DPD probe, seqno N` repeated for one sequence number with no
`R-U-THERE-ACK`. The `retransmission timeout` or delete lines that end the SA are part of
the evidence when the input has them.
A FortiGate event-log line stating the same cause (`status="dpd_failure"`) is told too, with the
log's numbers; beside a debug of the same peer or tunnel it is more evidence of that
finding, not a second one (rules/fromlog.py).

## Why it matters
The peer stopped answering on the IKE SA: it rebooted, lost the SA, or the path between
the peers broke. The gateway tears the tunnel down when the retries run out; until then
traffic into the tunnel is lost. Answered probes, and NAT keepalives (which are one-way by
design), are not failures and are never reported here.

## Evidence
The first and the last unanswered probe, the number of attempts and the waits between
them, and the line that tore the SA down when there is one.

## Fix
Find why the peer is silent: see the transport finding grouped above this one (a stalled
UDP path, a changed NAT mapping). If the path is fine, check the peer itself (rebooted,
SA flushed, DPD disabled there). On FortiGate, `set dpd on-idle`, `set dpd-retrycount` and
`set dpd-retryinterval` in the phase-1 settings control how fast a dead peer is detected.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ikeanalyze.analysis import sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import evidence, finding, human_duration, moment
from ikeanalyze.rules.registry import rule

DPD_EXCHANGES = ("INFORMATIONAL", "Informational")
PROBE_PAYLOADS = (None, "", "SK", "E", "HASH N")  # empty INFORMATIONAL (encrypted) / IKEv1 notify


@dataclass(frozen=True)
class Thresholds:
    min_retransmissions: int = 2  # unanswered re-sends of one probe


@rule("IKE301", "dpd-failure", severity="error", thresholds=Thresholds(), explains=("IKE304",), absence=True)
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    ends = None
    for s in sas.retransmitted_requests(sas.of(ctx), t.min_retransmissions):
        if s.exchange not in DPD_EXCHANGES or s.answered or bool(s.first["in"]):
            continue
        payloads = s.rows["payloads"].dropna().astype(str).unique().tolist()
        if payloads and not set(payloads) <= {p for p in PROBE_PAYLOADS if p}:
            continue  # a visible payload (DELETE, a notify) is not a liveness probe
        if ends is None:
            ev = ctx.events
            ends = ev[ev["kind"].isin(["negotiation-failed", "sa-deleted"]).to_numpy()]
        end = _teardown(ends, s)
        yield _finding(s.rows, s.peer, s.tunnel, f"INFORMATIONAL request msg {sas.msg_id_text(s.first['msg_id'])}", end)
    yield from _ikev1_probes(ctx, t)


def _teardown(ends, s: sas.Send):
    """The debug line that gave the SA up (`<spis> retransmission timeout`, a delete), from
    ``ends``: the events that end a negotiation or delete an SA."""
    same = (ends["source"] == s.first["source"]).fillna(False).to_numpy() & (ends["ref"] > int(s.last["ref"])).to_numpy()
    spi = (ends["ispi"] == s.first["ispi"]).fillna(False).to_numpy()
    hit = ends[same & spi]
    return hit.iloc[0] if len(hit) else None


def _ikev1_probes(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    ev = ctx.events
    probes = ev[(ev["kind"] == "dpd").fillna(False).to_numpy() & ev["msg_id"].notna().to_numpy()]
    if probes.empty:
        return
    # `notify msg received: R-U-THERE-ACK`; our own `sent IKE msg (R-U-THERE-ACK)` answers the peer's probes.
    acks = ev[ev["text"].fillna("").astype(str).str.contains("R-U-THERE-ACK", regex=False).to_numpy()
              & (ev["kind"] != "ike-sent").fillna(True).to_numpy()]
    for (source, tunnel, seq), rows in probes.groupby(["source", "tunnel", "msg_id"], dropna=False, sort=False):
        if len(rows) < t.min_retransmissions + 1:
            continue
        later = acks[(acks["source"] == source).to_numpy() & (acks["ref"] > int(rows.iloc[0]["ref"])).to_numpy()]
        if isinstance(tunnel, str):
            later = later[(later["tunnel"] == tunnel).fillna(True).to_numpy()]
        if len(later):
            continue
        name = tunnel if isinstance(tunnel, str) else None
        peer, end = _v1_context(ev, source, name, int(rows.iloc[0]["ref"]), int(rows.iloc[-1]["ref"]))
        yield _finding(rows, peer, name, f"IKEv1 DPD probe seqno {int(seq)}", end)


def _v1_context(ev, source: str, tunnel: str | None, first_ref: int, last_ref: int):
    """The peer the probes went to (the `sent IKE msg` after them) and the teardown line."""
    same = (ev["source"] == source).fillna(False).to_numpy()
    if tunnel:
        same &= (ev["tunnel"] == tunnel).fillna(False).to_numpy()
    sent = ev[same & (ev["kind"] == "ike-sent").fillna(False).to_numpy() & (ev["ref"] > first_ref).to_numpy()]
    peer = f"{sent.iloc[0].dst}:{int(sent.iloc[0].dport)}" if len(sent) and isinstance(sent.iloc[0].dst, str) else None
    gone = ev[same & ev["kind"].isin(["sa-deleted", "negotiation-failed"]).fillna(False).to_numpy()
              & (ev["ref"] > last_ref).to_numpy()]
    return peer, (gone.iloc[0] if len(gone) else None)


def _finding(rows, peer: str | None, tunnel: str | None, what: str, end) -> Finding:
    first, last = rows.iloc[0], rows.iloc[-1]
    n = len(rows)
    gaps = [round(float(x), 6) for x in rows["t"].astype(float).diff().dropna()]
    span = float(last["t"]) - float(first["t"]) if gaps else None
    to = f" to {peer}" if peer else f" on {tunnel}" if tunnel else ""
    over = f" over {human_duration(span)}" if span else ""
    waits = sas.waits(gaps)
    msg = f"{what}{to} sent {n} times{over} ({sas.where(first)} to {sas.where(last)}{waits}) and never answered"
    msg += f"; the SA was given up at {sas.where(end)}: {str(end.text).strip()[:120]}." if end is not None else "."
    ev_rows = [first, last] + ([end] if end is not None else [])
    return finding(
        "IKE301", msg,
        between=(first, end if end is not None else last),
        tunnel=tunnel, peer=peer, evidence=[evidence(r) for r in ev_rows],
        timeline=[moment(first, f"first unanswered DPD probe{to}")]
        + ([moment(end, "SA given up after unanswered DPD probes")] if end is not None else []),
        facts={"probes": n, "intervals_s": gaps, "torn_down": end is not None},
    )
