"""Real logs pasted together in one file (an engineer's SSH session of a morning) give the
findings of each log read alone: one log's user, gateway, IKE SA or cause is not taken for
another's, and no finding of either is lost in the merge."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ikeanalyze import api
from ikeanalyze.diagnosis import Evidence, Finding, Moment, rank
from ikeanalyze.sources import Blob
from tests.robustness.helpers import TESTS

DEBUG = TESTS / "data" / "ikedebug"


def _diagnose(*names: str):
    data = b"".join(b"FGT60F # diagnose debug enable\n" + (DEBUG / n).read_bytes().rstrip(b"\n") + b"\n"
                    for n in names)
    events, ingest = api.load([Blob("session.txt", None, data, data[:16])])
    return api.diagnose(events, ingest)


def _all(d) -> list[Finding]:
    return [x for f in d.findings for x in (f, *f.symptoms)]


def _logins(d) -> list[tuple]:
    return sorted((f.code, f.facts.get("user"), f.tunnel, f.facts.get("reason")) for f in _all(d)
                  if f.code in ("IKE208", "IKE213"))


def test_two_users_failing_one_after_the_other_are_two_findings():
    """`vito` fails on an unreachable LDAP server; three minutes later `vitoo` (a typo) is
    refused. Read as one login, the second failure was blamed on the LDAP timeout under the
    first user's name, and `vitoo`'s finding was lost."""
    alone = [_logins(_diagnose(n)) for n in ("IKE_LOG_V1_ldap_non_reachable_2.txt",
                                             "IKE_LOG_V1_ldap_non_working_pswd_1.txt")]
    together = _logins(_diagnose("IKE_LOG_V1_ldap_non_reachable_2.txt", "IKE_LOG_V1_ldap_non_working_pswd_1.txt"))
    assert together == sorted(alone[0] + alone[1])
    assert {(u, r) for _, u, _, r in together} == {("vito", "ldap-unreachable"), ("vitoo", "bad-credentials")}


def test_failures_on_two_gateways_keep_their_own_user_and_reason():
    """A local-password failure on ra-ikev1, then a RADIUS group mismatch of another user on
    another gateway: merged, the first's user and gateway got the second's reason."""
    together = _logins(_diagnose("IKE_LOG_V1_local_pwd_non_working_2.txt", "IKE_LOG_pwd_radius_auth_cert.txt"))
    assert together == [("IKE208", "alanvan.beek@allianceautomation.com.au", "AzureAUEUserVPN", "radius-group-mismatch"),
                        ("IKE208", "vpnuserasd", "ra-ikev1", "bad-credentials")]


def test_a_daemon_restart_months_before_does_not_hide_a_login_failure():
    """A SAML login lost to an fnbamd restart (2024-09-25), then an LDAP login failing on an
    unreachable server (2025-01-15): the restart explains the first only."""
    alone = _logins(_diagnose("IKE_LOG_V1_ldap_non_reachable_2.txt"))
    together = _logins(_diagnose("IKE_LOG_SAML_bug_1.txt", "IKE_LOG_V1_ldap_non_reachable_2.txt"))
    assert ("IKE208", "vito", "ikev1-ldap", "ldap-unreachable") in alone
    assert set(alone) < set(together)
    assert any(code == "IKE213" for code, *_ in together)


def test_the_same_user_trying_again_is_a_second_login():
    """One continuous RADIUS session: the first XAUTH fails on DNS, the user tries again and
    the now-resolved server never answers. Both causes are reported."""
    reasons = {r for _, u, _, r in _logins(_diagnose("IKE_LOG_V1_radius_DNS_Issues.txt",
                                                     "IKE_LOG_V1_radius_not_reachable.txt"))}
    assert reasons == {"dns-failure", "radius-unreachable"}


def test_two_gateways_with_one_peer_keep_their_proposal_mismatches():
    """The corpus's compilation of ~14 sessions: gateways eveS2S and DialUp-wan both refuse
    1.1.1.254's phase-1 proposals; the second was merged into the first and lost."""
    d = _diagnose("IKE_Log_combined_all.txt")
    assert {f.tunnel for f in _all(d) if f.code == "IKE201" and f.peer == "1.1.1.254:500"} == {"eveS2S", "DialUp-wan"}


