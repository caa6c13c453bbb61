"""ikeanalyze.parallel: work split with a forked child gives what one process gives, and a
child that fails is redone here; the sniffer reader's byte tests are the same split."""

from __future__ import annotations

import errno
import functools
import json
import os
import pickle
import signal
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ikeanalyze import parallel
from ikeanalyze.ingest import IngestReport
from ikeanalyze.sources import Blob, LoadOptions, load_blob, sniffer
from tests.sources.test_fast_shape import _lines

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def split(monkeypatch):
    """Split at any size, as on a machine with two CPUs."""
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    with parallel.jobs(2):
        yield


def _square_into(out: np.ndarray):
    """Work over blocks of 10 rows: squares into ``out``, returns the block's pid and sum."""
    def work(blocks):
        res = []
        for k in blocks:
            out[k : k + 10] = np.arange(k, k + 10) ** 2
            res.append((os.getpid(), int(out[k : k + 10].sum())))
        return res
    return work


def test_halves_share_writes_and_return_in_order(split):
    assert parallel.enabled(1)
    out = parallel.zeros(100, np.int64, shared=True)
    res = parallel.halves(range(0, 100, 10), _square_into(out), split=True)
    assert (out == np.arange(100) ** 2).all()  # the child's half reached this process
    assert [s for _, s in res] == [int((np.arange(k, k + 10) ** 2).sum()) for k in range(0, 100, 10)]
    pids = {p for p, _ in res}
    assert os.getpid() in pids and len(pids) == 2


def test_a_failed_child_is_redone_here(split):
    parent = os.getpid()
    out = parallel.zeros(100, np.int64, shared=True)
    square = _square_into(out)

    def fragile(blocks):
        if os.getpid() != parent:
            raise MemoryError("the child fails")
        return square(blocks)

    res = parallel.halves(range(0, 100, 10), fragile, split=True)
    assert (out == np.arange(100) ** 2).all() and {p for p, _ in res} == {parent}


