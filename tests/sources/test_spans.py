"""spans: byte-position helpers against plain Python on random lines (each line's fields
must not run into the line before it, nor past the data's ends)."""

from __future__ import annotations

import random
import re

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from ikeanalyze.sources import spans


def _lines(seed: int, n: int = 3000) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        digits = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(0, 18)))
        out.append(rnd.choice(["psh ", "ack ", ": ", "x", "", "0 ", "1.2.3.4.500 -> "]) + digits
                   + rnd.choice(["", "", " :", ":"]))
    return out


def test_number_before_is_the_trailing_digit_run():
    lines = _lines(1)
    b = spans.Bytes(pa.array(lines, pa.large_string()))
    value, length = spans.number_before(b, b.end, b.start)
    for i, line in enumerate(lines):
        run = re.search(r"\d*$", line).group()
        assert length[i] == min(len(run), 16), line
        if 0 < len(run) < 16:
            assert value[i] == float(int(run)), line
        if not run:
            assert np.isnan(value[i])


def test_starts_matches_bytes_startswith():
    lines = _lines(2) + ["a", ""]
    b = spans.Bytes(pa.array(lines, pa.large_string()))
    data = b.data.tobytes()
    udp = spans.starts(b, b.start, b"psh ")
    for i in range(len(lines)):
        assert udp[i] == data[int(b.start[i]):].startswith(b"psh ")


def test_texts_ids_equal_exactly_when_texts_are():
    # and texts longer than PACKED_MAX (a mangled line's 5000-digit address), last in the
    # data so that a short text's packing would read past its end
    texts = ["10.0.0.1.500", "9" * 5000, "10.0.0.1.500", "10.0.0.1.5000", "", "fe80::18f:aba6:cdc7:e96b.64105",
             "9" * 4999 + "8", "10.0.0.1.50"]
    other = ["10.0.0.1.5000", "9" * 5000, "x", "fe80::18f:aba6:cdc7:e96b.64105", ""]
    b1, b2 = (spans.Bytes(pa.array(t, pa.large_string())) for t in (texts, other))
    ids1, ids2 = spans.texts_ids([(b1, b1.start, b1.end), (b2, b2.start, b2.end)])
    every = texts + other
    ids = np.concatenate([ids1, ids2])
    for i in range(len(every)):
        for j in range(len(every)):
            assert (ids[i] == ids[j]) == (every[i] == every[j])


@given(st.lists(st.text(max_size=40), min_size=1, max_size=30), st.data())
def test_texts_are_the_byte_ranges_either_way(lines, data):
    """Short ranges are gathered word by word and longer ones built as string views; both
    give the bytes of the range, null where not valid (when most are not, the valid rows'
    texts are read alone and spread)."""
    arr = pa.array(lines, pa.large_string())
    b = spans.Bytes(arr)
    cut = [sorted(data.draw(st.tuples(st.integers(0, len(x)), st.integers(0, len(x))))) for x in lines]
    lo = np.array([len(x[:i].encode()) for x, (i, _) in zip(lines, cut)]) + b.start
    hi = np.array([len(x[:j].encode()) for x, (_, j) in zip(lines, cut)]) + b.start
    want = [x[i:j] for x, (i, j) in zip(lines, cut)]
    assert spans.texts(b, lo, hi).to_pylist() == want
    valid = np.array(data.draw(st.lists(st.booleans(), min_size=len(lines), max_size=len(lines))))
    got = spans.texts(b, lo, hi, valid)
    got.validate(full=True)
    assert got.to_pylist() == [w if v else None for w, v in zip(want, valid)]


@given(st.lists(st.lists(st.text(max_size=30), min_size=1, max_size=12), min_size=1, max_size=3), st.data())
def test_texts_of_reads_each_row_from_its_column(columns, data):
    """Rows read from several (sliced) columns at once, short (inline in a view) and long,
    non-ASCII, empty: each row the bytes of its range in its own column."""
    arrs = [pa.array(c, pa.large_string()).slice(data.draw(st.integers(0, len(c) - 1))) for c in columns]
    bs = [spans.Bytes(a) for a in arrs]
    picks = data.draw(st.lists(st.tuples(st.integers(0, len(arrs) - 1), st.integers(0, 10**6),
                                         st.integers(0, 40), st.integers(0, 40)), max_size=25))
    which, start, end, want = [], [], [], []
    for k, r, i, j in picks:
        line = arrs[k][r % len(arrs[k])].as_py()
        i, j = sorted((min(i, len(line)), min(j, len(line))))
        at = int(bs[k].start[r % len(arrs[k])])
        which.append(k)
        start.append(at + len(line[:i].encode()))
        end.append(at + len(line[:j].encode()))
        want.append(line[i:j])
    got = spans.texts_of(bs, np.array(which, np.int64), np.array(start, np.int64), np.array(end, np.int64))
    got.validate(full=True)
    assert got.to_pylist() == want
