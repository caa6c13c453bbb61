"""tcpdump text end to end: the paste an engineer takes on the other end of the tunnel gives
the wire diagnosis its capture gives. The texts are tcpdump 4.99.3's own output for the
captures named (tests/data/tcpdump_text/SOURCES.md), so each story is checked twice: read
as the capture and read as the text."""

from __future__ import annotations

from datetime import datetime

import pytest

from ikeanalyze import api
from ikeanalyze.sources import LoadOptions
from tests.conftest import ROOT, analyze_json

TEXT = ROOT / "tests" / "data" / "tcpdump_text"
STORY = ROOT / "samples" / "forticlient-udp-fallback-tcp-capture.pcap"
CODES = {"IKE101", "IKE102", "IKE103", "IKE104"}


def findings(path) -> dict:
    d = api.analyze([str(path)], LoadOptions())
    return {f.code: f for f in d.all_findings()}


def same(a, b, refs: bool = True, times: bool = True) -> None:
    """Two findings say the same: peer, window, numbers (and evidence lines, when the text
    has one line a packet, as the capture has one frame)."""
    assert a.peer == b.peer
    assert a.t_start == pytest.approx(b.t_start) and (a.t_end is None) == (b.t_end is None)
    if times:
        assert (a.start, a.end) == (b.start, b.end)
    facts = dict(a.facts) if refs else {k: v for k, v in a.facts.items() if not k.endswith("_ref")}
    other = dict(b.facts) if refs else {k: v for k, v in b.facts.items() if not k.endswith("_ref")}
    if a.code == "IKE103":  # the capture decodes the prefix and the framed SA_INIT; the text only shows the 6 bytes
        facts.pop("how"), other.pop("how")
    assert facts == other
    if refs:
        assert [e.ref for e in a.evidence] == [e.ref for e in b.evidence]


@pytest.fixture(scope="module")
def capture():
    got = findings(STORY)
    assert set(got) == CODES
    return got


@pytest.mark.parametrize("name,refs,times", [
    ("forticlient-udp-stall.tttt.txt", True, True),  # -tttt
    ("forticlient-udp-stall.tt-e.txt", True, True),  # -tt -e
    ("forticlient-udp-stall.any.txt", True, False),  # -i any: In/Out given; time of day only
    ("forticlient-udp-stall.txt", True, False),  # default stamps: time of day, no date
    ("forticlient-udp-stall.names.txt", True, False),  # without -n
    ("forticlient-udp-stall.v.txt", False, True),  # -v: two lines a packet
    ("forticlient-udp-stall.ttt.txt", True, False),  # -ttt: since the previous packet
    ("forticlient-udp-stall.ttttt.txt", True, False),  # -ttttt: since the first
    # two packets 21 µs apart in the other order: `-00:00:00.000021`; -ttttt goes back once
    ("forticlient-udp-stall-reordered.ttt.txt", True, False),
    ("forticlient-udp-stall-reordered.ttttt.txt", True, False),
])
def test_udp_stall_story_as_capture(capture, name, refs, times):
    got = findings(TEXT / name)
    assert set(got) == CODES
    for code in CODES:
        same(got[code], capture[code], refs=refs, times=times)
    if not times:
        assert got["IKE101"].start is None  # no date in the stamps: no clock is made up


