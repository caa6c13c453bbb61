"""tcpdump text (ikeanalyze.sources.tcpdump): one test per summary form and per line
framing, on real tcpdump output (tests/data/tcpdump_text, provenance in its SOURCES.md),
and the two packet-text grammars kept apart."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from ikeanalyze.ingest import InputReport
from ikeanalyze.sources import sniffer, tcpdump
from ikeanalyze.sources.regex import matches
from ikeanalyze.sources.text import parse_lines

DATA = Path(__file__).resolve().parents[1] / "data"
TEXT = DATA / "tcpdump_text"


def rows(name: str) -> tuple[pd.DataFrame, InputReport]:
    report = InputReport(name)
    lines = (TEXT / name).read_text().splitlines()
    return parse_lines(lines, report, other_traffic=True), report


def parsed(lines: list[str], **kw) -> tuple[pd.DataFrame, InputReport]:
    """The event table of ``lines`` and their input's report."""
    report = InputReport("t")
    return parse_lines(lines, report, **kw), report


def row(frame: pd.DataFrame, ref: int) -> dict:
    r = frame[frame["ref"] == ref]
    assert len(r) == 1, (ref, frame["ref"].tolist())
    return {k: (None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v)
            for k, v in r.iloc[0].to_dict().items()}


def has(got: dict, **want) -> None:
    for k, v in want.items():
        assert got[k] == v, (k, got[k], v, got["text"])


