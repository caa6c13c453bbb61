"""pcap / pcapng captures → events, with a record-level IPsec prefilter.

The reader never builds a Python object for a frame it throws away:

1. a record walker (word views over an ``mmap``; for a large pcap, a read-ahead worker
   while the analysis starts up, :mod:`ikeanalyze.readahead`) finds where records start,
   and numpy reads the data offset, captured length and timestamp of each record of a
   chunk of frames into arrays;
2. numpy reads the link, IP and L4 headers of the whole chunk at fixed offsets and
   classifies every frame at once: UDP 500/4500, IP protocol 50/51, IP fragments, TCP that
   belongs (or may belong) to an RFC 8229 stream, ICMP destination unreachable (kept when it
   refuses UDP 500/4500: :data:`ICMP_KEPT`), everything else;
3. plain ESP, ESP-in-UDP and NAT keepalives of IPv4 become event columns straight from
   those arrays; only IKE messages, IPv6, fragments and IKE-over-TCP streams are decoded
   one by one (:mod:`ikeanalyze.wire`);
4. every frame is counted once in the InputReport: ``event``, ``other-traffic``,
   ``continuation`` (an IP fragment whose packet completed in a later frame) or
   ``truncated``.

Times are UTC (``report.clock = "utc"``); ``t`` counts seconds from the earliest frame (the
first one unless the file is out of time order, whose rows are then sorted by time:
:func:`_in_time_order`); ``ref`` is the 1-based frame number.
Duplicated capture frames (the same IP packet captured twice within
:data:`DUPLICATE_WINDOW_S` and :data:`DUPLICATE_MAX_FRAMES`; ESP: the same SPI and sequence
number within the window; a NAT keepalive: the same path within both, :data:`REPEAT_KEYS`) keep their rows but carry ``detail = "duplicate-frame"``, so an
analysis can drop them before it counts retransmissions. An IP fragment captured twice is held
once and its copy counted ``duplicate``: a second copy of a piece would make a reassembly of
three pieces, or a packet of its own that never completes (a lost fragment, for IKE107).
"""

from __future__ import annotations

import hashlib
import ipaddress
import mmap
import struct
from array import array
from dataclasses import dataclass, field
from socket import inet_ntoa
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze import events as ev
from ikeanalyze import readahead
from ikeanalyze.diagnosis import human_duration
from ikeanalyze.endpoints import endpoint
from ikeanalyze.errors import InputError, WireError
from ikeanalyze.ingest import MAX_EXAMPLES, InputReport
from ikeanalyze.readahead import FILE_HEADER, PCAP_MAGIC, RECORD_HEADER
from ikeanalyze.wire import esp as wesp
from ikeanalyze.wire import iana, natt, tcpencap
from ikeanalyze.wire import ike as wike
from ikeanalyze.wire.ports import IKE_NATT_PORT, IKE_PORT, given_tcp_ports, tcp_ike_ports
from ikeanalyze.words import counted

CHUNK = 1 << 16  # frames per chunk
DUPLICATE_WINDOW_S = 0.05  # identical IP packets closer than this are one frame captured twice
DUPLICATE_MAX_FRAMES = 4  # ... and no more than this many frames apart
DUPLICATE = "duplicate-frame"

# Link-layer header types (https://www.tcpdump.org/linktypes.html)
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_RAW_DLT12 = 12  # DLT_RAW on most BSDs
LINKTYPE_RAW_DLT14 = 14  # DLT_RAW on OpenBSD
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
LINKTYPE_PPP = 9
LINKTYPE_PPP_HDLC = 50  # PPP in HDLC-like framing (RFC 1662)
LINKTYPE_PPP_ETHER = 51  # PPPoE session frames without their Ethernet header
LINKTYPE_C_HDLC = 104  # Cisco HDLC: address, control, then an ethertype
LINKTYPE_IEEE802_11 = 105
LINKTYPE_ENC = 109  # OpenBSD enc(4): 12-byte header, then the IP packet
LINKTYPE_PFLOG = 117
LINKTYPE_RADIOTAP = 127  # radiotap header, then an 802.11 frame
LINKTYPE_NFLOG = 239  # Linux netfilter log: a family byte, then TLVs, one of them the packet
# The pcap header's link-type word keeps the link type in its low 16 bits; above them it may say
# that frames end with an FCS, and how long (draft-ietf-opsawg-pcap §4: the F bit and FCS len;
# libpcap's LT_FCS_LENGTH_PRESENT and LT_FCS_LENGTH, in 16-bit words).
LINKTYPE_MASK = 0xFFFF
LT_FCS_LENGTH_PRESENT = 0x04000000
LT_FCS_LENGTH_SHIFT = 28
RAW_LINKTYPES = (LINKTYPE_RAW, LINKTYPE_RAW_DLT12, LINKTYPE_RAW_DLT14, LINKTYPE_IPV4, LINKTYPE_IPV6)
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
VLAN_MAX_TAGS = 4  # stacked tags read (802.1Q, QinQ, a provider's and a customer's stack)
# PPPoE session stage (RFC 2516 §4): a 6-byte header, then the PPP protocol number (RFC 1661
# §2; IANA PPP DLL protocol numbers) of the packet it carries.
ETHERTYPE_PPPOE_SESSION = 0x8864
PPPOE_HEADER = 6
GRE_ROUTING_PRESENT = 0x4000  # RFC 1701 §2.1: source route entries follow the sequence number
GRE_MAX_SRES = 8
PPP_IP, PPP_IPV6 = 0x0021, 0x0057
PPP_ETHERTYPES = {PPP_IP: ETHERTYPE_IPV4, PPP_IPV6: ETHERTYPE_IPV6}
NULL_AF_IPV6 = (24, 28, 30)  # BSD AF_INET6 values (NetBSD/OpenBSD, FreeBSD, macOS)
AF_INET = 2
LINUX_AF_INET6 = 10
HDLC_ADDRESS_CONTROL = 0xFF03  # PPP's all-stations address and UI control (RFC 1662 §3.1)
# 802.11 data frames (IEEE 802.11-2020 §9.2.4.1): frame control's type 2; a QoS subtype adds
# 2 bytes, both DS bits a fourth address, QoS with the +HTC/order bit an HT control field;
# a protected frame's body is encrypted. The body starts with an LLC/SNAP header.
WLAN_TYPE_DATA = 2
WLAN_LLC_SNAP = bytes.fromhex("aaaa03000000")
NFULA_PAYLOAD = 9  # the NFLOG TLV holding the packet (linux/netfilter/nfnetlink_log.h)
NFLOG_MAX_TLVS = 16
# Tunnels whose inner packet is read as if captured bare (ERSPAN, VXLAN and Geneve carry port
# mirrors and cloud traffic taps; MPLS a carrier's core; GRE and IP-in-IP site links).
ETHERTYPE_MPLS = (0x8847, 0x8848)  # unicast, multicast (RFC 3032)
MPLS_MAX_LABELS = 8
ETHERTYPE_TEB = 0x6558  # transparent Ethernet bridging: an Ethernet frame inside GRE or Geneve
ETHERTYPE_ERSPAN2 = 0x88BE  # ERSPAN type II (8-byte header; type I: none, GRE without sequence)
ETHERTYPE_ERSPAN3 = 0x22EB  # ERSPAN type III (12-byte header, 8 more with the O bit)
IPPROTO_IPIP = 4
IPPROTO_IPV6_IN_IP = 41
IPPROTO_GRE = 47
TUNNEL_PROTOS = (IPPROTO_IPIP, IPPROTO_IPV6_IN_IP, IPPROTO_GRE)
UDP_VXLAN = 4789  # RFC 7348
UDP_GENEVE = 6081  # RFC 8926
TUNNEL_DEPTH = 3  # tunnels inside tunnels read
TUNNEL_NAMES = {"mpls": "MPLS", "gre": "GRE", "teb": "Ethernet-over-GRE", "erspan": "ERSPAN",
                "ipip": "IP-in-IP", "vxlan": "VXLAN", "geneve": "Geneve"}

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ESP = 50
IPPROTO_AH = 51
IPPROTO_ICMPV6 = 58
IPV6_EXT = (0, 43, 60)  # hop-by-hop, routing, destination options
IPV6_FRAGMENT = 44
# ICMP errors kept as events, by (protocol, type, code): the port unreachable a host (or a
# firewall rejecting) sends back for a UDP datagram to or from 500/4500, in the words
# tcpdump 4.99 prints (print-icmp.c, print-icmp6.c) so that rules read a capture's and a
# text's alike. The datagram it quotes gives the address and port: `{dst}` and `{dport}` are
# its destination's. Other ICMP is other traffic.
ICMP_UNREACH, ICMP6_DST_UNREACH = 3, 1
ICMP_KEPT = {
    (IPPROTO_ICMP, ICMP_UNREACH, 3): "{dst} udp port {dport} unreachable",
    (IPPROTO_ICMPV6, ICMP6_DST_UNREACH, 4): "destination unreachable, unreachable port, {dst} udp port {dport}",
}
ICMP_NAMES = {IPPROTO_ICMP: "ICMP", IPPROTO_ICMPV6: "ICMP6,"}  # as tcpdump names them before the words
ICMP_HEADER = 8  # type, code, checksum, 4 bytes unused (RFC 792, RFC 4443): the quoted datagram follows

PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_IDB = 1
PCAPNG_PB = 2
PCAPNG_SPB = 3
PCAPNG_EPB = 6
PCAPNG_ISB = 5  # interface statistics: what the capturing host counted received and dropped
ISB_IFDROP, ISB_OSDROP = 5, 7  # dropped by the interface, by the OS (draft-ietf-opsawg-pcapng §4.6)
IF_TSRESOL = 9  # pcapng interface options (draft-ietf-opsawg-pcapng §4.2)
IF_TSOFFSET = 14
IF_FCSLEN = 13
EPB_FLAGS = 2  # an enhanced packet block's flags option: direction in bits 0-1, FCS length
EPB_FCS_SHIFT, EPB_FCS_MASK = 5, 0xF  # in bytes in bits 5-8 (0: not known)
EPB_DIRECTIONS = np.array([None, "in", "out", None], dtype=object)  # by bits 0-1
# if_fcslen's unit: the pcapng draft says bits, Wireshark reads bytes (the draft's issue #60
# is open). An Ethernet or HDLC FCS is 2 or 4 bytes, 16 or 32 bits: each value says which.
FCSLEN_BYTES = {0: 0, 2: 2, 4: 4, 16: 2, 32: 4}
UNTIMED = -1  # raw timestamp of a packet without one (see _carry_time)
FAR_NS = 4.1e18  # ns after 1970: 2099-12-04; a time (or if_tsoffset) past it is a damaged block
BYTE_ORDER_MAGIC = 0x1A2B3C4D

TCP_FLAG_WORDS = ((0x02, "syn"), (0x01, "fin"), (0x04, "rst"), (0x08, "psh"), (0x10, "ack"))


# ----------------------------------------------------------------------------- records
@dataclass
class _Iface:
    linktype: int
    name: str | None = None
    ns_mul: float = 1000.0  # timestamp unit → ns
    exact: bool = True  # ns_mul is an integer
    endian: str = "<"  # byte order of its pcapng section (options of its packets are in it)
    offset_ns: int = 0  # if_tsoffset: seconds the interface's timestamps count from
    fcs: int = 0  # bytes of FCS the header says end every frame (pcap link-type word, pcapng if_fcslen)


@dataclass
class _Chunk:
    """Arrays describing consecutive frames (no per-frame objects)."""

    first_ref: int
    off: np.ndarray  # data offset of each frame in the buffer
    cap: np.ndarray  # captured length
    wire: np.ndarray  # original length
    ts: np.ndarray  # ns since the epoch (int64)
    iface: np.ndarray  # interface index
    opt: np.ndarray  # pcapng EPB: offset of the options, or -1
    opt_end: np.ndarray
    # Each frame's first bytes, gathered with its record header (classic pcap): an (n, w)
    # array whose row holds frame data from column ``head_at`` on (see _Frames).
    head: np.ndarray | None = None
    head_at: int = 0
    flags: np.ndarray | None = None  # pcapng: each frame's epb_flags word, 0 when none (_epb_flags)


def _buffer(blob) -> tuple[object, int]:
    if blob.data is None and blob.path is not None:
        try:
            with open(blob.path, "rb") as f:
                size = f.seek(0, 2)
                if size == 0:
                    return b"", 0
                return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), size
        except OSError as exc:
            raise InputError(blob.name, None, f"cannot read: {exc.strerror or exc}") from exc
    data = blob.read()
    return data, len(data)


