"""IKE304 as the engineer reads it: a DPD probe is called one, and the fix points at a root
cause "grouped above it" only when one is."""

from __future__ import annotations

from pathlib import Path

from ikeanalyze import api

TESTS = Path(__file__).resolve().parents[1]


def _ike304(path: Path):
    return [f for f in api.analyze([str(path)]).all_findings() if f.code == "IKE304"]


def test_a_lone_resent_dpd_probe_is_named_and_not_sent_to_a_cause_above_it():
    """ike301-debug-74: a DPD probe (`link is idle ... dpd=1 seqno=9`, then INFORMATIONAL
    msg 9) re-sent twice and answered late. No cause takes IKE304; its fix said "Look at the
    root cause grouped above it" over nothing, and the message said just "INFORMATIONAL"."""
    [f] = _ike304(TESTS / "data" / "rule_kinds" / "ike301-debug-74-dpd-answered-late.txt")
    assert "INFORMATIONAL msg 9 (a DPD probe) sent 3 times" in f.message
    assert "grouped above" not in f.fix and "Without one" not in f.fix
    assert f.fix.startswith("Capture both ends (`diagnose sniffer packet any 'host <peer> and")
    assert f.timeline[0].text.startswith("INFORMATIONAL (a DPD probe) to 203.0.113.45:4500 first sent")


def test_a_grouped_retransmission_keeps_the_pointer_and_an_unannounced_informational_is_not_a_probe():
    """IKE302's fixture: the re-sent CREATE_CHILD_SA is grouped under IKE302, whose finding is
    above it; nothing there announces a DPD probe."""
    d = api.analyze([str(TESTS / "rules" / "fixtures" / "IKE302" / "fires-create-child-unanswered" / "input.txt")])
    [top] = [f for f in d.findings if f.code == "IKE302"]
    [f] = [s for s in top.symptoms if s.code == "IKE304"]
    assert f.fix.startswith("Look at the root cause grouped above it")
    assert "DPD probe" not in f.message


def test_another_gateways_idle_line_does_not_make_a_probe(tmp_path):
    """to-dc1's `link is idle ... seqno=9` is a line above to-dc2's INFORMATIONAL msg 9, which
    is re-sent: the probe announced is to-dc1's, and to-dc2's message may be a delete."""
    stamp = "2026-03-11 09:14:{} ike V=root:0:"
    dc2 = ("to-dc2:2900: sent IKE msg ({}): 192.0.2.10:4500->198.51.100.8:4500, len=96, vrf=0, "
           "id=aa1e20c7a9b3f015/bbaa7c11d2e83b46:00000009")
    lines = [stamp.format("00.000000") + "to-dc1: link is idle 5 192.0.2.10->203.0.113.45:4500 dpd=1 seqno=9 rr=0",
             stamp.format("00.000100") + dc2.format("INFORMATIONAL"),
             stamp.format("00.000200") + "to-dc1:2841: sent IKE msg (INFORMATIONAL): 192.0.2.10:4500->"
                                         "203.0.113.45:4500, len=80, vrf=0, id=4d1e20c7a9b3f015/90aa7c11d2e83b46:00000009",
             stamp.format("00.100000") + " comes 203.0.113.45:4500->192.0.2.10:4500,ifindex=5,vrf=0,len=80....",
             stamp.format("00.100000") + " IKEv2 exchange=INFORMATIONAL_RESPONSE id=4d1e20c7a9b3f015/"
                                         "90aa7c11d2e83b46:00000009 len=80",
             stamp.format("05.000000") + dc2.format("RETRANSMIT_INFORMATIONAL"),
             stamp.format("10.000000") + dc2.format("RETRANSMIT_INFORMATIONAL")]
    paste = tmp_path / "debug.txt"
    paste.write_text("\n".join(lines) + "\n")
    [f] = _ike304(paste)
    assert f.tunnel == "to-dc2" and "INFORMATIONAL msg 9 sent 3 times" in f.message
    assert "DPD probe" not in f.message
