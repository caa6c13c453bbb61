"""analysis/capfilter.py: what a sniffer's filter lets through."""

import pytest

from ikeanalyze.analysis import capfilter

A, B = "203.0.113.1", "198.51.100.9"


@pytest.mark.parametrize(("text", "nat_t", "tcp", "esp"), [
    ("", True, True, True),
    ("none", True, True, True),
    (f"host {B}", True, True, True),
    (f"host {B} and not port 22", True, True, True),  # (SSH left out, nothing else)
    ("not port 22", True, True, True),
    ("udp", True, False, False),
    (f"host {B} and udp", True, False, False),
    (f"host {B} and not esp", True, True, False),
    (f"host {B} and port 500", False, False, False),
    ("UDP PORT 500", False, False, False),
    (f"host {B} and (port 500 or 4500)", True, False, False),
    ("port 500 or port 4500 or esp", True, False, True),
    ("udp port isakmp or udp port ipsec-nat-t or ip proto 50", True, False, True),
    (f"host {B} and (udp port 500 or udp port 4500 or tcp port 5500 or esp)", True, True, True),
    ("net 198.51.100.0/24 and udp portrange 500-4500", True, False, False),
    ("ip6", True, True, True),  # (naming no host: between addresses of its family)
    ("ip6 and (udp or ip6 proto 50)", True, False, True),
])
def test_what_a_filter_lets_through_beside_udp_500(text, nat_t, tcp, esp) -> None:
    assert capfilter.passes_with_udp500(text) == {"nat-t": nat_t, "tcp": tcp, "esp": esp}


@pytest.mark.parametrize("text", ["port not 22", "ip[9]=50", f"vlan and host {B}", "host (", "udp port x"])
def test_a_filter_not_read_has_no_answer(text) -> None:
    assert capfilter.passes_with_udp500(text) is None
    assert capfilter.one_way(text) is None


@pytest.mark.parametrize(("text", "one_way"), [
    (f"src host {A}", True),
    (f"src host {A} and port 500", True),
    (f"src host {A} and dst host {B}", True),  # both named, each one way
    (f"not src host {A}", True),
    ("src net 203.0.113.0/24", True),
    (f"host {B} and not src port 22", False),  # a direction of a port left out, not of the traffic
    ("src port 500", False),  # IKE sends from 500 at both ends
    (f"src host {A} or dst host {A}", False),
    (f"src or dst host {A}", False),
    (f"host {A}", False),
    ("", False),
])
def test_a_filter_passing_one_direction_only(text, one_way) -> None:
    assert capfilter.one_way(text) is one_way


# Filters an engineer types in `diagnose sniffer packet <if> '<filter>'` against the packets
# of one tunnel between GW and PEER, and a third pair's. What each lets through was checked
# against tcpdump (libpcap's own compiler) reading these packets from a capture file.
GW, PEER, THIRD, FOURTH = "203.0.113.5", "198.51.100.7", "192.0.2.10", "192.0.2.20"
PACKETS = {
    "ike": capfilter.Packet("udp", GW, PEER, 500, 500),
    "ike-back": capfilter.Packet("udp", PEER, GW, 500, 500),
    "natt": capfilter.Packet("udp", GW, PEER, 4500, 4500),
    "natt-back": capfilter.Packet("udp", PEER, GW, 40000, 4500),  # (from behind a NAT)
    "esp": capfilter.Packet("esp", GW, PEER),
    "esp-back": capfilter.Packet("esp", PEER, GW),
    "ssh": capfilter.Packet("tcp", THIRD, GW, 40000, 22),
    "ike-tcp": capfilter.Packet("tcp", PEER, GW, 40000, 443),
    "third": capfilter.Packet("udp", THIRD, FOURTH, 500, 500),
    "esp6": capfilter.Packet("esp", "2001:db8::1", "2001:db8::2"),
    "ike6": capfilter.Packet("udp", "2001:db8::2", "2001:db8::1", 500, 500),
}
TUNNEL = {"ike", "ike-back", "natt", "natt-back", "esp", "esp-back"}
UDP = {"ike", "ike-back", "natt", "natt-back", "third", "ike6"}
ALL = set(PACKETS)
V6 = {"esp6", "ike6"}
ESP = {"esp", "esp-back", "esp6"}


