"""`ikeanalyze serve` through its HTTP API, against the real server (tests/web/conftest.py).

After every request the server's TMPDIR must be empty again: uploads are never kept.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import signal
import socket
import struct
import threading
import time
import zipfile
import zlib
from html import unescape
from pathlib import Path

from ikeanalyze import api
from ikeanalyze.sources import Blob
from tests.conftest import DATA, SAMPLES
from tests.web.conftest import TOKEN, codes, multipart

PCAP = DATA / "pcap" / "tcpdump_isakmp4500.pcap"  # IKE304: retransmissions to 192.1.2.254:4500
BIG_PCAP = DATA / "pcap" / "ndpi_ipsec_isakmp_esp.pcap"  # 465090 bytes: over the 0.25 MB test limit
SEED = SAMPLES / "forticlient-udp-fallback-tcp.txt"
SEED_CODES = {"IKE101", "IKE102", "IKE103", "IKE104"}


def png() -> bytes:
    """A real 1×1 PNG: what someone uploads when they attach a screenshot instead of text."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def data_url(page: str, element_id: str) -> bytes:
    m = re.search(rf'id="{element_id}" href="data:[^;]+;charset=utf-8;base64,([^"]+)"', page)
    assert m, f"no data: link #{element_id}"
    return base64.b64decode(unescape(m.group(1)))


# -- the API ------------------------------------------------------------------------------

def test_api_returns_the_clis_json_document(server):
    status, headers, body = server.post_form("/api/analyze", files=[(PCAP.name, PCAP.read_bytes())])
    assert status == 200, body
    assert headers["content-type"].startswith("application/json")
    doc = json.loads(body)
    with open(PCAP, "rb") as f:
        blob = Blob(PCAP.name, PCAP, None, f.read(16))
    assert doc == json.loads(api.render(api.analyze([blob]), "json"))  # what `analyze --format json` prints
    # Both sides re-send Quick Mode message 8b7e8947: one finding per sender, the same peer.
    assert codes(doc) == ["IKE304", "IKE304"] and {f["peer"] for f in doc["findings"]} == {"192.1.2.254:4500"}
    assert doc["inputs"][0]["source"] == PCAP.name  # the upload's name, not a temp path
    assert server.wait_clean() == []


def test_api_paste_and_capture_together(server):
    status, _, body = server.post_form("/api/analyze", files=[(PCAP.name, PCAP.read_bytes())],
                                       paste=SEED.read_text(encoding="utf-8"))
    assert status == 200, body
    doc = json.loads(body)
    assert [i["source"] for i in doc["inputs"]] == [PCAP.name, "paste"]
    assert SEED_CODES | {"IKE304"} <= set(codes(doc))
    ike104 = next(f for f in doc["findings"] if f["code"] == "IKE104")
    assert ike104["peer"] == "10.3.2.150:59641"
    assert {e["source"] for e in ike104["evidence"]} == {"paste"}
    assert server.wait_clean() == []


