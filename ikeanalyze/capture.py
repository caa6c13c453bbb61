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
    ifids: dict[tuple[str | None, int], int] = {}
    n = len(frames)
    offs = frames.offsets.tolist()
    orig = (frames.orig_len if frames.orig_len is not None else np.diff(frames.offsets)).tolist()
    comments = frames.comment or [None] * n
    ts = frames.ts_us.tolist()
    links = frames.linktype.tolist()
    data = frames.data
    epb_head = struct.Struct("<IIIIIII").pack
    trailer = struct.Struct("<I").pack
    flag_opts = {d: _opt(EPB_FLAGS, struct.pack("<I", f)) for d, f in DIRECTION_FLAGS.items()}
    end = _opt(OPT_END, b"")
    pads = [b"", b"\0\0\0", b"\0\0", b"\0"]
    for i in range(n):  # one pass; every per-frame value is a plain Python object here
        key = (frames.iface[i], links[i])
        ifid = ifids.get(key)
        if ifid is None:
            ifid = ifids[key] = len(ifids)
            out.append(_idb(key))
        a, b = offs[i], offs[i + 1]
        cap = b - a
        eopts = flag_opts.get(frames.direction[i], b"")
        c = comments[i]
        if c:
            cb = c.encode()
            eopts += struct.pack("<HH", OPT_COMMENT, len(cb)) + cb + pads[len(cb) % 4]
        if eopts:
            eopts += end
        pad = pads[cap % 4]
        total = 32 + cap + len(pad) + len(eopts)
        t = ts[i]
        out.append(epb_head(EPB, total, ifid, t >> 32, t & 0xFFFFFFFF, cap, max(orig[i], cap)))
        out.append(data[a:b])
        out.append(pad + eopts + trailer(total))
    return b"".join(out)


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
