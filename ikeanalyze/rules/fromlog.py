"""The FortiGate event log's own verdicts, told by the rules that find the same cause in a debug.

An event-log line (sources/eventlog.py) states its cause in words (`reason="peer SA proposal
not match local policy"`, `status="dpd_failure"`); the debug says the same in other words,
which the rules read. :data:`CAUSES` maps the log's words (in the event's `detail`,
``<action> <status>: <reason>``) to the rule code that tells that cause, so each rule's
finding comes from either input, and from both as one finding: when the rule already found
the cause for the same peer or tunnel in a debug, the log's lines become more evidence of
that finding instead of a second one (:func:`add`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.tablecache import per_table
from ikeanalyze.diagnosis import Finding, Moment, _same_subject
from ikeanalyze.rules.base import evidence, finding, moment, timeval, tval, when

ORIGIN = "eventlog"


@dataclass(frozen=True)
class Cause:
    code: str
    pattern: str  # searched in `detail` (`<action> <status>: <reason>`)
    says: str  # what it means, for the message
    phase: int | None = None  # only lines of this phase (logid or `stage`), None: any
    # FortiOS's generic wording, also printed after a refused peer ID (IKE206): not told
    # when a debug in the input refused an ID for that gateway (or one not named).
    generic: bool = False


# First match wins. Reasons as FortiOS writes them (FortiOS Log Message Reference; article
# 194213 for `probable pre-shared secret mismatch`), and the debug's wording where a log
# quotes it (`no SA proposal chosen`).
PROPOSALS = r"peer SA proposal not match local policy"
NO_PROPOSAL = r"no (?:SA )?proposal chosen"
CAUSES: list[Cause] = [
    Cause("IKE201", PROPOSALS, "the phase-1 proposals do not match", phase=1),
    Cause("IKE202", PROPOSALS, "the phase-2 proposals do not match", phase=2),
    Cause("IKE201", NO_PROPOSAL, "the phase-1 proposals do not match", phase=1, generic=True),
    Cause("IKE202", NO_PROPOSAL, "the phase-2 proposals do not match", phase=2, generic=True),
    Cause("IKE204", r"(?i)pre-shared (?:key|secret) mismatch|PSK auth failed", "the pre-shared keys differ"),
    Cause("IKE206", r"(?i)peer ID (?:mismatch|verification failed)|no matching gateway|gw validation failed"
                    r"|incorrect ID", "the peer's ID matches no gateway"),
    Cause("IKE203", r"(?i)no matching (?:IPsec )?selectors?|failed to match peer selectors|TS_UNACCEPTABLE"
                    r"|no matching phase ?2", "the phase-2 selectors do not match"),
    Cause("IKE301", r"\bdpd_failure\b|(?i)dpd (?:failed|failure|timeout)", "dead peer detection failed"),
    Cause("IKE208", r"(?i)xauth\S* \S*fail|xauth (?:authentication )?fail", "XAUTH user authentication failed"),
    Cause("IKE210", r"(?i)negotiation timeout|negotiate_timeout", "the negotiation timed out"),
]
# logid (last five digits) -> phase, from the Log Message Reference: 37121
# MESGID_NEG_GENERIC_P1_ERROR, 37124 MESGID_NEG_I_P1_ERROR, 37127 MESGID_NEG_PROGRESS_P1_NOTIF,
# 37128 MESGID_NEG_PROGRESS_P1_ERROR, 37123 MESGID_NEG_GENERIC_P2_ERROR. `stage=` (on the
# progress lines) says it where present.
LOGID_PHASE = {"37121": 1, "37124": 1, "37127": 1, "37128": 1, "37123": 2}
FIELD = r'(?:^|\s){}=(?:"([^"]*)"|([^\s"]*))'


def field(text: str, name: str) -> str | None:
    """A key's value in one event-log line (None for absent or FortiOS' `N/A`)."""
    m = re.search(FIELD.format(name), text)
    value = None if m is None else (m.group(1) if m.group(1) is not None else m.group(2))
    return None if value in (None, "", "N/A") else value


def phase(text: str) -> int | None:
    stage = field(text, "stage")
    if stage in ("1", "2"):
        return int(stage)
    logid = field(text, "logid") or ""
    return LOGID_PHASE.get(logid[-5:])


def _rows(events: pd.DataFrame) -> pd.DataFrame:
    """The VPN event-log rows (taken once per table: every rule asks)."""
    def build(ev: pd.DataFrame) -> pd.DataFrame:
        if not len(ev):
            return ev
        return ev[(ev["origin"] == ORIGIN).fillna(False).to_numpy() & (ev["kind"] != "log-other").fillna(False).to_numpy()]
    return per_table("eventlog_rows", events, build)


def causes(events: pd.DataFrame, code: str) -> list[tuple[Cause, list]]:
    """The log lines that state ``code``'s cause, grouped by (source, peer, tunnel)."""
    rows = _rows(events)
    rows = rows[rows["detail"].notna().to_numpy()] if len(rows) else rows
    mine = [c for c in CAUSES if c.code == code]
    if not len(rows) or not mine:
        return []
    detail = rows["detail"].astype(str)
    ph = rows["text"].astype(str).map(phase).fillna(1)  # a log that does not say: phase 1
    taken = pd.Series(False, index=rows.index)
    groups: dict[tuple, tuple[Cause, list]] = {}
    for c in CAUSES:  # in order: a line is the first cause's that matches it
        hit = detail.str.contains(c.pattern, regex=True) & ~taken
        if c.phase is not None:
            hit &= ph.eq(c.phase)
        taken |= hit
        if c.code != code:
            continue
        for r in rows[hit.to_numpy()].itertuples():
            key = (str(r.source), _peer(r), None if pd.isna(r.tunnel) else str(r.tunnel))
            if c.generic and _id_refused(events, key[2]):
                continue
            groups.setdefault(key, (c, []))[1].append(r)
    return list(groups.values())


