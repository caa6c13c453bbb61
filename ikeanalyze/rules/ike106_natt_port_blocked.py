"""NAT-T port blocked: IKE moved to UDP 4500 after NAT detection, and nothing answers there.

## What it detects
An IKE SA whose first exchange on UDP 500 was answered (so the peer is there and speaks
IKE), that then moved to UDP 4500 as NAT traversal requires (RFC 7296 §2.23, RFC 3947),
and whose requests on 4500 are re-sent at least `min_retransmissions` times while nothing
at all arrives from the peer on 4500 and the SA never came up. An SA that was established
over 4500 and later went quiet is a stalled path (IKE102) or a DPD failure (IKE301).
From sniffer text without hex dumps (no SPIs): an exchange of this side's on UDP 500 that
the peer answered, then within NATT_MOVE_S the same `udp <len>` to the peer's UDP 4500
re-sent, and not one packet from the peer on 4500 in the whole input (text with no in/out,
verbosity 1-3: the side that opened the UDP 500 exchange is read as this one, and the
finding says what either side being this FortiGate means). From an IKEv2
responder's debug (severity warning, inferred): SA_INIT answered on UDP 500 after `NAT
detected`, then nothing more of that SA before `negotiation timeout`. The debug lines `NAT detected`, `NAT-T float port
4500` or NAT_DETECTION notifies are quoted when the input has them. An ICMP port unreachable
for UDP 4500 (`192.0.2.1 udp port 4500 unreachable`, from tcpdump or sniffer text or a capture)
says the same outright: it joins the finding of the requests it refused, and, when there is
none (only keepalives or ESP refused) and nothing came from that address's UDP 4500 in the
input, it is the finding.

## Why it matters
UDP 500 works and UDP 4500 does not: a firewall, ISP or hotel network lets IKE's first
port through and drops NAT-T. IKE_AUTH (IKEv2) or Main Mode 5/6 (IKEv1) never completes,
so the tunnel never comes up although the proposals matched.

## Evidence
The answered exchange on UDP 500, the first and last unanswered message on UDP 4500, how
many were sent, and the NAT detection lines. ICMP port unreachables for UDP 4500: who sent
them (the peer, or a router or firewall on the way), how many, the first one
(`facts.icmp_unreachable`).

## Fix
Allow UDP 4500 both ways between the peers (and ESP-in-UDP with it) on every firewall
and NAT device in the path. If the network cannot allow it, use IKE/ESP over TCP (FortiOS
`set transport tcp` or `udp-fallback-tcp` with `set ike-tcp-port`). Capture both ends on
both ports to see where 4500 stops: `diagnose sniffer packet any 'host <peer> and (udp
port 500 or udp port 4500)' 6 0 l`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ikeanalyze.analysis import sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.analysis.views import capture_point
from ikeanalyze.diagnosis import Finding
from ikeanalyze.endpoints import endpoint
from ikeanalyze.rules import fromicmp
from ikeanalyze.rules.base import evidence, finding, moment, sides_unknown
from ikeanalyze.rules.registry import rule
from ikeanalyze.wire.ports import IKE_NATT_PORT


@dataclass(frozen=True)
class Thresholds:
    min_retransmissions: int = 1  # unanswered re-sends on UDP 4500


@rule("IKE106", "natt-port-blocked", severity="error", thresholds=Thresholds(),
      explains=("IKE304", "IKE210", "IKE212"), absence=True)
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    taken: set[int] = set()  # the ICMP port unreachables a finding below told
    yield from (_with_refusals(ctx, f, first, taken) for f, first in _from_sniffer_text(ctx, t))
    yield from _responder_view(ctx)
    yield from (_with_refusals(ctx, f, first, taken) for f, first in _from_sa_messages(ctx, t))
    yield from fromicmp.alone(ctx, "IKE106", IKE_NATT_PORT, taken)


def _with_refusals(ctx: Context, f: Finding, first, taken: set[int]) -> Finding:
    """ICMP port unreachables for UDP 4500 of the peer the requests went to join the finding
    (rules/fromicmp.py)."""
    return fromicmp.add(ctx, f, IKE_NATT_PORT, str(first["source"]), str(first["remote"]), taken)


def _from_sa_messages(ctx: Context, t: Thresholds) -> Iterator[tuple[Finding, pd.Series]]:
    """IKE SAs moved to 4500 whose requests there go unanswered, each with its first request."""
    msgs = sas.of(ctx)
    if msgs.empty:
        return
    heard_on_4500: set[tuple[str, str]] | None = None
    per_sa: dict | None = None
    for s in sas.retransmitted_requests(msgs, t.min_retransmissions):
        rows = s.rows  # two cells before the first row: a row of a fresh frame costs every column
        if bool(rows["in"].iat[0]) or rows["transport"].iat[0] != "udp4500" or s.answered:
            continue
        first = s.first
        if heard_on_4500 is None:
            # Asked of whole columns once, on the first candidate: a long log has many.
            heard_on_4500 = _heard_on_4500(ctx.wire)
            per_sa = msgs.groupby([msgs["source"].astype(str), msgs["ispi"].astype(str)], sort=False).indices
            established = _established_sas(ctx)
            nat_all = _nat_events(ctx)
        if (capture_point(rows.head(1)).iat[0], first["remote"]) in heard_on_4500:
            continue  # the peer does reach 4500: not blocked (see IKE111 for a changed mapping)
        same_sa = msgs.iloc[per_sa.get((str(first["source"]), str(first["ispi"])), [])]
        on500 = same_sa[(same_sa["transport"] == "udp500").to_numpy()]
        answered500 = on500[on500["in"].to_numpy().astype(bool)]
        if answered500.empty or not (~on500["in"].to_numpy().astype(bool)).any():
            continue  # no answered exchange on 500: that is IKE105's story, not a blocked 4500
        if _established(established, same_sa, first):
            continue  # 4500 worked once (the SA came up): a later silence is a stalled path or DPD
        nat = _nat_lines(nat_all, first)
        last500 = answered500.iloc[-1]
        msg = (f"{sas.endpoint(first, 'local')} moved IKE SA {first['ispi']} to UDP 4500 after the UDP 500 exchange "
               f"with {first['remote']} was answered ({sas.where(last500)}), then sent {s.exchange or 'its request'} to "
               f"{s.peer} {s.count} times ({sas.where(first)} to {sas.where(s.last)}{sas.waits(s.intervals)}) "
               f"and nothing came back on UDP 4500.")
        if len(nat):
            msg += f" NAT was detected: `{str(nat.iloc[0].detail).strip()}` ({sas.where(nat.iloc[0])})."
        yield finding(
            "IKE106", msg,
            between=(first, s.last),
            tunnel=s.tunnel, peer=s.peer,
            evidence=[evidence(last500)] + [evidence(r) for _, r in nat.head(2).iterrows()]
            + [evidence(first), evidence(s.last)],
            timeline=[moment(first, f"IKE moved to UDP 4500 towards {s.peer}: no answer on 4500")],
            facts={"ispi": str(first["ispi"]), "attempts": s.count, "intervals_s": s.intervals,
                   "exchange": s.exchange, "nat_lines": int(len(nat))},
        ), first


# IKE moves to 4500 with its very next request, at once: a first datagram on 4500 later than
# this after the answer on 500 is something else (ESP of an SA that came up, a rekey).
NATT_MOVE_S = 5.0


def _from_sniffer_text(ctx: Context, t: Thresholds) -> Iterator[tuple[Finding, pd.Series]]:
    """Sniffer text without hex dumps (no SPIs, no exchange names): an exchange on UDP 500
    answered by the peer, then the same `udp <len>` to the peer's UDP 4500 sent again and
    again, and not one packet from the peer on 4500 in the whole input. Each finding with
    its first datagram on 4500. Text with no in/out (verbosity 1-3 on one interface) is read
    with the side that opened the UDP 500 exchange in this side's place, and says so."""
    yield from _sniffer_text_stories(ctx.wire, t)
    for f, first in _sniffer_text_stories(ctx.opener_wire, t):
        opener, other = str(first["local"]), str(first["remote"])
        f.message += " " + sides_unknown("The text", (
            (opener, f"UDP 4500 is blocked on the way to {other} or there"),
            (other, "the datagrams arrive and this FortiGate does not answer on 4500")))
        f.facts["sides_guessed"] = True  # (the opener taken as this side: `local`/`peer` are a reading, not seen)
        yield f, first