def test_retransmissions_on_two_ike_sas_of_one_peer_are_two_findings():
    """IKE_LOG_V2_PSK and IKE_LOG_peer_id: AUTH re-sent on IKE SA b84babe9e6a4abf9, then on
    0bba3c1cc48194fd, to the same peer; merged, the second SA's lines were cited under the
    first's message."""
    d = _diagnose("IKE_LOG_V2_PSK.txt", "IKE_LOG_peer_id.txt")
    sas = sorted(f.facts["ispi"] for f in _all(d) if f.code == "IKE304" and f.peer == "1.1.1.254:4500")
    assert sas == ["0bba3c1cc48194fd", "b84babe9e6a4abf9"]


def _f(code, peer="10.0.0.1:500", start=None, end=None, tunnel=None, source="paste.txt", **facts) -> Finding:
    return Finding(code, code, "error", code, f"{code} {facts}", "", start=start, end=end, tunnel=tunnel, peer=peer,
                   facts=facts, evidence=[Evidence(source, 1, "")])


def test_one_story_told_by_a_sniffer_and_a_debug_is_one_finding():
    at = datetime(2026, 2, 26, 23, 34, 42)
    debug, sniffer = _f("IKE105", start=at, end=at, tunnel="to-hq", ispi="aa"), _f("IKE105", start=at, end=at)
    assert rank([debug, sniffer], {}) == [debug]
    later = _f("IKE105", start=datetime(2026, 2, 26, 23, 50), end=datetime(2026, 2, 26, 23, 51))
    assert len(rank([_f("IKE105", start=at, end=at), later], {})) == 2  # the same peer, another time
    # Another input's clock may be another zone (a capture in UTC, the debug in local time).
    assert len(rank([_f("IKE105", start=at, end=at), _f("IKE105", start=later.start, source="capture.pcap")], {})) == 1
    assert len(rank([_f("IKE105", ispi="aa"), _f("IKE105", ispi="bb")], {})) == 2  # another IKE SA
    assert len(rank([_f("IKE201", tunnel="a"), _f("IKE201", tunnel="b")], {})) == 2  # another gateway


def test_the_other_inputs_new_moments_close_together_both_stay() -> None:
    """Merged into the debug's finding, the sniffer's moments that the debug already told
    (its first SA_INIT, 100 ms later) are left out; two it did not tell stay, however close
    to each other they are (each was compared with the moments just added from it too)."""
    at = datetime(2026, 2, 26, 10, 0, 0)
    debug, sniffer = _f("IKE105", start=at, end=at, tunnel="to-hq"), _f("IKE105", start=at, end=at)
    debug.timeline = [Moment(at, None, "first SA_INIT to 10.0.0.1:500", "debug.txt", 3)]
    sniffer.evidence = [Evidence("sniffer.txt", 4, "")]
    sniffer.timeline = [Moment(at + timedelta(seconds=0.1), None, "first SA_INIT to 10.0.0.1:500", "sniffer.txt", 4),
                        Moment(at + timedelta(seconds=5.0), None, "ICMP port unreachable from 10.0.0.1", "sniffer.txt", 9),
                        Moment(at + timedelta(seconds=5.4), None, "attempt 2, still no answer", "sniffer.txt", 10)]
    [kept] = rank([debug, sniffer], {})
    assert [(m.source, m.ref) for m in kept.timeline] == [("debug.txt", 3), ("sniffer.txt", 9), ("sniffer.txt", 10)]


def test_a_symptom_of_a_symptom_reaches_the_report():
    """IKE201 explains IKE105, which explains IKE304: the IKE304 was nested under IKE105
    and the reports, which show one level, never showed it."""
    cause, middle, leaf = _f("IKE201"), _f("IKE105"), _f("IKE304")
    top = rank([cause, middle, leaf], {"IKE201": ("IKE105",), "IKE105": ("IKE304",)})
    assert top == [cause] and cause.symptoms == [middle, leaf] and middle.symptoms == []


