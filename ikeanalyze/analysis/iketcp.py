"""IKE over TCP (RFC 8229) connections, from whatever evidence each source has.

A port number alone is not evidence: busy HTTPS on 443 is not IKE. What counts:
  * a capture: the `IKETCP` stream prefix (the pcap source emits an `iketcp-prefix` event)
    or IKE messages decoded from the framed stream (transport `tcp`);
  * sniffer text (no payload): the client's first data segment advances its sequence by
    exactly 6 — the six bytes `IKETCP` — seen as the next client segment's sequence number
    or the server's acknowledgement;
  * IKE debug: `accepts ike tcp-transport(...)`, or `comes A:p->B:q` to a port other than
    500/4500.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ikeanalyze.diagnosis import Evidence, row_stamp
from ikeanalyze.endpoints import endpoint
from ikeanalyze.wire.tcpencap import PREFIX, six_byte_streams

IKETCP_PREFIX_LEN = len(PREFIX)  # RFC 8229 §3: the stream prefix


@dataclass
class TcpIke:
    client: str
    cport: int
    server: str
    sport: int
    first_time: pd.Timestamp | None = None  # the connection's first packet (SYN when seen)
    first_t: float | None = None
    first_stamp: str | None = None  # its stamp as printed, in text with no clock (diagnosis.row_stamp)
    syn_ref: int | None = None
    source: str | None = None
    how: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    sa_init_spi: str | None = None
    sa_init_length: int | None = None

    @property
    def peer(self) -> str:
        return endpoint(self.client, self.cport)


def find(events: pd.DataFrame, wire: pd.DataFrame) -> list[TcpIke]:
    conns: dict[tuple, TcpIke] = {}

    def conn(client, cport, server, sport) -> TcpIke:
        key = (client, int(cport), int(sport))
        if key not in conns:
            conns[key] = TcpIke(client, int(cport), server, int(sport))
        return conns[key]

    _from_packets(wire, conn)
    _from_debug(events, conn)
    return sorted(conns.values(), key=lambda c: (c.first_t is None, c.first_t or 0, c.client, c.cport))


def _ev(row) -> Evidence:
    return Evidence(str(row.source), int(row.ref), str(row.text), _time(row.time))


def _time(v):
    return None if pd.isna(v) else pd.Timestamp(v)


def _from_packets(wire: pd.DataFrame, conn) -> None:
    tcp = wire[((wire["proto"] == "tcp").fillna(False) | wire["kind"].isin(["iketcp-prefix"])).to_numpy()]
    if tcp.empty:
        return
    key = ["origin", "local", "lport", "remote", "rport"]
    tcp = tcp.assign(_sid=tcp.groupby(key, sort=False, dropna=False).ngroup().to_numpy())
    tcp = tcp[tcp["_sid"].isin(_candidates(tcp)).to_numpy()]
    if tcp.empty:
        return
    # Candidate streams are few, but each may be long: columns become arrays once and each
    # stream is a set of positions; only evidence rows become pandas rows.
    # The wire rows are in input order: each source's rows in time order (a capture out of
    # time order is sorted by sources.pcap, its rows keeping their frame numbers) or line
    # order. Not by `ref`: in `mergecap -a` of two interfaces the SYN-ACK's frame may come
    # before the SYN's, and its sender would be taken for the client.
    order = pd.unique(tcp["_sid"].to_numpy())  # streams in the order they begin
    sid = tcp["_sid"].to_numpy()
    inbound_all = tcp["in"].to_numpy()
    kinds = tcp["kind"].astype(object).to_numpy()
    framed_all = ((tcp["transport"] == "tcp").fillna(False) & (tcp["kind"] == "ike").fillna(False)).to_numpy()
    flags_all = tcp["tcp_flags"].astype(object).fillna("").to_numpy()
    seq_all = tcp["tcp_seq"].to_numpy(dtype="float64", na_value=np.nan)
    ack_all = tcp["tcp_ack"].to_numpy(dtype="float64", na_value=np.nan)
    for stream in order:
        pos = np.flatnonzero(sid == stream)
        inbound = inbound_all[pos]
        flags = flags_all[pos]
        # The client is the side that sent the SYN; without a SYN, the side on the high port.
        first = tcp.iloc[pos[0]]
        client_in = bool(inbound[0]) if "syn" in flags[0] else (_int(first.rport) > _int(first.lport))
        from_client = inbound == client_in
        how, evidence = [], []
        prefix = pos[kinds[pos] == "iketcp-prefix"]
        framed = pos[framed_all[pos]]
        if len(prefix):
            how.append("IKETCP stream prefix")
            evidence.append(_ev(tcp.iloc[prefix[0]]))
        else:
            hit = _six_byte_advance(flags, seq_all[pos], ack_all[pos], from_client)
            if hit is not None:
                how.append("the client's first data segment is exactly 6 bytes (the IKETCP prefix)")
                evidence.extend(_ev(tcp.iloc[pos[i]]) for i in hit)
        if not how:
            continue
        c = conn(first.remote if client_in else first.local, first.rport if client_in else first.lport,
                 first.local if client_in else first.remote, first.lport if client_in else first.rport)
        c.first_time, c.first_t, c.syn_ref, c.source = _time(first.time), _num(first.t), int(first.ref), str(
            first.source)
        c.first_stamp = row_stamp(first)
        syn = pos[np.array(["syn" in f for f in flags], bool) & from_client]
        if len(syn):
            evidence.insert(0, _ev(tcp.iloc[syn[0]]))
        if len(framed):
            m = tcp.iloc[framed[0]]
            how.append(f"IKE {_str(m.exchange) or 'message'} decoded from the framed stream")
            evidence.append(_ev(m))
            c.sa_init_spi = _str(m.ispi) or None
            if str(m.exchange) == "SA_INIT" and not pd.isna(m.length):
                c.sa_init_length = int(m.length)
        c.how.extend(how)
        c.evidence.extend(evidence)


def _candidates(tcp: pd.DataFrame) -> set[int]:
    """Streams that may carry IKE, decided for all streams at once (busy HTTPS must cost
    nothing): a decoded prefix or framed IKE, or a data segment whose sequence number is
    another one's plus 6, or is acknowledged as such."""
    sid = tcp["_sid"].to_numpy()
    decoded = tcp["kind"].isin(["iketcp-prefix"]).to_numpy() | (
        (tcp["transport"] == "tcp").fillna(False) & tcp["kind"].isin(["ike", "esp"])).to_numpy()
    out = set(sid[decoded].tolist())
    seq = tcp["tcp_seq"].to_numpy(dtype="float64", na_value=np.nan)
    ack = tcp["tcp_ack"].to_numpy(dtype="float64", na_value=np.nan)
    out |= set(six_byte_streams(sid, tcp["in"].to_numpy(), seq, ack).tolist())
    return out


