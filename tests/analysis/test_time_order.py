"""A capture out of time order (`mergecap -a` of two interfaces' captures, each in time
order): the analysis reads it in time order, and every finding still cites the frames by
their number in the file, as tshark numbers them."""

from __future__ import annotations

import struct

from ikeanalyze import api
from ikeanalyze.sources import Blob, LoadOptions
from tests.conftest import DATA
from tests.sources import pcapbuild as pb
from tests.wire import ikebuild as ib

GW, PEER = "192.0.2.1", "198.51.100.7"
T0 = 1714550400.0  # 2024-05-01 08:00:00 UTC
ISPI, RSPI = bytes.fromhex("1122334455667788"), bytes.fromhex("99aabbccddeeff00")


def _udp(src: str, dst: str, port: int, payload: bytes, ident: int) -> bytes:
    return pb.eth(pb.ipv4(src, dst, 17, pb.udp(port, port, payload), ident=ident))


def _run(frames: list[tuple[float, bytes]], code: str):
    d = api.analyze([Blob("merged.pcap", data=pb.pcap(frames))], LoadOptions(local=(GW,)), select=[code])
    return [f for f in d.all_findings() if f.code == code]


def _stall() -> tuple[list, list]:
    """ESP both ways every 2 s for 20 s, then the peer goes silent while the gateway sends six
    NAT keepalives 10 s apart: the outbound capture (16 frames) and the inbound one (10)."""
    esp = [(T0 + 2 * i, _udp(GW, PEER, 4500, struct.pack("!II", 0x1111, i + 1) + bytes(48), i + 1)) for i in range(10)]
    ka = [(T0 + 30 + 10 * i, _udp(GW, PEER, 4500, b"\xff", 100 + i)) for i in range(6)]
    back = [(T0 + 2 * i + 0.05, _udp(PEER, GW, 4500, struct.pack("!II", 0x2222, i + 1) + bytes(48), 200 + i))
            for i in range(10)]
    return esp + ka, back


def test_a_stall_is_found_whichever_capture_was_appended_first() -> None:
    out, back = _stall()
    [in_order] = _run(sorted(out + back, key=lambda f: f[0]), "IKE102")
    assert [e.ref for e in in_order.evidence] == [20, 21, 26]
    # `mergecap -a out.pcap in.pcap`: every answer's frame comes after all the keepalives.
    [merged] = _run(out + back, "IKE102")
    assert [e.ref for e in merged.evidence] == [26, 11, 16]  # the peer's last ESP is frame 26 here
    assert merged.facts["unanswered"] == 6 and merged.facts["silence_s"] == in_order.facts["silence_s"] == 80.0 - 18.05
    assert "stopped sending at 08:00:18.050 (frame 26)" in merged.message


def test_an_answer_in_an_earlier_appended_capture_is_still_an_answer() -> None:
    """The responder's capture appended first: its SA_INIT response (frame 1) answers the
    third request (frame 5), sent 0.05 s before it."""
    def sa_init(response: bool) -> bytes:
        return ib.message(ISPI, RSPI if response else bytes(8), 34, 0x20 if response else 0x08, 0, [(40, bytes(32))])
    out = [(T0 + 6.05, _udp(GW, PEER, 500, sa_init(True), 1))]
    back = [(T0 + t, _udp(PEER, GW, 500, sa_init(False), 10 + i)) for i, t in enumerate((0.0, 2.0, 6.0))]
    assert not _run(out + back, "IKE105")
    [retx] = _run(out + back, "IKE304")
    assert "answered after the last attempt" in retx.message
    assert [e.ref for e in retx.evidence][:1] == [2]


def _seg(a: tuple[str, int], b: tuple[str, int], seq: int, ack: int, flags: int, data: bytes = b"") -> bytes:
    return pb.eth(pb.ipv4(a[0], b[0], 6, pb.tcp(a[1], b[1], seq, ack, flags, data)))


