"""docs/cli.md from the typer app itself, so the CLI reference cannot drift
(checked by tests/test_docs_cli.py; regenerate with `python -m ikeanalyze.clidoc docs/cli.md`)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer.main


def markdown() -> str:
    from ikeanalyze.cli import app

    root = typer.main.get_command(app)
    out = ["# Command line reference", "", "Generated from the CLI itself (`python -m ikeanalyze.clidoc docs/cli.md`).",
           "", f"{root.help}", ""]
    for name, cmd in root.commands.items():
        out += [f"## ikeanalyze {name}", "", (cmd.help or "").strip(), "", "```",
                f"ikeanalyze {name} " + " ".join(_usage(cmd)), "```", ""]
        rows = [p for p in cmd.params if p.param_type_name == "option"]
        args = [p for p in cmd.params if p.param_type_name == "argument"]
        if args or rows:
            out += ["| argument / option | meaning | default |", "|---|---|---|"]
        for a in args:
            out.append(f"| `{a.name.upper()}` | {_cell(getattr(a, 'help', '') or '')} | |")
        for o in rows:
            flags = ", ".join(f"`{x}`" for x in o.opts + o.secondary_opts)
            default = "" if o.default in (None, False, ()) or o.is_flag else f"`{_default(o.default)}`"
            enum = type(o.default) if hasattr(o.default, "value") else None
            choices = f" One of: {', '.join(m.value for m in enum)}." if enum else ""
            out.append(f"| {flags} | {_cell(o.help or '')}{choices} | {default} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _usage(cmd) -> list[str]:
    parts = ["[OPTIONS]"]
    for p in cmd.params:
        if p.param_type_name == "argument":
            name = p.name.upper() + ("…" if p.nargs == -1 else "")
            parts.append(name if p.required else f"[{name}]")
    return parts


def _default(v) -> str:
    return v.value if hasattr(v, "value") else str(v)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


if __name__ == "__main__":
    text = markdown()
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
