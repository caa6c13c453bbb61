"""FortiGate event-log lines (sources/eventlog.py) and the findings they tell (rules/fromlog.py).

The lines are the published ones of tests/data/eventlog (SOURCES.md there). No published line
was found for most failure reasons: those cases take the real 37124 line and replace only its
`reason` (or `status`, logid), and say so.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ikeanalyze import api
from ikeanalyze.ingest import InputReport
from ikeanalyze.sources import Blob, LoadOptions, text

DATA = Path(__file__).resolve().parent.parent / "data"
LOGS = DATA / "eventlog"
P1_ERROR = (LOGS / "proposal-mismatch-p1.log").read_text().splitlines()[0]
P1_TIME = " ".join(re.search(r"\bdate=(\S+) time=(\S+)", P1_ERROR).groups())


def events(lines: list[str]):
    report = InputReport("t")
    return text.parse_lines(lines, report), report


def diagnose(body: str, name: str = "paste.txt"):
    return api.analyze([Blob(name, data=body.encode())], LoadOptions())


def codes(d) -> list[str]:
    return [f.code for f in d.all_findings()]


def test_plain_quoted_line() -> None:
    ev, report = events([P1_ERROR])
    r = ev.iloc[0]
    assert report.formats == ["eventlog"] and report.accounting.get("event") == 1
    assert (r.origin, r.kind) == ("eventlog", "vpn-error")
    assert str(r.time) == "2024-12-20 14:56:10.250926"  # date/time, fraction from eventtime (ns)
    assert (r.dst, r.dport, r.src, r.sport) == ("66.97.178.25", 500, "12.188.176.140", 500)
    assert (r.ispi, r.rspi) == ("75da2b97aacbbfef", "0000000000000000")
    assert r.tunnel is None or str(r.tunnel) == "<NA>"  # vpntunnel="N/A"
    assert r.detail == "negotiate negotiate_error: peer SA proposal not match local policy"
    assert r.vdom == "root"


def test_analyzer_export_and_tunnel_down() -> None:
    ev, _ = events((LOGS / "tunnel-down-faz.log").read_text().splitlines())
    assert ev["kind"].tolist() == ["vpn-down", "vpn-down"]
    assert ev["tunnel"].tolist() == ["IronMTN", "IronMTN_3"]
    assert ev["detail"].tolist() == ["delete_phase1_sa", "tunnel-down"]
    assert str(ev["time"].iloc[0]) == "2019-07-17 21:43:17"  # eventtime in whole seconds: no fraction
    assert ev["dport"].tolist() == [4500, 4500]
    # The logging FortiGate (`devname`): logs of several devices in one export are told apart.
    assert ev["device"].tolist() == ["FG100ETK18004310", "FG100ETK18004310"]


def test_devname_beats_the_prompt_above() -> None:
    """A log shown under a CLI prompt names its own device; lines the prompt printed keep the prompt's."""
    ev, _ = events(["FGT-HQ # execute log display", *(LOGS / "tunnel-down-faz.log").read_text().splitlines()])
    assert ev["device"].tolist() == ["FG100ETK18004310", "FG100ETK18004310"]


@pytest.mark.parametrize("blank", ["(devname)", "<hostname>", "[FGT]"])
def test_a_blanked_devname_leaves_the_prompts_device(blank: str) -> None:
    """A name the poster blanked out names no FortiGate: the prompt above the log still does,
    and the finding says so."""
    line = P1_ERROR.replace("logid=", f"devname={blank} logid=", 1)
    ev, _ = events(["FGT-HQ # execute log display", line])
    assert ev["device"].tolist() == ["FGT-HQ"]
    d = diagnose("FGT-HQ # execute log display\n" + line + "\n")
    assert [f.facts.get("device") for f in d.all_findings() if f.code == "IKE201"] == ["FGT-HQ"]
    alone, _ = events([line])  # and no prompt: no device, not the placeholder
    assert alone["device"].isna().all()


