"""One test per sniffer header form of FORMATS.md §1 (real lines, copied with provenance:
seed = the FortiClient article; 30/31/32 = sniftran samples in tests/data/sniffer; others
are the published examples quoted in FORMATS.md)."""

from __future__ import annotations

import pytest

from ikeanalyze.ingest import InputReport
from ikeanalyze.sources.text import parse_lines


def one(line: str) -> dict:
    report = InputReport("t")
    frame = parse_lines([line], report, other_traffic=True)  # every header form, IPsec or not
    assert report.accounting["event"] == 1, (line, dict(report.accounting))
    assert len(frame) == 1
    row = frame.iloc[0].to_dict()
    return {k: (None if v is None or (not isinstance(v, str) and v != v) or v is __import__("pandas").NA else v)
            for k, v in row.items()}


CASES = [
    # (line, expected fields)
    ("2026-02-26 23:17:23.208180 port2 in 10.3.2.150.59641 -> 10.55.3.193.4500: udp 842",
     dict(iface="port2", direction="in", src="10.3.2.150", sport=59641, dst="10.55.3.193", dport=4500,
          proto="udp", length=842, transport="udp4500", kind="esp")),
    ("2026-02-26 23:34:52.765482 port2 out 10.55.3.193.4500 -> 10.3.2.150.59641: udp 1  << Oneway traffic",
     dict(direction="out", kind="nat-keepalive", length=1, transport="udp4500")),
    ("0.342268 10.5.17.111.500 -> 10.5.18.8.500: udp 296",
     dict(iface=None, direction=None, kind="ike", transport="udp500", length=296)),
    ("1.165554 10.108.16.207.64108 -> 239.255.255.250.1900: udp 133", dict(kind="other", proto="udp")),
    ("0.402124 fe80::18f:aba6:cdc7:e96b.64105 -> ff02::c.1900: udp 146 [hlim 1]",
     dict(src="fe80::18f:aba6:cdc7:e96b", sport=64105, dst="ff02::c", dport=1900, length=146)),
    ("2026-02-26 23:40:21.594070 port2 in 10.3.2.150.58518 -> 10.55.3.193.5500: syn 309505874 <-- First Sync packet.",
     dict(proto="tcp", tcp_flags="syn", tcp_seq=309505874, tcp_ack=None, kind="tcp")),
    ("2026-02-26 23:40:21.594225 port2 out 10.55.3.193.5500 -> 10.3.2.150.58518: syn 3060518285 ack 309505875",
     dict(tcp_flags="syn ack", tcp_seq=3060518285, tcp_ack=309505875)),
    ("2026-02-26 23:40:21.595270 port2 in 10.3.2.150.58518 -> 10.55.3.193.5500: ack 3060518286",
     dict(tcp_flags="ack", tcp_seq=None, tcp_ack=3060518286)),
    ("2026-02-26 23:40:21.595404 port2 in 10.3.2.150.58518 -> 10.55.3.193.5500: psh 309505875 ack 3060518286",
     dict(tcp_flags="psh ack", tcp_seq=309505875, tcp_ack=3060518286)),
    ("0.434878 port1 -- 10.1.1.1.443 -> 10.1.1.2.5000: psh fin 4294708591 ack 380200182 ",
     dict(iface="port1", direction=None, tcp_flags="psh fin ack", tcp_seq=4294708591, tcp_ack=380200182)),
    ("1.000001 10.1.1.1.443 -> 10.1.1.2.5000: fin 368871613 ack 1581050557", dict(tcp_flags="fin ack")),
    ("1.000002 10.1.1.1.443 -> 10.1.1.2.5000: 2698548254 ack 2948658105",
     dict(tcp_flags="ack", tcp_seq=2698548254, tcp_ack=2948658105)),
    ("1.000003 10.1.1.1.443 -> 10.1.1.2.5000: rst 2698548254", dict(tcp_flags="rst", tcp_seq=2698548254)),
    ("12.042087 port2 out 10.1.1.100 -> 10.1.1.200: ip-proto-50 92",
     dict(proto="esp", kind="esp", transport="esp", length=92, sport=None)),
    # 7.x: ESP printed with its SPI and sequence (tests/data/text_public/handbook_cisco_ikev2_sniffer_esp.txt:6).
    ("1.981265 port1 out 202.106.1.1 -> 101.100.1.1: ESP(spi=0x2e03e37b,seq=0x2)",
     dict(iface="port1", direction="out", src="202.106.1.1", dst="101.100.1.1", sport=None, proto="esp",
          kind="esp", transport="esp", esp_spi="2e03e37b", esp_seq=2, length=None)),
    ("1.5 10.1.1.1 -> 224.0.0.1:  ip-proto-2 16", dict(proto="igmp", kind="other", length=16)),
    ("1.6 10.1.1.10 -> 10.3.3.30: icmp: echo request", dict(proto="icmp", kind="icmp", detail="echo request")),
    ("2015-06-23 17:01:24.796828 wan1 -- arp who-has 10.108.17.97 tell 10.108.17.129",
     dict(iface="wan1", direction=None, kind="arp", proto="arp")),
    ("0.758788 wan1 in arp who-has 10.108.17.33 tell 10.108.16.133", dict(kind="arp", direction="in")),
    ("3.1 10.108.16.82.500 -> 255.255.255.255.500: udp 2394 (frag 37572:1472@0+)",
     dict(kind="ip-fragment", transport="udp500", detail="frag id=37572 off=0 more")),
    ("3.2 10.108.16.82 -> 255.255.255.255:  ip-proto-17 (frag 37572:930@1472)",
     dict(kind="ip-fragment", detail="frag id=37572 off=1472")),
    ("\t2.000000 10.1.1.1.4500 -> 10.1.1.2.4500: udp 1", dict(kind="nat-keepalive")),
    # Addresses taken out by the author (tests/data/text_public/handwritten_np_esp_out_only_redacted.txt:9),
    # and the same redaction of other summaries.
    ("2024-04-18 09:12:05.120400 port3 out -> ESP(spi=0x5e1f0a27,seq=0x1a)",
     dict(iface="port3", direction="out", src=None, dst=None, sport=None, proto="esp", kind="esp", transport="esp",
          esp_spi="5e1f0a27", esp_seq=0x1A)),
    ("2.0 port1 in -> icmp: echo request", dict(iface="port1", direction="in", src=None, kind="icmp",
                                               detail="echo request")),
    ("2.1 port1 out -> ip-proto-50 92", dict(src=None, proto="esp", kind="esp", length=92)),
]


