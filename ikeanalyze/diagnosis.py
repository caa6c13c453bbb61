"""Findings, their evidence, and the Diagnosis: ranked findings plus the incident timeline.

A Diagnosis is what every report renders; it holds no DataFrames, only plain values, so
the JSON, terminal, Markdown and HTML reports all tell the same story.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from ikeanalyze.endpoints import host
from ikeanalyze.ingest import IngestReport
from ikeanalyze.words import counted  # the rules import it from here

SEVERITIES = ("info", "warning", "error", "critical")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Evidence:
    """A pointer into the input: file and line (text) or frame (capture), and what is there."""

    source: str
    ref: int | None
    text: str
    time: datetime | None = None


@dataclass(frozen=True)
class Moment:
    """One line of the incident timeline."""

    time: datetime | None
    t: float | None
    text: str
    source: str | None = None
    ref: int | None = None
    stamp: str | None = None  # the line's stamp as printed, when the input has no clock (printed_stamp)


@dataclass
class Finding:
    code: str
    name: str
    severity: str
    title: str
    message: str
    fix: str
    start: datetime | None = None
    end: datetime | None = None
    t_start: float | None = None
    t_end: float | None = None
    tunnel: str | None = None
    peer: str | None = None  # ip:port of the remote side
    evidence: list[Evidence] = field(default_factory=list)
    timeline: list[Moment] = field(default_factory=list)
    facts: dict = field(default_factory=dict)  # machine-readable numbers behind the message
    symptoms: list[Finding] = field(default_factory=list)  # findings this one explains
    clock: str = "device"  # how to print times: utc | device | relative
    # t_start/t_end's lines' stamps as printed, when the input has no clock (printed_stamp)
    stamp_start: str | None = None
    stamp_end: str | None = None
    # Sentences of other evidence joined to the message (a gateway list that agrees:
    # rules.base.join_note), so that a symptom does not tell its cause's again (rank).
    notes: list[str] = field(default_factory=list, repr=False, compare=False)

    @property
    def peer_ip(self) -> str | None:
        if not self.peer:
            return None
        return host(self.peer)


@dataclass
class Diagnosis:
    findings: list[Finding]  # top-level, ranked; symptoms nested under their cause
    timeline: list[Moment]
    ingest: IngestReport
    summary: str
    next_steps: list[str] = field(default_factory=list)
    snapshots: list[dict] = field(default_factory=list)  # per-tunnel state snapshots (analysis.snapshots)
    # Tunnels the state shows down while no rule found a cause (analysis.snapshots.down_tunnels):
    # the headline names them instead of saying nothing is wrong.
    down_tunnels: list[dict] = field(default_factory=list)
    # The (focused) event table it was made from; the HTML chart and event table draw it.
    events: object = field(default=None, repr=False, compare=False)

    def all_findings(self) -> list[Finding]:
        out = []
        for f in self.findings:
            out.append(f)
            out.extend(f.symptoms)
        return out

    def reaches(self, severity: str) -> bool:
        """Does any finding reach ``severity`` (for --fail-on)?"""
        return any(SEVERITY_RANK[f.severity] >= SEVERITY_RANK[severity] for f in self.all_findings())

    def down_verdict(self) -> str | None:
        """`No rule found a cause, but 1 tunnel is down: to-hq (remote gateway 198.51.100.9)`
        (as the state outputs show it), or None when no such tunnel is known."""
        if not self.down_tunnels:
            return None
        names = [t["tunnel"] + (f" (remote gateway {t['remote_gateway']})" if t.get("remote_gateway") else "")
                 + (f" on {t['device']}" if t.get("device") else "") for t in self.down_tunnels]
        are = "1 tunnel is" if len(names) == 1 else f"{len(names)} tunnels are"
        return f"No rule found a cause, but {are} down: {', '.join(names[:3])}{' …' if len(names) > 3 else ''}"

    def headline(self) -> str:
        """The report's one-line verdict, short enough for a border line: the findings' count
        and worst severity, and how many tunnels the state shows down that no rule explains
        (:meth:`down`; the title or summary names them), or that nothing was found."""
        return "; ".join(x for x in (self.found(), self.down()) if x) or "no findings"

    def down(self) -> str:
        """`2 tunnels down` (:meth:`down_verdict`'s, short: for a status line beside the title
        that names them), or "" when there are none."""
        return f"{counted(len(self.down_tunnels), 'tunnel')} down" if self.down_tunnels else ""

    def found(self) -> str:
        """`3 findings, worst: error`, or "" when there are none."""
        worst = self.worst()
        return f"{counted(len(self.all_findings()), 'finding')}, worst: {worst}" if worst else ""

    def worst(self) -> str | None:
        fs = self.all_findings()
        return max((f.severity for f in fs), key=SEVERITY_RANK.__getitem__) if fs else None


def human_duration(seconds: float) -> str:
    """339.4 → '5 min 39 s'; 2.5 → '2.5 s'; 7322 → '2 h 2 min'; 43200 → '12 h'."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        m, s = divmod(s, 60)
        return f"{m} min {s} s" if s else f"{m} min"
    h, rem = divmod(s, 3600)
    return f"{h} h {rem // 60} min" if rem // 60 else f"{h} h"


