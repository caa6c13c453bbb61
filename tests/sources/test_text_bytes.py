"""Byte-level readers of the text load agree with what they replace: ikedebug._prefix with
PREFIX (its fields and message), spans.occurrences with a count of the literal,
textclean.clean_utf8's UTF-8 path with decode + clean, and text._ends_blank with arrow's
trim; on lines made to sit near every edge of the patterns."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ikeanalyze.sources import ikedebug, spans, text, textclean
from ikeanalyze.sources.regex import fields

FIELDS = ("ts", "vdom", "vdidx", "gw", "serial")
STAMPS = ["", "2024-03-12 18:07:06 ", "2024-03-12 18:07:06.761429 ", "2016-05-26 07:49:06.1 ",
          "2024-03-12 18:07:06.", "2024-03-12 18:07:06.12x ", "2024-03-12 18:07:06." + "1" * 60 + " ",
          "2024-03-12 18:07:0 ", "2024-03-12T18:07:06 "]
PIECES = ["ike ", "ike", ":", "::", "V=", "root", "0", "12", "60244", " ", "   ", "\t", "\n", "\x0b", "\x0c", "\r",
          "to-FG2", "ikev1-radius_0", "1806c0d9e56d1f66/0000000000000000", "é", ".", "x" * 50, "9" * 50,
          "comes 1.1.1.1:500->2.2.2.2:500", "in ABCDEF0123", "", "...", "\u2026", ".."]


def _debug_lines(seed: int, n: int = 3000) -> list[str]:
    rnd = random.Random(seed)
    heads = ["ike ", "ike ", "ike ", "ike", "ikx ", "ike  "]
    return [rnd.choice(STAMPS) + rnd.choice(heads) + "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 10)))
            for _ in range(n)]


# Contexts with a number elided (ikedebug.ELIDED) in each place, and near-misses.
ELIDED_CONTEXTS = [f"ike {v}:{g}:{s}: x" for v in ("...", "\u2026", "..", "0", "V=root:...") for g in ("to-fgt1", "...", "")
                   for s in ("...", "\u2026", "12", "", "...x", "....")]


@pytest.mark.parametrize("seed", range(4))
def test_prefix_reads_what_prefix_extracts(seed):
    arr = pa.array(_debug_lines(seed) + ELIDED_CONTEXTS, pa.large_string())
    for sub in (arr, arr.slice(17, 1000)):  # a slice: offsets not from 0
        got, msg = ikedebug._prefix(sub)
        found = pc.extract_regex(sub, ikedebug.PREFIX)
        want = fields(found, FIELDS)
        for name in FIELDS:
            assert got[name].to_pylist() == want[name].to_pylist(), name
        assert msg.to_pylist() == pc.fill_null(pc.struct_field(found, "msg"), "").to_pylist()


@pytest.mark.parametrize("seed", range(4))
def test_prefix_once_is_prefix_of_every_line(seed):
    """The prefix read once per distinct line and spread (lines that repeat, most without
    a stamp) is what a read of every line gives; stamped or distinct lines are read so."""
    rnd = random.Random(seed)
    texts = [line for line in _debug_lines(seed, 300) if not line.startswith("2")] + ELIDED_CONTEXTS
    stamped = [rnd.choice(STAMPS[1:3]) + line for line in texts]
    for lines in ([rnd.choice(texts) for _ in range(3000)], [rnd.choice(stamped) for _ in range(3000)], texts):
        arr = pa.array(lines, pa.large_string())
        for sub in (arr, arr.slice(17, 1000)):
            got, got_msg = ikedebug._prefix_once(sub)
            want, want_msg = ikedebug._prefix(sub)
            for name in FIELDS:
                assert got[name].to_pylist() == want[name].to_pylist(), name
            assert got_msg.to_pylist() == want_msg.to_pylist()


@pytest.mark.parametrize("seed", range(4))
def test_occurrences_counts_the_literal(seed):
    rnd = random.Random(seed)
    lines = ["".join(rnd.choice(["ike ", "ike", "ik", "e ", " ", "x", "é", "ike V=root:"]) for _ in range(rnd.randint(0, 8)))
             for _ in range(2000)]
    arr = pa.array(lines, pa.large_string())
    for sub in (arr, arr.slice(3, 500)):
        counts = spans.occurrences(spans.Bytes(sub), b"ike ")
        assert counts.tolist() == [line.count("ike ") for line in sub.to_pylist()]


@pytest.mark.parametrize("seed", range(4))
def test_clean_utf8_equals_decode_and_clean(seed):
    rnd = random.Random(seed)
    parts = [b"a", b" ", b"\n", "\u00a0".encode(), "\u200b".encode(), "\ufeff".encode(), "\u202f".encode(),
             "\u2007".encode(), "\u0151".encode(), b"\xc3", b"\xa9", b"\xe2", b"\x80", b"\x00", b"\r", b"\x1b[K", b"\x08"]
    for _ in range(3000):
        data = b"".join(rnd.choice(parts) for _ in range(rnd.randint(0, 12)))
        decoded, _ = textclean.decode(data)
        assert textclean.clean_utf8(data) == textclean.clean(decoded).encode("utf-8"), data


@pytest.mark.parametrize("seed", range(4))
def test_ends_blank_is_what_rtrim_takes(seed):
    rnd = random.Random(seed)
    ends = [chr(c) for c in range(0x21)] + ["\x7f", "\x85", "\xa0", "\u1680", "\u2003", "\u200b", "\u202f", "\u3000",
                                            "\ufeff", "é", "x", "A1"]
    lines = ["".join(rnd.choice(["", "ab", " ", "é"]) for _ in range(rnd.randint(0, 3))) + rnd.choice(ends) * rnd.randint(0, 2)
             for _ in range(3000)]
    arr = pa.array(lines, pa.large_string())
    for sub in (arr, arr.slice(5, 900)):
        want = (pc.utf8_length(sub).to_numpy(zero_copy_only=False)
                > pc.utf8_length(pc.utf8_rtrim_whitespace(sub)).to_numpy(zero_copy_only=False))
        assert text._ends_blank(sub).tolist() == want.tolist()
        rows = np.array(sorted(rnd.sample(range(len(sub)), 300)), np.int64)
        assert text._ends_blank(sub, rows).tolist() == want[rows].tolist()


@pytest.mark.parametrize("seed", range(4))
def test_patched_take_reads_the_lines_and_their_replacements(seed):
    """A take of patched lines (as views of both columns' bytes when many are replaced,
    VIEWS_FROM; else a take and a replace) gives each line, or its replacement where it
    has one: lines of any length (inline in a view or not), non-ASCII, sliced columns."""
    rnd = random.Random(seed)
    words = ["", "a", "é", "ike 0: in ", "0123456789AB", "0123456789ABC", "x" * 40]

    def line() -> str:
        return "".join(rnd.choice(words) for _ in range(rnd.randint(0, 4)))

    base = pa.array([line() for _ in range(600)], pa.large_string()).slice(7)
    rows = np.array(sorted(rnd.sample(range(len(base)), 150)), np.int64)
    values = pa.array(["#" + line() for _ in range(len(rows) + 5)], pa.large_string()).slice(5)
    patched = text._Patched(base, rows, values)
    replaced = dict(zip(rows.tolist(), values.to_pylist()))
    for idx in (np.arange(len(base)), np.array(sorted(rnd.sample(range(len(base)), 200)), np.int64),
                rows[::3], np.zeros(0, np.int64)):
        want = [replaced.get(i, base[i].as_py()) for i in idx.tolist()]
        for views_from in (0, 10**9):  # (0: never views; 10**9: views whenever a line is replaced)
            old, text.VIEWS_FROM = text.VIEWS_FROM, views_from
            try:
                assert patched.take(idx).to_pylist() == want
            finally:
                text.VIEWS_FROM = old


@pytest.mark.parametrize("seed", range(3))
def test_split_collapsed_counts_repeated_records_once_alike(seed, monkeypatch):
    """Collapsed debug records (a web copy's) are cut alike whether the repeated records are
    counted once per distinct text (a debug without stamps) or line by line."""
    rnd = random.Random(seed)
    records = ["ike 0:to-hub:7: sent IKE msg (ident_r1send): 192.0.2.1:500->198.51.100.2:500, len=156",
               "ike 0: comes 198.51.100.2:500->192.0.2.1:500,ifindex=3,vrf=0....",
               "ike Negotiate ISAKMP SA Error: ike 0:to-hub:7: no SA proposal chosen",
               "ike 0:to-hub:7: negotiation timeout, deleting ike 0:to-hub: connection expiring due to phase1 down",
               "ike shrank heap by 159744 bytes", "x ike 0:to-hub:7: ike 0:to-hub:8: deleting"]
    lines = [rnd.choice(records) for _ in range(400)]
    sub = pa.array(lines, pa.large_string())
    idx = np.arange(len(lines)) * 2
    assert ikedebug.repeated(sub) is not None  # (the path asked: every text repeats)
    got = text._split_collapsed(idx, sub, sub)
    monkeypatch.setattr(ikedebug, "repeated", lambda core: None)
    want = text._split_collapsed(idx, sub, sub)
    assert got[0].tolist() == want[0].tolist() and len(got[0]) > len(lines)
    assert got[1].to_pylist() == want[1].to_pylist() and got[2].to_pylist() == want[2].to_pylist()


@pytest.mark.parametrize("seed", range(4))
def test_equal_run_is_the_first_difference(seed):
    """The leading run of equal items, found block by block, is where a whole compare
    first differs (the whole length when none does), at any length and place."""
    rnd = random.Random(seed)
    for _ in range(300):
        n = rnd.choice([0, 1, 5, 63, 64, 65, 200, 1000])
        a = np.array([rnd.randint(0, 2) for _ in range(n)], np.int64)
        b = a.copy()
        if n and rnd.random() < 0.7:
            k = rnd.randrange(n)
            b[k] += 1
        eq = a == b
        assert text._equal_run(a, b) == (n if eq.all() else int(np.argmin(eq)))
        assert text._equal_run(a[::-1], b[::-1]) == (n if eq.all() else int(np.argmin(eq[::-1])))
