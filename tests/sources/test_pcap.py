"""pcap/pcapng ingestion: real captures (with tshark as the oracle), hand-built frames, truncation,
the benchmark capture's ground truth."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ikeanalyze.analysis.direction import fill_direction, infer_local
from ikeanalyze.ingest import IngestReport, InputReport
from ikeanalyze.sources import Blob, LoadOptions, load, load_blob
from ikeanalyze.sources.text import parse_lines
from ikeanalyze.wire import iana
from ikeanalyze.wire.ike import decode
from tests.sources import pcapbuild as pb
from tests.sources import synthcaps
from tests.wire.ikebuild import message, notify_v2, sa_v2

DATA = Path(__file__).resolve().parent.parent / "data"
CAPTURES = sorted(p for p in (DATA / "pcap").iterdir() if p.suffix in (".pcap", ".pcapng", ".cap"))
TSHARK = shutil.which("tshark")

GW, CL = "10.55.3.193", "10.3.2.7"
ISPI, RSPI = bytes.fromhex("1122334455667788"), bytes.fromhex("99aabbccddeeff00")


def read(data: bytes, name: str = "t.pcap", **opts) -> tuple[pd.DataFrame, object]:
    ingest = IngestReport()
    events = load_blob(Blob(name, None, data, data[:16]), LoadOptions(**opts), ingest)
    return events, ingest.inputs[0]


def sa_init(resp: bool = False) -> bytes:
    return message(
        ISPI,
        RSPI if resp else bytes(8),
        34,
        0x20 if resp else 0x08,
        0,
        [
            (33, sa_v2([(1, 12, 256), (2, 5, None), (3, 12, None), (4, 14, None)])),
            (34, struct.pack("!HH", 14, 0) + bytes(64)),
            (40, bytes(32)),
            (41, notify_v2(16388, bytes(20))),
        ],
    )


# ----------------------------------------------------------------------------- real captures
# The warning of the captures whose frames step back in time (their start).
OUT_OF_ORDER = {
    "ndpi_ipsec_isakmp_esp.pcap": "10 frames stamped earlier than the frame before them (by up to 19 h 16 min)",
    "tcpdump_isakmp-various-oobr.pcap": "1 frame stamped earlier than the frame before it (by 23715 h 25 min)",
}


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_every_capture_reads_and_accounts_for_every_frame(path):
    events, ingest = load([path])
    rep = ingest.inputs[0]
    assert rep.balanced and rep.total > 0
    # Two real captures step back in time: nDPI's merges captures made 19 h apart; tcpdump's
    # fuzzed one carries a stamp years off. Every other capture reads without a warning.
    said = OUT_OF_ORDER.get(path.name)
    assert ([w[:len(said)] for w in rep.warnings] == [said]) if said else not rep.warnings, rep.warnings
    assert rep.clock == "utc" and rep.unit == "frame"
    # Rows in time order (a capture out of time order is sorted for the analysis), each
    # keeping its frame number, as tshark numbers it.
    assert events["ref"].between(1, rep.total).all()
    assert events["ref"].is_monotonic_increasing if not said else events["t"].ffill().is_monotonic_increasing
    assert set(events["kind"].unique()) <= {
        "ike",
        "esp",
        "nat-keepalive",
        "ip-fragment",
        "tcp",
        "iketcp-prefix",
    }
    assert (events["t"] >= 0).all()


def _tshark_ike(path: Path) -> list[dict]:
    fields = [
        "frame.number",
        "isakmp.version",
        "isakmp.exchangetype",
        "isakmp.ispi",
        "isakmp.rspi",
        "isakmp.messageid",
        "isakmp.flag_i",
        "isakmp.flag_r",
        "isakmp.typepayload",
        "isakmp.nextpayload",
        "isakmp.notify.msgtype",
        "udp.payload",
        "udpencap.non_esp_marker",
        "_ws.malformed",
    ]
    return _tshark_fields(path, "isakmp && !isakmp.ike.nat_keepalive && !icmp && !icmpv6", fields)


def _tshark_fields(path: Path, display_filter: str, fields: list[str], occurrence: str = "a") -> list[dict]:
    """The fields tshark prints for each frame that passes the display filter (every
    occurrence joined by commas, or only the first with ``occurrence="f"``)."""
    cmd = [TSHARK, "-n", "-r", str(path), "-Y", display_filter, "-T", "fields", "-E", "separator=/t",
           "-E", f"occurrence={occurrence}", "-E", "aggregator=,"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [dict(zip(fields, line.split("\t"))) for line in out.splitlines()]


@pytest.mark.tshark
@pytest.mark.skipif(TSHARK is None, reason="tshark binary not installed")
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_ike_fields_match_tshark(path):
    """Per IKE message: exchange, flags, message ID, SPIs, payload types, notify types."""
    events, _ = load([path])
    ike = events[events["ispi"].notna()].set_index("ref")
    for row in _tshark_ike(path):
        frame = int(row["frame.number"])
        assert frame in ike.index, f"frame {frame}: tshark sees IKE, we do not"
        ours = ike.loc[frame]
        ver = int(row["isakmp.version"], 16) >> 4
        assert ours["ike_version"] == ver
        assert ours["exchange"] == iana.exchange_name(ver, int(row["isakmp.exchangetype"])), frame
        assert ours["ispi"] == row["isakmp.ispi"] and ours["rspi"] == row["isakmp.rspi"], frame
        assert ours["msg_id"] == int(row["isakmp.messageid"], 16), frame
        if ver == 2:
            assert bool(ours["response"]) == (row["isakmp.flag_r"] in ("1", "True")), frame
        types = [int(t) for t in row["isakmp.typepayload"].split(",") if t and int(t) not in (2, 3)]
        ours_payloads = ours["payloads"].split() if isinstance(ours["payloads"], str) else []
        if not types:
            # tshark did not walk the chain (IKEv1 encrypted body, or a bogus header length):
            # it names only the first payload.
            types = [int(row["isakmp.nextpayload"].split(",")[0])]
            ours_payloads = ours_payloads[:1]
        if row["_ws.malformed"]:
            # tshark gives up inside a malformed payload; we walk the generic headers on.
            ours_payloads = ours_payloads[: len(types)]
        assert ours_payloads == [iana.payload_name(ver, t) for t in types], frame
        notes = [iana.notify_name(ver, int(t)) for t in row["isakmp.notify.msgtype"].split(",") if t]
        ours_notes = ours["notify"].split() if isinstance(ours["notify"], str) else []
        assert ours_notes == notes, frame
        # The innermost UDP payload: a tunnel (VXLAN, Geneve) has its own UDP header outside.
        raw = bytes.fromhex(row["udp.payload"].split(",")[-1]) if row["udp.payload"] else b""
        if row["udpencap.non_esp_marker"]:
            raw = raw[4:]
        if len(raw) >= 28 and ver == 2:  # the I flag is not a column: check it on the decoder
            assert decode(raw).initiator == (row["isakmp.flag_i"] in ("1", "True")), frame


@pytest.mark.tshark
@pytest.mark.skipif(TSHARK is None, reason="tshark binary not installed")
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_addresses_ports_and_spis_match_tshark(path):
    """Per IKE, ESP and keepalive event: the innermost IP addresses (inside a tunnel, the
    packet tshark dissects last), the UDP ports and the ESP SPI."""
    events, _ = load([path])
    fields = ["frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "udp.srcport",
              "udp.dstport", "esp.spi"]
    theirs = {int(r["frame.number"]): r for r in _tshark_fields(path, "frame", fields)}
    rows = events[events["kind"].isin(["ike", "esp", "nat-keepalive"]).to_numpy()]
    for ref, src, dst, sport, dport, spi in rows[["ref", "src", "dst", "sport", "dport", "esp_spi"]].itertuples(
            index=False, name=None):
        row = theirs[int(ref)]
        fam = [p for p in row["frame.protocols"].split(":") if p in ("ip", "ipv6")][-1]
        assert (src, dst) == (row[f"{fam}.src"].split(",")[-1], row[f"{fam}.dst"].split(",")[-1]), ref
        if row["udp.srcport"] and not pd.isna(sport):
            assert (int(sport), int(dport)) == (int(row["udp.srcport"].split(",")[-1]),
                                                int(row["udp.dstport"].split(",")[-1])), ref
        if row["esp.spi"] and not pd.isna(spi):
            assert int(spi, 16) == int(row["esp.spi"].split(",")[-1], 16), ref


@pytest.mark.tshark
@pytest.mark.skipif(TSHARK is None, reason="tshark binary not installed")
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_times_and_directions_match_tshark(path):
    """Per event frame: the time (to the microsecond the table keeps) and the pcapng epb_flags
    direction. (Interface names are not compared: tshark 4.0 takes them from the wrong section
    of a multi-section file; test_pcapng_sections_keep_their_own_byte_order checks them.)"""
    events, _ = load([path])
    theirs = {int(r["frame.number"]): r for r in _tshark_fields(
        path, "frame", ["frame.number", "frame.time_epoch", "frame.packet_flags_direction"], "f")}
    for ref, time, direction in zip(events["ref"], events["time"], events["direction"]):
        row = theirs[int(ref)]
        if row["frame.time_epoch"]:  # none for a Simple Packet Block
            assert abs(time.value / 1e9 - float(row["frame.time_epoch"])) < 1.5e-6, ref
        flags = int(row["frame.packet_flags_direction"] or "0", 16)
        assert (None if pd.isna(direction) else direction) == {1: "in", 2: "out"}.get(flags), ref


def test_pcapng_sections_keep_their_own_byte_order():
    """Each pcapng section has its own byte order: the epb_flags of a little-endian section
    followed by a big-endian one are read in their own section's order."""
    events, rep = load([DATA / "pcap" / "synth_sections.pcapng"])
    assert rep.inputs[0].accounting == {"event": 9}
    assert list(events["iface"]) == ["port1", "wan1", "any", "any2", "port1", "any", "port9", "raw6", "port9"]
    assert list(events["direction"].fillna("-")) == ["out", "in", "-", "out", "out", "-", "out", "out", "in"]
    assert list(events["kind"]) == ["ike", "ike", "nat-keepalive", "esp", "esp", "ike", "ike", "ike", "ike"]


