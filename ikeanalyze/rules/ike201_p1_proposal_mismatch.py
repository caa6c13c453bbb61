"""Phase-1 proposals do not match: the IKE SA is refused before anything else happens.

## What it detects
A phase-1 (IKEv2 IKE_SA_INIT, IKEv1 Main or Aggressive mode) negotiation that ends on
proposals: the FortiGate debug's `no proposal chosen` / `no SA proposal chosen` after the
`incoming proposal:` and `my proposal` blocks, a NO_PROPOSAL_CHOSEN notify the device
processed in answer to its own SA_INIT, or a decoded SA_INIT response carrying it
(capture, hex dump: its sides are the wire's, `--local` or the gateway inferred from the IKE
roles, so a refusal this side sent is of the peer's offer). When both sides' proposals are printed they are compared transform
type by transform type (encryption, integrity, PRF/hash, DH group, authentication
method) and the types with nothing in common are named.
A FortiGate event-log line stating the same cause (`reason="peer SA proposal not match local policy"` on a phase-1 line: `stage=1`, a phase-1 logid (37120, 37121, 37124, 37127, 37128), or a `logdesc`/`msg` saying phase 1; a line that says no phase counts as phase 1) is told too, with the
log's numbers; beside a debug of the same peer or tunnel it is more evidence of that
finding, not a second one (rules/fromlog.py).

## Why it matters
Nothing else can start until both ends agree on one proposal: no IKE SA, no tunnel. The
side that refuses usually logs nothing but `no proposal chosen`, so the mismatch has to
be read from the two proposal lists.

## Evidence
The peer's proposal block and the offending transform lines, the local proposal block,
the `no proposal chosen` line and the `Negotiate SA Error` after it; for a refused
initiator, the decoded SA payload it sent and the NO_PROPOSAL_CHOSEN it got back. When the
input holds the phase 1's configuration, its `set proposal`, `set dhgrp` (and `ike-version`,
`mode`, `authmethod`) statements are quoted.

## Fix
Make the phase-1 proposals share at least one combination on both ends (`config vpn
ipsec phase1-interface` → `set proposal`, `set dhgrp`; IKEv1 also `set authmethod`). Prefer
AES-GCM or AES-CBC with SHA-256 and DH 14 or higher; remove legacy DES/MD5 from the peer.
When only one side is in the log, run `diagnose debug application ike -1` on the other
end too (`diagnose vpn ike log filter rem-addr4 <peer>` first) to see its `my proposal`.
"""

from __future__ import annotations

from collections.abc import Iterator

from ikeanalyze.analysis import configured, sas
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import evidence, finding, ispis, moment
from ikeanalyze.rules.registry import NoThresholds, rule


def findings_for(ctx: Context, code: str, phase: int, phase_name: str) -> Iterator[Finding]:
    groups: dict[tuple, list[ng.Failure]] = {}
    for f in ng.proposal_failures(ctx.events):
        if (f.phase or 1) == phase:
            groups.setdefault((f.source, f.tunnel, f.peer), []).append(f)
    for fails in groups.values():
        f = ng.oriented(fails[0], ctx.wire)
        message = ng.proposal_message(f, phase_name)
        others = list(dict.fromkeys(m.text() for g in fails[1:] for m in g.mismatched
                                    if m not in f.mismatched))
        # Attempts that failed on the first one's mismatches: "this way" counts only those.
        alike = sum(1 for g in fails if not g.mismatched or all(m in g.mismatched for m in f.mismatched))
        children = list(dict.fromkeys(g.child for g in fails if g.child))
        if len(children) > 1:  # several phase 2s of one tunnel refused, not one retried
            message += (f" {len(fails)} phase 2s were refused: "
                        + ", ".join(f"{g.child or 'unnamed'} ({sas.where(ng._as_row(g.rows[-1]))})" for g in fails)
                        + (f"; later also {'; '.join(others)}." if others else "."))
        elif len(fails) > 1 and alike > 1:
            message += f" {alike} attempts failed this way" + (f"; later also {'; '.join(others)}." if others else ".")
        elif len(fails) > 1:
            message += f" {len(fails)} attempts failed" + (f"; later also {'; '.join(others)}." if others else ".")
        rows = [r for g in fails for r in g.rows]
        first, last = rows[0], rows[-1]
        # What this side was configured to offer, when the input holds its configuration.
        cfg = ctx.configured
        if phase == 1:
            stated = configured.said([cfg.phase1(f.tunnel)], configured.PHASE1_PROPOSAL)
        else:
            stated = configured.said(cfg.refused_phase2s(f.tunnel, children), configured.PHASE2_PROPOSAL)
        message += f" {stated.text}" if stated else ""
        yield finding(
            code, message,
            between=(first, last),
            tunnel=f.tunnel, peer=f.peer,
            evidence=[evidence(r) for r in rows] + (stated.evidence if stated else []),
            timeline=[moment(last, f"{phase_name} proposals refused" + (f" ({f.tunnel})" if f.tunnel else ""))],
            facts={"peer_proposals": f.peer_block.summary() if f.peer_block else None,
                   "local_proposals": f.local_block.summary() if f.local_block else None,
                   "mismatched": [m.type for m in f.mismatched],
                   "offered": f.offered, "attempts": len(fails), "ispis": ispis(fails)},
        )


@rule("IKE201", "p1-proposal-mismatch", severity="error",
      explains=("IKE210", "IKE304", "IKE105"))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    yield from findings_for(ctx, "IKE201", 1, "phase-1")
