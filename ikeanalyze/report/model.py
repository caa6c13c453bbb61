"""Diagnosis → plain dict: the versioned JSON schema, and the only input of the JSON,
Markdown and HTML reports (coverage.py's report model in spirit).

Schema 1 (keys may be added, never renamed):
  ikeanalyze, schema, summary, inputs[], findings[] (ranked; a symptom names its cause in
  `symptom_of`), timeline[],
  next_steps[], snapshots[] (per tunnel: the latest `diagnose vpn tunnel list` / `ike gateway
  list` / tunnel summary facts, see analysis.snapshots.TunnelState.as_dict).
  Times are ISO 8601 in the input's own clock: UTC captures end in `Z`,
  device clocks (sniffer `a`/`l`, debug console timestamps) and a terminal client's
  stamps (an input whose lines print no time) carry no zone; `null` when
  the input has only relative times, and then `t_start`/`t_end` are seconds from its start.
"""

from __future__ import annotations

from datetime import datetime

from ikeanalyze import __version__
from ikeanalyze.diagnosis import Diagnosis, Finding, Moment

SCHEMA_VERSION = 1


def iso(time: datetime | None, clock: str = "device") -> str | None:
    if time is None:
        return None
    text = time.isoformat(timespec="microseconds")
    return text + "Z" if clock == "utc" else text


def unit(d: Diagnosis, source: str | None) -> str:
    """What a ref counts in ``source``: `frame` for a capture, `line` for text."""
    for r in d.ingest.inputs:
        if r.source == source:
            return r.unit
    return "line"


def _num(v: float | None) -> float | None:
    return None if v is None else round(float(v), 6)


def finding(f: Finding, rank: int, symptom_of: str | None = None) -> dict:
    return {
        "rank": rank,
        "symptom_of": symptom_of,
        "code": f.code,
        "name": f.name,
        "severity": f.severity,
        "title": f.title,
        "message": f.message,
        "start": iso(f.start, f.clock),
        "end": iso(f.end, f.clock),
        "t_start": _num(f.t_start),
        "t_end": _num(f.t_end),
        "stamp_start": f.stamp_start,
        "stamp_end": f.stamp_end,
        "tunnel": f.tunnel,
        "peer": f.peer,
        "evidence": [
            {"source": e.source, "ref": e.ref, "text": e.text, "time": iso(e.time, f.clock)} for e in f.evidence
        ],
        "fix": f.fix,
        "facts": f.facts,
    }


def findings(d: Diagnosis) -> list[dict]:
    """Flat and ranked: each root cause, then the symptoms it explains (`symptom_of`)."""
    out: list[dict] = []
    for f in d.findings:
        out.append(finding(f, len(out) + 1))
        out.extend(finding(s, len(out) + 1, f.code) for s in f.symptoms)
    return out


def moment(m: Moment, clocks: dict[str, str]) -> dict:
    return {
        "time": iso(m.time, clocks.get(m.source or "", "device")),
        "t": _num(m.t),
        "text": m.text,
        "source": m.source,
        "ref": m.ref,
        "stamp": m.stamp,
    }


def build(d: Diagnosis) -> dict:
    clocks = {r.source: r.clock for r in d.ingest.inputs}
    return {
        "ikeanalyze": __version__,
        "schema": SCHEMA_VERSION,
        "summary": d.summary,
        "inputs": [r.as_dict() for r in d.ingest.inputs],
        "findings": findings(d),
        "timeline": [moment(m, clocks) for m in d.timeline],
        "next_steps": list(d.next_steps),
        "snapshots": list(d.snapshots),
        "down_tunnels": [dict(t) for t in d.down_tunnels],
    }