def test_pcapng_frames_without_a_time_and_interface_time_offsets():
    """if_tsoffset counts an interface's timestamps from a base; a simple packet block has no
    timestamp and takes its neighbour's, instead of 1970 (which made `t` of every other frame
    count from 1970)."""
    events, rep = load([DATA / "pcap" / "synth_clockless.pcapng"])
    assert rep.inputs[0].accounting == {"event": 5} and not rep.inputs[0].warnings
    start = pd.Timestamp(synthcaps.T0, unit="s")
    assert list(events["time"]) == [start, start, start + pd.Timedelta("20ms"), start + pd.Timedelta("20ms"),
                                    start + pd.Timedelta("1s")]
    assert list(events["t"]) == [0.0, 0.0, 0.02, 0.02, 1.0]


def test_pcapng_times_past_int64_nanoseconds_keep_the_time_before():
    """A time that does not fit int64 nanoseconds once scaled (10**12 at if_tsresol seconds,
    from a damaged block) wrapped around silently: the frame keeps the time of the frame
    before, said once."""
    frame = pb.eth(pb.ipv4(CL, GW, 17, pb.udp(500, 500, sa_init())))
    t0 = int(synthcaps.T0)
    data = pb.pcapng([(1, "wan1", 0)], [(0, t0, frame, None), (0, 10**12, frame, None), (0, t0 + 1, frame, None)])
    events, rep = read(data, "t.pcapng")
    assert rep.accounting == {"event": 3}
    assert list(events["t"]) == [0.0, 0.0, 1.0]
    assert rep.warnings == ["frame 2: impossible timestamp (later than 2099 by its interface's resolution and time offset); "
                            "such frames keep the time of the frame before"]


def test_pcapng_impossible_interface_time_offset_is_ignored_not_the_times():
    """An if_tsoffset past 2099 (a damaged interface block) is dropped with a warning; the
    frames keep their own times and gaps. (It used to mark every frame of the interface
    impossible: all at t=0, shown as 1970.)"""
    path = Path(__file__).parents[1] / "robustness" / "crashers" / "pcap-pcapng-tsoffset-past-int64.pcapng"
    events, rep = load([path])
    assert list(events["t"]) == [0.0, 0.0, 0.02, 0.02, 1.0]
    assert rep.inputs[0].warnings == ["interface 0: impossible if_tsoffset (1101283772176 s, past 2099); "
                                      "its times are read without it"]


def test_duplicated_capture_frames_are_marked_not_retransmissions():
    """suricata-verify detect-bypass-udp: every frame captured twice ~10 us apart."""
    events, _ = load([DATA / "pcap" / "suricata-verify_detect-bypass-udp_input.pcap"])
    dup = events["detail"] == "duplicate-frame"
    assert int(dup.sum()) == 33 and len(events) == 66
    refs = events.loc[dup.fillna(False), "ref"].to_numpy(dtype="int64")
    assert (refs % 2 == 0).all()
    kept = events[~dup.fillna(False)]
    assert kept["exchange"].value_counts().to_dict() == {"INTERMEDIATE": 19, "AUTH": 14}
    assert "INTERMEDIATE" in set(events["exchange"])  # exchange 43, unknown to tshark 4.0
    # a genuine retransmission (seconds apart, tcpdump isakmp4500) is not marked
    ev2, _ = load([DATA / "pcap" / "tcpdump_isakmp4500.pcap"])
    assert (ev2["detail"] != "duplicate-frame").fillna(True).all()


SEALED_CAPTURES = ["suricata-verify_detect-bypass-udp_input.pcap", "scapy_ikev2_nat_t.pcapng",
                   "tcpdump_isakmp4500.pcap", "tcpdump_ikev2four.pcap"]


def test_sealed_ike_rows_are_what_the_decoder_makes(monkeypatch):
    """Encrypted IKEv2 on UDP 4500 is read from fixed offsets (pcap._sealed_frame): the rows,
    duplicate marks and accounting must be exactly those of the general decoder."""
    from ikeanalyze.sources import pcap

    seen = 0
    for name in SEALED_CAPTURES:
        fast, fast_ingest = load([DATA / "pcap" / name])
        with monkeypatch.context() as m:
            m.setattr(pcap, "_sealed_ike", lambda u8, cand, *a: cand & False)
            slow, slow_ingest = load([DATA / "pcap" / name])
        pd.testing.assert_frame_equal(fast, slow)
        assert fast_ingest.inputs[0].accounting == slow_ingest.inputs[0].accounting
        seen += int((fast["payloads"] == "SK").fillna(False).sum())
    assert seen >= 40  # the fast path was taken, and on duplicates too (bypass-udp: every frame twice)


