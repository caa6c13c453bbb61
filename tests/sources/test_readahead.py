"""The read-ahead worker (ikeanalyze.readahead): the capture reader's events and accounting
are the same whether a forked worker walked the records or the reader did, on whole,
cut-off and damaged captures; anything unexpected falls back to the in-process walk."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ikeanalyze import readahead
from ikeanalyze.cli import app
from ikeanalyze.errors import InputError
from ikeanalyze.sources import LoadOptions, load, pcap
from tests.sources import pcapbuild as pb

DATA = Path(__file__).resolve().parent.parent / "data"
CLASSIC = sorted(p for p in (DATA / "pcap").iterdir() if p.read_bytes()[:4] in readahead.PCAP_MAGIC)


@pytest.fixture(autouse=True)
def two_cpus(monkeypatch):
    """The worker is only started with a second CPU: these tests run on any machine."""
    monkeypatch.setattr(readahead.os, "cpu_count", lambda: 2)


@pytest.fixture
def any_size(monkeypatch):
    """Read ahead on the small test captures too, in chunks and batches of a few records
    (the reader takes the worker's offsets chunk by chunk), and record what the reader was
    given."""
    monkeypatch.setattr(readahead, "MIN_BYTES", 0)
    monkeypatch.setattr(readahead, "BATCH", 2)
    monkeypatch.setattr(pcap, "CHUNK", 3)
    taken: list = []
    take = readahead.take

    def spy(path):
        got = take(path)
        taken.append(got)
        return got

    monkeypatch.setattr(readahead, "take", spy)
    yield taken
    readahead._PENDING.clear()


def _load(path: Path) -> tuple[pd.DataFrame, list]:
    events, ingest = load([str(path)], LoadOptions())
    report = ingest.inputs[0]
    return events, [report.total, dict(report.accounting), list(report.warnings)]


def _same(path: Path, taken: list) -> None:
    """Load ``path`` with a worker's walk, then without: the same events and accounting."""
    assert readahead.start([str(path)], jobs=2) == 1
    ahead = _load(path)
    assert taken and taken[-1] is not None, "the reader did not use the worker's walk"
    assert not readahead._PENDING
    plain = _load(path)
    assert taken[-1] is None  # the second load walked in-process
    pd.testing.assert_frame_equal(ahead[0], plain[0])
    assert ahead[1] == plain[1]


@pytest.mark.parametrize("path", CLASSIC, ids=lambda p: p.name)
def test_worker_walk_gives_the_same_events(path, tmp_path, any_size):
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes())
    _same(copy, any_size)