# (file, line, expected fields): a row per form of the summary and of the line's framing.
CASES = [
    # print-esp.c, ESP in UDP (print-udp.c demultiplexing UDP 4500)
    ("forticlient-udp-stall.txt", 1,
     dict(origin="tcpdump", kind="esp", src="10.3.2.150", sport=59641, dst="10.55.3.193", dport=4500, proto="udp",
          length=842, transport="udp4500", esp_spi="c3a5e101", esp_seq=1, direction=None, wire=True)),
    # isakmp-nat-keep-alive: the 1-byte 0xFF datagram (RFC 3948 §2.3)
    ("forticlient-udp-stall.txt", 12,
     dict(kind="nat-keepalive", src="10.55.3.193", sport=4500, dst="10.3.2.150", dport=59641, length=1,
          transport="udp4500")),
    # TCP: `Flags [S]`, `[S.]`, `[P.], seq 1:7` (relative numbers), `[.], ack 7`
    ("forticlient-udp-stall.txt", 20, dict(kind="tcp", proto="tcp", tcp_flags="syn", tcp_seq=309505874, tcp_ack=None,
                                           length=0, dport=5500)),
    ("forticlient-udp-stall.txt", 21, dict(tcp_flags="syn ack", tcp_seq=3060518285, tcp_ack=309505875)),
    ("forticlient-udp-stall.txt", 23, dict(tcp_flags="psh ack", tcp_seq=1, tcp_ack=1, length=6)),
    ("forticlient-udp-stall.txt", 24, dict(tcp_flags="ack", tcp_seq=None, tcp_ack=7, length=0)),
    # without -n: service names for the ports
    ("forticlient-udp-stall.names.txt", 12, dict(kind="nat-keepalive", sport=4500, dport=59641)),
    # -i any (Linux cooked v2): interface and direction
    ("forticlient-udp-stall.any.txt", 1, dict(iface="ifb0", direction="in", kind="esp", src="10.3.2.150")),
    ("forticlient-udp-stall.any.txt", 2, dict(direction="out", kind="esp", src="10.55.3.193", esp_spi="5a7f0b22")),
    # -e: the link-level header before the addresses; -tt: epoch seconds (UTC)
    ("forticlient-udp-stall.tt-e.txt", 12,
     dict(kind="nat-keepalive", src="10.55.3.193", time=pd.Timestamp("2026-02-26 23:34:52.765482"))),
    # -tttt: date and time
    ("forticlient-udp-stall.tttt.txt", 8, dict(kind="esp", time=pd.Timestamp("2026-02-26 23:34:42.766021"))),
    # -v (IPv4): the addresses on the next line, joined to the `IP (tos ...)` line
    ("forticlient-udp-stall.v.txt", 23, dict(kind="nat-keepalive", src="10.55.3.193", dport=59641,
                                             time=pd.Timestamp("2026-02-26 23:34:52.765482"))),
    ("forticlient-udp-stall.v.txt", 45, dict(kind="tcp", tcp_flags="psh ack", tcp_seq=1, length=6)),
    # print-isakmp.c, IKEv2 in UDP 4500 after the non-ESP marker: `NONESP-encap: isakmp: parent_sa ikev2_init[I]`
    ("ikev2-natt-healthy.txt", 1,
     dict(kind="ike", ike_version=2, exchange="SA_INIT", response=False, src="192.168.245.131", sport=10954,
          dport=4500, transport="udp4500", ispi=None)),
    ("ikev2-natt-healthy.txt", 2, dict(kind="ike", exchange="SA_INIT", response=True, sport=4500)),
    ("ikev2-natt-healthy.txt", 3, dict(kind="ike", exchange="AUTH", response=False)),
    # -vv: version, message ID and the SPIs (`cookie I->R`), the checksum note skipped
    ("ikev2-natt-healthy.vv.txt", 1,
     dict(kind="ike", ike_version=2, exchange="SA_INIT", msg_id=0, ispi="89922c915f35570e", rspi="0" * 16)),
    ("ikev2-natt-healthy.vv.txt", 17,
     dict(kind="ike", exchange="SA_INIT", response=True, ispi="89922c915f35570e", rspi="98d56d32e2a04742")),
    # ICMP port unreachable for UDP 4500 / 500
    ("icmp-unreachable.txt", 2, dict(kind="icmp", proto="icmp", src="10.10.0.254", dst="192.168.20.10",
                                     detail="172.16.10.1 udp port 4500 unreachable", length=36)),
    ("icmp-unreachable.txt", 4, dict(kind="icmp", detail="172.16.10.1 udp port 500 unreachable")),
    # tcpdump's own test outputs
    ("tcpdump-repo-esp0.txt", 1, dict(kind="esp", proto="esp", transport="esp", esp_spi="12345678", esp_seq=1,
                                      length=None, time=None)),
    ("tcpdump-repo-espudp1.txt", 2, dict(kind="esp", proto="udp", esp_spi="12345678", esp_seq=2, length=116)),
    ("tcpdump-repo-ikev2four.txt", 1, dict(kind="ike", ike_version=2, exchange="SA_INIT", response=False, msg_id=None)),
    # a build that printed no R flag: empty brackets tell nothing
    ("tcpdump-repo-ikev2four.txt", 21, dict(kind="ike", exchange="SA_INIT", response=None)),
    ("tcpdump-repo-ikev2pI2.txt", 1,
     dict(kind="ike", exchange="AUTH", response=False, msg_id=0, ispi="0001020304050607", rspi="c02e7a3031a03188")),
    # IP fragments (print-ip.c): a later piece is the protocol alone (`ip-proto-17`, `udp`
    # without -n); its first is the line before it between the same addresses, as printed
    # whole; -v numbers both (`id 100, offset 1480, flags [none]`)
    ("fragmented-auth-unanswered.txt", 3,
     dict(kind="ip-fragment", proto="udp", sport=4500, dport=4500, transport="udp4500", exchange="AUTH",
          response=False, detail="frag off=0 more")),
    ("fragmented-auth-unanswered.txt", 4,
     dict(kind="ip-fragment", proto="udp", src="198.51.100.2", sport=None, dst="192.0.2.1", dport=None,
          transport=None, detail="frag off>0")),
    ("fragmented-auth-unanswered.names.txt", 4, dict(kind="ip-fragment", proto="udp", detail="frag off>0")),
    ("fragmented-auth-unanswered.v.txt", 7,
     dict(kind="ip-fragment", exchange="AUTH", msg_id=1, dport=4500, detail="frag id=100 off=0 more")),
    ("fragmented-auth-unanswered.v.txt", 9, dict(kind="ip-fragment", proto="udp", detail="frag id=100 off=1480")),
    ("fragmented-auth-unanswered.vv.txt", 7, dict(kind="ip-fragment", ispi="1122334455667788", msg_id=1)),
    # snapped after the non-ESP marker: 4.99 prints two blanks before `[|isakmp]`
    ("fragmented-auth-unanswered.snapped.txt", 3,
     dict(kind="ip-fragment", proto="udp", dport=4500, transport="udp4500", exchange=None, detail="frag off=0 more")),
    # IPv6 (print-frag6.c): the fragment header in the summary, a first piece's ports after it
    ("fragmented-auth-unanswered-ipv6.txt", 3,
     dict(kind="ip-fragment", src="2001:db8:100::2", sport=4500, dst="2001:db8::1", dport=4500, transport="udp4500",
          exchange="AUTH", detail="frag off=0 more")),
    ("fragmented-auth-unanswered-ipv6.txt", 4, dict(kind="ip-fragment", sport=None, detail="frag off=1232")),
    ("fragmented-auth-unanswered-ipv6.v.txt", 5, dict(kind="ip-fragment", msg_id=1, detail="frag id=100 off=0 more")),
    ("fragmented-auth-unanswered-ipv6.v.txt", 6, dict(kind="ip-fragment", detail="frag id=100 off=1232")),
    # ESP as IP fragments (ip-proto-50): the first piece with its SPI and sequence number
    ("libreswan_espfrags1.txt", 1,
     dict(kind="ip-fragment", proto="esp", esp_spi="12345678", esp_seq=0x16, detail="frag off=0 more")),
    ("libreswan_espfrags1.txt", 2, dict(kind="ip-fragment", proto="esp", esp_spi=None, detail="frag off>0")),
]