def test_ipv6_fast_rows_are_what_the_decoder_makes(monkeypatch):
    """IPv6 ESP, ESP-in-UDP and keepalives are read at fixed offsets like IPv4's (a 200k-frame
    IPv6 capture took 7.5 s one by one, 0.6 s so): the rows equal the decoder's, which reads
    the same packets behind a destination-options header (a form the fixed offsets leave to it)."""
    a, b = "2001:db8::7", "2001:db8:55:0:0:0:0:1"
    bodies = [(50, synthcaps.esp(0xC0DE00D1, 7)), (17, pb.udp(4500, 4500, synthcaps.esp(0xC0DE00D2, 9))),
              (17, pb.udp(4500, 4500, b"\xff")), (17, pb.udp(500, 500, sa_init()))]

    def frames(options: bool) -> bytes:
        out = []
        for i, (nh, body) in enumerate(bodies * 2):
            src, dst = (a, b) if i % 2 == 0 else (b, a)
            ip = pb.ipv6(src, dst, 60, bytes([nh, 0]) + bytes(6) + body) if options else pb.ipv6(src, dst, nh, body)
            out.append((1.0 + i, pb.eth(ip, 0x86DD)))
        return pb.pcap(out)

    from ikeanalyze.sources import pcap

    decoded = []
    one_by_one = pcap._slow_frame
    monkeypatch.setattr(pcap, "_slow_frame", lambda ch, i, *rest: decoded.append(ch.first_ref + i) or one_by_one(ch, i, *rest))
    fast, fast_rep = read(frames(False))
    assert decoded == [4, 8]  # only the IKE messages
    slow, slow_rep = read(frames(True))
    assert list(fast["kind"]) == ["esp", "esp", "nat-keepalive", "ike"] * 2 and fast["src"][1] == "2001:db8:55::1"
    # an IPv6 endpoint in brackets before its port (endpoints.py); ESP has no port, no brackets
    assert fast["text"][0].startswith("2001:db8::7 > 2001:db8:55::1 ESP spi=0xc0de00d1")
    assert fast["text"][1].startswith("[2001:db8:55::1]:4500 > [2001:db8::7]:4500 ESP-in-UDP spi=0xc0de00d2")
    assert fast["text"][3].startswith("[2001:db8:55::1]:500 > [2001:db8::7]:500 IKEv2")
    pd.testing.assert_frame_equal(fast, slow)
    assert fast_rep.accounting == slow_rep.accounting


def test_fast_rows_leave_frames_whose_lengths_disagree_to_the_decoder():
    """ESP, ESP-in-UDP and keepalive rows are read at fixed offsets with the IP header's
    length; a frame whose IP and UDP headers disagree, or whose ESP header lies past the IP
    packet's end, gets the general decoder's answer (found by differential fuzzing)."""
    esp = struct.pack("!II", 0x11223344, 7) + bytes(16)
    offload = bytearray(pb.ipv4(CL, GW, 50, esp))
    offload[2:4] = b"\0\0"  # segmentation offload: total length 0, the packet all there
    padded_link = pb.ipv4(CL, GW, 50, esp[:4]) + bytes(20)  # 4 ESP bytes, then the link's padding
    padded_ip = pb.ipv4(CL, GW, 17, pb.udp(4500, 4500, b"\xff") + bytes(3))  # UDP says 1 byte
    short_udp = bytearray(pb.udp(4500, 4500, esp))
    short_udp[4:6] = struct.pack("!H", 9)  # UDP says 1 byte, IP carries 24
    cases = [
        (offload, ("esp", 24, "11223344", 7)),  # the packet as captured (see synth_offload_udp.pcap)
        (padded_link, ("esp", 4, "11223344", None)),  # the SPI is inside the IP packet, the sequence not
        (padded_ip, ("nat-keepalive", 1, None, None)),
        (pb.ipv4(CL, GW, 17, bytes(short_udp)), ("esp", 1, None, None)),
    ]
    for frame, (kind, length, spi, seq) in cases:
        events, rep = read(pb.pcap([(1.0, pb.eth(bytes(frame)))]))
        row = events.iloc[0]
        assert (row["kind"], row["length"]) == (kind, length)
        assert (None if pd.isna(row["esp_spi"]) else row["esp_spi"]) == spi
        assert (None if pd.isna(row["esp_seq"]) else row["esp_seq"]) == seq
        assert rep.balanced


def test_synthetic_captures_are_what_their_builder_writes():
    """The synth_* captures are generated (tests/sources/synthcaps.py, SOURCES.md): the files
    in the folder must be the builder's output, byte for byte."""
    for name, data in synthcaps.build().items():
        assert (DATA / "pcap" / name).read_bytes() == data, name


def test_zero_ip_total_length_is_offload_not_an_empty_packet():
    """A host with segmentation offload captures its own IPv4 packets with total length 0
    (synth_offload_udp.pcap; tshark reads them whole): IKE, ESP-in-UDP and keepalives too."""
    events, rep = load([DATA / "pcap" / "synth_offload_udp.pcap"])
    assert rep.inputs[0].accounting == {"event": 5}
    assert list(events["kind"]) == ["ike", "ike", "esp", "nat-keepalive", "esp"]
    assert list(events["exchange"][:2]) == ["SA_INIT", "AUTH"]
    assert list(events["esp_spi"].dropna()) == ["c0de0015", "c0de0016"]
    assert list(events["length"]) == [len(synthcaps.sa_init()), 4 + len(synthcaps.ike_auth(300)), 56, 1, 56]


def test_esp_header_cut_after_the_spi_keeps_the_spi():
    """A snapshot length that falls inside the ESP header leaves the SPI (tshark shows it)."""
    events, rep = load([DATA / "pcap" / "synth_snaplen.pcap"])
    esp = events[events["kind"] == "esp"]
    assert list(esp["esp_spi"]) == ["c0de0021", "c0de0022", "c0de0023", "c0de0022"]
    assert list(esp["esp_seq"].fillna(-1)) == [-1, -1, 9, -1]
    assert esp["detail"].fillna("").str.startswith("ESP header cut short").tolist() == [True, True, False, True]


def test_ip_fragments_reassembled_and_counted_once():
    events, ingest = load([DATA / "pcap" / "libreswan_espfrags1.pcap"])
    rep = ingest.inputs[0]
    assert (events["kind"] == "esp").sum() == 8 and rep.accounting["continuation"] == 8 and rep.balanced
    assert events["detail"].str.startswith("reassembled").all()


# ----------------------------------------------------------------------------- hand-built frames
def test_link_types_vlan_sll_null_raw_ipv6():
    ike = pb.udp(500, 500, sa_init())
    v4 = pb.ipv4(CL, GW, 17, ike)
    v6 = pb.ipv6("2001:db8::1", "2001:db8::2", 17, ike)
    sll = struct.pack("!HHH8sH", 0, 1, 6, bytes(8), 0x0800) + v4
    sll2 = struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, bytes(8)) + v4
    null_le = struct.pack("<I", 2) + v4
    null6 = struct.pack("<I", 30) + v6
    cases = [
        (1, pb.eth(v4, vlans=(0x8100,))),
        (1, pb.eth(v4, vlans=(0x88A8, 0x8100))),
        (1, pb.eth(v6, ethertype=0x86DD)),
        (113, sll),
        (276, sll2),
        (0, null_le),
        (0, null6),
        (101, v4),
        (228, v4),
        (229, v6),
        (12, v6),
    ]
    for lt, fr in cases:
        events, rep = read(pb.pcap([(1.0, fr)], linktype=lt))
        assert list(events["kind"]) == ["ike"], lt
        assert events["exchange"][0] == "SA_INIT" and events["ispi"][0] == ISPI.hex()
        assert events["proposals"][0].startswith("#1 IKE: AES_CBC-256")
        assert rep.balanced


def test_stacked_vlan_tags():
    """Up to four stacked VLAN tags, on the whole-chunk classification and the decoder alike."""
    events, rep = load([DATA / "pcap" / "synth_vlan_stacks.pcap"])
    assert rep.inputs[0].accounting == {"event": 24}
    assert list(events["kind"]) == ["ike", "nat-keepalive", "esp", "esp", "ike", "esp"] * 4


def test_pppoe_sessions():
    """IPsec inside PPPoE session frames (RFC 2516) under Ethernet, a VLAN tag or a Linux cooked
    header; PPP control and PPPoE discovery frames are other traffic."""
    events, rep = load([DATA / "pcap" / "synth_pppoe.pcapng"])
    assert rep.inputs[0].accounting == {"event": 10, "other-traffic": 2}
    assert list(events["kind"]) == ["ike", "ike", "nat-keepalive", "esp", "esp", "ike", "esp", "esp", "esp", "ike"]
    assert list(events["ref"]) == [1, 2, 3, 4, 5, 6, 7, 8, 11, 12]
    assert events["src"].iloc[6] == "2001:db8::7"