def test_udp_stall_story_through_the_cli():
    """IKE101/IKE102 with the addresses, ports, counts and times of the paste."""
    got = analyze_json("tests/data/tcpdump_text/forticlient-udp-stall.tttt.txt")
    by = {f["code"]: f for f in got["findings"]}
    for f in got["findings"]:
        for s in f.get("symptoms", []):
            by[s["code"]] = s
    assert {"IKE101", "IKE102"} <= set(by), list(by)
    k = by["IKE101"]
    assert k["peer"] == "10.3.2.150:59641"
    assert k["facts"]["keepalives"] == 8
    assert ("10.55.3.193:4500 sent 8 NAT keepalives to 10.3.2.150:59641 over 5 min 20 s "
            "(23:34:52.765 (line 12) to 23:40:12.765 (line 19)) while nothing at all arrived from it "
            "(keepalives are never answered: what matters is that the peer's own traffic stopped); "
            "last packet from the peer at 23:34:42.766 (line 9)") in k["message"]
    assert "with no reply" not in k["message"]  # a keepalive is never replied to: its silence proves nothing
    s = by["IKE102"]
    assert s["peer"] == "10.3.2.150:59641"
    assert s["facts"]["unanswered_by_kind"] == {"nat-keepalive": 8}  # the 2 ESP right after it are replies
    assert "stopped sending at 23:34:42.766 (line 9)" in s["message"]
    assert got["inputs"][0]["formats"] == ["tcpdump"]
    assert "IKE903" not in by and "IKE901" not in by


IKE107_CASES = ROOT / "tests" / "rules" / "fixtures" / "IKE107"
FRAGMENTED = IKE107_CASES / "fires-pcap-fragmented-auth-unanswered" / "input.pcap"
FRAGMENTED6 = IKE107_CASES / "fires-pcap-fragmented-auth-unanswered-ipv6" / "input.pcap"


@pytest.mark.parametrize("capture,name,peer", [
    (FRAGMENTED, "fragmented-auth-unanswered.txt", "198.51.100.2:4500"),
    (FRAGMENTED, "fragmented-auth-unanswered.names.txt", "198.51.100.2:4500"),
    (FRAGMENTED, "fragmented-auth-unanswered.v.txt", "198.51.100.2:4500"),
    (FRAGMENTED, "fragmented-auth-unanswered.vv.txt", "198.51.100.2:4500"),
    (FRAGMENTED, "fragmented-auth-unanswered.ttt.txt", "198.51.100.2:4500"),  # since the previous packet
    (FRAGMENTED6, "fragmented-auth-unanswered-ipv6.txt", "[2001:db8:100::2]:4500"),
    (FRAGMENTED6, "fragmented-auth-unanswered-ipv6.v.txt", "[2001:db8:100::2]:4500"),
])
def test_fragmented_auth_story_as_capture(capture, name, peer):
    """An IKE_AUTH sent 3 times as two IP fragments, never answered: IKE107 from the text as
    from the capture (found by a review: tcpdump 4.99 prints a later piece as `ip-proto-17`
    (IPv6: `frag (1232|880)`) and the first as a whole packet, so the text showed no
    fragment and IKE107 stayed quiet). The capture reassembles the pieces and names the SPIs
    and the size; the text (without -vv) names the exchange only, and IKE304 needs the SPIs."""
    want = findings(capture)
    got = findings(TEXT / name)
    assert set(got) == (set(want) if name.endswith(".vv.txt") else {"IKE107"})
    a, b = got["IKE107"], want["IKE107"]
    assert a.peer == b.peer == peer
    assert a.t_start == pytest.approx(b.t_start, abs=1e-3) and a.t_end == pytest.approx(b.t_end, abs=1e-3)
    assert a.facts["attempts"] == b.facts["attempts"] == 3 and a.facts["ip_fragments"] is True
    assert a.facts["intervals_s"] == pytest.approx(b.facts["intervals_s"])
    assert "AUTH message" in a.message and "RFC 7383" in a.message
    assert "(IP fragments)" not in a.message  # -vv: no capture's note to quote (was `as IP fragments (IP fragments)`)


def test_healthy_natt_exchange_is_quiet():
    """IKEv2 over NAT-T with ESP both ways: no finding from the text, as none from the capture."""
    assert findings(ROOT / "tests" / "data" / "pcap" / "scapy_ikev2_nat_t.pcapng") == {}
    assert findings(TEXT / "ikev2-natt-healthy.txt") == {}
    assert findings(TEXT / "ikev2-natt-healthy.vv.txt") == {}


