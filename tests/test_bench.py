"""benchmarks/bench.py runs end to end in its smallest mode. Nothing here is timed: the
script's figures are ratios read by people (docs/benchmarks.md), not asserted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_bench_smallest_mode_runs(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--packets", "2000", "--tunnels", "2", "--reps", "1", "--no-tshark",
         "--no-flat", "--ikedebug-lines", "3000", "--work", str(tmp_path / "work"), "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    raw = json.loads(out.read_text())
    names = {t["name"] for t in raw["tasks"]}
    assert {"analyze pcap", "dpkt loop", "tcpdump", "analyze sniffer v4", "sniffer regex", "analyze ikedebug",
            "ikedebug regex", "ikeanalyze --help"} <= names
    assert all(len(t["runs"]) == 1 and t["runs"][0][2] > 0 for t in raw["tasks"])  # one run each, RSS measured
    assert raw["lines"]["ikedebug"] >= 3000
    assert "| target | measured | limit | met |" in proc.stdout
    assert not list((tmp_path / "work").glob("*.pcap"))  # big files are deleted unless --keep