PACKET_COLS = ["kind", "src", "dst", "sport", "dport", "esp_spi", "exchange", "response"]


def _as_on_ethernet(spi: int) -> list[tuple]:
    """The events of synthcaps._ipsec_packets(spi) captured bare on Ethernet."""
    frames = [pb.eth(ip, 0x86DD if ip[0] >> 4 == 6 else 0x0800) for ip in synthcaps._ipsec_packets(spi)]
    events, _ = read(pb.pcap([(1.0 + i, f) for i, f in enumerate(frames)]))
    return list(events[PACKET_COLS].astype(object).itertuples(index=False, name=None))


def _packets(events: pd.DataFrame) -> list[tuple]:
    return list(events[PACKET_COLS].astype(object).itertuples(index=False, name=None))


def test_pppoe_over_wifi_and_radiotap():
    """PPPoE session frames in 802.11 data (LLC/SNAP ethertype 0x8864), bare and under a
    radiotap header: the packets they carry, as on Ethernet."""
    ips = synthcaps._ipsec_packets(0xC0DE0081)

    def wlan_pppoe(ip: bytes) -> bytes:
        frame = synthcaps._wlan(ip, qos=True)
        snap = frame.find(bytes.fromhex("aaaa03000000")) + 6
        return frame[:snap] + struct.pack("!H", 0x8864) + synthcaps._pppoe(ip, 0x0057 if ip[0] >> 4 == 6 else 0x0021)

    expected = _as_on_ethernet(0xC0DE0081)
    for linktype, head in ((105, b""), (127, struct.pack("<BBHI", 0, 0, 8, 0))):
        events, rep = read(pb.pcap([(1.0 + i, head + wlan_pppoe(ip)) for i, ip in enumerate(ips)], linktype))
        assert rep.accounting == {"event": len(ips)}
        assert _packets(events) == expected


def test_link_types_carry_the_same_events_as_ethernet():
    """Cisco HDLC, PPP with and without address/control, PPP in HDLC framing, PPPoE without
    Ethernet, 802.11 QoS and plain data, radiotap, NFLOG (little- and big-endian hosts), pflog and enc(4) frames give the
    events the same packets give on Ethernet; a protected 802.11 frame and a beacon are other
    traffic."""
    events, ingest = load([DATA / "pcap" / "synth_link_types.pcapng"])
    rep = ingest.inputs[0]
    assert rep.accounting == {"event": 48, "other-traffic": 2} and rep.total == 50 and not rep.warnings
    assert set(events["ref"]).isdisjoint({27, 28})
    eth = _as_on_ethernet(0xC0DE0081)
    expected = {"serial0": eth, "ppp0": eth, "ppp1": eth[:2], "pppoe0": eth[2:4], "wlan0": eth + eth[:1],
                "wlan0mon": eth[:3], "nflog:5": eth, "pflog0": [eth[0], eth[3], eth[6]], "enc0": eth[3:5],
                "nflog:6": eth}  # the big-endian section's NFLOG: TLVs in that host's order
    for iface, want in expected.items():
        assert _packets(events[events["iface"] == iface]) == want, iface


def test_tunnels_are_read_at_the_packet_they_carry():
    """MPLS, GRE (IPv4/IPv6 inside, key and sequence), Ethernet over GRE, ERSPAN II and III,
    IP-in-IP, IPv6-in-IPv4, VXLAN, Geneve with an option, VXLAN inside GRE, PPPoE inside VXLAN
    and GRE with RFC 1701 source route entries: the events are
    those of the inner packets, between the IPsec peers, not the mirror's addresses. DNS
    inside VXLAN, PPTP's GRE and an MPLS stack with no bottom label are other traffic."""
    events, ingest = load([DATA / "pcap" / "synth_tunnels.pcap"])
    rep = ingest.inputs[0]
    assert rep.accounting == {"event": 53, "other-traffic": 3} and rep.total == 56
    eth = _as_on_ethernet(0xC0DE0091)
    want = eth + eth + eth[:2] + eth + eth[:4] + eth + eth + eth + [eth[3]] + eth[2:4] + eth[:2]
    assert _packets(events) == want
    assert not set(events["src"]) & {"192.0.2.10", "192.0.2.20"}
    assert set(rep.formats) == {"pcap", "MPLS", "GRE", "Ethernet-over-GRE", "ERSPAN", "IP-in-IP", "VXLAN", "Geneve"}


def test_fragmented_tunnel_packets_are_read_after_reassembly():
    """A mirror's GRE, VXLAN, IP-in-IP and GRE-over-IPv6 packets split by the outer IP: the
    event is the inner packet's (addresses, ports, SPIs), on the frame that completed it; the
    other fragments are its continuation, and tshark reads the same (the oracle tests)."""
    events, ingest = load([DATA / "pcap" / "synth_tunnel_fragments.pcap"])
    rep = ingest.inputs[0]
    assert rep.accounting == {"event": 4, "continuation": 5} and not rep.warnings
    assert list(events["ref"]) == [2, 4, 7, 9]
    assert list(events["kind"]) == ["ike", "esp", "ike", "esp"]
    assert list(events["src"]) == [CL, CL, GW, CL] and list(events["dst"]) == [GW, GW, CL, GW]
    assert list(events["esp_spi"].dropna()) == ["c0de00b1", "c0de00b2"]
    assert list(events["exchange"].dropna()) == ["AUTH", "AUTH"] and list(events["response"].dropna()) == [False, True]
    assert {"GRE", "VXLAN", "IP-in-IP"} <= set(rep.formats)


def test_a_link_type_not_decoded_is_unread_not_other_traffic():
    """Frames of a link type the reader does not decode were not looked at: counted
    unrecognised with examples and a warning, so IKE901 names them and IKE903 does not claim
    the capture holds no IPsec."""
    frames = [(1.0 + i, pb.eth(pb.ipv4(CL, GW, 50, synthcaps.esp(0xC0DE00A1, i + 1)))) for i in range(3)]
    data = pb.pcap(frames, linktype=189)  # Linux USB: not a network link
    events, rep = read(data)
    assert events.empty and rep.accounting == {"unrecognised": 3} and rep.balanced
    assert [r for r, _t in rep.examples] == [1, 2, 3] and "link type 189" in rep.examples[0][1]
    assert any("link type 189 is not one ikeanalyze decodes" in w for w in rep.warnings)
    ingest = IngestReport()
    ingest.add(rep)
    from ikeanalyze import api

    d = api.diagnose(events, ingest)
    by_code = {f.code: f for f in d.findings}
    assert "IKE901" in by_code
    assert "not looked at" in by_code["IKE903"].message and "holds no IKE or IPsec evidence (" not in by_code["IKE903"].message


def test_ike_headers_cut_by_a_68_byte_snapshot_still_tell_the_story():
    """tcpdump's old default snapshot length leaves 26 bytes of IKE on UDP 500 and 22 on 4500:
    the messages keep their exchange, SPIs and flags (and the SA_INIT its message ID 0), so the
    unanswered SA_INIT is found as in a whole capture; the cut is said per row."""
    path = DATA / "pcap" / "synth_snaplen68.pcap"
    events, ingest = load([path])
    assert ingest.inputs[0].accounting == {"event": 8}
    ike = events[events["kind"] == "ike"]
    assert list(ike["exchange"]) == ["SA_INIT"] * 4 + ["AUTH", "AUTH"]
    assert list(ike["msg_id"].astype(object).where(ike["msg_id"].notna(), None)) == [0, 0, 0, 0, None, None]
    assert ike["detail"].str.contains("IKE header cut short (", regex=False).all()
    from ikeanalyze import api

    d = api.diagnose(events, ingest)
    [f] = [f for f in d.findings if f.code == "IKE105"]
    assert (f.facts["sends"], f.facts["intervals_s"], f.facts["ispi"]) == (4, [1.0, 2.0, 4.0], "5a5a000011112222")