def test_syslog_header_and_unquoted_values() -> None:
    ev, report = events((LOGS / "tunnel-up-syslog.log").read_text().splitlines())
    assert ev["kind"].tolist() == ["vpn-up", "vpn-up"]
    assert ev["dport"].tolist() == [15561, 45972] and ev["sport"].tolist() == [4500, 4500]
    assert ev["dst"].tolist() == ["x.x.x.x", "x.x.x.x"]  # the poster's redaction, kept as text
    assert [str(t) for t in ev["time"]] == ["2020-07-01 09:03:38", "2020-07-01 10:58:17"]  # date=/time=, not the header
    assert report.accounting.get("unrecognised", 0) == 0
    assert ev["text"].iloc[0].startswith("Jul  1 07:03:38 10.255.252.1 date=")  # the header is kept, not a client stamp
    assert not report.warnings


def test_priority_header_and_wrapped_line() -> None:
    # `<189>` as a syslog collector writes it; the line cut by a terminal at 120 columns.
    line = "<189>" + P1_ERROR
    ev, report = events([line[:120], line[120:]])
    assert len(ev) == 1 and ev["kind"].iloc[0] == "vpn-error"
    assert ev["detail"].iloc[0].endswith("peer SA proposal not match local policy")
    assert report.accounting.get("continuation") == 1
    assert str(ev["time"].iloc[0]).startswith(P1_TIME)  # the date= right after `<189>` is a key too


def test_other_subtype_is_not_ike_evidence() -> None:
    # The real line with its subtype changed: a system event says nothing of IKE.
    d = diagnose(P1_ERROR.replace('subtype="vpn"', 'subtype="system"'))
    assert codes(d) == ["IKE903"]


def test_proposal_mismatch_phase1() -> None:
    d = diagnose(P1_ERROR)
    assert codes(d) == ["IKE201"]
    f = d.findings[0]
    assert f.peer == "66.97.178.25:500" and f.severity == "error"
    for part in ("66.97.178.25:500", "12.188.176.140:500", "0101037124", "IPsec phase 1 error",
                 "peer SA proposal not match local policy", "14:56:10.250 (line 1)"):
        assert part in f.message
    assert [(e.source, e.ref) for e in f.evidence] == [("paste.txt", 1)]
    assert any("proposals do not match" in m.text for m in d.timeline)


# The real 37124 line with only the reason (status, logid) replaced: no published line of
# these causes was found. The wording is FortiOS's (debug and article 194213).
CAUSES = [
    ("IKE202", {'logid="0101037124"': 'logid="0101037123"', "IPsec phase 1 error": "IPsec phase 2 error"},
     "phase-2 proposals do not match"),
    ("IKE204", {"peer SA proposal not match local policy": "probable pre-shared secret mismatch"},
     "pre-shared keys differ"),
    ("IKE206", {"peer SA proposal not match local policy": "peer ID verification failed"}, "ID matches no gateway"),
    ("IKE203", {"peer SA proposal not match local policy": "no matching phase2 found"}, "selectors do not match"),
    ("IKE210", {"peer SA proposal not match local policy": "negotiation timeout"}, "timed out"),
    # No reason: the line's action and status as logged; the next step is the probes, not proposals.
    ("IKE301", {'action="negotiate"': 'action="dpd"', 'status="negotiate_error"': 'status="dpd_failure"',
                ' reason="peer SA proposal not match local policy"': ""},
     "dead peer detection failed with 66.97.178.25:500 (local end 12.188.176.140:500): logid 0101037124 "
     "\"IPsec phase 1 error\", `action=dpd status=dpd_failure`, 1 time, first at 14:56:10.250 (line 1). "
     "The log says the peer stopped answering the probes, not why"),
    ("IKE208", {'xauthuser="N/A"': 'xauthuser="vito"',
                "peer SA proposal not match local policy": "XAUTH authentication failure"}, "for user vito"),
]


@pytest.mark.parametrize(("code", "swap", "says"), CAUSES, ids=[c[0] for c in CAUSES])
def test_cause(code: str, swap: dict, says: str) -> None:
    line = P1_ERROR
    for old, new in swap.items():
        assert old in line
        line = line.replace(old, new)
    d = diagnose(line)
    assert codes(d) == [code]
    f = d.findings[0]
    assert says in f.message and "66.97.178.25:500" in f.message and "(line 1)" in f.message


