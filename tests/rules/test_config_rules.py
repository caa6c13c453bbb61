"""A pasted configuration as evidence: each case runs the same input with and without its
`config vpn ipsec phase1-interface` part, and the configuration must change the finding
(quoted with its line) or, where it says nothing that matters, leave it as it was.
The sniffer part is tests/data/state/handmade_dpd_off_silent_peer.txt's (SOURCES.md);
the debug and configuration lines are written here (RFC 5737 addresses)."""

from __future__ import annotations

import ikeanalyze
from ikeanalyze.sources import Blob
from tests.conftest import DATA

SNIFFER = "".join((DATA / "state" / "handmade_dpd_off_silent_peer.txt").read_text(encoding="utf-8")
                  .splitlines(keepends=True)[:16])


def phase1(name: str, remote: str, *settings: str) -> str:
    lines = [f"FGT-HQ # show vpn ipsec phase1-interface {name}", "config vpn ipsec phase1-interface",
             f'    edit "{name}"', '        set interface "port2"', f"        set remote-gw {remote}"]
    return "\n".join(lines + [f"        set {s}" for s in settings] + ["    next", "end", ""])


def findings(code: str, *pastes: str):
    d = ikeanalyze.analyze([Blob(f"paste{i}.txt", data=p.encode()) for i, p in enumerate(pastes)], select=[code])
    return [f for f in d.all_findings() if f.code == code]


def test_ike102_configured_dpd_disable_explains_why_the_tunnel_stayed_up():
    (plain,) = findings("IKE102", SNIFFER)
    (f,) = findings("IKE102", SNIFFER + phase1("to-shop12", "203.0.113.90", "dpd disable"))
    assert f.message.startswith(plain.message) and "DPD" not in plain.message
    assert ("DPD is off on tunnel to-shop12 in its configuration (`set dpd disable`, paste0.txt line 22), so "
            "nothing detects the dead peer") in f.message
    assert f.tunnel == "to-shop12" and f.facts["dpd_off"] is True
    assert [e.ref for e in f.evidence][-2:] == [19, 22]  # the `edit` and the `set dpd` statements


def test_ike102_dpd_of_another_peer_or_left_on_adds_nothing():
    (plain,) = findings("IKE102", SNIFFER)
    for config in (phase1("to-shop12", "203.0.113.91", "dpd disable"), phase1("to-shop12", "203.0.113.90"),
                   phase1("to-shop12", "203.0.113.90", "dpd on-idle")):
        (f,) = findings("IKE102", SNIFFER + config)
        assert f.message == plain.message and "dpd_off" not in f.facts


PASSIVE = """\
ike V=root:0:to-br:to-br: IPsec SA connect 4 198.51.100.1->203.0.113.5:0
ike V=root:0:to-br:to-br: config found
ike V=root:0:to-br: ignoring request to establish IPsec SA, gateway is in passive mode
ike V=root:0:to-br:to-br: IPsec SA connect 4 198.51.100.1->203.0.113.5:0
ike V=root:0:to-br:to-br: config found
ike V=root:0:to-br: ignoring request to establish IPsec SA, gateway is in passive mode
"""


def test_ike209_passive_mode_quotes_the_configuration():
    (plain,) = findings("IKE209", PASSIVE)
    config = phase1("to-br", "203.0.113.5", "passive-mode enable")
    (f,) = findings("IKE209", PASSIVE, config)
    assert f.message == plain.message + " Its configuration says so: `set passive-mode enable` (paste1.txt line 6)."
    assert (f.evidence[-1].source, f.evidence[-1].ref) == ("paste1.txt", 6)
    # Another tunnel's passive mode is not this one's.
    (other,) = findings("IKE209", PASSIVE, phase1("to-hq", "203.0.113.5", "passive-mode enable"))
    assert other.message == plain.message


def phase2(name: str, phase1name: str, *settings: str) -> str:
    lines = ["config vpn ipsec phase2-interface", f'    edit "{name}"', f'        set phase1name "{phase1name}"']
    return "\n".join(lines + [f"        set {s}" for s in settings] + ["    next", "end", ""])


def corpus(name: str) -> str:
    return (DATA / "ikedebug" / name).read_text(encoding="utf-8", errors="replace")


