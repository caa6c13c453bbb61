"""FortiGate `diagnose sniffer packet <iface> '<filter>' <verbosity> <count> <a|l|r>` text.

Only the packet header lines are parsed here (hex-dump lines are recognised by
:mod:`ikeanalyze.sources.text` and counted as bytes of the packet above). The grammar is
tcpdump-like but FortiOS-specific (FORMATS.md §1): the port follows the address after a
dot, TCP prints flag words but no flag word for a bare data/ack segment, ESP is
`ip-proto-50 LEN`, NAT-T traffic is plain `udp LEN` on port 4500.

Every field is extracted for the whole column at once with RE2 patterns, except on lines
of the common shape (:data:`FAST_LINE`, nearly all of a busy run), which byte tests 8
bytes at a time prove and read by position (:func:`fast_shape`). Lines of traffic that
cannot be IPsec are counted, not kept: most are found before this parse
(:func:`other_traffic`), the rest after it (:func:`ipsec_rows`), by the same rules.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze import parallel
from ikeanalyze.sources import spans
from ikeanalyze.sources.regex import forms, groups, hex_to_int, matches, scatter, to_int
from ikeanalyze.wire.ports import IKE_NATT_PORT, IKE_PORT
from ikeanalyze.wire.tcpencap import six_byte_hits

TS_ABS = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+"
TS_REL = r"\d+\.\d+"
IPV4 = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"
IPV6 = r"[0-9A-Fa-f]*:[0-9A-Fa-f:]*"
ADDR = rf"(?:{IPV4}|{IPV6})"

# A header a terminal cut at its width before the `:` that ends the addresses (`...
# FGT_AWS_Tun_primary in 10.3.2.2.500 -> 10.55.3.193.50`): the rest follows as a
# continuation line.
CUT_TAIL = rf"{ADDR}(?:\.\d*)?(?: -?>?(?: {ADDR}(?:\.\d*)?)?)?\s*$"
_STAMP = rf"^(?:{TS_ABS}|{TS_REL}) "
_IFACE_DIR = r"\S+ (?:in|out|--) "
_STAMP_IFACE = rf"{_STAMP}(?:{_IFACE_DIR})?"  # what every header starts with
HEADER_CUT = _STAMP_IFACE + CUT_TAIL

# Where a packet record starts inside a line: several run together on one line is a web
# copy that lost its line breaks (text.py reads each as an event of that line).
RECORD_ANYWHERE = rf"(?:{TS_ABS}|\b\d+\.\d{{6}}) (?:[\w.:@-]+ (?:in|out|--) )?{ADDR}(?:\.\d+)? -> {ADDR}(?:\.\d+)?: "

HEADER = (
    rf"^(?:(?P<ts_abs>{TS_ABS})|(?P<ts_rel>{TS_REL})) (?:(?P<iface>\S+) (?P<dir>in|out|--) )?"
    rf"(?P<body>.*)$"
)

# A header line with addresses, in one pass (most lines); HEADER is the fallback for the
# rest (ARP, `truncated-ip`, `a > b:`), so it runs on few lines.
LINE = (
    rf"^(?:(?P<ts_abs>{TS_ABS})|(?P<ts_rel>{TS_REL})) (?:(?P<iface>\S+) (?P<dir>in|out|--) )?"
    rf"(?P<src>{ADDR})(?:\.(?P<sport>\d+))? -> (?P<dst>{ADDR})(?:\.(?P<dport>\d+))?: +(?P<l4>.*)$"
)

# The L4 summary forms, tried on the text after `src -> dst: `. One row per form: the
# prefix picks the lines a form is tried on (first row whose prefix matches; "" = the
# rest), the pattern's groups map onto event columns.
L4_FORMS: list[tuple[str, str, str]] = [
    ("udp", "udp ", r"^udp (?P<length>\d+)"),
    ("ip-proto", "ip-proto-", r"^ip-proto-(?P<pnum>\d+)(?: (?P<length>\d+))?"),
    # 7.x builds print ESP as tcpdump does, with its SPI and sequence number in hex (and no
    # length): `1.981265 port1 out 202.106.1.1 -> 101.100.1.1: ESP(spi=0x2e03e37b,seq=0x2)`.
    ("esp", "ESP(", r"^ESP\(spi=0x(?P<spi>[0-9A-Fa-f]{1,8}),seq=0x(?P<eseq>[0-9A-Fa-f]{1,16})\)"),
    ("icmp", "icmp", r"^icmp6?: (?P<detail>.*)$"),
    ("icmp", "[icmp6 sum ok] ", r"^\[icmp6 sum ok\] icmp6: (?P<detail>.*)$"),
    ("tcp", "", r"^(?P<flags>(?:(?:syn|fin|rst|psh|urg) )*)(?P<seq>\d+)?(?: ?ack (?P<ack>\d+))?\s*$"),
]
FRAGMENT = r"\(frag (?P<frag_id>\d+):(?P<frag_len>\d+)@(?P<frag_off>\d+)(?P<frag_more>\+)?\)"

# A header whose addresses the author took out, as KB articles and forum pastes do:
# `2024-04-18 09:12:05.120400 port3 out -> ESP(spi=0x5e1f0a27,seq=0x1a)`. Its summary is
# read like any other (:data:`REDACTED_BODY`); src and dst stay empty. Only with the
# interface and direction (verbosity 4 and up) and a summary that starts like one of
# :data:`L4_FORMS` (TCP: flag words or numbers), so that prose with an arrow is not a packet.
REDACTED_BODY = r"^-> (?P<l4>.*)$"


def _redacted_start() -> str:
    """The start of a header without addresses: `<iface> <dir> -> ` and a summary's start."""
    starts = [re.escape(prefix) for _, prefix, _ in L4_FORMS if prefix]
    starts.append(r"(?:(?:syn|fin|rst|psh|urg) )*(?:\d+|ack \d)")
    return rf"{_IFACE_DIR}-> (?:{'|'.join(starts)})"


# A line starts a sniffer packet record when it matches this (used by the line classifier):
# a header with addresses, without (ARP, `truncated-ip`, redacted), in the legacy `a > b:`
# form, or cut at the terminal's width (CUT_TAIL).
HEADER_START = (
    _STAMP + rf"(?:(?:{_IFACE_DIR})?(?:{ADDR}(?:\.\d+)? -> {ADDR}(?:\.\d+)?:|arp |truncated-ip|\S+ > \S+:"
    rf"|{CUT_TAIL})|{_redacted_start()})"
)

