"""linesearch.Column answers exactly what `re.search` answers, line by line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given
from hypothesis import strategies as st

from ikeanalyze.analysis import linesearch
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.linesearch import Column

CORPUS = Path(__file__).resolve().parents[1] / "data" / "ikedebug"

# Lines where RE2 and Python's `re` would disagree if RE2 alone answered.
TRICKY = [
    "ike 0:gw:1: XAUTH 12 result FNBAM_DENIED",
    "caf\u00e9 1 result FNBAM_DENIED",  # non-ASCII before a word boundary
    "\u0661\u0662 digits",  # Arabic-Indic digits: Python's \d matches them, RE2's does not
    "Resolved srv.example to 0.0.0.0\n",  # `$` before a final newline (Python only)
    "Resolved srv.example to 0.0.0.0\x0b",  # \v is \s for Python, not for RE2
    "a\x1cb",  # a separator Python counts as whitespace
    "",
    None,
]
PATTERNS = [
    ng.AUTH_FAILED, ng.SERVER_TIMEOUT, ng.SAML_FAILED, ng.LOGIN_START, ng.DAEMON_START,
    r"\d\d", r"\bcaf", r"a\sb", r"to (?:0\.0\.0\.0|::)?\s*$", r"^$",
    *[p for _, p, q in ng.AUTH_REASONS for p in (p, q)],
    r"(?<=result )FNBAM",  # a look-behind: RE2 cannot compile it, `re` answers
]


def _expected(lines, pattern):
    rx = re.compile(pattern)
    return [rx.search("" if v is None else v) is not None for v in lines]


def test_corpus_and_tricky_lines_match_python_re():
    lines = TRICKY + [line for p in sorted(CORPUS.glob("*.txt")) for line in p.read_text(errors="replace").split("\n")]
    col = Column(lines)
    assert len(col.odd) >= 5  # the tricky lines are searched by `re`
    for pattern in PATTERNS:
        got = col.search(pattern).tolist()
        assert got == _expected(lines, pattern), pattern
    assert col.search(ng.AUTH_FAILED).any()  # the corpus has failed logins


@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from("ab 1\u00e9\n\x0b\x1cR:.0\u0661"), max_size=12)),
                max_size=30))
def test_any_lines_match_python_re(lines):
    col = Column(lines)
    for pattern in (r"\d", r"a\sb", r"\bb", r"0\s*$", r"^a.b", r"(?i:r)", r"\w+$"):
        assert col.search(pattern).tolist() == _expected(lines, pattern), pattern


def test_prefetched_patterns_match_python_re():
    """Several patterns searched at once (one pass of their union, then only the lines it
    found) answer as each searched alone; a pattern RE2 cannot read leaves them to search()."""
    lines = TRICKY + [line for p in sorted(CORPUS.glob("*.txt")) for line in p.read_text(errors="replace").split("\n")]
    for group in (PATTERNS[:-1], PATTERNS):
        col = Column(lines)
        col.prefetch(group)
        for pattern in group:
            assert col.search(pattern).tolist() == _expected(lines, pattern), pattern


def test_debug_text_searches_the_registered_batch_at_once():
    """light_text's column runs every registered pattern RE2 reads at its first search."""
    import ikeanalyze.rules  # noqa: F401  (the rule modules register their patterns)
    from ikeanalyze.analysis.linesearch import _re2_reads
    from ikeanalyze.sources import LoadOptions, load

    events, _ = load([str(p) for p in sorted(CORPUS.glob("*.txt"))[:2]], LoadOptions())
    col = ng.light_text(events)
    col.search(ng.LOGIN_OK)
    readable = [p for p in linesearch.TEXT_SEARCHES if _re2_reads(p)]
    assert ng.LOGIN_OK in linesearch.TEXT_SEARCHES and len(readable) > 20
    assert set(readable) <= set(col._found) and not col.batch


def test_registered_searches_answer_as_alone():
    """The patterns views and rules register are searched in one batch at the first search
    of the debug text; each answers as `re` does."""
    import ikeanalyze.rules  # noqa: F401  (the rule modules register their patterns)

    lines = TRICKY + [line for p in sorted(CORPUS.glob("*.txt")) for line in p.read_text(errors="replace").split("\n")]
    col = Column(lines, batch=linesearch.TEXT_SEARCHES)
    assert len(linesearch.TEXT_SEARCHES) > 20
    for pattern in [ng.AUTH_FAILED, *linesearch.TEXT_SEARCHES]:
        assert col.search(pattern).tolist() == _expected(lines, pattern), pattern


@given(st.lists(st.text(alphabet=st.sampled_from("a \n\x0b\x0c\r\x1b\x1c\x1f\x7f\u00e9\u20ac\U0001f600"),
                        max_size=6), max_size=20),
       st.booleans(), st.integers(0, 3))
def test_divergent_rows_are_re2s(lines, large, cut):
    """The byte scan names the rows RE2's `_DIVERGENT` pass names, in plain, large, sliced
    and chunked string columns."""
    arr = pa.array(lines, pa.large_string() if large else pa.string())
    arr = arr.slice(min(cut, len(arr)))
    expected = np.flatnonzero(pc.match_substring_regex(arr, linesearch._DIVERGENT).to_numpy(zero_copy_only=False))
    assert linesearch._divergent_rows(arr).tolist() == expected.tolist()
    if len(arr) > 1:
        chunked = pa.chunked_array([arr.slice(0, 1), arr.slice(1)])
        assert linesearch._divergent_rows(chunked).tolist() == expected.tolist()
