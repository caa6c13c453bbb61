"""An input warning or finding that counts one thing says it in the singular, its verb
agreeing: `the capture lost 1 packet`, `1 sniffer line (line 5) repeats an earlier line`,
`1 of 1 line`; never `1 packets`, `1 line(s)`, `1 event(s)`, `1 lines are`.

The inputs are tiny pastes (sniffer lines and hex dumps, tcpdump text, debug lines) and a
one-frame capture written here (RFC 5737 addresses), each holding one such thing.
"""

from __future__ import annotations

import re

import ikeanalyze
from ikeanalyze import api
from ikeanalyze.sources import LoadOptions
from tests.sources import pcapbuild as pb
from tests.sources import synthcaps

SENT = "0.918390 port1 out 192.0.2.1.500 -> 198.51.100.2.500: udp 300\n"
RUN = 'FGT # diagnose sniffer packet any "udp port 500" 4\ninterfaces=[any]\nfilters=[udp port 500]\n'
# A count of one before a plural noun, or a noun that hedges its plural.
DISAGREES = re.compile(r"\b1 (?:[A-Za-z-]+ )?(?:packets|lines|frames|events|bytes)\b|\((?:s)\)")


def _warnings(tmp_path, text: str) -> list[str]:
    paste = tmp_path / "paste.txt"
    paste.write_text(text)
    [report] = api.load([str(paste)], LoadOptions())[1].inputs
    return report.warnings


def test_a_run_that_dropped_one_packet_says_one_packet(tmp_path) -> None:
    said = _warnings(tmp_path, RUN + SENT + "1 packets received by filter\n1 packets dropped by kernel\n")
    assert said == ["line 6: 1 packet dropped by kernel: the capture lost 1 packet, so a packet missing from it "
                    "may still have crossed the wire"]


def test_one_repeated_sniffer_line_repeats_an_earlier_line(tmp_path) -> None:
    later = SENT.replace("0.918390", "2.918390", 1)
    said = _warnings(tmp_path, RUN + SENT + later + SENT)
    assert said == ["1 sniffer line (line 6) repeats an earlier line word for word, time stamps included, after "
                    "the time went back (overlapping pastes?): read once"]


def test_one_line_with_a_client_stamp_is_one_line_and_one_event(tmp_path) -> None:
    said = _warnings(tmp_path, "[2025-06-11 08:14:02] ike 0:to-branch9: comes "
                               "198.51.100.77:500->203.0.113.20:500,ifindex=7....\n")
    assert said[0].startswith("1 line begins with a time stamp added by the terminal client (line 1: ")
    assert "the terminal client's stamps (1 event), when" in said[1]
    assert not any(DISAGREES.search(w) for w in said), said


def test_one_unrecognised_line_is_one_line_in_ike901_and_ike903(tmp_path) -> None:
    paste = tmp_path / "note.txt"
    paste.write_text("hello there, this is not a log\n")
    d = ikeanalyze.analyze([str(paste)], LoadOptions(), select=["IKE901", "IKE903"])
    said = {f.code: f.message for f in d.all_findings()}
    assert f"{paste}: 1 of 1 line (100.0 %) matched no known form" in said["IKE901"]
    assert "(no events; 1 line: unrecognised 1): 1 line is of no form it knows" in said["IKE903"]
    assert "If it is IKE or IPsec output of another kind" in said["IKE903"]
    assert "it was not looked at" in said["IKE903"]
    assert not any(DISAGREES.search(m) or " they " in m for m in said.values()), said


def test_one_frame_on_a_link_layer_not_decoded_is_one_frame_in_ike903(tmp_path) -> None:
    capture = tmp_path / "usb.pcap"
    frame = pb.eth(pb.ipv4("192.0.2.7", "198.51.100.9", 50, synthcaps.esp(0xC0DE00A1, 1)))
    capture.write_bytes(pb.pcap([(1.0, frame)], linktype=189))  # Linux USB: not a network link
    d = ikeanalyze.analyze([str(capture)], LoadOptions(), select=["IKE901", "IKE903"])
    said = {f.code: f.message for f in d.all_findings()}
    assert f"{capture}: 1 of 1 frame (100.0 %) matched no known form" in said["IKE901"]
    assert "(no events; 1 frame: unrecognised 1): 1 frame is on a link layer it does not decode" in said["IKE903"]
    assert "If it carries IKE or IPsec, it was not looked at" in said["IKE903"]
    assert not any(DISAGREES.search(m) for m in said.values()), said


BARE = "sent IKE msg (ident_r1send): 203.0.113.20:500->198.51.100.41:500, len=156, vrf=0, id=aabbccddeeff0011/2233445566778899\n"
PREFIXED = "ike 0:to-branch4: comes 198.51.100.41:500->203.0.113.20:500,ifindex=7....\n"