@pytest.mark.parametrize("line,want", CASES, ids=[c[0][:60] for c in CASES])
def test_header_forms(line, want):
    row = one(line)
    for key, value in want.items():
        assert row[key] == value, (key, row[key], value)


def test_relative_and_absolute_times():
    r = InputReport("t")
    f = parse_lines(["0.342268 10.5.17.111.500 -> 10.5.18.8.500: udp 296",
                     "12.042087 10.5.18.8.500 -> 10.5.17.111.500: udp 84"], r)
    assert r.clock == "relative"
    assert f["time"].isna().all()
    assert list(f["t"]) == pytest.approx([0.0, 11.699819])
    r = InputReport("t")
    f = parse_lines(["2015-06-23 17:01:24.796828 wan1 -- 10.1.1.1.500 -> 10.1.1.2.500: udp 1",
                     "2015-06-23 17:01:25.5 wan1 -- 10.1.1.2.500 -> 10.1.1.1.500: udp 2"], r)
    assert r.clock == "device"
    assert str(f["time"].iloc[1]) == "2015-06-23 17:01:25.500000"
    assert f["t"].iloc[1] == pytest.approx(0.703172)


def test_banner_prompt_and_trailer_lines_are_not_events():
    lines = [
        "FG600C3913802320 (root) # diag sniffer packet wan1 'port not 22' 6 0 a",
        "Using Original Sniffing Mode",
        "interfaces=[wan1]",
        "filters=[port not 22]",
        "pcap_snapshot: snaplen raised from 0 to 262144",
        "pcap_lookupnet: port2: no IPv4 address assigned",
        "61 packets received by filter",
        "0 packets dropped by kernel",
        "1: print header of packets",
        "",
    ]
    r = InputReport("t")
    parse_lines(lines, r)
    assert r.accounting["prompt"] == 1
    assert r.accounting["banner"] == 8
    assert r.accounting["blank"] == 1
    assert r.balanced


