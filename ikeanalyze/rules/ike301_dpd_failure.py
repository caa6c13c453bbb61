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
finding, not a second one (rules/fromlog.py). So is a `diagnose vpn tunnel list` block whose
`dpd:` line says `status=fail`: the device's own verdict, which FortiOS 7.4.4+ and 7.6 print
while the tunnel stays `status=up` (its interface is marked inactive and routes through it
go inactive: Fortinet article 416613); beside a debug finding of the same tunnel or peer it
joins that finding.

## Why it matters
The peer stopped answering on the IKE SA: it rebooted, lost the SA, or the path between
the peers broke. The gateway tears the tunnel down when the retries run out; until then
traffic into the tunnel is lost. Answered probes, and NAT keepalives (which are one-way by
design), are not failures and are never reported here.

## Evidence
The first and the last unanswered probe, the number of attempts and the waits between
them, and the line that tore the SA down when there is one. From a tunnel list: its header
(`status=up` or not), the `dpd:` line, the `stat:` counters, and an earlier tunnel list of
the same tunnel whose DPD was still `ok` (and its remote address, when it was another).

## Fix
Find why the peer is silent: a transport finding grouped above this one, when there is
one, says where (a stalled UDP path, a changed NAT mapping). If the path is fine, check the peer itself (rebooted,
SA flushed, DPD disabled there). On FortiGate, `set dpd on-idle`, `set dpd-retrycount` and
`set dpd-retryinterval` in the phase-1 settings control how fast a dead peer is detected.
A tunnel list with `dpd: ... status=fail` on a tunnel that is still up: run
`diagnose debug application ike -1` (filtered on the peer) to see the probes and whether
the peer answers them, and `diagnose vpn ike gateway clear name <tunnel>` to renegotiate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ikeanalyze.analysis import sas, snapshots
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, Moment
from ikeanalyze.endpoints import address, endpoint, host
from ikeanalyze.rules.base import evidence, finding, human_duration, moment
from ikeanalyze.rules.registry import rule

DPD_EXCHANGES = ("INFORMATIONAL", "Informational")
PROBE_PAYLOADS = (None, "", "SK", "E", "HASH N")  # empty INFORMATIONAL (encrypted) / IKEv1 notify


@dataclass(frozen=True)
class Thresholds:
    min_retransmissions: int = 2  # unanswered re-sends of one probe


@rule("IKE301", "dpd-failure", severity="error", thresholds=Thresholds(), explains=("IKE304",), absence=True)
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    found = list(_debug_probes(ctx, t))
    probed = list(found)  # (another device's tunnel list of the same name is its own finding, not more evidence)
    for st in snapshots.dpd_failed(ctx):
        same = [f for f in probed if f.tunnel == st.name or (f.peer_ip and f.peer_ip == _ip(st.remote))]
        if same:  # the debug shows the probes: the tunnel list is more evidence of that finding
            text, ev, facts = _from_tunnel_list(st)
            same[0].message += f" The tunnel list agrees: tunnel {st.name} shows {text}"
            same[0].evidence.extend(ev)
            same[0].facts.update(facts)
        else:
            found.append(_tunnel_list_finding(st))
    yield from found


def _debug_probes(ctx: Context, t: Thresholds) -> Iterator[Finding]:
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
    peer = endpoint(sent.iloc[0].dst, sent.iloc[0].dport) if len(sent) and isinstance(sent.iloc[0].dst, str) else None
    gone = ev[same & ev["kind"].isin(["sa-deleted", "negotiation-failed"]).fillna(False).to_numpy()
              & (ev["ref"] > last_ref).to_numpy()]
    return peer, (gone.iloc[0] if len(gone) else None)


def _finding(rows, peer: str | None, tunnel: str | None, what: str, end) -> Finding:
    first, last = rows.iloc[0], rows.iloc[-1]
    n = len(rows)
    gaps = sas.gaps(rows)
    span = sas.span(first, last) if gaps else None
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


def _ip(addr: str | None) -> str | None:
    return host(addr) if addr else addr


def _from_tunnel_list(st: snapshots.TunnelState) -> tuple[str, list, dict]:
    """What a tunnel list with `dpd: ... status=fail` says, in words and lines."""
    b = st.tunnel
    dpd_ev = b.evidence("dpd")
    where = f" ({dpd_ev[0].source} line {dpd_ev[0].ref})" if dpd_ev else ""
    d = st.dpd
    shown = " ".join(f"{k}={d[k]}" for k in ("mode", "on", "status") if d.get(k) is not None)
    status = b.facts.get("status")
    text = f"`dpd: {shown}`{where}"
    if status == "up":
        text += (f" while the tunnel is still `status=up` (line {b.ref}): FortiOS (7.4.4 and later) keeps such a tunnel "
                 f"but marks its interface inactive, so routes through it go inactive and traffic stops")
    stat = st.stat
    if stat.get("rxp") is not None and stat.get("txp") is not None:
        text += f"; its counters: {stat['rxp']} packets received, {stat['txp']} sent (`stat:`)"
        last = [f"{k}={b.facts[k]}" for k in ("ilast", "olast") if b.facts.get(k) is not None]
        if last:
            text += f", `{' '.join(last)}`"
    ok = [h for h in st.history[:-1] if str((h.facts.get("dpd") or {}).get("status")) == "ok"]
    ev = [b.header] + dpd_ev + b.evidence("stat")
    facts = {"from": "tunnel list", "dpd_status": d.get("status"), "tunnel_status": status,
             "rxp": stat.get("rxp"), "txp": stat.get("txp")}
    if ok:
        before = ok[-1]
        text += f"; an earlier tunnel list (line {before.ref}) had `status=ok`"
        moved = before.facts.get("remote")
        if moved and moved != b.facts.get("remote"):
            text += f" with the remote gateway at {moved}, now {b.facts.get('remote')}"
            facts["earlier_remote"] = moved
        ev += before.evidence("dpd")
    return text + ".", ev, facts


def _tunnel_list_finding(st: snapshots.TunnelState) -> Finding:
    b = st.tunnel
    text, ev, facts = _from_tunnel_list(st)
    to = f" to {st.remote}" if address(st.remote) else ""  # not a placeholder (`y.y.y.y`)
    on = f" of FortiGate {st.device}" if st.device else ""  # one of several devices in the paste
    msg = f"Dead peer detection failed on tunnel {st.name}{on}{to}: its tunnel list shows {text}"
    if st.device:
        facts = {**facts, "device": st.device}
    return finding("IKE301", msg, start=b.time, t_start=b.t, tunnel=st.name, peer=st.remote, evidence=ev,
                   timeline=[Moment(b.time, b.t, f"tunnel list: DPD failed on {st.name}{on}", b.source, b.ref)],
                   facts=facts)
