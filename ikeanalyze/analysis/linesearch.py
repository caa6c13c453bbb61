"""Python-regex searches over a whole text column, run by arrow's RE2 where the two agree.

The analysis views search the debug text with Python patterns (`re.search` per line is what
they mean). Over hundreds of thousands of lines a Python call per line dominates the run,
so the column is searched by `pyarrow.compute` (RE2, one pass in C++). RE2 and Python's
`re` agree on whether a pattern matches for ASCII text without the line-break and
separator characters where their `$`, `.` and `\\s` differ (``\\n``, ``\\v``, ``\\x1c``-``\\x1f``);
the few other lines are searched with `re` itself, so the answer is always Python's.
A pattern RE2 cannot compile (look-arounds, back-references) is searched with `re` alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Characters on which RE2 and Python's `re` (str patterns) disagree in ASCII text.
_DIVERGENT = r"[^\x00-\x7f]|[\n\x0b\x1c-\x1f]"


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


_SCAN = 1 << 20  # bytes per step of the byte scan below: its temporaries stay small


def _divergent_rows(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Rows of a string column (no nulls) that :data:`_DIVERGENT` matches, found in its
    UTF-8 bytes: a character past ASCII is bytes >= 0x80 only, the controls are single
    bytes. Three numpy compares per byte take a third of RE2's unanchored pass."""
    out: list[np.ndarray] = []
    base = 0
    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        buf = chunk.buffers()[2] if len(chunk) else None
        if buf is not None:
            width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
            offsets = np.frombuffer(chunk.buffers()[1], width)[chunk.offset : chunk.offset + len(chunk) + 1]
            lo = int(offsets[0])
            data = np.frombuffer(buf, np.uint8)[lo : int(offsets[-1])]
            hits = []
            for k in range(0, len(data), _SCAN):
                d = data[k : k + _SCAN]
                # >= 0x80; \n, \x0b; \x1c-\x1f (uint8 wraps below the base: those compare large)
                odd = (d >= 0x80) | ((d - np.uint8(0x0A)) < 2) | ((d - np.uint8(0x1C)) < 4)
                hits.append(np.flatnonzero(odd) + (lo + k))
            if hits:
                # The row holding a byte: the last whose start is at or before it.
                at = np.searchsorted(offsets, np.concatenate(hits), side="right") - 1
                out.append(np.unique(at) + base)
        base += len(chunk)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


PREFETCH_MAX = 32  # patterns in one union pass (Column.prefetch)

# Patterns the views and rules search the debug text for, each registered where it is
# defined (:func:`text_search`): the debug text's column (negotiations.light_text) takes
# them as its batch, so its first search runs them all in one pass of their union
# (Column.prefetch), about as long as one of them alone. A pattern not registered is
# still searched, on its own pass.
TEXT_SEARCHES: list[str] = []


def text_search(pattern: str) -> str:
    """Register ``pattern`` as one the debug text is searched for; returns it."""
    if pattern not in TEXT_SEARCHES:
        TEXT_SEARCHES.append(pattern)
    return pattern


@functools.lru_cache(maxsize=256)
def _re2_reads(pattern: str) -> bool:
    """Can RE2 compile ``pattern`` (no look-arounds, back-references, ...)?"""
    try:
        pc.match_substring_regex(pa.array([""]), pattern)
    except pa.ArrowInvalid:
        return False
    return True


