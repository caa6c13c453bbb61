"""The Markdown report: the same story as the HTML page, safe to paste into a ticket."""

from __future__ import annotations

import re

from ikeanalyze import api
from ikeanalyze.report.markdown import fence, md, md_ticks
from tests.conftest import DATA, SAMPLES, run_cli

SEED = SAMPLES / "forticlient-udp-fallback-tcp.txt"
HOSTILE = DATA / "report" / "hostile-seed.txt"


def _split_fences(text: str) -> tuple[str, str]:
    """(prose a Markdown renderer parses, text inside fenced blocks)."""
    prose, fenced, fence_mark = [], [], None
    for line in text.splitlines():
        m = re.match(r"^(`{3,})", line)
        if fence_mark is None and m:
            fence_mark = m.group(1)
        elif fence_mark is not None and line.startswith(fence_mark) and line.strip("`") == "":
            fence_mark = None
        elif fence_mark is None:
            prose.append(line)
        else:
            fenced.append(line)
    assert fence_mark is None, "a fence was left open"
    return "\n".join(prose), "\n".join(fenced)


def _outside_fences(text: str) -> str:
    return _split_fences(text)[0]


def test_seed_report_tells_the_story():
    p = run_cli("analyze", str(SEED), "--format", "markdown")
    assert p.returncode == 0, p.stderr.decode()
    text = p.stdout.decode()
    assert text.startswith("# IPsec incident: UDP path stalled (10.3.2.150:59641)")
    assert "**Root cause:** IKE102" in text
    assert "- **When:** 2026-02-26 23:34:42 – 23:40:12 (5 min 30 s)" in text
    assert "`diagnose sys session filter dport 4500` on a FortiGate" in text  # code spans kept
    assert "| 23:34:42.766 | last packet from 10.3.2.150:59641 on UDP 4500 | line 20 |" in text
    assert "| 10.3.2.150:59641 | 10.55.3.193:4500 | UDP 4500 | 6 | 13 | IKE102, IKE104, IKE101 |" in text
    assert "| 10.3.2.150:58518 | 10.55.3.193:5500 | TCP | 4 | 3 |" in text
    for code in ("IKE102", "IKE104", "IKE101", "IKE103"):
        assert re.search(rf"^### \d+\. {code} · ", text, re.M)
    assert "samples/forticlient-udp-fallback-tcp.txt:36  2026-02-26 23:40:21.594070 port2 in" in text
    assert "| 42 lines | 38 |" in text and "1 prompt, 3 banner" in text
    _outside_fences(text)


def test_hostile_input_stays_text():
    text = api.render(api.analyze([str(HOSTILE)]), "markdown")
    prose, fenced = _split_fences(text)
    assert "<" not in prose  # no raw markup where Markdown is parsed
    # The planted markup is quoted as-is, but only inside fences: the unrecognised line and
    # the evidence line with an annotation.
    assert "<b>note</b> <script>alert('unrecognised')</script>" in fenced
    assert """udp 1 <-- </code></li><script>alert("evidence")</script>""" in fenced
    assert "alert" not in prose.replace("&lt;script&gt;alert(", "")  # prose quotes it only escaped


def test_fence_outlasts_backticks_in_the_input():
    lines = ["ike 0: a line with ``` inside", "and ````` five"]
    block = fence(lines)
    assert block[0] == "``````text" and block[-1] == "``````"
    assert _outside_fences("\n".join(block)) == ""


def test_escaping_helpers():
    assert md("a <b> | *x* _y_ [l](u) `c`") == r"a &lt;b&gt; \| \*x\* \_y\_ \[l\](u) \`c\`"
    assert md("two\nlines") == "two lines"
    assert md_ticks("run `diag vpn ike gateway list` on <fw>") == "run `diag vpn ike gateway list` on &lt;fw&gt;"


def test_an_input_of_one_byte_is_one_byte(tmp_path):
    """The inputs table's size: `1 byte`, `2 bytes` (the HTML page's size filter words it)."""
    for content, said in (("x", "| 1 byte |"), ("xy", "| 2 bytes |")):
        f = tmp_path / "one.txt"
        f.write_text(content)
        assert said in api.render(api.analyze([str(f)]), "markdown"), said


def test_next_steps_are_told_without_a_finding():
    """A tunnel list with phase 1 up and no phase-2 SA: no rule fires, and the summary says
    "What to collect next says what would tell why", but the steps were printed only beside
    a root cause, so the report pointed at a section it did not have."""
    text = api.render(api.analyze([str(DATA / "state" / "handmade_phase1_up_no_phase2_sa.txt")]), "markdown")
    assert "What to collect next says what would tell why." in text
    assert "- **Collect next:** Tunnel to-hq (remote gateway 198.51.100.9) is down: no phase-2 SA" in text


def test_headline_names_a_tunnel_down_that_no_rule_explains():
    """Phase 1 up and no phase-2 SA: no rule fires, and every format's headline said "no
    findings" / "no problem found", which an engineer reads as "nothing wrong". Each now
    says no rule found a cause and names the tunnel down and its remote gateway."""
    import json

    d = api.analyze([str(DATA / "state" / "handmade_phase1_up_no_phase2_sa.txt")])
    verdict = "No rule found a cause, but 1 tunnel is down: to-hq (remote gateway 198.51.100.9)"
    assert d.down_verdict() == verdict
    term = api.render(d, "terminal", width=140).splitlines()
    assert term[0].startswith("╭─ ikeanalyze — 1 tunnel down ")
    assert "No rule found a cause in 29 events, but the snapshot shows 1 tunnel down: to-hq." in term[1]
    md_text = api.render(d, "markdown")
    assert md_text.startswith(f"# IPsec/IKE analysis: n{verdict[1:]}\n")
    assert "**DOWN** · 1 tunnel down · ikeanalyze" in md_text and "**OK**" not in md_text
    page = api.render(d, "html")
    assert "no problem found" not in page and f"<h1>IPsec/IKE analysis: n{verdict[1:]}</h1>" in page
    assert "<span class=\"badge sev-warning\">down</span> 1 tunnel down" in page
    assert json.loads(api.render(d, "json"))["down_tunnels"] == [
        {"tunnel": "to-hq", "remote_gateway": "198.51.100.9", "device": None, "admin_down": False}]


def test_a_tunnel_down_comes_before_the_info_findings_beside_it():
    """A tunnel list with a tunnel down, an info finding beside it: the Markdown status read
    `**INFO** · 1 finding: 1 info` and the HTML badge `info`, which an engineer takes for
    nothing wrong. The down verdict comes first in both, the findings' counts after it."""
    d = api.analyze([str(DATA / "text_public" / "reddit_gwlist_connecting_prose_below.txt")])
    assert d.worst() == "info" and d.down_verdict()
    status = api.render(d, "markdown").splitlines()[2]
    assert status.startswith("**DOWN** · 1 tunnel down · 1 finding: 1 info"), status
    page = api.render(d, "html")
    assert '<header class="top sev-warning">' in page
    assert page.index('<span class="badge sev-warning">down</span>') < page.index('<span class="badge sev-info">info</span>')
