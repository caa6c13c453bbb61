"""Work split across two processes, for the steps that dominate a big input and are made
of independent parts: the byte tests of sniffer lines (blocks of rows), the rules.

With ``--jobs 2`` or more (the CLI sets it with :func:`jobs`), a second CPU and
``os.fork``, :func:`halves` runs the second half of the blocks in a forked child while
this process does the first; results the blocks write go to arrays from :func:`zeros`,
which live in memory the two processes share, and what the work returns comes back
through a pipe. Otherwise (and for small inputs, where a fork costs more than it saves)
everything runs here, the same way. A child that fails is not trusted: its half is done
again here.

The child reads what this process built before the fork and returns its results: it
never changes what this process sees except through :func:`zeros` arrays. Arrow's thread
pools re-create themselves in a forked child (atfork handlers, Arrow >= 11) and the CLI
gives arrow the C library's allocator, so arrow kernels are safe in the child too.
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


def enabled(rows: int, least: int | None = None) -> bool:
    """Whether work over ``rows`` rows is split (``least``: the size below which it is not
    worth it, default MIN_ROWS)."""
    least = MIN_ROWS if least is None else least
    return _JOBS >= 2 and rows >= least and (os.cpu_count() or 1) >= 2 and hasattr(os, "fork")


def zeros(n: int, dtype, shared: bool) -> np.ndarray:
    """``np.zeros(n, dtype)``; with ``shared``, in memory that a forked child writes to
    for its parent (anonymous shared pages: mapped when first written, as np.zeros's)."""
    if not shared or n == 0:
        return np.zeros(n, dtype)
    return np.frombuffer(mmap.mmap(-1, n * np.dtype(dtype).itemsize), dtype, n)


def halves(items: Sequence, work: Callable[[Sequence], list], split: bool, interleave: bool = False) -> list:
    """``work(items)``, with half of ``items`` done by a forked child when ``split`` (see
    :func:`enabled`): the second half, or with ``interleave`` every other item (for items
    of uneven cost in no particular order). ``work`` returns one picklable result per item,
    in order; anything else it produces must go to :func:`zeros` arrays made with
    ``shared``."""
    if not split or len(items) < 2:
        return work(items)
    if interleave:
        order = [*range(0, len(items), 2), *range(1, len(items), 2)]
        done = halves([items[i] for i in order], work, split)
        out = [None] * len(items)
        for i, result in zip(order, done):
            out[i] = result
        return out
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