def _pcap_chunks(buf, size: int, report: InputReport, state: _State, walked: readahead.Walk | None = None):
    """Chunks of up to CHUNK records. ``walked``: a read-ahead worker's walk
    (:mod:`ikeanalyze.readahead`), taken chunk by chunk as the worker publishes it; else,
    or from where a worker stopped early, the walk is done here. The headers are checked
    the same way after either."""
    try:
        head = bytes(buf[:FILE_HEADER])
        if len(head) < FILE_HEADER:
            raise InputError(report.source, None, "pcap file header cut short")
        endian, mul = PCAP_MAGIC[head[:4]]
        snaplen, network = struct.unpack(endian + "II", head[16:24])
        fcs = 2 * (network >> LT_FCS_LENGTH_SHIFT) if network & LT_FCS_LENGTH_PRESENT else 0
        state.ifaces = [_Iface(network & LINKTYPE_MASK, None, float(mul), True, endian, fcs=fcs)]
        yield from _pcap_records(buf, size, state, walked, endian, mul, snaplen)
    finally:
        if walked is not None:  # the reader stopped early (damage, an error): the worker too
            walked.close()


def _pcap_records(buf, size: int, state: _State, walked: readahead.Walk | None, endian: str, mul: int,
                  snaplen: int):
    limit = snaplen if snaplen > 0 else 0x40000  # a record longer than the snapshot length is damage
    words32 = None
    order = "<u4" if endian == "<" else ">u4"
    u8 = np.frombuffer(buf, np.uint8)
    off, ref, k = FILE_HEADER, 1, 0
    last_header = size - RECORD_HEADER
    while off < size:
        # The walk only finds where records start; numpy reads and checks their headers
        # below (a damaged length is caught there, and sends the walk past `last_header`).
        offs = None
        if walked is not None:
            have = walked.wait(k + CHUNK)
            offs = walked.offsets[k : min(have, k + CHUNK)]
            k += len(offs)
            if not len(offs) and not walked.complete:  # the worker stopped early: walk on here
                walked, offs = None, None
        if offs is None:
            words32 = words32 or readahead.u32_views(buf, size, endian)
            offs, _ = readahead.walk(words32, off, last_header, CHUNK)
        hdr = np.frombuffer(offs, np.int64)
        if not len(hdr):
            off = max(off, last_header + 1)  # no record starts before the end
        # header words: ts_sec, ts_frac, incl_len, orig_len
        # The record header and the frame's first bytes in one gather: the classification
        # reads its header fields from these rows (_Frames), not from the mapped file again.
        head = _window(u8, hdr, RECORD_HEADER + FRAME_HEAD)
        words = np.ascontiguousarray(head[:, :RECORD_HEADER]).view(order).astype(np.int64)
        incl = words[:, 2]
        if len(hdr):  # where the walk goes next, as it computes it
            off = int(hdr[-1]) + RECORD_HEADER + int(incl[-1])
        bad = (incl > limit) | (hdr + RECORD_HEADER + incl > size)
        stop = bool(bad.any())
        if stop:
            j = int(np.argmax(bad))
            why = (f"captured length {int(incl[j])} exceeds the snapshot length {snaplen}" if incl[j] > limit
                   else "capture cut off mid-record")
            state.cut(ref + j, why)
            hdr, words = hdr[:j], words[:j]
        elif last_header < off < size:  # a record header cut off (the first one too: no records)
            state.cut(ref + len(hdr), "capture cut off mid-record")
            stop = True
        first = ref
        ref += len(hdr)
        if len(hdr):
            n = len(hdr)
            ts = words[:, 0] * 1_000_000_000 + words[:, 1] * int(mul)
            yield _Chunk(
                first,
                hdr + RECORD_HEADER,
                words[:, 2],
                words[:, 3],
                ts,
                np.zeros(n, np.int32),
                np.full(n, -1, np.int64),
                np.full(n, -1, np.int64),
                head[:n],
                RECORD_HEADER,
            )
        if stop:
            break


def _tsresol(value: int) -> tuple[float, bool]:
    if value & 0x80:
        return 1e9 / (2 ** (value & 0x7F)), False
    exp = value & 0x7F
    if exp <= 9:
        return float(10 ** (9 - exp)), True
    return 1e9 / 10**exp, False


def _options(buf, start: int, end: int, endian: str):
    """Yield (code, value bytes) of a pcapng options list."""
    u16 = struct.Struct(endian + "HH").unpack_from
    while start + 4 <= end:
        code, length = u16(buf, start)
        if code == 0:
            return
        value = bytes(buf[start + 4 : min(start + 4 + length, end)])
        yield code, value
        start += 4 + ((length + 3) & ~3)


def _pcapng_chunks(buf, size: int, report: InputReport, state: _State):
    off, ref = 0, 1
    endian = "<"
    base = 0  # index of the current section's first interface in state.ifaces
    state.ifaces = []
    first = 1

    def fresh() -> list[array]:
        # per packet: data offset, captured and original length, raw timestamp, interface,
        # options start and end (-1: none) -- the arguments of _ng_chunk, in order
        return [array("q") for _ in range(7)]

    cols = fresh()
    pb_drops: dict[int, int] = {}  # interface -> packets the obsolete packet blocks say were lost
    isb_drops: dict[int, int] = {}  # interface -> dropped, from its last statistics block
    while off < size:
        if off + 12 > size:
            state.cut(ref, "capture cut off mid-block")
            break
        btype_le = struct.unpack_from("<I", buf, off)[0]
        if btype_le == PCAPNG_SHB:
            bom = bytes(buf[off + 8 : off + 12])
            endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            if bom not in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"):
                state.cut(ref, "pcapng section header with a bad byte-order magic")
                break
            base = len(state.ifaces)
        btype, blen = struct.unpack_from(endian + "II", buf, off)
        if blen < 12 or blen % 4 or off + blen > size:
            why = "capture cut off mid-block" if off + blen > size else f"impossible block length {blen}"
            state.cut(ref, why)
            break
        packet = None
        if btype == PCAPNG_EPB:
            if blen < 32:
                state.cut(ref, f"enhanced packet block too short ({blen} bytes)")
                break
            ifid, hi, lo, incl, orig = struct.unpack_from(endian + "IIIII", buf, off + 8)
            data = off + 28
            if data + incl > off + blen - 4 or base + ifid >= len(state.ifaces):
                why = "packet longer than its block" if data + incl > off + blen - 4 else "unknown interface"
                state.cut(ref, f"malformed enhanced packet block ({why})")
                break
            packet = (data, incl, orig, _timestamp(hi, lo, ref, report), base + ifid,
                      data + ((incl + 3) & ~3), off + blen - 4)
        elif btype == PCAPNG_SPB:
            (orig,) = struct.unpack_from(endian + "I", buf, off + 8)
            incl = min(orig, blen - 16)
            if base >= len(state.ifaces):
                state.cut(ref, "simple packet block before any interface")
                break
            packet = (off + 12, incl, orig, UNTIMED, base, -1, -1)  # a simple packet block has no time
        elif btype == PCAPNG_PB:
            ifid, drops, hi, lo, incl, orig = struct.unpack_from(endian + "HHIIII", buf, off + 8)
            if drops not in (0, 0xFFFF):  # lost since the previous packet (0xFFFF: not known)
                pb_drops[base + ifid] = pb_drops.get(base + ifid, 0) + drops
            data = off + 28
            if data + incl > off + blen - 4 or base + ifid >= len(state.ifaces):
                state.cut(ref, "malformed packet block")
                break
            packet = (data, incl, orig, _timestamp(hi, lo, ref, report), base + ifid, -1, -1)
        elif btype == PCAPNG_IDB:
            linktype, _r, _snap = struct.unpack_from(endian + "HHI", buf, off + 8)
            iface = _Iface(linktype, endian=endian)
            for code, value in _options(buf, off + 16, off + blen - 4, endian):
                if code == 2:
                    iface.name = value.split(b"\0", 1)[0].decode("utf-8", "replace")
                elif code == IF_TSRESOL and value:
                    iface.ns_mul, iface.exact = _tsresol(value[0])
                elif code == IF_FCSLEN and value:
                    if value[0] in FCSLEN_BYTES:
                        iface.fcs = FCSLEN_BYTES[value[0]]
                    else:  # no FCS is that long: frames are read as they are
                        report.warn(f"interface {len(state.ifaces)}: if_fcslen {value[0]} is no FCS length "
                                    f"(2 or 4 bytes, 16 or 32 bits); its frames are read with no FCS taken off")
                elif code == IF_TSOFFSET and len(value) == 8:
                    seconds = struct.unpack(endian + "q", value)[0]
                    if abs(seconds) * 1e9 < FAR_NS:
                        iface.offset_ns = seconds * 1_000_000_000
                    else:  # a damaged option: the frames' own times are still good relative to each other
                        report.warn(f"interface {len(state.ifaces)}: impossible if_tsoffset ({seconds} s, past 2099); "
                                    f"its times are read without it")
            state.ifaces.append(iface)
        elif btype == PCAPNG_ISB and blen >= 24:
            (ifid,) = struct.unpack_from(endian + "I", buf, off + 8)
            counts = {code: struct.unpack(endian + "Q", value)[0]
                      for code, value in _options(buf, off + 20, off + blen - 4, endian)
                      if code in (ISB_IFDROP, ISB_OSDROP) and len(value) == 8}
            if counts:  # counters since the capture began: the last block of an interface holds
                isb_drops[base + ifid] = sum(counts.values())
        off += blen
        if packet is not None:
            for col, value in zip(cols, packet):
                col.append(value)
            ref += 1
            if len(cols[0]) >= CHUNK:
                yield _ng_chunk(first, *cols, state)
                first = ref
                cols = fresh()
    if cols[0]:
        yield _ng_chunk(first, *cols, state)
    for i, n in sorted({**pb_drops, **isb_drops}.items()):
        name = state.ifaces[i].name if i < len(state.ifaces) and state.ifaces[i].name else f"#{i}"
        report.lose(n, f"interface {name}: {counted(n, 'packet')} dropped "
                       f"({'pcapng interface statistics' if i in isb_drops else 'packet blocks'})")


def _timestamp(hi: int, lo: int, ref: int, report: InputReport) -> int:
    """A pcapng 64-bit timestamp. One past int64 is no clock at all (damage): the frame keeps
    the previous frame's time (:func:`_carry_time`), so `t` of the rest is not thrown off;
    said once per file."""
    if hi < 0x80000000:
        return (hi << 32) | lo
    _impossible(report, ref, f"high word {hi:#x}")
    return UNTIMED


def _impossible(report: InputReport, ref: int, why: str) -> None:
    if not any("impossible timestamp" in w for w in report.warnings):
        report.warn(f"frame {ref}: impossible timestamp ({why}); such frames keep the time of the frame before")


def _ng_chunk(first, offs, caps, wires, tss, ifs, opts, ends, state) -> _Chunk:
    raw = np.frombuffer(tss, np.int64)
    ifidx = np.frombuffer(ifs, np.int64).astype(np.int32)
    ts = np.zeros(len(raw), np.int64)
    untimed = raw == UNTIMED
    for i, iface in enumerate(state.ifaces):
        m = ifidx == i
        if not m.any():
            continue
        # A time past int64 nanoseconds (a damaged block, a coarse if_tsresol) would wrap
        # around silently: such frames keep the time of the frame before. (An offset past
        # 2099 was dropped with the interface block; offset + time stays within int64.)
        far = ~(np.abs(raw.astype(np.float64) * iface.ns_mul) < FAR_NS)
        if (m & far & ~untimed).any():
            _impossible(state.report, first + int(np.flatnonzero(m & far & ~untimed)[0]),
                        "later than 2099 by its interface's resolution and time offset")
            untimed |= m & far
        m &= ~far
        if not m.any():
            continue
        if iface.exact:
            ts[m] = raw[m] * int(iface.ns_mul) + iface.offset_ns
        else:
            ts[m] = (raw[m].astype(np.float64) * iface.ns_mul).astype(np.int64) + iface.offset_ns
    if untimed.any():
        ts = _carry_time(ts, untimed, state.last_ts)
    if len(ts):
        state.last_ts = int(ts[-1])
    return _Chunk(
        first,
        np.frombuffer(offs, np.int64),
        np.frombuffer(caps, np.int64),
        np.frombuffer(wires, np.int64),
        ts,
        ifidx,
        np.frombuffer(opts, np.int64),
        np.frombuffer(ends, np.int64),
    )


def _carry_time(ts: np.ndarray, untimed: np.ndarray, before: int | None) -> np.ndarray:
    """Frames without a time (simple packet blocks, impossible timestamps) take the previous
    frame's (``before``: the last of the chunk before), or the next one's if none came before:
    a time of 0 would make `t` count from 1970 for every other frame."""
    idx = np.arange(len(ts))
    prev = np.maximum.accumulate(np.where(untimed, -1, idx))
    nxt = np.minimum.accumulate(np.where(untimed, len(ts), idx)[::-1])[::-1]
    if before is None:
        before = int(ts[nxt[0]]) if nxt[0] < len(ts) else 0
    return np.where(prev >= 0, ts[np.maximum(prev, 0)], before)


# ----------------------------------------------------------------------------- state
@dataclass
class _TcpStream:
    key: tuple
    client: tuple[str, int] | None = None  # (addr, port) of the initiator
    confirmed: bool = False
    rejected: bool = False
    syn_seq: dict = field(default_factory=dict)  # (addr, port) -> SYN seq
    reasm: dict = field(default_factory=dict)  # (addr, port) -> StreamReassembler
    held: list = field(default_factory=list)  # rows waiting for confirmation


