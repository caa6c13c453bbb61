"""Row-block work split across two processes, for the whole-column steps that dominate a
big input and treat every block of rows alike (the byte tests of sniffer lines).

With ``--jobs 2`` or more (the CLI sets it with :func:`jobs`), a second CPU and
``os.fork``, :func:`halves` runs the second half of the blocks in a forked child while
this process does the first; results the blocks write go to arrays from :func:`zeros`,
which live in memory the two processes share, and what the work returns comes back
through a pipe. Otherwise (and for small inputs, where a fork costs more than it saves)
everything runs here, the same way. A child that fails is not trusted: its half is done
again here.

The child runs only numpy over arrays this process already holds: no arrow kernels, no
threads of its own, nothing that might wait on a lock another thread held at the fork.
"""

from __future__ import annotations

import mmap
import os
import pickle
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


def enabled(rows: int) -> bool:
    """Whether work over ``rows`` rows is split."""
    return _JOBS >= 2 and rows >= MIN_ROWS and (os.cpu_count() or 1) >= 2 and hasattr(os, "fork")


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
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its half, through the pipe; never the parent's exit code
        os.close(read)
        try:
            data = pickle.dumps(work(items[mid:]), pickle.HIGHEST_PROTOCOL)
        except BaseException:
            data = b""
        try:
            with os.fdopen(write, "wb") as out:
                out.write(data)
        finally:
            os._exit(0)
    os.close(write)
    try:
        first = work(items[:mid])
    finally:
        with os.fdopen(read, "rb") as got:
            data = got.read()
        os.waitpid(pid, 0)
    second = pickle.loads(data) if data else work(items[mid:])
    return first + second