def test_ike_over_tcp_is_told_from_its_syn_whichever_capture_was_appended_first() -> None:
    """IKE over TCP (RFC 8229) from the peer to the gateway's TCP 4500: the gateway's
    outbound capture (its SYN-ACK, frame 1) appended before the inbound one (the peer's SYN,
    frame 3). The client is the side that sent the SYN, frame 3, not the SYN-ACK's sender."""
    c, g = (PEER, 40000), (GW, 4500)
    init = b"\0\0\0\0" + ib.message(ISPI, bytes(8), 34, 0x08, 0, [(40, bytes(32))])
    framed = struct.pack("!H", 2 + len(init)) + init
    out = [(T0 + 0.001, _seg(g, c, 5000, 1001, 0x12)), (T0 + 0.05, _seg(g, c, 5001, 1007 + len(framed), 0x10))]
    back = [(T0, _seg(c, g, 1000, 0, 0x02)), (T0 + 0.002, _seg(c, g, 1001, 5001, 0x10)),
            (T0 + 0.003, _seg(c, g, 1001, 5001, 0x18, b"IKETCP" + framed))]
    [in_order] = _run(sorted(out + back, key=lambda f: f[0]), "IKE103")
    [merged] = _run(out + back, "IKE103")
    assert in_order.facts["client"] == merged.facts["client"] == f"{PEER}:40000"
    assert merged.facts["server"] == f"{GW}:4500"
    assert "(frame 3)" in merged.message and merged.evidence[0].ref == 3  # the SYN


def test_main_mode_5_unanswered_whichever_capture_was_appended_first() -> None:
    """IKEv1 Main Mode from the gateway: the peer answers messages 1 and 3, then message 5
    (encrypted with keys of the pre-shared secret) goes out four times unanswered (IKE204,
    inferred). With the outbound capture appended first, messages 2 and 4 (frames 7, 8) come
    after message 5's frames, yet they came before it."""
    zero, ident = bytes(8), 2
    sa = [(1, ib.sa_v1([(1, 7), (2, 4), (3, 1), (4, 14)]))]
    ke = [(4, bytes(256)), (10, bytes(32))]
    mm = [ib.message(ISPI, zero, ident, 0, 0, sa, version=0x10), ib.message(ISPI, RSPI, ident, 0, 0, sa, version=0x10),
          ib.message(ISPI, RSPI, ident, 0, 0, ke, version=0x10), ib.message(ISPI, RSPI, ident, 0, 0, ke, version=0x10)]
    mm5 = ISPI + RSPI + bytes([5, 0x10, ident, 0x01]) + struct.pack("!II", 0, 28 + 64) + bytes(64)
    out = [(T0, _udp(GW, PEER, 500, mm[0], 1)), (T0 + 0.1, _udp(GW, PEER, 500, mm[2], 2))]
    out += [(T0 + 0.3 + d, _udp(GW, PEER, 500, mm5, 3 + d)) for d in (0, 10, 20, 30)]
    back = [(T0 + 0.05, _udp(PEER, GW, 500, mm[1], 100)), (T0 + 0.15, _udp(PEER, GW, 500, mm[3], 101))]
    [in_order] = _run(sorted(out + back, key=lambda f: f[0]), "IKE204")
    [merged] = _run(out + back, "IKE204")
    assert merged.facts["inferred_from"] == in_order.facts["inferred_from"] == "main-mode-5-unanswered"
    assert merged.facts["attempts"] == 4
    assert [e.ref for e in merged.evidence] == [8, 3, 6]  # message 4, then message 5's first and last send


def test_a_moved_nat_mapping_whichever_capture_was_appended_first() -> None:
    """The peer's NAT maps it anew (port 40000 to 40001) and the gateway keeps answering the
    old port (IKE111). With the outbound capture appended first, the stale answers (frames 2,
    3) come before the request from the new port (frame 5) that they follow."""
    def natt(src: str, dst: str, sport: int, dport: int, mid: int, response: bool, ident: int) -> bytes:
        msg = ib.message(ISPI, RSPI, 37, 0x20 if response else 0x08, mid, [(46, bytes(64))])
        return pb.eth(pb.ipv4(src, dst, 17, pb.udp(sport, dport, bytes(4) + msg), ident=ident))
    out = [(T0 + at + 0.01, natt(GW, PEER, 4500, port, mid, True, i + 1))
           for i, (at, port, mid) in enumerate([(0, 40000, 2), (10, 40000, 3), (12, 40000, 3)])]
    back = [(T0 + at, natt(PEER, GW, port, 4500, mid, False, i + 10))
            for i, (at, port, mid) in enumerate([(0, 40000, 2), (10, 40001, 3), (12, 40001, 3)])]
    [in_order] = _run(sorted(out + back, key=lambda f: f[0]), "IKE111")
    [merged] = _run(out + back, "IKE111")
    assert merged.facts["old"] == f"{PEER}:40000" and merged.facts["new"] == f"{PEER}:40001"
    assert merged.facts["stale_sends"] == in_order.facts["stale_sends"] == 2
    assert merged.facts["arrivals_from_new"] == in_order.facts["arrivals_from_new"] == 2
    assert [e.ref for e in merged.evidence] == [4, 5, 2, 3]