def _sniffer_text_stories(w: pd.DataFrame, t: Thresholds) -> Iterator[tuple[Finding, pd.Series]]:
    """The stories of :func:`_from_sniffer_text` in the oriented packet rows ``w``."""
    if w.empty:
        return
    # Whole columns first, rows only for the few candidates: on a busy day the wire table
    # is every tunnel's ESP, and a row copy or a Python loop over it costs tenths of a second.
    text = (w["origin"] == "sniffer").fillna(False).to_numpy() & w["ispi"].isna().to_numpy()
    if not text.any():
        return
    inbound = w["in"].to_numpy().astype(bool)
    on4500 = (w["transport"] == "udp4500").fillna(False).to_numpy()
    cand = (text & ~inbound & on4500 & (w["length"] > 1).fillna(False).to_numpy()
            & (w["rport"] == IKE_NATT_PORT).fillna(False).to_numpy())
    if not cand.any():
        return
    # A (source, peer) pair, not an address: another input's working 4500 hides nothing here.
    # (Each FortiGate's run of a paste hears for itself: analysis.views.)
    sent = w[cand]
    sent = sent.assign(point=capture_point(sent).to_numpy())
    heard = _heard_on_4500(w)
    sent = sent[~pd.MultiIndex.from_arrays([sent["point"], sent["remote"].astype(str)]).isin(list(heard))]
    if sent.empty:
        return
    on = text & (w["transport"] == "udp500").fillna(False).to_numpy() & w["remote"].isin(sent["remote"].unique()).fillna(False).to_numpy()
    rows = w[on]
    rows = rows.assign(point=capture_point(rows).to_numpy())
    for (source, remote, length), same in sent.groupby(["point", "remote", "length"], sort=False):
        if len(same) < t.min_retransmissions + 1:
            continue
        if same["text"].astype(str).str.contains("(frag ", regex=False).any():
            continue  # sent as IP fragments: lost fragments are IKE107's story, not a blocked port
        first, last = same.iloc[0], same.iloc[-1]
        on500 = rows[(rows["point"] == source).to_numpy() & (rows["remote"] == remote).to_numpy()
                     & (rows["ref"] < first["ref"]).to_numpy()]
        answered = on500[on500["in"].to_numpy().astype(bool)]
        if answered.empty or on500["in"].to_numpy().astype(bool).all():
            continue  # no exchange of this side's on 500 that the peer answered: IKE105's story
        moved = sas.span(answered.iloc[-1], first)
        if moved is None or not 0 <= moved <= NATT_MOVE_S:
            continue  # not IKE's next request: ESP or a later exchange of an SA that came up before
        gaps = sas.gaps(same)
        peer = sas.endpoint(first)
        msg = (f"{sas.endpoint(first, 'local')} moved to UDP 4500 after its UDP 500 exchange with {remote} was "
               f"answered ({sas.where(answered.iloc[-1])}), then sent the same `udp {length}` datagram to {peer} "
               f"{len(same)} times ({sas.where(first)} to {sas.where(last)}{sas.waits(gaps)}) and nothing at all came "
               f"back on UDP 4500. The sniffer text has no payload: a datagram repeated on 4500 right after an "
               f"answered exchange on 500 is taken as IKE's next request after NAT-T moved it there.")
        yield finding(
            "IKE106", msg,
            between=(first, last),
            peer=peer,
            evidence=[evidence(answered.iloc[-1]), evidence(first), evidence(last)],
            timeline=[moment(first, f"IKE moved to UDP 4500 towards {peer}: no answer on 4500")],
            facts={"ispi": None, "attempts": len(same), "intervals_s": gaps, "exchange": None, "nat_lines": 0},
        ), first