def test_hexdump_lines_belong_to_the_packet_above():
    lines = [
        "2015-06-23 17:01:24.796828 wan1 -- arp who-has 10.108.17.97 tell 10.108.17.129",
        "0x0000\t ffff ffff ffff 085b 0ea0 e23a 0806 0001\t.......[...:....",
        "0x0010\t 0800 0604 0001 085b 0ea0 e23a 0a6c 1181\t.......[...:.l..",
        "",
    ]
    r = InputReport("t")
    f = parse_lines(lines, r)
    assert r.accounting["hexdump"] == 2 and r.accounting["event"] == 1 and r.balanced
    assert list(f["ref"]) == [1]


# Real lines: the seed's IKE-over-TCP connection (a SYN, the 6-byte IKETCP segment, its
# acknowledgement) beside busy HTTPS and DNS from the benchmark workload's background.
MIXED = [
    "2026-02-26 23:20:00.033002 port2 in 172.16.1.113.39950 -> 8.8.8.8.53: udp 40",
    "2026-02-26 23:20:00.108376 port2 in 172.16.1.139.62207 -> 93.184.194.134.443: psh 1247290244 ack 1962387762",
    "2026-02-26 23:40:21.594070 port2 in 10.3.2.150.58518 -> 10.55.3.193.5500: syn 309505874",
    "2026-02-26 23:40:21.594225 port2 out 10.55.3.193.5500 -> 10.3.2.150.58518: syn 3060518285 ack 309505875",
    "2026-02-26 23:40:21.595404 port2 in 10.3.2.150.58518 -> 10.55.3.193.5500: psh 309505875 ack 3060518286",
    "2026-02-26 23:40:21.595810 port2 out 10.55.3.193.5500 -> 10.3.2.150.58518: ack 309505881",
    "2026-02-26 23:40:22.000000 port2 in 10.3.2.150.58519 -> 10.55.3.193.5500: syn 1000",
    "2026-02-26 23:40:22.000100 port2 out 10.55.3.193.5500 -> 10.3.2.150.58519: rst 0 ack 1001",
    "2026-02-26 23:40:23.000000 port2 in 10.3.2.150.59641 -> 10.55.3.193.4500: udp 842",
    "2026-02-26 23:40:23.500000 port2 in 172.16.0.109.49682 -> 93.184.253.149.443: psh 4126453551 ack 1464740131",
    "1.5 10.1.1.1 -> 224.0.0.1:  ip-proto-2 16",
]


def test_other_traffic_is_counted_not_kept():
    r = InputReport("t")
    f = parse_lines(MIXED, r)
    # DNS, two HTTPS segments and IGMP are other traffic; the IKE-over-TCP stream (seq
    # advanced by 6 = IKETCP), the reset connection to the same server port and NAT-T stay.
    assert r.accounting["other-traffic"] == 4 and r.accounting["event"] == 7 and r.balanced
    assert list(f["ref"]) == [3, 4, 5, 6, 7, 8, 9]
    # `t` still counts from the first line of the input, a dropped DNS query.
    assert f["t"].iloc[0] == pytest.approx(1221.561068)


def test_other_traffic_kept_on_request_and_for_configured_ports():
    r = InputReport("t")
    assert len(parse_lines(MIXED, r, other_traffic=True)) == len(MIXED) and r.accounting["other-traffic"] == 0
    r = InputReport("t")
    f = parse_lines(MIXED, r, tcp_ports=(443,))  # `--ike-tcp-port 443`: HTTPS may be IKE
    assert r.accounting["other-traffic"] == 2 and 2 in set(f["ref"])


