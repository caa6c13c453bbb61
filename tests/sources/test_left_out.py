"""A sniffer or tcpdump run whose count lines say it printed more packets than the paste
holds (the scroll-back lost the first ones, the middle was cut out): the input warns, with
the run's lines and both counts, and the findings built on packets that never came say the
missing one may be among those left out. A run held whole, one held with more packet lines
than its count (two runs under one count), and one with no count line are not judged.

Every paste is written here (RFC 5737 addresses); each test holds a short run beside the
runs that must stay silent, so it fails where nothing is told."""

from __future__ import annotations

import json

from ikeanalyze import api
from ikeanalyze.sources import LoadOptions
from tests.conftest import run_cli

TAIL = "so a packet missing from it may still have crossed the wire"


def _sniffer(cmd: str, packets: list[str], received: int | None, filt: str = "udp port 500") -> list[str]:
    """One FortiGate sniffer run: the command, its header, the packet lines, and (unless
    ``received`` is None: a paste cut before the end) the count lines."""
    lines = [f"FGT-A # diagnose sniffer packet wan1 '{filt}' {cmd}", "interfaces=[wan1]", f"filters=[{filt}]",
             *packets]
    return lines + (["^C", f"{received} packets received by filter", "0 packets dropped by kernel", ""]
                    if received is not None else [""])


def _v4(k: int, src: str = "198.51.100.1", dst: str = "192.0.2.9") -> str:
    return f"2024-05-02 10:{k // 60:02d}:{k % 60:02d}.100330 wan1 out {src}.500 -> {dst}.500: udp 448"


def _load(tmp_path, lines: list[str]):
    paste = tmp_path / "paste.txt"
    paste.write_text("\n".join(lines) + "\n")
    [report] = api.load([str(paste)], LoadOptions())[1].inputs
    return report


def _told(report) -> list[str]:
    return [w for w in report.warnings if "left out of the paste" in w]


def test_a_short_verbosity_1_run_is_told_with_its_lines_and_counts(tmp_path):
    v1 = [f"{k}.117204 192.0.2.10.500 -> 198.51.100.7.500: udp 300" for k in range(3, 6)]
    report = _load(tmp_path, _sniffer("1 0", v1, 9))
    assert _told(report) == [f"lines 1-7: the sniffer run counted 9 packets (line 8), the paste holds 3 of them: "
                             f"up to 6 packets were left out of the paste (a few may not have been printed before it was stopped), {TAIL}"]
    assert report.left_out == [(1, 8, 6)]


def test_only_the_short_run_of_a_paste_is_told(tmp_path):
    whole = _sniffer("4 0 l", [_v4(1), _v4(2)], 2)  # lines 1-9: held whole
    short = _sniffer("4 0 l", [_v4(10), _v4(11)], 5)  # lines 10-18: 3 left out
    # Two runs under one count (the first pasted without its own): more packet lines than it says.
    merged = _sniffer("4 0 l", [_v4(20), _v4(21)], None) + [_v4(22), _v4(23), "^C", "2 packets received by filter",
                                                           "0 packets dropped by kernel", ""]
    cut = _sniffer("4 0 l", [_v4(30)], None)  # a paste cut before the count: nothing to compare
    report = _load(tmp_path, whole + short + merged + cut)
    assert _told(report) == [f"lines 10-15: the sniffer run counted 5 packets (line 16), the paste holds 2 of them: "
                             f"up to 3 packets were left out of the paste (a few may not have been printed before it was stopped), {TAIL}"]
    assert report.left_out == [(10, 16, 3)]


HEX = ["0x0000\t 0000 0000 0001 0009 0f09 0001 0800 4500\t..............E.",
       "0x0010\t 0038 0001 0000 4011 f751 c633 6401 c000\t.8....@..Q.3d...",
       "0x0020\t 0209 01f4 01f4 0024 0000 0102 0304 0506\t.......$........",
       "0x0030\t 0708 0000 0000 0000 0000 2120 2208 0000\t..........!.\"...",
       "0x0040\t 0000 0000 001c                          \t......", ""]


