"""Public FortiGate IKE debug snippets (tests/data/ikedebug_public/, see its SOURCES.md):
the diagnosis an expert gives for each, run with every rule, and the codes it must not
give (a generic FortiOS line read as the root cause, a retransmission that is not one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ikeanalyze

DATA = Path(__file__).resolve().parents[1] / "data" / "ikedebug_public"


def findings(name: str) -> dict:
    d = ikeanalyze.analyze([str(DATA / name)])
    out: dict = {}
    for f in d.all_findings():
        out.setdefault(f.code, []).append(f)
    return out


def test_ikev1_quick_mode_selector_mismatch_is_ike203_with_both_selector_sets() -> None:
    got = findings("ikev1-quick-selectors-mismatch.txt")
    assert set(got) == {"IKE203"}
    (f,) = got["IKE203"]
    assert (f.peer, f.tunnel) == ("200.1.1.2:500", "VPN-to-SH")
    assert "`no matching phase2 found` at line 70" in f.message
    # The peer's pair (line 68) and this side's phase 2 (line 69), and the network that differs.
    assert "proposed local 0:192.168.0.0-192.168.0.255:0; remote 0:192.168.1.0-192.168.1.255:0" in f.message
    assert "this side's phase 2 has local 0:192.168.0.0-192.168.0.255:0; remote 0:192.168.10.0-192.168.10.255:0" in f.message
    assert ("they differ in the remote network: peer 0:192.168.1.0-192.168.1.255:0 vs this side "
            "0:192.168.10.0-192.168.10.255:0") in f.message
    assert [e.ref for e in f.evidence] == [52, 68, 69, 70]  # in line order: `established IKE SA` first
    assert f.facts["peer_selectors"] == {"local": ["0:192.168.0.0-192.168.0.255:0"],
                                         "remote": ["0:192.168.1.0-192.168.1.255:0"]}


def test_peer_id_refused_is_ike206_and_the_generic_proposal_error_is_not_ike201() -> None:
    got = findings("ikev1-aggressive-peer-id-mismatch.txt")
    assert "IKE201" not in got
    (f,) = got["IKE206"]
    assert (f.peer, f.tunnel) == ("200.1.1.2:500", "VPN-to-SH")
    assert "presented peer identifier IPV4_ADDR 200.1.1.2" in f.message
    assert "(ignoring IKE request, incorrect ID at line 20)" in f.message
    assert [e.ref for e in f.evidence] == [15, 20]


def test_received_authentication_failed_is_ike204_naming_key_and_local_id() -> None:
    got = findings("ikev2-initiator-authentication-failed.txt")
    (f,) = got["IKE204"]
    assert f.tunnel == "IPSECVPN_Test" and f.peer is None
    assert f.message.startswith("The peer on gateway IPSECVPN_Test refused this side's authentication: it answered "
                                "this side's IKE_AUTH with AUTHENTICATION_FAILED 1 time, first at line 4")
    assert "local ID" in f.message and "pre-shared key is assumed" in f.message
    assert f.facts == {"attempts": 1, "refused_by": "peer", "method": "psk (assumed)"}
    assert "IKE903" not in got


def test_authentication_failed_in_the_decrypted_answer_alone_is_ike204(tmp_path) -> None:
    """A paste cut before `received notify type AUTHENTICATION_FAILED` (KB 304205's web copy
    ends there) still has the `dec` dump of the answer carrying it: the refusal is found
    there, once, not "No problem found"."""
    lines = (DATA / "ikev2-initiator-authentication-failed.txt").read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.txt"
    cut.write_text("".join(x for x in lines if "notify type AUTHENTICATION_FAILED" not in x))
    d = ikeanalyze.analyze([str(cut)])
    (f,) = [f for f in d.all_findings() if f.code == "IKE204"]
    assert f.message.startswith("The peer on gateway IPSECVPN_Test refused this side's authentication: it answered "
                                "this side's IKE_AUTH with AUTHENTICATION_FAILED 1 time, first at line 2")
    assert [e.text.split(": ", 1)[1][:4] for e in f.evidence] == ["dec "]
    # With the line there, the dump does not count as a second refusal.
    (g,) = findings("ikev2-initiator-authentication-failed.txt")["IKE204"]
    assert g.facts["attempts"] == 1


def test_ikev1_main_mode_psk_mismatch_is_worded_for_ikev1_and_has_no_retransmissions() -> None:
    got = findings("ikev1-main-psk-mismatch.txt")
    # Main Mode messages 3 (len=380, line 38) and 5 (len=108, line 50) share SPIs and
    # message ID 0: two messages, not one sent twice.
    assert "IKE304" not in got
    (f,) = got["IKE204"]
    assert (f.peer, f.tunnel) == ("200.1.1.2:500", "VPN-to-SH")
    assert "IKE_AUTH" not in f.message
    assert "Main Mode message 5" in f.message and "probable pre-shared secret mismatch" in f.message
    assert "1 time, first at line 55" in f.message


def test_near_misses_keep_their_proposal_codes() -> None:
    # Proposals compared and refused, no peer ID refused: the generic error is IKE201 here.
    got = findings("ikev1-main-p1-proposal-mismatch.txt")
    assert set(got) == {"IKE201"}
    (f,) = got["IKE201"]
    assert (f.peer, f.tunnel) == ("200.1.1.2:500", "VPN-to-SH")
    assert "HASH: peer SHA2_512 vs local SHA2_256/SHA" in f.message
    # Quick mode whose selectors matched a phase 2 (`peer proposal is:`, `matched phase2`)
    # and whose proposals did not: IKE202, not IKE203.
    got = findings("ikev1-quick-p2-proposal-mismatch.txt")
    assert set(got) == {"IKE202"}
    assert "INTEGR: peer SHA1/SHA2_256 vs local SHA2_512" in got["IKE202"][0].message


@pytest.mark.parametrize("fmt", ["json", "markdown", "html", "terminal"])
def test_redacted_peer_is_kept_and_every_report_renders(fmt: str, tmp_path: Path) -> None:
    events, _ = ikeanalyze.load([str(DATA / "ikev1-redacted-peer-numbered.txt")])
    comes = events[events["kind"] == "ike-received"].iloc[0]
    assert (comes["src"], comes["sport"], comes["dst"], comes["transport"]) == ("XXX.XXX.XXX.XXX", 500, "192.168.68.99", "udp500")
    assert comes["length"] == 280  # from its `exchange=` line
    d = ikeanalyze.analyze([str(DATA / "ikev1-redacted-peer-numbered.txt")])
    out = tmp_path / f"report.{fmt}"
    with out.open("w", encoding="utf-8") as fh:
        ikeanalyze.render(d, fmt, fh)
    assert out.stat().st_size > 0


TEXT = Path(__file__).resolve().parents[1] / "data" / "text_public"


def test_collapsed_gateway_list_over_tcp_is_ike103_not_an_input_without_ipsec() -> None:
    d = ikeanalyze.analyze([str(TEXT / "docs_ikev2_tcp5500_gwlist_collapsed_bold.txt")])
    got = {f.code: f for f in d.all_findings()}
    assert set(got) == {"IKE103"}
    assert got["IKE103"].message.startswith("Tunnel v2_psk-120_0 between 10.152.35.150:5500 and "
                                            "10.152.35.193:54854 runs IKE over TCP")


def test_collapsed_healthy_dialup_lists_give_no_diagnosis() -> None:
    d = ikeanalyze.analyze([str(TEXT / "docs_dialup_gwlist_tunnel_list_collapsed.txt")])
    assert {f.code for f in d.all_findings()} == {"IKE901"}  # the `- ` between the two items


def test_peer_id_refused_on_gateway_level_lines_quotes_the_id_above() -> None:
    """No IKE SA serial on the lines (`ike 0:CBS-VPN: ...`): the DN the peer presented two
    lines above the refusal is still the ID quoted (it said "an ID not in this log")."""
    got = findings("ikev2-cert-dn-gw-validation-failed-no-serial.txt")
    (f,) = got["IKE206"]
    assert f.tunnel == "CBS-VPN"
    assert f.message == ("The peer presented peer identifier DER_ASN1_DN 'CN = FortiGate VPN Client', which does "
                         "not validate against gateway CBS-VPN (gw validation failed at line 5).")
    assert [e.ref for e in f.evidence] == [4, 5]
    assert f.facts["peer_id"] == "DER_ASN1_DN 'CN = FortiGate VPN Client'"


def test_tunnel_list_dpd_status_fail_is_ike301_naming_the_still_up_tunnel(tmp_path: Path) -> None:
    """Article 416613: `dpd: ... status=fail` on a tunnel still `status=up` (7.4.4+ marks its
    interface inactive). Before, the tunnel list was read but nothing was said."""
    name = "kb416613_tunnel_list_dpd_fail_still_up.txt"
    d = ikeanalyze.analyze([str(TEXT / name)])
    got = {f.code: f for f in d.all_findings()}
    assert set(got) == {"IKE301", "IKE901"}  # IKE901: the article's prose and routing-table lines
    f = got["IKE301"]
    assert (f.tunnel, f.peer) == ("IPSec", "10.10.88.246:4500")
    assert f.message.startswith("Dead peer detection failed on tunnel IPSec to 10.10.88.246:4500: its tunnel list "
                                "shows `dpd: mode=on-idle on=1 status=fail`")
    assert "still `status=up` (line 32)" in f.message
    assert "1198 packets received, 0 sent (`stat:`), `ilast=0 olast=36`" in f.message
    assert ("an earlier tunnel list (line 13) had `status=ok` with the remote gateway at 10.10.88.247:4500, "
            "now 10.10.88.246:4500") in f.message
    assert [e.ref for e in f.evidence] == [32, 37, 36, 18]
    assert f.facts["dpd_status"] == "fail" and f.facts["txp"] == 0
    # The working scenario alone (`status=ok`) is quiet.
    working = tmp_path / "working.txt"
    working.write_text("".join((TEXT / name).read_text(encoding="utf-8").splitlines(keepends=True)[:20]),
                       encoding="utf-8")
    assert "IKE301" not in {f.code for f in ikeanalyze.analyze([str(working)]).all_findings()}


def test_a_tunnel_the_summary_shows_down_gets_the_commands_that_would_say_why() -> None:
    """docs.fortinet.com: `The backup overlay, T5, is down.` (`selectors(total,up): 1/0`).
    No IKE line of T5 in the input, so no finding can say why; the report said only "No
    problem found". It now says which tunnel is down and what to collect."""
    d = ikeanalyze.analyze([str(TEXT / "docs_sdwan_tunnel_summary_collapsed.txt")])
    assert {f.code for f in d.all_findings()} == {"IKE901"}
    (step,) = [s for s in d.next_steps if s.startswith("Tunnel ")]
    assert step.startswith("Tunnel T5 (remote gateway 172.16.210.2) is down: 0 of 1 phase-2 selector up "
                           "(`selectors(total,up): 1/0`, ")
    assert "docs_sdwan_tunnel_summary_collapsed.txt line 2" in step
    assert "`diagnose vpn ike gateway list name T5`" in step and "rem-addr4 172.16.210.2" in step
    # All up: nothing to say.
    healthy = ikeanalyze.analyze([str(TEXT / "sdwan_readme_tunnel_summary_with_remote.txt")])
    assert not [s for s in healthy.next_steps if s.startswith("Tunnel ")]


