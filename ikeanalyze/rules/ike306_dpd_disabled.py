"""DPD disabled: a dead peer goes unnoticed, and the tunnel stays up until its SAs expire.

## What it detects
A tunnel whose dead peer detection is off: its `diagnose vpn tunnel list` block says
`dpd: mode=off`, or (with no tunnel list of it) the phase 1 of a pasted configuration says
`set dpd disable`. From the tunnel list it tells how long the tunnel would outlive a dead
peer (the first phase-2 SA's `life: ... timeout=LEFT/TOTAL`) and whether the tunnel carried
traffic (`stat: rxp= txp=`).

## Why it matters
Without DPD nothing notices that the peer is gone (rebooted, its address changed, the path
died): the FortiGate keeps the tunnel up and its routes in place, and sends the traffic into
it, until the phase-2 SA expires (12 h by default) or someone clears the tunnel. A backup
route or tunnel never takes over, and the outage lasts the SA's lifetime instead of DPD's
retry count × interval. It is a risk rather than a fault (severity info): findings of a
silent peer (IKE102) tell it as part of their story.

## Evidence
The tunnel list's header, `dpd:`, `life:` and `stat:` lines; or the configuration's `edit`
and `set dpd disable` statements.

## Fix
Enable DPD on the phase 1 (`config vpn ipsec phase1-interface`, `edit <name>`, `set dpd
on-idle` or `on-demand`, `set dpd-retryinterval 20`, `set dpd-retrycount 3`) and on the
peer. Keep it off only for a peer that cannot answer DPD, and then set a phase-2 keylife
(`set keylifeseconds` in the phase 2) no longer than the outage you accept.
"""

from __future__ import annotations

from collections.abc import Iterator

from ikeanalyze.analysis import snapshots
from ikeanalyze.analysis.context import Context
from ikeanalyze.diagnosis import Finding, human_duration
from ikeanalyze.endpoints import gateway_end, split
from ikeanalyze.rules.base import finding
from ikeanalyze.rules.registry import NoThresholds, rule


@rule("IKE306", "dpd-disabled", severity="info")
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    # A tunnel list is the running state: its `dpd:` line overrules the configuration's (a
    # dial-up instance's, `DialUp_0`, its phase 1's: `DialUp`).
    listed = set()
    # A dial-up phase 1's instances (`parent=DialUp`), each with DPD off, are one finding: one
    # phase 1's setting, not one fault per client.
    off: dict[tuple, list[snapshots.TunnelState]] = {}
    for st in ctx.snapshots.tunnels.values():
        if st.tunnel is not None:
            p1 = ctx.configured.phase1(st.name)
            listed |= {st.name, p1.name} if p1 else {st.name}
        if snapshots.dpd_mode_off(st):  # (each device's own list, not the latest of the name)
            parent = st.tunnel.facts.get("parent") if st.tunnel else None
            off.setdefault((st.device, parent or st.name), []).append(st)
    for (_, name), states in off.items():
        yield _from_tunnel_list(states[0], states[1:], name)
    seen = set()
    for e in reversed(ctx.configured.entries):  # the latest entry of each phase 1
        # (of each device and VDOM: two FortiGates, or two VDOMs, may each have a `to-hq`)
        if e.phase != 1 or (key := (e.header.source, e.device, e.vdom, e.name)) in seen:
            continue
        seen.add(key)
        if e.name in listed or not e.sets("dpd", "disable"):
            continue
        line = e.settings["dpd"][1]
        remote = e.remote
        yield finding(
            "IKE306",
            f"DPD is off on tunnel {e.name}{f' to {remote}' if remote else ''} in its configuration "
            f"(`set dpd disable`, {line.source} line {line.ref}): a dead peer is not detected, so the tunnel "
            f"stays up until its SAs expire.",
            tunnel=e.name, peer=remote, evidence=e.evidence("dpd"),
            facts={"tunnel": e.name, "from": "configuration", "sa_seconds_left": None}
            | {k: v for k, v in (("device", e.device), ("vdom", e.vdom)) if v},
        )


def _from_tunnel_list(st: snapshots.TunnelState, others: list[snapshots.TunnelState], phase1: str) -> Finding:
    """The finding of tunnel ``st``'s list; ``others``: more instances of its dial-up phase 1."""
    block = st.tunnel
    dpd = block.evidence("dpd")
    left = snapshots.sa_seconds_left(st)
    total = snapshots.sa_lifetime(st)
    until = "until its SAs expire"
    if left is not None:
        until = (f"until its phase-2 SA expires: {human_duration(left)} left at the snapshot"
                 + (f" of {human_duration(total)}" if total else ""))
    stat = st.stat
    idle = ""
    if stat.get("rxp") == 0 and stat.get("txp") == 0:
        idle = " It carried no traffic (`stat: rxp=0 txp=0`): nothing would show the peer is gone."
    remote = _peer(st.remote)
    msg = (f"DPD is off on tunnel {st.name}{f' to {remote}' if remote else ''} (`{dpd[0].text}`, "
           f"{dpd[0].source} line {dpd[0].ref}): a dead peer is not detected, so the tunnel stays up {until}.{idle}")
    if others:
        names = [o.name for o in others]
        msg += (f" So is it on {len(others)} other instance(s) of dial-up phase 1 {phase1} "
                f"({', '.join(names[:MAX_NAMED])}{' …' if len(names) > MAX_NAMED else ''}).")
    return finding(
        "IKE306", msg, start=block.time, end=block.time, t_start=block.t, t_end=block.t,
        tunnel=st.name if not others else phase1, peer=remote if not others else None,
        evidence=[block.header, *dpd, *block.evidence("life")[:1], *block.evidence("stat")]
        + [e for o in others[:MAX_NAMED] for e in o.tunnel.evidence("dpd")],
        facts={"tunnel": st.name, "from": "tunnel-list", "sa_seconds_left": left, "sa_lifetime": total,
               "rxp": stat.get("rxp"), "txp": stat.get("txp")}
        | ({"device": st.device} if st.device else {})
        | ({"phase1": phase1, "instances": [st.name, *(o.name for o in others)]} if others else {}),
    )


# The other instances of a dial-up phase 1 a finding names (its facts list them all).
MAX_NAMED = 5


def _peer(remote: str | None) -> str | None:
    """The remote gateway as a tunnel list prints it (`y.y.y.y:0` of a static tunnel: no port)."""
    return gateway_end(*split(remote)) if remote else None