def test_unanswered_sa_init():
    """The same IKE_SA_INIT request 4 times, nothing back: IKE105 as from the capture (which
    also names the SPI, that tcpdump prints only with -vv)."""
    got = findings(TEXT / "sa-init-unanswered.txt")
    assert set(got) == {"IKE105"}
    f = got["IKE105"]
    assert f.peer == "192.168.1.14:500"
    assert f.facts["sends"] == 4 and f.facts["intervals_s"] == [2.0, 4.0, 8.0] and f.facts["exchange"] == "SA_INIT"
    assert f.facts["direction"] == "in"
    assert (f.start, f.end) == (datetime(2016, 8, 21, 16, 54, 25, 676667), datetime(2016, 8, 21, 16, 54, 39, 676667))
    assert "192.168.1.14:500 sent the same IKE_SA_INIT 4 times over 14 s" in f.message
    assert "192.168.1.2:500 never answered" in f.message


def test_unanswered_sa_init_with_stamps_since_the_first():
    """`-ttttt` of the same requests: the waits of the capture, no clock, and a warning that
    stamps which only grow could also be `-ttt` (see tests/sources/test_tcpdump.py)."""
    d = api.analyze([str(TEXT / "sa-init-unanswered.ttttt.txt")], LoadOptions())
    got = {f.code: f for f in d.all_findings()}
    assert set(got) == {"IKE105"} and got["IKE105"].facts["intervals_s"] == [2.0, 4.0, 8.0]
    assert got["IKE105"].start is None
    [report] = d.ingest.inputs
    assert report.clock == "relative" and len(report.warnings) == 1 and "-ttttt" in report.warnings[0]


def test_an_icmp_unreachable_is_no_answer_to_sa_init(tmp_path):
    """The same four requests and then one ICMP port-unreachable from the responder: the
    requests are still unanswered (found by a review: any packet from the responder, ICMP
    included, hid IKE105, while the same capture read as pcap reported it)."""
    lines = (TEXT / "sa-init-unanswered.txt").read_text().splitlines()
    sends = [x for x in lines if "ikev2_init" in x]
    day, clock, _ = sends[-1].split(" ", 2)  # `-tttt`: 2016-08-21 16:54:39.676667
    icmp = f"{day} {clock[:9]}900000 IP 192.168.1.2 > 192.168.1.14: ICMP 192.168.1.2 udp port 500 unreachable, length 36"
    paste = tmp_path / "with-icmp.txt"
    paste.write_text("\n".join(sends + [icmp]) + "\n")
    got = findings(paste)
    assert "IKE105" in got and got["IKE105"].facts["sends"] == 4


def test_what_tcpdump_prints_around_its_packets_is_banner(tmp_path):
    """tcpdump 4.99.3's own lines (as it printed them here, on stderr and stdout) around a
    live run and a file read: banners, not unrecognised lines (IKE901 on every paste)."""
    sends = [x for x in (TEXT / "sa-init-unanswered.txt").read_text().splitlines() if "ikev2_init" in x]
    around = ["tcpdump: verbose output suppressed, use -v[v]... for full protocol decode",
              "listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes",
              "reading from file sa-init.pcap, link-type EN10MB (Ethernet), snapshot length 65535"]
    trailer = ["^C", "4 packets captured", "4 packets received by filter", "0 packets dropped by kernel"]
    paste = tmp_path / "live.txt"
    paste.write_text("\n".join(around + sends + trailer) + "\n")
    events, ingest = api.load([str(paste)], LoadOptions())
    [report] = ingest.inputs
    assert report.accounting["banner"] == 7 and report.accounting["unrecognised"] == 0
    assert report.accounting["event"] == 4


@pytest.mark.parametrize("name", ["synth_vlan_stacks", "tcpdump_ikev2four", "suricata-verify_IKEv2_SA_INIT_2-8-weak",
                                  "tcpdump_isakmp4500"])
