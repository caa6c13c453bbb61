"""Write frames as pcapng (one interface block per FortiGate interface) or classic pcap.

The writer takes whole columns (:class:`Frames`) and never needs a packet library:
pcapng is a handful of fixed block layouts (https://www.ietf.org/archive/id/
draft-ietf-opsawg-pcapng-02.html). Interface names go into `if_name`, directions into
`epb_flags` (inbound/outbound), per-frame damage notes into `opt_comment`, and a note on
how the times were anchored into the section header's comment. This is what the capture
reader (:mod:`ikeanalyze.sources.pcap`) turns back into `iface` and `direction`.

Classic pcap has one link type for the whole file: frames of one link type are written
as they are; a mix (an `any` capture with Ethernet ports and IPsec tunnel interfaces) is
written as Linux cooked capture (SLL), which keeps each frame's direction (packet type)
and protocol but no interface names.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

# Link-layer header types (https://www.tcpdump.org/linktypes.html)
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101  # raw IPv4/IPv6: the version nibble says which
LINKTYPE_LINUX_SLL = 113  # Linux cooked capture: carries the protocol (ARP) without MACs

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD

# pcapng block types and options
SHB, IDB, EPB = 0x0A0D0D0A, 0x00000001, 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_END, OPT_COMMENT = 0, 1
IF_NAME, IF_DESCRIPTION, IF_TSRESOL = 2, 3, 9
SHB_USERAPPL = 4
EPB_FLAGS = 2
EPB_INBOUND, EPB_OUTBOUND = 1, 2
SNAPLEN = 262144  # FortiOS `pcap_snapshot: snaplen raised from 0 to 262144`

# Linux cooked capture packet types (packet(7)) and ARPHRD types (if_arp.h)
SLL_HOST, SLL_OUTGOING = 0, 4
ARPHRD_ETHER, ARPHRD_NONE = 1, 0xFFFE

DIRECTION_FLAGS = {"in": EPB_INBOUND, "out": EPB_OUTBOUND}


@dataclass
class Frames:
    """Frames as columns: ``data[offsets[i]:offsets[i+1]]`` is frame ``i``."""

    data: bytes
    offsets: np.ndarray  # int64, n + 1 entries
    ts_us: np.ndarray  # int64 microseconds since the Unix epoch
    linktype: np.ndarray  # int64 per frame
    iface: list[str | None]  # FortiGate interface name, None when the text has none
    direction: list[str | None]  # in | out | None
    orig_len: np.ndarray | None = None  # length on the wire (a short dump captured less)
    comment: list[str | None] = field(default_factory=list)  # per-frame note (damage, source line)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def take(self, idx: np.ndarray) -> Frames:
        """The frames at positions ``idx``, in that order."""
        offs = self.offsets
        lens = (offs[1:] - offs[:-1])[idx]
        data, o = self.data, offs.tolist()
        return Frames(
            data=b"".join([data[o[i] : o[i + 1]] for i in idx.tolist()]),
            offsets=np.concatenate(([0], np.cumsum(lens))).astype(np.int64),
            ts_us=self.ts_us[idx],
            linktype=self.linktype[idx],
            iface=[self.iface[i] for i in idx],
            direction=[self.direction[i] for i in idx],
            orig_len=(self.orig_len if self.orig_len is not None else offs[1:] - offs[:-1])[idx],
            comment=[self.comment[i] for i in idx] if self.comment else [],
        )


def concat(parts: list[Frames]) -> Frames:
    """Frames of several tables, in order."""
    parts = [p for p in parts if len(p)] or parts[:1]
    if len(parts) == 1:
        return parts[0]
    offs, base = [], 0
    for p in parts:
        offs.append(p.offsets[:-1] + base)
        base += int(p.offsets[-1])
    return Frames(
        data=b"".join(p.data for p in parts),
        offsets=np.concatenate(offs + [np.array([base], np.int64)]),
        ts_us=np.concatenate([p.ts_us for p in parts]),
        linktype=np.concatenate([p.linktype for p in parts]),
        iface=[x for p in parts for x in p.iface],
        direction=[x for p in parts for x in p.direction],
        orig_len=np.concatenate([p.orig_len if p.orig_len is not None else np.diff(p.offsets) for p in parts]),
        comment=[x for p in parts for x in (p.comment or [None] * len(p))],
    )


def _opt(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _block(btype: int, body: bytes) -> bytes:
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def pcapng(frames: Frames, comment: str | None = None, app: str = "ikeanalyze") -> bytes:
    """The frames as one pcapng section; interfaces are (name, link type) pairs in order of
    first use, so a tunnel interface dumped without a link layer gets its own raw-IP block."""
    opts = _opt(SHB_USERAPPL, app.encode())
    if comment:
        opts += _opt(OPT_COMMENT, comment.encode())
    out = [_block(SHB, struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + opts + _opt(OPT_END, b""))]
    n = len(frames)
    keys = list(zip(frames.iface, frames.linktype.tolist()))
    ifids = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    out.extend(_idb(k) for k in ifids)
    head = b"".join(out)
    if not n:
        return head
    offs = frames.offsets
    cap = np.diff(offs)
    orig = np.maximum(frames.orig_len if frames.orig_len is not None else cap, cap)
    flags = np.array([DIRECTION_FLAGS.get(d, 0) for d in frames.direction], np.int64)
    comments = [c.encode() if c else b"" for c in (frames.comment or [None] * n)]
    clen = np.array([len(c) for c in comments], np.int64)
    has_opt = (flags > 0) | (clen > 0)
    optlen = np.where(flags > 0, 8, 0) + np.where(clen > 0, 4 + clen + (-clen % 4), 0) + np.where(has_opt, 4, 0)
    total = 28 + cap + (-cap % 4) + optlen + 4
    start = len(head) + np.concatenate(([0], np.cumsum(total)[:-1]))
    buf = bytearray(len(head) + int(total.sum()))  # zeros: padding and the end-of-options
    buf[: len(head)] = head
    ob = np.frombuffer(buf, np.uint8)
    ts = frames.ts_us.astype(np.int64)
    words = np.stack([np.full(n, EPB), total, np.array([ifids[k] for k in keys]), ts >> 32, ts & 0xFFFFFFFF,
                      cap, orig], axis=1).astype("<u4")
    ob[(start[:, None] + np.arange(28)).ravel()] = words.view(np.uint8).ravel()
    ob[(start + total - 4)[:, None] + np.arange(4)] = total.astype("<u4").view(np.uint8).reshape(-1, 4)
    opt_at = start + 28 + cap + (-cap % 4)
    fl = np.flatnonzero(flags > 0)
    if len(fl):  # epb_flags: code 2, length 4, the direction bits
        flag_words = np.stack([np.full(len(fl), EPB_FLAGS | (4 << 16)), flags[fl]], axis=1).astype("<u4")
        ob[(opt_at[fl][:, None] + np.arange(8)).ravel()] = flag_words.view(np.uint8).ravel()
    com_at = opt_at + np.where(flags > 0, 8, 0)
    mv, data = memoryview(buf), memoryview(frames.data)
    o, st, cat = offs.tolist(), (start + 28).tolist(), com_at.tolist()
    for i in range(n):  # the bytes themselves: one slice copy per frame
        mv[st[i] : st[i] + o[i + 1] - o[i]] = data[o[i] : o[i + 1]]
    for i in np.flatnonzero(clen > 0).tolist():  # opt_comment: code 1, its length, the text
        c = comments[i]
        mv[cat[i] : cat[i] + 4] = struct.pack("<HH", OPT_COMMENT, len(c))
        mv[cat[i] + 4 : cat[i] + 4 + len(c)] = c
    return bytes(buf)


def _idb(key: tuple[str | None, int]) -> bytes:
    name, linktype = key
    if name:
        opts = _opt(IF_NAME, name.encode())
    else:
        opts = _opt(IF_DESCRIPTION, b"FortiGate sniffer (no interface name at this verbosity)")
    opts += _opt(IF_TSRESOL, b"\x06") + _opt(OPT_END, b"")
    return _block(IDB, struct.pack("<HHI", linktype, 0, SNAPLEN) + opts)


def pcap(frames: Frames) -> bytes:
    """The frames as a classic pcap (microsecond timestamps, one link type)."""
    kinds = set(int(x) for x in frames.linktype) or {LINKTYPE_ETHERNET}
    linktype = kinds.pop() if len(kinds) == 1 else LINKTYPE_LINUX_SLL
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, linktype)]
    rec = struct.Struct("<IIII").pack
    offs = frames.offsets
    orig = frames.orig_len if frames.orig_len is not None else np.diff(offs)
    for i in range(len(frames)):
        body = frames.data[int(offs[i]) : int(offs[i + 1])]
        extra = 0
        if linktype == LINKTYPE_LINUX_SLL:
            body = _sll(body, int(frames.linktype[i]), frames.direction[i])
            extra = len(body) - (int(offs[i + 1]) - int(offs[i]))
        ts = int(frames.ts_us[i])
        out.append(rec(ts // 1_000_000, ts % 1_000_000, len(body), max(int(orig[i]) + extra, len(body))))
        out.append(body)
    return b"".join(out)


def _sll(frame: bytes, linktype: int, direction: str | None) -> bytes:
    """Re-wrap one frame as Linux cooked capture: Ethernet keeps its source MAC and type."""
    ptype = SLL_OUTGOING if direction == "out" else SLL_HOST
    if linktype == LINKTYPE_ETHERNET and len(frame) >= 14:
        return struct.pack("!HHH8sH", ptype, ARPHRD_ETHER, 6, frame[6:12], int.from_bytes(frame[12:14])) + frame[14:]
    if linktype == LINKTYPE_LINUX_SLL:
        return struct.pack("!H", ptype) + frame[2:]
    version = frame[0] >> 4 if frame else 0
    proto = ETHERTYPE_IPV6 if version == 6 else ETHERTYPE_IPV4
    return struct.pack("!HHH8sH", ptype, ARPHRD_NONE, 0, b"", proto) + frame


def sll_header(proto: int, direction: str | None) -> bytes:
    """A Linux cooked capture header with no link-layer address (for L3 dumps of ARP)."""
    ptype = SLL_OUTGOING if direction == "out" else SLL_HOST
    return struct.pack("!HHH8sH", ptype, ARPHRD_NONE, 0, b"", proto)
