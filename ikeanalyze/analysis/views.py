"""Views: which capture point saw each packet, when one paste holds several.

Engineers paste the sniffer runs of both ends of a tunnel (`HQ-FGT # diagnose sniffer
packet …`, then `BR-FGT # diagnose sniffer packet …`), of both members of an HA pair, or
two runs of one FortiGate one after the other, as one input. Each run saw the wire from
its own place and, at the default verbosity 4, on its own clock: seconds since the run
started, so a second run's stamps start again near 0. Judged as one capture, a packet
leaving HQ and the same packet arriving at BR look like two packets, and a second run's
packets interleave with the first's on one time axis.

A view is one device (the prompt's hostname, the `device` column) and, for a clock that
restarts (relative stamps going back), one run of it: a label per packet row, `None` when
the input holds a single view (nearly every input: nothing changes for them). Rules group
packets by (source, view) where they grouped by source, and name the view in their
findings (rules/registry.py). Absolute stamps are one time axis: the runs of one device
with them are one view.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Origins whose packet lines a device's run prints (a capture file is one view of its own).
RUN_ORIGINS = ("sniffer", "tcpdump")
# When a relative clock has started again: a new run's stamps restart near 0 (within
# RESTART_S, or in the first half of how far the clock had gone), going back more than
# REORDER_S; packets printed out of order (tcpdump -ttt's `-00:00:00.000021`) go back
# microseconds, where the clock already was.
RESTART_S = 1.0
REORDER_S = 0.001


def _restarts(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Whether each stamp ``after`` (the next packet's) starts the clock again after ``before``."""
    return (after < before - REORDER_S) & ((after <= RESTART_S) | (after <= before / 2))


def views(events: pd.DataFrame, runs: dict[str, list] | None = None) -> pd.Series | None:
    """The view label of each packet-text row of ``events`` (index-aligned, null for the
    other rows), or None when no input holds more than one view. Labels: the device
    (`HQ-FGT`), `HQ-FGT run 2` when that device's relative clock restarted, `run 2` for a
    run under no named prompt. ``runs``: each input's sniffer runs as the paste shows them
    (ingest.CaptureRun): two packets of one shown run are one run whatever their stamps
    (printed out of order), and a run shown starting between them starts a new one."""
    if events.empty or "device" not in events:
        return None
    packet = events["origin"].isin(RUN_ORIGINS).to_numpy()
    if not packet.any():
        return None
    # The few columns asked, not a copy of the rows: a long sniffer run is most of the table.
    named = events["device"].notna().to_numpy() & packet
    t = events["t"].to_numpy(dtype="float64", na_value=np.nan)[packet]
    relative = events["time"].isna().to_numpy()[packet] & ~np.isnan(t)
    mask = pa.array(packet)
    packet_sources = pa.array(events["source"].array).filter(mask)
    shown = _shown_runs(events, packet, packet_sources, runs)
    # One input of one run, named or not (nearly every input): no view to tell apart. Asked
    # of arrow's columns first: the object arrays below cost more than the whole answer.
    sources = pc.count_distinct(packet_sources).as_py()
    devices = pa.array(events["device"].array).filter(mask)
    one_name = devices.null_count in (0, len(devices)) and pc.count_distinct(devices).as_py() <= 1
    if sources == 1 and one_name and not _goes_back(t, relative, None, shown):
        return None
    source = events["source"].to_numpy(dtype=object)[packet]
    if not named.any() and not _goes_back(t, relative, source, shown):
        return None  # one unnamed run per input: no view to tell apart
    device = np.where(named, events["device"].to_numpy(dtype=object), None)[packet]
    labels = np.full(len(t), None, dtype=object)
    several = False
    for name in pd.unique(source):
        at = np.flatnonzero(source == name)
        dev, names = pd.factorize(pd.Series(device[at], dtype=object), use_na_sentinel=False)
        run = _runs(dev, t[at], relative[at], shown[at])
        width = int(run.max()) + 1
        key, first, inverse = np.unique(dev.astype(np.int64) * width + run, return_index=True, return_inverse=True)
        if len(key) < 2:
            continue
        several = True
        runs_of = np.zeros(len(names), dtype=np.int64)
        np.maximum.at(runs_of, dev, run + 1)
        ordinal = np.empty(len(key), dtype=np.int64)
        ordinal[np.argsort(first)] = np.arange(len(key))  # views numbered in order of their first packet
        text = [_label(names[d], n + 1, int(runs_of[d]), int(o))
                for (d, n), o in zip((divmod(int(k), width) for k in key), ordinal)]
        labels[at] = np.array(text, dtype=object)[inverse]
    if not several:
        return None
    out = pd.Series(None, index=events.index, dtype=object)
    out[packet] = labels
    return out


