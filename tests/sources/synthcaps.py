"""Synthetic captures in tests/data/pcap (``synth_*``): forms that real firewalls and hosts write
and that the public captures lack, built from the protocol layouts so that tshark can judge them
(the tshark-oracle tests in test_pcap.py read every capture in that folder).

``python -m tests.sources.synthcaps`` writes them; test_pcap.py checks that the files are
exactly what this module builds.
"""

from __future__ import annotations

import struct
from pathlib import Path

from tests.sources import pcapbuild as pb
from tests.wire.ikebuild import message, notify_v2, sa_v2

OUT = Path(__file__).resolve().parent.parent / "data" / "pcap"
CL, GW = "10.3.2.7", "10.55.3.193"
ISPI, RSPI = bytes.fromhex("5a5a000011112222"), bytes.fromhex("3c3c444455556666")
T0 = 1772148000.0


def sa_init(resp: bool = False) -> bytes:
    return message(ISPI, RSPI if resp else bytes(8), 34, 0x20 if resp else 0x08, 0, [
        (33, sa_v2([(1, 12, 256), (2, 5, None), (3, 12, None), (4, 14, None)])),
        (34, struct.pack("!HH", 14, 0) + bytes(64)),
        (40, bytes(32)),
        (41, notify_v2(16388, bytes(20))),  # NAT_DETECTION_SOURCE_IP
    ])