class Column:
    """One text column (None reads as ""), searched many times with different patterns.

    A debug repeats its lines (a negotiation retried every few seconds prints the same
    lines again when the console prints no stamps): when at most half the lines are
    distinct, the patterns search each distinct text once (``arr``; ``codes``: each line's
    text) and their answers are spread to the lines."""

    def __init__(self, values, batch: Sequence[str] = ()) -> None:
        """``batch``: patterns to search for together at the first search (:meth:`prefetch`),
        the ones the column's readers are known to ask for."""
        arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(
            np.asarray(values, dtype=object), pa.large_string(), from_pandas=True)
        self.valid = pc.is_valid(arr).to_numpy(zero_copy_only=False)  # False where the value was None
        self.rows = len(arr)
        arr = pc.fill_null(arr, "")
        self.codes: np.ndarray | None = None
        if self.rows > 1:
            encoded = (arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr).dictionary_encode()
            if 2 * len(encoded.dictionary) <= self.rows:
                arr, self.codes = encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False)
        self.arr = arr
        self.odd = _divergent_rows(self.arr)
        self._odd_text: list[str] | None = None
        self._found: dict[str, np.ndarray] = {}  # per text of ``arr``
        self._lines: dict[str, np.ndarray] = {}  # the same per line
        self.batch = batch

    def __len__(self) -> int:
        return self.rows

    def search(self, pattern: str) -> np.ndarray:
        """Boolean mask: does ``re.search(pattern, line)`` find something (read-only, cached)."""
        hit = self._lines.get(pattern)
        if hit is None:
            hit = self._search(pattern)
            if self.codes is not None:
                hit = hit[self.codes]
                hit.flags.writeable = False
            self._lines[pattern] = hit
        return hit

    def _search(self, pattern: str) -> np.ndarray:
        """:meth:`search` of the texts of ``arr``."""
        hit = self._found.get(pattern)
        if hit is not None:
            return hit
        if self.batch:
            batch, self.batch = self.batch, ()
            self.prefetch([*batch, pattern])
            hit = self._found.get(pattern)
            if hit is not None:
                return hit
        rx = _regex(pattern)
        try:
            hit = pc.match_substring_regex(self.arr, pattern).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:  # a Python-only construct: every line through `re`
            hit = np.fromiter((rx.search(v) is not None for v in self.arr.to_pylist()), bool, len(self.arr))
            return self._keep(pattern, hit, odd=False)
        return self._keep(pattern, hit)

    def prefetch(self, patterns) -> None:
        """Search for several patterns at once: one pass of their union over the column
        finds the lines any of them can match (RE2 takes about as long for a union as for
        one pattern), then the patterns are halved and each half's union searched in those
        lines only, down to single patterns."""
        todo = [p for p in dict.fromkeys(patterns) if p not in self._found and _re2_reads(p)]
        # A union of many patterns can outgrow RE2's DFA memory (then it runs much slower):
        # a few dozen at a time.
        for k in range(0, len(todo) if len(todo) > 1 else 0, PREFETCH_MAX):
            chunk = todo[k:k + PREFETCH_MAX]
            try:
                found = self._narrow(np.arange(len(self.arr)), self.arr, chunk)
            except pa.ArrowInvalid:  # clashing group names: each is searched alone when asked
                continue
            for p, at in found.items():
                hit = np.zeros(len(self.arr), dtype=bool)
                hit[at] = True
                self._keep(p, hit)

    def _narrow(self, at: np.ndarray, lines: pa.Array, patterns: list[str]) -> dict[str, np.ndarray]:
        """Positions (among ``at``, whose text is ``lines``) where each pattern matches (RE2)."""
        if len(patterns) == 1:
            return {patterns[0]: at[pc.match_substring_regex(lines, patterns[0]).to_numpy(zero_copy_only=False)]}
        if len(patterns) > 2 or len(at) == len(self.arr):  # two patterns: each alone costs the same
            any_ = pc.match_substring_regex(lines, "|".join(f"(?:{p})" for p in patterns)).to_numpy(zero_copy_only=False)
            at, lines = at[any_], lines.filter(pa.array(any_))
        half = len(patterns) // 2
        return {**self._narrow(at, lines, patterns[:half]), **self._narrow(at, lines, patterns[half:])}

    def _keep(self, pattern: str, hit: np.ndarray, odd: bool = True) -> np.ndarray:
        """Cache the mask of ``pattern``, with `re`'s answers for the lines where RE2's may
        differ (``odd``: the mask is RE2's)."""
        if odd and len(self.odd):
            if self._odd_text is None:
                self._odd_text = self.arr.take(pa.array(self.odd)).to_pylist()
            rx = _regex(pattern)
            hit[self.odd] = [rx.search(v) is not None for v in self._odd_text]
        hit.flags.writeable = False
        self._found[pattern] = hit
        return hit

    def extract(self, pattern: str, group: int = 1) -> np.ndarray:
        """``re.search(pattern, line).group(group)`` per line (None where it does not match
        or the group took no part), as an object array: the search picks the lines, `re`
        reads the groups of those few."""
        out = np.full(len(self.arr), None, dtype=object)
        at = np.flatnonzero(self._search(pattern))
        if len(at):
            rx = _regex(pattern)
            out[at] = [rx.search(v).group(group) for v in self.arr.take(pa.array(at)).to_pylist()]
        return out if self.codes is None else out[self.codes]