def test_a_responder_stuck_connecting_with_a_debug_too_short_gets_the_full_debug_asked() -> None:
    """r/fortinet: two responder IKE SAs `connecting, state 3`, a debug that stops after
    message 1; the thread's answer was to run the full debug."""
    d = ikeanalyze.analyze([str(TEXT / "reddit_gwlist_connecting_prose_below.txt")])
    assert {f.code for f in d.all_findings()} == {"IKE901"}
    (step,) = [s for s in d.next_steps if s.startswith("Tunnel ")]
    assert step.startswith("Tunnel xxxx is down: phase 1 still "  # the gateway is redacted
                           "`status: connecting, state 3, started 7s ago` as responder (line 15); ")
    assert "gateway list name" not in step  # it is in the paste


def test_fortios4_no_matching_gateway_log_is_ike206() -> None:
    d = ikeanalyze.analyze([str(TEXT / "forum_fos4_log_one_field_per_line.txt")])
    got = {f.code: f for f in d.all_findings()}
    assert set(got) == {"IKE206", "IKE901"}
    f = got["IKE206"]
    assert f.peer == "xxx:1049"
    assert f.message.startswith("The FortiGate's event log says the peer's ID matches no gateway with xxx:1049 "
                                "(local end xxx:500): logid 0101037124 \"IPsec phase 1 error\", "
                                "`no matching gateway for new request`, 1 time, first at 13:08:51 (line 2).")
    assert f.facts["logid"] == "0101037124"


