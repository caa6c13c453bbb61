"""IKE negotiations as the debug tells them: per IKE SA, its lines, peer, tunnel, proposals.

FortiOS numbers each IKE SA it negotiates (the serial in `ike 0:<gw>:<serial>:`); before a
gateway is matched the context names the SA by its cookies instead
(`ike V=root:0:1806c0d9e56d1f66/0000000000000000:60685:`). Every debug line that carries a
serial belongs to that negotiation; the `comes` / `exchange=` lines, which carry none, are
tied to it by their initiator SPI. From those lines this view gives each negotiation its
peer (`ip:port`), its phase-1 name, and the proposal blocks the debug printed
(`incoming proposal:` / `peer proposal:` versus `my proposal`), parsed into transform sets so
a rule can name the transform that does not match.

Rules read this view; it never decides whether something is a fault.
"""

from __future__ import annotations

import bisect
import collections
import functools
import heapq
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa

from ikeanalyze.analysis import linesearch, sas
from ikeanalyze.analysis.tablecache import per_table
from ikeanalyze.endpoints import endpoint, gateway_end
from ikeanalyze.errors import WireError
from ikeanalyze.sources import ikedebug
from ikeanalyze.wire import eap
from ikeanalyze.wire.iana import EAP_CODE_FAILURE

DEBUG = "ikedebug"

# Proposal block headers: who the block speaks for.
PEER_HEADERS = re.compile(r"^(?:incoming proposal|peer proposal|incoming child SA proposal):$")
LOCAL_HEADERS = re.compile(r"^my proposal(?:, gw \S+)?:$")
ACCEPTED_HEADERS = re.compile(r"^(?:accepted proposal):$")
PROPOSAL_ID = re.compile(r"^proposal id = (\d+):$")
PROTOCOL = re.compile(r"^protocol(?: id)? = ([\w]+)")
TRANSFORM = re.compile(r"^type ?= ?(?P<type>\w+), val=(?P<val>[^,(]+?)(?:\s*\(key_len = (?P<k1>\d+)\)|, key-len=(?P<k2>\d+))?[\s.]*$")
TRANS_ID = re.compile(r"^trans_id = (?P<val>\w+?)(?: \(key_len = (?P<k>\d+)\))?[\s.]*$")
PFS_GROUP = re.compile(r"^PFS DH group = (\d+)")
SELECTOR = re.compile(r"^(?P<side>TS[ir])_\d+ (?P<sel>\S+)")
# IKEv1 quick mode, responder: each configured phase 2 the peer's ID payloads were compared
# with and did not match, as the peer's pair and this side's (`mine`), both seen from this
# side: `peer: type=7/7, local=0:192.168.0.0-192.168.0.255:0, remote=0:192.168.1.0-...:0`.
V1_SELECTORS = linesearch.text_search(r"\b(?:peer|mine): type=\S+, local=\S+, remote=\S+")
V1_SELECTOR = re.compile(r"(?P<side>peer|mine): type=\S+, local=(?P<local>\S+), remote=(?P<remote>\S+)\s*$")

# IKEv1 attribute classes and ESP algorithm names, told as the IKEv2 transform types.
TYPE_NAMES = {
    "OAKLEY_ENCRYPT_ALG": "ENCR",
    "OAKLEY_HASH_ALG": "HASH",
    "OAKLEY_GROUP": "DH_GROUP",
    "AUTH_METHOD": "AUTH_METHOD",
    "AUTH_ALG": "INTEGR",
    "INTEGR": "INTEGR",
    "ENCR": "ENCR",
    "PRF": "PRF",
    "DH_GROUP": "DH_GROUP",
    "ESN": "ESN",
}
PHASE2_PROTOCOLS = ("ESP", "AH", "IPSEC_ESP", "IPSEC_AH")

@dataclass
class Proposal:
    number: int
    protocol: str | None = None
    transforms: dict[str, list[str]] = field(default_factory=dict)  # type -> values in order
    pfs_disabled: bool = False

    def add(self, typ: str, value: str) -> None:
        vals = self.transforms.setdefault(typ, [])
        if value not in vals:
            vals.append(value)

    def summary(self) -> str:
        parts = ["/".join(v) for v in self.transforms.values()]
        if self.pfs_disabled:
            parts.append("PFS disabled")
        return " ".join(parts)


@dataclass
class Block:
    """One printed proposal block: its header line and the proposals under it."""

    side: str  # peer | local | accepted
    header_ref: int
    proposals: list[Proposal]
    selectors: dict[str, list[str]]  # TSi/TSr -> selectors printed in the block
    refs: list[int]
    child: int | None = None  # the phase-2 serial in its header's context (see CHILD)

    @property
    def phase(self) -> int | None:
        protos = {p.protocol for p in self.proposals if p.protocol}
        if protos & set(PHASE2_PROTOCOLS):
            return 2
        if protos:
            return 1
        return 2 if self.selectors else None

    def values(self, typ: str) -> list[str]:
        out: list[str] = []
        for p in self.proposals:
            for v in p.transforms.get(typ, []):
                if v not in out:
                    out.append(v)
        return out

    def summary(self) -> str:
        return " | ".join(f"#{p.number} {p.summary()}" for p in self.proposals)


@dataclass
class Negotiation:
    source: str
    serial: int
    at: np.ndarray  # positions in light() of this SA's debug lines (and its `comes`/`exchange=` lines), in line order
    tunnel: str | None
    peer: str | None  # ip:port of the remote side
    ispi: str | None
    version: int | None
    _frame: pd.DataFrame | None = field(default=None, repr=False)  # light()
    _rows: pd.DataFrame | None = field(default=None, repr=False)
    _blocks: list | None = field(default=None, repr=False)
    _refs: np.ndarray | None = field(default=None, repr=False)
    _found: dict = field(default_factory=dict, repr=False)  # (pattern, column) -> matching positions
    _columns: dict = field(default_factory=dict, repr=False)  # column -> rows[column].to_numpy()
    # The table's whole-column text search and row factory (rows are light() rows, their
    # index is their position there); set by negotiations().
    _col: linesearch.Column | None = field(default=None, repr=False)
    _tab: _Rows | None = field(default=None, repr=False)

    @property
    def numbered(self) -> bool:
        """Whether FortiOS printed its serial (else :func:`_unnumbered` told it apart)."""
        return self.serial >= 0

    @property
    def rows(self) -> pd.DataFrame:
        """Its lines as light() rows (index: their position there), taken when first asked:
        most negotiations are only searched, through their positions."""
        if self._rows is None:
            self._rows = self._frame.iloc[self.at]
        return self._rows

    def lines(self, pattern: str, column: str = "text") -> pd.DataFrame:
        return self._frame.iloc[self.at[self.where(pattern, column)]]

    def where(self, pattern: str, column: str = "text") -> np.ndarray:
        """Positions among its rows of those whose ``column`` matches ``pattern``, found once."""
        keep = self._found.get((pattern, column))
        if keep is None:
            if column == "text" and self._col is not None:
                keep = np.flatnonzero(self._col.search(pattern)[self.at] & self._col.valid[self.at])
            else:
                rx = _regex(pattern)
                keep = np.array([i for i, v in enumerate(self.column(column)) if v is not None and rx.search(str(v))],
                                dtype=np.int64)
            self._found[(pattern, column)] = keep
        return keep

    def tuples(self, frame: pd.DataFrame) -> list:
        """``frame.itertuples()`` for a slice of ``rows``, without its per-call cost."""
        if self._tab is None:
            return list(frame.itertuples())
        return self._tab.take(frame.index.tolist())

    def column(self, name: str) -> np.ndarray:
        """``rows[name].to_numpy()``, taken once."""
        values = self._columns.get(name)
        if values is None:
            values = self._columns[name] = self._frame[name].to_numpy()[self.at]
        return values

    def sorted_refs(self) -> np.ndarray:
        """The rows' line numbers (int64) when the rows are in line order, else empty."""
        if self._refs is None:
            mine = self.column("ref").astype(np.int64)
            # empty when not in line order (or no rows): then the plain scan answers
            self._refs = mine if len(mine) and bool((np.diff(mine) >= 0).all()) else np.empty(0, dtype=np.int64)
        return self._refs

    def positions(self, refs) -> np.ndarray:
        """Positions of the rows on the given lines, in row order (``rows["ref"].isin(refs)``
        by binary search: the rows are in line order)."""
        mine = self.sorted_refs()
        want = np.unique(np.asarray(list(refs), dtype=np.int64))
        if not len(mine) or not len(want):
            return np.flatnonzero(self.rows["ref"].isin(list(want)).to_numpy())
        lo = np.searchsorted(mine, want, side="left")
        hi = np.searchsorted(mine, want, side="right")
        return np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)])

    def exchange_before(self, ref: int) -> str | None:
        """``_exchange_before(rows, ref)``: the exchange of the last message line at or
        above line ``ref`` (the lines that name one picked once, then a binary search)."""
        if not len(self.sorted_refs()):
            return _exchange_before(self.rows, ref)
        if "exchanges" not in self._columns:
            at = np.flatnonzero(pd.notna(self.column("exchange")) & np.isin(
                self.column("kind"), ["ike-exchange", "ike-received", "ike-hex", "ike"]))
            self._columns["exchanges"] = (self.sorted_refs()[at], self.column("exchange")[at])
        refs, names = self._columns["exchanges"]
        k = int(np.searchsorted(refs, ref, side="right"))
        return str(names[k - 1]) if k else None

    def blocks(self) -> list[Block]:
        if self._blocks is None:
            self._blocks = proposal_blocks(pd.DataFrame({c: self.column(c) for c in ("ref", "kind", "text")}))
        return self._blocks


LIGHT_COLUMNS = ("time", "t", "source", "ref", "origin", "kind", "direction", "src", "sport", "dst", "dport",
                 "ike_version", "exchange", "response", "msg_id", "ispi", "rspi", "notify", "proposals",
                 "selectors", "tunnel", "serial", "detail", "text")


def light(events: pd.DataFrame) -> pd.DataFrame:
    """The debug and daemon lines with the columns these views read, as plain Python
    objects: the views slice them per negotiation many times, and arrow-backed slices of
    the full table cost a copy of every column each time."""
    def build(ev):
        mask = _light_mask(ev)
        names = [c for c in LIGHT_COLUMNS if c in ev.columns]
        if not all(isinstance(ev[c].dtype, pd.ArrowDtype) for c in names):
            sub = ev[mask][names]
            return sub.astype(object).where(sub.notna(), None).reset_index(drop=True)
        keep = pa.array(mask)
        return pd.DataFrame({c: _objects(_arrow(ev[c]).filter(keep), c != "text")
                             for c in names}, dtype=object, copy=False)
    return per_table("light", events, build)


def _arrow(column: pd.Series) -> pa.ChunkedArray:
    arr = pa.array(column.array)
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


