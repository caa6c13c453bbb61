"""analysis/flowtrace.py: the packets a `debug flow` trace shows dropped at an IPsec
interface, and which side of them a tunnel list's selectors leave out. Real lines: the
hunt-4 excerpts in tests/data/text_public (SOURCES.md there) and tests/rules/fixtures/IKE214."""

from __future__ import annotations

from pathlib import Path

import ikeanalyze
from ikeanalyze.analysis import flowtrace

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "rules" / "fixtures" / "IKE214"


def _drops(path: Path) -> list[flowtrace.Drop]:
    events, _ = ikeanalyze.load([str(path)])
    return flowtrace.drops(events)


def test_a_drop_with_the_packet_the_nat_and_the_tunnel_of_its_trace(tmp_path: Path) -> None:
    path = FIXTURES / "fires-ippool-snat-outside-selector" / "input.txt"
    (d,) = _drops(path)
    assert (d.reason, d.trace_id, d.tunnel, d.proto_name, d.iface) == ("no-selector", "2", "VPN-IPSEC", "ICMP", "port2")
    assert (d.received("src"), d.out_src, d.snat, d.out_dst) == ("10.0.1.6", "10.0.11.17", "10.0.11.17", "192.168.110.11")
    assert [r.ref for r in d.rows] == [8, 11, 12, 14]  # packet, SNAT, tunnel, drop
    # A paste that lost the packet's own line: the SNAT line still tells both sources.
    cut = tmp_path / "cut.txt"
    cut.write_text("".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[8:]), encoding="utf-8")
    (d,) = _drops(cut)
    assert (d.received("src"), d.out_src, d.out_dst, d.proto) == ("10.0.1.6", "10.0.11.17", None, None)
    assert [r.ref for r in d.rows] == [3, 4, 6]
    (d,) = _drops(FIXTURES / "fires-fos4-trace-no-func" / "input.txt")
    assert (d.proto_name, d.address("src"), d.address("dst"), d.iface, d.local) == (
        "TCP", "192.168.XX.XX:50470", "XX.XX.183.94:443", "port8", False)
    a, b = _drops(ROOT / "data" / "text_public" / "kb_sdwan_sla_flow_no_selector_blank_broken.txt")
    assert (a.trace_id, a.tunnel, b.trace_id, b.tunnel) == ("3", "HO_port1_2", "4", "HO_port2_3")
    assert a.local and a.address("src") == "10.40.16.57"  # ICMP: no port shown


def test_healthy_traces_and_inputs_without_a_drop_give_none() -> None:
    assert _drops(FIXTURES / "quiet-healthy-traces-two-tunnels" / "input.txt") == []
    assert _drops(FIXTURES / "quiet-tunnel-list-without-trace" / "input.txt") == []


def test_selectors_as_tunnel_lists_print_them() -> None:
    s = flowtrace.selector("0:172.31.192.0/255.255.240.0:0")
    assert s.shown == "172.31.192.0/20" and s.holds("172.31.200.1") and not s.holds("10.40.16.57")
    r = flowtrace.selector("0:10.10.0.0-10.10.255.255:0")
    assert r.shown == "10.10.0.0/16" and r.holds("10.10.3.4") is True
    assert flowtrace.selector("47:0.0.0.0-255.255.255.255:0").holds("1.2.3.4", 1, None) is False  # GRE only
    assert s.holds("192.168.XX.XX") is None
    assert flowtrace.selector("0:b.b.b.b/255.255.255.0:0") is None  # redacted in a page


def test_which_side_the_selectors_leave_out() -> None:
    """The forum post's phase 2 (`set src-subnet 10.0.11.6 255.255.255.255`, `set dst-subnet
    192.168.110.12 255.255.255.255`) against its SNATed packet, and the KB's SLA probe."""
    post = [{"proxyid": "IPSEC-192.168.110.12", "src": ["0:10.0.11.6/255.255.255.255:0"],
             "dst": ["0:192.168.110.12/255.255.255.255:0"]}]
    d = flowtrace.Drop("no-selector", "t", "2", "VPN-IPSEC", None, proto=1, src="10.0.1.6", dst="192.168.110.12",
                       snat="10.0.11.17")
    assert flowtrace.verdict(post, d) == "source"
    d.dst = "192.168.110.11"  # the trace's destination: the post's selector names .12
    assert flowtrace.verdict(post, d) == "both"
    d.snat = "10.0.11.6"
    assert flowtrace.verdict(post, d) == "destination"
    d.dst = "192.168.110.12"
    assert flowtrace.verdict(post, d) == "inside"
    two = [{"proxyid": "a", "src": ["0:10.0.0.0/255.0.0.0:0"], "dst": ["0:172.16.0.0/255.255.0.0:0"]},
           {"proxyid": "b", "src": ["0:192.168.0.0/255.255.0.0:0"], "dst": ["0:172.17.0.0/255.255.0.0:0"]}]
    d = flowtrace.Drop("no-selector", "t", "1", "x", None, proto=1, src="10.1.1.1", dst="172.17.0.9")
    assert flowtrace.verdict(two, d) == "pair"
    ported = [{"proxyid": "p", "src": ["6:10.0.0.0/255.0.0.0:0"], "dst": ["6:172.16.0.0/255.255.0.0:443"]}]
    d = flowtrace.Drop("no-selector", "t", "1", "x", None, proto=6, src="10.1.1.1", dst="172.16.0.9", sport=5000,
                       dport=80)
    assert flowtrace.verdict(ported, d) == "port"
    d.src = "10.XX.1.1"
    assert flowtrace.verdict(ported, d) is None
