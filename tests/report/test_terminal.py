"""The terminal report (report/terminal.py): layout that a reader at a narrow terminal relies on."""

from __future__ import annotations

import dataclasses

from ikeanalyze import api
from ikeanalyze.report import terminal
from ikeanalyze.sources import Blob
from tests.conftest import DATA, SAMPLES

SEED = SAMPLES / "forticlient-udp-fallback-tcp.txt"


def _steps(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("What to collect next") + 1
    return lines[start:lines.index("", start)]


def test_next_steps_wrap_under_their_bullet_and_keep_brackets() -> None:
    d = api.analyze([str(SEED)])
    assert len(d.next_steps) == 2
    d.next_steps.append("Quote the [Nonce] payload and [bold]this[/bold] as printed.")
    steps = _steps(terminal.render(d, width=72))
    bullets = [i for i, line in enumerate(steps) if line.startswith("  • ")]
    assert len(bullets) == 3 and bullets[0] == 0
    # every wrapped line of a step starts under its text, not at the margin
    assert all(line.startswith("    ") for i, line in enumerate(steps) if i not in bullets)
    assert len(steps) > 3  # the seed's steps are longer than 72 columns: they did wrap
    # rich markup is not read in a step: the brackets are the text's own
    assert "Quote the [Nonce] payload and [bold]this[/bold] as printed." in steps[-1]
    assert "timestamp enable" in " ".join(s.strip() for s in steps)


def test_file_names_and_timeline_text_are_not_markup() -> None:
    """A `[...]` in a file name or a timeline line is printed as is: rich markup would eat
    `[red]` and raise on `[/x]` (a traceback instead of a report)."""
    d = api.analyze([Blob("paste[red].txt", data=SEED.read_bytes())])
    d.timeline[0] = dataclasses.replace(d.timeline[0], text=d.timeline[0].text + " [/x] [b]")
    text = terminal.render(d, width=120)
    assert "paste[red].txt" in text
    assert "[/x] [b]" in text


def test_durations_as_an_engineer_says_them():
    from ikeanalyze.diagnosis import human_duration

    assert [human_duration(s) for s in (2.54, 42, 339.4, 600, 7322, 42898, 43200)] == [
        "2.5 s", "42 s", "5 min 39 s", "10 min", "2 h 2 min", "11 h 54 min", "12 h"]


def test_one_story_told_by_sniffer_and_debug_has_one_timeline_line_per_moment() -> None:
    """The debug's `sent IKE msg` and the sniffer's `udp 480` 100 ms later are one packet:
    the merged finding kept both inputs' first and last attempts, so the timeline said
    `attempt 4, still no answer` twice (02:10:35 and 02:10:35.100)."""
    d = api.analyze([str(DATA / "report" / "sa-init-debug-and-sniffer.txt")])
    ike105 = [f for f in d.findings if f.code == "IKE105"]
    assert len(ike105) == 1
    refs = {e.ref for e in ike105[0].evidence}
    assert {4, 7, 11, 14} <= refs  # both inputs' first and last attempts are still evidence
    texts = [m.text for m in d.timeline]
    assert sum("still no answer" in t for t in texts) == 1, texts
    assert sum(t.startswith("first ") and "203.0.113.30:500" in t for t in texts) == 1, texts


def test_two_peers_attempts_in_the_timeline_name_their_peer() -> None:
    """Two peers' unanswered SA_INITs interleave: the timeline said `attempt 3, still no
    answer` at 02:10:15 and again at 02:10:16, and which peer each was had to be found from
    the line number."""
    d = api.analyze([str(DATA / "report" / "two-peers-sa-init-unanswered.txt")])
    texts = [m.text for m in d.timeline if "still no answer" in m.text]
    assert texts == ["attempt 3 to 203.0.113.30:500, still no answer", "attempt 3 to 198.51.100.40:500, still no answer"]


def test_a_fix_already_printed_is_referred_to_not_repeated() -> None:
    """Two peers with the same unanswered SA_INIT get the same fix: the terminal printed its
    five lines once per finding (24 times for a capture of 24 one-way ESP peers)."""
    d = api.analyze([str(DATA / "report" / "two-peers-sa-init-unanswered.txt")])
    found = [f for f in d.findings if f.code == "IKE105"]
    assert len(found) == 2 and found[0].fix == found[1].fix
    text = terminal.render(d, width=200)
    assert text.count("Fix: " + found[0].fix[:40]) == 1
    assert text.count("Fix: as for 1 above.") == 1


def test_a_symptom_does_not_retell_its_causes_moment_in_the_timeline() -> None:
    """IKE301 (`first unanswered DPD probe`) and its symptom IKE304 (`INFORMATIONAL ... first
    sent; 4 attempts in all`) are one packet on line 7: the timeline listed it twice."""
    d = api.analyze([str(DATA / "report" / "dpd-probes-unanswered.txt")])
    [f] = d.findings
    assert f.code == "IKE301" and [s.code for s in f.symptoms] == ["IKE304"]
    on_line_7 = [m.text for m in d.timeline if m.ref == 7]
    assert on_line_7 == ["first unanswered DPD probe to 203.0.113.55:4500"], on_line_7


def _panel(text: str) -> tuple[str, str]:
    """The summary panel's border title line, and its body as one line (wrapping undone)."""
    lines = text.splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("╰"))
    return lines[0], " ".join(line.strip("│ ") for line in lines[1:end])


def test_the_down_tunnel_verdict_is_read_whole_at_80_and_110_columns() -> None:
    """With an info finding before it, the headline `1 finding, worst: info; no rule found
    a cause, but 1 tunnel is down: xxxx (remote gateway …` was the panel's title, cut
    with `…` at 110 columns (and at 80 without a finding). The title now counts the
    tunnels down; the summary under it, which starts with what no rule explained and names
    the tunnels, wraps whole (said once: not a verdict line over a summary that repeats it)."""
    for name in ("text_public/reddit_gwlist_connecting_prose_below.txt", "state/handmade_phase1_up_no_phase2_sa.txt"):
        d = api.analyze([str(DATA / name)])
        assert d.down_verdict() and len(d.down_tunnels) == 1
        for width in (80, 110):
            title, body = _panel(terminal.render(d, width=width))
            assert "…" not in title and title.rstrip("─╮").rstrip().endswith("1 tunnel down"), (width, title)
            assert body.startswith("No rule found a cause in "), (width, body)
            assert body.count("No rule found a cause") == 1 and d.down_tunnels[0]["tunnel"] in body, (width, body)
