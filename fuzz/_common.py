"""Shared by the atheris targets: seed corpora and the project's own error types.

Each target feeds bytes to one parser and lets any exception other than the project's own
(InputError for inputs that cannot be read at all, WireError from a wire decoder) escape,
which atheris reports as a crash and saves. Found crashers go to
tests/robustness/crashers/, where pytest replays them.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from anywhere without installing


def seeds(*globs: str) -> list[Path]:
    out: list[Path] = []
    for g in globs:
        out.extend(p for p in sorted(ROOT.glob(g)) if p.is_file())
    return out
