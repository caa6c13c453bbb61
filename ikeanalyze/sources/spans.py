"""Fields of text lines found by byte position, for all lines at once, with numpy.

An arrow string column is two buffers: where each line starts (offsets) and the UTF-8 bytes.
RE2 decides *whether* a line has a shape quickly (a DFA pass), but extracting its groups
runs the NFA, about ten times slower; on a sniffer run of a million lines that was most of
the load. Once a pattern has proved a line's shape, its fields sit between bytes that are
easy to find (the ` -> `, the `:` after an address, the digits at the end), and their
values are read here 8 bytes at a time (a gather of uint64 at any byte offset, every byte
of the word tested at once): a handful of gathers per line instead of a Python object or
a regex engine per line.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

WORD = 8
# Bytes before the start and past the end of the data read as zero (up to this many): the
# first and last lines' words may reach there.
_PAD = 256
# texts_ids packs texts up to this long into words; longer ones (no address is) by their bytes.
PACKED_MAX = 64


class Bytes:
    """The UTF-8 bytes of a string column, readable in 8-byte words at any offset."""

    def __init__(self, arr: pa.Array) -> None:
        if not pa.types.is_large_string(arr.type):
            arr = arr.cast(pa.large_string())
        offsets = np.frombuffer(arr.buffers()[1], np.int64)[arr.offset : arr.offset + len(arr) + 1]
        data = arr.buffers()[2]
        self.data = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
        self.start = offsets[:-1]
        self.end = offsets[1:]
        n = len(self.data)
        self._words = _word_view(self.data)
        # The first and last bytes again, between zeros, for the words that reach past
        # either end of the data.
        self._head = _word_view(np.concatenate([np.zeros(_PAD, np.uint8), self.data[:_PAD], np.zeros(_PAD, np.uint8)]))
        self._tail_at = max(n - _PAD, 0)
        self._tail = _word_view(np.concatenate([self.data[self._tail_at :], np.zeros(_PAD, np.uint8)]))

    def words(self, at: np.ndarray) -> np.ndarray:
        """The 8 bytes from each offset in ``at`` (at most _PAD before the start or past the
        end, which read as zeros), as uint64: byte 0 lowest (little-endian)."""
        at = np.asarray(at, np.int64)
        last = len(self.data) - WORD  # the last offset a whole word can be read from
        if len(at) and at.min() >= 0 and at.max() <= last:  # nearly always: one gather
            return self._words[at]
        out = self._words[np.clip(at, 0, max(last, 0))] if last >= 0 else np.zeros(len(at), np.uint64)
        past = at > last
        if past.any():
            out[past] = self._tail[at[past] - self._tail_at]
        before = at < 0
        if before.any():
            out[before] = self._head[at[before] + _PAD]
        return out

    def within(self, lo: int, hi: int) -> Bytes:
        """This column, for reads the caller has proved start in ``[lo, hi]`` (offsets of
        whole words): :meth:`words` without its bounds tests. Itself when that range is not
        all readable."""
        if lo < 0 or hi > len(self.data) - WORD:
            return self
        trusted = copy.copy(self)
        trusted.words = self._words.__getitem__
        return trusted


_SCAN = 1 << 20  # bytes per step of a scan: its temporaries stay small (no page faults)


def positions(data: np.ndarray, byte: int) -> np.ndarray:
    """Offsets of every ``byte`` in ``data`` (uint8)."""
    found = [np.flatnonzero(data[k : k + _SCAN] == byte) + k for k in range(0, len(data), _SCAN)]
    return np.concatenate(found) if found else np.zeros(0, np.int64)


def _gather(b: Bytes, start: np.ndarray, size: np.ndarray) -> pa.Array:
    """The texts of ``size`` bytes from ``start`` as a new string column: one gather of
    their bytes (short texts: their words side by side, then the bytes inside each)."""
    if not len(start):
        return pa.array([], pa.large_string())
    offsets = np.zeros(len(size) + 1, np.int64)
    np.cumsum(size, out=offsets[1:])
    nwords = max(-(-int(size.max()) // WORD), 1)
    if nwords <= 4:
        block = np.stack([b.words(start + WORD * k) for k in range(nwords)], axis=1).view(np.uint8)
        if size[0] == size.min() == size.max():  # one width (time stamps): a slice of each row
            data = np.ascontiguousarray(block[:, : size[0]])
        else:
            data = block[np.arange(WORD * nwords) < size[:, None]]
    else:
        data = b.data[np.arange(offsets[-1]) + np.repeat(start - offsets[:-1], size)]
    return pa.LargeStringArray.from_buffers(len(size), pa.py_buffer(offsets), pa.py_buffer(data))


def _word_view(data: np.ndarray) -> np.ndarray:
    """uint64 at every byte offset of ``data`` (a strided view, no copy)."""
    return np.ndarray((max(len(data) - WORD + 1, 0),), "<u8", data, strides=(1,))


# Bytes of a word are tested all at once (SWAR): a test leaves the high bit of each byte
# set where the byte passes, and nothing carries from one byte into the next.
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_HIGH = np.uint64(0x8080808080808080)
_ONES = np.uint64(0x0101010101010101)


# _LOW_BYTES[k]: the mask of a word's first k bytes.
_LOW_BYTES = np.array([(1 << 8 * k) - 1 for k in range(WORD + 1)], np.uint64)


def equal_bits(w: np.ndarray, byte: int) -> np.ndarray:
    """High bit of each byte of ``w`` that equals ``byte``."""
    x = w ^ (_ONES * np.uint64(byte))  # the wanted byte becomes 0
    return ~(((x & _LOW7) + _LOW7) | x | _LOW7)


def unequal_bits(w: np.ndarray, byte: int) -> np.ndarray:
    """High bit of each byte of ``w`` that is not ``byte``."""
    return equal_bits(w, byte) ^ _HIGH


def nondigit_bits(w: np.ndarray) -> np.ndarray:
    """High bit of each byte of ``w`` that is not an ASCII digit."""
    x = w ^ (_ONES * np.uint64(0x30))  # digits become 0..9, every other byte something else
    return (((x & _LOW7) + (_ONES * np.uint64(0x80 - 10))) | x) & _HIGH


def _range_bits(w: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """High bit of each byte of ``w`` in ``[lo, hi]`` (1 <= lo <= hi < 0x80)."""
    x = w & _LOW7  # no carry out of a byte; the high bit is tested on its own below
    return (x + _ONES * np.uint64(0x80 - lo)) & ~(x + _ONES * np.uint64(0x7F - hi)) & ~w & _HIGH


def digit_bits(w: np.ndarray) -> np.ndarray:
    """High bit of each byte of ``w`` that is an ASCII digit (RE2's ``\\d``)."""
    return _range_bits(w, 0x30, 0x39)


def word_bits(w: np.ndarray) -> np.ndarray:
    """High bit of each byte of ``w`` in RE2's ``[\\w-]`` (ASCII letters, digits, `_`, `-`)."""
    return (_range_bits(w, 0x30, 0x39) | _range_bits(w | (_ONES * np.uint64(0x20)), 0x61, 0x7A)
            | equal_bits(w, ord("_")) | equal_bits(w, ord("-")))


_GATHER = np.uint64(0x0102040810204080)


def bitmask(flagged: list[np.ndarray]) -> np.ndarray:
    """Flagged words (high bit per byte, as the tests above leave them) of consecutive
    8-byte runs → one integer, bit ``i`` for byte ``i`` (at most 6 words: exact in a
    float, for :func:`lowest_bit`). One multiply per word gathers its 8 flags."""
    out = np.zeros(len(flagged[0]), np.uint64)
    for k, f in enumerate(flagged):
        out |= (((f >> np.uint64(7)) * _GATHER) >> np.uint64(56)) << np.uint64(8 * k)
    return out


def lowest_bit(x: np.ndarray) -> np.ndarray:
    """Index of the lowest set bit of each ``x`` (< 2**53), ``none`` where x is 0: 64."""
    low = x & (~x + np.uint64(1))
    return np.where(x != 0, np.frexp(low.astype(np.float64))[1] - 1, 64)


def highest_bit(x: np.ndarray) -> np.ndarray:
    """Index of the highest set bit of each ``x`` (< 2**53), -1 where x is 0."""
    return np.where(x != 0, np.frexp(x.astype(np.float64))[1] - 1, -1)


def fits(b: Bytes, at: np.ndarray, shape: str) -> np.ndarray:
    """Per row, whether the bytes from ``at`` have ``shape``: ``D`` is any ASCII digit,
    every other character itself (ASCII)."""
    ok = np.ones(len(at), bool)
    for k in range(0, len(shape), WORD):
        part = shape[k : k + WORD]
        lit_mask = lit = digits = 0
        for i, ch in enumerate(part):
            if ch == "D":
                digits |= 0x80 << 8 * i
            else:
                lit_mask |= 0xFF << 8 * i
                lit |= ord(ch) << 8 * i
        w = b.words(at + k)
        ok &= (w & np.uint64(lit_mask)) == np.uint64(lit)
        ok &= (nondigit_bits(w) & np.uint64(digits)) == 0
    return ok


def masked(w: np.ndarray, have: np.ndarray) -> np.ndarray:
    """``w`` with only its first ``have`` bytes (0..8, per row) kept."""
    return w & _LOW_BYTES[np.clip(have, 0, WORD)]


def nibbles(w: np.ndarray, have: np.ndarray) -> np.ndarray:
    """The first ``have`` bytes (0..8, per row) of ``w`` as 4 bits each, packed into 32
    bits: each byte's low 4 bits plus one, so that a digit or a dot is never 0 and a byte
    past ``have`` always is. An exact code of up to 8 bytes of digits and dots."""
    x = masked((w & np.uint64(0x0F0F0F0F0F0F0F0F)) + _ONES, have)
    x = (x | (x >> np.uint64(4))) & np.uint64(0x00FF00FF00FF00FF)
    x = (x | (x >> np.uint64(8))) & np.uint64(0x0000FFFF0000FFFF)
    return (x | (x >> np.uint64(16))) & np.uint64(0xFFFFFFFF)


def small_number_before(b: Bytes, end: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The value of the ``n`` (0..8, per row) decimal digits before each ``end``, which the
    caller has proved are digits: one word read."""
    w = b.words(np.asarray(end, np.int64) - WORD) ^ (_ONES * np.uint64(0x30))
    return _eight_digits(w & _TOP_BYTES[n]).astype(np.int64)


def byte_is(b: Bytes, at: np.ndarray, end: np.ndarray, byte: int) -> np.ndarray:
    """Per row, whether the byte at ``at`` (before ``end``: none at or past it) is ``byte``."""
    return (at < end) & ((b.words(at) & np.uint64(0xFF)) == byte)


def starts(b: Bytes, at: np.ndarray, text: bytes) -> np.ndarray:
    """Per row, whether the bytes from ``at`` are ``text`` (at most 8 bytes)."""
    mask = np.uint64((1 << 8 * len(text)) - 1)
    return (b.words(at) & mask) == np.uint64(int.from_bytes(text, "little"))


def _eight_digits(d: np.ndarray) -> np.ndarray:
    """Digit values (0..9, one per byte, first digit in the lowest byte) → the number:
    pairs, then quads, then the eight, each step one multiply (as simdjson does)."""
    d = ((d & np.uint64(0x0F0F0F0F0F0F0F0F)) * np.uint64(10 * 256 + 1)) >> np.uint64(8)
    d = ((d & np.uint64(0x00FF00FF00FF00FF)) * np.uint64(100 * 65536 + 1)) >> np.uint64(16)
    return ((d & np.uint64(0x0000FFFF0000FFFF)) * np.uint64(10000 * 2**32 + 1)) >> np.uint64(32)


# _TOP_BYTES[k]: the mask of a word's last k bytes.
_TOP_BYTES = np.array([((1 << 8 * k) - 1) << 8 * (WORD - k) for k in range(WORD + 1)], np.uint64)
_POW10 = np.array([10**k for k in range(2 * WORD + 1)], np.uint64)


def number_before(b: Bytes, end: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The run of decimal digits that ends at each ``end`` (exclusive) and begins no earlier
    than ``start``: its length (0 when the byte before ``end`` is not a digit) and its value
    as float64 (NaN for no digits).
    Exact up to 15 digits; a run of 16 or more is reported as 16 long, for the caller to
    leave to its slow path."""
    end = np.asarray(end, np.int64)
    last, before = b.words(end - WORD), b.words(end - 2 * WORD)  # the 16 bytes before ``end``
    # Trailing digits of the 16 bytes, from their non-digit bytes (bit 8 + i: byte i of
    # ``last``), by one table look-up; none before ``start``.
    nondigit = bitmask([nondigit_bits(before), nondigit_bits(last)])
    length = np.minimum(_TOP_RUN16[nondigit], np.clip(end - start, 0, 2 * WORD))
    low = np.minimum(length, WORD)
    value = _eight_digits((last ^ (_ONES * np.uint64(0x30))) & _TOP_BYTES[low])
    high = _eight_digits((before ^ (_ONES * np.uint64(0x30))) & _TOP_BYTES[length - low])
    value += high * _POW10[low]
    return np.where(length > 0, value.astype(np.float64), np.nan), length


# _TOP_RUN16[m]: how many of the 16 bytes whose non-digits are the bits of m end in digits.
_TOP_RUN16 = (15 - (np.frexp(np.arange(1 << 16, dtype=np.float64))[1] - 1)).astype(np.int8)  # m = 0: 16


def texts_ids(parts: list[tuple[Bytes, np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """One integer per text, equal exactly when the bytes are equal, for texts given as
    (bytes, start, end) ranges of one or more columns. Each text is packed into words
    (zero-padded to the longest), hashed to one int64 and factorised; the packing is then
    checked against each group's member, so a hash collision cannot merge two texts.
    Texts longer than PACKED_MAX (no address is; a mangled line's 5000-digit one) are
    grouped by their bytes instead: packing them would cost a word per 8 bytes on every row."""
    sizes = np.concatenate([np.asarray(e - s, np.int64) for _, s, e in parts])
    long = sizes > PACKED_MAX
    nwords = max(1, -(-int(sizes[~long].max(initial=0)) // WORD))
    packed = []
    for b, s, e in parts:
        cols = []
        for k in range(nwords):
            have = np.clip(e - s - k * WORD, 0, WORD)  # bytes of the text in this word
            # A text that ended reads at its end (masked to nothing), never past the data.
            cols.append(b.words(np.minimum(s + k * WORD, e)) & _LOW_BYTES[have])
        packed.append(np.stack(cols, axis=1))
    words = np.concatenate(packed)
    words[long] = 0
    mix = np.zeros(len(words), np.uint64)
    for k in range(nwords):  # FNV-style: xor in one word at a time, multiply by a large odd number
        mix = (mix ^ words[:, k]) * np.uint64(0x100000001B3 + 2 * k)
    ids, _ = pd.factorize(mix.view(np.int64))
    ids = ids.astype(np.int64)
    rep = np.zeros(ids.max() + 1 if len(ids) else 0, np.int64)
    rep[ids] = np.arange(len(ids))  # any member of each group
    if not (words == words[rep[ids]]).all():  # a collision: group the packed texts exactly
        _, ids = np.unique(np.ascontiguousarray(words).view(f"V{nwords * WORD}").ravel(), return_inverse=True)
        ids = ids.astype(np.int64).ravel()
    if long.any():  # after every packed text's id
        texts = [bytes(b.data[a:z]) for b, s, e in parts for a, z in zip(s, e) if z - a > PACKED_MAX]
        ids[long] = ids.max() + 1 + pd.factorize(pd.Series(texts, dtype=object))[0]
    return np.split(ids, np.cumsum([len(s) for _, s, _ in parts])[:-1])


def occurrences(b: Bytes, literal: bytes) -> np.ndarray:
    """Per row of a string column (``b``: its bytes), how many times ``literal`` (up to 8
    bytes) starts in it and ends in it: the offsets of its first byte (a compare of one
    byte, in steps), then a compare of the word at each (no regex, no copy of the text)."""
    n = len(b.start)
    if not n:
        return np.zeros(0, np.int64)
    size = len(literal)
    key, mask = np.uint64(int.from_bytes(literal, "little")), np.uint64((1 << 8 * size) - 1)
    lo, hi = int(b.start[0]), int(b.end[-1]) - size + 1  # offsets where it may start
    at = positions(b.data[lo:max(hi, lo)], literal[0]) + lo
    at = at[(b.words(at) & mask) == key]  # (the last bytes' words read past the end as zeros)
    row = np.searchsorted(b.end, at, side="right")
    return np.bincount(row[at + size <= b.end[np.minimum(row, n - 1)]], minlength=n)


def texts(b: Bytes, start: np.ndarray, end: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """The texts ``[start, end)`` (byte offsets, per row) of a string column (``b``: its
    Bytes) as a new large_string column, null where not ``valid``. No Python object or
    regex per row: texts of up to two words are gathered word by word (the faster way for
    them); longer ones are built as arrow string views of the column's bytes (the first
    bytes in the view, or where they are), which arrow copies out at once."""
    start = np.asarray(start, np.int64)
    n = len(start)
    if valid is not None and 2 * np.count_nonzero(valid) < n:  # (a field most lines lack: the others alone)
        rows = np.flatnonzero(valid)
        return _spread(texts(b, start[rows], np.asarray(end, np.int64)[rows]), rows, valid)
    length = np.maximum(np.asarray(end, np.int64) - start, 0)
    if len(b.data) >= 2**31 or (valid is None and n and length.max() <= _GATHER_MAX):  # a view's offset is 32-bit
        out = _gather(b, start, length)
        return out if valid is None else pc.if_else(pa.array(valid), out, pa.scalar(None, out.type))
    return _views([b], start, length, np.zeros(n, np.int64), valid)


def texts_of(columns: list[Bytes], which: np.ndarray, start: np.ndarray, end: np.ndarray) -> pa.Array:
    """:func:`texts` of several columns at once: row k is ``[start[k], end[k])`` of the
    column ``columns[which[k]]``. One copy of the bytes, where a take from each column and
    a replace of one's rows by the other's would copy them twice or more."""
    start = np.asarray(start, np.int64)
    return _views(columns, start, np.maximum(np.asarray(end, np.int64) - start, 0), np.asarray(which, np.int64))


def _views(columns: list[Bytes], start: np.ndarray, length: np.ndarray, which: np.ndarray,
           valid: np.ndarray | None = None) -> pa.Array:
    """The texts as arrow string views of the columns' bytes (the first bytes in the view, or
    where they are: column ``which``, from ``start``), copied out by arrow at once."""
    n = len(start)
    inline = length <= _INLINE
    first, more = np.empty(n, np.uint64), np.empty(n, np.uint64)
    for k, b in enumerate(columns):
        rows = np.flatnonzero(which == k) if len(columns) > 1 else slice(None)
        first[rows], more[rows] = b.words(start[rows]), b.words(start[rows] + 4)
    views = np.empty((n, 2), np.uint64)
    # Bytes 0-3 the length, 4-7 the first bytes; 8-15 the next bytes (inline) or the
    # buffer's number and offset.
    views[:, 0] = length.astype(np.uint64) | (masked(first, np.minimum(length, 4)) << np.uint64(32))
    views[:, 1] = np.where(inline, masked(more, length - 4),
                           which.astype(np.uint64) | (start.astype(np.uint64) << np.uint64(32)))
    bitmap = None if valid is None else pa.array(valid, pa.bool_()).buffers()[1]
    view = pa.Array.from_buffers(pa.string_view(), n, [bitmap, pa.py_buffer(views),
                                                       *(pa.py_buffer(b.data) for b in columns)])
    return view.cast(pa.large_string())


def _spread(some: pa.Array, rows: np.ndarray, valid: np.ndarray) -> pa.Array:
    """A large_string column of ``len(valid)`` rows: ``some`` (no nulls) at ``rows`` (the
    ``valid`` ones, in order), null elsewhere. Its bytes are ``some``'s, in place: only the
    offsets are new."""
    inner = np.frombuffer(some.buffers()[1], np.int64)[some.offset : some.offset + len(some) + 1]
    size = np.zeros(len(valid), np.int64)
    size[rows] = np.diff(inner)
    offsets = np.empty(len(valid) + 1, np.int64)
    offsets[0] = inner[0]
    np.cumsum(size, out=offsets[1:])
    offsets[1:] += inner[0]
    bitmap = pa.array(valid, pa.bool_()).buffers()[1]
    return pa.LargeStringArray.from_buffers(len(valid), pa.py_buffer(offsets), some.buffers()[2], bitmap,
                                            len(valid) - len(rows))


_GATHER_MAX = 2 * WORD  # measured: gathering words is faster up to here, string views beyond
_INLINE = 12  # the longest text a string view holds itself
