"""Several capture points in one paste (analysis/views.py): the two ends' sniffer runs, an HA
pair's members, two runs of one FortiGate whose relative clocks start again. Each is a view
of its own: its packets make its own flows, its findings name it, the timeline keeps the
runs apart and the HTML report gives each its lanes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import ikeanalyze
from ikeanalyze import api
from ikeanalyze.analysis import nextsteps
from ikeanalyze.analysis.context import Context
from ikeanalyze.analysis.views import runs_at, views
from ikeanalyze.ingest import CaptureRun
from ikeanalyze.sources import Blob

FIXTURES = Path(__file__).resolve().parents[1] / "rules" / "fixtures"
TWO_FORTIGATES = FIXTURES / "IKE108" / "quiet-one-paste-two-fortigates-healthy" / "input.txt"
TWO_RUNS = FIXTURES / "IKE108" / "quiet-one-paste-two-runs-healthy" / "input.txt"
SECOND_RUN_ONE_WAY = FIXTURES / "IKE108" / "fires-one-paste-second-run-esp-one-way" / "input.txt"

HQ, BR = "203.0.113.5", "198.51.100.7"


def _labels(text: str, shown_runs: bool = False) -> list[str | None]:
    """The views of a paste in order; ``shown_runs``: given the sniffer runs the paste shows."""
    data = text.encode()
    events, report = api.load([Blob("paste.txt", None, data, data[:16])])
    v = views(events, {r.source: r.capture_runs for r in report.inputs} if shown_runs else None)
    return None if v is None else list(dict.fromkeys(v.dropna()))


def _run(stamps: list[str], host: str | None = None) -> str:
    head = f"{host} # diagnose sniffer packet any 'port 4500' 4\n" if host else ""
    return head + "".join(f"{s} wan1 out {HQ}.4500 -> {BR}.4500: udp 116\n" for s in stamps)


def test_each_fortigate_of_a_paste_is_a_view():
    assert _labels(TWO_FORTIGATES.read_text()) == ["HQ-FGT", "BR-FGT"]


def test_a_relative_clock_that_starts_again_is_another_run_of_that_device():
    assert _labels(TWO_RUNS.read_text()) == ["HQ-FGT run 1", "HQ-FGT run 2"]
    # Under no named prompt the runs are the paste's, numbered in order.
    assert _labels(_run(["0.100000", "2.100000"]) + _run(["0.300000", "2.300000"])) == ["run 1", "run 2"]


def test_one_run_or_one_time_axis_is_one_view():
    assert _labels(_run(["0.100000", "2.100000", "4.100000"], "HQ-FGT")) is None
    # Absolute stamps are one clock: a second run of the same FortiGate goes on from the first.
    abs_runs = (_run(["2026-03-04 10:00:00.100000", "2026-03-04 10:00:02.100000"], "HQ-FGT")
                + _run(["2026-03-04 10:05:00.100000", "2026-03-04 10:05:02.100000"], "HQ-FGT"))
    assert _labels(abs_runs) is None


def test_packets_printed_a_little_out_of_order_are_one_run():
    # A stamp 21 µs before the one above it is the capture's order, not a run started again.
    assert _labels(_run(["0.100000", "5.300021", "5.300000", "7.100000"])) is None
    assert _labels(_run(["0.100000", "5.300000"]) + _run(["0.200000", "2.100000"])) == ["run 1", "run 2"]


def test_a_stamp_printed_early_in_one_shown_run_is_that_run():
    # 5 ms back in the run's first second (the SA_INIT's answer printed by another CPU):
    # no command between them, one run; a command between two runs is a second run even
    # when its clock goes back only 0.1 s.
    assert _labels(_run(["0.310000", "0.305000", "0.350000", "2.350000"], "HQ-FGT"), shown_runs=True) is None
    assert _labels(_run(["0.500000", "0.530000"], "HQ-FGT") + _run(["0.400000", "2.400000"], "HQ-FGT"),
                   shown_runs=True) == ["HQ-FGT run 1", "HQ-FGT run 2"]


def test_the_timeline_keeps_the_runs_of_a_relative_clock_apart():
    d = ikeanalyze.analyze([str(SECOND_RUN_ONE_WAY)])
    texts = [m.text for m in d.timeline]
    # The second run starts at 0.3 s of its own clock, before the first run's 0.5 s: it is
    # still told after the first run, not interleaved with it.
    assert [t.rsplit(", in ", 1)[-1] for t in texts] == ["HQ-FGT's first run", "HQ-FGT's second run"]
    assert texts[0].startswith("traffic both ways on UDP 4500")
    assert texts[1].startswith("ESP from 203.0.113.5 to 198.51.100.7 with nothing coming back")


def test_the_html_report_gives_each_fortigate_its_lanes():
    d = ikeanalyze.analyze([str(TWO_FORTIGATES)])
    html = api.render(d, "html")
    assert "203.0.113.5:4500 on HQ-FGT" in html
    assert "198.51.100.7:4500 on BR-FGT" in html


def test_a_line_is_in_the_last_run_starting_at_or_above_it_until_that_run_ends() -> None:
    runs = [CaptureRun(3, 5, "port 500"), CaptureRun(8, 9, "")]
    at, inside = runs_at(np.array([1, 3, 5, 6, 8, 9, 12], dtype=np.float64), runs)
    assert at.tolist() == [-1, 0, 0, 0, 1, 1, 1]
    assert inside.tolist() == [False, True, True, False, True, True, False]
    at, inside = runs_at(np.array([4.0]), [])
    assert (at.tolist(), inside.tolist()) == ([-1], [False])


def test_the_next_step_lists_a_pastes_runs_and_the_packets_under_none_in_line_order() -> None:
    """The packets a prompt left under no run come after the run the prompt ended, not
    first: the step names the runs in the order the paste shows them."""
    packet = f"wan1 out {HQ}.500 -> {BR}.500: udp 116\n"
    text = (f"FGT # diagnose sniffer packet wan1 'port 500' 4\n1.000000 {packet}FGT # get system status\n"
            f"2.000000 {packet}FGT # diagnose sniffer packet wan1 'host {BR}' 4\n3.000000 {packet}")
    events, report = api.load([Blob("paste.txt", data=text.encode())])
    found = nextsteps._packet_runs(Context(events, report))
    assert [None if r is None else (r.first, r.filter) for r in found] == [(1, "port 500"), None, (5, f"host {BR}")]