def runs_at(refs: np.ndarray, runs: list) -> tuple[np.ndarray, np.ndarray]:
    """For each line number in ``refs``: the last of ``runs`` (ingest.CaptureRun, in line
    order) starting at or above it (its index, -1 for a line above the first run), and
    whether the line is in that run (not below its end, where a prompt ended it)."""
    if not runs:
        return np.full(len(refs), -1, dtype=np.int64), np.zeros(len(refs), dtype=bool)
    firsts = np.array([r.first for r in runs], dtype=np.float64)
    lasts = np.array([r.last for r in runs], dtype=np.float64)
    k = np.searchsorted(firsts, refs, side="right") - 1
    return k, (k >= 0) & (refs <= lasts[np.maximum(k, 0)])


def _shown_runs(events: pd.DataFrame, packet: np.ndarray, source: pa.Array,
                runs: dict[str, list] | None) -> np.ndarray:
    """Each packet row's shown run (an index into its input's ``runs``), -1 where the paste
    shows none. ``source``: the packet rows' sources (arrow)."""
    out = np.full(int(packet.sum()), -1, dtype=np.int64)
    if not runs:
        return out
    names = pc.unique(source).to_pylist()
    ref = events["ref"].to_numpy(dtype="float64", na_value=np.nan)[packet]
    for name in names:
        shown = runs.get(name)
        if not shown:
            continue
        # (arrow's compare: the object array of a long sniffer run's sources costs more)
        at = np.arange(len(out)) if len(names) == 1 else \
            np.flatnonzero(pc.fill_null(pc.equal(source, name), False).to_numpy(zero_copy_only=False))
        k, inside = runs_at(ref[at], shown)
        out[at[inside]] = k[inside]
    return out