@pytest.mark.parametrize(("swap", "code"), [
    # 37130 MESGID_NEG_PROGRESS_P2_ERROR: phase 2 by its logid.
    ({'logid="0101037124"': 'logid="0101037130"', "IPsec phase 1 error": "Progress IPsec phase 2"}, "IKE202"),
    # A logid the table does not hold: the words of its `logdesc` say the phase.
    ({'logid="0101037124"': 'logid="0101037999"', "IPsec phase 1 error": "IPsec phase 2 error"}, "IKE202"),
    ({'logid="0101037124"': 'logid="0101037999"'}, "IKE201"),
])
def test_phase_of_a_proposal_error_from_logid_then_words(swap: dict, code: str) -> None:
    # The real 37124 line with its logid (and logdesc) replaced: no published 37130 line found.
    line = P1_ERROR
    for old, new in swap.items():
        assert old in line
        line = line.replace(old, new)
    assert codes(diagnose(line)) == [code]


def test_log_lines_of_one_peer_in_two_groups_make_one_finding_counting_both() -> None:
    """The real 37124 line, and again 6 s later without `remport` and for a dial-up instance
    (no published pair found): grouped apart (peer with and without its port, two tunnel
    names), joined as one finding of the same peer, which counts and shows both lines (it
    said `1 time` over two lines of evidence)."""
    later = (P1_ERROR.replace("time=14:56:10", "time=14:56:16").replace(" remport=500", "")
             .replace('vpntunnel="N/A"', 'vpntunnel="dialup_0"'))
    d = diagnose(P1_ERROR + "\n" + later + "\n")
    [f] = d.all_findings()
    assert f.code == "IKE201" and f.facts["lines"] == 2
    assert [e.ref for e in f.evidence] == [1, 2]
    assert "2 times, first at 14:56:10.250 (line 1), last at 14:56:16" in f.message


def test_two_fortigates_logging_one_peer_are_two_findings_and_the_summary_names_the_other() -> None:
    """The same line from another FortiGate of the export (`devname`): its own finding, not
    one more time of the first device's (the fixture IKE204/fires-eventlog-two-fortigates-
    one-hub has the counts); the summary says which other FortiGate, not the same peer again."""
    one = P1_ERROR.replace("logid=", 'devname="FGT-EAST" logid=', 1)
    two = one.replace("FGT-EAST", "FGT-WEST").replace("time=14:56:10", "time=14:56:12")
    d = diagnose(one + "\n" + two + "\n")
    got = [(f.code, f.facts["device"], f.facts["lines"]) for f in d.all_findings()]
    assert got == [("IKE201", "FGT-EAST", 1), ("IKE201", "FGT-WEST", 1)]
    assert d.summary.startswith("The event log of FortiGate FGT-EAST says the phase-1 proposals do not match")
    assert d.summary.endswith("Also: the same on 1 other FortiGate: FGT-WEST.")


