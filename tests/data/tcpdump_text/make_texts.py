#!/usr/bin/env python3
"""Write the tcpdump text inputs of this folder by running the real `tcpdump` (4.99.3 here)
on captures already in tests/data/pcap, samples/ and tests/rules/fixtures/, and on small
captures made here from them or with dpkt (`-i any` framing of the sample story; a real
IKE_SA_INIT re-sent with nothing coming back; an ICMP port unreachable for UDP 4500/500;
two frames of the story reordered; a fragmented NFS datagram; frames cut at a snapshot
length).

Run from the repository root: python tests/data/tcpdump_text/make_texts.py
Times are printed in UTC (TZ=UTC) so that `-tttt` matches the captures' own clock.
"""
from __future__ import annotations

import os
import socket
import struct
import subprocess
from pathlib import Path

import dpkt

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
STORY = ROOT / "samples" / "forticlient-udp-fallback-tcp-capture.pcap"
PCAPS = ROOT / "tests" / "data" / "pcap"
NATT = PCAPS / "scapy_ikev2_nat_t.pcapng"
JOY = ROOT / "tests" / "data" / "pcap" / "joy_ikev2.pcap"
# An IKE_AUTH of 2104 bytes sent 3 times as two IP fragments each, never answered.
FRAGMENTED = ROOT / "tests" / "rules" / "fixtures" / "IKE107" / "fires-pcap-fragmented-auth-unanswered" / "input.pcap"
FRAGMENTED6 = FRAGMENTED.parents[1] / "fires-pcap-fragmented-auth-unanswered-ipv6" / "input.pcap"  # over IPv6
GATEWAY = bytes([10, 55, 3, 193])


def tcpdump(capture: Path, *flags: str) -> str:
    out = subprocess.run(["tcpdump", *flags, "-r", str(capture)], capture_output=True, text=True, check=True,
                         env={**os.environ, "TZ": "UTC"})
    return out.stdout


def cooked(path: Path) -> None:
    """The sample story as `tcpdump -i any` records it (Linux cooked v2): each IP packet with
    the direction as seen from the gateway (out: from 10.55.3.193)."""
    with open(STORY, "rb") as f, open(path, "wb") as g:
        w = dpkt.pcap.Writer(g, linktype=276)  # LINKTYPE_LINUX_SLL2
        for ts, buf in dpkt.pcap.Reader(f):
            eth = dpkt.ethernet.Ethernet(buf)
            out = eth.data.src == GATEWAY
            head = struct.pack(">HHIHBB8s", 0x0800, 0, 2, 1, 4 if out else 0, 6, eth.src + b"\0\0")
            w.writepkt(head + bytes(eth.data), ts)


def unanswered(path: Path) -> None:
    """The first frame of joy_ikev2.pcap (an IKE_SA_INIT request) sent 4 times, 2, 4 and 8 s
    apart, and nothing else: the responder never answers."""
    with open(JOY, "rb") as f, open(path, "wb") as g:
        ts, frame = next(iter(dpkt.pcap.Reader(f)))
        w = dpkt.pcap.Writer(g)
        for wait in (0, 2, 4, 8):
            ts += wait
            w.writepkt(frame, ts)


def ip(src: str, dst: str, proto: int, data) -> dpkt.ip.IP:
    pkt = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=proto, data=data, ttl=64)
    pkt.len = 20 + len(bytes(data))
    return pkt


def eth(pkt: dpkt.ip.IP) -> bytes:
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02\0\0\0\0\x01", dst=b"\x02\0\0\0\0\x02", type=0x0800, data=pkt))


def unreachable(path: Path) -> None:
    """A client's NAT keepalive and IKE datagram, each answered by a router's ICMP port
    unreachable quoting it."""
    with open(path, "wb") as g:
        w = dpkt.pcap.Writer(g)
        for i, (dport, payload) in enumerate([(4500, b"\xff"), (500, b"\0" * 28)]):
            udp = dpkt.udp.UDP(sport=59325, dport=dport, data=payload)
            udp.ulen = 8 + len(payload)
            inner = ip("192.168.20.10", "172.16.10.1", 17, udp)
            w.writepkt(eth(inner), 1772147843.0 + i)
            icmp = dpkt.icmp.ICMP(type=3, code=3, data=dpkt.icmp.ICMP.Unreach(data=bytes(inner)[:28]))
            w.writepkt(eth(ip("10.10.0.254", "192.168.20.10", 1, icmp)), 1772147843.0001 + i)