def test_fortios4_alert_mail_proposal_mismatch_in_prose_is_ike201() -> None:
    """The 4.x records a forum post ran into its paragraph: phase 1 (`stage=1`, logid 37124)
    refused for `peer SA proposal not match local policy`, told without the forum's blanks."""
    d = ikeanalyze.analyze([str(TEXT / "forum_fos4_alert_mail_logs_in_prose.txt")])
    got = {f.code: f for f in d.all_findings()}
    assert set(got) == {"IKE201"}
    f = got["IKE201"]
    assert (f.tunnel, f.peer) == ("IPSec-VPN", "(client' s public ip):885")
    assert f.message.startswith("The FortiGate's event log says the phase-1 proposals do not match with "
                                "(client' s public ip):885 on gateway IPSec-VPN (local end (gateway ip):500): "
                                "logid 0101037124 \"IPsec phase 1 error\", `peer SA proposal not match local "
                                "policy`, 1 time, first at 12:47:27 (line 1).")


def test_a_tunnel_list_with_no_phase2_sa_gets_the_commands_that_would_say_why() -> None:
    """Every `proxyid=` of the tunnel list has `sa=0` and no IKE line of it is in the input."""
    d = ikeanalyze.analyze([str(TEXT / "notes_p81_tunnel_list_no_sa_tunnel_details.txt")])
    (step,) = [s for s in d.next_steps if s.startswith("Tunnel ")]
    assert step.startswith("Tunnel Perimeter81 (remote gateway 131.226.32.161) is down: no phase-2 SA in its "
                           "tunnel list (`proxyid=Perimeter81 proto=0 sa=0 ref=2`, ")
    assert "line 11); no IKE exchange of it in the input says why" in step
    assert "`diagnose vpn ike gateway list name Perimeter81` (is phase 1 up?)" in step
    # Tunnel lists whose phase 2 has its SA (`sa=1`): no such step.
    other = ikeanalyze.analyze([str(TEXT / "fortios563_transparent_tunnel_list_pdf.txt"),
                                str(TEXT / "docs_dialup_gwlist_tunnel_list_collapsed.txt")])
    assert not [s for s in other.next_steps if s.startswith("Tunnel ")]


