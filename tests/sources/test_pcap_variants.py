"""Metamorphic checks of the capture reader: the same packets in another framing (link layer,
container, duplicated frames, a shorter snapshot) give the same events as the capture in the
project they were built from."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pandas as pd

from ikeanalyze.sources import load
from tests.sources import pcapbuild as pb
from tests.sources.test_pcap import read, sa_init

DATA = Path(__file__).resolve().parent.parent / "data" / "pcap"
# Every column the reader fills from the packet itself (not the frame's container).
COLS = ["ref", "time", "kind", "src", "dst", "sport", "dport", "proto", "transport", "length", "exchange",
        "response", "msg_id", "ispi", "rspi", "esp_spi", "esp_seq", "payloads", "notify", "detail", "text"]
LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 = 113, 276
ARPHRD_ETHER = 1


def rows(events: pd.DataFrame) -> list[tuple]:
    return list(events[COLS].astype(object).where(events[COLS].notna(), None).itertuples(index=False, name=None))


def sll_tagged(frame: bytes) -> bytes:
    """An Ethernet frame as libpcap writes it in a Linux cooked (v1) capture on `any` when the
    kernel took its VLAN tag off: the tag put back at the protocol field (pcap-linux.c)."""
    macs, tags, etype, payload = pb.eth_split(frame)
    inner = b"".join(tags)[2:] + struct.pack("!H", etype) + payload if tags else payload
    proto = tags[0][:2] if tags else struct.pack("!H", etype)
    return struct.pack("!HHH", 0, ARPHRD_ETHER, 6) + macs[6:] + b"\0\0" + proto + inner


def sll2_tagged(frame: bytes) -> bytes:
    """The same in a Linux cooked v2 header (protocol first, then interface, type and address)."""
    macs, tags, etype, payload = pb.eth_split(frame)
    inner = b"".join(tags)[2:] + struct.pack("!H", etype) + payload if tags else payload
    proto = tags[0][:2] if tags else struct.pack("!H", etype)
    return proto + struct.pack("!HIHBB", 0, 2, ARPHRD_ETHER, 0, 6) + macs[6:] + b"\0\0" + inner


def test_linux_cooked_frames_with_vlan_tags_read_as_on_ethernet():
    """synth_vlan_stacks (one to four stacked tags) as a Linux cooked capture writes it: the
    SLL protocol is the first tag's TPID and the tags precede the packet."""
    original, ingest = load([DATA / "synth_vlan_stacks.pcap"])
    assert ingest.inputs[0].accounting == {"event": 24}
    _, recs = pb.records((DATA / "synth_vlan_stacks.pcap").read_bytes())
    for linktype, cook in ((LINKTYPE_LINUX_SLL, sll_tagged), (LINKTYPE_LINUX_SLL2, sll2_tagged)):
        cooked = [(s, f, o + len(cook(fr)) - len(fr), cook(fr)) for s, f, o, fr in recs]
        events, rep = read(pb.pcap_records(linktype, cooked))
        assert rep.accounting == {"event": 24} and rep.balanced, linktype
        assert rows(events) == rows(original), linktype
        assert list(events["kind"]) == ["ike", "nat-keepalive", "esp", "esp", "ike", "esp"] * 4



FIXTURES = Path(__file__).resolve().parent.parent / "rules" / "fixtures"
HEADER_COLS = ["ref", "kind", "src", "dst", "sport", "dport", "length", "exchange", "msg_id", "ispi", "rspi", "esp_spi"]


def table(events: pd.DataFrame, cols: list[str]) -> list[list]:
    return events[cols].astype(object).where(events[cols].notna(), None).values.tolist()


def snapped(path: Path, snaplen: int) -> bytes:
    """The capture as taken with a shorter snapshot length: every frame cut to ``snaplen``."""
    linktype, recs = pb.records(path.read_bytes())
    return pb.pcap_records(linktype, [(s, f, o, fr[:snaplen]) for s, f, o, fr in recs])


