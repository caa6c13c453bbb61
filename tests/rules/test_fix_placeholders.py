"""A fix's `<peer>`, `<tunnel>`/`<phase1>` and `<local>` carry the finding's own values where
the command runs on this FortiGate, and stay placeholders where it runs on the peer's end
or on both (rules.base.fill_fix)."""

from __future__ import annotations

from pathlib import Path

from ikeanalyze import api
from ikeanalyze.diagnosis import Finding
from ikeanalyze.rules.base import fill_fix

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _fixes(path: Path) -> dict[str, str]:
    d = api.analyze([str(path)])
    return {f.code: f.fix for f in d.all_findings()}


def test_this_sides_commands_carry_the_peer_and_local_address():
    fixes = _fixes(FIXTURES / "IKE109" / "fires-network-unreachable" / "input.txt")
    assert "`get router info routing-table details 2.2.2.254`" in fixes["IKE109"]
    assert "`execute ping-options source 1.1.1.254` then `execute ping 2.2.2.254`" in fixes["IKE109"]
    assert "<peer>" not in fixes["IKE109"] and "<local>" not in fixes["IKE109"]
    # IKE210's debug and capture are for both ends at once: the peer's `<peer>` is this FortiGate.
    assert "rem-addr4 <peer>" in fixes["IKE210"] and "'host <peer> and" in fixes["IKE210"]


def test_the_peers_end_keeps_its_placeholders():
    fixes = _fixes(FIXTURES / "IKE302" / "fires-create-child-unanswered" / "input.txt")
    assert "`diagnose vpn ike gateway list name <phase1>` on the peer" in fixes["IKE302"]
    assert "capture both ends (`diagnose sniffer packet any 'host <peer> and" in fixes["IKE302"]


def _finding(fix: str, peer: str | None, tunnel: str | None = None) -> Finding:
    return Finding(code="IKE903", name="x", severity="info", title="t", message="m", fix=fix, peer=peer, tunnel=tunnel)


def test_an_ipv6_peer_is_filtered_with_rem_addr6_and_the_tunnel_named():
    f = _finding("Run `diagnose vpn ike log filter rem-addr4 <peer>`; then `diagnose vpn ike gateway clear name "
                 "<tunnel>`. Compare `diagnose vpn tunnel list name <tunnel>` on both ends.",
                 "[2001:db8::7]:4500", "to-dc")
    fill_fix(f)
    assert f.fix == ("Run `diagnose vpn ike log filter rem-addr6 2001:db8::7`; then `diagnose vpn ike gateway clear "
                     "name to-dc`. Compare `diagnose vpn tunnel list name <tunnel>` on both ends.")


def test_a_peer_that_is_no_address_leaves_the_placeholder():
    f = _finding("Run `execute ping <peer>`.", "(client's public ip):885")
    fill_fix(f)
    assert f.fix == "Run `execute ping <peer>`."


def test_redaction_reaches_the_filled_in_fix():
    d = api.redact(api.analyze([str(FIXTURES / "IKE109" / "fires-network-unreachable" / "input.txt")]))
    fix = next(f.fix for f in d.all_findings() if f.code == "IKE109")
    assert "2.2.2.254" not in fix and "1.1.1.254" not in fix and "`execute ping <peer>`" not in fix
