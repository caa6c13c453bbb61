"""Network unreachable: the device could not send IKE at all.

## What it detects
IKE debug lines `could not send IKE Packet(<type>):<local>-><peer>, …: error 101:Network
is unreachable` (or `No route to host`, `Host is unreachable`): the kernel refused to
send the message, so it never left the device. One finding per peer, with every attempt
that failed.

## Why it matters
No packet reached the wire, so the peer, the path and the proposals are not involved yet:
the device has no route to the remote gateway (or the route points at an interface that
is down). Every retransmission fails the same way until the negotiation times out, and
the tunnel never comes up.

## Evidence
The first and last failed send, how many failed, the message types (SA_INIT,
RETRANSMIT_SA_INIT, …), the local and remote addresses and the kernel error.

## Fix
Check the route to the remote gateway from the device (`get router info routing-table
details <peer>`, `execute ping-options source <local>` then `execute ping <peer>`), the
state of the outgoing interface and of any SD-WAN rule, and that the phase-1 `interface`
is the one with that route. With `set local-gw`, the address must belong to that
interface.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ikeanalyze.analysis import sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.endpoints import endpoint
from ikeanalyze.rules.base import evidence, finding, human_duration, moment, span
from ikeanalyze.rules.registry import rule

UNREACHABLE = r"(?i)network is unreachable|no route to host|host is unreachable"


@dataclass(frozen=True)
class Thresholds:
    min_failures: int = 1  # failed sends before it is reported


@rule("IKE109", "network-unreachable", severity="error", thresholds=Thresholds(),
      explains=("IKE105", "IKE210", "IKE304", "IKE301", "IKE302"))
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    ev = ctx.events
    detail = ev["detail"].fillna("").astype(str)
    hit = ev[(ev["kind"] == "error").fillna(False).to_numpy() & detail.str.contains(UNREACHABLE).to_numpy()]
    for (_source, dst), rows in hit.groupby(["source", "dst"], dropna=False, sort=False):
        if len(rows) < t.min_failures:
            continue
        first, last = rows.iloc[0], rows.iloc[-1]
        peer, local = endpoint(dst, first.dport), endpoint(first.src, first.sport)
        types = list(dict.fromkeys(str(x) for x in rows["exchange"].dropna()))
        took = span(first, last)
        over = f" over {human_duration(took)}" if took else ""
        error = str(first.detail)
        msg = (f"{local} could not send IKE to {peer}: {counted(len(rows), 'attempt')}"
               f"{' (' + ', '.join(types) + ')' if types else ''} failed with `{error}`{over} "
               f"({sas.where(first)} to {sas.where(last)}); no IKE packet left the device.")
        tunnel = rows["tunnel"].dropna()
        yield finding(
            "IKE109", msg,
            between=(first, last),
            tunnel=str(tunnel.iloc[0]) if len(tunnel) else None, peer=peer,
            evidence=[evidence(first)] + ([evidence(last)] if len(rows) > 1 else []),
            timeline=[moment(first, f"IKE to {peer} cannot be sent: {error}")],
            facts={"failures": len(rows), "types": types, "error": error, "local": local},
        )
