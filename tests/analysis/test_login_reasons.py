"""A failed login's reason, quoted lines and user, read line by line (negotiations._reason,
_user), are what the patterns find in the login's lines joined, as they were first read."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.linesearch import Column


def _joined_reason(window, wtext):
    blob = "\n".join(wtext)
    for name, pattern, quote in ng.AUTH_REASONS:
        if re.search(pattern, blob, re.M):
            rx = re.compile(quote)
            return name, [int(p) for p, t in zip(window, wtext) if rx.search(t)][:2]
    return None, []


def _joined_user(wtext):
    blob = "\n".join(wtext)
    return next((m.group(1) for pattern in ng.LOGIN_USERS if (m := re.search(pattern, blob))), None)


def _fast(wtext):
    window = np.arange(100, 100 + len(wtext))
    cand = np.flatnonzero(Column(wtext).search(ng.REASON_LINES)).tolist()
    return window, ng._reason(window, wtext, cand), ng._user(wtext, cand)


# Pieces of the lines the reasons and users are told by, and near misses: a `$` before a
# line's own break, a pattern's halves on one line, in either order, a quote closed on a
# later line, non-ASCII words.
PIECES = ["Resolved srv to 0.0.0.0", "Resolved srv to ", " ", "\n", "\x0b", "x", "RADIUS resp code 2",
          "RADIUS resp code 20", "Failed group matching", "__rad_conn_timeout-", "rad", "ldap",
          "result FNBAM_TIMEOUT", "result FNBAM_DENIED", "samld_x", "samld_", "samld_\u00e9", "Clock skew issue",
          "User bob not found", "USER \u00e9 was NOT FOUND", "no such user", "Access-Reject",
          "failed for user \"", "XAUTH_USER_NAME '", "bob", "\"", "'", "Rcvd auth req 12 for ", "carol",
          "DNS lookup failed", "fnbamd_ldap_result-Error (10)", "RADIUS server a unreachable",
          "Attr: 1, 2, 'group'", "doesn't match configured ACS Url", "Failed to add addr 10.0.0.1"]
LINES = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)


@given(st.lists(LINES, min_size=1, max_size=8))
def test_reason_and_user_as_joined(wtext):
    window, reason, user = _fast(wtext)
    assert reason == _joined_reason(window, wtext)
    assert user == _joined_user(wtext)


def test_examples():
    for wtext in (["samld_xresult FNBAM_DENIED"], ["result FNBAM_DENIED samld_x"], ["Resolved a to \n", "b"],
                  ["Resolved a to \nb"], ["failed for user \"bo", "b\" x"], ["failed for user \"\"", "XAUTH_USER_NAME 'al'"],
                  ["ldap", "x", "result FNBAM_TIMEOUT"], ["result FNBAM_TIMEOUT", "ldap"],
                  ["RADIUS resp code 2 Failed group matching"], ["Failed group matching RADIUS resp code 2"], [""]):
        window, reason, user = _fast(wtext)
        assert reason == _joined_reason(window, wtext), wtext
        assert user == _joined_user(wtext), wtext


# Real fnbamd lines (github.com/lvannstruth-ftnt/fgt-ike-debugger: IKE_LOG_pwd_radius_auth.txt
# lines 165-176, a healthy login; IKE_LOG_V1_ldap_non_reachable_1.txt line 215).
AAAA_EMPTY = ["[1066] __fnbamd_rad_dns_cb-Resolved labDC-radius:labsrvdc1.van.fortilab.net to 10.21.1.100, cur stack size:-1",
              "[1066] __fnbamd_rad_dns_cb-Resolved labDC-radius:labsrvdc1.van.fortilab.net to ::, cur stack size:0",
              "[1031] __auth_ctx_svr_push-Failed to add addr labsrvdc1.van.fortilab.net from rad 'labDC-radius'"]
NO_A = ("2025-01-15 08:45:17 [1515] __fnbamd_ldap_dns_cb-Resolved labDC-ldap:labsrvdc12.van.fortilab.net to 0.0.0.0, "
        "cur stack size:-1")


def test_an_empty_ipv6_answer_is_no_dns_failure():
    """fnbamd asks for the server's AAAA too and prints `to ::` and `Failed to add addr` on
    every login to a server named by FQDN: a RADIUS reject after them is bad credentials."""
    lines = AAAA_EMPTY + ["[1210] fnbamd_rad_validate_pkt-RADIUS resp code 3"]
    window, reason, _ = _fast(lines)
    assert reason[0] == "bad-credentials"
    assert _joined_reason(window, lines)[0] == "bad-credentials"


def test_a_name_resolving_to_nothing_on_7x_is_a_dns_failure():
    """FortiOS 7.x ends the line with `, cur stack size:N`: the pattern anchored at the line's
    end found no reason at all (`unknown`)."""
    lines = ["[1515] fnbamd_dns_parse_resp-req 0x25: wrong dns format, qr=1, opcode=0, qdc=1, ancount=0", NO_A,
             "[1306] __ldap_try_next_server-No more server to try.", "[1084] fnbamd_ldap_result-Error (5) for req 7991"]
    window, reason, _ = _fast(lines)
    assert reason == ("dns-failure", [101])


def test_the_eap_proxys_invalid_nt_response_is_quoted_for_bad_credentials():
    """A local user's wrong password through the EAP proxy: its own line says it first."""
    lines = ["EAP-MSCHAPV2: Invalid NT-Response", "[1210] fnbamd_rad_validate_pkt-RADIUS resp code 3"]
    window, reason, _ = _fast(lines)
    assert reason == ("bad-credentials", [100, 101])
    assert _joined_reason(window, lines) == reason
