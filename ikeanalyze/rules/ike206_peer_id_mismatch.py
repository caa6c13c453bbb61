"""Peer ID mismatch: the peer's identity matches no configured gateway.

## What it detects
FortiGate debug lines that reject the peer for its identity: `gw validation failed` after
`re-validate gw ID` (the IKEv2 responder re-checks the gateway with the peer's IDi),
`peer ID mismatch` / `peer identifier ... does not match`, and IKEv1 `no matching
gateway` / `peer ID check failed` / `ignoring IKE request, incorrect ID.` forms. FortiOS
often ends such a negotiation with its generic `Negotiate ISAKMP SA Error: ... no SA
proposal chosen`; with no proposals compared that line is a consequence, not IKE201.
The identifier the peer presented (`received peer identifier FQDN 'admin'`) is quoted.
An IKEv2 responder's `no matching gateway for new request` right after `responder
received SA_INIT msg` comes before any ID was sent: the finding says so, and its fix
points at the settings that choose a phase 1 for an SA_INIT (interface, remote gateway,
IKE version).
A FortiGate event-log line stating the same cause (a reason of peer ID verification failed or no matching gateway) is told too, with the
log's numbers; beside a debug of the same peer or tunnel it is more evidence of that
finding, not a second one (rules/fromlog.py).

## Why it matters
With several dial-up gateways on one interface, FortiOS picks the phase 1 by the peer's
ID (`set peerid`, `set peertype one`, `set localid` on the client). A wrong ID lands the
peer on no gateway or on the wrong one, and authentication fails however correct the key
or certificate is.

## Evidence
The peer identifier line, the `gw validation failed` line, and the gateway named in the
context; the gateway's configured `set peertype` / `set peerid` (`peer`, `usrgrp`,
`localid`) when the input holds its configuration.

## Fix
Make the peer send the ID the gateway expects (FortiClient: *Local ID*; a FortiGate peer:
`set localid`), or accept it on this side (`set peertype any`, or `set peertype one` with
`set peerid <id>`). With several dial-up phase 1s, check which one `matched gateway` chose.
"""

from __future__ import annotations

from collections.abc import Iterator

from ikeanalyze.analysis import configured, sas
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import NoThresholds, rule

BEFORE_ID = ("The requests were IKEv2 IKE_SA_INITs, which carry no ID: FortiOS picks the phase 1 for them by "
             "the interface they arrive on, the peer's address and the IKE version, so no phase 1 accepts this "
             "peer there.")
BEFORE_ID_FIX = ("Check the phase 1 meant for this peer: `set interface` (the one the requests arrive on), `set "
                 "remote-gw` (the peer's address as it arrives, after any NAT) or `set type dynamic` for a dial-up "
                 "peer, and `set ike-version 2`. The peer's ID only matters once a phase 1 takes the request.")


@rule("IKE206", "peer-id-mismatch", severity="error",
      explains=("IKE210", "IKE304", "IKE303"))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    # A gateway-level line (`ike 0:VPN-to-SH: ignoring IKE request, incorrect ID.`) comes
    # with the negotiation it speaks for (negotiations.running), whose peer identifier is quoted.
    for h in ng.hits(ctx.events, ng.ID_REJECTED):
        ident = (ng.context_lines(h, r"peer identifier")
                 or ng.gateway_lines_before(ctx.events, h.rows[0], r"peer identifier"))
        if ng.recovered(h):
            continue  # another gateway or a retry validated and the IKE SA came up
        first, last = h.rows[0], h.rows[-1]
        gw = f"gateway {h.tunnel}" if h.tunnel else "any configured gateway"
        said = (f"({str(first.text).split(': ')[-1].strip().rstrip('.')} at {sas.where(ng._as_row(first))}"
                + (f", {len(h.rows)} times" if len(h.rows) > 1 else "") + ")")
        fix = None
        if ident:
            presented = str(ident[0].text).split("peer identifier", 1)[1].strip()
            msg = f"{h.peer or 'The peer'} presented peer identifier {presented}, which does not validate against {gw} {said}."
        else:
            presented = None
            msg = f"{h.peer or 'The peer'}'s request matched {'no configured gateway' if not h.tunnel else gw} {said}; the log shows no peer identifier."
            # The exchange of the request refused: an IKEv2 IKE_SA_INIT carries no ID, so the
            # gateway was refused before any was sent (an AUTH refused after it carried one).
            if next((x for n in h.negotiations if (x := n.exchange_before(int(first.ref)))), None) == "SA_INIT":
                msg += f" {BEFORE_ID}"
                fix = BEFORE_ID_FIX
        # Which peers the gateway accepts, when the input holds its configuration.
        stated = configured.said([ctx.configured.phase1(h.tunnel)], configured.PEER_IDENTITY)
        msg += f" {stated.text}" if stated else ""
        yield finding(
            "IKE206", msg,
            between=(first, last),
            tunnel=h.tunnel, peer=h.peer,
            evidence=[evidence(r) for r in ng.evidence_rows(ident, h.rows[:3])] + (stated.evidence if stated else []),
            timeline=[moment(first, f"peer ID {presented} rejected" if presented else f"no gateway matched {h.peer or 'the peer'}")],
            facts={"peer_id": presented, "failures": len(h.rows)},
            fix=fix,
        )
