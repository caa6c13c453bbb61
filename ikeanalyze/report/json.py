"""The JSON report: report.model's dict, sorted keys, stable across runs."""

from __future__ import annotations

import json as _json

from ikeanalyze.diagnosis import Diagnosis
from ikeanalyze.report import model


def render(d: Diagnosis, **_kw) -> str:
    return _json.dumps(model.build(d), indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