def test_prose_after_a_long_log_line_is_not_its_wrapped_rest() -> None:
    """A page's sentence under the log line it quotes: with no terminal width in the paste,
    a long event-log line is not taken as wrapped unless the next piece holds a `key=`
    (the sentence was joined to the record as a continuation)."""
    prose = "This is the output of the command 'diag vpn tunnel list' on the FortiGate."
    ev, ingest = api.load([Blob("kb.txt", data=(P1_ERROR + "\n" + prose + "\n").encode())])
    [report] = ingest.inputs
    assert report.accounting["continuation"] == 0 and report.accounting["unrecognised"] == 1
    cut = P1_ERROR.index("remip=") + 12  # inside the address: a terminal's wrap, its rest holding fields
    wrapped = P1_ERROR[:cut] + "\n" + P1_ERROR[cut:] + "\n"
    ev, ingest = api.load([Blob("wrapped.txt", data=wrapped.encode())])
    assert ingest.inputs[0].accounting["continuation"] == 1 and ev["text"].iloc[0] == P1_ERROR
    # A sentence quoting one setting is no piece of the record, nor is prose after its last piece.
    quoting = "I then set psk=newsecret on the hub and the tunnel still fails with the same error every time"
    quoted = 'The fix: vpntunnel="HUB-2" had the wrong proposal on the hub side of this tunnel, as the log says'
    for body in (P1_ERROR + "\n" + quoting + "\n", wrapped + quoting + "\n", P1_ERROR + "\n" + quoted + "\n"):
        ev, ingest = api.load([Blob("kb.txt", data=body.encode())])
        assert ingest.inputs[0].accounting["unrecognised"] == 1 and ev["text"].iloc[0] == P1_ERROR
    # A last piece holding one quoted field (after a value with blanks) is still the record's.
    record = P1_ERROR[:P1_ERROR.index(" fctuid=")]  # ends `... policy" peer_notif="NOT-APPLICABLE"`
    cut = record.index("not match local policy")
    ev, ingest = api.load([Blob("w.txt", data=(record[:cut] + "\n" + record[cut:] + "\n").encode())])
    assert ingest.inputs[0].accounting["continuation"] == 1 and ev["text"].iloc[0] == record

def test_a_phase1_error_naming_no_tunnel_says_the_peer_matched_no_phase1() -> None:
    """`vpntunnel="N/A"`: the peer was refused before any phase 1 took it (internet scanners
    are, all day): the finding says so and asks whether the peer is expected, instead of only
    telling to align proposals with it. A line naming its tunnel does not."""
    [f] = diagnose(P1_ERROR + "\n").all_findings()
    assert f.facts["tunnel_matched"] is False
    assert "The line names no tunnel (`vpntunnel` N/A or absent): the peer was not matched to a phase 1" in f.message
    assert "If 66.97.178.25:500 is not a peer you expect" in f.message
    [g] = diagnose(P1_ERROR.replace('vpntunnel="N/A"', 'vpntunnel="to-hq"') + "\n").all_findings()
    assert "tunnel_matched" not in g.facts and "names no tunnel" not in g.message

def test_a_devices_lines_grouped_apart_join_its_own_finding_not_the_other_devices() -> None:
    """FGT-WEST's second line lacks `remport` (grouped apart from its first): it joins
    FGT-WEST's finding, which counts both; it made a third finding."""
    one = P1_ERROR.replace("logid=", 'devname="FGT-EAST" logid=', 1)
    two = one.replace("FGT-EAST", "FGT-WEST").replace("time=14:56:10", "time=14:56:12")
    three = two.replace("time=14:56:12", "time=14:56:40").replace(" remport=500", "")
    d = diagnose("\n".join([one, two, three]) + "\n")
    got = [(f.facts["device"], f.facts["lines"], [e.ref for e in f.evidence]) for f in d.all_findings()]
    assert got == [("FGT-EAST", 1, [1]), ("FGT-WEST", 2, [2, 3])]


def test_the_summary_names_other_fortigates_only_when_the_top_finding_names_its_own() -> None:
    """A debug's finding (no device) above a log's of another peer: 'the same for 1 other
    peer(s)', not 'on 1 other FortiGate' (it may be the same FortiGate)."""
    debug = ("2025-03-04 09:00:00 ike 0:to-hq:5: sent IKE msg (ident_i3send): 192.0.2.1:500->198.51.100.20:500, "
             "len=76, id=5b1d0e7a9c3f2d11/a40c6e3b9d7f1208\n"
             "2025-03-04 09:00:00 ike 0:to-hq:5: probable pre-shared secret mismatch\n")
    log = (P1_ERROR.replace("logid=", 'devname="FGT-HQ" logid=', 1)
           .replace("peer SA proposal not match local policy", "probable pre-shared secret mismatch"))
    d = api.analyze([Blob("debug.txt", data=debug.encode()), Blob("log.txt", data=(log + "\n").encode())],
                    LoadOptions())
    assert [f.code for f in d.findings] == ["IKE204", "IKE204"]
    assert d.summary.endswith("Also: the same for 1 other peer: 66.97.178.25.")