def _new_run(t: np.ndarray, shown: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether row ``b`` starts a run after row ``a`` (index arrays): a run the paste shows
    starts between them, else (one shown run, or none shown) the clock starts again."""
    known = (shown[a] >= 0) & (shown[b] >= 0)
    return np.where(known, shown[a] != shown[b], _restarts(t[a], t[b]))


def _goes_back(t: np.ndarray, relative: np.ndarray, source: np.ndarray | None, shown: np.ndarray) -> bool:
    """Whether a relative clock of one input starts again (:func:`_new_run`: a second run);
    ``source`` None: the rows are of one input."""
    at = np.flatnonzero(relative)
    back = _new_run(t, shown, at[:-1], at[1:])
    return bool((back if source is None else back & (source[at][1:] == source[at][:-1])).any())


def _runs(dev: np.ndarray, t: np.ndarray, relative: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """Each row's run of its device (0, 1, …): a device's relative clock starting again
    (:func:`_restarts`) starts a new run; absolute stamps never do (one time axis)."""
    order = np.argsort(dev, kind="stable")  # each device's rows together, in input order
    d, ts, rel, sh = dev[order], t[order], relative[order], shown[order]
    brk = np.zeros(len(order), dtype=np.int64)
    ri = np.flatnonzero(rel)
    if len(ri) > 1:
        back = (d[ri[1:]] == d[ri[:-1]]) & _new_run(ts, sh, ri[:-1], ri[1:])
        brk[ri[1:][back]] = 1
    counted = np.cumsum(brk)
    starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
    base = (counted - brk)[starts]  # breaks before each device's first row
    run = np.empty(len(order), dtype=np.int64)
    run[order] = counted - np.repeat(base, np.diff(np.r_[starts, len(order)]))
    return run


def _label(device: str | None, n: int, of: int, ordinal: int) -> str:
    """`HQ-FGT`, `HQ-FGT run 2` (the device's second run), `run 3` (the input's third, unnamed)."""
    if device is None or pd.isna(device):
        return f"run {ordinal + 1}"
    return device if of == 1 else f"{device} run {n}"


def said(view: object) -> str:
    """How a finding names a view: `HQ-FGT's run`, `HQ-FGT's second run`, `the paste's second run`."""
    if not isinstance(view, str) or not view:
        return ""
    if view.startswith("run "):
        return f"the paste's {_ordinal(view)} run"
    device, _, n = view.partition(" run ")
    return f"{device}'s {_ordinal('run ' + n) + ' ' if n else ''}run"


def _ordinal(run: str) -> str:
    n = int(run.split()[-1])
    return {1: "first", 2: "second", 3: "third", 4: "fourth"}.get(n, f"{n}th")


def _by_line(ctx) -> pd.Series:
    """The view label of every packet row in a view, on a (source, line) index, in input
    order; built once per context (``ctx.extras``) from whole columns. Empty when no input
    holds several views."""
    at = ctx.extras.get("views.at")
    if at is None:
        v = ctx.views
        at = pd.Series([], dtype=object)
        if v is not None:
            on = v.notna().to_numpy()
            ev = ctx.events[on]
            lines = pd.MultiIndex.from_arrays([ev["source"].astype(str).to_numpy(dtype=object),
                                               ev["ref"].astype(int).to_numpy()])
            at = pd.Series(v[on].to_numpy(dtype=object), index=lines)
            at = at[~at.index.duplicated(keep="last")]
        ctx.extras["views.at"] = at
    return at


def at_lines(ctx, lines: list[tuple]) -> list:
    """The view label of each (source, line) of ``lines``, None for a line in no view."""
    at = _by_line(ctx)
    if at.empty or not lines:
        return [None] * len(lines)
    pos = at.index.get_indexer(pd.MultiIndex.from_tuples(lines))
    labels = at.to_numpy()
    return [labels[k] if k >= 0 else None for k in pos]


def in_run_order(ctx, moments: list) -> list:
    """``moments`` (the incident timeline) with the runs of a paste kept apart when no
    moment has a clock time: relative stamps restart with each run, so one time axis would
    interleave them (a second run's packets before the first's). Each view's moments in
    order of its `t`, the views in the order of their first packet; others first."""
    at = _by_line(ctx)
    if at.empty or any(m.time is not None for m in moments):
        return moments
    rank = {v: i + 1 for i, v in enumerate(pd.unique(at.to_numpy()))}
    view = at_lines(ctx, [(m.source, m.ref) for m in moments])
    order = sorted(range(len(moments)), key=lambda k: (rank.get(view[k], 0), moments[k].t is None, moments[k].t or 0.0))
    return [moments[k] for k in order]


def labels(views: pd.Series | None, n: int) -> np.ndarray:
    """``views`` (of :func:`views`, or None) as an object array: a label or None per row."""
    if views is None:
        return np.full(n, None, dtype=object)
    # (whole-array: a label is a string, and a row without one None, or NaN where reindexed)
    out = views.to_numpy(dtype=object).copy()
    out[pd.isna(out)] = None
    return out


def capture_point(w: pd.DataFrame) -> pd.Series:
    """Each row's input, with its view when it has one (`paste.txt` / `paste.txt|HQ-FGT`):
    the key to group packets by where rules grouped them by `source`."""
    source = w["source"].astype(str)
    if "view" not in w:
        return source
    has = w["view"].notna().to_numpy()
    if not has.any():
        return source
    return source.where(~has, source + "|" + w["view"].astype(object).where(has, "").astype(str))
