"""Plain `tcpdump` text (4.9–4.99, `-n` or not): the other end's view of the wire.

An engineer on the peer (strongSwan/libreswan on Linux, a Palo Alto or Check Point expert
shell, a jump host on the path) pastes what `tcpdump -i <if> udp port 500 or udp port 4500
or esp` printed. Each packet line becomes the same event columns the FortiGate sniffer's
header lines give (:mod:`ikeanalyze.sources.sniffer`), plus what tcpdump's own printers
name: the IKE version, exchange, I/R flags and message id (print-isakmp.c), the ESP SPI
and sequence number (print-esp.c), the NAT-T demultiplexing of UDP 4500 (print-udp.c).

The grammar differs from the sniffer's in ways that keep the two apart: tcpdump writes
`src > dst:` where the sniffer writes `src -> dst:`, and it always names the network
layer (`IP`, `IP6`, `ethertype IPv4 (0x0800)` with `-e`) before the addresses.

Every field is extracted for the whole column with RE2 patterns: one for the line
(:data:`LINE`), then the summary forms of :data:`L4_FORMS`, each tried on the lines its
prefix picks, as in the sniffer.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze import events as ev
from ikeanalyze.sources import sniffer
from ikeanalyze.sources.regex import forms, groups, groups_at, hex_to_int, matches, scatter, to_int
from ikeanalyze.wire import iana
from ikeanalyze.wire.ports import IKE_NATT_PORT, IKE_PORT
from ikeanalyze.words import counted

# Time stamps: default `HH:MM:SS.ffffff` (time of day), `-tttt` `YYYY-MM-DD HH:MM:SS.ffffff`,
# `-tt` seconds since the epoch; `-t` none. `-ttt` (since the previous packet) and `-ttttt`
# (since the first) print the time of day's shape from 00:00:00.000000, in 4.99 after a
# blank, or after `-` for a packet older than the one it is counted from, with the hours
# wrapped at 24 (4.9: not wrapped); which of the three a paste holds is decided from all of
# its stamps (:func:`_stamp_form`).
STAMP = (r"(?:(?P<ts_date>\d{4}-\d\d-\d\d) (?P<ts_hms>\d\d:\d\d:\d\d\.\d+)|(?P<ts_tod>-?\d{2,}:\d\d:\d\d\.\d+)"
         r"|(?P<ts_epoch>\d+\.\d+)) +")
# The interface of `-i any` (SLL2). An interface index the capturing host cannot name (a
# container's or another namespace's, print-sll.c) prints as `?` padded to 5 (`?     Out IP
# ...`): the interface is then unknown, the direction is not.
UNNAMED_IFACE = "?"
IFACE = r"[\w.@:-]+|\?"
# An MPLS label stack before the IP packet (see LINK).
MPLS_LABELS = r"MPLS(?: \(label \d+, exp \d+(?:, \[S\])?, ttl \d+\))+ "
CLOCK = r"^(?P<sign>-)?(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d\.\d+)$"
# Where a stamped packet line starts inside a line: several run together on one line is a
# web copy that lost its line breaks (text.py reads each as an event of that line).
RECORD_ANYWHERE = (r"(?:\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}|\b\d\d:\d\d:\d\d\.\d{6}|\b\d{9,10}\.\d{6}) +"
                   rf"(?:(?:{IFACE}) +)?(?:(?:In|Out|B|M|P) +)?(?:{MPLS_LABELS})?IP6? ")
# How the stamps of the time of day's shape are told apart. A clock goes back only where it
# passes midnight (by nearly a day), and a capture's reordered packets by little (`-ttttt`
# too, which otherwise only grows); `-ttt` goes back about every other line.
HALF_DAY = 43200.0  # a step back by more passed midnight (or 24 h of `-ttttt`)
LAST_HOUR = 1e6  # a time of day or `-ttt`/`-ttttt` delta past a million hours (114 years) is a mangled line
LAST_EPOCH = ev.TIME_MAX_US / 1e6  # 2262-04-11, the last time the event table holds: a later `-tt` stamp is mangled
REORDERED = 1.0  # s: a step back by more is no capture's reordering
DELTA_FALLS = 0.05  # `-ttt` when at least this share of the steps go back
SURE_FALLS = 3  # and no doubt left when they go back this many times (fewer: reordered `-ttttt`?)
# Stamps that only grow could still be `-ttt` of ever longer waits (a retransmission's
# back-off). `-ttttt` of a conversation shows packets within a millisecond of each other
# after the first second (a request and its answer, a burst); `-ttt` could only show that
# as two equal waits, a clock's tick or two.
BURST = 1e-3
# `-i any` (Linux cooked capture): `eth0  In  IP ...` (SLL2: the interface, then the packet
# type padded to 3) or ` In  IP ...` (SLL1: the type only).
COOKED = rf"(?:(?P<iface>{IFACE}) +)?(?P<dir>In|Out|B|M|P) +"
# The network layer as tcpdump names it: `IP `/`IP6 ` (with `-v`, IPv6's header fields in
# parentheses on the same line); with `-e` the link-level header ends in
# `ethertype IPv4 (0x0800), length N: ` and no `IP` follows.
# 802.1Q/QinQ tags come between (`ethertype 802.1Q (0x8100), length 258: vlan 100, p 0,
# ethertype IPv4 (0x0800), `, the length only after the first ethertype); BSD loopback
# prints `AF IPv4 (2), length 408: `; a raw-IP link `ip: `.
# An MPLS label stack (print-mpls.c; a provider core, a mirror of one) comes after its
# ethertype, each label in parentheses (`ethertype MPLS unicast (0x8847), length 830: MPLS
# (label 16013, exp 0, ttl 63) (label 16, exp 0, [S], ttl 63) `), and the IP packet under it
# follows without the `IP` word with `-e`, with it otherwise (`MPLS (label 18, exp 0, [S],
# ttl 255) IP 203.0.113.1 > ...`). (`-v` puts each further label on a line of its own: not read.)
TAGS = r"[\w:.>, -]*?(?:ethertype 802\.1Q\S* \(0x[0-9a-fA-F]{4}\), (?:length \d+: )?vlan \d+, p \d+, )*"
LINK = (rf"(?:{TAGS}ethertype IPv[46] \(0x[0-9a-fA-F]{{4}}\), (?:length \d+: )?"
        rf"|{TAGS}ethertype MPLS \w+ \(0x884[78]\), (?:length \d+: )?{MPLS_LABELS}|{MPLS_LABELS}IP6? "
        r"|AF IPv[46] \(\d+\), length \d+: |ip6?: )")
# With `-v`, the IP header's fields in parentheses follow (`IP (tos 0x0, ttl 64, ...,
# proto UDP (17), length 404)`); IPv4's addresses then go on the next, indented line, which
# the text reader joins on (blanks kept).
IP_FIELDS = r"\((?:[^()]|\([^()]*\))*\)"
NET = rf"(?:{LINK}|IP6? )(?:{IP_FIELDS} +)?"
# `src > dst: summary`; the checksum note of `-v` (`[bad udp cksum 0x0765 -> 0xf5df!]`,
# `[udp sum ok]`, `[no cksum]`; ICMPv6's `[icmp6 sum ok]`, print-icmp6.c) is not part of the summary.
# A snapped packet's summary may follow two blanks (`10.3.2.7 > 10.55.3.193:  [|esp]`).
# A host a poster replaced by a placeholder in angle brackets (`<client-ip>.47547`) is read
# whole, as `x.x.x.x` is: its `>` does not end it.
# The summary ends at the line's end, or at the first of the lines of payload detail
# `-v` prints under it (joined with newlines).
ENDPOINTS = (r"(?P<a>(?:<[\w-]+>|[^\s<>])+) > (?P<b>\S+):(?: +(?:\[(?:bad udp cksum [^\]]*|udp sum ok|no cksum"
             r"|bad icmp6 cksum [^\]]*|icmp6 sum ok)\] )?(?P<l4>[^\n]*))?(?:\n|$)")
LINE = rf"^(?:{STAMP})?(?:{COOKED})?{NET}{ENDPOINTS}"
# ARP has no addresses in `a > b` form: `ARP, Request who-has 192.1.2.23 tell 192.1.2.254, length 28`.
# With `-e` the link header names ARP and the summary follows (`..., ethertype ARP (0x0806),
# length 42: Request who-has ...`).
LINK_ARP = r"[\w:.>, -]*?ethertype ARP \(0x0806\), length \d+: "
ARP = rf"^(?:{STAMP})?(?:{COOKED})?(?:{LINK_ARP}(?:ARP, )?|ARP, )"

# The first line of an IPv4 packet with `-v`: the addresses follow on the next line.
V_HEAD = rf"(?:{LINK}|IP )(?:{IP_FIELDS})\s*$"
V_LINE = rf"^(?:{STAMP})?(?:{COOKED})?{V_HEAD}"
# With `-v`, an ICMP error (print-icmp.c ICMP_ERRTYPE: destination unreachable, source quench,
# redirect, time exceeded, parameter problem) is followed by the datagram it quotes: a newline
# and a tab, then that datagram as a `-v` packet prints (`IP (tos ...)`, `(tos ...)` with `-e`,
# and its addresses and summary on the next, indented line). It is part of the ICMP packet
# (text.py joins it on), never a packet of its own. The summaries, in print-icmp.c's words
# (`172.16.10.1 udp port 4500 unreachable`, `net ... unreachable - admin prohibited`,
# `redirect ... to host ...`, `time exceeded in-transit`, `ip reassembly time exceeded`):
ICMP_ERRORS = (r"\S.*unreachable", r"source quench", r"redirect", r"time exceeded", r"ip reassembly time exceeded",
               r"parameter problem")
ICMP_ERROR = rf"(?:^|\s)\S+ > \S+: ICMP (?:{'|'.join(ICMP_ERRORS)})"
# The quoted datagram's first line: indented (a tab as printed; blanks where a copy turned
# it into spaces), no stamp, its IP header's `-v` fields.
QUOTED_HEAD = r"^[ \t]+(?:IP )?\(tos 0x"
# The first line of an IPv4 `-v` packet that a wrap broke inside its parentheses (a
# terminal at 80 columns cuts `..., flags [DF], pr` / `oto UDP (17), length 870)`; a mail
# client at 72 breaks at a blank): its rest follows on the next line(s), joined by text.py
# up to the closing parenthesis (v_rest_separator).
V_OPEN_HEAD = rf"(?:{LINK}|IP )\(tos 0x(?:[^()]|\([^()]*\))*(?:\([^()]*)?$"
V_OPEN = rf"^(?:{STAMP})?(?:{COOKED})?{V_OPEN_HEAD}"
# A line starts a tcpdump packet record when it matches this (used by the line classifier).
# Never a sniffer line: those have `->` between the addresses and no `IP`/`ethertype` word.
HEADER_START = (rf"^(?:{STAMP})?(?:{COOKED})?(?:{NET}(?:<[\w-]+>|[^\s<>])+ > \S+:(?: |$)"
                rf"|{LINK_ARP}(?:ARP, )?|ARP, |{V_HEAD}|{V_OPEN_HEAD})")
# The words of an IPv4 `-v` header (print-ip.c): its field names, a protocol's name, a
# number, a hex value, the flags in brackets, a protocol number in parentheses.
V_WORD = re.compile(r"(?:tos|ttl|id|offset|flags|proto|length|bad|cksum|options|[A-Z][A-Z0-9-]*|\(?\d+\)?"
                    r"|0x[0-9a-f]+|\[[^\]\s]*\]|->)[,!)]*")


def v_rest_separator(head: str, rest: str) -> str:
    """How the ``rest`` of a `-v` first line (V_OPEN) joins the ``head`` a wrap left: as is
    where the break fell inside a word (a terminal cuts at its width: `pr` / `oto`, `id 40` /
    `97,`), with a blank where a mail client's wrap took one (`offset 0,` / `flags [DF]`,
    `ttl` / `64,`): no two words of the header run together as one it holds."""
    if not head.strip() or head[-1].isspace() or not rest.strip() or rest[0].isspace():
        return ""
    a, b = head.rsplit(None, 1)[-1], rest.split(None, 1)[0]
    return "" if V_WORD.fullmatch(a + b) and not a.endswith(",") else " "

# The summary forms, tried on the text after `src > dst: `. One row per form: the prefix
# picks the lines a form is tried on (first row whose prefix matches), the pattern's groups
# map onto event columns.
IKE_HEADER = (r"isakmp(?: (?P<major>\d)\.\d+)?(?: msgid (?P<msgid>[0-9a-f]{8})?)?"
              r"(?: cookie (?P<ispi>[0-9a-f]{16})->(?P<rspi>[0-9a-f]{16}))?:"
              r"(?: phase (?P<phase>1|2/others) (?P<role>[IR?]) (?P<v1x>[\w-]+|#\d+)(?:\[(?P<v1flags>[EC]*)\])?"
              r"| (?P<sa>parent_sa|child_sa) +(?P<v2x>[\w-]+|#\d+)(?P<v2br>\[(?P<v2flags>[IVR]*)\])?)?")
ESP = (r"ESP\(spi=0x(?P<spi>[0-9A-Fa-f]{1,8}),seq=0x(?P<eseq>[0-9A-Fa-f]{1,16})\)"
       r"(?:, length (?P<length>\d+))?")
L4_FORMS: list[tuple[str, str, str]] = [
    ("keepalive", "isakmp-nat-keep-alive", r"^isakmp-nat-keep-alive"),
    ("ike", "isakmp", rf"^{IKE_HEADER}"),
    ("ike", "NONESP-encap: ", rf"^NONESP-encap: {IKE_HEADER}"),
    ("ike", "NONESP-encap: ", r"^NONESP-encap: +(?P<snapped>\[\|isakmp\])"),  # snapped to the marker (4.99: 2 blanks)
    ("ike", "[|isakmp]", r"^(?P<snapped>\[\|isakmp\])"),
    ("esp-in-udp", "UDP-encap: ", rf"^UDP-encap: +(?:{ESP}|\[\|esp\])"),
    ("esp", "ESP(", rf"^{ESP}"),
    ("esp", "[|esp]", r"^\[\|esp\]"),  # snapped before the SPI
    # Authentication header around ESP (both protocols), or around anything else.
    ("esp", "AH(", rf"^AH\([^)]*\): {ESP}"),
    ("ah", "AH(", r"^AH\("),
    ("udp", "UDP, ", r"^UDP, (?:bad )?length (?P<length>\d+)"),
    ("tcp", "Flags [", r"^Flags \[(?P<tflags>[^\]]*)\](?:, cksum 0x[0-9a-f]+ \([^)]*\))?(?:, seq (?P<seq>\d+)(?::\d+)?)?"
                       r"(?:, ack (?P<ack>\d+))?"
                       r"(?:.*, length (?P<length>\d+))?"),
    # (`-v` notes a bad checksum after the length: ` (wrong icmp cksum 0 (->eb44)!)`, print-icmp.c.)
    ("icmp", "ICMP", r"^ICMP6?,? (?P<detail>.*?)(?:, length (?P<length>\d+)(?: \(wrong icmp cksum [^()]*\([^()]*\)!\))?)?$"),
    # A later IP fragment (offset > 0): no transport header to print, so the protocol alone,
    # by number (`-n`) or by its /etc/protocols name, and no length (print-ip.c; the
    # protocol of a whole packet tcpdump has no printer for is followed by its length).
    ("later-fragment", "ip-proto-", r"^ip-proto-(?P<pnum>\d+)$"),
    ("ip-proto", "ip-proto-", r"^ip-proto-(?P<pnum>\d+)(?: (?P<length>\d+))?"),
    ("later-fragment", "", rf"^(?P<pname>{'|'.join(sniffer.PROTO_NAMES.values())})$"),
]
# IP fragments. The first prints as a whole packet would, cut where its bytes end (or with
# `UDP, bad length`), a later one as the protocol alone (the `later-fragment` forms above):
# without `-v` a later piece is told by its form, and its first piece is the line before it
# from the same source to the same destination, of its protocol. `-v` prints the IP
# header's numbers (`IP (tos 0x0, ttl 64, id 100, offset 1480, flags [none], proto UDP
# (17), length 652)`; the TTL only when not 0, padded to 3 in 3.9); builds before that appended
# `(frag id:len@off[+])` to the summary (:data:`sniffer.FRAGMENT`).
# IPv6 (print-frag6.c) prints the fragment header in the summary, with its id only with -v:
# `frag (0|1232) 4500 > 4500: NONESP-encap: isakmp: ...` (a first piece: its transport's
# summary follows, the ports without the addresses), `frag (0x00000064:1232|880)`.
V6_FRAGMENT = (r"^frag \((?:0x(?P<v6id>[0-9a-f]+):)?(?P<v6off>\d+)\|\d+\)"
               r"(?: (?:(?P<v6sport>[\w-]+) > (?P<v6dport>[\w-]+): )?(?P<v6rest>.+))?$")
V_FRAGMENT = (rf"^(?:{STAMP})?(?:{COOKED})?(?:{LINK}|IP )\(tos 0x[0-9a-f]+\S*(?:, ttl +\d+)?, "
              r"id (?P<frag_id>\d+), offset (?P<frag_off>\d+), flags \[(?P<frag_flags>[^\]]*)\]")
# What a fragment's pieces can carry of IPsec (UDP 500/4500, ESP, AH); pieces of other
# protocols are other traffic, as in the capture reader.
FRAGMENT_PROTOS = ("udp", "esp", "ah")

# Forms whose endpoints end in a port (`198.51.100.1.500`, `gw.example.net.isakmp`).
PORTED = ("keepalive", "ike", "esp-in-udp", "udp", "tcp")
# An endpoint with its port; the second is for lines of other forms, where only a numeric
# address followed by a numeric port can be told from an address alone.
PORTED_ENDPOINT = r"^(?P<addr>.+)\.(?P<port>\d+|[A-Za-z][\w-]*)$"
NUMERIC_ENDPOINT = r"^(?P<addr>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9A-Fa-f]*:[0-9A-Fa-f:]*)\.(?P<port>\d+)$"
# Port names tcpdump prints without `-n` (from /etc/services), for the ports IKE uses.
# (`ipsec-msft` is 4500's name in some services files.)
PORT_NAMES = {"isakmp": IKE_PORT, "ipsec-nat-t": IKE_NATT_PORT, "ipsec-msft": IKE_NATT_PORT}

# tcpdump's exchange-type names (print-isakmp.c `etypestr`) → IANA exchange numbers; an
# unnamed type prints as `#N`.
ETYPES = {"none": 0, "base": iana.EXCHANGE_V1_BASE, "ident": iana.EXCHANGE_V1_IDENTITY_PROTECTION,
          "auth": iana.EXCHANGE_V1_AUTH_ONLY, "agg": iana.EXCHANGE_V1_AGGRESSIVE,
          "inf": iana.EXCHANGE_V1_INFORMATIONAL, "oakley-quick": iana.EXCHANGE_V1_QUICK_MODE,
          "oakley-newgroup": iana.EXCHANGE_V1_NEW_GROUP_MODE, "ikev2_init": iana.EXCHANGE_IKE_SA_INIT,
          "ikev2_auth": iana.EXCHANGE_IKE_AUTH, "child_sa": iana.EXCHANGE_CREATE_CHILD_SA,
          "inf2": iana.EXCHANGE_INFORMATIONAL}
# TCP flag characters as tcpdump prints them in `Flags [...]`, and the sniffer's words.
TCP_FLAGS = [("S", "syn"), ("F", "fin"), ("R", "rst"), ("P", "psh"), ("U", "urg"), (".", "ack")]
DIRECTIONS = {"In": "in", "Out": "out"}


def parse(core: pa.Array) -> dict[str, object]:
    """Parse tcpdump packet lines (annotations already removed) into event columns."""
    n = len(core)
    line = {k: v.cast(pa.string()) for k, v in groups(core, LINE).items()}
    # An IPv6 fragment's summary starts with its fragment header; a first piece's own
    # follows, its ports before it: read as `a.port > b.port: summary`.
    frag6 = np.flatnonzero(pc.fill_null(pc.starts_with(line["l4"], "frag ("), False).to_numpy(zero_copy_only=False))
    v6 = groups_at(line["l4"], frag6, V6_FRAGMENT)
    for end, port in (("a", "v6sport"), ("b", "v6dport")):
        line[end] = pc.if_else(pc.is_valid(v6[port]), pc.binary_join_element_wise(line[end], v6[port], "."), line[end])
    l4 = pc.if_else(pc.is_valid(v6["v6off"]), v6["v6rest"], line["l4"])
    has_addr = pc.is_valid(line["a"]).to_numpy(zero_copy_only=False)

    form = np.full(n, None, dtype=object)
    proto = np.full(n, None, dtype=object)
    kind = np.full(n, "other", dtype=object)
    detail = np.full(n, None, dtype=object)
    length = pa.nulls(n, pa.string())
    flags = pa.nulls(n, pa.string())
    seq = pa.nulls(n, pa.string())
    ack = pa.nulls(n, pa.string())
    esp_spi = pa.nulls(n, pa.string())
    esp_seq = pa.nulls(n, pa.int64())
    ike = {k: pa.nulls(n, pa.string()) for k in ("major", "msgid", "ispi", "rspi", "phase", "v1x", "v2x", "v2br", "v2flags")}
    untried = has_addr.copy()

    # Several forms share a prefix (`NONESP-encap: `, `AH(`): a line goes on to the next
    # form until one matches.
    for name, rows, g in forms(l4, L4_FORMS, untried, exclusive=False):
        form[rows] = name
        if "length" in g:
            length = scatter(length, rows, g["length"])
        if name in ("ike", "keepalive", "udp", "esp-in-udp"):
            proto[rows] = "udp"
        if name == "ike":
            kind[rows] = "ike"
            for k in ike:
                if k in g:
                    ike[k] = scatter(ike[k], rows, g[k])
        elif name == "keepalive":
            kind[rows] = "nat-keepalive"
            length = scatter(length, rows, pa.repeat(pa.scalar("1"), len(rows)))  # RFC 3948 §2.3: the 0xFF byte
        elif name in ("esp", "esp-in-udp"):
            kind[rows] = "esp"
            proto[rows] = "esp" if name == "esp" else "udp"
            if "spi" in g:
                spi, eseq = sniffer.esp_ids(g)
                esp_spi, esp_seq = scatter(esp_spi, rows, spi), scatter(esp_seq, rows, eseq)
        elif name == "icmp":
            proto[rows] = "icmp"
            kind[rows] = "icmp"
            detail[rows] = g["detail"].to_pylist()
        elif name == "ah":
            proto[rows] = "ah"
        elif name == "ip-proto" or (name == "later-fragment" and "pnum" in g):
            proto[rows] = [sniffer.PROTO_NAMES.get(int(x), f"ip-proto-{x}") for x in g["pnum"].to_pylist()]
        elif name == "later-fragment":
            proto[rows] = g["pname"].to_pylist()
        elif name == "tcp":
            proto[rows] = "tcp"
            flags = scatter(flags, rows, _flag_words(g["tflags"]))
            seq = scatter(seq, rows, g["seq"])
            ack = scatter(ack, rows, g["ack"])

    arp = matches(core, ARP) & ~has_addr
    kind[arp] = "arp"
    proto[arp] = "arp"

    src, sport = _endpoints(line["a"], form)
    dst, dport = _endpoints(line["b"], form)
    is_frag, notes = _fragments(core, l4, v6, form == "later-fragment", proto, src, dst, sport, dport)
    detail[is_frag] = notes
    kind[is_frag] = "ip-fragment"
    cols = {
        "iface": pc.if_else(pc.equal(line["iface"], UNNAMED_IFACE), pa.scalar(None, pa.string()), line["iface"]),
        # `In`/`Out` of `-i any` (DIRECTIONS); `B`, `M`, `P` and no word: unknown.
        "direction": pa.array([*DIRECTIONS.values(), None], pa.string()).take(
            pc.fill_null(pc.index_in(line["dir"], pa.array(list(DIRECTIONS))), len(DIRECTIONS))),
        "src": src,
        "dst": dst,
        "sport": sport,
        "dport": dport,
        "proto": pa.array(proto, pa.string()),
        "length": to_int(length, pa.int32()),
        "tcp_flags": flags,
        "tcp_seq": to_int(seq, pa.int64()),
        "tcp_ack": to_int(ack, pa.int64()),
    }
    sp = sport.to_numpy(zero_copy_only=False)
    dp = dport.to_numpy(zero_copy_only=False)
    named, transport = sniffer.classify(kind.copy(), proto, sp, dp, cols["length"])
    # What tcpdump named (IKE, NAT keepalive, ESP) stays named; the rest by ports and length.
    kind = np.where(np.isin(kind, ["ike", "nat-keepalive", "esp", "icmp", "arp", "ip-fragment"]), kind, named)
    cols["kind"] = pa.array(kind, pa.string())
    cols["transport"] = pa.array(transport, pa.string())
    cols["detail"] = pa.array(detail, pa.string())
    cols["esp_spi"] = esp_spi
    cols["esp_seq"] = esp_seq
    cols.update(_ike_columns(ike))
    # The stamps of every line (an ARP line has no addresses for LINE to find).
    cols.update(_times({k: v.cast(pa.string()) for k, v in groups(core, rf"^{STAMP}").items()}))
    return cols


def _flag_words(chars: pa.Array) -> pa.Array:
    """`Flags [P.]` → `psh ack` (the sniffer's words, in its order); `[none]` → null."""
    words = None
    for char, word in TCP_FLAGS:
        has = pc.fill_null(pc.match_substring(chars, char), False)
        piece = pc.if_else(has, pa.scalar(word), pa.scalar(""))
        words = piece if words is None else pc.binary_join_element_wise(words, piece, " ")
    words = pc.utf8_trim(words, " ")
    words = pc.replace_substring_regex(words, "  +", " ")
    return pc.if_else(pc.equal(words, ""), pa.scalar(None, pa.string()), words)


def _endpoints(text: pa.Array, form: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """An endpoint column → address and port columns. Lines of a form with ports are split
    at the last dot (a host name may hold dots, a port may be a service name); the others
    only where a numeric address is followed by a numeric port."""
    ported = pa.array(np.isin(form, PORTED))
    split = groups(text, PORTED_ENDPOINT)
    numeric = groups(text, NUMERIC_ENDPOINT)
    addr = pc.if_else(ported, split["addr"], numeric["addr"])
    port = pc.if_else(ported, split["port"], numeric["port"])
    addr = pc.coalesce(addr, text)
    number = to_int(pc.if_else(pc.fill_null(pc.match_substring_regex(port, r"^\d+$"), False), port, None), pa.int32())
    names = pa.array(list(PORT_NAMES))
    by_name = pa.array(list(PORT_NAMES.values()), pa.int32()).take(pc.index_in(port, names))
    return addr.cast(pa.string()), pc.coalesce(number, by_name)


def _fragments(core: pa.Array, l4: pa.Array, v6: dict[str, pa.Array], later_form: np.ndarray, proto: np.ndarray,
               src: pa.Array, dst: pa.Array, sport: pa.Array, dport: pa.Array) -> tuple[np.ndarray, list[str]]:
    """The rows that are pieces of a fragmented IP packet of a protocol that may be IPsec
    (:data:`FRAGMENT_PROTOS`), and each one's detail (the sniffer's `frag id=... off=...[
    more]`, without the id where it is not printed; without `-v`, IPv4 prints no offset:
    `frag off=0 more` for a first piece, `frag off>0` for a later one).
    A UDP packet whose first piece shows ports other than IKE's is other traffic, with all
    its pieces, as in the capture reader."""
    n = len(core)
    # The IP header's numbers are looked for only on `-v` lines (a substring test first).
    with_ip = np.flatnonzero(pc.fill_null(pc.match_substring(core, ", offset "), False).to_numpy(zero_copy_only=False))
    v = groups_at(core, with_ip, V_FRAGMENT)
    old = groups(l4, sniffer.FRAGMENT)
    ident = pc.coalesce(v["frag_id"], old["frag_id"], pc.cast(hex_to_int(v6["v6id"], 8), pa.string()))
    offset = pc.cast(to_int(pc.coalesce(v["frag_off"], old["frag_off"], v6["v6off"])), pa.float64()
                     ).to_numpy(zero_copy_only=False)
    # IPv6 prints no M flag: a fragment header at offset 0 is a first piece.
    more = pc.fill_null(pc.coalesce(pc.match_substring(v["frag_flags"], "+"),
                                    pc.if_else(pc.is_valid(old["frag_id"]), pc.is_valid(old["frag_more"]), None),
                                    pc.if_else(pc.is_valid(v6["v6off"]), pc.equal(v6["v6off"], "0"), None)),
                        False).to_numpy(zero_copy_only=False)
    later = later_form | (offset > 0)
    numbered = pc.is_valid(ident).to_numpy(zero_copy_only=False)
    first = (offset == 0) & more
    # A later piece's first: the last line before it in its packet (same source and
    # destination and, when printed, IP id) that may be one: a numbered first piece, or,
    # where the pieces are not numbered, any line that is not a later piece, of the later
    # one's protocol or of one tcpdump did not name (`NFS request ...` is UDP's printer).
    candidate = first | (~numbered & ~later & pc.is_valid(src).to_numpy(zero_copy_only=False))
    if not (later.any() or first.any()):
        return np.zeros(n, bool), []
    key = pd.Series(pc.binary_join_element_wise(*(pc.fill_null(pc.cast(a, pa.string()), "") for a in (src, dst, ident)),
                                                "|"))
    before = pd.Series(np.where(candidate, np.arange(n), np.nan)).groupby(key.to_numpy()).ffill().to_numpy()
    linked = later & ~np.isnan(before)
    head = np.full(n, -1)
    head[linked] = before[linked].astype(np.int64)
    linked &= (proto[head] == proto) | pd.isna(proto[head])
    first[head[linked]] = True
    head = np.where(linked, head, np.where(first, np.arange(n), -1))  # each piece's first, where known
    # The first piece names the ports: a packet with a port, none of them IKE's, is not IPsec.
    sp, dp = (pc.fill_null(p, -1).to_numpy(zero_copy_only=False) for p in (sport, dport))
    other_ports = ((sp >= 0) | (dp >= 0)) & ~np.isin(sp, (IKE_PORT, IKE_NATT_PORT)) & ~np.isin(dp, (IKE_PORT, IKE_NATT_PORT))
    not_ipsec = (head >= 0) & other_ports[head]
    is_frag = (later | first) & (np.isin(proto, FRAGMENT_PROTOS) | pd.isna(proto)) & ~not_ipsec
    rows = np.flatnonzero(is_frag)
    ids = ident.take(pa.array(rows)).to_pylist()
    notes = [f"frag {f'id={i} ' if i is not None else ''}off={int(offset[r])}{' more' if more[r] else ''}"
             if offset[r] == offset[r] else ("frag off>0" if later[r] else "frag off=0 more") for r, i in zip(rows, ids)]
    return is_frag, notes


def _ike_columns(ike: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """IKE version, exchange name, response flag, message id and SPIs from what
    print-isakmp.c printed: `isakmp 2.0 msgid 00000001 cookie I->R: child_sa  ikev2_auth[R]`
    (`-vv`) down to `isakmp: phase 1 I ident` (IKEv1 form) or `isakmp: parent_sa ikev2_init[I]`."""
    n = len(ike["major"])
    named = pc.coalesce(ike["v1x"], ike["v2x"])
    # The version as printed (`-v`), else the form: `phase N` is IKEv1, `parent_sa`/`child_sa` IKEv2.
    by_form = pc.if_else(pc.is_valid(ike["phase"]), pa.scalar("1"),
                         pc.if_else(pc.is_valid(ike["v2x"]), pa.scalar("2"), pa.scalar(None, pa.string())))
    version = to_int(pc.coalesce(ike["major"], by_form), pa.int8())
    number = pc.coalesce(
        pa.array(list(ETYPES.values()), pa.int64()).take(pc.index_in(named, pa.array(list(ETYPES)))),
        to_int(pc.if_else(pc.fill_null(pc.starts_with(named, "#"), False), pc.utf8_slice_codeunits(named, 1), None)),
    )
    exchange = [None if v is None or x is None else iana.exchange_name(v, x)
                for v, x in zip(version.to_pylist(), number.to_pylist())]
    # IKEv2 (RFC 7296 §3.1): the brackets hold the flags set, `I` (sent by the original
    # initiator), `V`, `R` (a response); no brackets: none set, a request from the original
    # responder. Old builds printed no `R` (tests/ikev2four.out: `ikev2_init[]` for the
    # responder's answers): empty brackets tell nothing. IKEv1 has no response flag (its
    # `I`/`R` is tcpdump's guess of the sender's role from the cookies).
    has_r = pc.fill_null(pc.match_substring(ike["v2flags"], "R"), False)
    empty = pc.fill_null(pc.equal(ike["v2br"], "[]"), False)
    response = pc.if_else(pc.and_(pc.is_valid(ike["v2x"]), pc.invert(empty)), has_r, pa.scalar(None, pa.bool_()))
    return {
        "ike_version": version,
        "exchange": pa.array(exchange, pa.string()) if n else pa.array([], pa.string()),
        "response": response,
        "msg_id": hex_to_int(ike["msgid"], 8),
        "ispi": ike["ispi"],
        "rspi": ike["rspi"],
    }


def _times(line: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """The stamps as the text parser reads them: `ts_abs` (`YYYY-MM-DD HH:MM:SS.ffffff`) for
    `-tttt` and `-tt` (the epoch is UTC), `ts_rel` (seconds, no clock) for the others: a
    time of day (no date: a day added where it goes back by more than half a day) and
    `-ttttt` as printed, `-ttt` summed; ``warnings`` when the form was a guess."""
    dated = pc.binary_join_element_wise(line["ts_date"], line["ts_hms"], " ")
    epoch = pc.cast(line["ts_epoch"], pa.float64())
    warnings: list[str] = []
    # Far stamps would overflow the microsecond cast: such a line keeps no time, and says so.
    far = pc.sum(pc.greater(epoch, LAST_EPOCH)).as_py() or 0
    if far:
        warnings.append(f"{counted(far, 'line')} with an epoch stamp past the year 2262 (a mangled line), read with no time")
        epoch = pc.if_else(pc.less_equal(epoch, LAST_EPOCH), epoch, pa.scalar(None, pa.float64()))
    from_epoch = pc.strftime(pc.cast(pc.cast(pc.round(pc.multiply(epoch, 1e6)), pa.int64()), pa.timestamp("us")),
                             format="%Y-%m-%d %H:%M:%S")
    ts_abs = pc.coalesce(dated, from_epoch)
    tod = line["ts_tod"]
    rel = pa.nulls(len(tod), pa.string())
    has = np.flatnonzero(pc.is_valid(tod).to_numpy(zero_copy_only=False))
    if len(has):
        g = groups(tod.take(pa.array(has)), CLOCK)
        h, m, sec = (pc.cast(g[k], pa.float64()).to_numpy(zero_copy_only=False) for k in ("h", "m", "s"))
        signed = pc.is_valid(g["sign"]).to_numpy(zero_copy_only=False)
        far = ~(h <= LAST_HOUR)  # NaN too: a line mangled past any clock keeps no time
        if far.any():
            warnings.append(f"{counted(int(far.sum()), 'line')} with a clock past {LAST_HOUR:.0f} hours (a mangled line), "
                            "read with no time")
            has, h, m, sec, signed = has[~far], h[~far], m[~far], sec[~far], signed[~far]
    if len(has):
        sec = np.where(signed, -1, 1) * (h * 3600 + m * 60 + sec)
        form, note = _stamp_form(sec, bool(signed.any()))
        if note:
            warnings.append(note)
        if form == "-ttt":
            sec = np.cumsum(sec)
        else:
            sec = sec + 86400 * np.concatenate([[0], np.cumsum(np.diff(sec) < -HALF_DAY)])
        rel = scatter(rel, has, pa.array([f"{s:.6f}" for s in sec], pa.string()))
    return {"ts_abs": ts_abs.cast(pa.string()), "ts_rel": rel, "warnings": warnings}


def _stamp_form(sec: np.ndarray, signed: bool) -> tuple[str, str | None]:
    """Which of `time of day`, `-ttt` and `-ttttt` the stamps ``sec`` (seconds as printed,
    in line order) are, and what to say when that is a guess. Deltas start at 00:00:00 or
    print a sign; `-ttt` goes back often, or by more than a capture reorders without
    passing midnight (`-ttttt` and a time of day go back only so)."""
    step = np.diff(sec)
    back = (step < 0) & (step > -HALF_DAY)
    far = back & (step < -REORDERED)
    often = back.any() and back.sum() >= DELTA_FALLS * len(step)
    # Without a 00:00:00 or a sign, a clock that goes back once (two pastes one after the
    # other, a clock stepped back) is still a clock: deltas go back often, and far.
    if not (signed or sec[0] == 0 or (far.any() and often)):
        return "time of day", None
    if far.any():
        if signed or sec[0] == 0:
            return "-ttt", None
        return "-ttt", (f"the tcpdump stamps go back by up to {_span(-step[far].min())} without passing midnight: "
                        f"read as -ttt (the time since the previous packet) from a paste that starts after its "
                        f"first line; times are counted from the first line shown")
    if often:
        if back.sum() >= SURE_FALLS:
            return "-ttt", None
        falls = int(back.sum())
        return "-ttt", (f"the {len(sec)} tcpdump stamps start at {_span(sec[0])} and go back "
                        f"{'once' if falls == 1 else f'{falls} times'}, "
                        f"by at most {_span(-step[back].min())}: read as -ttt (the time since the previous packet); "
                        f"if they were printed with -ttttt (since the first packet) of reordered packets, the last "
                        f"packet came {_span(sec[-1])} after the first, not {_span(float(np.sum(sec)))}")
    burst = (step >= 0) & (step < BURST) & (sec[1:] >= 1)
    if len(step) >= 2 and not back.any() and not burst.any():
        return "-ttttt", (f"the {len(sec)} tcpdump stamps start at {_span(sec[0])} and only grow: read as -ttttt (the "
                          f"time since the first packet); if they were printed with -ttt (since the previous packet), "
                          f"the last packet came {_span(float(np.sum(sec)))} after the first, not {_span(sec[-1])}")
    return "-ttttt", None


def _span(seconds: float) -> str:
    return f"{seconds:.6f}".rstrip("0").rstrip(".") + " s"


def ipsec_rows(cols: dict[str, pa.Array], tcp_ports: tuple[int, ...] = ()) -> np.ndarray:
    """Which parsed lines can be IPsec evidence: the sniffer's test
    (:func:`sniffer.ipsec_rows`), and a line whose summary tcpdump printed for another
    protocol (`53 > ...: 1234+ A? ...`: no IKE, ESP, UDP or TCP form) only on an IKE port."""
    keep = sniffer.ipsec_rows(cols, tcp_ports)
    kind = cols["kind"].to_numpy(zero_copy_only=False)
    unnamed = (kind == "other") & ~pc.is_valid(cols["proto"]).to_numpy(zero_copy_only=False) \
        & pc.is_valid(cols["src"]).to_numpy(zero_copy_only=False)
    ports = [pc.fill_null(pc.is_in(cols[k], pa.array([IKE_PORT, IKE_NATT_PORT], pa.int32())), False)
             .to_numpy(zero_copy_only=False) for k in ("sport", "dport")]
    return keep & ~(unnamed & ~ports[0] & ~ports[1])
