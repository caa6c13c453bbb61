"""ESP one way: an SA pair carries ESP in one direction only.

## What it detects
ESP (plain IP protocol 50, or UDP-encapsulated on 4500) between two addresses that
flows in one direction only: at least `min_packets` packets over at least `min_span`
seconds one way, and not a single ESP packet the other way on that path during the whole
input. With a capture that names SPIs, the count is per SPI. A tunnel whose ESP stopped
in one direction after flowing both ways is IKE102's story (a stalled path), not this one.
NAT keepalives are one-way by design and are not ESP.

A short sample is told too, at severity info: when every ESP packet of an input goes one
way on one path (at least `min_sample_packets` over at least `min_sample_span` seconds)
but too few or too briefly for the thresholds above, the finding says so and asks for a
longer capture instead of letting the report say no problem was found. With the addresses
cut from the text (a redacted paste: `port3 out -> ESP(spi=...)`) the paths above cannot
tell it at all: it is told the same way at info, as a short sample or, above the thresholds,
with the tunnel counters as the way to name the peer.

A FortiGate sniffer runs on the CPU: with NP offload (`npu_flag`, `options[...]=npu` in
`diagnose vpn tunnel list`) it may see only one direction of a healthy tunnel. From
sniffer text the finding is therefore only `info` unless a tunnel-list snapshot shows the
tunnel is not offloaded; when a snapshot shows it is, nothing is reported and the next
steps say how to check. Sniffer text at verbosity 1-3 shows no in/out: when nothing tells
which side is this FortiGate, the finding names the sender and the silent side as they
are printed and says that `--local` settles which is which. A capture of ESP with no IKE
in it (and no `--local`) is told the same way, at severity warning: a capture point that
sees one direction only looks the same.

From `diagnose vpn tunnel list` alone: an SA whose `enc:pkts` reaches `min_packets` (or
grows between two lists) while its `dec:pkts` stays 0, unless its inbound side is
NP-offloaded (`npu_flag=02`/`03`, or offload allowed and no flag printed), where `dec`
counts only what the CPU decrypted. `npu_flag=01` offloads the outbound SA only: `dec`
is then the whole count.

## Why it matters
One side encrypts and sends, the other receives nothing, or receives and never sends
back: a firewall drops ESP (or UDP 4500) one way, the peer has no route or policy for the
return traffic, or the two sides disagree on the SA (one kept an SA the other deleted).
Users see a tunnel that is up but passes no traffic.

## Evidence
The first and last ESP packet of the busy direction, the SPI(s), the packet counts both
ways and the time span. With an input from the other end (its own sniffer or capture, or
the other FortiGate's sniffer run pasted under its own prompt in the same input), from the
same minutes (over its whole run when both runs print relative stamps, which cannot be
lined up), how many of the packets arrived there and how many it sent back:
ESP it sent that never showed here was lost on the return path or, when this end's view
is a CPU sniffer, may be hidden by NP offload (the severity stays as above).

## Fix
Compare `diagnose vpn tunnel list name <tunnel>` on both ends (`enc` counters growing,
`dec` stuck at 0, or the reverse) and the SPIs; check that the return route and firewall
policy exist on the side that does not send; check that ESP (protocol 50) or UDP 4500 is
allowed both ways. For sniffer text, disable NP offload for the test (`set npu-offload
disable` in the phase-1 settings) or use `diagnose npu` counters before concluding.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np
import pandas as pd

from ikeanalyze.analysis import sas, snapshots
from ikeanalyze.analysis.context import Context
from ikeanalyze.analysis.flows import PACKET_ORIGINS
from ikeanalyze.analysis.nextsteps import NP_NOTE
from ikeanalyze.analysis.otherend import other_end, told
from ikeanalyze.diagnosis import Finding, Moment, clock_text
from ikeanalyze.endpoints import address, endpoint
from ikeanalyze.rules.base import evidence, finding, human_duration, moment, sides_unknown
from ikeanalyze.rules.registry import rule

NP_CAVEAT = (" The FortiGate sniffer may miss one direction of an NP-offloaded tunnel; check `diagnose vpn tunnel "
             "list` (npu_flag, enc/dec counters) before concluding.")


@dataclass(frozen=True)
class Thresholds:
    min_packets: int = 10  # ESP packets in the busy direction
    min_span: float = 5.0  # seconds they span
    min_sample_packets: int = 5  # an input's ESP, all one way, below the two above: told at info
    min_sample_span: float = 1.0  # seconds that short sample spans


@rule("IKE108", "esp-one-way", severity="error", thresholds=Thresholds(), absence=True)
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    yield from _from_counters(ctx, t)  # `diagnose vpn tunnel list`: enc growing while dec stays 0
    yield from _unoriented(ctx, t)
    yield from _short_sample(ctx, t)
    w = ctx.wire
    pos = np.flatnonzero((w["kind"] == "esp").to_numpy() & w["origin"].isin(PACKET_ORIGINS).to_numpy())
    if not len(pos):
        return
    # Decide on the key columns which paths are one-way and busy; only those become frames
    # (most of a capture is ESP: a frame of it all would copy every column).
    # (per view: the two ends' sniffer runs in one paste each see their own side of the path)
    keys = ["source", "view", "local", "remote"]
    group = w[keys].iloc[pos].groupby(keys, sort=False, dropna=False).ngroup()
    group = group.to_numpy()
    known = group >= 0
    sizes = np.bincount(group[known])
    inbound = np.bincount(group[known], weights=w["in"].to_numpy().astype(bool)[pos][known])
    chosen = np.flatnonzero(((inbound == 0) | (inbound == sizes)) & (sizes >= t.min_packets))
    for g in chosen:
        busy = w.iloc[pos[group == g]]
        busy = busy.join(ctx.events.loc[busy.index, ["esp_spi"]])
        local, remote = busy["local"].iloc[0], busy["remote"].iloc[0]
        first, last = busy.iloc[0], busy.iloc[-1]
        if pd.isna(first.t) or pd.isna(last.t) or float(last.t) - float(first.t) < t.min_span:
            continue
        out = not bool(first["in"])
        origin = str(first["origin"])
        offload = _offloaded(ctx, str(remote))
        if origin == "sniffer" and offload is True:
            continue  # the CPU sniffer cannot see offloaded ESP; analysis.snapshots says what to check
        spis = sorted(set(busy["esp_spi"].dropna().astype(str)))
        sender, receiver = (local, remote) if out else (remote, local)
        f = _one_way(busy, str(sender), str(receiver), spis,
                     peer=endpoint(remote, first.rport),
                     tunnel=str(first.tunnel) if isinstance(first.tunnel, str) else None,
                     direction="out" if out else "in", np_offload=offload)
        end = other_end(w, ctx.events, busy, ("esp",), same_length=False) if out else None
        if end is not None:
            f.message += told(end, str(local), str(remote), ("ESP packet", "ESP packets"), ("ESP packet", "ESP packets"),
                              maybe_unseen=origin == "sniffer" and offload is None)
            f.evidence += [evidence(r) for r in (end.arrived.head(1), end.answered.head(1)) for r in r.itertuples()]
            f.facts.update(end.facts())
        if origin == "sniffer" and offload is None:
            f.severity = "info"
            f.message += NP_CAVEAT
            ctx.extras.setdefault(NP_NOTE, []).append(str(remote))
        yield f


def _unoriented(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    """Packets where nothing tells which side is this one (their rows are not in
    ``ctx.wire``): sniffer text with no in/out (verbosity 1-3 on one interface, a `--`), a
    capture of ESP with no IKE and no ``--local``. ESP from one address to another and none
    back, told from both sides."""
    ev = ctx.events
    m = ev["direction"].isna().to_numpy().copy()  # most sniffer text prints in/out: nothing more to ask
    if not m.any():
        return
    m &= ev["origin"].isin(PACKET_ORIGINS).to_numpy() & (ev["kind"] == "esp").fillna(False).to_numpy()
    if not m.any():
        return
    m &= ~ev.index.isin(ctx.wire.index) & ev["src"].notna().to_numpy()
    m &= sas.once(ev)  # a capture's copy is not in ctx.wire either
    if not m.any():
        return
    esp = ev.loc[m, ["source", "ref", "origin", "time", "t", "src", "dst", "transport", "text", "esp_spi"]]
    pairs = set(zip(esp["source"].astype(object), esp["src"].astype(object), esp["dst"].astype(object)))
    for (source, src, dst), busy in esp.groupby(["source", "src", "dst"], sort=False):
        if (source, dst, src) in pairs or len(busy) < t.min_packets:
            continue
        first, last = busy.iloc[0], busy.iloc[-1]
        if pd.isna(first.t) or pd.isna(last.t) or float(last.t) - float(first.t) < t.min_span:
            continue
        spis = sorted(set(busy["esp_spi"].dropna().astype(str)))
        f = _one_way(busy, str(src), str(dst), spis, peer=str(dst), tunnel=None, direction=None, np_offload=None)
        if str(first["origin"]) == "sniffer":
            f.message += " " + sides_unknown("The sniffer text") + NP_CAVEAT
            f.severity = "info"  # as for any sniffer text: NP offload may hide the other direction
        else:
            f.message += (" The capture has no IKE to tell which of the two is this side (`--local ADDRESS` "
                          f"tells): if it is {src}, {dst} sends nothing back or its ESP is lost on the way; if it "
                          f"is {dst}, it receives the tunnel's traffic and never answers. A capture point that "
                          "sees one direction only (a SPAN of one port, asymmetric routing) looks the same.")
            f.severity = "warning"
        yield f


SAMPLE_COLUMNS = ["source", "ref", "origin", "time", "t", "iface", "direction", "src", "dst", "transport", "text",
                  "esp_spi"]


def _short_sample(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    """An input whose ESP all goes one way on one path, too little of it for the thresholds
    (or with no addresses, which the paths above need): a KB's or a forum's few lines of
    outbound-only ESP are the very sample an engineer pastes to show the fault."""
    ev = ctx.events
    m = (ev["kind"] == "esp").fillna(False).to_numpy()
    if not m.any():
        return
    m &= ev["origin"].isin(PACKET_ORIGINS).to_numpy() & sas.once(ev)
    if not m.any():
        return
    rows = np.flatnonzero(m)
    sources = ev["source"].iloc[rows]
    names = sources.unique()
    for name in names:
        at = rows if len(names) == 1 else rows[(sources == name).to_numpy()]
        # One way on one path, decided on the key columns first: most inputs' ESP goes both
        # ways (a capture's ESP is most of its events; a frame of it all would copy every column).
        if len(at) < t.min_sample_packets or any(ev[c].iloc[at].nunique(dropna=False) != 1
                                                 for c in ("direction", "src", "dst")):
            continue
        busy = ev.iloc[at, [ev.columns.get_loc(c) for c in SAMPLE_COLUMNS]]
        first, last = busy.iloc[0], busy.iloc[-1]
        out = first["direction"] == "out" if pd.notna(first["direction"]) else None
        if (out is None and pd.isna(first["src"])) or pd.isna(first.t) or pd.isna(last.t):
            continue  # nothing tells its way
        if ((busy["transport"] == "udp4500").to_numpy() & busy["esp_spi"].isna().to_numpy()).any():
            continue  # sniffer text's `udp N` on 4500 may be IKE after NAT-T moved there (IKE106's story)
        span = float(last.t) - float(first.t)
        addressed = pd.notna(first["src"])
        if span < t.min_sample_span:  # (too few packets was left out above)
            continue
        if addressed and len(busy) >= t.min_packets and span >= t.min_span:
            continue  # the paths above tell it
        remote = (first["dst"] if out is not False else first["src"]) if addressed else None
        sniffer = str(first["origin"]) == "sniffer"
        if sniffer and remote is not None and _offloaded(ctx, str(remote)) is True:
            continue  # as above: the CPU sniffer cannot see offloaded ESP
        spis = sorted(set(busy["esp_spi"].dropna().astype(str)))
        spi_text = f" on SPI {', '.join('0x' + s for s in spis[:3])}" if spis else ""
        iface = f" {first['iface']}" if pd.notna(first["iface"]) else ""
        way = (f"from {first['src']} to {first['dst']}" if addressed
               else f"{'out of' if out else 'into'}{iface or ' this FortiGate'} (the text shows no addresses)")
        # Without addresses a sample above the thresholds lands here too: it is not short.
        short = len(busy) < t.min_packets or span < t.min_span
        msg = (f"{'Only ' if short else ''}{len(busy)} ESP packets{spi_text}, over {human_duration(span)} "
               f"({sas.where(first)} to {sas.where(last)}), and every ESP packet of "
               f"{PurePath(str(first['source'])).name} went {way}: none came back. "
               + (f"Too short a sample to call the path one-way ({t.min_packets} packets over "
                  f"{human_duration(t.min_span)} are needed); capture longer, both directions, before concluding."
                  if short else "Without the addresses the peer cannot be named: compare the tunnel's `enc`/`dec` "
                  "counters (`diagnose vpn tunnel list`) to tell which tunnel it is."))
        if sniffer:
            msg += NP_CAVEAT
            ctx.extras.setdefault(NP_NOTE, []).append(str(remote) if remote is not None else f"{iface.strip()} ESP")
        f = finding(
            "IKE108", msg,
            between=(first, last),
            peer=str(remote) if remote is not None else None,
            evidence=[evidence(first), evidence(last)],
            timeline=[moment(first, f"ESP {way.split(' (')[0]} with nothing coming back (a short sample)")],
            facts={"packets": len(busy), "direction": None if out is None else ("out" if out else "in"),
                   "spis": spis, "span_s": round(span, 6), "np_offload": None, "short_sample": short},
        )
        f.severity = "info"
        yield f


def _one_way(busy: pd.DataFrame, sender: str, receiver: str, spis: list[str], peer: str, tunnel: str | None,
             direction: str | None, np_offload: bool | None) -> Finding:
    """The finding of ESP ``busy`` (timed rows of one path) from ``sender`` to ``receiver``
    with none back; ``direction`` None when the text did not tell which end is this one."""
    first, last = busy.iloc[0], busy.iloc[-1]
    span = float(last.t) - float(first.t)
    spi_text = f" on SPI {', '.join('0x' + s for s in spis[:3])}" if spis else ""
    transport = "ESP-in-UDP (4500)" if first["transport"] == "udp4500" else "ESP"
    msg = (f"{len(busy)} {transport} packets{spi_text} went from {sender} to {receiver} over {human_duration(span)} "
           f"({sas.where(first)} to {sas.where(last)}); {receiver} sent no ESP back on that path.")
    return finding(
        "IKE108", msg,
        between=(first, last),
        tunnel=tunnel, peer=peer,
        evidence=[evidence(first), evidence(last)],
        timeline=[moment(first, f"ESP from {sender} to {receiver} with nothing coming back")],
        facts={"packets": len(busy), "direction": direction, **({"sender": sender} if direction is None else {}),
               "spis": spis, "span_s": round(span, 6), "np_offload": np_offload},
    )


def _offloaded(ctx: Context, remote: str) -> bool | None:
    """True/False when a tunnel-list snapshot of that peer says whether ESP is NP-offloaded."""
    snaps = getattr(ctx, "snapshots", None)
    if not snaps:
        return None
    states = snaps.for_peer(remote)
    if not states:
        return None
    # `options[...]=npu` allows offload; `npu_flag=00` on every SA says nothing is offloaded yet.
    return any(snapshots.npu_offloaded(ctx, s.name) for s in states)


def _from_counters(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    """The device's own count: an SA whose `enc:pkts` grows (or is non-zero) in tunnel-list
    snapshots while its `dec:pkts` stays 0 (SAs whose inbound side is NPU-offloaded are
    left out: see analysis.snapshots.esp_one_way)."""
    for ow in snapshots.esp_one_way(ctx, t.min_packets):
        first, last = ow.first or ow.last, ow.last
        # The lines the counters are on (the evidence), not the blocks' first lines.
        at_first = ow.evidence[0].ref if ow.first and ow.evidence else first.ref
        at_last = ow.evidence[-1].ref if ow.evidence else last.ref
        grew = (f"grew from {ow.enc_before} to {ow.enc_after} between {clock_text(first.time, first.t)} "
                f"(line {at_first}) and {clock_text(last.time, last.t)} (line {at_last})" if ow.growing
                else f"is {ow.enc_after} (line {at_last})")
        to = f" to {ow.remote}" if address(ow.remote) else ""  # not a placeholder (`y.y.y.y`)
        to = f" of FortiGate {ow.device}{to}" if ow.device else to  # one of several devices in the paste
        msg = (f"Tunnel {ow.tunnel}{to} encrypts and never decrypts: `enc:pkts` of SA {ow.proxyid} "
               f"(SPI 0x{ow.enc_spi}) {grew} while `dec:pkts` (SPI 0x{ow.dec_spi}) stays 0; nothing comes "
               f"back on that SA.")
        if ow.npu_flag in ("01", "1"):
            msg += (f" The SA's `npu_flag={ow.npu_flag}`: only the outbound SA is offloaded, so inbound ESP would be "
                    f"decrypted by the CPU and counted: none arrived.")
        yield finding(
            "IKE108", msg, start=first.time, end=last.time, t_start=first.t, t_end=last.t,
            tunnel=ow.tunnel, peer=ow.remote, evidence=list(ow.evidence),
            timeline=[Moment(last.time, last.t, f"tunnel {ow.tunnel}: {ow.enc_after} packets encrypted, "
                                                f"none decrypted", last.source, last.ref)],
            facts={"packets": ow.enc_after, "direction": "out", "spis": [ow.enc_spi], "dec_spi": ow.dec_spi,
                   "enc_before": ow.enc_before, "dec_packets": ow.dec, "from": "tunnel-list counters"}
            | ({"device": ow.device} if ow.device else {}),
        )