# A stamp with no date, as packet text prints it at the start of its line: sniffer text's
# seconds since the run started (`10.031234`), tcpdump's time of day or `-ttt`/`-ttttt`
# forms. Cited as printed, a search of the paste finds it; `+10.031 s` (seconds since the
# input's first stamp) matches nothing there.
PRINTED_STAMP = re.compile(r"[ \t]*(\d+\.\d+|\d{1,2}:\d\d:\d\d(?:\.\d+)?)(?=[ \t])")


def printed_stamp(text: object) -> str | None:
    """The relative stamp ``text`` (a line of the input) starts with, or None."""
    m = PRINTED_STAMP.match(text) if isinstance(text, str) else None
    return m.group(1) if m else None


def row_stamp(row) -> str | None:
    """An event row's stamp as its line printed it, when the input has no clock (its `time`
    is empty): what a finding or an analysis prints for that row's moment (clock_text)."""
    time = getattr(row, "time", None)
    return printed_stamp(getattr(row, "text", None)) if time is None or pd.isna(time) else None


def clock_text(time: datetime | None, t: float | None, precise: bool = True, stamp: str | None = None) -> str:
    """How a moment is printed: the input's own clock; with none, the line's ``stamp`` as
    printed (printed_stamp), else seconds from the input's start. A clock that tells whole
    seconds only (older debug stamps, a terminal client's) gets no `.000`."""
    if time is not None:
        whole = not precise or not time.microsecond
        return time.strftime("%H:%M:%S") if whole else time.strftime("%H:%M:%S.%f")[:-3]
    if stamp:
        return stamp
    if t is not None:
        return f"+{t:.3f} s"
    return "(no time)"


def rank(findings: list[Finding], explains: dict[str, tuple[str, ...]]) -> list[Finding]:
    """Group symptoms under their cause (same peer or tunnel, and the same IKE SA when both
    name theirs: :func:`_same_episode`) and order the causes.

    ``explains`` maps a code to the codes it explains. A root cause outranks its symptoms
    whatever their severities; causes are ordered by severity, then by time.
    """
    merged = _dedup(findings)
    by_code: dict[str, list[Finding]] = {}
    for f in merged:
        by_code.setdefault(f.code, []).append(f)
    parent: dict[int, Finding] = {}  # symptom -> its cause

    def above(f: Finding) -> set[int]:
        up = set()
        while id(f) in parent:
            f = parent[id(f)]
            up.add(id(f))
        return up

    for cause in merged:
        for code in explains.get(cause.code, ()):
            for sym in by_code.get(code, []):
                # A finding explained by one of its own symptoms would leave the report with both.
                if id(sym) == id(cause) or id(sym) in parent or id(sym) in above(cause):
                    continue
                if _same_subject(cause, sym) and _same_episode(cause, sym):
                    cause.symptoms.append(sym)
                    parent[id(sym)] = cause
    top = [f for f in merged if id(f) not in parent]
    for f in top:
        # The reports show one level: a symptom of a symptom is listed under the root cause.
        f.symptoms = _descendants(f)
        for s in f.symptoms:
            s.symptoms = []

    def key(f: Finding):
        t = f.t_start if f.t_start is not None else float("inf")
        # Input-quality findings (IKE9xx) describe the evidence, not the network: last.
        return (f.code.startswith("IKE9"), -SEVERITY_RANK[f.severity], -len(f.symptoms), t, f.code)

    top.sort(key=key)
    for f in top:
        f.symptoms.sort(key=key)
        for sym in f.symptoms:
            _untell(sym, f)
    return top


def _untell(sym: Finding, cause: Finding) -> None:
    """Drop from a symptom's message the joined notes its cause's message already tells
    (IKE210's "The gateway list agrees: ..." under IKE105's): said once, on the cause."""
    for note in [n for n in sym.notes if n in cause.notes]:
        sym.message = sym.message.replace(f" {note}", "", 1)
        sym.notes.remove(note)


def _descendants(f: Finding) -> list[Finding]:
    out = []
    for s in f.symptoms:
        out.append(s)
        out.extend(_descendants(s))
    return out