def test_fragments_cut_by_the_snapshot_length_are_still_one_packet(tmp_path):
    """IKE107's fragmented AUTH with a 96-byte snapshot: each piece is cut, but the pieces still
    cover the packet on the wire (their IP lengths), so it is reassembled from what was captured:
    the same rows, the message's own length, and a detail that says where the decoder stopped."""
    from ikeanalyze import api

    path = FIXTURES / "IKE107" / "fires-pcap-fragmented-auth-unanswered" / "input.pcap"
    original, ingest = load([path])
    cut = tmp_path / "snap96.pcap"
    cut.write_bytes(snapped(path, 96))
    events, rep = load([cut])
    assert rep.inputs[0].accounting == ingest.inputs[0].accounting == {"event": 5, "continuation": 3}
    assert table(events, HEADER_COLS) == table(original, HEADER_COLS)
    auth = events[events["exchange"] == "AUTH"]
    assert list(auth["length"]) == [2104] * 3
    assert auth["detail"].str.startswith("reassembled from 2 IP fragments; stopped: ").all()
    found = [f for f in api.analyze([cut]).findings if f.code == "IKE107"]
    assert found and found[0].facts["bytes"] == 2104
    # A first piece whose second never came: its length on the wire, and how much was captured.
    linktype, recs = pb.records(path.read_bytes())
    alone, _ = read(pb.pcap_records(linktype, [(s, f, o, fr[:96]) for s, f, o, fr in recs[:3]]))
    piece = alone.iloc[2]
    assert piece["kind"] == "ip-fragment" and piece["length"] == 1480 and piece["exchange"] == "AUTH"
    assert "(udp, 1480 bytes, 62 captured)" in piece["text"]


def test_tunnel_fragments_cut_by_the_snapshot_length_keep_the_packets_inside():
    """synth_tunnel_fragments with a 96-byte snapshot: the tunnels' pieces reassemble to what was
    captured of them, and the IPsec packets inside are still read (they were all other traffic,
    and IKE903 said the capture held no IPsec)."""
    path = DATA / "synth_tunnel_fragments.pcap"
    original, ingest = load([path])
    events, rep = read(snapped(path, 96))
    assert rep.accounting == ingest.inputs[0].accounting == {"event": 4, "continuation": 5}
    assert table(events, HEADER_COLS) == table(original, HEADER_COLS)
    assert list(events["esp_spi"].dropna()) == ["c0de00b1", "c0de00b2"]


def doubled(path: Path) -> bytes:
    """The capture as two taps (or a bridge and its port) record it: every frame twice."""
    linktype, recs = pb.records(path.read_bytes())
    return pb.pcap_records(linktype, [r for r in recs for r in (r, r)])


def test_fragments_captured_twice_are_one_packet(tmp_path):
    """IKE107's fragmented AUTH with every frame twice: each piece is held once (its copy is
    counted `duplicate`), so the AUTH is reassembled from 2 pieces, once per send, as in the
    original, and no copy is left over as a fragment never reassembled."""
    from ikeanalyze import api

    path = FIXTURES / "IKE107" / "fires-pcap-fragmented-auth-unanswered" / "input.pcap"
    original = load([path])[0]
    twice = tmp_path / "twice.pcap"
    twice.write_bytes(doubled(path))
    events, ingest = load([twice])
    rep = ingest.inputs[0]
    assert rep.accounting == {"event": 7, "continuation": 3, "duplicate": 6} and rep.total == 16 and rep.balanced
    kept = events[(events["detail"] != "duplicate-frame").fillna(True)]
    cols = [c for c in HEADER_COLS if c != "ref"] + ["detail"]
    assert table(kept, cols) == table(original, cols)
    assert list(kept["ref"]) == [1, 3, 7, 11, 15]
    want = api.analyze([path]).findings
    got = api.analyze([twice]).findings
    assert [(f.code, f.peer, [s.code for s in f.symptoms]) for f in got] == [
        (f.code, f.peer, [s.code for s in f.symptoms]) for f in want] == [("IKE107", "198.51.100.2:4500", ["IKE304"])]
    assert got[0].facts == want[0].facts and "reassembled from 2 IP fragments" in got[0].message


