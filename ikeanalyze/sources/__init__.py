"""Inputs → one event table. Detect each input's format, hand it to its parser, concatenate.

A parser is a function ``parse(blob, report, options) -> DataFrame`` where ``blob`` is a
:class:`Blob` (name plus bytes or a path), ``report`` the input's :class:`InputReport` to
fill, and ``options`` the :class:`LoadOptions`. Parsers never diagnose.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ikeanalyze import events as ev
from ikeanalyze.errors import InputError
from ikeanalyze.ingest import IngestReport, InputReport

# Magic numbers of the capture formats we read (first four bytes, either byte order).
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1",  # pcap, µs, little-endian
    b"\xa1\xb2\xc3\xd4",  # pcap, µs, big-endian
    b"\x4d\x3c\xb2\xa1",  # pcap, ns, little-endian
    b"\xa1\xb2\x3c\x4d",  # pcap, ns, big-endian
    b"\x0a\x0d\x0d\x0a",  # pcapng section header block
}
GZIP_MAGIC = b"\x1f\x8b"
# Bound on what a .gz may expand to: a zip bomb must end quickly, not fill memory.
MAX_GUNZIP_BYTES = 4 << 30


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

    def read(self) -> bytes:
        if self.data is None:
            assert self.path is not None
            try:
                self.data = self.path.read_bytes()
            except OSError as exc:
                raise InputError(self.name, None, f"cannot read: {exc.strerror or exc}") from exc
        return self.data


def _is_capture(head: bytes) -> bool:
    return head[:4] in PCAP_MAGICS


def _gunzip(blob: Blob) -> Blob:
    raw = blob.read()
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
            while chunk := gz.read(1 << 20):
                out.write(chunk)
                if out.tell() > MAX_GUNZIP_BYTES:
                    raise InputError(blob.name, None, "gzip expands beyond 4 GiB; refusing")
    except (OSError, EOFError) as exc:
        if out.tell() == 0:
            raise InputError(blob.name, None, f"not a readable gzip file ({exc})") from exc
    data = out.getvalue()
    return Blob(blob.name, None, data, data[:16])


def expand(inputs: Iterable[str]) -> list[Blob]:
    """Turn CLI input arguments (files, directories, globs, ``-``) into blobs."""
    blobs: list[Blob] = []
    for arg in inputs:
        if arg == "-":
            data = sys.stdin.buffer.read()
            blobs.append(Blob("<stdin>", None, data, data[:16]))
            continue
        p = Path(arg)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
            if not files:
                raise InputError(arg, None, "directory holds no readable input")
            blobs.extend(_blob(f, str(f)) for f in files)
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


def _blob(path: Path, name: str) -> Blob:
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise InputError(name, None, f"cannot read: {exc.strerror or exc}") from exc
    return Blob(name, path, None, head)


def load_blob(blob: Blob, options: LoadOptions, ingest: IngestReport) -> pd.DataFrame:
    """Parse one input into events, adding its accounting to ``ingest``."""
    if blob.head[:2] == GZIP_MAGIC:
        blob = _gunzip(blob)
    report = ingest.add(InputReport(blob.name))
    if _is_capture(blob.head):
        report.unit = "frame"
        if options.engine == "tshark":
            from ikeanalyze.sources import pyshark_engine as parser
        else:
            from ikeanalyze.sources import pcap as parser
    else:
        from ikeanalyze.sources import text as parser
    frame = parser.parse(blob, report, options)
    frame["source"] = pd.array([blob.name] * len(frame), dtype=ev.DTYPES["source"])
    if frame["wire"].isna().any():
        # Every packet row of a capture is one packet on the wire (events.py, `wire`).
        packet = frame["kind"].isin(list(ev.PACKET_KINDS)).fillna(False) & frame["origin"].isin(["pcap", "sniffer"])
        frame["wire"] = frame["wire"].fillna(packet)
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
    parts = [load_blob(b, options, ingest) for b in blobs]
    events = ev.concat(parts)
    return events, ingest
