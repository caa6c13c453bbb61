"""DPD disabled: a dead peer goes unnoticed, and the tunnel stays up until its SAs expire.

## What it detects
A tunnel whose dead peer detection is off: its `diagnose vpn tunnel list` block says
`dpd: mode=off`, or (with no tunnel list of it) its `get vpn ipsec tunnel details` block
says `dpd: disabled`, or (with neither) the phase 1 of a pasted configuration says `set dpd
disable`; one finding per tunnel, whichever of them the paste holds. From the tunnel list it
tells how long the tunnel would outlive a dead peer (the first phase-2 SA's `life: ...
timeout=LEFT/TOTAL`; from `tunnel details`, its `lifetime/rekey:`) and whether the tunnel
carried traffic (`stat: rxp= txp=`, or `rx packets:` and `tx packets:`).

## Why it matters
Without DPD nothing notices that the peer is gone (rebooted, its address changed, the path
died): the FortiGate keeps the tunnel up and its routes in place, and sends the traffic into
it, until the phase-2 SA expires (12 h by default) or someone clears the tunnel. A backup
route or tunnel never takes over, and the outage lasts the SA's lifetime instead of DPD's
retry count × interval. It is a risk rather than a fault (severity info): findings of a
silent peer (IKE102) tell it as part of their story.

## Evidence
The tunnel list's header, `dpd:`, `life:` and `stat:` lines; or `tunnel details`' `name:`,
`dpd:`, `lifetime/rekey:` and `rx`/`tx packets:` lines; or the configuration's `edit` and
`set dpd disable` statements.

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
from ikeanalyze.diagnosis import Finding, counted
from ikeanalyze.endpoints import address, gateway_end, split
from ikeanalyze.rules.base import finding
from ikeanalyze.rules.registry import NoThresholds, rule


@rule("IKE306", "dpd-disabled", severity="info")
def check(ctx: Context, t: NoThresholds) -> Iterator[Finding]:
    # A tunnel list (or `tunnel details`) is the running state: its `dpd:` line overrules the
    # configuration's (a dial-up instance's, `DialUp_0`, its phase 1's: `DialUp`).
    listed = set()
    # A dial-up phase 1's instances (`parent=DialUp`), each with DPD off, are one finding: one
    # phase 1's setting, not one fault per client.
    off: dict[tuple, list[snapshots.TunnelState]] = {}
    for st in ctx.snapshots.tunnels.values():
        if snapshots.dpd_block(st) is not None:
            p1 = ctx.configured.phase1(st.name)
            listed |= {st.name, p1.name} if p1 else {st.name}
        if snapshots.dpd_mode_off(st):  # (each device's own state, not the latest of the name; one per tunnel)
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
            f"DPD is off on tunnel {e.name}{f' to {remote}' if address(remote) else ''} in its configuration "
            f"(`set dpd disable`, {line.source} line {line.ref}): a dead peer is not detected, so the tunnel "
            f"stays up until its SAs expire.",
            tunnel=e.name, peer=remote, evidence=e.evidence("dpd"),
            facts={"tunnel": e.name, "from": "configuration", "sa_seconds_left": None}
            | {k: v for k, v in (("device", e.device), ("vdom", e.vdom)) if v},
        )


def _from_tunnel_list(st: snapshots.TunnelState, others: list[snapshots.TunnelState], phase1: str) -> Finding:
    """The finding of tunnel ``st``'s list (or `tunnel details`: snapshots.dpd_block);
    ``others``: more instances of its dial-up phase 1."""
    block = snapshots.dpd_block(st)
    listed = block is st.tunnel
    dpd = block.evidence("dpd")
    expiry = snapshots.sa_expiry(st)
    if listed:
        count = [*block.evidence("stat")]
        rxp, txp = st.stat.get("rxp"), st.stat.get("txp")
        said = "`stat: rxp=0 txp=0`"
    else:
        count = block.evidence("counters")
        rxp, txp = ((block.facts.get(d) or {}).get("packets") for d in ("rx", "tx"))
        said = "`rx packets: 0`, `tx packets: 0`"
    idle = ""
    if rxp == 0 and txp == 0:
        idle = f" It carried no traffic ({said}): nothing would show the peer is gone."
    remote = _peer(st.remote)
    msg = (f"DPD is off on tunnel {st.name}{f' to {remote}' if address(remote) else ''} (`{dpd[0].text}`, "
           f"{dpd[0].source} line {dpd[0].ref}): a dead peer is not detected, so the tunnel stays up "
           f"{expiry.until()}.{idle}")
    if others:
        names = [o.name for o in others]
        msg += (f" So is it on {counted(len(others), 'other instance')} of dial-up phase 1 {phase1} "
                f"({', '.join(names[:MAX_NAMED])}{' …' if len(names) > MAX_NAMED else ''}).")
    head = block.header if listed else block.line("name:")
    return finding(
        "IKE306", msg, start=block.time, end=block.time, t_start=block.t, t_end=block.t,
        tunnel=st.name if not others else phase1, peer=remote if not others else None,
        evidence=[head, *dpd, *expiry.evidence, *count]
        + [e for o in others[:MAX_NAMED] for e in snapshots.dpd_block(o).evidence("dpd")],
        facts={"tunnel": st.name, "from": "tunnel-list" if listed else "tunnel-details",
               "sa_seconds_left": expiry.left, "sa_lifetime": expiry.total, "rxp": rxp, "txp": txp}
        | ({"sa_rekey_left": expiry.rekey} if expiry.rekey is not None else {})
        | ({"device": st.device} if st.device else {})
        | ({"phase1": phase1, "instances": [st.name, *(o.name for o in others)]} if others else {}),
    )


# The other instances of a dial-up phase 1 a finding names (its facts list them all).
MAX_NAMED = 5


def _peer(remote: str | None) -> str | None:
    """The remote gateway as a tunnel list prints it (`y.y.y.y:0` of a static tunnel: no port)."""
    return gateway_end(*split(remote)) if remote else None
