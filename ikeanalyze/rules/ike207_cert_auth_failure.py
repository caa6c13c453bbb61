"""Certificate authentication failed: the peer's certificate is not trusted or not accepted.

## What it detects
FortiGate IKE debug and fnbamd lines that refuse a certificate: `certificate validation
failed`, `signature verification failed`, `fnbam cert group matching failed` (a valid chain
that matches no configured peer or peer group), `peer ID not verified`, and fnbamd's
certificate errors (unknown or untrusted CA, expired or not yet valid, revoked, subject
mismatch). Successful validations (`certificate validation succeeded`) never fire it.
fnbamd's account of the same certificate request names the reason when it has one (its
lines above the IKE result, from `Rcvd auth_cert req`): `__quick_check_peer-CA does not
match` is peer-ca-mismatch, a trusted chain whose CA is not the one the `config user
peer` entry (`__check_add_peer-'<peer>' check ret:bad`) requires.

## Why it matters
Certificate authentication fails after everything else worked; the peer sees only
AUTHENTICATION_FAILED (or silence) and retries, so the cause is visible only in this
side's debug.

## Evidence
The failing validation line(s), the fnbamd line giving the reason, and the peer
certificate's subject/issuer line when the debug prints it. When the FortiGate then sent
nothing (no AUTH response with AUTHENTICATION_FAILED) and the client's re-sent requests
met `invalid IKE request SPI`, the finding says so: the client was never told, and the
user sees a timeout instead of an authentication error.

## Fix
Import the issuing CA (`config vpn certificate ca`), check the certificate dates and the
FortiGate clock (NTP), the CRL/OCSP reachability, and the `peer`/`peergrp` the phase 1
uses (`config user peer` → `set ca`, `set subject`, `set cn`). When fnbamd names the
reason, the finding gives that reason's step instead (peer-ca-mismatch: the peer entry's
`set ca`, or a peer entry for the issuing CA; the CA is already trusted).
"""

from __future__ import annotations

import re
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


# fnbamd lines naming why it refused a chain -> (reason, what it means, the step to take),
# first match wins; {peer}: the `config user peer` entry that refused it, {issuer}: the
# issuer of the peer's certificate, as the debug names them.
CERT_REASONS: list[tuple[str, str, str, str]] = [
    ("peer-ca-mismatch", r"__quick_check_peer-CA does not match",
     "the certificate chain is trusted, but its CA is not the one `config user peer` {peer} requires",
     "Set `set ca` of `config user peer` {peer} to the CA that issued the client's certificate{issuer}, or give "
     "the phase 1 (`set peer` / `set peergrp`) a peer entry for that CA. The CA is already trusted: importing it "
     "again changes nothing."),
]
CERT_REASON_LINES = linesearch.text_search("|".join(f"(?:{p})" for _, p, _, _ in CERT_REASONS))
# The `config user peer` entry fnbamd checked and refused.
PEER_REFUSED = linesearch.text_search(r"__check_add_peer-'([^']+)' check ret:bad")
ISSUER = re.compile(r"issuer='([^']+)'")


@rule("IKE207", "cert-auth-failure", severity="error", explains=("IKE210", "IKE304"))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    found = ng.hits(ctx.events, FAILED, origins=(ng.DEBUG, "authd"))
    for h in found:
        if ng.recovered(h):
            continue  # another gateway or a retry validated and the IKE SA came up
        first, last = h.rows[0], h.rows[-1]
        subject = ng.context_lines(h, r"peer cert, subject=|peer identifier")
        issued = ng.context_lines(h, r"peer cert, subject=.*issuer=")  # the leaf's issuer, for the fix
        why = str(first.text).split(": ", 1)[-1].strip() if str(first.origin) == ng.DEBUG else str(first.text).strip()
        reason, said, fix = _reason(ctx, first, issued)
        msg = (f"Certificate authentication of {h.peer or 'the peer'}"
               + (f" on gateway {h.tunnel}" if h.tunnel else "")
               + f" failed: `{why}` at {sas.where(ng._as_row(first))}"
               + (f" ({len(h.rows)} failing lines)" if len(h.rows) > 1 else "")
               + (f"; {reason[1]}: fnbamd says `{ng.said(said[0])}` ({sas.where(ng._as_row(said[0]))})"
                  if reason else "")
               + ".")
        resent = ng.unanswered_after(h, int(last.ref))
        if len(resent) > 1:
            # Counted as packets: a re-sent request in RFC 7383 fragments is one line per fragment.
            msg += (f" The FortiGate then deleted the SA without answering (no AUTHENTICATION_FAILED sent) while the "
                    f"client kept sending: {len(resent)} packets met `invalid IKE request SPI` "
                    f"({sas.where(ng._as_row(resent[0]))} to {sas.where(ng._as_row(resent[-1]))}). The client was "
                    "never told: the user sees a timeout, not an authentication error.")
        yield finding(
            "IKE207", msg,
            between=(first, last),
            tunnel=h.tunnel, peer=h.peer,
            evidence=[evidence(r) for r in ng.evidence_rows(subject, issued, said, h.rows[:3], resent[:1], resent[-1:])],
            timeline=[moment(first, "peer certificate refused" + (f": {reason[0]}" if reason else ""))],
            facts={"failures": len(h.rows)} | ({"reason": reason[0]} if reason else {})
            | ({"client_told": False, "refused_packets": len(resent)} if len(resent) > 1 else {}),
            fix=fix,
        )


def _reason(ctx: Context, first, issued: list) -> tuple[tuple[str, str] | None, list, str | None]:
    """The first CERT_REASONS row fnbamd's lines for this request match: ((reason, its
    words), the lines saying it, the step), or (None, [], None)."""
    said = ng.daemon_lines_before(ctx.events, first, CERT_REASON_LINES)
    for name, pattern, words, fix in CERT_REASONS:
        rx = re.compile(pattern)
        lines = [r for r in said if rx.search(str(r.text))][:1]
        if not lines:
            continue
        refused = [m.group(1) for r in ng.daemon_lines_before(ctx.events, first, PEER_REFUSED)
                   if (m := re.search(PEER_REFUSED, str(r.text)))]
        # (`<entry>`, not `<peer>`: rules.base.fill_fix puts the peer's address in a `<peer>`)
        peer = f"'{refused[0]}'" if refused else "<entry>"
        issuer = next((m.group(1) for r in issued if (m := ISSUER.search(str(r.text)))), None)
        return ((name, words.format(peer=peer)), lines,
                fix.format(peer=peer, issuer=f" ('{issuer}')" if issuer else ""))
    return None, [], None
