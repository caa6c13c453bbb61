"""Invalid KE payload: the responder wants a different Diffie-Hellman group.

## What it detects
An INVALID_KE_PAYLOAD notify (RFC 7296 §3.10.1): in the FortiGate debug (`received` or
`processing notify type INVALID_KE_PAYLOAD`), or in a decoded IKE_SA_INIT /
CREATE_CHILD_SA response (capture, hex dump). The initiator's KE payload used a DH group
the responder accepts in its proposals but did not pick; the responder names the group it
wants. When the initiator then retries with another group and gets a normal answer, the
finding is only `info`.

## Why it matters
Each rejection costs a round trip and a new key computation; an initiator that cannot
switch groups never gets an IKE SA, and some implementations give up after one try.

## Evidence
The response with INVALID_KE_PAYLOAD and the request it answered, with the DH groups the
request offered.

## Fix
Put the same DH group first on both ends (`set dhgrp` in phase 1, and in phase 2 when PFS
is on), so the initiator's first KE payload is already acceptable.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from ikeanalyze.analysis import linesearch, sas
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.endpoints import endpoint, host
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import NoThresholds, rule

NOTIFY = linesearch.text_search("INVALID_KE_PAYLOAD")


def _groups(proposals: str | None) -> list[str]:
    if not proposals:
        return []
    return list(dict.fromkeys(w for w in str(proposals).replace("|", " ").split()
                              if w.startswith(("MODP", "ECP", "CURVE", "group"))))


@rule("IKE205", "invalid-ke", severity="warning", explains=("IKE304",))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    ev = ctx.events
    has = ev["notify"].fillna("").astype(str).str.contains(NOTIFY, regex=False).to_numpy()
    rows = ev[has & sas.once(ev)]  # a capture's copy of a frame is no second rejection
    by_peer: dict[tuple, list] = {}
    debug_peers: dict[tuple, tuple] | None = None  # (source, ref) of a debug notify -> (peer, tunnel)
    for r in rows.itertuples():
        if str(r.origin) == ng.DEBUG and r.kind != "notify":
            continue  # the decoded hex of the same message the `notify` line already names
        # On the wire the notify comes from the responder: it is the side that refused.
        peer = (endpoint(r.src, r.sport) if str(r.origin) != ng.DEBUG and r.src is not None and not pd.isna(r.src)
                and not pd.isna(r.sport) else None)
        if str(r.origin) == ng.DEBUG:
            if debug_peers is None:  # one search of the whole table (hits() groups per source)
                debug_peers = {(h.source, int(y.ref)): (h.peer, h.tunnel)
                               for h in ng.hits(ev, NOTIFY, kinds=("notify",)) for y in h.rows}
            peer, tunnel = debug_peers.get((str(r.source), int(r.ref)), (None, None))
        else:
            tunnel = r.tunnel if isinstance(r.tunnel, str) else None
        by_peer.setdefault((str(r.source), peer), []).append((r, tunnel))
    for (source, peer), found in by_peer.items():
        hits = [r for r, _ in found]
        tunnel = next((tun for _, tun in found if tun), None)
        # In time order: a capture merged from several files may not be.
        hits.sort(key=lambda h: (pd.isna(h.t), 0.0 if pd.isna(h.t) else float(h.t)))
        first, last = hits[0], hits[-1]
        ispis = list(dict.fromkeys(str(h.ispi) for h in hits if pd.notna(h.ispi)))  # in line order
        offers = (ng.wire_offer(ev, source, s) for s in ispis)
        offer = next((o for o in offers if o is not None), None)
        groups = _groups(offer.proposals if offer is not None else None)
        # Recovered: a later answer from the same responder without the notify (the debug
        # names a response by its exchange, `exchange=SA_INIT_RESPONSE`; the wire by its flag).
        # Later by place in the input, not by `ref`: a capture out of time order (files appended
        # out of turn) is read in time order with each frame keeping its number (sources.pcap).
        after = ev.iloc[ev.index.get_loc(last.Index) + 1:]
        exchange = after["exchange"]
        later = after[(after["source"] == source).to_numpy()
                   & ((exchange.isin(["SA_INIT", "IKE_SA_INIT"]) & after["response"].fillna(False).astype(bool))
                      | (exchange == "SA_INIT_RESPONSE")).fillna(False).to_numpy()
                   & ~after["notify"].fillna("").astype(str).str.contains(NOTIFY, regex=False).to_numpy()]
        if peer and len(later):
            ip = host(peer)
            later = later[((later["src"] == ip) | (later["dst"] == ip)).fillna(False).to_numpy()]
        recovered = len(later) > 0
        offered = f" (the request offered {'/'.join(groups)})" if groups else ""
        msg = (f"{peer or 'The responder'} rejected the initiator's DH group with INVALID_KE_PAYLOAD "
               f"{counted(len(hits), 'time')}{offered}, first at {sas.where(ng._as_row(first))}; "
               + ("the initiator retried with another group and got an answer."
                  if recovered else "no successful answer followed in this input."))
        f = finding(
            "IKE205", msg,
            between=(first, last),
            tunnel=tunnel, peer=peer, evidence=[evidence(r) for r in ng.evidence_rows([offer] if offer is not None else [], hits[:3])],
            timeline=[moment(first, "DH group rejected (INVALID_KE_PAYLOAD)")],
            facts={"rejections": len(hits), "offered_groups": groups, "recovered": recovered},
        )
        if recovered:
            f.severity = "info"
        yield f
