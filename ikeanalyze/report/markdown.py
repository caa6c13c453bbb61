"""The Markdown report: the HTML report's story as text for tickets and chat.

Same data as the HTML page (report/html.context): summary, timeline, flows, findings with
evidence, and what the inputs held. Input text is either escaped (prose, table cells) or
fenced (raw lines), so a hostile line cannot become markup where the ticket renders it.
"""

from __future__ import annotations

import re

import pandas as pd

from ikeanalyze.diagnosis import Diagnosis, counted
from ikeanalyze.report import html

_SPECIAL = re.compile(r"([\\`*_\[\]{}#|!~])")
_TICKS = re.compile(r"(`[^`]+`)")
MAX_FLOWS = 12


def md(text: object) -> str:
    """Escape input-derived text for Markdown prose and table cells (one line)."""
    s = "" if text is None else str(text)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _SPECIAL.sub(r"\\\1", s)
    return re.sub(r"\s+", " ", s)  # one line; spaces next to code spans survive


def md_ticks(text: str) -> str:
    """Our own prose with `commands` in backticks (rule fixes): escape all but the code spans."""
    parts = _TICKS.split(text or "")
    return "".join(p if p.startswith("`") and p.endswith("`") and len(p) > 1 else md(p) for p in parts)


def fence(lines: list[str], info: str = "text") -> list[str]:
    """A fenced block longer than any backtick run inside, so no line can close it."""
    longest = max((len(m) for s in lines for m in re.findall(r"`+", s)), default=0)
    f = "`" * max(3, longest + 1)
    return [f + info, *lines, f]


def render(d: Diagnosis, events: pd.DataFrame | None = None, **_kw) -> str:
    c = html.context(d, events)
    m = c["m"]
    out: list[str] = [f"# {md(c['title'])}", ""]
    found = ""
    if c["worst"]:
        counts = ", ".join(f"{c['counts'][s]} {s}" for s in reversed(c["severities"]) if c["counts"][s])
        found = f"{counted(len(c['findings']), 'finding')}: {counts}"
    # A tunnel down that no rule explains outranks the findings beside it (info, or notes
    # on the input): "**INFO**" first would read as nothing wrong.
    if c["down_verdict"]:
        out.append(f"**DOWN** · {c['down']}{f' · {found}' if found else ''} · ikeanalyze {c['version']}")
    elif found:
        out.append(f"**{c['worst'].upper()}** · {found} · ikeanalyze {c['version']}")
    else:
        out.append(f"**OK** · no findings · ikeanalyze {c['version']}")
    out += ["", "## What happened", "", md(m["summary"]), ""]
    top = c["top"]
    if top:
        out.append(f"- **Root cause:** {top['code']} — {md(top['title'])}")
        if top["peer"] or top["tunnel"]:
            who = " · ".join(x for x in (top["peer"] and f"peer {md(top['peer'])}",
                                         top["tunnel"] and f"tunnel {md(top['tunnel'])}") if x)
            out.append(f"- **Peer / tunnel:** {who}")
        out.append(f"- **When:** {md(top['window'])}")
        out.append(f"- **What to do:** {md_ticks(top['fix'])}")
    # Also without a finding: a tunnel the snapshot shows down, or an exchange the capture
    # cannot see into, is told there, and the summary points at it.
    for s in m["next_steps"]:
        out.append(f"- **Collect next:** {md_ticks(s)}")
    if top or m["next_steps"]:
        out.append("")
    if c["timeline"]:
        out += ["## Timeline", "", "| time | what happened | where |", "|---|---|---|"]
        for t in c["timeline"]:
            where = f"{t['unit']} {t['ref']}" if t["ref"] is not None else ""
            out.append(f"| {md(t['when'])} | {md(t['text'])} | {where} |")
        out.append("")
    lanes = c["view"]["lanes"]
    if lanes:
        out += ["## Flows", "", "Seen from the gateway: *in* = from the peer, *out* = to the peer.", "",
                "| peer | local end | transport | in | out | findings |", "|---|---|---|---:|---:|---|"]
        flat = c["findings"]
        for ln in lanes[:MAX_FLOWS]:
            codes = ", ".join(dict.fromkeys(flat[i]["code"] for i in ln["findings"]))
            out.append(f"| {md(ln['peer'])} | {md(ln['local'])} | {md(ln['transport_name'])} | {ln['n_in']} | "
                       f"{ln['n_out']} | {codes} |")
        if c["view"]["lanes_omitted"]:
            out.append("")
            out.append(f"{c['view']['lanes_omitted']} more flows ({c['view']['events_omitted_from_lanes']} packets) "
                       "not listed: flows with findings first, then the busiest.")
        out.append("")
    out += ["## Findings", ""]
    if not c["findings"]:
        out += ["No rule found a problem in these inputs.", ""]
    for f in c["findings"]:
        sym = f" (symptom of {f['symptom_of']})" if f["symptom_of"] else ""
        out += [f"### {f['rank']}. {f['code']} · {f['severity'].upper()} · {f['name']}{sym}", "",
                f"**{md(f['title'])}**", "", md(f["message"]), "", f"- When: {md(f['window'])}"]
        if f["peer"]:
            out.append(f"- Peer: {md(f['peer'])}")
        if f["tunnel"]:
            out.append(f"- Tunnel: {md(f['tunnel'])}")
        out += ["", f"**Fix:** {md_ticks(f['fix'])}", ""]
        if f["evidence"]:
            out.append("Evidence:")
            out.append("")
            out += fence([f"{e['source']}:{e['ref']}  {' '.join(str(e['text']).split())}" for e in f["evidence"]])
            if f["evidence_more"]:
                out.append(f"{f['evidence_more']} more evidence lines in `--format json`.")
            out.append("")
    out += ["## Made from", "", "| input | format | size | time span | total | events | not events (why) |",
            "|---|---|---:|---|---:|---:|---|"]
    for r in c["inputs"]:
        span = f"{r['span']['first']} → {r['span']['last']}" if r["span"] else "no timestamps"
        why = ", ".join(f"{n} {k}" for k, n, _ in r["why"]) or "none"
        out.append(f"| {md(r['source'])} | {md(' + '.join(r['formats']) or '-')} | {html._size(r['bytes'])} | "
                   f"{md(span)} | {counted(r['total'], r['unit'])} | {r['events']} | {md(why)} |")
    notes: list[str] = []
    for r in c["inputs"]:
        notes += [f"{r['source']}: warning: {' '.join(w.split())}" for w in r["warnings"]]
        notes += [f"{r['source']}:{x['ref']}: unrecognised: {' '.join(str(x['text']).split())}"
                  for x in r["unrecognised_examples"]]
    if notes:
        out.append("")
        out += fence(notes)
    out += ["", f"*Made by ikeanalyze {c['version']}; the same report as data: `--format json`.*", ""]
    return "\n".join(out)
