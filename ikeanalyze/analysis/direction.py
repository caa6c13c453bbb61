"""Which side of a capture is "local" (the gateway), and in/out for rows that lack it.

A capture has no in/out of its own (pcapng ``epb_flags`` aside). The gateway is found from
the roles IKE gives the two sides, strongest evidence first:

1. ``--local`` addresses, when the user gave them;
2. the responder of IKE_SA_INIT (IKEv2: the destination of a request / source of a
   response; IKEv1: the destination of a first message, responder SPI zero) and the server
   side of an RFC 8229 stream (the destination of the ``IKETCP`` prefix; in packet text,
   which shows no bytes, of the client's first data segment when the stream's sequence
   numbers advance by exactly its 6 bytes);
3. an address that keeps one NAT-T/IKE port (500, 4500, or the IKE-over-TCP port) while
   talking to several peers — a concentrator, not a client.

NAT-D payloads only carry hashes, so they cannot name an address without the SPIs and
the addresses they were computed over; they are not used here.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from ikeanalyze.analysis.flows import HEADER_ORIGINS, UNKNOWN, oriented, pair_key
from ikeanalyze.wire.tcpencap import six_byte_hits

IKE_PORTS = (500, 4500)


def infer_local(events: pd.DataFrame, local: tuple[str, ...] = ()) -> set[str]:
    """Addresses of the local side (the gateway) in ``events``; ``local`` overrides."""
    if local:
        return set(local)
    if events.empty:
        return set()
    votes: Counter = Counter()
    against: Counter = Counter()
    ike = events[(events["kind"] == "ike") & events["exchange"].notna()]
    if len(ike):
        init = ike[ike["exchange"].isin(["SA_INIT", "Identity Protection", "Aggressive"])]
        v2 = init["ike_version"] == 2
        resp = init["response"].fillna(False).astype(bool)
        first_v1 = (~v2) & (init["rspi"] == "0" * 16)
        for addr in init.loc[v2 & ~resp, "dst"].dropna():
            votes[addr] += 1
        for addr in init.loc[v2 & resp, "src"].dropna():
            votes[addr] += 1
        for addr in init.loc[v2 & ~resp, "src"].dropna():
            against[addr] += 1
        for addr in init.loc[first_v1, "dst"].dropna():
            votes[addr] += 1
        for addr in init.loc[first_v1, "src"].dropna():
            against[addr] += 1
    for addr in events.loc[events["kind"] == "iketcp-prefix", "dst"].dropna():
        votes[addr] += 2
    for addr in _six_byte_servers(events):
        votes[addr] += 2
    score = {a: votes[a] - against[a] for a in votes}
    best = {a for a, s in score.items() if s > 0}
    if best:
        return best
    return _concentrators(events)


def _six_byte_servers(events: pd.DataFrame) -> list[str]:
    """Packet text without direction (tcpdump, a sniffer's `--`): the destination of each
    TCP segment whose sequence number plus 6 is the same sender's next one, or is
    acknowledged as such (:func:`ikeanalyze.wire.tcpencap.six_byte_hits`): the server of
    an RFC 8229 stream, as the decoded prefix of a capture names it."""
    tcp = events[(events["proto"] == "tcp").fillna(False).to_numpy() & events["direction"].isna().to_numpy()
                 & events["origin"].isin(HEADER_ORIGINS).to_numpy() & events["src"].notna().to_numpy()]
    if tcp.empty:
        return []
    a = tcp["src"].astype(str) + "." + tcp["sport"].astype(str)
    b = tcp["dst"].astype(str) + "." + tcp["dport"].astype(str)
    sid, _ = pd.factorize(pair_key(a, b))
    seq, ack = (tcp[k].to_numpy(dtype="float64", na_value=np.nan) for k in ("tcp_seq", "tcp_ack"))
    hits = six_byte_hits(sid, (a < b).to_numpy(), seq, ack)
    return tcp["dst"][hits].astype(str).tolist()


def _concentrators(events: pd.DataFrame) -> set[str]:
    """Addresses that keep an IKE port while talking to more than one peer."""
    udp = events[events["sport"].isin(IKE_PORTS) & events["src"].notna() & events["dst"].notna()]
    if udp.empty:
        return set()
    peers = udp.groupby("src", observed=True)["dst"].nunique()
    many = peers[peers > 1]
    return set(many.index) if len(many) else set()


def fill_direction(events: pd.DataFrame, local_addrs: set[str] | tuple[str, ...]) -> pd.DataFrame:
    """Set ``direction`` to in/out where it is null, from the local addresses."""
    if events.empty or not local_addrs:
        return events
    local = list(local_addrs)
    direction = events["direction"].astype(object).to_numpy(copy=True)
    unknown = pd.isna(direction)
    src_local = events["src"].isin(local).fillna(False).to_numpy(dtype=bool)
    dst_local = events["dst"].isin(local).fillna(False).to_numpy(dtype=bool)
    direction[unknown & src_local & ~dst_local] = "out"
    direction[unknown & dst_local & ~src_local] = "in"
    out = events.copy()
    out["direction"] = pd.Series(np.where(pd.isna(direction), None, direction), index=events.index).astype(
        events["direction"].dtype
    )
    return out


def unoriented(events: pd.DataFrame, wire: pd.DataFrame, origins: tuple[str, ...] = ("sniffer",)) -> np.ndarray:
    """Mask of ``events``: packet text of ``origins`` that shows no in/out (sniffer verbosity
    1-3 on one interface, a `--`; tcpdump) between two printed addresses, and that the
    direction inference could not place either (not in ``wire``, the context's oriented rows).
    Which origins a caller asks for is its own choice (see each caller)."""
    m = events["direction"].isna().to_numpy(copy=True)  # (callers narrow it in place)
    if not m.any():  # most sniffer text prints in/out: nothing more to ask
        return m
    m &= (events["origin"].isin(origins).fillna(False).to_numpy()
          & events["src"].notna().to_numpy() & events["dst"].notna().to_numpy())
    if m.any():
        m &= ~events.index.isin(wire.index)
    return m


def opener_oriented(events: pd.DataFrame, wire: pd.DataFrame, views: pd.Series | None | object = UNKNOWN) -> pd.DataFrame:
    """Sniffer rows that nothing oriented (no in/out: verbosity 1-3 on one interface; not in
    ``wire``), oriented with the side that sent the first UDP 500 datagram between each pair
    of addresses as local. A guess: the rules that read these rows say what either side
    being this FortiGate would mean. ``views``: of ``events`` (analysis.views), worked out when not given."""
    # Sniffer text only: tcpdump runs on either end, and its rows with no in/out are told
    # from both sides where they are read (sas._first_message_repeats, IKE107), not guessed here.
    m = unoriented(events, wire)
    if not m.any():
        return wire.iloc[:0]
    rows = events[m]
    on500 = rows[(rows["transport"] == "udp500").fillna(False).to_numpy()]
    if on500.empty:
        return wire.iloc[:0]
    a, b = on500["src"].astype(str), on500["dst"].astype(str)
    pair = pair_key(a, b)
    openers = set(on500.groupby([on500["source"].astype(str).to_numpy(), pair], sort=False)["src"].first().astype(str))
    return oriented(fill_direction(rows, openers), views)  # (the views of all the events: Context.views)
