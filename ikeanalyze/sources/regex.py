"""Whole-column helpers over arrow string arrays: RE2 matching and extraction with no Python
call per line, and row replacement."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def matches(arr: pa.Array, pattern: str) -> np.ndarray:
    """Boolean mask of the rows matching ``pattern`` (nulls never match)."""
    if len(arr) == 0:
        return np.zeros(0, dtype=bool)
    return pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(zero_copy_only=False)


def matches_at(arr: pa.Array, rows: np.ndarray, pattern: str) -> np.ndarray:
    """:func:`matches` of the ``rows`` of ``arr``: a pass over the whole column when they
    are most of it (a copy of them would cost more than the lines the pass need not read)."""
    if len(rows) * 2 > len(arr):
        return matches(arr, pattern)[rows]
    return matches(arr.take(pa.array(rows)), pattern)


def distinct(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The distinct values of ``arr`` and, per row, the index of its value among them (a
    null row gets an index of its own, past the values, whose value is null): a pattern
    asked of the values is asked once per text, not once per line that repeats it."""
    encoded = arr.dictionary_encode()
    values = encoded.dictionary
    codes = encoded.indices
    if codes.null_count:
        values = pa.concat_arrays([values, pa.nulls(1, values.type)])
        codes = pc.fill_null(codes, len(values) - 1)
    return values, codes.to_numpy(zero_copy_only=False).astype(np.int64)


class Texts:
    """Lines as the distinct texts among them and each line's number among those: a pattern
    asked of many lines is asked of each text once (a debug repeats its lines)."""

    def __init__(self, texts: pa.Array, code: np.ndarray) -> None:
        self.texts = texts
        self.code = code  # per line, its text among ``texts``

    def rows(self, rows: np.ndarray) -> Texts:
        """The lines ``rows`` of these, with only their own texts (in the order of ``texts``:
        a mask and a running count, not a sort, as the parse asks this of most lines often)."""
        code = self.code[rows]
        asked = np.zeros(len(self.texts), dtype=bool)
        asked[code] = True
        at = np.cumsum(asked) - 1
        return Texts(self.texts.take(pa.array(np.flatnonzero(asked))), at[code])

    def matches(self, pattern: str) -> np.ndarray:
        """:func:`matches` of the lines."""
        return matches(self.texts, pattern)[self.code]

    def take(self, rows: np.ndarray) -> pa.Array:
        """The texts of the lines ``rows``."""
        return self.texts.take(pa.array(self.code[rows]))

    def lengths(self) -> np.ndarray:
        """Each line's length in bytes."""
        return pc.binary_length(self.texts).to_numpy(zero_copy_only=False)[self.code]


def groups(arr: pa.Array, pattern: str) -> dict[str, pa.Array]:
    """Named groups of ``pattern`` as columns; a row that does not match, or a group that
    did not take part, is null (arrow reports both as empty strings)."""
    if len(arr) == 0:
        names = pa.compute.extract_regex(pa.array([""], pa.string()), pattern).type
        return {f.name: pa.array([], pa.string()) for f in names}
    st = pc.extract_regex(arr, pattern)
    return fields(st, tuple(f.name for f in st.type))


def groups_at(arr: pa.Array, rows: np.ndarray, pattern: str) -> dict[str, pa.Array]:
    """:func:`groups` of the ``rows`` of ``arr`` (picked by a cheaper test), the other rows
    null: the pattern runs on those rows only."""
    n = len(arr)
    found = groups(arr.take(pa.array(rows, pa.int64())), pattern)
    return {k: scatter(pa.nulls(n, pa.string()), rows, v) for k, v in found.items()}


def fields(found: pa.StructArray, names: tuple[str, ...]) -> dict[str, pa.Array]:
    """Named groups of an ``extract_regex`` result: null where the row did not match or the
    group took no part (arrow gives "" for both)."""
    valid = found.is_valid()
    out = {}
    for name in names:
        child = pc.struct_field(found, name)
        out[name] = pc.if_else(pc.and_(valid, pc.not_equal(child, "")), child, None)
    return out


