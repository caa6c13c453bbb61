"""What each input held: every line or frame is an event or is counted by reason.

The IngestReport is a stage product of its own (Zeek's `weird` log in spirit): reports
print it, rules (IKE901/IKE902/IKE903) read it, and tests check that its accounting sums
to the input's total.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ikeanalyze.words import counted

# Reasons a line or frame is not an event. `event` is the one that is.
REASONS: dict[str, str] = {
    "event": "starts or carries an event",
    "continuation": "a wrapped line joined to the record above",
    "hexdump": "bytes of the packet above (sniffer hex dump)",
    "blank": "empty line",
    "prompt": "CLI prompt or echoed command",
    "banner": "sniffer/debug header or trailer (interfaces=, filters=, packets received ...), a terminal session's "
              "banner (login:, Connected), the CLI's reply to a refused command (Command fail. Return code -61)",
    "annotation": "a note written by a person (comment, arrow) with no device output",
    "other-traffic": "a frame or sniffer packet line that is not IPsec",
    "duplicate": "an IKE debug or sniffer line repeating an earlier one word for word, time stamp included, "
                 "after the time went back (overlapping pastes), or a second copy of an unstamped debug; "
                 "a capture frame repeating an IP fragment a few frames and ms before it (held once)",
    "unrecognised": "genuinely none of the known forms",
    "truncated": "a record cut off by the end of the input",
}

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class CaptureRun:
    """One sniffer run of a paste, with its filter as the paste shows it (its `filters=[...]`
    line, else the echoed `diagnose sniffer packet <iface> '<filter>'`): what the packets
    under it could have been. Lines ``first`` (the command, else the `filters=` line) to
    ``last`` (above the next prompt or run, else the input's last line), 1-based."""

    first: int
    last: int
    filter: str

    def holds(self, ref: int | None) -> bool:
        return ref is not None and self.first <= ref <= self.last


@dataclass
class InputReport:
    """Accounting for one input (a file, stdin, an upload)."""

    source: str
    unit: str = "line"  # line | frame
    formats: list[str] = field(default_factory=list)
    total: int = 0
    accounting: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    clock: str = "relative"  # utc | device | client | relative: how to read the `time` column
    size: int = 0  # bytes
    examples: list[tuple[int, str]] = field(default_factory=list)  # first unrecognised (ref, text)
    lost: int = 0  # packets the capture itself says it dropped (kernel, interface, pcapng statistics)
    # The capture runs a paste holds fewer packets of than their count lines say they printed:
    # (first line, last line, packets left out), 1-based.
    left_out: list[tuple[int, int, int]] = field(default_factory=list)
    # The sniffer runs the paste shows, in order: each packet is judged by the filter of its own run.
    capture_runs: list[CaptureRun] = field(default_factory=list)
    # Those of the runs stamped in UTC (`... 4 0 a`) beside no IKE debug of this input's own:
    # another input's debug may put them on its clock (sources.clockoffset.line_up).
    utc_runs: list[CaptureRun] = field(default_factory=list)

    @property
    def capture_filter(self) -> str | None:
        """The first run's filter (the JSON's `capture_filter`, from before a paste's runs were
        told apart), else None."""
        return self.capture_runs[0].filter if self.capture_runs else None

    def run_at(self, ref: int | None) -> CaptureRun | None:
        """The sniffer run line ``ref`` was printed in, if the paste shows it."""
        return next((r for r in self.capture_runs if r.holds(ref)), None)

    def lose(self, n: int, why: str) -> None:
        """The capture says it dropped ``n`` packets (``why``: where it says so)."""
        if n > 0:
            self.lost += n
            self.warn(f"{why}: the capture lost {counted(n, 'packet')}, so a packet missing from it may still have "
                      f"crossed the wire")

    def count(self, reason: str, n: int = 1) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown accounting reason {reason!r}")
        if n:
            self.accounting[reason] += n

    def unrecognised(self, ref: int, text: str) -> None:
        self.count("unrecognised")
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append((ref, text[:200]))

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    @property
    def events(self) -> int:
        return self.accounting.get("event", 0)

    @property
    def balanced(self) -> bool:
        return sum(self.accounting.values()) == self.total

    def as_dict(self) -> dict:
        acc = {r: self.accounting.get(r, 0) for r in REASONS}
        return {
            "source": self.source,
            "formats": list(self.formats),
            "unit": self.unit,
            "total": self.total,
            "events": self.events,
            "accounting": acc,
            "warnings": list(self.warnings),
            "clock": self.clock,
            "bytes": self.size,
            "unrecognised_examples": [{"ref": r, "text": t} for r, t in self.examples],
            "capture_filter": self.capture_filter,
            "capture_filters": [{"filter": r.filter, "lines": [r.first, r.last]} for r in self.capture_runs],
        }


@dataclass
class IngestReport:
    """Accounting for every input of one analysis."""

    inputs: list[InputReport] = field(default_factory=list)

    def add(self, report: InputReport) -> InputReport:
        self.inputs.append(report)
        return report

    @property
    def warnings(self) -> list[str]:
        return [f"{r.source}: {w}" for r in self.inputs for w in r.warnings]
