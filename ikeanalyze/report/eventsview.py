"""A bounded, plain-data projection of the event table for the HTML and Markdown reports.

report/model.py describes the Diagnosis; this module adds what only the events can tell:
the flows as chart lanes (one per peer ip:port + transport, seen from the gateway), the
event rows a reader may open (every evidence row plus its neighbours, then the earliest),
and each input's time span. Everything is bounded, whatever the size of the input, and
every bound says what it left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ikeanalyze.analysis import flows as flows_mod
from ikeanalyze.diagnosis import Diagnosis
from ikeanalyze.endpoints import endpoint, endpoints, host

# Kinds as a reader tells them apart on the chart (every other kind is "other").
KIND_CLASS: dict[str, str] = {
    "ike": "ike", "ike-sent": "ike", "ike-received": "ike", "ike-exchange": "ike", "retransmit": "ike",
    "esp": "esp",
    "nat-keepalive": "keepalive", "nat-keepalive-sent": "keepalive",
    "tcp": "tcp", "iketcp-prefix": "tcp", "tcp-accepted": "tcp",
}
KIND_CLASSES = ("ike", "esp", "keepalive", "tcp", "other")
TRANSPORT_NAMES = {"udp500": "UDP 500", "udp4500": "UDP 4500", "tcp": "TCP", "esp": "ESP"}


@dataclass(frozen=True)
class Limits:
    """How much of a big input the page carries (the rest is counted, not shown)."""

    lanes: int = 16  # chart lanes: the top finding's first, then the next finding's, then the busiest
    table_rows: int = 1500  # event table rows: evidence and its neighbours first
    context_rows: int = 4  # rows shown before and after each evidence row
    text_chars: int = 300  # a raw line longer than this is cut (and says so)


def anchor(source_index: int, ref: int) -> str:
    """The id of an event-table row: one per (input, line/frame)."""
    return f"ev-{source_index}-{ref}"


def _epoch(col: pd.Series) -> np.ndarray:
    """Timestamps as float seconds (NaN when missing), whole-column."""
    ts = pd.to_datetime(col.astype("datetime64[us]"), errors="coerce")
    out = ts.to_numpy(dtype="datetime64[us]").astype("int64").astype(float) / 1e6
    out[ts.isna().to_numpy()] = np.nan
    return out


DEFAULT = Limits()


def build(d: Diagnosis, events: pd.DataFrame | None, limits: Limits = DEFAULT) -> dict:
    """The events section of the report: axis, lanes, table rows, spans per input."""
    sources = [r.source for r in d.ingest.inputs]
    if events is None or events.empty:
        return {"available": events is not None, "axis": None, "lanes": [], "lanes_omitted": 0,
                "events_omitted_from_lanes": 0, "rows": [], "rows_total": 0, "rows_omitted": 0,
                "untimed": 0, "spans": {}, "kinds": [], "tunnels": [], "sources": sources}
    ev = events.reset_index(drop=True)
    src_index = {s: i for i, s in enumerate(sources)}
    for s in ev["source"].dropna().unique():
        if s not in src_index:
            src_index[s] = len(src_index)
            sources.append(s)

    # One x per row: the absolute clock when the inputs have one, else seconds from start.
    epoch = _epoch(ev["time"])
    rel = ev["t"].astype("float64").to_numpy(na_value=np.nan)
    use_time = bool(np.isfinite(epoch).any())
    x = epoch if use_time else rel
    kind = ev["kind"].astype(object).to_numpy()
    kclass = np.array([KIND_CLASS.get(k, "other") for k in pd.unique(kind)], dtype=object)
    kclass = pd.Series(kclass, index=pd.unique(kind)).reindex(kind).to_numpy()

    # Lanes: the oriented wire rows grouped by peer end + local end + transport.
    wire = _oriented(ev)
    lane_of = np.full(len(ev), -1, dtype=int)
    lanes: list[dict] = []
    omitted_lanes = omitted_events = 0
    evidence_keys = _evidence_keys(d)
    if not wire.empty:
        transport = wire["transport"].astype(object).where(wire["transport"].notna(), wire["proto"].astype(object))
        local = endpoints(wire["local"], wire["lport"])
        if "view" in wire:  # several FortiGates' runs in one paste: a lane per run (analysis.views)
            view = wire["view"]  # (flows.oriented wrote it as views.labels: a label or None)
            local = local.where(view.isna(), local + " on " + view.fillna(""))
        key = endpoints(wire["remote"], wire["rport"]) + "|" + local + "|" + transport.astype(str)
        wire = wire.assign(_key=key.to_numpy(), _row=wire.index.to_numpy(),
                           _ev=_is_evidence(wire, evidence_keys))
        # A debug log's `sent IKE msg` lines echo packets a sniffer or capture of the same flow
        # already shows: a lane counts and draws its packet rows when it has any.
        is_pkt = wire["origin"].isin(flows_mod.PACKET_ORIGINS).to_numpy()
        has_pkt = pd.Series(is_pkt).groupby(wire["_key"].to_numpy()).transform("max").to_numpy(dtype=bool)
        wire = wire.assign(_draw=is_pkt | ~has_pkt)
        g = wire[wire["_draw"]].groupby("_key", sort=False)
        stats = g.agg(n=("_row", "size"), n_in=("in", "sum"), first=("_row", "min"), hits=("_ev", "sum"),
                      guessed=("guessed", "max"))
        stats["n_out"] = stats["n"] - stats["n_in"]
        chosen = _choose_lanes(d, wire, stats, limits.lanes)
        keep = stats.loc[chosen]
        omitted_lanes = len(stats) - len(keep)
        omitted_events = int(stats["n"].sum() - keep["n"].sum())
        # A peer's lanes sit together (its UDP lane, then the TCP one it came back on),
        # peers in the order they first appeared.
        ip = pd.Series([host(k.split("|")[0]) for k in keep.index], index=keep.index)
        keep = keep.assign(_ip_first=keep.groupby(ip.to_numpy())["first"].transform("min").to_numpy())
        keep = keep.sort_values(["_ip_first", "first"])
        for i, (k, s) in enumerate(keep.iterrows()):
            peer, local, tr = k.split("|")
            rows = wire.loc[wire["_key"] == k, "_row"].to_numpy()
            lane_of[rows] = i
            lanes.append({"id": f"lane-{i}", "peer": peer, "local": local, "transport": tr,
                          "transport_name": TRANSPORT_NAMES.get(tr, tr.upper()),
                          "n": int(s["n"]), "n_in": int(s["n_in"]), "n_out": int(s["n_out"]),
                          "has_findings": False, "findings": [], "guessed": bool(s["guessed"])})
    ev_dir = np.full(len(ev), np.nan)
    drawn = np.zeros(len(ev), dtype=bool)
    if not wire.empty:
        ev_dir[wire.index.to_numpy()] = wire["in"].to_numpy(dtype=float)
        drawn[wire.index.to_numpy()] = wire["_draw"].to_numpy()

    # Which lanes each finding touches (by its evidence rows), so windows shade the right lanes.
    refs = pd.DataFrame([(fi, e.source, e.ref) for fi, f in enumerate(_flat(d)) for e in f.evidence
                         if e.ref is not None], columns=["finding", "source", "ref"])
    if lanes and not refs.empty:
        at = pd.DataFrame({"source": ev["source"].astype(object), "ref": ev["ref"].astype("int64"), "lane": lane_of})
        hit = refs.astype({"ref": "int64"}).merge(at[at["lane"] >= 0], on=["source", "ref"])
        for (fi, li) in hit[["finding", "lane"]].drop_duplicates().sort_values(["lane", "finding"]).itertuples(
                index=False):
            lanes[li]["findings"].append(int(fi))
    for lane in lanes:
        lane["has_findings"] = bool(lane["findings"])

    points = pd.DataFrame({"lane": lane_of, "x": x, "cls": kclass, "in": ev_dir, "row": np.arange(len(ev))})
    points = points[(points["lane"] >= 0) & drawn & np.isfinite(points["x"])]
    untimed = int(((lane_of >= 0) & drawn & ~np.isfinite(x)).sum())

    axis = None
    finite = points["x"].to_numpy(dtype=float)  # the axis spans what the lanes draw
    if finite.size:
        axis = {"mode": "time" if use_time else "relative", "x0": float(finite.min()), "x1": float(finite.max())}

    rows, total, omitted = _rows(ev, lane_of, kclass, src_index, evidence_keys, limits)
    return {
        "available": True,
        "axis": axis,
        "lanes": lanes,
        "lanes_omitted": omitted_lanes,
        "events_omitted_from_lanes": omitted_events,
        "points": points,
        "untimed": untimed,
        "rows": rows,
        "rows_total": total,
        "rows_omitted": omitted,
        "spans": _spans(ev, use_time),
        "kinds": [k for k in KIND_CLASSES if (kclass == k).any()],
        "tunnels": sorted(ev["tunnel"].dropna().astype(str).unique().tolist()),
        "sources": sources,
        "source_index": src_index,
        "text": ev["text"],
        "source": ev["source"],
        "ref": ev["ref"],
        "origin": ev["origin"],
        "time": ev["time"],
        "t": ev["t"],
    }


def _oriented(ev: pd.DataFrame) -> pd.DataFrame:
    """analysis.flows.oriented, plus the packets it cannot orient (a capture between two
    gateways on UDP 500, no --local): those get a lane per address pair, the lower end
    standing in for the peer, and `guessed` set so the lane says so."""
    # A packet source that left `wire` unset still saw packets: every such row is one.
    packet = ev["origin"].isin(flows_mod.PACKET_ORIGINS).fillna(False).to_numpy()
    ev = ev.assign(wire=ev["wire"].fillna(pd.Series(packet, index=ev.index)).astype(bool))
    w = flows_mod.oriented(ev).assign(guessed=False)
    is_wire = ev["wire"] & ev["src"].notna() & ev["dst"].notna()
    rest = ev.loc[is_wire.to_numpy() & ~ev.index.isin(w.index), [c for c in w.columns if c in ev.columns]].copy()
    if rest.empty:
        return w
    a = rest["src"].astype(str) + ":" + rest["sport"].astype("Int64").astype(str)
    b = rest["dst"].astype(str) + ":" + rest["dport"].astype("Int64").astype(str)
    from_low = (a < b).to_numpy()  # the lower end plays the peer: its packets are drawn as "in"
    src, dst = rest["src"].astype(object).to_numpy(), rest["dst"].astype(object).to_numpy()
    sp, dp = rest["sport"].astype(object).to_numpy(), rest["dport"].astype(object).to_numpy()
    rest["remote"] = np.where(from_low, src, dst)
    rest["rport"] = pd.array(np.where(from_low, sp, dp), dtype="Int64")
    rest["local"] = np.where(from_low, dst, src)
    rest["lport"] = pd.array(np.where(from_low, dp, sp), dtype="Int64")
    rest["in"] = from_low
    rest["guessed"] = True
    return pd.concat([w, rest[[c for c in w.columns if c in rest.columns]]]).sort_index()


def _choose_lanes(d: Diagnosis, wire: pd.DataFrame, stats: pd.DataFrame, cap: int) -> list[str]:
    """Lanes of the top finding and the findings it explains first, then the next finding's,
    then the busiest flows, up to ``cap``."""
    group = [gi for gi, f in enumerate(d.findings) for _ in range(1 + len(f.symptoms))]
    refs = pd.DataFrame([(group[fi], e.source, e.ref) for fi, f in enumerate(_flat(d)) for e in f.evidence
                         if e.ref is not None], columns=["group", "source", "ref"])
    chosen: list[str] = []
    if not refs.empty:
        at = pd.DataFrame({"source": wire["source"].astype(object).to_numpy(),
                           "ref": wire["ref"].astype("int64").to_numpy(), "_key": wire["_key"].to_numpy()})
        hit = refs.astype({"ref": "int64"}).merge(at, on=["source", "ref"]).drop_duplicates(["group", "_key"])
        hit = hit[hit["_key"].isin(stats.index)]
        hit = hit.assign(first=stats.loc[hit["_key"], "first"].to_numpy()).sort_values(["group", "first"])
        for k in hit["_key"]:
            if len(chosen) >= cap:
                break
            if k not in chosen:
                chosen.append(k)
    if len(chosen) < cap:
        rest = stats.drop(index=chosen).sort_values(["n", "first"], ascending=[False, True])
        chosen.extend(rest.index[: cap - len(chosen)])
    return chosen


def _flat(d: Diagnosis) -> list:
    out = []
    for f in d.findings:
        out.append(f)
        out.extend(f.symptoms)
    return out


def _evidence_keys(d: Diagnosis) -> set[tuple[str, int]]:
    keys = {(e.source, e.ref) for f in _flat(d) for e in f.evidence if e.ref is not None}
    keys |= {(m.source, m.ref) for m in d.timeline if m.source and m.ref is not None}
    return keys


def _is_evidence(frame: pd.DataFrame, keys: set[tuple[str, int]]) -> np.ndarray:
    """Rows whose (source, ref) a finding or the timeline points at; whole-column."""
    if not keys or frame.empty:
        return np.zeros(len(frame), dtype=bool)
    idx = pd.MultiIndex.from_arrays([frame["source"].astype(object), frame["ref"].astype("int64")])
    return np.asarray(idx.isin(list(keys)))


def _rows(ev: pd.DataFrame, lane_of: np.ndarray, kclass: np.ndarray, src_index: dict[str, int],
          evidence_keys: set, limits: Limits) -> tuple[list[dict], int, int]:
    """Evidence rows and their neighbours first, then the earliest rows, up to the limit."""
    n = len(ev)
    is_ev = _is_evidence(ev, evidence_keys)
    want = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(is_ev):
        want[max(0, i - limits.context_rows): i + limits.context_rows + 1] = True
    if want.sum() > limits.table_rows:  # too many evidence rows: keep the evidence itself
        want = is_ev.copy()
    free = limits.table_rows - int(want.sum())
    if free > 0:
        rest = np.flatnonzero(~want)[:free]
        want[rest] = True
    idx = np.flatnonzero(want)
    sub = ev.iloc[idx]
    out: list[dict] = []
    seen_anchor: set[str] = set()
    prev = -1
    for i, r in zip(idx, sub.itertuples(index=False)):  # bounded by limits.table_rows
        if i != prev + 1 and out:
            out.append({"gap": int(i - prev - 1)})
        elif i != prev + 1:
            out.append({"gap": int(i)})
        prev = i
        a = anchor(src_index.get(r.source, 0), int(r.ref))
        text = "" if pd.isna(r.text) else str(r.text)
        cut = len(text) > limits.text_chars
        lane = int(lane_of[i])
        out.append({
            "id": a if a not in seen_anchor else None,
            "source": r.source, "ref": int(r.ref), "source_index": src_index.get(r.source, 0),
            "time": None if pd.isna(r.time) else pd.Timestamp(r.time).strftime("%H:%M:%S.%f")[:-3],
            "t": None if pd.isna(r.t) else float(r.t),
            "kind": r.kind, "cls": kclass[i], "direction": None if pd.isna(r.direction) else r.direction,
            "flow": _flow_text(r), "tunnel": None if pd.isna(r.tunnel) else str(r.tunnel),
            "lane": f"lane-{lane}" if lane >= 0 else "",
            "text": text[: limits.text_chars] + ("…" if cut else ""),
            "evidence": bool(is_ev[i]),
        })
        seen_anchor.add(a)
    if prev < n - 1 and out:
        out.append({"gap": int(n - 1 - prev)})
    return out, n, n - len(idx)


def _flow_text(r) -> str:
    if pd.isna(r.src) or pd.isna(r.dst):
        return ""
    return f"{endpoint(r.src, r.sport)} → {endpoint(r.dst, r.dport)}"


def _spans(ev: pd.DataFrame, use_time: bool) -> dict[str, dict]:
    """First and last moment per input, in its own clock."""
    out: dict[str, dict] = {}
    col = "time" if use_time else "t"
    g = ev[ev[col].notna()].groupby("source", sort=False)[col].agg(["min", "max"])
    for source, row in g.iterrows():
        if use_time:
            a, b = pd.Timestamp(row["min"]), pd.Timestamp(row["max"])
            out[str(source)] = {"first": a.strftime("%Y-%m-%d %H:%M:%S"), "last": b.strftime("%Y-%m-%d %H:%M:%S"),
                                "seconds": (b - a).total_seconds()}
        else:
            out[str(source)] = {"first": f"+{float(row['min']):.3f} s", "last": f"+{float(row['max']):.3f} s",
                                "seconds": float(row["max"]) - float(row["min"])}
    return out
