"""User authentication failed (XAUTH, EAP or SAML), with the reason the daemons give.

## What it detects
A failed user login on a dial-up tunnel: `XAUTH <id> result FNBAM_DENIED|TIMEOUT|ERROR`,
`XAUTH failed for user "..."`, `EAP <id> result FNBAM_DENIED`, `connection expiring due
to EAP failure`, the FortiGate's own EAP server (the EAP proxy, for local users) refusing an
MSCHAPv2 answer (`EAP-MSCHAPV2: Invalid NT-Response`: a wrong password, with or without the
`ike` result line after it), an authentication server that never answers (fnbamd `__rad_conn_timeout`,
`__ldap_conn_timeout`), and samld / SSL-VPN SAML errors. The fnbamd and samld lines of the
same login name the reason, one of: bad-credentials, user-not-found, radius-unreachable,
ldap-unreachable, dns-failure, radius-group-mismatch, saml-group-mismatch,
saml-attribute-mismatch, saml-signature-invalid, saml-clock-skew, saml-config-error,
eap-method-rejected, ldap-no-password. ldap-no-password is fnbamd's `__ldap_auth_ctx_prep-Invalid
credential` in an EAP login: the user's group is on LDAP, an MSCHAPv2 answer gives no
password to bind with, and the login goes to the EAP proxy, which does not know the user
(the client may only see its retransmissions go unanswered). eap-method-rejected is read from the EAP packets fnbamd prints (`EAP msg from
server (6)-01 ED 00 06 19 20` is a Request offering type 25, PEAP): the client answered the
server's offer with a Nak (type 3) asking for other methods, the server offered none of
them and rejected the login, so no password was ever checked. A
login lost to a daemon restart is IKE213, not this. A login whose only lines are the
server's timeouts, with no result after them, is told as waiting on the server, not as
failed: the input ended first (`facts.pending`).
A FortiGate event-log line stating the same cause (an XAUTH authentication failure (the user from `xauthuser=`)) is told too, with the
log's numbers; beside a debug of the same peer or tunnel it is more evidence of that
finding, not a second one (rules/fromlog.py).

## Why it matters
The IKE side worked (phase 1 is up, the PSK or certificate was fine); the user cannot
connect because of the authentication back end, and FortiClient shows only a generic
"credential or SSL VPN configuration is wrong" error.

## Evidence
The result and `failed for user` lines, and the daemon lines that give the reason (`No DN
is found`, `Connction with ... timed out`, `Resolved ... to 0.0.0.0`, `RADIUS resp code 2`
then `Failed group matching`, samld errors). An empty IPv6 answer (`Resolved ... to ::`,
`Failed to add addr`) is printed on healthy logins too, and is not a DNS failure. For
eap-method-rejected: the server's offer, the client's Nak and the server's EAP Failure,
decoded (method names from the IANA EAP registry). The gateway named is the phase 1 the
login ran on: after `change phase1 profile to <name>` the new one.

## Fix
Depends on the reason: check the user name and password (`diagnose test authserver ldap
<server> <user> <password>`, `diagnose test authserver radius <server> pap <user>
<password>`); the route, port and firewall to the RADIUS (1812) or LDAP (389/636) server
and `set remoteauthtimeout`; the server FQDN in DNS (`execute ping <fqdn>`); the group
match (`config user group` → `config match` against the Fortinet-Group-Name / SAML group
attribute value); the SAML SP/IdP URLs, entity IDs, IdP certificate and the clocks (NTP).
For eap-method-rejected the finding gives its own step: allow the method the client asks for
in the RADIUS server's policy for this FortiGate, or make the client use the one offered.
So it does for radius-unreachable, ldap-unreachable and dns-failure (the password was never
checked), for radius-group-mismatch and saml-group-mismatch (it was right), and for
bad-credentials (the server refused the user name or password: those, and the RADIUS shared secret).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pandas as pd

from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis import sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import NoThresholds, rule
from ikeanalyze.wire.iana import EAP_METHODS, eap_method_name

# The step for a reason whose cause is one setting, instead of the Fix section's list of
# every reason's; formatted with the finding's names (_fix).
REASON_FIX = {
    ng.LDAP_NO_PASSWORD_REASON: (
        "An EAP-MSCHAPv2 answer cannot be checked against LDAP: it carries no password to bind with. Put a RADIUS "
        "server in front of the directory (Microsoft NPS for Active Directory) and use it in the user group, or "
        "use local users or certificates for IKEv2 dial-up; IKEv1 with XAuth carries the password and can use "
        "LDAP. A `diagnose test authserver ldap` test passes and will not show this fault."),
    ng.EAP_METHOD_REJECTED: (
        "Make the client and the RADIUS server agree on an EAP method: allow {asked} in the RADIUS "
        "server's policy for this FortiGate (Microsoft NPS: the network policy's Constraints → "
        "Authentication Methods → EAP Types), or configure the client for {offered} if it supports it. The password was never "
        "sent, so resetting it or a `diagnose test authserver radius <server> pap <user> <password>` "
        "test will not show this fault."),
    # The Fix section's list opens with the password: for a server that never answered or a
    # name that does not resolve, that sends the reader to reset a password that was never checked.
    "radius-unreachable": (
        "The password was never checked: the RADIUS server did not answer. Check the route from the FortiGate to "
        "the server and that UDP 1812 is allowed both ways (`execute ping <server>`, `diagnose sniffer packet any "
        "'port 1812' 4`), that the server lists this FortiGate's source address as a RADIUS client (requests "
        "from an unknown client are dropped silently) with the same shared secret, and `set remoteauthtimeout` in `config system global` (FortiClient gives up "
        "sooner than a slow server with MFA answers)."),
    "ldap-unreachable": (
        "The password was never checked: the LDAP server could not be reached. Check the route from the "
        "FortiGate to the server and that TCP 389 (636 for LDAPS) is allowed (`execute ping <server>`, "
        "`diagnose sniffer packet any 'port 389 or port 636' 4`), the server address and port in `config user "
        "ldap`, and `diagnose test authserver ldap <server> <user> <password>` once it answers."),
    "dns-failure": (
        "The password was never checked: the authentication server's name did not resolve. Check the DNS "
        "servers in `config system dns` and the name itself (`execute ping <fqdn>`), or put the server's "
        "address in `config user radius` / `config user ldap` instead of the name."),
    # The commonest reason: the Fix section's other reasons' steps (servers, DNS, groups, SAML)
    # are beside the point once the server has answered that the credentials are wrong.
    "bad-credentials": (
        "The server refused the credentials: check the user name and password the client sends (a user the "
        "server does not know is refused the same way), and test them from the FortiGate against the server "
        "the user group uses (`diagnose test authserver ldap <server> <user> <password>`, `diagnose test "
        "authserver radius <server> pap <user> <password>`); for a local user, its entry in `config user "
        "local`. With RADIUS PAP, a shared secret that differs between the FortiGate (`set secret` in `config "
        "user radius`) and the server garbles the password the same way."),
    "radius-group-mismatch": (
        "The password was right: RADIUS accepted the user, but no user group matched. Make the attribute the "
        "server returns (Fortinet-Group-Name, or the one `config user group` → `config match` expects) carry the "
        "group name configured there, and check that the group is the one in the phase 1's `set authusrgrp` "
        "or the firewall policy."),
    "saml-group-mismatch": (
        "The IdP authenticated the user, but no user group matched the groups it asserted. Make `config user "
        "group` → `config match` (group-name) hold the value the IdP sends (Entra ID sends group object IDs), "
        "and the SAML server's `set group-name` the attribute it is sent in."),
}

# A login pending longer than this cannot have been cut by the restart (FortiClient gives
# up within a minute or two): a restart hours or months before is another session's.
PENDING_MAX_S = 600


def lost_to_restart(login: ng.Login, restarts) -> bool:
    """A daemon start-up between the login's first request and its failure (IKE213).
    ``restarts``: the start-up lines, or their line numbers and times per source (ascending)."""
    if not isinstance(restarts, dict):
        restarts = restart_refs(restarts)
    refs, times = restarts.get(login.source, (np.empty(0, dtype=np.int64), np.empty(0, "datetime64[us]")))
    first = int(login.anchors[0].ref)
    # any start-up line in [window start - 2000, first)
    lo, hi = np.searchsorted(refs, login.window[0] - 2000, side="left"), np.searchsorted(refs, first, side="left")
    if hi <= lo:
        return False
    at = pd.Timestamp(login.anchors[0].time) if pd.notna(login.anchors[0].time) else None
    last = times[hi - 1]
    if at is None or np.isnat(last):
        return True
    return (at.to_datetime64() - last) / np.timedelta64(1, "s") <= PENDING_MAX_S


def restart_refs(restarts) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """source -> the line numbers of its daemon start-up lines, ascending, and their times."""
    out = {}
    for s, g in restarts.groupby("source", sort=False):
        g = g.sort_values("ref", kind="stable")
        out[str(s)] = (g["ref"].to_numpy(np.int64), g["time"].to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT")))
    return out


@rule("IKE208", "user-auth-failure", severity="error",
      explains=("IKE210", "IKE304", "IKE212"))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    restarts = restart_refs(ng.daemon_restarts(ctx.events))
    for login in ng.failed_logins(ctx.events):
        if lost_to_restart(login, restarts):
            continue
        first, last = login.anchors[0], login.anchors[-1]
        reason = login.reason or "unknown"
        why = ng.REASON_WORDS.get(reason, "the daemons do not say why")
        quoted = "; ".join(f"`{ng.said(r)}` ({sas.where(ng._as_row(r))})" for r in login.reason_rows[:2])
        if login.eap is not None:
            why, quoted = _refusal_words(login), ""
        who = f'User "{login.user}"' if login.user else "A user"
        where = (f" on gateway {login.tunnel}" if login.tunnel else "") + (f" from {login.peer}" if login.peer else "")
        pending = _still_waiting(login)
        if pending:
            # Only the server's timeouts and no result line: the login had not failed yet
            # in this input (remoteauthtimeout may still be running), or its end was cut off.
            msg = (f"{who}'s {login.method} login{where} got no answer from the authentication server: "
                   f"{reason} — {why}" + (f"; the daemons say {quoted}" if quoted else "")
                   + f". The server timed out {counted(len(login.anchors), 'time')}, from {sas.where(ng._as_row(first))} "
                   f"to {sas.where(ng._as_row(last))}, and the input shows no result for the login after that "
                   "(still pending, or cut off).")
        else:
            msg = (f"{who} failed {login.method} authentication{where}: {reason} — {why}"
                   + (f"; the daemons say {quoted}" if quoted else "")
                   + f". Failure at {sas.where(ng._as_row(last))}.")
        yield finding(
            "IKE208", msg,
            between=(first, last),
            tunnel=login.tunnel, peer=login.peer,
            evidence=[evidence(r) for r in ng.evidence_rows(login.reason_rows, login.anchors[:3], login.anchors[-1:])],
            timeline=[moment(last, f"{login.method} login{' of ' + login.user if login.user else ''} failed: {reason}")],
            facts={"reason": reason, "user": login.user, "method": login.method, "pending": pending}
            | _eap_facts(login),
            fix=_fix(login),
        )


def _names(types) -> str:
    return " or ".join(eap_method_name(t) for t in types) or "no other method"


def _refusal_words(login: ng.Login) -> str:
    """What the decoded EAP packets say, each with its line."""
    r, rows = login.eap, login.reason_rows
    at = [sas.where(ng._as_row(x)) for x in rows]
    offered = (f"{EAP_METHODS.get(r.offered, 'EAP method')} (type {r.offered}, {at.pop(0)})"
               if r.offered is not None else "a method")
    nak = at.pop(0)
    return (f"the RADIUS server offered {offered}, the client refused it with a Nak asking for "
            f"{_names(r.asked)} ({nak}), and the server offered nothing else and rejected the login"
            + (f" ({at[0]})" if at else "") + ": no password was tried")


def _eap_facts(login: ng.Login) -> dict:
    if login.eap is None:
        return {}
    return {"eap_offered": login.eap.offered, "eap_asked": list(login.eap.asked)}


def _fix(login: ng.Login) -> str | None:
    template = REASON_FIX.get(login.reason or "")
    if template is None:
        return None
    r = login.eap
    offered = eap_method_name(r.offered) if r is not None and r.offered is not None else "the method the server offers"
    return template.format(asked=_names(r.asked) if r is not None else "the client's method", offered=offered)


def _still_waiting(login: ng.Login) -> bool:
    """Are the login's failure lines only server timeouts (no result line of its own)?"""
    return all(re.search(ng.SERVER_TIMEOUT, str(r.text)) for r in login.anchors)