def test_two_dial_up_clients_of_one_tunnel_are_two_findings() -> None:
    """One FortiGate, one dial-up tunnel, two clients failing their PSK: two peers, two
    findings (the per-device index took the tunnel for the peer and made them one)."""
    one = (P1_ERROR.replace("logid=", 'devname="FGT-HUB" logid=', 1).replace('vpntunnel="N/A"', 'vpntunnel="dialup"')
           .replace("peer SA proposal not match local policy", "probable pre-shared secret mismatch"))
    two = (one.replace("remip=66.97.178.25", "remip=198.51.100.20").replace("time=14:56:10", "time=14:56:40")
           .replace("75da2b97aacbbfef", "0e1d2c3b4a596877"))  # its own IKE SA
    got = [(f.code, f.peer) for f in diagnose(one + "\n" + two + "\n").all_findings()]
    assert got == [("IKE204", "66.97.178.25:500"), ("IKE204", "198.51.100.20:500")]

def test_a_second_fortigates_log_lines_do_not_join_a_debug_finding_of_the_same_peer() -> None:
    """A debug's IKE204 of peer 66.97.178.25, and two FortiGates' logs of that peer: the
    first FortiGate's lines join the debug's finding (which then names that FortiGate), the
    other's are their own finding (both joined it, and FGT-B was never named)."""
    debug = ("2024-12-20 14:56:09 ike 0:to-hq:5: sent IKE msg (ident_r2send): 12.188.176.140:500->66.97.178.25:500, "
             "len=292, id=75da2b97aacbbfef/1a2b3c4d5e6f7081\n"
             "2024-12-20 14:56:10 ike 0:to-hq:5: probable pre-shared secret mismatch\n")
    psk = P1_ERROR.replace("peer SA proposal not match local policy", "probable pre-shared secret mismatch")
    a = psk.replace("logid=", 'devname="FGT-A" logid=', 1)
    b = a.replace("FGT-A", "FGT-B").replace("locip=12.188.176.140", "locip=12.188.176.141").replace(
        "75da2b97aacbbfef", "0e1d2c3b4a596877")
    d = api.analyze([Blob("debug.txt", data=debug.encode()), Blob("log.txt", data=(a + "\n" + b + "\n").encode())],
                    LoadOptions())
    got = sorted(((f.facts.get("device"), f.facts.get("event_log_lines")) for f in d.all_findings()
                  if f.code == "IKE204"), key=str)
    assert got == [("FGT-A", 1), ("FGT-B", None)]

def test_healthy_log_raises_nothing() -> None:
    for name in ("tunnel-up-syslog.log", "tunnel-down-faz.log"):
        d = api.analyze([str(LOGS / name)], LoadOptions())
        assert not [f for f in d.all_findings() if f.severity in ("warning", "error", "critical")], name
        assert "IKE903" not in codes(d)
    d = api.analyze([str(LOGS / "tunnel-up-syslog.log")], LoadOptions())
    ups = [m.text for m in d.timeline if m.text.startswith("event log:")]
    assert ups == ["event log: tunnel xxx up with x.x.x.x:15561", "event log: tunnel xxx up with x.x.x.x:45972"]
    d = api.analyze([str(LOGS / "tunnel-down-faz.log")], LoadOptions())
    downs = [m.text for m in d.timeline if m.text.startswith("event log:")]
    assert downs == ["event log: tunnel IronMTN down (delete_phase1_sa) with 24.96.53.122:4500",
                     "event log: tunnel IronMTN_3 down with 24.96.53.122:4500 after 35 s up, 0 bytes sent, "
                     "0 bytes received"]


def test_a_tunnel_that_carried_one_byte_says_byte() -> None:
    """`sentbyte=1` / `rcvdbyte=1`: the timeline counts them in the singular, the others in the plural."""
    log = (LOGS / "tunnel-down-faz.log").read_text()
    for sent, rcvd, said in (("1", "1", "1 byte sent, 1 byte received"), ("1", "2", "1 byte sent, 2 bytes received"),
                             ("10", "1", "10 bytes sent, 1 byte received")):
        text = log.replace("sentbyte=0 rcvdbyte=0", f"sentbyte={sent} rcvdbyte={rcvd}")
        d = api.analyze([Blob("log.txt", data=text.encode())], LoadOptions())
        (down,) = [m.text for m in d.timeline if m.text.startswith("event log: tunnel IronMTN_3 down")]
        assert down.endswith(f"after 35 s up, {said}"), down