# Decided before any field is extracted (a match costs a fraction of an extraction): a
# datagram or IP-protocol line with no IKE/NAT-T port, no ESP/AH and no fragment is other
# traffic. TCP is left to the stream test of :func:`ipsec_rows`.
# Read at the line's first arrow (a joined continuation may hold another packet);
# `ip-proto-6` is TCP whose header the sniffer could not print: left to the TCP test.
PLAIN_TRAFFIC = r"^[^>]*? -> \S+: +(?:udp|ip-proto-(?:[0-57-9]|\d\d+))\b"
MAYBE_IPSEC = rf"\.(?:{IKE_PORT}|{IKE_NATT_PORT})[ :]|ip-proto-5[01]\b|\(frag "
# What the TCP stream test needs of a TCP line: both endpoints as printed, and the numbers.
TCP_LINE = (r"^[^>]*?(?P<a>\S+) -> (?P<b>\S+): +"
            r"(?:ip-proto-6 \d+|(?:(?:syn|fin|rst|psh|urg) )*(?P<seq>\d+)?(?: ?ack (?P<ack>\d+))?)\s*$")

# The shape of nearly every line of a busy sniffer run (verbosity 4 and up, IPv4, TCP or
# UDP): :func:`other_traffic` reads these lines' fields by position. Narrower than the
# grammar above on purpose, so that on these lines MAYBE_IPSEC can match only at a port
# (the fraction has 6 digits, the interface no dot) and every number is exact as a float
# (at most 10 digits).
FAST_ENDPOINT = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,5}"
FAST_TCP = r"(?:(?:syn|fin|rst|psh|urg) )*(?:\d{1,10} ack \d{1,10}|\d{1,10}|ack \d{1,10})"
FAST_LINE = (rf"^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{{6}} [\w-]+ (?:in|out|--) "
             rf"{FAST_ENDPOINT} -> {FAST_ENDPOINT}: (?:udp \d{{1,10}}|{FAST_TCP})$")
_IPSEC_UDP = [IKE_PORT, IKE_NATT_PORT]

# FAST_LINE by byte tests (:func:`fast_shape`), field by field. The stamp is fixed width.
_STAMP = "DDDD-DD-DD DD:DD:DD.DDDDDD "
_IFACE_MAX = 15  # `[\w-]+` is searched for in 16 bytes; a longer name is left to RE2
# The direction words (with the space after them) as little-endian integers, and their masks.
_DIRECTIONS = [(b"in ", "in"), (b"out ", "out"), (b"-- ", None)]
_ENDPOINT_MAX = 21  # `\d{1,3}` x 4 and `\d{1,5}` with the dots between them
# TCP flag words as the sniffer prints them, each with its space: 4 bytes.
_FLAG_WORDS = [b"syn ", b"fin ", b"rst ", b"psh ", b"urg "]

# IANA protocol numbers the sniffer prints as `ip-proto-N`.
PROTO_NAMES = {50: "esp", 51: "ah", 17: "udp", 6: "tcp", 1: "icmp", 2: "igmp", 47: "gre", 89: "ospf"}


def esp_ids(g: dict[str, pa.Array]) -> tuple[pa.Array, pa.Array]:
    """An `ESP(spi=0x...,seq=0x...)` match's SPI (8 lowercase hex digits) and sequence number."""
    return pc.utf8_lpad(pc.utf8_lower(g["spi"]), 8, "0"), hex_to_int(g["eseq"])


def fragments(l4: pa.Array) -> tuple[np.ndarray, list[str]]:
    """The rows whose summary holds `(frag id:len@off[+])` (:data:`FRAGMENT`), and each one's
    detail `frag id=... off=...[ more]`."""
    frag = groups(l4, FRAGMENT)
    is_frag = pc.is_valid(frag["frag_id"]).to_numpy(zero_copy_only=False)
    if not is_frag.any():
        return is_frag, []
    sel = pa.array(is_frag)
    parts = zip(*(frag[k].filter(sel).to_pylist() for k in ("frag_id", "frag_off", "frag_more")))
    return is_frag, [f"frag id={i} off={o}{' more' if more else ''}" for i, o, more in parts]


