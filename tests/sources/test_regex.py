"""regex: whole-column helpers against plain Python."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given
from hypothesis import strategies as st

from ikeanalyze.sources import regex
from ikeanalyze.sources.regex import concatenated, groups, groups_at, hex_to_int, scatter, spliced

HEXISH = st.one_of(st.none(), st.text(alphabet="0123456789abcdefABCDEFxg ", max_size=18))


@given(st.lists(HEXISH, max_size=40), st.integers(0, 3))
def test_hex_to_int_is_int_base_16(values, cut):
    """Each row as Python's int(x, 16) of 1-15 hex digits; anything else null; slices too."""
    arr = pa.array(values, pa.string()).slice(min(cut, len(values)))
    want = [int(v, 16) if v is not None and re.fullmatch(r"[0-9A-Fa-f]{1,15}", v) else None
            for v in values[min(cut, len(values)):]]
    assert hex_to_int(arr).to_pylist() == want


@given(st.lists(st.one_of(st.none(), st.text(alphabet="ab1 ", max_size=6)), max_size=30), st.data())
def test_groups_at_is_groups_of_those_rows(values, data):
    """The rows asked for as :func:`groups` gives them; every other row null."""
    rows = sorted(data.draw(st.sets(st.integers(0, max(len(values) - 1, 0)), max_size=len(values))))
    arr = pa.array(values, pa.string())
    pattern = r"^(?P<x>a+)(?P<y>1)?"
    whole, got = groups(arr, pattern), groups_at(arr, np.array(rows, dtype=np.int64), pattern)
    for k in ("x", "y"):
        assert got[k].to_pylist() == [v if i in rows else None for i, v in enumerate(whole[k].to_pylist())]


@given(st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=12), st.data(),
       st.sampled_from([pa.string(), pa.large_string()]))
def test_scatter_replaces_those_rows(values, data, typ):
    """Rows in order (the masked replace) or not (the take) give what a Python loop gives,
    in sliced columns too."""
    base = pa.array(values, typ).slice(1) if values else pa.array(values, typ)
    rows = data.draw(st.lists(st.integers(0, max(len(base) - 1, 0)), unique=True, max_size=len(base)))
    if data.draw(st.booleans()):
        rows.sort()
    new = [data.draw(st.one_of(st.none(), st.text(max_size=3))) for _ in rows]
    want = base.to_pylist()
    for r, v in zip(rows, new):
        want[r] = v
    got = scatter(base, np.array(rows, dtype=np.int64), pa.array(new, typ))
    assert got.type == base.type and got.to_pylist() == want


@given(st.lists(st.text(max_size=4), max_size=40), st.data(), st.sampled_from([1, 64]))
def test_scatter_of_text_rows_by_their_bytes(values, data, runs):
    """A text column without nulls with a few rows replaced (``runs``: one in that many at
    most, 1 for any number; BYTE_RUNS) is spliced by its bytes: what a Python loop gives, in a sliced
    column too, rows of any length (empty, non-ASCII) at either end."""
    base = pa.array(values, pa.large_string()).slice(min(1, len(values)))
    rows = sorted(data.draw(st.sets(st.integers(0, max(len(base) - 1, 0)), max_size=len(base))) if len(base) else [])
    new = [data.draw(st.text(max_size=3)) for _ in rows]
    want = base.to_pylist()
    for r, v in zip(rows, new):
        want[r] = v
    old, regex.BYTE_RUNS = regex.BYTE_RUNS, runs
    try:
        got = scatter(base, np.array(rows, np.int64), pa.array(new, pa.large_string()))
    finally:
        regex.BYTE_RUNS = old
    assert got.type == base.type and got.to_pylist() == want


def _spliced_by_hand(values: list, rows: list[int], counts: list[int], pieces: list) -> list:
    """What a splice gives, by a Python loop: row ``rows[i]`` gives way to the next
    ``counts[i]`` of ``pieces``, every other row stays."""
    out, at, k = [], dict(zip(rows, counts)), 0
    for r, v in enumerate(values):
        if r in at:
            out += pieces[k:k + at[r]]
            k += at[r]
        else:
            out.append(v)
    return out


@given(st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=200), st.data(), st.sampled_from([1, 64]))
def test_spliced_puts_each_rows_pieces_in_its_place(values, data, runs):
    """Each replaced row gives way to its pieces (none, one or several), every other row
    stays, in a sliced column too: by slices (few rows replaced) and by a take (many;
    ``runs`` moves the limit) alike."""
    base = pa.array(values, pa.large_string()).slice(1) if values else pa.array(values, pa.large_string())
    rows = sorted(data.draw(st.sets(st.integers(0, max(len(base) - 1, 0)), max_size=len(base))) if len(base) else [])
    counts = [data.draw(st.integers(0, 3)) for _ in rows]
    pieces = [data.draw(st.one_of(st.none(), st.text(max_size=3))) for _ in range(sum(counts))]
    want = _spliced_by_hand(base.to_pylist(), rows, counts, pieces)
    old, regex.SPLICE_RUNS = regex.SPLICE_RUNS, runs
    try:
        got = spliced(base, np.array(rows, np.int64), pa.array(pieces, pa.large_string()), np.array(counts, np.int64))
    finally:
        regex.SPLICE_RUNS = old
    assert got.type == base.type and got.to_pylist() == want


@given(st.lists(st.text(max_size=4), max_size=60), st.data())
def test_spliced_by_bytes_puts_each_rows_pieces_in_its_place(values, data):
    """The splice of a text column without nulls by its bytes (BYTE_RUNS: here at any number
    of rows) gives what a Python loop gives: none, one or several pieces a row, sliced
    columns, empty and non-ASCII rows at either end."""
    base = pa.array(values, pa.large_string()).slice(min(1, len(values)))
    rows = sorted(data.draw(st.sets(st.integers(0, max(len(base) - 1, 0)), max_size=len(base))) if len(base) else [])
    counts = [data.draw(st.integers(0, 3)) for _ in rows]
    pieces = [data.draw(st.text(max_size=3)) for _ in range(sum(counts) + 2)]
    want = _spliced_by_hand(base.to_pylist(), rows, counts, pieces[2:])
    old, regex.BYTE_RUNS = regex.BYTE_RUNS, 0
    try:
        got = spliced(base, np.array(rows, np.int64), pa.array(pieces, pa.large_string()).slice(2),
                      np.array(counts, np.int64))
    finally:
        regex.BYTE_RUNS = old
    got.validate(full=True)
    assert got.type == base.type and got.to_pylist() == want


@given(st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=30), st.data())
def test_concatenated_is_binary_join_of_the_runs(values, data):
    """Runs of a (sliced) column as arrow's binary_join with "" gives them: empty runs,
    empty strings and nulls (a null run) too."""
    base = pa.array(values, pa.large_string()).slice(min(1, len(values)))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(base)), max_size=8)))
    offsets = np.array([0, *cuts, len(base)], np.int64)
    want = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), base), pa.scalar("", pa.large_string()))
    got = concatenated(base, offsets)
    assert got.type == pa.large_string() and got.to_pylist() == want.to_pylist()