def refused(path: Path) -> None:
    """198.51.100.7 sends 192.0.2.1 a NAT keepalive, an ESP-in-UDP packet (both UDP 4500) and
    an IKE_SA_INIT (the request of joy_ikev2.pcap, UDP 500); 192.0.2.1 answers each with an
    ICMP port unreachable quoting as much of the datagram as fits in 576 bytes, as Linux
    does (RFC 1812 4.3.2.3): with -v tcpdump prints the quoted datagram under the ICMP line."""
    with open(JOY, "rb") as f:
        _, frame = next(iter(dpkt.pcap.Reader(f)))
    sa_init = bytes(dpkt.ethernet.Ethernet(frame).data.data.data)
    sent = [(4500, b"\xff"), (4500, struct.pack("!II", 0x01020304, 1) + bytes(80)), (500, sa_init)]
    with open(path, "wb") as g:
        w = dpkt.pcap.Writer(g)
        for i, (port, payload) in enumerate(sent):
            udp = dpkt.udp.UDP(sport=port, dport=port, data=payload)
            udp.ulen = 8 + len(payload)
            inner = ip("198.51.100.7", "192.0.2.1", 17, udp)
            w.writepkt(eth(inner), 1772147843.0 + i)
            quote = bytes(inner)[:576 - 20 - 8]
            icmp = dpkt.icmp.ICMP(type=3, code=3, data=dpkt.icmp.ICMP.Unreach(data=quote))
            w.writepkt(eth(ip("192.0.2.1", "198.51.100.7", 1, icmp)), 1772147843.0002 + i)


def reordered(path: Path) -> None:
    """The sample story with frames 3 and 4 (21 µs apart) in the other order, as a capture
    taken on several queues can hold them: -ttt prints the second as `-00:00:00.000021`."""
    with open(STORY, "rb") as f, open(path, "wb") as g:
        frames = list(dpkt.pcap.Reader(f))
        frames[2], frames[3] = frames[3], frames[2]
        w = dpkt.pcap.Writer(g, nano=False)
        for ts, buf in frames:
            w.writepkt(buf, ts)


def snapped(path: Path, capture: Path, snaplen: int) -> None:
    """``capture`` as a capture with a snapshot length of ``snaplen`` bytes would hold it:
    each frame cut there, its length on the wire kept in its record header."""
    with open(capture, "rb") as f, open(path, "wb") as g:
        dpkt.pcap.Writer(g, snaplen=snaplen)  # the file header
        for ts, buf in dpkt.pcap.Reader(f):
            g.write(struct.pack("<IIII", int(ts), round(ts % 1 * 1e6), min(len(buf), snaplen), len(buf)) + buf[:snaplen])


