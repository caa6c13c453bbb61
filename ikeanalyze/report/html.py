"""The HTML incident report: one self-contained file to attach to a ticket.

Data plus templates: the page is report/model.py's dict (what the JSON says), the bounded
events view (report/eventsview.py) and the chart geometry (report/chart.py), rendered by
jinja2 with autoescape on, so nothing from the input can become markup. CSS and the small
progressive script are inlined; the page makes no request of its own.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime, timezone
from importlib import resources

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from ikeanalyze import __version__
from ikeanalyze.diagnosis import SEVERITIES, Diagnosis, clock_text, human_duration, in_sentence
from ikeanalyze.ingest import REASONS
from ikeanalyze.report import chart as chart_mod
from ikeanalyze.report import eventsview, model
from ikeanalyze.words import counted

MAX_EVIDENCE = 12  # evidence lines quoted per finding; the JSON has them all

_env: Environment | None = None


def environment() -> Environment:
    global _env
    if _env is None:
        _env = Environment(
            loader=PackageLoader("ikeanalyze.report", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html", "j2", "svg"), default_for_string=True,
                                         default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        _env.filters["duration"] = lambda s: "" if s is None else human_duration(float(s))
        _env.filters["size"] = _size
        _env.filters["counted"] = counted
        _env.filters["ticks"] = code_spans
    return _env


_TICKS = re.compile(r"`([^`]+)`")


def code_spans(text: str | None) -> Markup:
    """Escape, then show `backticked` commands (rule fixes) as code. Escaping comes first, so
    nothing in the text can become markup."""
    return Markup(_TICKS.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text or ""))))


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return counted(n, "byte") if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n}"


DEFAULT_LIMITS = eventsview.Limits()


def context(d: Diagnosis, events: pd.DataFrame | None = None, limits: eventsview.Limits = DEFAULT_LIMITS) -> dict:
    """Everything the template reads (also used by the Markdown report). ``events`` defaults
    to the table the Diagnosis was made from (api.diagnose keeps it on ``d.events``)."""
    if events is None:
        events = d.events
    m = model.build(d)
    view = eventsview.build(d, events, limits)
    flat = d.all_findings()
    chart = chart_mod.build(d, view, flat)
    src_index = view.get("source_index") or {s: i for i, s in enumerate(view["sources"])}
    anchors = {r["id"] for r in view["rows"] if r.get("id")}

    def link(source: str | None, ref: int | None) -> str | None:
        if source is None or ref is None:
            return None
        a = eventsview.anchor(src_index.get(source, 0), int(ref))
        return "#" + a if a in anchors else None

    findings = []
    for f, fm in zip(flat, m["findings"]):
        ev = [dict(e, href=link(e["source"], e["ref"]), unit=model.unit(d, e["source"])) for e in fm["evidence"]]
        findings.append(dict(fm, anchor=f"finding-{fm['rank']}", evidence=ev[:MAX_EVIDENCE],
                             evidence_more=max(0, len(ev) - MAX_EVIDENCE),
                             window=_window(f), n_symptoms=len(f.symptoms), lanes=[ln["id"] for ln in view["lanes"]
                                                       if fm["rank"] - 1 in ln["findings"]]))
    timeline = [dict(t, href=link(t["source"], t["ref"]), unit=model.unit(d, t["source"]),
                     when=_clock(t)) for t in m["timeline"]]
    top = flat[0] if flat else None
    inputs = []
    for r in m["inputs"]:
        why = [(k, n, REASONS[k]) for k, n in r["accounting"].items() if k != "event" and n]
        inputs.append(dict(r, why=why, span=view["spans"].get(r["source"])))
    worst = d.worst()
    return {
        "m": m,
        "version": __version__,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "worst": worst,
        "severities": SEVERITIES,
        "counts": {s: sum(1 for f in flat if f.severity == s) for s in SEVERITIES},
        "top": top and findings[0],
        "top_peer": top and (top.peer or top.tunnel),
        "findings": findings,
        "timeline": timeline,
        "inputs": inputs,
        "view": view,
        "chart": chart,
        "lane_names": {ln["id"]: f"{ln['peer']} ↔ {ln['local']} ({ln['transport_name']})" for ln in view["lanes"]},
        "title": _title(d),
        "down_verdict": d.down_verdict(),
        "down": d.down(),
    }


def _clock(t: dict) -> str:
    if t.get("time"):
        return t["time"][11:23]
    if t.get("stamp"):
        return t["stamp"]
    if t.get("t") is not None:
        return f"+{t['t']:.3f} s"
    return ""


def _window(f) -> str:
    if f.start is not None:
        a = f.start.strftime("%Y-%m-%d %H:%M:%S")
        if f.end is None or f.end == f.start:
            return a
        b = f.end.strftime("%H:%M:%S") if f.end.date() == f.start.date() else f.end.strftime("%Y-%m-%d %H:%M:%S")
        return f"{a} – {b} ({human_duration((f.end - f.start).total_seconds())})"
    if f.t_start is not None:
        a = clock_text(None, f.t_start, stamp=f.stamp_start)
        if f.t_end is None:
            return a
        b = clock_text(None, f.t_end, stamp=f.stamp_end)
        return f"{a} – {b} ({human_duration(f.t_end - f.t_start)})"
    return "no time in the input"


def _title(d: Diagnosis) -> str:
    verdict = d.down_verdict()
    if verdict:  # no rule found a cause, but the state shows tunnels down: not "no problem"
        return f"IPsec/IKE analysis: {in_sentence(verdict)}"
    if not d.findings:
        return "IPsec/IKE analysis: no problem found"
    f = d.findings[0]
    who = f.peer or f.tunnel
    return f"IPsec incident: {f.title.split(':')[0]}" + (f" ({who})" if who else "")


def _script() -> tuple[str, str]:
    """The inline script and its CSP hash: the page runs that script and no other, so even
    markup that slipped past escaping could not execute."""
    text = resources.files("ikeanalyze.report").joinpath("templates/report.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return text, f"sha256-{digest}"


def render(d: Diagnosis, events: pd.DataFrame | None = None, **_kw) -> str:
    """The report page (see context() for ``events``)."""
    script, script_hash = _script()
    return environment().get_template("report.html.j2").render(**context(d, events), script=script,
                                                                 script_hash=script_hash)