@dataclass
class _State:
    report: InputReport
    options: object
    buf: object = None
    ifaces: list = field(default_factory=list)
    first_ts: int | None = None
    min_ts: int | None = None
    # Frames stamped earlier than the frame before them by more than REORDERED_NS (and the
    # most), and the previous chunk's last stamp: see _steps_back.
    back: int = 0
    back_most: int = 0
    tail_ts: int | None = None
    last_ts: int | None = None  # time of the last pcapng frame read (for frames without one)
    truncated_at: int | None = None
    # The `--ike-tcp-port`s as given: a stream on one is IKE over TCP without the prefix.
    # Not watched_ports less 4500: `--ike-tcp-port 4500` puts 4500 here too (its streams are
    # then IKE without the prefix; by default a 4500 stream's data must start with it).
    tcp_ports: frozenset = frozenset()
    # Those and TCP 4500, IKE's own port (wire.ports.tcp_ike_ports): their streams are looked
    # at even without the `IKETCP` prefix. One on 4500 that never carries data (a SYN answered
    # by a reset) is kept as evidence (IKE110), as the sniffer text's is; one whose data does
    # not start with the prefix is not IKE.
    watched_ports: frozenset = frozenset()
    tcp_hashes: set = field(default_factory=set)  # hashes of IKE-over-TCP stream candidates
    streams: dict = field(default_factory=dict)
    frags: dict = field(default_factory=dict)  # (src, dst, id, proto) -> list of pieces
    recent: dict = field(default_factory=dict)  # IKE/TCP packet digest -> last ts (ns)
    prev: tuple | None = None  # previous chunk's TCP frames: (hashes, chunk, indices, IP offsets)

    def cut(self, ref: int, why: str) -> None:
        self.truncated_at = ref
        self.report.warn(f"frame {ref}: {why}")
        self.report.count("truncated")
        self.report.total += 1


# ----------------------------------------------------------------------------- entry point
def parse(blob, report: InputReport, options) -> pd.DataFrame:
    """Read a pcap or pcapng capture into the event table (see the module docstring)."""
    buf, size = _buffer(blob)
    report.size = size
    report.clock = "utc"
    report.unit = "frame"
    magic = bytes(buf[:4])
    state = _State(report, options, buf)
    state.tcp_ports = given_tcp_ports(options)
    state.watched_ports = tcp_ike_ports(options)
    if magic in PCAP_MAGIC:
        report.formats.append("pcap")
        walked = readahead.take(blob.path) if blob.data is None else None
        chunks = _pcap_chunks(buf, size, report, state, walked)
    elif magic == b"\x0a\x0d\x0d\x0a":
        report.formats.append("pcapng")
        chunks = _pcapng_chunks(buf, size, report, state)
    else:
        raise InputError(blob.name, None, "not a pcap or pcapng capture")
    parts: list[pa.Table] = []
    for chunk in chunks:
        report.total += len(chunk.off)
        if len(chunk.ts):
            if state.first_ts is None:
                state.first_ts = int(chunk.ts[0])
            low = int(chunk.ts.min())
            state.min_ts = low if state.min_ts is None else min(state.min_ts, low)
            _steps_back(state, chunk.ts)
        parts.extend(_process(chunk, state))
        if len(chunk.off):
            _release(buf, int(chunk.off[-1]))
    parts.extend(_finish(state))
    if not parts:
        return ev.empty()
    # Pieces are in chunk order, but a chunk's decoded rows follow its fast rows, and a TCP
    # stream or fragment can complete chunks later: one stable sort by frame number.
    tab = pa.concat_tables(parts)
    refs = tab.column("ref").to_numpy()
    if (np.diff(refs) < 0).any():
        tab = tab.take(pc.sort_indices(tab.column("ref")))
    n = tab.num_rows
    tab = tab.set_column(tab.schema.get_field_index("source"), "source", pa.repeat(blob.name, n))
    tab = tab.set_column(tab.schema.get_field_index("origin"), "origin", pa.repeat("pcap", n))
    out = ev.from_table(tab)
    if state.min_ts < state.first_ts:  # frames out of time order: t counts from the earliest
        out["t"] = out["t"] + (state.first_ts - state.min_ts) / 1e9
    out = _mark_column_duplicates(out)
    if state.back:
        most = state.back_most / 1e9
        report.warn(f"{counted(state.back, 'frame')} stamped earlier than the frame before {'it (by' if state.back == 1 else 'them (by up to'} "
                    f"{f'{most:.3f} s' if most < 10 else human_duration(most)}): the capture is out of time order (merged from several "
                    f"interfaces or capture points?). The analysis follows the frames' time order; they keep their "
                    f"frame numbers.")
        out = _in_time_order(out)
    return out


def _in_time_order(out: pd.DataFrame) -> pd.DataFrame:
    """The rows of a capture out of time order (`mergecap -a`, two interfaces' captures
    appended) sorted by time, each keeping its frame number (`ref`, as tshark numbers it):
    rules read silence, retransmissions and answers in row order. Frames with one time keep
    their frame order (a stable sort); a row without a time stays after the frame before it."""
    t = out["t"].to_numpy(dtype="float64", na_value=np.nan)
    # (A row with no time sorts as the last timed row above it: it is no jump in time.)
    filled = pd.Series(t).ffill().fillna(-np.inf).to_numpy()
    order = np.argsort(filled, kind="stable")
    return out.iloc[order].reset_index(drop=True)


# A frame stamped this much earlier than the one before it is out of time order. Less is
# the jitter of a capture from several queues of one interface, which no finding notices.
REORDERED_NS = 1_000_000


def _steps_back(state: _State, ts: np.ndarray) -> None:
    """Count the frames of a chunk stamped earlier than the frame before them (REORDERED_NS)."""
    steps = np.diff(ts.astype(np.int64), prepend=np.int64(ts[0] if state.tail_ts is None else state.tail_ts))
    back = steps < -REORDERED_NS
    if back.any():
        state.back += int(back.sum())
        state.back_most = max(state.back_most, int(-steps[back].min()))
    state.tail_ts = int(ts[-1])


