"""Manual TCP fallback: UDP died and IKE over TCP came only after a gap — the user reconnected.

## What it detects
A peer whose UDP 500/4500 path stalled (it went silent while the gateway kept sending)
and which later starts a new IKE SA_INIT over TCP (RFC 8229) from the same address, at
least `min_gap` seconds after its last UDP packet.

## Why it matters
FortiClient's `udp-fallback-tcp` tries TCP only when a connection is being set up. An
established tunnel whose UDP path dies is not moved to TCP by itself: it stays "up" and
dead until DPD removes it or the user presses Connect again. The gap between the last UDP
packet and the TCP SYN is the outage the user lived through.

## Evidence
The peer's last UDP packet, the TCP SYN of the new connection, and the gap between them;
when the input holds the phase 1's configuration, its `set transport udp-fallback-tcp`
(7.6: `auto`).

## Fix
Fix the UDP path (see IKE102). To shorten the outage: enable DPD on the gateway and the
client so a dead UDP path is torn down quickly, and tell users that reconnecting is what
moves the tunnel to TCP. Where UDP is routinely blocked, set the FortiClient tunnel's
transport to TCP.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ikeanalyze.analysis import configured
from ikeanalyze.analysis.context import Context
from ikeanalyze.analysis.silence import stalls
from ikeanalyze.diagnosis import Finding, Moment, clock_text
from ikeanalyze.endpoints import endpoint
from ikeanalyze.rules.base import evidence, finding, human_duration, stamp, timeval, tval, when
from ikeanalyze.rules.registry import rule


@dataclass(frozen=True)
class Thresholds:
    min_gap: float = 20.0  # seconds between the last UDP packet and the TCP connection
    silence: float = 20.0  # seconds of one-way sending that make the UDP path dead
    min_packets: int = 1


@rule("IKE104", "manual-tcp-fallback", severity="warning", thresholds=Thresholds(), absence=True)
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    tcp = ctx.tcp_ike
    if not tcp:
        return
    for s in stalls(ctx, t.silence, t.min_packets):
        peer_ip = s.flow["remote"]
        last_t = tval(s.last_in.t)
        last_time = timeval(s.last_in.time)
        for c in tcp:
            if c.client != peer_ip or c.first_t is None or last_t is None:
                continue
            if c.source != s.last_in.source:
                if c.first_time is None or last_time is None:
                    continue
                gap = (c.first_time - last_time).total_seconds()
            else:
                gap = c.first_t - last_t
            if gap < t.min_gap:
                continue
            transport = "UDP 4500" if s.flow["transport"] == "udp4500" else "UDP 500"
            syn = clock_text(c.first_time, c.first_t, stamp=c.first_stamp)
            msg = (f"The {transport} path from {s.flow['peer']} died at {when(s.last_in)}; a new IKE SA_INIT "
                   f"over TCP {c.sport} from {endpoint(c.client, c.cport)} started only at {syn} ({ctx.unit(c.source)} {c.syn_ref}), "
                   f"{human_duration(gap)} later ({gap:.0f} s). The tunnel did not fail over to TCP by itself: "
                   f"the user reconnected by hand.")
            ev = [evidence(s.last_in)] + c.evidence[:2]
            tunnel = s.flow["tunnel"] if isinstance(s.flow["tunnel"], str) else None
            allowed = configured.fallback_transport(ctx, tunnel)
            if allowed:
                said = allowed.settings["transport"][1]
                msg += (f" The configuration allows the fallback (`{allowed.statement('transport')}` on phase 1 {allowed.name}, "
                        f"{said.source} line {said.ref}), which FortiClient uses only when it sets a connection up.")
                ev += allowed.evidence("transport")
            yield finding(
                "IKE104", msg, start=last_time, end=c.first_time, t_start=last_t, t_end=c.first_t,
                stamp_start=stamp(s.last_in), stamp_end=c.first_stamp,
                tunnel=tunnel, peer=s.flow["peer"],
                evidence=ev,
                timeline=[Moment(c.first_time, c.first_t,
                                 f"the user reconnected: new SA_INIT over TCP {c.sport}, {human_duration(gap)} "
                                 f"after the last UDP packet from the client", c.source, c.syn_ref, c.first_stamp)],
                facts={"gap_s": round(gap, 6), "udp_peer": s.flow["peer"], "tcp_client": c.peer,
                       "tcp_server": endpoint(c.server, c.sport)},
            )
            break