def _str(v) -> str:
    return "" if v is None or pd.isna(v) else str(v)


def _int(v) -> int:
    return 0 if v is None or pd.isna(v) else int(v)


def _num(v):
    return None if pd.isna(v) else float(v)


def _six_byte_advance(flags: np.ndarray, seq: np.ndarray, ack: np.ndarray,
                      from_client: np.ndarray) -> list[int] | None:
    """Positions (in the stream) of the two segments proving a 6-byte first client data
    segment, or None. ``seq``/``ack`` are floats, NaN where the segment has none."""
    data = np.flatnonzero(from_client & ~np.isnan(seq) & np.array(["syn" not in f for f in flags], bool))
    if not len(data):
        return None
    first = int(data[0])
    s1 = seq[first]
    if len(data) > 1 and seq[data[1]] - s1 == IKETCP_PREFIX_LEN:  # the client's next data segment
        return [first, int(data[1])]
    acks = np.flatnonzero(~from_client & ~np.isnan(ack))
    acks = acks[acks > first]
    if len(acks) and ack[acks[0]] - s1 == IKETCP_PREFIX_LEN:  # the server's first acknowledgement after it
        return [first, int(acks[0])]
    return None


def _from_debug(events: pd.DataFrame, conn) -> None:
    dbg = events[(events["origin"] == "ikedebug").to_numpy()
                 & ((events["kind"] == "tcp-accepted") | (
                     events["kind"].isin(["ike-received", "ike-exchange"]) & (events["transport"] == "tcp"))).fillna(
                     False).to_numpy()]
    for row in dbg.itertuples():
        if row.kind == "tcp-accepted":  # printed local -> remote
            c = conn(row.dst, row.dport, row.src, row.sport)
            c.how.append("debug: accepts ike tcp-transport")
        else:
            if pd.isna(row.src) or pd.isna(row.dport):
                continue
            c = conn(row.src, row.sport, row.dst, row.dport)
            if row.kind == "ike-received":
                c.how.append(f"debug: comes {row.src}:{row.sport}->{row.dst}:{row.dport}")
            if isinstance(row.exchange, str) and row.exchange:
                c.sa_init_spi = c.sa_init_spi or (row.ispi if isinstance(row.ispi, str) else None)
                if not pd.isna(row.length):
                    c.sa_init_length = c.sa_init_length or int(row.length)
        c.evidence.append(_ev(row))
        c.source = c.source or str(row.source)
