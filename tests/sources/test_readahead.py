"""The read-ahead worker (ikeanalyze.readahead): the capture reader's events and accounting
are the same whether a forked worker walked the records or the reader did, on whole,
cut-off and damaged captures; anything unexpected falls back to the in-process walk."""

from __future__ import annotations

import json
import os
import struct
import time
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
    yield _spied(monkeypatch, "take")
    readahead._PENDING.clear()


def _spied(monkeypatch, name: str) -> list:
    """What ``readahead.<name>`` gives the readers, from now on, in order."""
    taken: list = []
    take = getattr(readahead, name)

    def spy(path):
        got = take(path)
        taken.append(got)
        return got

    monkeypatch.setattr(readahead, name, spy)
    return taken


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


@pytest.mark.parametrize("source, threshold, take", [
    ("pcap/tcpdump_isakmp4500.pcap", "MIN_BYTES", "take"),
    ("terminal_logs/seed.securecrt-stamps.txt", "TEXT_MIN_BYTES", "take_text"),
])
def test_cli_jobs_do_not_change_the_report(tmp_path, monkeypatch, source, threshold, take):
    monkeypatch.setattr(readahead, threshold, 0)
    path = tmp_path / Path(source).name
    path.write_bytes((DATA / source).read_bytes())
    taken = _spied(monkeypatch, take)
    reports = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}.json"
        result = CliRunner().invoke(app, ["analyze", str(path), "--format", "json", "-o", str(out), "--jobs", jobs])
        assert result.exit_code == 0, result.output
        report = json.loads(out.read_text())
        report.pop("generated_at", None)
        reports.append(report)
    assert [t is not None for t in taken] == [False, True]  # the --jobs 2 run's worker was used
    assert not readahead._PENDING and not readahead._TEXTS
    assert reports[0] == reports[1] and reports[0]["inputs"][0]["total"] > 0 and reports[0]["findings"]


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


# ------------------------------------------------------------------ text read ahead
TEXTS = sorted(p for d in ("terminal_logs", "sniffer") for p in (DATA / d).glob("*.txt") if p.name != "SOURCES.md")


@pytest.fixture
def any_text(monkeypatch):
    """Read ahead every text input, however small, and record what the reader was given."""
    monkeypatch.setattr(readahead, "TEXT_MIN_BYTES", 0)
    yield _spied(monkeypatch, "take_text")
    readahead._TEXTS.clear()


def _same_text(path: Path, taken: list, *, used: bool = True) -> None:
    """Load ``path`` after starting a text worker, then without: the same events,
    accounting and warnings (or the same error); ``used``: the reader took the worker's
    lines (else the worker left the file to it)."""
    assert readahead.start([str(path)], jobs=2) == 1
    outcomes = []
    for _ in range(2):
        try:
            outcomes.append(_load(path))
        except InputError as exc:
            outcomes.append(str(exc))
    if used:
        assert taken[0] is not None and taken[1:] in ([], [None])  # the second load read in-process
        assert not readahead._TEXTS
    else:  # (a compressed file is not asked for: its bytes are had by decompressing)
        assert set(map(type, taken)) <= {type(None)}
    if isinstance(outcomes[0], str):
        assert outcomes[0] == outcomes[1]
        return
    pd.testing.assert_frame_equal(outcomes[0][0], outcomes[1][0])
    assert outcomes[0][1] == outcomes[1][1]


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: p.name)
def test_text_worker_gives_the_same_events(path, any_text):
    _same_text(path, any_text)


BASE_TEXT = (DATA / "sniffer" / "32_sniffer_v1_relative_noiface.txt").read_bytes()


@pytest.mark.parametrize(
    "name, data",
    [
        ("html-escaped", BASE_TEXT.replace(b"->", b"-&gt;")),
        ("nbsp", BASE_TEXT.replace(b" ", "\u00a0".encode(), 40)),
        ("crlf", BASE_TEXT.replace(b"\n", b"\r\n")),
        ("utf16", BASE_TEXT.decode("utf-8", "replace").encode("utf-16")),
        ("cp1252-note", BASE_TEXT + "note: caf\u00e9 \u2013 ok\n".encode("cp1252")),
        ("no-final-newline", BASE_TEXT.rstrip(b"\n")),
        ("empty", b""),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_text_worker_cleans_as_the_reader_does(tmp_path, any_text, name, data):
    path = tmp_path / f"{name}.txt"
    path.write_bytes(data)
    _same_text(path, any_text)


@pytest.mark.parametrize(
    "name, data",
    [
        ("short-lines", b"a\n" * 5000),  # more lines than the shared block has room for
        ("growing", "\u00e9\n".encode("cp1252") * 500),  # Windows-1252 read as UTF-8: twice the bytes
        ("gzip", __import__("gzip").compress(BASE_TEXT)),
        ("png", b"\x89PNG\r\n\x1a\n" + bytes(200)),
        ("binary", bytes(range(256)) * 40),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_files_the_text_worker_leaves_to_the_reader(tmp_path, any_text, name, data):
    path = tmp_path / f"{name}.txt"
    path.write_bytes(data)
    _same_text(path, any_text, used=False)


def test_a_text_changed_after_the_fork_is_read_again(tmp_path, any_text):
    path = tmp_path / "t.txt"
    path.write_bytes(BASE_TEXT)
    assert readahead.start([str(path)], jobs=2) == 1
    (worker,) = readahead._TEXTS.values()
    while memoryview(worker.shared)[:8].cast("q")[0] != 1:  # the worker has read and cut the file
        time.sleep(0.01)
    other = (DATA / "terminal_logs" / "seed.wrap80.txt").read_bytes()
    path.write_bytes(other)
    os.utime(path, ns=(1, 1))
    events, _ = _load(path)
    assert any_text == [None]
    now = tmp_path / "now.txt"
    now.write_bytes(other)
    pd.testing.assert_frame_equal(events, _load(now)[0].assign(source=events["source"]))


def test_text_workers_only_for_large_files_and_spare_jobs(tmp_path, monkeypatch):
    texts = []
    for k in range(3):
        texts.append(tmp_path / f"{k}.txt")
        texts[-1].write_bytes(BASE_TEXT)
    assert readahead.start([str(p) for p in texts], jobs=2) == 0  # below TEXT_MIN_BYTES
    monkeypatch.setattr(readahead, "TEXT_MIN_BYTES", len(BASE_TEXT))
    assert readahead.start([str(p) for p in texts], jobs=1) == 0
    assert readahead.start([str(p) for p in texts], jobs=3) == 2  # one process of the jobs is this one
    assert readahead.take_text(str(texts[0])) is not None and readahead.take_text(str(texts[0])) is None
    assert readahead.take_text(str(texts[1])) is not None and readahead.take_text(str(texts[2])) is None