def test_pcapng_interface_statistics_with_drops_are_a_warning():
    """dumpcap ends a pcapng with an interface statistics block: packets the interface or the
    OS dropped (the last block of an interface counts since the start) are said, per interface;
    none dropped is no warning. The obsolete packet block's drop count is summed likewise."""
    frame = pb.eth(pb.ipv4(CL, GW, 50, synthcaps.esp(0xC0DE00C1, 1)))

    def isb(ifid: int, ifdrop: int, osdrop: int) -> bytes:
        opts = pb._opt(5, struct.pack("<Q", ifdrop)) + pb._opt(7, struct.pack("<Q", osdrop)) + b"\0\0\0\0"
        return pb._block(5, struct.pack("<III", ifid, 0, 0) + opts)

    base = pb.pcapng([(1, "port1", None), (1, "port2", None)], [(0, 10**15, frame, None), (1, 10**15 + 5, frame, None)])
    _events, rep = read(base + isb(0, 1, 1) + isb(0, 4, 3) + isb(1, 0, 0), "dumpcap.pcapng")
    assert rep.lost == 7 and rep.warnings == [
        "interface port1: 7 packets dropped (pcapng interface statistics): the capture lost 7 packets, so a packet "
        "missing from it may still have crossed the wire"]
    _events, rep = read(base + isb(0, 0, 0), "clean.pcapng")
    assert rep.lost == 0 and not rep.warnings
    old_pb = pb._block(2, struct.pack("<HHIIII", 0, 9, 0, 0, len(frame), len(frame)) + frame + bytes(-len(frame) % 4))
    _events, rep = read(pb.pcapng([(1, "eth0", None)], []) + old_pb, "old.pcapng")
    assert rep.lost == 9 and rep.accounting == {"event": 1}


def test_pcap_link_type_word_with_fcs_bits():
    """Bits above the pcap link type say that frames carry an FCS: the link type is the low 16."""
    events, rep = load([DATA / "pcap" / "synth_fcs_linktype.pcap"])
    assert rep.inputs[0].accounting == {"event": 5}
    assert list(events["kind"]) == ["ike", "ike", "nat-keepalive", "esp", "esp"]


def test_pcap_timestamps_ns_big_endian_and_other_traffic():
    frames = [
        (1772148000.123456789, pb.eth(pb.ipv4(CL, GW, 17, pb.udp(500, 500, sa_init())))),
        (
            1772148001.5,
            pb.eth(pb.ipv4("172.16.0.1", "93.184.1.1", 6, pb.tcp(1234, 443, 1, 1, 0x18, b"x" * 100))),
        ),
        (1772148002.25, pb.eth(pb.ipv4(GW, CL, 17, pb.udp(4500, 40000, b"\xff")))),
        (1772148003.0, pb.eth(pb.ipv4(GW, CL, 50, struct.pack("!II", 0xDEADBEEF, 3) + bytes(40)))),
        (
            1772148004.0,
            pb.eth(pb.ipv4(CL, GW, 17, pb.udp(40000, 4500, struct.pack("!II", 0xC0FFEE01, 9) + bytes(60)))),
        ),
        (1772148005.0, pb.eth(pb.ipv4(CL, GW, 17, pb.udp(40000, 4500, b"\0\0\0\0" + sa_init(True))))),
    ]
    events, rep = read(pb.pcap(frames, nanos=True, big=True))
    assert rep.total == 6 and rep.accounting == {"event": 5, "other-traffic": 1}
    assert list(events["kind"]) == ["ike", "nat-keepalive", "esp", "esp", "ike"]
    assert list(events["transport"]) == ["udp500", "udp4500", "esp", "udp4500", "udp4500"]
    assert list(events["ref"]) == [1, 3, 4, 5, 6]
    assert events["time"][0] == pd.Timestamp("2026-02-26 23:20:00.123456")
    assert events["t"][1] == pytest.approx(2.25 - 0.123456789, abs=1e-6)
    assert list(events["esp_spi"].dropna()) == ["deadbeef", "c0ffee01"]
    assert list(events["esp_seq"].dropna()) == [3, 9]
    assert list(events["length"]) == [len(sa_init()), 1, 48, 68, 4 + len(sa_init(True))]
    assert events["response"][4] is True or bool(events["response"][4])
    assert "NAT-keepalive" in events["text"][1] and "spi=0xdeadbeef" in events["text"][2]


def icmp_refusals() -> list[tuple[float, bytes]]:
    """An IKE_SA_INIT to UDP 500 and a NAT keepalive to UDP 4500 (IPv4, IPv6), each answered by
    the peer's ICMP port unreachable quoting it; a DNS query answered so (not IPsec) and a host
    unreachable for UDP 500 (not a code the reader keeps)."""
    init = pb.ipv4(CL, GW, 17, pb.udp(500, 500, sa_init()))
    keepalive = pb.ipv6("2001:db8::7", "2001:db8::1", 17, pb.udp(4500, 4500, b"\xff"))
    dns = pb.ipv4(CL, GW, 17, pb.udp(40000, 53, bytes(30)))
    return [(1.0, pb.eth(init)), (1.0002, pb.eth(pb.ipv4(GW, CL, 1, pb.icmp(3, 3, init)))),
            (2.0, pb.eth(keepalive, 0x86DD)),
            (2.0002, pb.eth(pb.ipv6("2001:db8::1", "2001:db8::7", 58, pb.icmp(1, 4, keepalive)), 0x86DD)),
            (3.0, pb.eth(dns)), (3.0002, pb.eth(pb.ipv4(GW, CL, 1, pb.icmp(3, 3, dns)))),
            (4.0002, pb.eth(pb.ipv4(GW, CL, 1, pb.icmp(3, 1, init))))]


def test_an_icmp_port_unreachable_for_ike_is_an_event_as_tcpdump_prints_it(tmp_path):
    """A port unreachable about a datagram to UDP 500/4500 is the evidence that the peer (or a
    firewall) refuses IKE or NAT-T: an `icmp` event with tcpdump's words as `detail`, as the
    tcpdump text of the same capture gives it (found by a review: the capture counted it
    other traffic while the text kept it, so a rule reading it told the two apart). The
    datagram it quotes is no event; other ICMP stays other traffic."""
    if not shutil.which("tcpdump"):
        pytest.fail("tcpdump is needed (CI installs it)")
    cap = tmp_path / "refused.pcap"
    cap.write_bytes(pb.pcap(icmp_refusals()))
    events, rep = read(cap.read_bytes())
    assert list(events["kind"]) == ["ike", "icmp", "nat-keepalive", "icmp"]
    assert rep.accounting == {"event": 4, "other-traffic": 3}
    printed = subprocess.run(["tcpdump", "-n", "-r", str(cap)], capture_output=True, text=True, check=True).stdout
    text = parse_lines(printed.splitlines(), InputReport("t"))
    cols = ["ref", "kind", "src", "dst", "length", "detail"]
    # (The text keeps every ICMP line, as the sniffer's: pings show what a tunnel interface
    # passed, IKE903. A capture keeps the errors about IKE's ports.)
    text = text[text["ref"].isin(events["ref"]).to_numpy()]
    ours, theirs = (f[f["kind"] == "icmp"][cols].astype(object).values.tolist() for f in (events, text))
    assert ours == theirs == [
        [2, "icmp", GW, CL, 8 + 20 + 8 + len(sa_init()), f"{GW} udp port 500 unreachable"],
        [4, "icmp", "2001:db8::1", "2001:db8::7", 8 + 40 + 9,
         "destination unreachable, unreachable port, 2001:db8::1 udp port 4500"]]


