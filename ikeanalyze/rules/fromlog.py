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

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.tablecache import per_table
from ikeanalyze.diagnosis import Finding, Moment, counted
from ikeanalyze.endpoints import endpoint
from ikeanalyze.rules.base import evidence, finding, moment, timeval, tval, when
from ikeanalyze.sources import eventlog, regex

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
    # What to look at next, where the IKE debug would not show it (ESP is not IKE).
    then: str = ("The log names the cause but not the values on each side: "
                 "`diagnose debug application ike -1` (filtered on the peer) shows them.")
    # Lines of one peer needed to tell it: a few ESP packets for an SPI just replaced are
    # routine around a rekey (the rule's own `min_messages` says the same of the debug).
    min_lines: int = 1


# First match wins. Reasons as FortiOS writes them (FortiOS Log Message Reference; article
# 194213 for `probable pre-shared secret mismatch`), and the debug's wording where a log
# quotes it (`no SA proposal chosen`).
# The ESP errors' next step: the SAs both ends hold (the IKE debug does not see ESP).
ESP_THEN = ("Compare the SPI with the SAs both ends list for the tunnel (`diagnose vpn tunnel list name "
            "<tunnel>`); `diagnose vpn ike gateway clear name <tunnel>` renegotiates them.")
PROPOSALS = r"peer SA proposal not match local policy"
NO_PROPOSAL = r"no (?:SA )?proposal chosen"
CAUSES: list[Cause] = [
    Cause("IKE201", PROPOSALS, "the phase-1 proposals do not match", phase=1),
    Cause("IKE202", PROPOSALS, "the phase-2 proposals do not match", phase=2),
    Cause("IKE201", NO_PROPOSAL, "the phase-1 proposals do not match", phase=1, generic=True),
    Cause("IKE202", NO_PROPOSAL, "the phase-2 proposals do not match", phase=2, generic=True),
    Cause("IKE204", r"(?i:pre-shared (?:key|secret) mismatch|PSK auth failed)", "the pre-shared keys differ"),
    Cause("IKE206", r"(?i:peer ID (?:mismatch|verification failed)|no matching gateway|gw validation failed"
                    r"|incorrect ID)", "the peer's ID matches no gateway"),
    Cause("IKE203", r"(?i:no matching (?:IPsec )?selectors?|failed to match peer selectors|TS_UNACCEPTABLE"
                    r"|no matching phase ?2)", "the phase-2 selectors do not match"),
    Cause("IKE301", r"\bdpd_failure\b|(?i:dpd (?:failed|failure|timeout))", "dead peer detection failed",
          then=("The log says the peer stopped answering the probes, not why: the IKE debug (filtered on the "
                "peer) shows the probes and any answer, and a sniffer on both ends shows where they are lost.")),
    Cause("IKE208", r"(?i:xauth\S* \S*fail|xauth (?:authentication )?fail)", "XAUTH user authentication failed"),
    Cause("IKE210", r"(?i:negotiation timeout|negotiate_timeout)", "the negotiation timed out"),
    # 37131 MESGID_ESP_ERROR: `error_num="Invalid ESP packet detected (HMAC validation failed)."`.
    Cause("IKE305", r"(?i:HMAC validation failed)", "ESP packets from the peer failed their integrity check (HMAC)",
          then=ESP_THEN),
    Cause("IKE303", r"(?i:ESP packet with unknown SPI)", "ESP packets arrived for an SPI no SA here knows",
          then=ESP_THEN, min_lines=2),
]
CODES = np.array([c.code for c in CAUSES])  # each row's code, to pick a rule's rows by index
# logid (last five digits) -> phase, from the Log Message Reference (MESGID_NEG_*, vpn
# category): 37120 GENERIC_P1_NOTIF, 37121 GENERIC_P1_ERROR, 37124 I_P1_ERROR, 37127
# PROGRESS_P1_NOTIF, 37128 PROGRESS_P1_ERROR; 37122 GENERIC_P2_NOTIF, 37123 GENERIC_P2_ERROR,
# 37125 I_P2_ERROR, 37129 PROGRESS_P2_NOTIF, 37130 PROGRESS_P2_ERROR. `stage=` (on the
# progress lines) says it where present.
LOGID_PHASE = {"37120": 1, "37121": 1, "37124": 1, "37127": 1, "37128": 1,
               "37122": 2, "37123": 2, "37125": 2, "37129": 2, "37130": 2}
