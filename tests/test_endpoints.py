"""Address and port as every report writes them (endpoints.py): `[2001:db8::1]:500` for IPv6,
since `2001:db8::1:500` is itself an address, and read back the same way."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ikeanalyze import api
from ikeanalyze.diagnosis import Finding
from ikeanalyze.endpoints import endpoint, host, split
from tests.conftest import ROOT, run_cli

FRAGMENTED6 = ROOT / "tests/rules/fixtures/IKE107/fires-pcap-fragmented-auth-unanswered-ipv6/input.pcap"


@pytest.mark.parametrize("address,port,text", [
    ("192.0.2.1", 500, "192.0.2.1:500"),
    ("2001:db8::1", 4500, "[2001:db8::1]:4500"),
    ("2001:db8::1", None, "2001:db8::1"),
    ("2001:db8::1", math.nan, "2001:db8::1"),  # ESP: no port
    ("192.0.2.1", pd.NA, "192.0.2.1"),
    ("192.0.2.1", 4500.0, "192.0.2.1:4500"),  # a float column's port
])
def test_written_and_read_back(address, port, text) -> None:
    assert endpoint(address, port) == text
    assert split(text) == (address, None if text == address else int(port))


def test_an_ipv6_address_without_brackets_has_no_port() -> None:
    # the last group of `2001:db8::10:500` is part of the address, not a port
    assert split("2001:db8::10:500") == ("2001:db8::10:500", None)
    assert host("[2001:db8::10]:500") == "2001:db8::10"


def test_a_findings_peer_ip_of_an_ipv6_peer() -> None:
    """`2001:db8::1` alone was cut at its last colon (`2001:db8:`)."""
    def f(peer):
        return Finding("IKE101", "one-way-nat-keepalive", "warning", "t", "m", "fix", peer=peer).peer_ip
    assert f("2001:db8::1") == "2001:db8::1"
    assert f("[2001:db8::1]:4500") == "2001:db8::1"
    assert f("198.51.100.2:4500") == "198.51.100.2"


def test_peer_option_takes_an_ipv6_address_or_bracketed_endpoint() -> None:
    """`--peer [IPv6]:PORT` keeps that endpoint's packets (it raised on a read-only array for
    any `IP:PORT`); `--peer IPv6` the address's."""
    events, ingest = api.load([str(FRAGMENTED6)])
    mine = api.focus(events, peer="[2001:db8:100::2]:4500")
    assert len(mine) == 3 and set(mine["src"].dropna()) | set(mine["dst"].dropna()) >= {"2001:db8:100::2"}
    assert {int(p) for p in pd.concat([mine["sport"], mine["dport"]]).dropna()} == {4500}
    assert len(api.focus(events, peer="[2001:db8:100::2]:500")) == 2
    d = api.diagnose(events, ingest, peer="2001:db8:100::2")
    assert [f.peer for f in d.all_findings() if f.code == "IKE107"] == ["[2001:db8:100::2]:4500"]
    assert d.summary.startswith("[2001:db8:100::2]:4500 sent a 2104-byte AUTH message 3 times")


@pytest.mark.parametrize("typed", ["[::1]:²", "[2001:db8::1]:99999999999999999999", "10.0.0.1:99999999999999999999",
                                   "[::1", "[abc]:x", "10.0.0.1:"])
def test_a_malformed_peer_is_a_one_line_usage_error(typed: str) -> None:
    """A port that is no number from 0 to 65535, or a `[` without `]`: exit 2 with one line
    naming the option (it was an internal error, or matched nothing in silence)."""
    p = run_cli("analyze", str(ROOT / "samples" / "forticlient-udp-fallback-tcp.txt"), "--peer", typed)
    err = p.stderr.decode().strip()
    assert p.returncode == 2 and len(err.splitlines()) == 1 and f"--peer '{typed}'" in err, err
    assert "Traceback" not in err and "internal error" not in err


@pytest.mark.parametrize("text, expected", [
    ("198.51.100.9:0", "198.51.100.9"), ("[2001:db8::1]:500", "2001:db8::1"), ("203.0.113.5", "203.0.113.5"),
    ("y.y.y.y:0", None), ("XXX.XXX.XXX.XXX", None), ("<redacted>", None), ("*.*.*.*", None),
    ("(client's ip):885", None), ("", None), (None, None)])
def test_a_placeholder_a_paste_blanked_the_address_with_is_no_address(text, expected) -> None:
    from ikeanalyze.endpoints import address

    assert address(text) == expected