@pytest.mark.tshark
@pytest.mark.skipif(TSHARK is None, reason="tshark binary not installed")
def test_only_icmp_errors_quoting_ike_ports_are_decoded_one_by_one(monkeypatch):
    """The frame decoder (slow, one frame at a time) gets the ICMP errors whose quoted
    datagram is UDP to or from 500/4500, not every destination unreachable (found by a
    review: 300k DNS refusals of a scan tripled the reading time); the events are the same."""
    from ikeanalyze.sources import pcap

    decoded = []
    one_by_one = pcap._slow_frame
    monkeypatch.setattr(pcap, "_slow_frame", lambda ch, i, *rest: decoded.append(ch.first_ref + i) or one_by_one(ch, i, *rest))
    events, rep = read(pb.pcap(icmp_refusals()))
    assert list(events["kind"]) == ["ike", "icmp", "nat-keepalive", "icmp"]
    assert 6 not in decoded  # the DNS query's refusal
    assert {2, 4} <= set(decoded)  # the refusals of the SA_INIT and the keepalive


def test_the_tshark_engine_keeps_the_same_icmp_errors(tmp_path):
    """`--engine tshark` keeps the ICMP errors the native reader keeps, with the error's own
    addresses (tshark lists the quoted datagram's after them)."""
    cap = tmp_path / "refused.pcap"
    cap.write_bytes(pb.pcap(icmp_refusals()))
    native, _ = load([cap])
    deep, ingest = load([cap], LoadOptions(engine="tshark"))
    assert ingest.inputs[0].balanced and ingest.inputs[0].accounting["event"] == 4
    cols = ["ref", "kind", "src", "dst", "length", "detail", "text"]
    ours, theirs = (f[f["kind"] == "icmp"][cols].reset_index(drop=True) for f in (native, deep))
    assert len(ours) == 2
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)


