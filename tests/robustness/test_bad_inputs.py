"""Bad inputs through the real CLI: exact exit codes and messages, never a traceback.

Inputs that cannot be read at all exit 2 with one line, `ikeanalyze: <input>: <why>`.
Inputs damaged part-way exit 0, keep every event before the damage, and warn where it is.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import re
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ikeanalyze.api import load
from ikeanalyze.cli import app
from tests.conftest import run_cli
from tests.sources.pcapbuild import eth, ipv4, pcap, pcapng, udp
from tests.wire.ikebuild import message, notify_v2

ISPI = bytes.fromhex("0123456789abcdef")


def _sa_init(i: int) -> bytes:
    return message(ISPI, bytes(8), 34, 0x08, 0, [(41, notify_v2(16388, bytes([i]) * 20))])


FRAMES = [eth(ipv4("198.51.100.7", "203.0.113.1", 17, udp(500, 500, _sa_init(i)))) for i in range(3)]
PCAP = pcap([(1_700_000_000 + i, f) for i, f in enumerate(FRAMES)])
PCAP_REC3 = 24 + sum(16 + len(f) for f in FRAMES[:2])  # offset of the third record header
PCAPNG = pcapng([(1, "port1", None)], [(0, 1_700_000_000_000_000 + i, f, None) for i, f in enumerate(FRAMES)])
PCAPNG_EPB3 = len(PCAPNG) - (32 + len(FRAMES[2]) + (-len(FRAMES[2]) % 4))

SNIFFER = (
    "2026-02-26 23:17:23.208180 port1 in 198.51.100.7.500 -> 203.0.113.1.500: udp 120\n"
    "2026-02-26 23:17:24.208180 port1 out 203.0.113.1.500 -> 198.51.100.7.500: udp 140\n"
    "2026-02-26 23:17:25.208180 port1 in 198.51.100.7.4500 -> 203.0.113.1.4500: udp 1\n"
)


def _png() -> bytes:
    """A real 2x2 RGB PNG (signature, IHDR, IDAT, IEND with their CRCs)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\0" + bytes([200, 30, 30]) * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _garbage() -> bytes:
    # Fixed bytes (a seeded generator), many control bytes: what a binary attachment holds.
    return bytes((i * 7919 + 13) % 251 for i in range(4096))


def _with_u32(data: bytes, offset: int, value: int, fmt: str = "<I") -> bytes:
    return data[:offset] + struct.pack(fmt, value) + data[offset + 4 :]


@dataclass(frozen=True)
class Bad:
    """One bad input: how to make it, and what the CLI must say (exit 2)."""

    name: str
    make: Callable[[Path], str]  # builds it under tmp_path, returns the CLI argument
    message: str  # the one stderr line after `ikeanalyze: <arg>: `; a regex


def _file(name: str, data: bytes) -> Callable[[Path], str]:
    def make(tmp: Path) -> str:
        (tmp / name).write_bytes(data)
        return str(tmp / name)
    return make


def _dir(files: dict[str, bytes]) -> Callable[[Path], str]:
    def make(tmp: Path) -> str:
        d = tmp / "evidence"
        d.mkdir()
        for n, data in files.items():
            (d / n).write_bytes(data)
        return str(d)
    return make


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def _fifo(tmp: Path) -> str:
    os.mkfifo(tmp / "pipe")
    return str(tmp / "pipe")