def test_tunnel_details_alone_with_no_sa_names_the_tunnel_down(tmp_path: Path) -> None:
    lines = (TEXT / "notes_p81_tunnel_list_no_sa_tunnel_details.txt").read_text(encoding="utf-8").splitlines()
    only = tmp_path / "details.txt"
    only.write_text("\n".join(lines[25:]) + "\n", encoding="utf-8")  # the `tunnel details` fence
    d = ikeanalyze.analyze([str(only)])
    assert not d.all_findings()
    (step,) = [s for s in d.next_steps if s.startswith("Tunnel ")]
    assert step.startswith("Tunnel Perimeter81 (remote gateway 131.226.32.161) is down: no phase-2 SA in "
                           "`get vpn ipsec tunnel details` (no `SA` under its selectors) (`name: 'Perimeter81'`, ")
    assert (d.snapshots[0]["refs"], d.snapshots[0]["remote"]) == (
        [{"source": str(only), "ref": 2, "output": "details"}], "131.226.32.161:0")
    # The report's snapshot is the block's: its counters (1 tx error), DPD, selector, no SA.
    s = d.snapshots[0]
    assert s["stat"] == {"rxp": 0, "txp": 0, "rxb": 0, "txb": 0, "rx_errors": 0, "tx_errors": 1}
    assert (s["dpd"]["mode"], s["dpd"]["negotiated"], s["sas"], s["snapshots"]) == ("on-idle", False, [], 1)
    assert s["selectors"] == [{"proxyid": "Perimeter81", "src": ["0:0.0.0.0/0.0.0.0:0"],
                               "dst": ["0:0.0.0.0/0.0.0.0:0"]}]


