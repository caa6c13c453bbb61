"""docs/cli.md is generated from the CLI; it must be current and name every command."""

from __future__ import annotations

from ikeanalyze import clidoc
from ikeanalyze.cli import app
from tests.conftest import ROOT


def test_cli_reference_is_current():
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == clidoc.markdown(), (
        "docs/cli.md is stale: run `python -m ikeanalyze.clidoc docs/cli.md`")


def test_every_command_is_documented():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for cmd in app.registered_commands:
        name = cmd.name or cmd.callback.__name__
        assert f"## ikeanalyze {name}" in text
