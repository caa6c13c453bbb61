"""The HTML report as a file: what it says, that it is self-contained, and that input is escaped.

The browser checks (console, network, dialogs, the rendered page) are in test_browser.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from ikeanalyze import api
from ikeanalyze.report import eventsview, html
from tests.conftest import DATA, ROOT, SAMPLES, run_cli

SEED = SAMPLES / "forticlient-udp-fallback-tcp.txt"
HOSTILE = DATA / "report" / "hostile-seed.txt"
MAX_BYTES = 1_500_000


class Page(HTMLParser):
    """Tags, ids and attributes of a page, as a browser's parser would see them."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.ids: set[str] = set()
        self.script_text: list[str] = []
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if "id" in a:
            self.ids.add(a["id"])
        self._in_script = tag == "script"

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self._in_script = False

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.script_text.append(data)

    def all(self, tag: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag]


@pytest.fixture(scope="module")
def seed_page() -> str:
    return html.render(api.analyze([str(SEED)]))


@pytest.fixture(scope="module")
def hostile_page() -> str:
    return html.render(api.analyze([str(HOSTILE)]))


def test_seed_tells_the_story(seed_page):
    page = Page(seed_page)
    text = re.sub(r"<[^>]+>", " ", seed_page)
    # The top: what happened, root cause, peer, when, what to do.
    assert "What happened" in text and "Root cause" in text and "What to do" in text
    assert "stopped sending at 23:34:42.766" in text and "the user reconnected by hand" in text
    assert "2026-02-26 23:34:42 – 23:40:12 (5 min 30 s)" in text
    # Every finding, with its code, title, window, fix and evidence quoted with its line.
    for code in ("IKE102", "IKE104", "IKE101", "IKE103"):
        assert f">{code}<" in seed_page
    assert "forticlient-udp-fallback-tcp.txt, line 36" in text
    assert "syn 309505874 &lt;-- First Sync packet." in seed_page
    # The inputs: name, size, span, lines, not-events by reason, the truncation warning.
    assert "42 lines" in text and "1 prompt" in text and "3 banner" in text
    assert "2026-02-26 23:17:23 → 2026-02-26 23:40:21" in text and "line 15: truncated record" in text
    # The chart: two lanes, the UDP flow then the TCP flow it came back on.
    lanes = [a for a in page.all("g") if a.get("id", "").startswith("chart-lane-")]
    assert len(lanes) == 2
    assert re.search(r"10\.3\.2\.150:59641.*UDP 4500.*10\.3\.2\.150:58518.*TCP", text, re.S)


def test_seed_chart_shows_both_ways_then_one_way(seed_page):
    """Before 23:34:42 the UDP lane has marks above (in) and below (out) its line; after it,
    only below: the keepalives nobody answers."""
    ctx = html.context(api.analyze([str(SEED)]))
    chart = ctx["chart"]
    udp = chart["lanes"][0]
    last_in = max(m["x"] for m in udp["marks"] if m["segs"][0]["y"] < udp["yc"])
    after = [m for m in udp["marks"] if m["x"] > last_in]
    assert len(after) >= 6 and all(s["y"] > udp["yc"] for m in after for s in m["segs"])
    assert {s["cls"] for m in after for s in m["segs"]} >= {"keepalive"}
    tcp = chart["lanes"][1]
    assert min(m["x"] for m in tcp["marks"]) > last_in  # the TCP lane starts after UDP went quiet
    assert {s["cls"] for m in tcp["marks"] for s in m["segs"]} == {"tcp"}
    assert [w["code"] for w in udp["windows"]] == ["IKE102", "IKE104", "IKE101"]
    one = next(m for m in after if "line 24" in m["title"])  # hover text is the event itself
    assert "udp 1" in one["title"] and one["href"] == "#ev-0-24"


def test_evidence_links_reach_table_rows(seed_page):
    page = Page(seed_page)
    hrefs = [a["href"] for a in page.all("a") if a.get("href", "").startswith("#ev-")]
    assert len(hrefs) >= 10
    assert all(h[1:] in page.ids for h in hrefs)
    rows = [a for a in page.all("tr") if a.get("id", "").startswith("ev-")]
    assert len(rows) == 38  # every event of the seed has its row (and one id per line)


def test_self_contained(seed_page):
    page = Page(seed_page)
    assert len(seed_page.encode()) < MAX_BYTES
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "data", "poster", "srcset"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith("#"), (tag, name, value)
    assert not re.search(r"url\(|@import|https?://(?!www\.w3\.org/2000/svg)", seed_page)
    assert [t for t, _ in page.tags if t in ("link", "img", "iframe", "object", "embed", "base")] == []