def test_tunnel_details_alone_fill_the_reports_snapshot() -> None:
    """`get vpn ipsec tunnel details` with no tunnel list: the JSON snapshot held
    `"stat": null, "selectors": [], "sas": [], "dpd": null, "snapshots": 0` although the block
    prints all of them; now its counters (with the 3 tx errors), DPD, selector and the SA's
    SPIs, and the block counted."""
    path = TEXT / "rulab_tunnel_details_tx_errors.txt"
    (s,) = ikeanalyze.analyze([str(path)]).snapshots
    assert s["stat"] == {"rxp": 2259, "txp": 2290, "rxb": 274212, "txb": 144180, "rx_errors": 0, "tx_errors": 3}
    assert (s["dpd"]["mode"], s["snapshots"], s["refs"]) == ("disabled", 1, [{"source": str(path), "ref": 5,
                                                                              "output": "details"}])
    assert s["selectors"] == [{"proxyid": "FGW1", "src": ["0:0.0.0.0/0.0.0.0:0"], "dst": ["0:0.0.0.0/0.0.0.0:0"]}]
    assert [(sa["proxyid"], sa["dec_spi"], sa["enc_spi"], sa["dec_pkts"]) for sa in s["sas"]] == [
        ("FGW1", "6a4b83ce", "d0942fbb", None)]
    (two,) = ikeanalyze.analyze([str(TEXT / "blog_get_vpn_ipsec_tunnel_name_two_sas.txt")]).snapshots
    assert [sa["enc_spi"] for sa in two["sas"]] == ["09387f45", "03b2b08e"] and two["dpd"]["retry"] == 3


def test_summaries_of_two_ha_members_are_kept_per_device(tmp_path: Path) -> None:
    """Three summaries of `to-fgt101` from two HA members: the tunnel was one snapshot, the
    secondary's last line (0/0 counters) overwriting the primary's live SA (97/97 packets, 2
    tx errors). Now one per device (the prompt's hostname), each member's latest line kept."""
    d = ikeanalyze.analyze([str(TEXT / "lab76_ha_members_tunnel_summaries.txt")])
    got = {s["device"]: (s["tunnel"], s["summary"], [r["ref"] for r in s["refs"]], s["snapshots"])
           for s in d.snapshots}
    assert got == {
        "FGT-3": ("to-fgt101", {"remote": "10.30.99.101:0", "selectors": [1, 1], "rx": [97, 0], "tx": [97, 2]},
                  [22], 1),
        "FGT-2": ("to-fgt101", {"remote": "10.30.99.101:500", "selectors": [1, 1], "rx": [0, 0], "tx": [0, 0]},
                  [24], 2),
    }
    assert not [s for s in d.next_steps if s.startswith("Tunnel ")]  # both members' latest: 1/1
    # The first summary alone on the secondary is its latest state: down, and said of it.
    lines = (TEXT / "lab76_ha_members_tunnel_summaries.txt").read_text(encoding="utf-8").splitlines()
    first = tmp_path / "ha.txt"
    first.write_text("\n".join(lines[:22]) + "\n", encoding="utf-8")  # up to the primary's summary
    d = ikeanalyze.analyze([str(first)])
    (step,) = [s for s in d.next_steps if s.startswith("Tunnel ")]
    assert step.startswith("Tunnel to-fgt101 on FGT-2 (remote gateway 10.30.99.101) is down: 0 of 1 phase-2 "
                           "selector up")


def test_one_device_named_by_its_prompt_keeps_one_state_per_tunnel() -> None:
    """A paste whose prompts name one device (`FG60F (root) # get vpn ipsec tunnel name ...`):
    its lines carry the device, but the tunnels are keyed by name alone, as before."""
    (s,) = ikeanalyze.analyze([str(TEXT / "blog_get_vpn_ipsec_tunnel_name_two_sas.txt")]).snapshots
    assert (s["tunnel"], s["device"]) == ("vpn-to-mikrotik", None)


def test_peer_refused_this_sides_proposals_is_worded_as_this_side_initiating() -> None:
    """`received SA_INIT error notify response, abort`: this side offered, the peer refused.
    It said "The phase-1 negotiation from the peer ... failed on proposals (the peer answered
    NO_PROPOSAL_CHOSEN)" (the peer initiated nothing)."""
    got = findings("ikev2-initiator-no-proposal-chosen-azure-md.txt")
    assert set(got) == {"IKE201", "IKE901"}  # IKE901: the bullets' prose
    (f,) = got["IKE201"]
    assert f.tunnel == "40F_Azure_Tunn"
    assert f.message.startswith("The peer refused this side's phase-1 proposals for gateway 40F_Azure_Tunn "
                                "(the peer answered NO_PROPOSAL_CHOSEN) (line 6); neither side's proposals are in "
                                "this input.")
    # One attempt: the notify (line 5), whose exchange line carries no `id=` to give it a
    # phase, and `received SA_INIT error notify response, abort` (line 6) are one refusal
    # (they were two attempts, "2 attempts failed this way").
    assert f.facts["attempts"] == 1 and [e.ref for e in f.evidence] == [5, 6]


