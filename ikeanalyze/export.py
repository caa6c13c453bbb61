"""The event table written out: CSV, JSON lines or Parquet (`ikeanalyze events`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def write(table: pd.DataFrame, fmt: str, output: Path | None) -> None:
    if fmt == "parquet":
        table.to_parquet(output, index=False)
        return
    if fmt == "csv":
        text = table.to_csv(index=False)
    elif fmt == "jsonl":
        text = table.to_json(orient="records", lines=True, date_format="iso", date_unit="us")
        if text and not text.endswith("\n"):
            text += "\n"
    else:
        raise ValueError(fmt)
    if output is None or str(output) == "-":
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