def test_ip_fragment_reassembly_and_lost_fragment():
    big = sa_init()
    payload = pb.udp(500, 500, big)
    half = (len(payload) // 2) // 8 * 8
    f1 = pb.eth(pb.ipv4(CL, GW, 17, payload[:half], ident=77, frag=0x2000))
    f2 = pb.eth(pb.ipv4(CL, GW, 17, payload[half:], ident=77, frag=half // 8))
    events, rep = read(pb.pcap([(1.0, f2), (1.1, f1)]))  # out of order
    assert list(events["kind"]) == ["ike"] and list(events["ref"]) == [2]
    assert rep.accounting == {"event": 1, "continuation": 1}
    lost, rep2 = read(pb.pcap([(1.0, f1)]))
    assert list(lost["kind"]) == ["ip-fragment"] and lost["exchange"][0] == "SA_INIT"
    assert rep2.accounting == {"event": 1}


def _tcp_story(prefix_alone: bool = True, port: int = 5500) -> list[tuple[float, bytes]]:
    c, g = (CL, 40001), (GW, port)
    cs, gs = 1000, 5000
    init = b"\0\0\0\0" + sa_init()
    framed = struct.pack("!H", 2 + len(init)) + init
    resp = b"\0\0\0\0" + sa_init(True)
    framed_r = struct.pack("!H", 2 + len(resp)) + resp

    def seg(a, b, seq, ack, flags, data=b""):
        return pb.eth(pb.ipv4(a[0], b[0], 6, pb.tcp(a[1], b[1], seq, ack, flags, data)))

    out = [
        (1.0, seg(c, g, cs, 0, 0x02)),
        (1.001, seg(g, c, gs, cs + 1, 0x12)),
        (1.002, seg(c, g, cs + 1, gs + 1, 0x10)),
    ]
    if prefix_alone:
        out.append((1.003, seg(c, g, cs + 1, gs + 1, 0x18, b"IKETCP")))
        out.append((1.004, seg(c, g, cs + 7, gs + 1, 0x18, framed[:1])))  # length field split
        out.append((1.005, seg(c, g, cs + 8, gs + 1, 0x18, framed[1:100])))
        out.append((1.006, seg(c, g, cs + 107, gs + 1, 0x18, framed[100:])))
        out.append((1.0061, seg(c, g, cs + 107, gs + 1, 0x18, framed[100:])))  # retransmission
    else:
        out.append((1.003, seg(c, g, cs + 1, gs + 1, 0x18, b"IKETCP" + framed)))
    out.append((1.05, seg(g, c, gs + 1, cs + 7 + len(framed), 0x18, framed_r)))
    out.append((1.06, seg(c, g, cs + 7 + len(framed), gs + 1 + len(framed_r), 0x11)))
    return out


def test_rfc8229_stream_prefix_in_own_segment_and_split_framing():
    frames = _tcp_story()
    frames.insert(1, (1.0005, pb.eth(pb.ipv4("172.16.0.9", "93.184.1.1", 6, pb.tcp(5555, 443, 7, 0, 0x02)))))
    events, rep = read(pb.pcap(frames))
    assert rep.balanced and rep.accounting == {"event": len(frames) - 1, "other-traffic": 1}
    tcp = events[events["kind"] == "tcp"]
    assert len(tcp) == len(frames) - 1
    assert list(tcp["tcp_flags"][:3]) == ["syn", "syn ack", "ack"]
    prefix = events[events["kind"] == "iketcp-prefix"]
    assert list(prefix["ref"]) == [5]
    ike = events[events["kind"] == "ike"]
    assert list(ike["ref"]) == [8, 10] and set(ike["transport"]) == {"tcp"}
    assert list(ike["response"]) == [False, True] and set(ike["exchange"]) == {"SA_INIT"}
    assert ike["ispi"].iloc[0] == ISPI.hex() and ike["dport"].iloc[0] == 5500


def test_rfc8229_prefix_and_message_in_one_segment_any_port():
    events, _ = read(pb.pcap(_tcp_story(prefix_alone=False, port=443)))
    assert list(events[events["kind"] == "ike"]["ref"]) == [4, 5]


def _split_prefix_story(cut: int, first: bytes = b"") -> list[tuple[float, bytes]]:
    """A client whose first bytes (the IKETCP prefix and a framed SA_INIT, unless ``first`` says
    otherwise) are split after ``cut`` bytes, the first part retransmitted; the responder's reply
    twice; an IKE_AUTH and an ESP packet in two segments captured out of order, then a
    retransmission overlapping both."""
    c, g = (CL, 40003), (GW, 4500)
    cs, gs = 1000, 5000

    def framed(body: bytes) -> bytes:
        return struct.pack("!H", 2 + len(body)) + body

    first = first or b"IKETCP" + framed(b"\0\0\0\0" + sa_init())
    reply = framed(b"\0\0\0\0" + sa_init(True))
    auth = message(ISPI, RSPI, 35, 0x08, 1, [(46, bytes(1500))], last_next=35)
    second = framed(b"\0\0\0\0" + auth) + framed(struct.pack("!II", 0xC0DE0020, 1) + bytes(40))
    at, ack = cs + 1 + len(first), gs + 1 + len(reply)

    def seg(a, b, seq, ack, flags, data=b""):
        return pb.eth(pb.ipv4(a[0], b[0], 6, pb.tcp(a[1], b[1], seq, ack, flags, data)))

    segs = [
        seg(c, g, cs, 0, 0x02), seg(g, c, gs, cs + 1, 0x12), seg(c, g, cs + 1, gs + 1, 0x10),
        seg(c, g, cs + 1, gs + 1, 0x18, first[:cut]),
        seg(c, g, cs + 1, gs + 1, 0x18, first[:cut]),  # retransmitted before the rest came
        seg(c, g, cs + 1 + cut, gs + 1, 0x18, first[cut:]),
        seg(g, c, gs + 1, at, 0x18, reply),
        seg(g, c, gs + 1, at, 0x18, reply),
        seg(c, g, at + 1000, ack, 0x18, second[1000:]),  # out of order
        seg(c, g, at, ack, 0x18, second[:1000]),
        seg(c, g, at + 500, ack, 0x18, second[500:1500]),
    ]
    return [(1.0 + i / 100, f) for i, f in enumerate(segs)]


@pytest.mark.parametrize("cut", [1, 3, 5])
def test_rfc8229_prefix_split_across_segments(cut):
    """RFC 8229 §3 does not keep the 6-byte prefix in one segment; the stream is IKE over TCP
    once the rest of the prefix follows (tshark 4.0 has no RFC 8229 dissector: checked here)."""
    events, rep = read(pb.pcap(_split_prefix_story(cut)))
    assert rep.balanced and rep.accounting == {"event": 11}
    framed = events[events["kind"] != "tcp"]
    assert list(zip(framed["ref"], framed["kind"])) == [
        (6, "iketcp-prefix"), (6, "ike"), (7, "ike"), (10, "ike"), (10, "esp")]
    assert list(framed["exchange"].dropna()) == ["SA_INIT", "SA_INIT", "AUTH"]
    assert framed["esp_spi"].dropna().tolist() == ["c0de0020"]


def test_a_stream_that_only_begins_like_the_prefix_is_other_traffic():
    events, rep = read(pb.pcap(_split_prefix_story(3, first=b"IKE" + b"A" * 40)))
    assert events.empty and rep.accounting == {"other-traffic": 11}


def test_https_without_prefix_is_other_traffic_unless_port_given():
    c, g = ("172.16.0.9", 5555), ("93.184.1.1", 443)
    frames = [
        (1.0, pb.eth(pb.ipv4(c[0], g[0], 6, pb.tcp(c[1], g[1], 1, 0, 0x02)))),
        (1.1, pb.eth(pb.ipv4(c[0], g[0], 6, pb.tcp(c[1], g[1], 2, 1, 0x18, b"\x16\x03\x01" + bytes(100))))),
    ]
    events, rep = read(pb.pcap(frames))
    assert events.empty and rep.accounting == {"other-traffic": 2}
    story = [fr for fr in _tcp_story(prefix_alone=False, port=4443)]
    # with the prefix missed by the capture: --ike-tcp-port makes the stream IKE-over-TCP
    init = b"\0\0\0\0" + sa_init()
    framed = struct.pack("!H", 2 + len(init)) + init
    noprefix = [(1.0, pb.eth(pb.ipv4(CL, GW, 6, pb.tcp(40001, 4443, 10, 20, 0x18, framed))))]
    events, _ = read(pb.pcap(noprefix), ike_tcp_ports=(4443,))
    assert list(events["kind"]) == ["tcp", "ike"]
    assert story


def test_ike_tcp_port_4500_given_takes_a_4500_stream_without_the_prefix():
    """TCP 4500 is watched by default, yet its stream must start with `IKETCP`; given as an
    `--ike-tcp-port` it is IKE without (so the reader's given ports are not the watched ones
    less 4500: sources.pcap._State.tcp_ports)."""
    init = b"\0\0\0\0" + sa_init()
    framed = struct.pack("!H", 2 + len(init)) + init
    noprefix = pb.pcap([(1.0, pb.eth(pb.ipv4(CL, GW, 6, pb.tcp(40001, 4500, 10, 20, 0x18, framed))))])
    events, rep = read(noprefix)
    assert events.empty and rep.accounting == {"other-traffic": 1}
    events, _ = read(noprefix, ike_tcp_ports=(4500,))
    assert list(events["kind"]) == ["tcp", "ike"]


def test_pcapng_interfaces_tsresol_flags():
    v4 = pb.ipv4(CL, GW, 17, pb.udp(500, 500, sa_init()))
    ka = pb.ipv4(GW, CL, 17, pb.udp(4500, 40000, b"\xff"))
    data = pb.pcapng(
        [(1, "port2", None), (101, "wan1", 9)],  # µs default; ns on the raw-IP interface
        [
            (0, 1772148000_000001, pb.eth(v4), 1),
            (1, 1772148001_000000002, ka, 2),
            (1, 1772148002_000000000, ka, None),
        ],
    )
    events, rep = read(data, "t.pcapng")
    assert rep.formats == ["pcapng"] and rep.total == 3
    assert list(events["iface"]) == ["port2", "wan1", "wan1"]
    assert list(events["direction"].fillna("-")) == ["in", "out", "-"]
    assert events["t"][1] == pytest.approx(0.999999 + 0.000000002, abs=1e-8)


# ----------------------------------------------------------------------------- truncation
@pytest.mark.parametrize("name", ["tcpdump_isakmp4500.pcap", "scapy_ikev2_nat_t.pcapng"])
def test_truncated_capture_keeps_what_came_before(name):
    data = (DATA / "pcap" / name).read_bytes()
    full, _ = read(data, name)
    for cut in (len(data) - 3, len(data) // 2, len(data) // 3 + 5, 200, 34):  # 34: inside the first record header
        events, rep = read(data[:cut], name)
        assert rep.balanced, cut
        assert rep.accounting["truncated"] == 1, cut
        (warning,) = rep.warnings
        assert warning.startswith(f"frame {rep.total}: capture cut off mid-"), warning
        kept = full[full["ref"] < rep.total]
        assert list(events["ref"]) == list(kept["ref"]), cut


def test_impossible_record_length_is_damage_not_a_crash():
    data = bytearray((DATA / "pcap" / "tcpdump_ikev2four.pcap").read_bytes())
    struct.pack_into("<I", data, 24 + 8, 0x7FFFFFF0)  # first record: caplen beyond snaplen and EOF
    events, rep = read(bytes(data))
    assert events.empty and rep.accounting == {"truncated": 1} and rep.warnings[0].startswith("frame 1:")


# ----------------------------------------------------------------------------- direction
def test_direction_inferred_from_ike_roles_and_local_override():
    frames = [
        (1.0, pb.eth(pb.ipv4(CL, GW, 17, pb.udp(500, 500, sa_init())))),
        (1.1, pb.eth(pb.ipv4(GW, CL, 17, pb.udp(500, 500, sa_init(True))))),
        (2.0, pb.eth(pb.ipv4(GW, CL, 17, pb.udp(4500, 40000, b"\xff")))),
    ]
    events, _ = read(pb.pcap(frames))
    assert events["direction"].isna().all()
    local = infer_local(events, ())
    assert local == {GW}
    filled = fill_direction(events, local)
    assert list(filled["direction"]) == ["in", "out", "out"]
    assert list(fill_direction(events, infer_local(events, (CL,)))["direction"]) == ["out", "in", "in"]


# ----------------------------------------------------------------------------- bench ground truth
def test_bench_capture_counts_match_truth(tmp_path):
    pcap, truth = tmp_path / "b.pcap", tmp_path / "b.json"
    subprocess.run(
        [
            sys.executable,
            str(DATA / "make_capture.py"),
            "--packets",
            "3000",
            "--tunnels",
            "8",
            "--duration",
            "900",
            "--broken",
            "0.4",
            "--esp-rate",
            "0.5",
            "--seed",
            "2",
            "--pcap",
            str(pcap),
            "--truth",
            str(truth),
        ],
        check=True,
        capture_output=True,
    )
    events, ingest = load([pcap])
    rep = ingest.inputs[0]
    assert rep.balanced and rep.total == json.loads(truth.read_text())["packets"]
    events = fill_direction(events, infer_local(events, ()))
    kinds = {"ike": "ike", "esp": "esp", "nat-keepalive": "keepalive", "tcp": "tcp"}
    tunnels = json.loads(truth.read_text())["tunnels"]
    assert any(t["broken"] for t in tunnels) and not all(t["broken"] for t in tunnels)
    for tun in tunnels:
        client = tun["client"].split(":")[0]
        mine = events[
            ((events["src"] == client) | (events["dst"] == client)) & events["kind"].isin(list(kinds))
        ]
        mine = mine[~((mine["transport"] == "tcp") & mine["kind"].isin(["ike", "esp"]))]
        got: dict[str, int] = {}
        for kind, direction in zip(mine["kind"], mine["direction"]):
            key = f"{kinds[kind]}_{direction}"
            got[key] = got.get(key, 0) + 1
        assert got == tun["counts"], tun["tunnel"]
        if tun["broken"]:
            sa = events[
                (events["kind"] == "ike") & (events["transport"] == "tcp") & (events["src"] == client)
            ]
            assert list(sa["ispi"]) == [tun["tcp_spi_i"]]


# ----------------------------------------------------------------------------- tshark engine
@pytest.mark.tshark
@pytest.mark.skipif(TSHARK is None, reason="tshark binary not installed")
@pytest.mark.parametrize("name", ["tcpdump_isakmp4500.pcap", "ndpi_esp.pcapng", "tcpdump_ikev2four.pcap",
                                  "synth_tunnels.pcap"])
def test_tshark_engine_gives_the_same_table(name):
    native, _ = load([DATA / "pcap" / name])
    deep, ingest = load([DATA / "pcap" / name], LoadOptions(engine="tshark"))
    assert ingest.inputs[0].balanced
    cols = [
        "ref",
        "kind",
        "src",
        "dst",
        "transport",
        "exchange",
        "response",
        "msg_id",
        "ispi",
        "rspi",
        "payloads",
        "notify",
        "esp_spi",
        "esp_seq",
    ]
    pd.testing.assert_frame_equal(
        native[cols].reset_index(drop=True), deep[cols].reset_index(drop=True), check_dtype=False
    )


# ----------------------------------------------------------------------------- properties
@given(st.binary(max_size=600), st.sampled_from([1, 0, 101, 113, 276, 228, 229, 9, 50, 51, 104, 105, 109, 117,
                                                 127, 239, 189]))
@settings(max_examples=300)
def test_reader_is_total_on_garbage_records(body, linktype):
    """Any bytes after a pcap header: events or counted damage, never an exception."""
    data = pb.pcap([], linktype=linktype) + body
    _events, rep = read(data)
    assert rep.balanced


@given(st.lists(st.binary(min_size=0, max_size=120), max_size=6), st.sampled_from([1, 101, 0]))
@settings(max_examples=150)
def test_reader_is_total_on_garbage_frames(frames, linktype):
    """Well-formed records holding arbitrary frames (IPsec ports forced in half of them)."""
    built = []
    for i, fr in enumerate(frames):
        if i % 2 and len(fr) >= 4:
            ip = pb.ipv4(CL, GW, 17, pb.udp(4500 if i % 4 == 1 else 500, 500, fr))
            fr = pb.eth(ip) if linktype == 1 else (struct.pack("<I", 2) + ip if linktype == 0 else ip)
        built.append((1.0 + i, fr))
    events, rep = read(pb.pcap(built, linktype=linktype))
    assert rep.balanced and rep.total == len(frames)
    assert len(set(events["ref"])) <= len(frames)


@given(st.binary(min_size=0, max_size=160), st.sampled_from(["mpls", "gre", "ipip", "vxlan", "geneve"]))
@settings(max_examples=200)
def test_reader_is_total_on_garbage_inside_tunnels(inner, tunnel):
    """Arbitrary bytes where a tunnel's inner packet should be: events or counted, never an
    exception (the tunnel readers follow lengths and offsets taken from those bytes)."""
    outer = {
        "mpls": lambda: pb.eth(inner, 0x8847),
        "gre": lambda: pb.eth(pb.ipv4("192.0.2.1", "192.0.2.2", 47, inner)),
        "ipip": lambda: pb.eth(pb.ipv4("192.0.2.1", "192.0.2.2", 4, inner)),
        "vxlan": lambda: pb.eth(pb.ipv4("192.0.2.1", "192.0.2.2", 17, pb.udp(1, 4789, inner))),
        "geneve": lambda: pb.eth(pb.ipv4("192.0.2.1", "192.0.2.2", 17, pb.udp(1, 6081, inner))),
    }[tunnel]()
    _events, rep = read(pb.pcap([(1.0, outer), (2.0, outer[: len(outer) // 2])]))
    assert rep.balanced and rep.total == 2


@given(st.binary(max_size=600))
@settings(max_examples=150)
def test_pcapng_reader_is_total_on_garbage_blocks(body):
    data = pb.pcapng([(1, "port1", None)], []) + body
    _events, rep = read(data, "t.pcapng")
    assert rep.balanced


@pytest.mark.tshark
@pytest.mark.skipif(TSHARK is None, reason="tshark binary not installed")
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_esp_and_keepalives_match_tshark(path):
    """ESP SPI/sequence per frame (outer header) and NAT-keepalive frames, as tshark sees them."""
    events, _ = load([path])
    theirs = {}
    for row in _tshark_fields(path, "esp && !icmp && !icmpv6", ["frame.number", "esp.spi", "esp.sequence"], "f"):
        seq = row.get("esp.sequence")
        theirs[int(row["frame.number"])] = (f"{int(row['esp.spi'], 16):08x}", int(seq) if seq else None)
    esp = events[events["esp_spi"].notna()]  # ESP rows, and first fragments of lost ESP-in-UDP
    ours = {
        int(r): (s, None if pd.isna(q) else int(q))
        for r, s, q in zip(esp["ref"], esp["esp_spi"], esp["esp_seq"])
    }
    assert ours == theirs
    keep = {int(r["frame.number"]) for r in _tshark_fields(path, "udpencap.nat_keepalive || isakmp.ike.nat_keepalive",
                                                            ["frame.number"])}
    assert set(events.loc[events["kind"] == "nat-keepalive", "ref"].astype(int)) == keep


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=64), st.lists(st.integers(-8, 80), max_size=20), st.integers(1, 24))
def test_header_windows_are_the_bytes_at_each_start(data, starts, width):
    """pcap._window (one gather per header) reads what slicing reads, 0 past the buffer's
    end, at any start: inside, near the end, past it, or before it (clipped to 0)."""
    import numpy as np

    from ikeanalyze.sources.pcap import _window

    u8 = np.frombuffer(data, np.uint8)
    got = _window(u8, np.array(starts, np.int64), width)
    assert got.shape == (len(starts), width)
    for row, s in zip(got, starts):
        s = max(s, 0)
        want = data[s : s + width]
        assert bytes(row) == want + bytes(width - len(want))


def test_esp_rows_cut_short_are_not_duplicates_of_each_other():
    """Rows without an SPI and sequence number share no (SPI, sequence) pair: keep the reason."""
    frames = [(1.0 + i / 1000, pb.eth(pb.ipv4(CL, GW, 17, pb.udp(4500, 4500, b"\x12\x34")))) for i in range(3)]
    events, rep = read(pb.pcap(frames))
    assert list(events["kind"]) == ["esp"] * 3 and rep.balanced
    assert events["detail"].str.startswith("ESP header cut short").all()


def test_an_esp_packet_cut_to_one_byte_says_byte():
    """The row's text counts what the ESP packet cut short holds: `1 byte`, `2 bytes`."""
    frames = [(1.0 + i / 1000, pb.eth(pb.ipv4(CL, GW, 17, pb.udp(4500, 4500, body))))
              for i, body in enumerate((b"\x12", b"\x12\x34"))]
    events, _ = read(pb.pcap(frames))
    assert [t.rsplit(" ESP ", 1)[1] for t in events["text"]] == ["(truncated: 1 byte)", "(truncated: 2 bytes)"]