def ike_auth(size: int, resp: bool = False, mid: int = 1) -> bytes:
    """An IKE_AUTH of one SK payload (IV, ciphertext, ICV as opaque bytes) of ``size`` bytes."""
    body = (bytes(range(256)) * (size // 256 + 1))[:size]
    return message(ISPI, RSPI, 35, 0x20 if resp else 0x08, mid, [(46, body)], last_next=35)


def esp(spi: int, seq: int, n: int = 48) -> bytes:
    return struct.pack("!II", spi, seq) + bytes(n)


def _zero_total_length(ip: bytes) -> bytes:
    return ip[:2] + b"\0\0" + ip[4:]


def offload_udp() -> bytes:
    """IPv4 total length 0, as a host with segmentation offload captures its own packets: IKE on
    500 and 4500, ESP-in-UDP, a NAT keepalive and plain ESP, each whole in the frame."""
    u = pb.udp
    packets = [
        pb.ipv4(CL, GW, 17, u(500, 500, sa_init())),
        pb.ipv4(CL, GW, 17, u(4500, 4500, b"\0\0\0\0" + ike_auth(300))),
        pb.ipv4(CL, GW, 17, u(4500, 4500, esp(0xC0DE0015, 2))),
        pb.ipv4(CL, GW, 17, u(4500, 4500, b"\xff")),
        pb.ipv4(CL, GW, 50, esp(0xC0DE0016, 3)),
    ]
    frames = [pb.eth(_zero_total_length(p)) for p in packets]
    return pb.pcap([(T0 + i / 100, f) for i, f in enumerate(frames)])


def snaplen_cut() -> bytes:
    """A capture with a short snapshot length, as taken to count ESP: each frame is cut where
    the snapshot length falls, some inside the ESP header (after the SPI) or the IKE message."""
    u = pb.udp
    snap = 96
    frames = [
        (pb.eth(pb.ipv4(CL, GW, 17, u(500, 500, sa_init()))), snap),
        (pb.eth(pb.ipv4(CL, GW, 17, u(4500, 4500, esp(0xC0DE0021, 7)))), 14 + 20 + 8 + 6),
        (pb.eth(pb.ipv4(CL, GW, 50, esp(0xC0DE0022, 8))), 14 + 20 + 6),
        (pb.eth(pb.ipv4(GW, CL, 17, u(4500, 4500, esp(0xC0DE0023, 9, 1400)))), snap),
        (pb.eth(pb.ipv4(GW, CL, 17, u(4500, 4500, b"\xff"))), snap),
        (pb.eth(pb.ipv4(GW, CL, 17, u(4500, 4500, b"\0\0\0\0" + ike_auth(900, resp=True)))), snap),
        (pb.eth(pb.ipv4(CL, GW, 50, esp(0xC0DE0022, 10))), 14 + 20 + 6),
    ]
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snap, 1)
    for i, (frame, cut) in enumerate(frames):
        kept = frame[:cut]
        out += struct.pack("<IIII", int(T0) + i, 0, len(kept), len(frame)) + kept
    return out


def _ng_block(e: str, btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack(e + "II", btype, 12 + len(body)) + body + struct.pack(e + "I", 12 + len(body))


def _ng_opt(e: str, code: int, value: bytes) -> bytes:
    return struct.pack(e + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def ng_section(e: str, ifaces: list[tuple[int, str, bytes]], packets: list[tuple]) -> bytes:
    """One pcapng section in byte order ``e``. ifaces: (link type, name, more IDB options);
    packets: ("epb", interface, timestamp units, frame, epb_flags or None) or ("spb", frame)."""
    out = _ng_block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    for linktype, name, options in ifaces:
        opts = _ng_opt(e, 2, name.encode()) + options + b"\0" * 4
        out += _ng_block(e, 1, struct.pack(e + "HHI", linktype, 0, 262144) + opts)
    for kind, *rest in packets:
        if kind == "spb":
            (frame,) = rest
            out += _ng_block(e, 3, struct.pack(e + "I", len(frame)) + frame)
            continue
        ifid, ts, frame, flags = rest
        body = struct.pack(e + "IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame))
        body += frame + b"\0" * (-len(frame) % 4)
        if flags is not None:
            body += _ng_opt(e, 2, struct.pack(e + "I", flags)) + b"\0" * 4
        out += _ng_block(e, 6, body)
    return out


def _sll(l3: bytes, pkttype: int = 0) -> bytes:
    return struct.pack("!HHH8sH", pkttype, 1, 6, bytes(8), 0x0800) + l3


def _sll2(l3: bytes, pkttype: int = 0) -> bytes:
    return struct.pack("!HHIHBB8s", 0x0800, 0, 3, 1, pkttype, 6, bytes(8)) + l3


def sections() -> bytes:
    """A little-endian section then a big-endian one (pcapng lets each section have its own
    byte order), interfaces of several link types and timestamp resolutions, epb_flags."""
    u = pb.udp
    init, resp = pb.ipv4(CL, GW, 17, u(500, 500, sa_init())), pb.ipv4(GW, CL, 17, u(500, 500, sa_init(True)))
    keepalive = pb.ipv4(CL, GW, 17, u(4500, 4500, b"\xff"))
    auth = pb.ipv4(GW, CL, 17, u(4500, 4500, b"\0\0\0\0" + ike_auth(200, resp=True)))
    sec = int(T0)
    first = ng_section("<", [
        (1, "port1", b""),  # microseconds
        (101, "wan1", _ng_opt("<", 9, bytes([9]))),  # nanoseconds
        (113, "any", _ng_opt("<", 9, bytes([0x80 | 20]))),  # 2^-20 s
        (276, "any2", _ng_opt("<", 9, bytes([3]))),  # milliseconds
    ], [
        ("epb", 0, sec * 10**6 + 1, pb.eth(init), 2),
        ("epb", 1, sec * 10**9 + 2_000_000, resp, 1),
        ("epb", 2, (sec << 20) + (1 << 15), _sll(keepalive, pkttype=4), None),
        ("epb", 3, sec * 1000 + 40, _sll2(pb.ipv4(CL, GW, 50, esp(0xC0DE0031, 1))), 2),
        ("epb", 0, sec * 10**6 + 50_000, pb.eth(pb.ipv4(CL, GW, 17, u(4500, 4500, esp(0xC0DE0032, 5)))), 2),
        ("epb", 2, (sec << 20) + (1 << 19), _sll(auth), None),
    ])
    second = ng_section(">", [
        (1, "port9", _ng_opt(">", 9, bytes([6]))),
        (229, "raw6", _ng_opt(">", 9, bytes([9]))),
    ], [
        ("epb", 0, sec * 10**6 + 600_000, pb.eth(init), 2),
        ("epb", 1, sec * 10**9 + 700_000_000,
         pb.ipv6("2001:db8::7", "2001:db8:55::1", 17, u(500, 500, sa_init())), 2),
        ("epb", 0, sec * 10**6 + 800_000, pb.eth(resp), 1),
    ])
    return first + second


def clockless() -> bytes:
    """Timestamps counted from an interface's if_tsoffset (a device counting from its boot
    time, as pcapng allows), and simple packet blocks, which carry no timestamp at all."""
    u = pb.udp
    boot = int(T0) - 3600
    ifaces = [(1, "eth0", _ng_opt("<", 14, struct.pack("<q", boot)))]  # microseconds since boot
    packets = [
        ("spb", pb.eth(pb.ipv4(CL, GW, 50, esp(0xC0DE0041, 1)))),
        ("epb", 0, 3600 * 10**6, pb.eth(pb.ipv4(CL, GW, 17, u(500, 500, sa_init()))), 2),
        ("epb", 0, 3600 * 10**6 + 20_000, pb.eth(pb.ipv4(GW, CL, 17, u(500, 500, sa_init(True)))), 1),
        ("spb", pb.eth(pb.ipv4(CL, GW, 50, esp(0xC0DE0041, 2)))),
        ("epb", 0, 3601 * 10**6, pb.eth(pb.ipv4(GW, CL, 50, esp(0xC0DE0042, 1))), 1),
    ]
    return ng_section("<", ifaces, packets)


def fcs_linktype() -> bytes:
    """A pcap whose header says, above the link type (Ethernet), that every frame ends with a
    4-byte FCS (the F bit, FCS length 2 in 16-bit words), as some capture hardware writes."""
    u = pb.udp
    packets = [
        pb.ipv4(CL, GW, 17, u(500, 500, sa_init())),
        pb.ipv4(GW, CL, 17, u(500, 500, sa_init(True))),
        pb.ipv4(CL, GW, 17, u(4500, 4500, b"\xff")),
        pb.ipv4(CL, GW, 17, u(4500, 4500, esp(0xC0DE0051, 1))),
        pb.ipv4(GW, CL, 50, esp(0xC0DE0052, 1)),
    ]
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1 | 0x04000000 | 2 << 28)
    for i, ip in enumerate(packets):
        frame = pb.eth(ip) + struct.pack("<I", 0x5EED0000 + i)  # the FCS (not checked by readers)
        out += struct.pack("<IIII", int(T0), i * 1000, len(frame), len(frame)) + frame
    return out


def vlan_stacks() -> bytes:
    """IPsec under one, two, three and four stacked VLAN tags (802.1Q; 802.1ad QinQ; a
    provider's stack over a customer's)."""
    u = pb.udp
    packets = [
        pb.ipv4(CL, GW, 17, u(500, 500, sa_init())),
        pb.ipv4(CL, GW, 17, u(4500, 4500, b"\xff")),
        pb.ipv4(CL, GW, 50, esp(0xC0DE0061, 1)),
        pb.ipv4(CL, GW, 17, u(4500, 4500, esp(0xC0DE0062, 1))),
        pb.ipv4(GW, CL, 17, u(4500, 4500, b"\0\0\0\0" + ike_auth(200, resp=True))),
        pb.ipv6("2001:db8::7", "2001:db8:55::1", 50, esp(0xC0DE0063, 1)),
    ]
    stacks = [(0x8100,), (0x88A8, 0x8100), (0x88A8, 0x8100, 0x8100), (0x9100, 0x88A8, 0x8100, 0x8100)]
    frames = [pb.eth(ip, 0x86DD if ip[0] >> 4 == 6 else 0x0800, vlans=tags) for tags in stacks for ip in packets]
    return pb.pcap([(T0 + i / 100, f) for i, f in enumerate(frames)])


def _pppoe(ip: bytes, ppp: int = 0x0021) -> bytes:
    """A PPPoE session header (RFC 2516 §4: version/type 0x11, code 0, session, length) and the
    PPP protocol number."""
    return struct.pack("!BBHHH", 0x11, 0, 0x2A17, len(ip) + 2, ppp) + ip


def pppoe() -> bytes:
    """IPsec on a PPPoE link (a DSL firewall's WAN), seen from the Ethernet side, under a VLAN
    tag, and by Linux cooked captures v1 and v2; LCP and discovery frames are other traffic."""
    u = pb.udp
    v4 = [
        pb.ipv4(CL, GW, 17, u(500, 500, sa_init())),
        pb.ipv4(GW, CL, 17, u(500, 500, sa_init(True))),
        pb.ipv4(CL, GW, 17, u(4500, 4500, b"\xff")),
        pb.ipv4(CL, GW, 50, esp(0xC0DE0071, 1)),
        pb.ipv4(CL, GW, 17, u(4500, 4500, esp(0xC0DE0072, 1))),
        pb.ipv4(GW, CL, 17, u(4500, 4500, b"\0\0\0\0" + ike_auth(200, resp=True))),
    ]
    v6 = pb.ipv6("2001:db8::7", "2001:db8:55::1", 50, esp(0xC0DE0073, 1))
    eth = [pb.ETH + struct.pack("!H", 0x8864) + _pppoe(ip) for ip in v4]
    eth.append(pb.ETH + struct.pack("!H", 0x8864) + _pppoe(v6, 0x0057))
    eth.append(pb.ETH + struct.pack("!HHH", 0x8100, 7, 0x8864) + _pppoe(v4[3]))
    eth.append(pb.ETH + struct.pack("!H", 0x8864) + _pppoe(bytes.fromhex("090100082a2a2a2a"), 0xC021))  # LCP echo
    eth.append(pb.ETH + struct.pack("!H", 0x8863) + struct.pack("!BBHH", 0x11, 0x09, 0, 0))  # PADI
    sll = struct.pack("!HHH8sH", 4, 1, 6, bytes(8), 0x8864) + _pppoe(v4[4])
    sll2 = struct.pack("!HHIHBB8s", 0x8864, 0, 3, 1, 4, 6, bytes(8)) + _pppoe(v4[5])
    sec = int(T0) * 10**6
    packets = [("epb", 0, sec + i * 1000, f, None) for i, f in enumerate(eth)]
    packets += [("epb", 1, sec + 20_000, sll, None), ("epb", 2, sec + 21_000, sll2, None)]
    return ng_section("<", [(1, "wan1", b""), (113, "any", b""), (276, "any", b"")], packets)


def snaplen68() -> bytes:
    """tcpdump's old default snapshot length, 68 bytes: 26 bytes of IKE on UDP 500 (the header
    but its length), 22 on 4500 after the non-ESP marker (no message ID). A client's SA_INIT
    sent four times unanswered; an exchange of another IKE SA on 4500, ESP and a keepalive."""
    u = pb.udp
    packets = [pb.ipv4(CL, GW, 17, u(500, 500, sa_init()), ident=i) for i in range(4)]
    other_sa = bytes.fromhex("7e7e000077778888") + bytes.fromhex("1d1d0000aaaabbbb")  # another IKE SA's SPIs
    packets += [
        pb.ipv4(CL, GW, 17, u(4500, 4500, b"\0\0\0\0" + other_sa + ike_auth(300, mid=4)[16:])),
        pb.ipv4(GW, CL, 17, u(4500, 4500, b"\0\0\0\0" + other_sa + ike_auth(200, resp=True, mid=4)[16:])),
        pb.ipv4(CL, GW, 17, u(4500, 4500, esp(0xC0DE00B1, 1))),
        pb.ipv4(CL, GW, 17, u(4500, 4500, b"\xff")),
    ]
    times = [0, 1, 3, 7, 20, 20.1, 21, 30]
    out = bytearray(pb.pcap([], snaplen=68))
    for t, ip in zip(times, packets):
        frame = pb.eth(ip)
        out += struct.pack("<IIII", int(T0 + t), round((T0 + t) % 1 * 1e6), min(68, len(frame)), len(frame))
        out += frame[:68]
    return bytes(out)


def _ipsec_packets(spi: int) -> list[bytes]:
    """IKE both ways on 500, a NAT keepalive, ESP, ESP-in-UDP, an IKE_AUTH answer on 4500 and
    ESP over IPv6: the packets each link type or tunnel below carries."""
    u = pb.udp
    return [
        pb.ipv4(CL, GW, 17, u(500, 500, sa_init())),
        pb.ipv4(GW, CL, 17, u(500, 500, sa_init(True))),
        pb.ipv4(CL, GW, 17, u(4500, 4500, b"\xff")),
        pb.ipv4(CL, GW, 50, esp(spi, 1)),
        pb.ipv4(CL, GW, 17, u(4500, 4500, esp(spi + 1, 1))),
        pb.ipv4(GW, CL, 17, u(4500, 4500, b"\0\0\0\0" + ike_auth(200, resp=True))),
        pb.ipv6("2001:db8::7", "2001:db8:55::1", 50, esp(spi + 2, 1)),
    ]


def _version_type(ip: bytes) -> int:
    return 0x86DD if ip[0] >> 4 == 6 else 0x0800


def _wlan(ip: bytes, qos: bool, protected: bool = False) -> bytes:
    """An 802.11 data frame to the AP (QoS data or plain data), LLC/SNAP, the packet."""
    fc0 = 0x88 if qos else 0x08
    fc1 = 0x01 | (0x40 if protected else 0)
    hdr = struct.pack("<BBH", fc0, fc1, 0x2C) + bytes.fromhex("00090f090001" "0013e8aabbcc" "00090f090001")
    hdr += struct.pack("<H", 0x10) + (struct.pack("<H", 0) if qos else b"")
    return hdr + bytes.fromhex("aaaa03000000") + struct.pack("!H", _version_type(ip)) + ip


def _nflog(ip: bytes, e: str = "<") -> bytes:
    """NFLOG (Linux `tcpdump -i nflog:N`): family, version, group; TLVs in the host's byte
    order (``e``): the packet header, a prefix, then the payload."""
    def tlv(kind: int, value: bytes) -> bytes:
        return struct.pack(e + "HH", 4 + len(value), kind) + value + bytes(-len(value) % 4)
    family = 10 if ip[0] >> 4 == 6 else 2
    return (struct.pack("!BBH", family, 0, 5) + tlv(1, struct.pack("!HBB", _version_type(ip), 3, 0))
            + tlv(10, b"ipsec\0") + tlv(9, ip))


def _pflog(ip: bytes) -> bytes:
    """OpenBSD pflog: a 61-byte header padded to 64 (length, family, action, reason, interface,
    ruleset, rule numbers, ids, direction)."""
    family = 24 if ip[0] >> 4 == 6 else 2
    hdr = struct.pack("!BBBB16s16sIIIiIiB3s", 61, family, 0, 0, b"em0", b"", 1, 0xFFFFFFFF, 0, 0, 0, 0, 1, b"")
    return hdr[:61] + bytes(3) + ip


def link_types() -> bytes:
    """The same IPsec packets on link types the public captures lack: Cisco HDLC (a router's
    serial WAN), PPP with and without HDLC address/control, PPP in HDLC framing, PPPoE without
    Ethernet, 802.11 QoS and plain data frames (a laptop's Wi-Fi) bare and under radiotap,
    NFLOG and pflog (host firewalls' logs), OpenBSD enc(4); a protected 802.11 frame and an
    802.11 beacon are other traffic. A second, big-endian section holds NFLOG from a big-endian
    host (its TLVs in that order)."""
    ips = _ipsec_packets(0xC0DE0081)
    v4 = ips[:6]
    links = [
        (104, "serial0", [struct.pack("!BBH", 0x0F, 0x00, _version_type(ip)) + ip for ip in ips]),
        (9, "ppp0", [bytes.fromhex("ff03") + struct.pack("!H", 0x21) + ip for ip in v4]
         + [struct.pack("!H", 0x57) + ips[6]]),
        (50, "ppp1", [bytes.fromhex("ff03") + struct.pack("!H", 0x21) + ip for ip in v4[:2]]),
        (51, "pppoe0", [_pppoe(ip) for ip in v4[2:4]]),
        (105, "wlan0", [_wlan(ip, qos=True) for ip in ips] + [_wlan(v4[0], qos=False), _wlan(v4[3], True, True),
                        bytes.fromhex("80000000ffffffffffff0013e8aabbcc0013e8aabbcc1000") + bytes(12)]),
        (127, "wlan0mon", [struct.pack("<BBHI", 0, 0, 8, 0) + _wlan(ip, qos=True) for ip in v4[:3]]),
        (239, "nflog:5", [_nflog(ip) for ip in ips]),
        (117, "pflog0", [_pflog(ip) for ip in (v4[0], v4[3], ips[6])]),
        (109, "enc0", [struct.pack("<III", 2, 0xC0DE0081, 0) + ip for ip in v4[3:5]]),
    ]
    sec = int(T0) * 10**6
    packets = [("epb", k, sec + 1000 * (100 * k + i), f, None)
               for k, (_lt, _name, frames) in enumerate(links) for i, f in enumerate(frames)]
    big = [("epb", 0, sec + 2_000_000 + 1000 * i, _nflog(ip, ">"), None) for i, ip in enumerate(ips)]
    return ng_section("<", [(lt, name, b"") for lt, name, _f in links], packets) + ng_section(
        ">", [(239, "nflog:6", b"")], big)


def _gre(proto: int, inner: bytes, key: int | None = None, seq: int | None = None) -> bytes:
    flags = (0x2000 if key is not None else 0) | (0x1000 if seq is not None else 0)
    return (struct.pack("!HH", flags, proto) + (struct.pack("!I", key) if key is not None else b"")
            + (struct.pack("!I", seq) if seq is not None else b"") + inner)


def _gre_routed(proto: int, inner: bytes) -> bytes:
    """RFC 1701 GRE with the routing bit: checksum and offset word, one IP source route entry
    (family, offset, length, two addresses), the null entry, then the packet."""
    sre = struct.pack("!HBB", 0x0800, 0, 8) + bytes([192, 0, 2, 1, 192, 0, 2, 2])
    return struct.pack("!HHHH", 0x4000, proto, 0, 0) + sre + struct.pack("!HBB", 0, 0, 0) + inner


def tunnels() -> bytes:
    """IPsec packets seen inside tunnels, as mirrors, carriers and site links deliver them:
    MPLS (one and two labels), GRE with IPv4 and with IPv6 inside (key and sequence number),
    Ethernet over GRE, ERSPAN type II and III (a switch's remote port mirror), IP-in-IP and
    IPv6-in-IPv4, VXLAN and Geneve (a cloud traffic mirror; Geneve with an option), VXLAN
    inside GRE, PPPoE inside VXLAN (a mirrored DSL uplink), GRE with RFC 1701 routing entries.
    Other traffic: DNS inside VXLAN, PPTP's enhanced GRE, MPLS with a label stack
    that never ends within the frame."""
    ips = _ipsec_packets(0xC0DE0091)
    mirror_a, mirror_b = "192.0.2.10", "192.0.2.20"
    u = pb.udp

    def outer(proto: int, body: bytes) -> bytes:
        return pb.eth(pb.ipv4(mirror_a, mirror_b, proto, body))

    def mpls(labels: list[int], ip: bytes) -> bytes:
        stack = b"".join(struct.pack("!I", (lab << 12) | (1 << 8 if k == len(labels) - 1 else 0) | 64)
                         for k, lab in enumerate(labels))
        return pb.eth(stack + ip, 0x8847)

    def erspan2(frame: bytes, seq: int) -> bytes:
        return _gre(0x88BE, struct.pack("!HHI", 0x1000 | 100, 0x0000 | 7, 0) + frame, seq=seq)

    def erspan3(frame: bytes, seq: int, platform: bool) -> bytes:
        hdr = struct.pack("!HHIHH", 0x2000 | 100, 7, 0x12345678, 0, 1 if platform else 0)
        return _gre(0x22EB, hdr + (struct.pack("!II", 0x00010000, 42) if platform else b"") + frame, seq=seq)

    def vxlan(frame: bytes) -> bytes:
        return u(49152, 4789, struct.pack("!II", 0x08000000, 5001 << 8) + frame)

    def geneve(frame: bytes) -> bytes:
        option = struct.pack("!HBB", 0x0104, 0x01, 1) + struct.pack("!I", 77)  # class, type, length 1 word
        return u(49153, 6081, struct.pack("!BBHI", len(option) // 4, 0, 0x6558, 7 << 8) + option + frame)

    def eth_of(ip: bytes) -> bytes:
        return pb.eth(ip, _version_type(ip))

    frames = [mpls([16001], ip) for ip in ips[:4]]
    frames += [mpls([16001, 24005], ip) for ip in ips[4:]]
    frames += [outer(47, _gre(_version_type(ip), ip)) for ip in ips[:3]]
    frames += [outer(47, _gre(_version_type(ip), ip, key=9, seq=i)) for i, ip in enumerate(ips[3:])]
    frames += [outer(47, _gre(0x6558, eth_of(ip))) for ip in ips[:2]]
    frames += [outer(47, erspan2(eth_of(ip), i)) for i, ip in enumerate(ips)]
    frames += [outer(47, erspan3(eth_of(ip), i, platform=i % 2 == 1)) for i, ip in enumerate(ips[:4])]
    frames += [outer(4, ip) for ip in ips[:6]] + [outer(41, ips[6])]
    frames += [outer(17, vxlan(eth_of(ip))) for ip in ips]
    frames += [outer(17, geneve(eth_of(ip))) for ip in ips]
    frames += [outer(47, _gre(0x0800, pb.ipv4(mirror_b, mirror_a, 17, vxlan(eth_of(ips[3])))))]
    frames += [outer(17, vxlan(pb.ETH + struct.pack("!H", 0x8864) + _pppoe(ip))) for ip in ips[2:4]]
    frames += [outer(47, _gre_routed(_version_type(ip), ip)) for ip in ips[:2]]
    dns = pb.ipv4(CL, "10.0.0.53", 17, u(53000, 53, bytes.fromhex("abcd01000001000000000000") + b"\x03www\0\0\1\0\1"))
    frames += [outer(17, vxlan(eth_of(dns))),
               outer(47, struct.pack("!HHHH", 0x3001, 0x880B, 4, 7) + struct.pack("!I", 1) + bytes(4)),
               pb.eth(b"".join(struct.pack("!I", (100 + k) << 12 | 64) for k in range(9)) + ips[0], 0x8847)]
    return pb.pcap([(T0 + i / 100, f) for i, f in enumerate(frames)])


def _fragments(src: str, dst: str, proto: int, body: bytes, size: int, ident: int) -> list[bytes]:
    """``body`` sent from ``src`` as IPv4 fragments of ``size`` bytes (a multiple of 8)."""
    return [pb.ipv4(src, dst, proto, body[at : at + size], ident, (0x2000 if at + size < len(body) else 0) | at // 8)
            for at in range(0, len(body), size)]


def _fragments6(src: str, dst: str, nh: int, body: bytes, size: int, ident: int) -> list[bytes]:
    """The same over IPv6: a fragment header (RFC 8200 §4.5) in each piece."""
    return [pb.ipv6(src, dst, 44, struct.pack("!BBHI", nh, 0, at | (1 if at + size < len(body) else 0), ident)
                    + body[at : at + size]) for at in range(0, len(body), size)]


def tunnel_fragments() -> bytes:
    """Tunnel packets fragmented on the outer IP (a mirror adds its header to a full-size frame,
    the path's MTU splits it): GRE with an IKE_AUTH inside, VXLAN with a full-size ESP-in-UDP
    packet, IP-in-IP with an IKE_AUTH whose fragments arrive in reverse order, and GRE over
    IPv6 with ESP. The events are the inner packets', after reassembly."""
    mirror_a, mirror_b = "192.0.2.10", "192.0.2.20"
    u = pb.udp
    auth = pb.ipv4(CL, GW, 17, u(4500, 4500, b"\0\0\0\0" + ike_auth(1380)))
    big_esp = pb.ipv4(CL, GW, 17, u(4500, 4500, esp(0xC0DE00B1, 7, 1400)))
    auth_r = pb.ipv4(GW, CL, 17, u(4500, 4500, b"\0\0\0\0" + ike_auth(1200, resp=True)))
    esp6 = pb.ipv4(CL, GW, 50, esp(0xC0DE00B2, 9, 1420))
    vx = u(49152, 4789, struct.pack("!II", 0x08000000, 5001 << 8) + pb.eth(big_esp))
    frames = [pb.eth(f) for f in _fragments(mirror_a, mirror_b, 47, _gre(0x0800, auth), 1184, 0x1001)]
    frames += [pb.eth(f) for f in _fragments(mirror_a, mirror_b, 17, vx, 1024, 0x1002)]
    frames += [pb.eth(f) for f in reversed(_fragments(mirror_b, mirror_a, 4, auth_r, 512, 0x1003))]
    frames += [pb.eth(f, 0x86DD) for f in _fragments6("2001:db8::10", "2001:db8::20", 47, _gre(0x0800, esp6), 1232, 0x1004)]
    return pb.pcap([(T0 + i / 100, f) for i, f in enumerate(frames)])


CAPTURES = {
    "synth_offload_udp.pcap": offload_udp,
    "synth_snaplen.pcap": snaplen_cut,
    "synth_sections.pcapng": sections,
    "synth_clockless.pcapng": clockless,
    "synth_fcs_linktype.pcap": fcs_linktype,
    "synth_vlan_stacks.pcap": vlan_stacks,
    "synth_pppoe.pcapng": pppoe,
    "synth_link_types.pcapng": link_types,
    "synth_tunnels.pcap": tunnels,
    "synth_snaplen68.pcap": snaplen68,
    "synth_tunnel_fragments.pcap": tunnel_fragments,
}


def build() -> dict[str, bytes]:
    return {name: make() for name, make in CAPTURES.items()}


if __name__ == "__main__":
    for name, data in build().items():
        (OUT / name).write_bytes(data)
        print(OUT / name)
