"""Unrecognised input: lines or frames that could not be read as events.

## What it detects
An input in which at least `min_lines` lines (text) or frames (captures) matched none
of the known forms and were counted `unrecognised` by the reader. The finding gives the
full accounting of the input by reason (events, continuations, hex dumps, prompts, …)
and the first unrecognised examples with their line numbers.

## Why it matters
The diagnosis can only be as complete as what was read. A few unknown lines (an operator
comment, a daemon's message from another build) are harmless; many mean a format this
tool does not know yet (or a file that is not what it seems), and a finding may be
missing because its evidence sat in those lines.

## Evidence
The count of unrecognised lines or frames and the first examples, quoted with their
line or frame numbers.

## Fix
Nothing to fix on the device. Check the examples: if they hold IKE evidence, report the
format (with the lines) so a pattern can be added; if the paste mixes other output
(another debug, shell noise), the rest of the diagnosis still stands.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Evidence, Finding, counted
from ikeanalyze.rules.base import finding
from ikeanalyze.rules.registry import rule


@dataclass(frozen=True)
class Thresholds:
    min_lines: int = 1  # unrecognised lines or frames in one input


@rule("IKE901", "unrecognised-input", severity="info", thresholds=Thresholds())
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    for r in ctx.ingest.inputs:
        n = r.accounting.get("unrecognised", 0)
        if n < t.min_lines:
            continue
        counts = ", ".join(f"{k} {v}" for k, v in sorted(r.accounting.items(), key=lambda kv: -kv[1]) if v)
        share = f" ({100 * n / r.total:.1f} %)" if r.total else ""
        examples = "; ".join(f"{r.unit} {ref}: {text[:80]!r}" for ref, text in r.examples[:3])
        msg = (f"{r.source}: {n} of {counted(r.total, r.unit)}{share} matched no known form ({counts}). "
               f"First: {examples}.")
        yield finding(
            "IKE901", msg,
            evidence=[Evidence(r.source, ref, text) for ref, text in r.examples],
            facts={"source": r.source, "unrecognised": n, "total": r.total, "unit": r.unit,
                   "accounting": {k: v for k, v in r.accounting.items() if v}},
        )