def test_fragment_pieces_captured_twice_are_no_lost_packets(tmp_path):
    """tcpdump's isakmp-various-oobr holds IKE pieces that never complete: twice over they
    were two sends of an unanswered fragmented message (IKE107, IKE304)."""
    from ikeanalyze import api

    path = DATA / "tcpdump_isakmp-various-oobr.pcap"
    twice = tmp_path / "twice.pcap"
    twice.write_bytes(doubled(path))
    assert api.analyze([path]).findings == api.analyze([twice]).findings == []
    assert load([twice])[1].inputs[0].accounting["duplicate"] == 2


ETH_MIN_FRAME = 60  # without the FCS (IEEE 802.3 §3.2.8: shorter frames are padded)


def with_trailer(frame: bytes) -> bytes:
    """An Ethernet frame as a NIC that keeps the FCS (ethtool rx-fcs) hands it over: padded to
    the minimum frame size, then the 4-byte FCS (CRC-32 of the frame)."""
    frame += bytes(max(0, ETH_MIN_FRAME - len(frame)))
    return frame + struct.pack("<I", zlib.crc32(frame))


def test_copies_of_one_packet_with_different_link_trailers_are_duplicates():
    """synth_tunnels carries the same IKE packets inside MPLS, GRE, VXLAN ...: copies a few
    frames apart, which the original marks duplicate-frame. With each frame's FCS kept, the
    copies' trailers differ (the FCS covers the outer headers): still the same IP packet."""
    original, ingest = load([DATA / "synth_tunnels.pcap"])
    linktype, recs = pb.records((DATA / "synth_tunnels.pcap").read_bytes())
    events, rep = read(pb.pcap_records(linktype, [(s, f, o + len(with_trailer(fr)) - len(fr), with_trailer(fr))
                                                  for s, f, o, fr in recs]))
    assert rep.accounting == ingest.inputs[0].accounting == {"event": 53, "other-traffic": 3}
    assert (original["detail"] == "duplicate-frame").sum() == 8
    assert rows(events) == rows(original)


def test_an_icmp_error_captured_twice_is_counted_once(tmp_path):
    """IKE105's SA_INIT refused by ICMP port unreachable, every frame twice: the copies of the
    ICMP errors are duplicate-frame as the IKE copies are (their words kept in the text), and
    the finding counts 3 refusals, not 6."""
    from ikeanalyze import api

    path = FIXTURES / "IKE105" / "fires-pcap-icmp-refuses-sa-init" / "input.pcap"
    twice = tmp_path / "twice.pcap"
    twice.write_bytes(doubled(path))
    events = load([twice])[0]
    icmp = events[events["kind"] == "icmp"]
    assert list(icmp["detail"]) == ["192.0.2.1 udp port 500 unreachable", "duplicate-frame"] * 3
    assert icmp["text"].str.contains("udp port 500 unreachable").all()
    want, got = api.analyze([path]).findings, api.analyze([twice]).findings
    assert [f.code for f in got] == [f.code for f in want] == ["IKE105"]
    refusal, original = got[0].facts.pop("icmp_unreachable")[0], want[0].facts.pop("icmp_unreachable")[0]
    assert got[0].facts == want[0].facts and refusal["count"] == original["count"] == 3
    assert (refusal["first_ref"], original["first_ref"]) == (3, 2)  # frame 2 of the original is frame 3 twice over


SAMPLES = Path(__file__).resolve().parent.parent.parent / "samples"


