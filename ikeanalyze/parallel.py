"""Work split across two processes with ``--jobs 2`` or more (the CLI sets it with
:func:`jobs`), a second CPU and ``os.fork``: the whole-column steps that dominate a big
input and treat every block of rows alike (the byte tests of sniffer lines), and the rules
(rules.registry: two groups of rules that share few views).

:func:`apart` runs one part of the work in a forked child while this process does the
other; what the child's part returns comes back through a pipe, pickled, and results the
blocks write may go to arrays from :func:`zeros`, which live in memory the two processes
share. Otherwise (and for small inputs, where a fork costs more than it saves) everything
runs here, the same way. A child that fails is not trusted: its part is done again here.

The child starts with no thread but the one that forked: it never touches the terminal
(a progress line's thread stays the parent's), and Arrow's thread pool, which the rules'
kernels may use, is started afresh in a forked process (Arrow resets it at fork).
"""

from __future__ import annotations

import gc
import mmap
import os
import pickle
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np

# Rows below which a fork (~10-30 ms with a large heap) costs more than half the work saves.
MIN_ROWS = 200_000

_JOBS = 1


@contextmanager
def jobs(n: int) -> Iterator[None]:
    """Allow ``n`` processes for the work inside the block (1: this one only)."""
    global _JOBS
    before, _JOBS = _JOBS, n
    try:
        yield
    finally:
        _JOBS = before


def enabled(rows: int, least: int | None = None) -> bool:
    """Whether work over ``rows`` rows is split (``least``: the rows below which a split
    costs more than it saves; MIN_ROWS when not given). Only on Linux: the fork comes after
    pandas and pyarrow are loaded, and elsewhere (macOS) system libraries a child may reach
    are not safe to use in a forked copy of a process with threads."""
    return (_JOBS >= 2 and rows >= (MIN_ROWS if least is None else least) and (os.cpu_count() or 1) >= 2
            and hasattr(os, "fork") and sys.platform.startswith("linux"))


def zeros(n: int, dtype, shared: bool) -> np.ndarray:
    """``np.zeros(n, dtype)``; with ``shared``, in memory that a forked child writes to
    for its parent (anonymous shared pages: mapped when first written, as np.zeros's)."""
    if not shared or n == 0:
        return np.zeros(n, dtype)
    return np.frombuffer(mmap.mmap(-1, n * np.dtype(dtype).itemsize), dtype, n)


def halves(items: Sequence, work: Callable[[Sequence], list], split: bool) -> list:
    """``work(items)``, with the second half of ``items`` done by a forked child when
    ``split`` (see :func:`enabled`). ``work`` returns one picklable result per item, in
    order; anything else it produces must go to :func:`zeros` arrays made with ``shared``."""
    if not split or len(items) < 2:
        return work(items)
    mid = len(items) // 2
    return apart(items[:mid], items[mid:], work, split)


def apart(here: Sequence, there: Sequence, work: Callable[[Sequence], list], split: bool) -> list:
    """``work(here) + work(there)``, ``there`` done by a forked child when ``split``."""
    if not split or not len(there):
        return work(here) + work(there)
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no child to be had (memory, a process limit): all here
        os.close(read)
        os.close(write)
        return work(here) + work(there)
    if pid == 0:  # the child: its part, through the pipe; never the parent's code after
        sent = False
        try:
            os.close(read)
            # Nothing it says (a warning) reaches the terminal, nor waits on the lock of
            # sys.stderr that a thread of this process (the progress line) held at the fork.
            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the child ends in os._exit)
            # A collection would walk every object the child shares with this process, and
            # writing their headers copies those pages: the short-lived child never collects.
            gc.disable()
            data = pickle.dumps(work(there), pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write, "wb") as out:
                out.write(data)
            sent = True
        finally:
            os._exit(0 if sent else 1)
    os.close(write)
    try:
        first = work(here)
    finally:
        with os.fdopen(read, "rb") as got:
            data = got.read()
        _, status = os.waitpid(pid, 0)
    # (a child that ended otherwise, killed mid-write by the OOM killer, sent part of it)
    second = pickle.loads(data) if status == 0 else work(there)
    return first + second