def _objects(arr: pa.ChunkedArray, vocabulary: bool = True) -> np.ndarray:
    """An arrow column as the Python objects ``astype(object)`` gives (None where missing),
    converted by numpy a column at a time; a time stamp is boxed once per distinct value
    (debug lines share their second), and so is a string of a ``vocabulary`` column (kinds,
    sources, tunnels: a few values over many rows)."""
    typ = arr.type
    if 2 * arr.null_count > len(arr):  # mostly missing (addresses, SPIs on debug lines): convert the rest only
        out = np.full(len(arr), None, dtype=object)
        present = arr.is_valid()
        out[present.to_numpy(zero_copy_only=False)] = _objects(arr.filter(present), vocabulary)
        return out
    missing = arr.is_null().to_numpy(zero_copy_only=False)
    if pa.types.is_timestamp(typ):
        stamps = arr.cast(pa.int64()).fill_null(0).to_numpy()
        distinct, at = np.unique(stamps, return_inverse=True)
        boxed = pd.to_datetime(distinct, unit=typ.unit).astype(object).to_numpy()
        out = boxed[at]
    elif pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ):
        zero = False if pa.types.is_boolean(typ) else 0
        out = arr.fill_null(zero).to_numpy().astype(object)  # numpy boxes to Python int/float/bool
    elif vocabulary and (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
        codes = arr.combine_chunks().dictionary_encode()
        words = codes.dictionary.to_numpy(zero_copy_only=False)
        out = words[codes.indices.fill_null(0).to_numpy()] if len(words) else np.full(len(arr), None, dtype=object)
    else:
        out = arr.to_numpy()
        out = out.astype(object) if out.dtype != object else out.copy()
    if missing.any():
        out[missing] = None
    return out


def _light_mask(events: pd.DataFrame) -> np.ndarray:
    return events["origin"].isin([DEBUG, "authd"]).fillna(False).to_numpy()


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def light_text(events: pd.DataFrame) -> linesearch.Column:
    """The text of :func:`light`'s rows, for whole-column searches (RE2, Python's answers),
    taken from the arrow column itself (no Python string per line)."""
    def build(ev):
        text = ev["text"]
        typ = text.dtype.pyarrow_dtype if isinstance(text.dtype, pd.ArrowDtype) else None
        if typ is None or not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
            return linesearch.Column(light(ev)["text"].to_numpy(), batch=linesearch.TEXT_SEARCHES)
        return linesearch.Column(pa.array(text.array).filter(pa.array(_light_mask(ev))), batch=linesearch.TEXT_SEARCHES)
    return per_table("light_text", events, build)


class _Rows:
    """Rows of :func:`light` as the namedtuples ``DataFrame.itertuples`` gives, made from
    columns taken once: ``itertuples`` on a slice costs milliseconds (a new namedtuple
    class and a pass over every column), and the views quote a few rows at a time."""

    def __init__(self, frame: pd.DataFrame):
        self.cls = collections.namedtuple("Pandas", ["Index", *frame.columns], rename=True)
        # light() columns hold Python objects already: their arrays serve, not lists of them.
        self.cols = [frame.index.tolist(), *(_values(frame[c]) for c in frame.columns)]
        self.text = []
        if "text" in frame:
            text = frame["text"].to_numpy()
            if text.dtype != object or not all(type(v) is str for v in text):
                text = ["" if v is None else str(v) for v in frame["text"].tolist()]
            self.text = text

    def take(self, positions) -> list:
        make, cols = self.cls._make, self.cols
        return [make([c[p] for c in cols]) for p in positions]


def _values(column: pd.Series):
    """``column.tolist()``, or the column's own array when it holds the same objects."""
    values = column.to_numpy()
    return values if values.dtype == object else column.tolist()


def light_rows(events: pd.DataFrame) -> _Rows:
    return per_table("light_rows", events, lambda e: _Rows(light(e)))


def _debug_mask(events: pd.DataFrame) -> np.ndarray:
    """Which rows of :func:`light` are debug lines (the others are daemon lines)."""
    return per_table("debug_mask", events, lambda e: (light(e)["origin"] == DEBUG).to_numpy())


def gateway_lines(events: pd.DataFrame, source: str, tunnel: str, after: int | None = None) -> np.ndarray:
    """Which light() lines are of gateway ``tunnel`` in input ``source`` (below line
    ``after``, when given): a mask over light()."""
    lines = light(events)
    mine = ((lines["source"] == source) & (lines["tunnel"] == tunnel)).to_numpy(dtype=bool, na_value=False)
    if after is not None:
        mine = mine & (lines["ref"].to_numpy(np.int64) > after)
    return mine


def debug_rows(events: pd.DataFrame) -> pd.DataFrame:
    return per_table("debug", events, lambda e: light(e)[_debug_mask(e)])


def negotiations(events: pd.DataFrame) -> list[Negotiation]:
    """Every IKE SA serial of every debug input, with its lines, peer and tunnel."""
    return per_table("negotiations", events, _negotiations)


class _Owners:
    """(source, line) -> the negotiation that line belongs to (the first one listed, when a
    line collapsed from several records sits in more than one): per source, the lines
    sorted once and each question a binary search (a dict of every line cost seconds)."""

    def __init__(self, negs: list[Negotiation]):
        self.negs = negs
        parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for i, n in enumerate(negs):
            refs = n.column("ref").astype(np.int64)
            parts.setdefault(n.source, []).append((refs, np.full(len(refs), i, dtype=np.int64)))
        self.by_source: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for source, chunks in parts.items():
            refs = np.concatenate([c[0] for c in chunks])
            which = np.concatenate([c[1] for c in chunks])
            order = np.lexsort((which, refs))  # by line, then by list order: the first owner first
            refs, which = refs[order], which[order]
            first = np.ones(len(refs), dtype=bool)
            first[1:] = refs[1:] != refs[:-1]
            self.by_source[source] = (refs[first], which[first])

    def get(self, key: tuple[str, int], default=None) -> Negotiation | None:
        found = self.by_source.get(key[0])
        if found is None:
            return default
        refs, which = found
        k = int(np.searchsorted(refs, key[1]))
        return self.negs[int(which[k])] if k < len(refs) and refs[k] == key[1] else default


def owners(events: pd.DataFrame) -> _Owners:
    """(source, line) -> the negotiation that line belongs to (``.get`` like a dict)."""
    return per_table("owners", events, lambda ev: _Owners(negotiations(ev)))


def running(events: pd.DataFrame, source: str, refs: list[int],
            tunnels: list[str | None]) -> list[Negotiation | None]:
    """The negotiation each serial-less line of ``source`` speaks for (one line per
    ``refs[i]``, naming gateway ``tunnels[i]`` or none), or None.

    A debug line with a serial (or the SPI of one) belongs to that negotiation (:func:`owners`).
    A line without one (`ike 0:VPN-to-SH: ignoring IKE request, incorrect ID.`) speaks for
    the negotiation that was running when it was printed: of the same source, started at
    or before the line and not yet finished (its first line at or above it, its last at or
    below), for the same gateway (a line or negotiation whose gateway is not known yet,
    a cookie context, matches any), and of those the latest started (the first listed on
    a tie). This is the one rule for such lines: hits(), IKE206 and the proposal failures
    after a refused ID read it from here.
    """
    spans = per_table("spans", events, _Spans)
    return spans.running(source, np.asarray(refs, dtype=np.int64), tunnels)


class _Spans:
    """Per source, every negotiation's first and last line and gateway, in order of their
    first lines: a batch of lines is attributed in one sweep (each negotiation enters a
    heap once at its first line and leaves it once past its last), not by a scan of every
    negotiation per line."""

    def __init__(self, events: pd.DataFrame):
        self.negs = negotiations(events)
        parts: dict[str, list[int]] = {}
        for i, n in enumerate(self.negs):
            if len(n.at):
                parts.setdefault(n.source, []).append(i)
        self.by_source: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        for source, idx in parts.items():
            which = np.asarray(idx, dtype=np.int64)
            first = np.array([int(self.negs[i].column("ref")[0]) for i in idx], dtype=np.int64)
            last = np.array([int(self.negs[i].column("ref")[-1]) for i in idx], dtype=np.int64)
            tunnel = np.array([self.negs[i].tunnel for i in idx], dtype=object)
            order = np.argsort(first, kind="stable")  # by first line, then by list order
            self.by_source[source] = (first[order], last[order], tunnel[order], which[order])

    def running(self, source: str, refs: np.ndarray, tunnels: list[str | None]) -> list[Negotiation | None]:
        out: list[Negotiation | None] = [None] * len(refs)
        found = self.by_source.get(source)
        if found is None or not len(refs):
            return out
        first, last, tunnel, which = found
        named = np.array([t is not None for t in tunnels], dtype=bool)
        groups = {None: np.flatnonzero(~named)} if (~named).any() else {}
        for t in dict.fromkeys(t for t in tunnels if t is not None):
            groups[t] = np.flatnonzero(named & (np.asarray(tunnels, dtype=object) == t))
        for t, at in groups.items():
            ok = np.ones(len(first), dtype=bool) if t is None else np.array([x is None or x == t for x in tunnel])
            pick = _latest_running(first[ok], last[ok], refs[at])
            for q, k in zip(at.tolist(), pick.tolist()):
                if k >= 0:
                    out[q] = self.negs[int(which[ok][k])]
        return out


def _latest_running(first: np.ndarray, last: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """For each of ``refs``: the index of the latest started span (``first`` ascending)
    with ``first <= ref <= last``, or -1. The lines are taken in line order; a span joins a
    heap (latest start on top) once it has started, and leaves it once the lines have
    passed its last (for good: the lines only go down)."""
    out = np.full(len(refs), -1, dtype=np.int64)
    heap: list[tuple[int, int]] = []
    j = 0
    for q in np.argsort(refs, kind="stable").tolist():
        ref = int(refs[q])
        while j < len(first) and first[j] <= ref:
            heapq.heappush(heap, (-int(first[j]), j))  # (a tie: the one listed first on top)
            j += 1
        while heap and last[heap[0][1]] < ref:
            heapq.heappop(heap)
        if heap:
            out[q] = heap[0][1]
    return out


def _negotiations(events: pd.DataFrame) -> list[Negotiation]:
    lines = light(events)
    dbg = np.flatnonzero(_debug_mask(events))
    if not len(dbg):
        return []
    out: list[Negotiation] = []
    # light() columns hold Python objects (None when missing): read them as arrays.
    facts = _Facts(events, lines)
    codes, sources = pd.factorize(lines["source"].to_numpy()[dbg])  # in order of appearance
    for code, source in enumerate(sources):
        at = dbg[codes == code]
        refs = facts.ref[at].astype(np.int64)
        if len(refs) and not bool((np.diff(refs) >= 0).all()):  # loaded in line order: no sort needed
            at = at[np.argsort(refs, kind="stable")]
        serial, ispi = facts.serial[at], facts.ispi[at]
        has_serial, has_spi = pd.notna(serial), pd.notna(ispi)
        # A line with an SPI and no serial (`comes`, `exchange=`) belongs to the serial of the
        # next line that carries both (cookie contexts, `sent IKE msg`), else the last before:
        # a peer that re-sends SA_INIT with one SPI starts a new serial each time.
        both = np.flatnonzero(has_serial & has_spi & facts.spi_set[at])
        assigned = np.where(has_serial, serial, None)
        loose = np.flatnonzero(~has_serial & has_spi)
        if len(both) and len(loose):
            spi_code, _ = pd.factorize(ispi)
            span = len(at) + 1
            keyed = spi_code[both].astype(np.int64) * span + both
            order = np.argsort(keyed, kind="stable")
            keyed, both = keyed[order], both[order]
            want = spi_code[loose].astype(np.int64) * span + loose
            j = np.searchsorted(keyed, want)
            nxt = np.minimum(j, len(both) - 1)
            prv = np.maximum(j - 1, 0)
            same_next = (j < len(both)) & (keyed[nxt] // span == want // span)
            same_prev = (j > 0) & (keyed[prv] // span == want // span)
            pick = np.where(same_next, nxt, prv)
            ok = same_next | same_prev
            assigned[loose[ok]] = serial[both[pick[ok]]]
        # One negotiation per serial, in the order each first appears, its rows in line order.
        has = np.flatnonzero(pd.notna(assigned))
        if not len(has):
            has = _unnumbered(assigned, facts.frame["tunnel"].to_numpy()[at], ispi, facts.named[at])
        if not len(has):
            continue
        keys = assigned[has].astype(np.int64)
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        members = np.argsort(inverse, kind="stable")
        bounds = np.cumsum(np.bincount(inverse, minlength=len(first)))
        for g in np.argsort(first, kind="stable"):
            pos = has[members[(bounds[g - 1] if g else 0):bounds[g]]]
            out.append(facts.negotiation(str(source), int(keys[first[g]]), at[pos]))
    col, tab = light_text(events), light_rows(events)
    for n in out:
        n._col, n._tab = col, tab
    return out


def _unnumbered(assigned: np.ndarray, tunnel: np.ndarray, ispi: np.ndarray, named: np.ndarray) -> np.ndarray:
    """A source none of whose debug lines carries an IKE SA serial (`ike 0:VPN-Customer:
    no SA proposal chosen`, as guides and blogs trim their pastes): its negotiations are
    told by gateway and initiator SPI, a line without an SPI going with the last one its
    gateway's lines named (the first one, above that): two clients of one dial-up gateway
    interleaved stay two negotiations; lines that name no gateway, where none does, are one
    gateway's. Each gets a negative serial (:attr:`Negotiation.numbered`
    is False), which no line carries; the rows given one are returned, like the rows of
    printed serials."""
    key = -1
    # A paste whose lines name no gateway at all (their `ike 0:gw:` context stripped,
    # ikedebug.BARE_BODY) is one unknown gateway's.
    named = named if named.any() else np.ones(len(tunnel), dtype=bool)
    for gw in dict.fromkeys(tunnel[named].tolist()):
        rows = np.flatnonzero(named & (tunnel == gw)) if gw is not None else np.flatnonzero(named & pd.isna(tunnel))
        spis = pd.Series(ispi[rows], dtype=object)
        spis = spis.where(spis.notna() & (spis != sas.ZERO_SPI)).ffill().bfill()
        codes, uniques = pd.factorize(spis, use_na_sentinel=False)
        assigned[rows] = key - codes
        key -= len(uniques)
    return np.flatnonzero(pd.notna(assigned))


GATEWAY_NAMED = linesearch.text_search(r"(?:matched gateway|my proposal, gw) ([^\s:]+)")


class _Facts:
    """What names a negotiation (tunnel, peer, SPI, version), as masks over light() taken
    once: a negotiation's is then its first or last line the mask picks."""

    def __init__(self, events: pd.DataFrame, lines: pd.DataFrame):
        self.events, self.frame = events, lines
        self.ref, self.serial, self.ispi = (lines[c].to_numpy() for c in ("ref", "serial", "ispi"))
        self.spi_set = _each_value(self.ispi, lambda v: str(v) != sas.ZERO_SPI)
        self.named = _each_value(lines["tunnel"].to_numpy(), lambda v: "/" not in str(v))
        kind = lines["kind"].to_numpy()
        # `sent IKE msg` lines, or the sends that failed (`could not send IKE Packet`): both name the
        # peer. Not the errors of what arrived (`invalid ESP ... src->dst`): their `dst` is this side.
        out = lines["direction"].to_numpy() == "out"
        self.sent = ((kind == "ike-sent") | ((kind == "error") & out)) & pd.notna(lines["dst"].to_numpy())
        self.recv = ((kind == "ike-received") | (kind == "ike-exchange")) & pd.notna(lines["src"].to_numpy())
        self.versioned = pd.notna(lines["ike_version"].to_numpy())

    def negotiation(self, source: str, serial: int, at: np.ndarray) -> Negotiation:
        lines = self.frame
        k = self._first(self.named, at)
        if k is not None:
            tunnel = str(lines["tunnel"].iat[k])
        else:
            k = self._first(light_text(self.events).search(GATEWAY_NAMED), at)
            tunnel = _regex(GATEWAY_NAMED).search(light_rows(self.events).text[k]).group(1) if k is not None else None
        peer = None
        if (k := self._last(self.sent, at)) is not None:
            addr, port = lines["dst"].iat[k], lines["dport"].iat[k]
            peer = endpoint(addr, port)
        elif (k := self._last(self.recv, at)) is not None:
            addr, port = lines["src"].iat[k], lines["sport"].iat[k]
            peer = endpoint(addr, port)
        k = self._first(self.spi_set, at)
        ispi = str(self.ispi[k]) if k is not None else None
        k = self._first(self.versioned, at)
        version = int(lines["ike_version"].iat[k]) if k is not None else None
        return Negotiation(source, serial, at, tunnel, peer, ispi, version, _frame=lines)

    @staticmethod
    def _first(mask: np.ndarray, at: np.ndarray) -> int | None:
        found = np.flatnonzero(mask[at])
        return int(at[found[0]]) if len(found) else None

    @staticmethod
    def _last(mask: np.ndarray, at: np.ndarray) -> int | None:
        found = np.flatnonzero(mask[at])
        return int(at[found[-1]]) if len(found) else None


def _each_value(values: np.ndarray, test) -> np.ndarray:
    """``test(v)`` for each value (False where missing), decided once per distinct value."""
    codes, distinct = pd.factorize(values)
    ok = np.array([bool(test(v)) for v in distinct] + [False])
    return ok[codes]  # code -1 (missing) reads the final False


MESSAGE_PREFIX = re.compile(r"^(?:\S+ \S+ )?ike (?:V=[^:\s]+:)?(?:\d+(?::[^:\s]*)*)?:? *")


# The context of a phase-2 line: `ike 0:gw:IKE-SA-serial:[phase-2 name:]phase-2 serial: ...`
# (`ike V=root:0:eveS2S:8536:eveS2S-1-4:3255: no proposal chosen`; a responder's
# `eveS2S:8536::3254:` before a phase 2 is matched; an initiator's `to-FG2:50719:80 initiating`).
CHILD = re.compile(r"^(?:\S+ \S+ )?ike (?:V=[^:\s]+:)?\d+:[^:\s]+:\d+:(?:(?P<name>[^:\s]*):)?(?P<child>\d+)(?=[:\s])")
# The initiator's line naming the phase 2 an answer is for, just before it acts on the answer.
FOUND_CHILD = r"found child SA SPI [0-9a-fA-F]+"


def child_of(text) -> tuple[str | None, int | None]:
    """The phase-2 name (None when not yet matched) and serial in a debug line's context."""
    m = CHILD.match(str(text))
    return (m.group("name") or None, int(m.group("child"))) if m else (None, None)


def _failure_child(n: Negotiation, row) -> tuple[str | None, int | None]:
    """The phase 2 a failure line is about: its own context, or for an initiator's
    `processing notify type ...` (IKE SA context only) the `found child SA SPI` line
    printed after the answer came in and before the notify."""
    name, child = child_of(row.text)
    if child is not None:
        return name, child
    ref = int(row.ref)
    found_refs, found_texts, answer_refs = _child_lines(n)
    before = np.flatnonzero(found_refs < ref)
    if not len(before):
        return None, None
    last = before[-1]
    answers = answer_refs[answer_refs < ref]
    if len(answers) and int(answers.max()) > int(found_refs[last]):
        return None, None  # another message came in after it: that line was about an earlier answer
    return child_of(found_texts[last])


def _child_lines(n: Negotiation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A negotiation's `found child SA SPI` lines (refs, texts, in row order) and the lines
    of the messages that came in, asked once per negotiation: every failure line asks."""
    got = n._columns.get("child-lines")
    if got is None:
        keep = n.where(FOUND_CHILD)
        refs = n.column("ref").astype(np.int64)
        answers = refs[np.isin(n.column("kind"), ["ike-exchange", "ike-received"])]
        got = n._columns["child-lines"] = (refs[keep], n.column("text")[keep], answers)
    return got


def _per_child(n: Negotiation, fails: pd.DataFrame) -> list[tuple[int | None, str | None, list]]:
    """A negotiation's failure lines grouped by the phase 2 each is about (see
    :func:`_failure_child`): (phase-2 serial, its name when a line names it, the lines)."""
    rows: dict[int | None, list] = {}
    names: dict[int | None, str | None] = {}
    for r in n.tuples(fails):
        name, child = _failure_child(n, r)
        rows.setdefault(child, []).append(r)
        names[child] = names.get(child) or name
    return [(child, names[child], grp) for child, grp in rows.items()]


def _request(n: Negotiation, ref: int):
    """This side's request that the answer before line ``ref`` refused, when the debug
    dumped it (`enc`): the row holding its decoded proposals and traffic selectors."""
    before = n.column("ref").astype(np.int64) < ref
    ids, resp = n.column("msg_id"), n.column("response")
    answered = np.flatnonzero(before & (resp == True) & pd.notna(ids))  # noqa: E712 (object arrays)
    if not len(answered):
        return None
    dumped = pd.notna(n.column("selectors")) | pd.notna(n.column("proposals"))
    asked = np.flatnonzero(before & (ids == ids[answered[-1]]) & (resp == False) & dumped)  # noqa: E712
    return n.tuples(n.rows.iloc[asked[-1:]])[0] if len(asked) else None


def _message(text: str) -> str:
    """The message of a debug line, without its `ike <ctx>:` prefix and indentation."""
    m = MESSAGE_PREFIX.match(text)
    return text[m.end():].strip() if m else text.strip()


@functools.lru_cache(maxsize=4096)
def _proposal_line(msg: str) -> tuple:
    """What one line inside a proposal block says, as (what, value...): the same lines are
    printed for every negotiation, so each is read once."""
    if m := PROPOSAL_ID.match(msg):
        return ("id", int(m.group(1)))
    if m := SELECTOR.match(msg):
        return ("selector", m.group("side"), m.group("sel"))
    if m := PROTOCOL.match(msg):
        return ("protocol", m.group(1))
    if msg.startswith("PFS is disabled"):
        return ("pfs-disabled",)
    if m := PFS_GROUP.match(msg):
        return ("transform", "DH_GROUP", f"group {m.group(1)}")
    if m := TRANS_ID.match(msg):
        if m.group("val") in ("KEY_IKE",):
            return ("nothing",)
        return ("transform", "ENCR", _value(m.group("val").removeprefix("ESP_"), m.group("k")))
    if m := TRANSFORM.match(msg):
        typ = TYPE_NAMES.get(m.group("type"), m.group("type"))
        return ("transform", typ, _value(m.group("val"), m.group("k1") or m.group("k2")))
    return ("nothing",)


def proposal_blocks(rows: pd.DataFrame) -> list[Block]:
    """Parse the proposal blocks printed among ``rows`` (one negotiation's lines)."""
    blocks: list[Block] = []
    cur: Block | None = None
    prop: Proposal | None = None
    kinds = rows["kind"].to_numpy()
    texts = [str(t) for t in rows["text"].to_numpy()]
    named = np.fromiter(("proposal" in t for t in texts), dtype=bool, count=len(texts))
    in_block = np.isin(kinds, ["proposal", "selectors"])
    # Only lines that name a proposal (every block header does) or may be part of an open
    # block are read one by one. Any other line ends an open block, unless it is a hex dump
    # printed inside it: those count, per line read, whether one came since the last.
    ends = np.cumsum(~named & ~in_block & (kinds != "ike-hex")).tolist()
    ended = 0
    refs, kinds, read = rows["ref"].tolist(), kinds.tolist(), np.flatnonzero(named | in_block).tolist()
    named = named.tolist()
    said: dict[str, str] = {}  # a line printed again (each retry's proposals, no stamps) is read once
    for i in read:
        if ends[i] != ended:
            cur, ended = None, ends[i]
        ref, kind = refs[i], kinds[i]
        if not named[i] and cur is None:
            continue
        msg = said.get(texts[i])
        if msg is None:
            msg = said[texts[i]] = _message(texts[i])
        side = None
        if msg.endswith(":"):  # every header ends so
            side = ("peer" if PEER_HEADERS.match(msg) else "local" if LOCAL_HEADERS.match(msg)
                    else "accepted" if ACCEPTED_HEADERS.match(msg) else None)
        if side:
            cur = Block(side, int(ref), [], {}, [int(ref)], child_of(texts[i])[1])
            blocks.append(cur)
            prop = None
            continue
        if cur is None or kind not in ("proposal", "selectors"):
            if cur is not None and kind not in ("proposal", "selectors", "ike-hex"):
                cur = None  # a block ends at the first line that is not part of it
            continue
        cur.refs.append(int(ref))
        what, *value = _proposal_line(msg)
        if what == "id":
            prop = Proposal(value[0])
            cur.proposals.append(prop)
        elif what == "selector":
            cur.selectors.setdefault(value[0], []).append(value[1])
        elif prop is None:
            continue
        elif what == "protocol":
            prop.protocol = value[0]
        elif what == "pfs-disabled":
            prop.pfs_disabled = True
        elif what == "transform":
            prop.add(*value)
    return blocks


def _value(val: str, keylen: str | None) -> str:
    val = val.strip().rstrip(".").strip()
    return f"{val}-{keylen}" if keylen else val


@dataclass(frozen=True)
class Mismatch:
    type: str
    peer: tuple[str, ...]
    local: tuple[str, ...]

    def text(self) -> str:
        if self.type == "DH_GROUP" and not self.local:
            return f"PFS: peer offers DH {'/'.join(self.peer)}, local PFS is disabled"
        if self.type == "DH_GROUP" and not self.peer:
            return f"PFS: peer has PFS disabled, local requires DH {'/'.join(self.local)}"
        return f"{self.type}: peer {'/'.join(self.peer) or 'none'} vs local {'/'.join(self.local) or 'none'}"


def mismatches(peer: Block, local: Block) -> list[Mismatch]:
    """Transform types whose offered values share nothing between the two sides.

    A phase-2 proposal without a DH group means PFS off; one side with and the other
    without is a PFS mismatch. When every type shares a value but no single proposal pair
    matches, the mismatch is in the combination and none is named here."""
    out = []
    types = list(dict.fromkeys([*peer_types(peer), *peer_types(local)]))
    for typ in types:
        pv, lv = peer.values(typ), local.values(typ)
        if typ == "DH_GROUP" and (pv or lv) and (peer.phase == 2 or local.phase == 2):
            if not (set(pv) & set(lv)):
                out.append(Mismatch(typ, tuple(pv), tuple(lv)))
            continue
        if pv and lv and not (set(pv) & set(lv)):
            out.append(Mismatch(typ, tuple(pv), tuple(lv)))
    return out


def peer_types(block: Block) -> list[str]:
    out: list[str] = []
    for p in block.proposals:
        out.extend(t for t in p.transforms if t not in out)
    return out


class _LastPair:
    """The peer and local blocks printed last before a line. A negotiation's blocks are in
    line order (its rows are): the answer is the pair after the blocks whose header is at
    or above that line, found by binary search."""

    def __init__(self, blocks: list[Block]):
        self.heads = [b.header_ref for b in blocks]
        self.pairs: list[tuple[Block | None, Block | None]] = []
        peer = local = None
        for b in blocks:
            if b.side == "peer":
                peer = b
            elif b.side == "local":
                local = b
            self.pairs.append((peer, local))

    def __call__(self, before: int) -> tuple[Block | None, Block | None]:
        k = bisect.bisect_right(self.heads, before)
        return self.pairs[k - 1] if k else (None, None)


def wire_offer(events: pd.DataFrame, source: str, ispi: str | None, msg_id: int | None = None,
               direction: str | None = None) -> pd.Series | None:
    """The decoded request (debug hex dump or capture frame) with ``ispi`` that carried SA
    proposals: what was offered."""
    if ispi is None:
        return None
    # The rows with proposals are few: pick them once per table, then search those.
    ev = per_table("offers", events, lambda e: e[e["proposals"].notna().to_numpy()])
    ev = ev[(ev["source"] == source).to_numpy() & (ev["ispi"] == ispi).fillna(False).to_numpy()]
    if direction is not None:
        ev = ev[(ev["direction"] == direction).fillna(False).to_numpy()]
    if msg_id is not None:
        ev = ev[(ev["msg_id"] == msg_id).fillna(False).to_numpy()]
    ev = ev[~ev["response"].fillna(False).astype(bool).to_numpy()]
    return ev.iloc[0] if len(ev) else None


def peer_text(row) -> str | None:
    """`ip:port` of the remote side of a packet-like row, by its direction."""
    if str(row.direction) == "in" and pd.notna(row.src):
        return endpoint(row.src, row.sport)
    if pd.notna(row.dst):
        return endpoint(row.dst, row.dport)
    return None


def near(rows: pd.DataFrame, ref: int, before: int = 0, after: int = 0) -> pd.DataFrame:
    refs = rows["ref"].to_numpy(np.int64)
    return rows[(refs >= ref - before) & (refs <= ref + after)]


# ----------------------------------------------------------------------------- failures
PROPOSAL_REFUSED = linesearch.text_search(rf"{ikedebug.REFUSED_WORDS}|notify type NO_PROPOSAL_CHOSEN|error notify response")
# `no matching phase2 found`: an IKEv1 quick-mode responder whose phase 2s all refused the
# peer's selectors (`specified selectors mismatch` before it names each one compared).
SELECTORS_REFUSED = linesearch.text_search("failed to match peer selectors|traffic selectors unacceptable|TS_UNACCEPTABLE"
                                           "|no matching phase2 found")
# The peer's identity refused (IKE206). FortiOS then often ends the negotiation with its
# generic `Negotiate ISAKMP SA Error: ... no SA proposal chosen`, which is not a proposal
# mismatch.
ID_REJECTED = linesearch.text_search(r"gw validation failed|peer ID mismatch|peer (?:ID|identifier).*(?:does not match|mismatch|check failed)"
                                     r"|no matching gateway|peer ID verification failed|ignoring IKE request, incorrect ID")
SA_ERROR = linesearch.text_search("Negotiate (?:ISAKMP )?SA Error")
ESTABLISHED = linesearch.text_search(r"established IKE SA")
PHASE1_EXCHANGES = ("SA_INIT", "IKE_SA_INIT", "Identity Protection", "Aggressive", "Main Mode")
PHASE2_EXCHANGES = ("AUTH", "IKE_AUTH", "CREATE_CHILD", "CREATE_CHILD_SA", "Quick Mode")


@dataclass
class Failure:
    """One negotiation that failed for a reason a rule names (proposals, selectors, ...)."""

    source: str
    phase: int | None
    rows: list  # evidence rows (namedtuples/Series), in line order
    tunnel: str | None = None
    peer: str | None = None
    peer_block: Block | None = None
    local_block: Block | None = None
    mismatched: list[Mismatch] = field(default_factory=list)
    offered: str | None = None  # decoded SA payload of the rejected request
    offered_row: object = None
    how: str = ""  # what the evidence is: `no proposal chosen`, NO_PROPOSAL_CHOSEN notify, ...
    serial: int | None = None
    child: str | None = None  # the phase 2 refused, when the debug names it
    proposed: str | None = None  # traffic selectors of the refused request, decoded from its `enc` dump
    refused_here: bool = False  # a capture's refusal that this side sent (the offer was the peer's)
    ispi: str | None = None  # the initiator SPI of the IKE SA refused, when the input shows it


def oriented(f: Failure, wire: pd.DataFrame) -> Failure:
    """A capture's refusal read as the wire reads the sides (`--local`, or the gateway
    inferred from the IKE roles): when this side sent the NO_PROPOSAL_CHOSEN, the offer it
    refused was the peer's, and the peer is the side that offered. A new Failure: the ones
    ``proposal_failures`` keeps are shared by every rule on the table, and the sides depend
    on the options of one analysis (``--local``), so they are never written into."""
    if not f.offered or f.offered_row is None or not f.rows:
        return f
    idx = getattr(f.rows[-1], "Index", None)
    if idx is None or idx not in wire.index or bool(wire.at[idx, "in"]):
        return f
    offer = f.offered_row
    return replace(f, refused_here=True,
                   peer=endpoint(offer.src, offer.sport) if pd.notna(offer.src) else None)


def _exchange_before(rows: pd.DataFrame, ref: int) -> str | None:
    ex = rows[(rows["ref"] <= ref).to_numpy() & rows["exchange"].notna().to_numpy()
              & rows["kind"].isin(["ike-exchange", "ike-received", "ike-hex", "ike"]).to_numpy()]
    return str(ex["exchange"].iloc[-1]) if len(ex) else None


def phase_of_exchange(exchange: str | None) -> int | None:
    if exchange is None:
        return None
    # FortiOS names an answer by its request's exchange (`exchange=AUTH_RESPONSE`).
    exchange = exchange.removesuffix("_RESPONSE")
    if exchange in PHASE1_EXCHANGES:
        return 1
    if exchange in PHASE2_EXCHANGES:
        return 2
    return None


def proposal_failures(events: pd.DataFrame) -> list[Failure]:
    return per_table("proposal_failures", events, _proposal_failures)


def _proposal_failures(events: pd.DataFrame) -> list[Failure]:
    """Negotiations refused for their proposals: the debug's `no proposal chosen` (with
    the blocks printed before it), a NO_PROPOSAL_CHOSEN notify the device processed, or a
    decoded response carrying it (capture, hex dump)."""
    out: list[Failure] = []
    seen_spi: set[tuple[str, str]] = set()
    for n in negotiations(events):
        fails = n.lines(PROPOSAL_REFUSED)
        fails = fails[fails["kind"].isin(["negotiation-failed", "notify"]).to_numpy()]
        if fails.empty:
            continue
        blocks = n.blocks()
        for (phase, peer_b, local_b, child), grp in _by_pair(n, fails, blocks):
            if peer_b is None and local_b is None and _after_id_rejection(events, n, grp):
                continue  # the generic error after a refused peer ID (IKE206), no proposals compared
            f = Failure(n.source, phase, [], n.tunnel, n.peer, peer_b, local_b, serial=n.serial if n.numbered else None,
                        child=child if phase == 2 else None, ispi=n.ispi)
            if peer_b and local_b:
                f.mismatched = mismatches(peer_b, local_b)
            notify = [r for r in grp if r.kind == "notify"]
            said = next((str(r.detail) for r in grp if r.kind == "negotiation-failed" and isinstance(r.detail, str)), "")
            # Quoted as the line says it where it is not the usual `no (SA) proposal chosen`.
            f.how = ("the peer answered NO_PROPOSAL_CHOSEN" if notify else
                     f"`{said}`" if said and "proposal chosen" not in said else "`no proposal chosen`")
            if notify:  # we were refused: what did we offer? The request refused, else the first offer.
                offer = _request(n, int(notify[0].ref)) if phase == 2 else None
                if offer is None or offer.proposals is None:
                    offer = wire_offer(events, n.source, n.ispi, direction="out")
                    if offer is not None and phase == 2 and not _phase2_offer(str(offer.proposals)):
                        offer = None  # the SA_INIT's IKE proposals: not what the refused phase 2 offered
                if offer is not None:
                    f.offered, f.offered_row = str(offer.proposals), offer
            f.rows = _evidence_rows(events, n, grp, peer_b, local_b, f.mismatched)
            if f.offered_row is not None:
                f.rows = [f.offered_row, *f.rows]
            out.append(f)
        if n.ispi:
            seen_spi.add((n.source, n.ispi))
    out.extend(_wire_failures(events, "NO_PROPOSAL_CHOSEN", seen_spi))
    return out


def _after_id_rejection(events: pd.DataFrame, n: Negotiation, grp: list) -> bool:
    """Did a peer-ID rejection (ID_REJECTED) of this negotiation come before its failure
    lines ``grp``? The rejection is often printed at gateway level (`ike 0:VPN-to-SH:
    ignoring IKE request, incorrect ID.`, no serial): it is the negotiation's when
    :func:`running` says so."""
    found = id_rejections(events).get(n.source)
    if found is None:
        return False
    refs, speaks_for = found
    lo, hi = int(n.column("ref")[0]), int(grp[0].ref)
    return any(speaks_for[k] is n for k in range(int(np.searchsorted(refs, lo)), int(np.searchsorted(refs, hi, side="right"))))


def id_rejections(events: pd.DataFrame) -> dict[str, tuple[np.ndarray, list]]:
    """source -> its ID_REJECTED debug lines: line numbers (ascending) and the negotiation
    each speaks for (its own, or for a serial-less line the one :func:`running`), or None."""
    def build(ev):
        lines = light(ev)
        owner = owners(ev)
        at = np.flatnonzero(light_text(ev).search(ID_REJECTED) & _debug_mask(ev))
        out: dict[str, tuple[np.ndarray, list]] = {}
        src = lines["source"].to_numpy()[at]
        for source in dict.fromkeys(src.tolist()):
            mine = at[src == source]
            refs = lines["ref"].to_numpy()[mine].astype(np.int64)
            order = np.argsort(refs, kind="stable")
            refs = refs[order]
            speaks_for = [owner.get((str(source), int(r))) for r in refs.tolist()]
            loose = [k for k, x in enumerate(speaks_for) if x is None]
            tunnels = [_gateway(t) for t in lines["tunnel"].to_numpy()[mine[order]]]
            for k, x in zip(loose, running(ev, str(source), refs[loose].tolist(), [tunnels[k] for k in loose])):
                speaks_for[k] = x
            out[str(source)] = (refs, speaks_for)
        return out
    return per_table("id_rejections", events, build)


def _gateway(tunnel) -> str | None:
    """A line's gateway name: None when it has none or names a cookie context (`a/b`)."""
    return None if tunnel is None or pd.isna(tunnel) or "/" in str(tunnel) else str(tunnel)


# How far below a phase-less refusal line the line of a known phase that tells the same
# refusal may be (the notify, then the abort on the next line or two).
FOLD_LINES = 3


def _by_pair(n: Negotiation, fails: pd.DataFrame, blocks: list[Block]):
    """Failure lines grouped by the proposal blocks they answer (one group per attempt),
    each with the phase 2 it is about when the debug names one: another phase 2's blocks
    printed in between are not this failure's."""
    groups: dict[tuple, list] = {}
    keys: dict[tuple, tuple] = {}
    for child, name, grp in _per_child(n, fails):
        last_pair = _LastPair(_of_child(blocks, child))
        for r in grp:
            p, loc = last_pair(int(r.ref))
            if p is not None and loc is not None and p.phase != loc.phase:
                p = loc = None
            phase = _phase(n, r, p, loc)
            k = (phase, p.header_ref if p else None, loc.header_ref if loc else None, child)
            keys[k] = (phase, p, loc, name)
            groups.setdefault(k, []).append(r)
    # A failure line whose phase nothing tells (a NO_PROPOSAL_CHOSEN notify of a negotiation
    # whose exchange line the paste has not tied to it) with no blocks of its own is the same
    # attempt as the failure line of a known phase and no blocks right after it (`received
    # SA_INIT error notify response, abort`): one attempt, not two; pair by pair, each within
    # FOLD_LINES lines.
    for k in [k for k in groups if k[0] is None and k[1] is None and k[2] is None]:
        into = [j for j in groups if j[0] is not None and j[1] is None and j[2] is None and j[3] == k[3]]
        if len(into) == 1 and len(groups[k]) == len(groups[into[0]]) and all(
                0 <= int(b.ref) - int(a.ref) <= FOLD_LINES for a, b in zip(groups[k], groups[into[0]])):
            groups[into[0]] = sorted(groups.pop(k) + groups[into[0]], key=lambda r: int(r.ref))
    return [(keys[k], v) for k, v in groups.items()]


def _phase(n: Negotiation, row, peer_b: Block | None, local_b: Block | None) -> int | None:
    for b in (peer_b, local_b):
        if b is not None and b.phase:
            return b.phase
    detail = "" if pd.isna(row.detail) else str(row.detail)
    if "SA_INIT" in detail or "ISAKMP" in str(row.text):
        return 1
    return phase_of_exchange(n.exchange_before(int(row.ref)))


def _evidence_rows(events, n: Negotiation, fails: list, peer_b, local_b, mism: list[Mismatch]) -> list:
    want: list[int] = []
    if peer_b is not None:
        want.append(peer_b.header_ref)
        in_block = set(peer_b.refs)
        # Only the block's own lines can match: look at that stretch, not the whole SA.
        refs = n.column("ref")
        span = slice(None)
        mine = n.sorted_refs()
        if len(mine):
            span = slice(int(np.searchsorted(mine, min(in_block), side="left")),
                         int(np.searchsorted(mine, max(in_block), side="right")))
        texts = n.column("text")
        for m in mism:
            rx = _regex(rf"type ?= ?\w*(?:{_type_word(m.type)})\w*, val=")
            for ref, text in zip(refs[span], texts[span]):
                if ref in in_block and rx.search(str(text)):
                    want.append(int(ref))
                    break
    if local_b is not None:
        want.append(local_b.header_ref)
    want.extend(int(r.ref) for r in fails[:3])
    ev = n.tuples(n.rows.iloc[n.positions(want)]) if n._tab is None else n._tab.take(n.at[n.positions(want)].tolist())
    # `Negotiate SA Error: [11909]` right after: daemon-level, no serial of its own.
    last = int(fails[-1].ref)
    err = _sa_errors(events).get(n.source)
    if err is not None:
        at, eref = err
        ev.extend(light_rows(events).take(at[(eref > last) & (eref <= last + 2)].tolist()))
    seen: set[int] = set()
    uniq = []
    for r in sorted(ev, key=lambda r: (int(r.ref), str(r.text))):
        key = (int(r.ref), str(r.text))
        if key not in seen:
            seen.add(key)
            uniq.append(r)
    return uniq


def _sa_errors(events: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """source -> its `Negotiate SA Error` debug lines (positions in light(), line numbers),
    found once for every failure to look up."""
    def build(ev):
        lines = light(ev)
        at = np.flatnonzero(light_text(ev).search(SA_ERROR) & _debug_mask(ev))
        refs = lines["ref"].to_numpy()[at].astype(np.int64)
        codes, sources = pd.factorize(lines["source"].to_numpy()[at])
        return {str(s): (at[codes == c], refs[codes == c]) for c, s in enumerate(sources)}
    return per_table("sa_errors", events, build)


def _type_word(typ: str) -> str:
    return {"ENCR": "ENCR|ENCRYPT", "INTEGR": "INTEGR|AUTH_ALG", "HASH": "HASH", "DH_GROUP": "DH_GROUP|GROUP"}.get(typ, typ)


def _wire_failures(events: pd.DataFrame, notify: str, seen_spi: set) -> list[Failure]:
    """Decoded responses (captures, sniffer hex) carrying ``notify`` (its IKEv2 name; an
    IKEv1 notify of the same type is named as RFC 2408 spells it, with hyphens:
    wire.iana.NOTIFY_V1)."""
    names = "|".join(re.escape(n) for n in dict.fromkeys([notify, notify.replace("_", "-")]))
    said = events["notify"].fillna("").astype(str).str.contains(names, regex=True)  # (one pass: either spelling)
    ev = events[(events["origin"] != DEBUG).to_numpy() & said.to_numpy()]
    out = []
    for r in ev.itertuples():
        if (str(r.source), str(r.ispi)) in seen_spi:
            continue
        phase = phase_of_exchange(str(r.exchange) if pd.notna(r.exchange) else None)
        if phase is None:  # IKEv1 Informational: the phase of the request it answers
            before = events[(events["source"] == r.source).to_numpy() & (events["ispi"] == r.ispi).fillna(False).to_numpy()
                            & (events["ref"] < r.ref).to_numpy() & events["exchange"].notna().to_numpy()]
            phases = [phase_of_exchange(str(x)) for x in before["exchange"]]
            phases = [p for p in phases if p]
            phase = phases[-1] if phases else None
        responder = peer_text(r)
        # The rejected request went the other way: its sender is the side that offered.
        offer = wire_offer(events, str(r.source), str(r.ispi) if pd.notna(r.ispi) else None,
                           msg_id=int(r.msg_id) if pd.notna(r.msg_id) and phase == 2 else None)
        f = Failure(str(r.source), phase, [r], None, responder, how=f"{notify} notify in a response",
                    ispi=str(r.ispi) if pd.notna(r.ispi) else None)
        if offer is not None:
            f.offered, f.offered_row = str(offer.proposals), offer
            f.rows = [offer, r]
            f.peer = _other_end(offer, r)
        seen_spi.add((str(r.source), str(r.ispi)))
        out.append(f)
    return out


def _phase2_offer(proposals: str) -> bool:
    """Whether a decoded offer (``#1 ESP: ... | #2 ...``) proposes a phase-2 protocol."""
    return any(f" {proto}:" in f" {proposals}" for proto in PHASE2_PROTOCOLS)


def _other_end(request, response) -> str | None:
    """The peer of a request/response pair as the side that answered (the responder)."""
    if pd.notna(response.src):
        return endpoint(response.src, response.sport)
    return None


def proposal_message(f: Failure, phase_name: str) -> str:
    """The sentence IKE201/IKE202 tell: who, which sides, which transform, where."""
    who = f"from {f.peer}" if f.peer else "from the peer"
    gw = (f" for gateway {f.tunnel}" if f.tunnel else "") + (f" (phase 2 {f.child})" if f.child else "")
    last = f.rows[-1] if f.rows else None
    where = f" ({sas.where(_as_row(last))})" if last is not None else ""
    if f.peer_block is not None and f.local_block is not None:
        if f.mismatched:
            names = "; ".join(m.text() for m in f.mismatched)
            return (f"The {phase_name} proposals {who}{gw} match none of this side's: {names}. "
                    f"Peer offered {f.peer_block.summary()}; local accepts {f.local_block.summary()}{where}.")
        return (f"The {phase_name} proposals {who}{gw} match none of this side's: each transform type has a "
                f"value in common but no single proposal has them all. Peer offered "
                f"{f.peer_block.summary()}; local accepts {f.local_block.summary()}{where}.")
    if f.offered and f.refused_here:
        return (f"This side refused the {phase_name} proposals of {f.peer or 'the peer'}{gw} ({f.how}){where}. "
                f"The peer offered {f.offered}; this side's own proposals are not in this input.")
    if f.offered:
        return (f"The peer {f.peer or ''} refused the {phase_name} proposals{gw} "
                f"({f.how}){where}. This side offered {f.offered}; the peer's own proposals are not "
                f"in this input.").replace("peer  refused", "peer refused")
    if f.how.startswith("the peer answered"):  # this side offered: `received ... error notify response`
        by = f"The peer {f.peer}" if f.peer else "The peer"
        return (f"{by} refused this side's {phase_name} proposals{gw} ({f.how}){where}; neither side's "
                f"proposals are in this input.")
    return (f"The {phase_name} negotiation {who}{gw} failed on proposals ({f.how}){where}; the "
            f"proposals themselves are not in this input.")


def _as_row(r):
    """A namedtuple or Series as something `sas.where` can index (a dict: a Series built
    for one lookup costs more than the lookup)."""
    if isinstance(r, pd.Series):
        return r
    return r._asdict()


def selector_failures(events: pd.DataFrame) -> list[Failure]:
    return per_table("selector_failures", events, _selector_failures)


def _selector_failures(events: pd.DataFrame) -> list[Failure]:
    """Child SAs refused on traffic selectors: `failed to match peer selectors` /
    `traffic selectors unacceptable` (responder), TS_UNACCEPTABLE processed (initiator),
    or a decoded response carrying TS_UNACCEPTABLE."""
    out: list[Failure] = []
    seen: set = set()
    for n in negotiations(events):
        fails = n.lines(SELECTORS_REFUSED)
        fails = fails[fails["kind"].isin(["negotiation-failed", "notify"]).to_numpy()]
        if fails.empty:
            continue
        # One failure per phase 2 refused: an IKE SA with several phase 2s may lose more than one.
        out.extend(_selector_failure(n, child, name, grp) for child, name, grp in _per_child(n, fails))
        if n.ispi:
            seen.add((n.source, n.ispi))
    out.extend(_wire_failures(events, "TS_UNACCEPTABLE", seen))
    return out


def _of_child(blocks: list[Block], child: int | None) -> list[Block]:
    """The blocks of phase 2 ``child`` (all when it is not known): a phase 2's blocks are
    printed in its own context; those without one are the IKE SA's (phase 1)."""
    return blocks if child is None else [b for b in blocks if b.child == child]


def _selector_failure(n: Negotiation, child: int | None, name: str | None, grp: list) -> Failure:
    blocks = _of_child([b for b in n.blocks() if b.selectors], child)
    first = int(grp[0].ref)
    peer_b = next((b for b in reversed(blocks) if b.side == "peer" and b.header_ref <= first), None)
    local_b = next((b for b in reversed(blocks) if b.side in ("local", "accepted") and b.header_ref <= first
                    and (peer_b is None or b.header_ref > peer_b.header_ref)), None)
    if peer_b is None and local_b is None:
        peer_b, local_b = _v1_selector_blocks(n, first)
    f = Failure(n.source, 2, [], n.tunnel, n.peer, peer_b, local_b, serial=n.serial if n.numbered else None, child=name, ispi=n.ispi)
    f.how = ("the peer answered TS_UNACCEPTABLE" if all(r.kind == "notify" for r in grp)
             else "`no matching phase2 found`" if "no matching phase2 found" in str(grp[0].text)
             else "`failed to match peer selectors`")
    want = [b.header_ref for b in (peer_b, local_b) if b is not None]
    want += [r for b in (peer_b, local_b) if b is not None for r in b.refs[1:]]
    f.rows = n.tuples(n.rows[n.rows["ref"].isin(want).to_numpy()]) + list(grp[:3])
    if peer_b is None and grp[0].kind == "notify":  # refused: what did this side ask for?
        asked = _request(n, first)
        if asked is not None and asked.selectors is not None:
            f.proposed = str(asked.selectors)
            f.rows.append(asked)
    f.rows.sort(key=lambda r: int(r.ref))
    est = n.lines(ESTABLISHED)
    est = est[(est["kind"] == "sa-established").to_numpy()]
    if len(est):
        f.rows.append(n.tuples(est.iloc[:1])[0])
    return f


def _v1_selector_blocks(n: Negotiation, before: int) -> tuple[Block | None, Block | None]:
    """The IKEv1 `peer:` / `mine:` selector lines (V1_SELECTORS) of a negotiation above line
    ``before``, as a peer block and a local block keyed `local` / `remote` (this side's
    view): the peer's proposal, and every phase 2 of this side it was compared with."""
    rows = n.tuples(n.lines(V1_SELECTORS))
    out: dict[str, Block] = {}
    for r in rows:
        if int(r.ref) > before or not (m := V1_SELECTOR.search(str(r.text))):
            continue
        side = "peer" if m.group("side") == "peer" else "local"
        b = out.setdefault(side, Block(side, int(r.ref), [], {}, []))
        b.refs.append(int(r.ref))
        for key in ("local", "remote"):
            vals = b.selectors.setdefault(key, [])
            if m.group(key) not in vals:
                vals.append(m.group(key))
    return out.get("peer"), out.get("local")


def local_selectors(events: pd.DataFrame, source: str, tunnel: str | None, serials: set[int] = frozenset()) -> list[str]:
    """Selectors this side printed for a phase 1 (`src 0 7 0:...` / `IPsec SA selectors`);
    of those IKE SA ``serials`` only when they are known: another IKE SA of the gateway (an
    earlier session pasted before) proposed its own."""
    if not tunnel:
        return []
    m = (events["source"] == source).to_numpy() & (events["tunnel"] == tunnel).fillna(False).to_numpy() \
        & (events["kind"] == "selectors").to_numpy()
    if serials:
        m &= events["serial"].isin(list(serials)).fillna(False).to_numpy()
    ev = events[m]
    sel = ev["text"].astype(str).str.extract(r"\b(?:src|dst) \d+ \d+ (\S+)")[0].dropna()
    return list(dict.fromkeys(sel))


@dataclass
class Hit:
    """Debug lines matching a rule's pattern, gathered per peer (or gateway)."""

    source: str
    peer: str | None
    tunnel: str | None
    rows: list  # the matching rows, in line order
    negotiations: list[Negotiation]


def hits(events: pd.DataFrame, pattern: str, column: str = "text", kinds: tuple[str, ...] = (),
         origins: tuple[str, ...] = (DEBUG,)) -> list[Hit]:
    """Debug lines whose ``column`` matches ``pattern``, grouped by (source, peer, tunnel)
    through the negotiation each belongs to. A line outside any negotiation keeps its own
    gateway; it comes with the negotiation it speaks for (:func:`running`) and that one's
    peer, or else the peer of its gateway's lines or of the nearest `comes` line above."""
    lines = light(events)
    # The rows searched, as a mask over light(): the debug rows need no table of their own.
    if tuple(origins) == (DEBUG,):
        sel = _debug_mask(events)
    elif {DEBUG, AUTHD} <= set(origins):  # light() holds only these two origins
        sel = np.ones(len(lines), dtype=bool)
    else:
        sel = lines["origin"].isin(origins).to_numpy()
    if not sel.any():
        return []
    if column == "text":
        m = light_text(events).search(pattern) & sel
    else:
        m = sel & lines[column].fillna("").astype(str).str.contains(pattern, regex=True).to_numpy()
    if kinds:
        m = m & lines["kind"].isin(kinds).to_numpy()
    if not m.any():
        return []
    rows = light_rows(events).take(np.flatnonzero(m).tolist())
    owner = owners(events)
    own = [owner.get((str(r.source), int(r.ref))) for r in rows]
    speaks_for = _running_rows(events, rows, own)
    out: dict[tuple, Hit] = {}
    above: dict[str, _Above] = {}  # per source, built at the first line outside any negotiation
    searched: pd.DataFrame | None = None  # lines[sel], for sources whose lines are out of order
    for r, n, n_running in zip(rows, own, speaks_for):
        if n is not None and (n.peer is not None or n.numbered):
            peer, tunnel = n.peer, n.tunnel
        else:
            # A serial-less line: its own gateway, and the peer of the negotiation it speaks
            # for; without one, the peer its gateway's lines (or a `comes` just above) name.
            # So too a line of an input that prints no serials, when the gateway's
            # negotiation told apart without them names no peer (`IPsec SA connect` only).
            tunnel = _gateway(r.tunnel)
            a = above.get(str(r.source))
            if a is None:
                at = np.flatnonzero(sel & (lines["source"].to_numpy() == str(r.source)))
                a = above[str(r.source)] = _Above(lines, at, light_rows(events), light_text(events))
            if n_running is not None and n_running.peer is not None:
                peer = n_running.peer
            elif a.ordered:
                peer = a.peer(int(r.ref), tunnel)
            else:
                searched = lines[sel] if searched is None else searched
                peer = _peer_above(searched, str(r.source), int(r.ref), tunnel)
        key = (str(r.source), peer, tunnel)
        h = out.setdefault(key, Hit(str(r.source), peer, tunnel, [], []))
        h.rows.append(r)
        n = n if n is not None else n_running
        if n is not None and all(n is not x for x in h.negotiations):
            h.negotiations.append(n)
    return list(out.values())


def _running_rows(events: pd.DataFrame, rows: list, own: list) -> list:
    """For the rows no negotiation owns (``own[i]`` None), the one :func:`running` says
    they speak for; None for the others."""
    out: list = [None] * len(rows)
    loose: dict[str, list[int]] = {}
    for i, (r, n) in enumerate(zip(rows, own)):
        if n is None:
            loose.setdefault(str(r.source), []).append(i)
    for source, at in loose.items():
        found = running(events, source, [int(rows[i].ref) for i in at], [_gateway(rows[i].tunnel) for i in at])
        for i, n in zip(at, found):
            out[i] = n
    return out


CONNECT_LINE = linesearch.text_search(r"(?:IPsec SA connect \d+|created connection: \S+ \d+) \S+->([0-9a-fA-F.:]+?)(?::(\d+))?\.?$")


class _Above:
    """:func:`_peer_above` for many lines of one source: the lines are indexed once, so each
    question is a binary search instead of a scan of the whole input (only when the source's
    lines are in line order, which `ordered` says; otherwise the scan answers)."""

    def __init__(self, lines: pd.DataFrame, at: np.ndarray, tab: _Rows, col: linesearch.Column):
        """``lines``: light(); ``at``: the positions there of one source's searched lines."""
        self.at, self.col = at, col
        # One row as a namedtuple from light()'s row factory, not an iloc.
        self._row = lambda k: tab.take([self.at[k]])[0]
        self.text = tab.text
        self.refs = lines["ref"].to_numpy()[at].astype(np.int64)
        self.ordered = bool((np.diff(self.refs) >= 0).all())
        self.tunnel = lines["tunnel"].to_numpy()[at]
        self.addressed = pd.notna(lines["dst"].to_numpy()[at])
        self.comes = np.flatnonzero((lines["kind"].to_numpy()[at] == "ike-received") & pd.notna(lines["src"].to_numpy()[at]))
        self._own: dict[str, np.ndarray] = {}
        self._conn: dict[str, tuple[np.ndarray, list[tuple]]] = {}  # tunnel -> _connects()

    def peer(self, ref: int, tunnel: str | None) -> str | None:
        k = int(np.searchsorted(self.refs, ref, side="right"))  # lines [0, k) are at or above `ref`
        if tunnel:
            own = self._own.get(tunnel)
            if own is None:
                named = self.tunnel == tunnel
                own = self._own[tunnel] = np.flatnonzero(named & self.addressed)
                self._conn[tunnel] = self._connects(named)
            j = int(np.searchsorted(own, k, side="left"))
            if j:
                r = self._row(own[j - 1])
                return gateway_end(r.dst, r.dport)
            at, found = self._conn[tunnel]
            j = int(np.searchsorted(at, k, side="left"))
            if j:
                ip, port = found[j - 1]
                return gateway_end(ip, port)
        j = int(np.searchsorted(self.comes, k, side="left"))
        if j and ref - int(self.refs[self.comes[j - 1]]) <= (80 if tunnel else 3):
            r = self._row(self.comes[j - 1])
            return endpoint(r.src, r.sport)
        return None

    def _connects(self, named: np.ndarray) -> tuple[np.ndarray, list[tuple]]:
        """The ``named`` lines that say where a connection goes (CONNECT_LINE): their
        positions, ascending, and (ip, port or None) of each."""
        at = np.flatnonzero(named)
        at = at[self.col.search(CONNECT_LINE)[self.at[at]]]  # the column search picks the lines; `re` reads the few
        rx = _regex(CONNECT_LINE)
        found = [(k, m.groups()) for k in at.tolist() if (m := rx.search(self.text[self.at[k]]))]
        return np.array([k for k, _ in found], dtype=np.int64), [g for _, g in found]


def _peer_above(ev: pd.DataFrame, source: str, ref: int, tunnel: str | None) -> str | None:
    src = ev[(ev["source"] == source).to_numpy() & (ev["ref"] <= ref).to_numpy()]
    if tunnel:  # the gateway's own addressed lines (`IPsec SA connect 6 a->b:0`, `sent IKE msg`)
        own = src[(src["tunnel"] == tunnel).fillna(False).to_numpy() & src["dst"].notna().to_numpy()]
        if len(own):
            r = own.iloc[-1]
            return gateway_end(r.dst, r.dport)
        conn = src[(src["tunnel"] == tunnel).fillna(False).to_numpy()]["text"].astype(str).str.extract(CONNECT_LINE)
        conn = conn.dropna(subset=[0])
        if len(conn):
            ip, port = conn.iloc[-1]
            return gateway_end(ip, port)
    comes = src[(src["kind"] == "ike-received").to_numpy() & src["src"].notna().to_numpy()]
    # The request a gateway-level line answers: the `comes` just above it (the proposal
    # dump of a refused SA_INIT may sit in between).
    if len(comes) and ref - int(comes["ref"].iloc[-1]) <= (80 if tunnel else 3):
        r = comes.iloc[-1]
        return endpoint(r.src, r.sport)
    return None


def merge_hits(found: list[Hit]) -> list[Hit]:
    """Hits of several patterns for the same (source, peer, tunnel) become one."""
    merged: dict[tuple, Hit] = {}
    for h in found:
        key = (h.source, h.peer, h.tunnel)
        if key in merged:
            have = {int(r.ref) for r in merged[key].rows}
            merged[key].rows.extend(r for r in h.rows if int(r.ref) not in have)
            merged[key].negotiations.extend(n for n in h.negotiations if all(n is not x for x in merged[key].negotiations))
        else:
            merged[key] = h
    for h in merged.values():
        h.rows.sort(key=lambda r: int(r.ref))
    return list(merged.values())


def context_lines(h: Hit, pattern: str, limit: int = 1) -> list:
    """Lines of the hit's negotiations matching ``pattern`` (the peer ID it presented, ...)."""
    out = []
    for n in h.negotiations:
        out.extend(n.tuples(n.lines(pattern)))
    return out[:limit]


def gateway_lines_before(events: pd.DataFrame, row, pattern: str, within: int = 20, limit: int = 1) -> list:
    """Lines of ``row``'s gateway in its source, at most ``within`` lines above it and
    matching ``pattern``, nearest first: the context of a gateway-level line in an excerpt
    that prints no IKE SA serial (`ike 0:CBS-VPN: received peer identifier ...` then
    `ike 0:CBS-VPN: gw validation failed`), where no negotiation holds both."""
    tunnel = getattr(row, "tunnel", None)
    if tunnel is None or pd.isna(tunnel) or not len(events):
        return []
    ref = int(row.ref)
    near = events[(events["source"] == row.source) & (events["tunnel"] == tunnel)
                  & (events["ref"] < ref) & (events["ref"] >= ref - within)]
    near = near[near["text"].str.contains(pattern, regex=True, na=False)]
    return list(near.iloc[::-1].head(limit).itertuples())


# fnbamd taking a certificate to check: the start of one request's lines.
CERT_REQUEST = linesearch.text_search(r"handle_req-Rcvd auth_cert req")
# An IKE request for an SA this side no longer has (deleted, or never made).
UNKNOWN_SA_REQUEST = linesearch.text_search(r"invalid IKE request SPI")


def daemon_lines_before(events: pd.DataFrame, row, pattern: str, start: str = CERT_REQUEST,
                        within: int = 400) -> list:
    """fnbamd/samld lines of ``row``'s source matching ``pattern``, in line order, from the
    last ``start`` line above ``row`` (or ``within`` lines above it) down to ``row``: the
    daemon's own account of the request the IKE line reports the result of. The daemon
    prints no IKE SA serial, so only the order of the lines ties them."""
    lines = light(events)
    col = light_text(events)
    mine = (lines["source"].to_numpy() == str(row.source)) & (lines["origin"].to_numpy() == AUTHD)
    refs = lines["ref"].to_numpy().astype(np.int64)
    ref = int(row.ref)
    above = mine & (refs < ref)
    starts = refs[above & col.search(start)]
    lo = int(starts.max()) if len(starts) else ref - within
    at = np.flatnonzero(above & (refs >= lo) & col.search(pattern))
    return light_rows(events).take(at[np.argsort(refs[at], kind="stable")].tolist())


def unanswered_after(h: Hit, ref: int) -> list:
    """When the hit's negotiations sent nothing after line ``ref`` and the peer's requests
    then met `invalid IKE request SPI` (the SA was deleted without a word to the peer): those
    lines, in line order; else []."""
    out = []
    for n in h.negotiations:
        refs, kinds = n.column("ref").astype(np.int64), n.column("kind")
        if bool(((refs > ref) & (kinds == "ike-sent")).any()):
            return []
        out.extend(r for r in n.tuples(n.lines(UNKNOWN_SA_REQUEST)) if int(r.ref) > ref)
    return sorted(out, key=lambda r: int(r.ref))


def evidence_rows(*groups) -> list:
    """Rows from several lists, each line once, in line order."""
    rows: dict[tuple, object] = {}
    for g in groups:
        for r in g:
            rows.setdefault((str(r.source), int(r.ref), str(r.text)), r)
    return [rows[k] for k in sorted(rows, key=lambda k: (k[0], k[1]))]


# ---------------------------------------------------------------------- user authentication
AUTHD = "authd"
AUTH_FAILED = (r"(?:XAUTH|EAP) \d+ result FNBAM_(?:DENIED|TIMEOUT|ERROR)|(?:XAUTH|EAP) failed for user"
               r"|connection expiring due to EAP failure")
# The FortiGate's own EAP server (the EAP proxy, hostapd's code, for local users) checking
# an MSCHAPv2 answer: the password is wrong, whether or not the `ike` result line follows.
EAP_PROXY_FAILED = r"EAP-MSCHAPV2: Invalid NT-Response"
# An EAP login (MSCHAPv2) of a user whose group is on an LDAP server: fnbamd has no password
# to bind with (`__ldap_auth_ctx_prep-Invalid credential`), gives up LDAP and hands the
# login to the EAP proxy, which does not know the user: no result line may ever come.
LDAP_NO_PASSWORD = r"__ldap_auth_ctx_prep-Invalid credential"
LDAP_NO_PASSWORD_REASON = "ldap-no-password"
SERVER_TIMEOUT = r"__(?:rad|ldap)_conn_timeout-"
SAML_FAILED = (r"Failed to process response message|Clock skew issue|No (?:group|user name) info in SAML response"
               r"|Failed to verify signature|doesn't match configured ACS Url|unknown to #?LassoServer"
               r"|Invalid assertion with")
LOGIN_START = r"handle_req-Rcvd auth req|XAUTH_USER_NAME|EAP identity|samld_process_request \[\d+\]: len="
LOGIN_OK = r"result FNBAM_SUCCESS|(?:XAUTH|EAP) succeeded"
SAML_LINE = r"samld_\w+ \[\d+\]"
SAML_GROUP_ATTR = r"Attr: \d+, \d+, 'group'"
# The lines failed_logins() reads.
for _pattern in (AUTH_FAILED, SERVER_TIMEOUT, SAML_FAILED, LOGIN_START, LOGIN_OK, SAML_LINE, SAML_GROUP_ATTR):
    linesearch.text_search(_pattern)
# fnbamd / samld restarting: start-up lines a configuration reload does not print
# (`fnbamd_cfg_init-` alone is also printed when the configuration changes).
DAEMON_START = linesearch.text_search(r"__fnbamd_register_new_ha_events-|fsm_initialize-Sent ACCT-ON|samld_init\b")

# Patterns `first(?s:.*)later` of AUTH_REASONS -> (first, later): the two halves are
# searched line by line (_reason).
_THEN: dict[str, tuple[str, str]] = {}


def _then(first: str, later: str) -> str:
    """The pattern ``first``, then anywhere after it in the login's lines ``later``."""
    pattern = f"{first}(?s:.*){later}"
    _THEN[pattern] = (first, later)
    return pattern


# (sub-reason, pattern over the login's lines, the line to quote), first match wins
# (RULES.md IKE208).
AUTH_REASONS: list[tuple[str, str, str]] = [
    (LDAP_NO_PASSWORD_REASON, LDAP_NO_PASSWORD, rf"{LDAP_NO_PASSWORD}|Loaded RADIUS server 'EAP_PROXY'"),
    # The IPv4 answer decides: fnbamd asks for AAAA too and, with none, prints `to ::` and
    # `Failed to add addr` on every healthy login to a server named by FQDN. 7.x ends the
    # line with `, cur stack size:N`.
    ("dns-failure", r"Resolved \S+ to (?:0\.0\.0\.0)?(?:,|\s*$)|DNS (?:lookup|resolution) failed",
     r"Resolved \S+ to (?:0\.0\.0\.0)?(?:,|\s*$)|DNS (?:lookup|resolution) failed"),
    ("radius-group-mismatch", _then(r"RADIUS resp code 2\b", "Failed group matching"), r"RADIUS resp code 2\b|Failed group matching"),
    ("radius-unreachable", r"__rad_conn_timeout-|fnbamd_rad_result-Error \(10\)|RADIUS server .* unreachable",
     r"__rad_conn_timeout-|fnbamd_rad_result-Error|RADIUS server .* unreachable"),
    ("ldap-unreachable", r"__ldap_conn_timeout-|fnbamd_ldap_result-Error \(10\)", r"__ldap_conn_timeout-|fnbamd_ldap_result-Error"),
    ("saml-clock-skew", r"Clock skew issue", r"Clock skew issue"),
    ("saml-signature-invalid", r"Failed to verify signature", r"Failed to verify signature"),
    ("saml-attribute-mismatch", r"No (?:group|user name) info in SAML response", r"No (?:group|user name) info in SAML response"),
    ("saml-config-error", r"doesn't match configured ACS Url|RequestDenied|unknown to #?LassoServer|Invalid assertion with"
                          r"|Failed to process response message",
     r"doesn't match configured ACS Url|RequestDenied|unknown to #?LassoServer|Invalid assertion with"
     r"|Failed to process response message"),
    ("saml-group-mismatch", _then(r"samld_\w+", "(?:result FNBAM_DENIED|Failed group matching)"),
     r"Attr: \d+, \d+, 'group'|result FNBAM_DENIED|Failed group matching"),
    ("user-not-found", r"(?i:user \S+ (?:was )?not found|no such user|unknown user)", r"(?i:not found|no such user|unknown user)"),
    ("bad-credentials", r"No DN is found|Error starting remote authentication|RADIUS resp code 3\b|Access-Reject"
                        r"|(?i:invalid credentials|bind failed)|Invalid NT-Response|result FNBAM_DENIED",
     r"No DN is found|Error starting remote authentication|Invalid NT-Response|RADIUS resp code 3\b|Access-Reject"
     r"|(?i:invalid credentials|bind failed)|result FNBAM_DENIED"),
    ("radius-unreachable", _then("rad", "result FNBAM_TIMEOUT"), r"result FNBAM_TIMEOUT"),
    ("ldap-unreachable", _then("ldap", "result FNBAM_TIMEOUT"), r"result FNBAM_TIMEOUT"),
]
REASON_WORDS = {
    LDAP_NO_PASSWORD_REASON: "the user's group is on an LDAP server, and an EAP (MSCHAPv2) login gives the FortiGate no "
                        "password to bind to LDAP with: fnbamd gave up LDAP and passed the login to its built-in EAP "
                        "proxy, which does not know the user",
    "dns-failure": "the authentication server's name does not resolve",
    "radius-group-mismatch": "RADIUS accepted the user but no FortiGate user group matched its attributes",
    "radius-unreachable": "the RADIUS server never answered",
    "ldap-unreachable": "the LDAP server could not be reached",
    "saml-clock-skew": "the SAML assertion is outside its validity window (clock skew)",
    "saml-signature-invalid": "the SAML response signature does not verify against the IdP certificate",
    "saml-attribute-mismatch": "the SAML response lacks the configured user-name/group attribute",
    "saml-config-error": "the SAML SP/IdP settings do not match (ACS URL, entity ID, request denied)",
    "saml-group-mismatch": "the IdP authenticated the user but the asserted groups match no user group",
    "user-not-found": "the user does not exist on the authentication server",
    "bad-credentials": "the credentials were refused (wrong or unknown user name, or wrong password)",
    "eap-method-rejected": "the client refused the EAP method the RADIUS server offered, and the server rejected "
                           "the login: no password was tried",
}
# Reasons read from the EAP packets fnbamd prints rather than from a line's words
# (_eap_refusal): the RADIUS reject that ends them reads like a refused password.
EAP_METHOD_REJECTED = "eap-method-rejected"
# fnbamd's print of an EAP packet it relays between the client and the RADIUS server.
EAP_HEX = linesearch.text_search(r"EAP msg from (client|server) \(\d+\)-((?:[0-9A-Fa-f]{2} ?)+)")
# FortiOS moving a negotiation to another phase 1 once the peer ID picks it (dial-up
# gateways sharing an interface): `ike V=root:0:ra: change phase1 profile to ra-radius`.
PROFILE_CHANGE = linesearch.text_search(r"change phase1 profile to ([^\s:]+)")


@dataclass
class EapRefusal:
    """The client's Nak of the method the server offered, with no other offer after it."""

    offered: int | None  # the method type the server's last Request before the Nak offered
    asked: tuple[int, ...]  # the method types the Nak asks for instead, in the client's order
    at: list[int]  # positions in light() of the offer, the Nak and the server's Failure (those present)


@dataclass
class Login:
    """One failed user authentication (XAUTH, EAP or SAML) and what the daemons said."""

    source: str
    anchors: list  # the failure lines (result, failed for user, server timeout, samld error)
    reason: str | None
    reason_rows: list
    user: str | None
    peer: str | None
    tunnel: str | None
    method: str  # XAUTH | EAP | SAML
    window: tuple[int, int]
    eap: EapRefusal | None = None  # set when the reason is eap-method-rejected


def failed_logins(events: pd.DataFrame) -> list[Login]:
    return per_table("logins", events, _failed_logins)


def _failed_logins(events: pd.DataFrame) -> list[Login]:
    ev = light(events)
    if ev.empty:
        return []
    out: list[Login] = []
    owner = owners(events)
    # Whole-column searches once; each source below takes its rows' share by position.
    col, tab = light_text(events), light_rows(events)
    saml_all, timeout_all = col.search(SAML_FAILED), col.search(SERVER_TIMEOUT)
    handed = col.search(LDAP_NO_PASSWORD)  # a hand-over, not a verdict: the EAP proxy may still accept the user
    anchor_all = ((col.search(AUTH_FAILED) & _debug_mask(events)) | timeout_all | saml_all
                  | col.search(EAP_PROXY_FAILED) | handed)
    unsettled = timeout_all | handed  # anchors a later success undoes
    moved_to = col.extract(PROFILE_CHANGE)
    codes, _ = pd.factorize(ev["source"].to_numpy())
    all_refs, all_tunnels = ev["ref"].to_numpy(), ev["tunnel"].to_numpy()
    for code in range(codes.max() + 1):
        pos = np.flatnonzero(codes == code)
        anchor = anchor_all[pos]
        if not anchor.any():
            continue
        # rows are in line order: every "before/after line N" below is a binary search.
        refs = all_refs[pos].astype(np.int64)
        order = np.argsort(refs, kind="stable")
        pos, refs, anchor = pos[order], refs[order], anchor[order]
        source = str(ev["source"].iat[pos[0]])
        starts = refs[col.search(LOGIN_START)[pos]]
        ok = refs[col.search(LOGIN_OK)[pos]]
        saml_refs = refs[col.search(SAML_LINE)[pos]]
        attr_pos = np.flatnonzero(col.search(SAML_GROUP_ATTR)[pos])
        groups: list[list[int]] = []  # positions in light() of each login's failure lines
        for p, ref in zip(pos[anchor].tolist(), refs[anchor].tolist()):
            # Same login while neither a success nor a new login's start (the user trying
            # again, another user) came between this failure and the previous one; samld
            # errors a few lines apart from each other are separate requests.
            prev = groups[-1][-1] if groups else None
            same = prev is not None and not _any_between(ok, int(all_refs[prev]), ref) \
                and not _any_between(starts, int(all_refs[prev]), ref)
            if same and saml_all[p] and saml_all[prev] and ref - int(all_refs[prev]) > 3:
                same = False
            if same:
                groups[-1].append(p)
            else:
                groups.append([p])
        named = _Named(refs, all_tunnels[pos])
        moved: dict[str, int] = {}  # phase 1 -> the first line that moved a negotiation to it
        for p in np.flatnonzero(pd.notna(moved_to[pos])).tolist():
            moved.setdefault(str(moved_to[pos[p]]), int(refs[p]))
        for at in groups:
            first, last = int(all_refs[at[0]]), int(all_refs[at[-1]])
            n_start = np.searchsorted(starts, first, side="right")
            n_ok = np.searchsorted(ok, first, side="left")
            lo = int(starts[n_start - 1]) if n_start else max(first - 400, 1)
            if n_ok and int(ok[n_ok - 1]) > lo:
                lo = int(ok[n_ok - 1]) + 1
            hi = last + 5
            if saml_all[at].all():
                lo, hi = first - 1, last + 1  # one samld request: its own lines only
            window = pos[np.searchsorted(refs, lo, side="left"):np.searchsorted(refs, hi, side="right")]
            # Only a server that timed out: a login that then succeeds (a second server
            # answered) is no failure.
            if unsettled[at].all() and _any_between(ok, last, last + 401):
                continue
            login = _login(source, tab.take(at), window, owner, tab, named, col, moved)
            if len(saml_refs) and saml_refs[0] < first and login.reason in (None, "bad-credentials") \
                    and "FNBAM_DENIED" in "\n".join(str(r.text) for r in login.anchors):
                # The IdP's assertion was accepted earlier (samld), then the EAP login with it
                # was denied: the asserted groups match no user group.
                login.reason, login.method = "saml-group-mismatch", "SAML"
                login.reason_rows = tab.take(pos[attr_pos[refs[attr_pos] < first][:2]])
            out.append(login)
    return out


def _any_between(sorted_refs: np.ndarray, lo: int, hi: int) -> bool:
    """Is any of the (ascending) line numbers strictly between ``lo`` and ``hi``?"""
    return bool(np.searchsorted(sorted_refs, hi, side="left") > np.searchsorted(sorted_refs, lo, side="right"))


class _Named:
    """tunnel -> its lines in one source, in line order (``.get`` like a dict), each
    tunnel's taken from the column when first asked: most logins never ask."""

    def __init__(self, refs: np.ndarray, tunnels: np.ndarray):
        self.refs, self.tunnels, self.found = refs, tunnels, {}

    def get(self, tunnel: str, default=None) -> list[int]:
        if tunnel not in self.found:
            self.found[tunnel] = self.refs[self.tunnels == tunnel].tolist()
        return self.found[tunnel] or default


# Patterns naming a login's user, in order: the first found is the login's.
USER_NAMED = r"(?:failed for user|XAUTH_USER_NAME|succeeded for user) [\"']"  # how the first one starts
LOGIN_USERS = (USER_NAMED + r"([^\"']+)[\"']",
               r"Rcvd auth req \d+ for (\S+)")
# The lines that can decide a login's reason, quote or user (_reason, _user): each reason's
# pattern (a line at a time: `$` also before a line's own breaks, as in the joined lines),
# the later half of a `_then` pattern, each quote, the user patterns. Any other line of a
# login only matters as the first half of a `_then` pattern.
REASON_LINES = linesearch.text_search("|".join(dict.fromkeys(
    [f"(?m:{_THEN[p][1]})" if p in _THEN else f"(?m:{p})" for _, p, _ in AUTH_REASONS]
    + [f"(?:{q})" for _, _, q in AUTH_REASONS] + [USER_NAMED, f"(?:{LOGIN_USERS[1]})"])))


def _reason(window: np.ndarray, wtext: list[str], cand: list[int], skip: str | None = None) -> tuple[str | None, list[int]]:
    """The first AUTH_REASONS pattern found in the login's lines joined (``wtext``, at
    ``window`` in light()) and the first two lines saying it, read from the lines that can
    decide it (``cand``, indexes into ``wtext``): a pattern without `(?s:.*)` matches
    within one line of the joined text, so one of the lines matches it alone; `first(?s:.*)later`
    matches when a line before the last `later` line has `first`, or that line has both."""
    for name, pattern, quote in AUTH_REASONS:
        if name == skip:
            continue
        if pattern in _THEN:
            first, later = (_regex(p) for p in _THEN[pattern])
            last = next((k for k in reversed(cand) if later.search(wtext[k])), None)
            found = last is not None and (any(first.search(t) for t in wtext[:last])
                                          or _regex(f"(?m:{pattern})").search(wtext[last]) is not None)
        else:
            rx = _regex(f"(?m:{pattern})")
            found = any(rx.search(wtext[k]) for k in cand)
        if found:
            rx = _regex(quote)
            return name, [int(window[k]) for k in cand if rx.search(wtext[k])][:2]
    return None, []


def _user(wtext: list[str], cand: list[int]) -> str | None:
    """The first LOGIN_USERS match in the login's lines joined: the first pattern may run
    past the end of the line it starts on (a quote closed on a later line); within that
    line it finds what the joined lines do."""
    named, first, second = _regex(USER_NAMED), *(_regex(p) for p in LOGIN_USERS)
    k = next((k for k in cand if named.search(wtext[k])), None)
    if k is not None:
        m = first.search(wtext[k]) or first.search("\n".join(wtext[k:]))
        if m:
            return m.group(1)
    return next((m.group(1) for k in cand if (m := second.search(wtext[k]))), None)


def _login(source: str, grp: list, window: np.ndarray, owner, tab: _Rows, named: _Named,
           col: linesearch.Column, moved: dict[str, int]) -> Login:
    """``window``: positions (in :func:`light`) of the login's lines, in line order;
    ``named``: each tunnel's lines in this source, in line order; ``moved``: phase 1 ->
    the first `change phase1 profile to` it in this source."""
    lo, hi = int(window[0]), int(window[-1])
    # One source's lines are usually one run of light(): a slice, not a lookup per line.
    wtext = tab.text[lo:hi + 1] if hi - lo + 1 == len(window) else [tab.text[p] for p in window]
    cand = np.flatnonzero(col.search(REASON_LINES)[window]).tolist()
    user = _user(wtext, cand)
    # Literal words: `in` finds them without a regex pass over the text; a samld line
    # (searched already) says `samld_` without reading the window's (long) lines.
    eap_word = _regex(r"\bEAP\b")
    method = ("SAML" if col.search(SAML_LINE)[window].any() or any("samld_" in t or "fsv_saml" in t for t in wtext)
              else "EAP" if any("EAP" in t and eap_word.search(t) for t in wtext) else "XAUTH")
    peer = tunnel = None
    ike = [r for r in grp if str(r.origin) == DEBUG]
    probe = ike[0] if ike else None
    if probe is None:  # daemon lines only: the IKE negotiation that asked for this login
        origin, rx = tab.cols[tab.cls._fields.index("origin")], _regex(r"XAUTH|EAP")
        asked = [p for p, t in zip(window, wtext) if origin[p] == DEBUG and rx.search(t)]
        if not asked:  # the EAP proxy's own verdict: the `ike` line that handed it the answer is above
            asked = _asked_above(tab, int(window[0]), source, rx)
        probe = tab.take(asked[-1:])[0] if asked else None
        if probe is not None and method == "XAUTH" and eap_word.search(str(probe.text).split(": ", 1)[-1]):
            method = "EAP"  # the daemon lines name no method (`'EAP_PROXY'`); the handing line does
    if probe is not None:
        n = owner.get((source, int(probe.ref)))
        if n is not None:
            peer, tunnel = n.peer, n.tunnel
            # The negotiation started on one phase 1 and was moved to the one its failure
            # line names: the login ran there (its user group, its authentication server).
            own = str(probe.tunnel) if pd.notna(probe.tunnel) else None
            if own and own != tunnel and moved.get(own, int(probe.ref)) < int(probe.ref):
                tunnel = own
        elif pd.notna(probe.tunnel) and "/" not in str(probe.tunnel):
            tunnel = str(probe.tunnel)
    if tunnel and peer is None:
        for x in named.get(tunnel, []):
            n_ = owner.get((source, int(x)))
            if n_ is not None and n_.peer:
                peer = n_.peer
                break
    # The LDAP hand-over is an EAP login's story only: an XAUTH login binds with its
    # password, and the EAP proxy's own verdict on the password says more.
    hand_over = method == "EAP" and not any(EAP_PROXY_FAILED in t for t in wtext)
    reason, quoted = _reason(window, wtext, cand, skip=None if hand_over else LDAP_NO_PASSWORD_REASON)
    refusal = _eap_refusal(window, wtext, col) if reason in (None, "bad-credentials") else None
    if refusal is not None:
        reason, quoted = EAP_METHOD_REJECTED, refusal.at
    reason_rows = tab.take(quoted)
    refs = tab.cols[tab.cls._fields.index("ref")]  # ascending along the window
    return Login(source, grp, reason, reason_rows, user, peer, tunnel, method, (int(refs[lo]), int(refs[hi])),
                 eap=refusal)


# How far above a login's window an `ike` line handing the EAP answer over is looked for:
# the EAP proxy prints its state machine (some 60 lines per answer) in between.
ASKED_ABOVE = 200


def said(row) -> str:
    """What a debug or daemon line says, for a finding to quote: without the `ike 0:gw:N: `
    context or the daemon's `[pid] ` / `func [pid]: ` prefix, at most 160 characters."""
    text = str(row.text).strip()
    for sep in ("] ", "]: ", ": "):
        if sep in text and str(row.origin) == AUTHD:
            return text.split(sep, 1)[1].strip()[:160]
    return text.split(": ", 1)[-1].strip()[:160] if str(row.origin) == DEBUG else text[:160]


def _asked_above(tab: _Rows, start: int, source: str, rx: re.Pattern) -> list[int]:
    """The last debug line of ``source`` matching ``rx`` within ASKED_ABOVE rows above
    position ``start`` of light(), as a one-position list (or empty)."""
    fields = tab.cls._fields
    origin, sources = tab.cols[fields.index("origin")], tab.cols[fields.index("source")]
    for p in range(start - 1, max(start - ASKED_ABOVE, 0) - 1, -1):
        if sources[p] != source:
            break
        if origin[p] == DEBUG and rx.search(tab.text[p]):
            return [p]
    return []


def _eap_refusal(window: np.ndarray, wtext: list[str], col: linesearch.Column) -> EapRefusal | None:
    """The login's last client Nak (RFC 3748 §5.3.1) when the server offered no method
    after it: the exchange ended on the client refusing the server's method, before any
    credential of a method was sent. A server that answers the Nak with another offer
    (PEAP refused, EAP-MSCHAPv2 offered) goes on to a real password check: no refusal."""
    hexed = np.flatnonzero(col.search(EAP_HEX)[window]).tolist()
    if not hexed:
        return None
    rx = _regex(EAP_HEX)
    offer: tuple[int, int] | None = None  # (method, k) of the server's last offer
    refusal: EapRefusal | None = None
    for k in hexed:
        m = rx.search(wtext[k])
        try:
            pkt = eap.parse(bytes.fromhex(m.group(2).replace(" ", "")))
        except (ValueError, WireError):
            continue  # a print cut inside the header says nothing about the methods
        if m.group(1) == "server":
            if pkt.offered is not None:
                offer, refusal = (pkt.offered, k), None
            elif pkt.code == EAP_CODE_FAILURE and refusal is not None:
                refusal.at.append(int(window[k]))
        elif pkt.nak is not None:
            refusal = EapRefusal(offer[0] if offer else None, pkt.nak,
                                 ([int(window[offer[1]])] if offer else []) + [int(window[k])])
    return refusal


def daemon_restarts(events: pd.DataFrame) -> pd.DataFrame:
    """fnbamd / samld start-up lines (the daemon was restarted or crashed and came back)."""
    def build(e):
        ev = light(e)
        return ev[(ev["origin"] == AUTHD).to_numpy() & light_text(e).search(DAEMON_START)]
    return per_table("restarts", events, build)


# ------------------------------------------------------------------ aggressive-mode KE size
# Diffie-Hellman public value sizes in bytes (RFC 2409, 3526, 5903, 8031).
DH_SIZES = {"MODP_768": 96, "MODP_1024": 128, "MODP_1536": 192, "MODP_2048": 256, "MODP_3072": 384,
            "MODP_4096": 512, "MODP_6144": 768, "MODP_8192": 1024, "ECP_256": 64, "ECP_384": 96,
            "ECP_521": 132, "CURVE25519": 32, "CURVE448": 56}
KE_V1 = 4  # IKEv1 Key Exchange payload type (RFC 2408 §3.1)


def ke_length(hexdump: str) -> int | None:
    """Length of the KE data in a clear IKEv1 message (bounds-checked walk)."""
    try:
        data = bytes.fromhex(hexdump)
    except ValueError:
        return None
    if len(data) < 28:
        return None
    off, ptype, seen = 28, data[16], 0
    while ptype and off + 4 <= len(data) and seen < 64:
        nxt, plen = data[off], int.from_bytes(data[off + 2:off + 4], "big")
        if plen < 4:
            return None
        if ptype == KE_V1:
            return plen - 4
        off, ptype, seen = off + plen, nxt, seen + 1
    return None


def offered_groups(proposals: str | None) -> list[str]:
    if not proposals:
        return []
    found = re.findall(r"Group=(\w+)|\b((?:MODP|ECP)_\d+|CURVE\d+)\b", str(proposals))
    return list(dict.fromkeys(a or b for a, b in found))


def recovered(h: Hit) -> bool:
    """Every negotiation of the hit went on to establish its IKE SA after the failing line."""
    if not h.negotiations:
        return False
    last = int(h.rows[-1].ref)
    return all(any(int(r) > last for r in n.lines(ESTABLISHED)["ref"]) for n in h.negotiations)
