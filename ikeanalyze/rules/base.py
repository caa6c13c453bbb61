"""Small helpers every rule uses to build findings from event rows."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import pandas as pd

from ikeanalyze.diagnosis import Evidence, Finding, Moment, clock_text, human_duration
from ikeanalyze.diagnosis import row_stamp as stamp
from ikeanalyze.endpoints import address as _address
from ikeanalyze.rules.registry import REGISTRY

__all__ = ["finding", "evidence", "moment", "when", "human_duration", "span", "tval", "timeval", "kinds_text",
           "ispis", "fill_fix", "ungrouped_fix", "join_note"]

# Packet kinds as a message names them.
KIND_WORDS = {"esp": "ESP", "nat-keepalive": "NAT keepalives", "ike": "IKE", "ip-fragment": "fragments"}


def finding(code: str, message: str, *, between=None, fix: str | None = None, **kw) -> Finding:
    """The rule's Finding; ``between=(first, last)`` sets its start and end (times and `t`)
    from the first and last rows it is about, the earlier one first. ``fix``: the step for
    this finding's cause when the rule knows it, instead of the rule's Fix section."""
    if between is not None:
        a, b = between
        if tval(a.t) is not None and tval(b.t) is not None and tval(a.t) > tval(b.t):
            a, b = b, a  # a capture out of time order (merged files): the span still runs forward
        kw.update(start=timeval(a.time), end=timeval(b.time), t_start=tval(a.t), t_end=tval(b.t),
                  stamp_start=stamp(a), stamp_end=stamp(b))
    r = REGISTRY[code]
    return Finding(code=code, name=r.name, severity=r.severity, title=r.title, message=message,
                   fix=fix or r.fix, **kw)


# A clause of a fix that runs its command on the peer's end, or on both, keeps the
# placeholders: there `<peer>` is this FortiGate and the tunnel has the peer's own name.
# (`filtered on the peer` is a debug filter on this side.)
ELSEWHERE = re.compile(r"both ends|other end|(?<!filtered )on the peer\b|the peer's", re.IGNORECASE)
# Words of a clause that mention the other end without running a command there: the
# command is this side's and is filled. A purpose (IKE305: clear the SA `so both ends
# derive fresh keys`), and a last step with no command of its own (IKE214: `..., then
# mirror it on the peer.`). `then `cmd`` is not one: that command follows.
ASIDES = (re.compile(r"\bso (?:that )?both ends\b", re.IGNORECASE),
          re.compile(r"\bthen\b[^`]*$", re.IGNORECASE))
# A clause ends at `.` or `;` outside a quoted command.
CLAUSE_END = re.compile(r"(?<=[.;])(?=\s)")


def _clauses(text: str) -> list[str]:
    """``text`` cut after each `.` or `;` outside backticks; joined again they are ``text``."""
    out, current = [], ""
    for i, part in enumerate(re.split(r"(`[^`]*`)", text)):
        pieces = [part] if i % 2 else CLAUSE_END.split(part)
        current += pieces[0]
        for p in pieces[1:]:
            out.append(current)
            current = p
    return out + [current]


def _elsewhere(clause: str) -> bool:
    """Whether a clause of a fix runs its command on the peer's end or on both (:data:`ELSEWHERE`),
    its :data:`ASIDES` left out."""
    for aside in ASIDES:
        clause = aside.sub("", clause)
    return bool(ELSEWHERE.search(clause))


def fill_fix(f: Finding) -> None:
    """Put the finding's own peer address, tunnel name and local address in place of the
    Fix section's `<peer>`, `<tunnel>`/`<phase1>` and `<local>` where the command runs on
    this side; each rule's Fix is written once for every finding, and a placeholder where
    the value is known sends the engineer hunting for it. Clauses for the peer's end or both
    ends keep them (:data:`ELSEWHERE`), and so does a value the finding does not know."""
    peer, local = _address(f.peer), _address(f.facts.get("local"))
    tunnel = f.tunnel if isinstance(f.tunnel, str) and re.fullmatch(r"[^\s`'\"<>]+", f.tunnel) else None
    values = {"<peer>": peer, "<tunnel>": tunnel, "<phase1>": tunnel, "<local>": local}
    if not f.fix or not any(v and k in f.fix for k, v in values.items()):
        return
    filled = []
    for clause in _clauses(f.fix):
        if not _elsewhere(clause):
            if peer and ":" in peer:  # an IPv6 peer is filtered on with rem-addr6
                clause = clause.replace("rem-addr4 <peer>", "rem-addr6 <peer>")
            for k, v in values.items():
                if v:
                    clause = clause.replace(k, v)
        filled.append(clause)
    f.fix = "".join(filled)


# A Fix that first points at the cause grouped above the finding, then says what to do
# `Without one` (IKE210's, IKE304's): a finding no cause took is told the second part only.
GROUPED_ABOVE = re.compile(r"^Look at the [^.]*? grouped above it(?: \([^)]*\))?\. Without one, (?=\S)")


def ungrouped_fix(f: Finding) -> None:
    """Drop the pointer to a cause "grouped above it" from the fix of a finding that no
    cause took: the report shows nothing above it, and the engineer would look for it."""
    m = GROUPED_ABOVE.match(f.fix or "")
    if m:
        rest = f.fix[m.end():]
        f.fix = rest[0].upper() + rest[1:]


def join_note(f: Finding, note) -> None:
    """Join ``note`` (analysis.snapshots.Note: a sentence, the lines behind it and their
    facts) to the finding's message, evidence and facts; kept in ``f.notes`` so that a
    symptom does not repeat what its cause says (diagnosis.rank)."""
    f.message += f" {note.text}"
    f.evidence.extend(note.evidence)
    f.facts.update(note.facts)
    f.notes.append(note.text)


def timeval(v):
    return None if v is None or pd.isna(v) else pd.Timestamp(v).to_pydatetime()


def tval(v):
    return None if v is None or pd.isna(v) or (isinstance(v, float) and math.isnan(v)) else float(v)


def evidence(row) -> Evidence:
    return Evidence(str(row.source), int(row.ref), str(row.text), timeval(row.time))


def moment(row, text: str) -> Moment:
    return Moment(timeval(row.time), tval(row.t), text, str(row.source), int(row.ref), stamp(row))


def when(row, precise: bool = True) -> str:
    """`23:34:42.766 (line 20)` — the time as the input printed it, and where to look."""
    unit = "frame" if str(row.origin) == "pcap" else "line"
    return f"{clock_text(timeval(row.time), tval(row.t), precise, stamp(row))} ({unit} {int(row.ref)})"


def span(a, b) -> float | None:
    """Seconds between two rows (by their `t`, which shares one clock per source)."""
    ta, tb = tval(a.t), tval(b.t)
    if ta is None or tb is None or a.source != b.source:
        if a.time is not None and b.time is not None and not pd.isna(a.time) and not pd.isna(b.time):
            return (pd.Timestamp(b.time) - pd.Timestamp(a.time)).total_seconds()
        return None
    return tb - ta


def sides_unknown(text: str, cases: tuple[tuple[str, str], ...] = ()) -> str:
    """What sniffer text with no in/out cannot say, in the words every rule that guesses
    the sides uses: ``text`` (`The text`, `the sniffer text`) shows no in/out, and ``cases``
    ((address, what it means if that address is this FortiGate), …) say both readings."""
    said = f"{text} shows no in/out, so which of the two is this FortiGate is not known (`--local ADDRESS` tells)"
    return said + (": " + "; ".join(f"if it is {who}, {then}" for who, then in cases) if cases else "") + "."


def kinds_text(counts) -> str:
    """`6 NAT keepalives, 5 ESP`: how many packets of each kind (a Counter), most first."""
    return ", ".join(f"{n} {KIND_WORDS.get(k, k)}" for k, n in counts.most_common())


def ispis(items: Iterable) -> list[str]:
    """The `ispis` fact: the initiator SPIs of the IKE SAs a finding is about (of ``items``,
    each with an `ispi`, None where unknown), each once, in order. diagnosis.rank reads it:
    another SA's retransmissions or silence from the same peer are another episode, not a
    symptom of this one."""
    return list(dict.fromkeys(x.ispi for x in items if x.ispi))