def test_session_resume_answered_and_re_sent_is_not_reported_unanswered() -> None:
    """The gateway answered the peer's SESSION_RESUME (`sent IKE msg (SESSION_RESUME_RESPONSE)`)
    and answered its re-send again (`detected retransmit, resend last message`, `sent IKE msg
    (retransmit)`): the peer's retransmission was answered, and the gateway's re-sent
    response is no retransmitted request of its own. It was `never answered`, with the
    gateway's re-send as evidence of a request."""
    got = findings("ikev2-session-resume-retransmit-gw-validation-failed.txt")
    assert set(got) == {"IKE206", "IKE304"}
    (f,) = got["IKE304"]
    assert f.message == ("198.51.100.200:500 re-sent to 192.0.2.44:500 on IKE SA f707560e01167d59: SESSION_RESUME "
                         "sent 2 times, answered every time and re-sent anyway (the answers were lost or not accepted) "
                         "(1 retransmission in all).")
    assert [e.ref for e in f.evidence] == [1, 6]
    assert f.facts["direction"] == "in" and f.facts["sends"][0]["answered"] is True
    (g,) = got["IKE206"]
    assert [e.ref for e in g.evidence] == [12, 14] and g.tunnel == "HQ_UNDERLAY2"


def test_own_start_refused_for_no_policy_is_one_finding_towards_the_peer() -> None:
    """`ignoring request to establish IPsec SA, no policy configured` refuses this side's own
    `IPsec SA connect`, not a request of the peer; the first refusal, whose connect line the
    excerpt cut off, counts with the 6 that name 203.0.113.150. It was `ignored the peer's
    request 1 time` plus `the same for 1 other peer: <the connect lines' peer>`."""
    got = findings("ikev2-initiator-no-policy-connect-cut.txt")
    assert set(got) == {"IKE209"}
    (f,) = got["IKE209"]
    assert (f.tunnel, f.peer) == ("dc-wan2", "203.0.113.150")
    assert f.message == ("No firewall policy uses gateway dc-wan2: the FortiGate refused to start the IPsec SA towards "
                         "203.0.113.150 7 times (`ignoring request to establish IPsec SA, no policy configured`, "
                         "line 1 to line 13).")
    assert f.facts == {"refusals": 7, "reason": "no-policy", "started_by": "this side", "ispis": []}
    assert [e.ref for e in f.evidence][:3] == [1, 3, 5] and f.evidence[-1].ref == 13


def test_the_eap_proxys_invalid_nt_response_is_a_wrong_password() -> None:
    """The FortiGate's own EAP server (local user) rejects the MSCHAPv2 answer, `EAP-MSCHAPV2:
    Invalid NT-Response`, and the excerpt ends before the `ike` result line: the login
    failed on its password. It was only IKE901 (the lines the parser could not read). The
    gateway and peer are those of the `ike` lines that handed the EAP answer over, above
    the fnbamd session that fetched the local password."""
    got = findings("eap-proxy-local-user-invalid-nt-response.txt")
    assert set(got) == {"IKE208", "IKE901"}
    (f,) = got["IKE208"]
    assert (f.tunnel, f.peer) == ("eap-dialup", "198.51.100.143:62211")
    assert f.facts == {"reason": "bad-credentials", "user": "tnakamura", "method": "EAP", "pending": False}
    assert "the daemons say `Invalid NT-Response` (line 168)" in f.message
    assert [e.ref for e in f.evidence] == [168]


