"""The command line: parse, call the API, render. The one error boundary for the CLI.

Heavy modules are imported inside the commands so that `ikeanalyze --help` starts fast.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager, suppress
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ikeanalyze import __version__
from ikeanalyze.errors import ExitStatus, InputError, UsageError

app = typer.Typer(
    name="ikeanalyze",
    help="Diagnose IPsec/IKE problems from captures, FortiGate sniffer text and IKE debug output.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rendering it with rich costs ~0.13 s of imports on every `--help`.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Fmt(str, Enum):
    terminal = "terminal"
    json = "json"
    markdown = "markdown"
    html = "html"
    text = "text"  # the names engineers type first: read as terminal and markdown
    md = "md"


FORMAT_ALIASES = {Fmt.text: Fmt.terminal, Fmt.md: Fmt.markdown}


class EventFmt(str, Enum):
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


class Severity(str, Enum):
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


class Engine(str, Enum):
    native = "native"
    tshark = "tshark"


Inputs = Annotated[list[str], typer.Argument(help="Files, directories, globs, or - for stdin.", show_default=False, metavar="INPUT")]
Select = Annotated[list[str] | None, typer.Option("--select", metavar="RULE", help="Rules to run: ALL, IKE1, IKE101, or a name.")]
Ignore = Annotated[list[str] | None, typer.Option("--ignore", metavar="RULE", help="Rules to skip (same forms as --select).")]
Threshold = Annotated[list[str] | None, typer.Option(
    "--threshold", metavar="CODE.NAME=VALUE", help="Override a rule threshold: CODE.name=VALUE, e.g. IKE102.silence=30s.")]
Peer = Annotated[str | None, typer.Option("--peer", metavar="IP[:PORT]", help="Only this peer: IP, IP:PORT or [IPv6]:PORT.")]
Tunnel = Annotated[str | None, typer.Option("--tunnel", metavar="NAME", help="Only this tunnel (phase-1 name).")]
Local = Annotated[list[str] | None, typer.Option("--local", metavar="IP", help="Address of the local gateway (captures).")]
TcpPort = Annotated[list[int] | None, typer.Option(
    "--ike-tcp-port", metavar="PORT", help="Treat TCP to this port as IKE over TCP even without the IKETCP prefix.")]
EngineOpt = Annotated[Engine, typer.Option("--engine", help="Capture decoder: native, or tshark (slow).")]
Debug = Annotated[bool, typer.Option("--debug", help="Show the Python traceback on errors.")]
Redact = Annotated[bool, typer.Option(
    "--redact", help="Replace IP addresses, user/peer/certificate/host names and secrets with consistent pseudonyms.")]
HtmlOut = Annotated[Path | None, typer.Option("--html", help="Also write the HTML report to this file.")]
Jobs = Annotated[int, typer.Option(
    "--jobs", "-j", min=1, metavar="N",
    help="Processes to use: with 2 or more (and 2 or more CPUs), a worker reads large captures ahead while "
         "the analysis starts up, sniffer text is read by two processes, and `analyze` checks two groups of "
         "rules side by side on a big input.")]


# Inputs this big take about a second or more: show what is being done meanwhile.
PROGRESS_MIN_BYTES = 16 * 1024 * 1024


@contextmanager
def _progress(inputs: list[str]):
    """A transient status line on stderr (a TTY only) while big inputs are read, analysed
    and rendered; yields ``say(text)``, ``say(None)`` ends it. Nothing is imported, and
    nothing shown, for small inputs or when stderr is a pipe or file."""
    if not sys.stderr.isatty() or _input_bytes(inputs) < PROGRESS_MIN_BYTES:
        yield lambda text: None
        return
    from rich.console import Console
    from rich.text import Text

    with Console(stderr=True).status("", spinner="dots") as status:
        def say(text: str | None) -> None:
            if text is None:
                status.stop()
            else:
                status.update(Text(f"ikeanalyze: {text}"))  # a file name's `[...]` is not markup

        yield say


def _input_bytes(inputs: list[str]) -> int:
    """The size of the inputs that are plain files (directories, globs and stdin count 0;
    an unreadable one is the loader's to report)."""
    total = 0
    for p in inputs:
        with suppress(OSError):
            total += os.path.getsize(p) if p != "-" and os.path.isfile(p) else 0
    return total


def _describe(inputs: list[str]) -> str:
    size = _input_bytes(inputs)
    names = ", ".join(os.path.basename(p) for p in inputs[:2]) + (f" and {len(inputs) - 2} more" if len(inputs) > 2 else "")
    return f"{names} ({size / 1024 / 1024:,.0f} MiB)" if size else names


def _fail(message: str, status: ExitStatus = ExitStatus.BAD_INPUT) -> None:
    typer.echo(f"ikeanalyze: {message}", err=True)
    raise typer.Exit(int(status))


def _guard(debug: bool):
    """Turn the project's errors into one line and exit 2; anything else too, unless --debug."""

    class Guard:
        def __enter__(self):
            return self

        def __exit__(self, exc_type, exc, tb):
            if exc is None or isinstance(exc, (typer.Exit, SystemExit, KeyboardInterrupt)):
                return False
            if debug:
                return False
            if isinstance(exc, (InputError, UsageError)):
                _fail(str(exc))
            if isinstance(exc, BrokenPipeError):
                return True
            if isinstance(exc, OSError) and exc.filename:  # an output folder missing, no permission, disk full
                _fail(f"{exc.filename}: {exc.strerror or exc}")
            _fail(f"internal error ({type(exc).__name__}: {exc}); rerun with --debug for details")
            return True

    return Guard()


def _read_ahead(inputs: list[str], engine: Engine, jobs: int) -> None:
    """Start the read-ahead workers (ikeanalyze.readahead); called before pandas is
    imported, which is what they overlap."""
    if engine is Engine.native:
        from ikeanalyze import readahead

        readahead.start(inputs, jobs)


def _options(local, tcp_ports, engine):
    from ikeanalyze.sources import LoadOptions

    return LoadOptions(local=tuple(local or ()), ike_tcp_ports=tuple(tcp_ports or ()), engine=engine.value)


def _thresholds(items: list[str] | None) -> dict[str, str]:
    from ikeanalyze.config import file_thresholds

    out = dict(file_thresholds(Path.cwd()))
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise UsageError(f"--threshold expects CODE.name=VALUE, got '{item}'")
        out[key.strip()] = value.strip()
    return out


def _write(text: str, output: Path | None) -> None:
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        output.write_text(text, encoding="utf-8")


@app.command()
def analyze(
    inputs: Inputs,
    fmt: Annotated[Fmt, typer.Option("--format", "-f", help="Report format (text = terminal, md = markdown).")
                   ] = Fmt.terminal,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")] = None,
    select: Select = None,
    ignore: Ignore = None,
    threshold: Threshold = None,
    fail_on: Annotated[Severity | None, typer.Option("--fail-on", help="Exit 1 when a finding reaches this.")] = None,
    peer: Peer = None,
    tunnel: Tunnel = None,
    local: Local = None,
    ike_tcp_port: TcpPort = None,
    engine: EngineOpt = Engine.native,
    html: HtmlOut = None,
    redact: Redact = False,
    jobs: Jobs = 2,
    debug: Debug = False,
) -> None:
    """Analyze inputs together as one incident and report the diagnosis."""
    fmt = FORMAT_ALIASES.get(fmt, fmt)
    with _guard(debug), _progress(inputs) as say:
        _read_ahead(inputs, engine, jobs)
        from ikeanalyze import api, parallel
        from ikeanalyze.config import file_selection

        sel, ign = file_selection(Path.cwd())
        options = _options(local, ike_tcp_port, engine)
        say(f"reading {_describe(inputs)}")
        with parallel.jobs(jobs):
            events, ingest = api.load(inputs, options)
            say(f"analysing {len(events):,} events")
            d = api.diagnose(events, ingest, options=options, select=select or sel, ignore=ignore or ign,
                             thresholds=_thresholds(threshold), peer=peer, tunnel=tunnel)
        say("writing the report")
        if redact:
            d = api.redact(d)
        color = fmt is Fmt.terminal and output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        text = api.render(d, fmt.value, color=color)
        html_text = api.render(d, "html") if html is not None else None
        say(None)  # the status line is gone before the report is printed
        _write(text, output)
        if html is not None:
            _write(html_text, html)
        _FAST_EXIT.ready = True
        if fail_on is not None and d.reaches(fail_on.value):
            raise typer.Exit(int(ExitStatus.FINDINGS))


@app.command()
def events(
    inputs: Inputs,
    fmt: Annotated[EventFmt, typer.Option("--format", "-f", help="Table format.")] = EventFmt.csv,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (parquet needs a file).")] = None,
    peer: Peer = None,
    tunnel: Tunnel = None,
    local: Local = None,
    ike_tcp_port: TcpPort = None,
    engine: EngineOpt = Engine.native,
    redact: Redact = False,
    jobs: Jobs = 2,
    debug: Debug = False,
) -> None:
    """Write the event table (one row per observation) as CSV, JSON lines or Parquet."""
    with _guard(debug):
        _read_ahead(inputs, engine, jobs)
        from ikeanalyze import api, export, parallel

        with parallel.jobs(jobs):
            table, _ingest = api.load(inputs, _options(local, ike_tcp_port, engine))
        table = api.focus(table, peer, tunnel)
        if redact:
            table = api.redact_events(table)
        if fmt is EventFmt.parquet and output is None:
            raise UsageError("--format parquet needs --output FILE")
        export.write(table, fmt.value, output)


@app.command()
def convert(
    inputs: Inputs,
    output: Annotated[str, typer.Option("--output", "-o", help="OUT.pcapng, OUT.pcap (classic, interfaces merged), or -.")],
    start: Annotated[str | None, typer.Option("--start", metavar="TIME", help="Anchor for relative sniffer times (default: the Unix epoch).")] = None,
    from_ike_debug: Annotated[bool, typer.Option("--from-ike-debug", help="Also write IKE debug in/out hex as UDP packets.")] = False,
    debug: Debug = False,
) -> None:
    """Write FortiGate sniffer hex dumps (verbosity 2/3/5/6) as a pcapng or pcap capture."""
    with _guard(debug):
        from ikeanalyze.convert import convert as run

        result = run(inputs, output, start=start, from_ike_debug=from_ike_debug)
        if result.output == "-":
            sys.stdout.buffer.write(result.data)
        typer.echo("\n".join(result.summary()), err=True)


@app.command()
def rules(
    docs: Annotated[Path | None, typer.Option("--docs", help="Write docs/rules Markdown into this folder.")] = None,
    check: Annotated[bool, typer.Option("--check", help="With --docs: fail if the files are out of date.")] = False,
) -> None:
    """List rule codes, names, severities and thresholds."""
    from ikeanalyze.rules import docgen

    if docs is not None:
        stale = docgen.write(docs, check=check)
        if stale:
            _fail(f"rule docs out of date: {', '.join(stale)}; run `ikeanalyze rules --docs {docs}`")
        return
    sys.stdout.write(docgen.listing())


@app.command()
def explain(code: Annotated[str, typer.Argument(help="Rule code or name, e.g. IKE101.", metavar="RULE")]) -> None:
    """Print a rule's documentation."""
    from ikeanalyze.rules import REGISTRY, docgen, resolve

    try:
        codes = resolve([code], "explain")
    except UsageError as exc:
        _fail(str(exc))
    for c in sorted(codes):
        sys.stdout.write(docgen.markdown(REGISTRY[c]) + "\n")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on (loopback unless told).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="PORT", help="TCP port.")] = 8080,
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", metavar="MB", help="Refuse larger uploads (413).")] = 200.0,
    workers: Annotated[int | None, typer.Option("--workers", min=1, metavar="N", help="Analysis processes (default: CPUs, at most 4).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", help="Seconds one analysis may run (504 after).")] = 300.0,
    auth_token: Annotated[str | None, typer.Option("--auth-token", metavar="TOKEN", envvar="IKEANALYZE_AUTH_TOKEN", show_default=False,
                                                   help="Require this token (Bearer header or the page's login).")] = None,
) -> None:
    """Run the upload page and API: a browser form and POST /api/analyze; uploads are deleted after each request."""
    from ikeanalyze.web.app import Settings, default_workers, run

    run(Settings(max_upload_mb, workers or default_workers(), timeout, auth_token or None), host, port)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ikeanalyze {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version.")] = False,
) -> None:
    """Diagnose IPsec/IKE problems from captures, FortiGate sniffer text and IKE debug output."""