def test_a_child_killed_mid_write_is_redone_here(split, monkeypatch):
    """A child killed while it writes its part (the OOM killer, on a big input) sent part of
    a pickle: its part is done again here, not unpickled."""
    parent = os.getpid()
    fdopen = os.fdopen

    class Killed:
        def __init__(self, fd):
            self.fd = fd

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, data):
            os.write(self.fd, data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(parallel.os, "fdopen", lambda fd, mode="r", *a: Killed(fd)
                        if mode == "wb" and os.getpid() != parent else fdopen(fd, mode, *a))
    res = parallel.apart([1, 2], list(range(3, 2000)), lambda xs: [(os.getpid(), x) for x in xs], split=True)
    assert [x for _, x in res] == list(range(1, 2000)) and {p for p, _ in res} == {parent}


def test_the_child_says_nothing_on_the_terminal(split, capfd):
    """What the child's part prints (a warning, on stderr) never reaches the terminal, where
    the parent's progress line is."""
    parent = os.getpid()

    def work(xs):
        if os.getpid() != parent:
            print("the child on stdout")
            print("the child on stderr", file=sys.stderr)
        return list(xs)

    assert parallel.apart([1], [2, 3], work, split=True) == [1, 2, 3]
    out, err = capfd.readouterr()
    assert "child" not in out + err


def test_no_fork_to_be_had_is_done_here(split, monkeypatch):
    """A fork that fails (no memory for the child, a process limit) leaves the work to this
    process, and no pipe open."""
    def fail():
        raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(parallel.os, "fork", fail)
    fds = len(os.listdir("/proc/self/fd"))
    assert parallel.apart([1], [2, 3], lambda xs: [x * 2 for x in xs], split=True) == [2, 4, 6]
    assert len(os.listdir("/proc/self/fd")) == fds


def test_not_split_without_jobs_or_a_second_cpu(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    assert not parallel.enabled(10)  # --jobs 1 is the default outside the CLI
    with parallel.jobs(2):
        monkeypatch.setattr(parallel.os, "cpu_count", lambda: 1)
        assert not parallel.enabled(10)
        monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
        assert parallel.enabled(10)
        monkeypatch.setattr(parallel, "MIN_ROWS", 11)
        assert not parallel.enabled(10)
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    assert not parallel.enabled(10)  # the block restored --jobs 1


def _counted_forks(monkeypatch, min_rows: int = 0) -> list:
    """Work split from ``min_rows`` rows, as on a machine with two CPUs; each fork is
    counted in the list returned."""
    monkeypatch.setattr(parallel, "MIN_ROWS", min_rows)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    forks = []
    fork = os.fork
    monkeypatch.setattr(parallel.os, "fork", lambda: forks.append(1) or fork())
    return forks


def test_fast_shape_split_is_the_same(monkeypatch):
    lines = pa.array(_lines(7, 5000) * 20, pa.large_string())  # 100k lines: 4 blocks
    serial_fast, serial = sniffer.fast_shape(lines)
    forks = _counted_forks(monkeypatch)
    with parallel.jobs(2):
        fast, shape = sniffer.fast_shape(lines)
    assert forks == [1]
    assert (fast == serial_fast).all() and serial.proved.sum() > 30_000
    for name, value in vars(serial).items():
        np.testing.assert_array_equal(getattr(shape, name), value, err_msg=name)  # NaN equals NaN


def test_fast_shape_splits_only_for_sniffer_lines(monkeypatch):
    """The fork pays for lines read past the sniffer's stamp: a column of IKE debug lines
    (stamped too, but leaving at the interface) is read here, and read the same."""
    debug = [f"2024-03-12 18:07:{k % 60:02d}.761429 ike 0:to-FG2:267: received create-child request" for k in range(3000)]
    debug += ["ike 0:to-FG2: HA state master(2)"] * 17000
    lines = pa.array(debug, pa.large_string())
    serial_fast, _ = sniffer.fast_shape(lines)
    forks = _counted_forks(monkeypatch, 5000)
    monkeypatch.setattr(sniffer, "_BLOCK", 1024)  # blocks enough for two halves
    with parallel.jobs(2):
        fast, _ = sniffer.fast_shape(lines)
        assert forks == [] and (fast == serial_fast).all()
        sniffed = pa.array(_lines(7, 5000) * 4, pa.large_string())  # 20k lines, nearly all stamped
        sniffer.fast_shape(sniffed)
    assert forks == [1]


def test_sniffer_text_reads_the_same_split(split, monkeypatch):
    data = b"".join((DATA / "sniffer" / name).read_bytes() for name in sorted(os.listdir(DATA / "sniffer"))
                    if name.endswith(".txt")) * 3
    monkeypatch.setattr(sniffer, "_BLOCK", 64)  # ~1.4k lines: blocks enough for two halves
    forks = []
    fork = os.fork
    monkeypatch.setattr(parallel.os, "fork", lambda: forks.append(1) or fork())
    frames = []
    for jobs in (1, 2):
        with parallel.jobs(jobs):
            ingest = IngestReport()
            frames.append((load_blob(Blob("s.txt", None, data, data[:16]), LoadOptions(), ingest), ingest.inputs[0]))
        assert len(forks) == jobs - 1  # split only with two jobs
    pd.testing.assert_frame_equal(frames[0][0], frames[1][0])
    # The second and third copies repeat the first after the time went back: read once.
    assert frames[0][1].accounting == frames[1][1].accounting and len(frames[0][0]) > 60
    assert frames[0][1].accounting["duplicate"] > 100


def test_apart_returns_here_then_there(split):
    parent = os.getpid()
    res = parallel.apart([1, 2], [3, 4, 5], lambda xs: [(os.getpid(), x * x) for x in xs], split=True)
    assert [x for _, x in res] == [1, 4, 9, 16, 25]
    assert [p == parent for p, _ in res] == [True, True, False, False, False]  # the second part: the child's
    assert parallel.apart([1], [], lambda xs: [(os.getpid(), x) for x in xs], split=True) == [(parent, 1)]


# One story per rule (its first `fires-` fixture) and the samples: inputs where many rules
# find something, some of them in each group.
ROOT = Path(__file__).resolve().parent.parent
STORIES = sorted({min(p for p in code.glob("fires-*") if p.is_dir()) for code in (ROOT / "tests/rules/fixtures").glob("IKE*")
                  if any(code.glob("fires-*"))})


def _report(inputs: list[str], options: LoadOptions) -> dict:
    import ikeanalyze
    from ikeanalyze.report import model

    m = model.build(ikeanalyze.analyze(inputs, options))
    m.pop("generated", None)
    return m


@functools.cache
def _serial_reports() -> tuple[list, list, list]:
    cases = [[str(p) for p in sorted(case.iterdir()) if p.name.startswith("input")] for case in STORIES]
    cases += [[str(p)] for p in sorted((ROOT / "samples").iterdir()) if p.suffix in (".txt", ".pcap")]
    options = [LoadOptions(local=tuple(json.loads((case / "expected.json").read_text()).get("local", ())))
               for case in STORIES] + [LoadOptions()] * (len(cases) - len(STORIES))
    return cases, options, [_report(inputs, o) for inputs, o in zip(cases, options)]


@pytest.mark.parametrize("apart", ["as shipped", "all but IKE101"])
def test_rules_checked_in_two_processes_tell_the_same(monkeypatch, apart):
    """The diagnosis with the APART rules checked in a forked child is the serial one, on
    every story; with nearly every rule in the child, IKE108's note on NP offload (a list it
    leaves for the next steps) still reaches this process."""
    from ikeanalyze.rules import registry

    if apart != "as shipped":
        monkeypatch.setattr(registry, "APART", frozenset(set(registry.REGISTRY) - {"IKE101"}))
    cases, options, serial = _serial_reports()
    forks = _counted_forks(monkeypatch, min_rows=10**9)  # (the sniffer reader never splits here)
    monkeypatch.setattr(registry, "APART_EVENTS", 0)
    # (a child that fails is redone here and tells the same: only what came back counts)
    came, loads = [], pickle.loads
    monkeypatch.setattr(parallel.pickle, "loads", lambda data: came.append(1) or loads(data))
    with parallel.jobs(2):
        split = [_report(inputs, o) for inputs, o in zip(cases, options)]
    assert len(forks) == len(cases)  # every case's rules split, once
    assert len(came) == len(cases)  # and the child's findings taken
    for inputs, a, b in zip(cases, serial, split):
        assert a == b, inputs
    told = [m for m in serial if any("NP offload" in s for s in m.get("next_steps", []))]
    assert told and len(serial) > 30 and sum(len(m["findings"]) for m in serial) > 40


def test_not_split_off_linux(monkeypatch):
    """A fork after pandas and pyarrow are loaded is made on Linux only (macOS's system
    libraries are not safe in a forked copy of a process with threads)."""
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    with parallel.jobs(2):
        monkeypatch.setattr(parallel.sys, "platform", "linux")
        assert parallel.enabled(10)
        monkeypatch.setattr(parallel.sys, "platform", "darwin")
        assert not parallel.enabled(10)