def test_nat_keepalives_captured_twice_are_duplicates():
    """The bundled FortiClient story's one-way NAT keepalives, every frame twice: each copy is a
    duplicate-frame, as an IKE or ESP copy is; tcpdump's isakmp4500 sends identical keepalives
    (IP ID 0, every time 0) five frames apart, which stay keepalives."""
    path = SAMPLES / "forticlient-udp-fallback-tcp-capture.pcap"
    original = load([path])[0]
    events, _ = read(doubled(path))
    ka = events[events["kind"] == "nat-keepalive"]
    assert (original["kind"] == "nat-keepalive").sum() == 8 and len(ka) == 16
    assert list(ka["detail"].fillna("")) == ["", "duplicate-frame"] * 8
    # (TCP segments are not tested for copies: the story's TCP rows are all there twice)
    kept = events[(events["detail"] != "duplicate-frame").fillna(True) & (events["kind"] != "tcp")]
    cols = [c for c in HEADER_COLS if c != "ref"] + ["detail", "time"]
    assert table(kept, cols) == table(original[original["kind"] != "tcp"], cols)
    same = load([DATA / "tcpdump_isakmp4500.pcap"])[0]
    assert (same["detail"] != "duplicate-frame").fillna(True).all()


def unframed(facts: dict) -> dict:
    """Facts without frame numbers (every frame twice moves them)."""
    return {k: unframed(v) if isinstance(v, dict) else v for k, v in facts.items() if not k.endswith("_ref")}


def told(findings: list) -> list[tuple]:
    """Each finding and its symptoms as (code, peer, facts without frame numbers)."""
    return [(f.code, f.peer, unframed(f.facts)) for top in findings for f in (top, *top.symptoms)]


def test_findings_count_packets_not_the_frames_of_a_capture_that_recorded_them_twice(tmp_path):
    """The FortiClient story (IKE101/IKE102 count one-way keepalives) and IKE108's one-way ESP,
    every frame twice: the same findings with the same facts (8 keepalives, 15 ESP packets),
    as the flows count packets and a copy is none."""
    from ikeanalyze import api

    for path in (SAMPLES / "forticlient-udp-fallback-tcp-capture.pcap",
                 FIXTURES / "IKE108" / "fires-pcap-esp-out-only" / "input.pcap"):
        twice = tmp_path / path.name
        twice.write_bytes(doubled(path))
        want, got = told(api.analyze([path]).findings), told(api.analyze([twice]).findings)
        assert got == want, path
    facts = {code: facts for code, _, facts in told(api.analyze([SAMPLES / "forticlient-udp-fallback-tcp-capture.pcap"])
                                                   .findings)}
    assert facts["IKE101"]["keepalives"] == 8 and facts["IKE102"]["unanswered"] == 8
    assert want[0][0] == "IKE108" and want[0][2]["packets"] == 15


def test_notifications_of_a_capture_that_recorded_them_twice_are_counted_once(tmp_path):
    """IKE303's INVALID_SPI and IKE205's INVALID_KE_PAYLOAD, every frame twice: each rejection or
    notification once (they counted the copies: 4 INVALID_SPI messages for 2)."""
    from ikeanalyze import api

    for path, code, fact, n in (
            (FIXTURES / "IKE303" / "fires-pcap-invalid-spi-notify" / "input.pcap", "IKE303", "messages", [2]),
            (FIXTURES / "IKE205" / "fires-pcap-invalid-ke-recovered" / "input.pcap", "IKE205", "rejections", [2, 1])):
        twice = tmp_path / f"{code}.pcap"
        twice.write_bytes(doubled(path))
        want, got = told(api.analyze([path]).findings), told(api.analyze([twice]).findings)
        assert got == want, code
        assert [facts[fact] for c, _, facts in got if c == code] == n, code


LINKTYPE_ETHERNET_WITH_FCS = 1 | 0x04000000 | 2 << 28  # the F bit, FCS length 2 16-bit words


