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
