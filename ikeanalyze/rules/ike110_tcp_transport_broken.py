"""TCP transport broken: a TCP connection to the IKE-over-TCP port is reset, or is not RFC 8229.

## What it detects
A TCP connection to a port that carries IKE over TCP (an `ike-tcp-port` given with
`--ike-tcp-port`, or one this input shows carrying an `IKETCP` stream) that is reset
before the server sent any data (`rst` answering the SYN or the client's first
segments), or a capture of a connection to such a port whose bytes do not follow RFC
8229 (no `IKETCP` prefix, a broken length framing).

## Why it matters
IKE over TCP is what FortiClient falls back to when UDP is blocked; when TCP fails too,
the client cannot connect at all. A reset answering the SYN means nothing listens on that
port (the gateway's `ike-tcp-port` differs from the client's, or TCP transport is not
enabled on the phase 1); a reset later, or a stream without IKETCP framing, means a
middlebox (a proxy, TLS inspection, an IPS) or another service owns the port.

## Evidence
The client's SYN, the reset (which side sent it and after how much of the stream), or
the first segment whose framing is wrong.

## Fix
Make the port match on both ends (`config system settings` / `set ike-tcp-port` on the
FortiGate, the same port in the FortiClient profile) and enable TCP transport on the
phase 1 (`set transport tcp` or `udp-fallback-tcp`). Make sure no other service (SSL VPN,
admin HTTPS) listens on that port and that no proxy or deep inspection sits in the path.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ikeanalyze.analysis import sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding
from ikeanalyze.endpoints import endpoint, host
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import NoThresholds, rule

FRAMING = "RFC 8229 framing:"  # sources/pcap.py marks a broken stream with this detail


@rule("IKE110", "tcp-transport-broken", severity="error", explains=("IKE105",))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    # TCP 4500 is IKE's own port; others count once the input (or --ike-tcp-port) shows IKE there.
    tcp = ctx.ike_tcp_port_packets
    if tcp.empty:
        return
    tcp = tcp.join(ctx.events.loc[tcp.index, ["detail"]])
    seen: dict[tuple, Finding] = {}
    for f, key in _connections(tcp, ctx.ike_tcp_server_ports):
        if key in seen:  # another connection of the same client to the same server: count it there
            kept = seen[key]
            kept.facts["connections"] += 1
            kept.evidence.extend(e for e in f.evidence if e not in kept.evidence)
            continue
        f.facts["connections"] = 1
        seen[key] = f
    for f in seen.values():
        if f.facts["connections"] > 1:
            f.message += f" {f.facts['connections']} connections from {host(f.facts['client'])} failed the same way."
        yield f


def _connections(tcp, ports):
    # Per connection by positions into whole-column arrays: only quoted rows become pandas rows.
    sid = tcp.groupby(["source", "local", "lport", "remote", "rport"], sort=False).ngroup()
    sid = sid.fillna(-1).to_numpy().astype(np.int64)
    ref = tcp["ref"].to_numpy()
    inbound = tcp["in"].to_numpy().astype(bool)
    flags = tcp["tcp_flags"].fillna("").astype(str)
    is_rst = flags.str.contains("rst").to_numpy()
    has_ack = flags.str.contains("ack").to_numpy()
    sends_data = flags.str.contains("psh").to_numpy() | (tcp["length"].fillna(0).astype(int) > 0).to_numpy()
    is_bad = tcp["detail"].fillna("").astype(str).str.startswith(FRAMING).to_numpy()
    for conn in range(int(sid.max()) + 1 if len(sid) else 0):
        pos = np.flatnonzero(sid == conn)
        pos = pos[np.argsort(ref[pos], kind="stable")]
        first = tcp.iloc[pos[0]]
        server_is_local = bool(first["lport"] in ports)
        from_server = ~inbound[pos] if server_is_local else inbound[pos]
        here, there = endpoint(first["local"], first["lport"]), endpoint(first["remote"], first["rport"])
        client, server = (there, here) if server_is_local else (here, there)
        peer = client if server_is_local else server
        bad = pos[is_bad[pos]]
        if len(bad):
            b = tcp.iloc[bad[0]]
            msg = (f"The TCP connection from {client} to {server} is not IKE over TCP: "
                   f"{str(b.detail)[len(FRAMING):].strip()} ({sas.where(b)}).")
            yield (_finding(first, b, msg, peer, {"client": client, "server": server, "reason": str(b.detail)}),
                   (host(client), server, "framing"))
            continue
        resets = np.flatnonzero(is_rst[pos])
        if not len(resets):
            continue
        at = int(resets[0])  # the first reset, as a position in the connection
        before = pos[ref[pos] < ref[pos[at]]]
        if (from_server[: len(before)] & sends_data[before]).any():
            continue  # the server talked: a reset after that is a close, not a broken transport
        r = tcp.iloc[pos[at]]
        by = "the server" if from_server[at] else "the client"
        syn_only = not has_ack[before].any()
        what = "answering the SYN: nothing listens on that port" if syn_only and by == "the server" else \
            "before the server sent any data"
        msg = f"The TCP connection from {client} to {server} (IKE over TCP) was reset by {by} {what} ({sas.where(r)})."
        yield (_finding(first, r, msg, peer, {"client": client, "server": server, "reset_by": by,
                                              "segments_before": int(len(before))}),
               (host(client), server, by))


def _finding(first, bad, msg: str, peer: str, facts: dict) -> Finding:
    return finding(
        "IKE110", msg,
        between=(first, bad),
        tunnel=str(first.tunnel) if isinstance(first.tunnel, str) and not pd.isna(first.tunnel) else None,
        peer=peer, evidence=[evidence(first)] + ([evidence(bad)] if int(bad.ref) != int(first.ref) else []),
        timeline=[moment(bad, f"IKE over TCP from {facts['client']} fails")],
        facts=facts,
    )
