"""Hand-built IKE messages for tests (RFC 7296 / RFC 2408 layouts, written out byte by byte)."""

from __future__ import annotations

import struct


def chain(payloads: list[tuple[int, bytes]], last_next: int = 0) -> bytes:
    """[(type, body)] -> generic payload headers, each naming the next payload's type."""
    out = b""
    for i, (_t, body) in enumerate(payloads):
        nxt = payloads[i + 1][0] if i + 1 < len(payloads) else last_next
        out += struct.pack("!BBH", nxt, 0, 4 + len(body)) + body
    return out


def message(
    ispi: bytes, rspi: bytes, exch: int, flags: int, mid: int, payloads, version=0x20, last_next=0
) -> bytes:
    body = chain(payloads, last_next)
    first = payloads[0][0] if payloads else 0
    return struct.pack("!8s8sBBBBII", ispi, rspi, first, version, exch, flags, mid, 28 + len(body)) + body


def sa_v2(transforms: list[tuple[int, int, int | None]], proto: int = 1, num: int = 1) -> bytes:
    tb = b""
    for i, (ttype, tid, keylen) in enumerate(transforms):
        attr = struct.pack("!HH", 0x800E, keylen) if keylen else b""
        last = 0 if i == len(transforms) - 1 else 3
        tb += struct.pack("!BBHBBH", last, 0, 8 + len(attr), ttype, 0, tid) + attr
    return struct.pack("!BBHBBBB", 0, 0, 8 + len(tb), num, proto, 0, len(transforms)) + tb


def notify_v2(ntype: int, data: bytes = b"") -> bytes:
    return struct.pack("!BBH", 0, 0, ntype) + data


def sa_v1(attrs: list[tuple[int, int]]) -> bytes:
    ab = b"".join(struct.pack("!HH", 0x8000 | t, v) for t, v in attrs)
    t = struct.pack("!BBHBBH", 0, 0, 8 + len(ab), 1, 1, 0) + ab  # transform 1, KEY_IKE
    p = struct.pack("!BBHBBBB", 0, 0, 8 + len(t), 1, 1, 0, 1) + t  # proposal 1, ISAKMP
    return struct.pack("!II", 1, 1) + p  # DOI IPsec, SIT_IDENTITY_ONLY
