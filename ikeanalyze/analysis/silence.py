"""Stalls: a UDP 500/4500 flow whose peer went silent while the gateway kept sending.

Only flows from sources that see every packet count (captures, sniffer text): a debug
log never shows ESP, so the absence of `comes` lines proves nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pandas as pd

from ikeanalyze.analysis.context import Context

UDP_TRANSPORTS = ("udp500", "udp4500")


@dataclass
class Stall:
    flow: pd.Series
    last_in: object  # the peer's last packet (a row of ctx.wire)
    first_out: object  # the first unanswered packet
    last_out: object  # the last unanswered packet
    unanswered: pd.DataFrame  # outbound rows after last_in
    silence: float | None  # seconds from last_in to last_out

    @property
    def kinds(self) -> Counter:
        return Counter(self.unanswered["kind"].astype(object))


def stalls(ctx: Context, min_silence: float, min_packets: int) -> list[Stall]:
    """Flows whose peer sent at least once, then nothing while ≥ ``min_packets`` left for
    it over ≥ ``min_silence`` seconds (the silence is measured to the last of them)."""
    out: list[Stall] = []
    flows = ctx.packet_flows
    if flows.empty:
        return out
    udp = flows[flows["transport"].isin(UDP_TRANSPORTS).fillna(False) & (flows["n_in"] > 0)]
    for _, flow in udp.iterrows():
        rows = ctx.packets(flow)
        inbound = rows["in"].to_numpy()
        last_in_pos = max(i for i in range(len(rows)) if inbound[i])
        after = rows.iloc[last_in_pos + 1:]
        after = after[~after["in"].to_numpy()]
        if len(after) < min_packets:
            continue
        last_in = rows.iloc[last_in_pos]
        last_out = after.iloc[-1]
        silence = _seconds(last_in, last_out)
        if silence is None or silence < min_silence:
            continue
        out.append(Stall(flow, last_in, after.iloc[0], last_out, after, silence))
    return out


def _seconds(a, b) -> float | None:
    if pd.isna(a.t) or pd.isna(b.t):
        return None
    return float(b.t) - float(a.t)
