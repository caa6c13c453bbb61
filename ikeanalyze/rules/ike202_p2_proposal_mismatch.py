"""Phase-2 proposals do not match (including the PFS group): no CHILD SA.

## What it detects
A phase-2 (IKEv2 CHILD SA in IKE_AUTH or CREATE_CHILD_SA, IKEv1 Quick Mode) negotiation
refused on proposals: the debug's `no proposal chosen` after the `incoming child SA
proposal:` / `my proposal:` blocks with ESP/AH protocols, a NO_PROPOSAL_CHOSEN notify in
an IKE_AUTH or CREATE_CHILD_SA response, or a decoded response carrying it. The two
sides' transforms are compared type by type; a DH group on one side against `PFS is
disabled` on the other is named as a PFS mismatch.
A FortiGate event-log line stating the same cause (`reason="peer SA proposal not match local policy"` on a phase-2 line: `stage=2`, a phase-2 logid (37122, 37123, 37125, 37129, 37130), or a `logdesc`/`msg` saying phase 2) is told too, with the
log's numbers, and with the selectors the line carries (`srcaddr`/`dstaddr`) to compare with
the peer's; beside a debug of the same peer or tunnel it is more evidence of that
finding, not a second one (rules/fromlog.py).

## Why it matters
The IKE SA may be up while no traffic passes: the CHILD SA (the ESP SA that carries the
data) is never created, or a rekey fails and the tunnel drops when the old SA expires.

## Evidence
The peer's and the local proposal blocks, the transform lines that differ, the `no
proposal chosen` line; the phase 2's configured `set proposal`, `set pfs`, `set dhgrp` when
the input holds its configuration.

## Fix
Align `config vpn ipsec phase2-interface` on both ends: `set proposal`, and `set pfs`
with the same `set dhgrp` (or PFS off on both). With several phase-2 selectors, check the
phase-2 the peer actually matched (`diagnose vpn tunnel list name <phase1>`).
"""

from __future__ import annotations

from collections.abc import Iterator

from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.ike201_p1_proposal_mismatch import findings_for
from ikeanalyze.rules.registry import NoThresholds, rule


@rule("IKE202", "p2-proposal-mismatch", severity="error",
      explains=("IKE210", "IKE304", "IKE302"))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    yield from findings_for(ctx, "IKE202", 2, "phase-2")
