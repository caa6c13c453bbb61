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
