"""The upload page in real headless Chromium (Debian's /usr/bin/chromium through Playwright),
against the real server (tests/web/conftest.py).

Skipped only where the browser is missing and IKEANALYZE_REQUIRE_TOOLS is unset.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DATA, SAMPLES
from tests.web.conftest import TOKEN
from tests.web.test_app import png

PCAP = DATA / "pcap" / "tcpdump_isakmp4500.pcap"
SEED = SAMPLES / "forticlient-udp-fallback-tcp.txt"

pytestmark = pytest.mark.browser




class Tab:
    """A fresh browser context on the server, recording what the page does."""

    def __init__(self, browser, server, javascript: bool = True):
        self.server = server
        self.console: list[str] = []
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.context = browser.new_context(java_script_enabled=javascript, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.console.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", self._request)
        self.page.set_default_timeout(120_000)

    def _request(self, r) -> None:
        if not r.url.startswith((self.server.url, "data:")):
            self.foreign.append(r.url)

    def open(self, path: str = "/"):
        return self.page.goto(self.server.url + path)

    def submit(self):
        """Press Analyze and return the response to the form's POST."""
        with self.page.expect_navigation() as nav:
            self.page.click("#go")
        if nav.value.status != 200 and self.page.locator("#error").count():
            print("server said:", self.page.locator("#error").inner_text())  # shown when the test fails
        return nav.value

    def clean(self, *statuses: int) -> None:
        """No console errors (CSP violations land there) but the refusals the test asked for."""
        expected = {f"Failed to load resource: the server responded with a status of {s} " for s in statuses}
        console = [m for m in self.console if not any(m.startswith(e) for e in expected)]
        assert console == [] and self.errors == [], (console, self.errors)
        assert self.foreign == []
        self.context.close()


@pytest.fixture
def tab(browser, server):
    t = Tab(browser, server)
    yield t
    t.context.close()


def test_upload_a_capture_and_a_paste(tab, server):
    tab.open()
    page = tab.page
    page.set_input_files("#files", [str(PCAP)])
    page.fill("#paste", SEED.read_text(encoding="utf-8"))
    page.click("summary")  # the options
    page.fill("#select", "IKE1, IKE3")
    response = tab.submit()
    assert response.status == 200 and response.url == server.url + "/analyze"
    assert page.locator("h1").inner_text().startswith("IPsec incident")
    body = page.locator("body").inner_text()
    for code in ("IKE101", "IKE102", "IKE103", "IKE104", "IKE304"):
        assert code in body
    assert "IKE902" not in body  # --select IKE1, IKE3 reached the analysis
    assert page.locator("#ikeanalyze-serve").inner_text().endswith(f"from {PCAP.name}, paste")

    with page.expect_download() as dl:
        page.click("#download-json")
    assert dl.value.suggested_filename == "ikeanalyze-report.json"
    doc = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
    assert [i["source"] for i in doc["inputs"]] == [PCAP.name, "paste"]
    assert {"IKE104", "IKE304"} <= {f["code"] for f in doc["findings"]}

    with page.expect_download() as dl:
        page.click("#download-html")
    assert dl.value.suggested_filename == "ikeanalyze-report.html"
    saved = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "IKE104" in saved and 'id="ikeanalyze-serve"' not in saved  # the report as the CLI writes it

    page.click("#analyze-more")
    assert page.locator("#upload").count() == 1
    tab.clean()
    assert server.wait_clean() == []


def test_the_form_works_without_javascript(browser, server):
    t = Tab(browser, server, javascript=False)
    t.open()
    assert t.page.locator(".js-only").is_hidden()  # the drop hint only shows when dropping works
    t.page.set_input_files("#files", [str(PCAP)])
    response = t.submit()
    assert response.status == 200
    assert "IKE304" in t.page.locator("body").inner_text()
    t.clean()
    assert server.wait_clean() == []


def test_an_image_gets_a_400_page_with_the_form(tab, server, tmp_path):
    shot = tmp_path / "screenshot.png"
    shot.write_bytes(png())
    tab.open()
    tab.page.set_input_files("#files", [str(shot)])
    response = tab.submit()
    assert response.status == 400
    alert = tab.page.locator("#error").inner_text()
    assert "screenshot.png: not a capture or FortiGate text" in alert
    assert tab.page.locator("#upload").count() == 1  # try again from here
    tab.clean(400)
    assert server.wait_clean() == []


def test_drop_files_onto_the_box(tab, server):
    tab.open()
    page = tab.page
    assert page.locator(".js-only").is_visible()
    page.set_input_files("#files", [str(PCAP)])
    page.evaluate("""text => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], "dropped-debug.txt", {type: "text/plain"}));
        document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""", SEED.read_text(encoding="utf-8"))
    names = page.evaluate("() => Array.from(document.getElementById('files').files, f => f.name)")
    assert names == [PCAP.name, "dropped-debug.txt"]  # added to what was chosen
    response = tab.submit()
    assert response.status == 200
    assert page.locator("#ikeanalyze-serve").inner_text().endswith(f"from {PCAP.name}, dropped-debug.txt")
    tab.clean()


def test_sign_in_then_upload(browser, auth_server):
    t = Tab(browser, auth_server)
    response = t.open()
    assert response.status == 401 and t.page.locator("#login").count() == 1
    t.page.fill("#token", "not-it")
    with t.page.expect_navigation() as nav:
        t.page.click("#login button")
    assert nav.value.status == 401 and "wrong token" in t.page.locator("#error").inner_text()
    t.page.fill("#token", TOKEN)
    with t.page.expect_navigation():
        t.page.click("#login button")
    assert t.page.locator("#upload").count() == 1
    (cookie,) = t.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
    t.page.fill("#paste", SEED.read_text(encoding="utf-8"))
    assert t.submit().status == 200
    assert "IKE104" in t.page.locator("body").inner_text()
    t.clean(401)
    assert auth_server.wait_clean() == []