def _release(buf, upto: int) -> None:
    """Drop the mapped pages before ``upto`` from this process: read pages of a file mapping
    count as resident memory, and without this the peak grows with the capture instead of
    with the chunk. A later read of those bytes (a TCP stream or fragment decoded after its
    chunk) faults them back in from the file, so nothing changes but the footprint."""
    if isinstance(buf, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        end = upto - upto % mmap.PAGESIZE
        if end > 0:
            buf.madvise(mmap.MADV_DONTNEED, 0, end)


# ----------------------------------------------------------------------------- classification
# Bytes read from the start of each header by one gather (_window): the link header up to the
# last VLAN tag's type; IPv4 up to the protocol (IPv6: next header); UDP up to the first
# payload word, TCP up to the data offset.
LINK_WINDOW = 14 + 4 * VLAN_MAX_TAGS
IP_WINDOW = 10
L4_WINDOW = 16


def _window(u8: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` bytes at each of ``starts`` as an (n, width) array: one gather of
    ``width``-byte items, where a fixed-offset read per field costs one pass over the rows
    per field. Bytes past the end of the buffer read as 0. A window may run past its frame
    into the next record, as any fixed-offset read may: the callers' length checks decide
    which fields count."""
    size = len(u8)
    n = len(starts)
    lim = size - width
    if lim < 0:  # a buffer shorter than one window: every row from a zero-padded copy
        pad = np.zeros(2 * width, np.uint8)
        pad[:size] = u8
        return pad[np.clip(starts, 0, width)[:, None] + np.arange(width)]
    items = np.ndarray((lim + 1,), dtype=f"V{width}", buffer=u8, strides=(1,))
    out = items[np.clip(starts, 0, lim)].view(np.uint8).reshape(n, width)
    late = np.flatnonzero(starts > lim)
    if len(late):  # the last bytes of the buffer: from a copy padded with zeros
        pad = np.zeros(2 * width, np.uint8)
        pad[:width] = u8[lim:]
        out[late] = pad[np.minimum(starts[late] - lim, width)[:, None] + np.arange(width)]
    return out


# Bytes of each frame gathered with its record header: an Ethernet header with two VLAN
# tags, an IPv6 header, and a sealed IKE message's fixed fields after UDP (SEALED_WINDOW).
FRAME_HEAD = 128 - RECORD_HEADER


class _Frames:
    """A chunk's bytes as the classification reads them: fixed-width windows at offsets in
    the buffer. Where the chunk carries each frame's first bytes (``head``, gathered with the
    record headers), a window that lies within them is taken from those rows: scattered reads
    of the mapped file cost several times more per byte (cache and TLB misses) than the same
    gather from rows still in cache. The bytes are the same either way."""

    def __init__(self, u8: np.ndarray, off: np.ndarray | None = None, head: np.ndarray | None = None,
                 head_at: int = 0):
        self.u8, self.off, self.head, self.head_at = u8, off, head, head_at

    def window(self, starts: np.ndarray, width: int, rows: np.ndarray | None = None) -> np.ndarray:
        """``_window(u8, starts, width)``; ``rows``: the chunk row of each start (all rows,
        in order, when None)."""
        head = self.head
        if head is None:
            return _window(self.u8, starts, width)
        stride = head.shape[1]
        base = self.off if rows is None else self.off[rows]
        row = np.arange(len(starts)) if rows is None else rows
        rel = starts - base + self.head_at
        inside = (rel >= self.head_at) & (rel <= stride - width)
        at = row * stride + rel
        flat = head.reshape(-1)
        if inside.all():
            return _window(flat, at, width)
        out = np.empty((len(starts), width), np.uint8)
        out[inside] = _window(flat, at[inside], width)
        out[~inside] = _window(self.u8, starts[~inside], width)
        return out


def _one_of(values: np.ndarray, choices) -> np.ndarray:
    """``np.isin(values, choices)`` for a few constants: one comparison per constant, over ten
    times faster than isin's sort or table on a chunk's column."""
    out = np.zeros(len(values), bool)
    for c in choices:
        out |= values == c
    return out


def _u16(win: np.ndarray, at: int) -> np.ndarray:
    """Big-endian 16-bit field at byte ``at`` of each window row."""
    return (win[:, at].astype(np.int64) << 8) | win[:, at + 1]


def _u32(win: np.ndarray, at: int) -> np.ndarray:
    return (_u16(win, at) << 16) | _u16(win, at + 2)


def _u16le(win: np.ndarray, at: int) -> np.ndarray:
    """Little-endian 16-bit field (radiotap; NFLOG's TLVs from a little-endian host)."""
    return win[:, at].astype(np.int64) | (win[:, at + 1].astype(np.int64) << 8)


# ----------------------------------------------------------------------------- link layers
# Each reader takes the offsets where its frames start and returns, per frame, where the
# network-layer packet starts and its ethertype (0: not IP, the frame is other traffic).
def _ethernet(u8: np.ndarray, start: np.ndarray, lw: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ethernet II with up to VLAN_MAX_TAGS stacked VLAN tags (``lw``: the LINK_WINDOW bytes
    at ``start`` when the caller has them)."""
    if lw is None:
        lw = _window(u8, start, LINK_WINDOW)
    et = _u16(lw, 12)
    base = np.full(len(lw), 14, np.int64)
    for j in range(VLAN_MAX_TAGS):
        tag = _one_of(et, VLAN_TPIDS)
        if not tag.any():
            break
        et = np.where(tag, _u16(lw, 14 + 4 * j + 2), et)  # a row still tagged has read j tags
        base = np.where(tag, base + 4, base)
    return _pppoe(u8, start + base, et)


def _pppoe(u8: np.ndarray, l3: np.ndarray, et: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A PPPoE session header (RFC 2516) after a link header: the PPP packet it carries, read
    wherever an ethertype is (an outer frame, a Linux cooked header, an Ethernet in a tunnel)."""
    m = et == ETHERTYPE_PPPOE_SESSION
    if m.any():
        l3, et = l3.copy(), et.copy()
        et[m] = _ppp_ethertype(_u16(_window(u8, l3[m] + PPPOE_HEADER, 2), 0))
        l3[m] += PPPOE_HEADER + 2
    return l3, et


def _by_version(first: np.ndarray) -> np.ndarray:
    """The ethertype of a packet whose first byte this is, by its IP version nibble."""
    v = first >> 4
    return np.where(v == 4, ETHERTYPE_IPV4, np.where(v == 6, ETHERTYPE_IPV6, 0))


def _ppp_ethertype(proto: np.ndarray) -> np.ndarray:
    return np.where(proto == PPP_IP, ETHERTYPE_IPV4, np.where(proto == PPP_IPV6, ETHERTYPE_IPV6, 0))


def _af_ethertype(family: np.ndarray, v6_values: tuple[int, ...]) -> np.ndarray:
    return np.where(family == AF_INET, ETHERTYPE_IPV4, np.where(_one_of(family, v6_values), ETHERTYPE_IPV6, 0))


def _raw(u8, start):
    return start, _by_version(_window(u8, start, 1)[:, 0])


def _null(u8, start):
    """BSD loopback: the address family as a 4-byte word in the capturing host's order."""
    w = _window(u8, start, 4)
    return start + 4, _af_ethertype(np.where(w[:, 0] != 0, w[:, 0], w[:, 3]).astype(np.int64), NULL_AF_IPV6)


def _ppp(u8, start):
    """PPP, with or without the HDLC address and control bytes (address/control compression)."""
    w = _window(u8, start, 4)
    hdlc = _u16(w, 0) == HDLC_ADDRESS_CONTROL
    return start + np.where(hdlc, 4, 2), _ppp_ethertype(np.where(hdlc, _u16(w, 2), _u16(w, 0)))


def _ppp_ether(u8, start):
    return start + PPPOE_HEADER + 2, _ppp_ethertype(_u16(_window(u8, start + PPPOE_HEADER, 2), 0))


def _enc(u8, start):
    return start + 12, _by_version(_window(u8, start + 12, 1)[:, 0])


def _pflog(u8, start):
    """pflog: the header's length (padded to 4 bytes) and address family in its first bytes."""
    w = _window(u8, start, 2)
    return start + ((w[:, 0].astype(np.int64) + 3) & ~3), _af_ethertype(w[:, 1].astype(np.int64), NULL_AF_IPV6)


def _wlan(u8, start):
    """802.11: unprotected data frames with an LLC/SNAP header; other frames are not IP."""
    w = _window(u8, start, 2)
    fc0, fc1 = w[:, 0].astype(np.int64), w[:, 1].astype(np.int64)
    qos = (fc0 & 0x80) != 0
    hdr = 24 + np.where((fc1 & 3) == 3, 6, 0) + np.where(qos, 2, 0) + np.where(qos & ((fc1 & 0x80) != 0), 4, 0)
    llc = _window(u8, start + hdr, len(WLAN_LLC_SNAP) + 2)
    data = (((fc0 >> 2) & 3) == WLAN_TYPE_DATA) & ((fc0 & 0x40) == 0) & ((fc1 & 0x40) == 0)  # no null, no WEP/WPA
    snap = (llc[:, : len(WLAN_LLC_SNAP)] == np.frombuffer(WLAN_LLC_SNAP, np.uint8)).all(axis=1)
    return _pppoe(u8, start + hdr + len(WLAN_LLC_SNAP) + 2, np.where(data & snap, _u16(llc, len(WLAN_LLC_SNAP)), 0))


def _radiotap(u8, start):
    return _wlan(u8, start + _u16le(_window(u8, start, 4), 2))


def _nflog(u8, start, endian: str):
    """NFLOG: the family byte, then TLVs (length, type) until the one that holds the packet.
    The TLVs are in the capturing host's byte order, the capture file's own."""
    u16 = _u16le if endian == "<" else _u16
    family = _window(u8, start, 1)[:, 0].astype(np.int64)
    l3 = np.full(len(start), -1, np.int64)
    pos = start + 4
    todo = np.arange(len(start))
    for _ in range(NFLOG_MAX_TLVS):
        if not len(todo):
            break
        w = _window(u8, pos[todo], 4)
        size, kind = u16(w, 0), u16(w, 2) & 0x3FFF  # without the netlink attribute flags
        hit = kind == NFULA_PAYLOAD
        l3[todo[hit]] = pos[todo[hit]] + 4
        pos[todo] += (size + 3) & ~3
        todo = todo[~hit & (size >= 4)]
    return l3, np.where(l3 >= 0, _af_ethertype(family, (LINUX_AF_INET6,)), 0)


def _vlan_tags(u8: np.ndarray, l3: np.ndarray, et: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Up to VLAN_MAX_TAGS stacked VLAN tags (a TCI, then the next ethertype) where a link
    header's ethertype names one: libpcap puts the tag the Linux kernel took off a frame back
    at the Linux cooked header's protocol field (pcap-linux.c, set_vlan_offset), so a
    capture on `any` of a tagged interface has protocol 0x8100 and the tag before the packet."""
    tagged = np.flatnonzero(_one_of(et, VLAN_TPIDS))
    if not len(tagged):
        return l3, et
    l3, et = l3.copy(), et.copy()
    for _ in range(VLAN_MAX_TAGS):
        et[tagged] = _u16(_window(u8, l3[tagged] + 2, 2), 0)
        l3[tagged] += 4
        tagged = tagged[_one_of(et[tagged], VLAN_TPIDS)]
        if not len(tagged):
            break
    return l3, et


def _fixed(header: int, ethertype_at: int, tags: bool = False):
    """A link header of fixed length that names the packet's ethertype at a fixed offset
    (``tags``: VLAN tags may follow it, :func:`_vlan_tags`)."""
    def read(u8, start):
        l3, et = start + header, _u16(_window(u8, start + ethertype_at, 2), 0)
        if tags:
            l3, et = _vlan_tags(u8, l3, et)
        return _pppoe(u8, l3, et)
    return read


LINK_READERS = {
    LINKTYPE_ETHERNET: _ethernet,
    LINKTYPE_LINUX_SLL: _fixed(16, 14, tags=True),
    LINKTYPE_LINUX_SLL2: _fixed(20, 0, tags=True),
    LINKTYPE_C_HDLC: _fixed(4, 2),
    **dict.fromkeys(RAW_LINKTYPES, _raw),
    LINKTYPE_NULL: _null,
    LINKTYPE_LOOP: _null,
    LINKTYPE_PPP: _ppp,
    LINKTYPE_PPP_HDLC: _ppp,
    LINKTYPE_PPP_ETHER: _ppp_ether,
    LINKTYPE_ENC: _enc,
    LINKTYPE_PFLOG: _pflog,
    LINKTYPE_IEEE802_11: _wlan,
    LINKTYPE_RADIOTAP: _radiotap,
    LINKTYPE_NFLOG: _nflog,
}
# Link types whose headers are in the capturing host's byte order: their reader is told it.
HOST_ORDER_LINKTYPES = frozenset({LINKTYPE_NFLOG})


def _link_layer(fr: _Frames, off, lt, big, report: InputReport, first_ref: int):
    """Where each frame's network-layer packet starts, its ethertype, and whether the frame's
    link type is one this reader decodes (the others are counted unrecognised, with a warning:
    their frames were not looked at, which is not the same as holding no IPsec)."""
    n = len(off)
    l3 = np.full(n, -1, np.int64)
    etype = np.zeros(n, np.int64)
    known = np.ones(n, bool)
    kind = lt * 2 + big  # a link type and the byte order of the section it came in
    for k in np.unique(kind).tolist():
        t, b = k >> 1, k & 1
        rows = np.flatnonzero(kind == k)
        reader = LINK_READERS.get(t)
        if reader is None:
            known[rows] = False
            report.warn(f"link type {t} is not one ikeanalyze decodes (https://www.tcpdump.org/linktypes.html): "
                        f"its frames are counted unrecognised, not read")
            for i in rows[:MAX_EXAMPLES].tolist():
                report.unrecognised(first_ref + i, f"a frame of link type {t}")
            report.count("unrecognised", len(rows) - min(len(rows), MAX_EXAMPLES))
            continue
        if reader is _ethernet:  # nearly every capture: its link header from the gathered rows
            l3[rows], etype[rows] = _ethernet(fr.u8, off[rows], fr.window(off[rows], LINK_WINDOW, rows))
            continue
        order = (">" if b else "<",) if t in HOST_ORDER_LINKTYPES else ()
        l3[rows], etype[rows] = reader(fr.u8, off[rows], *order)
    return l3, etype, known


_TCP_PREFIX = np.frombuffer(tcpencap.PREFIX, np.uint8)  # RFC 8229 stream prefix, as a window row


class _Headers(NamedTuple):
    """The IP and transport header fields of every frame of a chunk, read at fixed offsets."""

    has_l3: np.ndarray
    v4: np.ndarray
    v6: np.ndarray
    ihl: np.ndarray
    ip_total: np.ndarray
    frag4: np.ndarray  # an IPv4 fragment (not the whole packet)
    nh6: np.ndarray
    proto: np.ndarray  # IPv4 protocol or IPv6 next header; -1 when not IP
    l4: np.ndarray
    ip_end: np.ndarray  # end of the IP packet on the wire
    trans: np.ndarray  # L4_WINDOW bytes at l4
    sport: np.ndarray
    dport: np.ndarray


QUOTE_WINDOW = 64 + 4  # a quoted IPv4 header (up to 60 bytes) and the UDP ports after it


def _quotes_ike_udp(u8: np.ndarray, l4: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Whether each ICMP error (its header at ``l4``) quotes a UDP datagram to or from port
    500 or 4500, as far as the captured bytes show (a quote cut short is asked of the frame
    decoder, which says so)."""
    q = l4 + ICMP_HEADER
    w = _window(u8, q, QUOTE_WINDOW)
    v4 = (w[:, 0] >> 4) == 4
    ihl = np.where(v4, (w[:, 0] & 0x0F).astype(np.int64) * 4, 40)  # IPv6: a fixed 40-byte header
    udp = np.where(v4, w[:, 9] == IPPROTO_UDP, w[:, 6] == IPPROTO_UDP)
    at = np.minimum(ihl, QUOTE_WINDOW - 4)[:, None] + np.arange(4)[None, :]
    ports = np.take_along_axis(w, at, axis=1).astype(np.int64)
    sport, dport = (ports[:, 0] << 8) | ports[:, 1], (ports[:, 2] << 8) | ports[:, 3]
    ike = _one_of(sport, (IKE_PORT, IKE_NATT_PORT)) | _one_of(dport, (IKE_PORT, IKE_NATT_PORT))
    return (udp & ike) | (q + ihl + 4 > last)


def _headers(fr: _Frames, l3, etype, last) -> _Headers:
    has_l3 = (l3 >= 0) & (l3 < last)
    v4 = has_l3 & (etype == ETHERTYPE_IPV4) & (last - l3 >= 20)
    v6 = has_l3 & (etype == ETHERTYPE_IPV6) & (last - l3 >= 40)
    ip = fr.window(np.where(has_l3, l3, 0), IP_WINDOW)
    ihl = (ip[:, 0] & 0x0F).astype(np.int64) * 4
    ip_total = _u16(ip, 2)
    fragf = _u16(ip, 6)
    proto4 = ip[:, 9].astype(np.int64)
    v4 &= (ip[:, 0] >> 4 == 4) & (ihl >= 20)
    frag4 = v4 & ((fragf & 0x3FFF) != 0)
    nh6 = ip[:, 6].astype(np.int64)
    plen6 = _u16(ip, 4)
    del ip
    proto = np.where(v4, proto4, np.where(v6, nh6, -1))
    l4 = np.where(v4, l3 + ihl, l3 + 40)
    ip_end = np.where(v4, l3 + ip_total, l3 + 40 + plen6)
    # UDP: ports, length, the payload's first word; TCP: ports, data offset
    trans = fr.window(np.where(has_l3, l4, 0), L4_WINDOW)
    return _Headers(has_l3, v4, v6, ihl, ip_total, frag4, nh6, proto, l4, ip_end, trans,
                    _u16(trans, 0), _u16(trans, 2))


def _gre_routing_end(u8, pos: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Where RFC 1701's routing field ends: source route entries (address family, offset,
    length, then that many bytes) until the null entry; -1 where none ends within the frame."""
    out = np.full(len(pos), -1, np.int64)
    pos = pos.copy()
    todo = np.arange(len(pos))
    for _ in range(GRE_MAX_SRES):
        w = _window(u8, pos[todo], 4)
        family, length = _u16(w, 0), w[:, 3].astype(np.int64)
        null = (family == 0) & (length == 0)
        out[todo[null]] = pos[todo[null]] + 4
        pos[todo] += 4 + length
        todo = todo[~null & (pos[todo] < last[todo])]
        if not len(todo):
            break
    return out


def _decapsulate(u8, l3, etype, last, h: _Headers, report: InputReport) -> bool:
    """Point the rows of tunnel packets (MPLS, GRE with IP, Ethernet or ERSPAN inside, IP-in-IP,
    VXLAN, Geneve) at the packet they carry, in place; False when the chunk has none. The
    inner packet is the one between the IPsec peers (the outer one is the mirror's or the
    carrier's); a tunnel whose inner packet is not IP leaves the row other traffic."""
    whole = (h.v4 & ~h.frag4) | h.v6
    mpls = np.flatnonzero(h.has_l3 & _one_of(etype, ETHERTYPE_MPLS))
    ipip = np.flatnonzero(whole & _one_of(h.proto, (IPPROTO_IPIP, IPPROTO_IPV6_IN_IP)))
    gre = np.flatnonzero(whole & (h.proto == IPPROTO_GRE))
    udp = whole & (h.proto == IPPROTO_UDP)
    vxlan = np.flatnonzero(udp & (h.dport == UDP_VXLAN))
    geneve = np.flatnonzero(udp & (h.dport == UDP_GENEVE))
    if not (len(mpls) or len(ipip) or len(gre) or len(vxlan) or len(geneve)):
        return False
    seen = []
    if len(mpls):
        # Labels until the one with the bottom-of-stack bit; the payload's version nibble then.
        w = _window(u8, l3[mpls], 4 * MPLS_MAX_LABELS + 1)
        bottom = (w[:, 2 : 4 * MPLS_MAX_LABELS : 4] & 1) != 0
        depth = np.argmax(bottom, axis=1) + 1
        first = w[np.arange(len(mpls)), 4 * depth]
        l3[mpls] += 4 * depth
        etype[mpls] = np.where(bottom.any(axis=1), _by_version(first), 0)
        seen.append("mpls")
    if len(ipip):
        l3[ipip] = h.l4[ipip]
        etype[ipip] = np.where(h.proto[ipip] == IPPROTO_IPIP, ETHERTYPE_IPV4, ETHERTYPE_IPV6)
        seen.append("ipip")
    if len(gre):
        # RFC 2784/2890: checksum, key and sequence number words follow when their bits are set.
        w = h.trans[gre]
        flags, ptype = _u16(w, 0), _u16(w, 2)
        # RFC 1701: the checksum and offset word is there when either C or R is set.
        inner = h.l4[gre] + 4 + 4 * ((((flags >> 14) & 3) != 0) + ((flags >> 13) & 1) + ((flags >> 12) & 1))
        routed = np.flatnonzero((flags & GRE_ROUTING_PRESENT) != 0)
        if len(routed):
            inner[routed] = _gre_routing_end(u8, inner[routed], last[gre[routed]])
        ip_inside = _one_of(ptype, (ETHERTYPE_IPV4, ETHERTYPE_IPV6))
        erspan3_opt = _window(u8, inner + 11, 1)[:, 0] & 1  # the O bit: a platform sub-header follows
        # Where an Ethernet frame starts inside (TEB; ERSPAN II after its header, type I without one)
        eth_at = np.select(
            [ptype == ETHERTYPE_TEB, (ptype == ETHERTYPE_ERSPAN2) & ((flags & 0x1000) != 0),
             ptype == ETHERTYPE_ERSPAN2, ptype == ETHERTYPE_ERSPAN3],
            [inner, inner + 8, inner, inner + 12 + 8 * erspan3_opt], -1)
        ip_inside &= inner >= 0
        version_ok = ((flags & 7) == 0) & (inner >= 0)  # version 1 is PPTP's enhanced GRE, PPP inside
        new_l3, new_et = np.where(ip_inside, inner, -1), np.where(ip_inside & version_ok, ptype, 0)
        eth = np.flatnonzero((eth_at >= 0) & version_ok)
        if len(eth):
            new_l3[eth], new_et[eth] = _ethernet(u8, eth_at[eth])
            seen += [name for name, types in (("teb", (ETHERTYPE_TEB,)), ("erspan", (ETHERTYPE_ERSPAN2, ETHERTYPE_ERSPAN3)))
                     if np.isin(ptype[eth], types).any()]
        l3[gre], etype[gre] = new_l3, new_et
        seen.append("gre")
    if len(vxlan):
        l3[vxlan], etype[vxlan] = _ethernet(u8, h.l4[vxlan] + 16)
        seen.append("vxlan")
    if len(geneve):
        w = _window(u8, h.l4[geneve] + 8, 4)
        inner = h.l4[geneve] + 16 + 4 * (w[:, 0].astype(np.int64) & 0x3F)  # option length, in words
        ptype = _u16(w, 2)
        e_l3, e_et = _ethernet(u8, inner)
        teb = ptype == ETHERTYPE_TEB
        l3[geneve] = np.where(teb, e_l3, inner)
        etype[geneve] = np.where(teb, e_et, np.where(_one_of(ptype, (ETHERTYPE_IPV4, ETHERTYPE_IPV6)), ptype, 0))
        seen.append("geneve")
    for name in seen:  # the input's formats then read as a stack: pcap+ERSPAN+GRE
        if TUNNEL_NAMES[name] not in report.formats:
            report.formats.append(TUNNEL_NAMES[name])
    return True


def _process(ch: _Chunk, st: _State) -> list[pa.Table]:
    report = st.report
    buf = st.buf
    u8 = np.frombuffer(buf, np.uint8)
    fr = _Frames(u8, ch.off, ch.head, ch.head_at)
    fcs = (_epb_flags(ch, st) >> EPB_FCS_SHIFT) & EPB_FCS_MASK  # (in bytes, 0: not known)
    if any(f.fcs for f in st.ifaces) or fcs.any():
        # The FCS is no part of the packet: where the frame was captured whole it ends its
        # bytes (an offload's zero IP length takes the packet from them); a snapshot length
        # that cut the frame cut the FCS first. A packet's own epb_flags say more than its
        # interface's if_fcslen (a link may carry frames with and without one).
        iface_fcs = np.array([f.fcs for f in st.ifaces], np.int64)[ch.iface]
        fcs = np.where(fcs > 0, fcs, iface_fcs)
        ch.cap = np.minimum(ch.cap, np.maximum(ch.wire - fcs, 0))
    off, cap = ch.off, ch.cap
    last = off + cap  # end of each frame's bytes

    lt = np.array([f.linktype for f in st.ifaces], np.int64)[ch.iface]
    big = np.array([f.endian == ">" for f in st.ifaces], bool)[ch.iface]
    l3, etype, known = _link_layer(fr, off, lt, big, report, ch.first_ref)
    # A tunnel's rows are read again at the packet they carry (rare: one more pass when any).
    for depth in range(TUNNEL_DEPTH + 1):
        h = _headers(fr, l3, etype, last)
        if depth == TUNNEL_DEPTH or not _decapsulate(u8, l3, etype, last, h, report):
            break
    v4, v6, ihl, ip_total, frag4, nh6 = h.v4, h.v6, h.ihl, h.ip_total, h.frag4, h.nh6
    proto, l4, ip_end, trans, sport, dport = h.proto, h.l4, h.ip_end, h.trans, h.sport, h.dport
    l4_ok = l4 + 4 <= last

    is_udp = (proto == IPPROTO_UDP) & l4_ok
    is_tcp = (proto == IPPROTO_TCP) & l4_ok
    port4500 = (sport == IKE_NATT_PORT) | (dport == IKE_NATT_PORT)
    port500 = (sport == IKE_PORT) | (dport == IKE_PORT)
    udp_ipsec = is_udp & (port4500 | port500)
    v4_plain = v4 & ~frag4
    # A whole packet whose transport header follows the IP header (IPv6: the fixed header's
    # next header is UDP or ESP itself; extension headers and fragments take the decoder).
    ip_plain = v4_plain | v6
    # payload of UDP datagrams
    upay = l4 + 8
    ulen = np.maximum(ip_end - upay, 0)
    b0 = trans[:, 8]
    first4 = _u32(trans, 8)
    ucap_ok = upay + 4 <= last
    # The fast rows take lengths from the IP header: only where the UDP header agrees (no
    # padding inside IP, no offload's zero total length); the general decoder reads the others.
    udp_agrees = _u16(trans, 4) == ip_end - l4
    keepalive = ip_plain & is_udp & port4500 & udp_agrees & (ulen == 1) & (b0 == 0xFF) & (upay < last)
    nonesp = ucap_ok & (first4 == 0) & (ulen >= 4)
    udp_esp_fast = (ip_plain & is_udp & port4500 & udp_agrees & ~keepalive & ~nonesp & (ulen >= 8)
                    & (upay + 8 <= last))
    # The SPI and sequence inside the IP packet, not read from the link's padding.
    esp_fast = ip_plain & (proto == IPPROTO_ESP) & (l4 + 8 <= np.minimum(last, ip_end))
    # A destination unreachable (ICMP_KEPT's types): what it quotes is read one by one (rare).
    icmp_err = ip_plain & l4_ok & (((proto == IPPROTO_ICMP) & v4 & (trans[:, 0] == ICMP_UNREACH))
                                   | ((proto == IPPROTO_ICMPV6) & v6 & (trans[:, 0] == ICMP6_DST_UNREACH)))
    if icmp_err.any():  # only those quoting UDP to or from 500/4500 (a scan's DNS refusals are not)
        icmp_err[np.flatnonzero(icmp_err)] = _quotes_ike_udp(u8, l4[icmp_err], last[icmp_err])
    slow = (
        (ip_plain & udp_ipsec & ~keepalive & ~udp_esp_fast)
        | (ip_plain & (proto == IPPROTO_ESP) & ~esp_fast)
        | (ip_plain & (proto == IPPROTO_AH))
        | frag4
        | (v6 & _one_of(nh6, (IPV6_FRAGMENT,) + IPV6_EXT))
        | icmp_err
    )
    # TCP: RFC 8229 candidates
    tcp_v = ip_plain & is_tcp & ~slow
    tcp_rows = np.flatnonzero(tcp_v)
    extra_old: list[tuple[_Chunk, int, int]] = []
    if len(tcp_rows):
        t_l4 = l4[tcp_rows]
        doff = (trans[tcp_rows, 12] >> 4).astype(np.int64) * 4
        t_pay = t_l4 + doff
        t_len = ip_end[tcp_rows] - t_pay
        pfx = np.zeros(len(tcp_rows), bool)
        k = len(tcpencap.PREFIX)
        okp = (t_len >= k) & (t_pay + k <= last[tcp_rows])
        if okp.any():
            pfx[okp] = (_window(u8, t_pay[okp], k) == _TCP_PREFIX).all(axis=1)
        # A segment of fewer bytes may hold the prefix's beginning (tcpencap.begins_prefix).
        part = (t_len >= 1) & (t_len < k) & (t_pay + t_len <= last[tcp_rows])
        if part.any():
            got = t_len[part]
            w = _window(u8, t_pay[part], k - 1)
            begins = ((w == _TCP_PREFIX[:-1]) | (np.arange(k - 1) >= got[:, None])).all(axis=1)
            pfx[np.flatnonzero(part)[begins]] = True
        h = _stream_hash(fr, tcp_rows, l3[tcp_rows], sport[tcp_rows], dport[tcp_rows], v6[tcp_rows])
        new = set(h[pfx].tolist())
        watched = list(st.watched_ports)
        portm = _one_of(sport[tcp_rows], watched) | _one_of(dport[tcp_rows], watched)
        new |= set(h[portm].tolist())
        new -= st.tcp_hashes
        if new and st.prev is not None:
            ph, pchunk, pidx, pl3 = st.prev
            hit = np.isin(ph, list(new))
            extra_old = [(pchunk, int(i), int(o)) for i, o in zip(pidx[hit], pl3[hit])]
        st.tcp_hashes |= new
        cand = np.isin(h, list(st.tcp_hashes)) if st.tcp_hashes else np.zeros(len(tcp_rows), bool)
        slow[tcp_rows[cand]] = True
        keep = ~cand
        st.prev = (h[keep], ch, tcp_rows[keep], l3[tcp_rows[keep]])
    else:
        st.prev = None

    fast_esp = esp_fast & ~slow
    fast_uesp = udp_esp_fast & ~slow
    fast_ka = keepalive & ~slow
    is_fast = fast_esp | fast_uesp | fast_ka
    # Most IKE messages of a busy day are encrypted IKEv2 exchanges (DPD, rekeys): a header
    # and one SK payload, whose every field sits at a fixed offset.
    sealed = slow & _sealed_ike(fr, v4_plain & is_udp & port4500, l4, ip_end, last, ip_total, ihl)
    slow &= ~sealed
    other = ~(is_fast | slow | sealed) & known
    report.count("other-traffic", int(other.sum()))
    report.count("event", int(is_fast.sum()) + int(sealed.sum()))

    parts = []
    idx = np.flatnonzero(is_fast)
    if len(idx):
        parts.append(
            _fast_frame(ch, st, fr, idx, fast_esp, fast_uesp, fast_ka, l3, l4, ip_end, sport, dport, v6)
        )
    rows = []
    for pchunk, i, at in extra_old:  # handshake of a stream recognised only in this chunk
        report.count("other-traffic", -1)
        _slow_frame(pchunk, i, at, st, rows)
    # Frame order, as the duplicate check keeps a window of recent IKE packets.
    dup = []
    for i in np.flatnonzero(slow | sealed):
        if sealed[i]:
            # The IP packet, not the frame: a link trailer (Ethernet padding, an FCS) differs
            # between two copies of one packet that crossed two links (a tunnel, a VLAN).
            dup.append(_duplicate(st, int(ch.ts[i]), ch.first_ref + int(i), bytes(buf[l3[i] : ip_end[i]])))
        else:
            _slow_frame(ch, int(i), int(l3[i]), st, rows)
    if len(rows):
        parts.append(_rows_frame(rows, st))
    idx = np.flatnonzero(sealed)
    if len(idx):
        parts.append(_sealed_frame(ch, st, fr, idx, l3, l4, sport, dport, np.array(dup, bool)))
    return parts


# UDP header and the non-ESP marker before an IKE message on 4500 (RFC 3948 §2.2).
NATT_IKE_OFFSET = 8 + len(natt.NON_ESP_MARKER)
# ... then the IKE header and the first payload's generic header: all a sealed message's row reads.
SEALED_WINDOW = NATT_IKE_OFFSET + wike.HEADER_LEN + 4


def _sealed_ike(fr: _Frames, cand, l4, ip_end, last, ip_total, ihl) -> np.ndarray:
    """UDP 4500 datagrams, whole in the capture, carrying an IKEv2 message that is its header
    and one SK payload ending exactly where the message does: what the general decoder would
    find in them is fixed by a few header fields (see :func:`_sealed_frame`)."""
    out = np.zeros(len(cand), bool)
    c = np.flatnonzero(cand & (ip_end <= last) & (ip_total >= ihl + 8))
    if not len(c):
        return out
    w = fr.window(l4[c], SEALED_WINDOW, c)  # inside the frame wherever `ok` holds below
    wire_len = ip_total[c] - ihl[c]
    ulen = _u16(w, 4)
    size = ulen - NATT_IKE_OFFSET
    ike = NATT_IKE_OFFSET
    ok = (ulen == wire_len) & (size >= wike.HEADER_LEN + 4)
    ok &= _u32(w, 8) == 0  # non-ESP marker (RFC 3948)
    ok &= (w[:, ike + wike.AT_VERSION] >> 4 == 2) & (w[:, ike + wike.AT_NEXT] == iana.PAYLOAD_SK)
    ok &= _u32(w, ike + wike.AT_LENGTH) == size
    sk_len = _u16(w, ike + wike.HEADER_LEN + 2)
    ok &= (sk_len >= 4) & (wike.HEADER_LEN + sk_len == size)
    out[c[ok]] = True
    return out


def _names(values: np.ndarray, name) -> pa.Array:
    uniq, inv = np.unique(values, return_inverse=True)
    return pa.array([name(int(x)) for x in uniq], pa.string()).take(pa.array(inv.astype(np.int64)))


def _sealed_frame(ch, st, fr: _Frames, idx, l3, l4, sport, dport, dup) -> pa.Table:
    """The rows :func:`_ike_row` makes of :func:`_sealed_ike` messages, from whole columns:
    the same fields and the same one-line summary as :meth:`IkeMessage.info`."""
    n = len(idx)
    w = fr.window(l4[idx], SEALED_WINDOW, idx)
    ike = NATT_IKE_OFFSET
    plen = _u16(w, 4) - 8  # the UDP payload, marker included, as _ike_row counts it
    exch = _names(w[:, ike + wike.AT_EXCHANGE], lambda x: iana.exchange_name(2, x))
    flags = w[:, ike + wike.AT_FLAGS]
    response = (flags & iana.FLAG_V2_RESPONSE) != 0
    initiator = (flags & iana.FLAG_V2_INITIATOR) != 0
    msg_id = _u32(w, ike + wike.AT_MSG_ID)
    ispi = _hex_strings(w[:, ike : ike + 8])
    rspi = _hex_strings(w[:, ike + 8 : ike + 16])
    inner_no = w[:, ike + wike.HEADER_LEN]
    inner = pc.if_else(pa.array(inner_no != 0), pc.binary_join_element_wise(
        " inner=", _names(inner_no, lambda x: iana.payload_name(2, x)), ""), "")
    addr = fr.window(l3[idx] + 12, 8, idx)
    src, dst = _ipv4_strings(_u32(addr, 0)), _ipv4_strings(_u32(addr, 4))
    sp, dp = pa.array(sport[idx].astype(np.int32)), pa.array(dport[idx].astype(np.int32))
    sk = iana.payload_name(2, iana.PAYLOAD_SK)
    text = pc.binary_join_element_wise(
        src, ":", sp.cast(pa.string()), " > ", dst, ":", dp.cast(pa.string()), " IKEv2 ", exch, " ",
        pc.if_else(pa.array(response), "response", "request"), " ", pc.if_else(pa.array(initiator), "(I)", "(R)"),
        " mid=", pa.array(msg_id).cast(pa.string()), " ", ispi, "/", rspi, f" [{sk}]", inner, "")
    ts = ch.ts[idx]
    cols = {
        "time": pa.array((ts // 1000).astype("datetime64[us]")),
        "t": (ts - st.first_ts) / 1e9,
        "ref": ch.first_ref + idx,
        "kind": pa.repeat("ike", n),
        "src": src,
        "dst": dst,
        "sport": sp,
        "dport": dp,
        "proto": pa.repeat("udp", n),
        "length": plen.astype(np.int32),
        "transport": pa.repeat("udp4500", n),
        "ike_version": np.full(n, 2, np.int8),
        "exchange": exch,
        "response": response,
        "msg_id": msg_id,
        "ispi": ispi,
        "rspi": rspi,
        "payloads": pa.repeat(sk, n),
        "detail": pc.if_else(pa.array(dup), DUPLICATE, pa.scalar(None, pa.string())),
        "text": text,
    }
    _iface_columns(cols, ch, st, idx)
    cols["wire"] = np.ones(n, dtype=bool)  # every capture row is one packet (events.py, `wire`)
    return ev.table(cols, n)


def _stream_hash(fr: _Frames, rows, l3, pa_, pb, is6) -> np.ndarray:
    """A direction-independent 64-bit key of a TCP 4-tuple (collisions are re-checked)."""
    addr = fr.window(l3 + 12, 8, rows)
    a, b = _u32(addr, 0), _u32(addr, 4)
    if is6.any():  # IPv6 rows fold their 128-bit addresses (read only for those rows)
        w6 = fr.window(l3[is6] + 8, 32, rows[is6])
        a[is6] = _u32(w6, 0) ^ _u32(w6, 12)
        b[is6] = _u32(w6, 16) ^ _u32(w6, 28)
    e1 = ((a << 16) | pa_).astype(np.uint64)
    e2 = ((b << 16) | pb).astype(np.uint64)
    lo, hi = np.minimum(e1, e2), np.maximum(e1, e2)
    with np.errstate(over="ignore"):
        return (lo * np.uint64(0x9E3779B97F4A7C15)) ^ hi


# ----------------------------------------------------------------------------- fast rows
def _ipv4_strings(values: np.ndarray) -> pa.Array:
    uniq, inv = np.unique(values, return_inverse=True)
    names = pa.array([inet_ntoa(int(x).to_bytes(4, "big")) for x in uniq], pa.string())
    return names.take(pa.array(inv.astype(np.int64)))


def _ipv6_strings(rows: np.ndarray) -> pa.Array:
    """Each 16-byte row as the address ipaddress prints (compressed), one string per distinct
    address."""
    keys = np.ascontiguousarray(rows).view("V16").ravel()
    uniq, inv = np.unique(keys, return_inverse=True)
    names = pa.array([str(ipaddress.IPv6Address(bytes(x))) for x in uniq], pa.string())
    return names.take(pa.array(inv.astype(np.int64)))


# Two lowercase hex digits per byte value, as one 16-bit item (memory order = text order).
_HEX_PAIRS = np.frombuffer(bytes.fromhex("").join(f"{i:02x}".encode() for i in range(256)), np.uint16)


def _hex_strings(rows: np.ndarray) -> pa.Array:
    """Each row of bytes (an (n, k) uint8 array) as its lowercase hex string, built as one
    buffer: no Python object per row."""
    n, k = rows.shape
    text = np.ascontiguousarray(_HEX_PAIRS[rows]).view(np.uint8)
    offsets = np.arange(0, 2 * k * n + 1, 2 * k, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text))


def _hex8(values: np.ndarray) -> pa.Array:
    uniq, inv = np.unique(values, return_inverse=True)
    names = pa.array([f"{int(x):08x}" for x in uniq], pa.string())
    return names.take(pa.array(inv.astype(np.int64)))


def _fast_frame(ch, st, fr: _Frames, idx, fast_esp, fast_uesp, fast_ka, l3, l4, ip_end, sport, dport, v6):
    n = len(idx)
    e = fast_esp[idx]
    u = fast_uesp[idx]
    k = fast_ka[idx]
    l3i, l4i = l3[idx], l4[idx]
    esp_at = np.where(e, l4i, l4i + 8)
    esp = fr.window(esp_at, 8, idx)
    spi, seq = _u32(esp, 0), _u32(esp, 4)
    addr = fr.window(l3i + 12, 8, idx)
    src, dst = _ipv4_strings(_u32(addr, 0)), _ipv4_strings(_u32(addr, 4))
    six = v6[idx]
    if six.any():  # IPv6 rows: their 16-byte addresses replace what the IPv4 offsets read
        mask = pa.array(six)
        addr6 = fr.window(l3i[six] + 8, 32, idx[six])
        src = pc.replace_with_mask(src, mask, _ipv6_strings(addr6[:, :16]))
        dst = pc.replace_with_mask(dst, mask, _ipv6_strings(addr6[:, 16:]))
    sp = np.where(e, 0, sport[idx])
    dp = np.where(e, 0, dport[idx])
    length = np.where(e, ip_end[idx] - l4i, ip_end[idx] - l4i - 8)
    mask_spi, plain = pa.array(k), pa.array(e)
    # Constant words by arrow selects: numpy string arrays would cost a conversion each.
    kind = pc.if_else(mask_spi, "nat-keepalive", "esp")
    transport = pc.if_else(plain, "esp", "udp4500")
    proto = pc.if_else(plain, "esp", "udp")
    spi_s = pc.if_else(mask_spi, pa.nulls(n, pa.string()), _hex8(spi))
    seq_a = pc.if_else(mask_spi, pa.nulls(n, pa.int64()), pa.array(seq))
    sport_a = pc.if_else(plain, pa.nulls(n, pa.int32()), pa.array(sp.astype(np.int32)))
    dport_a = pc.if_else(plain, pa.nulls(n, pa.int32()), pa.array(dp.astype(np.int32)))
    ends = pc.if_else(plain, pa.scalar(""), pc.binary_join_element_wise(":", sport_a.cast(pa.string()), ""))
    endd = pc.if_else(plain, pa.scalar(""), pc.binary_join_element_wise(":", dport_a.cast(pa.string()), ""))
    label = pc.if_else(
        mask_spi,
        pa.scalar("NAT-keepalive"),
        pc.binary_join_element_wise(
            pc.if_else(pa.array(u), pa.scalar("ESP-in-UDP"), pa.scalar("ESP")),
            " spi=0x",
            spi_s,
            " seq=",
            seq_a.cast(pa.string()),
            "",
        ),
    )
    src_t, dst_t = src, dst
    if six.any():  # `[2001:db8::1]:4500`, as the reports write an endpoint (endpoints.py)
        ported = pa.array(six & ~e)
        src_t = pc.if_else(ported, pc.binary_join_element_wise("[", src, "]", ""), src)
        dst_t = pc.if_else(ported, pc.binary_join_element_wise("[", dst, "]", ""), dst)
    text = pc.binary_join_element_wise(src_t, ends, " > ", dst_t, endd, " ", label, "")
    ts = ch.ts[idx]
    cols = {
        "time": pa.array((ts // 1000).astype("datetime64[us]")),
        "t": (ts - st.first_ts) / 1e9,
        "ref": ch.first_ref + idx,
        "kind": kind,
        "src": src,
        "dst": dst,
        "sport": sport_a,
        "dport": dport_a,
        "proto": proto,
        "length": length.astype(np.int32),
        "transport": transport,
        "esp_spi": spi_s,
        "esp_seq": seq_a,
        "text": text,
    }
    _iface_columns(cols, ch, st, idx)
    cols["wire"] = np.ones(n, dtype=bool)  # every capture row is one packet (events.py, `wire`)
    return ev.table(cols, n)


def _iface_columns(cols, ch, st, idx) -> None:
    names = [i.name for i in st.ifaces]
    if any(names):
        cols["iface"] = [names[int(i)] for i in ch.iface[idx]]
    if (ch.opt[idx] >= 0).any():
        cols["direction"] = EPB_DIRECTIONS[_epb_flags(ch, st)[idx] & 3].tolist()


def _epb_flags(ch: _Chunk, st: _State) -> np.ndarray:
    """Each frame's pcapng epb_flags word (0 when it has none: a classic pcap's frames):
    its direction in bits 0-1, its FCS length in bytes in bits 5-8 (0: not known;
    draft-ietf-opsawg-pcapng §4.3.1). Read once per chunk (kept in ``ch.flags``): the options
    lists are walked whole-column, one option of every list still open a pass (epb_flags is
    most often the first), each read in its section's byte order."""
    if ch.flags is not None:
        return ch.flags
    out = ch.flags = np.zeros(len(ch.opt), np.int64)
    rows = np.flatnonzero(ch.opt + 4 <= ch.opt_end)
    if not len(rows):
        return out
    u8 = np.frombuffer(st.buf, np.uint8)
    at, end = ch.opt[rows], ch.opt_end[rows]
    big = np.array([f.endian == ">" for f in st.ifaces], bool)[ch.iface[rows]]

    def word(pos: np.ndarray, size: int, big: np.ndarray) -> np.ndarray:
        b = u8[pos[:, None] + np.arange(size)].astype(np.int64)
        shifts = 8 * np.arange(size)
        return np.where(big, (b << shifts[::-1]).sum(axis=1), (b << shifts).sum(axis=1))

    while len(rows):  # each pass moves every list on by at least one option header: it ends
        code, length = word(at, 2, big), word(at + 2, 2, big)
        flags = (code == EPB_FLAGS) & (length >= 4) & (at + 8 <= end)
        if flags.any():  # (the value after the option's code and length)
            out[rows[flags]] = word(at[flags] + 4, 4, big[flags])
        at = at + 4 + ((length + 3) & ~3)
        more = ~flags & (code != 0) & (at + 4 <= end)  # (opt_endofopt, 0, ends a list)
        rows, at, end, big = rows[more], at[more], end[more], big[more]
    return out


# Rows the whole-column reads make without looking at each packet's bytes, by what repeats in a
# capture duplicate of one, and how many frames apart a copy may be (None: any). ESP never
# repeats a (SPI, sequence) pair (RFC 4303 §3.3.3). A NAT keepalive is the same byte every
# time, but a host sends one every 10-20 s (RFC 3948 §2.3): two on one path within the window
# and a few frames are one captured twice. The rows carry no IP ID to tell two keepalives
# apart, so where the two times are equal (a capture whose times are all equal, where the two
# directions' keepalives alternate a frame apart) only the frame right after is a copy.
REPEAT_KEYS: dict[str, tuple[list[str], int | None]] = {
    "esp": (["src", "dst", "esp_spi", "esp_seq", "transport"], None),
    "nat-keepalive": (["src", "dst", "sport", "dport"], DUPLICATE_MAX_FRAMES),
}


def _mark_column_duplicates(out: pd.DataFrame) -> pd.DataFrame:
    """A repeat of REPEAT_KEYS within the window is a capture duplicate. ESP rows whose header
    was cut short have no pair to compare."""
    kind = out["kind"]
    marks = []
    for name, (keys, frames) in REPEAT_KEYS.items():
        rows = (kind == name) & out[keys[2]].notna() & out[keys[3]].notna()
        if not rows.any():
            continue
        sub = out.loc[rows, keys + ["t", "ref"]]
        prev = sub.groupby(keys, dropna=False, sort=False)[["t", "ref"]].shift(1)
        gap = (sub["t"] - prev["t"]).abs()  # (a capture out of time order goes back: a copy is near either way)
        dup = gap.notna() & (gap <= DUPLICATE_WINDOW_S)
        if frames is not None:
            apart = sub["ref"] - prev["ref"]
            dup &= (apart <= frames) & ((gap > 0) | (apart == 1))
        dup = dup.fillna(False).astype(bool)
        if dup.any():
            marks.append(dup[dup].index)
    if marks:
        detail = out["detail"].copy()
        for index in marks:
            detail.loc[index] = DUPLICATE
        out["detail"] = detail
    return out


# ----------------------------------------------------------------------------- slow rows
def _rows_frame(rows: list[dict], st: _State) -> pa.Table:
    """Events decoded one by one, a dict each (with `ts`, ns since the epoch), as columns at
    once; the columns no row has are null."""
    cols = ev.columns(rows)
    ts = np.array(cols.pop("ts"), np.int64)
    cols["time"] = pa.array((ts // 1000).astype("datetime64[us]"))
    cols["t"] = (ts - st.first_ts) / 1e9
    cols["wire"] = np.ones(len(rows), dtype=bool)  # every capture row is one packet (events.py, `wire`)
    return ev.table(cols, len(rows))


@dataclass
class _Pkt:
    """One decoded frame on the slow path."""

    ref: int
    ts: int
    iface: str | None
    direction: str | None
    src: str
    dst: str
    proto: int
    ip: bytes  # the L3 packet bytes captured (for duplicate detection)
    l4: bytes  # the L4 header + payload captured
    l4_wire_len: int  # L4 length on the wire (from the IP header)


def _slow_frame(ch: _Chunk, i: int, at: int, st: _State, rows: list[dict]) -> None:
    """Decode frame ``i`` of ``ch`` one field at a time, from its network-layer packet at ``at``
    (found for the whole chunk by _link_layer and _decapsulate)."""
    ref = ch.first_ref + i
    meta = (ref, int(ch.ts[i]), st.ifaces[int(ch.iface[i])].name, EPB_DIRECTIONS[_epb_flags(ch, st)[i] & 3])
    _ip(bytes(st.buf[at : int(ch.off[i]) + int(ch.cap[i])]), meta, st, rows)


def _ip(l3: bytes, meta, st: _State, rows: list[dict]) -> None:
    ref, ts, ifname, direction = meta
    if len(l3) >= 20 and l3[0] >> 4 == 4:
        ihl = (l3[0] & 0x0F) * 4
        total = struct.unpack_from("!H", l3, 2)[0]
        ident, fragf = struct.unpack_from("!HH", l3, 4)
        proto = l3[9]
        src = inet_ntoa(l3[12:16])  # dotted quad, as ipaddress prints it, at a fraction of the cost
        dst = inet_ntoa(l3[16:20])
        if ihl < 20 or len(l3) < ihl:
            st.report.count("other-traffic")
            return
        if total == 0:  # segmentation offload leaves the length 0: the packet is what was captured
            total = len(l3)
        body = l3[ihl:total] if total >= ihl else l3[ihl:]
        wire_len = max(total - ihl, 0)
        if fragf & 0x3FFF:
            if _duplicate(st, ts, ref, l3[:total]):  # the same piece captured twice: held once
                st.report.count("duplicate")
                return
            _fragment(
                st,
                rows,
                meta,
                (src, dst, ident, proto),
                src,
                dst,
                proto,
                (fragf & 0x1FFF) * 8,
                bool(fragf & 0x2000),
                body,
                wire_len,
            )
            return
        _l4(st, rows, meta, src, dst, proto, body, wire_len, l3[:total])  # the packet without a link trailer
        return
    if len(l3) >= 40 and l3[0] >> 4 == 6:
        plen = struct.unpack_from("!H", l3, 4)[0]
        nh = l3[6]
        src = str(ipaddress.IPv6Address(l3[8:24]))
        dst = str(ipaddress.IPv6Address(l3[24:40]))
        off = 40
        end = 40 + plen
        for _ in range(8):
            if nh in IPV6_EXT and off + 2 <= len(l3):
                nh, off = l3[off], off + (l3[off + 1] + 1) * 8
            elif nh == IPV6_FRAGMENT and off + 8 <= len(l3):
                if _duplicate(st, ts, ref, l3[:end]):  # the same piece captured twice: held once
                    st.report.count("duplicate")
                    return
                fnh = l3[off]
                offm, ident = struct.unpack_from("!HI", l3, off + 2)
                _fragment(
                    st,
                    rows,
                    meta,
                    (src, dst, ident, fnh),
                    src,
                    dst,
                    fnh,
                    offm & 0xFFF8,
                    bool(offm & 1),
                    l3[off + 8 : end],
                    max(end - off - 8, 0),
                )
                return
            else:
                break
        _l4(st, rows, meta, src, dst, nh, l3[off:end], max(end - off, 0), l3[:end])  # without a link trailer
        return
    st.report.count("other-traffic")


def _fragment(st, rows, meta, key, src, dst, proto, offset, more, data: bytes, wire: int) -> None:
    """Hold a piece (``data``: its captured bytes; ``wire``: its length by the IP header) until
    the pieces cover the packet on the wire. A snapshot length may have cut pieces: the packet
    is then what was captured of it from its start, up to the first byte not captured, and its
    length on the wire is still the whole packet's (what it was sent as, for IKE107)."""
    pieces = st.frags.setdefault(key, [])
    pieces.append((offset, more, data, meta, max(wire, len(data))))
    total = None
    for off, mf, _d, _m, w in pieces:
        if not mf:
            total = off + w
    if total is None:
        return
    covered = 0
    in_order = sorted(pieces, key=lambda p: p[0])
    for off, _mf, _d, _m, w in in_order:
        if off > covered:
            return
        covered = max(covered, off + w)
    if covered < total:
        return
    payload = bytearray(total)
    captured = 0  # the end of the captured bytes that follow on from the packet's start
    for off, _mf, d, _m, _w in in_order:
        payload[off : off + len(d)] = d[: total - off]
        if off <= captured:
            captured = max(captured, min(off + len(d), total))
    payload = bytes(payload[:captured])
    del st.frags[key]
    before = st.report.accounting.get("event", 0)
    inner = _carried(st.report, proto, payload)
    if inner is None:
        _l4(st, rows, meta, src, dst, proto, payload, total, payload, reassembled=len(pieces))
    elif inner:
        _ip(inner, meta, st, rows)
    else:
        st.report.count("other-traffic")
    kept = st.report.accounting.get("event", 0) > before
    st.report.count("continuation" if kept else "other-traffic", len(pieces) - 1)


def _carried(report: InputReport, proto: int, payload: bytes) -> bytes | None:
    """The packet a reassembled tunnel packet carries (GRE, IP-in-IP, VXLAN, Geneve: a mirror's
    or a carrier's packet, fragmented because the mirrored frame was full size): found by the
    same _decapsulate that whole packets take, over a one-row chunk. None when the payload is
    no tunnel's; empty when the tunnel carries no IP packet."""
    port = struct.unpack_from("!H", payload, 2)[0] if len(payload) >= 4 else -1
    if not (proto in TUNNEL_PROTOS or (proto == IPPROTO_UDP and port in (UDP_VXLAN, UDP_GENEVE))):
        return None
    if len(payload) > 0xFFFF - 20:
        return b""
    # An IPv4 header around it (the outer addresses play no part in what is inside).
    buf = struct.pack("!BBHIBBH8x", 0x45, 0, 20 + len(payload), 0, 64, proto, 0) + payload
    u8 = np.frombuffer(buf, np.uint8)
    l3, etype, last = np.zeros(1, np.int64), np.full(1, ETHERTYPE_IPV4, np.int64), np.full(1, len(buf), np.int64)
    for _ in range(TUNNEL_DEPTH):
        if not _decapsulate(u8, l3, etype, last, _headers(_Frames(u8), l3, etype, last), report):
            break
    ip = int(l3[0]) > 0 and int(etype[0]) in (ETHERTYPE_IPV4, ETHERTYPE_IPV6)
    return buf[int(l3[0]) : int(last[0])] if ip else b""


def _l4(st, rows, meta, src, dst, proto, body: bytes, wire_len: int, ip: bytes, reassembled: int = 0) -> None:
    ref, ts, ifname, direction = meta
    base = {
        "ref": ref,
        "ts": ts,
        "iface": ifname,
        "direction": direction,
        "src": src,
        "dst": dst,
    }
    if reassembled:
        base["detail"] = f"reassembled from {reassembled} IP fragments"
    if proto == IPPROTO_AH and len(body) >= 2:
        nh, ahlen = body[0], (body[1] + 2) * 4
        if nh == IPPROTO_ESP:
            _esp_row(st, rows, base, body[ahlen:], max(wire_len - ahlen, 0), "esp", None, None, ip)
            return
        st.report.count("other-traffic")
        return
    if proto == IPPROTO_ESP:
        _esp_row(st, rows, base, body, wire_len, "esp", None, None, ip)
        return
    if proto == IPPROTO_UDP and len(body) >= 8:
        sport, dport, ulen = struct.unpack_from("!HHH", body, 0)
        payload = body[8:]
        plen = max(min(wire_len, ulen if ulen >= 8 else wire_len) - 8, 0)
        payload = payload[:plen]
        if IKE_NATT_PORT in (sport, dport):
            what = natt.classify(payload)
            if what == "nat-keepalive":
                st.report.count("event")
                rows.append(
                    {
                        **base,
                        "kind": "nat-keepalive",
                        "proto": "udp",
                        "sport": sport,
                        "dport": dport,
                        "length": plen,
                        "transport": "udp4500",
                        "text": f"{endpoint(src, sport)} > {endpoint(dst, dport)} NAT-keepalive",
                    }
                )
                return
            if what == "ike":
                _ike_row(st, rows, base, payload[4:], plen, "udp4500", sport, dport, ip)
                return
            _esp_row(st, rows, base, payload, plen, "udp4500", sport, dport, ip)
            return
        if IKE_PORT in (sport, dport):
            _ike_row(st, rows, base, payload, plen, "udp500", sport, dport, ip)
            return
    if proto == IPPROTO_TCP and len(body) >= 20:
        _tcp(st, rows, base, body, wire_len)
        return
    if proto in (IPPROTO_ICMP, IPPROTO_ICMPV6) and _icmp_row(rows, base, proto, body, wire_len):
        if _duplicate(st, base["ts"], base["ref"], ip):  # a copy: its words stay in its text only
            rows[-1]["detail"] = DUPLICATE
        st.report.count("event")
        return
    st.report.count("other-traffic")


def _icmp_row(rows: list[dict], base: dict, proto: int, body: bytes, wire_len: int) -> bool:
    """An ICMP error of ICMP_KEPT about a UDP datagram to or from 500/4500 (which it quotes
    after its 8-byte header: RFC 792, RFC 4443 §3.1) as an `icmp` event, as a tcpdump text
    line of it reads (sources/tcpdump.py): the error's addresses, its length, tcpdump's words
    as `detail`. The quoted datagram is not an event of its own. False for any other."""
    words = ICMP_KEPT.get((proto, body[0], body[1])) if len(body) >= 2 else None
    quoted = body[ICMP_HEADER:]
    if words is None:
        return False
    if proto == IPPROTO_ICMP and len(quoted) >= 20 and quoted[0] >> 4 == 4:
        ihl, inner, dst = (quoted[0] & 0x0F) * 4, quoted[9], inet_ntoa(quoted[16:20])
    elif proto == IPPROTO_ICMPV6 and len(quoted) >= 40 and quoted[0] >> 4 == 6:
        ihl, inner, dst = 40, quoted[6], str(ipaddress.IPv6Address(quoted[24:40]))
    else:
        return False
    if inner != IPPROTO_UDP or len(quoted) < ihl + 4:
        return False
    sport, dport = struct.unpack_from("!HH", quoted, ihl)
    if not {sport, dport} & {IKE_PORT, IKE_NATT_PORT}:
        return False
    detail = words.format(dst=dst, dport=dport)
    rows.append({**base, "kind": "icmp", "proto": "icmp", "length": wire_len, "detail": detail,
                 "text": f"{base['src']} > {base['dst']}: {ICMP_NAMES[proto]} {detail}, length {wire_len}"})
    return True


def _duplicate(st: _State, ts: int, ref: int, ip: bytes) -> bool:
    """The same IP packet (every byte, IP ID included) within a few frames and milliseconds.

    A stack that retransmits sends a new IP packet seconds later; a capture that sees a
    packet twice (two taps, a bridge and its port) records the same bytes back to back.
    The frame distance guards captures whose timestamps are all equal.
    """
    digest = hashlib.blake2b(ip, digest_size=12).digest()
    last = st.recent.get(digest)
    st.recent[digest] = (ts, ref)
    if len(st.recent) > 50_000:
        horizon = ts - int(DUPLICATE_WINDOW_S * 1e9)
        st.recent = {k: v for k, v in st.recent.items() if v[0] >= horizon}
    return (
        last is not None
        and abs(ts - last[0]) <= DUPLICATE_WINDOW_S * 1e9
        and ref - last[1] <= DUPLICATE_MAX_FRAMES
    )


def _esp_row(st, rows, base, data: bytes, wire_len: int, transport, sport, dport, ip, count=True) -> None:
    row = {
        **base,
        "kind": "esp",
        "proto": "udp" if sport is not None else "esp",
        "sport": sport,
        "dport": dport,
        "length": wire_len,
        "transport": transport,
    }
    ends = (
        f"{endpoint(base['src'], sport)} > {endpoint(base['dst'], dport)}"
        if sport is not None
        else f"{base['src']} > {base['dst']}"
    )
    try:
        spi, seq = wesp.header(data)
        row["esp_spi"], row["esp_seq"] = wesp.spi_hex(spi), seq
        label = "ESP-in-UDP" if transport == "udp4500" else "ESP" if transport == "esp" else "ESP-in-TCP"
        row["text"] = f"{ends} {label} spi=0x{spi:08x} seq={seq}"
    except WireError as exc:
        row["detail"] = f"ESP header cut short ({exc})"
        if len(data) >= 4:  # the SPI before the cut still names the SA
            row["esp_spi"] = bytes(data[:4]).hex()
        row["text"] = f"{ends} ESP (truncated: {counted(len(data), 'byte')})"
    if count:
        st.report.count("event")
    rows.append(row)


def _ike_row(st, rows, base, data: bytes, wire_len: int, transport, sport, dport, ip, count=True) -> None:
    row = {
        **base,
        "kind": "ike",
        "proto": "tcp" if transport == "tcp" else "udp",
        "sport": sport,
        "dport": dport,
        "length": wire_len,
        "transport": transport,
    }
    ends = f"{endpoint(base['src'], sport)} > {endpoint(base['dst'], dport)}"
    try:
        msg = wike.decode(data)
    except WireError as exc:
        row["kind"] = "other"
        row["detail"] = f"IKE not decodable: {exc}"
        row["text"] = f"{ends} IKE? ({exc})"
    else:
        row.update(_ike_fields(msg), proposals=msg.proposals_summary or None,
                   selectors=msg.selectors_summary or None, text=f"{ends} {msg.info()}")
        if msg.stopped:  # after a reassembly's note (a packet whose pieces a snapshot length cut)
            row["detail"] = "; ".join(filter(None, (base.get("detail"), f"stopped: {msg.stopped}")))
    if ip is not None and _duplicate(st, base["ts"], base["ref"], ip):
        row["detail"] = DUPLICATE
    if count:
        st.report.count("event")
    rows.append(row)


# ----------------------------------------------------------------------------- TCP / RFC 8229
def _tcp(st: _State, rows: list[dict], base: dict, body: bytes, wire_len: int) -> None:
    sport, dport, seq, ack, offflags = struct.unpack_from("!HHIIH", body, 0)
    doff = (offflags >> 12) * 4
    flags = offflags & 0x3F
    payload = body[doff:wire_len] if doff >= 20 else b""
    plen = max(wire_len - doff, 0)
    src, dst = base["src"], base["dst"]
    a, b = (src, sport), (dst, dport)
    key = (a, b) if a <= b else (b, a)
    s = st.streams.get(key)
    if s is None:
        s = _TcpStream(key)
        st.streams[key] = s
    words = " ".join(w for bit, w in TCP_FLAG_WORDS if flags & bit)
    if flags & 0x02:  # SYN
        s.syn_seq[a] = seq
        if not flags & 0x10 and s.client is None:
            s.client = a
    row = {
        **base,
        "kind": "tcp",
        "proto": "tcp",
        "sport": sport,
        "dport": dport,
        "length": plen,
        "tcp_flags": words,
        "tcp_seq": seq,
        "tcp_ack": ack,
        "transport": "tcp",
        "text": f"{endpoint(src, sport)} > {endpoint(dst, dport)} TCP [{words}] seq={seq} ack={ack} len={plen}",
    }
    produced: list[dict] = [row]
    ported = sport in st.tcp_ports or dport in st.tcp_ports
    if not s.confirmed and not s.rejected:
        whole = bool(payload) and tcpencap.starts_with_prefix(payload)
        if payload and s.client == a and a in s.reasm and s.reasm[a].awaiting_prefix:
            pass  # more of a prefix split across segments: decided once fed, below
        elif whole or (payload and tcpencap.begins_prefix(payload)):
            first_ok = a not in s.syn_seq or ((s.syn_seq[a] + 1) & 0xFFFFFFFF) == seq
            if first_ok:
                s.confirmed, s.client = whole or ported, a
            else:
                s.rejected = True
        elif payload and not ported:
            s.rejected = True  # first client payload is not IKETCP: not an RFC 8229 stream
        elif ported:
            s.confirmed = True
            if s.client is None:
                s.client = b if sport in st.tcp_ports else a
    if payload and not s.rejected:
        r = s.reasm.get(a)
        if r is None:
            r = tcpencap.StreamReassembler(expect_prefix=None if s.client == a else False)
            if a in s.syn_seq:
                r.syn(s.syn_seq[a])
            s.reasm[a] = r
        for unit in r.feed(seq, payload, base["ref"]):
            produced.extend(_framed_rows(st, base, unit, sport, dport))
        if not s.confirmed and s.client == a:  # a split prefix: completed, or not a prefix after all
            s.confirmed = r.prefix_seen
            s.rejected = not (r.prefix_seen or r.awaiting_prefix)
        if r.error and not row.get("detail"):
            row["detail"] = f"RFC 8229 framing: {r.error}"
    if s.rejected:
        for held_rows in s.held:
            st.report.count("other-traffic")
            del held_rows
        s.held.clear()
        st.report.count("other-traffic")
        return
    if not s.confirmed:
        s.held.append(produced)
        return
    for held_rows in s.held:
        st.report.count("event")
        for r_ in held_rows:
            rows.append(r_)
    s.held.clear()
    st.report.count("event")
    for r_ in produced:
        rows.append(r_)


def _framed_rows(st: _State, base: dict, unit: tcpencap.Framed, sport: int, dport: int) -> list[dict]:
    ends = f"{endpoint(base['src'], sport)} > {endpoint(base['dst'], dport)}"
    if unit.kind == "prefix":
        return [
            {
                **base,
                "kind": "iketcp-prefix",
                "proto": "tcp",
                "sport": sport,
                "dport": dport,
                "length": 6,
                "transport": "tcp",
                "text": f"{ends} IKETCP stream prefix (RFC 8229)",
            }
        ]
    if unit.kind == "empty":
        return []
    tmp = []
    if unit.kind == "ike":
        _ike_row(st, tmp, base, unit.data, len(unit.data), "tcp", sport, dport, None, count=False)
    else:
        _esp_row(st, tmp, base, unit.data, len(unit.data), "tcp", sport, dport, None, count=False)
        tmp[-1]["proto"] = "tcp"
    return tmp[:1]


# ----------------------------------------------------------------------------- end of input
def _finish(st: _State) -> list[pa.Table]:
    rows = []
    for s in st.streams.values():
        # A stream on TCP 4500 that never carried data: its SYNs and resets are evidence.
        bare = (not s.rejected and IKE_NATT_PORT in (s.key[0][1], s.key[1][1])
                and not any(r_.get("length") for held_rows in s.held for r_ in held_rows))
        for held_rows in s.held:
            st.report.count("event" if bare else "other-traffic")
            if bare:
                rows.extend(held_rows)
        s.held.clear()
    for (src, dst, ident, proto), pieces in st.frags.items():
        first = [p for p in pieces if p[0] == 0]
        # Keep the pieces as evidence unless the first one shows the packet was not IPsec.
        ipsec = proto in (IPPROTO_ESP, IPPROTO_AH, IPPROTO_UDP)
        if first and proto == IPPROTO_UDP and len(first[0][2]) >= 4:
            sp, dp = struct.unpack_from("!HH", first[0][2], 0)
            ipsec = bool({sp, dp} & {IKE_PORT, IKE_NATT_PORT})
        if not ipsec:
            st.report.count("other-traffic", len(pieces))
            continue
        for off, more, data, meta, wire in pieces:
            ref, ts, ifname, direction = meta
            st.report.count("event")
            row = {
                "ref": ref,
                "ts": ts,
                "iface": ifname,
                "direction": direction,
                "kind": "ip-fragment",
                "src": src,
                "dst": dst,
                "proto": _proto_name(proto),
                "length": wire,
                "detail": f"IP fragment id={ident} offset={off} more={'yes' if more else 'no'}; never reassembled",
                "text": f"{src} > {dst} IP fragment id={ident} offset={off}{' +' if more else ''} "
                f"({_proto_name(proto)}, {wire} bytes{f', {len(data)} captured' if len(data) < wire else ''})",
            }
            if off == 0 and proto == IPPROTO_UDP and len(data) >= 8:
                _first_fragment_ike(row, data)
            rows.append(row)
    st.frags.clear()
    return [_rows_frame(rows, st)] if len(rows) else []


def _proto_name(proto: int) -> str:
    return {IPPROTO_UDP: "udp", IPPROTO_TCP: "tcp", IPPROTO_ESP: "esp"}.get(proto, f"ip-proto-{proto}")


def _ike_fields(msg: wike.IkeMessage) -> dict:
    """The event columns an IKE header fills."""
    return {"ike_version": msg.version, "exchange": msg.exchange_name, "response": msg.response,
            "msg_id": msg.msg_id, "ispi": msg.ispi, "rspi": msg.rspi,
            "payloads": " ".join(msg.payloads) or None, "notify": " ".join(msg.notify) or None}


def _first_fragment_ike(row: dict, data: bytes) -> None:
    """What the first piece of a lost IKE packet still tells: its ports and IKE header."""
    sport, dport = struct.unpack_from("!HH", data, 0)
    row.update(sport=sport, dport=dport)
    payload = data[8:]
    if IKE_NATT_PORT in (sport, dport):
        row["transport"] = "udp4500"
        if natt.classify(payload) != "ike":
            if len(payload) >= 4:
                row["esp_spi"] = bytes(payload[:4]).hex()
            if len(payload) >= 8:
                row["esp_seq"] = struct.unpack_from("!I", payload, 4)[0]
            return
        payload = payload[4:]
    else:
        row["transport"] = "udp500"
    try:
        msg = wike.decode(payload)
    except WireError:
        return
    row.update(_ike_fields(msg))
    row["text"] += f" {msg.info()}"
