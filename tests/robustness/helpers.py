"""Shared by the robustness tests: every input file we hold, loading bytes the way the CLI
does, and the checks every load must pass (the project's own error, or balanced books)."""

from __future__ import annotations

from pathlib import Path

from ikeanalyze.errors import InputError
from ikeanalyze.ingest import IngestReport
from ikeanalyze.sources import Blob, load

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
CRASHERS = Path(__file__).resolve().parent / "crashers"
NOT_INPUT = {".md", ".tsv", ".py", ".json", ".pyc"}


def input_files() -> list[Path]:
    """Every input file in tests/data, the rule fixtures and samples/ (not notes or code)."""
    roots = [TESTS / "data", TESTS / "rules" / "fixtures", ROOT / "samples"]
    files = [p for r in roots for p in r.rglob("*") if p.is_file() and p.suffix not in NOT_INPUT]
    return sorted(files)


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def load_bytes(data: bytes, name: str = "input.txt") -> IngestReport | None:
    """Load bytes as one input; None when the loader refused them with the project's own
    InputError. Any other exception propagates: that is the bug the tests look for."""
    try:
        _events, ingest = load([Blob(name, None, data, data[:16])])
    except InputError as exc:
        assert exc.source == name and exc.reason, exc
        return None
    check_books(ingest)
    return ingest


def check_books(ingest: IngestReport) -> None:
    """Every line or frame is an event or counted by a reason, exactly once."""
    for r in ingest.inputs:
        assert r.total >= 0
        assert all(v >= 0 for v in r.accounting.values()), r.accounting
        assert sum(r.accounting.values()) == r.total, (r.source, r.total, dict(r.accounting))


def small_inputs(limit: int = 64 << 10) -> list[Path]:
    """Inputs small enough to mutate many times in a property test."""
    return [p for p in input_files() if p.stat().st_size <= limit]
