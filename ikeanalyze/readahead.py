"""Reading ahead: a large classic pcap's record walk, done by a forked worker while the
main process starts up.

The walk (where each record starts: one header read per frame, strictly in order) is the
one sequential pure-Python step of the capture reader, about 0.4 s per million frames.
The start-up of an analysis (importing pandas, pyarrow and the rules) takes about 0.5 s
and needs nothing from the capture. With ``--jobs 2`` or more (the default) on a machine
with two or more CPUs, `ikeanalyze analyze` forks one worker per large pcap named on its command
line before it imports anything heavy; the worker writes the record offsets into memory
shared with the main process, and :func:`ikeanalyze.sources.pcap.parse` takes them
instead of walking. The reader checks every header itself after either walk, so the
events are the same; when anything is off (no worker, the worker failed, the file changed
since the fork) the reader walks in-process.

This module imports only the standard library: it runs before pandas is loaded.
"""

from __future__ import annotations

import mmap
import os
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
            pid = os.fork()
            if pid == 0:  # the worker: walk, publish, leave without running the parent's exit code
                code = 1
                try:
                    _walk_file(path, PCAP_MAGIC[magic][0], shared)
                    code = 0
                finally:
                    os._exit(code)
            _PENDING[_identity(st)] = _Worker(pid, shared)
            started += 1
    return started


def _walk_file(path: str, endian: str, shared: mmap.mmap) -> None:
    """The worker's job: every record offset of ``path`` into ``shared``, then the count,
    the end offset and the done flag."""
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
        if hasattr(mmap, "MADV_DONTNEED") and offs:  # read pages count as this process's memory
            end = offs[-1] - offs[-1] % mmap.PAGESIZE
            if end > 0:
                buf.madvise(mmap.MADV_DONTNEED, 0, end)
        if len(offs) < BATCH:
            break
    out[0], out[1], out[2] = n, off, 1


def take(path: str | None) -> tuple[memoryview, int] | None:
    """The record offsets a worker found for ``path`` and the offset after the last, or
    None (no worker for this file as it is now, or the worker did not finish). Waits for
    the worker."""
    if path is None:
        return None
    try:
        key = _identity(os.stat(path))
    except OSError:
        return None
    worker = _PENDING.pop(key, None)
    if worker is None:
        return None
    try:
        _, status = os.waitpid(worker.pid, 0)
    except ChildProcessError:
        return None
    out = memoryview(worker.shared).cast("q")
    if status != 0 or out[2] != 1:
        return None
    n = out[0]
    return out[_SLOTS : _SLOTS + n], out[1]