def test_an_fcs_the_pcap_header_announces_is_no_part_of_the_packet():
    """synth_offload_udp (IPv4 total length 0: the packet is what was captured) with each
    frame's FCS kept and announced in the link-type word: the same rows, ESP 56 bytes long,
    not 60."""
    path = DATA / "synth_offload_udp.pcap"
    original = load([path])[0]
    _, recs = pb.records(path.read_bytes())
    fcs = [(s, f, o + 4, fr + struct.pack("<I", zlib.crc32(fr))) for s, f, o, fr in recs]
    events, rep = read(pb.pcap_records(LINKTYPE_ETHERNET_WITH_FCS, fcs))
    assert rep.accounting == {"event": 5}
    assert rows(events) == rows(original)
    assert list(events.loc[events["kind"] == "esp", "length"]) == [56, 56]


def test_keepalives_of_an_idle_tunnel_are_not_copies_of_each_other():
    """A keepalive row carries no IP ID, so the repeat test goes by path, time and frames
    (found by a review: in a capture whose times are all equal, the two directions'
    keepalives alternate a frame apart and all but two were marked duplicate-frame; and a
    keepalive 30 s earlier in a capture out of time order was a copy by a negative gap)."""
    a, b = "198.51.100.7", "192.0.2.1"
    ka = [(0.0, pb.eth(pb.ipv4(*((a, b) if i % 2 == 0 else (b, a)), 17, pb.udp(4500, 4500, b"\xff"), ident=10 + i)))
          for i in range(12)]
    events, _ = read(pb.pcap(ka))
    assert list(events["kind"]) == ["nat-keepalive"] * 12
    assert not (events["detail"] == "duplicate-frame").any()
    back = [(100.0, ka[0][1]), (70.0, pb.eth(pb.ipv4(a, b, 17, pb.udp(4500, 4500, b"\xff"), ident=99)))]
    events, _ = read(pb.pcap(back))
    assert not (events["detail"] == "duplicate-frame").any()
    copy = [(5.0, ka[0][1]), (5.00001, ka[0][1])]  # the same keepalive captured twice
    events, _ = read(pb.pcap(copy))
    assert list(events["detail"].fillna("")) == ["", "duplicate-frame"]


def test_a_capture_out_of_time_order_says_so():
    """Frames stamped earlier than the one before them (a capture merged from several
    interfaces): the analysis follows frame order, so the input says how far it went back.
    The jitter of one interface's queues (under a millisecond) is not told."""
    a, b = "198.51.100.7", "192.0.2.1"
    ka = [pb.eth(pb.ipv4(a, b, 17, pb.udp(4500, 4500, b"\xff"), ident=10 + i)) for i in range(5)]
    _, rep = read(pb.pcap([(10.0, ka[0]), (12.0, ka[1]), (11.5, ka[2]), (13.0, ka[3]), (12.9999, ka[4])]))
    (said,) = [w for w in rep.warnings if "out of time order" in w]
    assert said.startswith("1 frame stamped earlier than the frame before it (by 0.500 s)")
    _, rep = read(pb.pcap([(10.0, ka[0]), (12.0, ka[1]), (11.9999, ka[2])]))
    assert not any("out of time order" in w for w in rep.warnings)