def test_refusals_of_two_kinds_on_one_gateway_are_two_findings(tmp_path) -> None:
    """The last refusal says passive mode, the others no policy: two causes, two fixes. The
    passive-mode line was counted as an eighth `no policy configured`."""
    lines = (DATA / "ikev2-initiator-no-policy-connect-cut.txt").read_text(encoding="utf-8").splitlines()
    lines[12] = lines[12].replace("no policy configured", "gateway is in passive mode")
    p = tmp_path / "two-kinds.txt"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    d = ikeanalyze.analyze([str(p)])
    got = sorted((f.facts["reason"], f.facts["refusals"], [e.ref for e in f.evidence])
                 for f in d.all_findings() if f.code == "IKE209")
    assert got == [("no-policy", 6, [1, 3, 5, 11]), ("passive-mode", 1, [13])]
    fixes = {f.facts["reason"]: f.fix for f in d.all_findings() if f.code == "IKE209"}
    assert fixes["no-policy"].startswith("Add a firewall policy") and "passive" not in fixes["no-policy"]
    assert fixes["passive-mode"].startswith("`set passive-mode disable`") and "firewall policy" not in fixes["passive-mode"]


def test_own_starts_and_the_peers_requests_refused_are_two_findings(tmp_path) -> None:
    """This side's refused starts and the peer's refused request, interleaved: both `no
    policy`, but two stories (the dedup merged them: '2 times' with the peer's line as
    evidence)."""
    p = tmp_path / "both.txt"
    p.write_text(
        "2025-05-01 10:00:00 ike 0:dc-wan2:net-3: IPsec SA connect 11 192.0.2.77->203.0.113.150:0\n"
        "2025-05-01 10:00:00 ike 0:dc-wan2: ignoring request to establish IPsec SA, no policy configured\n"
        "2025-05-01 10:00:02 ike 0: comes 203.0.113.150:500->192.0.2.77:500,ifindex=5....\n"
        "2025-05-01 10:00:02 ike 0: IKEv2 exchange=SA_INIT id=8a7f3c2e11d04b9a/0000000000000000 len=340\n"
        "2025-05-01 10:00:02 ike 0:dc-wan2: ignoring IKEv2 request, no policy configured\n"
        "2025-05-01 10:00:05 ike 0:dc-wan2:net-4: IPsec SA connect 11 192.0.2.77->203.0.113.150:0\n"
        "2025-05-01 10:00:05 ike 0:dc-wan2: ignoring request to establish IPsec SA, no policy configured\n")
    got = sorted((f.facts["started_by"], f.facts["refusals"], [e.ref for e in f.evidence])
                 for f in ikeanalyze.analyze([str(p)]).all_findings() if f.code == "IKE209")
    assert got == [("peer", 1, [5]), ("this side", 2, [2, 7])]
    assert ikeanalyze.analyze([str(p)]).summary.endswith("Also: 1 more IKE209 finding of the same peer.")


def test_both_ends_initiating_main_mode_words_the_first_failure_by_its_own_role() -> None:
    """The first failure (line 14) is of responder negotiation 8, inside the span of this
    side's initiator negotiation 7: 'message 5' (the spanning initiator made it 6)."""
    (f,) = findings("ikev1-main-both-ends-initiate-psk-mismatch.txt")["IKE204"]
    assert "the peer's Main Mode message 5 (its ID and HASH" in f.message
    assert "2 times, first at 09:00:01 (line 14), last at 09:00:02 (line 20)" in f.message


def test_healthy_ikev1_aggressive_debug_annotated_in_chinese_gives_no_diagnosis() -> None:
    """Handbook page (IKEv1 aggressive mode, responder FGT-BJ): every step of a successful
    negotiation with the author's Chinese notes between the records. Phase 1 and quick mode
    both up (`established IKE SA`, `added IPsec SA`): nothing to diagnose, only the notes."""
    d = ikeanalyze.analyze([str(DATA / "ikev1-aggressive-healthy-annotated-zh.txt")])
    assert {f.code for f in d.all_findings()} == {"IKE901"}
    events, _ = ikeanalyze.load([str(DATA / "ikev1-aggressive-healthy-annotated-zh.txt")])
    got = events[events["kind"] == "ike-received"]
    assert list(got["exchange"]) == ["Aggressive", "Aggressive", "Quick", "Quick"]
    assert set(got["src"]) == {"200.1.1.2"}
    sel = events[events["kind"] == "selectors"]
    assert sel["tunnel"].unique().tolist() == ["VPN-to-SH"]


