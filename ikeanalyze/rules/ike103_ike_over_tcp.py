"""IKE over TCP: an IKE SA_INIT carried in an RFC 8229 TCP stream.

## What it detects
A TCP connection that carries IKE (RFC 8229): a stream that starts with the `IKETCP`
prefix, on any port (4500, 5500, 443, ...). In sniffer text, which has no payload, the
proof is that the client's first data segment is exactly 6 bytes long (the prefix); in
IKE debug, `accepts ike tcp-transport` or a `comes` to the TCP port. A port number alone
is never enough. A `diagnose vpn ike gateway list` that says `transport: TCP` (FortiOS
7.4+) confirms it, or tells it on its own when the paste has nothing else.

## Why it matters
IKE and ESP over TCP are how FortiClient (`transport udp-fallback-tcp` or `tcp`) and
other clients get through networks that block UDP. It is worth knowing that a tunnel
runs over TCP: it is slower under loss (TCP-in-TCP), and it usually means UDP failed.

## Evidence
The client's SYN, the 6-byte prefix segment (or the decoded `IKETCP` bytes), the first
framed IKE message, the debug lines that accepted the connection, and the gateway list's
`transport:` line.

## Fix
Nothing to fix if TCP is intended. If it is a fallback, find out why UDP 500/4500 does
not work for this client (see IKE102/IKE104), since UDP is the better transport.
"""

from __future__ import annotations

from collections.abc import Iterator

from ikeanalyze.analysis import snapshots
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, Moment, clock_text
from ikeanalyze.endpoints import endpoint
from ikeanalyze.rules.base import finding
from ikeanalyze.rules.registry import NoThresholds, rule


@rule("IKE103", "ike-over-tcp", severity="info")
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    confirmed: set[str] = set()
    for c in ctx.tcp_ike:
        at = ""
        if c.first_time is not None or c.first_t is not None:
            unit = ctx.unit(c.source)
            at = f" at {clock_text(c.first_time, c.first_t, stamp=c.first_stamp)}"
            at += f" ({unit} {c.syn_ref})" if c.syn_ref else ""
        size = f", {c.sa_init_length}-byte SA_INIT" if c.sa_init_length else ""
        spi = f" (initiator SPI {c.sa_init_spi})" if c.sa_init_spi else ""
        how = "; ".join(dict.fromkeys(c.how))
        client, server = endpoint(c.client, c.cport), endpoint(c.server, c.sport)
        msg = (f"IKE over TCP (RFC 8229) from {client} to {server}{at}{size}{spi}; "
               f"evidence: {how}.")
        state = snapshots.transport_note(ctx, c.client, c.sa_init_spi)
        confirmed.add(state.tunnel if state else "")
        msg += f" {state.text}" if state else ""
        timeline = []
        if c.first_time is not None or c.first_t is not None:
            timeline.append(Moment(c.first_time, c.first_t,
                                   f"TCP connection from {client} to {server} "
                                   f"starts IKE over TCP", c.source, c.syn_ref, c.first_stamp))
        yield finding(
            "IKE103", msg, start=c.first_time, t_start=c.first_t, stamp_start=c.first_stamp, peer=c.peer,
            evidence=list(c.evidence) + (state.evidence if state else []), timeline=timeline,
            facts={"client": client, "server": server, "how": list(c.how),
                   **(state.facts if state else {})},
        )
    yield from _from_gateway_lists(ctx, confirmed)


def _from_gateway_lists(ctx: Context, confirmed: set[str]) -> Iterator[Finding]:
    """Tunnels only a gateway list shows running over TCP (no packets, no debug of them)."""
    for st in snapshots.tcp_tunnels(ctx):
        if st.name in confirmed:
            continue
        line = st.gateway.evidence("transport")
        local, remote = st.gateway.facts.get("local"), st.remote
        between = f" between {local} and {remote}" if local and remote else ""
        where = f" ({line[0].source} line {line[0].ref})" if line else ""
        msg = f"Tunnel {st.name}{between} runs IKE over TCP: its gateway list says `transport: {st.transport}`{where}."
        yield finding("IKE103", msg, start=st.gateway.time, t_start=st.gateway.t, tunnel=st.name, peer=remote,
                      evidence=[st.gateway.header] + line,
                      facts={"gateway": st.name, "gateway_transport": st.transport, "server": local,
                             "client": remote})
