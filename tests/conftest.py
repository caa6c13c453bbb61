from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLES = ROOT / "samples"

settings.register_profile("ikeanalyze", deadline=None, max_examples=200)
settings.load_profile("ikeanalyze")


def run_cli(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real console entry point in a subprocess."""
    return subprocess.run([sys.executable, "-m", "ikeanalyze", *args], input=stdin, capture_output=True,
                          cwd=cwd or ROOT, timeout=300)


def analyze_json(*args: str, **kw) -> dict:
    p = run_cli("analyze", *args, "--format", "json", **kw)
    assert p.returncode == 0, p.stderr.decode()
    return json.loads(p.stdout)


@pytest.fixture
def cli():
    return run_cli