# How a line says its phase, first that answers wins: its `stage`, its logid (LOGID_PHASE),
# then the words of its `logdesc`/`msg` (`"IPsec phase 2 error"`, `"progress IPsec phase 2"`:
# what a logid of another build or a re-typed one still says). A line that says none is phase 1.
STAGE = r'(?:^|\s)stage="?(?P<stage>[12])"?(?:\s|$)'
LOGID = r'(?:^|\s)log_?id="?\d*(?P<logid>\d{5})"?(?:\s|$)'
PHASE_WORDS = r'(?:^|\s)(?:logdesc|msg)="[^"]*?\b(?i:phase) ?(?P<phase>[12])\b'
FIELD = r'(?:^|\s)(?:{})=(?:"([^"]*)"|([^\s"]*))'


def field(text: str, name: str) -> str | None:
    """A key's value in one event-log line (None for absent or FortiOS' `N/A`)."""
    m = re.search(FIELD.format(eventlog.key_names(name)), text)
    value = None if m is None else (m.group(1).strip() if m.group(1) is not None else m.group(2))
    return None if value in (None, "", "N/A") else value


def _rows(events: pd.DataFrame) -> pd.DataFrame:
    """The VPN event-log rows (taken once per table: every rule asks)."""
    def build(ev: pd.DataFrame) -> pd.DataFrame:
        if not len(ev):
            return ev
        return ev[(ev["origin"] == ORIGIN).fillna(False).to_numpy() & (ev["kind"] != "log-other").fillna(False).to_numpy()]
    return per_table("eventlog_rows", events, build)


