"""The offset between a sniffer run stamped in UTC and an IKE debug in local time.

`diagnose sniffer packet <if> '<filter>' 4 0 a` stamps its packets in UTC; the debug
console (`diagnose debug console timestamp enable`) and a sniffer run with `l` in the
FortiGate's local time. A message both tell (the debug's `sent IKE msg (…): A:pa->B:pb,
len=N` or `comes A:pa->B:pb,…,len=N`, the sniffer's `A.pa -> B.pb: udp N`) is then read
twice, the two stamps the FortiGate's UTC offset apart: a whole number of quarter hours
between -12 h and +14 h. :func:`utc_offset` finds it from the messages both show.

Whole columns: the candidate offsets are few (105 quarter hours), the messages many; each
offset is one sorted search of the debug's messages among the sniffer's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze.wire import natt
from ikeanalyze.wire.ports import IKE_NATT_PORT

QUARTER_US = 15 * 60 * 1_000_000
# Time zones run from UTC-12:00 to UTC+14:00 (Kiribati's Line Islands).
OFFSETS_US = np.arange(-12 * 4, 14 * 4 + 1, dtype=np.int64) * QUARTER_US
# How far the debug's stamp of a message may lie from the sniffer's, beyond the offset: the
# daemon logs `sent IKE msg` around the moment the kernel sends it, and a debug of older
# builds stamps whole seconds.
SLACK_US = 2_000_000
AGREE_MIN = 2  # messages that must agree on one offset: one could be chance
SAMPLE = 4096  # debug messages every offset is asked of (see utc_offset)
CANDIDATES = 4  # offsets the sample favours most, asked of every message
MARKER_LEN = len(natt.NON_ESP_MARKER)  # RFC 3948 §2.2: IKE on UDP 4500 carries four zero bytes first
DEBUG_KINDS = ("ike-sent", "ike-received")
KEY = ["src", "sport", "dst", "dport", "direction", "length"]
# A message's key and its time in ms share one 64-bit number: the time below TIME_BITS
# (34 years: a paste's stamps spanning more are no one session's), the key above.
TIME_BITS = 40
KEYS_MAX = 1 << (63 - TIME_BITS)


def time_us(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The frame's `time` as µs since the epoch, and which rows have one."""
    arr = pa.array(frame["time"].array)
    ok = pc.is_valid(arr).to_numpy(zero_copy_only=False)
    return pc.fill_null(pc.cast(arr, pa.int64()), 0).to_numpy(zero_copy_only=False), ok


