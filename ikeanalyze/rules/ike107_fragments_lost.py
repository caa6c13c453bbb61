"""Fragments lost: a large IKE message leaves as IP fragments and is never answered.

## What it detects
An IKE message too large for one packet (typically IKE_AUTH carrying certificates) that
is re-sent at least `min_retransmissions` times without an answer, where the message
went out as IP fragments: reassembled or left-over fragments in a capture, `(frag …)`
datagrams to UDP 500/4500 in sniffer text (with no in/out, verbosity 1-3: the side that opened
the UDP 500 exchange read as this one, and what either side being this FortiGate means said), first fragments of one IKE message in tcpdump
text (either way: tcpdump runs on either end, so unless it prints in/out or `--local` names
this side, what either side being this one means is said), or, in IKE debug, a `sent IKE msg` whose
`len=` plus IP/UDP headers exceeds `mtu` while no IKE fragmentation (`splitting payload`,
`encrypted fragment`) was used for it.

## Why it matters
Many firewalls, NATs and carrier networks drop IP fragments (or only the later ones).
The first messages of the negotiation are small and pass; the large one never arrives,
so the exchange times out although everything is configured right. It typically hits
certificate authentication and EAP, and comes and goes with the network the client uses.

## Evidence
The first and last attempt, their size, how many fragments (when the input shows them),
how many attempts and the waits between them.

## Fix
Enable IKE fragmentation so IKE splits its own messages below the path MTU: IKEv2 RFC
7383 (`set fragmentation enable` in the phase-1 settings, on by default in recent
FortiOS; the peer must announce FRAGMENTATION_SUPPORTED too) and IKEv1 vendor
fragmentation. Lower `set fragmentation-mtu` if the path MTU is small. Otherwise allow IP
fragments of UDP 500/4500 on the firewalls between, or use smaller certificate chains.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ikeanalyze.analysis import sas
from ikeanalyze.analysis.context import Context
from ikeanalyze.analysis.flows import HEADER_ORIGINS
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import evidence, finding, moment, sides_unknown
from ikeanalyze.rules.registry import rule
from ikeanalyze.wire import natt
from ikeanalyze.wire.ports import IKE_NATT_PORT, IKE_PORT

IPV4_UDP_HEADERS = 28  # IPv4 header without options (20) + UDP header (8)
IKE_FRAGMENTATION = r"splitting payload|encrypted fragment|fragment \d+ of \d+"


@dataclass(frozen=True)
class Thresholds:
    min_retransmissions: int = 1  # unanswered re-sends of the large message
    mtu: int = 1500  # path MTU assumed when the debug shows only the message length


@rule("IKE107", "fragments-lost", severity="error", thresholds=Thresholds(),
      explains=("IKE304", "IKE210", "IKE212", "IKE106"), absence=True)
def check(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    msgs = sas.of(ctx)
    for s in sas.retransmitted_requests(msgs, t.min_retransmissions):
        rows = s.rows  # two cells before the first row: a row of a fresh frame costs every column
        if s.answered or (bool(rows["in"].iat[0]) and str(rows["origin"].iat[0]) == "ikedebug"):
            continue
        first = s.first
        frames = bool(s.rows["fragmented"].any())
        size = _ip_size(first)
        too_big = size is not None and size > t.mtu and str(first["origin"]) == "ikedebug" and not _ike_fragmented(ctx, first)
        if not (frames or too_big):
            continue
        note = _fragment_note(s.rows)
        how = (f"left as IP fragments{f' ({note})' if note else ''}" if frames
               else f"needs {size} bytes as one IP packet, more than an MTU of {t.mtu}, and IKE fragmentation was not used")
        who = f"{s.peer} sent" if bool(first["in"]) else f"{sas.endpoint(first, 'local')} sent"
        to = "" if bool(first["in"]) else f" to {s.peer}"
        n = _int(first["length"])  # tcpdump text prints no IKE length
        what = f"a {n}-byte {s.exchange or 'IKE'}" if n is not None else f"the same {s.exchange or 'IKE'}"
        msg = (f"{who} {what} message{to} {s.count} times "
               f"({sas.where(first)} to {sas.where(s.last)}{sas.waits(s.intervals)}); it {how}; "
               f"no answer came. Enable IKE fragmentation (RFC 7383).")
        yield _finding(s.rows, msg, s.peer, s.tunnel, {"ispi": str(first["ispi"]), "bytes": _int(first["length"]),
                                                       "ip_bytes": size, "attempts": s.count, "ip_fragments": frames},
                       inbound=bool(first["in"]))
    yield from _sniffer(ctx, t)


def _int(v) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _ip_size(row) -> int | None:
    n = _int(row["length"])
    if n is None:
        return None
    return n + IPV4_UDP_HEADERS + (len(natt.NON_ESP_MARKER) if row["transport"] == "udp4500" else 0)


def _fragment_note(rows) -> str | None:
    """How a capture saw the pieces (`reassembled from 2 IP fragments`); packet text has no such note."""
    notes = rows["detail"].dropna().astype(str)
    notes = notes[notes.str.contains("fragment")]
    return str(notes.iloc[0]) if len(notes) else None


def _ike_fragmented(ctx: Context, row) -> bool:
    ev = ctx.events
    mask = (ev["source"] == row["source"]).fillna(False).to_numpy()
    mask &= ev["text"].fillna("").astype(str).str.contains(IKE_FRAGMENTATION).to_numpy()
    mask &= (ev["ispi"] == row["ispi"]).fillna(False).to_numpy() | (ev["tunnel"] == row["tunnel"]).fillna(False).to_numpy()
    return bool(mask.any())


def _sniffer(ctx: Context, t: Thresholds) -> Iterator[Finding]:
    """`udp N (frag id:len@0+)` to UDP 500/4500 repeated with nothing coming back; in
    tcpdump text, which runs on either end (see sas._first_message_repeats), the first
    piece of the same IKE message (exchange and message ID as printed) sent either way.
    A first piece that names its SPIs (`-vv`) is an IKE message of :func:`check`'s. Sniffer
    text with no in/out is read with the opener of the UDP 500 exchange as this side, and
    says what either side being this FortiGate means."""
    # tcpdump text prints no in/out (but with `-i any`) and runs on either end: unless --local
    # says which address is this side, its rows' sides are the inference's guess.
    ev = ctx.events
    unsure = () if ctx.local else ev.index[ev["direction"].isna().to_numpy()
                                          & (ev["origin"] == "tcpdump").fillna(False).to_numpy()]
    yield from _fragment_stories(ctx.wire, t, unsure=unsure)
    yield from _fragment_stories(ctx.opener_wire, t, guessed=True)


def _fragment_stories(w: pd.DataFrame, t: Thresholds, guessed: bool = False, unsure=()) -> Iterator[Finding]:
    """The stories of :func:`_sniffer` in the oriented packet rows ``w`` (``guessed``: sides
    that the text does not tell, see :func:`_sniffer`; ``unsure``: the index of rows whose
    sides were guessed too, tcpdump's)."""
    if w.empty:
        return
    sent = ~w["in"].to_numpy() | (w["origin"] == "tcpdump").to_numpy()
    first_frag = w["origin"].isin(HEADER_ORIGINS).to_numpy() & (w["kind"] == "ip-fragment").to_numpy() & sent \
        & w["dport"].isin([IKE_PORT, IKE_NATT_PORT]).fillna(False).to_numpy() & w["ispi"].isna().to_numpy()
    frags = w[first_frag]
    for (source, remote, inbound, length, exchange, _), rows in frags.groupby(
            ["source", "remote", "in", "length", "exchange", "msg_id"], sort=False, dropna=False):
        if len(rows) < t.min_retransmissions + 1:
            continue
        back = w[(w["source"] == source).to_numpy() & (w["remote"] == remote).to_numpy() & (w["in"] != inbound).to_numpy()
                 & (w["ref"] > int(rows.iloc[0]["ref"])).to_numpy()]
        if len(back):
            continue
        first, last = rows.iloc[0], rows.iloc[-1]
        gaps = sas.gaps(rows)
        peer, local = sas.endpoint(first), sas.endpoint(first, "local")
        sender, receiver, silent = (peer, local, first["local"]) if inbound else (local, peer, remote)
        size = _int(length)
        what = (f"a {size}-byte UDP datagram" if size is not None
                else f"the same {exchange} message" if isinstance(exchange, str) else "the same UDP datagram")
        msg = (f"{sender} sent {what} to {receiver} as IP fragments "
               f"{len(rows)} times ({sas.where(first)} to {sas.where(last)}{sas.waits(gaps)}) and nothing came "
               f"back from {silent}: ")
        # Fragments seen coming in reached this side: "dropped on the way" is only for those
        # seen leaving, and neither can be said when which end captured is a guess.
        unknown = guessed or rows.index[0] in unsure
        arrive = "they arrive and the message is never answered (not reassembled?)"
        if unknown:
            here, there = sender.rsplit(":", 1)[0], receiver.rsplit(":", 1)[0]
            msg += sides_unknown("the text", ((here, f"the fragments are dropped on the way to {there}"),
                                              (there, arrive)))
        else:
            msg += f"{arrive}." if inbound else "the fragments are being dropped on the way."
        msg += " Enable IKE fragmentation (RFC 7383)."
        yield _finding(rows, msg, peer, None, {"bytes": size, "attempts": len(rows), "ip_fragments": True,
                                               **({"sides_guessed": True} if unknown else {})}, inbound=inbound)


def _finding(rows, msg: str, peer: str, tunnel: str | None, facts: dict, inbound: bool = False) -> Finding:
    first, last = rows.iloc[0], rows.iloc[-1]
    told = (f"large IKE message from {peer}, sent as IP fragments: never answered" if inbound
            else f"large IKE message to {peer} leaves as IP fragments: never answered")
    facts["intervals_s"] = [round(float(x), 6) for x in np.diff(rows["t"].astype(float).to_numpy())]
    return finding(
        "IKE107", msg,
        between=(first, last),
        tunnel=tunnel, peer=peer, evidence=[evidence(first), evidence(last)],
        timeline=[moment(first, told)],
        facts=facts,
    )