def test_a_symptom_of_another_ike_sa_is_not_grouped_under_the_cause():
    """IKE201 and IKE105 of one peer that name different IKE SAs are two episodes; a
    symptom goes to the cause of its own SA before a cause of its peer that names none."""
    explains = {"IKE201": ("IKE105",), "IKE209": ("IKE304",), "IKE203": ("IKE304",)}
    refused, silent = _f("IKE201", ispis=["bb"]), _f("IKE105", ispi="aa")
    assert len(rank([refused, silent], explains)) == 2 and refused.symptoms == []
    again = _f("IKE105", ispi="bb")  # the refused SA's own retries: the same episode
    assert rank([_f("IKE201", ispis=["bb"]), again], explains)[0].symptoms == [again]
    # IKE203 (another SA) comes first; IKE209 names the re-sent SA and takes it.
    selectors, ignored, resent = _f("IKE203", ispis=["dd"]), _f("IKE209", ispis=["cc"]), _f("IKE304", ispi="cc")
    rank([selectors, ignored, resent], explains)
    assert ignored.symptoms == [resent] and selectors.symptoms == []
    unnamed = _f("IKE304")  # a symptom naming no SA (sniffer text) still joins its peer's cause
    assert rank([_f("IKE209", ispis=["cc"]), unnamed], explains)[0].symptoms == [unnamed]


def _sa_init(serial: int, spi: str, kind: str = "SA_INIT") -> str:
    return (f"ike 0:vpn1:{serial}: sent IKE msg ({kind}): 192.0.2.1:500->198.51.100.7:500, len=532, vrf=0, "
            f"id={spi}/0000000000000000\n")


def test_an_unanswered_sa_init_is_not_a_symptom_of_a_later_refusal():
    """A long debug: SA_INIT 4ba9... is re-sent and times out; a later attempt (7c1d...)
    gets NO_PROPOSAL_CHOSEN. The unanswered one was listed `(symptom of IKE201)`, though
    the peer that refused the later proposals was silent to the earlier attempt."""
    text = (_sa_init(101, "4ba9b36df027bec4") + 3 * _sa_init(101, "4ba9b36df027bec4", "RETRANSMIT_SA_INIT")
            + "ike 0:vpn1:101: negotiation timeout, deleting\n"
            "ike 0:vpn1: connection expiring due to phase1 down\n"
            "ike 0:vpn1: IPsec SA connect 5 192.0.2.1->198.51.100.7:500 negotiating\n"
            + _sa_init(102, "7c1d2e3f40516273")
            + "ike 0: comes 198.51.100.7:500->192.0.2.1:500,ifindex=5,vrf=0,len=36....\n"
            "ike 0: IKEv2 exchange=SA_INIT_RESPONSE id=7c1d2e3f40516273/0000000000000000 len=36\n"
            "ike 0:vpn1:102: initiator received SA_INIT response\n"
            "ike 0:vpn1:102: processing notify type NO_PROPOSAL_CHOSEN\n"
            "ike 0:vpn1:102: received SA_INIT error notify response, abort\n"
            "ike 0:vpn1:102: negotiation timeout, deleting\n").encode()
    events, ingest = api.load([Blob("debug.txt", None, text, text[:16])])
    d = api.diagnose(events, ingest)
    top = {f.code: [s.code for s in f.symptoms] for f in d.findings}
    assert "IKE105" in top and "IKE105" not in top["IKE201"]
    assert "IKE304" in top["IKE105"]  # the re-sends of the unanswered SA_INIT stay with it


def test_findings_that_explain_each_other_both_stay():
    a, b = _f("IKE105"), _f("IKE304")
    top = rank([a, b], {"IKE105": ("IKE304",), "IKE304": ("IKE105",)})
    assert top == [a] and a.symptoms == [b]


