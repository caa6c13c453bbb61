"""FortiGate `diagnose sniffer packet <iface> '<filter>' <verbosity> <count> <a|l|r>` text.

Only the packet header lines are parsed here (hex-dump lines are recognised by
:mod:`ikeanalyze.sources.text` and counted as bytes of the packet above). The grammar is
tcpdump-like but FortiOS-specific (FORMATS.md §1): the port follows the address after a
dot, TCP prints flag words but no flag word for a bare data/ack segment, ESP is
`ip-proto-50 LEN`, NAT-T traffic is plain `udp LEN` on port 4500.

Every field is extracted for the whole column at once with RE2 patterns. Lines of traffic
that cannot be IPsec are counted, not kept: most are found before this parse
(:func:`other_traffic`), the rest after it (:func:`ipsec_rows`), by the same rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze.sources import spans
from ikeanalyze.sources.regex import groups, matches, scatter, to_int
from ikeanalyze.wire.ports import IKE_NATT_PORT, IKE_PORT
from ikeanalyze.wire.tcpencap import six_byte_hits

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

# A header line with addresses, in one pass (most lines); HEADER is the fallback for the
# rest (ARP, `truncated-ip`, `a > b:`), so it runs on few lines.
LINE = (
    rf"^(?:(?P<ts_abs>{TS_ABS})|(?P<ts_rel>{TS_REL})) (?:(?P<iface>\S+) (?P<dir>in|out|--) )?"
    rf"(?P<src>{ADDR})(?:\.(?P<sport>\d+))? -> (?P<dst>{ADDR})(?:\.(?P<dport>\d+))?: +(?P<l4>.*)$"
)

# The L4 summary forms, tried on the text after `src -> dst: `. One row per form: the
# prefix picks the lines a form is tried on (first row whose prefix matches; "" = the
# rest), the pattern's groups map onto event columns.
L4_FORMS: list[tuple[str, str, str]] = [
    ("udp", "udp ", r"^udp (?P<length>\d+)"),
    ("ip-proto", "ip-proto-", r"^ip-proto-(?P<pnum>\d+)(?: (?P<length>\d+))?"),
    ("icmp", "icmp", r"^icmp6?: (?P<detail>.*)$"),
    ("icmp", "[icmp6 sum ok] ", r"^\[icmp6 sum ok\] icmp6: (?P<detail>.*)$"),
    ("tcp", "", r"^(?P<flags>(?:(?:syn|fin|rst|psh|urg) )*)(?P<seq>\d+)?(?: ?ack (?P<ack>\d+))?\s*$"),
]
FRAGMENT = r"\(frag (?P<frag_id>\d+):(?P<frag_len>\d+)@(?P<frag_off>\d+)(?P<frag_more>\+)?\)"

# Decided before any field is extracted (a match costs a fraction of an extraction): a
# datagram or IP-protocol line with no IKE/NAT-T port, no ESP/AH and no fragment is other
# traffic. TCP is left to the stream test of :func:`ipsec_rows`.
PLAIN_TRAFFIC = r" -> \S+: +(?:udp|ip-proto-\d+)\b"
MAYBE_IPSEC = rf"\.(?:{IKE_PORT}|{IKE_NATT_PORT})[ :]|ip-proto-5[01]\b|\(frag "
# What the TCP stream test needs of a TCP line: both endpoints as printed, and the numbers.
TCP_LINE = r"(?P<a>\S+) -> (?P<b>\S+): +(?:(?:syn|fin|rst|psh|urg) )*(?P<seq>\d+)?(?: ?ack (?P<ack>\d+))?\s*$"

# The shape of nearly every line of a busy sniffer run (verbosity 4 and up, IPv4, TCP or
# UDP): :func:`other_traffic` reads these lines' fields by position. Narrower than the
# grammar above on purpose, so that on these lines MAYBE_IPSEC can match only at a port
# (the fraction has 6 digits, the interface no dot) and every number is exact as a float
# (at most 10 digits).
FAST_ENDPOINT = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,5}"
FAST_TCP = r"(?:(?:syn|fin|rst|psh|urg) )*(?:\d{1,10} ack \d{1,10}|\d{1,10}|ack \d{1,10})"
FAST_LINE = (rf"^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{{6}} [\w-]+ (?:in|out|--) "
             rf"{FAST_ENDPOINT} -> {FAST_ENDPOINT}: (?:udp \d{{1,10}}|{FAST_TCP})$")
_IPSEC_UDP = [IKE_PORT, IKE_NATT_PORT]

# IANA protocol numbers the sniffer prints as `ip-proto-N`.
PROTO_NAMES = {50: "esp", 51: "ah", 17: "udp", 6: "tcp", 1: "icmp", 2: "igmp", 47: "gre", 89: "ospf"}


def parse(core: pa.Array) -> dict[str, object]:
    """Parse sniffer header lines (annotations already removed) into event columns."""
    n = len(core)
    addr = groups(core, LINE)
    has_addr = pc.is_valid(addr["src"]).to_numpy(zero_copy_only=False)
    head = {k: addr[k] for k in ("ts_abs", "ts_rel", "iface", "dir")}
    rest = np.flatnonzero(~has_addr)
    body = pa.nulls(n, pa.string())
    if len(rest):
        other = groups(core.take(pa.array(rest)), HEADER)
        head = {k: scatter(v, rest, other[k]) for k, v in head.items()}
        body = scatter(body, rest, other["body"])
    l4 = addr["l4"]

    proto = np.full(n, None, dtype=object)
    # Numbers stay arrow strings until one cast at the end: no Python object per line.
    length = pa.nulls(n, pa.string())
    flags = pa.nulls(n, pa.string())
    seq = pa.nulls(n, pa.string())
    ack = pa.nulls(n, pa.string())
    detail = np.full(n, None, dtype=object)
    kind = np.full(n, "other", dtype=object)
    untried = has_addr.copy()

    for name, prefix, pattern in L4_FORMS:
        tried = untried & (pc.fill_null(pc.starts_with(l4, prefix), False).to_numpy(zero_copy_only=False)
                           if prefix else True)
        untried &= ~tried
        rows = np.flatnonzero(tried)
        if not len(rows):
            continue
        text = l4.take(pa.array(rows))
        hit = matches(text, pattern)
        rows = rows[hit]
        if not len(rows):
            continue
        g = groups(text.filter(pa.array(hit)), pattern)
        m = np.zeros(n, bool)
        m[rows] = True
        if name == "udp":
            proto[m] = "udp"
            length = scatter(length, rows, g["length"])
        elif name == "ip-proto":
            proto[m] = [PROTO_NAMES.get(int(x), f"ip-proto-{x}") for x in g["pnum"].to_pylist()]
            length = scatter(length, rows, g["length"])
        elif name == "icmp":
            proto[m] = "icmp"
            kind[m] = "icmp"
            detail[m] = g["detail"].to_pylist()
        elif name == "tcp":
            proto[m] = "tcp"
            # flag words (`syn `, `fin ack`...) plus `ack` when an ack number is printed
            words = pc.cast(pc.utf8_trim_whitespace(pc.fill_null(g["flags"], "")), pa.string())
            with_ack = pc.if_else(pc.equal(words, ""), "ack", pc.binary_join_element_wise(words, "ack", " "))
            words = pc.if_else(pc.is_valid(g["ack"]), with_ack, words)
            words = pc.if_else(pc.equal(words, ""), pa.scalar(None, pa.string()), words)
            flags = scatter(flags, rows, words)
            seq = scatter(seq, rows, g["seq"])
            ack = scatter(ack, rows, g["ack"])

    # Lines without addresses: ARP and `truncated-ip`.
    arp = matches(body, r"^arp ")
    kind[arp] = "arp"
    proto[arp] = "arp"
    truncated = matches(body, r"truncated-ip") | matches(l4, r"truncated-ip")
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


def other_traffic(core: pa.Array, tcp_ports: tuple[int, ...] = (), rows: np.ndarray | None = None,
                  fast: np.ndarray | None = None) -> np.ndarray:
    """Which header lines (``rows`` of ``core``, default all) are certainly not IPsec,
    decided before the full parse (a busy link's DNS and HTTPS is most of an unfiltered
    sniffer run): the decision of :func:`ipsec_rows`, from less.

    Lines of the common shape (:data:`FAST_LINE`) have their endpoints, ports and numbers
    read by byte position (:mod:`ikeanalyze.sources.spans`); the others by the patterns
    (UDP on other ports and other IP protocols: two matches; TCP: one extraction of the two
    endpoints and the numbers). Then the stream test runs on the TCP lines of both.
    ``fast``: which rows match FAST_LINE, when the caller knows already."""
    rows = np.arange(len(core)) if rows is None else np.asarray(rows, np.int64)
    out = np.zeros(len(rows), bool)
    if not len(rows):
        return out
    if fast is None:
        fast = _on_rows(core, rows, lambda a: matches(a, FAST_LINE))
    f = _fast_fields(core, rows[fast])
    s = _slow_fields(core.take(pa.array(rows[~fast])))
    f_at, s_at = np.flatnonzero(fast), np.flatnonzero(~fast)
    out[f_at] = f["plain"] & ~f["maybe"]
    out[s_at] = s["plain"] & ~s["maybe"]
    tcp = np.concatenate([f_at[f["tcp"]], s_at[s["tcp"]]])
    if not len(tcp):
        return out
    # Endpoint texts, as numbers equal exactly when the texts are: both lanes in one space.
    ca, sa, cb, sb = spans.texts_ids([f["src"], s["src"], f["dst"], s["dst"]])
    ca, cb = np.concatenate([ca, sa]), np.concatenate([cb, sb])
    sid, side = _pairs(ca, cb)
    seq, ack = (np.concatenate([f[k], s[k]]) for k in ("seq", "ack"))
    hits = six_byte_hits(sid, side, seq, ack)
    in_stream = np.isin(sid, np.unique(sid[hits]))
    ports = {IKE_NATT_PORT, *tcp_ports}
    n_fast = len(f["seq"])
    for i in np.flatnonzero(hits):  # where the client sent its prefix: the server
        port = (f["dst_text"](i) if i < n_fast else s["dst_text"](i - n_fast)).rpartition(".")[2]
        if port.isdigit():
            ports.add(int(port))
    on_port = np.concatenate([f["on_port"](ports), s["on_port"](ports)])
    keep = in_stream | on_port
    maybe = np.concatenate([f["maybe"][f["tcp"]], s["maybe"][s["tcp"]]])
    out[tcp[~keep & ~maybe]] = True
    return out


def _on_rows(core: pa.Array, rows: np.ndarray, fn) -> np.ndarray:
    """``fn`` (a whole-column function) of the lines at ``rows``: run on the whole column
    when they are most of it (a take would copy most of the text), else on their copy."""
    if 2 * len(rows) > len(core):
        return fn(core)[rows]
    return fn(core.take(pa.array(rows)))


def _fast_fields(core: pa.Array, rows: np.ndarray) -> dict:
    """What the decision needs of :data:`FAST_LINE` lines, by byte position: the pattern
    has proved the shape, so `src` is the word before the one ` -> `, `dst` runs from after
    it to the first `:`, and a TCP line ends in its sequence number or in `ack` and the
    acknowledged one. MAYBE_IPSEC can match only at the two ports, so it is a test of
    how the endpoints end (as is the stream test's port test)."""
    b = spans.Bytes(core)
    start, end = b.start[rows], b.end[rows]
    arrow = start + _on_rows(core, rows, lambda a: pc.find_substring(a, " -> ").to_numpy(zero_copy_only=False))
    src0 = spans.rfind(b, arrow, 24, ord(" ")) + 1  # an endpoint has at most 21 bytes
    dst0 = arrow + 4
    colon = spans.find(b, dst0, 24, ord(":"))
    plain = spans.starts(b, colon + 2, b"udp ")
    maybe = np.zeros(len(rows), bool)
    for port in _IPSEC_UDP:
        maybe |= spans.ends(b, arrow, b".%d" % port) | spans.ends(b, colon, b".%d" % port)
    tcp = ~plain
    start, end, src0, dst0, colon, arrow = (x[tcp] for x in (start, end, src0, dst0, colon, arrow))
    last, n = spans.number_before(b, end, start)
    acked = spans.starts(b, end - n - 4, b"ack ")
    before, _ = spans.number_before(b, end - n - 5, start)  # `SEQ ack ACK`: a space between
    seq = np.where(acked, before, last)
    ack = np.where(acked, last, np.nan)

    def on_port(ports: set[int]) -> np.ndarray:  # `\.(?:PORTS)$` of either endpoint
        out = np.zeros(len(arrow), bool)
        for port in ports:
            out |= spans.ends(b, arrow, b".%d" % port) | spans.ends(b, colon, b".%d" % port)
        return out

    return {"plain": plain, "maybe": maybe, "tcp": tcp, "src": (b, src0, arrow), "dst": (b, dst0, colon),
            "seq": seq, "ack": ack, "on_port": on_port, "dst_text": lambda i: b.text(dst0[i], colon[i])}


def _slow_fields(sub: pa.Array) -> dict:
    """What the decision needs of the other lines, by the patterns."""
    maybe = matches(sub, MAYBE_IPSEC)
    plain = matches(sub, PLAIN_TRAFFIC)
    tcp = ~(plain & ~maybe) & matches(sub, TCP_LINE)
    # The fields as extracted (every line matched: endpoints are never empty) rather than
    # regex.groups' null-for-empty copies of them.
    found = pc.extract_regex(sub.filter(pa.array(tcp)), TCP_LINE) if tcp.any() else None
    if found is None:
        empty = pa.array([], pa.large_string())
        a = b = empty
        seq = ack = np.zeros(0)
    else:
        a, b = found.field("a").cast(pa.large_string()), found.field("b").cast(pa.large_string())
        seq, ack = (pc.cast(pc.if_else(pc.equal(x, ""), None, x), pa.float64()).to_numpy(zero_copy_only=False)
                    for x in (found.field("seq"), found.field("ack")))
    ba, bb = spans.Bytes(a), spans.Bytes(b)

    def on_port(ports: set[int]) -> np.ndarray:
        pattern = rf"\.(?:{'|'.join(str(p) for p in sorted(ports))})$"
        return matches(a, pattern) | matches(b, pattern)

    return {"plain": plain, "maybe": maybe, "tcp": tcp, "src": (ba, ba.start, ba.end), "dst": (bb, bb.start, bb.end),
            "seq": seq, "ack": ack, "on_port": on_port, "dst_text": lambda i: b[int(i)].as_py()}


def _pairs(ca: np.ndarray, cb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A TCP line's stream (the unordered pair of its endpoints) and sender side, from the
    two endpoints' ids."""
    m = int(max(ca.max(), cb.max())) + 1
    sid, _ = pd.factorize(np.minimum(ca, cb) * m + np.maximum(ca, cb))
    return sid.astype(np.int64), ca < cb


def ipsec_rows(cols: dict[str, pa.Array], tcp_ports: tuple[int, ...] = ()) -> np.ndarray:
    """Which parsed header lines can be IPsec evidence; the rest is other traffic, counted
    but not kept as events, as the capture reader does with frames (busy HTTPS and DNS
    would otherwise be most of the event table of a sniffer run without a filter).

    Kept: IKE, ESP, AH, NAT-T, fragments, ICMP, ARP, lines without addresses; and TCP of a
    stream that may carry IKE: one whose client advanced its sequence by exactly 6 (the
    `IKETCP` prefix, see :func:`ikeanalyze.wire.tcpencap.six_byte_hits`), or any
    stream on TCP 4500, on an `--ike-tcp-port`, or on the server port of such a stream (a
    reset connection to the IKE-over-TCP port is IKE110's evidence). Dropped: UDP on other
    ports and other IP protocols, and the remaining TCP."""
    kind = cols["kind"].to_numpy(zero_copy_only=False)
    proto = cols["proto"].to_numpy(zero_copy_only=False)
    keep = ~(((kind == "other") & (proto != None) & (proto != "ah")) | (kind == "tcp"))  # noqa: E711
    tcp = np.flatnonzero(kind == "tcp")
    if not len(tcp):
        return keep
    take = pa.array(tcp)
    sport = pc.fill_null(cols["sport"].take(take), -1).to_numpy().astype(np.int64)
    dport = pc.fill_null(cols["dport"].take(take), -1).to_numpy().astype(np.int64)
    ends = [pc.binary_join_element_wise(pc.cast(cols[a].take(take), pa.string()), pc.cast(cols[p].take(take), pa.string()),
                                        ".") for a, p in (("src", "sport"), ("dst", "dport"))]
    ba, bb = (spans.Bytes(e) for e in ends)
    sid, side = _pairs(*spans.texts_ids([(ba, ba.start, ba.end), (bb, bb.start, bb.end)]))
    seq = pc.cast(cols["tcp_seq"].take(take), pa.float64()).to_numpy(zero_copy_only=False)
    ack = pc.cast(cols["tcp_ack"].take(take), pa.float64()).to_numpy(zero_copy_only=False)
    hits = six_byte_hits(sid, side, seq, ack)
    in_stream = np.isin(sid, np.unique(sid[hits]))
    ports = np.unique(np.concatenate([dport[hits], [IKE_NATT_PORT], list(tcp_ports)]))
    keep[tcp] = in_stream | np.isin(sport, ports) | np.isin(dport, ports)
    return keep
