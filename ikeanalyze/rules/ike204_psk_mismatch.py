"""Pre-shared key mismatch: both ends reach IKE_AUTH, and the keys do not agree.

## What it detects
The FortiGate debug's `PSK auth failed: probable pre-shared key mismatch` (IKEv2), the
IKEv1 `probable pre-shared secret mismatch` (also as `Negotiate SA Error: ...`), and an
AUTHENTICATION_FAILED notify received for a negotiation whose authentication method is a
pre-shared key. One finding per peer, with how many attempts failed.

## Why it matters
Everything before authentication worked (reachability, NAT-T, proposals), so the tunnel
fails late and the peer's retransmissions and timeouts look like a network problem. The
peer keeps retrying with the same key until someone changes one of them.

## Evidence
The `PSK auth failed` / `authentication failed` lines, the peer identifier it presented,
and the failure count.

## Fix
Set the same key on both ends (`config vpn ipsec phase1-interface` → `edit <name>` → `set
psksecret <key>`); watch for trailing spaces, characters the peer's UI mangles, and a
dial-up peer that matched a different phase 1 than expected (check `peer identifier` /
`matched gateway` lines, or `set peerid` / `set localid`).
"""

from __future__ import annotations

from collections.abc import Iterator

from ikeanalyze.analysis import linesearch, sas
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import NoThresholds, rule

PSK_FAILED = linesearch.text_search(r"PSK auth failed|probable pre-shared (?:key|secret) mismatch")
AUTH_FAILED_NOTIFY = linesearch.text_search(r"notify type AUTHENTICATION_FAILED")
NOT_PSK = linesearch.text_search(r"(?i)certificate|EAP")
PEER_ID = linesearch.text_search(r"peer identifier")
USES_PSK = linesearch.text_search(r"PRESHARED_KEY|PSK|pre-shared")


@rule("IKE204", "psk-mismatch", severity="error",
      explains=("IKE210", "IKE304", "IKE303", "IKE302"))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    found = ng.hits(ctx.events, PSK_FAILED)
    for h in ng.hits(ctx.events, AUTH_FAILED_NOTIFY, kinds=("notify",)):
        # A peer's AUTHENTICATION_FAILED is a PSK mismatch only when PSK was the method.
        if any(len(n.lines(USES_PSK)) and not len(n.lines(NOT_PSK)) for n in h.negotiations):
            found.append(h)
    merged: dict[tuple, ng.Hit] = {}
    for h in found:
        key = (h.source, h.peer, h.tunnel)
        if key in merged:
            merged[key].rows.extend(r for r in h.rows if r not in merged[key].rows)
        else:
            merged[key] = h
    for h in merged.values():
        rows = sorted(h.rows, key=lambda r: int(r.ref))
        attempts = len(rows)
        ident = []
        for n in h.negotiations:
            ident += [r for r in n.lines(PEER_ID).itertuples()]
        first, last = rows[0], rows[-1]
        who = h.peer or "the peer"
        gw = f" on gateway {h.tunnel}" if h.tunnel else ""
        ids = f", presenting {ident[0].text.split('peer identifier', 1)[1].strip()}" if ident else ""
        msg = (f"Pre-shared key mismatch with {who}{gw}{ids}: IKE_AUTH failed PSK verification "
               f"{attempts} time(s), first at {sas.where(ng._as_row(first))}, last at "
               f"{sas.where(ng._as_row(last))}.")
        ev_rows = sorted({int(r.ref): r for r in [*ident[:1], *rows[:3], *rows[-1:]]}.values(), key=lambda r: int(r.ref))
        yield finding(
            "IKE204", msg,
            between=(first, last),
            tunnel=h.tunnel, peer=h.peer, evidence=[evidence(r) for r in ev_rows],
            timeline=[moment(first, f"PSK authentication of {who} failed")],
            facts={"attempts": attempts},
        )
