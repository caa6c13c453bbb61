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


def test_a_clause_whose_command_runs_here_is_filled_though_it_names_the_peer():
    """IKE305's `Renegotiate the SA so both ends derive fresh keys (`... clear name <tunnel>`)`
    and IKE214's `compare ... with `... list name <phase1>` ..., then mirror it on the peer`
    kept their placeholders: the clause mentions the other end, but only to say why, or
    what to do there after, and the command is this FortiGate's. A command that runs on
    the peer's end, or on both, in the same fix keeps them."""
    from ikeanalyze.rules.registry import REGISTRY

    for code, here, there in (
            ("IKE305", "so both ends derive fresh keys (`diagnose vpn ike gateway clear name to-dc`)",
             "compare the SPIs both ends show for the tunnel (`diagnose vpn tunnel list name <tunnel>`)"),
            ("IKE214", "with `diagnose vpn tunnel list name to-dc` and add or widen a phase 2", None)):
        f = _finding(REGISTRY[code].fix, "198.51.100.7:500", "to-dc")
        fill_fix(f)
        assert here in f.fix, (code, f.fix)
        assert there is None or there in f.fix, (code, f.fix)
    # What runs on the peer stays a placeholder even after a `then`, or beside `so both ends`.
    for fix in ("Clear it here, then clear it on the peer (`diagnose vpn ike gateway clear name <tunnel>`).",
                "Run `diagnose vpn tunnel list name <tunnel>` on both ends so both ends agree."):
        f = _finding(fix, "198.51.100.7:500", "to-dc")
        fill_fix(f)
        assert f.fix == fix


# fnbamd refuses the client's CA for a `config user peer` entry it does not name: the entry's
# placeholder is no address, and the peer's address in its place would name a wrong entry.
UNNAMED_PEER_ENTRY = """\
ike V=root:0: comes 192.0.2.44:500->198.51.100.20:500,ifindex=3,vrf=0,len=600....
ike V=root:0: IKEv2 exchange=SA_INIT id=a1b2c3d4e5f60718/0000000000000000 len=600
ike V=root:0:a1b2c3d4e5f60718/0000000000000000:501: responder received SA_INIT msg
ike V=root:0:dialcert:501: sent IKE msg (SA_INIT_RESPONSE): 198.51.100.20:500->192.0.2.44:500, len=380, vrf=0, \
id=a1b2c3d4e5f60718/0f1e2d3c4b5a6978, oif=3
ike V=root:0: comes 192.0.2.44:4500->198.51.100.20:4500,ifindex=3,vrf=0,len=1700....
ike V=root:0: IKEv2 exchange=AUTH id=a1b2c3d4e5f60718/0f1e2d3c4b5a6978:00000001 len=1696
ike V=root:0:dialcert:501: responder received AUTH msg
ike V=root:0:dialcert:501: peer cert, subject='host-7', issuer='Lab-Sub-CA'
ike V=root:0:dialcert:501: certificate validation pending
[2388] handle_req-Rcvd auth_cert req id=77, len=2000, opt=6
[1011] __cert_verify-Chain is complete.
[488] __quick_check_peer-CA does not match.
[1542] fnbamd_auth_session_done-Session done, id=77
ike V=root:0:dialcert:501: fnbam cert group matching failed
ike V=root:0:dialcert:501: certificate validation failed
ike V=root:0:dialcert:501: authentication failed
"""


def test_an_unnamed_user_peer_entry_is_not_given_the_peers_address(tmp_path):
    path = tmp_path / "ike.txt"
    path.write_text(UNNAMED_PEER_ENTRY)
    fix = _fixes(path)["IKE207"]
    assert "`config user peer` 192.0.2.44" not in fix
    assert "Set `set ca` of `config user peer` <" in fix
