"""One-way NAT keepalives: keepalives leave for a peer from which nothing arrives.

## What it detects
NAT-T keepalives (the 1-byte 0xFF datagram of RFC 3948 §2.3 on UDP 4500) that keep
leaving for a peer while nothing at all arrives from it: at least `min_keepalives` in a
row, spanning at least `min_silence` seconds since the peer's last packet. The peer's ESP
(IP protocol 50) to the same address counts as its packets when it was already arriving
as the keepalives began: without NAT on the peer's side only this side sends keepalives
(RFC 3948 §4), so keepalives going one way while its ESP still arrives are normal. A
reconnect after the silence (a new SA_INIT on UDP 500, ESP of a new SA) is no such sign.

## Why it matters
Keepalives exist to hold a NAT mapping open; they are never answered, so on their own
they prove nothing. When they are the only traffic left and the peer, which used to
send ESP or IKE, has gone quiet, the UDP path is broken in the peer-to-gateway direction
(or the peer is gone) while the gateway still believes the tunnel is up.

## Evidence
The peer's last packet, the first and the last unanswered keepalive, their count and the
time they span.

## Fix
Find what drops UDP 4500 from the peer: a firewall or NAT session that expired or was
cleared, UDP blocked upstream (hotel, carrier, captive portal). On the FortiGate, DPD
(`set dpd on-idle`, `set dpd-retryinterval`) tears such a tunnel down so it can be
rebuilt; with FortiClient and `transport udp-fallback-tcp`, the user must reconnect for
TCP (`ike-tcp-port`) to be tried.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ikeanalyze.analysis.context import Context
from ikeanalyze.analysis.silence import tails
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import evidence, finding, human_duration, moment, when
from ikeanalyze.rules.registry import rule

KEEPALIVE = ("nat-keepalive", "nat-keepalive-sent")


@dataclass(frozen=True)
class Thresholds:
    min_keepalives: int = 3  # unanswered keepalives in a row
    min_silence: float = 25.0  # seconds from the peer's last packet to the last keepalive


@rule("IKE101", "oneway-nat-keepalive", severity="warning", thresholds=Thresholds(), absence=True)
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    tail = tails(ctx)
    kas = tail[tail["kind"].isin(KEEPALIVE).to_numpy()]
    if kas.empty:
        return
    flows = ctx.packet_flows.set_index("fid")
    # Per flow by positions: only the rows a finding quotes become pandas rows.
    fids = kas["fid"].to_numpy()
    kt = kas["t"].to_numpy(dtype="float64", na_value=np.nan)
    last_in_pos = kas["last_in_pos"].to_numpy()
    wt = ctx.wire["t"].to_numpy(dtype="float64", na_value=np.nan)
    for fid in pd.unique(fids):
        rows = np.flatnonzero(fids == fid)
        if len(rows) < t.min_keepalives:
            continue
        t_in, t_first, t_last = wt[last_in_pos[rows[0]]], kt[rows[0]], kt[rows[-1]]
        if np.isnan(t_in) or np.isnan(t_last):
            continue
        silence = float(t_last - t_in)
        if silence < t.min_silence:
            continue
        flow = flows.loc[fid]
        last_in, first, last = ctx.wire.iloc[int(last_in_pos[rows[0]])], kas.iloc[rows[0]], kas.iloc[rows[-1]]
        sent_span = float(t_last - t_first)
        msg = (f"{flow['local_end']} sent {len(rows)} NAT keepalives to {flow['peer']} over "
               f"{human_duration(sent_span)} ({when(first)} to {when(last)}) while nothing at all arrived from it "
               f"(keepalives are never answered: what matters is that the peer's own traffic stopped); "
               f"last packet from the peer at {when(last_in)}.")
        yield finding(
            "IKE101", msg,
            between=(first, last),
            tunnel=flow["tunnel"] if isinstance(flow["tunnel"], str) else None, peer=flow["peer"],
            evidence=[evidence(last_in), evidence(first), evidence(last)],
            timeline=[moment(first, f"first NAT keepalive to {flow['peer']} since it went silent")],
            facts={"keepalives": len(rows), "span_s": round(sent_span, 6), "silence_s": round(silence, 6),
                   "last_in_ref": int(last_in.ref)},
        )
