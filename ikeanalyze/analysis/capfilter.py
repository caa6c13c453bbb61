"""A sniffer's capture filter (tcpdump's syntax, which `diagnose sniffer packet` takes),
read well enough to ask what it lets through: the IPsec packets between the hosts it names.

:func:`compile_filter` turns `host 192.0.2.1 and not port 22`, `src host A and dst host B`,
`udp port 500 or 4500 or esp`, `ip proto 50` into a test of one packet, or None when the
filter holds what is not read here (`ip[9]=50`, `vlan`, `len > 100`, a typo): a question
about such a filter has no answer. Hosts are compared as written (a name is not resolved).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Packet:
    proto: str  # udp, tcp, esp
    src: str
    dst: str
    sport: int | None = None
    dport: int | None = None

    @property
    def v6(self) -> bool:
        """An IPv6 packet: one end is an IPv6 address (the other may be a name, or one of
        the OTHERS the filter does not name)."""
        return ":" in self.src or ":" in self.dst


Test = Callable[[Packet], bool]
PROTOS = {"udp": 17, "tcp": 6, "esp": 50, "ah": 51, "icmp": 1}
SERVICES = {"isakmp": 500, "ipsec-nat-t": 4500, "https": 443, "ssh": 22, "domain": 53}
# Addresses the filter does not name: two of each family (`:` makes a packet IPv6, Packet.v6),
# so `ip6` or `ip6 proto 50` naming no host still has packets it lets through.
OTHERS = ("other-a", "other-b", "other:a", "other:b")
# What tcpdump takes that is not read here: a filter holding one is not judged.
UNREAD = {"vlan", "mpls", "ether", "arp", "rarp", "len", "less", "greater", "broadcast", "multicast", "gateway",
          "inbound", "outbound", "ifname", "on", "pppoes", "geneve", "sctp", "icmp6", "igmp", "mask", "protochain"}
_TOKEN = re.compile(r"\(|\)|&&|\|\||!|[^\s()!]+")


class _Unread(Exception):
    pass


def compile_filter(text: str) -> Test | None:
    """The filter as a test of one packet (an empty filter, or the sniffer's `none`, passes
    every packet), or None when it is not read."""
    toks = [t.lower() for t in _TOKEN.findall(text)]
    if toks in ([], ["none"]):
        return lambda p: True
    if UNREAD.intersection(toks):
        return None
    try:
        parser = _Parser(toks)
        test = parser.expr()
        if parser.i != len(toks):
            return None
        return test
    except (_Unread, IndexError, ValueError, KeyError):
        return None


def named_hosts(text: str) -> list[str]:
    """The addresses a filter names (a net by its first address, a name as written), and
    OTHERS it does not."""
    toks = _TOKEN.findall(text)
    out = []
    for k, tok in enumerate(toks):
        try:
            if "." in tok or ":" in tok:
                out.append(str(ipaddress.ip_network(tok, strict=False).network_address))
                continue
        except ValueError:
            pass
        if k and toks[k - 1].lower() == "host":
            out.append(tok.lower())
    return list(dict.fromkeys(out)) + list(OTHERS)


def _pairs(text: str) -> list[tuple[str, str]]:
    hosts = named_hosts(text)
    return [(a, b) for a in hosts for b in hosts if a != b]


def ipsec_packets(a: str, b: str) -> dict[str, list[Packet]]:
    """The packets of each kind of IPsec traffic from ``a`` to ``b``."""
    return {"udp500": [Packet("udp", a, b, 500, 500)],
            "nat-t": [Packet("udp", a, b, 4500, 4500), Packet("udp", a, b, 40000, 4500)],
            "tcp": [Packet("tcp", a, b, 40000, port) for port in (443, 5500)],  # (its usual ports)
            "esp": [Packet("esp", a, b)]}


def passes_with_udp500(text: str) -> dict[str, bool] | None:
    """For NAT-T, IKE over TCP and ESP: does the filter let it through between hosts it lets
    IKE on UDP 500 through between? None when the filter is not read."""
    test = compile_filter(text)
    if test is None:
        return None
    out = {"nat-t": False, "tcp": False, "esp": False}
    for a, b in _pairs(text):
        kinds = ipsec_packets(a, b)
        if not test(kinds["udp500"][0]):
            continue
        for kind in out:
            out[kind] = out[kind] or any(test(p) for p in kinds[kind])
    return out


def one_way(text: str) -> bool | None:
    """Does the filter pass IKE or ESP one way only between two hosts (`src host A`, `src
    host A and dst host B`, `not src host A`; not `host A and not src port 22`, nor `src
    port 500`, which IKE sends from both ends)? None when the filter is not read."""
    test = compile_filter(text)
    if test is None:
        return None
    for a, b in _pairs(text):
        for kind, packets in ipsec_packets(a, b).items():
            if kind == "tcp":
                continue
            for p in packets:
                back = Packet(p.proto, p.dst, p.src, p.dport, p.sport)
                if test(p) != test(back):
                    return True
    return False


class _Parser:
    """tcpdump's grammar (pcap-filter(7)): `not`/`!` binds tightest; `and`/`&&` and `or`/`||`
    bind alike, left to right (`port 500 or port 4500 and host A` is `(port 500 or port
    4500) and host A`); parentheses; primitives whose bare value takes the qualifiers of the
    one before (`port 500 or 4500`)."""

    def __init__(self, toks: list[str]):
        self.toks, self.i = toks, 0
        # (direction, type, protocol) of the primitive before, whose qualifiers a bare value
        # repeats; for `[ip|ip6] proto N`, (None, "proto", its family: True for ip6).
        self.last: tuple[str | None, str, str | bool | None] | None = None

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expr(self) -> Test:
        test = self.factor()
        while self.peek() in ("and", "&&", "or", "||"):
            either = self.take() in ("or", "||")
            test = _or(test, self.factor()) if either else _and(test, self.factor())
        return test

    def factor(self) -> Test:
        tok = self.peek()
        if tok in ("not", "!"):
            self.take()
            inner = self.factor()
            return lambda p: not inner(p)
        if tok == "(":
            self.take()
            inner = self.expr()
            if self.take() != ")":
                raise _Unread
            return inner
        return self.primitive()

    def primitive(self) -> Test:
        proto = direction = kind = None
        family = None  # `ip` / `ip6`: IPv4 or IPv6 packets only
        if self.peek() in ("ip", "ip6"):
            family = self.take() == "ip6"
            if self.peek() in (None, "and", "or", "&&", "||", ")"):
                self.last = None  # (a bare value after `ip` is tcpdump's syntax error)
                return lambda p: p.v6 == family
            if self.peek() != "proto":
                raise _Unread
        if self.peek() == "proto":
            self.take()
            return self._proto(family)
        if self.peek() in PROTOS:
            proto = self.take()
            if self.peek() in (None, "and", "or", "&&", "||", ")"):
                self.last = None  # (`esp or 51`, `port 500 or esp or 4500`: tcpdump's syntax error)
                return lambda p: p.proto == proto
        if self.peek() in ("src", "dst"):
            direction = self.take()
            if self.peek() in ("or", "and") and self.toks[self.i + 1:self.i + 2] == [{"src": "dst", "dst": "src"}[direction]]:
                direction = "either" if self.take() == "or" else "both"
                self.take()
        if self.peek() in ("host", "net", "port", "portrange"):
            kind = self.take()
        elif direction is None and proto is None:
            if self.last is None:
                raise _Unread  # a bare value with no qualifiers before it: tcpdump's syntax error
            direction, kind, proto = self.last  # a bare value: the qualifiers of the one before
            if kind == "proto":
                return self._proto(proto)  # `ip proto 50 or 51`: `ip proto 51`
        elif direction is not None:
            kind = "host"  # `src 192.0.2.1`
        else:
            raise _Unread  # `udp 192.0.2.1`: tcpdump's "'udp' modifier applied to host"
        if proto and (kind in ("host", "net") or proto not in ("udp", "tcp")):
            raise _Unread  # `udp host …`, `esp port 500`: "'udp' modifier applied to host", "illegal qualifier of 'port'"
        value = self.take()
        if value in ("and", "or", "&&", "||", "not", "!", "(", ")") or value in PROTOS:
            raise _Unread
        self.last = (direction, kind, proto)
        match = self._match(kind, value)
        ends = {"src": ("src",), "dst": ("dst",), "either": ("src", "dst"), "both": ("src", "dst"),
                None: ("src", "dst")}[direction]
        every = direction == "both"

        def test(p: Packet) -> bool:
            if proto and p.proto != proto:
                return False
            hits = [match(p, end) for end in ends]
            return all(hits) if every else any(hits)
        return test

    def _proto(self, family: bool | None) -> Test:
        """`[ip|ip6] proto N`; a bare value after it repeats it (`ip proto 50 or 51`), as
        after any primitive, with its family."""
        num = self._proto_number(self.take())
        self.last = (None, "proto", family)
        return lambda p: PROTOS.get(p.proto) == num and family in (None, p.v6)

    @staticmethod
    def _proto_number(tok: str) -> int:
        tok = tok.lstrip("\\")
        return PROTOS[tok] if tok in PROTOS else int(tok)

    @staticmethod
    def _match(kind: str, value: str) -> Callable[[Packet, str], bool]:
        if kind == "host":
            try:
                value = str(ipaddress.ip_address(value))
            except ValueError:
                if not re.fullmatch(r"[a-z0-9][\w.-]*", value):
                    raise _Unread from None
            return lambda p, end: getattr(p, end) == value
        if kind == "net":
            net = ipaddress.ip_network(value, strict=False)

            def in_net(p: Packet, end: str) -> bool:
                try:
                    return ipaddress.ip_address(getattr(p, end)) in net
                except ValueError:  # (a name, or an address the filter does not name)
                    return False
            return in_net
        if kind == "port":
            port = SERVICES[value] if value in SERVICES else int(value)
            return lambda p, end: getattr(p, "sport" if end == "src" else "dport") == port
        lo, _, hi = value.partition("-")
        low, high = int(lo), int(hi)
        return lambda p, end: (port := getattr(p, "sport" if end == "src" else "dport")) is not None and low <= port <= high


def _or(a: Test, b: Test) -> Test:
    return lambda p: a(p) or b(p)


def _and(a: Test, b: Test) -> Test:
    return lambda p: a(p) and b(p)