def test_cut_off_and_damaged_captures_read_the_same(tmp_path, any_size):
    data = (DATA / "pcap" / "tcpdump_isakmp4500.pcap").read_bytes()
    for cut in (len(data) - 3, len(data) // 2, 200, 34, 30):  # 34, 30: inside the first record header
        path = tmp_path / f"cut{cut}.pcap"
        path.write_bytes(data[:cut])
        _same(path, any_size)
        assert _load(path)[1][1]["truncated"] == 1
    head = tmp_path / "head.pcap"  # cut inside the file header: the one-line error, the worker reaped
    head.write_bytes(data[:6])
    assert readahead.start([str(head)], jobs=2) == 1
    with pytest.raises(InputError, match="pcap file header cut short"):
        _load(head)
    assert not readahead._PENDING and any_size[-1] is not None
    damaged = bytearray(data)
    struct.pack_into("<I", damaged, 24 + 8, 0x7FFFFFF0)  # the first record's captured length
    path = tmp_path / "damaged.pcap"
    path.write_bytes(bytes(damaged))
    _same(path, any_size)


def test_a_worker_that_fails_mid_walk_is_walked_on_from_where_it_stopped(tmp_path, any_size, monkeypatch):
    """The reader takes what the worker published before it failed, then walks the rest."""
    path = tmp_path / "t.pcap"
    path.write_bytes((DATA / "pcap" / "tcpdump_isakmp4500.pcap").read_bytes())
    calls, walk = [], readahead.walk

    def failing(*args):  # runs in the forked worker: two batches, then a crash
        calls.append(1)
        if len(calls) > 2:
            raise RuntimeError("worker died")
        return walk(*args)

    monkeypatch.setattr(readahead, "walk", failing)
    assert readahead.start([str(path)], jobs=2) == 1
    monkeypatch.setattr(readahead, "walk", walk)  # the reader's own walk works
    ahead = _load(path)
    got = any_size[-1]
    assert got is not None and got.finished and not got.complete and got.count == 4
    plain = _load(path)
    pd.testing.assert_frame_equal(ahead[0], plain[0])
    assert ahead[1] == plain[1] and plain[1][0] > 4


def test_big_endian_and_nanosecond_captures(tmp_path, any_size):
    frames = [(1772148000.5 + i, pb.eth(pb.ipv4("10.0.0.1", "10.0.0.2", 17, pb.udp(4500, 4500, b"\xff"))))
              for i in range(5)]
    for big in (False, True):
        path = tmp_path / f"be{big}.pcap"
        path.write_bytes(pb.pcap(frames, nanos=True, big=big))
        _same(path, any_size)


def test_a_file_changed_after_the_fork_is_walked_again(tmp_path, any_size):
    path = tmp_path / "c.pcap"
    data = (DATA / "pcap" / "tcpdump_ikev2four.pcap").read_bytes()
    path.write_bytes(data)
    assert readahead.start([str(path)], jobs=2) == 1
    path.write_bytes(data[: len(data) // 2])  # another size: not the file the worker walked
    os.utime(path, ns=(1, 1))
    events, (total, accounting, warnings) = _load(path)
    assert any_size == [None]
    assert accounting["truncated"] == 1 and total == len(events) + sum(v for k, v in accounting.items() if k != "event")


def test_only_large_classic_pcaps_with_two_jobs(tmp_path, monkeypatch):
    pcap = tmp_path / "a.pcap"
    pcap.write_bytes((DATA / "pcap" / "tcpdump_ikev2four.pcap").read_bytes())
    ng = tmp_path / "b.pcapng"
    ng.write_bytes((DATA / "pcap" / "scapy_ikev2_nat_t.pcapng").read_bytes())
    text = tmp_path / "c.txt"
    text.write_bytes(b"x" * 100)
    assert readahead.start([str(pcap)], jobs=2) == 0  # below MIN_BYTES
    monkeypatch.setattr(readahead, "MIN_BYTES", 0)
    assert readahead.start([str(pcap), str(ng), str(text), str(tmp_path), "-", "nope"], jobs=1) == 0
    assert readahead.start([str(ng), str(text), str(tmp_path), "-", "nope"], jobs=2) == 0
    assert readahead.start([str(pcap), str(pcap)], jobs=2) == 1  # one worker per file
    assert readahead.take(str(pcap)) is not None and readahead.take(str(pcap)) is None
    monkeypatch.setattr(readahead.os, "cpu_count", lambda: 1)
    assert readahead.start([str(pcap)], jobs=2) == 0  # one CPU: nothing to overlap with


def test_cli_jobs_do_not_change_the_report(tmp_path, monkeypatch):
    monkeypatch.setattr(readahead, "MIN_BYTES", 0)
    path = tmp_path / "t.pcap"
    path.write_bytes((DATA / "pcap" / "tcpdump_isakmp4500.pcap").read_bytes())
    reports = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}.json"
        result = CliRunner().invoke(app, ["analyze", str(path), "--format", "json", "-o", str(out), "--jobs", jobs])
        assert result.exit_code == 0, result.output
        report = json.loads(out.read_text())
        report.pop("generated_at", None)
        reports.append(report)
    assert not readahead._PENDING  # the --jobs 2 run's worker was taken
    assert reports[0] == reports[1] and reports[0]["inputs"][0]["total"] > 0


def test_cli_events_with_a_worker_writes_the_same_table(tmp_path, monkeypatch):
    monkeypatch.setattr(readahead, "MIN_BYTES", 0)
    path = tmp_path / "t.pcap"
    path.write_bytes((DATA / "pcap" / "tcpdump_ikev2four.pcap").read_bytes())
    started, start = [], readahead.start
    monkeypatch.setattr(readahead, "start", lambda paths, jobs: started.append(start(paths, jobs)) or started[-1])
    tables = []
    for jobs in ("2", "1"):
        out = tmp_path / f"j{jobs}.csv"
        result = CliRunner().invoke(app, ["events", str(path), "-o", str(out), "--jobs", jobs])
        assert result.exit_code == 0, result.output
        assert not readahead._PENDING  # taken by the reader
        tables.append(out.read_text())
    assert started == [1, 0]
    assert tables[0] == tables[1] and tables[0].count("\n") > 2
