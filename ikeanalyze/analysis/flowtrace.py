"""Packets a `diagnose debug flow` trace shows dropped at an IPsec interface, with what the
trace says about them.

A trace (`trace_id`) follows one packet: `received a packet(proto=1, A:p->B:q) from port2`
(`from local` when the FortiGate itself sent it), NAT (`SNAT A->A':p`), the IPsec
interface it enters, then `IPsec encrypt/auth` or a drop. sources/flow.py put the tunnel
on the drop line; this view reads the trace's other facts from its lines (records a copy
ran onto one line are searched inside that one line), so a rule can say which packet,
after NAT, was dropped where.

Only the rows of `debug flow` origin in inputs that hold a drop are read: an input without
one costs a single test of the `kind` column.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze.analysis import sas
from ikeanalyze.analysis.tablecache import per_table
from ikeanalyze.sources.regex import groups, matches

# What a drop at the IPsec interface says, per reason the view reports (a pattern searched
# in the rows of kind `flow-ipsec`; a line that says several is the first one's).
DROPS: dict[str, str] = {
    "no-selector": r"No matching IPsec selector",
    # A dial-up parent interface picks the instance whose tunnel ID is the route's next hop;
    # with none, the packet enters with tun_id 0.0.0.0 and its trace ends there (a static
    # tunnel prints the same line, then encrypts: only a trace that ends on it counts, and on
    # a line a copy collapsed, only as the line's last record).
    "no-instance": r"enter IP[sS]ec interface[ -][^,\s\"]+, tun_id=0\.0\.0\.0\"?\s*$",
}
# Reasons whose line is a drop only when the packet's trace ends on it.
LAST_LINE_ONLY = frozenset({"no-instance"})
# The route a trace found (`find a route: flag=00000000 gw-10.201.1.2 via EDGE_INET1`).
ROUTE = r"find a route: flag=\S+ gw-(?P<gw>[^\s\"]+) via (?P<via>[^\s\"]+)"
TRACE_ID = r"\btrace_id=(?P<trace_id>\d+)"
# The packet a trace follows; the source and destination are split at their last colon
# (an IPv6 address has colons of its own).
PACKET = (r"received a packet\(proto=(?P<proto>\d+), (?P<src>[^\s,(]+):(?P<sport>\d+)->(?P<dst>[^\s)]+):"
          r"(?P<dport>\d+)\)(?: tun_id=\S+)? from (?P<iface>[^\s\"]+?)\.?(?:\s|\"|$)")
# The literal that PACKET needs (a cheap test over every line of the inputs with a drop).
PACKET_WORDS = "received a packet("
# Address translation of the packet before it reaches the tunnel: the source (`SNAT
# 10.0.1.6->10.0.11.17:7390`) or the destination (`DNAT 203.0.113.5:443->10.1.1.5:443`).
NAT = {kind: rf"\b{kind.upper()} (?P<before>[^\s\"]+?)(?::\d+)?->(?P<after>[^\s\"]+?)(?::\d+)?(?:\"|\s|$)"
       for kind in ("snat", "dnat")}
# The ingress a trace prints for a packet the FortiGate sent itself (SLA probes, ping).
LOCAL = "local"
IP_PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6", 132: "SCTP"}
PORTED = frozenset({6, 17, 132})  # protocols whose `:port` in a trace is a port (ICMP's is its id/type)


@dataclass
class Drop:
    """One traced packet dropped at an IPsec interface."""

    reason: str  # a key of DROPS
    source: str
    trace_id: str
    tunnel: str | None
    row: object  # the drop line's event row (a namedtuple of the event table)
    proto: int | None = None
    src: str | None = None  # as received, before NAT
    dst: str | None = None
    sport: int | None = None
    dport: int | None = None
    iface: str | None = None  # where it came from (`local`: the FortiGate sent it)
    snat: str | None = None  # the source after SNAT, if the trace shows one
    dnat: str | None = None
    snat_from: str | None = None  # the source before SNAT as the NAT line prints it
    dnat_from: str | None = None
    route_gw: str | None = None  # the next hop of the route the trace found, if it printed one
    rows: list = field(default_factory=list)  # the trace's lines that prove the above, in order

    def received(self, side: str) -> str | None:
        """The `src` or `dst` as received (before NAT): the packet's line's, or else as its
        NAT line prints it (a trace whose first line the paste lost)."""
        return (self.src or self.snat_from) if side == "src" else (self.dst or self.dnat_from)

    @property
    def out_src(self) -> str | None:
        """The source the selectors are matched against (after SNAT)."""
        return self.snat or self.src

    @property
    def out_dst(self) -> str | None:
        return self.dnat or self.dst

    @property
    def where(self) -> str:
        """`16:02:41 (line 8)`: when and where its drop line is."""
        return sas.where(self.row._asdict())

    @property
    def local(self) -> bool:
        return self.iface == LOCAL

    @property
    def proto_name(self) -> str | None:
        return None if self.proto is None else IP_PROTOCOLS.get(self.proto, f"IP protocol {self.proto}")

    def address(self, which: str) -> str:
        """`10.0.11.17` or `10.0.11.17:7390` (the port only where the protocol has ports)."""
        ip = self.out_src if which == "src" else self.out_dst
        port = self.sport if which == "src" else self.dport
        if ip is None:
            return "?"
        shown = f"[{ip}]" if ":" in ip and port is not None and self.proto in PORTED else ip
        return f"{shown}:{port}" if port is not None and self.proto in PORTED else shown


def drops(events: pd.DataFrame) -> list[Drop]:
    """Every traced packet dropped at an IPsec interface, in input order (found once per
    table: IKE214 and IKE215 both ask)."""
    return per_table("flow_drops", events, _all_drops)


def _all_drops(events: pd.DataFrame) -> list[Drop]:
    if not len(events):
        return []
    ipsec = np.flatnonzero((events["kind"] == "flow-ipsec").fillna(False).to_numpy())
    if not len(ipsec):
        return []
    text = pa.array(events["text"].iloc[ipsec].array).cast(pa.large_string())
    which = np.full(len(ipsec), -1, dtype=np.int64)
    for k, pattern in enumerate(DROPS.values()):  # in order: the first reason a line says is its
        which[(which < 0) & matches(text, pattern)] = k
    hit = which >= 0
    if not hit.any():
        return []
    sources = set(events["source"].iloc[ipsec[hit]])
    mask = (events["origin"] == "flow").fillna(False).to_numpy() & events["source"].isin(sources).to_numpy()
    rows = events[mask]
    names = list(DROPS)
    return _drops(rows, {events.index[i]: names[k] for i, k in zip(ipsec[hit], which[hit])})


def _drops(rows: pd.DataFrame, reason_at: dict) -> list[Drop]:
    """The drops among the `debug flow` ``rows`` (``reason_at``: event index → reason),
    each with the facts of its trace's other lines. The trace ids are read over the column;
    the packet and NAT patterns only over the lines of a dropped packet's trace, and only
    the lines a drop shows become Python rows (one take for all)."""
    text = pa.array(rows["text"].array).cast(pa.large_string())
    tid = groups(text, TRACE_ID)["trace_id"].to_numpy(zero_copy_only=False)
    started = pc.fill_null(pc.match_substring(text, PACKET_WORDS), False).to_numpy(zero_copy_only=False)
    tunnel = rows["tunnel"].to_numpy(dtype=object, na_value=None)
    # A packet's trace: its input, its trace_id, and how many packets of that id began above
    # (as in sources/flow.py: ids start again after a reboot).
    source = rows["source"].to_numpy(dtype=object)
    by = [pd.Series(source), pd.Series(tid, dtype=object)]
    ordinal = pd.Series(started).groupby(by, sort=False, dropna=False).cumsum().to_numpy()
    gid = pd.Series(started).groupby([*by, pd.Series(ordinal)], sort=False, dropna=False).ngroup().to_numpy()
    traces = pd.Series(np.arange(len(rows))).groupby(gid, sort=False).indices
    at = np.flatnonzero(rows.index.isin(list(reason_at)))
    at = np.array([pos for pos in at if reason_at[rows.index[pos]] not in LAST_LINE_ONLY
                   or int(traces[gid[pos]].max()) == pos], dtype=np.int64)
    if not len(at):
        return []
    # Each drop's trace, up to the drop line; the patterns read those lines only.
    mine = {int(pos): [int(i) for i in traces[gid[pos]] if i <= pos] for pos in at}
    asked = np.unique(np.concatenate([np.array(t, np.int64) for t in mine.values()]))
    sub = text.take(pa.array(asked))
    local = {int(i): k for k, i in enumerate(asked)}
    pkt = {k: v.to_numpy(zero_copy_only=False) for k, v in groups(sub, PACKET).items()}
    nat = {k: {g: v.to_numpy(zero_copy_only=False) for g, v in groups(sub, p).items()} for k, p in NAT.items()}
    route = groups(sub, ROUTE)["gw"].to_numpy(zero_copy_only=False)
    out, shown_of = [], []
    for pos, trace in mine.items():
        d = Drop(reason_at[rows.index[pos]], str(source[pos]), str(tid[pos]) if tid[pos] is not None else "?",
                 _tunnel(tunnel, trace), None)
        shown = [pos]
        first = next((i for i in trace if pkt["src"][local[i]] is not None), None)
        if first is not None:
            k = local[first]
            d.proto, d.src, d.dst = _int(pkt["proto"][k]), pkt["src"][k], pkt["dst"][k]
            d.sport, d.dport, d.iface = _int(pkt["sport"][k]), _int(pkt["dport"][k]), pkt["iface"][k]
            shown.append(first)
        for name, found in nat.items():
            hit = next((i for i in reversed(trace) if found["after"][local[i]] is not None), None)
            if hit is not None:
                setattr(d, name, found["after"][local[hit]])
                setattr(d, f"{name}_from", found["before"][local[hit]])
                shown.append(hit)
        hop = next((i for i in reversed(trace) if route[local[i]] is not None), None)
        if hop is not None:
            d.route_gw = route[local[hop]]
            if d.reason in LAST_LINE_ONLY:  # the next hop is that finding's point
                shown.append(hop)
        named = next((i for i in trace if tunnel[i] is not None), None)
        if named is not None:
            shown.append(named)
        out.append(d)
        shown_of.append(sorted(set(shown)))
    needed = sorted({i for shown in shown_of for i in shown})
    recs = dict(zip(needed, rows.iloc[needed].itertuples(index=False)))
    for d, shown in zip(out, shown_of):
        d.rows = [recs[i] for i in shown]
        d.row = recs[shown[-1]]
    return out


def _tunnel(tunnel: np.ndarray, trace: list[int]) -> str | None:
    """The tunnel of the drop line (sources/flow.py carried its trace's onto it), else the
    first any line of its trace names."""
    return next((str(tunnel[i]) for i in [trace[-1], *trace] if tunnel[i] is not None), None)


def _int(v) -> int | None:
    return int(v) if v is not None and str(v).isdigit() else None


# -- phase-2 selectors of a tunnel list (`src: 0:172.31.192.0/255.255.240.0:0`,
# `dst: 0:10.10.0.0-10.10.255.255:0`: protocol, addresses, port; 0 is any)
SELECTOR = re.compile(r"^(?P<proto>\d+):(?P<addr>.+):(?P<port>\d+)$")


@dataclass(frozen=True)
class Selector:
    proto: int
    lo: ipaddress.IPv4Address | ipaddress.IPv6Address
    hi: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int
    text: str

    @property
    def shown(self) -> str:
        """`172.31.192.0/20` where the range is a network, else `lo-hi` (with the protocol and
        port when they are not any)."""
        nets = list(ipaddress.summarize_address_range(self.lo, self.hi))
        addr = str(nets[0]) if len(nets) == 1 else f"{self.lo}-{self.hi}"
        return addr + (f" proto {self.proto}" if self.proto else "") + (f" port {self.port}" if self.port else "")

    def holds(self, ip: str | None, proto: int | None = None, port: int | None = None) -> bool | None:
        """Does the selector take this address (and protocol and port, when given)? None: the
        address is not one (a trace redacted by its poster: `192.168.XX.XX`)."""
        try:
            a = ipaddress.ip_address(ip or "")
        except ValueError:
            return None
        if a.version != self.lo.version or not (self.lo <= a <= self.hi):
            return False
        if self.proto and proto is not None and proto != self.proto:
            return False
        return not (self.port and proto in PORTED and port is not None and port != self.port)


def selector(text: str) -> Selector | None:
    """A tunnel list's selector, or None for a form this does not read."""
    m = SELECTOR.match(text.strip())
    if not m:
        return None
    addr = m["addr"]
    try:
        if "/" in addr:
            net = ipaddress.ip_network(addr, strict=False)
            lo, hi = net.network_address, net.broadcast_address
        else:
            a, _, b = addr.partition("-")
            lo, hi = ipaddress.ip_address(a), ipaddress.ip_address(b or a)
    except ValueError:
        return None
    return Selector(int(m["proto"]), lo, hi, int(m["port"]), text.strip())


def verdict(selectors: list[dict], d: Drop) -> str | None:
    """Which side of the dropped packet (after NAT) the tunnel list's phase-2 selectors
    (snapshots.TunnelState.selectors) leave out: `source`, `destination`, `both`, `pair`
    (each side inside some phase 2, never the same one), `port` (the addresses are inside,
    the protocol or port is not), `inside` (a phase 2 takes it); None when the addresses or
    a selector cannot be read."""
    phases = [([selector(x) for x in p["src"]], [selector(x) for x in p["dst"]]) for p in selectors]
    if not phases or any(s is None for srcs, dsts in phases for s in srcs + dsts):
        return None
    src_in = [[s.holds(d.out_src) for s in srcs] for srcs, _ in phases]
    dst_in = [[s.holds(d.out_dst) for s in dsts] for _, dsts in phases]
    if any(v is None for row in src_in + dst_in for v in row):
        return None
    src_ok, dst_ok = [any(r) for r in src_in], [any(r) for r in dst_in]
    if any(all((any(s.holds(d.out_src, d.proto, d.sport) for s in srcs),
                any(s.holds(d.out_dst, d.proto, d.dport) for s in dsts))) for srcs, dsts in phases):
        return "inside"
    if any(a and b for a, b in zip(src_ok, dst_ok)):
        return "port"
    if not any(src_ok):
        return "both" if not any(dst_ok) else "source"
    return "destination" if not any(dst_ok) else "pair"
