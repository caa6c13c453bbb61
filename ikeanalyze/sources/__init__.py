"""Inputs → one event table. Detect each input's format, hand it to its parser, concatenate.

A parser is a function ``parse(blob, report, options) -> DataFrame`` where ``blob`` is a
:class:`Blob` (name plus bytes or a path), ``report`` the input's :class:`InputReport` to
fill, and ``options`` the :class:`LoadOptions`. Parsers never diagnose.
"""

from __future__ import annotations

import bz2
import glob
import io
import lzma
import os
import re
import select
import stat
import sys
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ikeanalyze import events as ev
from ikeanalyze.errors import InputError
from ikeanalyze.ingest import IngestReport, InputReport
from ikeanalyze.sources import clockoffset
from ikeanalyze.words import counted

# Magic numbers of the capture formats we read (first four bytes, either byte order).
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1",  # pcap, µs, little-endian
    b"\xa1\xb2\xc3\xd4",  # pcap, µs, big-endian
    b"\x4d\x3c\xb2\xa1",  # pcap, ns, little-endian
    b"\xa1\xb2\x3c\x4d",  # pcap, ns, big-endian
    b"\x0a\x0d\x0d\x0a",  # pcapng section header block
}
GZIP_MAGIC = b"\x1f\x8b"
# Compressed inputs expanded before their format is detected (magic, codec name).
COMPRESSED = ((GZIP_MAGIC, "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a file's local header; an empty archive's end record
ZIP_FLAG_ENCRYPTED = 0x1  # APPNOTE.TXT 4.4.4, general purpose bit 0
ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})
# Bound on what a .gz may expand to: a zip bomb must end quickly, not fill memory.
MAX_GUNZIP_BYTES = 4 << 30
# Logs and captures compress well under this ratio; gzip's ceiling is about 1000:1, reached
# only by runs of one byte. Past GUNZIP_RATIO_FLOOR of output, more is a bomb.
GUNZIP_MAX_RATIO = 100
GUNZIP_RATIO_FLOOR = 64 << 20
# A named pipe given as a file: how long to wait for its first byte (`<(zcat x.gz)` has it
# at once; a FIFO that nothing writes to would block the run forever).
FIFO_WAIT_S = 3.0


@dataclass(frozen=True)
class LoadOptions:
    local: tuple[str, ...] = ()  # addresses of the local side (the gateway), --local
    ike_tcp_ports: tuple[int, ...] = ()  # extra IKE-over-TCP ports, --ike-tcp-port
    engine: str = "native"  # native | tshark
    tz: str | None = None


@dataclass
class Blob:
    """One input: a name for evidence pointers, and its bytes or its path."""

    name: str
    path: Path | None = None
    data: bytes | None = None
    head: bytes = field(default=b"", repr=False)
    notes: list[str] = field(default_factory=list)  # damage found before parsing (a cut .gz)
    optional: bool = False  # found in a directory or an archive: unreadable means skipped, not fatal
    archive: str | None = None  # the ZIP archive it came out of
    refusal: str | None = None  # why its bytes cannot be had (an encrypted ZIP entry): read, it says so

    def __post_init__(self) -> None:
        # Given its bytes, a blob's head is theirs: `Blob("x.pcap", data=...)` is a capture.
        if not self.head and self.data is not None:
            self.head = self.data[:16]

    def read(self) -> bytes:
        if self.data is None:
            assert self.path is not None
            try:
                self.data = self.path.read_bytes()
            except OSError as exc:
                raise InputError(self.name, None, f"cannot read: {exc.strerror or exc}") from exc
        return self.data

    def release(self) -> None:
        """Forget the bytes of a file input (it can be read again): a parser that has made
        lines of them should not hold the input twice."""
        if self.path is not None:
            self.data = None


def _is_capture(head: bytes) -> bool:
    return head[:4] in PCAP_MAGICS


class _Stream:
    """One compressed member: zlib's and bz2/lzma's decompressors behind one interface."""

    def __init__(self, codec: str) -> None:
        self._d = {"gzip": lambda: zlib.decompressobj(zlib.MAX_WBITS | 16), "bzip2": bz2.BZ2Decompressor,
                   "xz": lzma.LZMADecompressor}[codec]()
        self._zlib = codec == "gzip"
        self.wants_input = True

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    def read(self, pending, size: int) -> tuple[bytes, bytes]:
        """Up to ``size`` bytes of output, and the input it did not take."""
        out = self._d.decompress(pending, size)
        tail = self._d.unconsumed_tail if self._zlib else b""  # bz2 and lzma buffer it themselves
        self.wants_input = not tail if self._zlib else self._d.needs_input
        return out, tail


_NOT_NUL = re.compile(rb"[^\0]")
# Input is fed a slice at a time: zlib copies what it did not take on every call, so feeding
# it the whole rest of a large file would copy the file once per MiB of output.
FEED_BYTES = 1 << 20