@pytest.mark.parametrize("name,ref,want", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_form(name, ref, want):
    frame, _ = rows(name)
    has(row(frame, ref), **want)


@pytest.mark.parametrize("line,want", [
    # IKEv1 (print-isakmp.c `phase 1 I ident`; the `I`/`R` is the sender's role, not a flag)
    ("00:00:00.000000 IP 192.1.2.254.500 > 192.1.2.23.500: isakmp: phase 1 I ident",
     dict(ike_version=1, exchange="Identity Protection", response=None)),
    ("00:00:00.000000 IP 192.1.2.254.4500 > 192.1.2.23.4500: NONESP-encap: isakmp: phase 2/others I oakley-quick[E]",
     dict(ike_version=1, exchange="Quick Mode", transport="udp4500", kind="ike")),
    # IPv6, `-e`
    ("1498562616.007545 b4:0c:25:05:8e:10 > 08:5b:0e:3c:11:5d, ethertype IPv6 (0x86dd), length 186: "
     "2003:51:6012::2.500 > 2003:51:6012::4.500: isakmp: phase 1 I ident",
     dict(src="2003:51:6012::2", sport=500, dst="2003:51:6012::4", ike_version=1)),
    # AH around ESP; ESP snapped before its SPI
    ("2008-06-21 12:38:46.994809 IP 10.0.0.1 > 10.0.0.2: AH(spi=0x8179b705,seq=0x1,icv=0x27cfc0a5e43d69b3728ec5b0): "
     "ESP(spi=0x48dac2e4,seq=0x1), length 136", dict(kind="esp", proto="esp", esp_spi="48dac2e4", length=136)),
    ("2026-02-26 23:20:02.000000 IP 10.3.2.7 > 10.55.3.193:  [|esp]", dict(kind="esp", proto="esp", esp_spi=None)),
    ("2026-02-26 23:20:01.000000 IP 10.3.2.7.4500 > 10.55.3.193.4500: UDP-encap:  [|esp]", dict(kind="esp", proto="udp")),
    # IKE snapped: only the marker
    ("20:56:48.914609 IP 10.0.1.98.4500 > 165.105.75.15.4500: NONESP-encap: [|isakmp]", dict(kind="ike", exchange=None)),
    # host names and `ipsec-msft` (4500's name in some services files)
    ("10:22:26.513637 IP cpe-72-231-173-41.nycap.res.rr.com.ipsec-msft > rpi-wl-854.dynamic.rpi.edu.ipsec-msft: "
     "isakmp-nat-keep-alive",
     dict(kind="nat-keepalive", src="cpe-72-231-173-41.nycap.res.rr.com", sport=4500, dport=4500)),
    # IKEv2 INFORMATIONAL answered by the original initiator: `[IR]` is a response
    ("12:21:24.447581 IP 192.168.1.2.500 > 192.168.1.1.500: isakmp: child_sa  inf2[IR]",
     dict(exchange="INFORMATIONAL", response=True)),
    # an unnamed exchange type prints as `#N`
    ("16:22:41.001814 IP 16.0.128.20.500 > 12.251.225.45.49152: isakmp: phase 2/others ? #16[]",
     dict(ike_version=1, exchange="exchange-16")),
    # SLL1 with -e: the packet type right after the stamp
    ("23:17:23.286816 Out 00:09:0f:09:00:01 ethertype IPv4 (0x0800), length 408: 10.55.3.193.4500 > "
     "10.3.2.150.59641: UDP-encap: ESP(spi=0x5a7f0b22,seq=0x1), length 364", dict(direction="out", iface=None)),
    # SLL2 with an interface index the host cannot name (another network namespace): `?`
    # padded to 5, the direction still printed. Written by hand after the story of the Kmesh
    # IPsec guide (a node's `tcpdump -i any`, code index id 15993335483).
    ("08:15:42.300117 ?     In  IP 198.51.100.20 > 192.0.2.10: ESP(spi=0x5e6f7081,seq=0x2a), length 152",
     dict(kind="esp", iface=None, direction="in", src="198.51.100.20", dst="192.0.2.10", esp_spi="5e6f7081",
          esp_seq=0x2a, length=152)),
    # an MPLS label stack (print-mpls.c): with `-e` after its ethertype and no `IP` word,
    # without `-e` before `IP`. Written by hand after the story of 6WIND's Security Gateway
    # lab (ESP captured on an SR-MPLS core link, code index id 26246304499).
    ("21:47:03.511208 02:5e:10:00:00:0a > 02:5e:10:00:00:0b, ethertype MPLS unicast (0x8847), length 190: "
     "MPLS (label 24017, exp 0, ttl 62) (label 20, exp 0, [S], ttl 62) 203.0.113.40 > 198.51.100.60: "
     "ESP(spi=0x3c4d5e6f,seq=0x40), length 148",
     dict(kind="esp", src="203.0.113.40", dst="198.51.100.60", esp_spi="3c4d5e6f", esp_seq=0x40, length=148)),
    ("21:47:03.515335 MPLS (label 31009, exp 0, [S], ttl 61) IP 198.51.100.60.4500 > 203.0.113.40.4500: "
     "UDP-encap: ESP(spi=0x7a8b9c0d,seq=0x51), length 156",
     dict(kind="esp", proto="udp", src="198.51.100.60", sport=4500, dport=4500, esp_spi="7a8b9c0d")),
    # `-t`: no stamp
    ("IP 10.3.2.150.59641 > 10.55.3.193.ipsec-nat-t: UDP-encap: ESP(spi=0xc3a5e101,seq=0x1), length 842",
     dict(kind="esp", dport=4500, time=None, t=None)),
    # -v: a wrong ICMP checksum noted after the length (print-icmp.c; tcpdump 4.99.3 on a
    # capture made with the checksum left 0)
    ("2024-05-01 08:00:00.000400 IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto ICMP (1), length 120, "
     "bad cksum 0 (->4e4d)!)\n    192.0.2.1 > 198.51.100.2: ICMP 192.0.2.1 udp port 500 unreachable, length 100 "
     "(wrong icmp cksum 0 (->eb44)!)", dict(kind="icmp", detail="192.0.2.1 udp port 500 unreachable", length=100)),
    # ICMPv6 with -v: print-icmp6.c's checksum note before the summary (tcpdump 4.99.3 on an
    # ICMPv6 port unreachable quoting a NAT keepalive, made with dpkt)
    ("23:17:23.000000 IP6 (hlim 64, next-header ICMPv6 (58) payload length: 57) 2001:db8::2 > 2001:db8::1: "
     "[icmp6 sum ok] ICMP6, destination unreachable, unreachable port, 2001:db8::2 udp port 4500",
     dict(kind="icmp", proto="icmp", src="2001:db8::2", dst="2001:db8::1",
          detail="destination unreachable, unreachable port, 2001:db8::2 udp port 4500")),
])
def test_line(line, want):
    frame, report = parsed(line.splitlines(), other_traffic=True)  # (a `-v` record: two lines)
    assert report.accounting["event"] == 1, dict(report.accounting)
    has(row(frame, 1), **want)


QUOTED = ("icmp-refused.v.txt", "icmp-refused.ve.txt")


@pytest.mark.parametrize("name", QUOTED)
def test_the_datagram_an_icmp_error_quotes_is_no_packet(name):
    """With -v, tcpdump prints the datagram an ICMP error quotes under the ICMP line (a tab,
    `IP (tos ...)`, its addresses and summary): part of the ICMP packet, not a packet of its
    own. Read as one, the NAT keepalive, the ESP and the IKE_SA_INIT that drew the errors
    were each counted twice. The events are those of the same capture printed without -v;
    the quote's lines are continuations, and the evidence shows what was quoted."""
    frame, report = rows(name)
    plain, _ = rows("icmp-refused.txt")
    cols = ["kind", "src", "sport", "dst", "dport", "esp_spi", "exchange", "detail"]
    assert frame[cols].astype(object).where(frame[cols].notna(), None).values.tolist() == \
        plain[cols].astype(object).where(plain[cols].notna(), None).values.tolist()
    assert frame["kind"].tolist() == ["nat-keepalive", "icmp", "esp", "icmp", "ike", "icmp"]
    assert report.accounting["event"] == 6 and report.accounting["continuation"] == report.total - 6
    icmp = frame[frame["kind"] == "icmp"]
    assert icmp["detail"].tolist() == ["192.0.2.1 udp port 4500 unreachable"] * 2 + ["192.0.2.1 udp port 500 unreachable"]
    quoted = [t.split("unreachable, length ")[1] for t in icmp["text"]]
    assert quoted[0].endswith("proto UDP (17), length 29) 198.51.100.7.4500 > 192.0.2.1.4500: isakmp-nat-keep-alive")
    assert quoted[1].endswith("192.0.2.1.4500: UDP-encap: ESP(spi=0x01020304,seq=0x1), length 88")
    # the quoted IKE_SA_INIT's payload lines (`(sa: len=44` ...) are left out, as a packet's own are
    assert quoted[2].endswith("198.51.100.7.500 > 192.0.2.1.500: isakmp 2.0 msgid 00000000: parent_sa ikev2_init[I]:")
    assert all("\n" not in t for t in frame["text"])


def test_an_indented_ip_header_under_a_packet_that_is_no_icmp_error_stays_a_packet():
    """Only an ICMP error quotes a datagram: an indented `IP (tos ...)` line under another
    packet (an echo reply, a margin a copy left) is read as the packet it prints."""
    lines = ["23:17:23.000200 IP (tos 0x0, ttl 64, id 0, offset 0, flags [none], proto ICMP (1), length 84)",
             "    192.0.2.1 > 198.51.100.7: ICMP echo reply, id 1, seq 1, length 64",
             "\tIP (tos 0x0, ttl 64, id 0, offset 0, flags [none], proto UDP (17), length 29)",
             "    198.51.100.7.4500 > 192.0.2.1.4500: isakmp-nat-keep-alive"]
    frame, report = parsed(lines)
    assert frame["kind"].tolist() == ["icmp", "nat-keepalive"] and report.accounting["event"] == 2


def test_arp_and_other_traffic():
    """ARP is kept as the sniffer keeps it; DNS and other UDP are counted, not kept."""
    lines = ["00:00:00.000000 ARP, Request who-has 192.1.2.23 tell 192.1.2.254, length 28",
             "08:31:20.728487 IP 192.168.20.10.59325 > 172.16.10.1.53: 30583+ TXT CHAOS? version.bind. (30)",
             "08:31:20.728915 IP 192.168.20.10.59325 > 172.16.10.1.138: UDP, length 0",
             "08:31:20.729349 IP 192.168.20.10.59325 > 172.16.10.1.500: isakmp: phase 1 I ident"]
    frame, report = parsed(lines)
    assert frame["kind"].tolist() == ["arp", "ike"]
    assert report.accounting["other-traffic"] == 2 and report.accounting["unrecognised"] == 0


@pytest.mark.parametrize("name", ["fragmented-nfs.txt", "fragmented-nfs.v.txt"])
def test_fragments_of_other_udp_are_other_traffic(name):
    """A UDP datagram whose first piece shows ports other than IKE's (NFS here) is other
    traffic with all its pieces, as the capture reader counts them."""
    frame, report = rows(name)
    assert frame["kind"].tolist() == ["other"] * 3 and report.accounting["unrecognised"] == 0
    report = InputReport(name)
    assert parse_lines((TEXT / name).read_text().splitlines(), report).empty
    assert report.accounting["other-traffic"] == 3


def test_time_of_day_counts_from_the_first_line():
    """The default stamp has no date: `t` from the first line, over midnight; `time` unknown."""
    lines = ["23:59:59.500000 IP 10.0.0.1.4500 > 10.0.0.2.4500: isakmp-nat-keep-alive",
             "00:00:09.500000 IP 10.0.0.1.4500 > 10.0.0.2.4500: isakmp-nat-keep-alive"]
    frame = parse_lines(lines, InputReport("t"))
    assert frame["t"].tolist() == [0.0, 10.0]
    assert frame["time"].isna().all()


def test_delta_stamps_are_summed():
    """`-ttt` prints the time since the previous packet (from 00:00:00.000000)."""
    lines = ["00:00:00.000000 IP 10.0.0.1.4500 > 10.0.0.2.4500: isakmp-nat-keep-alive",
             "00:00:10.000000 IP 10.0.0.1.4500 > 10.0.0.2.4500: isakmp-nat-keep-alive",
             "00:00:02.500000 IP 10.0.0.1.4500 > 10.0.0.2.4500: isakmp-nat-keep-alive"]
    frame = parse_lines(lines, InputReport("t"))
    assert frame["t"].tolist() == [0.0, 10.0, 12.5]


def _times(name: str) -> tuple[list[float], InputReport]:
    frame, report = rows(name)
    assert frame["time"].isna().all() and report.clock == "relative"
    return frame["t"].tolist(), report


@pytest.mark.parametrize("name", ["forticlient-udp-stall.ttt.txt", "forticlient-udp-stall.ttttt.txt",
                                  "forticlient-udp-stall-reordered.ttt.txt", "forticlient-udp-stall-reordered.ttttt.txt"])
def test_delta_stamps_give_the_capture_times(name):
    """`-ttt` (since the previous packet: summed) and `-ttttt` (since the first: as printed),
    told apart from the whole input, give the times `-tttt` gives for the same capture (no
    clock: relative). The reordered capture has two packets 21 µs apart in the other order:
    `-ttt` prints `-00:00:00.000021` (found by a review: the line was taken for a
    continuation, and every later time was 21 µs late), `-ttttt` goes back once (the run was
    summed as `-ttt`: 8314 s for the 12th packet instead of 1049 s)."""
    got, report = _times(name)
    frame, _ = rows("forticlient-udp-stall.tttt.txt")
    want = ((frame["time"] - frame["time"].iloc[0]).dt.total_seconds()).tolist()
    if "reordered" in name:
        want[2], want[3] = want[3], want[2]
    assert got == pytest.approx(want, abs=1e-6)
    assert report.warnings == []


@pytest.mark.parametrize("name,want,other", [("sa-init-unanswered.ttttt.txt", [0, 2, 6, 14], "22 s"),
                                             ("sa-init-unanswered.ttt.txt", [0, 2, 4, 8], "14 s")])
def test_stamps_that_only_grow_are_a_guess(name, want, other):
    """Waits of 2, 4 and 8 s print as `-ttt` 0, 2, 4, 8 and as `-ttttt` 0, 2, 6, 14: both only
    grow, so either reading fits. They are read as `-ttttt` (right for the second, wrong for
    the first), and the warning gives the other reading's span."""
    got, report = _times(name)
    assert got == want
    [note] = report.warnings
    assert "only grow: read as -ttttt" in note and f"the last packet came {other} after the first" in note


def test_a_delta_paste_without_its_first_line_is_summed():
    """`-ttt` copied from its second line on: no 00:00:00 to start from, but the stamps go
    back by more than a second without passing midnight, which no clock does."""
    lines = (TEXT / "forticlient-udp-stall.ttt.txt").read_text().splitlines()[1:]
    frame, report = parsed(lines)
    got = frame["t"].tolist()
    frame, _ = rows("forticlient-udp-stall.tttt.txt")
    want = ((frame["time"] - frame["time"].iloc[1]).dt.total_seconds()).tolist()[1:]
    assert got == pytest.approx(want, abs=1e-6)
    [note] = report.warnings
    assert "read as -ttt" in note and "starts after its first line" in note


def test_a_clock_that_goes_back_once_stays_a_clock():
    """The same default-stamp paste twice in a row (a scroll-back copied twice): the time of
    day goes back by 23 minutes once, which `-ttt` copied without its first line would do
    on every other line; read as the clock it is, no warning."""
    lines = (TEXT / "forticlient-udp-stall.txt").read_text().splitlines()
    frame, report = parsed(lines * 2)
    t = frame["t"].tolist()
    assert t[:len(t) // 2] == t[len(t) // 2:] and report.warnings == []


def _lines(folder: str) -> pa.Array:
    out = []
    for p in sorted((DATA / folder).glob("*.txt")):
        out.extend(p.read_text(encoding="utf-8", errors="replace").splitlines())
    return pa.array(out, pa.large_string())


@pytest.mark.parametrize("folder", ["sniffer", "ikedebug", "ikedebug_public", "text_public", "terminal_logs", "state",
                                    "hexdump", "seed"])
def test_tcpdump_claims_no_fortigate_line(folder):
    """FortiGate text (`a -> b:` sniffer lines, debug, lists) is never read as tcpdump."""
    lines = _lines(folder)
    assert len(lines)
    hit = matches(lines, tcpdump.HEADER_START)
    assert not hit.any(), lines.filter(pa.array(hit))[:3]


def test_sniffer_claims_no_tcpdump_line():
    """Every packet line of the tcpdump inputs is named tcpdump, none sniffer: the sniffer's
    own patterns take none of them except the legacy `a > b:` form, which LINE_FORMS tries
    after tcpdump's."""
    for p in sorted(TEXT.glob("*.txt")):
        report = InputReport(p.name)
        frame = parse_lines(p.read_text().splitlines(), report, other_traffic=True)
        assert report.formats == ["tcpdump"], (p.name, report.formats)
        assert report.accounting["unrecognised"] == 0, (p.name, report.unrecognised_examples)
        assert set(frame["origin"]) == {"tcpdump"}
    lines = pa.array((TEXT / "forticlient-udp-stall.txt").read_text().splitlines())
    assert not matches(lines, sniffer.HEADER_START).any()


@pytest.mark.parametrize("name", ["forticlient-udp-stall.txt", "forticlient-udp-stall.tttt.txt",
                                  "forticlient-udp-stall.ttt.txt", "forticlient-udp-stall.any.txt"])
def test_stamped_packet_lines_run_together_are_each_read(name):
    """A web copy that lost the line breaks: each stamped packet line on a line is an event
    of it (only the first was read), parsed with the others so the stamp form (`-ttt`
    deltas) is decided over all of them; the books count lines."""
    lines = [ln for ln in (DATA / "tcpdump_text" / name).read_text().splitlines() if " IP " in ln]
    collapsed = [" ".join(lines[i:i + 3]) for i in range(0, len(lines), 3)]
    want, got = parse_lines(lines, InputReport("a")), parse_lines(collapsed, report := InputReport("b"))
    cols = ["kind", "src", "sport", "dst", "dport", "length", "time", "t", "esp_spi", "direction"]
    assert got[cols].astype(str).values.tolist() == want[cols].astype(str).values.tolist()
    assert list(got["ref"]) == [i // 3 + 1 for i in range(len(lines))]
    assert report.total == len(collapsed) == sum(report.accounting.values())
    assert any("hold several packet lines run together" in w for w in report.warnings)


def test_unnamed_interface_and_mpls_lines_run_together_are_each_read():
    """The two framings RECORD_ANYWHERE learnt with COOKED and LINK (an interface printed `?`,
    a label stack before `IP`), three packets a web copy ran onto one line. Written by hand
    after the Kmesh IPsec guide and 6WIND's security-gateway lab (code index ids 15993335483,
    26246304499)."""
    line = ("08:15:42.300117 ?     Out IP 192.0.2.10 > 198.51.100.20: ESP(spi=0x0a1b2c3d,seq=0x2a), length 152 "
            "08:15:42.301002 ?     In  IP 198.51.100.20 > 192.0.2.10: ESP(spi=0x5e6f7081,seq=0x2a), length 152 "
            "08:15:43.100000 MPLS (label 24017, exp 0, [S], ttl 62) IP 203.0.113.40 > 198.51.100.60: "
            "ESP(spi=0x3c4d5e6f,seq=0x40), length 148")
    frame = parse_lines([line], report := InputReport("t"))
    assert report.accounting["event"] == 1
    assert frame["src"].tolist() == ["192.0.2.10", "198.51.100.20", "203.0.113.40"]
    assert frame["esp_spi"].tolist() == ["0a1b2c3d", "5e6f7081", "3c4d5e6f"]
    assert frame["direction"].tolist()[:2] == ["out", "in"] and pd.isna(frame["direction"].iloc[2])


def test_a_note_inside_packet_lines_run_together_ends_at_the_next_line():
    line = ("12:34:56.123456 IP 10.0.0.1.500 > 10.0.0.2.500: isakmp: phase 1 I ident <-- first "
            "12:34:57.123456 IP 10.0.0.2.500 > 10.0.0.1.500: isakmp: phase 1 R ident")
    ev = parse_lines([line], report := InputReport("x"))
    assert list(ev["src"]) == ["10.0.0.1", "10.0.0.2"] and list(ev["ref"]) == [1, 1]
    assert report.accounting["event"] == 1


def test_hosts_a_poster_replaced_by_placeholders_are_read(tmp_path) -> None:
    """`IP <client-ip>.47547 > <server-ip>.4500: UDP-encap: ESP(...)`: the placeholder's `>`
    ended the host, the lines were unread and the paste 'held no IPsec evidence'."""
    p = tmp_path / "placeholders.txt"
    p.write_text("IP <client-ip>.47547 > <server-ip>.4500: UDP-encap: ESP(spi=0x0a1b2c3d,seq=0x139b), length 116\n"
                 "IP <server-ip>.4500 > <client-ip>.57962: UDP-encap: ESP(spi=0x4e5f6071,seq=0x21ff), length 196\n")
    from ikeanalyze import api

    ev, ingest = api.load([str(p)])
    assert [(r.kind, r.src, r.sport, r.dst, r.dport, r.esp_spi) for r in ev.itertuples()] == [
        ("esp", "<client-ip>", 47547, "<server-ip>", 4500, "0a1b2c3d"),
        ("esp", "<server-ip>", 4500, "<client-ip>", 57962, "4e5f6071")]
    assert ingest.inputs[0].accounting["unrecognised"] == 0


def test_lines_quoted_in_a_mail_or_forum_reply_are_read(tmp_path) -> None:
    """`> 10:22:21.858680 IP ...` (a reply quoting the capture; `>> ` two levels down): the
    markers go, the packets are read (the quoted paste was all unrecognised and 'held no
    IPsec evidence')."""
    lines = ["10:22:21.858680 IP 192.0.2.7.4500 > 198.51.100.9.4500: UDP-encap: ESP(spi=0xd3d21a1d,seq=0x5), length 116",
             "10:22:26.513637 IP 198.51.100.9.4500 > 192.0.2.7.4500: isakmp-nat-keep-alive"]
    p = tmp_path / "quoted.txt"
    p.write_text(f"> I see the keepalive but no ESP back, any idea?\n> {lines[0]}\n>> {lines[1]}\n")
    from ikeanalyze import api

    ev, ingest = api.load([str(p)])
    assert ev["kind"].tolist() == ["esp", "nat-keepalive"] and ev["esp_spi"].iloc[0] == "d3d21a1d"
    assert ev["text"].tolist() == [f"> {lines[0]}", f">> {lines[1]}"]  # the evidence as pasted
    assert ingest.inputs[0].accounting["unrecognised"] == 1


def test_a_packet_line_cut_at_the_end_is_not_the_tail_of_the_line_above() -> None:
    """A paste cut mid-line after a packet's source host, with no final newline: the piece
    opens as a tcpdump packet does, so it is a truncated record, and the long line above
    keeps its own text (it was joined on as that line's wrapped tail). Written by hand after
    the story of hwdsl2/setup-ipsec-vpn issue #1728 (host names, no `-n`)."""
    above = ("14:38:03.061340 ens3  In  IP 198.51.100.77.broadband.example.com.50613 > vpn-gw.example.net.isakmp: "
             "isakmp: parent_sa ikev2_init[I]")
    frame, report = parsed([above, "14:38:03.062011 ens3  Out IP vpn-gw.example.net"], cut_off=True,
                           other_traffic=True)
    assert report.accounting["truncated"] == 1 and report.accounting["continuation"] == 0, dict(report.accounting)
    assert frame["ref"].tolist() == [1]
    has(row(frame, 1), kind="ike", exchange="SA_INIT", response=False, sport=50613, text=above)
