"""Rebuild the seed story as a capture: samples/forticlient-udp-fallback-tcp-capture.pcap.

One Ethernet frame per sniffer line of the seed paste (forticlient-udp-fallback-tcp.paste.txt
beside this file), same addresses, ports, times (written as UTC: the sniffer's `l` clock has
no zone), UDP payload lengths and TCP sequence/acknowledgement numbers. What the sniffer
does not print is filled in, and nothing else is invented:

* UDP 4500 datagrams of 1 byte are NAT-T keepalives (0xFF, RFC 3948 §2.3); the other
  UDP 4500 datagrams become ESP-in-UDP (one SPI per direction, sequence numbers counting
  up, deterministic filler) — the sniffer cannot tell IKE from ESP there, and neither does
  this rebuild;
* the client's first TCP data segment is the 6-byte `IKETCP` prefix (RFC 8229 §3: its
  sequence number advances by exactly 6), the second is the 844-byte length-framed
  SA_INIT: a 2-byte length, the 4-byte non-ESP marker and an 838-byte IKEv2 IKE_SA_INIT
  whose first 48 bytes are the ones the debug line `ike 0: in 9702480B…` printed, the
  rest built to the lengths that header announces.

Usage: python tests/data/seed/make_seed_pcap.py samples/forticlient-udp-fallback-tcp-capture.pcap
Deterministic: the same input gives byte-identical output.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PASTE = HERE / "forticlient-udp-fallback-tcp.paste.txt"
LINE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(?P<us>\d{6}) (?P<iface>\S+) (?P<dir>in|out) "
    r"(?P<src>[\d.]+)\.(?P<sport>\d+) -> (?P<dst>[\d.]+)\.(?P<dport>\d+): (?P<body>.*?)\s*(?:<--.*|<<.*)?$"
)
MAC = {"10.55.3.193": bytes.fromhex("00090f090001"), "10.3.2.150": bytes.fromhex("00090f090002")}
# The first 48 bytes of the SA_INIT as the FortiGate's debug printed them (`ike 0: in ...`).
SA_INIT_HEAD = bytes.fromhex("9702480B582147C90000000000000000212022080000000000000346"
                             "2200019C02000044010100070300000803000002")


def filler(label: str, n: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{label}:{counter}".encode()).digest()
        counter += 1
    return out[:n]


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def transform(last: bool, ttype: int, tid: int, keylen: int | None = None) -> bytes:
    attr = struct.pack("!HH", 0x800E, keylen) if keylen else b""
    return struct.pack("!BBHBBH", 0 if last else 3, 0, 8 + len(attr), ttype, 0, tid) + attr


def sa_init() -> bytes:
    """An 838-byte IKE_SA_INIT whose header and SA payload length match the debug's bytes."""
    sa = _fit_sa()
    ke = struct.pack("!BBHHH", 40, 0, 8 + 256, 14, 0) + filler("ke", 256)
    nonce = struct.pack("!BBH", 41, 0, 4 + 32) + filler("nonce", 32)
    nat_src = struct.pack("!BBHBBH", 41, 0, 28, 0, 0, 16388) + filler("natd-src", 20)
    nat_dst = struct.pack("!BBHBBH", 43, 0, 28, 0, 0, 16389) + filler("natd-dst", 20)
    used = 28 + len(sa) + len(ke) + len(nonce) + len(nat_src) + len(nat_dst)
    vid = struct.pack("!BBH", 0, 0, 838 - used) + filler("vid", 838 - used - 4)
    header = SA_INIT_HEAD[:28]
    msg = header + sa + ke + nonce + nat_src + nat_dst + vid
    assert len(msg) == 838 and msg[:len(SA_INIT_HEAD)] == SA_INIT_HEAD, len(msg)
    return msg