def _id_refused(events: pd.DataFrame, tunnel: str | None) -> bool:
    """Did a debug in the input refuse a peer ID for ``tunnel`` (any, when None)? Each
    refusal speaks for a negotiation (negotiations.running), whose gateway may be unknown."""
    for _, speaks_for in ng.id_rejections(events).values():
        if any(n is None or n.tunnel is None or tunnel is None or n.tunnel == tunnel for n in speaks_for):
            return True
    return False


def _peer(r) -> str | None:
    if pd.isna(r.dst):
        return None
    return f"{r.dst}:{int(r.dport)}" if pd.notna(r.dport) else str(r.dst)


def add(ctx, code: str, found: list[Finding]) -> Iterator[Finding]:
    """The findings of ``code`` the event log tells. A cause the rule found already (same
    peer or tunnel) gets the log's lines as evidence; the others become findings."""
    for cause, rows in causes(ctx.events, code):
        f = _finding(code, cause, rows)
        same = next((g for g in found if _same_subject(g, f)), None)
        if same is not None:
            seen = {(e.source, e.ref) for e in same.evidence}
            same.evidence.extend(e for e in f.evidence if (e.source, e.ref) not in seen)
            same.facts["event_log_lines"] = len(rows)
            continue
        found.append(f)
        yield f


def _finding(code: str, cause: Cause, rows: list) -> Finding:
    first, last = rows[0], rows[-1]
    text = str(first.text)
    peer, tunnel = _peer(first), None if pd.isna(first.tunnel) else str(first.tunnel)
    local = f"{first.src}:{int(first.sport)}" if pd.notna(first.src) and pd.notna(first.sport) else None
    logid = field(text, "logid")
    desc = field(text, "logdesc") or field(text, "msg")
    reason = str(first.detail).split(": ", 1)[-1]
    who = peer or "the peer"
    gw = f" on gateway {tunnel}" if tunnel else ""
    user = field(text, "xauthuser") or field(text, "user")
    by = f" for user {user}" if code == "IKE208" and user else ""
    times = f"{len(rows)} time(s), first at {when(first)}" + (f", last at {when(last)}" if len(rows) > 1 else "")
    msg = (f"The FortiGate's event log says {cause.says} with {who}{gw}{by}"
           + (f" (local end {local})" if local else "")
           + f": logid {logid or '?'}" + (f" \"{desc}\"" if desc else "") + f", `{reason}`, {times}. "
           "The log names the cause but not the values on each side: "
           "`diagnose debug application ike -1` (filtered on the peer) shows them.")
    facts = {"source": "event log", "logid": logid, "reason": reason, "lines": len(rows)}
    ev_rows = rows[:3] + ([last] if len(rows) > 3 else [])
    return finding(code, msg, between=(first, last), tunnel=tunnel, peer=peer,
                   evidence=[evidence(r) for r in ev_rows],
                   timeline=[moment(first, f"event log: {cause.says}" + (f" ({tunnel})" if tunnel else ""))],
                   facts=facts)


# Tunnel state changes of the log, for the incident timeline.
STATES = {"vpn-up": "up", "vpn-down": "down"}
MAX_MOMENTS = 40


def moments(events: pd.DataFrame) -> list[Moment]:
    """`tunnel X up/down` moments from the log's up/down lines (the first MAX_MOMENTS)."""
    rows = _rows(events)
    if not len(rows):
        return []
    rows = rows[rows["kind"].isin(list(STATES)).to_numpy()].head(MAX_MOMENTS)
    out = []
    for r in rows.itertuples():
        state = STATES[r.kind]
        what = f" ({r.detail})" if pd.notna(r.detail) and str(r.detail) != f"tunnel-{state}" else ""
        name = f"tunnel {r.tunnel}" if pd.notna(r.tunnel) else "tunnel"
        peer = _peer(r)
        text = str(r.text)
        # A tunnel-down line counts what the tunnel carried (37138: duration, sentbyte, rcvdbyte).
        lived = [f"{v} {unit}" for key, unit in (("duration", "s up"), ("sentbyte", "bytes sent"),
                                                 ("rcvdbyte", "bytes received"))
                 if state == "down" and (v := field(text, key)) is not None]
        out.append(Moment(timeval(r.time), tval(r.t), f"event log: {name} {state}{what}"
                          + (f" with {peer}" if peer else "") + (f" after {', '.join(lived)}" if lived else ""),
                          str(r.source), int(r.ref)))
    return out