def _assigned(events: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The log rows that state a cause, and each one's row of CAUSES (the first that
    matches it): decided once per table, whole columns (RE2), for every rule that asks."""
    def build(ev: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        rows = _rows(ev)
        rows = rows[rows["detail"].notna().to_numpy()] if len(rows) else rows
        if not len(rows):
            return rows, np.zeros(0, np.int64)
        detail = pa.array(rows["detail"].astype(str).tolist(), pa.string())
        text = pa.array(rows["text"].astype(str).tolist(), pa.string())
        stage = pc.cast(regex.groups(text, STAGE)["stage"], pa.int64()).to_numpy(zero_copy_only=False)
        logid = regex.groups(text, LOGID)["logid"].to_pylist()
        by_logid = np.array([LOGID_PHASE.get(x or "", np.nan) for x in logid], dtype=float)
        by_words = pc.cast(regex.groups(text, PHASE_WORDS)["phase"], pa.int64()).to_numpy(zero_copy_only=False)
        ph = np.where(np.isnan(stage), by_logid, stage)
        ph = np.where(np.isnan(ph), by_words, ph)
        ph = np.where(np.isnan(ph), 1, ph)  # a log that does not say: phase 1
        which = np.full(len(rows), -1, np.int64)
        for k, c in enumerate(CAUSES):  # in order: a line is the first cause's that matches it
            hit = (which < 0) & regex.matches(detail, c.pattern)
            if c.phase is not None:
                hit &= ph == c.phase
            which[hit] = k
        keep = which >= 0
        return rows[keep], which[keep]
    return per_table("eventlog_causes", events, build)


def causes(events: pd.DataFrame, code: str) -> list[tuple[Cause, list]]:
    """The log lines that state ``code``'s cause, grouped by (source, device, peer, tunnel).

    A cause's ``min_lines`` counts the lines of its subject as :func:`add` tells it (device,
    peer IP, else tunnel), not of each group: two lines of one peer that name another tunnel
    or port (its NAT mapping moved) are two lines of one finding."""
    if not any(c.code == code for c in CAUSES):
        return []
    rows, which = _assigned(events)
    mine = np.flatnonzero(CODES[which] == code)
    if not len(mine):  # (most inputs hold no event log: an empty frame's itertuples still costs a millisecond)
        return []
    groups: dict[tuple, tuple[Cause, list, tuple]] = {}
    subjects: dict[tuple, int] = {}  # what add() tells one finding of -> the code's lines
    refused: dict[str | None, bool] = {}  # per gateway: asked once, not once per line
    for r, k in zip(rows.iloc[mine].itertuples(), which[mine].tolist()):
        c = CAUSES[k]
        tunnel = _tunnel(r)
        device = _device(r)
        # The logging FortiGate (`devname`) too: branches of one export failing towards one
        # hub are one finding each, not one hub peer failing N times.
        key = (str(r.source), device, _peer(r), tunnel)
        if c.generic:
            if tunnel not in refused:
                refused[tunnel] = _id_refused(events, tunnel)
            if refused[tunnel]:
                continue
        # One FortiGate's lines of one peer (by its IP), else of one tunnel.
        subject = (device, str(r.dst)) if pd.notna(r.dst) else (device, None, tunnel)
        groups.setdefault(key, (c, [], subject))[1].append(r)
        subjects[subject] = subjects.get(subject, 0) + 1
    return [(c, rows) for c, rows, subject in groups.values() if subjects[subject] >= c.min_lines]


def _tunnel(r) -> str | None:
    return None if pd.isna(r.tunnel) else str(r.tunnel)


def _id_refused(events: pd.DataFrame, tunnel: str | None) -> bool:
    """Did a debug in the input refuse a peer ID for ``tunnel`` (any, when None)? Each
    refusal speaks for a negotiation (negotiations.running), whose gateway may be unknown."""
    for _, speaks_for in ng.id_rejections(events).values():
        if any(n is None or n.tunnel is None or tunnel is None or n.tunnel == tunnel for n in speaks_for):
            return True
    return False


def _device(r) -> str | None:
    """The FortiGate that logged the line (`devname`, else the prompt's host name)."""
    device = getattr(r, "device", None)
    return None if device is None or pd.isna(device) else str(device)


def _peer(r) -> str | None:
    if pd.isna(r.dst):
        return None
    return endpoint(r.dst, r.dport)


def add(ctx, code: str, found: list[Finding]) -> Iterator[Finding]:
    """The findings of ``code`` the event log tells. A cause the rule found already (same
    peer or tunnel, or the same IKE SA: the log's `cookies` in its evidence) gets the log's
    lines as evidence; the others become findings."""
    told = causes(ctx.events, code)
    if not told:
        return
    index = _Subjects(found)
    made: dict[int, tuple[Cause, list]] = {}  # the findings made here from the log: their lines
    by_device: dict[tuple, Finding] = {}  # (device, peer IP, else tunnel) -> the finding made of its lines
    joined_by: dict[int, str | None] = {}  # a debug's finding -> the FortiGate whose log lines joined it
    for cause, rows in told:
        f = _finding(code, cause, rows)
        spis = {str(r.ispi) for r in rows if pd.notna(r.ispi)}
        device = _device(rows[0])
        # (by its peer, or by its tunnel only when it names no peer: two dial-up clients of one tunnel are two)
        same = by_device.get((device, f.peer_ip or f.tunnel)) or index.same(f, spis)
        if same is not None and id(same) in made and _device(made[id(same)][1][0]) != device:
            same = None  # another FortiGate's lines of the same peer: its own finding
        if same is not None and id(same) in made:
            # Another group of lines (another tunnel name, the peer without its port) of a
            # finding the log made: told again from all its lines, so its count, window and
            # evidence are those of the lines it lists.
            first_cause, before = made[id(same)]
            joined = sorted(before + rows, key=lambda r: (str(r.source), int(r.ref)))
            made[id(same)] = (first_cause, joined)
            vars(same).update(vars(_finding(code, first_cause, joined)))
            continue
        if same is not None and _one_device(joined_by, id(same), device):
            # More evidence of a debug's finding: from one FortiGate's log (the first that
            # joins it, presumably the debug's own); another FortiGate's lines of the same
            # peer are a finding of their own.
            seen = {(e.source, e.ref) for e in same.evidence}
            same.evidence.extend(e for e in f.evidence if (e.source, e.ref) not in seen)
            same.facts["event_log_lines"] = same.facts.get("event_log_lines", 0) + len(rows)
            if device:  # (what keeps the other FortiGate's finding apart in the dedup)
                same.facts.setdefault("device", device)
            continue
        index.add(f)
        made[id(f)] = (cause, rows)
        by_device.setdefault((device, f.peer_ip or f.tunnel), f)
        found.append(f)
        yield f


def _one_device(joined_by: dict[int, str | None], key: int, device: str | None) -> bool:
    """Whether ``device``'s lines may join the debug finding ``key``: the first FortiGate
    that joins it is taken as the debug's own; a line naming none (no or a blanked
    `devname`) is of any, and a FortiGate joining after such lines names it."""
    known = joined_by.get(key)
    if known is None or device is None or known == device:
        if device is not None:
            joined_by[key] = device
        return True
    return False


class _Subjects:
    """Findings by what they are about, for :func:`diagnosis._same_subject`'s question
    asked of many log findings at once: by peer, by tunnel, by the IKE SA SPIs their
    evidence lines name, and (for a finding that names no peer: a debug finding of a
    gateway) by the addresses its evidence lines name. The first finding (in list order)
    that answers wins."""

    def __init__(self, found: list[Finding]) -> None:
        self.order: dict[int, int] = {}
        self.by_peer: dict[str, Finding] = {}
        self.by_tunnel: dict[str, Finding] = {}  # any finding naming the tunnel
        self.peerless_by_tunnel: dict[str, Finding] = {}
        self.bare: Finding | None = None
        self.by_spi: dict[str, Finding] = {}
        self.peerless_by_addr: dict[str, Finding] = {}
        for g in found:
            self.add(g)

    def add(self, g: Finding) -> None:
        self.order.setdefault(id(g), len(self.order))
        if g.peer_ip:
            self.by_peer.setdefault(g.peer_ip, g)
        if g.tunnel:
            self.by_tunnel.setdefault(g.tunnel, g)
            if not g.peer_ip:
                self.peerless_by_tunnel.setdefault(g.tunnel, g)
        if not (g.peer_ip or g.tunnel) and self.bare is None:
            self.bare = g
        for e in g.evidence:
            text = str(e.text).lower()
            for spi in SPI.findall(text):
                self.by_spi.setdefault(spi, g)
            if not g.peer_ip:
                for addr in IPV4.findall(text):
                    self.peerless_by_addr.setdefault(addr, g)

    def same(self, f: Finding, spis: set[str]) -> Finding | None:
        if f.peer_ip:
            candidates = [self.by_peer.get(f.peer_ip), f.tunnel and self.peerless_by_tunnel.get(f.tunnel),
                          self.peerless_by_addr.get(f.peer_ip)]
        elif f.tunnel:
            candidates = [self.by_tunnel.get(f.tunnel)]
        else:
            candidates = [self.bare]
        candidates += [self.by_spi.get(s) for s in spis]
        found = [g for g in candidates if g is not None and g is not f]
        return min(found, key=lambda g: self.order[id(g)]) if found else None


# An IKE SA SPI as the debug and the log's `cookies` print it.
SPI = re.compile(r"\b[0-9a-f]{16}\b")
IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])")