def test_selectors_of_an_earlier_ike_sa_are_not_quoted_as_the_refused_ones():
    """A healthy session (IKE SA serial 34538 proposing 0.0.0.0/0) pasted before the one the
    peer answers TS_UNACCEPTABLE (serial 34097, which prints no selectors): the refusal was
    said to be of 0.0.0.0/0, the earlier session's selectors."""
    def ike203(d):
        [f] = [f for f in _all(d) if f.code == "IKE203"]
        return f

    alone = ike203(_diagnose("IKE_LOG_V2_ph_2_TS_mismatch_initiator.txt"))
    together = ike203(_diagnose("IKE_LOG_V2.txt", "IKE_LOG_V2_ph_2_TS_mismatch_initiator.txt"))
    # Its own request's selectors, decoded from the `enc` dump, are quoted; the earlier
    # session's are not.
    own = "TSi 0:20.0.0.0-20.255.255.255:0; TSr 0:0.0.0.0-255.255.255.255:0"
    assert alone.facts["proposed"] == together.facts["proposed"] == own
    assert f"this side proposed {own} (decoded from its request)" in together.message
    assert together.facts["local_selectors"] is None


def test_a_capture_out_of_time_order_still_tells_the_first_refusal_first():
    """ndpi_ipsec_isakmp_esp.pcap (capinfos: strict time order False): the INVALID_KE of
    frame 619 (11:54:38.167) came before frame 263's (19:48:05.495). The finding said "first
    at frame 263" and its span ran backwards (-28407 s in the HTML and Markdown reports)."""
    import ikeanalyze

    d = ikeanalyze.analyze([str(TESTS / "data" / "pcap" / "ndpi_ipsec_isakmp_esp.pcap")])
    [f] = [f for f in d.all_findings() if f.code == "IKE205" and f.peer == "109.237.187.193:500"]
    assert "first at 11:54:38.167 (frame 619)" in f.message
    assert f.start < f.end and (f.end - f.start).total_seconds() == pytest.approx(28407.328, abs=0.01)
    assert f.t_start < f.t_end


def test_a_peer_resending_sa_init_with_one_spi_keeps_its_port_after_an_earlier_session():
    """The PFS-mismatch session (2.2.2.254 on 4500) pasted before the no-policy one, where
    2.2.2.254 sends SA_INIT on 500 three times with one SPI: each re-send opens a new serial,
    but the `comes` lines were all given to the first, so the later refusals took the
    gateway's older port (4500) and the finding split in two."""
    alone = [f for f in _all(_diagnose("IKE_LOG_V2_policy_not_found.txt")) if f.code == "IKE209"]
    together = [f for f in _all(_diagnose("IKE_LOG_PFS_mismatch.txt", "IKE_LOG_V2_policy_not_found.txt"))
                if f.code == "IKE209"]
    assert [(f.peer, f.facts["refusals"]) for f in alone] == [("2.2.2.254:500", 3)]
    assert [(f.peer, f.facts["refusals"]) for f in together] == [("2.2.2.254:500", 3)]


def test_a_capture_where_nothing_failed_is_not_told_why_ike_failed():
    """joy_ikev2.pcap: an IKEv2 negotiation up to its encrypted exchanges, then the capture
    ends: nothing is known to have failed, and the next step must not say it did."""
    import ikeanalyze

    d = ikeanalyze.analyze([str(TESTS / "data" / "pcap" / "joy_ikev2.pcap")])
    assert not [f for f in d.all_findings() if f.severity != "info"]
    [step] = [s for s in d.next_steps if "packets alone cannot show why" in s.lower()]
    assert step.startswith("The IKE negotiation reached its encrypted exchanges and no ESP followed")
    assert "why IKE failed" not in step


def test_the_ispis_fact_names_each_sa_once_in_order_and_skips_the_unknown():
    """rules.base.ispis, the fact IKE201, IKE203 and IKE209 give rank above."""
    from types import SimpleNamespace

    from ikeanalyze.rules.base import ispis

    sas = [SimpleNamespace(ispi=s) for s in ("bb", None, "aa", "bb", "", "cc")]
    assert ispis(sas) == ["bb", "aa", "cc"]
