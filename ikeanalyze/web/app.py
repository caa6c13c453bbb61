"""`ikeanalyze serve`: the upload page and the API, for a team on a jump host.

One request = one temp folder, one analysis in a worker process, one response; then the
folder is deleted (also on errors and when the client goes away). Nothing is kept between
requests: the downloads offered with the report are data: URLs inside the page itself.

This module and web/pool.py are the web's error boundary (as cli.py is the CLI's): input
errors become a 400 page or JSON with the same one line the CLI prints, never a stack.

Routes: GET / (form), POST /analyze (form → HTML report), POST /api/analyze (→ the CLI's
JSON), GET /healthz, GET /openapi.json, POST /login (when a token is set).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ikeanalyze import __version__
from ikeanalyze.diagnosis import human_duration
from ikeanalyze.web import openapi, uploads
from ikeanalyze.web.pool import AnalysisTimeout, Job, Pool, Result, WorkerDied

log = logging.getLogger("ikeanalyze.web")

COOKIE = "ikeanalyze_auth"
WAITING_PER_WORKER = 8  # requests queued per worker before new ones get 503
MAX_LOGIN_BYTES = 4096
TEMP_PREFIX = "ikeanalyze-upload-"
_SPLIT = re.compile(r"[\s,]+")


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class Settings:
    max_upload_mb: float = 200.0
    workers: int = field(default_factory=default_workers)
    timeout: float = 300.0  # seconds of analysis per request
    auth_token: str | None = None

    @property
    def max_bytes(self) -> int:
        return int(self.max_upload_mb * uploads.MB)


class Problem(Exception):
    """An HTTP error with a message for the user (one line, like the CLI's)."""

    def __init__(self, status: int, message: str, title: str = "Cannot analyze this", hint: str = ""):
        super().__init__(message)
        self.status, self.message, self.title, self.hint = status, message, title, hint
        self.options: dict[str, str] = {}  # the form's options, to fill the form in again


# -- pages ---------------------------------------------------------------------------------

def _environment() -> Environment:
    # The report's templates are on the path too: the page includes report.css for its look.
    return Environment(
        loader=ChoiceLoader([PackageLoader("ikeanalyze.web", "templates"),
                             PackageLoader("ikeanalyze.report", "templates")]),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


_ENV = _environment()
_SCRIPT = resources.files("ikeanalyze.web").joinpath("templates/upload.js").read_text(encoding="utf-8")
_SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
# Our pages run our one script and nothing else, and post only to ourselves.
PAGE_CSP = (f"default-src 'none'; style-src 'unsafe-inline'; script-src '{_SCRIPT_HASH}'; img-src data:; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# The report carries its own stricter policy in a <meta>; this only adds what a meta cannot say.
REPORT_CSP = "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),  # reports hold addresses and names: no cache keeps them
]


def page(settings: Settings, status: int = 200, *, problem: Problem | None = None, login: bool = False,
         options: dict[str, str] | None = None) -> HTMLResponse:
    text = _ENV.get_template("upload.html.j2").render(
        version=__version__, login=login, max_mb=f"{settings.max_upload_mb:g}",
        timeout=human_duration(settings.timeout), options=options or {}, script=_SCRIPT,
        error=problem.message if problem else None, error_title=problem.title if problem else "",
        hint=problem.hint if problem else "")
    return HTMLResponse(text, status, headers={"content-security-policy": PAGE_CSP})


def _data_url(text: str, media: str) -> str:
    return f"data:{media};charset=utf-8;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")


def report_page(result: Result, names: list[str]) -> str:
    """The HTML report exactly as the CLI writes it, with a bar of download links put right
    after <body>; the HTML download is the report without the bar."""
    html, doc = result.reports["html"], result.reports["json"]
    bar = _ENV.get_template("_downloads.html.j2").render(
        html_url=_data_url(html, "text/html"), json_url=_data_url(doc, "application/json"),
        stem="ikeanalyze-report", names=names)
    start = html.find("<body")
    at = html.find(">", start) + 1 if start >= 0 else 0
    return html[:at] + bar + html[at:]


# -- auth ----------------------------------------------------------------------------------

def cookie_value(token: str) -> str:
    """What the login cookie holds: derived from the token, so the browser never stores the
    token itself, and changing the token signs everybody out."""
    return hmac.new(token.encode("utf-8"), b"ikeanalyze login cookie v1", hashlib.sha256).hexdigest()


def authorized(token: str, headers: dict[bytes, bytes]) -> bool:
    auth = headers.get(b"authorization", b"")
    scheme, _, given = auth.partition(b" ")
    if scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), token.encode("utf-8")):
        return True
    want = cookie_value(token).encode("ascii")
    for part in headers.get(b"cookie", b"").split(b";"):
        name, _, value = part.strip().partition(b"=")
        if name == COOKIE.encode("ascii") and hmac.compare_digest(value, want):
            return True
    return False


