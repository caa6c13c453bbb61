"""Traffic selectors do not match: the peers disagree on which networks the tunnel carries.

## What it detects
A CHILD SA (phase 2) refused on its traffic selectors: the responder's `failed to match
peer selectors` / `traffic selectors unacceptable`, the initiator's `processing notify
type TS_UNACCEPTABLE`, a decoded IKE_AUTH / CREATE_CHILD_SA response carrying
TS_UNACCEPTABLE, or an IKEv1 quick-mode responder's `no matching phase2 found` (after
`specified selectors mismatch` for each phase 2 it tried). The peer's proposed selectors
(`TSi_0 0:20.0.0.0-20.255.255.255:0`; IKEv1 `peer: type=7/7, local=..., remote=...`) and
this side's (IKEv1 `mine: ...`), when the debug prints them, are quoted side by side, with
the network that differs. An initiator's debug prints no selectors for a refused request:
they are decoded from the request's `enc` dump. Each phase 2 an IKE SA lost is named (its
serial in the debug context tells which lines are its own), in one finding per IKE SA.
A FortiGate event-log line stating the same cause (a reason of unmatched selectors or phase 2 (`no matching phase2 found`)) is told too, with the
log's numbers; beside a debug of the same peer or tunnel it is more evidence of that
finding, not a second one (rules/fromlog.py).

## Why it matters
The IKE SA often comes up (`established IKE SA` even appears after TS_UNACCEPTABLE), so
the tunnel looks half up, but no ESP SA exists for that traffic and nothing passes.

## Evidence
The peer's `TSi`/`TSr` (IKEv1 `peer:`) lines, this side's accepted or configured selectors
(IKEv1 `mine:`) when printed,
the failure line, and `established IKE SA` when the IKE SA survived; the phase 2's
configured selectors (`set src-subnet` / `set dst-subnet`, …) when the input holds its
configuration.

## Fix
Make the phase-2 selectors mirror each other: local subnet on one side = remote subnet on
the other (`config vpn ipsec phase2-interface` → `set src-subnet` / `set dst-subnet`, or
address groups with `set src-addr-type name`). Compare with `diagnose vpn tunnel list name
<phase1>` on both ends; a peer that proposes 0.0.0.0/0 needs a phase 2 that accepts it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from ikeanalyze.analysis import configured, sas
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.rules.base import evidence, finding, ispis, moment
from ikeanalyze.rules.registry import NoThresholds, rule


def _sel(block) -> str:
    if block is None:
        return ""
    return "; ".join(f"{side} {', '.join(v)}" for side, v in block.selectors.items())


def _v1(f) -> bool:
    """Selectors from the IKEv1 `peer:` / `mine:` lines (keyed local/remote)."""
    return f.peer_block is not None and set(f.peer_block.selectors) == {"local", "remote"}


def _differ(f) -> str:
    """Which of the pair differs: the peer's value against every phase 2 compared."""
    if f.local_block is None:
        return ""
    parts = [f"{key} network: peer {', '.join(theirs)} vs this side {', '.join(f.local_block.selectors.get(key, []))}"
             for key, theirs in f.peer_block.selectors.items()
             if not set(theirs) & set(f.local_block.selectors.get(key, []))]
    return f"; they differ in the {' and the '.join(parts)}" if parts else ""


@rule("IKE203", "ts-mismatch", severity="error",
      explains=("IKE210", "IKE304", "IKE302"))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    per_sa: dict[tuple, list[ng.Failure]] = {}
    for f in ng.selector_failures(ctx.events):
        key = (f.source, f.serial, f.tunnel, f.peer) if f.serial is not None else (id(f),)
        per_sa.setdefault(key, []).append(f)
    for fails in per_sa.values():
        yield _finding(ctx, fails)


def _finding(ctx: Context, fails: list[ng.Failure]) -> Finding:
    """One finding per IKE SA: each phase 2 it lost on selectors, in line order."""
    f0 = fails[0]
    gw = f" on gateway {f0.tunnel}" if f0.tunnel else ""
    mines = [_mine(ctx, f) for f in fails]  # each a search of the whole table: once per failure
    msg = _told(f0, gw, mines[0]) if len(fails) == 1 else _each(fails, gw, mines)
    rows = sorted({(int(r.ref), str(r.text)): r for f in fails for r in f.rows}.values(), key=lambda r: int(r.ref))
    serials = {int(r.serial) for r in rows if pd.notna(r.serial)}
    if any("established IKE SA" in str(r.text) for r in rows):
        up = _children_up(ctx.events, f0.source, serials)
        if up:
            names = ", ".join(dict.fromkeys(name for name, _ in up))
            msg += (f" The IKE SA itself was established and {counted(len(up), 'other phase 2')} of it came up ({names}; "
                    f"line {up[0][1]}): only the refused selectors carry no traffic.")
        else:
            msg += " The IKE SA itself was established, so the tunnel looks up but carries no traffic."
    # This side's selectors as configured, when the input holds its configuration.
    children = {f.child for f in fails if f.child}
    stated = configured.said(ctx.configured.refused_phase2s(f0.tunnel, children), configured.SELECTOR_KEYS)
    msg += f" {stated.text}" if stated else ""
    return finding(
        "IKE203", msg,
        between=(rows[0], rows[-1]),
        tunnel=f0.tunnel, peer=f0.peer, evidence=[evidence(r) for r in rows] + (stated.evidence if stated else []),
        timeline=[moment(r, f"traffic selectors refused{gw}" + (f" ({f.child})" if f.child else ""))
                  for f, r in zip(fails, map(_failed_at, fails))],
        facts={"peer_selectors": f0.peer_block.selectors if f0.peer_block else None,
               "local_selectors": mines[0] or None,
               "proposed": f0.proposed,
               "refused": [{"phase2": f.child, "peer_selectors": f.peer_block.selectors if f.peer_block else None,
                            "proposed": f.proposed} for f in fails],
               "ispis": ispis(fails)},
    )


