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
