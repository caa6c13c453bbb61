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

from ikeanalyze.diagnosis import Diagnosis, Finding, human_duration
from ikeanalyze.report.eventsview import KIND_CLASSES, anchor

WIDTH = 1000
LABEL_W = 250
X0, X1 = 262, 984  # plot area
TOP = 34  # room for the time axis
LANE_H = 58
LANE_GAP = 6
MAX_MARK = 22  # px from the lane's centre line to the tip of the tallest mark
BINS = 160
GAP_PX = 46  # a cut quiet stretch
QUIET_SHARE, QUIET_MIN_S = 0.15, 60.0  # what counts as a quiet stretch worth cutting
TICK_PX = 90
KIND_NAMES = {"ike": "IKE", "esp": "ESP / UDP data", "keepalive": "NAT keepalive", "tcp": "TCP", "other": "other"}
TICK_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
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
    span = x1 - x0
    pad = span * 0.01 if span > 0 else 1.0  # one moment only: a two-second window around it
    x0, x1 = x0 - pad, x1 + pad
    pts: pd.DataFrame = view["points"]
    kt, kp, gaps = _scale(pts["x"].to_numpy(dtype=float), x0, x1)

    def px(v: float) -> float:
        return round(float(np.interp(v, kt, kp)), 1)

    time_mode = axis["mode"] == "time"
    ticks = [t for t in _ticks(kt, kp, time_mode)  # keep the cut's label and the last label readable
             if not any(px(g["t0"]) - 32 < t["x"] < px(g["t1"]) + 32 for g in gaps) and t["x"] < WIDTH - 34]
    anchors = {r["id"] for r in view["rows"] if r.get("id")}
    bw = (X1 - X0) / BINS
    active = (x1 - x0) - sum(g["t1"] - g["t0"] for g in gaps)
    per_bin = active / ((X1 - X0) - GAP_PX * len(gaps)) * bw

    out_lanes = []
    # A lane with no timed packet (a debug log without console timestamps) has nothing to draw.
    timed = set(pts["lane"].unique().tolist())
    drawn = [li for li in range(len(lanes)) if li in timed]
    centres = [0.0] * len(lanes)
    for pos, li in enumerate(drawn):
        centres[li] = TOP + pos * (LANE_H + LANE_GAP) + LANE_H / 2
    all_marks = _marks(pts, kt, kp, bw, centres, view, anchors)
    for li in drawn:
        lane = lanes[li]
        yc = centres[li]
        top = yc - LANE_H / 2
        marks = all_marks[li]
        windows, labels = _windows(lane, findings, time_mode, px, top)
        out_lanes.append({
            "id": lane["id"], "top": top, "yc": yc, "h": LANE_H, "marks": marks, "windows": windows,
            "labels": labels, "peer": _clip(lane["peer"], 30), "sub": _clip(
                f"{lane['transport_name']} ↔ {lane['local']}", 38),
            "counts": (f"▲ {lane['n_in']} from it · ▼ {lane['n_out']} to it" if lane["guessed"] else
                       f"{lane['n_in']} in · {lane['n_out']} out"), "has_findings": lane["has_findings"],
            "title": (f"{lane['peer']} ↔ {lane['local']} over {lane['transport_name']}: "
                      + (f"{lane['n_in']} packets from {lane['peer']} (above), {lane['n_out']} from {lane['local']} "
                         "(below); which side is the gateway is not known (--local tells)" if lane["guessed"] else
                         f"{lane['n_in']} packets from the peer, {lane['n_out']} to it")),
        })
    height = TOP + len(drawn) * (LANE_H + LANE_GAP) + 4
    day = None
    if time_mode:
        a, b = pd.Timestamp(axis["x0"], unit="s"), pd.Timestamp(axis["x1"], unit="s")
        day = a.strftime("%Y-%m-%d") + ("" if a.date() == b.date() else " – " + b.strftime("%Y-%m-%d"))
    return {
        "width": WIDTH, "height": height, "x0": X0, "x1": X1, "label_w": LABEL_W, "ticks": ticks,
        "lanes": out_lanes, "day": day, "time_mode": time_mode,
        "kinds": [(k, KIND_NAMES[k]) for k in KIND_CLASSES if (pts["cls"] == k).any()],
        "lanes_omitted": view["lanes_omitted"], "events_omitted": view["events_omitted_from_lanes"],
        "untimed": view["untimed"], "bin_text": _seconds(per_bin), "lanes_untimed": len(lanes) - len(drawn),
        "gaps": [{"x": px(g["t0"]), "w": round(px(g["t1"]) - px(g["t0"]), 1), "label": g["label"],
                  "title": g["title"]} for g in gaps],
        "has_windows": any(ln["windows"] for ln in out_lanes),
    }


