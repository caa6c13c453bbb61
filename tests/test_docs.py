"""Generated documentation is committed and must match its source (ruff's `--mode check`)."""

from __future__ import annotations

from pathlib import Path

from ikeanalyze.rules import REGISTRY, docgen

ROOT = Path(__file__).resolve().parents[1]
RULE_DOCS = ROOT / "docs" / "rules"


def test_rule_docs_are_current() -> None:
    stale = docgen.write(RULE_DOCS, check=True)
    assert stale == [], f"docs/rules out of date: {stale}; run `ikeanalyze rules --docs docs/rules`"


def test_no_rule_doc_without_a_rule() -> None:
    names = {p.name for p in RULE_DOCS.glob("*.md")}
    assert names - {"index.md"} <= {f"{code}.md" for code in REGISTRY}, sorted(names)


def test_rule_doc_carries_its_sections_and_thresholds() -> None:
    text = (RULE_DOCS / "IKE304.md").read_text(encoding="utf-8")
    for heading in ("## What it detects", "## Why it matters", "## Evidence", "## Fix", "## Thresholds"):
        assert heading in text
    assert "`min_retransmissions`" in text and "--threshold IKE304.min_retransmissions=VALUE" in text