def test_csp_allows_only_our_script(seed_page):
    page = Page(seed_page)
    csp = next(a["content"] for a in page.all("meta") if a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp
    (script,) = page.script_text
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp


def test_print_stylesheet_and_colours(seed_page):
    assert "@media print" in seed_page
    assert "--fg: #111827" in seed_page and "--card: #ffffff" in seed_page  # dark on light


def test_hostile_input_is_escaped(hostile_page):
    page = Page(hostile_page)
    assert len(page.all("script")) == 1
    assert page.all("img") == []
    assert not any(k.startswith("on") for _, a in page.tags for k in a)
    for raw in ("<script>alert", "<img/src", "<svg/onload", "</code></li><script>"):
        assert raw not in hostile_page
    # ... and it is all still there, as text.
    assert "&lt;script&gt;alert(&#39;unrecognised&#39;)&lt;/script&gt;" in hostile_page
    assert "&lt;img/src=x/onerror=alert(&#39;tunnel&#39;)&gt;" in hostile_page  # table + tunnel filter
    assert "&lt;svg/onload=alert(&#39;iface&#39;)&gt;" in hostile_page
    assert "&lt;/code&gt;&lt;/li&gt;&lt;script&gt;alert(&#34;evidence&#34;)" in hostile_page


def test_long_tables_are_bounded_and_say_so():
    d = api.analyze([str(SEED)])
    limits = eventsview.Limits(table_rows=12, context_rows=0, lanes=1)
    ctx = html.context(d, d.events, limits)
    view = ctx["view"]
    shown = [r for r in view["rows"] if "gap" not in r]
    assert len(shown) == 12 and view["rows_omitted"] == 38 - 12
    assert sum(r["gap"] for r in view["rows"] if "gap" in r) == 38 - 12
    evidence = {(e.source, e.ref) for f in d.all_findings() for e in f.evidence}
    assert evidence <= {(r["source"], r["ref"]) for r in shown}  # evidence first
    assert view["lanes_omitted"] == 1 and len(ctx["chart"]["lanes"]) == 1
    page = html.environment().get_template("report.html.j2").render(**ctx, script="", script_hash="")
    assert "Showing 12 of 38 events" in page and "1 more flow (7 packets) not drawn" in page


def test_many_tunnels_stay_readable(tmp_path):
    """The bench workload (tests/data/make_capture.py): many flows, a few broken tunnels."""
    sniffer = tmp_path / "bench.txt"
    subprocess.run([sys.executable, str(DATA / "make_capture.py"), "--packets", "2000", "--tunnels", "20",
                    "--sniffer", str(sniffer)], check=True, capture_output=True, cwd=ROOT)
    d = api.analyze([str(sniffer)])
    ctx = html.context(d, d.events)
    lanes = ctx["chart"]["lanes"]
    assert len(lanes) == eventsview.Limits().lanes and ctx["chart"]["lanes_omitted"] > 0
    # The top finding's flows come first, and a client's TCP lane sits under its UDP lane.
    top = d.findings[0]
    assert lanes[0]["peer"] == top.peer
    assert lanes[1]["peer"].rsplit(":", 1)[0] == top.peer_ip and "TCP" in lanes[1]["sub"]
    marks = sum(len(ln["marks"]) for ln in lanes)
    assert marks <= len(lanes) * 2 * 160
    page = html.render(d)
    assert len(page.encode()) < 2 * MAX_BYTES
    assert "more flows" in page


def test_relative_times_and_captures():
    rel = api.analyze([str(DATA / "sniffer" / "31_sniffer_v5_any_relative.txt")])
    ctx = html.context(rel, rel.events)
    assert ctx["chart"] is not None and ctx["chart"]["day"] is None
    assert all(t["label"].startswith("+") for t in ctx["chart"]["ticks"])
    cap = api.analyze([str(DATA / "pcap" / "tcpdump_ikev2four.pcap")])
    page = html.render(cap)
    assert "frames" in page and "<svg" in page


def test_without_events_the_page_says_so():
    d = api.analyze([str(SEED)])
    del d.events
    page = html.render(d)
    assert "rendered from the diagnosis alone" in page and "IKE102" in page


def test_cli_writes_html(tmp_path):
    out = tmp_path / "report.html"
    p = run_cli("analyze", str(SEED), "--format", "json", "--html", str(out))
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().lstrip().startswith("{")  # the main output is unchanged
    assert out.read_text().startswith("<!DOCTYPE html>")
    p = run_cli("analyze", str(SEED), "--format", "html")
    assert p.returncode == 0 and b"<svg class=\"chart\"" in p.stdout


def test_debug_without_timestamps_lists_flows_instead_of_a_chart():
    """A debug log without console timestamps has flows but no times: no empty lanes."""
    d = api.analyze([str(DATA / "ikedebug" / "IKE_Log_combined_all.txt")])
    ctx = html.context(d)
    assert ctx["chart"] is None and len(ctx["view"]["lanes"]) >= 3
    page = html.render(d)
    assert "No chart: the packets of these flows carry no timestamp" in page
    assert page.count('<td class="mono">') >= 2 * len(ctx["view"]["lanes"])


def test_many_findings_get_an_index():
    d = api.analyze([str(DATA / "ikedebug" / "IKE_Log_combined_all.txt")])
    page = Page(html.render(d))
    assert "index" in page.ids
    top = {id(f) for f in d.findings}
    roots = [f"#finding-{i}" for i, f in enumerate(d.all_findings(), 1) if id(f) in top]
    links = [a["href"] for a in page.all("a") if a.get("href", "").startswith("#finding-")]
    assert set(roots) <= set(links) and len(roots) == len(d.findings)


def test_next_steps_are_told_without_a_finding():
    """As the Markdown report: with no finding, the steps the summary points at are still shown."""
    page = html.render(api.analyze([str(DATA / "state" / "handmade_phase1_up_no_phase2_sa.txt")]))
    assert "<dt>Collect next</dt>" in page
    assert "Tunnel to-hq (remote gateway 198.51.100.9) is down: no phase-2 SA" in page