def test_a_verbosity_6_run_stopped_by_its_count_printed_that_count(tmp_path):
    """The sniffer's `received by filter` may count packets its filter passed after the count
    the command asked for was printed: what it printed is the smaller."""
    header = "2024-05-02 10:00:0{}.100330 wan1 out 198.51.100.1.500 -> 192.0.2.9.500: udp 28"
    held_all = _sniffer("6 2 l", [header.format(1), *HEX, header.format(2), *HEX], 4)  # 2 asked, 2 held
    short = _sniffer("6 3 l", [header.format(5), *HEX, header.format(6), *HEX], 5)
    report = _load(tmp_path, held_all + short)
    first = len(held_all) + 1
    assert _told(report) == [
        f"lines {first}-{len(held_all + short) - 3}: the sniffer run printed 3 packets (the count its command asked "
        f"for, line {first}; 5 received by filter, line {len(held_all + short) - 2}), the paste holds 2 of them: "
        f"1 packet was left out of the paste, {TAIL}"]


def _tcpdump(packets: list[str], captured: int | None, received: int) -> list[str]:
    return (["admin@edge:~$ sudo tcpdump -ni eth0 udp port 500",
             "tcpdump: verbose output suppressed, use -v[v]... for full protocol decode",
             "listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes", *packets, "^C"]
            + ([f"{captured} packets captured"] if captured is not None else [])
            + [f"{received} packets received by filter", "0 packets dropped by kernel"])


def test_tcpdump_printed_what_it_says_it_captured(tmp_path):
    """`N packets captured` is what tcpdump printed; its `received by filter` may count more
    (not yet printed when it stopped), so a run that shows no `captured` line is not judged."""
    pkt = "10:00:0{}.100330 IP 198.51.100.1.500 > 192.0.2.9.500: isakmp: parent_sa ikev2_init[I]"
    short = _tcpdump([pkt.format(k) for k in range(3)], 7, 9)  # lines 1-7, counts at 8-10
    whole = _tcpdump([pkt.format(k) for k in range(3)], 3, 9)
    no_captured = _tcpdump([pkt.format(1)], None, 9)
    report = _load(tmp_path, short + whole + no_captured)
    assert _told(report) == [f"lines 1-7: the tcpdump run printed 7 packets (line 8), the paste holds 3 of them: "
                             f"4 packets were left out of the paste, {TAIL}"]


def test_packet_records_a_web_copy_ran_together_are_each_counted(tmp_path):
    """Two packet records on one line (a web copy that lost its line breaks) are two of the
    packets the run printed, not one."""
    together = _sniffer("4 0 l", [_v4(1) + " " + _v4(2), _v4(3) + " " + _v4(4)], 4)
    short = _sniffer("4 0 l", [_v4(10)], 2)
    report = _load(tmp_path, together + short)
    assert _told(report) == [f"lines 10-14: the sniffer run counted 2 packets (line 15), the paste holds 1 of them: "
                             f"up to 1 packet was left out of the paste (a few may not have been printed before it was stopped), {TAIL}"]


def _sa_init(peer: str, first: int) -> list[str]:
    """An IKE_SA_INIT sent 5 times with no answer (IKE105)."""
    return [_v4(first + d, dst=peer) for d in (0, 2, 6, 14, 30)]