def test_healthy_certificate_tunnel_with_dn_peer_ids_gives_no_diagnosis() -> None:
    """Handbook page (PKI authentication): a gateway list whose `peer-id:` is a certificate
    DN with commas and `=` (`C = CN, ST = Beijing, ... emailAddress = xxxxxx@fortinet.com`),
    two established IKE SAs (responder and initiator), a tunnel list with both SAs offloaded
    (`npu_flag=03`) and traffic both ways: healthy."""
    name = "handbook_pki_cert_gwlist_dn_peer_id.txt"
    d = ikeanalyze.analyze([str(TEXT / name)])
    assert {f.code for f in d.all_findings()} == {"IKE901"}  # the page's headings
    assert not [s for s in d.next_steps if s.startswith("Tunnel ")]
    events, _ = ikeanalyze.load([str(TEXT / name)])
    facts = json.loads(events["detail"].iloc[0])["facts"]
    assert facts["peer_id"].startswith("C = CN, ST = Beijing, L = Beijing, O = FTNT, OU = tac, CN = FGTSH")
    assert [(s["direction"], s["status"]) for s in facts["ike_sas"]] == [("responder", "established"),
                                                                        ("initiator", "established")]


def test_japanese_blog_tunnel_list_down_asks_for_the_negotiation() -> None:
    """A Japanese blog (Azure, FortiGate 100E): its example of a tunnel that does not connect,
    `proxyid=Azure ... sa=0` and zero counters (the author's note `//切断状態なので、TX/RX
    ともに 0` on the `stat:` line). No IKE line says why: the report names the tunnel down
    and what to collect, nothing more."""
    d = ikeanalyze.analyze([str(TEXT / "blog_ja_tunnel_list_slash_comment_azure_down.txt")])
    assert {f.code for f in d.all_findings()} == {"IKE901"}  # the blog's three sentences
    (step,) = [s for s in d.next_steps if s.startswith("Tunnel ")]
    assert step.startswith("Tunnel Azure is down: no phase-2 SA in its tunnel list "
                           "(`proxyid=Azure proto=0 sa=0 ref=1`")


def test_l2tp_over_ipsec_dialup_parent_without_sas_is_not_a_tunnel_down() -> None:
    """Handbook page (L2TP over IPsec, Windows native client): the dial-up template
    `L2TP_over_IPSEC` (`mode=dialup/2`, `proxyid_num=0 child_num=1`, remote `0.0.0.0`) has no
    SA by design; its instance `L2TP_over_IPSEC_0` (`mode=dial_inst/3`, `parent=`) carries the
    transport-mode UDP 1701 selector with traffic both ways. Healthy: no tunnel called down."""
    name = "handbook_l2tp_dialup_parent_instance_transport.txt"
    d = ikeanalyze.analyze([str(TEXT / name)])
    assert {f.code for f in d.all_findings()} == {"IKE901"}  # the list item's line and its image
    assert not [s for s in d.next_steps if s.startswith("Tunnel ")]
    events, _ = ikeanalyze.load([str(TEXT / name)])
    facts = [json.loads(x)["facts"] for x in events["detail"] if "facts" in json.loads(x)]
    assert [(f["list"], f["name"], f.get("mode")) for f in facts] == [
        ("gateway", "L2TP_over_IPSEC_0", None), ("tunnel", "L2TP_over_IPSEC", "dialup/2"),
        ("tunnel", "L2TP_over_IPSEC_0", "dial_inst/3")]
    (p,) = facts[2]["proxyids"]
    assert (p["proto"], p["flags"], p["src"]) == (17, ["transport-mode", "add-route"], ["17:201.1.1.3-201.1.1.3:1701"])


def test_both_peers_lists_pasted_without_hostnames_give_no_diagnosis() -> None:
    """Handbook page (FortiGuard DDNS): the gateway and tunnel lists of both FortiGates of one
    tunnel, each after a bare `# ` prompt (no hostname), both up with mirrored SPIs and no
    traffic yet (`stat: rxp=0 txp=0`): two devices' healthy lists, nothing to diagnose."""
    d = ikeanalyze.analyze([str(TEXT / "handbook_ddns_both_peers_lists_no_hostname.txt")])
    assert {f.code for f in d.all_findings()} == {"IKE901"}  # the page's headings and images
    assert not [s for s in d.next_steps if s.startswith("Tunnel ")]
