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

import pandas as pd

from ikeanalyze.analysis import sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import NoThresholds, rule
from ikeanalyze.wire.ports import IKE_NATT_PORT

FRAMING = "RFC 8229 framing:"  # sources/pcap.py marks a broken stream with this detail


@rule("IKE110", "tcp-transport-broken", severity="error", explains=("IKE105",))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    w = ctx.wire
    tcp = w[(w["proto"] == "tcp").fillna(False).to_numpy()]
    if tcp.empty:
        return
    # TCP 4500 is IKE's own port; others count once the input (or --ike-tcp-port) shows IKE there.
    ports = {IKE_NATT_PORT} | set(ctx.ike_tcp_ports) | {c.sport for c in ctx.tcp_ike}
    tcp = tcp.join(ctx.events.loc[tcp.index, ["detail"]])
    on_port = tcp["lport"].isin(list(ports)).fillna(False).to_numpy() | tcp["rport"].isin(list(ports)).fillna(False).to_numpy()
    seen: dict[tuple, Finding] = {}
    for f, key in _connections(tcp[on_port], ports):
        if key in seen:  # another connection of the same client to the same server: count it there
            kept = seen[key]
            kept.facts["connections"] += 1
            kept.evidence.extend(e for e in f.evidence if e not in kept.evidence)
            continue
        f.facts["connections"] = 1
        seen[key] = f
    for f in seen.values():
        if f.facts["connections"] > 1:
            f.message += f" {f.facts['connections']} connections from {f.facts['client'].rsplit(':', 1)[0]} failed the same way."
        yield f


def _connections(tcp, ports):
    for _key, rows in tcp.groupby(["source", "local", "lport", "remote", "rport"], sort=False):
        rows = rows.sort_values("ref")
        flags = rows["tcp_flags"].fillna("").astype(str)
        first = rows.iloc[0]  # one row object: each iloc builds a Series of every column
        server_is_local = bool(first["lport"] in ports)
        from_server = ~rows["in"].to_numpy().astype(bool) if server_is_local else rows["in"].to_numpy().astype(bool)
        here, there = f"{first['local']}:{int(first['lport'])}", f"{first['remote']}:{int(first['rport'])}"
        client, server = (there, here) if server_is_local else (here, there)
        peer = client if server_is_local else server
        bad = rows[rows["detail"].fillna("").astype(str).str.startswith(FRAMING).to_numpy()]
        if len(bad):
            b = bad.iloc[0]
            msg = (f"The TCP connection from {client} to {server} is not IKE over TCP: "
                   f"{str(b.detail)[len(FRAMING):].strip()} ({sas.where(b)}).")
            yield (_finding(first, b, msg, peer, {"client": client, "server": server, "reason": str(b.detail)}),
                   (client.rsplit(":", 1)[0], server, "framing"))
            continue
        rst = rows[flags.str.contains("rst").to_numpy()]
        if rst.empty:
            continue
        r = rst.iloc[0]
        before = rows[(rows["ref"] < int(r["ref"])).to_numpy()]
        b_flags = before["tcp_flags"].fillna("").astype(str)
        b_server = from_server[: len(before)]
        server_data = before[b_server & (b_flags.str.contains("psh").to_numpy()
                                         | (before["length"].fillna(0).astype(int) > 0).to_numpy())]
        if len(server_data):
            continue  # the server talked: a reset after that is a close, not a broken transport
        by = "the server" if from_server[rows.index.get_loc(r.name)] else "the client"
        syn_only = not (b_flags.str.contains("ack").any())
        what = "answering the SYN: nothing listens on that port" if syn_only and by == "the server" else \
            "before the server sent any data"
        msg = f"The TCP connection from {client} to {server} (IKE over TCP) was reset by {by} {what} ({sas.where(r)})."
        yield (_finding(first, r, msg, peer, {"client": client, "server": server, "reset_by": by,
                                                     "segments_before": int(len(before))}),
               (client.rsplit(":", 1)[0], server, by))


def _finding(first, bad, msg: str, peer: str, facts: dict) -> Finding:
    return finding(
        "IKE110", msg,
        between=(first, bad),
        tunnel=str(first.tunnel) if isinstance(first.tunnel, str) and not pd.isna(first.tunnel) else None,
        peer=peer, evidence=[evidence(first)] + ([evidence(bad)] if int(bad.ref) != int(first.ref) else []),
        timeline=[moment(bad, f"IKE over TCP from {facts['client']} fails")],
        facts=facts,
    )
