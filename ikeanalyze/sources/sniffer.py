"""FortiGate `diagnose sniffer packet <iface> '<filter>' <verbosity> <count> <a|l|r>` text.

Only the packet header lines are parsed here (hex-dump lines are recognised by
:mod:`ikeanalyze.sources.text` and counted as bytes of the packet above). The grammar is
tcpdump-like but FortiOS-specific (FORMATS.md §1): the port follows the address after a
dot, TCP prints flag words but no flag word for a bare data/ack segment, ESP is
`ip-proto-50 LEN`, NAT-T traffic is plain `udp LEN` on port 4500.

Every field is extracted for the whole column at once with RE2 patterns.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze.sources.regex import groups, matches, to_int
from ikeanalyze.wire.ports import IKE_NATT_PORT, IKE_PORT

TS_ABS = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+"
TS_REL = r"\d+\.\d+"
IPV4 = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"
IPV6 = r"[0-9A-Fa-f]*:[0-9A-Fa-f:]*"
ADDR = rf"(?:{IPV4}|{IPV6})"

# A line starts a sniffer packet record when it matches this (used by the line classifier).
HEADER_START = (
    rf"^(?:{TS_ABS}|{TS_REL}) (?:\S+ (?:in|out|--) )?"
    rf"(?:{ADDR}(?:\.\d+)? -> {ADDR}(?:\.\d+)?:|arp |truncated-ip|\S+ > \S+:)"
)

HEADER = (
    rf"^(?:(?P<ts_abs>{TS_ABS})|(?P<ts_rel>{TS_REL})) (?:(?P<iface>\S+) (?P<dir>in|out|--) )?"
    rf"(?P<body>.*)$"
)
ADDRESSES = (
    rf"^(?P<src>{ADDR})(?:\.(?P<sport>\d+))? -> (?P<dst>{ADDR})(?:\.(?P<dport>\d+))?: +(?P<l4>.*)$"
)

# The L4 summary forms, tried on the text after `src -> dst: `. One row per form; the
# first that matches names the protocol. Groups map onto event columns.
L4_FORMS: list[tuple[str, str]] = [
    ("udp", r"^udp (?P<length>\d+)"),
    ("ip-proto", r"^ip-proto-(?P<pnum>\d+)(?: (?P<length>\d+))?"),
    ("icmp", r"^icmp6?: (?P<detail>.*)$"),
    ("icmp", r"^\[icmp6 sum ok\] icmp6: (?P<detail>.*)$"),
    ("tcp", r"^(?P<flags>(?:(?:syn|fin|rst|psh|urg) )*)(?P<seq>\d+)?(?: ?ack (?P<ack>\d+))?\s*$"),
]
FRAGMENT = r"\(frag (?P<frag_id>\d+):(?P<frag_len>\d+)@(?P<frag_off>\d+)(?P<frag_more>\+)?\)"

# IANA protocol numbers the sniffer prints as `ip-proto-N`.
PROTO_NAMES = {50: "esp", 51: "ah", 17: "udp", 6: "tcp", 1: "icmp", 2: "igmp", 47: "gre", 89: "ospf"}


def _fill(target: np.ndarray, mask: np.ndarray, values) -> None:
    target[mask] = values


def parse(core: pa.Array) -> dict[str, object]:
    """Parse sniffer header lines (annotations already removed) into event columns."""
    n = len(core)
    head = groups(core, HEADER)
    body = head["body"]
    addr = groups(body, ADDRESSES)
    has_addr = pc.is_valid(addr["src"]).to_numpy(zero_copy_only=False)
    l4 = addr["l4"]

    proto = np.full(n, None, dtype=object)
    # Numbers stay arrow strings until one cast at the end: no Python object per line.
    length = pa.nulls(n, pa.string())
    flags = pa.nulls(n, pa.string())
    seq = pa.nulls(n, pa.string())
    ack = pa.nulls(n, pa.string())
    detail = np.full(n, None, dtype=object)
    kind = np.full(n, "other", dtype=object)
    decided = ~has_addr

    for name, pattern in L4_FORMS:
        m = matches(l4, pattern) & ~decided
        if not m.any():
            continue
        g = groups(l4, pattern)
        am = pa.array(m)
        if name == "udp":
            proto[m] = "udp"
            length = pc.if_else(am, g["length"], length)
        elif name == "ip-proto":
            nums = np.asarray(g["pnum"].to_pylist(), dtype=object)[m]
            proto[m] = [PROTO_NAMES.get(int(x), f"ip-proto-{x}") for x in nums]
            length = pc.if_else(am, g["length"], length)
        elif name == "icmp":
            proto[m] = "icmp"
            kind[m] = "icmp"
            detail[m] = np.asarray(g["detail"].to_pylist(), dtype=object)[m]
        elif name == "tcp":
            proto[m] = "tcp"
            # flag words (`syn `, `fin ack`...) plus `ack` when an ack number is printed
            words = pc.cast(pc.utf8_trim_whitespace(pc.fill_null(g["flags"], "")), pa.string())
            with_ack = pc.if_else(pc.equal(words, ""), "ack", pc.binary_join_element_wise(words, "ack", " "))
            words = pc.if_else(pc.is_valid(g["ack"]), with_ack, words)
            words = pc.if_else(pc.equal(words, ""), pa.scalar(None, pa.string()), words)
            flags = pc.if_else(am, words, flags)
            seq = pc.if_else(am, g["seq"], seq)
            ack = pc.if_else(am, g["ack"], ack)
        decided |= m

    # Lines without addresses: ARP and `truncated-ip`.
    arp = matches(body, r"^arp ")
    kind[arp] = "arp"
    proto[arp] = "arp"
    truncated = matches(body, r"truncated-ip")
    detail[truncated] = "truncated-ip"

    frag = groups(l4, FRAGMENT)
    is_frag = pc.is_valid(frag["frag_id"]).to_numpy(zero_copy_only=False)
    if is_frag.any():
        off = np.asarray(frag["frag_off"].to_pylist(), dtype=object)
        more = np.asarray(frag["frag_more"].to_pylist(), dtype=object)
        fid = np.asarray(frag["frag_id"].to_pylist(), dtype=object)
        detail[is_frag] = [f"frag id={i} off={o}{' more' if mr else ''}" for i, o, mr in
                           zip(fid[is_frag], off[is_frag], more[is_frag])]
        # `ip-proto-17 (frag ...)`: a later fragment carries the protocol but no length
        later = is_frag & np.array([o not in (None, "0") for o in off])
        kind[later] = "ip-fragment"
        first = is_frag & ~later
        kind[first] = "ip-fragment"

    # A mangled number too big for its column is null (regex.to_int), not an error.
    addr["sport"], addr["dport"] = to_int(addr["sport"], pa.int32()), to_int(addr["dport"], pa.int32())
    sport = addr["sport"].to_numpy(zero_copy_only=False)
    dport = addr["dport"].to_numpy(zero_copy_only=False)
    cols = {
        "iface": head["iface"],
        "direction": pc.if_else(pc.equal(head["dir"], "--"), None, head["dir"]),
        "src": addr["src"],
        "dst": addr["dst"],
        "sport": addr["sport"],
        "dport": addr["dport"],
        "proto": pa.array(proto, pa.string()),
        "length": to_int(length, pa.int32()),
        "tcp_flags": flags,
        "tcp_seq": to_int(seq, pa.int64()),
        "tcp_ack": to_int(ack, pa.int64()),
    }
    kind, transport = classify(kind, proto, sport, dport, cols["length"])
    cols["kind"] = pa.array(kind, pa.string())
    cols["transport"] = pa.array(transport, pa.string())
    cols["detail"] = pa.array(detail, pa.string())
    cols["ts_abs"] = head["ts_abs"]
    cols["ts_rel"] = head["ts_rel"]
    return cols


def classify(kind: np.ndarray, proto: np.ndarray, sport: np.ndarray, dport: np.ndarray,
             length: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Name what a packet header line is, from protocol, ports and length alone.

    Without payload bytes, UDP 4500 cannot tell IKE from ESP-in-UDP: a 1-byte datagram is
    a NAT-T keepalive (RFC 3948 §2.3); anything else on 4500 is counted as `esp` unless the
    hex dump decodes it (IKE over 4500 is rare next to ESP after the tunnel is up).
    """
    n = len(kind)
    kind = kind.copy()
    transport = np.full(n, None, dtype=object)
    lens = pc.fill_null(length, -1).to_numpy(zero_copy_only=False)
    sp = np.where(np.isnan(sport.astype(float)), -1, sport.astype(float)) if n else sport
    dp = np.where(np.isnan(dport.astype(float)), -1, dport.astype(float)) if n else dport
    udp = proto == "udp"
    on500 = udp & ((sp == IKE_PORT) | (dp == IKE_PORT))
    on4500 = udp & ((sp == IKE_NATT_PORT) | (dp == IKE_NATT_PORT)) & ~on500
    frag = kind == "ip-fragment"
    kind[on500 & ~frag] = "ike"
    transport[on500] = "udp500"
    keep = on4500 & (lens == 1) & ~frag
    kind[keep] = "nat-keepalive"
    kind[on4500 & ~keep & ~frag] = "esp"
    transport[on4500] = "udp4500"
    esp = proto == "esp"
    kind[esp & ~frag] = "esp"
    transport[esp] = "esp"
    tcp = proto == "tcp"
    kind[tcp & ~frag] = "tcp"
    return kind, transport
