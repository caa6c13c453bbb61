"""Rule documentation from the rule modules themselves: `ikeanalyze explain`, `ikeanalyze
rules`, and docs/rules/*.md (checked by the tests, so the docs never drift)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ikeanalyze.rules import REGISTRY, Rule
from ikeanalyze.rules.registry import FAMILIES


def _threshold_rows(r: Rule) -> list[tuple[str, str, str]]:
    rows = []
    src = Path(r.check.__code__.co_filename).read_text(encoding="utf-8")
    for f in dataclasses.fields(r.thresholds):
        note = ""
        for line in src.splitlines():
            stripped = line.strip()
            if stripped.startswith(f"{f.name}:") and "#" in stripped:
                note = stripped.split("#", 1)[1].strip()
                break
        rows.append((f.name, repr(getattr(r.thresholds, f.name)), note))
    return rows


def markdown(r: Rule) -> str:
    body = r.doc.strip().split("\n", 1)[1].strip() if "\n" in r.doc.strip() else ""
    out = [f"# {r.code} {r.name}", "", f"**{r.title}.**", "",
           f"Severity: `{r.severity}` · family: {r.family} · status: {r.status}", ""]
    if r.explains:
        out += [f"Root cause of: {', '.join(r.explains)} (those findings are grouped under it).", ""]
    out += [body, ""]
    rows = _threshold_rows(r)
    out += ["## Thresholds", ""]
    if rows:
        out += ["| name | default | meaning |", "|---|---|---|"]
        out += [f"| `{n}` | `{v}` | {m} |" for n, v, m in rows]
        out += ["", f"Override with `--threshold {r.code}.{rows[0][0]}=VALUE` or in `ikeanalyze.toml`."]
    else:
        out += ["None."]
    return "\n".join(out).rstrip() + "\n"


def index() -> str:
    out = ["# Rules", "", "Codes are stable: a code keeps its meaning forever. Select with `--select`/`--ignore`",
           "(`ALL`, a family prefix such as `IKE1`, a code, or a name).", ""]
    for prefix, family in FAMILIES.items():
        rules = [r for c, r in sorted(REGISTRY.items()) if c.startswith(prefix)]
        if not rules:
            continue
        out += [f"## {prefix}xx — {family}", "", "| code | name | severity | title |", "|---|---|---|---|"]
        out += [f"| [{r.code}]({r.code}.md) | {r.name} | {r.severity} | {r.title} |" for r in rules]
        out.append("")
    return "\n".join(out)


def listing() -> str:
    lines = [f"{'code':<8}{'name':<28}{'severity':<10}thresholds"]
    for code, r in sorted(REGISTRY.items()):
        th = ", ".join(f"{n}={v}" for n, v, _ in _threshold_rows(r)) or "-"
        lines.append(f"{code:<8}{r.name:<28}{r.severity:<10}{th}")
    return "\n".join(lines) + "\n"


def write(folder: Path, check: bool = False) -> list[str]:
    """Write (or with ``check`` compare) docs/rules; return the stale file names."""
    wanted = {"index.md": index()}
    wanted.update({f"{c}.md": markdown(r) for c, r in REGISTRY.items()})
    stale = []
    for name, text in sorted(wanted.items()):
        path = folder / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(name)
            if not check:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    return stale if check else []
