"""The rule registry: the @rule decorator, thresholds, selection by code/prefix/name.

Code families (stable, public; see docs/rules):
  IKE1xx transport and reachability · IKE2xx negotiation · IKE3xx liveness and rekey ·
  IKE9xx input quality.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ikeanalyze.analysis import capfilter, nextsteps
from ikeanalyze.errors import UsageError

FAMILIES = {
    "IKE1": "transport and reachability",
    "IKE2": "negotiation",
    "IKE3": "liveness and rekey",
    "IKE9": "input quality",
}
SECTIONS = ("What it detects", "Why it matters", "Evidence", "Fix")
STATUSES = ("stable", "preview", "removed")
SEVERITIES = ("info", "warning", "error", "critical")
CODE = re.compile(r"^IKE\d{3}$")
# Renamed codes keep working in --select/--ignore lists.
REDIRECTS: dict[str, str] = {}


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: str
    title: str
    check: Callable
    thresholds: object  # a frozen dataclass instance with the defaults
    doc: str
    explains: tuple[str, ...] = ()  # codes this rule's finding is the root cause of
    status: str = "stable"
    absence: bool = False  # its evidence is packets that never came: a capture's own losses weaken it

    @property
    def family(self) -> str:
        return FAMILIES[self.code[:4]]

    def section(self, name: str) -> str:
        m = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^## |\Z)", self.doc, re.S | re.M)
        return m.group(1).strip() if m else ""

    @property
    def fix(self) -> str:
        return " ".join(self.section("Fix").split())


REGISTRY: dict[str, Rule] = {}


@dataclass(frozen=True)
class NoThresholds:
    """The thresholds of a rule that has none (the default of :func:`rule`)."""


def rule(code: str, name: str, *, severity: str, thresholds: object = NoThresholds(), explains: Iterable[str] = (),
         status: str = "stable", absence: bool = False) -> Callable:
    """Register a rule module's check function; validate its contract at import time."""

    def wrap(fn: Callable) -> Callable:
        module = sys.modules[fn.__module__]
        doc = module.__doc__ or ""
        if not CODE.match(code) or code[:4] not in FAMILIES:
            raise ValueError(f"{code}: rule codes are IKE + 3 digits in a known family")
        if code in REGISTRY:
            raise ValueError(f"{code}: registered twice")
        if severity not in SEVERITIES or status not in STATUSES:
            raise ValueError(f"{code}: bad severity or status")
        missing = [s for s in SECTIONS if f"## {s}" not in doc]
        if missing:
            raise ValueError(f"{code}: docstring lacks sections {missing}")
        if not (dataclasses.is_dataclass(thresholds) and type(thresholds).__dataclass_params__.frozen):
            raise ValueError(f"{code}: thresholds must be a frozen dataclass instance")
        title = doc.strip().splitlines()[0].rstrip(".")
        REGISTRY[code] = Rule(code, name, severity, title, fn, thresholds, doc, tuple(explains), status, absence)
        return fn

    return wrap


def resolve(selectors: Iterable[str], where: str) -> set[str]:
    """`ALL`, a family prefix (`IKE1`), a code (`IKE101`) or a name → codes."""
    out: set[str] = set()
    for raw in selectors:
        for sel in filter(None, (s.strip() for s in raw.split(","))):
            s = REDIRECTS.get(sel.upper(), sel)
            up = s.upper()
            if up == "ALL":
                out |= set(REGISTRY)
                continue
            hits = {c for c in REGISTRY if c.startswith(up) and re.fullmatch(r"IKE\d{0,3}", up)}
            hits |= {c for c, r in REGISTRY.items() if r.name == s.lower()}
            if not hits:
                raise UsageError(f"unknown rule selector '{sel}' in {where}; `ikeanalyze rules` lists codes")
            out |= hits
    return out


def select(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Rule]:
    chosen = resolve(select, "--select") if list(select) else set(REGISTRY)
    chosen -= resolve(ignore, "--ignore")
    return [REGISTRY[c] for c in sorted(chosen) if REGISTRY[c].status != "removed"]


DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$")
UNITS = {None: 1.0, "s": 1.0, "sec": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_value(text: str, current: object) -> object:
    """A threshold value from the command line, typed like its default (`30s`, `2min`, `5`)."""
    if isinstance(current, bool):
        return text.lower() in ("1", "true", "yes", "on")
    if isinstance(current, (int, float)):
        m = DURATION.match(text)
        if not m:
            raise UsageError(f"threshold value '{text}' is not a number or duration")
        value = float(m.group(1)) * UNITS[m.group(2)]
        return int(value) if isinstance(current, int) and value.is_integer() else value
    return text


def thresholds_for(overrides: dict[str, str]) -> dict[str, object]:
    """`{"IKE102.silence": "30s"}` → per-code threshold dataclass instances."""
    out = {code: r.thresholds for code, r in REGISTRY.items()}
    for key, value in overrides.items():
        code, _, name = key.partition(".")
        code = REDIRECTS.get(code.upper(), code.upper())
        if code not in REGISTRY:
            raise UsageError(f"unknown rule '{code}' in --threshold {key}={value}")
        current = out[code]
        fields = {f.name for f in dataclasses.fields(current)}
        if name not in fields:
            raise UsageError(f"rule {code} has no threshold '{name}' (it has: {', '.join(sorted(fields))})")
        out[code] = dataclasses.replace(current, **{name: parse_value(value, getattr(current, name))})
    return out


def run(ctx, rules: list[Rule], thresholds: dict[str, object]) -> Iterator:
    """Each rule's findings, then those of its cause that only a FortiGate event log states
    (rules/fromlog.py: the log's lines join the rule's finding of the same peer or tunnel)."""
    from ikeanalyze.rules import fromlog  # imports rules.base, which imports this module

    lost = {i.source: i.lost for i in ctx.ingest.inputs if i.lost}
    left_out = {i.source: i.left_out for i in ctx.ingest.inputs if i.left_out}
    cut = _cut_ends(ctx)
    one_way = one_way_runs(ctx.ingest.inputs)
    checked = _checked(ctx, rules, thresholds)
    for r in rules:
        found = checked[r.code]
        for f in found if r.absence else ():  # (built on what never came: what may hide it)
            if lost:
                _caveat(f, lost)
            if left_out:
                _left_out_caveat(f, left_out)
            if cut:
                _cut_caveat(f, cut)
            if one_way:
                _one_way_caveat(f, one_way)
        if getattr(ctx, "views", None) is not None:
            _name_views(ctx, found)
        yield from found
        yield from fromlog.add(ctx, r.code, found)


# The rules a second process checks on a big input (parallel.apart) while this one checks
# the rest. Chosen by measurement on the benchmark's three days (a capture, the same day
# as sniffer text, a long IKE debug): the negotiation views (IKE2xx) are built in the
# child only and the IKE messages (analysis.sas: IKE105, IKE106, IKE111, IKE3xx) here
# (IKE204 builds them in the child too when nothing in the input states a key mismatch, as
# on a capture), with silence and flows (IKE101/IKE102/IKE104/IKE108/IKE110) in the child
# to even the two out. A rule's group changes nothing
# but the time.
APART = frozenset({"IKE101", "IKE102", "IKE104", "IKE108", "IKE110", "IKE201", "IKE202", "IKE203", "IKE204", "IKE206",
                   "IKE207", "IKE208", "IKE209", "IKE210", "IKE212", "IKE213", "IKE214", "IKE215"})
# Events below which the rules run in one process: there they take well under 0.1 s, and
# forking a large heap costs 10-30 ms.
APART_EVENTS = 50_000
# Lists rules append to in ctx.extras for what runs after them (analysis.nextsteps reads
# them as sets): a child's entries are added to this process's.
NOTES = (nextsteps.NP_NOTE,)


def _checked(ctx, rules: list[Rule], thresholds: dict[str, object]) -> dict[str, list]:
    """Each rule's findings by code. On a big input with ``--jobs 2`` the views both groups
    read (the wire view, the debug lines) are built first, then the APART rules are checked
    in a forked child, whose findings come back pickled."""
    from ikeanalyze import parallel
    from ikeanalyze.analysis import negotiations

    there = [r for r in rules if r.code in APART]
    here = [r for r in rules if r.code not in APART]
    split = bool(here) and bool(there) and parallel.enabled(len(ctx.events), APART_EVENTS)
    if split:  # built once here, not once per process
        negotiations.light(ctx.events)
        _ = ctx.wire

    def check(batch: list[Rule]) -> list[tuple]:
        out = []
        for r in batch:
            before = {k: len(ctx.extras.get(k, ())) for k in NOTES}
            found = list(r.check(ctx, thresholds.get(r.code, r.thresholds)))
            notes = {k: list(ctx.extras.get(k, ())[n:]) for k, n in before.items()}
            out.append((r.code, found, notes, os.getpid()))
        return out

    checked = {}
    for code, found, notes, pid in parallel.apart(here, there, check, split):
        checked[code] = found
        if pid != os.getpid():  # the child's notes: this process's are in ctx.extras already
            for k, v in notes.items():
                if v:
                    ctx.extras.setdefault(k, []).extend(v)
    return checked


def _name_views(ctx, found: list) -> None:
    """Name the capture point a finding's packets were seen from when an input holds
    several (two FortiGates' sniffer runs in one paste, two runs of one: analysis.views):
    the view of its first evidence, in its message and in ``facts`` (`view`, and `device`
    for a named one, which keep two devices' findings apart in the dedup)."""
    from ikeanalyze.analysis.views import at_lines, said

    for f in found:
        view = at_lines(ctx, [(e.source, e.ref) for e in f.evidence[:1]])[0] if f.evidence else None
        if view is None or "view" in f.facts:
            continue
        f.message = f"In {said(view)}: {f.message}"
        seen = at_lines(ctx, [(m.source, m.ref) for m in f.timeline])
        f.timeline = [dataclasses.replace(m, text=f"{m.text}, in {said(v)}") if v is not None else m
                      for m, v in zip(f.timeline, seen)]
        f.facts["view"] = view
        device = view.partition(" run ")[0]
        if not view.startswith("run "):
            f.facts.setdefault("device", device)


# How close to the end of a cut-off input a finding built on what never came must end for
# the cut to matter: an IKE request's retransmissions and a DPD round fit in it.
CUT_WINDOW_S = 60.0


def input_ends(events, ingest) -> dict[str, tuple]:
    """The inputs cut off mid-record (a truncated capture or paste: IKE902), each with the
    time stamp and the `t` of its last event (from every event, not a --peer's focus)."""
    cut = {i.source for i in ingest.inputs if i.accounting.get("truncated")}
    if not cut or events.empty:
        return {}
    ev = events[events["source"].isin(cut).to_numpy()]
    last = ev.groupby("source").agg(time=("time", "max"), t=("t", "max"))
    return {str(k): (r.time, r.t) for k, r in last.iterrows()}


def _cut_ends(ctx) -> dict[str, tuple]:
    ends = ctx.extras.get("input_ends")
    return input_ends(ctx.events, ctx.ingest) if ends is None else ends


def _cut_caveat(finding, cut: dict[str, tuple]) -> None:
    """Say so in a finding built on packets that never came when it ends just before the end
    of an input that was cut off: the answer may have been after the cut. Measured on the
    input's own clock: its evidence's time stamps, else (one input) its `t`."""
    import pandas as pd

    gaps = {}
    sources = {e.source for e in finding.evidence}
    for s in sorted(sources & set(cut)):
        last_time, last_t = cut[s]
        times = [e.time for e in finding.evidence if e.source == s and e.time is not None]
        if times and not pd.isna(last_time):
            gaps[s] = (pd.Timestamp(last_time) - pd.Timestamp(max(times))).total_seconds()
        elif len(sources) == 1 and finding.t_end is not None and not pd.isna(last_t):
            gaps[s] = float(last_t) - finding.t_end
    near = {s: g for s, g in gaps.items() if 0 <= g <= CUT_WINDOW_S}
    if near:
        gap = min(near.values())
        when = "right after this" if gap < 1 else f"{gap:.0f} s after this"
        finding.message += (f" Caveat: {', '.join(near)} was cut off mid-record {when}; an answer after the cut "
                            f"would not be in it.")
        finding.facts["input_cut_off"] = list(near)


# A filter's direction qualifiers (tcpdump's syntax, which the FortiGate sniffer takes).
DIRECTIONS = re.compile(r"\b(src|dst)\b", re.I)


def one_way_filter(text: str) -> bool:
    """Does a capture filter pass IKE or ESP one direction only between two hosts
    (`src host 10.0.0.1 and port 500`, `src host A and dst host B`; not `src host A or dst
    host A`, `host A and not src port 22`): see analysis.capfilter.one_way. A filter it does
    not read is judged by its words: it names `src` or `dst`, never both."""
    judged = capfilter.one_way(text)
    if judged is not None:
        return judged
    said = {m.lower() for m in DIRECTIONS.findall(text)}
    return len(said) == 1


def one_way_runs(inputs: list) -> dict[str, tuple[object, frozenset]]:
    """The inputs (ingest.InputReport) holding a sniffer run whose filter passes one
    direction only, each with those runs. Each distinct filter is judged once: a paste of
    many runs repeats one filter, and a finding's evidence lines share a few runs."""
    judged: dict[str, bool] = {}
    out = {}
    for i in inputs:
        for r in i.capture_runs:
            if r.filter not in judged:
                judged[r.filter] = one_way_filter(r.filter)
        runs = frozenset(r for r in i.capture_runs if judged[r.filter])
        if runs:
            out[i.source] = (i, runs)
    return out


def _one_way_caveat(finding, inputs: dict[str, tuple[object, frozenset]]) -> None:
    """Say so in a finding built on packets that never came when the sniffer run its evidence
    was printed in lets one direction only through (``inputs``: :func:`one_way_runs`): the
    other direction may have crossed the wire unseen. Another run of the same paste, with
    another filter, says nothing of it; where a paste holds several runs, the caveat names
    the run's lines."""
    held: dict[str, list] = {}
    for e in finding.evidence:
        report, one_way = inputs.get(e.source, (None, frozenset()))
        run = report.run_at(e.ref) if report is not None else None
        if run in one_way and run not in held.get(e.source, []):
            held.setdefault(e.source, []).append(run)
    shown = {s: "; ".join(f"`{r.filter}`" + (f", lines {r.first}-{r.last}" if len(inputs[s][0].capture_runs) > 1
                                             else "") for r in runs) for s, runs in held.items()}
    # (The fact holds the filters alone: one finding spanning two one-way runs of one input shows both.)
    _per_source_caveat(finding, {s: "; ".join(r.filter for r in runs) for s, runs in held.items()},
                       "one_way_filter", "{shown}", "the sniffer's filter ({}) passes one direction only; what it "
                       "shows missing may have crossed the wire the other way unseen", shown)


def _caveat(finding, lost: dict[str, int]) -> None:
    """Say so in a finding built on packets that never came when its capture dropped some."""
    _per_source_caveat(finding, lost, "capture_lost", "{source} ({value})",
                       "the capture itself lost packets ({}); part of what is missing here may have crossed the wire")


def _left_out_caveat(finding, short: dict[str, list[tuple[int, int, int]]]) -> None:
    """Say so in a finding built on packets that never came when its evidence lies in a
    capture run the paste holds only part of (``short``: each input's runs as (first line,
    last line, packets left out), ingest.InputReport.left_out): what never came may be among
    the packets left out, as it may be among those a capture lost."""
    held: dict[str, set] = {}
    for e in finding.evidence:
        for run in short.get(e.source, ()):
            if e.ref is not None and run[0] <= e.ref <= run[1]:
                held.setdefault(e.source, set()).add(run)
    _per_source_caveat(finding, {s: sum(n for *_, n in runs) for s, runs in held.items()}, "paste_left_out",
                       "{source} ({value})", "the paste leaves out packets its capture printed ({}); part of what "
                       "is missing here may be among them")


def _per_source_caveat(finding, per_source: dict, fact: str, each: str, sentence: str,
                       shown: dict | None = None) -> None:
    """Append `Caveat: <sentence>.` to ``finding`` for the inputs of ``per_source`` its
    evidence comes from (each shown by ``each``, filled with its source, value and
    ``shown`` text), and record them in ``facts[fact]``."""
    sources = sorted({e.source for e in finding.evidence if e.source in per_source})
    if sources:
        said = ", ".join(each.format(source=s, value=per_source[s], shown=(shown or {}).get(s)) for s in sources)
        finding.message += f" Caveat: {sentence.format(said)}."
        finding.facts[fact] = {s: per_source[s] for s in sources}