def _decompress(blob: Blob) -> Blob:
    """Expand a gzip, bzip2 or xz input (every member) with a bound on the output; a stream
    cut off or damaged part-way keeps what came before it, with a note for the input's
    warnings."""
    magic, codec = next((magic, name) for magic, name in COMPRESSED if blob.head.startswith(magic))
    raw = memoryview(blob.read())
    out = io.BytesIO()
    limit = min(MAX_GUNZIP_BYTES, max(GUNZIP_RATIO_FLOOR, GUNZIP_MAX_RATIO * len(raw)))
    notes: list[str] = []
    pos = 0
    try:
        while m := _NOT_NUL.search(raw, pos):  # members follow each other; NUL padding may sit between
            pos = m.start()
            if pos and raw[pos : pos + len(magic)] != magic:
                # Not another member: a tool's trailer or a copy's junk, not a cut stream.
                notes.append(f"{counted(len(raw) - pos, 'byte')} after the last {codec} stream, not {codec}: ignored")
                break
            d = _Stream(codec)
            pending = b""
            while not d.eof:
                if d.wants_input and not pending:
                    if pos >= len(raw):
                        raise EOFError("the input ends before the stream's end-of-stream marker")
                    pending, pos = raw[pos : pos + FEED_BYTES], min(pos + FEED_BYTES, len(raw))
                chunk, pending = d.read(pending, 1 << 20)
                out.write(chunk)
                if out.tell() > limit:
                    raise InputError(blob.name, None, f"{codec} of {len(raw)} bytes expands beyond "
                                     f"{limit >> 20} MiB (a compression bomb?); refusing")
            pos -= len(d.unused_data) + len(pending)  # what came after this member's end
    except (EOFError, zlib.error, OSError, lzma.LZMAError) as exc:
        cut = isinstance(exc, EOFError)
        if out.tell() == 0:
            # bzip2 gives nothing until a whole block (up to 900 kB) is in: a cut file then
            # has no readable part, which is not the same as not being bzip2.
            what = (f"{codec} file cut off after {len(raw)} bytes, before any of its content could be read"
                    if cut else f"not a readable {codec} file ({exc})")
            raise InputError(blob.name, None, what) from exc
        notes.append(f"{codec} data {'cut off' if cut else 'damaged'} after {counted(out.tell(), 'byte')} "
                     f"of content ({exc}); read what came before")
    data = out.getvalue()
    return Blob(blob.name, None, data, notes=notes, optional=blob.optional)


def _zip_members(blob: Blob) -> list[Blob]:
    """The files of a ZIP archive (evidence a customer sent as one attachment), each an input
    of its own named ``archive.zip:member``; folders, macOS resource forks and hidden files
    are left out. Sizes are bounded as a compressed input's are."""
    raw = blob.read()
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            names = [i for i in z.infolist() if not i.is_dir()
                     and not i.filename.startswith("__MACOSX/") and not Path(i.filename).name.startswith(".")]
            if any(i.filename == "[Content_Types].xml" for i in names):
                raise InputError(blob.name, None, "an Office document, not an archive of evidence; "
                                 "export the text or capture first")
            limit = min(MAX_GUNZIP_BYTES, max(GUNZIP_RATIO_FLOOR, GUNZIP_MAX_RATIO * len(raw)))
            members, total = [], 0
            for info in names:
                name = f"{blob.name}:{info.filename}"
                if info.flag_bits & ZIP_FLAG_ENCRYPTED or info.compress_type not in ZIP_METHODS:
                    # This file cannot be read here; the archive's others can, and are.
                    why = ("encrypted (a password-protected ZIP entry); extract it with its password"
                           if info.flag_bits & ZIP_FLAG_ENCRYPTED else
                           f"stored with ZIP compression method {info.compress_type}, which Python's "
                           "zipfile does not read; extract it first")
                    members.append(Blob(name, None, b"", b"", optional=True, archive=blob.name, refusal=why))
                    continue
                with z.open(info) as f:
                    data = f.read(limit - total + 1)
                total += len(data)
                if total > limit:
                    raise InputError(blob.name, None, f"ZIP of {len(raw)} bytes expands beyond {limit >> 20} MiB "
                                     "(a compression bomb?); refusing")
                members.append(Blob(name, None, data, optional=True, archive=blob.name))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError,
            zlib.error, OSError, lzma.LZMAError) as exc:
        raise InputError(blob.name, None, f"a ZIP archive that cannot be read ({exc}); extract it first") from exc
    if not members:
        raise InputError(blob.name, None, "a ZIP archive with no files in it")
    return members