def test_one_bare_debug_line_under_a_prefixed_one_says_whose_context_it_takes(tmp_path) -> None:
    """A debug line without its `ike` prefix takes the context of the prefixed line above it
    (ikedebug._bare_messages): the warning says so, in the singular, and says no context is
    known only where none is above."""
    said = _warnings(tmp_path, PREFIXED + BARE)
    assert said == ["1 IKE debug line without the `ike` prefix (line 2) read as the daemon's message, in the "
                    "context (VDOM, tunnel) of the prefixed line above it"]
    said = _warnings(tmp_path, BARE + PREFIXED + BARE)
    assert said == ["2 IKE debug lines without the `ike` prefix (line 1 first) read as the daemon's messages, in "
                    "the context (VDOM, tunnel) of the prefixed line above them where there is one, else with none known"]
    said = _warnings(tmp_path, PREFIXED.removeprefix("ike 0:to-branch4: ") + BARE)
    assert said == ["2 IKE debug lines without the `ike` prefix (line 1 first) read as the daemon's messages, with no "
                    "tunnel or VDOM known"]


def _dumps(n: int) -> str:
    """``n`` sniffer packets whose hex dump holds 28 of the 48 bytes their IP header says."""
    return "".join(f"0.{i + 1:06d} port2 in 192.0.2.1.500 -> 198.51.100.2.500: truncated-ip - 20 bytes missing!\n"
                   "0x0000\t 4500 0030 0001 0000 4011 0000 c000 0201\tE..0....@.......\n"
                   "0x0010\t c633 6402 01f4 01f4 001c 0000          \t............\n\n" for i in range(n))


def test_one_more_damaged_dump_is_one_packet_with_a_damaged_hex_dump(tmp_path) -> None:
    """Past the damaged dumps named one by one (hexdump.MAX_WARNINGS), the rest is counted:
    one more is one packet with a damaged hex dump."""
    from ikeanalyze.sources import hexdump

    for more, said in ((1, "1 more packet with a damaged hex dump"), (2, "2 more packets with damaged hex dumps")):
        said_all = _warnings(tmp_path, _dumps(hexdump.MAX_WARNINGS + more))
        assert said_all[hexdump.MAX_WARNINGS - 1].endswith(": hex dump holds 28 of 48 bytes; header says truncated-ip")
        assert said_all[hexdump.MAX_WARNINGS:] == [said]


def _deltas(*stamps: str) -> str:
    """NAT keepalives with `-ttt`-shaped stamps (from 00:00:00), in the order given."""
    return "".join(f"00:00:{s} IP 192.0.2.1.4500 > 198.51.100.2.4500: isakmp-nat-keep-alive\n" for s in stamps)


def test_tcpdump_stamps_that_go_back_once_say_once(tmp_path) -> None:
    """A few stamps from 00:00:00 that fall back by less than a second, once or twice: read as
    `-ttt` with a note that says how often they went back."""
    said = _warnings(tmp_path, _deltas("00.000000", "02.000000", "04.000000", "03.500000", "08.000000"))
    assert said == ["the 5 tcpdump stamps start at 0 s and go back once, by at most 0.5 s: read as -ttt (the time "
                    "since the previous packet); if they were printed with -ttttt (since the first packet) of "
                    "reordered packets, the last packet came 8 s after the first, not 17.5 s"]
    said = _warnings(tmp_path, _deltas("00.000000", "02.000000", "04.000000", "03.500000", "08.000000",
                                       "07.750000", "09.000000"))
    assert [w.split(": read as")[0] for w in said] == ["the 7 tcpdump stamps start at 0 s and go back 2 times, by "
                                                      "at most 0.5 s"]


def test_an_input_of_one_line_is_one_line_in_every_report(tmp_path) -> None:
    """The inputs table's total in the terminal, Markdown and HTML reports: `1 line`, `2 lines`."""
    for text, said in (("hello there\n", "1 line"), ("hello there\nand here\n", "2 lines")):
        paste = tmp_path / "note.txt"
        paste.write_text(text)
        d = ikeanalyze.analyze([str(paste)])
        assert f"│ {said} │" in api.render(d, "terminal"), said
        assert f"| {said} |" in api.render(d, "markdown"), said
        assert f'<td class="num">{said}</td>' in api.render(d, "html"), said


def test_a_count_as_a_line_printed_it_is_counted_as_its_number() -> None:
    """An event log's `sentbyte="1"` is a string: fromlog wrote its own `one if v == '1'
    else many` beside words.counted, which said `1 bytes sent` of a string `'1'`."""
    from ikeanalyze.words import counted

    assert counted("1", "byte sent", "bytes sent") == "1 byte sent"
    assert counted("12", "byte sent", "bytes sent") == "12 bytes sent"
    assert counted("0", "byte") == "0 bytes" and counted(1, "byte") == "1 byte"
