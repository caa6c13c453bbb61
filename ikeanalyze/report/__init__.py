"""Reports: one renderer per format, all fed by the same Diagnosis."""

from __future__ import annotations

import importlib
from typing import IO

from ikeanalyze.diagnosis import Diagnosis

FORMATS = {"terminal": "terminal", "json": "json", "markdown": "markdown", "html": "html"}


def render(d: Diagnosis, fmt: str = "terminal", out: IO[str] | None = None, **kw) -> str | None:
    """Render ``d`` as ``fmt``; write to ``out`` when given, else return the text."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r} (one of {', '.join(FORMATS)})")
    mod = importlib.import_module(f"ikeanalyze.report.{FORMATS[fmt]}")
    text = mod.render(d, **kw)
    if out is not None and text is not None:
        out.write(text)
        return None
    return text