def _seconds(v: float) -> str:
    if v >= 10:
        return human_duration(v)
    return f"{v:.1f} s" if v >= 1 else f"{v * 1000:.3g} ms"


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _scale(xs: np.ndarray, x0: float, x1: float) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Time → x as knots for np.interp: linear, except that long quiet stretches (nothing in
    any lane for more than QUIET_SHARE of the span) are cut to GAP_PX, so a 17-minute lull
    does not squeeze the minutes that matter into a corner."""
    span = x1 - x0
    u = np.unique(xs[np.isfinite(xs)])
    edges = np.concatenate(([x0], u, [x1]))
    d = np.diff(edges)
    big = np.flatnonzero(d > max(QUIET_SHARE * span, QUIET_MIN_S))
    if big.size == 0 or big.size * GAP_PX > (X1 - X0) / 3:
        return np.array([x0, x1]), np.array([float(X0), float(X1)]), []
    margin = 0.01 * span
    cuts = [(edges[i] + margin, edges[i + 1] - margin) for i in big]
    active = span - sum(b - a for a, b in cuts)
    avail = (X1 - X0) - GAP_PX * len(cuts)
    kt, kp = [x0], [float(X0)]
    gaps = []
    for a, b in cuts:
        kt.append(a)
        kp.append(kp[-1] + (a - kt[-2]) / active * avail)
        kt.append(b)
        kp.append(kp[-1] + GAP_PX)
        quiet = edges[np.searchsorted(edges, b)] - edges[np.searchsorted(edges, a) - 1]
        gaps.append({"t0": a, "t1": b, "label": f"⋯ {human_duration(quiet)} ⋯",
                     "title": f"no event in these flows for {human_duration(quiet)}: the time axis is cut here"})
    kt.append(x1)
    kp.append(float(X1))
    return np.array(kt), np.array(kp), gaps


def _ticks(kt: np.ndarray, kp: np.ndarray, time_mode: bool) -> list[dict]:
    """Ticks per drawn stretch (between cuts), about one per TICK_PX pixels."""
    out: list[dict] = []
    for i in range(0, len(kt) - 1, 2):  # knots come in pairs: a drawn stretch, then a cut
        a, b, pa, pb = kt[i], kt[i + 1], kp[i], kp[i + 1]
        room = max(1.0, (pb - pa) / TICK_PX)
        step = next((s for s in TICK_STEPS if (b - a) / s <= room), TICK_STEPS[-1])
        v = math.ceil(a / step) * step
        while v <= b:
            x = round(pa + (v - a) / (b - a) * (pb - pa), 1) if b > a else pa
            if not out or x - out[-1]["x"] >= 60:
                out.append({"x": x, "label": _tick_label(v, step, time_mode)})
            v += step
    return out


def _tick_label(v: float, step: float, time_mode: bool) -> str:
    if not time_mode:
        return f"+{v:g} s"
    ts = pd.Timestamp(v, unit="s")
    if step >= 60:
        return ts.strftime("%H:%M")
    return ts.strftime("%H:%M:%S") if step >= 1 else ts.strftime("%H:%M:%S.%f")[:-3]


def _when(times, rel, i: int) -> str:
    tm = times.iloc[i]
    if not pd.isna(tm):
        return pd.Timestamp(tm).strftime("%H:%M:%S.%f")[:-3]
    t = rel.iloc[i]
    return "" if pd.isna(t) else f"+{float(t):.3f} s"


def _marks(pts: pd.DataFrame, kt: np.ndarray, kp: np.ndarray, bw: float, lanes_y: list[float], view: dict,
           anchors: set[str]) -> list[list[dict]]:
    """Per lane, one mark per (time bin, direction): stacked segments per kind, one hover text.

    The grouping is whole-column; the Python loop runs over the groups, at most
    lanes x BINS x 2 x kinds, whatever the size of the input."""
    out: list[list[dict]] = [[] for _ in lanes_y]
    if pts.empty:
        return out
    texts, times, rel, src_index = view["text"], view["time"], view["t"], view["source_index"]
    b = np.clip(((np.interp(pts["x"].to_numpy(dtype=float), kt, kp) - X0) / bw).astype(int), 0, BINS - 1)
    p = pts.assign(bin=b, up=pts["in"].to_numpy() == 1.0)
    g = (p.groupby(["lane", "bin", "up", "cls"], sort=True)
         .agg(n=("row", "size"), first=("row", "min"), last=("row", "max")).reset_index())
    g["order"] = g["cls"].map(KIND_CLASSES.index)
    g = g.sort_values(["lane", "bin", "up", "order"])
    cur_key, cur = None, None
    for r in g.itertuples(index=False):
        key = (r.lane, r.bin, r.up)
        if key != cur_key:
            cur_key = key
            cur = {"lane": int(r.lane), "bin": int(r.bin), "up": bool(r.up), "parts": []}
            out[int(r.lane)].append(cur)
        cur["parts"].append((r.cls, int(r.n), int(r.first), int(r.last)))
    for li, marks in enumerate(out):
        out[li] = [_mark(m, bw, lanes_y[li], texts, times, rel, src_index, anchors, view) for m in marks]
    return out


def _mark(m: dict, bw: float, yc: float, texts, times, rel, src_index, anchors, view) -> dict:
    total = sum(n for _, n, _, _ in m["parts"])
    height = min(MAX_MARK, 10 + 4 * math.log2(total))
    up = m["up"]
    segs, offset = [], 2.0
    for cls, n, _, _ in m["parts"]:
        h = max(3.0, height * n / total)
        y = yc - offset - h if up else yc + offset
        segs.append({"cls": cls, "y": round(y, 1), "h": round(h, 1)})
        offset += h
    first = min(f for _, _, f, _ in m["parts"])
    last = max(v for _, _, _, v in m["parts"])
    direction = "in (from the peer)" if up else "out (to the peer)"
    if total == 1:
        unit = "frame" if view["origin"].iloc[first] == "pcap" else "line"
        title = f"{_when(times, rel, first)} {direction}, {unit} {int(view['ref'].iloc[first])}: {texts.iloc[first]}"
    else:
        kinds = ", ".join(f"{n} {KIND_NAMES[c]}" for c, n, _, _ in m["parts"])
        title = f"{_when(times, rel, first)}–{_when(times, rel, last)} {direction}: {total} packets ({kinds})"
    a = anchor(src_index.get(view["source"].iloc[first], 0), int(view["ref"].iloc[first]))
    return {"x": round(X0 + m["bin"] * bw, 1), "w": round(max(bw - 0.8, 2.5), 1), "segs": segs, "title": title,
            "href": "#" + a if a in anchors else None}


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
