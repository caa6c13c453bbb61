"""Flows: 5-tuple sessions seen from the gateway, with per-direction counts and last-seen.

One row per (origin, proto, local ip, local port, remote ip, remote port). "Local" is the
side the device (or the capture's gateway) owns: the destination of an inbound packet,
the source of an outbound one. Rows come only from events that stand for one packet
(`wire`); each origin keeps its own flows, because a sniffer and a debug log of the same
traffic would otherwise count every packet twice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze.analysis.views import labels
from ikeanalyze.analysis.views import views as views_of
from ikeanalyze.endpoints import endpoints
from ikeanalyze.wire.ports import IKE_NATT_PORT, IKE_PORT

# `view`: which of several capture points of one input saw the packet (analysis.views):
# the two ends' sniffer runs in one paste see one conversation as two flows.
FLOW_KEY = ["origin", "view", "proto", "local", "lport", "remote", "rport"]
# Per-direction counters by kind (column name → kinds).
COUNTED = {
    "ike": ("ike", "ike-sent", "ike-received"),
    "esp": ("esp",),
    "keepalive": ("nat-keepalive", "nat-keepalive-sent"),
    "tcp": ("tcp", "iketcp-prefix"),
    "fragment": ("ip-fragment",),
}
PACKET_ORIGINS = ("pcap", "sniffer", "tcpdump")  # sources that see every packet on their wire
# Packet text: one header line a packet, its bytes not shown (SPIs and IKE lengths often unknown).
HEADER_ORIGINS = ("sniffer", "tcpdump")
WELL_KNOWN = (IKE_PORT, IKE_NATT_PORT)


# oriented()'s `views` when the caller has not computed them (None is an answer: one view).
UNKNOWN = object()


def pair_key(a: pd.Series, b: pd.Series) -> np.ndarray:
    """One key per unordered pair of ends (`a b` with the lesser first): a packet and its
    answer share it, whichever way each went."""
    return np.where(a < b, a + " " + b, b + " " + a)


def oriented(events: pd.DataFrame, views: pd.Series | None | object = UNKNOWN) -> pd.DataFrame:
    """Wire rows with `local`/`remote` sides and a known direction, and the `view` (capture
    point) each was seen from: ``views`` (analysis.views, of these events or a table they
    were taken from; None: a single view), computed here when not given."""
    wire = events["wire"].fillna(False).astype(bool) & events["src"].notna() & events["dst"].notna()
    w = events.loc[wire, ["time", "t", "source", "ref", "origin", "kind", "direction", "src", "sport",
                          "dst", "dport", "proto", "transport", "tunnel", "length", "tcp_flags",
                          "tcp_seq", "tcp_ack", "text", "exchange", "response", "ispi", "msg_id"]].copy()
    direction = pa.array(w["direction"].array)
    if direction.null_count:
        # A side on 500/4500 is the gateway's; the other (a NAT-mapped high port) the peer's.
        s_known = np.isin(w["sport"].fillna(-1).astype(int).to_numpy(), WELL_KNOWN)
        d_known = np.isin(w["dport"].fillna(-1).astype(int).to_numpy(), WELL_KNOWN)
        guess = pc.if_else(pa.array(d_known & ~s_known), "in",
                           pc.if_else(pa.array(s_known & ~d_known), "out", pa.scalar(None, pa.string())))
        direction = pc.coalesce(direction, guess)
    w["direction"] = pd.array(direction, dtype="string")
    w = w[w["direction"].notna()]
    inbound = (w["direction"] == "in").to_numpy()
    # Sides are picked with arrow/numpy selects over whole columns: no Python object per row.
    into = pa.array(inbound, pa.bool_())
    src, dst = pa.array(w["src"].array), pa.array(w["dst"].array)
    w["local"] = pd.Series(pc.if_else(into, dst, src), index=w.index, dtype=w["src"].dtype)
    w["remote"] = pd.Series(pc.if_else(into, src, dst), index=w.index, dtype=w["src"].dtype)
    sport = w["sport"].to_numpy(dtype="float64", na_value=np.nan)
    dport = w["dport"].to_numpy(dtype="float64", na_value=np.nan)
    w["lport"] = pd.array(np.where(inbound, dport, sport), dtype="Int64")
    w["rport"] = pd.array(np.where(inbound, sport, dport), dtype="Int64")
    guess = pc.if_else(pc.fill_null(pc.equal(pa.array(w["transport"].array), "tcp"), False), "tcp", "udp")
    w["proto"] = pd.Series(pc.if_else(pc.is_valid(pa.array(w["proto"].array)), pa.array(w["proto"].array), guess),
                           index=w.index, dtype=w["proto"].dtype)
    w["in"] = inbound
    if views is UNKNOWN:
        views = views_of(events)
    w["view"] = None if views is None else labels(views.reindex(w.index), len(w))
    w["fid"] = w.groupby(FLOW_KEY, sort=False, dropna=False).ngroup().to_numpy()
    return w


def build(w: pd.DataFrame) -> pd.DataFrame:
    """The flow table (see module docstring) from the oriented wire rows; one row per
    `fid`. Empty when there are no wire events."""
    if w.empty:
        return pd.DataFrame(columns=FLOW_KEY + ["fid", "packets"])
    inbound = w["in"].to_numpy().astype(bool)
    # Counters as weights of one bincount each (a pandas sum per column costs ~6 ms here).
    counts = {"n_in": inbound, "n_out": ~inbound}
    for name, kinds in COUNTED.items():
        is_kind = w["kind"].isin(kinds).to_numpy()
        counts[f"{name}_in"] = is_kind & inbound
        counts[f"{name}_out"] = is_kind & ~inbound
    g = w.groupby("fid", sort=True)
    agg = {k: (k, "first") for k in FLOW_KEY}
    agg.update({
        "packets": ("ref", "size"),
        "first_t": ("t", "min"),
        "last_t": ("t", "max"),
        "first_time": ("time", "min"),
        "last_time": ("time", "max"),
        "first_ref": ("ref", "min"),
        "last_ref": ("ref", "max"),
        "source": ("source", "first"),
        "transport": ("transport", "first"),
        "tunnel": ("tunnel", "first"),
    })
    flows = g.agg(**agg)
    fid, at = w["fid"].to_numpy(), flows.index.to_numpy()
    for name, hit in counts.items():
        flows[name] = np.bincount(fid, weights=hit, minlength=int(at.max()) + 1)[at].astype(np.int64)
    order = [*FLOW_KEY, "packets", "n_in", "n_out", *(k for k in agg if k not in FLOW_KEY and k != "packets"),
             *(k for k in counts if k not in ("n_in", "n_out"))]
    flows = flows[order]
    # The last packet from the peer, and to it: the ones a reader needs to find.
    # Columns first, rows second: slicing the whole frame would copy every column's text.
    cols = w[["fid", "t", "time", "ref", "text"]]
    for side, mask in (("last_in_", inbound), ("last_out_", ~inbound)):
        pos = np.flatnonzero(mask)
        _fids, from_end = np.unique(fid[pos][::-1], return_index=True)  # each flow's last row
        last = cols.iloc[pos[len(pos) - 1 - from_end]].set_index("fid")
        flows = flows.join(last.add_prefix(side))
    flows = flows.reset_index()
    flows["peer"] = endpoints(flows["remote"], flows["rport"])
    flows["local_end"] = endpoints(flows["local"], flows["lport"])
    return flows


def index(wire: pd.DataFrame) -> dict[int, np.ndarray]:
    """fid → positions of its rows in ``wire`` (input order)."""
    if wire.empty:
        return {}
    return wire.groupby("fid", sort=False).indices