def test_a_retry_after_invalid_ke_in_a_file_appended_first_still_recovers() -> None:
    """Two captures of one interface appended out of turn (`mergecap -a later.pcap
    earlier.pcap`): the peer's INVALID_KE_PAYLOAD (frame 4) and, 0.1 s later, its answer
    to the retry with group 19 (frame 2). The rejection was recovered from (IKE205 info)."""
    def sa_init(group: int, response: bool) -> bytes:
        sa = ib.sa_v2([(1, 12, 256), (2, 5, None), (3, 12, None), (4, group, None)])
        return ib.message(ISPI, RSPI if response else bytes(8), 34, 0x20 if response else 0x08, 0,
                          [(33, sa), (34, struct.pack("!HH", group, 0) + bytes(64)), (40, bytes(32))])
    invalid_ke = ib.message(ISPI, bytes(8), 34, 0x20, 0, [(41, ib.notify_v2(17, struct.pack("!H", 19)))])
    earlier = [(T0, _udp(GW, PEER, 500, sa_init(14, False), 1)), (T0 + 0.03, _udp(PEER, GW, 500, invalid_ke, 2))]
    later = [(T0 + 0.1, _udp(GW, PEER, 500, sa_init(19, False), 3)), (T0 + 0.13, _udp(PEER, GW, 500, sa_init(19, True), 4))]
    [in_order] = _run(earlier + later, "IKE205")
    [merged] = _run(later + earlier, "IKE205")
    assert in_order.facts["recovered"] is merged.facts["recovered"] is True
    assert merged.severity == "info" and "(frame 4)" in merged.message


def test_peer_packets_after_an_unanswered_rekey_whichever_capture_was_appended_first() -> None:
    """The gateway re-sends a CREATE_CHILD_SA request (at 20, 22 and 26 s) that is never
    answered (IKE302). The peer's ESP came every 2 s until 18 s, and once more at 30 s:
    one packet after the request. With the outbound capture appended first, all eleven of the
    peer's frames (11-21) come after the request's frames (8-10), yet ten came before it."""
    rekey = bytes(4) + ib.message(ISPI, RSPI, 36, 0x08, 2, [(46, bytes(80))])
    esp = [(T0 + 2 * i + 0.01, _udp(GW, PEER, 4500, struct.pack("!II", 0x1111, i + 1) + bytes(48), i + 1))
           for i in range(7)]
    out = esp + [(T0 + at, _udp(GW, PEER, 4500, rekey, 50 + i)) for i, at in enumerate((20, 22, 26))]
    back = [(T0 + at, _udp(PEER, GW, 4500, struct.pack("!II", 0x2222, i + 1) + bytes(48), 100 + i))
            for i, at in enumerate([2 * k for k in range(10)] + [30])]
    [in_order] = _run(sorted(out + back, key=lambda f: f[0]), "IKE302")
    [merged] = _run(out + back, "IKE302")
    assert in_order.facts["peer_silent"] is merged.facts["peer_silent"] is True
    assert in_order.facts["peer_packets_after"] == merged.facts["peer_packets_after"] == 1
    assert "though 1 other packet from 198.51.100.7 did (1 ESP, the last at 08:00:30 (frame 21))" in merged.message


def test_a_timeline_without_time_is_in_line_order():
    """IKE_LOG_retrans.txt (a debug without console stamps): the timeline listed the NAT move
    (line 44), the timeout (line 57), then the first send of the retransmitted message
    (line 43), the findings' order, so the cause read as coming after its outcome."""
    d = api.analyze([str(DATA / "ikedebug" / "IKE_LOG_retrans.txt")])
    untimed = [m for m in d.timeline if m.time is None and m.t is None]
    assert [m.ref for m in untimed] == [43, 44, 57]
