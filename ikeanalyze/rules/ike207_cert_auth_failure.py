"""Certificate authentication failed: the peer's certificate is not trusted or not accepted.

## What it detects
FortiGate IKE debug and fnbamd lines that refuse a certificate: `certificate validation
failed`, `signature verification failed`, `fnbam cert group matching failed` (a valid chain
that matches no configured peer or peer group), `peer ID not verified`, and fnbamd's
certificate errors (unknown or untrusted CA, expired or not yet valid, revoked, subject
mismatch). Successful validations (`certificate validation succeeded`) never fire it.

## Why it matters
Certificate authentication fails after everything else worked; the peer sees only
AUTHENTICATION_FAILED (or silence) and retries, so the cause is visible only in this
side's debug.

## Evidence
The failing validation line(s) and the peer certificate's subject/issuer line when the
debug prints it.

## Fix
Import the issuing CA (`config vpn certificate ca`), check the certificate dates and the
FortiGate clock (NTP), the CRL/OCSP reachability, and the `peer`/`peergrp` the phase 1
uses (`config user peer` → `set ca`, `set subject`, `set cn`).
"""

from __future__ import annotations

from collections.abc import Iterator

from ikeanalyze.analysis import linesearch, sas
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import NoThresholds, rule

FAILED = linesearch.text_search(r"(?i)certificate validation failed|signature verification failed|cert group matching failed"
                        r"|quick_check_cert failed|client cert expired"
                        r"|peer ID not verified|unable to get (?:local )?issuer|certificate (?:has )?expired"
                        r"|certificate is not yet valid|certificate (?:has been )?revoked|self[- ]signed certificate in"
                        r"|untrusted (?:CA|certificate)|no (?:matching|trusted) CA|failed to (?:validate|verify) (?:peer )?cert")


@rule("IKE207", "cert-auth-failure", severity="error", explains=("IKE210", "IKE304"))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    found = ng.hits(ctx.events, FAILED, origins=(ng.DEBUG, "authd"))
    for h in found:
        if ng.recovered(h):
            continue  # another gateway or a retry validated and the IKE SA came up
        first, last = h.rows[0], h.rows[-1]
        subject = ng.context_lines(h, r"peer cert, subject=|peer identifier")
        why = str(first.text).split(": ", 1)[-1].strip() if str(first.origin) == ng.DEBUG else str(first.text).strip()
        msg = (f"Certificate authentication of {h.peer or 'the peer'}"
               + (f" on gateway {h.tunnel}" if h.tunnel else "")
               + f" failed: `{why}` at {sas.where(ng._as_row(first))}"
               + (f" ({len(h.rows)} failing lines)" if len(h.rows) > 1 else "") + ".")
        yield finding(
            "IKE207", msg,
            between=(first, last),
            tunnel=h.tunnel, peer=h.peer, evidence=[evidence(r) for r in ng.evidence_rows(subject, h.rows[:3])],
            timeline=[moment(first, "peer certificate refused")],
            facts={"failures": len(h.rows)},
        )
