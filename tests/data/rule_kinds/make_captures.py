#!/usr/bin/env python3
"""Write the captures of tests/data/rule_kinds/, and the sniffer texts with hex dumps
(verbosity 5 and 6) of the same kind of frames (deterministic; run from the repo root:
`python tests/data/rule_kinds/make_captures.py`): frames built byte by byte from the RFC
layouts with the helpers of tests/rules/fixtures/make_pcaps.py, RFC 5737 addresses; the
sniffer's dump lines as tests/data/make_capture.py writes them. Each is a rule's condition
(or its near miss) in a kind of evidence no fixture of that rule had: see SOURCES.md."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from tests.data.make_capture import hexdump  # noqa: E402
from tests.rules.fixtures import make_pcaps as mp  # noqa: E402
from tests.sources import pcapbuild as pb  # noqa: E402
from tests.wire import ikebuild as ib  # noqa: E402

HERE = Path(__file__).resolve().parent
GW, PEER, T0 = mp.GW, mp.PEER, mp.T0
SA_INIT, INFORMATIONAL, NONCE, SK = mp.SA_INIT, mp.INFORMATIONAL, mp.NONCE, mp.SK
INITIATOR, RESPONSE = mp.INITIATOR, mp.RESPONSE


def write(name: str, frames: list[tuple[float, bytes]]) -> None:
    (HERE / name).write_bytes(pb.pcap(sorted(frames, key=lambda f: f[0])))


def esp_both_ways(n: int, start: float = 1.0, every: float = 1.0, peer_port: int = 4500) -> list[tuple[float, bytes]]:
    out = []
    for i in range(n):
        out.append((T0 + start + every * i, mp.esp(GW, PEER, 0xC0FFEE01, i + 1)))
        back = pb.udp(peer_port, 4500, (0xBEEF0001).to_bytes(4, "big") + (i + 1).to_bytes(4, "big") + bytes(48))
        out.append((T0 + start + every * i + 0.02, pb.eth(pb.ipv4(PEER, GW, 17, back))))
    return out


def sniffer_text(name: str, command: str, packets: list[tuple[float, bytes]], verbosity: int, stamp: str) -> None:
    """`diagnose sniffer packet wan1 '<filter>' <verbosity>` of IPv4/UDP ``packets`` on GW's wan1:
    header lines (relative stamps, or the `l` option's date and time) and the hex dump of
    the IP packet (5) or the Ethernet frame (6) under each."""
    filt = command.split("'")[1]
    lines = [f"FGT-EDGE # {command}", "interfaces=[wan1]", f"filters=[{filt}]"]
    t0 = packets[0][0]
    for at, ip in packets:
        src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
        sport, dport = int.from_bytes(ip[20:22], "big"), int.from_bytes(ip[22:24], "big")
        when = (f"{at - t0 + 0.000512:.6f}" if stamp == "relative" else
                datetime.datetime.fromtimestamp(at, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f"))
        way = "out" if src == GW else "in"
        lines.append(f"{when} wan1 {way} {src}.{sport} -> {dst}.{dport}: udp {len(ip) - 28}")
        lines += [hexdump(pb.eth(ip) if verbosity == 6 else ip).rstrip("\n"), ""]
    lines += ["^C", f"{len(packets)} packets received by filter", "0 packets dropped by kernel", ""]
    (HERE / name).write_text("\n".join(lines))


def udp_ip(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    return mp.ipv4_summed(src, dst, 17, pb.udp(sport, dport, payload))


def sniffer_stories() -> None:
    # IKE105: GW's IKE_SA_INIT re-sent with RFC 7296 back-off, never answered (verbosity 6).
    init = ib.message(bytes.fromhex("a1b2c3d4e5f60718"), bytes(8), SA_INIT, INITIATOR, 0, [(NONCE, bytes(32))])
    command = "diagnose sniffer packet wan1 'host 198.51.100.2 and udp port 500' 6"
    sniffer_text("ike105-sniffer-v6-sa-init-unanswered.txt", command,
                 [(T0 + d, udp_ip(GW, PEER, 500, 500, init)) for d in (0, 2, 6, 14, 30)], 6, "relative")
    # ... and answered after one retransmission (no IKE105).
    reply = ib.message(bytes.fromhex("a1b2c3d4e5f60718"), bytes.fromhex("0f1e2d3c4b5a6978"), SA_INIT, RESPONSE, 0,
                       [(NONCE, bytes(32))])
    sniffer_text("ike105-sniffer-v6-sa-init-answered.txt", command,
                 [(T0, udp_ip(GW, PEER, 500, 500, init)), (T0 + 2, udp_ip(GW, PEER, 500, 500, init)),
                  (T0 + 2.04, udp_ip(PEER, GW, 500, 500, reply))], 6, "relative")
    # IKE301: ESP both ways, then GW's DPD probe (msg 7) on 4500 re-sent every 5 s (verbosity 5, `l`).
    spi_i, spi_r = bytes.fromhex("5a5b5c5d5e5f6061"), bytes.fromhex("7172737475767778")
    packets = []
    for i in range(4):
        packets.append((T0 + i, udp_ip(GW, PEER, 4500, 4500, (0xC0FFEE01).to_bytes(4, "big") + (i + 1).to_bytes(4, "big") + bytes(64))))
        packets.append((T0 + i + 0.02, udp_ip(PEER, GW, 4500, 4500, (0xBEEF0001).to_bytes(4, "big") + (i + 1).to_bytes(4, "big") + bytes(64))))
    probe = ib.message(spi_i, spi_r, INFORMATIONAL, INITIATOR, 7, [(SK, bytes(48))])
    packets += [(T0 + at, udp_ip(GW, PEER, 4500, 4500, bytes(4) + probe)) for at in (30, 35, 40, 45, 50)]
    sniffer_text("ike301-sniffer-v5-dpd-unanswered.txt", "diagnose sniffer packet wan1 'host 198.51.100.2' 5 0 l",
                 packets, 5, "clock")


def main() -> None:
    neg = mp.negotiation()
    # IKE301: GW's DPD (an INFORMATIONAL with only its SK payload, msg 2) re-sent every 5 s, never answered.
    probe = ib.message(mp.ISPI, mp.RSPI, INFORMATIONAL, 0, 2, [(SK, bytes(48))])
    probes = [(T0 + at, mp.ike(GW, PEER, 4500, 4500, probe, natt=True)) for at in (40, 45, 50, 55, 60)]
    write("ike301-dpd-unanswered.pcap", neg + esp_both_ways(10) + probes)
    # ... and answered after its third attempt (DPD answered late: no IKE301).
    answer = ib.message(mp.ISPI, mp.RSPI, INFORMATIONAL, INITIATOR | RESPONSE, 2, [(SK, bytes(48))])
    write("ike301-dpd-answered-late.pcap",
          neg + esp_both_ways(10) + probes[:3] + [(T0 + 51, mp.ike(PEER, GW, 4500, 4500, answer, natt=True))])
    # IKE111: PEER's NAT mapping moves from 4500 to 61001 after 5 s; GW keeps sending to 4500.
    moved = []
    for i in range(10):
        back = pb.udp(61001, 4500, (0xBEEF0001).to_bytes(4, "big") + (10 + i).to_bytes(4, "big") + bytes(48))
        moved.append((T0 + 7 + 2 * i, pb.eth(pb.ipv4(PEER, GW, 17, back))))
        moved.append((T0 + 7.5 + 2 * i, mp.esp(GW, PEER, 0xC0FFEE01, 10 + i)))
    write("ike111-nat-port-moved.pcap", neg + esp_both_ways(5) + moved)
    # ... and GW following the new mapping (no IKE111).
    followed = []
    for i in range(10):
        back = pb.udp(61001, 4500, (0xBEEF0001).to_bytes(4, "big") + (10 + i).to_bytes(4, "big") + bytes(48))
        followed.append((T0 + 7 + 2 * i, pb.eth(pb.ipv4(PEER, GW, 17, back))))
        out = pb.udp(4500, 61001, (0xC0FFEE01).to_bytes(4, "big") + (10 + i).to_bytes(4, "big") + bytes(48))
        followed.append((T0 + 7.5 + 2 * i, pb.eth(pb.ipv4(GW, PEER, 17, out))))
    write("ike111-nat-port-followed.pcap", neg + esp_both_ways(5) + followed)
    # IKE101 near miss: an idle tunnel whose ends both send NAT-T keepalives, 10 s apart.
    kas = [fr for i in range(8) for fr in ((T0 + 1 + 20 * i, mp.ike(GW, PEER, 4500, 4500, b"\xff")),
                                          (T0 + 11 + 20 * i, mp.ike(PEER, GW, 4500, 4500, b"\xff")))]
    write("ike101-keepalives-both-ways.pcap", neg + kas)
    sniffer_stories()


if __name__ == "__main__":
    main()