def _finding(code: str, cause: Cause, rows: list) -> Finding:
    first, last = rows[0], rows[-1]
    text = str(first.text)
    peer, tunnel = _peer(first), _tunnel(first)
    local = endpoint(first.src, first.sport) if pd.notna(first.src) and pd.notna(first.sport) else None
    logid = field(text, "logid")
    desc = field(text, "logdesc") or field(text, "msg")
    reason = _said(str(first.detail))
    who = peer or "the peer"
    device = _device(first)
    gw = (f" in phase 2 of tunnel {tunnel}" if cause.phase == 2 else f" on gateway {tunnel}") if tunnel else ""
    user = field(text, "xauthuser") or field(text, "user")
    by = f" for user {user}" if code == "IKE208" and user else ""
    times = f"{counted(len(rows), 'time')}, first at {when(first)}" + (f", last at {when(last)}" if len(rows) > 1 else "")
    selectors = _selectors(text)
    spis = list(dict.fromkeys(str(r.esp_spi).lower() for r in rows if pd.notna(getattr(r, "esp_spi", None))))
    msg = ((f"The event log of FortiGate {device}" if device else "The FortiGate's event log")
           + f" says {cause.says} with {who}{gw}{by}"
           + (f" (local end {local})" if local else "")
           + f": logid {logid or '?'}" + (f" \"{desc}\"" if desc else "") + f", `{reason}`, {times}. "
           + (f"The line names the phase 2's selectors (srcaddr/dstaddr, the proxy IDs) "
              f"{selectors[0]} <-> {selectors[1]}: compare them with the peer's, mirrored; FortiOS "
              "logs selectors that do not match (IKE203) with the same words. " if selectors else "")
           + (f"SPI {', '.join('0x' + x for x in spis)}. " if spis else "")
           + (UNMATCHED.format(who=who) if code == "IKE201" and tunnel is None else "")
           + cause.then)
    facts = {"source": "event log", "logid": logid, "reason": reason, "lines": len(rows)}
    if device:
        facts["device"] = device
    if spis:
        facts["esp_spis"] = spis
    if code == "IKE201" and tunnel is None:
        facts["tunnel_matched"] = False
    if cause.phase is not None:
        facts["phase"] = cause.phase
    if selectors:
        facts["selectors"] = {"local": selectors[0], "remote": selectors[1]}
    ev_rows = rows[:3] + ([last] if len(rows) > 3 else [])
    return finding(code, msg, between=(first, last), tunnel=tunnel, peer=peer,
                   evidence=[evidence(r) for r in ev_rows],
                   timeline=[moment(first, f"event log: {cause.says}" + (f" ({tunnel})" if tunnel else ""))],
                   facts=facts)


