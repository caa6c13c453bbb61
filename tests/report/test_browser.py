"""The HTML report in real headless Chromium (Debian's /usr/bin/chromium through Playwright).

Skipped only where the browser is missing and IKEANALYZE_REQUIRE_TOOLS is unset; CI sets it,
so there a missing browser fails. Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ikeanalyze import api
from tests.conftest import DATA, ROOT, SAMPLES

ARTIFACTS = ROOT / "test-artifacts"
SEED = SAMPLES / "forticlient-udp-fallback-tcp.txt"
HOSTILE = DATA / "report" / "hostile-seed.txt"

pytestmark = pytest.mark.browser





class Visit:
    """One page load with everything a page might do recorded."""

    def __init__(self, browser, path: Path, javascript: bool = True):
        self.url = path.resolve().as_uri()
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=javascript)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.goto(self.url, wait_until="load")

    def _route(self, route):
        if route.request.url == self.url:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def close(self):
        self.context.close()


def _write(tmp_path: Path, source: Path, name: str) -> Path:
    out = tmp_path / name
    out.write_text(api.render(api.analyze([str(source)]), "html"), encoding="utf-8")
    return out


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_seed_report_in_chromium(browser, tmp_path):
    v = Visit(browser, _write(tmp_path, SEED, "seed.html"))
    page = v.page
    try:
        assert [m for m in v.console if m[0] in ("error", "warning")] == [] and v.errors == []
        assert v.blocked == [] and set(v.requests) <= {v.url}
        # The story, the chart, the findings and their evidence are on screen.
        assert page.locator("#summary").is_visible()
        assert "the user reconnected by hand" in page.locator("#summary .summary").inner_text()
        chart = page.locator("svg.chart")
        assert chart.is_visible() and chart.bounding_box()["height"] > 100
        assert page.locator("svg.chart g.lane").count() == 2
        for rank in (1, 2, 3, 4):
            assert page.locator(f"#finding-{rank}").is_visible()
        first = page.locator("#finding-1 ol.evidence li").first
        assert first.is_visible() and "udp 116" in first.inner_text()
        # Evidence links land on their row, highlighted.
        page.locator("#finding-1 ol.evidence a").first.click()
        assert page.evaluate("location.hash") == "#ev-0-20"
        assert page.locator("#ev-0-20").is_visible()
        assert page.evaluate("getComputedStyle(document.querySelector('#ev-0-20 td')).backgroundColor") \
            == "rgb(253, 230, 138)"
        # The filters work: keepalives only, then a link into the table shows its row again.
        page.select_option("#filters select[name=kind]", "keepalive")
        kinds = page.eval_on_selector_all("#event-table tbody tr[data-kind]:not([hidden])",
                                          "rows => rows.map(r => r.dataset.kind)")
        assert kinds and set(kinds) == {"keepalive"}
        assert page.locator("#filter-count").inner_text().endswith(f"of {38} rows")
        page.evaluate("location.hash = '#ev-0-36'")  # a TCP row, hidden by the filter
        page.wait_for_function("!document.getElementById('ev-0-36').hidden")
        assert page.locator("#ev-0-36").is_visible()
        page.evaluate("window.scrollTo(0, 0)")
        _shot(page, "report-seed.png")
        assert v.blocked == [] and v.dialogs == []
    finally:
        v.close()


def test_hostile_input_runs_nothing(browser, tmp_path):
    v = Visit(browser, _write(tmp_path, HOSTILE, "hostile.html"))
    page = v.page
    try:
        assert v.dialogs == [] and v.errors == [] and v.blocked == []
        counts = page.evaluate("""() => ({
            scripts: document.scripts.length,
            imgs: document.images.length,
            handlers: [...document.querySelectorAll('*')].filter(
                e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
            bold: document.querySelectorAll('b').length,
        })""")
        assert counts == {"scripts": 1, "imgs": 0, "handlers": 0, "bold": 0}
        # The planted text is shown as text.
        assert page.get_by_text("<b>note</b> <script>alert('unrecognised')</script>", exact=False).count() >= 1
        assert page.locator("select[name=tunnel] option", has_text="<img/src=x/onerror=alert('tunnel')>").count() == 1
        page.select_option("#filters select[name=tunnel]", "<img/src=x/onerror=alert('tunnel')>")
        assert page.locator("#event-table tbody tr[data-kind]:not([hidden])").count() >= 1
        assert v.dialogs == []
        _shot(page, "report-hostile.png")
    finally:
        v.close()


def test_without_javascript_everything_is_readable(browser, tmp_path):
    v = Visit(browser, _write(tmp_path, SEED, "nojs.html"), javascript=False)
    try:
        page = v.page
        assert not page.locator("#filters").is_visible()  # filters need the script; the table does not
        assert page.locator("#event-table tbody tr[data-kind]").count() == 38
        assert page.locator("#ev-0-36").is_visible() and page.locator("svg.chart").is_visible()
        page.emulate_media(media="print")
        assert page.evaluate("getComputedStyle(document.querySelector('.table-wrap')).overflow") == "visible"
    finally:
        v.close()