def other_fragments(path: Path) -> None:
    """A 3000-byte UDP datagram to port 2049 (NFS) as three IPv4 fragments: not IPsec."""
    udp = dpkt.udp.UDP(sport=800, dport=2049, data=bytes(2992))
    udp.ulen = 3000
    body = bytes(udp)
    with open(path, "wb") as g:
        w = dpkt.pcap.Writer(g)
        for i, off in enumerate(range(0, len(body), 1480)):
            piece = body[off:off + 1480]
            pkt = dpkt.ip.IP(src=socket.inet_aton("192.0.2.10"), dst=socket.inet_aton("192.0.2.20"), p=17, id=4242,
                             mf=int(off + len(piece) < len(body)), offset=off // 8, ttl=64, data=piece)
            pkt.len = 20 + len(piece)
            frame = dpkt.ethernet.Ethernet(src=b"\x02\0\0\0\0\x01", dst=b"\x02\0\0\0\0\x02", type=0x0800, data=pkt)
            w.writepkt(bytes(frame), 1772147843.0 + 0.0001 * i)


def main() -> None:
    texts = {
        "forticlient-udp-stall.txt": (STORY, "-n"),
        "forticlient-udp-stall.tttt.txt": (STORY, "-n", "-tttt"),
        "forticlient-udp-stall.tt-e.txt": (STORY, "-n", "-tt", "-e"),
        "forticlient-udp-stall.names.txt": (STORY,),
        "forticlient-udp-stall.v.txt": (STORY, "-n", "-v", "-tttt"),
        # Deltas: since the previous packet, since the first.
        "forticlient-udp-stall.ttt.txt": (STORY, "-n", "-ttt"),
        "forticlient-udp-stall.ttttt.txt": (STORY, "-n", "-ttttt"),
        "ikev2-natt-healthy.txt": (NATT, "-n", "-tttt"),
        "ikev2-natt-healthy.vv.txt": (NATT, "-n", "-vv", "-c", "6"),
        # `-e` on other links: 802.1Q/QinQ tags, BSD loopback, raw IP, Ethernet with ARP.
        "synth_vlan_stacks.e.txt": (PCAPS / "synth_vlan_stacks.pcap", "-n", "-e"),
        "tcpdump_ikev2four.e.txt": (PCAPS / "tcpdump_ikev2four.pcap", "-n", "-e"),
        "suricata-verify_IKEv2_SA_INIT_2-8-weak.e.txt": (PCAPS / "suricata-verify_IKEv2_SA_INIT_2-8-weak.pcap", "-n", "-e"),
        "tcpdump_isakmp4500.e.txt": (PCAPS / "tcpdump_isakmp4500.pcap", "-n", "-e"),
        # IP fragments: a later piece is `ip-proto-17` (`udp` without -n); -v numbers them.
        "fragmented-auth-unanswered.txt": (FRAGMENTED, "-n"),
        "fragmented-auth-unanswered.names.txt": (FRAGMENTED,),
        "fragmented-auth-unanswered.v.txt": (FRAGMENTED, "-n", "-v"),
        "fragmented-auth-unanswered.vv.txt": (FRAGMENTED, "-n", "-vv"),
        "fragmented-auth-unanswered.ttt.txt": (FRAGMENTED, "-n", "-ttt"),
        # IPv6: `frag (0|1232) 4500 > 4500: ...`, `frag (1232|880)`; -v: the id
        "fragmented-auth-unanswered-ipv6.txt": (FRAGMENTED6, "-n"),
        "fragmented-auth-unanswered-ipv6.v.txt": (FRAGMENTED6, "-n", "-v"),
        "libreswan_espfrags1.txt": (PCAPS / "libreswan_espfrags1.pcap", "-n"),  # ESP as IP fragments
    }
    for name, (capture, *flags) in texts.items():
        (HERE / name).write_text(tcpdump(capture, *flags))
    any_cap = HERE / "forticlient-udp-stall.any.pcap"
    cooked(any_cap)
    (HERE / "forticlient-udp-stall.any.txt").write_text(tcpdump(any_cap, "-n"))
    icmp_cap = HERE / "icmp-unreachable.pcap"
    unreachable(icmp_cap)
    (HERE / "icmp-unreachable.txt").write_text(tcpdump(icmp_cap, "-n"))
    refused_cap = HERE / "icmp-refused.pcap"
    refused(refused_cap)
    for name, flags in (("icmp-refused.txt", ("-n",)), ("icmp-refused.v.txt", ("-n", "-v")),
                        ("icmp-refused.ve.txt", ("-n", "-v", "-e"))):
        (HERE / name).write_text(tcpdump(refused_cap, *flags))
    silent_cap = HERE / "sa-init-unanswered.pcap"
    unanswered(silent_cap)
    (HERE / "sa-init-unanswered.txt").write_text(tcpdump(silent_cap, "-n", "-tttt"))
    for flag in ("-ttt", "-ttttt"):  # waits of 2, 4, 8 s: both forms only grow
        (HERE / f"sa-init-unanswered.{flag[1:]}.txt").write_text(tcpdump(silent_cap, "-n", flag))
    swapped_cap = HERE / "forticlient-udp-stall-reordered.pcap"
    reordered(swapped_cap)
    for flag in ("-ttt", "-ttttt"):
        (HERE / f"forticlient-udp-stall-reordered.{flag[1:]}.txt").write_text(tcpdump(swapped_cap, "-n", flag))
    nfs_cap = HERE / "fragmented-nfs.pcap"
    other_fragments(nfs_cap)
    (HERE / "fragmented-nfs.txt").write_text(tcpdump(nfs_cap, "-n"))
    (HERE / "fragmented-nfs.v.txt").write_text(tcpdump(nfs_cap, "-n", "-v"))
    snap_cap = HERE / "fragmented-auth-unanswered.snapped.pcap"  # 64 bytes a frame: `NONESP-encap:  [|isakmp]`
    snapped(snap_cap, FRAGMENTED, 64)
    (HERE / "fragmented-auth-unanswered.snapped.txt").write_text(tcpdump(snap_cap, "-n"))
    for cap in (any_cap, icmp_cap, refused_cap, silent_cap, nfs_cap, swapped_cap, snap_cap):
        cap.unlink()  # the texts are the test data; the captures are made again by this script


if __name__ == "__main__":
    main()