def test_pcapng_if_fcslen_takes_the_fcs_off_every_frame():
    """An interface whose IDB says frames end with an FCS (if_fcslen, option 13): the FCS
    is no part of the packet. It shows where a checksum offload left the IP total length 0
    and the packet is taken from the frame's bytes: an ESP packet of 48 bytes read as 52
    with its FCS. The option's unit is bits in the draft, bytes in Wireshark: 4 and 32 both
    say a 4-byte FCS; a value no FCS has is said and read as no FCS."""
    ip = pb.ipv4("192.0.2.1", "198.51.100.2", 50, struct.pack("!II", 0xDEADBEEF, 1) + bytes(40))
    offloaded = ip[:2] + b"\0\0" + ip[4:]  # IP total length 0 (TSO/checksum offload)
    frames = [pb.eth(offloaded), pb.eth(ip)]
    with_fcs = [fr + struct.pack("<I", zlib.crc32(fr)) for fr in frames]
    packets = [(0, 1_000_000 * i, fr, None) for i, fr in enumerate(with_fcs)]
    for fcslen in (4, 32):
        events, rep = read(pb.pcapng([(1, "eth0", None)], packets, fcslen=fcslen), "fcs.pcapng")
        assert list(events["length"]) == [48, 48] and not rep.warnings
    events, rep = read(pb.pcapng([(1, "eth0", None)], packets), "no-option.pcapng")
    assert list(events["length"]) == [52, 48]  # nothing says the 4 last bytes are an FCS
    events, rep = read(pb.pcapng([(1, "eth0", None)], packets, fcslen=5), "odd.pcapng")
    assert list(events["length"]) == [52, 48]
    assert rep.warnings == ["interface 0: if_fcslen 5 is no FCS length (2 or 4 bytes, 16 or 32 bits); "
                            "its frames are read with no FCS taken off"]


def test_pcapng_epb_flags_fcs_length_takes_the_fcs_off_its_frame():
    """A packet's own epb_flags option (code 2) says in bits 5-8 how many FCS bytes end its
    frame (0: not known), whatever its interface's if_fcslen says. Where an offload left the
    IP total length 0 the packet is taken from the frame's bytes: the FCS was read as the
    start of the next IKE-over-TCP message (RFC 8229), and as 4 more bytes of ESP. Trimmed,
    the rows are those of the frames without an FCS (tshark reads the same: tcp.len 224).
    The flags may follow another option (a comment); a packet whose flags say 0 takes its
    interface's if_fcslen."""
    cl, gw = "192.0.2.1", "198.51.100.2"
    first, second = sa_init(), sa_init()[:20] + struct.pack("!I", 1) + sa_init()[24:]  # message IDs 0 and 1

    def stream(msg: bytes) -> bytes:
        return struct.pack("!H", len(msg) + 6) + b"\0\0\0\0" + msg

    packets = [pb.ipv4(cl, gw, 6, pb.tcp(40000, 4500, 1, 1, 0x18, b"IKETCP" + stream(first))),
               pb.ipv4(cl, gw, 6, pb.tcp(40000, 4500, 225, 1, 0x18, stream(second))),
               pb.ipv4(cl, gw, 50, struct.pack("!II", 0xDEADBEEF, 1) + bytes(40))]
    frames = [pb.eth(ip[:2] + b"\0\0" + ip[4:]) for ip in packets]  # IP total length 0 (offload)
    with_fcs = [fr + struct.pack("<I", zlib.crc32(fr)) for fr in frames]
    cols = ["kind", "length", "exchange", "msg_id"]

    def rows_of(data: bytes) -> list[list]:
        events, rep = read(data, "fcs.pcapng", ike_tcp_ports=(4500,))
        assert not rep.warnings
        return table(events, cols)

    clean = rows_of(pb.pcapng([(1, "eth0", None)], [(0, i, fr, 1) for i, fr in enumerate(frames)]))
    assert [r for r in clean if r[0] == "ike"] == [["ike", 212, "SA_INIT", 0], ["ike", 212, "SA_INIT", 1]]
    assert clean[-1] == ["esp", 48, None, None]
    four = 1 | 4 << 5  # inbound, a 4-byte FCS
    flagged = [(0, i, fr, four) for i, fr in enumerate(with_fcs)]
    assert rows_of(pb.pcapng([(1, "eth0", None)], flagged)) == clean
    assert rows_of(pb.pcapng([(1, "eth0", None)], flagged, epb_comment="from the tap")) == clean
    unknown = [(0, i, fr, 1) for i, fr in enumerate(with_fcs)]  # FCS length 0: the interface's
    assert rows_of(pb.pcapng([(1, "eth0", None)], unknown, fcslen=4)) == clean
    assert rows_of(pb.pcapng([(1, "eth0", None)], unknown)) != clean  # nothing says there is one