def to_int(arr: pa.Array, typ: pa.DataType | None = None) -> pa.Array:
    """Decimal digit strings → integers (nulls stay null); a number the type cannot hold
    (a mangled paste: a port of 30 digits) is null, not an error."""
    typ = typ or pa.int64()
    lo, hi = _bounds(typ)
    big = pc.cast(arr, pa.float64())  # any length of digits parses as a float
    # int64's limits are not exact floats: keep a margin so the final cast cannot overflow.
    margin = 1.0 if hi < 2**53 else 1 - 1e-15
    fits = pc.and_(pc.less_equal(big, hi * margin), pc.greater_equal(big, lo * margin))
    return pc.cast(pc.if_else(pc.fill_null(fits, False), arr, None), typ)


def hex_to_int(arr: pa.Array, width: int = 15) -> pa.Array:
    """Hex digit strings (no `0x`) → int64, whole column: each padded to ``width`` digits
    and read as bytes, 4 bits a digit (no Python call per row). Null stays null; a longer
    string or one that is not hex is null."""
    n = len(arr)
    ok = matches(arr, rf"^[0-9A-Fa-f]{{1,{width}}}$")
    if not n:
        return pa.array([], pa.int64())
    padded = pc.utf8_lpad(pc.if_else(pa.array(ok), arr, "0"), width, "0").cast(pa.large_string())
    offsets = np.frombuffer(padded.buffers()[1], np.int64)[padded.offset : padded.offset + 1]
    digits = np.frombuffer(padded.buffers()[2], np.uint8)[int(offsets[0]) : int(offsets[0]) + n * width]
    digits = digits.reshape(n, width).astype(np.int64)
    values = np.where(digits <= ord("9"), digits - ord("0"), (digits | 0x20) - ord("a") + 10)
    number = values @ (np.int64(16) ** np.arange(width - 1, -1, -1, dtype=np.int64))
    return pa.array(number, pa.int64(), mask=~ok)


def fraction_us(digits: pa.Array) -> pa.Array:
    """The digits after a seconds' point (`766087`, `5`, null for none) as microseconds
    (int64): padded or cut to six digits, as every stamp form here writes them."""
    six = pc.utf8_slice_codeunits(pc.binary_join_element_wise(pc.fill_null(digits, ""), "000000", ""), 0, 6)
    return pc.cast(six, pa.int64())


def int_array(values, typ: pa.DataType) -> pa.Array:
    """Python ints or digit strings (None for missing) → an arrow integer array; a value
    the type cannot hold is null, not an error (see :func:`to_int`)."""
    lo, hi = _bounds(typ)
    out = []
    for v in values:
        if isinstance(v, str):
            v = int(v) if len(v) <= 20 else None  # longer never fits (and int() caps digits)
        out.append(v if v is not None and lo <= v <= hi else None)
    return pa.array(out, typ)


def _bounds(typ: pa.DataType) -> tuple[int, int]:
    info = np.iinfo(typ.to_pandas_dtype())
    return int(info.min), int(info.max)


def scatter(base: pa.Array, idx: np.ndarray, values) -> pa.Array:
    """``base`` with the rows at ``idx`` replaced by ``values`` (an arrow array or a
    sequence): one pass over the whole column, no Python object per row."""
    new = values.cast(base.type) if isinstance(values, pa.Array) else pa.array(list(values), base.type)
    idx = np.asarray(idx)
    if not len(idx):  # (nothing replaced: the column as it is, not a copy)
        return base
    if isinstance(base, pa.Array) and (np.diff(idx) > 0).all():  # rows in order, each once: the usual case
        if len(idx) * BYTE_RUNS <= len(base) and _plain_strings(base, new):  # a few rows of a text column
            return _spliced_bytes(base, idx, new, np.ones(len(idx), np.int64))
        # A masked replace copies the kept rows in runs; a take of two chunks resolves the
        # chunk of every row (3-4 times slower on a 50 MB column).
        mask = np.zeros(len(base), dtype=bool)
        mask[idx] = True
        return pc.replace_with_mask(base, pa.array(mask), new)
    pick = np.arange(len(base))
    pick[idx] = len(base) + np.arange(len(idx))
    return take_joined([base, new], pick)


