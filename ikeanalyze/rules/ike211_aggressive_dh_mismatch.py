"""Aggressive mode: the initiator's KE payload is for another DH group than its proposal.

## What it detects
An IKEv1 Aggressive Mode first message (decoded from the debug's `in`/`out` hex dump or a
capture) whose Key Exchange payload length does not fit the Diffie-Hellman group of any
proposal in its own SA payload (a 1536-bit MODP value is 192 bytes, 2048-bit 256 bytes,
...). In aggressive mode the KE is sent before a proposal is chosen, so its group must be
the one every proposal names.

## Why it matters
The responder computes the shared secret with the chosen proposal's group and the
initiator's KE: they cannot agree, and the negotiation fails with `no proposal chosen` or
an authentication error that hides the real cause.

## Evidence
The aggressive-mode message, its KE payload length and the groups its proposals offer.

## Fix
Configure a single DH group in the initiator's phase 1 (`set dhgrp <n>`), the same as the
responder's; aggressive mode cannot negotiate the group.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis import sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import NoThresholds, rule

HEX = r"(?:in|out) ([0-9A-Fa-f]+)\s*$"


@rule("IKE211", "aggressive-dh-mismatch", severity="error",
      explains=("IKE201", "IKE210", "IKE304"))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    ev = ctx.events
    agg = ev[(ev["exchange"] == "Aggressive").fillna(False).to_numpy() & ev["proposals"].notna().to_numpy()
             & (ev["rspi"] == "0000000000000000").fillna(False).to_numpy()]
    for r in agg.itertuples():
        m = re.search(HEX, str(r.text))
        if not m:
            continue
        size = ng.ke_length(m.group(1))
        groups = ng.offered_groups(r.proposals)
        sizes = {ng.DH_SIZES[g] for g in groups if g in ng.DH_SIZES}
        if size is None or not sizes or size in sizes:
            continue
        fits = [g for g, s in ng.DH_SIZES.items() if s == size]
        peer = ng.peer_text(r) if str(r.origin) != ng.DEBUG else ng._peer_above(ng.debug_rows(ev), str(r.source), int(r.ref), None)
        msg = (f"Aggressive mode message from {peer or 'the initiator'} carries a {size}-byte KE payload "
               f"({'/'.join(fits) or 'no known group'}) while its proposals offer {'/'.join(groups)} "
               f"({sas.where(ng._as_row(r))}): the key exchange cannot match the chosen proposal.")
        yield finding(
            "IKE211", msg, between=(r, r),
            tunnel=None if str(r.tunnel) in ("None", "<NA>") else str(r.tunnel), peer=peer,
            evidence=[evidence(r)], timeline=[moment(r, "aggressive-mode KE for another DH group")],
            facts={"ke_bytes": size, "offered": groups},
        )