def expand(inputs: Iterable[str]) -> list[Blob]:
    """Turn CLI input arguments (files, directories, globs, ``-``) into blobs."""
    blobs: list[Blob] = []
    for arg in inputs:
        if arg == "-":
            data = sys.stdin.buffer.read()
            blobs.append(Blob("<stdin>", None, data))
            continue
        p = Path(arg)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
            if not files:
                raise InputError(arg, None, "directory holds no readable input")
            blobs.extend(_blob(f, str(f), optional=True) for f in files)
        elif p.exists():
            blobs.append(_blob(p, arg))
        elif any(ch in arg for ch in "*?["):
            matches = sorted(glob.glob(arg, recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()]
            if not files:
                raise InputError(arg, None, "no file matches this pattern")
            blobs.extend(_blob(f, str(f)) for f in files)
        else:
            raise InputError(arg, None, "no such file")
    return blobs


def _blob(path: Path, name: str, optional: bool = False) -> Blob:
    # Non-blocking: opening a FIFO that nothing writes to must not hang the run.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise InputError(name, None, f"cannot read: {exc.strerror or exc}") from exc
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISFIFO(mode):
            data = _drain_pipe(fd, name)
            return Blob(name, None, data, optional=optional)
        if not stat.S_ISREG(mode):
            raise InputError(name, None, "not a regular file (a device or socket)")
        head = os.pread(fd, 16, 0)
    except OSError as exc:
        raise InputError(name, None, f"cannot read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    return Blob(name, path, None, head, optional=optional)


def _drain_pipe(fd: int, name: str) -> bytes:
    """A pipe passed as a path (`<(zcat x.gz)`, a FIFO): read it all once data arrives."""
    poll = select.poll()
    poll.register(fd, select.POLLIN | select.POLLHUP)
    if not poll.poll(int(FIFO_WAIT_S * 1000)):
        raise InputError(name, None, f"a named pipe that nothing wrote to within {FIFO_WAIT_S:g} s")
    os.set_blocking(fd, True)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def opened(blob: Blob) -> Blob:
    """The input with its compression (gzip, bzip2, xz) undone; as it is when it has none."""
    if blob.refusal:
        raise InputError(blob.name, None, blob.refusal)
    return _decompress(blob) if any(blob.head.startswith(magic) for magic, _codec in COMPRESSED) else blob


def unpacked(blob: Blob) -> list[Blob]:
    """The inputs a file holds: a ZIP archive's files, else itself; each one opened."""
    if blob.head.startswith(ZIP_MAGICS) and blob.archive is None:
        return [opened(member) for member in _zip_members(blob)]
    return [opened(blob)]


def load_blob(blob: Blob, options: LoadOptions, ingest: IngestReport) -> pd.DataFrame:
    """Parse one input into events, adding its accounting to ``ingest``."""
    blob = opened(blob)
    report = ingest.add(InputReport(blob.name))
    for note in blob.notes:
        report.warn(note)
    if _is_capture(blob.head):
        report.unit = "frame"
        if options.engine == "tshark":
            from ikeanalyze.sources import pyshark_engine as parser
        else:
            from ikeanalyze.sources import pcap as parser
    else:
        from ikeanalyze.sources import text as parser
    frame = parser.parse(blob, report, options)
    if report.total == 0 and not report.warnings:
        report.warn("the input is empty")  # say so: an empty upload is not a clean bill of health
    frame["source"] = pd.array([blob.name] * len(frame), dtype=ev.DTYPES["source"])
    return frame


def load(
    inputs: Iterable[str | Blob], options: LoadOptions | None = None
) -> tuple[pd.DataFrame, IngestReport]:
    """Load every input (paths, globs, ``-`` or Blobs) into one event table."""
    options = options or LoadOptions()
    blobs: list[Blob] = []
    for item in inputs:
        blobs.extend([item] if isinstance(item, Blob) else expand([os.fspath(item)]))
    ingest = IngestReport()
    parts, refused, archives = [], [], set()
    blobs.reverse()  # a stack, so that an archive's files are read in its place
    while blobs:
        b = blobs.pop()
        try:
            if b.head.startswith(ZIP_MAGICS) and b.archive is None:  # (a ZIP inside one is refused as binary)
                blobs.extend(reversed(_zip_members(b)))
                continue
            parts.append(load_blob(b, options, ingest))
        except InputError as exc:
            # A screenshot or archive beside the logs in a folder is skipped and said so;
            # a file named on its own command line that cannot be read stops the run.
            if not b.optional:
                raise
            refused.append(exc)
            archives.add(b.archive)
            if not ingest.inputs or ingest.inputs[-1].source != b.name:
                ingest.add(InputReport(b.name))
            ingest.inputs[-1].warn(f"skipped: {exc.reason}")
    if refused and not parts:
        names = "; ".join(f"{e.source} ({e.reason})" for e in refused[:3])
        more = f"; and {len(refused) - 3} more" if len(refused) > 3 else ""
        if len(archives) == 1 and None not in archives:
            raise InputError(archives.pop(), None, f"archive holds no readable input: {names}{more}")
        where = os.path.commonpath([e.source for e in refused])
        where = os.path.dirname(where) if len(refused) == 1 else where
        raise InputError(where, None,
                         f"directory holds no readable input: {names}{more}")
    clockoffset.line_up(parts, ingest.inputs)  # a UTC sniffer run and a local-time debug given as two inputs
    events = ev.concat(parts)
    return events, ingest
