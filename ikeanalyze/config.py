"""Settings from `ikeanalyze.toml` in the current directory, or `[tool.ikeanalyze]` in its
`pyproject.toml`. The command line overrides both.

    [thresholds]            # or [tool.ikeanalyze.thresholds]
    "IKE102.silence" = "30s"
    select = ["IKE1"]       # top level (or under [tool.ikeanalyze])
    ignore = ["IKE103"]
"""

from __future__ import annotations

import sys
from pathlib import Path

from ikeanalyze.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _settings(cwd: Path) -> dict:
    own = cwd / "ikeanalyze.toml"
    if own.is_file():
        return _read(own)
    project = cwd / "pyproject.toml"
    if project.is_file():
        return _read(project).get("tool", {}).get("ikeanalyze", {})
    return {}


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read settings ({exc})") from exc


def file_thresholds(cwd: Path) -> dict[str, str]:
    raw = _settings(cwd).get("thresholds", {})
    out: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, dict):  # [thresholds.IKE102] silence = "30s"
            out.update({f"{key}.{k}": str(v) for k, v in value.items()})
        else:
            out[key] = str(value)
    return out


def file_selection(cwd: Path) -> tuple[list[str], list[str]]:
    s = _settings(cwd)
    return list(s.get("select", [])), list(s.get("ignore", []))