def _ike_sas(f: Finding) -> set[str]:
    """The initiator SPIs of the IKE SAs ``f`` is about (facts `ispi`, `ispis`), when it names them."""
    out = {str(s) for s in f.facts.get("ispis") or ()}
    return out | {str(f.facts["ispi"])} if f.facts.get("ispi") else out


def _same_episode(cause: Finding, sym: Finding) -> bool:
    """Could ``cause`` explain ``sym``: unless both name the IKE SAs they are about and share
    none, or ``sym`` was over before ``cause`` began (beyond EPISODE_CLOCK_SLACK_S, on clocks
    of one kind: a capture's UTC and a FortiGate's local time may differ by hours). An
    SA_INIT that went unanswered and timed out is not explained by the peer's
    NO_PROPOSAL_CHOSEN to a later attempt (a new SA): the peer that answered the one was
    silent to the other, which proposals cannot explain. Nor is a rekey refused at 14:00 by
    the peer going silent at 16:00."""
    if (cause.clock == sym.clock and cause.start is not None and sym.end is not None
            and (cause.start - sym.end).total_seconds() > EPISODE_CLOCK_SLACK_S):
        return False
    a, b = _ike_sas(cause), _ike_sas(sym)
    return not (a and b) or bool(a & b)


def _same_subject(a: Finding, b: Finding) -> bool:
    if a.peer_ip and b.peer_ip:
        return a.peer_ip == b.peer_ip
    if a.tunnel and b.tunnel:
        return a.tunnel == b.tunnel
    return not (a.peer_ip or b.peer_ip or a.tunnel or b.tunnel)


# Facts that name what a finding is about beyond its peer: two findings of one code and
# peer that name different values are two stories (two IKE SAs, two users, two gateways).
# `resent_by` (IKE304): the client's re-sent requests and this side's re-sent answers on
# one IKE SA are two stories; so are this side's refused starts and the peer's refused
# requests (IKE209 `started_by`), two FortiGates' logs (`device`), and two runs of a
# paste's packets (`view`: rules/registry.py).
IDENTITY_FACTS = ("ispi", "user", "gateway", "resent_by", "device", "started_by", "view")
# Two inputs' clocks of one kind (two FortiGates' device time) may differ this much: a symptom
# that ended longer before its cause began is another episode (_same_episode).
EPISODE_CLOCK_SLACK_S = 120.0
SAME_STORY_SLACK_S = 1.0  # a sniffer and a debug stamp one packet up to this far apart


def _dedup(findings: list[Finding]) -> list[Finding]:
    """Two sources telling the same finding (a sniffer and a debug of one tunnel) become one
    finding with the evidence of both; the first (richer, timed) one keeps its message.
    Findings of one code and peer that tell different stories (another tunnel, IKE SA or
    user, or another time) all stay."""
    out: dict[tuple, list[Finding]] = {}
    for f in findings:
        same = out.setdefault((f.code, f.peer or f.tunnel or f.message), [])
        kept = next((k for k in same if _same_story(k, f)), None)
        if kept is None:
            same.append(f)
            continue
        seen = {(e.source, e.ref) for e in kept.evidence}
        kept.evidence.extend(e for e in f.evidence if (e.source, e.ref) not in seen)
        # The other source's moments of the same story tell its first and last packet again
        # (the sniffer's `udp 480` a few ms after the debug's `sent IKE msg`): the timeline
        # keeps one line per moment. (A list first: extending by a generator would compare
        # each of f's moments with those just added from f too.)
        kept.timeline.extend([m for m in f.timeline if not _told(m, kept.timeline)])
    return [f for same in out.values() for f in same]


def _told(m: Moment, moments: list[Moment]) -> bool:
    """Is ``m`` already among ``moments``: one at most SAME_STORY_SLACK_S away on the clock?"""
    if m.time is None:
        return False  # relative stamps of two inputs do not line up
    return any(k.time is not None and abs((k.time - m.time).total_seconds()) <= SAME_STORY_SLACK_S
               for k in moments)


def _same_story(a: Finding, b: Finding) -> bool:
    """Could ``a`` and ``b`` (one code, one peer) be one thing seen twice?"""
    if a.tunnel and b.tunnel and a.tunnel != b.tunnel:
        return False
    for key in IDENTITY_FACTS:
        va, vb = a.facts.get(key), b.facts.get(key)
        if va and vb and va != vb:
            return False
    shared = {e.source for e in a.evidence} & {e.source for e in b.evidence}
    if shared and a.facts.get("reason") and b.facts.get("reason") and a.facts["reason"] != b.facts["reason"]:
        # One input giving two causes (passive mode, then no policy) tells two things. Across
        # inputs the words differ (an event log's reason against a rule's name for it).
        return False
    if None in (a.start, b.start) or not shared:
        # One has no clock, or they come from different inputs, whose clocks may differ
        # (a capture in UTC, a FortiGate's debug in its local time): the peer says it.
        return True
    a_end, b_end = a.end or a.start, b.end or b.start
    return (a.start - b_end).total_seconds() <= SAME_STORY_SLACK_S and \
        (b.start - a_end).total_seconds() <= SAME_STORY_SLACK_S