def take_joined(arrays: list[pa.Array], index: np.ndarray | pa.Array) -> pa.Array:
    """Rows ``index`` of ``arrays`` (of one type) as if concatenated, without concatenating
    them first: one copy of the text instead of two (on a large log the first copy, into
    fresh memory, costs more than the take)."""
    out = pa.chunked_array(arrays).take(index if isinstance(index, pa.Array) else pa.array(index))
    return out.chunk(0) if out.num_chunks == 1 else out.combine_chunks()


def concatenated(values: pa.Array, offsets: np.ndarray) -> pa.Array:
    """Each run ``values[offsets[k]:offsets[k + 1]]`` (a large_string column) as one string,
    as arrow's binary_join of such lists with no separator gives it (null where the run
    holds a null). Without a null, the values' bytes are read in place, cut anew: the
    runs' bytes lie one after the other already, so nothing is copied."""
    offsets = np.asarray(offsets, np.int64)
    if values.null_count:
        return pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), values), pa.scalar("", values.type))
    bounds = _offsets(values)[0]
    return pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(np.ascontiguousarray(bounds[offsets])),
                                            values.buffers()[2])


# A splice copies the rows between the replaced ones as slices while it replaces at most one
# row in this many; more, and one take is faster than a slice per run.
SPLICE_RUNS = 64
# A text column without nulls is spliced (or scattered into) by its bytes while at most one
# row in this many is replaced: measured on a 50 MB debug, twice as fast as a masked
# replace at one in 32, as fast at one in 16.
BYTE_RUNS = 32


def spliced(base: pa.Array, rows: np.ndarray, values: pa.Array, counts: np.ndarray) -> pa.Array:
    """``base`` with each of its ``rows`` (sorted, distinct) replaced by the next ``counts``
    rows of ``values`` (of its type; in order, zero or more each). The rows between stay
    as they are, copied in runs (slices concatenated: one copy of the text, at memcpy
    speed, where a take copies row by row and, from two arrays, resolves each row's)."""
    rows = np.asarray(rows, np.int64)
    counts = np.asarray(counts, np.int64)
    if len(rows) * BYTE_RUNS <= len(base) and _plain_strings(base, values):
        return _spliced_bytes(base, rows, values, counts)
    if len(rows) * SPLICE_RUNS > len(base):
        reps = np.ones(len(base), np.int64)
        reps[rows] = counts
        pick = np.repeat(np.arange(len(base)), reps)
        replaced = np.zeros(len(base), dtype=bool)
        replaced[rows] = True
        pick[replaced[pick]] = len(base) + np.arange(int(counts.sum()))
        return take_joined([base, values], pick)
    parts, prev = [], 0
    ends = np.cumsum(counts)
    for row, end, count in zip(rows.tolist(), ends.tolist(), counts.tolist()):
        parts += [base.slice(prev, row - prev), values.slice(end - count, count)]
        prev = row + 1
    parts.append(base.slice(prev))
    return pa.concat_arrays(parts)


def _plain_strings(*arrays: pa.Array) -> bool:
    """Whether the arrays are large_string columns without nulls: their bytes and offsets
    are all there is to them."""
    return all(pa.types.is_large_string(a.type) and not a.null_count for a in arrays)


