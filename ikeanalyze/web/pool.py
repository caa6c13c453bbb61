"""Analysis off the event loop: a pool of worker processes, one job at a time each.

Why not ``concurrent.futures.ProcessPoolExecutor``: a job there cannot be stopped. When a
request runs past ``--timeout`` (or its client goes away) we kill the one process that runs
it and start a fresh one; the other workers and their requests carry on. Killing a worker of
a ProcessPoolExecutor breaks the whole pool instead.

Workers are started with ``spawn`` (a clean interpreter, no inherited threads or locks from
the server) and import the analysis once, before they say they are ready, so that import
time never counts against a request's time limit.

This module does not import starlette: spawned workers import it to find ``_worker_main``.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import signal
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

log = logging.getLogger("ikeanalyze.web")

READY = "ready"


@dataclass(frozen=True)
class Job:
    """One analysis: the inputs as (display name, path in the request's temp dir), options,
    and which renderings the caller wants ("html", "json")."""

    inputs: tuple[tuple[str, str], ...]
    local: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    formats: tuple[str, ...] = ("json",)


@dataclass(frozen=True)
class Result:
    """``status`` is "ok" (``reports`` maps format → text), "bad-input" (the input or an
    option cannot be used: ``message`` says why, for a 400) or "error" (a bug: 500)."""

    status: str
    reports: dict[str, str] = field(default_factory=dict)
    message: str = ""


class AnalysisTimeout(Exception):
    """The job ran longer than the request's time limit; its worker was killed."""


class WorkerDied(Exception):
    """The worker process ended while running the job (killed from outside, out of memory)."""


def run_job(job: Job) -> Result:
    """What a worker does with one job. The error boundary of the analysis: the project's
    input errors become a message for the user; anything else is logged with its stack
    and reported as an internal error, never passed on as a traceback page."""
    from ikeanalyze import api
    from ikeanalyze.errors import InputError, UsageError
    from ikeanalyze.sources import Blob, LoadOptions

    try:
        blobs = []
        for name, path in job.inputs:
            with open(path, "rb") as f:
                head = f.read(16)
            blobs.append(Blob(name, Path(path), None, head))
        d = api.analyze(blobs, LoadOptions(local=job.local), select=list(job.select), ignore=list(job.ignore))
        return Result("ok", {fmt: api.render(d, fmt) for fmt in job.formats})
    except (InputError, UsageError) as exc:
        return Result("bad-input", message=str(exc))
    except Exception as exc:  # the boundary: log the stack here, tell the user one line
        log.error("analysis failed:\n%s", traceback.format_exc())
        return Result("error", message=f"internal error ({type(exc).__name__}: {exc})")


def _worker_main(conn: Connection) -> None:
    # Ctrl-C on the server reaches the whole process group; the server stops its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="ikeanalyze worker: %(message)s")
    from ikeanalyze import api  # noqa: F401  (warm: pandas, rules, templates)
    from ikeanalyze.report import html, json  # noqa: F401

    conn.send(READY)
    while True:
        try:
            job = conn.recv()
        except EOFError:  # the server is gone
            return
        conn.send(run_job(job))


class _Worker:
    def __init__(self, ctx) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child,), name="ikeanalyze-worker", daemon=True)
        self.proc.start()
        child.close()  # only the worker holds its end: EOF here when it dies

    async def recv(self):
        """Wait for the worker's next message without blocking the event loop."""
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        fd = self.conn.fileno()
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
        try:
            await ready
        finally:
            loop.remove_reader(fd)
        try:
            return self.conn.recv()
        except (EOFError, OSError) as exc:
            self.proc.join(1)  # for its exit code
            raise WorkerDied(f"analysis worker (pid {self.proc.pid}) ended with exit code "
                             f"{self.proc.exitcode}") from exc

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class Pool:
    """``size`` warm workers; ``run`` waits for a free one, gives it the job, and returns its
    Result, or raises AnalysisTimeout / WorkerDied after replacing the worker."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ctx = mp.get_context("spawn")
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all: set[_Worker] = set()
        self._starting: set[asyncio.Task] = set()
        self.waiting = 0  # requests waiting for a free worker

    async def start(self) -> None:
        """Start every worker and wait until each has imported the analysis."""
        await asyncio.gather(*(self._spawn() for _ in range(self.size)))

    async def _spawn(self) -> None:
        w = _Worker(self._ctx)
        self._all.add(w)
        try:
            hello = await w.recv()
        except WorkerDied:
            self._all.discard(w)
            raise
        if hello != READY:
            raise RuntimeError(f"analysis worker said {hello!r} instead of {READY!r}")
        self._idle.put_nowait(w)

    def _replace(self, w: _Worker) -> None:
        w.kill()
        self._all.discard(w)
        task = asyncio.get_running_loop().create_task(self._spawn())
        self._starting.add(task)
        task.add_done_callback(self._started)

    def _started(self, task: asyncio.Task) -> None:
        self._starting.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("could not start an analysis worker: %s", task.exception())

    async def run(self, job: Job, timeout: float) -> Result:
        """Run ``job`` on a free worker; ``timeout`` counts from when a worker takes it
        (waiting for a free worker is not analysis time). Cancelling the caller (the
        client went away) kills the job too. A worker that dies under a job is replaced and
        the job is tried once more on another: a worker killed while idle can still look
        alive for a moment, and the job must not pay for it; a job that kills two workers
        is reported as WorkerDied."""
        try:
            return await self._run_once(job, timeout)
        except WorkerDied as first:
            log.warning("%s; running the job on another worker", first)
            return await self._run_once(job, timeout)

    async def _run_once(self, job: Job, timeout: float) -> Result:
        self.waiting += 1
        try:
            while not (w := await self._idle.get()).proc.is_alive():
                self._replace(w)  # killed from outside while idle (the OOM killer, an operator)
        finally:
            self.waiting -= 1
        try:
            w.conn.send(job)
            result = await asyncio.wait_for(w.recv(), timeout)
        except asyncio.TimeoutError:
            self._replace(w)
            raise AnalysisTimeout(f"analysis took longer than {timeout:g} s") from None
        except OSError as exc:  # it died while idle: the job could not even be handed over
            self._replace(w)
            raise WorkerDied(f"analysis worker (pid {w.proc.pid}) was gone: {exc}") from exc
        except BaseException:  # cancelled (the client went away) or died mid-job: never reuse it
            self._replace(w)
            raise
        self._idle.put_nowait(w)
        return result

    async def close(self) -> None:
        for task in list(self._starting):
            task.cancel()
        for w in list(self._all):
            w.proc.terminate()
        for w in list(self._all):
            await asyncio.to_thread(w.proc.join, 5)
            if w.proc.is_alive():
                w.kill()
            w.conn.close()
        self._all.clear()