def test_early_decision_is_the_parsed_one(tmp_path):
    """Lines counted as other traffic before parsing (sniffer.other_traffic) are exactly the
    ones the decision on parsed rows (sniffer.ipsec_rows) drops: on the benchmark day (busy
    HTTPS and DNS beside dial-up tunnels, some reconnecting over TCP 5500) and the seed."""
    import subprocess
    import sys
    from pathlib import Path

    import numpy as np
    import pyarrow as pa

    from ikeanalyze.sources import sniffer

    make = Path(__file__).resolve().parents[1] / "data" / "make_capture.py"
    path = tmp_path / "s.txt"
    subprocess.run([sys.executable, str(make), "--packets", "20000", "--tunnels", "8", "--duration", "1200",
                    "--sniffer", str(path)], check=True, capture_output=True, timeout=120)
    seed = Path(__file__).resolve().parents[2] / "samples" / "forticlient-udp-fallback-tcp.txt"
    lines = path.read_text().splitlines() + MIXED + seed.read_text().splitlines()
    everything = parse_lines(lines, InputReport("t"), other_traffic=True)
    pkt = everything[everything["origin"] == "sniffer"]
    cols = {c: pa.array(pkt[c]) for c in ("kind", "proto", "src", "sport", "dst", "dport", "tcp_seq", "tcp_ack")}
    want = set(pkt["ref"].to_numpy()[sniffer.ipsec_rows(cols)])
    r = InputReport("t")
    kept = parse_lines(lines, r)
    got = set(kept.loc[kept["origin"] == "sniffer", "ref"])
    assert got == want
    assert r.accounting["other-traffic"] == len(pkt) - len(want) > 1000
    tcp = pkt[pkt["kind"] == "tcp"]
    kept_tcp = tcp[tcp["ref"].isin(got)]
    assert 0 < len(kept_tcp) < len(tcp) / 10 and (kept_tcp["dport"].eq(5500) | kept_tcp["sport"].eq(5500)).all()
    day = len(path.read_text().splitlines())
    assert np.isin(day + np.arange(3, 9), np.array(sorted(got))).all()  # MIXED's IKE-over-TCP lines


def test_early_decision_reads_the_first_packet_of_a_joined_line():
    """A long line and a next one the join takes as its continuation (a paste that cut the
    next line's date): the early decision reads the first packet's protocol, as the parser
    does, not a `udp` or TCP numbers in the continuation (found by differential fuzzing)."""
    first = "2026-02-03 16:34:15.355474 port2 in 151.28.24.160 -> 255.1.243.182: icmp: echo request, id 4660, seq 5"
    for cont in ("23:40:21.594070 port2 in 10.3.2.150.53 -> 8.8.8.8.53: udp 40",
                 "23:40:21.594070 port2 in 10.3.2.150.40000 -> 8.8.8.8.443: psh 1 ack 1"):
        r = InputReport("t")
        kept = parse_lines([first, cont], r)
        assert list(kept["kind"]) == ["icmp"] and list(kept["dst"]) == ["255.1.243.182"], cont
        assert r.accounting.get("other-traffic", 0) == 0 and r.accounting["continuation"] == 1


def test_tcp_the_sniffer_could_not_print_is_kept_on_an_ike_tcp_port():
    """`ip-proto-6 N` is TCP whose header the sniffer did not print: kept on an
    `--ike-tcp-port`, other traffic elsewhere, as the decision on parsed rows says."""
    line = "2026-02-07 11:13:11.537345 port2 out 10.0.0.1.443 -> 10.0.0.2.40000: ip-proto-6 60"
    for ports, kept_rows in (((443,), 1), ((), 0)):
        r = InputReport("t")
        kept = parse_lines([line], r, tcp_ports=ports)
        assert len(kept) == kept_rows and r.accounting.get("other-traffic", 0) == 1 - kept_rows, ports
        assert list(kept["proto"]) == ["tcp"] * kept_rows


