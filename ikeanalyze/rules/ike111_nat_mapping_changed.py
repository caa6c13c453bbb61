"""NAT mapping changed: the peer now arrives from a new address or port, and replies still go to the old one.

## What it detects
An IKE SA whose peer's messages start arriving from a new address:port (its NAT device
mapped it anew: a NAT timeout, a new uplink, the float from UDP 500 to 4500 mapped to a
new public port) while this side keeps sending its messages for that SA to the old
address:port — at least `min_stale` of them after the change. A float that this side
follows (`remote port change A -> B`, replies going to the new port) is normal NAT-T
and is not reported.

## Why it matters
Every answer goes to a NAT mapping that no longer leads to the peer. The peer sees no
answers and retransmits, this side answers its retransmissions into the void, and the
negotiation (or the tunnel) times out although both ends are configured right and the
path works.

From packets (a capture or sniffer text, which show ESP and keepalives too): a UDP 4500
flow whose peer went silent while this side kept sending to it (at least
`min_packets`), and, from the same peer address to the same local address and port, a
flow that starts after that silence began, brings at least `min_arrivals` packets, and to
which this side sends nothing; where both flows name SPIs (ESP, IKE), they share one (two
clients behind one NAT address are two such flows). Without it, the old flow alone reads as a dead path
(IKE102), which it is not: the peer is still there, at a port this side does not use.

## Evidence
The last message from the old address:port, the first from the new one, and the
messages sent to the old one afterwards.

## Fix
Make the NAT device in front of the peer keep one mapping for IKE: a longer UDP timeout,
no port randomisation for UDP 500/4500, or a static mapping. Make sure NAT-T keepalives
are on (`set keepalive` in the phase-1 settings) so the mapping does not expire. Upgrade
the gateway if it keeps replying to the first mapping after a NAT-T float (the IKEv1
Aggressive Mode case), and prefer IKEv2 for dial-up clients. When only ESP or keepalives
came from the new port (the finding from packets), the gateway has had no IKE message from
there to follow: an IKEv2 SA moves on the peer's next IKE message from the new port (RFC
7296 §2.23), so DPD (`set dpd on-idle` with a short `dpd-retryinterval`) on the side
behind the NAT ends the outage sooner.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ikeanalyze.analysis import sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.analysis.silence import stalls
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.endpoints import endpoints
from ikeanalyze.rules.base import evidence, finding, moment, tval, when
from ikeanalyze.rules.registry import rule


@dataclass(frozen=True)
class Thresholds:
    min_stale: int = 1  # messages sent to the old address:port after the peer moved
    min_packets: int = 3  # from packets: packets sent to the old address:port after the peer's last from it
    min_arrivals: int = 2  # from packets: packets from the new address:port


@rule("IKE111", "nat-mapping-changed", severity="warning", thresholds=Thresholds(),
      explains=("IKE304", "IKE210", "IKE105", "IKE106", "IKE102", "IKE101"))
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    yield from _from_messages(ctx, t)
    yield from _from_packets(ctx, t)


def _from_packets(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    """A stalled flow (silence.stalls) whose peer arrives, meanwhile, from another port to
    the same local end, and gets nothing there."""
    flows = ctx.packet_flows
    if flows.empty:
        return
    # Flows that could be a moved peer's new mapping: nothing sent there, enough arrived;
    # grouped once by what they share with the old flow (no table scan per stall).
    landed = flows[(flows["n_out"] == 0).to_numpy() & (flows["n_in"] >= t.min_arrivals).to_numpy()]
    if landed.empty:
        return
    beside = landed.groupby(list(_MOVED_KEY), sort=False).indices
    for s in stalls(ctx, 0.0, t.min_packets):
        old = s.flow
        if old["transport"] != "udp4500":
            continue  # a new port on UDP 500 is a new negotiation (a new client), not a moved one
        same = landed.iloc[beside.get(tuple(old[k] for k in _MOVED_KEY), [])]
        same = same[(same["fid"] != old.name).to_numpy()]
        if same.empty:
            continue
        t_last_in, t_last_out = tval(s.last_in.t), tval(s.last_out.t)
        old_spis = _spis(ctx, ctx.packets(old.name))
        for _, new in same.iterrows():
            arrived = ctx.packets(new)
            # Two clients behind one NAT address are two flows too: a moved peer keeps its
            # SAs, so where both name SPIs they must share one.
            new_spis = _spis(ctx, arrived)
            if old_spis and new_spis and not old_spis & new_spis:
                continue
            first_new = arrived.iloc[0]
            t_new = tval(first_new.t)
            # It came after the old port went quiet and while this side still sent there.
            if None in (t_last_in, t_last_out, t_new) or not t_last_in <= t_new <= t_last_out:
                continue
            remote = old["remote"]
            msg = (f"{remote} moved from {old['peer']} to {new['peer']}: its last packet from {old['peer']} was at "
                   f"{when(s.last_in)}, then {counted(len(arrived), 'packet')} came from {new['peer']} ({when(first_new)} to "
                   f"{when(arrived.iloc[-1])}), but {old['local_end']} kept sending to {old['peer']}: "
                   f"{counted(s.unanswered, 'packet')} ({when(s.first_out)} to {when(s.last_out)}) went to the old NAT mapping and none to "
                   f"the new one.")
            yield finding(
                "IKE111", msg,
                between=(first_new, s.last_out), peer=new["peer"],
                tunnel=str(old["tunnel"]) if isinstance(old["tunnel"], str) else None,
                evidence=[evidence(s.last_in), evidence(first_new), evidence(s.first_out), evidence(s.last_out)],
                timeline=[moment(first_new, f"peer {remote} now arrives from {new['peer']}; "
                                            f"packets still go to {old['peer']}")],
                facts={"old": old["peer"], "new": new["peer"], "stale_sends": int(s.unanswered),
                       "arrivals_from_new": int(len(arrived)), "from": "packets"},
            )
            break


# What a moved peer's old and new flows share: the input, both local and remote addresses,
# the local port and the transport (only the peer's port changed with its NAT mapping).
_MOVED_KEY = ("source", "remote", "local", "lport", "transport")


def _spis(ctx: Context, rows: pd.DataFrame) -> set[str]:
    """The SPIs the peer's packets of a flow (wire rows) name: its ESP SPIs and IKE SA
    initiator SPIs (the wire rows keep the events' index)."""
    inbound = rows[rows["in"].to_numpy().astype(bool)]
    esp = ctx.events.loc[inbound.index, "esp_spi"].dropna()
    return {f"esp:{x}" for x in esp} | {f"ike:{x}" for x in inbound["ispi"].dropna()}


def _from_messages(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    msgs = sas.of(ctx)
    if msgs.empty:
        return
    ends = endpoints(msgs["remote"], msgs["rport"])
    msgs = msgs.assign(_end=ends.to_numpy())
    # Only SAs whose peer arrived from two or more address:ports can have moved: pick them
    # over the whole table before slicing out any SA.
    arrived = msgs["_end"].where(msgs["in"].to_numpy().astype(bool))
    ends_in = arrived.groupby([msgs["source"], msgs["ispi"]], sort=False).transform("nunique")
    msgs = msgs[ends_in.to_numpy() >= 2]
    if msgs.empty:
        return
    # One SA at a time on numpy columns; pandas rows are taken only for a finding.
    group = msgs.groupby(["source", "ispi"], sort=False).ngroup().to_numpy()
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(group.max() + 2))
    is_in = msgs["in"].to_numpy().astype(bool)
    # Before and after by place in the input (sas `order`), not by `ref`: in a capture out of
    # time order (mergecap -a, the outbound capture first) the answers sent to the old port
    # have lower frame numbers than the request from the new one they follow.
    end_all, place_all, ispi_all = msgs["_end"].to_numpy(), msgs["order"].to_numpy().astype("int64"), msgs["ispi"].to_numpy()
    for g in range(group.max() + 1):
        pos = order[bounds[g]:bounds[g + 1]]
        in_pos, out_pos = pos[is_in[pos]], pos[~is_in[pos]]
        seen = end_all[in_pos]
        if len(set(seen)) < 2:
            continue
        ispi = ispi_all[pos[0]]
        in_place = place_all[in_pos]
        out_place = place_all[out_pos]
        out_end = end_all[out_pos]
        # Per address:port, where it occurs (ascending): each move below is then a few
        # binary searches, not a scan of the SA (a long log repeats the same SA many times).
        in_at = _positions(seen)
        out_at = _positions(out_end)
        for i in np.flatnonzero(seen[1:] != seen[:-1]) + 1:
            old, new = seen[i - 1], seen[i]
            moved_at = int(in_place[i])
            # Until the peer comes back from the old address:port, sending there is stale.
            back = in_at[old][np.searchsorted(in_at[old], i):]
            until = int(in_place[back[0]]) if len(back) else None
            stale_pos = _sent_between(out_at.get(old), out_place, moved_at, until)
            if len(stale_pos) < t.min_stale or len(_sent_between(out_at.get(new), out_place, moved_at, until)):
                continue
            rows = msgs.iloc[pos]  # the SA's rows: taken only for a finding
            moved = msgs.iloc[in_pos[i]]
            stale = msgs.iloc[out_pos[stale_pos]]
            last_old = msgs.iloc[in_pos[i - 1]]
            later_in = _arrivals(ctx, moved, new, until)
            msg = (f"{rows.iloc[0]['remote']} (IKE SA {ispi}) moved from {old} to {new} at {sas.where(moved)}, but "
                   f"{sas.endpoint(stale.iloc[0], 'local')} kept sending to {old}: {counted(len(stale), 'message')} "
                   f"({sas.where(stale.iloc[0])} to {sas.where(stale.iloc[-1])}) went to the old NAT mapping while "
                   f"{counted(len(later_in), 'message')} arrived from {new}.")
            tunnel = rows["tunnel"].dropna()
            yield finding(
                "IKE111", msg,
                between=(moved, stale.iloc[-1]), tunnel=str(tunnel.iloc[0]) if len(tunnel) else None, peer=new,
                evidence=[evidence(last_old), evidence(moved), evidence(stale.iloc[0])]
                + ([evidence(stale.iloc[-1])] if len(stale) > 1 else []),
                timeline=[moment(moved, f"peer {rows.iloc[0]['remote']} now arrives from {new}; replies still go to {old}")],
                facts={"ispi": str(ispi), "old": old, "new": new, "stale_sends": int(len(stale)),
                       "arrivals_from_new": int(len(later_in))},
            )
            break


def _positions(values: np.ndarray) -> dict[str, np.ndarray]:
    """value -> the ascending positions where it occurs."""
    codes, uniques = pd.factorize(values)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {u: order[bounds[k]:bounds[k + 1]] for k, u in enumerate(uniques)}


def _sent_between(pos: np.ndarray | None, places: np.ndarray, after: int, until: int | None) -> np.ndarray:
    """Those of ``pos`` whose place (``places``: sas order, ascending: the message table is
    sorted by it) is after ``after`` (and before ``until``): a slice."""
    if pos is None:
        return np.empty(0, dtype=np.int64)
    r = places[pos]
    lo = np.searchsorted(r, after, side="right")
    hi = len(r) if until is None else np.searchsorted(r, until, side="left")
    return pos[lo:max(lo, hi)]


def _arrivals(ctx: Context, moved, new: str, until: int | None):
    """Every IKE packet from the new address:port after the move, SPIs printed or not
    (an IKEv1 debug logs a re-sent first message as a bare `comes` line). After the move
    and before ``until`` by place in ctx.events, as sas ``order`` counts (see _from_messages)."""
    w = ctx.wire
    ends = endpoints(w["remote"], w["rport"])
    m = (w["source"] == moved["source"]).to_numpy() & w["in"].to_numpy() & (ends == new).to_numpy()
    got = w[m & w["kind"].isin(["ike", "ike-received"]).to_numpy()]
    at = sas.order(ctx.events, got)
    keep = at >= int(moved["order"])
    if until is not None:
        keep &= at < until
    return got[keep]
