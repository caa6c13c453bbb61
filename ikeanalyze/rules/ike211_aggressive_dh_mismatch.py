"""Aggressive mode: the initiator's KE payload is for another DH group than its proposal.

## What it detects
An IKEv1 Aggressive Mode first message (decoded from the debug's `in`/`out` hex dump or a
capture) whose Key Exchange payload length does not fit the Diffie-Hellman group of any
proposal in its own SA payload (a 1536-bit MODP value is 192 bytes, 2048-bit 256 bytes,
...). In aggressive mode the KE is sent before a proposal is chosen, so its group must be
the one every proposal names. Also when the KE fits one of several groups offered, this
side's debug shows it chose a proposal of another group (`negotiation result`), and then
`compute DH shared secret request queued` again and again: the DH computation is stuck
(Fortinet KB 189924).

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

import numpy as np

from ikeanalyze.analysis import linesearch, sas
from ikeanalyze.analysis import negotiations as ng
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
    stuck: dict[str, np.ndarray] | None = None
    for r in agg.itertuples():
        m = re.search(HEX, str(r.text))
        if not m:
            continue
        size = ng.ke_length(m.group(1))
        groups = ng.offered_groups(r.proposals)
        sizes = {ng.DH_SIZES[g] for g in groups if g in ng.DH_SIZES}
        if size is None or not sizes:
            continue
        fits = [g for g, s in ng.DH_SIZES.items() if s == size]
        if size in sizes and len(sizes) > 1:
            if stuck is None:  # one search of the debug, on the first candidate (most logs have none)
                stuck = _stuck_refs(ctx)
            chosen = _chosen_group(ev, r, stuck)
        else:
            chosen = None
        if size in sizes and (chosen is None or ng.DH_SIZES.get(chosen[0]) == size):
            continue  # the KE fits the group the responder chose (or the only one offered)
        peer = ng.peer_text(r) if str(r.origin) != ng.DEBUG else ng._peer_above(ng.debug_rows(ev), str(r.source), int(r.ref), None)
        msg = (f"Aggressive mode message from {peer or 'the initiator'} carries a {size}-byte KE payload "
               f"({'/'.join(fits) or 'no known group'}) while its proposals offer {'/'.join(groups)} "
               f"({sas.where(ng._as_row(r))})")
        evidence_rows = [r]
        if chosen is None:
            msg += ": the key exchange cannot match the chosen proposal."
        else:
            msg += (f", and this side chose a {chosen[0]} proposal ({sas.where(ng._as_row(chosen[1]))}): its DH computation "
                    f"cannot use the initiator's {'/'.join(fits)} key, and the debug shows it stuck (`{STUCK_DH}` "
                    "again and again). Aggressive mode sends the KE before a proposal is chosen, so every proposal "
                    "must name the KE's group.")
            evidence_rows.append(chosen[1])
        yield finding(
            "IKE211", msg, between=(r, r),
            tunnel=None if str(r.tunnel) in ("None", "<NA>") else str(r.tunnel), peer=peer,
            evidence=[evidence(x) for x in evidence_rows],
            timeline=[moment(r, "aggressive-mode KE for another DH group")],
            facts={"ke_bytes": size, "offered": groups, "chosen": chosen[0] if chosen else None},
        )


STUCK_DH = linesearch.text_search("compute DH shared secret request queued")  # FortiOS retrying a DH it cannot finish
STUCK_MIN = 3


def _stuck_refs(ctx: Context) -> dict[str, np.ndarray]:
    """source -> the line numbers (ascending) of its STUCK_DH lines."""
    lines = ng.light(ctx.events)
    hit = ng.light_text(ctx.events).search(STUCK_DH)
    if not hit.any():
        return {}
    found = lines[hit]
    return {str(src): np.sort(g["ref"].to_numpy(np.int64)) for src, g in found.groupby("source", sort=False)}


def _chosen_group(ev, r, stuck: dict[str, np.ndarray]) -> tuple[str, object] | None:
    """The DH group of the proposal this side chose for the SA of ``r`` (the debug's
    `negotiation result` block), as DH_SIZES names it, with its line, when the debug then
    shows the DH computation stuck (STUCK_DH again and again within 200 lines: the known
    issue of a KE for one offered group and a proposal chosen for another); None otherwise."""
    refs = stuck.get(str(r.source))
    if refs is None or np.searchsorted(refs, int(r.ref) + 200, side="right") - np.searchsorted(
            refs, int(r.ref), side="right") < STUCK_MIN:
        return None
    mine = ev[(ev["source"] == r.source).to_numpy() & (ev["ispi"] == r.ispi).fillna(False).to_numpy()
              & (ev["ref"] > r.ref).to_numpy() & (ev["ref"] <= r.ref + 200).to_numpy()]
    after = False
    for x in mine.itertuples():
        line = str(x.text)
        if "negotiation result" in line:
            after = True
        elif after and (m := re.search(r"type=OAKLEY_GROUP, val=([A-Z]+)_?(\d+)", line)):
            name = f"{m.group(1)}_{m.group(2)}"
            return (name, x) if name in ng.DH_SIZES else None
    return None