def _fit_sa() -> bytes:
    """The SA payload: next payload KE (34), 412 bytes; proposal 1 starts as the debug shows
    (7 transforms: ENCR, PRF, INTEG, 4 DH groups), the last proposal takes what is left."""
    props = []
    # the debug shows proposal 1 as 68 bytes, 7 transforms, the first INTEG HMAC_SHA1_96 (id 2)
    first = [(3, 2, None), (1, 12, 128), (2, 2, None), (4, 14, None), (4, 15, None), (4, 19, None), (4, 20, None)]
    props.append(first)
    props.append([(1, 12, 256), (2, 5, None), (3, 12, None), (4, 14, None), (4, 15, None), (4, 19, None), (4, 20, None)])
    props.append([(1, 20, 128), (2, 5, None), (4, 14, None), (4, 19, None)])
    body_len = 412 - 4
    fixed = 0
    encoded = []
    for i, ts in enumerate(props, 1):
        body = b"".join(transform(j == len(ts) - 1, *t) for j, t in enumerate(ts))
        encoded.append((i, ts, body))
        fixed += 8 + len(body)
    # last proposal: AES-CBC-256 + PRF + integrity and DH choices (8 bytes each) until it fits
    remaining = body_len - fixed - 8
    last = [(1, 12, 256), (2, 7, None)]
    size = 12 + 8
    for t, g in [(3, i) for i in (12, 13, 14, 2)] + [(4, i) for i in (14, 15, 16, 17, 18, 19, 20, 21, 31, 5,
                                                                          2, 1, 22, 23, 24, 25, 26, 27, 28, 29, 30, 32)]:
        if size + 8 > remaining:
            break
        last.append((t, g, None))
        size += 8
    if size != remaining:
        raise SystemExit(f"cannot fit the SA payload: {size} != {remaining}")
    body = b"".join(transform(j == len(last) - 1, *t) for j, t in enumerate(last))
    encoded.append((len(props) + 1, last, body))
    out = b""
    for i, ts, body in encoded:
        out += struct.pack("!BBHBBBB", 0 if i == len(encoded) else 2, 0, 8 + len(body), i, 1, 0, len(ts)) + body
    return struct.pack("!BBH", 34, 0, 4 + len(out)) + out


def frame(src, dst, proto, l4: bytes, ident: int) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0x4000, 64, proto, 0,
                      bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return MAC[dst] + MAC[src] + b"\x08\x00" + hdr + l4


def build() -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    esp_seq = {"in": 0, "out": 0}
    esp_spi = {"in": bytes.fromhex("c3a5e101"), "out": bytes.fromhex("5a7f0b22")}
    init = sa_init()
    tcp_payloads = [b"IKETCP", struct.pack("!H", 2 + 4 + len(init)) + b"\0\0\0\0" + init]
    n = 0
    for raw in PASTE.read_text(encoding="utf-8").replace("\u00a0", " ").splitlines():
        m = LINE.match(raw.strip())
        if not m:
            continue
        n += 1
        g = m.groupdict()
        body = g["body"].strip()
        sport, dport = int(g["sport"]), int(g["dport"])
        if body.startswith("udp "):
            size = int(body.split()[1])
            if size == 1:
                payload = b"\xff"
            else:
                esp_seq[g["dir"]] += 1
                payload = esp_spi[g["dir"]] + struct.pack("!I", esp_seq[g["dir"]]) + filler(f"esp{n}", size - 8)
            l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
            proto = 17
        else:
            words = body.split()
            flags = {"syn": 0x02, "fin": 0x01, "rst": 0x04, "psh": 0x08}
            bits = sum(flags[w] for w in words if w in flags)
            nums = [w for w in words if w.isdigit()]
            seq = int(nums[0]) if words[0] != "ack" else 0
            ack = int(words[words.index("ack") + 1]) if "ack" in words else 0
            if "ack" in words:
                bits |= 0x10
            if words[0] == "ack":  # a bare ACK: FortiOS prints only the acknowledgement
                seq = {"10.3.2.150": 309505875, "10.55.3.193": 3060518286}[g["src"]]
            payload = tcp_payloads.pop(0) if "psh" in words else b""
            l4 = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, bits, 64240, 0, 0) + payload
            proto = 6
        fr = frame(g["src"], g["dst"], proto, l4, 0x1000 + n)
        sec = calendar.timegm(tuple(map(int, re.split(r"[- :]", g["ts"]))) + (0, 0, 0))
        out.append(struct.pack("<IIII", sec, int(g["us"]), len(fr), len(fr)) + fr)
    return b"".join(out)


if __name__ == "__main__":
    Path(sys.argv[1]).write_bytes(build())