class Guard:
    """Pure ASGI middleware: the token check happens before any route reads a byte of the
    body, and every response gets the security headers."""

    def __init__(self, app, settings: Settings):
        self.app, self.settings = app, settings

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in have]
            await send(message)

        token = self.settings.auth_token
        if token is not None and not (scope["path"] == "/login" and scope["method"] == "POST"):
            headers: dict[bytes, bytes] = {}
            for k, v in scope["headers"]:
                k = k.lower()
                headers[k] = headers[k] + b"; " + v if k == b"cookie" and k in headers else v
            if not authorized(token, headers):
                return await self._refuse(scope, headers)(scope, receive, send_with_headers)
        await self.app(scope, receive, send_with_headers)

    def _refuse(self, scope, headers: dict[bytes, bytes]) -> Response:
        if scope["path"] in ("/", "/analyze") or b"text/html" in headers.get(b"accept", b""):
            r = page(self.settings, 401, login=True)
        else:
            r = JSONResponse({"error": "this server needs a token: send 'Authorization: Bearer TOKEN'",
                              "status": 401}, 401)
        r.headers["www-authenticate"] = 'Bearer realm="ikeanalyze"'
        if scope["path"] not in ("/", "/login"):
            r.headers["connection"] = "close"  # an unread upload body must not be read as the next request
        return r


# -- the analysis --------------------------------------------------------------------------

def _words(value: str) -> tuple[str, ...]:
    return tuple(w for w in _SPLIT.split(value.strip()) if w)


def _job(upload: uploads.Upload, formats: tuple[str, ...]) -> Job:
    if not upload.inputs:
        raise Problem(400, "nothing to analyze: choose one or more files, or paste text",
                      title="No input")
    local = _words(upload.options.get("local", ""))
    for addr in local:
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            raise Problem(400, f"local gateway IP: '{addr}' is not an IP address") from None
    return Job(inputs=tuple((name, str(path)) for name, path in upload.inputs), local=local,
               select=_words(upload.options.get("select", "")), ignore=_words(upload.options.get("ignore", "")),
               formats=formats)


async def _disconnected(receive) -> None:
    """Returns when the client goes away (the body has been read, so the next message
    can only be the disconnect)."""
    while (await receive())["type"] != "http.disconnect":
        pass


class Analyzer:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.pool = Pool(settings.workers)

    async def __call__(self, request: Request, formats: tuple[str, ...]) -> tuple[Result, uploads.Upload]:
        """Receive, analyze, clean up. Raises Problem for anything the user should see."""
        s = self.settings
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > s.max_bytes):
            raise Problem(413, f"the upload ({_mb(length)}) is larger than this server's limit of "
                               f"{s.max_upload_mb:g} MB", title="Too large",
                          hint="Cut the capture to the time of the incident, or filter it to IPsec "
                               "(udp port 500 or udp port 4500 or esp or tcp port 5500).")
        if self.pool.waiting >= WAITING_PER_WORKER * self.pool.size:
            raise Problem(503, "the server is busy with other analyses; try again in a minute", title="Busy")
        try:
            folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        except OSError as exc:
            raise Problem(500, f"cannot create a temporary folder for the upload: {exc}", title="Server problem") from exc
        upload = uploads.Upload()
        try:
            upload = await uploads.receive(request.headers, request.stream(), folder, s.max_bytes)
            job = _job(upload, formats)
            result = await self._run(request, job)
        except uploads.TooLarge as exc:
            raise Problem(413, str(exc), title="Too large") from None
        except uploads.BadForm as exc:
            raise Problem(415 if exc.media else 400, str(exc), title="Not a usable form") from None
        except AnalysisTimeout as exc:
            raise Problem(504, f"{exc}; the analysis was stopped", title="Took too long",
                          hint="Analyze a shorter capture (the minutes around the incident).") from None
        except WorkerDied as exc:
            raise Problem(500, str(exc), title="The analysis failed") from None
        except OSError as exc:  # writing the upload: a full disk, a vanished temp folder
            log.error("cannot store an upload in %s: %s", folder, exc)
            raise Problem(500, f"cannot store the upload on the server: {exc.strerror or exc}",
                          title="Server problem") from exc
        except Problem as p:
            p.options = upload.options
            raise
        finally:
            shutil.rmtree(folder, onerror=_rm_failed)
        if result.status != "ok":
            p = (Problem(400, result.message, hint="Accepted: pcap/pcapng captures (optionally gzipped), "
                         "FortiGate sniffer text and IKE debug text.") if result.status == "bad-input"
                 else Problem(500, result.message, title="The analysis failed"))
            p.options = upload.options
            raise p
        return result, upload

    async def _run(self, request: Request, job: Job) -> Result:
        work = asyncio.ensure_future(self.pool.run(job, self.settings.timeout))
        gone = asyncio.ensure_future(_disconnected(request.receive))
        try:
            done, _ = await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not work.done():
                work.cancel()  # the pool kills the worker running it
        if work in done:
            return work.result()
        with contextlib.suppress(asyncio.CancelledError):
            await work
        raise ClientDisconnect()


