"""The authentication daemon restarted mid-login, and the login was lost.

## What it detects
fnbamd (or samld) start-up lines — `__fnbamd_register_new_ha_events-Binded HA admin sock`,
`fnbamd_cfg_init-`, `fsm_initialize-Sent ACCT-ON`, the CA list reloaded — printed while a
login was in progress (a samld request or an fnbamd `Rcvd auth req` with no result yet),
followed by that user's login failing (`No remote authentication started`, `EAP response
is empty`, `FNBAM_ERROR`) or never finishing.

## Why it matters
The daemon lost its pending requests when it restarted: the user sees a failed login
although credentials and configuration are fine, and a retry may work. Repeated restarts
point at a crash (a FortiOS bug) rather than at configuration.

## Evidence
The start-up lines, the login request they interrupted, and the failure that followed.

## Fix
Ask the user to retry; check `diagnose debug crashlog read` for fnbamd/samld crashes and
`diagnose sys process pidof fnbamd` for a changing PID; upgrade to a FortiOS release that
fixes the crash, and open a TAC case with this debug if it repeats.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ikeanalyze.analysis import linesearch, sas
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import evidence, finding, moment
from ikeanalyze.rules.registry import NoThresholds, rule

PENDING = linesearch.text_search(r"samld_process_request \[\d+\]: len=|handle_req-Rcvd auth req|(?:XAUTH|EAP) \d+ pending")
DONE = linesearch.text_search(r"result FNBAM_SUCCESS|(?:XAUTH|EAP) succeeded|samld_send_common_reply \[\d+\]: Sent resp")


@rule("IKE213", "auth-daemon-restart", severity="error",
      explains=("IKE208", "IKE210", "IKE212", "IKE304", "IKE303"))
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    restarts = ng.daemon_restarts(ctx.events)
    if restarts.empty:
        return
    ev = ctx.events
    logins = ng.failed_logins(ev)
    # The debug and daemon lines (ng.light), searched as whole columns once.
    lines, col, tab = ng.light(ev), ng.light_text(ev), ng.light_rows(ev)
    for source, rs in restarts.groupby("source", sort=False):
        mine = np.flatnonzero((lines["source"] == source).to_numpy())
        refs = lines["ref"].to_numpy()[mine].astype(np.int64)
        first_restart = rs.iloc[0]
        r0 = int(first_restart.ref)
        pending = mine[(refs < r0) & col.search(PENDING)[mine]]
        if not len(pending):
            continue
        last_pending = tab.take(pending[-1:])[0]
        done = (refs > int(last_pending.ref)) & (refs < r0) & col.search(DONE)[mine]
        # `Sent resp` of the samld request itself is not the end of the login: the response
        # to the browser's assertion (cmd=2) is what the restart cut off.
        if done.any() and not str(last_pending.text).count("cmd=2"):
            continue
        failed = [lg for lg in logins if lg.source == source and int(lg.anchors[0].ref) > r0]
        fail = failed[0] if failed else None
        fail_rows = fail.anchors[:2] + fail.reason_rows[:1] if fail else []
        user = fail.user if fail else None
        where = (f" on gateway {fail.tunnel}" if fail and fail.tunnel else "") + (
            f" from {fail.peer}" if fail and fail.peer else "")
        msg = (f"The authentication daemon restarted at {sas.where(first_restart)} "
               f"(`{str(first_restart.text).split('] ', 1)[-1][:80]}`) while a login was pending since "
               f"{sas.where(ng._as_row(last_pending))}"
               + (f"; the login of {user}{where} then failed at {sas.where(ng._as_row(fail.anchors[0]))}"
                  if fail else "; the login never completed in this input")
               + ". The session was lost to the restart, not to the credentials or the configuration.")
        last = fail.anchors[-1] if fail else rs.iloc[-1]
        yield finding(
            "IKE213", msg,
            between=(last_pending, last),
            tunnel=fail.tunnel if fail else None, peer=fail.peer if fail else None,
            evidence=[evidence(r) for r in ng.evidence_rows([last_pending], list(rs.head(2).itertuples()), fail_rows)],
            timeline=[moment(first_restart, "authentication daemon restarted mid-login")],
            facts={"restart_lines": len(rs), "user": user},
        )