def test_sslvpn_lines_are_not_ipsec_events() -> None:
    """Elastic's syslog test stream mixes IPsec and SSL-VPN records of one device: the SSL-VPN
    new connection (39943, `tunneltype="ssl"`) and tunnel up (39947, `action="tunnel-up"
    tunneltype="ssl-tunnel"`, from the IPsec peer's address) are `log-other`, not `vpn-log`
    and `vpn-up`: no `tunnel up` in the IPsec timeline above the phase-1 error. Kept as
    events all the same (every line is one)."""
    ev, report = events((LOGS / "elastic-syslog-ipsec-sslvpn.log").read_text().splitlines())
    assert report.accounting.get("event") == 10 and len(ev) == 10
    assert list(ev["kind"].iloc[8:10]) == ["log-other", "log-other"]
    assert list(ev["kind"].iloc[1:3]) == ["vpn-error", "vpn-negotiate"]  # the IPsec lines stay
    d = api.analyze([str(LOGS / "elastic-syslog-ipsec-sslvpn.log")], LoadOptions())
    said = [m.text for m in d.timeline if m.text.startswith("event log:")]
    assert said == ["event log: the phase-1 proposals do not match"]
    # An SSL-VPN login failure alone (`action="ssl-login-fail" tunneltype="ssl-web"`, 39426,
    # wrapped over 4 lines) is no IPsec evidence.
    d = api.analyze([str(LOGS / "sslvpn-login-fail-wrapped.txt")], LoadOptions())
    assert codes(d) == ["IKE903"]


def test_mixed_paste_tells_one_story() -> None:
    """A published debug of a phase-1 proposal mismatch (200.1.1.2, gateway VPN-to-SH) and
    the real 37124 line with its addresses and tunnel set to that negotiation's: one IKE201,
    the debug's message (it has the proposals), the log line as more evidence."""
    debug = (DATA / "ikedebug_public/ikev1-main-p1-proposal-mismatch.txt").read_text()
    log = (P1_ERROR.replace("remip=66.97.178.25", "remip=200.1.1.2").replace("locip=12.188.176.140", "locip=200.1.1.1")
           .replace('vpntunnel="N/A"', 'vpntunnel="VPN-to-SH"'))
    d = diagnose(debug + log + "\n")
    found = [f for f in d.all_findings() if f.code in ("IKE201", "IKE202")]
    assert len(found) == 1
    f = found[0]
    assert "HASH" in f.message and "event log" not in f.message  # the debug's story
    n = len(debug.splitlines()) + 1
    assert ("paste.txt", n) in [(e.source, e.ref) for e in f.evidence]
    assert f.facts["event_log_lines"] == 1
    assert "IKE903" not in codes(d)


def test_redact_hides_log_names() -> None:
    # The real 37124 line with an XAUTH user and failure put in (no published one found).
    line = (P1_ERROR.replace('xauthuser="N/A"', 'xauthuser="vito"')
            .replace("peer SA proposal not match local policy", "XAUTH authentication failure"))
    d = api.redact(diagnose(line))
    shown = " ".join([f.message for f in d.all_findings()] + [e.text for f in d.all_findings() for e in f.evidence])
    assert "vito" not in shown and "66.97.178.25" not in shown
    assert "IKE208" in codes(d)
    faz = api.redact(api.analyze([str(LOGS / "tunnel-down-faz.log")], LoadOptions()))
    assert "FG100ETK18004310" not in api.render(faz, "json")