def parse(core: pa.Array) -> dict[str, object]:
    """Parse sniffer header lines (annotations already removed) into event columns."""
    n = len(core)
    addr = groups(core, LINE)
    has_addr = pc.is_valid(addr["src"]).to_numpy(zero_copy_only=False)
    head = {k: addr[k] for k in ("ts_abs", "ts_rel", "iface", "dir")}
    rest = np.flatnonzero(~has_addr)
    body = pa.nulls(n, pa.string())
    l4 = addr["l4"]
    has_l4 = has_addr.copy()
    if len(rest):
        other = groups(core.take(pa.array(rest)), HEADER)
        head = {k: scatter(v, rest, other[k]) for k, v in head.items()}
        body = scatter(body, rest, other["body"])
        # A header without its addresses: the summary after the bare arrow.
        bare = groups(other["body"], REDACTED_BODY)["l4"]
        l4 = scatter(l4, rest, bare)
        has_l4[rest] = pc.is_valid(bare).to_numpy(zero_copy_only=False)

    proto = np.full(n, None, dtype=object)
    # Numbers stay arrow strings until one cast at the end: no Python object per line.
    length = pa.nulls(n, pa.string())
    flags = pa.nulls(n, pa.string())
    seq = pa.nulls(n, pa.string())
    ack = pa.nulls(n, pa.string())
    detail = np.full(n, None, dtype=object)
    kind = np.full(n, "other", dtype=object)
    esp_spi = pa.nulls(n, pa.string())
    esp_seq = pa.nulls(n, pa.int64())
    untried = has_l4

    for name, rows, g in forms(l4, L4_FORMS, untried):
        m = np.zeros(n, bool)
        m[rows] = True
        if name == "udp":
            proto[m] = "udp"
            length = scatter(length, rows, g["length"])
        elif name == "ip-proto":
            proto[m] = [PROTO_NAMES.get(int(x), f"ip-proto-{x}") for x in g["pnum"].to_pylist()]
            length = scatter(length, rows, g["length"])
        elif name == "esp":
            # Raw ESP (IP protocol 50); with ports it is ESP in UDP (NAT-T), as on a capture.
            proto[m] = np.where(pc.is_valid(addr["sport"].take(pa.array(rows))).to_numpy(zero_copy_only=False),
                                "udp", "esp")
            spi, eseq = esp_ids(g)
            esp_spi, esp_seq = scatter(esp_spi, rows, spi), scatter(esp_seq, rows, eseq)
        elif name == "icmp":
            proto[m] = "icmp"
            kind[m] = "icmp"
            detail[m] = g["detail"].to_pylist()
        elif name == "tcp":
            proto[m] = "tcp"
            # flag words (`syn `, `fin ack`...) plus `ack` when an ack number is printed
            words = pc.cast(pc.utf8_trim_whitespace(pc.fill_null(g["flags"], "")), pa.string())
            with_ack = pc.if_else(pc.equal(words, ""), "ack", pc.binary_join_element_wise(words, "ack", " "))
            words = pc.if_else(pc.is_valid(g["ack"]), with_ack, words)
            words = pc.if_else(pc.equal(words, ""), pa.scalar(None, pa.string()), words)
            flags = scatter(flags, rows, words)
            seq = scatter(seq, rows, g["seq"])
            ack = scatter(ack, rows, g["ack"])

    # Lines without addresses: ARP and `truncated-ip`.
    arp = matches(body, r"^arp ")
    kind[arp] = "arp"
    proto[arp] = "arp"
    truncated = matches(body, r"truncated-ip") | matches(l4, r"truncated-ip")
    detail[truncated] = "truncated-ip"

    # A first fragment and a later one (`ip-proto-17 (frag ...)`: the protocol, no length) alike.
    is_frag, notes = fragments(l4)
    detail[is_frag] = notes
    kind[is_frag] = "ip-fragment"

    # A mangled number too big for its column is null (regex.to_int), not an error.
    addr["sport"], addr["dport"] = to_int(addr["sport"], pa.int32()), to_int(addr["dport"], pa.int32())
    sport = addr["sport"].to_numpy(zero_copy_only=False)
    dport = addr["dport"].to_numpy(zero_copy_only=False)
    cols = {
        "iface": head["iface"],
        "direction": pc.if_else(pc.equal(head["dir"], "--"), None, head["dir"]),
        "src": addr["src"],
        "dst": addr["dst"],
        "sport": addr["sport"],
        "dport": addr["dport"],
        "proto": pa.array(proto, pa.string()),
        "length": to_int(length, pa.int32()),
        "tcp_flags": flags,
        "tcp_seq": to_int(seq, pa.int64()),
        "tcp_ack": to_int(ack, pa.int64()),
    }
    kind, transport = classify(kind, proto, sport, dport, cols["length"])
    cols["kind"] = pa.array(kind, pa.string())
    cols["transport"] = pa.array(transport, pa.string())
    cols["detail"] = pa.array(detail, pa.string())
    cols["esp_spi"] = esp_spi
    cols["esp_seq"] = esp_seq
    cols["ts_abs"] = head["ts_abs"]
    cols["ts_rel"] = head["ts_rel"]
    return cols


def parse_rows(core: pa.Array, rows: np.ndarray, shape: FastShape, lane: np.ndarray) -> dict[str, pa.Array]:
    """:func:`parse` of the lines ``rows`` of ``core``; the ones in ``lane`` (proved by
    ``shape``, with the same text in ``core``) from their fields by position, no pattern."""
    slow = rows[~lane]
    if not lane.any():
        return parse(core.take(pa.array(slow)))
    fast = _shape_columns(core, rows[lane], shape)
    if not len(slow):
        return fast
    cols = parse(core.take(pa.array(slow)))
    # Back in line order: the slow lines' rows first, then the fast ones'.
    order = np.empty(len(rows), np.int64)
    order[np.flatnonzero(~lane)] = np.arange(len(slow))
    order[np.flatnonzero(lane)] = len(slow) + np.arange(len(rows) - len(slow))
    take = pa.array(order)
    return {k: pa.concat_arrays([v, fast[k].cast(v.type)]).take(take) for k, v in cols.items()}


def _shape_columns(core: pa.Array, rows: np.ndarray, shape: FastShape) -> dict[str, pa.Array]:
    """:func:`parse`'s columns of proved lines, from ``shape``'s offsets and values."""
    at = rows
    b = spans.Bytes(core.take(pa.array(rows)))  # the lines side by side: their bytes are read many times
    start = b.start
    src0, dst0 = start + shape.src0[at], start + shape.dst0[at]
    src_end, dst_end = src0 + shape.src_len[at], dst0 + shape.dst_len[at]
    sport, dport = shape.sport[at], shape.dport[at]
    udp = shape.udp[at]
    length = shape.length[at]
    length = pa.array(np.where(length <= np.iinfo(np.int32).max, length, np.nan), pa.float64(),
                      from_pandas=True).cast(pa.int32())
    seq, ack = (pa.array(shape.__dict__[k][at], pa.float64(), from_pandas=True).cast(pa.int64()) for k in ("seq", "ack"))
    # Flag words as printed (without the space after the last), then `ack` if a number is acknowledged.
    l4 = dst_end + 2
    flags_len = shape.flags_len[at]
    words = spans.texts(b, l4, l4 + np.maximum(flags_len - 1, 0))
    acked = pa.array(~np.isnan(shape.ack[at]))
    ack_text, space = pa.scalar("ack", pa.large_string()), pa.scalar(" ", pa.large_string())
    with_ack = pc.if_else(pc.equal(words, ""), ack_text, pc.binary_join_element_wise(words, ack_text, space))
    flags = pc.if_else(acked, with_ack, words)
    flags = pc.if_else(pc.or_(pc.equal(flags, ""), pa.array(udp)), pa.scalar(None, pa.large_string()), flags)
    lens = pc.fill_null(length, -1).to_numpy(zero_copy_only=False)
    no = np.zeros(len(rows), bool)
    kind, transport = _classes(udp, no, ~udp, no, sport, dport, lens)
    names = pa.array([name for _, name in _DIRECTIONS], pa.string())  # `--`: no direction
    return {
        "iface": spans.texts(b, start + len(_STAMP), start + len(_STAMP) + shape.iface_len[at]),
        "direction": names.take(pa.array(shape.direction[at])),
        "src": spans.texts(b, src0, src_end - shape.sport_len[at] - 1),
        "dst": spans.texts(b, dst0, dst_end - shape.dport_len[at] - 1),
        "sport": pa.array(sport, pa.int32()),
        "dport": pa.array(dport, pa.int32()),
        "proto": pa.array(["tcp", "udp"], pa.string()).take(pa.array(udp.astype(np.int8))),
        "length": length,
        "tcp_flags": flags,
        "tcp_seq": seq,
        "tcp_ack": ack,
        "kind": pa.array(_CLASS_KINDS + ["other"], pa.string()).take(pa.array(kind % (len(_CLASS_KINDS) + 1))),
        "transport": pa.array(_CLASS_TRANSPORTS + [None], pa.string()).take(
            pa.array(transport % (len(_CLASS_TRANSPORTS) + 1))),  # -1: the last
        "detail": pa.nulls(len(rows), pa.string()),
        "esp_spi": pa.nulls(len(rows), pa.string()),
        "esp_seq": pa.nulls(len(rows), pa.int64()),
        "ts_abs": spans.texts(b, start, start + len(_STAMP) - 1),
        "ts_rel": pa.nulls(len(rows), pa.large_string()),
    }