def build_timeline(findings: list[Finding], extra: list[Moment] = ()) -> list[Moment]:
    """The findings' moments and ``extra`` in time order, each once. A symptom's moment on
    the very line a moment of its cause, or of an earlier symptom of that cause, is on
    (IKE304's `INFORMATIONAL ... first sent` beside IKE301's `first unanswered DPD probe`)
    tells that packet again: left out. ``findings``: the causes, then their symptoms."""
    moments: dict[tuple, Moment] = {}
    for m in extra:
        moments.setdefault((m.time, m.t, m.text), m)
    family: dict[int, set] = {}  # a cause and each of its symptoms -> one set of lines told
    for f in findings:
        for s in f.symptoms:
            family[id(s)] = family.setdefault(id(f), set())
    for f in findings:
        told = family.get(id(f), set())
        lines = set()
        for m in f.timeline:
            if m.ref is not None and f.symptoms == [] and (m.source, m.ref) in told:
                continue
            lines.add((m.source, m.ref))
            moments.setdefault((m.time, m.t, m.text), m)
        told.update(lines)
    # Moments with no time at all (a debug without console stamps) in the order of their lines:
    # the findings' order would put a retransmission's first send after the timeout it led to.
    return sorted(moments.values(), key=lambda m: (
        m.time is None and m.t is None,
        m.time.timestamp() if m.time is not None else (m.t or 0.0),
        (m.source or "", m.ref or 0) if m.time is None and m.t is None else ("", 0),
    ))


def summarize(findings: list[Finding], ingest: IngestReport) -> str:
    """The incident in a few sentences: the top root cause, its conclusion (IKE104 says what
    the user lived through), then the other problems grouped by code."""
    if not findings:
        n = sum(r.events for r in ingest.inputs)
        return f"No problem found in {counted(n, 'event')} from {counted(len(ingest.inputs), 'input')}."
    top = findings[0]
    parts = [top.message]
    parts.extend(s.message for s in top.symptoms if s.code == "IKE104")
    others = [f for f in findings[1:] if SEVERITY_RANK[f.severity] >= SEVERITY_RANK["warning"]
              and not f.code.startswith("IKE9")]
    by_code: dict[str, list[Finding]] = {}
    for f in others:
        by_code.setdefault(f.code, []).append(f)
    bits = []
    for code, fs in list(by_code.items())[:4]:
        subjects = list(dict.fromkeys(s for f in fs if (s := _subject(f))))
        devices = list(dict.fromkeys(str(f.facts["device"]) for f in fs if f.facts.get("device")))
        if code == top.code and top.facts.get("device") and len(devices) == len(fs) \
                and top.facts["device"] not in devices:
            # Another FortiGate's log (one export of several devices), maybe of the same peer.
            bits.append(f"the same on {counted(len(devices), 'other FortiGate')}: {_few(devices)}")
        elif code == top.code:
            own = _subject(top)
            rest = [x for x in subjects if x != own]
            bits.append(f"the same for {counted(len(rest), 'other peer')}: {_few(rest)}" if rest
                        else f"{counted(len(fs), f'more {code} finding')}" + (" of the same peer" if subjects else ""))
        elif len(subjects) > 1:
            bits.append(f"{code} {in_sentence(fs[0].title)} for {len(subjects)} peers: {_few(subjects)}")
        else:
            bits.append(f"{code} {in_sentence(fs[0].title)}" + (f" ({subjects[0]})" if subjects else ""))
    if bits:
        parts.append("Also: " + "; ".join(bits) + ".")
    return " ".join(parts)


def in_sentence(title: str) -> str:
    """A rule's title (or a verdict) inside a sentence: its first letter lower case unless the
    first word is a protocol's name (`IKE_SA_INIT`, `NAT-T`, `UDP`), and every other word as
    written: lower-casing the whole title gave `ike_sa_init unanswered`, `nat-t port blocked`."""
    first = title.split(" ", 1)[0]
    if sum(c.isupper() for c in first) > 1 or "_" in first:
        return title
    return title[:1].lower() + title[1:]


def _subject(f: Finding) -> str | None:
    """What the headline names a finding by: its peer's address, else its gateway, as such
    (a bare `ipsec` in a list of peers reads as a host)."""
    return f.peer_ip or (f"gateway {f.tunnel}" if f.tunnel else None)


def _few(items: list[str], n: int = 4) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")
