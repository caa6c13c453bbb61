"""UDP path stalled: the peer went silent while this side kept sending.

## What it detects
A UDP 500/4500 session in which the peer sent at least once and then nothing more, while
this side kept sending (ESP, IKE requests, NAT-T keepalives) for at least `silence`
seconds and at least `min_packets` packets. What this side sent within half a second of
the peer's last packet answered it, and is not counted as sent into the silence. On UDP
4500, the peer's ESP (IP protocol 50) to the same address counts as its packets when it
was already arriving as this side began sending into the silence: keepalives that only
this side sends are normal while it still arrives (a reconnect after the silence, a new
SA_INIT on UDP 500 or a new SA's ESP, is no such sign). Needs a
source that sees every packet (a capture or sniffer text); a debug log cannot show ESP and
is not used for this. Sniffer text with no in/out (verbosity 1, the default, on one
interface) where nothing tells which side is this FortiGate: the side that stopped and the
side that kept sending are named as printed, with what each being this FortiGate means.

## Why it matters
The tunnel still looks up on the gateway, but nothing from the peer reaches it: a
firewall or NAT device on the path dropped the UDP session (state timeout, UDP blocked,
NAT mapping changed), or the peer itself is gone. Users see a connected VPN that carries
no traffic until DPD or the IKE SA lifetime tears it down.

## Evidence
The peer's last packet (time and line/frame), the first and last packet sent after it,
and how many of each kind (ESP, IKE, keepalives) went unanswered. When the paste has a
`diagnose vpn tunnel list` of that peer's tunnel with `dpd: mode=off`, that line (and the
SA `life:` line): it is why the tunnel stayed up.

## Fix
Check the UDP 500/4500 session state on every firewall and NAT device between the peers
(`diagnose sys session filter dport 4500` on a FortiGate in the path), and what changed at
the time of the last packet. Enable DPD (`set dpd on-idle`) so a dead path is detected and
the tunnel renegotiates; for FortiClient, `set transport udp-fallback-tcp` with an
`ike-tcp-port` lets the user reconnect over TCP when UDP is blocked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ikeanalyze.analysis import configured, snapshots
from ikeanalyze.analysis.context import Context
from ikeanalyze.analysis.silence import stalls, unoriented_stalls
from ikeanalyze.diagnosis import Finding
from ikeanalyze.endpoints import host
from ikeanalyze.rules.base import evidence, finding, human_duration, kinds_text, moment, sides_unknown, when
from ikeanalyze.rules.registry import rule


@dataclass(frozen=True)
class Thresholds:
    silence: float = 30.0  # seconds of one-way sending before the path counts as stalled
    min_packets: int = 3  # unanswered packets needed


# IKE302: a rekey the silent peer never answered is the stall seen from IKE, as IKE301's DPD
# probes are (the packets this side kept sending are those requests).
@rule("IKE102", "udp-path-stalled", severity="error", thresholds=Thresholds(),
      explains=("IKE101", "IKE104", "IKE108", "IKE301", "IKE302", "IKE304", "IKE306"), absence=True)
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    yield from _unoriented(ctx, t)
    for s in stalls(ctx, t.silence, t.min_packets):
        f = s.flow
        kinds = kinds_text(s.kinds)
        transport = "UDP 4500" if f["transport"] == "udp4500" else "UDP 500"
        msg = (f"{f['peer']} stopped sending at {when(s.last_in)} while {f['local_end']} kept sending "
               f"{s.unanswered} packets ({kinds}) for {human_duration(s.silence)} on {transport}; "
               f"nothing came back.")
        # A tunnel list with `dpd: mode=off` (or a configuration's `set dpd disable`)
        # explains why the tunnel still looks up.
        dpd = snapshots.dpd_off_note(ctx, str(f["remote"])) or configured.dpd_off_note(ctx, str(f["remote"]))
        msg += f" {dpd.text}" if dpd else ""
        yield finding(
            "IKE102", msg,
            between=(s.last_in, s.last_out),
            tunnel=_tunnel(f) or (dpd.tunnel if dpd else None), peer=f["peer"],
            evidence=[evidence(s.last_in), evidence(s.first_out), evidence(s.last_out)] + (dpd.evidence if dpd else []),
            timeline=[
                moment(s.last_in, f"last packet from {_last(s.last_in, f['peer'], f['transport'])}"),
                moment(s.last_out, f"still no reply: {s.unanswered} packets sent to {f['peer']} "
                                   f"since its last packet"),
            ],
            facts={"peer": f["peer"], "local": f["local_end"], "transport": f["transport"],
                   "silence_s": round(s.silence, 6), "unanswered": s.unanswered,
                   "unanswered_by_kind": dict(s.kinds), "last_in_ref": int(s.last_in.ref),
                   **(dpd.facts if dpd else {})},
        )


def _last(row, peer: str, transport: str) -> str:
    """`198.51.100.7:4500 on UDP 4500`; when the peer's last packet was its ESP (IP protocol
    50: analysis.silence.SIGNS_OF_LIFE), that one, from its address."""
    said = {"udp4500": "UDP 4500", "udp500": "UDP 500", "esp": "ESP"}
    other = row["transport"]  # (NA where the line's summary was not read: a packet of the flow)
    if isinstance(other, str) and other != transport and other in said:
        return f"{host(peer)} ({said[other]})"
    return f"{peer} on {said.get(transport, transport)}"


def _tunnel(flow) -> str | None:
    v = flow.get("tunnel")
    return v if isinstance(v, str) else None


def _unoriented(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    """The same stall in sniffer text with no in/out (verbosity 1, the default, on one
    interface): told as printed, with what each side being this FortiGate would mean."""
    for s in unoriented_stalls(ctx, t.silence, t.min_packets):
        transport = "UDP 4500" if s.transport == "udp4500" else "UDP 500"
        here, there = s.sender.rsplit(":", 1)[0], s.silent.rsplit(":", 1)[0]
        msg = (f"{s.silent} stopped sending at {when(s.silent_last)} while {s.sender} kept sending {s.sent} packets "
               f"({kinds_text(s.kinds)}) for {human_duration(s.silence)} on {transport}; nothing came back. "
               + sides_unknown("The text", ((here, "the peer went silent or its packets are lost on the way"),
                                            (there, "the peer's packets arrive and this FortiGate stopped answering them"))))
        yield finding(
            "IKE102", msg,
            between=(s.silent_last, s.last_out), peer=s.silent,
            evidence=[evidence(s.silent_last), evidence(s.first_out), evidence(s.last_out)],
            timeline=[moment(s.silent_last, f"last packet from {_last(s.silent_last, s.silent, s.transport)}"),
                      moment(s.last_out, f"still no reply: {s.sent} packets sent to {s.silent} since its last packet")],
            facts={"peer": s.silent, "local": None, "sender": s.sender, "sides_guessed": True, "transport": s.transport,
                   "silence_s": round(s.silence, 6), "unanswered": s.sent, "unanswered_by_kind": dict(s.kinds),
                   "last_in_ref": int(s.silent_last.ref)},
        )
