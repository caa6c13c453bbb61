"""Traffic selectors do not match: the peers disagree on which networks the tunnel carries.

## What it detects
A CHILD SA (phase 2) refused on its traffic selectors: the responder's `failed to match
peer selectors` / `traffic selectors unacceptable`, the initiator's `processing notify
type TS_UNACCEPTABLE`, or a decoded IKE_AUTH / CREATE_CHILD_SA response carrying
TS_UNACCEPTABLE. The peer's proposed selectors (`TSi_0 0:20.0.0.0-20.255.255.255:0`) and
this side's, when the debug prints them, are quoted side by side.

## Why it matters
The IKE SA often comes up (`established IKE SA` even appears after TS_UNACCEPTABLE), so
the tunnel looks half up, but no ESP SA exists for that traffic and nothing passes.

## Evidence
The peer's `TSi`/`TSr` lines, this side's accepted or configured selectors when printed,
the failure line, and `established IKE SA` when the IKE SA survived.

## Fix
Make the phase-2 selectors mirror each other: local subnet on one side = remote subnet on
the other (`config vpn ipsec phase2-interface` → `set src-subnet` / `set dst-subnet`, or
address groups with `set src-addr-type name`). Compare with `diagnose vpn tunnel list name
<phase1>` on both ends; a peer that proposes 0.0.0.0/0 needs a phase 2 that accepts it.
"""

from __future__ import annotations

from collections.abc import Iterator

from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis import sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import NoThresholds, rule


def _sel(block) -> str:
    if block is None:
        return ""
    return "; ".join(f"{side} {', '.join(v)}" for side, v in block.selectors.items())


@rule("IKE203", "ts-mismatch", severity="error",
      explains=("IKE210", "IKE304", "IKE302"))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    for f in ng.selector_failures(ctx.events):
        first, last = f.rows[0], f.rows[-1]
        fail = next((r for r in f.rows if r.kind in ("negotiation-failed", "notify")), last)
        gw = f" on gateway {f.tunnel}" if f.tunnel else ""
        peer = f.peer or "the peer"
        mine = _sel(f.local_block) or ", ".join(ng.local_selectors(ctx.events, f.source, f.tunnel))
        theirs = _sel(f.peer_block)
        if theirs:
            msg = (f"Phase-2 traffic selectors{gw} do not match ({f.how} at {sas.where(ng._as_row(fail))}): "
                   f"{peer} proposed {theirs}; "
                   + (f"this side has {mine}." if mine else
                      "no local phase 2 accepts them (this side's selectors are not printed)."))
        else:
            msg = (f"{peer} rejected this side's phase-2 traffic selectors{gw} ({f.how} at "
                   f"{sas.where(ng._as_row(fail))})"
                   + (f"; this side proposed {mine}." if mine else
                      "; the selectors proposed are not in this log (the peer's debug shows what it expected)."))
        if any("established IKE SA" in str(r.text) for r in f.rows):
            msg += " The IKE SA itself was established, so the tunnel looks up but carries no traffic."
        yield finding(
            "IKE203", msg,
            between=(first, last),
            tunnel=f.tunnel, peer=f.peer, evidence=[evidence(r) for r in f.rows],
            timeline=[moment(fail, f"traffic selectors refused{gw}")],
            facts={"peer_selectors": f.peer_block.selectors if f.peer_block else None,
                   "local_selectors": mine or None},
        )
