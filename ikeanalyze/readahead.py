"""Reading ahead: a large classic pcap's record walk, done by a forked worker while the
main process starts up.

The walk (where each record starts: one header read per frame, strictly in order) is the
one sequential pure-Python step of the capture reader, about 0.4-0.9 s per million frames.
The start-up of an analysis (importing pandas, pyarrow and the rules) takes about 0.5 s
and needs nothing from the capture. With ``--jobs 2`` or more (the default) on a machine
with two or more CPUs, `ikeanalyze analyze` forks one worker per large pcap named on its command
line before it imports anything heavy; the worker writes the record offsets into memory
shared with the main process and reports on a pipe how many it has written, batch by
batch, and :func:`ikeanalyze.sources.pcap.parse` takes them as they come instead of
walking: the reader decodes the first chunks while the worker walks the rest. The reader
checks every header itself after either walk, so the events are the same; when anything
is off (no worker, the file changed since the fork) the reader walks in-process, and where
the worker stopped early (it failed) the reader walks on from there.

This module imports only the standard library: it runs before pandas is loaded.
"""

from __future__ import annotations

import mmap
import os
import signal
import stat
import struct
import sys
from array import array
from contextlib import suppress
from dataclasses import dataclass

# Classic pcap magic (as stored) -> (byte order of the headers, ns per timestamp unit).
PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000),
    b"\xa1\xb2\xc3\xd4": (">", 1000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
FILE_HEADER = 24  # classic pcap file header; then 16-byte record headers
RECORD_HEADER = 16
# Below this a capture is walked in well under the time a fork and a wait cost to save.
MIN_BYTES = 64 << 20
# Offsets the worker writes between page releases (its footprint stays that of a chunk).
BATCH = 1 << 16
# The shared block: count, end offset, done flag, then the offsets (int64 each).
_SLOTS = 3
_COUNT = struct.Struct("q")  # a progress report on the pipe: the offsets written so far


def u32_views(buf, size: int, endian: str) -> list:
    """Four word views of the buffer, one per alignment: the word at byte offset ``o`` is
    ``views[o & 3][o >> 2]``. In the machine's byte order these are memoryview casts, whose
    indexing costs a fraction of a ``struct.unpack_from`` call."""
    native = (endian == "<") == (sys.byteorder == "little")
    mv = memoryview(buf)
    if native:
        return [mv[k : k + (size - k) // 4 * 4].cast("I") if size > k else mv[0:0].cast("I") for k in range(4)]
    return [_SwappedWords(buf, k, endian) for k in range(4)]


class _SwappedWords:
    """32-bit words of the other byte order, at byte offsets ``k + 4*j`` (rare: a capture
    written on a machine of the other endianness)."""

    def __init__(self, buf, k: int, endian: str):
        self.unpack, self.buf, self.k = struct.Struct(endian + "I").unpack_from, buf, k

    def __getitem__(self, j: int) -> int:
        return self.unpack(self.buf, self.k + 4 * j)[0]


def walk(words32: list, off: int, last_header: int, limit: int) -> tuple[array, int]:
    """Up to ``limit`` record offsets from ``off`` onwards, and the offset after the last.

    Only where records start: the caller reads and checks their headers afterwards with
    numpy. A damaged captured length sends the walk past ``last_header`` (it stops) or into
    bytes that are not a header (the caller's check finds the first bad one)."""
    offs = array("q")
    append = offs.append
    for _ in range(limit):
        if off > last_header:
            break
        append(off)
        # The captured length is the record header's third word, 8 bytes in.
        off += RECORD_HEADER + words32[off & 3][(off + 8) >> 2]
    return offs, off


@dataclass
class _Worker:
    pid: int
    shared: mmap.mmap
    progress: int  # the read end of the pipe the worker reports its count on


_PENDING: dict[tuple, _Worker] = {}


def _identity(st: os.stat_result) -> tuple:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def start(paths: list[str], jobs: int) -> int:
    """Fork a walker for each large classic pcap among ``paths`` (plain file paths; other
    inputs are the loader's); returns how many were started. No-op with ``jobs`` < 2, on
    one CPU (the worker would only take turns with the start-up it is meant to overlap), or
    without ``os.fork``."""
    if jobs < 2 or (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        return 0
    started = 0
    for path in paths:
        with suppress(OSError):
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode) or st.st_size < MIN_BYTES:
                continue
            if _identity(st) in _PENDING:
                continue
            with open(path, "rb") as f:
                magic = f.read(4)
            if magic not in PCAP_MAGIC:
                continue
            # At most one record per 16 bytes; untouched pages of the mapping cost nothing.
            shared = mmap.mmap(-1, 8 * (_SLOTS + max(st.st_size - FILE_HEADER, 0) // RECORD_HEADER + 1))
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker: walk, publish, leave without running the parent's exit code
                code = 1
                try:
                    os.close(r)
                    for other in _PENDING.values():
                        os.close(other.progress)
                    _walk_file(path, PCAP_MAGIC[magic][0], shared, w)
                    code = 0
                finally:
                    os._exit(code)
            os.close(w)  # the worker's end: the pipe reads empty once it exits
            _PENDING[_identity(st)] = _Worker(pid, shared, r)
            started += 1
    return started


def _walk_file(path: str, endian: str, shared: mmap.mmap, progress: int) -> None:
    """The worker's job: every record offset of ``path`` into ``shared``, the count so far
    on the ``progress`` pipe after each batch, and at the end the count, the end offset and
    the done flag. (A count is written after its offsets, by a system call: the reader that
    has read it sees them.)"""
    out = memoryview(shared).cast("q")
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    words32 = u32_views(buf, size, endian)
    off, n = FILE_HEADER, 0
    while True:
        offs, off = walk(words32, off, size - RECORD_HEADER, BATCH)
        out[_SLOTS + n : _SLOTS + n + len(offs)] = memoryview(offs)
        n += len(offs)
        if len(offs) == BATCH:
            os.write(progress, _COUNT.pack(n))
        if hasattr(mmap, "MADV_DONTNEED") and offs:  # read pages count as this process's memory
            end = offs[-1] - offs[-1] % mmap.PAGESIZE
            if end > 0:
                buf.madvise(mmap.MADV_DONTNEED, 0, end)
        if len(offs) < BATCH:
            break
    out[0], out[1], out[2] = n, off, 1
    os.write(progress, _COUNT.pack(n))


class Walk:
    """A worker's walk as it goes: ``offsets[:count]`` are record offsets (in file
    order) the worker has published; :meth:`wait` blocks until there are more."""

    def __init__(self, worker: _Worker) -> None:
        self._worker = worker
        self.offsets = memoryview(worker.shared).cast("q")[_SLOTS:]
        self.count = 0
        self.finished = False  # the worker has exited
        self.complete = False  # ... after walking to the end of the file

    def wait(self, want: int) -> int:
        """Block until at least ``want`` offsets are published or the worker has exited;
        returns the count published (less than ``want`` only at the end of the walk, or
        where the worker stopped early: see ``complete``)."""
        while self.count < want and not self.finished:
            try:
                got = os.read(self._worker.progress, 8 * 1024)  # whole counts: each write is 8 bytes
            except OSError:
                got = b""
            if got:
                self.count = _COUNT.unpack_from(got, len(got) - 8)[0]
            else:
                self._reap()
        return self.count

    def close(self) -> None:
        """Stop the worker if it is still walking (the reader stopped early: damage, an
        error) and reap it."""
        if not self.finished:
            with suppress(OSError):
                os.kill(self._worker.pid, signal.SIGKILL)
            self._reap()

    def _reap(self) -> None:
        self.finished = True
        with suppress(OSError):
            os.close(self._worker.progress)
        try:
            _, status = os.waitpid(self._worker.pid, 0)
        except ChildProcessError:
            return
        out = memoryview(self._worker.shared).cast("q")
        self.complete = status == 0 and out[2] == 1
        if self.complete:
            self.count = out[0]


def take(path: str | None) -> Walk | None:
    """The walk of the worker started for ``path`` (None: no worker for this file as it
    is now), to be read as it goes."""
    if path is None:
        return None
    try:
        key = _identity(os.stat(path))
    except OSError:
        return None
    worker = _PENDING.pop(key, None)
    return None if worker is None else Walk(worker)
