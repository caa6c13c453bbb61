"""FortiGate sniffer hex dumps (verbosity 2, 3, 5, 6) → the bytes of each packet.

A dump is the lines after a packet header (FORMATS.md §1.4)::

    2015-06-23 17:01:24.796828 wan1 -- arp who-has 10.108.17.97 tell 10.108.17.129
    0x0000<TAB> ffff ffff ffff 085b 0ea0 e23a 0806 0001<TAB>.......[...:....
    0x0030<TAB> 0000 0000 0000 0000 0000 0000          <TAB>............
    <blank line>

Bytes come only from the hex groups, never from the ASCII column. The canonical layout
(offset, TAB, space, 39 columns of groups) is decoded for every line at once with numpy
(a lookup table over fixed columns); copies with tabs turned into spaces, collapsed spaces
or a mangled ASCII column take a per-line pattern. A blank line, the next header, or any
other line ends a packet; a dump line whose offset does not continue the packet (a lost
line) ends it too, and the packet is kept as far as it goes and flagged.

What the dump starts with is read from the bytes, per packet: an Ethernet header
(verbosity 3/6), possibly with FortiOS's 2-byte internal tag at offset 12 or a
Fortinet-internal ethertype (0x8890/0x8891/0x8893, normalised as fgt2eth does); an IP
header (verbosity 2/5, and tunnel interfaces at 3/6); or an ARP header (2/5). The result
is :class:`ikeanalyze.capture.Frames` plus the line numbers of every packet's header and
dump, so that decoded events and written captures point back at the text.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze import capture
from ikeanalyze import events as ev
from ikeanalyze.ingest import InputReport
from ikeanalyze.sources import sniffer
from ikeanalyze.sources.regex import fraction_us, groups, matches, scatter
from ikeanalyze.sources.textclean import WRAP_MIN
from ikeanalyze.words import counted

# ---------------------------------------------------------------------------- dump lines
# Canonical: `0x0010<TAB> 00a4 1dc7 ... c0a8<TAB>ascii`: groups in columns 8..46.
GROUP_FIELD = 8
GROUP_WIDTH = 39
DIGIT_COLS = np.array([5 * g + k for g in range(8) for k in range(4)])  # 32 hex digit columns
SEPARATOR_COLS = np.array([5 * g + 4 for g in range(7)])
TAB, SPACE, NEWLINE, CR = 9, 32, 10, 13
# Any other copy of a dump line: offset, blanks, then groups of 4 (a last group of 2).
DUMP_LINE = re.compile(rb"^[ \t]*0x([0-9a-fA-F]{4})[ \t]+(.*)$")
GROUP = re.compile(rb"[0-9a-fA-F]{4}|[0-9a-fA-F]{2}")
MAX_GROUPS = 8  # 16 bytes per line

HEXVAL = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    HEXVAL[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    HEXVAL[_c] = 10 + _i

HEADER_ANYWHERE = r"^[ \t]*" + sniffer.HEADER_START.removeprefix("^")  # (a tab-indented copy too)
HEADER_CUT_ANYWHERE = r"^[ \t]*" + sniffer.HEADER_CUT.removeprefix("^")
TRUNCATED = "truncated-ip"

# ---------------------------------------------------------------------------- link layer
ETH_IPV4, ETH_IPV6, ETH_ARP, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8
# FortiOS-internal ethertypes seen in `any` dumps; what follows them is an IP packet.
FORTINET_ETHERTYPES = (0x8890, 0x8891, 0x8893)
KNOWN_ETHERTYPES = (ETH_IPV4, ETH_IPV6, ETH_ARP, ETH_VLAN, ETH_QINQ, *FORTINET_ETHERTYPES)
# Ethertypes after which fgt2eth finds the 2-byte internal tag (at offset 12, type at 14).
TAGGED_ETHERTYPES = (ETH_IPV4, ETH_IPV6, ETH_ARP, 0x8893)
ETH_HEADER = 14
ETH_MIN_FRAME = 60  # shorter frames are padded to this on the wire (without FCS)
SLL_HEADER = 16
PEEK = 24  # bytes of each frame read for the link-layer decision
CHUNK_BYTES = 16 << 20  # text scanned per piece


@dataclass
class Dumps:
    """Every packet header of a text that has a dump, with its bytes."""

    header_line: np.ndarray  # 0-based line index of each packet's header
    first_line: np.ndarray  # 0-based line of its first and last dump line
    last_line: np.ndarray
    frames: capture.Frames
    notes: list[str | None]  # per packet: what is wrong with its dump, if anything
    headers: int = 0  # packet header lines seen (with or without a dump)
    dump_lines: int = 0  # dump lines seen
    orphan_lines: int = 0  # dump lines under no header (or after a lost line)
    stray_lines: list[int] = field(default_factory=list)  # 0-based: other text between packets
    normalised: int = 0  # frames whose FortiOS-internal link layer was rewritten
    relative: bool = False  # timestamps are seconds since the sniffer started

    def __len__(self) -> int:
        return len(self.header_line)


def _line_bounds(u8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not len(u8):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    nl = np.flatnonzero(u8 == NEWLINE)  # (the caller keeps u8 small: one piece of the text)
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [len(u8)]))
    if len(u8) and u8[-1] == NEWLINE:  # no line after the final newline
        starts, ends = starts[:-1], ends[:-1]
    for _ in range(2):  # CRLF, and PuTTY's CR CR LF
        cr = (ends > starts) & (u8[np.maximum(ends - 1, 0)] == CR)
        ends = ends - cr
    return starts.astype(np.int64), ends.astype(np.int64)


def _canonical(u8: np.ndarray, starts: np.ndarray, ends: np.ndarray):
    """Decode canonical dump lines at once: (mask, offsets, line indices, byte rows, counts).

    Full lines (16 bytes: all but the last line of a packet) are copied out of a
    sliding-window view of the text (40 characters per line, one copy, no index per
    character), their 32 hex digits picked by a reshape and decoded as one block by
    ``binascii.unhexlify``. Partial lines, and any block that does not decode, go through a
    256-entry nibble table (still whole-array)."""
    n = len(starts)
    width = GROUP_FIELD + GROUP_WIDTH
    size = len(u8)
    length = ends - starts

    def at(k: int) -> np.ndarray:
        return u8[np.minimum(starts + k, size - 1)] if size else np.zeros(n, np.uint8)

    ok = (length >= width) & (at(0) == ord("0")) & (at(1) == ord("x")) & (at(6) == TAB) & (at(7) == SPACE)
    ok &= (length == width) | (at(width) == TAB)
    idx = np.flatnonzero(ok)
    offsets = np.zeros(n, np.int64)
    s = starts[idx]
    off_nib = HEXVAL[np.lib.stride_tricks.sliding_window_view(u8, 4)[s + 2]] if len(s) else np.zeros((0, 4), np.uint8)
    good = (off_nib != 255).all(1)
    off = off_nib.astype(np.int64) @ (16 ** np.arange(3, -1, -1))
    out = np.zeros((len(idx), 2 * MAX_GROUPS), np.uint8)
    count = np.zeros(len(idx), np.int64)
    full = good & (HEXVAL[u8[np.minimum(s + width - 1, size - 1)]] != 255) & (s + width + 1 <= size)
    decoded = False
    if full.any():
        g = np.lib.stride_tricks.sliding_window_view(u8, 5 * MAX_GROUPS)[s[full] + GROUP_FIELD]
        g = g.reshape(-1, MAX_GROUPS, 5)
        if (g[:, :-1, 4] == SPACE).all():
            try:
                block = binascii.unhexlify(np.ascontiguousarray(g[:, :, :4]))
                out[full] = np.frombuffer(block, np.uint8).reshape(-1, 2 * MAX_GROUPS)
                count[full] = 2 * MAX_GROUPS
                decoded = True
            except (binascii.Error, ValueError):
                decoded = False  # some line is not what it looks like: decode row by row below
        del g
    rest = good & ~full if decoded else good
    if rest.any():
        r = np.flatnonzero(rest)
        rows = np.lib.stride_tricks.sliding_window_view(u8, GROUP_WIDTH)[np.minimum(s[r] + GROUP_FIELD, size - GROUP_WIDTH)]
        digits = rows[:, DIGIT_COLS]
        nib = HEXVAL[digits]
        valid = nib != 255
        fine = (valid | (digits == SPACE)).all(1) & (rows[:, SEPARATOR_COLS] == SPACE).all(1)
        fine &= (valid[:, :-1] >= valid[:, 1:]).all(1)  # padding only after the last byte
        c = valid.sum(1)
        fine &= c % 2 == 0
        nib[~valid] = 0
        out[r] = (nib[:, 0::2] << 4) | nib[:, 1::2]
        count[r] = c // 2
        good[r[~fine]] = False
    ok[idx[~good]] = False
    offsets[idx[good]] = off[good]
    return ok, offsets, idx[good], out[good], count[good]


def _loose(line: bytes) -> tuple[int, bytes] | None:
    """A dump line in any other layout: (offset, bytes) or None."""
    m = DUMP_LINE.match(line)
    if not m:
        return None
    out = []
    for tok in m.group(2).replace(b"\t", b" ").split(b" "):
        if not tok:
            continue
        if len(out) < MAX_GROUPS and GROUP.fullmatch(tok):
            out.append(tok)
            if len(tok) == 2:  # an odd last byte ends the groups
                break
            continue
        break  # the ASCII column (or anything else) starts here
    if not out:
        return None
    return int(m.group(1), 16), bytes.fromhex(b"".join(out).decode())


def scan(buf: bytes, headers: np.ndarray | None = None, pieces: np.ndarray | None = None) -> Dumps:
    """Find every packet header and dump in ``buf`` (lines separated by ``\\n``).

    ``headers`` may give the header lines already found by the caller (one bool per line),
    and ``pieces`` the lines that continue the record above them (the text source decided
    that with the paste's measured terminal width, text._continuations): a header's dump
    then follows its last piece. Without ``pieces`` (a caller that reads no line forms:
    `convert`), a header cut before the `:` ending its addresses or as long as a terminal's
    width takes the line after it as its piece (:func:`_fixed_pieces`).
    Big texts are scanned in pieces of about :data:`CHUNK_BYTES` cut before a line that is
    not a dump line (nor a header's piece), so no packet is split and the work arrays stay
    small.
    """
    size = len(buf)
    parts: list[tuple[int, Dumps]] = []
    a = line0 = 0
    while True:
        b = size if size - a <= CHUNK_BYTES else _cut(buf, a + CHUNK_BYTES)
        while pieces is not None and b < size and pieces[line0 + buf.count(b"\n", a, b)]:
            b = _cut(buf, b)  # a header's piece stays with it: cut further on
        chunk = buf[a:b]
        nlines = chunk.count(b"\n") + (0 if not chunk or chunk.endswith(b"\n") else 1)
        h = None if headers is None else headers[line0 : line0 + nlines]
        c = None if pieces is None else pieces[line0 : line0 + nlines]
        dumps, nlines = _scan(chunk, h, c, line0)
        parts.append((line0, dumps))
        line0, a = line0 + nlines, b
        if a >= size:
            break
    return parts[0][1] if len(parts) == 1 else _join(parts)


def _cut(buf: bytes, at: int) -> int:
    """The start of the first line at or after ``at`` that is not a dump line."""
    while True:
        p = buf.find(b"\n", at)
        if p < 0 or p + 1 >= len(buf):
            return len(buf)
        nxt = buf[p + 1 : p + 3]
        if not nxt.startswith((b"0x", b" ", b"\t")):
            return p + 1
        at = p + 1


def _join(parts: list[tuple[int, Dumps]]) -> Dumps:
    dumps = [d for _, d in parts]
    with_packets = [d for d in dumps if len(d)]
    return Dumps(
        header_line=np.concatenate([d.header_line + o for o, d in parts]),
        first_line=np.concatenate([d.first_line + o for o, d in parts]),
        last_line=np.concatenate([d.last_line + o for o, d in parts]),
        frames=capture.concat([d.frames for d in dumps]),
        notes=[x for d in dumps for x in d.notes],
        headers=sum(d.headers for d in dumps),
        dump_lines=sum(d.dump_lines for d in dumps),
        orphan_lines=sum(d.orphan_lines for d in dumps),
        stray_lines=[x + o for o, d in parts for x in d.stray_lines],
        normalised=sum(d.normalised for d in dumps),
        relative=bool(with_packets) and all(d.relative for d in with_packets),
    )


def _scan(buf: bytes, headers: np.ndarray | None, pieces: np.ndarray | None,
          line0: int) -> tuple[Dumps, int]:
    """One piece of the text: its packets and its number of lines."""
    u8 = np.frombuffer(buf, np.uint8)
    starts, ends = _line_bounds(u8)
    n = len(starts)
    canon, offsets, cidx, crows, ccount = _canonical(u8, starts, ends)
    count = np.zeros(n, np.int64)
    count[cidx] = ccount
    is_dump = canon.copy()
    loose: dict[int, bytes] = {}
    # Other dump lines: start with `0x` (or blanks then `0x`) but are not canonical.
    first = u8[np.minimum(starts, max(len(u8) - 1, 0))] if len(u8) else np.zeros(n, np.uint8)
    maybe = ~canon & ((first == ord("0")) | (first == SPACE) | (first == TAB)) & (ends > starts)
    for i in np.flatnonzero(maybe):
        got = _loose(buf[starts[i] : ends[i]])
        if got is not None:
            offsets[i], loose[int(i)] = got
            count[i] = len(got[1])
            is_dump[i] = True

    # Header, blank and other lines among the rest, matched by RE2 over a zero-copy arrow
    # view of the text (each value is one line with its line end).
    all_lines = _arrow_lines(buf, starts)
    rest = np.flatnonzero(~is_dump)
    rest_lines = all_lines.take(pa.array(rest))
    blank = np.zeros(n, bool)
    blank[rest] = matches(rest_lines, r"^\s*$")
    if headers is None:
        headers = np.zeros(n, bool)
        headers[rest] = matches(rest_lines, HEADER_ANYWHERE)
    else:
        headers = np.asarray(headers, bool) & ~is_dump
    # A header a terminal wrapped goes on in the line(s) after it: the dump follows its last
    # piece, which stands for the header below (root: the header line of each piece).
    if pieces is None:
        piece = _fixed_pieces(headers, is_dump, blank, ends - starts, all_lines)
    else:
        piece = np.asarray(pieces, bool) & ~is_dump & ~headers
    root = np.maximum.accumulate(np.where(piece, -1, np.arange(n))) if n else np.zeros(0, np.int64)
    piece &= headers[np.maximum(root, 0)] & (root >= 0)  # pieces of other records are not a header's
    headers |= piece
    stray = np.flatnonzero(~is_dump & ~headers & ~blank)

    # Each dump line belongs to the last header above it if only dump lines lie between.
    lines = np.arange(n)
    last_break = np.maximum.accumulate(np.where(~is_dump, lines, -1)) if n else lines
    dl = np.flatnonzero(is_dump)
    owner = last_break[dl]
    owned = (owner >= 0) & headers[np.maximum(owner, 0)]
    # The offset must continue the packet: bytes so far in this packet.
    cnt = count[dl]
    csum = np.cumsum(cnt) - cnt
    pkt_first = np.zeros(len(dl), np.int64)
    if len(dl):
        new = np.concatenate(([True], owner[1:] != owner[:-1]))
        grp_start = np.maximum.accumulate(np.where(new, np.arange(len(dl)), 0))
        pkt_first = csum[grp_start]
        expect = csum - pkt_first
        bad = (offsets[dl] != expect).astype(np.int64)
        bad_c = np.cumsum(bad)
        bad_before = bad_c - bad
        lost = (bad_c - (bad_before[grp_start])) > 0  # at or after the first bad line of its packet
        keep = owned & ~lost
    else:
        keep = np.zeros(0, bool)
        grp_start = np.zeros(0, np.int64)

    # Bytes of every dump line: a 16-byte row per dump line, rows in line order. A packet
    # whose lines are all full but its last is one contiguous run of that array.
    if len(cidx) == len(dl) and not loose:
        rows = crows
    else:
        rows = np.zeros((len(dl), 2 * MAX_GROUPS), np.uint8)
        row_of = np.full(n, -1, np.int64)
        row_of[dl] = np.arange(len(dl))
        rows[row_of[cidx]] = crows
        for i, b in loose.items():
            rows[row_of[i], : len(b)] = np.frombuffer(b, np.uint8)
    row_index = np.zeros(n, np.int64)
    row_index[dl] = np.arange(len(dl))
    pos = np.zeros(n, np.int64)
    pos[dl] = np.cumsum(cnt) - cnt  # byte offset of each dump line within all dumped bytes

    # Packets: runs of kept dump lines with the same owner header.
    kd = dl[keep]
    kown = owner[keep]
    if len(kd):
        brk = np.concatenate(([True], kown[1:] != kown[:-1]))
        p_first = kd[brk]
        p_last = kd[np.concatenate((brk[1:], [True]))]
        p_header = kown[brk]
    else:
        p_first = p_last = p_header = np.zeros(0, np.int64)
    p_len = (pos[p_last] + count[p_last] - pos[p_first]) if len(kd) else np.zeros(0, np.int64)
    # Runs with a short line before their last: compact those lines' bytes (rare).
    full_lines = p_last - p_first  # lines before the last (all dump lines: runs are contiguous)
    regular = p_len - count[p_last] == full_lines * 2 * MAX_GROUPS
    hb = rows.reshape(-1)
    p_start = row_index[p_first] * 2 * MAX_GROUPS
    if not regular.all():
        extra = []
        base = len(hb)
        for i in np.flatnonzero(~regular):
            r = row_index[p_first[i] : p_last[i] + 1]
            k = count[dl[r]]
            extra.append(np.concatenate([rows[j, :c] for j, c in zip(r, k)]))
            p_start[i] = base
            base += len(extra[-1])
        hb = np.concatenate([hb] + extra)
    hb = np.concatenate((hb, np.zeros(PEEK, np.uint8)))
    gap_lines = dl[owned & ~keep]
    gap_header = set(owner[owned & ~keep].tolist())

    dumps = Dumps(p_header, p_first, p_last, capture.Frames(b"", np.zeros(1, np.int64), np.zeros(0, np.int64),
                                                               np.zeros(0, np.int64), [], []), [],
                  headers=int(headers.sum() - piece.sum()), dump_lines=len(dl),
                  orphan_lines=int(len(dl) - keep.sum()), stray_lines=stray.tolist())
    if not len(kd):
        return dumps, n
    raw_hdr = all_lines.take(pa.array(p_header))
    wrapped = piece[p_header]
    if wrapped.any():  # the header is its cut line and its pieces, joined
        first = root[p_header[wrapped]]
        joined = _joined_lines(all_lines, first, p_header[wrapped])
        dumps.header_line = p_header = np.where(wrapped, root[p_header], p_header)
        raw_hdr = scatter(raw_hdr.cast(pa.large_string()), np.flatnonzero(wrapped), joined).cast(pa.large_binary())
    try:
        hdr_text = pc.utf8_trim_whitespace(pc.cast(pc.cast(raw_hdr, pa.large_string()), pa.string()))
    except pa.ArrowInvalid:  # not UTF-8 somewhere: decode line by line, replacing
        hdr_text = pa.array([b.decode("utf-8", "replace").strip() for b in raw_hdr.to_pylist()], pa.string())
    _frames(dumps, hb, p_start, p_len, hdr_text, gap_header, gap_lines, offsets, line0)
    return dumps, n


def _fixed_pieces(headers: np.ndarray, is_dump: np.ndarray, blank: np.ndarray, length: np.ndarray,
                  all_lines: pa.Array) -> np.ndarray:
    """The header pieces of a text whose line forms are not known (no terminal width was
    measured): the line after a header cut before the `:` ending its addresses, or after a
    header at least WRAP_MIN characters long, when it is no dump, header or blank line."""
    piece = np.zeros(len(headers), bool)
    piece[1:] = headers[:-1] & ~is_dump[1:] & ~headers[1:] & ~blank[1:]  # (few: asked further)
    heads = np.flatnonzero(piece) - 1
    if len(heads):
        long = length[heads] >= WRAP_MIN
        piece[heads + 1] = long | matches(all_lines.take(pa.array(heads)), HEADER_CUT_ANYWHERE)
    return piece


def _joined_lines(all_lines: pa.Array, first: np.ndarray, last: np.ndarray) -> pa.Array:
    """Lines ``first[i]`` to ``last[i]`` joined into one, each without its line end."""
    counts = last - first + 1
    rows = np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    text = pc.utf8_rtrim(all_lines.take(pa.array(rows)).cast(pa.large_string()), characters="\r\n")
    offsets = pa.array(np.concatenate(([0], np.cumsum(counts))).astype(np.int64))
    return pc.binary_join(pa.LargeListArray.from_arrays(offsets, text), pa.scalar("", pa.large_string()))


def _arrow_lines(buf: bytes, starts: np.ndarray) -> pa.Array:
    """Every line of ``buf`` as a binary array sharing ``buf``'s memory."""
    offsets = np.concatenate((starts, [len(buf)])).astype(np.int64)
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(starts),
                                            [None, pa.py_buffer(offsets), pa.py_buffer(buf)])


def _peek(hb: np.ndarray, start: np.ndarray, k: int) -> np.ndarray:
    return hb[start[:, None] + np.arange(k)].astype(np.int64)


def _link(hb: np.ndarray, start: np.ndarray, length: np.ndarray):
    """Per packet: link type, bytes to cut at offset 12 (internal tag), ethertype rewrite
    (0 = none), and the length on the wire when the IP header says more than was dumped."""
    b = _peek(hb, start, PEEK)
    be16 = lambda i: (b[:, i] << 8) | b[:, i + 1]  # noqa: E731
    v0 = b[:, 0] >> 4
    tot0 = be16(2)
    ip4 = (v0 == 4) & ((b[:, 0] & 15) >= 5) & (tot0 >= 20) & (tot0 >= length)
    ip6 = (v0 == 6) & (be16(4) + 40 >= length)
    raw = ip4 | ip6
    et12, et14 = be16(12), be16(14)
    inner4, inner6 = (b[:, 14] >> 4) == 4, (b[:, 14] >> 4) == 6
    eth = np.isin(et12, KNOWN_ETHERTYPES) & (
        ((et12 == ETH_IPV4) & inner4) | ((et12 == ETH_IPV6) & inner6)
        | ((et12 == ETH_ARP) & (be16(14) == 1))
        | np.isin(et12, (ETH_VLAN, ETH_QINQ))
        | (np.isin(et12, FORTINET_ETHERTYPES) & (inner4 | inner6))
    )
    # Both readings possible: an Ethernet frame is as long as its IP packet plus 14 (or
    # padded to 60); a raw IP dump is exactly its IP packet.
    inner_tot = be16(16)
    eth_fits = (inner_tot + ETH_HEADER == length) | ((length == ETH_MIN_FRAME) & (inner_tot + ETH_HEADER < length))
    eth_fits |= inner_tot + ETH_HEADER > length  # a short dump
    raw_exact = (ip4 & (tot0 == length)) | (ip6 & (be16(4) + 40 == length))
    use_eth = eth & ~(raw_exact & ~eth_fits)
    use_raw = raw & ~use_eth
    tag_inner4, tag_inner6 = (b[:, 16] >> 4) == 4, (b[:, 16] >> 4) == 6
    tagged = ~use_eth & ~use_raw & np.isin(et14, TAGGED_ETHERTYPES) & (
        ((et14 == ETH_IPV4) & tag_inner4) | ((et14 == ETH_IPV6) & tag_inner6)
        | ((et14 == ETH_ARP) & (be16(16) == 1)) | ((et14 == 0x8893) & (tag_inner4 | tag_inner6)))
    arp = ~use_eth & ~use_raw & ~tagged & (be16(0) == 1) & (be16(2) == ETH_IPV4) & (b[:, 4] == 6) & (b[:, 5] == 4)
    linktype = np.where(use_raw, capture.LINKTYPE_RAW,
                        np.where(arp, capture.LINKTYPE_LINUX_SLL, capture.LINKTYPE_ETHERNET))
    cut = np.where(tagged, 2, 0)
    etype = np.where(tagged, et14, et12)
    inner_v = np.where(tagged, b[:, 16] >> 4, b[:, 14] >> 4)
    rewrite = np.where(np.isin(etype, FORTINET_ETHERTYPES) & (linktype == capture.LINKTYPE_ETHERNET),
                       np.where(inner_v == 6, ETH_IPV6, ETH_IPV4), 0)
    unknown = ~use_eth & ~use_raw & ~tagged & ~arp
    # Length on the wire, from the IP header, when the dump holds less.
    l3 = np.where(linktype == capture.LINKTYPE_ETHERNET, ETH_HEADER + cut, 0)
    l3_peek = np.where(tagged, 16, np.where(linktype == capture.LINKTYPE_ETHERNET, 14, 0))
    lv = b[np.arange(len(b)), l3_peek] >> 4
    tot_at = lambda o: (b[np.arange(len(b)), o] << 8) | b[np.arange(len(b)), o + 1]  # noqa: E731
    ip_len = np.where(lv == 4, tot_at(l3_peek + 2), np.where(lv == 6, tot_at(l3_peek + 4) + 40, 0))
    ip_eth = np.isin(etype, (ETH_IPV4, ETH_IPV6, *FORTINET_ETHERTYPES)) | (linktype == capture.LINKTYPE_RAW)
    wire = np.where(ip_eth & ~unknown, np.maximum(length - cut, l3 - cut + ip_len), length - cut)
    return linktype, cut, rewrite, wire, unknown


def _frames(d: Dumps, hb, p_start, p_len, hdr_text, gap_header, gap_lines, offsets, line0: int) -> None:
    n = len(p_start)
    linktype, cut, rewrite, wire, unknown = _link(hb, p_start, p_len)
    head = groups(hdr_text, sniffer.HEADER)
    notes: list[str | None] = [None] * n
    changed = (cut > 0) | (rewrite > 0) | (linktype == capture.LINKTYPE_LINUX_SLL)
    if not changed.any():  # the common case: every frame as dumped, cut out of hb at once
        inside = np.zeros(len(hb) + 1, np.int64)
        np.add.at(inside, p_start, 1)
        np.add.at(inside, p_start + p_len, -1)
        framed = b"" if not n else hb[np.cumsum(inside[:-1]) > 0].tobytes()
        sizes = p_len.astype(np.int64)
    else:
        data = hb.tobytes()
        parts: list[bytes] = []
        sizes = np.zeros(n, np.int64)
        for i in range(n):
            a = int(p_start[i])
            fr = data[a : a + int(p_len[i])]
            if changed[i]:
                if cut[i]:
                    fr = fr[:12] + fr[14:]
                if rewrite[i]:
                    fr = fr[:12] + int(rewrite[i]).to_bytes(2, "big") + fr[14:]
                if linktype[i] == capture.LINKTYPE_LINUX_SLL:
                    fr = capture.sll_header(ETH_ARP, None) + fr
            parts.append(fr)
            sizes[i] = len(fr)
        framed = b"".join(parts)
    sll_extra = np.where(linktype == capture.LINKTYPE_LINUX_SLL, SLL_HEADER, 0)
    wire = np.maximum(wire + sll_extra, sizes)
    d.normalised = int(np.count_nonzero((cut > 0) | (rewrite > 0)))
    for i in np.flatnonzero(wire > sizes):
        notes[i] = f"hex dump holds {sizes[i]} of {wire[i]} bytes"
    for i in np.flatnonzero(unknown):
        notes[i] = "dump starts with no known link-layer or IP header; written as Ethernet"
    for i in np.flatnonzero(matches(hdr_text, TRUNCATED)):
        notes[i] = "; ".join(x for x in (notes[i], "header says truncated-ip") if x)
    if gap_header:
        for i in np.flatnonzero(np.isin(d.header_line, list(gap_header))):
            lost = gap_lines[gap_lines > d.last_line[i]]
            at = f"0x{int(offsets[lost[0]]):04x}" if len(lost) else "?"
            notes[i] = "; ".join(x for x in (notes[i], f"dump breaks off at line {int(lost[0]) + 1 + line0 if len(lost) else '?'}"
                                             f" (offset {at} does not follow)") if x)
    d.notes = notes
    ts_us, relative = _timestamps(head)
    d.relative = relative
    direction = pc.if_else(pc.equal(head["dir"], "--"), None, head["dir"]).to_pylist()
    d.frames = capture.Frames(
        data=framed,
        offsets=np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
        ts_us=ts_us,
        linktype=linktype.astype(np.int64),
        iface=head["iface"].to_pylist(),
        direction=direction,
        orig_len=wire.astype(np.int64),
        comment=notes,
    )


def _timestamps(head: dict[str, pa.Array]) -> tuple[np.ndarray, bool]:
    """Header stamps → µs: absolute ones as printed (zone unknown), relative ones as µs
    since the sniffer started (the caller anchors them)."""
    n = len(head["ts_abs"])
    out = np.zeros(n, np.int64)
    has_abs = pc.is_valid(head["ts_abs"]).to_numpy(zero_copy_only=False)
    if has_abs.any():
        parts = groups(head["ts_abs"], r"^(?P<sec>\S+ \d\d:\d\d:\d\d)\.(?P<frac>\d+)$")
        base = pc.strptime(parts["sec"], format="%Y-%m-%d %H:%M:%S", unit="us", error_is_null=True)
        us = pc.add(pc.cast(base, pa.int64()), fraction_us(parts["frac"]))
        out[has_abs] = pc.fill_null(us, 0).to_numpy(zero_copy_only=False)[has_abs]
    rel = pc.is_valid(head["ts_rel"]).to_numpy(zero_copy_only=False)
    if rel.any():
        # At most 12 digits of seconds (31,000 years): a mangled longer stamp reads as 0, not an overflow.
        secs = groups(head["ts_rel"], r"^(?P<s>\d{1,12})\.(?P<f>\d+)$")
        s = pc.cast(pc.fill_null(secs["s"], "0"), pa.int64()).to_numpy(zero_copy_only=False)
        f = fraction_us(secs["f"]).to_numpy(zero_copy_only=False)
        out[rel] = (s * 1_000_000 + f)[rel]
    return out, bool(rel.any() and not has_abs.any())


# ---------------------------------------------------------------------------- events
MAX_WARNINGS = 10
# Header kinds whose bytes the capture decoder would only count as other traffic.
NOT_IPSEC_KINDS = ("arp", "icmp")


def attach(frame: pd.DataFrame, lines: list[str], form: np.ndarray, report: InputReport,
           kept: np.ndarray | None = None) -> pd.DataFrame:
    """Replace the sniffer header events of packets that have a dump with what the capture
    decoder reads from their bytes (IKE header and payloads, SPIs, RFC 8229 streams).

    The events keep the header line's number (``ref``), text, interface, direction, time
    and device; frames the decoder does not keep (ARP, plain TCP) keep their header event.
    ``kept``: the input's line index of each of ``lines`` (and ``form``), when they are a
    selection of the input's lines.
    """
    if not len(frame) or not np.any(form == "hexdump"):
        return frame
    from ikeanalyze.sources import Blob, pcap

    # The text source named the header lines and the lines continuing them (measured
    # terminal width): the dumps are read with its decisions, not made again.
    d = scan(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"), headers=form == "sniffer",
             pieces=form == "continuation")
    if kept is not None:  # the lines were a selection (a double-spaced paste without its blanks)
        d.header_line, d.first_line, d.last_line = kept[d.header_line], kept[d.first_line], kept[d.last_line]
    _report(d, report)
    if not len(d):
        return frame
    # Only frames whose header could be IPsec go to the decoder (all TCP: IKE over TCP may
    # use any port); interface, direction and time come from the header rows afterwards.
    hdr = frame[frame["origin"] == "sniffer"].drop_duplicates("ref").set_index("ref")
    line_of = d.header_line + 1
    known = np.isin(line_of, hdr.index.to_numpy())  # a header line classified otherwise keeps its text
    # na_value=None: a header with no protocol (`...: pdp 820`) must compare False, not pd.NA.
    kind = hdr["kind"].reindex(line_of).to_numpy(dtype=object, na_value=None)
    proto = hdr["proto"].reindex(line_of).to_numpy(dtype=object, na_value=None)
    skip = np.isin(kind, NOT_IPSEC_KINDS) | ((kind == "other") & (proto == "udp"))
    sel = np.flatnonzero(known & ~skip)
    if not len(sel):
        return frame
    f = d.frames.take(sel)
    f.iface, f.direction, f.comment = [None] * len(sel), [None] * len(sel), []
    scratch = InputReport("<hexdump>")
    decoded = pcap.parse(Blob("<hexdump>", None, capture.pcapng(f)), scratch, None)
    for w in scratch.warnings:  # `frame N: why` → `line L: why`
        m = re.match(r"frame (\d+): (.*)", w)
        if m and int(m.group(1)) <= len(sel):
            report.warn(f"line {int(line_of[sel[int(m.group(1)) - 1]])}: hex dump: {m.group(2)}")
        else:
            report.warn(f"hex dump: {w}")
    if not len(decoded):
        return frame
    pkt = sel[decoded["ref"].to_numpy(np.int64) - 1]  # packet index in the dumps
    line = line_of[pkt]
    decoded["ref"] = pd.array(line, dtype=ev.DTYPES["ref"])
    src = hdr.loc[line]
    # (and the device the paste's prompt named: without it a run with dumps under a named
    # prompt read as another, unnamed capture point beside the same device's later run)
    for col in ("time", "t", "iface", "direction", "text", "origin", "source", "device"):
        decoded[col] = src[col].to_numpy()
    decoded["wire"] = pd.array(np.ones(len(decoded), bool), dtype=ev.DTYPES["wire"])
    notes = np.asarray(d.notes, dtype=object)[pkt]
    flag = pd.notna(notes) & decoded["detail"].isna().to_numpy()
    if flag.any():
        detail = decoded["detail"].astype(object).to_numpy(copy=True)  # pandas 3 hands out read-only views
        detail[flag] = notes[flag]
        decoded["detail"] = pd.array(detail, dtype=ev.DTYPES["detail"])
    keep = frame[~((frame["origin"] == "sniffer") & frame["ref"].isin(line))]
    out = ev.concat([keep, decoded.astype(ev.DTYPES)])
    return out.sort_values("ref", kind="stable", ignore_index=True)


def _report(d: Dumps, report: InputReport) -> None:
    """Damaged dumps become warnings naming their lines (the lines are already counted)."""
    flagged = [(int(h) + 1, note) for h, note in zip(d.header_line, d.notes) if note]
    for ref, note in flagged[:MAX_WARNINGS]:
        report.warn(f"line {ref}: {note}")
    if len(flagged) > MAX_WARNINGS:
        more = len(flagged) - MAX_WARNINGS
        report.warn(f"{counted(more, 'more packet')} with {'a damaged hex dump' if more == 1 else 'damaged hex dumps'}")
    if d.orphan_lines:
        report.warn(f"{counted(d.orphan_lines, 'hex dump line')} under no packet header (or after a lost line), not decoded")