def test_packet_records_run_together_on_one_line_are_each_read():
    """A web copy that lost the sniffer's line breaks: several records on one line. Each is
    an event of its line (only the first was read, the rest silently lost: the seed story's
    TCP reconnect vanished), said in the warnings; the books count lines."""
    from pathlib import Path

    seed = Path(__file__).resolve().parents[1] / "data" / "seed" / "forticlient-udp-fallback-tcp.paste.txt"
    lines = [ln for ln in seed.read_text().splitlines() if " -> " in ln and " ike " not in ln]
    collapsed = [" ".join(lines[i:i + 3]) for i in range(0, len(lines), 3)]
    want, _ = _events(lines)
    got, report = _events(collapsed)
    cols = ["kind", "src", "sport", "dst", "dport", "length", "time"]
    assert got[cols].astype(str).values.tolist() == want[cols].astype(str).values.tolist()
    assert list(got["ref"]) == [i // 3 + 1 for i in range(len(lines))]
    assert report.total == len(collapsed) and report.accounting["event"] == len(collapsed)
    assert any("hold several packet records run together" in w for w in report.warnings)


def _events(lines):
    report = InputReport("x.txt")
    return parse_lines(lines, report), report


def test_a_note_inside_records_run_together_ends_at_the_next_record():
    line = ("2026-02-26 23:40:21.594070 port2 in 10.3.2.150.500 -> 10.55.3.193.500: udp 448 "
            "<-- First SA_INIT. 2026-02-26 23:40:21.594225 port2 out 10.55.3.193.500 -> "
            "10.3.2.150.500: udp 432")
    ev, report = _events([line])
    assert list(ev["length"]) == [448, 432] and list(ev["direction"]) == ["in", "out"] and list(ev["ref"]) == [1, 1]
    assert report.accounting["event"] == 1


def test_an_arrow_without_addresses_before_no_summary_is_not_a_packet():
    """The header without addresses needs the interface and direction and a summary of a
    known form after the arrow: prose with an arrow stays unrecognised."""
    r = InputReport("t")
    lines = ["2024-04-18 09:12:04.000000 port3 out -> whatever the author wrote",
             "7.0 -> ESP(spi=0x1,seq=0x1) after the upgrade", "1.5 upgrade in -> then what",
             "2024-04-18 09:12:09.201700 port3 out -> ESP(spi=0x5e1f0a27,seq=0x22)"]
    assert list(parse_lines(lines, r)["ref"]) == [4] and r.accounting["unrecognised"] == 3


def test_tcp_and_udp_without_addresses_are_other_traffic():
    """Without its ports nothing tells a redacted TCP or UDP line from other traffic: counted
    as such (the stream test has no endpoints to group)."""
    r = InputReport("t")
    lines = ["2024-04-18 09:12:06.200000 port1 out -> udp 116", "2024-04-18 09:12:06.300000 port1 out -> syn 12345",
             "2024-04-18 09:12:06.400000 port1 in -> 12346 ack 999"]
    assert parse_lines(lines, r).empty and r.accounting["other-traffic"] == 3 and r.balanced


UTC_RUN = "FGT-A # diagnose sniffer packet wan1 'udp port 500' 4 0 {flag}"
DEBUG_LINE = ("2026-04-10 02:10:00 ike V=root:0:to-dc2:31: sent IKE msg (SA_INIT): 192.0.2.10:500->203.0.113.30:500, "
              "len=480, vrf=0, id=1111aaaa2222bbbb/0000000000000000, oif=5")


@pytest.mark.parametrize("flag, warned", [("a", True), ("l", False)])
def test_a_utc_sniffer_run_beside_a_local_time_debug_is_warned_of(flag, warned):
    """`4 0 a` stamps packets in UTC, the debug console in the FortiGate's local time: in a
    paste of both, the same SA_INIT two hours apart was told as two IKE105 findings with no
    word of why. `l` prints local time, as the debug does: nothing to say."""
    r = InputReport("t")
    parse_lines([UTC_RUN.format(flag=flag), "interfaces=[wan1]", "filters=[udp port 500]",
                 "2026-04-10 00:10:00.100000 wan1 out 192.0.2.10.500 -> 203.0.113.30.500: udp 480",
                 "FGT-A # diagnose debug enable", DEBUG_LINE], r)
    said = [w for w in r.warnings if "prints UTC (`a`)" in w]
    assert bool(said) is warned, r.warnings
    if warned:
        assert said[0].startswith("line 1: ") and "run the sniffer with `l`" in said[0]


def test_a_utc_sniffer_run_with_the_unquoted_filter_none_is_warned_of_too():
    """`none` (no filter) is typed unquoted as often as not (`diagnose sniffer packet wan1 none
    4 0 a`): its run stamps in UTC as a quoted filter's does."""
    r = InputReport("t")
    parse_lines(["FGT-A # diagnose sniffer packet wan1 none 4 0 a", "interfaces=[wan1]", "filters=[none]",
                 "2026-04-10 00:10:00.100000 wan1 out 192.0.2.10.500 -> 203.0.113.30.500: udp 480",
                 "FGT-A # diagnose debug enable", DEBUG_LINE], r)
    assert [w[:8] for w in r.warnings if "prints UTC (`a`)" in w] == ["line 1: "], r.warnings


def _utc_paste(flag: str, hours: float, sniffed_len: int = 480, debug_len: int = 480, waits=(0, 2, 6, 14)) -> list[str]:
    """A `4 0 <flag>` run of an SA_INIT sent 4 times (stamped ``hours`` before the debug's
    clock) and the debug of the same sends in local time."""
    import datetime as dt
    local = dt.datetime(2026, 4, 10, 9, 40, 0, 100000)
    utc = local - dt.timedelta(hours=hours)
    sniffed = [f"{(utc + dt.timedelta(seconds=w, microseconds=300)):%Y-%m-%d %H:%M:%S.%f} wan1 out "
               f"192.0.2.10.500 -> 203.0.113.30.500: udp {sniffed_len}" for w in waits]
    sent = [f"{(local + dt.timedelta(seconds=w)):%Y-%m-%d %H:%M:%S.%f} ike V=root:0:to-dc2:31: sent IKE msg "
            f"({'RETRANSMIT_SA_INIT' if w else 'SA_INIT'}): 192.0.2.10:500->203.0.113.30:500, len={debug_len}, "
            f"vrf=0, id=1111aaaa2222bbbb/0000000000000000, oif=5" for w in waits]
    return [UTC_RUN.format(flag=flag), "interfaces=[wan1]", "filters=[udp port 500]", *sniffed,
            "FGT-A # diagnose debug enable", *sent]


def _clocks(frame) -> tuple[list, list]:
    sniffed, debug = frame[frame["origin"] == "sniffer"], frame[frame["kind"] == "ike-sent"]
    return [str(x) for x in sniffed["time"]], [str(x) for x in debug["time"]]


@pytest.mark.parametrize("hours, label", [(2, "+02:00"), (5.5, "+05:30"), (-3.5, "-03:30")])
def test_a_utc_sniffer_run_is_put_on_the_debug_clock_by_the_messages_both_tell(hours, label):
    """The four sends the debug and the UTC run both tell are ``hours`` apart (a whole number
    of quarter hours): the run's stamps move onto the debug's clock, where each packet lies
    within a millisecond of its `sent IKE msg`, and `t` counts from the first of them all.
    Before, the run stayed hours away (two IKE105 findings, a timeline out of order)."""
    r = InputReport("t")
    frame = parse_lines(_utc_paste("a", hours), r)
    sniffed, debug = _clocks(frame)
    assert [s[:22] for s in sniffed] == [d[:22] for d in debug], (sniffed, debug)
    assert sniffed[0] == "2026-04-10 09:40:00.100300"
    assert frame["t"].min() == 0 and abs(frame["t"].max() - 14.0003) < 1e-6
    assert not [w for w in r.warnings if "hours apart" in w], r.warnings
    said = [w for w in r.warnings if "prints UTC (`a`)" in w]
    assert len(said) == 1 and said[0].startswith("line 1: ")
    assert f"4 IKE messages told by both are {label} apart" in said[0]
    assert f"(lines 1-7) are shifted by {label} onto the debug's clock" in said[0]


@pytest.mark.parametrize("case", ["other length", "one message", "offsets disagree"])
def test_a_utc_run_the_debug_does_not_line_up_with_is_only_warned_of(case):
    """Datagrams of another length than the debug's messages, a single message both tell, or
    messages that put the clocks at different offsets are no offset: the run keeps its
    stamps and the paste is warned of, as before."""
    if case == "other length":
        lines = _utc_paste("a", 2, sniffed_len=484)
    elif case == "one message":
        lines = _utc_paste("a", 2, waits=(0,))
    else:  # the first two sends 2 hours after the run's, the last two 3 hours: a tie
        lines = _utc_paste("a", 2)
        lines[10:12] = [x.replace(" 09:40:", " 10:40:") for x in lines[10:12]]
    r = InputReport("t")
    frame = parse_lines(lines, r)
    sniffed, _ = _clocks(frame)
    assert [s[11:19] for s in sniffed] == ["07:40:00", "07:40:02", "07:40:06", "07:40:14"][:len(sniffed)], sniffed
    said = [w for w in r.warnings if "prints UTC (`a`)" in w]
    assert len(said) == 1 and "hours apart" in said[0] and "shifted" not in said[0], r.warnings


def test_a_local_time_run_hours_from_the_debug_is_left_as_printed():
    """`l` prints the FortiGate's local time, as the debug does: two hours between them are
    what the paste shows (another day's capture), not a clock to move."""
    r = InputReport("t")
    frame = parse_lines(_utc_paste("l", 2), r)
    sniffed, _ = _clocks(frame)
    assert sniffed[0] == "2026-04-10 07:40:00.100300"
    assert not [w for w in r.warnings if "prints UTC" in w], r.warnings


def test_a_utc_run_without_directions_on_4500_lines_up_with_the_debug_by_either_length():
    """At verbosity 1 the run prints no in/out, and on UDP 4500 its `udp N` counts the
    4-byte non-ESP marker the debug's `len=` may leave out: the AUTH request (`udp 260`,
    `len=260`) and its answer (`udp 228`, `len=224`) still name the offset (+01:00)."""
    r = InputReport("t")
    lines = ["FGT-A # diagnose sniffer packet wan1 'udp port 4500' 1 0 a", "interfaces=[wan1]",
             "filters=[udp port 4500]",
             "2026-04-10 08:20:00.000400 192.0.2.10.4500 -> 198.51.100.7.4500: udp 260",
             "2026-04-10 08:20:00.030400 198.51.100.7.4500 -> 192.0.2.10.4500: udp 228",
             "FGT-A # diagnose debug enable",
             "2026-04-10 09:20:00.000000 ike V=root:0:to-br:7: sent IKE msg (AUTH): 192.0.2.10:4500->198.51.100.7:4500, "
             "len=260, vrf=0, id=3333cccc4444dddd/5555eeee6666ffff:00000001",
             "2026-04-10 09:20:00.030200 ike V=root:0: comes 198.51.100.7:4500->192.0.2.10:4500,ifindex=5,vrf=0,len=224...."]
    frame = parse_lines(lines, r)
    assert [str(x) for x in frame.loc[frame["origin"] == "sniffer", "time"]] == [
        "2026-04-10 09:20:00.000400", "2026-04-10 09:20:00.030400"]
    assert [w for w in r.warnings if "2 IKE messages told by both are +01:00 apart" in w], r.warnings


def test_a_utc_run_beside_a_debug_on_utc_is_not_said_to_be_hours_apart():
    """A FortiGate whose time zone is UTC prints both in one clock: the messages both tell
    agree as printed, which is said instead of a warning that the clocks differ."""
    r = InputReport("t")
    frame = parse_lines(_utc_paste("a", 0), r)
    assert _clocks(frame)[0][0] == "2026-04-10 09:40:00.100300"
    said = [w for w in r.warnings if "prints UTC (`a`)" in w]
    assert len(said) == 1 and "4 IKE messages told by both show the same time" in said[0], r.warnings


def test_a_shifted_run_counts_t_from_its_own_first_line_kept_out():
    """`t` counts from the input's first stamp, a line of other traffic kept out included
    (a DNS query 1 s before the first SA_INIT): that line is the run's, so in its clock,
    and it moves with the run."""
    r = InputReport("t")
    lines = _utc_paste("a", 2)
    lines.insert(3, "2026-04-10 07:39:59.100300 wan1 out 192.0.2.10.53000 -> 198.51.100.1.53: udp 40")
    frame = parse_lines(lines, r)
    assert r.accounting["other-traffic"] == 1
    assert list(frame.loc[frame["origin"] == "sniffer", "t"].round(4)) == [1.0, 3.0, 7.0, 15.0]


def test_the_offset_a_sample_of_a_long_debug_favours_is_counted_over_all_its_messages(monkeypatch):
    """A long debug asks every quarter hour of a sample of its messages (clockoffset.SAMPLE)
    and the offsets the sample favours of all of them: the warning counts all four sends,
    not the sample's two."""
    from ikeanalyze.sources import clockoffset
    monkeypatch.setattr(clockoffset, "SAMPLE", 2)
    r = InputReport("t")
    frame = parse_lines(_utc_paste("a", 5.5), r)
    assert _clocks(frame)[0][0] == "2026-04-10 09:40:00.100300"
    assert [w for w in r.warnings if "4 IKE messages told by both are +05:30 apart" in w], r.warnings


@pytest.mark.parametrize("debug_lines, shifted", [(slice(7, None), True), (slice(8, 9), False)])
def test_a_utc_run_and_a_local_time_debug_given_as_two_inputs_are_lined_up(tmp_path, debug_lines, shifted):
    """The run in one file, the debug in another (as often as in one paste): the run moves
    onto the other input's debug clock when its four sends name the offset, and its input
    says whose debug that was; a single send names none, and nothing is said (the debug
    may be another FortiGate's)."""
    from ikeanalyze.sources import load
    lines = _utc_paste("a", 5.5)
    (tmp_path / "sniffer.txt").write_text("\n".join(lines[:7]) + "\n", encoding="utf-8")
    (tmp_path / "debug.txt").write_text("\n".join(lines[debug_lines]) + "\n", encoding="utf-8")
    events, ingest = load([str(tmp_path / "sniffer.txt"), str(tmp_path / "debug.txt")])
    sniffed = events[events["origin"] == "sniffer"]
    assert str(sniffed["time"].iloc[0]) == ("2026-04-10 09:40:00.100300" if shifted else "2026-04-10 04:10:00.100300")
    assert list(sniffed["t"].round(4)) == [0.0, 2.0, 6.0, 14.0]
    said = [w for w in ingest.inputs[0].warnings if "prints UTC" in w]
    assert said == ([f"line 1: the sniffer run prints UTC (`a`), the IKE debug of {tmp_path / 'debug.txt'} the "
                     f"FortiGate's local time: 4 IKE messages told by both are +05:30 apart, so the run's times "
                     f"(lines 1-7) are shifted by +05:30 onto the debug's clock"] if shifted else []), said


def test_two_debug_sends_beside_one_sniffed_packet_are_one_message_told_by_both():
    """The debug's SA_INIT and its retransmission 2 s later both lie within the slack of the
    one packet the run caught of them (its other packet is ten minutes later): one message
    told by both is no offset (clockoffset.AGREE_MIN), so the run keeps its stamps and the
    paste is warned of. Before, each debug send counted the same packet: '2 IKE messages'."""
    r = InputReport("t")
    lines = _utc_paste("a", 2, waits=(0, 2))
    lines[4] = lines[4].replace(" 07:40:02", " 07:50:02")
    frame = parse_lines(lines, r)
    assert _clocks(frame)[0] == ["2026-04-10 07:40:00.100300", "2026-04-10 07:50:02.100300"]
    said = [w for w in r.warnings if "prints UTC (`a`)" in w]
    assert len(said) == 1 and "hours apart" in said[0] and "shifted" not in said[0], r.warnings


def test_a_second_shifted_run_keeps_t_counting_from_the_first_runs_line_kept_out():
    """Two UTC runs, each beside its debug: the line kept out before the first run (a DNS
    query 1 s before its first SA_INIT) moves once, with the first run; the second run's
    shift leaves it where it is. Before, it moved again (by +02:00, past every row) and `t`
    counted from the debug's first send."""
    r = InputReport("t")
    lines = _utc_paste("a", 2)
    lines.insert(3, "2026-04-10 07:39:59.100300 wan1 out 192.0.2.10.53000 -> 198.51.100.1.53: udp 40")
    lines += [x.replace(" 09:40:", " 09:50:").replace(" 07:40:", " 07:50:") for x in _utc_paste("a", 2)]
    frame = parse_lines(lines, r)
    assert len([w for w in r.warnings if "are +02:00 apart" in w]) == 2, r.warnings
    assert list(frame.loc[frame["origin"] == "sniffer", "t"].round(4)) == [1.0, 3.0, 7.0, 15.0,
                                                                           601.0, 603.0, 607.0, 615.0]
