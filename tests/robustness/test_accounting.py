"""Nothing lost: for every input file we hold, the accounting sums to its total, and the
total is the file's own count of lines (text) or records (captures), counted here without
the project's code (a line-break split; dpkt for pcap, a block walk for pcapng)."""

from __future__ import annotations

import codecs
import json
import re
import struct

import dpkt
import pytest

from ikeanalyze import ingest as ingest_mod
from ikeanalyze.api import load
from ikeanalyze.events import KINDS, ORIGINS
from tests.conftest import run_cli
from tests.robustness.helpers import check_books, input_files, rel

FILES = input_files()
CAPTURE_MAGIC = {b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


def _lines(data: bytes) -> int:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16")
    else:
        text = data.decode("utf-8", "replace")
    if not text:
        return 0
    # PuTTY logs end lines with CR CR LF: one line end, as a terminal shows it.
    parts = re.split(r"\r*\n|\r", text)
    return len(parts) - (parts[-1] == "")


def _pcapng_packets(data: bytes) -> int:
    """Packet blocks (enhanced, simple, obsolete) of every section, each read in its section's
    byte order. (dpkt's pcapng reader keeps the first section's and skips simple packet blocks.)"""
    off, n, endian = 0, 0, "<"
    while off + 12 <= len(data):
        if data[off : off + 4] == PCAPNG_MAGIC:
            endian = "<" if data[off + 8 : off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        btype, blen = struct.unpack_from(endian + "II", data, off)
        if blen < 12 or off + blen > len(data):
            break
        n += btype in (2, 3, 6)
        off += blen
    return n


def _records(path) -> int:
    with open(path, "rb") as f:
        if f.read(4) == PCAPNG_MAGIC:
            return _pcapng_packets(path.read_bytes())
        f.seek(0)
        return sum(1 for _ in dpkt.pcap.Reader(f))


def test_the_corpus_is_all_here():
    # A guard against an empty parametrisation passing silently.
    assert len(FILES) >= 100
    assert {p.suffix for p in FILES} >= {".txt", ".pcap", ".pcapng"}


@pytest.mark.parametrize("path", FILES, ids=[rel(p) for p in FILES])
def test_accounting_sums_to_the_files_own_count(path):
    events, ingest = load([str(path)])
    check_books(ingest)
    # Every kind and origin is one the schema names (ikeanalyze/events.py).
    assert set(events["kind"].dropna()) <= KINDS and set(events["origin"].dropna()) <= ORIGINS
    [report] = ingest.inputs
    data = path.read_bytes()
    if data[:4] in CAPTURE_MAGIC or data[:4] == PCAPNG_MAGIC:
        assert report.unit == "frame"
        assert report.total == _records(path), dict(report.accounting)
    else:
        assert report.unit == "line"
        assert report.total == _lines(data), dict(report.accounting)
    if report.accounting.get("truncated"):
        assert report.warnings, "a truncated input must say where"


def test_reports_show_counts_and_the_first_unrecognised_lines(tmp_path):
    """JSON, terminal and Markdown reports carry the counts and the first few unrecognised
    lines (in input order, at most ingest.MAX_EXAMPLES), so a reader sees what was not read."""
    junk = [f"note {i}: customer says the VPN drops" for i in range(9)]
    text = "\n".join(["ike 0:t:1: sent IKE msg (ident_r1send): 10.0.0.1:500->10.0.0.2:500, len=120, vrf=0, "
                      "id=0123456789abcdef/0000000000000000", "", *junk, ""])
    f = tmp_path / "notes.txt"
    f.write_text(text)
    p = run_cli("analyze", str(f), "--format", "json")
    assert p.returncode == 0, p.stderr.decode()
    [inp] = json.loads(p.stdout)["inputs"]
    # (the blank line keeps the first note from reading as the long record's terminal wrap)
    assert inp["total"] == 11 and inp["events"] == 1 and inp["accounting"]["unrecognised"] == 9
    shown = inp["unrecognised_examples"]
    assert [x["ref"] for x in shown] == list(range(3, 3 + ingest_mod.MAX_EXAMPLES))
    assert [x["text"] for x in shown] == junk[: ingest_mod.MAX_EXAMPLES]
    term = run_cli("analyze", str(f)).stdout.decode()
    assert "note 0: customer says the VPN drops" in term and "note 4:" in term and "note 5:" not in term
    md = run_cli("analyze", str(f), "--format", "markdown").stdout.decode()
    assert "note 0: customer says the VPN drops" in md
