"""Write small pcap/pcapng files in tests: frames built from the protocol layouts."""

from __future__ import annotations

import ipaddress
import struct

ETH = bytes.fromhex("00090f090001") + bytes.fromhex("00090f090002")


def ipv4(src: str, dst: str, proto: int, payload: bytes, ident: int = 1, frag: int = 0x4000) -> bytes:
    hdr = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(payload),
        ident,
        frag,
        64,
        proto,
        0,
        ipaddress.IPv4Address(src).packed,
        ipaddress.IPv4Address(dst).packed,
    )
    return hdr + payload


def ipv6(src: str, dst: str, nh: int, payload: bytes) -> bytes:
    return (
        struct.pack(
            "!IHBB16s16s",
            0x60000000,
            len(payload),
            nh,
            64,
            ipaddress.IPv6Address(src).packed,
            ipaddress.IPv6Address(dst).packed,
        )
        + payload
    )


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(icmp_type: int, code: int, quoted: bytes) -> bytes:
    """An ICMP (or ICMPv6) error: type, code, checksum left 0, 4 unused bytes, then the
    datagram it quotes (RFC 792, RFC 4443 §3.1)."""
    return struct.pack("!BBHI", icmp_type, code, 0, 0) + quoted


def tcp(sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 64240, 0, 0) + payload


def eth(l3: bytes, ethertype: int = 0x0800, vlans: tuple[int, ...] = ()) -> bytes:
    """Ethernet II; each VLAN tag is a TPID then a TCI, the real ethertype comes last."""
    tags = b"".join(struct.pack("!HH", tpid, 100 + i) for i, tpid in enumerate(vlans))
    return ETH + tags + struct.pack("!H", ethertype) + l3


def pcap(
    frames: list[tuple[float, bytes]],
    linktype: int = 1,
    nanos: bool = False,
    big: bool = False,
    snaplen: int = 65535,
) -> bytes:
    e = ">" if big else "<"
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)
    for ts, fr in frames:
        sec = int(ts)
        frac = round((ts - sec) * (1e9 if nanos else 1e6))
        out += struct.pack(e + "IIII", sec, frac, len(fr), len(fr)) + fr
    return out


def _opt(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _block(btype: int, body: bytes) -> bytes:
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def pcapng(
    ifaces: list[tuple[int, str, int | None]], packets: list[tuple[int, int, bytes, int | None]],
    fcslen: int | None = None, epb_comment: str | None = None,
) -> bytes:
    """ifaces: (linktype, name, tsresol byte or None); packets: (iface, ts units, frame, epb_flags or None);
    ``fcslen``: every interface's if_fcslen option (13), as given; ``epb_comment``: an
    opt_comment (1) before each packet's epb_flags."""
    out = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    for lt, name, res in ifaces:
        opts = _opt(2, name.encode())
        if res is not None:
            opts += _opt(9, bytes([res]))
        if fcslen is not None:
            opts += _opt(13, bytes([fcslen]))
        out += _block(1, struct.pack("<HHI", lt, 0, 0) + opts + b"\0\0\0\0")
    for ifid, ts, fr, flags in packets:
        opts = (_opt(2, struct.pack("<I", flags)) + b"\0\0\0\0") if flags is not None else b""
        if opts and epb_comment is not None:
            opts = _opt(1, epb_comment.encode()) + opts
        body = struct.pack("<IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF, len(fr), len(fr)) + fr
        body += b"\0" * (-len(fr) % 4) + opts
        out += _block(6, body)
    return out


def records(data: bytes) -> tuple[int, list[tuple[int, int, int, bytes]]]:
    """A classic little-endian pcap's link-type word and records: (seconds, fraction, original
    length, captured bytes) each, to write a variant of the same packets with :func:`pcap_records`."""
    linktype = struct.unpack_from("<I", data, 20)[0]
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack_from("<IIII", data, off)
        out.append((sec, frac, orig, data[off + 16 : off + 16 + incl]))
        off += 16 + incl
    return linktype, out


def pcap_records(linktype: int, recs: list[tuple[int, int, int, bytes]], nanos: bool = False) -> bytes:
    """A classic pcap of :func:`records`' tuples; an original length below the bytes is raised to them."""
    out = struct.pack("<IHHiIII", 0xA1B23C4D if nanos else 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)
    for sec, frac, orig, fr in recs:
        out += struct.pack("<IIII", sec, frac, len(fr), max(orig, len(fr))) + fr
    return out


def eth_split(frame: bytes) -> tuple[bytes, list[bytes], int, bytes]:
    """An Ethernet frame's MAC addresses, VLAN tags (TPID and TCI, 4 bytes each), ethertype and payload."""
    off, tags = 12, []
    while struct.unpack_from("!H", frame, off)[0] in (0x8100, 0x88A8, 0x9100):
        tags.append(frame[off : off + 4])
        off += 4
    return frame[:12], tags, struct.unpack_from("!H", frame, off)[0], frame[off + 2 :]