REFUSED = [
    Bad("missing file", lambda tmp: str(tmp / "nothing.txt"), "no such file"),
    Bad("path through a file", lambda tmp: (tmp / "f").write_text("x\n") and str(tmp / "f" / "x.txt"),
        "no such file"),
    Bad("glob matching nothing", lambda tmp: str(tmp / "*.pcap"), "no file matches this pattern"),
    Bad("empty directory", _dir({}), "directory holds no readable input"),
    Bad("directory of hidden files only", _dir({".DS_Store": b"x"}), "directory holds no readable input"),
    Bad("directory of a screenshot only", _dir({"shot.png": _png()}),
        r"directory holds no readable input: .*evidence/shot\.png \(not a capture or FortiGate text "
        r"\(a PNG image\)\)"),
    Bad("named pipe nothing writes to", _fifo, r"a named pipe that nothing wrote to within 3 s"),
    Bad("character device", lambda tmp: "/dev/zero", r"not a regular file \(a device or socket\)"),
    Bad("binary garbage", _file("dump.bin", _garbage()), r"not a capture or FortiGate text \(binary data\)"),
    Bad("PNG image", _file("screenshot.txt", _png()), r"not a capture or FortiGate text \(a PNG image\)"),
    Bad("PDF", _file("ticket.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
        r"not a capture or FortiGate text \(a PDF document\)"),
    Bad("ZIP header and nothing behind it", _file("notes.zip", b"PK\x03\x04\x14\x00\x06\x00" + bytes(100)),
        r"a ZIP archive that cannot be read \(.+\); extract it first"),
    Bad("Word document", _file("notes.docx", _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})),
        r"an Office document, not an archive of evidence; export the text or capture first"),
    Bad("empty ZIP", _file("empty.zip", _zip({})), r"a ZIP archive with no files in it"),
    Bad("ZIP of a screenshot only", _file("ticket.zip", _zip({"shot.png": _png(), "__MACOSX/._shot.png": b"x"})),
        r"archive holds no readable input: .*ticket\.zip:shot\.png \(not a capture or FortiGate text "
        r"\(a PNG image\)\)"),
    Bad("ZIP bomb", _file("bomb.zip", _zip({"a.txt": bytes(200 << 20)})),
        r"ZIP of \d+ bytes expands beyond 64 MiB \(a compression bomb\?\); refusing"),
    Bad("xz bomb", _file("bomb.txt.xz", lzma.compress(bytes(200 << 20))),
        r"xz of \d+ bytes expands beyond 64 MiB \(a compression bomb\?\); refusing"),
    Bad("not bzip2 after all", _file("log.bz2", b"BZh9" + bytes(40)), r"not a readable bzip2 file \(.+\)"),
    Bad("all NUL bytes", _file("zeros.log", bytes(4096)), r"not a capture or FortiGate text \(binary data\)"),
    Bad("pcap header cut", _file("cut.pcap", PCAP[:10]), "pcap file header cut short"),
    # bzip2 writes nothing out until a whole block is in: cut inside the first, nothing is readable
    Bad("bzip2 cut inside its first block", _file("log.bz2", bz2.compress(bytes(range(256)) * 4000)[:600]),
        r"bzip2 file cut off after 600 bytes, before any of its content could be read"),
    Bad("not gzip after all", _file("log.gz", b"\x1f\x8b\x08\x00" + bytes(12) + b"garbage"),
        r"not a readable gzip file \(.+\)"),
    Bad("gzip bomb", _file("bomb.txt.gz", gzip.compress(bytes(200 << 20), 9)),
        r"gzip of \d+ bytes expands beyond 64 MiB \(a compression bomb\?\); refusing"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_refused_inputs_exit_2_with_one_line(tmp_path, case):
    arg = case.make(tmp_path)
    p = run_cli("analyze", arg)
    err = p.stderr.decode()
    assert p.returncode == 2, err
    assert p.stdout == b""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.fullmatch(rf"ikeanalyze: {re.escape(arg)}: {case.message}\n", err), err


@dataclass(frozen=True)
class Damaged:
    """One input damaged part-way: every event before the damage survives, with a warning."""

    name: str
    filename: str
    data: bytes
    refs: list[int]  # the events kept
    warning: str  # a regex that one warning must match
    truncated: int = 0  # frames/lines counted `truncated`


DAMAGED = [
    Damaged("pcap cut mid-record header", "a.pcap", PCAP[: PCAP_REC3 + 9], [1, 2],
            r"frame 3: capture cut off mid-record", 1),
    Damaged("pcap cut mid-record data", "a.pcap", PCAP[:-20], [1, 2], r"frame 3: capture cut off mid-record", 1),
    Damaged("pcap caplen above snaplen", "a.pcap", _with_u32(PCAP, PCAP_REC3 + 8, 65536), [1, 2],
            r"frame 3: captured length 65536 exceeds the snapshot length 65535", 1),
    Damaged("pcap record claiming 4 GB", "a.pcap", _with_u32(PCAP, PCAP_REC3 + 8, 0xFFFFFFFF), [1, 2],
            r"frame 3: captured length 4294967295 exceeds the snapshot length 65535", 1),
    Damaged("pcapng cut mid-block", "a.pcapng", PCAPNG[:-30], [1, 2], r"frame 3: capture cut off mid-block", 1),
    Damaged("pcapng cut mid-block header", "a.pcapng", PCAPNG[: PCAPNG_EPB3 + 6], [1, 2],
            r"frame 3: capture cut off mid-block", 1),
    Damaged("pcapng block length past the end", "a.pcapng", _with_u32(PCAPNG, PCAPNG_EPB3 + 4, 1 << 20), [1, 2],
            r"frame 3: capture cut off mid-block", 1),
    Damaged("pcapng block length not a multiple of 4", "a.pcapng", _with_u32(PCAPNG, PCAPNG_EPB3 + 4, 33), [1, 2],
            r"frame 3: impossible block length 33", 1),
    # (cut after the header's colon: a line cut earlier reads as the terminal wrap of a long line above)
    Damaged("sniffer paste cut mid-line", "paste.txt", SNIFFER.encode()[:-4], [1, 2, 3],
            r"line 3: the input ends mid-line \(no final newline\); the last record may be cut off"),
    Damaged("debug paste cut mid-record", "debug.txt",
            b"ike 0:dialup:12: comes 198.51.100.7:500->203.0.113.1:500,ifindex=7,vrf=0....\n"
            b"ike 0:dialup:12: sent IKE msg (SA_INIT_RESPONSE): 203.0.113.1:500->198.51.100.7:500,\n",
            [1, 2], r"line 2: truncated record: .*sent IKE msg \(SA_INIT_RESPONSE\)"),
    # A web copy that ends inside the responder SPI, with a newline after it (KB 271355's).
    Damaged("debug paste cut inside an SPI", "debug.txt",
            b"ike 0:dialup:12: comes 198.51.100.7:500->203.0.113.1:500,ifindex=7,vrf=0....\n"
            b"ike 0:dialup:12: sent IKE msg (AUTH): 203.0.113.1:4500->198.51.100.7:4500, len=216, "
            b"id=65d3ae182a9bf8e4/53cd353c74a28\n",
            [1, 2], r"line 2: truncated record \(its SPIs stop short\): .*id=65d3ae182a9bf8e4/53cd353c74a28"),
    # Each one's content ends inside a packet line (`... 198.51.100.`): truncated, not a wrap.
    Damaged("gzip cut off", "paste.txt.gz", gzip.compress((SNIFFER * 400).encode())[:-200], list(range(1, 4)),
            r"gzip data cut off after \d+ bytes of content", truncated=1),
    Damaged("bzip2 cut off", "paste.txt.bz2", bz2.compress((SNIFFER * 4000).encode())[:-200], list(range(1, 4)),
            r"bzip2 data cut off after \d+ bytes of content", truncated=1),
    Damaged("xz cut off", "paste.txt.xz", lzma.compress((SNIFFER * 4000).encode())[:-200], list(range(1, 4)),
            r"xz data cut off after \d+ bytes of content", truncated=1),
]


@pytest.mark.parametrize("case", DAMAGED, ids=[c.name for c in DAMAGED])
def test_damaged_inputs_keep_what_came_before(tmp_path, case):
    f = tmp_path / case.filename
    f.write_bytes(case.data)
    p = run_cli("analyze", str(f), "--format", "json")
    assert p.returncode == 0, p.stderr.decode()
    assert b"Traceback" not in p.stderr
    [inp] = json.loads(p.stdout)["inputs"]
    assert any(re.search(case.warning, w) for w in inp["warnings"]), inp["warnings"]
    assert inp["accounting"]["truncated"] == case.truncated
    assert sum(inp["accounting"].values()) == inp["total"]
    events, _ = load([str(f)])
    refs = sorted(set(events["ref"].astype(int)))
    assert refs[: len(case.refs)] == case.refs


def test_a_zip_of_evidence_is_read_file_by_file(tmp_path):
    """A customer's ZIP (a sniffer paste, a compressed capture, a screenshot, macOS leftovers):
    each file is an input named archive.zip:file, analysed together; the screenshot is skipped
    with a warning; compressed members are expanded as files are."""
    f = tmp_path / "ticket-4711.zip"
    f.write_bytes(_zip({"evidence/sniffer.txt": SNIFFER.encode(), "evidence/capture.pcap.gz": gzip.compress(PCAP),
                        "evidence/screenshot.png": _png(), "__MACOSX/evidence/._sniffer.txt": b"\0\5",
                        "evidence/.DS_Store": b"\0"}))
    p = run_cli("analyze", str(f), "--format", "json")
    assert p.returncode == 0, p.stderr.decode()
    inputs = {i["source"]: i for i in json.loads(p.stdout)["inputs"]}
    assert set(inputs) == {f"{f}:evidence/sniffer.txt", f"{f}:evidence/capture.pcap.gz", f"{f}:evidence/screenshot.png"}
    assert inputs[f"{f}:evidence/sniffer.txt"]["events"] == 3
    assert inputs[f"{f}:evidence/capture.pcap.gz"]["unit"] == "frame"
    assert inputs[f"{f}:evidence/capture.pcap.gz"]["events"] == inputs[f"{f}:evidence/capture.pcap.gz"]["total"] > 0
    assert any("skipped" in w and "PNG" in w for w in inputs[f"{f}:evidence/screenshot.png"]["warnings"])


def _encrypted(archive: bytes, member: str) -> bytes:
    """The archive with ``member`` flagged encrypted (general purpose bit 0) in its local and
    central headers, as a password-protected entry is (zipfile cannot write one)."""
    out = bytearray(archive)
    name = member.encode()
    for magic, flags_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        at = out.find(magic)
        while out[at + name_at : at + name_at + len(name)] != name:
            at = out.find(magic, at + 1)
        out[at + flags_at] |= 1
    return bytes(out)


def test_an_encrypted_zip_entry_is_skipped_and_said_so(tmp_path):
    """One password-protected file in a customer's ZIP does not refuse the archive: the others
    are read, the entry is an input of its own that says why it was not."""
    f = tmp_path / "ticket.zip"
    f.write_bytes(_encrypted(_zip({"secret.pcap": PCAP, "sniffer.txt": SNIFFER.encode()}), "secret.pcap"))
    p = run_cli("analyze", str(f), "--format", "json")
    assert p.returncode == 0, p.stderr.decode()
    inputs = {i["source"]: i for i in json.loads(p.stdout)["inputs"]}
    assert inputs[f"{f}:sniffer.txt"]["events"] == 3
    assert inputs[f"{f}:secret.pcap"]["total"] == 0
    assert inputs[f"{f}:secret.pcap"]["warnings"] == [
        "skipped: encrypted (a password-protected ZIP entry); extract it with its password"]
    # Only encrypted entries: the archive has nothing to read, and the error says which and why.
    g = tmp_path / "locked.zip"
    g.write_bytes(_encrypted(_zip({"secret.pcap": PCAP}), "secret.pcap"))
    p = run_cli("analyze", str(g))
    assert p.returncode == 2 and b"Traceback" not in p.stderr
    assert re.search(rb"archive holds no readable input: .*locked\.zip:secret\.pcap \(encrypted", p.stderr)


def test_padding_between_compressed_streams_is_not_damage(tmp_path):
    """xz pads between concatenated streams with NULs (and gzip files are often NUL-padded by
    the tools that wrote them): each stream is read, with no warning."""
    half = len(SNIFFER) // 2
    cut = SNIFFER.rindex("\n", 0, half) + 1
    for name, pack in (("paste.txt.xz", lzma.compress), ("paste.txt.gz", gzip.compress), ("paste.txt.bz2", bz2.compress)):
        f = tmp_path / name
        f.write_bytes(pack(SNIFFER[:cut].encode()) + bytes(8) + pack(SNIFFER[cut:].encode()) + bytes(12))
        plain = tmp_path / "paste.txt"
        plain.write_text(SNIFFER)
        events, ingest = load([str(f)])
        same, _ = load([str(plain)])
        assert not ingest.inputs[0].warnings, (name, ingest.inputs[0].warnings)
        assert events.drop(columns="source").equals(same.drop(columns="source")), name


def test_bzip2_and_xz_inputs_read_as_their_contents(tmp_path):
    for name, data in (("paste.txt.bz2", bz2.compress(SNIFFER.encode())), ("paste.txt.xz", lzma.compress(SNIFFER.encode())),
                       ("capture.pcap.xz", lzma.compress(PCAP))):
        f = tmp_path / name
        f.write_bytes(data)
        plain = tmp_path / name.rsplit(".", 1)[0]
        plain.write_bytes(bz2.decompress(data) if name.endswith("bz2") else lzma.decompress(data))
        events, ingest = load([str(f)])
        same, _ = load([str(plain)])
        assert len(events) > 0 and not ingest.inputs[0].warnings
        assert events.drop(columns="source").equals(same.drop(columns="source")), name


def test_directory_with_a_screenshot_beside_the_log_reads_the_log(tmp_path):
    d = tmp_path / "ticket"
    d.mkdir()
    (d / "sniffer.txt").write_text(SNIFFER)
    (d / "screenshot.png").write_bytes(_png())
    p = run_cli("analyze", str(d), "--format", "json")
    assert p.returncode == 0, p.stderr.decode()
    inputs = {Path(i["source"]).name: i for i in json.loads(p.stdout)["inputs"]}
    assert inputs["sniffer.txt"]["events"] == 3
    assert inputs["screenshot.png"]["total"] == 0
    assert inputs["screenshot.png"]["warnings"] == ["skipped: not a capture or FortiGate text (a PNG image)"]


def test_a_pipe_with_a_writer_is_read(tmp_path):
    """`ikeanalyze analyze <(zcat paste.txt.gz)` hands over a pipe: it is read, not refused."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "wb") as w:
            w.write(SNIFFER.encode())

    t = threading.Thread(target=write, daemon=True)
    t.start()
    _events, ingest = load([str(fifo)])
    t.join(timeout=30)
    assert ingest.inputs[0].events == 3


def test_unreadable_file_exits_2(tmp_path, monkeypatch):
    """Tests run as root, so chmod 000 would still read: the OS refusal is simulated."""
    f = tmp_path / "secret.txt"
    f.write_text(SNIFFER)
    real_open = os.open

    def refuse(path, *a, **kw):
        if os.fspath(path) == str(f):
            raise PermissionError(13, "Permission denied", str(f))
        return real_open(path, *a, **kw)

    monkeypatch.setattr(os, "open", refuse)
    r = CliRunner().invoke(app, ["analyze", str(f)])
    assert r.exit_code == 2
    assert r.output == f"ikeanalyze: {f}: cannot read: Permission denied\n"


def test_an_unexpected_bug_is_one_line_and_debug_shows_the_traceback(tmp_path, monkeypatch):
    """The error boundary: an internal error is one line naming --debug; --debug shows the stack."""
    from ikeanalyze.sources import text

    f = tmp_path / "paste.txt"
    f.write_text(SNIFFER)

    def broken(*a, **kw):
        raise IndexError("simulated parser bug")

    monkeypatch.setattr(text, "parse_lines", broken)
    r = CliRunner().invoke(app, ["analyze", str(f)])
    assert r.exit_code == 2
    assert r.output == ("ikeanalyze: internal error (IndexError: simulated parser bug); "
                        "rerun with --debug for details\n")
    r = CliRunner().invoke(app, ["analyze", str(f), "--debug"])
    assert isinstance(r.exception, IndexError)


def test_an_empty_file_is_read_and_said_to_be_empty(tmp_path):
    f = tmp_path / "paste.txt"
    f.write_bytes(b"")
    p = run_cli("analyze", str(f), "--format", "json")
    assert p.returncode == 0, p.stderr.decode()
    [inp] = json.loads(p.stdout)["inputs"]
    assert inp["total"] == 0 and inp["warnings"] == ["the input is empty"]


def test_junk_after_the_last_compressed_stream_is_not_a_cut_stream(tmp_path):
    """Bytes after a complete stream that do not start another (a tool's trailer, a copy's
    junk) are ignored with a note saying how many, not reported as a stream cut off."""
    for name, pack in (("paste.txt.gz", gzip.compress), ("paste.txt.bz2", bz2.compress), ("paste.txt.xz", lzma.compress)):
        f = tmp_path / name
        f.write_bytes(pack(SNIFFER.encode()) + b"\0\0" + b"-- end of attachment --\n")
        plain = tmp_path / "paste.txt"
        plain.write_text(SNIFFER)
        events, ingest = load([str(f)])
        same, _ = load([str(plain)])
        codec = {"gz": "gzip", "bz2": "bzip2", "xz": "xz"}[name.rsplit(".", 1)[1]]
        assert ingest.inputs[0].warnings == [f"24 bytes after the last {codec} stream, not {codec}: ignored"], name
        assert events.drop(columns="source").equals(same.drop(columns="source")), name


def test_a_cut_stream_counts_its_content_in_bytes_one_or_many(tmp_path):
    """The note of a stream cut off says how much content came before: `1 byte`, `2 bytes`."""
    for content, said in ((b"x", "1 byte"), (b"xy", "2 bytes")):
        f = tmp_path / "paste.txt.gz"
        f.write_bytes(gzip.compress(content)[:-8])  # without the trailer (CRC-32, size)
        _, ingest = load([str(f)])
        assert ingest.inputs[0].warnings[0].startswith(f"gzip data cut off after {said} of content ("), said
