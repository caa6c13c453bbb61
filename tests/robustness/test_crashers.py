"""Replay every crasher the fuzzers found (crashers/README.md says where each came from):
each now reads with the project's own error or balanced books, never an exception."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ikeanalyze import convert
from ikeanalyze.errors import InputError
from ikeanalyze.ingest import InputReport
from ikeanalyze.sources import Blob, LoadOptions, _decompress, pcap
from tests.robustness.helpers import CRASHERS, load_bytes

FILES = sorted(p for p in CRASHERS.iterdir() if p.name != "README.md")


def test_every_crasher_is_documented():
    readme = (CRASHERS / "README.md").read_text()
    assert FILES and all(f"| {p.name} |" in readme for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_crasher_reads_cleanly(path):
    data = path.read_bytes()
    kind = path.name.split("-", 1)[0]
    if kind == "text":
        ingest = load_bytes(data, path.name)
        assert ingest is not None and ingest.inputs[0].total > 0
    elif kind == "pcap":
        report = InputReport(path.name, unit="frame")
        try:
            pcap.parse(Blob(path.name, None, data, data[:16]), report, LoadOptions(ike_tcp_ports=(443, 5500)))
        except InputError:
            return
        assert sum(report.accounting.values()) == report.total
    elif kind == "gzip":
        try:
            _decompress(Blob(path.name, None, data, data[:16]))
        except InputError:
            return
    elif kind == "convert":
        try:
            convert.frames_of(Blob(path.name, None, data, data[:16]), datetime(2026, 1, 1, tzinfo=timezone.utc), True)
        except InputError:
            return
    else:
        pytest.fail(f"unknown crasher kind {kind!r}")


def test_an_impossible_pcapng_timestamp_keeps_the_frame_and_the_clock():
    data = (CRASHERS / "pcap-pcapng-timestamp-past-int64.pcapng").read_bytes()
    from ikeanalyze.sources import load

    events, ingest = load([Blob("x.pcapng", None, data, data[:16])])
    assert list(events["ref"]) == [1, 2, 3]
    assert list(events["t"]) == [0.0, 0.0, 1.0]  # frame 2 keeps frame 1's time; t is not thrown off
    assert ingest.inputs[0].warnings == [
        "frame 2: impossible timestamp (high word 0xeb883c4a); such frames keep the time of the frame before"]


def test_an_epoch_stamp_past_year_2262_keeps_the_line_without_a_time():
    data = (CRASHERS / "text-tcpdump-epoch-past-year-9999.txt").read_bytes()
    from ikeanalyze.sources import load

    events, ingest = load([Blob("x.txt", None, data, data[:16])])
    assert list(events["ref"]) == [1, 2]
    assert events["time"].isna().tolist() == [True, False]
    assert str(events["time"].iloc[1]) == "2023-11-14 22:13:20.286816"
    assert ingest.inputs[0].warnings == [
        "1 line with an epoch stamp past the year 2262 (a mangled line), read with no time"]


REPORTED = [p for p in FILES if p.name.split("-", 1)[0] in ("text", "pcap")]


@pytest.mark.parametrize("path", REPORTED, ids=[p.name for p in REPORTED])
def test_crasher_reports_in_every_format(path):
    """What a mangled input loads into must also reach every report: a time the table holds
    but a report's arithmetic could not (a `-tt` stamp in 2286 crashed the HTML chart)."""
    from ikeanalyze import api

    data = path.read_bytes()
    try:
        events, ingest = api.load([Blob(path.name, None, data, data[:16])])
    except InputError:
        return
    d = api.diagnose(events, ingest)
    for fmt in ("terminal", "json", "markdown", "html"):
        assert api.render(d, fmt)


FAR_STAMPS = {
    # a `-tt` epoch with one digit mangled: 2286, within year 9999 but past what pandas holds
    "tcpdump-epoch-2286": ("9999999999.208180 IP 10.0.0.1.500 > 10.0.0.2.500: isakmp: phase 1 I ident\n"
                           "1700000001.208180 IP 10.0.0.2.500 > 10.0.0.1.500: isakmp: phase 1 R ident\n",
                           "1 line with an epoch stamp past the year 2262 (a mangled line), read with no time"),
    "tcpdump-date-3000": ("3000-01-01 10:00:00.000000 IP 10.0.0.1.500 > 10.0.0.2.500: isakmp: phase 1 I ident\n"
                          "2024-01-01 10:00:01.208180 IP 10.0.0.2.500 > 10.0.0.1.500: isakmp: phase 1 R ident\n",
                          "1 line stamped outside 1677-2262 (line 1: a mangled stamp), read with no time"),
    "sniffer-year-0201": ("2024-01-01 10:00:00.000000 port1 in 10.0.0.1.500 -> 10.0.0.2.500: udp 300\n"
                          "0201-01-01 10:00:01.000000 port1 out 10.0.0.2.500 -> 10.0.0.1.500: udp 300\n",
                          "1 line stamped outside 1677-2262 (line 2: a mangled stamp), read with no time"),
}


@pytest.mark.parametrize("name", sorted(FAR_STAMPS))
def test_a_stamp_the_table_cannot_hold_keeps_no_time_and_every_report_renders(name):
    from ikeanalyze import api

    text, warning = FAR_STAMPS[name]
    data = text.encode()
    events, ingest = api.load([Blob("x.txt", None, data, data[:16])])
    assert len(events) == 2 and events["time"].isna().sum() == 1
    assert not events["t"].isna().all() and events["t"].max() < 2
    assert ingest.inputs[0].warnings == [warning]
    d = api.diagnose(events, ingest)
    for fmt in ("terminal", "json", "markdown", "html"):
        assert api.render(d, fmt)
