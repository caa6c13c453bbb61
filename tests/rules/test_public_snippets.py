"""Public FortiGate IKE debug snippets (tests/data/ikedebug_public/, see its SOURCES.md):
the diagnosis an expert gives for each, run with every rule, and the codes it must not
give (a generic FortiOS line read as the root cause, a retransmission that is not one)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ikeanalyze

DATA = Path(__file__).resolve().parents[1] / "data" / "ikedebug_public"


def findings(name: str) -> dict:
    d = ikeanalyze.analyze([str(DATA / name)])
    out: dict = {}
    for f in d.all_findings():
        out.setdefault(f.code, []).append(f)
    return out


@pytest.mark.parametrize("fmt", ["json", "markdown", "html", "terminal"])
def test_redacted_peer_is_kept_and_every_report_renders(fmt: str, tmp_path: Path) -> None:
    events, _ = ikeanalyze.load([str(DATA / "ikev1-redacted-peer-numbered.txt")])
    comes = events[events["kind"] == "ike-received"].iloc[0]
    assert (comes["src"], comes["sport"], comes["dst"], comes["transport"]) == ("XXX.XXX.XXX.XXX", 500, "192.168.68.99", "udp500")
    assert comes["length"] == 280  # from its `exchange=` line
    d = ikeanalyze.analyze([str(DATA / "ikev1-redacted-peer-numbered.txt")])
    out = tmp_path / f"report.{fmt}"
    with out.open("w", encoding="utf-8") as fh:
        ikeanalyze.render(d, fmt, fh)
    assert out.stat().st_size > 0
