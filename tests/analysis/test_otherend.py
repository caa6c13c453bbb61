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


def _other_end_facts(tmp_path, text: str):
    other = tmp_path / "other.txt"
    other.write_text(text)
    d = ikeanalyze.analyze([str(TWO_ENDS / "input-a.txt"), str(other)])
    [f] = [f for f in d.all_findings() if f.code == "IKE105"]
    return f.facts.get("other_end"), d.next_steps


def test_a_firewall_in_between_is_not_the_other_end(tmp_path):
    # A transit firewall's sniffer sees the requests come in on one port and leave on another:
    # it has 198.51.100.1 on its own side too, so it says nothing of what 192.0.2.9 did.
    rows = []
    for t in ("00.120310", "02.120320", "06.120330", "14.120340"):
        rows += [f"2024-05-02 10:00:{t} port1 in 198.51.100.1.500 -> 192.0.2.9.500: udp 448",
                 f"2024-05-02 10:00:{t} port2 out 198.51.100.1.500 -> 192.0.2.9.500: udp 448"]
    facts, steps = _other_end_facts(tmp_path, "\n".join(rows) + "\n")
    assert facts is None
    assert any(s.startswith("Only this side's view") for s in steps)


def test_the_peers_capture_of_another_day_is_not_the_other_end(tmp_path):
    b = (TWO_ENDS / "input-b.txt").read_text().replace("2024-05-02", "2024-05-03")
    facts, _ = _other_end_facts(tmp_path, b)
    assert facts is None


def _other_end_message(tmp_path, lines: int) -> str:
    """IKE105's message with the first ``lines`` lines of the other end's sniffer as its input."""
    other = tmp_path / "other.txt"
    other.write_text("".join((TWO_ENDS / "input-b.txt").read_text().splitlines(keepends=True)[:lines]))
    d = ikeanalyze.analyze([str(TWO_ENDS / "input-a.txt"), str(other)])
    [f] = [f for f in d.all_findings() if f.code == "IKE105"]
    return f.message


def test_one_request_and_one_answer_at_the_other_end_are_counted_in_the_singular(tmp_path):
    msg = _other_end_message(tmp_path, 2)
    assert "shows, in the same minutes, 1 request of that length arriving at 192.0.2.9" in msg
    assert "and 1 answer sent back (first at" in msg


def test_one_request_unanswered_at_the_other_end_is_it_not_them(tmp_path):
    msg = _other_end_message(tmp_path, 1)
    assert "1 request of that length arriving at 192.0.2.9" in msg
    assert "nothing sent back: 192.0.2.9 receives it and does not answer" in msg


def test_several_requests_unanswered_at_the_other_end_are_plural(tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("".join(ln for ln in (TWO_ENDS / "input-b.txt").read_text().splitlines(keepends=True)
                             if " in " in ln))
    d = ikeanalyze.analyze([str(TWO_ENDS / "input-a.txt"), str(other)])
    [f] = [f for f in d.all_findings() if f.code == "IKE105"]
    assert "4 requests of that length arriving at 192.0.2.9" in f.message
    assert "receives them and does not answer" in f.message