def _mb(length: str) -> str:
    return f"{int(length) / uploads.MB:.1f} MB" if length.isdigit() else f"Content-Length {length!r}"


def _rm_failed(func, path, exc_info) -> None:
    log.error("could not delete upload temp file %s: %s", path, exc_info[1])


# -- routes --------------------------------------------------------------------------------

def create_app(settings: Settings) -> Starlette:
    analyzer = Analyzer(settings)

    async def index(request: Request) -> Response:
        return page(settings)

    async def analyze_page(request: Request) -> Response:
        try:
            result, upload = await analyzer(request, ("html", "json"))
        except Problem as p:
            return _closing(page(settings, p.status, problem=p, options=p.options), p)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is listening
        return HTMLResponse(report_page(result, [n for n, _ in upload.inputs]),
                            headers={"content-security-policy": REPORT_CSP})

    async def analyze_api(request: Request) -> Response:
        try:
            result, _ = await analyzer(request, ("json",))
        except Problem as p:
            return _closing(JSONResponse({"error": p.message, "status": p.status}, p.status), p)
        except ClientDisconnect:
            return Response(status_code=400)
        return Response(result.reports["json"], media_type="application/json")

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "workers": analyzer.pool.size, "waiting": analyzer.pool.waiting})

    async def spec(request: Request) -> Response:
        return JSONResponse(openapi.document(settings.max_upload_mb, settings.timeout, settings.auth_token is not None))

    async def login(request: Request) -> Response:
        if settings.auth_token is None:
            return RedirectResponse("./", 303)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_LOGIN_BYTES:
                return Response("too large", 413, headers={"connection": "close"})
        given = (parse_qs(body.decode("utf-8", "replace")).get("token") or [""])[0]
        if not hmac.compare_digest(given.encode("utf-8"), settings.auth_token.encode("utf-8")):
            return page(settings, 401, login=True, problem=Problem(401, "wrong token", title="Not signed in"))
        r = RedirectResponse("./", 303)
        r.set_cookie(COOKIE, cookie_value(settings.auth_token), httponly=True, samesite="strict",
                     secure=request.url.scheme == "https")
        return r

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await analyzer.pool.start()
        try:
            yield
        finally:
            await analyzer.pool.close()

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/analyze", analyze_page, methods=["POST"]),
        Route("/api/analyze", analyze_api, methods=["POST"]),
        Route("/healthz", health, methods=["GET"]),
        Route("/openapi.json", spec, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(Guard, settings=settings)
    return app


def _closing(response: Response, p: Problem) -> Response:
    """An error may be sent before the body was all read (413, a bad form part): end the
    connection, so that the rest of that body is never taken for the next request."""
    response.headers["connection"] = "close"
    if p.status == 503:
        response.headers["retry-after"] = "60"
    return response


def run(settings: Settings, host: str, port: int) -> None:
    """Serve until interrupted (the `serve` command)."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="ikeanalyze: %(message)s")
    if settings.auth_token is None and not ipaddress.ip_address(_resolve(host)).is_loopback:
        log.warning("listening on %s without --auth-token: anyone who reaches this port can upload", host)
    uvicorn.run(create_app(settings), host=host, port=port, server_header=False, timeout_graceful_shutdown=5,
                log_level="info")


def _resolve(host: str) -> str:
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        return "127.0.0.1" if host == "localhost" else "0.0.0.0"
