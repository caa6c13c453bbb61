"""The incident chart as geometry: one lane per flow, packets binned over time, finding
windows shaded. The template (templates/_chart.svg.j2) turns this into inline SVG, so
every string from the input goes through jinja2's autoescape.

The layout is fixed-size whatever the input: a lane holds at most BINS columns per
direction, so a day-long capture draws as many marks as a one-minute paste.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd

from ikeanalyze.diagnosis import Diagnosis, Finding
from ikeanalyze.report.eventsview import KIND_CLASSES, anchor

WIDTH = 1000
LABEL_W = 250
X0, X1 = 262, 984  # plot area
TOP = 34  # room for the time axis
LANE_H = 58
LANE_GAP = 6
MAX_MARK = 22  # px from the lane's centre line to the tip of the tallest mark
BINS = 160
KIND_NAMES = {"ike": "IKE", "esp": "ESP / UDP data", "keepalive": "NAT keepalive", "tcp": "TCP", "other": "other"}
TICK_STEPS = (0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
              21600, 43200, 86400)


def _fx(v: datetime | None) -> float | None:
    return None if v is None else pd.Timestamp(v).value / 1e9


def build(d: Diagnosis, view: dict, findings: list[Finding]) -> dict | None:
    """Chart geometry, or None when nothing can be drawn (no flows with a time)."""
    axis = view.get("axis")
    lanes = view.get("lanes") or []
    if not axis or not lanes:
        return None
    x0, x1 = axis["x0"], axis["x1"]
    span = max(x1 - x0, 1e-6)
    pad = span * 0.01
    x0, x1 = x0 - pad, x1 + pad
    span = x1 - x0

    def px(v: float) -> float:
        return round(X0 + (v - x0) / span * (X1 - X0), 1)

    time_mode = axis["mode"] == "time"
    ticks = _ticks(x0, x1, time_mode, px)
    pts: pd.DataFrame = view["points"]
    anchors = {r["id"] for r in view["rows"] if r.get("id")}
    bw = (X1 - X0) / BINS

    out_lanes = []
    for li, lane in enumerate(lanes):
        top = TOP + li * (LANE_H + LANE_GAP)
        yc = top + LANE_H / 2
        p = pts[pts["lane"] == li]
        marks = _marks(p, x0, span, bw, yc, view, anchors)
        windows, labels = _windows(lane, findings, time_mode, px, top)
        out_lanes.append({
            "id": lane["id"], "top": top, "yc": yc, "h": LANE_H, "marks": marks, "windows": windows,
            "labels": labels, "peer": _clip(lane["peer"], 30), "sub": _clip(
                f"{lane['transport_name']} ↔ {lane['local']}", 38),
            "counts": f"{lane['n_in']} in · {lane['n_out']} out", "has_findings": lane["has_findings"],
            "title": f"{lane['peer']} ↔ {lane['local']} over {lane['transport_name']}: "
                     f"{lane['n_in']} packets from the peer, {lane['n_out']} to it",
        })
    height = TOP + len(lanes) * (LANE_H + LANE_GAP) + 4
    day = None
    if time_mode:
        a, b = pd.Timestamp(axis["x0"], unit="s"), pd.Timestamp(axis["x1"], unit="s")
        day = a.strftime("%Y-%m-%d") + ("" if a.date() == b.date() else " – " + b.strftime("%Y-%m-%d"))
    return {
        "width": WIDTH, "height": height, "x0": X0, "x1": X1, "label_w": LABEL_W, "ticks": ticks,
        "lanes": out_lanes, "day": day, "time_mode": time_mode,
        "kinds": [(k, KIND_NAMES[k]) for k in KIND_CLASSES if (pts["cls"] == k).any()],
        "lanes_omitted": view["lanes_omitted"], "events_omitted": view["events_omitted_from_lanes"],
        "untimed": view["untimed"], "bin_seconds": span / BINS,
    }


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _ticks(x0: float, x1: float, time_mode: bool, px) -> list[dict]:
    span = x1 - x0
    step = next((s for s in TICK_STEPS if span / s <= 8), TICK_STEPS[-1])
    first = math.ceil(x0 / step) * step
    out = []
    v = first
    while v <= x1 and len(out) < 12:
        if time_mode:
            ts = pd.Timestamp(v, unit="s")
            label = ts.strftime("%H:%M:%S" if step < 60 else "%H:%M") if step >= 1 else ts.strftime("%H:%M:%S.%f")[:-3]
        else:
            label = f"+{v:g} s"
        out.append({"x": px(v), "label": label})
        v += step
    return out


def _when(times, rel, i: int) -> str:
    tm = times.iloc[i]
    if not pd.isna(tm):
        return pd.Timestamp(tm).strftime("%H:%M:%S.%f")[:-3]
    t = rel.iloc[i]
    return "" if pd.isna(t) else f"+{float(t):.3f} s"


def _marks(p: pd.DataFrame, x0: float, span: float, bw: float, yc: float, view: dict, anchors: set[str]
           ) -> list[dict]:
    """One mark group per (time bin, direction): stacked segments per kind, one hover text."""
    if p.empty:
        return []
    texts, times, rel, src_index = view["text"], view["time"], view["t"], view["source_index"]
    b = np.minimum(((p["x"].to_numpy() - x0) / span * BINS).astype(int), BINS - 1)
    p = p.assign(bin=b, up=p["in"].to_numpy() == 1.0)
    g = p.groupby(["bin", "up", "cls"], sort=True).agg(n=("row", "size"), first=("row", "min"), last=("row", "max"))
    out = []
    for (bin_, up), grp in g.groupby(level=[0, 1], sort=True):  # bounded: BINS x 2 per lane
        total = int(grp["n"].sum())
        height = min(MAX_MARK, 10 + 4 * math.log2(total))
        segs = []
        offset = 2.0
        order = sorted(grp.index.get_level_values(2), key=KIND_CLASSES.index)
        for cls in order:
            n = int(grp.loc[(bin_, up, cls), "n"])
            h = max(3.0, height * n / total)
            y = yc - offset - h if up else yc + offset
            segs.append({"cls": cls, "y": round(y, 1), "h": round(h, 1)})
            offset += h
        first = int(grp["first"].min())
        last = int(grp["last"].max())
        direction = "in (from the peer)" if up else "out (to the peer)"
        if total == 1:
            unit = "frame" if view["origin"].iloc[first] == "pcap" else "line"
            title = f"{_when(times, rel, first)} {direction}, {unit} {int(view['ref'].iloc[first])}: {texts.iloc[first]}"
        else:
            kinds = ", ".join(f"{int(grp.loc[(bin_, up, c), 'n'])} {KIND_NAMES[c]}" for c in order)
            title = f"{_when(times, rel, first)}–{_when(times, rel, last)} {direction}: {total} packets ({kinds})"
        a = anchor(src_index.get(view["source"].iloc[first], 0), int(view["ref"].iloc[first]))
        href = "#" + a if a in anchors else None
        out.append({"x": round(X0 + bin_ * bw, 1), "w": round(max(bw - 0.8, 2.5), 1), "segs": segs,
                    "title": title, "href": href, "row": first})
    return out


def _windows(lane: dict, findings: list[Finding], time_mode: bool, px, top: float) -> tuple[list[dict], list[dict]]:
    wins, labels = [], []
    for fi in lane["findings"]:
        f = findings[fi]
        if time_mode:
            a, b = _fx(f.start), _fx(f.end)
        else:
            a, b = f.t_start, f.t_end
        if a is None:
            continue
        b = a if b is None else b
        xa, xb = px(a), px(b)
        xa, xb = max(X0, min(xa, X1)), max(X0, min(xb, X1))
        wins.append({"x": xa, "w": max(xb - xa, 2.0), "sev": f.severity, "code": f.code,
                     "title": f"{f.code} {f.title}"})
        for lab in labels:  # codes starting at the same place share one label
            if abs(lab["x"] - xa) < 40:
                lab["text"] += f" · {f.code}"
                break
        else:
            near_end = xa > X1 - 120  # keep the label inside the plot
            labels.append({"x": xa - 3 if near_end else xa + 3, "y": top + 11, "text": f.code,
                           "sev": f.severity, "anchor": "end" if near_end else "start"})
    return wins, labels