def _failed_at(f: ng.Failure):
    """The failure's own line (the refusal), else its last evidence row."""
    return next((r for r in f.rows if r.kind in ("negotiation-failed", "notify")), f.rows[-1])


def _mine(ctx: Context, f: ng.Failure) -> str:
    """This side's selectors: its printed block, else what it printed for that IKE SA."""
    serials = {int(r.serial) for r in f.rows if pd.notna(r.serial)}
    return _sel(f.local_block) or ", ".join(ng.local_selectors(ctx.events, f.source, f.tunnel, serials))


def _each(fails: list[ng.Failure], gw: str, mines: list[str]) -> str:
    """Several phase 2s of one IKE SA refused: each one's selectors, then what this side has."""
    parts = []
    for k, f in enumerate(fails, 1):
        at = f"{f.how} at {sas.where(ng._as_row(_failed_at(f)))}"
        which = f"phase 2 {f.child}: " if f.child else ""
        if f.peer_block is not None:
            parts.append(f"({k}) {which}{f.peer or 'the peer'} proposed {_sel(f.peer_block)} ({at})")
        elif f.proposed:
            parts.append(f"({k}) {which}this side proposed {f.proposed} ({at})")
        else:
            parts.append(f"({k}) {which}refused ({at})")
    msg = f"{len(fails)} phase 2s{gw} were refused on their traffic selectors: " + "; ".join(parts) + "."
    mine = list(dict.fromkeys(m for f, m in zip(fails, mines) if f.peer_block is not None and m))
    if mine:
        msg += f" This side has {' / '.join(mine)}."
    if any(f.proposed for f in fails):
        msg += " This side's selectors are decoded from its requests; the peer's debug shows what it expected."
    return msg


def _told(f: ng.Failure, gw: str, mine: str) -> str:
    """What one refused phase 2 shows: who proposed which selectors, against what (``mine``)."""
    peer = f.peer or "the peer"
    which = f" for phase 2 {f.child}" if f.child else ""
    theirs = _sel(f.peer_block)
    at = f"{f.how} at {sas.where(ng._as_row(_failed_at(f)))}"
    if theirs:
        msg = f"Phase-2 traffic selectors{gw}{which} do not match ({at}): {peer} proposed {theirs}"
        if _v1(f):  # IKEv1 prints both pairs from this side's view (local = this side's network)
            return msg + (" (as seen from this side); "
                          + (f"this side's phase 2 has {mine}" if f.local_block is not None else "no local phase 2 is printed")
                          + _differ(f) + ".")
        return msg + "; " + (f"this side has {mine}." if mine else
                             "no local phase 2 accepts them (this side's selectors are not printed).")
    if f.proposed:
        return (f"{peer} rejected this side's phase-2 traffic selectors{gw}{which} ({at}): this side proposed "
                f"{f.proposed} (decoded from its request); the peer's debug shows what it expected.")
    return (f"{peer} rejected this side's phase-2 traffic selectors{gw}{which} ({at})"
            + (f"; this side proposed {mine}." if mine else
               "; the selectors proposed are not in this log (the peer's debug shows what it expected)."))


ADDED_CHILD = re.compile(r":([^:\s]+):\d+: added IPsec SA")


def _children_up(events, source: str, serials: set[int]) -> list[tuple[str, int]]:
    """The phase 2s installed under those IKE SA ``serials`` (`added IPsec SA`): name, line."""
    if not serials:
        return []
    ev = events[(events["source"] == source).to_numpy() & (events["kind"] == "sa-established").to_numpy()
                & events["serial"].isin(list(serials)).fillna(False).to_numpy()]
    out = []
    for r in ev.itertuples():
        m = ADDED_CHILD.search(str(r.text))
        if m:
            out.append((m.group(1), int(r.ref)))
    return out
