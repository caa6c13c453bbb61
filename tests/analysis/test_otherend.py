"""The input from the other end of an unanswered conversation (analysis/otherend.py): what
the findings add, and the next step that asks for it no longer asked."""

from __future__ import annotations

from pathlib import Path

import ikeanalyze

FIXTURES = Path(__file__).resolve().parents[1] / "rules" / "fixtures"
TWO_ENDS = FIXTURES / "IKE105" / "fires-two-ends-answers-lost"


def test_the_other_ends_input_is_not_asked_for_again():
    one = ikeanalyze.analyze([str(TWO_ENDS / "input-a.txt")])
    assert any(s.startswith("Only this side's view") for s in one.next_steps)
    both = ikeanalyze.analyze([str(TWO_ENDS / "input-a.txt"), str(TWO_ENDS / "input-b.txt")])
    assert not any(s.startswith("Only this side's view") for s in both.next_steps)
    [f] = [f for f in both.all_findings() if f.code == "IKE105"]
    assert f.facts["other_end_inputs"] == [str(TWO_ENDS / "input-b.txt")]
    assert [e.ref for e in f.evidence] == [1, 4, 1, 2]  # this end's first and last; the other end's arrival, answer


def test_an_input_from_the_same_end_is_not_the_other_end(tmp_path):
    # A second sniffer run on the same side (the same out lines a minute later) tells nothing of the peer.
    a = (TWO_ENDS / "input-a.txt").read_text()
    later = tmp_path / "later.txt"
    later.write_text(a.replace("10:00:", "10:01:"))
    d = ikeanalyze.analyze([str(TWO_ENDS / "input-a.txt"), str(later)])
    found = [f for f in d.all_findings() if f.code == "IKE105"]
    assert found and not any("other_end" in f.facts for f in found)
