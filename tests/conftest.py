from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLES = ROOT / "samples"

# In CI the examples are derandomized: a red CI must be reproducible, and exploring new
# inputs is the job of fuzz/ (atheris) and of local runs.
settings.register_profile("ikeanalyze", deadline=None, max_examples=200, derandomize=os.environ.get("CI", "").lower() not in ("", "0", "false", "no"))
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


CHROMIUM = Path("/usr/bin/chromium")
# Flags for Debian's Chromium on a machine with no network but loopback (see env notes).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_browser() -> None:
    """Skip when Chromium or Playwright is missing, unless IKEANALYZE_REQUIRE_TOOLS (CI)."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is not installed"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed"
    if missing:
        if os.environ.get("IKEANALYZE_REQUIRE_TOOLS"):
            pytest.fail(f"{missing} and IKEANALYZE_REQUIRE_TOOLS is set")
        pytest.skip(missing)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through Playwright (no browser download)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()