def _offsets(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A large_string column's offsets (its rows') and bytes, as numpy arrays, in place."""
    at, data = arr.buffers()[1:3]
    offsets = np.frombuffer(at, np.int64)[arr.offset : arr.offset + len(arr) + 1] if at is not None else np.zeros(1, np.int64)
    return offsets, np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)


def _spliced_bytes(base: pa.Array, rows: np.ndarray, values: pa.Array, counts: np.ndarray) -> pa.Array:
    """:func:`spliced` of large_string columns without nulls, by their bytes: the runs of
    kept rows and each replaced row's values are byte ranges, joined in one copy (numpy's
    concatenate of views) under offsets worked out as a whole column."""
    n = len(base)
    base_at, base_data = _offsets(base)
    values_at, values_data = _offsets(values)
    ends = np.cumsum(counts)
    size = np.diff(base_at)
    if len(values) == len(rows) and (counts == 1).all():  # one row for one (a scatter)
        size[rows] = np.diff(values_at)
    else:
        replaced = np.zeros(n, bool)
        replaced[rows] = True
        reps = np.where(replaced, 0, 1)
        reps[rows] = counts
        pick = np.repeat(np.arange(n), reps)
        size = size[pick]
        size[replaced[pick]] = np.diff(values_at)  # (the values in order, as their rows are)
    offsets = np.zeros(len(size) + 1, np.int64)
    np.cumsum(size, out=offsets[1:])
    # Kept bytes from the column's start or after each replaced row, up to the next one;
    # between them, the replaced row's values (one range: they are one after the other).
    kept_from = np.concatenate([base_at[:1], base_at[rows + 1]]).tolist()
    kept_to = np.concatenate([base_at[rows], base_at[-1:]]).tolist()
    new_from, new_to = values_at[ends - counts].tolist(), values_at[ends].tolist()
    pieces = [base_data[kept_from[0]:kept_to[0]]]
    for a, b, c, d in zip(new_from, new_to, kept_from[1:], kept_to[1:]):  # (a few rows: see BYTE_RUNS)
        pieces += (values_data[a:b], base_data[c:d])
    return pa.LargeStringArray.from_buffers(len(size), pa.py_buffer(offsets), pa.py_buffer(np.concatenate(pieces)))


def forms(text: pa.Array, table: list[tuple[str, str, str]], untried: np.ndarray,
          exclusive: bool = True) -> Iterator[tuple[str, np.ndarray, dict[str, pa.Array]]]:
    """Rows of ``text`` by form: for each ``(name, prefix, pattern)`` of ``table`` in order,
    the rows still ``untried`` that start with ``prefix`` ("" = any) and match ``pattern``,
    with its named groups (the rows' values). A row matched by a form is not tried again;
    with ``exclusive``, neither is one whose prefix picked a form its pattern then did not
    match (the prefix names the one form to try). ``untried`` is updated in place."""
    for name, prefix, pattern in table:
        tried = untried & (pc.fill_null(pc.starts_with(text, prefix), False).to_numpy(zero_copy_only=False)
                           if prefix else True)
        if exclusive:
            untried &= ~tried
        rows = np.flatnonzero(tried)
        if not len(rows):
            continue
        sub = text.take(pa.array(rows))
        hit = matches(sub, pattern)
        rows = rows[hit]
        if not len(rows):
            continue
        untried[rows] = False
        yield name, rows, groups(sub.filter(pa.array(hit)), pattern)


def spread(idx: np.ndarray, sub: pa.Array, shown: pa.Array, rows: np.ndarray,
           pieces: list[list[str]]) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Lines ``sub`` (numbered ``idx``, shown as ``shown``) whose ``rows`` (sorted, distinct) a
    parser cut into ``pieces`` (one list per row), as rows: each piece a row with its line's
    number, showing itself; every other line stays as it is, in place. For the records a
    web copy collapsed onto one line."""
    counts = np.array([len(p) for p in pieces], np.int64)
    extra = pa.array([x for p in pieces for x in p], pa.large_string())
    reps = np.ones(len(sub), np.int64)
    reps[rows] = counts
    return (idx[np.repeat(np.arange(len(sub)), reps)], spliced(sub.cast(pa.large_string()), rows, extra, counts),
            spliced(shown.cast(pa.large_string()), rows, extra, counts))