@pytest.mark.parametrize(("text", "passed"), [
    ("", ALL),
    ("none", ALL),  # (the sniffer's word for no filter)
    (f"host {GW}", ALL - {"third"} - V6),
    ("udp port 500 or udp port 4500", UDP),
    ("udp port isakmp or udp port ipsec-nat-t", UDP),
    ("port 500 or 4500", UDP),  # a bare value takes the qualifiers before it
    ("udp dst port 500 or 4500", UDP),
    ("portrange 500-4500", UDP),
    ("dst portrange 4000-5000 and udp", {"natt", "natt-back"}),
    ("udp and port 500", {"ike", "ike-back", "third", "ike6"}),
    ("esp", ESP),
    ("proto 50", ESP),
    ("proto \\esp", ESP),
    ("ip proto 50", {"esp", "esp-back"}),
    ("ip and esp", {"esp", "esp-back"}),
    ("ip", ALL - V6),
    ("ip6", V6),
    ("ip6 proto 50", {"esp6"}),
    ("ip6 and udp port 500", {"ike6"}),
    ("ip and not ip6", ALL - V6),
    ("host 2001:db8::1", V6),
    ("net 2001:db8::/32 and esp", {"esp6"}),
    ("tcp or udp", ALL - ESP),
    ("! tcp", ALL - {"ssh", "ike-tcp"}),
    (f"host {GW} and host {PEER}", TUNNEL | {"ike-tcp"}),
    ("not port 22", ALL - {"ssh"}),  # ESP has no port: not port 22
    ("not (port 500 or port 4500)", ESP | {"ssh", "ike-tcp"}),
    (f"host {GW} and not port 22 and not port 443", TUNNEL),
    (f"host {GW} && !port 22 || esp", TUNNEL | {"ike-tcp", "esp6"}),
    ("net 198.51.100.0/24", TUNNEL | {"ike-tcp"}),
    ("src and dst net 192.0.2.0/24", {"third"}),
    (f"src or dst host {THIRD}", {"ssh", "third"}),
    (f"src host {GW} and dst port 4500", {"natt"}),
    (f"src host {GW} and dst host {PEER} or esp", {"ike", "natt"} | ESP),
    ("src port 40000", {"natt-back", "ssh", "ike-tcp"}),
    (f"not host {GW} and {FOURTH}", {"third"}),  # `not host A and host B`, not `not (host A or B)`
    (f"host {PEER} and (udp port 500 or 4500 or esp)", TUNNEL),
    (f"udp port 500 and not host {THIRD} or esp", {"ike", "ike-back", "ike6"} | ESP),
    (f"port 500 and host {GW} or host {THIRD}", {"ike", "ike-back", "ssh", "third"}),
    # `and` and `or` bind alike, left to right: `(A or B) and C`, not `A or (B and C)`
    (f"udp port 500 or port 4500 and host {PEER}", {"ike", "ike-back", "natt", "natt-back"}),
    (f"esp or udp port 500 and host {THIRD}", {"third"}),
    (f"host {THIRD} or host {PEER} and not tcp", TUNNEL | {"third"}),
])
def test_which_packets_a_filter_lets_through(text, passed) -> None:
    test = capfilter.compile_filter(text)
    assert test is not None, text
    assert {name for name, p in PACKETS.items() if test(p)} == passed


# AH beside them, for `ip proto 50 or 51`. Checked against tcpdump 4.99.3 (libpcap 1.10.3)
# reading these packets and PACKETS' from a capture file built with tests/sources/pcapbuild.
AH = {"ah": capfilter.Packet("ah", GW, PEER), "ah-back": capfilter.Packet("ah", PEER, GW),
      "ah6": capfilter.Packet("ah", "2001:db8::1", "2001:db8::2")}


@pytest.mark.parametrize(("text", "passed"), [
    # A bare value after `[ip|ip6] proto N` is `[ip|ip6] proto <value>` (pcap-filter(7)), not a host.
    ("ip proto 50 or 51", {"esp", "esp-back", "ah", "ah-back"}),
    ("proto 50 or 51", ESP | set(AH)),
    ("ip6 proto 50 or 51", {"esp6", "ah6"}),
    ("ip proto 50 or (51)", {"esp", "esp-back", "ah", "ah-back"}),
    ("ip proto 50 or not 51", ALL | {"ah6"}),
    (f"host {PEER} and ip proto 50 or 51", {"esp", "esp-back", "ah", "ah-back"}),
    ("port 500 or ip proto 50 or 51", {"ike", "ike-back", "third", "ike6", "esp", "esp-back", "ah", "ah-back"}),
    ("ip proto 50 or 51 or udp port 4500", {"natt", "natt-back", "esp", "esp-back", "ah", "ah-back"}),
    (f"host {GW} or {THIRD}", ALL - V6 | {"ah", "ah-back"}),
    (f"src host {THIRD} or {PEER}", {"ike-back", "natt-back", "esp-back", "ah-back", "ssh", "ike-tcp", "third"}),
])
def test_a_bare_value_repeats_the_qualifiers_before_it(text, passed) -> None:
    test = capfilter.compile_filter(text)
    assert test is not None, text
    assert {name for name, p in {**PACKETS, **AH}.items() if test(p)} == passed


@pytest.mark.parametrize("text", [
    "net 198.51.100.0 mask 255.255.255.0",  # (`mask` is not read)
    "ether host 00:11:22:33:44:55",
    "vlan 100 and esp",
    "host (",
    "udp port",
    f"host {GW} port 500",  # two primitives need an `and`
    "tcp port 22 or",
    "udp port x",
    "foo bar baz",
    # tcpdump's syntax errors: a bare value with no qualifiers to repeat, or after a protocol alone
    GW,
    f"not {THIRD}",
    "udp 4500",
    f"udp {THIRD}",
    "esp or 51",
    "udp port 500 or esp or 4500",
    f"ip proto 50 or 51 and {THIRD}",  # ('proto' modifier applied to ip host)
    # A protocol qualifying a host or net, or a port of no port's protocol (tcpdump 4.99.3:
    # "'udp' modifier applied to host", "illegal qualifier of 'port'")
    f"udp host {THIRD}",
    f"udp src {THIRD}",
    f"esp dst host {PEER}",
    "tcp net 198.51.100.0/24",
    "esp port 500",
    "icmp portrange 1-5",
])
def test_a_filter_not_read_tests_no_packet(text) -> None:
    assert capfilter.compile_filter(text) is None