class _FastExit:
    """Set by a command once its output is written and closed: then the process ends without
    the interpreter's teardown, which frees every array of a big input one by one (0.15-0.2 s
    on the 1M-packet benchmark day, for nothing). mypy's --fast-exit does the same."""

    ready = False


_FAST_EXIT = _FastExit()  # cleared by main(), set by analyze


# glibc's mallopt parameters, and the values set (see _reuse_freed_memory).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 << 20  # the most glibc allows
_TRIM_THRESHOLD = 1 << 30


def _reuse_freed_memory() -> None:
    """Let glibc's malloc (the system pool arrow uses) reuse freed blocks of up to 32 MiB.
    By default a block over its mmap threshold (128 KiB, rising with what is freed) is
    mapped for itself and unmapped when freed, so the next column of that size is faulted
    in again page by page: a text load makes a few dozen columns of 10-50 MB in turn, and
    on the 500k-line IKE debug benchmark that was ~8 % of its load. From the heap, kept
    there when freed (up to 1 GiB at its top), they are reused; the peak RSS stays the
    same. Other C libraries, which have no such call, are left as they are."""
    try:
        if "glibc" not in (os.confstr("CS_GNU_LIBC_VERSION") or "").lower():
            return
        import ctypes

        libc = ctypes.CDLL(None)  # (the interpreter's own symbols: its C library's among them)
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    except (OSError, AttributeError, ValueError):
        pass


def main() -> None:
    # Arrow's default pool (mimalloc) keeps freed memory: on a 1M-line sniffer file the
    # peak RSS is ~15 % higher and the time no better than with the C library's allocator.
    # Set before pyarrow is imported (commands import it lazily); the user's choice wins.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    _reuse_freed_memory()
    _FAST_EXIT.ready = False
    try:
        app()
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except SystemExit as done:
        if not _FAST_EXIT.ready:
            raise
        code = done.code
        if not isinstance(code, int):
            if code is not None:
                print(code, file=sys.stderr)
            code = 0 if code is None else 1
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):  # a reader gone, or a stream closed above
                stream.flush()
        os._exit(code)


if __name__ == "__main__":
    main()
