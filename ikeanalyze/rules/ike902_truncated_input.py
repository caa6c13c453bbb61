"""Truncated input: a capture or paste was cut off mid-record or mid-line.

## What it detects
An input the reader found cut: a capture whose last record (or block) runs past the end
of the file or is malformed, records counted `truncated`, or a debug line that stops in
the middle (`sent IKE msg` without its `len=`/`id=`). A paste that merely lacks a final
newline is not reported here (the input report mentions it).

## Why it matters
What happened after the cut is unknown: a finding that depends on the end of the story
("nothing came back", "the peer went silent") may only mean the capture stopped. It also
often means the file was copied while still being written, or a terminal buffer
overflowed.

## Evidence
The reader's warnings, naming the frame or line where the input was cut.

## Fix
Collect again and let the capture finish (stop `diagnose sniffer packet` with a count or
Ctrl-C before copying; close the pcap writer before copying the file). For debug text,
increase the terminal's scroll-back or log to a file (`ssh … | tee`), and disable line
wrapping.
"""

from __future__ import annotations

from collections.abc import Iterator

from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Evidence, Finding, counted
from ikeanalyze.rules.base import finding
from ikeanalyze.rules.registry import NoThresholds, rule

CUT_WORDS = ("truncated", "cut off", "too short", "malformed")
HEDGED = "may be cut off"  # a missing final newline alone: reported by the input report, not here


@rule("IKE902", "truncated-input", severity="warning")
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    for r in ctx.ingest.inputs:
        cuts = [w for w in r.warnings if any(x in w for x in CUT_WORDS) and HEDGED not in w]
        n = r.accounting.get("truncated", 0)
        if not cuts and not n:
            continue
        told = f"{counted(n, r.unit)} counted truncated; " if n else ""
        msg = f"{r.source} was cut off: {told}" + "; ".join(cuts[:3]) + (
            f" (and {len(cuts) - 3} more)" if len(cuts) > 3 else "") + "."
        yield finding(
            "IKE902", msg,
            evidence=[Evidence(r.source, _ref(w), w) for w in cuts[:5]],
            facts={"source": r.source, "truncated": n, "warnings": cuts},
        )


def _ref(warning: str) -> int | None:
    """`frame 12: …` / `line 40: …` → 12 / 40."""
    head = warning.split(":", 1)[0].split()
    return int(head[1]) if len(head) == 2 and head[1].isdigit() else None