def _heard_on_4500(wire) -> set[tuple[str, str]]:
    """(source, remote address) of every peer that sent anything on UDP 4500; the source
    with its view when it has one (analysis.views.capture_point)."""
    on = wire["in"].to_numpy() & (wire["transport"] == "udp4500").fillna(False).to_numpy()
    heard = wire.loc[on, ["source", "remote"] + (["view"] if "view" in wire else [])].drop_duplicates()
    return set(zip(capture_point(heard), heard["remote"].astype(str)))


def _established_sas(ctx: Context) -> set[tuple[str, str]]:
    """(source, initiator SPI) of every SA the input shows coming up."""
    ev = ctx.events
    up = ev.loc[(ev["kind"] == "sa-established").fillna(False).to_numpy() & ev["ispi"].notna().to_numpy(),
                ["source", "ispi"]]
    return set(zip(up["source"].astype(str), up["ispi"].astype(str)))


def _established(established: set[tuple[str, str]], same_sa, first) -> bool:
    """The SA came up, or an exchange on 4500 was answered before this request."""
    before = same_sa[(same_sa["ref"] < int(first["ref"])).to_numpy() & (same_sa["transport"] == "udp4500").to_numpy()]
    return (str(first["source"]), str(first["ispi"])) in established or bool(before["answered"].any())


