"""The terminal report (rich): what happened first, then findings with their evidence,
then the timeline and what the inputs held. No business logic here."""

from __future__ import annotations

import io
import shutil

from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ikeanalyze.diagnosis import Diagnosis, Finding, clock_text, counted
from ikeanalyze.ingest import REASONS
from ikeanalyze.report.model import unit

STYLE = {"info": "cyan", "warning": "yellow", "error": "bold red", "critical": "bold white on red"}
MAX_EVIDENCE = 6


def render(d: Diagnosis, color: bool = False, width: int | None = None, **_kw) -> str:
    buf = io.StringIO()
    width = width or min(shutil.get_terminal_size((110, 24)).columns, 140)
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False,
                      soft_wrap=False)
    worst = d.worst()
    console.print(Panel(Text(d.summary), title="ikeanalyze — " + d.headline(), title_align="left",
                        border_style=STYLE.get(worst or "info", "cyan")))
    fixes: dict[str, str] = {}  # a fix already printed -> the number of its finding
    for i, f in enumerate(d.findings, 1):
        console.print(_finding(f, str(i), fixes))
        for j, s in enumerate(f.symptoms, 1):
            console.print(_finding(s, f"{i}.{j}", fixes, symptom_of=f.code), style="dim" if not color else None)
    if d.timeline:
        console.print(Text("Timeline", style="bold"))
        t = Table.grid(padding=(0, 2))
        for m in d.timeline:
            where = f"{unit(d, m.source)} {m.ref}" if m.ref is not None else ""
            t.add_row(clock_text(m.time, m.t, stamp=m.stamp), Text(m.text), Text(where, style="dim"))
        console.print(t)
        console.print()
    if d.next_steps:
        console.print(Text("What to collect next", style="bold"))
        # A hanging indent (a wrapped step stays right of its bullet), and the step as plain
        # text: it quotes commands and lines whose `[...]` rich would take for markup.
        steps = Table.grid(padding=(0, 1))
        steps.add_column(width=3, justify="right")
        steps.add_column()
        for step in d.next_steps:
            steps.add_row("•", Text(step))
        console.print(steps)
        console.print()
    console.print(_inputs(d))
    return buf.getvalue()


def _finding(f: Finding, number: str, fixes: dict[str, str], symptom_of: str | None = None) -> Group:
    """One finding; ``fixes`` (updated) holds the fixes printed so far: the same step for
    the next finding of a code (24 peers with one-way ESP) is referred to, not repeated."""
    head = Text()
    head.append(f"{number} ")
    head.append(f"{f.code} ", style="bold")
    head.append(f"{f.severity.upper()} ", style=STYLE[f.severity])
    head.append(f.title)
    if symptom_of:
        head.append(f"  (symptom of {symptom_of})", style="dim")
    parts = [head, Padding(Text(f.message), (0, 0, 0, 3))]
    for e in f.evidence[:MAX_EVIDENCE]:
        # Evidence stays one line each, as in the input; long lines are cut, not wrapped.
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"{_short(e.source)}:{e.ref}", style="dim")
        line.append("  " + " ".join(e.text.split()))
        parts.append(Padding(line, (0, 0, 0, 5)))
    if len(f.evidence) > MAX_EVIDENCE:
        parts.append(Padding(Text(f"… {len(f.evidence) - MAX_EVIDENCE} more evidence lines (see --format json)",
                                  style="dim"), (0, 0, 0, 5)))
    if f.fix in fixes:
        parts.append(Padding(Text(f"Fix: as for {fixes[f.fix]} above.", style="green"), (0, 0, 0, 3)))
    else:
        fixes[f.fix] = number
        parts.append(Padding(Text("Fix: " + f.fix, style="green"), (0, 0, 0, 3)))
    parts.append(Text(""))
    return Group(*parts)


def _short(source: str) -> str:
    """The input's file name: the full path is in the Inputs table below."""
    return source.replace("\\", "/").rsplit("/", 1)[-1]


CLOCK_NOTES = {
    "device": "times are the device clock as printed (zone unknown)",
    "client": "times are the terminal client's stamps: when lines reached the screen (zone unknown)",
}

def _inputs(d: Diagnosis) -> Table:
    t = Table(title="Inputs", title_justify="left", show_edge=False, pad_edge=False)
    t.add_column("input")
    t.add_column("formats")
    t.add_column("total", justify="right")
    t.add_column("events", justify="right")
    t.add_column("not events (why)")
    for r in d.ingest.inputs:
        why = ", ".join(f"{n} {k}" for k, n in r.accounting.items() if k != "event" and n and k in REASONS)
        # Text, not str: rich would read a `[...]` in a file name as markup (`[/x]` raises).
        t.add_row(Text(r.source), "+".join(r.formats) or "-", counted(r.total, r.unit), str(r.events), why or "none")
        if r.clock in CLOCK_NOTES:
            t.add_row("", "", "", "", Text(CLOCK_NOTES[r.clock], style="dim"))
        for ref, text in r.examples:
            t.add_row("", "", "", "", Text(f"unrecognised {r.unit} {ref}: {text[:80]}", style="dim"))
        for w in r.warnings:
            t.add_row("", "", "", "", Text(f"warning: {w}", style="yellow"))
    return t