def test_generic_no_proposal_after_refused_id_is_not_a_proposal_mismatch() -> None:
    """A published debug refusing the peer's ID (then FortiOS's generic `no SA proposal
    chosen`) and the real 37124 line with that generic reason, the debug's peer and gateway:
    IKE206 from the debug, no IKE201 from the log."""
    debug = (DATA / "ikedebug_public/ikev1-aggressive-peer-id-mismatch.txt").read_text()
    log = (P1_ERROR.replace("remip=66.97.178.25", "remip=200.1.1.2").replace('vpntunnel="N/A"', 'vpntunnel="VPN-to-SH"')
           .replace("peer SA proposal not match local policy", "no SA proposal chosen"))
    d = diagnose(debug + log + "\n")
    assert "IKE206" in codes(d) and "IKE201" not in codes(d)
    alone = diagnose(log)  # without the debug, the log's word is all there is
    assert codes(alone) == ["IKE201"]


@pytest.mark.parametrize(("cookies", "remip", "joined"), [
    ("d6d9c13fc16ecf9d/0000000000000000", "203.0.113.77", True),   # the debug negotiation's IKE SA
    ("75da2b97aacbbfef/0000000000000000", "203.0.113.77", False),  # another IKE SA, another peer
])
def test_a_log_line_joins_the_debug_finding_of_its_ike_sa(cookies: str, remip: str, joined: bool) -> None:
    """The corpus debug of a phase-1 proposal mismatch on gateway `ipsec` names no peer for
    that negotiation (d6d9c13fc16ecf9d), and the real 37124 line says `vpntunnel="N/A"`:
    neither peer nor tunnel ties them. The log's `cookies` naming the debug's IKE SA does:
    one IKE201 with the log line as evidence. Another IKE SA stays a finding of its own."""
    debug = (DATA / "ikedebug/IKE_SAMPLE_LOG.txt").read_text().rstrip("\n") + "\n"  # the file ends mid-line
    log = P1_ERROR.replace('cookies="75da2b97aacbbfef/0000000000000000"', f'cookies="{cookies}"') \
        .replace("remip=66.97.178.25", f"remip={remip}")
    d = diagnose(debug + log + "\n")
    found = [f for f in d.all_findings() if f.code == "IKE201"]
    n = len(debug.splitlines()) + 1
    if joined:
        [f] = found
        assert "event log" not in f.message and f.facts["event_log_lines"] == 1
        assert ("paste.txt", n) in [(e.source, e.ref) for e in f.evidence]
    else:
        assert len(found) == 2
        assert any(f.message.startswith("The FortiGate's event log says") and f.peer == f"{remip}:500" for f in found)


def test_records_run_together_split_where_logid_follows_time_at_once() -> None:
    # The first record's `logid=` comes straight after `time=`: a greedy search for it ran on
    # to the second record's `log_id=` and swallowed that record whole.
    line = ('Message meets Alert condition date=2024-01-05 time=10:00:00 logid=0101037124 type=event '
            'subtype=vpn msg="a"   Message date=2024-01-05 time=10:00:01 log_id=0101037125 vd=" root"')
    ev, report = events([line])
    assert dict(report.accounting) == {"event": 1}  # one line, two events of it
    assert list(ev["ref"]) == [1, 1] and list(ev["kind"]) == ["vpn-log", "log-other"]
    assert ev["text"].iloc[0].startswith("Message meets Alert condition date=2024-01-05 time=10:00:00 logid=")
    assert [str(t) for t in ev["time"]] == ["2024-01-05 10:00:00", "2024-01-05 10:00:01"]


def test_syslog_records_run_together_each_keep_their_time() -> None:
    # Raw syslog records, each after its `<PRI>`, run into one line by a copy.
    line = ('<189>date=2024-01-05 time=10:00:00 devname="FG" logid="0101037124" type="event" subtype="vpn" '
            'msg="a" <189>date=2024-01-05 time=10:00:01 devname="FG" logid="0101037125" type="event" '
            'subtype="vpn" msg="b"')
    ev, report = events([line])
    assert dict(report.accounting) == {"event": 1}
    assert list(ev["ref"]) == [1, 1] and list(ev["kind"]) == ["vpn-log", "vpn-log"]
    assert [str(t) for t in ev["time"]] == ["2024-01-05 10:00:00", "2024-01-05 10:00:01"]