def test_link_headers_of_other_links_are_read(name, tmp_path):
    """`-e` on 802.1Q/QinQ, BSD loopback, raw IP and Ethernet with ARP (found by a review:
    every line of the first three was unrecognised, and IKE903 said there was no IPsec
    evidence): the same packets as without `-e` (tcpdump run here on the same capture)."""
    import os
    import shutil
    import subprocess

    if not shutil.which("tcpdump"):
        pytest.fail("tcpdump is needed (CI installs it)")
    plain = tmp_path / f"{name}.n.txt"
    plain.write_text(subprocess.run(["tcpdump", "-n", "-r", str(ROOT / "tests/data/pcap" / f"{name}.pcap")],
                                    capture_output=True, text=True, check=True,
                                    env={**os.environ, "TZ": "UTC"}).stdout)
    cols = ["kind", "src", "sport", "dst", "dport", "proto", "exchange", "response", "esp_spi", "esp_seq"]
    got, got_in = api.load([str(TEXT / f"{name}.e.txt")], LoadOptions())
    want, want_in = api.load([str(plain)], LoadOptions())
    assert got_in.inputs[0].accounting["unrecognised"] == 0
    assert got[cols].astype(object).fillna("").values.tolist() == want[cols].astype(object).fillna("").values.tolist()


def test_next_steps_ask_the_tcpdump_host_for_tcpdump():
    """An unanswered SA_INIT seen only in tcpdump text: the capture to repeat on this side is
    tcpdump's (with dates), not the FortiGate sniffer; the other end still gets the sniffer."""
    d = api.analyze([str(TEXT / "sa-init-unanswered.txt")], LoadOptions())
    [step] = [s for s in d.next_steps if s.startswith("Only this side's view")]
    assert "there, and `tcpdump -ni any -tttt 'host 192.168.1.14 and (udp port 500" in step
    assert "`diagnose sniffer packet any 'host 192.168.1.2 and" in step


@pytest.mark.parametrize("dropped", [0, 3])
def test_packets_the_capture_dropped_weaken_what_never_came(tmp_path, dropped):
    """`N packets dropped by kernel` at the end of a run: the capture is not the whole wire, so
    the findings built on packets that never came say so (with the count), and the input warns;
    findings of what was seen (IKE over TCP) and a run that dropped nothing are unchanged."""
    paste = tmp_path / "stall.txt"
    trailer = f"^C\n{2000 + dropped} packets captured\n{2000 + dropped} packets received by filter\n" \
              f"{dropped} packets dropped by kernel\n"
    paste.write_text((TEXT / "forticlient-udp-stall.txt").read_text() + trailer)
    got = findings(paste)
    assert set(got) == CODES
    [report] = api.load([str(paste)], LoadOptions())[1].inputs
    for code in ("IKE101", "IKE102", "IKE104"):
        caveat = "Caveat: the capture itself lost packets" in got[code].message
        assert caveat == bool(dropped), code
        assert got[code].facts.get("capture_lost") == ({str(paste): 3} if dropped else None)
    assert "Caveat" not in got["IKE103"].message
    lines = len(paste.read_text().splitlines())
    assert [w for w in report.warnings if "dropped" in w] == ([
        f"line {lines}: 3 packets dropped by kernel: the capture lost 3 packets, so a packet missing from it "
        f"may still have crossed the wire"] if dropped else [])


def test_fragments_from_the_peer_are_not_said_to_leave_for_it():
    """fragmented-auth-unanswered.txt: 198.51.100.2 sends the fragmented IKE_AUTH to
    192.0.2.1, taken as this side. The timeline said "large IKE message to 198.51.100.2:4500
    leaves as IP fragments", the wrong way round; the message said the fragments are dropped
    on the way, which tcpdump text (run on either end) cannot tell."""
    f = findings(TEXT / "fragmented-auth-unanswered.txt")["IKE107"]
    assert [m.text for m in f.timeline] == ["large IKE message from 198.51.100.2:4500, sent as IP fragments: never answered"]
    assert "the fragments are being dropped on the way" not in f.message
    given = api.analyze([str(TEXT / "fragmented-auth-unanswered.txt")], LoadOptions(local=("192.0.2.1",)))
    [f] = [f for f in given.all_findings() if f.code == "IKE107"]
    assert "nothing came back from 192.0.2.1: they arrive and the message is never answered" in f.message
