"""Stalls: a UDP 500/4500 flow whose peer went silent while the gateway kept sending.

Only flows from sources that see every packet count (captures, sniffer text): a debug
log never shows ESP, so the absence of `comes` lines proves nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ikeanalyze.analysis import direction
from ikeanalyze.analysis import flows as flows_mod
from ikeanalyze.analysis import views as views_mod
from ikeanalyze.analysis.context import Context
from ikeanalyze.analysis.tablecache import first_rows

UDP_TRANSPORTS = ("udp500", "udp4500")


REPLY_S = 0.5  # seconds after the peer's last packet within which this side's packets answer it


@dataclass(frozen=True)
class Stall:
    flow: pd.Series
    last_in: object  # the peer's last packet (a row of ctx.wire)
    first_out: object  # the first unanswered packet
    last_out: object  # the last unanswered packet
    unanswered: int  # outbound packets after last_in
    kinds: Counter  # their kinds
    silence: float | None  # seconds from last_in to last_out


def tails(ctx: Context) -> pd.DataFrame:
    """Outbound rows sent after the peer's last packet, for every packet-source flow in
    which the peer sent at least once (whole-table work; cached on the context)."""
    cached = ctx.extras.get("silence.tails")
    if cached is not None:
        return cached
    w = ctx.wire
    if w.empty:
        out = w.assign(pos=np.zeros(0, dtype=np.int64))
    else:
        fid = w["fid"].to_numpy()
        inbound = w["in"].to_numpy()
        pos = np.arange(len(w))
        last_in = np.full(int(fid.max()) + 1, -1, dtype=np.int64)
        np.maximum.at(last_in, fid[inbound], pos[inbound])
        packet = w["origin"].isin(flows_mod.PACKET_ORIGINS).to_numpy()
        t = w["t"].astype("float64").to_numpy()
        last_in = _with_signs_of_life(w, fid, inbound & packet, packet & ~inbound, pos, t, last_in)
        mask = packet & ~inbound & (last_in[fid] >= 0) & (pos > last_in[fid])
        # What left within REPLY_S of the peer's last packet answered it: not a send into silence.
        mask &= ~(t - t[np.maximum(last_in[fid], 0)] <= REPLY_S)
        out = w[mask].assign(pos=pos[mask], last_in_pos=last_in[fid[mask]])
    ctx.extras["silence.tails"] = out
    return out


# What else from the peer's address shows it alive beside a UDP 4500 flow: without NAT on
# its side, ESP is IP protocol 50 (RFC 3948 §4), and only the other side (if any) sends
# NAT-T keepalives on 4500: keepalives going one way while the peer's ESP still arrives are
# by design, not a path that stopped. It counts only when that ESP was already coming when
# this side began sending into the silence: ESP that starts later is a new SA (a
# reconnect). IKE on UDP 500 is no sign: a NAT-T peer whose 4500 path died reconnects with
# a fresh SA_INIT on 500, and its first negotiation was on 500 too.
SIGNS_OF_LIFE = ("esp",)


def _with_signs_of_life(w: pd.DataFrame, fid: np.ndarray, inbound: np.ndarray, outbound: np.ndarray,
                        pos: np.ndarray, t: np.ndarray, last_in: np.ndarray) -> np.ndarray:
    """``last_in`` (per flow, the position of the peer's last packet) moved, for each UDP
    4500 flow the peer sent on, to the peer's last ESP packet to the same local address
    seen from the same capture point, when that came later and the peer's ESP had begun
    before this side's first packet into the silence (SIGNS_OF_LIFE)."""
    transport = w["transport"]
    alive = inbound & transport.isin(SIGNS_OF_LIFE).to_numpy()
    on4500 = (transport == "udp4500").fillna(False).to_numpy()
    if not (alive.any() and on4500.any()):
        return last_in
    # Per flow, then per peer: a flow's origin, capture point and addresses are its key's
    # (flows.FLOW_KEY), so the peer (origin, capture point, local, remote: any port or
    # protocol) is grouped over one row of each flow, not over every packet.
    flows = len(last_in)
    alive_f = np.full(flows, -1, dtype=np.int64)
    np.maximum.at(alive_f, fid[alive], pos[alive])
    began_f = np.full(flows, np.inf)
    np.minimum.at(began_f, fid[alive], t[alive])
    fids, first = first_rows(fid)  # (`fid` numbers flows in order, but only some are here)
    pid = np.full(flows, -1, dtype=np.int64)
    pid[fids] = w.iloc[first].groupby(["origin", "view", "local", "remote"], sort=False, dropna=False).ngroup().to_numpy()
    last_alive = np.full(int(pid.max()) + 1, -1, dtype=np.int64)
    np.maximum.at(last_alive, pid[fids], alive_f[fids])
    began = np.full(len(last_alive), np.inf)
    np.minimum.at(began, pid[fids], began_f[fids])
    # Each 4500 flow's first packet from this side after the peer's last one (and its reply window).
    into = outbound & on4500 & (last_in[fid] >= 0)
    into &= t > t[np.maximum(last_in[fid], 0)] + REPLY_S
    silence_from = np.full(flows, np.inf)
    np.minimum.at(silence_from, fid[into], t[into])
    out = last_in.copy()
    f = np.flatnonzero(np.bincount(fid[on4500], minlength=flows))
    f = f[last_in[f] >= 0]  # a flow the peer never sent on is never "stopped" (IKE106's story)
    f = f[began[pid[f]] < silence_from[f]]
    out[f] = np.maximum(last_in[f], last_alive[pid[f]])
    return out


def stalls(ctx: Context, min_silence: float, min_packets: int) -> list[Stall]:
    """Flows whose peer sent at least once, then nothing while >= ``min_packets`` left for
    it over >= ``min_silence`` seconds (the silence is measured to the last of them)."""
    out: list[Stall] = []
    per_flow = _per_flow(ctx)
    if per_flow is None:
        return out
    udp, tail, g = per_flow
    hit = g[(g["n"] >= min_packets) & (g["silence"] >= min_silence)]
    if hit.empty:
        return out
    # Each flow's Stall is made once per context: three rules ask with different thresholds.
    made: dict = ctx.extras.setdefault("silence.stalls", {})
    by_fid = fids = kinds = None
    for fid, row in hit.iterrows():
        if fid not in made:
            if by_fid is None:
                by_fid = udp.set_index("fid")
                fids = tail["fid"].to_numpy()
                kinds = tail["kind"].astype(object).to_numpy()
            rows = np.flatnonzero(fids == fid)
            last_in = ctx.wire.iloc[int(row["last_in_pos"])]
            made[fid] = Stall(by_fid.loc[fid], last_in, tail.iloc[rows[0]], tail.iloc[rows[-1]], len(rows),
                              Counter(kinds[rows]), float(row["silence"]))
        out.append(made[fid])
    return out


@dataclass(frozen=True)
class OpenStall:
    """A stall in packet text that shows no in/out (sniffer verbosity 1-3 on one interface,
    a `--`) where nothing tells which side is this one: either may be."""

    silent: str  # `addr:port` of the side that stopped
    sender: str  # `addr:port` of the side that kept sending
    silent_last: object  # the silent side's last packet (a row of ctx.events)
    first_out: object  # the sender's first packet after it
    last_out: object  # and its last
    sent: int
    kinds: Counter
    silence: float
    transport: str


def unoriented_stalls(ctx: Context, min_silence: float, min_packets: int) -> list[OpenStall]:
    """UDP 500/4500 pairs of packet text with no in/out whose one side sent at least once,
    then nothing while the other sent >= ``min_packets`` over >= ``min_silence`` seconds.
    (Rows the direction inference placed are in ``ctx.wire``: :func:`stalls` has them.)"""
    ev = ctx.events
    # tcpdump text too (unlike the opener-oriented rows): a stall is told from both sides here.
    m = direction.unoriented(ev, ctx.wire, flows_mod.HEADER_ORIGINS)
    if not m.any():
        return []
    rows = ev[m & ev["transport"].isin(UDP_TRANSPORTS).fillna(False).to_numpy()]
    if rows.empty:
        return []
    a = rows["src"].astype(str) + ":" + rows["sport"].astype(str)
    b = rows["dst"].astype(str) + ":" + rows["dport"].astype(str)
    pair = flows_mod.pair_key(a, b)
    t = rows["t"].astype("float64").to_numpy()
    point = _points(ctx, rows)
    life = None  # (asked at the first UDP 4500 pair: an ESP-only paste's IKE on 500 never needs it)
    out = []
    for (_, _), idx in pd.DataFrame({"s": point.to_numpy(), "p": pair}).groupby(
            ["s", "p"], sort=False).indices.items():
        sides = a.to_numpy()[idx]
        ends = list(dict.fromkeys(sides))
        if len(ends) != 2:
            continue  # one side only: never answered (IKE105, IKE108), not stopped
        last = {e: idx[np.flatnonzero(sides == e)[-1]] for e in ends}
        silent, sender = sorted(ends, key=lambda e: t[last[e]])
        silent_last, quiet_at = rows.iloc[last[silent]], t[last[silent]]
        if str(rows["transport"].iloc[idx[0]]) == "udp4500":
            # The silent side's ESP to the sender's address, coming before the sender's first
            # packet into the silence (SIGNS_OF_LIFE).
            if life is None:
                text = (ev["origin"].isin(flows_mod.HEADER_ORIGINS).to_numpy()  # in/out or not
                        & ev["src"].notna().to_numpy() & ev["dst"].notna().to_numpy())
                life = _last_signs_of_life(ctx, ev[text & ev["transport"].isin(SIGNS_OF_LIFE).fillna(False).to_numpy()])
            began, seen = life.get((point.iloc[idx[0]], silent.rsplit(":", 1)[0], sender.rsplit(":", 1)[0]), (None, None))
            into = t[idx[(sides == sender) & (t[idx] > quiet_at + REPLY_S)]]
            if (seen is not None and len(into) and float(ev.at[began, "t"]) < into[0]
                    and not float(ev.at[seen, "t"]) <= quiet_at):
                silent_last, quiet_at = ev.loc[seen], float(ev.at[seen, "t"])
        after = idx[(sides == sender) & (t[idx] > quiet_at + REPLY_S)]
        if len(after) < min_packets or np.isnan(quiet_at) or t[after[-1]] - quiet_at < min_silence:
            continue
        out.append(OpenStall(silent, sender, silent_last, rows.iloc[after[0]], rows.iloc[after[-1]],
                             len(after), Counter(rows["kind"].astype(str).to_numpy()[after]),
                             float(t[after[-1]] - quiet_at), str(rows["transport"].iloc[after[0]])))
    return out


def _points(ctx: Context, rows: pd.DataFrame) -> pd.Series:
    """Each row's capture point. Per capture point, not per input: two runs of a paste
    restart their relative clocks (analysis.views), and one run's late packets are no
    answer missing from the other's."""
    if ctx.views is None:
        return rows["source"].astype(str)
    return views_mod.capture_point(rows.assign(view=views_mod.labels(ctx.views.reindex(rows.index), len(rows))))


def _last_signs_of_life(ctx: Context, rows: pd.DataFrame) -> dict[tuple[str, str, str], tuple[object, object]]:
    """(capture point, source address, destination address) → the event indexes of the
    first and the last such packet text row (``rows``: the SIGNS_OF_LIFE ones; rows with no
    time are left out)."""
    rows = rows[rows["t"].notna().to_numpy()]
    if rows.empty:
        return {}
    g = pd.DataFrame({"p": _points(ctx, rows).to_numpy(), "s": rows["src"].astype(str).to_numpy(),
                      "d": rows["dst"].astype(str).to_numpy(), "t": rows["t"].astype("float64").to_numpy()},
                     index=rows.index)
    by = g.groupby(["p", "s", "d"], sort=False)["t"]
    first, last = by.idxmin(), by.idxmax()
    return {key: (first[key], last[key]) for key in first.index}


def _per_flow(ctx: Context):
    """(UDP flows whose peer sent, their tails, per-flow count/last time/silence), once per
    context: IKE102 and IKE104 ask with different thresholds, which only filter it."""
    if "silence.per_flow" in ctx.extras:
        return ctx.extras["silence.per_flow"]
    result = None
    flows = ctx.packet_flows
    if not flows.empty:
        udp = flows[flows["transport"].isin(UDP_TRANSPORTS).fillna(False) & (flows["n_in"] > 0)]
        tail = tails(ctx)
        tail = tail[tail["fid"].isin(udp["fid"]).to_numpy()]
        if not tail.empty:
            t = tail["t"].astype("float64").to_numpy()
            stats = pd.DataFrame({"fid": tail["fid"].to_numpy(), "t": t, "last_in_pos": tail["last_in_pos"].to_numpy()})
            g = stats.groupby("fid").agg(n=("t", "size"), last_t=("t", "max"), last_in_pos=("last_in_pos", "first"))
            w_t = ctx.wire["t"].astype("float64").to_numpy()
            g["silence"] = g["last_t"].to_numpy() - w_t[g["last_in_pos"].to_numpy()]
            result = (udp, tail, g)
    ctx.extras["silence.per_flow"] = result
    return result