def classify(kind: np.ndarray, proto: np.ndarray, sport: np.ndarray, dport: np.ndarray,
             length: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Name what a packet header line is, from protocol, ports and length alone.

    Without payload bytes, UDP 4500 cannot tell IKE from ESP-in-UDP: a 1-byte datagram is
    a NAT-T keepalive (RFC 3948 §2.3); anything else on 4500 is counted as `esp` unless the
    hex dump decodes it (IKE over 4500 is rare next to ESP after the tunnel is up).
    """
    n = len(kind)
    lens = pc.fill_null(length, -1).to_numpy(zero_copy_only=False)
    sp = np.where(np.isnan(sport.astype(float)), -1, sport.astype(float)) if n else sport
    dp = np.where(np.isnan(dport.astype(float)), -1, dport.astype(float)) if n else dport
    k, t = _classes(proto == "udp", proto == "esp", proto == "tcp", kind == "ip-fragment", sp, dp, lens)
    kind = np.where(k >= 0, np.array(_CLASS_KINDS + [None], dtype=object)[k], kind)
    transport = np.array(_CLASS_TRANSPORTS + [None], dtype=object)[t]
    return kind, transport


# classify's names, as the codes _classes gives (-1: the kind stays, no transport).
_CLASS_KINDS = ["ike", "nat-keepalive", "esp", "tcp"]
_CLASS_TRANSPORTS = ["udp500", "udp4500", "esp"]


def _classes(udp: np.ndarray, esp: np.ndarray, tcp: np.ndarray, frag: np.ndarray, sp: np.ndarray,
             dp: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`classify` as codes into _CLASS_KINDS and _CLASS_TRANSPORTS."""
    on500 = udp & ((sp == IKE_PORT) | (dp == IKE_PORT))
    on4500 = udp & ((sp == IKE_NATT_PORT) | (dp == IKE_NATT_PORT)) & ~on500
    keep = on4500 & (lens == 1) & ~frag
    kind = np.full(len(udp), -1, np.int64)
    kind[on500 & ~frag] = 0
    kind[keep] = 1
    kind[(on4500 & ~keep & ~frag) | (esp & ~frag)] = 2
    kind[tcp & ~frag] = 3
    transport = np.full(len(udp), -1, np.int64)
    transport[on500] = 0
    transport[on4500] = 1
    transport[esp] = 2
    return kind, transport


def _le(text: bytes) -> np.uint64:
    return np.uint64(int.from_bytes(text, "little"))


def _prefix(w: np.ndarray, text: bytes) -> np.ndarray:
    return (w & np.uint64((1 << 8 * len(text)) - 1)) == _le(text)


# FastShape's fields and their types: small ones, as a million lines' worth of each is
# written (offsets within a line fit 8 bits: every token is searched for in a few words).
_SHAPE_FIELDS = {
    "iface_len": np.uint8, "direction": np.int8, "src0": np.uint8, "src_len": np.uint8, "dst0": np.uint8,
    "dst_len": np.uint8, "sport": np.int32, "sport_len": np.int8, "dport": np.int32, "dport_len": np.int8,
    "pair": np.int64, "maybe": bool,
    "udp": bool, "length": np.float64, "seq": np.float64, "ack": np.float64, "flags_len": np.int8,
}


class FastShape:
    """The lines proved to match :data:`FAST_LINE` by byte tests (``proved``, per line),
    and their fields (:data:`_SHAPE_FIELDS`, per line; meaningless where not proved).
    Offsets are from the line's start, so they hold in any array that has the same line
    text (the joined records of text.py). ``pair``: the hash of the two endpoints' texts
    (:func:`_pair_hash` of :func:`_text_hash`); ``maybe``: MAYBE_IPSEC matches (an
    endpoint ends in `.500` or `.4500`)."""

    def __init__(self, n: int, shared: bool = False) -> None:
        """``shared``: in memory a forked child fills too (:func:`parallel.zeros`)."""
        # Pages are mapped only when written: an input without such lines costs nothing.
        self.proved = parallel.zeros(n, bool, shared)
        self.__dict__.update({k: parallel.zeros(n, t, shared) for k, t in _SHAPE_FIELDS.items()})


def fast_shape(core: pa.Array) -> tuple[np.ndarray, FastShape]:
    """Which lines match :data:`FAST_LINE`, decided by byte tests 8 bytes at a time (a
    tenth of the RE2 pass over the text) with RE2 only for the few lines the tests leave
    open; and the fields of the lines the tests proved (:class:`FastShape`).

    The tests follow the pattern token by token, each from where the last ended, within
    the line: the stamp (fixed width: a line that fails it cannot match), the interface
    and direction, two endpoints (digits and dots: four dots, no empty group, groups of at
    most 3 digits and a port of at most 5) each followed by its separator, then `udp N` or
    TCP flag words and numbers up to the line's end. A line they cannot prove (an interface
    over 15 bytes, more than two flag words) is tried by RE2."""
    b = spans.Bytes(core)
    n = len(core)
    stamped = _stamped(b, n)
    split = parallel.enabled(n) and parallel.enabled(stamped)
    # A column of other lines (an IKE debug) is first asked one byte of the stamp per line.
    few = stamped * 2 < n
    shape = FastShape(n, shared=split)
    # In blocks of lines: the temporaries stay in cache (whole-column temporaries of a
    # million rows cost more in page faults than in arithmetic). Blocks are independent:
    # with --jobs, a forked child proves half of them.
    rest = parallel.halves(range(0, n, _BLOCK), lambda ks: [_prove(b, np.arange(k, min(k + _BLOCK, n)), shape, few)
                                                             for k in ks], split)
    rest = np.concatenate(rest) if rest else np.zeros(0, np.int64)
    fast = shape.proved.copy()
    if len(rest):
        fast[rest] = matches(core.take(pa.array(rest)), FAST_LINE)
    return fast, shape


_BLOCK = 1 << 15
# How far from a line's start or end :func:`_prove` may read: up to ~40 bytes before its
# end (the two numbers), up to ~160 past its start (each token is looked for where the
# last ended, even past a short line's end: stamp, 16 bytes of interface, direction, two
# endpoints of 24 bytes, separators, a word of `udp`/flags).
_REACH = 200

# One line in this many is asked whether it starts with the stamp (:func:`_stamped`).
_SAMPLE_STEP = 64


def _stamped(b: spans.Bytes, n: int) -> int:
    """About how many of the ``n`` lines start with a sniffer stamp (counted on a sample):
    only they are read past it, so only they make the work worth a fork. A column of
    other lines (an IKE debug: its stamped lines leave at the interface test) costs a
    fork more than the half of it saves."""
    sample = np.arange(0, n, _SAMPLE_STEP)
    return int(np.count_nonzero(spans.fits(b, b.start[sample], _STAMP))) * _SAMPLE_STEP


def _prove(b: spans.Bytes, rows: np.ndarray, shape: FastShape, few: bool = False) -> np.ndarray:
    """:func:`fast_shape` for one block of rows: the proved ones' fields into ``shape``;
    returns the rows left to RE2 (the stamp fits, the rest was not proved). ``few``: few
    lines are expected to start with the stamp: the lines without its first `-` are left
    out first (one read of a word, where the stamp's test reads four)."""
    # Every read below is within _REACH bytes of a line's start or end.
    if len(rows):
        b = b.within(int(b.start[rows[0]]) - _REACH, int(max(b.end[rows[-1]], b.start[rows[-1]] + _REACH)) + _REACH)
    maybe = rows
    if few:
        maybe = rows[(b.words(b.start[rows]) >> np.uint64(8 * _STAMP.index("-"))) & np.uint64(0xFF) == ord("-")]
    maybe = maybe[spans.fits(b, b.start[maybe], _STAMP)]
    if not len(maybe):  # (no line of the block is read further)
        return maybe
    s, e = b.start[maybe], b.end[maybe]

    at = s + len(_STAMP)
    iface, dir_len, direction, good = _iface_direction(b, at)
    # Without an interface name and direction after the stamp a line cannot match (an IKE
    # debug line: `... ike 0:gw:...`): it is neither read further nor left to RE2, unless
    # its name may be longer than the bytes tested (then RE2 decides).
    unread = maybe[~good & (iface > _IFACE_MAX)]
    if not good.all():
        maybe, s, e, at, iface, dir_len, direction = (v[good] for v in (maybe, s, e, at, iface, dir_len, direction))
    ok = np.ones(len(maybe), bool)
    at = at + iface + 1
    src0 = at + dir_len
    src_len, sport, sport_len, src_h = _fast_endpoint(b, src0)
    ok &= (src_len > 0) & _prefix(b.words(src0 + src_len), b" -> ")
    dst0 = src0 + src_len + 4
    dst_len, dport, dport_len, dst_h = _fast_endpoint(b, dst0)
    ok &= (dst_len > 0) & _prefix(b.words(dst0 + dst_len), b": ")

    # `udp N` or TCP: (flag word )* then `SEQ ack ACK`, `SEQ` or `ack ACK`, to the end.
    l4 = dst0 + dst_len + 2
    u = b.words(l4)
    last, last_len = spans.number_before(b, e, l4)
    udp = _prefix(u, b"udp ")
    udp_ok = udp & (last_len == e - l4 - 4)
    p1 = e - last_len
    acked = (p1 - 4 >= l4) & spans.starts(b, p1 - 4, b"ack ")
    q = np.where(acked, p1 - 4, p1)
    before, before_len = spans.number_before(b, q - 1, l4)
    with_seq = acked & (q - 1 > l4) & spans.starts(b, q - 1, b" ") & (before_len > 0)
    flags_end = np.where(with_seq, q - 1 - before_len, q)
    flags_len = flags_end - l4
    words_ok = [np.zeros(len(u), bool), np.zeros(len(u), bool)]
    for k in range(2):
        chunk = (u >> np.uint64(32 * k)) & np.uint64(0xFFFFFFFF)
        for word in _FLAG_WORDS:
            words_ok[k] |= chunk == _le(word)
    tcp_ok = ~udp & ((flags_len == 0) | ((flags_len == 4) & words_ok[0]) | ((flags_len == 8) & words_ok[0] & words_ok[1]))
    tcp_ok &= ~with_seq | (before_len <= 10)
    ok &= (last_len >= 1) & (last_len <= 10) & (udp_ok | tcp_ok)

    if ok.all() and len(maybe) == len(rows):  # the common case: every line of the block, no copies
        pick, at = slice(None), slice(rows[0], rows[-1] + 1)
    else:
        pick = np.flatnonzero(ok)
        at = maybe[pick]
    fields = {
        "iface_len": iface, "direction": direction, "src0": src0 - s, "src_len": src_len, "dst0": dst0 - s,
        "dst_len": dst_len, "sport": sport, "sport_len": sport_len, "dport": dport, "dport_len": dport_len,
        "pair": _pair_hash(src_h, dst_h)[0],
        "maybe": _on_port(sport, sport_len, _IPSEC_UDP) | _on_port(dport, dport_len, _IPSEC_UDP),
        "udp": udp, "length": np.where(udp, last, np.nan), "seq": np.where(acked | udp, np.where(with_seq, before, np.nan), last),
        "ack": np.where(acked, last, np.nan), "flags_len": flags_len,
    }
    shape.proved[at] = True
    for k, v in fields.items():
        shape.__dict__[k][at] = v[pick]
    return np.union1d(unread, maybe[~ok])


_IFACE_DIRECTION = re.compile(rb"[\w-]{1,%d} (in|out|--) " % _IFACE_MAX)


def _iface_direction(b: spans.Bytes, at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`[\\w-]+ (?:in|out|--) ` at each offset, in 16 bytes: (interface length, direction
    length with its space, direction code, whether it is there). A capture comes from a
    few interfaces and two directions: the rows whose bytes up to the second space are
    those of a row already seen are decided by one Python match of that row (up to
    _KEYS of them); the others byte by byte."""
    n = len(at)
    head = [b.words(at), b.words(at + 8)]
    space = spans.bitmask([spans.equal_bits(w, ord(" ")) for w in head])
    iface = spans.lowest_bit(space)
    end = spans.lowest_bit(space & (space - np.uint64(1))) + 1  # past the second space
    key = [spans.masked(w, end - 8 * k) for k, w in enumerate(head)]
    dir_len = np.zeros(n, np.int64)
    direction = np.full(n, -1, np.int8)
    todo = np.ones(n, bool)
    keyed = end <= 16  # the key holds the direction too
    for _ in range(_KEYS if n else 0):
        if not todo.any():
            return iface, dir_len, direction, dir_len > 0
        i = int(np.argmax(todo & keyed))
        if not (todo[i] and keyed[i]):
            break
        same = todo & (key[0] == key[0][i]) & (key[1] == key[1][i])
        m = _IFACE_DIRECTION.fullmatch((key[0][i : i + 1].tobytes() + key[1][i : i + 1].tobytes())[: int(end[i])])
        if m:
            word = next(k for k, (text, _) in enumerate(_DIRECTIONS) if text == m.group(1) + b" ")
            dir_len[same], direction[same] = len(m.group(1)) + 1, word
        todo &= ~same
    bad = spans.bitmask([~spans.word_bits(w) & np.uint64(0x8080808080808080) for w in head])
    ok = (iface >= 1) & (iface <= _IFACE_MAX)
    ok &= (bad & ((np.uint64(1) << np.minimum(iface, 16).astype(np.uint64)) - np.uint64(1))) == 0
    d = b.words(at + iface + 1)
    for code, (text, _name) in enumerate(_DIRECTIONS):
        hit = todo & ok & _prefix(d, text) & (dir_len == 0)
        dir_len[hit], direction[hit] = len(text), code
    return iface, dir_len, direction, dir_len > 0


_KEYS = 8


def _fast_endpoint(b: spans.Bytes, at: np.ndarray):
    """FAST_ENDPOINT at each offset: (length, 0 where there is none; port value; port
    digits; :func:`_text_hash` of the text)."""
    w = [b.words(at + 8 * k) for k in range(3)]
    # Every byte before the first that is neither a digit nor a dot is one of them.
    dot_bits = [spans.equal_bits(x, ord(".")) for x in w]
    dots = spans.bitmask(dot_bits)
    other = spans.bitmask([spans.nondigit_bits(x) & ~d for x, d in zip(w, dot_bits)])
    size = np.minimum(spans.lowest_bit(other & np.uint64(0xFFFFFF)), 24)
    inside = (np.uint64(1) << size.astype(np.uint64)) - np.uint64(1)
    dots &= inside
    digits = inside & ~dots
    last_dot = spans.highest_bit(dots)
    run4 = digits & (digits >> np.uint64(1)) & (digits >> np.uint64(2)) & (digits >> np.uint64(3))
    run6 = run4 & (digits >> np.uint64(4)) & (digits >> np.uint64(5))
    before_last = (np.uint64(1) << np.maximum(last_dot, 0).astype(np.uint64)) - np.uint64(1)
    ok = ((np.bitwise_count(dots) == 4) & ((dots & np.uint64(1)) == 0) & ((dots & (dots >> np.uint64(1))) == 0)
          & (last_dot < size - 1) & ((run4 & before_last) == 0) & (run6 == 0) & (size <= _ENDPOINT_MAX))
    size = np.where(ok, size, 0)
    port_len = np.where(ok, size - last_dot - 1, 0)
    port = spans.small_number_before(b, at + size, port_len)
    return size, port, port_len, _text_hash(w, size)


# Odd multipliers of _text_hash, one per word of a text (a text of 8 * len bytes at most
# goes through the fast lane; the slow lane's longer ones use the last for the rest).
_WORD_KEYS = [np.uint64(k) for k in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93)]


def _text_hash(words: list[np.ndarray], size: np.ndarray) -> np.ndarray:
    """A 64-bit hash of texts of ``size`` bytes given as their words (at least 3; those
    past the 3rd count only where the text reaches them, so a text has one hash however
    many words its column was read in): each word masked to the text and multiplied by
    its own odd key, summed with the size, then mixed. Equal texts, equal hashes; callers
    check the converse."""
    h = size.astype(np.uint64)
    for k, w in enumerate(words):
        term = spans.masked(w, size - 8 * k) * _WORD_KEYS[min(k, 3)] + np.uint64(k)
        h = h + (term if k < 3 else np.where(size > 8 * k, term, np.uint64(0)))
    h = (h ^ (h >> np.uint64(31))) * np.uint64(0xBF58476D1CE4E5B9)
    return h ^ (h >> np.uint64(29))


def other_traffic(core: pa.Array, tcp_ports: tuple[int, ...] = (), rows: np.ndarray | None = None,
                  fast: np.ndarray | None = None, shape: FastShape | None = None) -> np.ndarray:
    """Which header lines (``rows`` of ``core``, default all) are certainly not IPsec,
    decided before the full parse (a busy link's DNS and HTTPS is most of an unfiltered
    sniffer run): the decision of :func:`ipsec_rows`, from less.

    Lines proved to have the common shape (:func:`fast_shape`) come with their endpoints,
    ports and numbers; the others are read by the patterns (UDP on other ports and other IP
    protocols: two matches; TCP: one extraction of the two endpoints and the numbers). Then
    the stream test runs on the TCP lines of both. ``fast`` and ``shape``: which rows may
    use ``shape`` (the caller's :func:`fast_shape` of an array with the same text at
    those rows), when the caller has them."""
    rows = np.arange(len(core)) if rows is None else np.asarray(rows, np.int64)
    out = np.zeros(len(rows), bool)
    if not len(rows):
        return out
    if shape is None:
        _, shape = fast_shape(core)
        fast = None
    lane = shape.proved[rows] if fast is None else shape.proved[rows] & fast
    f = _shape_fields(shape, rows[lane], spans.Bytes(core))
    s = _slow_fields(core.take(pa.array(rows[~lane])))
    f_at, s_at = np.flatnonzero(lane), np.flatnonzero(~lane)
    out[f_at] = f["plain"] & ~f["maybe"]
    out[s_at] = s["plain"] & ~s["maybe"]
    tcp = np.concatenate([f_at[f["tcp"]], s_at[s["tcp"]]])
    if not len(tcp):
        return out
    # Streams, from the endpoint texts as exact codes (two integers each), both lanes in one
    # space. A stream of one line has no other segment to be tested against (most of a busy
    # link's HTTPS in a short run): only lines whose endpoint pair's hash occurs again are
    # grouped exactly and tested.
    n_fast = int(np.count_nonzero(f["tcp"]))
    again = np.flatnonzero(_repeated(np.concatenate([f["pair"], s["pair"]])))
    a_f, a_s = again[again < n_fast], again[again >= n_fast] - n_fast

    def col(k: str) -> np.ndarray:  # a field of the lines in ``again``
        return np.concatenate([f["of"](k, a_f), s[k][a_s]])

    sid, side = _streams(*(col(k) for k in _ENDPOINT_CODES))
    hit = six_byte_hits(sid, side, col("seq"), col("ack"))
    hits = again[hit]
    in_stream = np.zeros(len(tcp), bool)
    in_stream[again] = np.isin(sid, np.unique(sid[hit]))
    ports = {IKE_NATT_PORT, *tcp_ports}
    for i in hits:  # where the client sent its prefix: the server
        port = (str(f["of"]("dport", i)) if i < n_fast else s["dst_text"](i - n_fast).rpartition(".")[2])
        if port.isdigit():
            ports.add(int(port))
    on_port = np.concatenate([f["on_port"](ports), s["on_port"](ports)])
    keep = in_stream | on_port
    maybe = np.concatenate([f["maybe"][f["tcp"]], s["maybe"][s["tcp"]]])
    out[tcp[~keep & ~maybe]] = True
    return out


def _on_port(port: np.ndarray, digits: np.ndarray, wanted) -> np.ndarray:
    """Whether an endpoint's text ends in `.P` for a P in ``wanted``, from its port's value
    and number of digits (`.0500` does not end in `.500`)."""
    out = np.zeros(len(port), bool)
    for p in wanted:
        out |= (port == p) & (digits == len(str(p)))
    return out


def _shape_fields(shape: FastShape, at: np.ndarray, b: spans.Bytes) -> dict:
    """What the decision needs of the proved lines ``at`` (of ``b``)."""
    plain = shape.udp[at]
    tcp = ~plain
    t = at[tcp]
    ends = [(shape.sport[t], shape.sport_len[t]), (shape.dport[t], shape.dport_len[t])]

    def of(k: str, i: np.ndarray) -> np.ndarray:  # a field of the TCP lines ``i``; codes from their text
        if k not in _ENDPOINT_CODES:
            return shape.__dict__[k][t[i]]
        end = "src" if k.startswith("src") else "dst"
        start = b.start[t[i]] + shape.__dict__[end + "0"][t[i]]
        low, high = _text_codes([spans.texts(b, start, start + shape.__dict__[end + "_len"][t[i]])])[0]
        return low if k.endswith("low") else high

    return {"plain": plain, "maybe": shape.maybe[at], "tcp": tcp, "pair": shape.pair[t], "of": of,
            "on_port": lambda ports: _on_port(*ends[0], ports) | _on_port(*ends[1], ports)}


_ENDPOINT_CODES = ("src_low", "src_high", "dst_low", "dst_high")


def _slow_fields(sub: pa.Array) -> dict:
    """What the decision needs of the other lines, by the patterns."""
    maybe = matches(sub, MAYBE_IPSEC)
    plain = matches(sub, PLAIN_TRAFFIC)
    tcp = ~(plain & ~maybe) & matches(sub, TCP_LINE)
    # The fields as extracted (every line matched: endpoints are never empty) rather than
    # regex.groups' null-for-empty copies of them.
    found = pc.extract_regex(sub.filter(pa.array(tcp)), TCP_LINE) if tcp.any() else None
    if found is None:
        empty = pa.array([], pa.large_string())
        a = b = empty
        seq = ack = np.zeros(0)
    else:
        a, b = found.field("a").cast(pa.large_string()), found.field("b").cast(pa.large_string())
        seq, ack = (pc.cast(pc.if_else(pc.equal(x, ""), None, x), pa.float64()).to_numpy(zero_copy_only=False)
                    for x in (found.field("seq"), found.field("ack")))
    (a_low, a_high), (b_low, b_high) = _text_codes([a, b])
    pair, _ = _pair_hash(*(_hash_texts(x) for x in (a, b)))

    def on_port(ports: set[int]) -> np.ndarray:
        pattern = rf"\.(?:{'|'.join(str(p) for p in sorted(ports))})$"
        return matches(a, pattern) | matches(b, pattern)

    return {"plain": plain, "maybe": maybe, "tcp": tcp, "pair": pair, "src_low": a_low, "src_high": a_high,
            "dst_low": b_low, "dst_high": b_high, "seq": seq, "ack": ack, "on_port": on_port,
            "dst_text": lambda i: b[int(i)].as_py()}


def _hash_texts(arr: pa.Array) -> np.ndarray:
    """:func:`_text_hash` of a string column."""
    b = spans.Bytes(arr)
    size = b.end - b.start
    nwords = max(3, -(-int(size.max()) // 8) if len(size) else 0)
    return _text_hash([b.words(b.start + 8 * k) for k in range(nwords)], size)


def _text_codes(texts: list[pa.Array]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Endpoint texts → exact codes in the space of :func:`_fast_endpoint`'s: digits and
    dots up to 24 bytes by :func:`spans.nibbles` (high part >= 0); any other text by
    its id among those (high part -1)."""
    out, other = [], []
    for arr in texts:
        b = spans.Bytes(arr)
        size = b.end - b.start
        w = [b.words(b.start + 8 * k) for k in range(3)]
        bad = spans.bitmask([~(spans.digit_bits(x) | spans.equal_bits(x, ord("."))) & np.uint64(0x8080808080808080)
                             for x in w])
        plain = (size <= 24) & ((bad & ((np.uint64(1) << np.minimum(size, 24).astype(np.uint64)) - np.uint64(1))) == 0)
        low = (spans.nibbles(w[0], size) | (spans.nibbles(w[1], size - 8) << np.uint64(32))).view(np.int64)
        high = spans.nibbles(w[2], size - 16).view(np.int64)
        high = np.where(plain, high, -1)
        out.append((low, high))
        other.append((b, b.start[~plain], b.end[~plain]))
    ids = spans.texts_ids(other)
    for (low, high), i in zip(out, ids):
        low[high < 0] = i
    return out


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A 64-bit hash of two 64-bit integer columns (equal inputs, equal hashes; the
    callers check the converse)."""
    h = (x.view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ (y.view(np.uint64) + np.uint64(0x632BE59BD9B4E019))
    h = (h ^ (h >> np.uint64(31))) * np.uint64(0xBF58476D1CE4E5B9)
    return h ^ (h >> np.uint64(29))


def _pair_hash(ha: np.ndarray, hb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A hash of the unordered pair of two endpoints (given by their hashes), and which
    side the first is on (the same partition of a stream's lines as any exact ordering;
    when the two hashes tie, :func:`_streams` finds out and groups exactly)."""
    side = ha < hb
    return _mix(np.minimum(ha, hb).view(np.int64), np.maximum(ha, hb).view(np.int64)).view(np.int64), side


def _repeated(x: np.ndarray) -> np.ndarray:
    """Which values of ``x`` occur more than once (one sort, no hash table)."""
    s = np.sort(x)
    twice = s[1:][s[1:] == s[:-1]]
    if not len(twice):
        return np.zeros(len(x), bool)
    twice = np.unique(twice)
    at = np.minimum(np.searchsorted(twice, x), len(twice) - 1)
    return twice[at] == x


def _streams(a_low: np.ndarray, a_high: np.ndarray, b_low: np.ndarray, b_high: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """A TCP line's stream (the unordered pair of its endpoints, given as exact codes) and
    sender side. The pair is hashed and the hashes factorised; then every line's pair is
    compared with its group's first: a hash collision falls back to exact grouping."""
    pair, side = _pair_hash(_mix(a_low, a_high), _mix(b_low, b_high))
    sid, _ = pd.factorize(pair)
    sid = sid.astype(np.int64)
    first = np.zeros(sid.max() + 1 if len(sid) else 0, np.int64)
    first[sid[::-1]] = np.arange(len(sid))[::-1]
    rep = first[sid]
    ends = [np.where(side, a, b) for a, b in ((a_low, b_low), (a_high, b_high))]
    ends += [np.where(side, b, a) for a, b in ((a_low, b_low), (a_high, b_high))]
    if all((e == e[rep]).all() for e in ends):
        return sid, side
    _, ids = np.unique(np.stack([np.concatenate([a_low, b_low]), np.concatenate([a_high, b_high])], axis=1),
                       axis=0, return_inverse=True)
    ids = ids.ravel().astype(np.int64)
    return _pairs(ids[: len(a_low)], ids[len(a_low) :])


def _pairs(ca: np.ndarray, cb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A TCP line's stream (the unordered pair of its endpoints) and sender side, from the
    two endpoints' ids."""
    m = int(max(ca.max(), cb.max())) + 1
    sid, _ = pd.factorize(np.minimum(ca, cb) * m + np.maximum(ca, cb))
    return sid.astype(np.int64), ca < cb


def ipsec_rows(cols: dict[str, pa.Array], tcp_ports: tuple[int, ...] = ()) -> np.ndarray:
    """Which parsed header lines can be IPsec evidence; the rest is other traffic, counted
    but not kept as events, as the capture reader does with frames (busy HTTPS and DNS
    would otherwise be most of the event table of a sniffer run without a filter).

    Kept: IKE, ESP, AH, NAT-T, fragments, ICMP, ARP, lines without addresses; and TCP of a
    stream that may carry IKE: one whose client advanced its sequence by exactly 6 (the
    `IKETCP` prefix, see :func:`ikeanalyze.wire.tcpencap.six_byte_hits`), or any
    stream on TCP 4500, on an `--ike-tcp-port`, or on the server port of such a stream (a
    reset connection to the IKE-over-TCP port is IKE110's evidence). Dropped: UDP on other
    ports and other IP protocols, and the remaining TCP."""
    kind = cols["kind"].to_numpy(zero_copy_only=False)
    proto = cols["proto"].to_numpy(zero_copy_only=False)
    keep = ~(((kind == "other") & (proto != None) & (proto != "ah")) | (kind == "tcp"))  # noqa: E711
    tcp = np.flatnonzero(kind == "tcp")
    if not len(tcp):
        return keep
    take = pa.array(tcp)
    sport = pc.fill_null(cols["sport"].take(take), -1).to_numpy().astype(np.int64)
    dport = pc.fill_null(cols["dport"].take(take), -1).to_numpy().astype(np.int64)
    ends = [pc.binary_join_element_wise(pc.cast(cols[a].take(take), pa.string()), pc.cast(cols[p].take(take), pa.string()),
                                        ".") for a, p in (("src", "sport"), ("dst", "dport"))]
    ba, bb = (spans.Bytes(e) for e in ends)
    sid, side = _pairs(*spans.texts_ids([(ba, ba.start, ba.end), (bb, bb.start, bb.end)]))
    # As floats, like the early decision's (a mangled paste's 19-digit number is not exact,
    # and must not stop the analysis: an unchecked cast).
    seq, ack = (pc.cast(cols[k].take(take), pa.float64(), safe=False).to_numpy(zero_copy_only=False)
                for k in ("tcp_seq", "tcp_ack"))
    hits = six_byte_hits(sid, side, seq, ack)
    in_stream = np.isin(sid, np.unique(sid[hits]))
    ports = np.unique(np.concatenate([dport[hits], [IKE_NATT_PORT], list(tcp_ports)]))
    keep[tcp] = in_stream | np.isin(sport, ports) | np.isin(dport, ports)
    return keep