def test_api_reads_a_zip_of_evidence_file_by_file(server):
    """A customer's ZIP uploaded as is: each file an input named upload.zip:file, read
    together, and nothing left in the server's TMPDIR."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("case/capture.pcap", PCAP.read_bytes())
        z.writestr("case/paste.txt", SEED.read_bytes())
    status, _, body = server.post_form("/api/analyze", files=[("case.zip", buf.getvalue())])
    assert status == 200, body
    doc = json.loads(body)
    assert [i["source"] for i in doc["inputs"]] == ["case.zip:case/capture.pcap", "case.zip:case/paste.txt"]
    assert SEED_CODES | {"IKE304"} <= set(codes(doc))
    assert server.wait_clean() == []


def test_api_options_select_and_local(server):
    status, _, body = server.post_form("/api/analyze", paste=SEED.read_text(encoding="utf-8"),
                                       select="IKE101, IKE104", local="10.55.3.193")
    assert status == 200, body
    assert sorted(codes(json.loads(body))) == ["IKE101", "IKE104"]


def test_api_bad_options_are_400_with_the_reason(server):
    status, _, body = server.post_form("/api/analyze", paste="x", select="IKE1O1")
    assert status == 400 and "IKE1O1" in json.loads(body)["error"]
    status, _, body = server.post_form("/api/analyze", paste="x", local="10.0.0.300")
    assert status == 400 and "10.0.0.300" in json.loads(body)["error"]
    status, headers, body = server.post_form("/analyze", paste="x", select="IKE1O1", local="10.55.3.193")
    page = body.decode()
    assert status == 400 and "unknown rule selector &#39;IKE1O1&#39;" in page
    assert 'value="IKE1O1"' in page and 'value="10.55.3.193"' in page  # the form comes back filled in
    assert headers["connection"] == "close"
    assert server.wait_clean() == []


def test_image_upload_is_a_clear_400(server):
    status, headers, body = server.post_form("/api/analyze", files=[("screenshot.png", png())])
    assert status == 400
    error = json.loads(body)
    assert error["status"] == 400 and error["error"].startswith("screenshot.png: not a capture or FortiGate text (")
    status, headers, body = server.post_form("/analyze", files=[("screenshot.png", png())])
    page = body.decode()
    assert status == 400 and headers["content-type"].startswith("text/html")
    assert error["error"] in page
    assert "Traceback" not in page and 'enctype="multipart/form-data"' in page  # the form again, to retry
    assert server.wait_clean() == []


def test_forms_that_cannot_be_used(server):
    status, _, body = server.post_form("/api/analyze")
    assert status == 400 and "nothing to analyze" in json.loads(body)["error"]
    status, _, body = server.post_form("/api/analyze", paste="   \n\n ")  # an untouched textarea
    assert status == 400 and "nothing to analyze" in json.loads(body)["error"]
    status, _, body = server.post_form("/api/analyze", file="x")  # curl -F file=@… instead of files
    assert status == 400 and "unknown form field 'file'" in json.loads(body)["error"]
    status, _, body = server.request("POST", "/api/analyze", b'{"paste": "x"}', {"Content-Type": "application/json"})
    assert status == 415 and "multipart/form-data" in json.loads(body)["error"]
    form, ctype = multipart(paste=SEED.read_text(encoding="utf-8"))
    status, _, body = server.request("POST", "/api/analyze", form[:-40], {"Content-Type": ctype})  # cut short
    assert status == 400 and "closing boundary" in json.loads(body)["error"]
    assert server.wait_clean() == []


def test_hostile_file_names_are_only_names(server):
    name = "<img src=x onerror=alert(1)>.txt"
    text = SEED.read_text(encoding="utf-8")
    status, _, body = server.post_form("/analyze", files=[(name, text.encode()), ("..\\..\\boot.ini", b"x\n")])
    page = body.decode()
    assert status == 200
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;.txt" in page
    status, _, body = server.post_form("/api/analyze", files=[(name, text.encode()), ("..\\..\\boot.ini", b"x\n"),
                                                             ("a\x1bb.txt", b"y\n"), (name, text.encode())])
    sources = [i["source"] for i in json.loads(body)["inputs"]]
    # the name as given (a client path cut to its last part, control characters escaped,
    # repeated names told apart); never a path on the server
    assert sources == [name, "boot.ini", "a\\x1bb.txt", f"{name} (2)"]
    assert server.wait_clean() == []


# -- the page -----------------------------------------------------------------------------

def test_upload_page_is_a_plain_form(server):
    status, headers, body = server.request("GET", "/")
    page = body.decode()
    assert status == 200
    form = re.search(r'<form id="upload"[^>]*>', page).group(0)
    assert 'method="post"' in form and 'action="analyze"' in form and 'enctype="multipart/form-data"' in form
    assert re.search(r'<input id="files" name="files" type="file" multiple>', page)
    for field in ('<textarea id="paste" name="paste"', 'name="local"', 'name="select"', 'name="ignore"',
                  '<button id="go" type="submit">'):
        assert field in page
    assert not re.search(r'(src|href|action)="(https?:)?//', page)  # loads nothing from elsewhere
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    assert "script-src 'sha256-" in headers["content-security-policy"]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in headers["content-security-policy"]  # the one script the page runs
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-store"


def test_form_post_returns_the_report_with_downloads(server):
    status, headers, body = server.post_form("/analyze", files=[(PCAP.name, PCAP.read_bytes())],
                                             paste=SEED.read_text(encoding="utf-8"))
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert headers["cache-control"] == "no-store"
    saved_html = data_url(page, "download-html").decode()
    saved_json = json.loads(data_url(page, "download-json"))
    # the page is the report plus the bar of links; the HTML download is the report alone
    bar = re.search(r'<nav id="ikeanalyze-serve".*?</nav>', page, re.S).group(0)
    assert page.replace(bar, "", 1) == saved_html
    assert saved_html.startswith("<!DOCTYPE html>") and "IKE104" in saved_html
    assert SEED_CODES | {"IKE304"} <= set(codes(saved_json))
    assert re.search(r'download="ikeanalyze-report\.json"', bar) and 'href="./"' in bar
    assert f"from {PCAP.name}, paste" in bar
    assert server.wait_clean() == []


# -- limits -------------------------------------------------------------------------------

def test_oversize_upload_refused_by_content_length_before_the_body(server):
    size = BIG_PCAP.stat().st_size
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    with conn:
        head = (f"POST /api/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                f"Content-Length: {size + 200}\r\n\r\n")
        conn.sendall(head.encode())  # and not one byte of the body
        reply = _read_response(conn)
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert b"larger than this server's limit of 0.25 MB" in reply
    assert server.wait_clean() == []


def test_oversize_upload_refused_while_streaming(server):
    """No Content-Length (chunked): the server counts what arrives and answers 413 as soon
    as the limit is passed, while the client has not finished (it never does here)."""
    form, ctype = multipart(files=[(BIG_PCAP.name, BIG_PCAP.read_bytes())])
    sent_part = form[: int(0.25 * 2**20) + 4096]  # just over the limit; the rest is never sent
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    with conn:
        conn.sendall((f"POST /api/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n").encode())
        for i in range(0, len(sent_part), 16384):
            piece = sent_part[i:i + 16384]
            conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        reply = _read_response(conn)
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert b"larger than the limit of 0.25 MB" in reply
    assert server.wait_clean() == []


def test_client_gone_mid_upload_leaves_nothing(server):
    form, ctype = multipart(paste=SEED.read_text(encoding="utf-8"))
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    conn.sendall((f"POST /api/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
                  f"Content-Length: {len(form)}\r\n\r\n").encode() + form[:2000])
    deadline = time.monotonic() + 30
    while not any(server.tmp.glob("ikeanalyze-upload-*/paste")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any(server.tmp.glob("ikeanalyze-upload-*/paste")), "the paste is written as it arrives"
    conn.close()
    assert server.wait_clean() == []
    assert server.request("GET", "/healthz")[0] == 200


def test_eight_concurrent_uploads_all_succeed(server):
    inputs = [(PCAP.name, PCAP.read_bytes(), "IKE304"), ("seed.txt", SEED.read_bytes(), "IKE104")] * 4
    results: list = [None] * len(inputs)

    def upload(i: int) -> None:
        name, data, _ = inputs[i]
        results[i] = server.post_form("/api/analyze", files=[(name, data)])

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    status, _, body = server.request("GET", "/healthz")  # answered while the analyses run or queue
    assert status == 200 and json.loads(body)["workers"] == 2
    for t in threads:
        t.join(300)
    for (name, _, code), (status, _, body) in zip(inputs, results):
        assert status == 200, body
        doc = json.loads(body)
        assert doc["inputs"][0]["source"] == name and code in codes(doc)
    assert server.wait_clean() == []


def test_analysis_over_the_time_limit_is_504_and_the_worker_is_replaced(slow_server):
    for _ in range(2):  # the second request needs the replacement worker
        status, _, body = slow_server.post_form("/api/analyze", paste=SEED.read_text(encoding="utf-8"))
        assert status == 504, body
        assert json.loads(body)["error"] == "analysis took longer than 0.001 s; the analysis was stopped"
    assert slow_server.wait_clean() == []


def _worker_pids(server) -> list[int]:
    pid = server.proc.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sorted(int(c) for c in children
                  if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes())


def test_a_worker_killed_while_idle_is_replaced_not_used(server):
    before = _worker_pids(server)
    assert len(before) == 2
    os.kill(before[0], signal.SIGKILL)  # as the OOM killer would
    for _ in range(3):  # the dead worker comes up in the queue within two requests
        status, _, body = server.post_form("/api/analyze", paste=SEED.read_text(encoding="utf-8"))
        assert status == 200, body
    deadline = time.monotonic() + 120
    while len(_worker_pids(server)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    after = _worker_pids(server)
    assert len(after) == 2 and before[0] not in after and before[1] in after
    assert server.wait_clean() == []


# -- auth ---------------------------------------------------------------------------------

def test_token_required_for_every_request(auth_server):
    for method, path in (("GET", "/"), ("GET", "/healthz"), ("GET", "/openapi.json"), ("POST", "/api/analyze")):
        status, headers, _ = auth_server.request(method, path, auth=False)
        assert status == 401, path
        assert headers["www-authenticate"].startswith("Bearer")
    status, _, body = auth_server.request("GET", "/", auth=False)
    assert 'action="login"' in body.decode() and 'name="files"' not in body.decode()
    status, _, _ = auth_server.request("GET", "/healthz", headers={"Authorization": "Bearer wrong"}, auth=False)
    assert status == 401
    assert auth_server.request("GET", "/healthz")[0] == 200
    status, _, body = auth_server.post_form("/api/analyze", paste=SEED.read_text(encoding="utf-8"))
    assert status == 200 and "IKE104" in codes(json.loads(body))
    assert auth_server.wait_clean() == []


def test_unauthenticated_upload_is_refused_before_its_body(auth_server):
    conn = socket.create_connection(("127.0.0.1", auth_server.port), timeout=60)
    with conn:
        conn.sendall(b"POST /api/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                     b"Content-Length: 100000000\r\n\r\n")
        reply = _read_response(conn)
    assert reply.startswith(b"HTTP/1.1 401 ")
    assert auth_server.temp_entries() == []


def test_login_field_sets_a_cookie(auth_server):
    status, headers, body = auth_server.request("POST", "/login", b"token=nope",
                                                {"Content-Type": "application/x-www-form-urlencoded"}, auth=False)
    assert status == 401 and "wrong token" in body.decode() and "set-cookie" not in headers
    status, headers, _ = auth_server.request("POST", "/login", f"token={TOKEN}".encode(),
                                             {"Content-Type": "application/x-www-form-urlencoded"}, auth=False)
    assert status == 303 and headers["location"] == "./"
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert TOKEN not in cookie  # the browser keeps a value derived from the token, not the token
    pair = cookie.split(";")[0]
    status, _, body = auth_server.request("GET", "/", headers={"Cookie": pair}, auth=False)
    assert status == 200 and 'name="files"' in body.decode()
    status, _, _ = auth_server.request("GET", "/", headers={"Cookie": pair[:-1] + "0"}, auth=False)
    assert status == 401


# -- the rest -----------------------------------------------------------------------------

def test_healthz_and_openapi(server):
    status, _, body = server.request("GET", "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, _, body = server.request("GET", "/openapi.json")
    doc = json.loads(body)
    assert status == 200 and doc["openapi"].startswith("3.")
    op = doc["paths"]["/api/analyze"]["post"]
    fields = op["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert set(fields) == {"files", "paste", "local", "select", "ignore"}
    assert {"200", "400", "413", "415", "504"} <= set(op["responses"])
    assert "0.25 MB" in op["responses"]["413"]["description"]


def test_serve_is_in_the_readme():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running ikeanalyze for a team", 1)[1]
    for needed in ("ikeanalyze serve", "--auth-token", "IKEANALYZE_AUTH_TOKEN", "Authorization: Bearer",
                   "proxy_pass", "ssl_certificate", "client_max_body_size"):
        assert needed in section, needed


def _read_response(conn: socket.socket) -> bytes:
    """Read until the server closes or the response (Content-Length) is complete."""
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
        head, sep, rest = data.partition(b"\r\n\r\n")
        m = re.search(rb"content-length: (\d+)", head, re.I)
        if sep and m and len(rest) >= int(m.group(1)):
            return data