def test_proposal_selector_and_identity_findings_quote_what_this_side_was_configured_with():
    """Each corpus log's own finding, then the same log with a configuration pasted after
    it: the finding is the same, with one more sentence quoting the statements, which are
    its last evidence; a configuration of another tunnel adds nothing."""
    cases = [
        ("IKE201", "IKE_LOG_V2_Mismatch.txt", phase1("eveS2S", "2.2.2.254", "proposal aes256-sha256", "dhgrp 21"),
         "Its configuration has phase 1 eveS2S: `set proposal aes256-sha256`, `set dhgrp 21` (paste1.txt lines 6, 7)."),
        ("IKE202", "IKE_LOG_PFS_mismatch.txt", phase2("eveS2S", "to-FG2", "proposal aes128-sha1", "pfs disable"),
         "Its configuration has phase 2 eveS2S: `set proposal aes128-sha1`, `set pfs disable` (paste1.txt lines 4, 5)."),
        ("IKE203", "IKE_LOG_V2_ph_2_TS_mismatch_initiator.txt",
         phase2("eveS2S", "to-FG2", "src-subnet 20.0.0.0 255.0.0.0", "dst-subnet 10.0.0.0 255.0.0.0"),
         "Its configuration has phase 2 eveS2S: `set src-subnet 20.0.0.0 255.0.0.0`, `set dst-subnet 10.0.0.0 "
         "255.0.0.0` (paste1.txt lines 4, 5)."),
        # A dial-up instance's name finds its phase 1.
        ("IKE206", "IKE_LOG_peer_id.txt", phase1("DialUp-wan", "0.0.0.0", "peertype one", 'peerid "branch-7"'),
         "Its configuration has phase 1 DialUp-wan: `set peertype one`, `set peerid \"branch-7\"` (paste1.txt lines 6, 7)."),
    ]
    for code, log, config, sentence in cases:
        (plain,) = findings(code, corpus(log))
        (f,) = findings(code, corpus(log), config)
        assert f.message == f"{plain.message} {sentence}", code
        assert [e.source for e in f.evidence][-2:] == ["paste1.txt", "paste1.txt"], code
        (other,) = findings(code, corpus(log), config.replace(f'"{f.tunnel}"', '"elsewhere"')
                            .replace(f'"{f.tunnel.split("_")[0]}"', '"elsewhere"'))
        assert other.message == plain.message, code
        if code == "IKE202":  # (its debug names the phase 2: `phase 2 eveS2S`)
            # Another phase 2 of the tunnel than the one the debug names is not what was refused.
            (sibling,) = findings(code, corpus(log), config.replace('edit "eveS2S"', 'edit "to-FG2-p2"'))
            assert sibling.message == plain.message, code


def test_ike306_each_device_and_vdom_has_its_own_phase_1_of_a_name():
    """Two FortiGates' (or two VDOMs') `to-hq`: the one whose DPD is on does not hide the
    other's `set dpd disable` (the latest entry of a name is the latest of its device and VDOM)."""
    devices = (phase1("to-hq", "198.51.100.7", "dpd disable")
               + phase1("to-hq", "203.0.113.9").replace("FGT-HQ", "FGT-DR"))
    (f,) = findings("IKE306", devices)
    assert f.peer == "198.51.100.7" and f.facts["device"] == "FGT-HQ"
    vdoms = ("config vdom\nedit root\n" + phase1("to-hq", "198.51.100.7", "dpd disable").split("\n", 1)[1]
             + "next\nedit vd2\n" + phase1("to-hq", "203.0.113.9", "dpd on-idle").split("\n", 1)[1] + "next\nend\n")
    (f,) = findings("IKE306", vdoms)
    assert f.peer == "198.51.100.7" and f.facts["vdom"] == "root"


def test_ike306_a_dial_up_instance_s_tunnel_list_overrules_its_phase_1():
    """`DialUp_0`'s tunnel list is the running state of phase 1 `DialUp`: its `dpd:` line is
    the one finding (mode=off), or none (on-idle), never the configuration's besides."""
    listed = (DATA.parent / "rules" / "fixtures" / "IKE306" / "fires-article-tunnel-list-dpd-off"
              / "input.txt").read_text(encoding="utf-8").replace("name=DisabledDPD", "name=DialUp_0")
    config = phase1("DialUp", "0.0.0.0", "type dynamic", "dpd disable")
    (f,) = findings("IKE306", config + listed)
    assert f.tunnel == "DialUp_0" and f.facts["from"] == "tunnel-list"
    assert not findings("IKE306", config + listed.replace("mode=off on=0", "mode=on-idle on=1"))


def test_a_name_two_fortigates_configure_is_quoted_for_neither():
    """Two FortiGates' `show` under their prompts, each with a phase 1 `to-br`, one passive:
    the debug's finding names the tunnel, not the device, so neither is quoted."""
    one = phase1("to-br", "203.0.113.5", "passive-mode enable")
    other = one.replace("FGT-HQ #", "FGT-DR #").replace("passive-mode enable", "passive-mode disable")
    (plain,) = findings("IKE209", PASSIVE)
    (f,) = findings("IKE209", PASSIVE, other + one)  # (the passive one last: the latest of the name)
    assert f.message == plain.message
    (f,) = findings("IKE209", PASSIVE, one)  # one device: quoted
    assert "Its configuration says so" in f.message
