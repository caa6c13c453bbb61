"""Real servers for the web tests: `python -m ikeanalyze serve --port 0` in a subprocess, each
with its own TMPDIR so a test can see every temp file the server (and its workers) made.

The servers start once per session and all at once (their workers import pandas; on a busy
2-core machine that is most of the start-up time, so it is paid in parallel).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

TOKEN = "s3cret-token-for-tests"
READY = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
START_LIMIT_S = 180  # a deadline for start-up, not a measurement


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    log: Path
    tmp: Path
    port: int = 0
    token: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                auth: bool = True) -> tuple[int, dict[str, str], bytes]:
        h = dict(headers or {})
        if auth and self.token:
            h.setdefault("Authorization", f"Bearer {self.token}")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def post_form(self, path: str, files=(), paste: str | None = None, auth: bool = True, **fields):
        body, ctype = multipart(files, paste, **fields)
        return self.request("POST", path, body, {"Content-Type": ctype}, auth=auth)

    def temp_entries(self) -> list[str]:
        return sorted(p.name for p in self.tmp.iterdir())

    def wait_clean(self) -> list[str]:
        """The temp entries once the server is done with its last request: the response can
        reach us a moment before the handler's cleanup has run."""
        deadline = time.monotonic() + 30
        while self.temp_entries() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.temp_entries()


def multipart(files=(), paste: str | None = None, **fields) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser builds it: ``files`` are (filename, bytes)."""
    boundary = "----ikeanalyze" + uuid.uuid4().hex
    out = bytearray()
    for name, value in fields.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n').encode()
    for filename, data in files:
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    if paste is not None:
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="paste"\r\n\r\n').encode()
        out += paste.encode() + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def _launch(name: str, base: Path, *args: str, token: str | None = None) -> Server:
    tmp = base / name / "tmp"
    tmp.mkdir(parents=True)
    log = base / name / "server.log"
    env = {**os.environ, "TMPDIR": str(tmp)}
    env.pop("IKEANALYZE_AUTH_TOKEN", None)
    if token:
        env["IKEANALYZE_AUTH_TOKEN"] = token  # the environment variable, as the README says
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ikeanalyze", "serve", "--port", "0", *args],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Server(name, proc, log, tmp, token=token)


def _wait(server: Server) -> None:
    deadline = time.monotonic() + START_LIMIT_S
    while time.monotonic() < deadline:
        text = server.log.read_text(errors="replace")
        m = READY.search(text)
        if m:
            server.port = int(m.group(1))
            return
        if server.proc.poll() is not None:
            break
        time.sleep(0.1)
    server.proc.kill()
    pytest.fail(f"server {server.name} did not start:\n{server.log.read_text(errors='replace')}")


def _stop(server: Server) -> None:
    server.proc.terminate()  # uvicorn's graceful shutdown stops the worker processes
    try:
        server.proc.wait(30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture(scope="session")
def servers():
    # Not under pytest's basetemp: pytest keeps only the newest few of those, and another
    # session started meanwhile (several people test on this machine) may delete it.
    base = Path(tempfile.mkdtemp(prefix="ikeanalyze-serve-tests-"))
    started = {
        # the ordinary one: the smallest capture limit that still takes every test input but one
        "plain": _launch("plain", base, "--workers", "2", "--max-upload-mb", "0.25", "--timeout", "120"),
        "auth": _launch("auth", base, "--workers", "1", token=TOKEN),
        # every analysis outlives a 1 ms limit (the round trip to the worker alone takes longer)
        "slow": _launch("slow", base, "--workers", "1", "--timeout", "0.001"),
    }
    try:
        for s in started.values():
            _wait(s)
        yield started
    finally:
        for s in started.values():
            _stop(s)
        shutil.rmtree(base)


@pytest.fixture
def server(servers) -> Server:
    s = servers["plain"]
    assert s.wait_clean() == [], "a previous test left temp files"
    return s


@pytest.fixture
def auth_server(servers) -> Server:
    return servers["auth"]


@pytest.fixture
def slow_server(servers) -> Server:
    return servers["slow"]


def report_json(body: bytes) -> dict:
    return json.loads(body)


def codes(doc: dict) -> list[str]:
    return [f["code"] for f in doc["findings"]]
