"""An input warning or finding that counts one thing says it in the singular, its verb
agreeing: `the capture lost 1 packet`, `1 sniffer line (line 5) repeats an earlier line`,
`1 of 1 line`; never `1 packets`, `1 line(s)`, `1 event(s)`, `1 lines are`.

The inputs are tiny pastes and a one-frame capture written here (RFC 5737 addresses), each
holding one such thing.
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


def test_one_more_damaged_dump_is_one_packet_with_a_damaged_hex_dump() -> None:
    """Past the damaged dumps named one by one, the rest is counted: one more is one packet
    with a damaged hex dump."""
    from types import SimpleNamespace

    from ikeanalyze.ingest import InputReport
    from ikeanalyze.sources import hexdump

    for more, said in ((1, "1 more packet with a damaged hex dump"), (2, "2 more packets with damaged hex dumps")):
        n = hexdump.MAX_WARNINGS + more
        report = InputReport("paste.txt")
        hexdump._report(SimpleNamespace(header_line=list(range(n)), notes=["cut short"] * n, orphan_lines=0), report)
        assert report.warnings[-1] == said


def test_an_input_of_one_line_is_one_line_in_every_report(tmp_path) -> None:
    """The inputs table's total in the terminal, Markdown and HTML reports: `1 line`, `2 lines`."""
    for text, said in (("hello there\n", "1 line"), ("hello there\nand here\n", "2 lines")):
        paste = tmp_path / "note.txt"
        paste.write_text(text)
        d = ikeanalyze.analyze([str(paste)])
        assert f"│ {said} │" in api.render(d, "terminal"), said
        assert f"| {said} |" in api.render(d, "markdown"), said
        assert f'<td class="num">{said}</td>' in api.render(d, "html"), said
