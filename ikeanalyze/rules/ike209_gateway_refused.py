"""The gateway refuses the SA: no firewall policy uses the tunnel, or it is in passive mode.

## What it detects
FortiGate debug lines where the device itself declines to negotiate: `ignoring IKEv2
request, no policy configured`, `ignoring request to establish IPsec SA, no policy
configured` (no firewall policy references the tunnel interface), and `ignoring request to
establish IPsec SA, gateway is in passive mode` (`set passive-mode enable`: it waits for the
peer and never initiates).

## Why it matters
No amount of network or proposal debugging helps: the FortiGate drops the peer's
SA_INIT (the peer sees only retransmissions and a timeout) or never starts the tunnel.

## Evidence
The `ignoring ...` lines with the gateway they name, the peer's `comes` lines they answer
and how many times the peer tried; for this side's own start, the peer its `IPsec SA
connect` lines name (a refusal whose connect line the paste cut off counts with them).

## Fix
No policy: add a firewall policy with the tunnel interface as incoming or outgoing
interface (`config firewall policy`), even for a dial-up tunnel. Passive mode: `set
passive-mode disable` on this phase 1, or let the peer initiate (the tunnel comes up when
the peer sends traffic).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from ikeanalyze.analysis import configured, linesearch, sas
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.rules.base import evidence, finding, ispis, moment
from ikeanalyze.rules.registry import NoThresholds, rule

REFUSED = linesearch.text_search(r"ignoring (?:IKEv[12] request|request to establish IPsec SA), (?:no policy configured|gateway is in passive mode)")


# Each refusal's own step: the Fix section names both, a finding needs only its cause's.
FIXES = {
    "passive": ("`set passive-mode disable` on this phase 1 (`config vpn ipsec phase1-interface`), or let the peer "
                "initiate: the tunnel comes up when the peer sends traffic."),
    "no-policy": ("Add a firewall policy with the tunnel interface as incoming or outgoing interface (`config "
                  "firewall policy`), even for a dial-up tunnel."),
}


# The tunnel's own start (`IPsec SA connect` from traffic or auto-negotiate), refused on this side.
OWN_START = "ignoring request to establish IPsec SA"


def _kind(row) -> str:
    """Which refusal a line is: passive mode, this side's own start without a policy, or
    the peer's request without one (each is its own finding, with its own words and fix)."""
    text = str(row.text)
    return "passive" if "passive mode" in text else "own" if OWN_START in text else "peer"


def _by_kind(hits: list[ng.Hit]) -> list[ng.Hit]:
    """Each hit split by the kind of refusal its lines are (:func:`_kind`)."""
    out = []
    for h in hits:
        kinds: dict[str, list] = {}
        for r in h.rows:
            kinds.setdefault(_kind(r), []).append(r)
        out.extend(dataclasses.replace(h, rows=rows) for rows in kinds.values())
    return out


def _folded(hits: list[ng.Hit]) -> list[ng.Hit]:
    """A refusal that names no peer (a paste that starts after its `IPsec SA connect` line)
    joins the refusals of its gateway, of the same kind, when those name one peer."""
    groups: dict[tuple, list[ng.Hit]] = {}
    for h in hits:
        groups.setdefault((h.source, h.tunnel, _kind(h.rows[0])), []).append(h)
    out = []
    for group in groups.values():
        named = [h for h in group if h.peer]
        if len(named) == 1 and len(group) > 1 and group[0].tunnel:
            rows = sorted((r for h in group for r in h.rows), key=lambda r: int(r.ref))
            out.append(dataclasses.replace(named[0], rows=rows,
                                           negotiations=[n for h in group for n in h.negotiations]))
        else:
            out.extend(group)
    return sorted(out, key=lambda h: int(h.rows[0].ref))


@rule("IKE209", "gateway-refused", severity="error",
      explains=("IKE210", "IKE304", "IKE105"))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    for h in _folded(_by_kind(ng.hits(ctx.events, REFUSED))):
        first, last = h.rows[0], h.rows[-1]
        kind = _kind(first)
        passive = kind == "passive"
        gw = f"gateway {h.tunnel}" if h.tunnel else "the gateway"
        told = configured.states(ctx, h.tunnel, "passive-mode", "enable") if passive else None
        if passive:
            msg = (f"{gw[0].upper() + gw[1:]} is in passive mode: it refused to start the IPsec SA"
                   + (f" towards {h.peer}" if h.peer else "")
                   + f" {counted(len(h.rows), 'time')} ({sas.where(ng._as_row(first))}"
                   + (f" to {sas.where(ng._as_row(last))}" if len(h.rows) > 1 else "")
                   + ") and waits for the peer to initiate.")
            if told:
                line = told.settings["passive-mode"][1]
                msg += f" Its configuration says so: `{told.statement('passive-mode')}` ({line.source} line {line.ref})."
        elif kind == "own":  # its own `IPsec SA connect`, not the peer's request
            msg = (f"No firewall policy uses {gw}: the FortiGate refused to start the IPsec SA"
                   + (f" towards {h.peer}" if h.peer else "")
                   + f" {counted(len(h.rows), 'time')} (`{str(first.text).split(': ', 1)[-1].strip()}`, "
                   f"{sas.where(ng._as_row(first))}"
                   + (f" to {sas.where(ng._as_row(last))}" if len(h.rows) > 1 else "") + ").")
        else:
            msg = (f"No firewall policy uses {gw}: the FortiGate ignored "
                   + (f"{h.peer}'s" if h.peer else "the peer's")
                   + f" request {counted(len(h.rows), 'time')} (`{str(first.text).split(': ', 1)[-1].strip()}`, "
                   f"{sas.where(ng._as_row(first))}"
                   + (f" to {sas.where(ng._as_row(last))}" if len(h.rows) > 1 else "") + ").")
        yield finding(
            "IKE209", msg,
            between=(first, last),
            tunnel=h.tunnel, peer=h.peer,
            evidence=[evidence(r) for r in ng.evidence_rows(h.rows[:3], h.rows[-1:])] + (told.evidence("passive-mode")[1:] if told else []),
            timeline=[moment(first, f"{gw} refused the SA ({'passive mode' if passive else 'no policy'})")],
            facts={"refusals": len(h.rows), "reason": "passive-mode" if passive else "no-policy",
                   "started_by": "peer" if kind == "peer" else "this side", "ispis": ispis(h.negotiations)},
            fix=FIXES["passive" if passive else "no-policy"],
        )