def _nat_events(ctx: Context):
    """Every `NAT detected …` / `NAT-T float port 4500` line of the input."""
    ev = ctx.events
    mask = (ev["kind"] == "nat").fillna(False).to_numpy()
    nat = ev[mask]
    return nat[nat["detail"].fillna("").astype(str).str.contains(r"NAT detected|detected NAT|float").to_numpy()]


def _nat_lines(nat, first):
    """The NAT lines of that SA (or its gateway) up to the request, if any."""
    mask = (nat["source"] == first["source"]).fillna(False).to_numpy() & (nat["ref"] <= int(first["ref"])).to_numpy()
    same = (nat["ispi"] == first["ispi"]).fillna(False).to_numpy()
    if isinstance(first["tunnel"], str):
        same |= (nat["tunnel"] == first["tunnel"]).fillna(False).to_numpy()
    return nat[mask & np.asarray(same)]


def _responder_view(ctx: Context) -> Iterator[Finding]:
    """The IKEv2 responder's view: it answered SA_INIT on UDP 500 after detecting NAT, so the
    initiator's next message belongs on UDP 4500, and nothing more of that SA arrived before
    the negotiation timed out (the initiator's side shows its IKE_AUTH re-sent to 4500)."""
    ev = ctx.events
    cols = ["source", "ref", "serial", "detail", "time", "t", "text", "origin", "src", "sport", "dst", "dport",
            "tunnel", "ispi"]  # the rows below are sliced per candidate: not every column
    sent = ev.loc[(ev["kind"] == "ike-sent").to_numpy() & (ev["detail"] == "SA_INIT_RESPONSE").fillna(False).to_numpy()
                  & (ev["transport"] == "udp500").fillna(False).to_numpy() & ev["serial"].notna().to_numpy(), cols]
    if sent.empty:
        return
    nat_all = _nat_events(ctx)[cols]
    nat_all = nat_all[nat_all["detail"].astype(str).str.contains("NAT detected").to_numpy()
                      & nat_all["serial"].notna().to_numpy()]
    failed = ev.loc[(ev["kind"] == "negotiation-failed").to_numpy() & ev["serial"].notna().to_numpy(), cols]
    failed = failed[failed["detail"].fillna("").astype(str).str.contains("negotiation timeout").to_numpy()]
    if nat_all.empty or failed.empty:
        return
    # Looked up per (source, serial) and (source, SPI): a long log answers many SA_INITs,
    # and only those of a negotiation that both detected NAT and timed out are asked.
    nat_of = nat_all.groupby([nat_all["source"].astype(str), nat_all["serial"].astype("int64")]).indices
    end_of = failed.groupby([failed["source"].astype(str), failed["serial"].astype("int64")]).indices
    keys = pd.MultiIndex.from_arrays([sent["source"].astype(str), sent["serial"].astype("int64")])
    sent = sent[keys.isin(list(set(nat_of) & set(end_of)))]
    if sent.empty:
        return
    got = ev.loc[(ev["kind"] == "ike-received").to_numpy() & ev["ispi"].isin(sent["ispi"].unique()).to_numpy(),
                 ["source", "ispi", "ref"]]  # the keys and lines only: not every column of every arrival
    got_refs = {k: np.sort(g["ref"].to_numpy(np.int64))
                for k, g in got.groupby([got["source"].astype(str), got["ispi"].astype(str)])}
    nat_ref, end_ref = nat_all["ref"].to_numpy(np.int64), failed["ref"].to_numpy(np.int64)
    sent_ref = sent["ref"].to_numpy(np.int64)
    keys = list(zip(sent["source"].astype(str), sent["serial"].astype("int64"), sent["ispi"].astype(str)))
    for i, (source, serial, ispi) in enumerate(keys):
        # (Each negotiation's lines are in input order: its NAT lines before the answer, and
        # its first timeout after it, are found by binary search, not by slicing frames.)
        ni, ei = nat_of[(source, serial)], end_of[(source, serial)]
        n_nat = int(np.searchsorted(nat_ref[ni], sent_ref[i]))
        j = int(np.searchsorted(end_ref[ei], sent_ref[i], side="right"))
        if not n_nat or j == len(ei):
            continue
        refs = got_refs.get((source, ispi), np.empty(0, np.int64))
        if np.searchsorted(refs, end_ref[ei[j]]) > np.searchsorted(refs, sent_ref[i], side="right"):
            continue  # the initiator's next message came (on 500 or 4500)
        r, timeout, last_nat = sent.iloc[i], failed.iloc[ei[j]], nat_all.iloc[ni[n_nat - 1]]
        gw = f" on gateway {r.tunnel}" if isinstance(r.tunnel, str) else ""
        msg = (f"{endpoint(r.src, r.sport)} answered {endpoint(r.dst, r.dport)}'s IKE_SA_INIT{gw} ({sas.where(r)}) after "
               f"detecting NAT (`{last_nat['detail']}`, {sas.where(last_nat)}), so the initiator's next "
               f"message (IKE_AUTH) belongs on UDP 4500; nothing more of IKE SA {r.ispi} arrived before the "
               f"negotiation timed out ({sas.where(timeout)}). UDP 4500 from {r.dst} to {r.src} is probably "
               "blocked on the way (the initiator's log would show its IKE_AUTH re-sent to port 4500), unless the "
               "initiator gave up after SA_INIT on its own.")
        f = finding(
            "IKE106", msg,
            between=(r, timeout),
            tunnel=r.tunnel if isinstance(r.tunnel, str) else None, peer=endpoint(r.dst, IKE_NATT_PORT),
            evidence=[evidence(last_nat), evidence(r), evidence(timeout)],
            timeline=[moment(r, f"SA_INIT answered with NAT detected; nothing from {r.dst} on 4500 after it")],
            # (`story_side`, not `view`: a view is a capture point, analysis.views; registry names it)
            facts={"story_side": "responder", "ispi": str(r.ispi), "nat_lines": n_nat},
        )
        f.severity = "warning"  # inferred from silence: the initiator's side tells for sure
        yield f