def utc_offset(frame: pd.DataFrame, sniffed: np.ndarray) -> tuple[int, int] | None:
    """(offset in µs, messages that agree on it) that puts the rows ``sniffed`` (a mask: a
    UTC sniffer run's packets) on the clock of the frame's IKE debug: local = UTC + offset.
    None when fewer than AGREE_MIN messages agree on one quarter hour, or two offsets are
    told by as many (a run of equal datagrams, hours apart, is no clock)."""
    us, timed = time_us(frame)
    full = np.ones(len(frame), bool)
    for name in KEY[:4] + ["length"]:
        full &= frame[name].notna().to_numpy()
    debug = timed & full & frame["kind"].isin(DEBUG_KINDS).to_numpy(dtype=bool) & (frame["origin"] == "ikedebug").to_numpy(dtype=bool)
    sniff = timed & full & sniffed & (frame["proto"] == "udp").fillna(False).to_numpy(dtype=bool)
    if debug.sum() < AGREE_MIN:
        return None
    # Only datagrams of a length the debug printed (or that plus the marker) can be its
    # messages: the rest (ESP-in-UDP, keepalives) go before the keys are built.
    length = frame["length"].to_numpy(dtype=np.float64, na_value=np.nan)
    said = np.unique(length[debug])
    sniff &= np.isin(length, np.concatenate([said, said + MARKER_LEN]))
    if sniff.sum() < AGREE_MIN:
        return None
    d, s = np.flatnonzero(debug), np.flatnonzero(sniff)
    low, high = min(us[d].min(), us[s].min()), max(us[d].max(), us[s].max())
    if (high - low) // 1000 >= (1 << TIME_BITS) // 2:
        return None
    s_keys, s_rows = _sniffer_keys(frame, s)
    d_keys = frame.loc[d, KEY].reset_index(drop=True)
    d_keys["direction"] = d_keys["direction"].astype(object)
    # Each key as a number (equal keys, equal numbers; a debug row with no in/out: -1, no
    # sniffer row's).
    codes = pd.concat([s_keys, d_keys], ignore_index=True).groupby(KEY, sort=False).ngroup().to_numpy(np.int64)
    if codes.max() >= KEYS_MAX:
        return None
    s_code, d_code = codes[: len(s_keys)], codes[len(s_keys):]
    # One sorted number per sniffer message: its key above its time (ms since a day before
    # the earliest stamp, so that every time shifted by an offset stays above zero).
    base = low - 24 * 3600 * 1_000_000
    s_num = (s_code << TIME_BITS) + (us[s_rows] - base) // 1000
    by_num = np.argsort(s_num, kind="stable")
    s_num, s_rows = s_num[by_num], s_rows[by_num]
    # (Sorted too: numpy searches sorted queries in a sorted array several times faster.)
    d_num = np.sort((d_code << TIME_BITS) + (us[d] - base) // 1000)
    # Every offset asked of a spread sample of the debug's messages, then the few the sample
    # favours of all of them: a debug of 200,000 messages costs a few searches, not 105.
    sample = d_num[:: -(-len(d_num) // SAMPLE)]
    told = _told(s_num, sample, OFFSETS_US // 1000)
    likely = np.argsort(-told, kind="stable")[:CANDIDATES]
    likely = likely[told[likely] > 0]
    if not len(likely):
        return None
    # A packet both tell pairs one debug message with one sniffer packet: two debug messages
    # near one packet (a send and its retransmission 2 s later) are one, not two.
    told = np.minimum(_told(s_num, d_num, OFFSETS_US[likely] // 1000) if len(sample) < len(d_num) else told[likely],
                      _sniffed(s_num, s_rows, d_num, OFFSETS_US[likely] // 1000))
    best = int(np.argmax(told))
    if told[best] < AGREE_MIN or (told == told[best]).sum() > 1:
        return None
    return int(OFFSETS_US[likely[best]]), int(told[best])


def _told(s_num: np.ndarray, d_num: np.ndarray, offsets_ms: np.ndarray) -> np.ndarray:
    """For each offset, how many of ``d_num`` (sorted debug messages) have a sniffer message
    (``s_num``, sorted) of their key within SLACK_US of their time less the offset."""
    slack = SLACK_US // 1000
    told = np.zeros(len(offsets_ms), np.int64)
    for k, off in enumerate(offsets_ms):  # (one search of the debug's messages per offset, not one per row)
        q = d_num - off
        told[k] = (np.searchsorted(s_num, q + slack, "right") > np.searchsorted(s_num, q - slack, "left")).sum()
    return told


def _sniffed(s_num: np.ndarray, s_rows: np.ndarray, d_num: np.ndarray, offsets_ms: np.ndarray) -> np.ndarray:
    """For each offset, how many sniffer packets (``s_rows``: the row of each of ``s_num``, a
    packet under several keys counted once) have a debug message (``d_num``, sorted) of their
    key within SLACK_US of their time plus the offset: :func:`_told` seen from the sniffer."""
    slack = SLACK_US // 1000
    told = np.zeros(len(offsets_ms), np.int64)
    for k, off in enumerate(offsets_ms):
        q = s_num + off
        hit = np.searchsorted(d_num, q + slack, "right") > np.searchsorted(d_num, q - slack, "left")
        told[k] = len(np.unique(s_rows[hit]))
    return told


def _sniffer_keys(frame: pd.DataFrame, s: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The sniffer rows ``s``'s keys as the debug would print them, with the row each is
    of: a packet with no in/out (`--`, verbosity 1-3) under both directions; a datagram to
    or from UDP 4500 under its length and its length without the non-ESP marker (the debug's
    `len=` may count it or not)."""
    keys = frame.loc[s, KEY].reset_index(drop=True)
    keys["direction"] = keys["direction"].astype(object)
    rows = s
    unknown = keys["direction"].isna().to_numpy()
    if unknown.any():
        extra = keys[unknown].copy()
        keys.loc[unknown, "direction"] = "in"
        extra["direction"] = "out"
        keys, rows = pd.concat([keys, extra], ignore_index=True), np.concatenate([rows, s[unknown]])
    on_natt = ((keys["sport"] == IKE_NATT_PORT) | (keys["dport"] == IKE_NATT_PORT)).fillna(False).to_numpy(dtype=bool)
    if on_natt.any():
        extra = keys[on_natt].copy()
        extra["length"] = extra["length"] - MARKER_LEN
        keys, rows = pd.concat([keys, extra], ignore_index=True), np.concatenate([rows, rows[on_natt]])
    return keys, rows


def shift(frame: pd.DataFrame, moves: list[tuple[np.ndarray, int]]) -> None:
    """Move each ``(rows, offset_us)`` of ``moves`` (an input's shifted runs) and count every
    timed row's `t` again from the earliest stamp, once all have moved (a run not yet moved
    would lie hours from the rest). (The stamp of a line not kept that `t` counted from, when
    it was earlier than every row's, was of the sniffer's other traffic, so of its clock: it
    moves with the first run, once.)"""
    us, timed = time_us(frame)
    t = frame["t"].to_numpy(dtype=float, na_value=np.nan)
    counted = timed & ~np.isnan(t)  # the rows whose `t` is their `time` counted from the first stamp
    floor = None
    if counted.any():
        first = int(np.round(us[counted] - t[counted] * 1e6).min())
        floor = first + moves[0][1] if first < us[counted].min() else None
    for rows, offset_us in moves:
        us = np.where(rows & timed, us + offset_us, us)
    frame["time"] = pd.arrays.ArrowExtensionArray(pa.array(us, pa.timestamp("us"), mask=~timed))
    if counted.any():
        first = us[counted].min() if floor is None else min(us[counted].min(), floor)
        frame["t"] = np.where(counted, (us - first) / 1e6, t)


def line_up(parts: list[pd.DataFrame], reports: list) -> None:
    """Put the UTC sniffer runs of one input (its InputReport.utc_runs: no debug of its own
    beside them) on the clock of another input's IKE debug, in place, when the messages
    both tell agree on one offset (:func:`utc_offset`), and say so in the run's input's
    warnings. A debug in local time given as a file of its own is as common as one pasted
    under the run. Nothing is said when they do not agree: the debug may be another
    FortiGate's, in another zone."""
    if not any(r.utc_runs for r in reports):  # (nearly every load: nothing to line up)
        return
    by_name = {r.source: r for r in reports}
    named = [(str(p["source"].iloc[0]), p) for p in parts if len(p)]
    debugs = [(name, p) for name, p in named
              if (p["origin"] == "ikedebug").fillna(False).to_numpy(dtype=bool).any() and p["time"].notna().any()]
    for name, part in named:
        report = by_name.get(name)
        others = [(n, p) for n, p in debugs if n != name]
        if report is None or not report.utc_runs or not others:
            continue
        cols = KEY + ["time", "kind", "origin", "proto"]
        moves = []
        both = pd.concat([part[cols]] + [p[cols] for _, p in others], ignore_index=True)
        ref = part["ref"].to_numpy(dtype=np.int64)
        sniffer = (part["origin"] == "sniffer").fillna(False).to_numpy(dtype=bool)
        # (Like text._utc_beside_local's loop over a paste's own debug, not merged with it: the
        # offset is sought in this input joined with the others' debug (``both``), and a zero
        # offset or none agreed goes untold, where for the paste's own debug both are told.)
        for run in report.utc_runs:
            rows = sniffer & (ref >= run.first) & (ref <= run.last)
            found = utc_offset(both, np.concatenate([rows, np.zeros(len(both) - len(part), bool)]))
            if found is None or not found[0]:
                continue
            offset, agreed = found
            moves.append((rows, offset))
            report.warn(shifted(run.first, run, agreed, offset, ", ".join(n for n, _ in others)))
        if moves:
            shift(part, moves)


def shifted(line: int, run, agreed: int, offset_us: int, debug_of: str | None = None) -> str:
    """The warning that the UTC run ``run`` (a CaptureRun; its command on ``line``) was put on
    the clock of the IKE debug (of the input ``debug_of``, when another input's)."""
    whose = f" of {debug_of}" if debug_of else ""
    return (f"line {line}: the sniffer run prints UTC (`a`), the IKE debug{whose} the FortiGate's local time: "
            f"{agreed} IKE messages told by both are {label(offset_us)} apart, so the run's times "
            f"(lines {run.first}-{run.last}) are shifted by {label(offset_us)} onto the debug's clock")


def label(offset_us: int) -> str:
    """`+02:00`, `+05:30`, `-03:30`."""
    sign = "-" if offset_us < 0 else "+"
    minutes = abs(offset_us) // 60_000_000
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