# The phase 2's own addresses a line may carry (`srcaddr="10.10.0.0/255.255.0.0"
# dstaddr="172.16.20.0/255.255.255.0"`): its selectors, local then remote.
SELECTOR_KEYS = ("srcaddr", "dstaddr")


def _said(detail: str) -> str:
    """What the line says of its cause: its reason, else its action and status as logged
    (`action=dpd status=dpd_failure`, where `detail` reads `dpd dpd_failure`)."""
    if ": " in detail:
        return detail.split(": ", 1)[1]
    action, _, status = detail.partition(" ")
    return f"action={action} status={status}" if status else detail


def _selectors(text: str) -> tuple[str, str] | None:
    """The line's selectors as prefixes (`10.10.0.0/16`), both or none; a value that is not
    an address or network is shown as logged."""
    values = [field(text, key) for key in SELECTOR_KEYS]
    if None in values:
        return None
    out = []
    for v in values:
        try:
            out.append(str(ipaddress.ip_network(v, strict=False)))
        except ValueError:  # a range (`10.0.0.1-10.0.0.9`), a name: as the log prints it
            out.append(v)
    return out[0], out[1]


# A phase-1 error naming no tunnel (`vpntunnel="N/A"`): the peer was refused before it was
# matched to a phase 1, as internet scanners are, day in day out.
UNMATCHED = ("The line names no tunnel (`vpntunnel` N/A or absent): the peer was not matched to a phase 1 (a dial-up "
             "gateway, or none). If {who} is not a peer you expect (scanners try common proposals on UDP 500), "
             "this is noise: allow IKE only from known peers with a local-in policy; if it is, compare its "
             "proposals with those of the phase 1 meant for it. ")


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
        # The values are the line's own digits, printed as they are.
        lived = [counted(v, one, many)
                 for key, one, many in (("duration", "s up", "s up"), ("sentbyte", "byte sent", "bytes sent"),
                                        ("rcvdbyte", "byte received", "bytes received"))
                 if state == "down" and (v := field(text, key)) is not None]
        out.append(Moment(timeval(r.time), tval(r.t), f"event log: {name} {state}{what}"
                          + (f" with {peer}" if peer else "") + (f" after {', '.join(lived)}" if lived else ""),
                          str(r.source), int(r.ref)))
    return out