def test_a_finding_in_the_short_run_says_the_answer_may_have_been_left_out(tmp_path):
    short = _sniffer("4 0 l", _sa_init("192.0.2.9", 0), 8)
    whole = _sniffer("4 0 l", _sa_init("192.0.2.77", 100), 5)
    paste = tmp_path / "paste.txt"
    paste.write_text("\n".join(short + whole) + "\n")
    doc = json.loads(run_cli("analyze", str(paste), "--format", "json").stdout)
    found = {f["peer"]: f for f in doc["findings"] if f["code"] == "IKE105"}
    assert set(found) == {"192.0.2.9:500", "192.0.2.77:500"}
    assert found["192.0.2.9:500"]["facts"]["paste_left_out"] == {str(paste): 3}
    assert "Caveat: the paste leaves out packets its capture printed" in found["192.0.2.9:500"]["message"]
    assert "paste_left_out" not in found["192.0.2.77:500"]["facts"]
    assert "leaves out" not in found["192.0.2.77:500"]["message"]
    assert doc["inputs"][0]["warnings"] == [
        f"lines 1-9: the sniffer run counted 8 packets (line 10), the paste holds 5 of them: up to 3 packets were "
        f"left out of the paste (a few may not have been printed before it was stopped), {TAIL}"]


def test_the_terminal_shows_the_warning(tmp_path):
    paste = tmp_path / "paste.txt"
    paste.write_text("\n".join(_sniffer("4 0 l", [_v4(1), _v4(2)], 12)) + "\n")
    out = run_cli("analyze", str(paste)).stdout.decode()
    # The Inputs table wraps its last column: its cells, joined again.
    cells = " ".join(line.rsplit("│", 1)[-1].strip() for line in out.split("Inputs", 1)[1].splitlines())
    assert (f"warning: lines 1-6: the sniffer run counted 12 packets (line 7), the paste holds 2 of them: up to 10 "
            f"packets were left out of the paste (a few may not have been printed before it was stopped), {TAIL}") in cells


def test_a_line_not_read_may_be_one_of_the_packets(tmp_path):
    """A mangled line inside the run (no form) may be a packet the paste holds: the claim
    counts it as one (`at least`); a sniffer stopped by hand may not have printed a few it
    counted (`up to`): both, `about`."""
    mangled = "2024-05-02 10:00:07.10033 wan1 out 198.51.100.1.500 -> 192.0.2"
    report = _load(tmp_path, _sniffer("4 0 l", [_v4(1), "", mangled, "", _v4(3)], 5))
    assert _told(report) == [f"lines 1-9: the sniffer run counted 5 packets (line 10), the paste holds 2 of them and "
                             f"1 line not read: about 2 packets were left out of the paste (a few may not have been printed before it was stopped), {TAIL}"]


def test_a_run_whose_packets_went_to_a_file_or_a_pipe_is_not_judged(tmp_path):
    """tcpdump writing to a file (`-w`) prints no packet, and one piped to grep prints only
    the lines grep keeps: their `captured` counts packets the paste was never to hold. A
    quoted `>` or `||` is the filter's, not a redirection: that run is judged."""
    pkt = "10:00:0{}.100330 IP 198.51.100.1.500 > 192.0.2.9.500: isakmp: parent_sa ikev2_init[I]"
    listening = "listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes"
    to_file = ["admin@edge:~$ sudo tcpdump -ni eth0 -w /tmp/ike.pcap udp port 500", "tcpdump: " + listening, "^C",
               "12 packets captured", "12 packets received by filter", "0 packets dropped by kernel"]
    grepped = ["admin@edge:~$ sudo tcpdump -lni eth0 | grep 192.0.2.9",
               "tcpdump: verbose output suppressed, use -v[v]... for full protocol decode", listening,
               *[pkt.format(k) for k in range(3)], "^C", "1500 packets captured", "1502 packets received by filter",
               "0 packets dropped by kernel"]
    quoted = ["admin@edge:~$ sudo tcpdump -ni eth0 'udp port 500 || (udp and len > 1400)'",
              "tcpdump: verbose output suppressed, use -v[v]... for full protocol decode", listening,
              *[pkt.format(k) for k in range(2)], "^C", "4 packets captured", "4 packets received by filter",
              "0 packets dropped by kernel"]
    report = _load(tmp_path, to_file + grepped + quoted)
    first = len(to_file + grepped) + 1
    assert _told(report) == [f"lines {first}-{first + 5}: the tcpdump run printed 4 packets (line {first + 6}), the "
                             f"paste holds 2 of them: 2 packets were left out of the paste, {TAIL}"]
