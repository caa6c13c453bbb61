"""The rule registry's contract, checked for every registered rule (whoever wrote it)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from ikeanalyze import rules
from ikeanalyze.rules.registry import CODE, FAMILIES, SECTIONS, SEVERITIES

FIXTURES = Path(__file__).resolve().parent / "fixtures"
UDP500_NO_REPLY = FIXTURES / "IKE105/fires-sniffer-udp500-no-reply/input.txt"
INIT = Path(rules.__file__).read_text(encoding="utf-8")
ALL = sorted(rules.REGISTRY.values(), key=lambda r: r.code)


def test_the_catalogue_is_registered() -> None:
    # The transport, liveness and input-quality families of RULES.md are all there.
    codes = set(rules.REGISTRY)
    for code in ("IKE105", "IKE106", "IKE107", "IKE108", "IKE109", "IKE110", "IKE111",
                 "IKE301", "IKE302", "IKE303", "IKE304", "IKE901", "IKE902", "IKE903"):
        assert code in codes, code
    # Negotiation: a packet no phase-2 selector takes, dropped at the tunnel interface (hunt 4).
    assert (rules.REGISTRY["IKE214"].name, rules.REGISTRY["IKE214"].severity) == ("no-selector-match", "error")


def test_names_are_unique() -> None:
    names = [r.name for r in ALL]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


@pytest.mark.parametrize("r", ALL, ids=lambda r: r.code)
def test_rule_contract(r) -> None:
    assert CODE.match(r.code) and r.code[:4] in FAMILIES
    assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", r.name), r.name
    assert r.severity in SEVERITIES
    for section in SECTIONS:
        assert len(r.section(section).split()) >= 5, f"{r.code}: section {section!r} is empty or a stub"
    assert dataclasses.is_dataclass(r.thresholds) and type(r.thresholds).__dataclass_params__.frozen
    for code in r.explains:  # a code of RULES.md, registered or still to come
        assert CODE.match(code) and code[:4] in FAMILIES and code != r.code, f"{r.code} explains {code}"
    module = r.check.__module__.rsplit(".", 1)[-1]
    assert module.startswith(r.code.lower() + "_"), f"{r.code}: module {module} is not named after its code"
    assert re.search(rf"^\s+{module},$", INIT, re.M), f"{module} is not imported in rules/__init__.py"


@pytest.mark.parametrize("r", ALL, ids=lambda r: r.code)
def test_rule_has_fires_and_quiet_fixtures(r) -> None:
    cases = [p.name for p in (FIXTURES / r.code).iterdir() if p.is_dir()] if (FIXTURES / r.code).is_dir() else []
    assert any(c.startswith("fires-") for c in cases), f"{r.code}: no fixtures/{r.code}/fires-* case"
    assert any(c.startswith("quiet-") for c in cases), f"{r.code}: no fixtures/{r.code}/quiet-* case"
    for c in cases:
        assert (FIXTURES / r.code / c / "expected.json").is_file(), f"{r.code}/{c}: no expected.json"


def test_a_finding_on_what_never_came_says_when_its_capture_was_cut_off_right_after() -> None:
    """IKE105 on a capture cut off mid-record: the answer may have been after the cut (found
    by the capture sweep: 'never answered' with IKE902 beside it and no caveat). A capture
    that ends whole gets none."""
    from ikeanalyze import api
    from ikeanalyze.sources import Blob
    from tests.conftest import ROOT

    data = (ROOT / "tests/rules/fixtures/IKE105/fires-pcap-sa-init-unanswered/input.pcap").read_bytes()
    whole = [f for f in api.analyze([Blob("whole.pcap", None, data, data[:16])]).all_findings() if f.code == "IKE105"]
    cut = [f for f in api.analyze([Blob("cut.pcap", None, data[:-10], data[:16])]).all_findings() if f.code == "IKE105"]
    assert len(whole) == len(cut) == 1
    assert "Caveat" not in whole[0].message and "input_cut_off" not in whole[0].facts
    assert "Caveat: cut.pcap was cut off mid-record right after this; an answer after the cut" in cut[0].message
    assert cut[0].facts["input_cut_off"] == ["cut.pcap"]


def test_the_cut_off_caveat_measures_the_input_not_a_peers_focus() -> None:
    """With --peer, the events are the peer's: the end of the input was the peer's last
    event, so a capture that went on for an hour after the peer's last request said 'cut off
    right after this' (found by a review). The input's end is measured on all its events."""
    from ikeanalyze import api
    from ikeanalyze.sources import Blob
    from tests.conftest import ROOT
    from tests.sources import pcapbuild as pb

    data = (ROOT / "tests/rules/fixtures/IKE105/fires-pcap-sa-init-unanswered/input.pcap").read_bytes()
    linktype, recs = pb.records(data)
    start = recs[-1][0]
    later = [(start + 100.0 * k, pb.eth(pb.ipv4("203.0.113.9", "203.0.113.10", 17, pb.udp(4500, 4500, b"\xff"))))
             for k in range(1, 40)]
    cap = pb.pcap([(s, fr) for s, _, _, fr in recs] + later)[:-3]  # an hour more, then cut mid-record
    events, ingest = api.load([Blob("long.pcap", data=cap)])
    for peer in (None, "192.0.2.1"):
        found = [f for f in api.diagnose(events, ingest, peer=peer).all_findings() if f.code == "IKE105"]
        assert found and "Caveat" not in found[0].message, peer


def test_a_one_way_sniffer_filter_is_a_caveat_of_what_never_came() -> None:
    """A sniffer whose filter passes one direction (`src host ...`) cannot show the answers:
    a finding built on what never came says so; a filter of both directions does not."""
    import ikeanalyze
    from ikeanalyze.sources import Blob

    packets = UDP500_NO_REPLY.read_text(encoding="utf-8")

    def ike105(filters: str):
        d = ikeanalyze.analyze([Blob("s.txt", data=(f"interfaces=[wan1]\nfilters=[{filters}]\n" + packets).encode())],
                               select=["IKE105"])
        (f,) = [f for f in d.all_findings() if f.code == "IKE105"]
        return f

    f = ike105("src host 203.0.113.1 and port 500")
    assert ("Caveat: the sniffer's filter (`src host 203.0.113.1 and port 500`) passes one direction only"
            in f.message)
    assert f.facts["one_way_filter"] == {"s.txt": "src host 203.0.113.1 and port 500"}
    # Both directions named, each one way: still one way.
    assert "one direction" in ike105("src host 203.0.113.1 and dst host 198.51.100.9").message
    for both in ("host 203.0.113.1 and port 500", "src host 203.0.113.1 or dst host 203.0.113.1",
                 "host 198.51.100.9 and not src port 22", "src port 500"):
        assert "one direction" not in ike105(both).message


def test_each_distinct_filter_of_a_paste_is_judged_once(monkeypatch) -> None:
    """Three runs of one paste, two with the same one-way filter: each filter is judged
    once per analysis, not again for every evidence line of every finding; the caveat is
    still on the findings from the one-way runs, naming each run's lines."""
    import collections

    import ikeanalyze
    from ikeanalyze.rules import registry
    from ikeanalyze.sources import Blob

    asked: collections.Counter = collections.Counter()
    judge = registry.one_way_filter

    def counted(text: str) -> bool:
        asked[text] += 1
        return judge(text)

    monkeypatch.setattr(registry, "one_way_filter", counted)
    packets = UDP500_NO_REPLY.read_text(encoding="utf-8")
    one_way, both = "src host 203.0.113.1 and port 500", "host 198.51.100.7 or host 198.51.100.9"
    bodies = [(one_way, packets), (both, packets.replace("198.51.100.9", "198.51.100.7").replace("14:00:", "14:20:")),
              (one_way, packets.replace("198.51.100.9", "198.51.100.5").replace("14:00:", "14:40:"))]
    text = "".join(f"FGT # diagnose sniffer packet wan1 '{f}' 4 0 a\ninterfaces=[wan1]\nfilters=[{f}]\n{body}^C\n"
                   for f, body in bodies)
    d = ikeanalyze.analyze([Blob("s.txt", data=text.encode())], select=["IKE105"])
    found = {f.peer: f.message for f in d.all_findings() if f.code == "IKE105"}
    assert set(found) == {"198.51.100.9:500", "198.51.100.7:500", "198.51.100.5:500"}
    assert f"(`{one_way}`, lines 1-9)" in found["198.51.100.9:500"]
    assert f"(`{one_way}`, lines 19-27)" in found["198.51.100.5:500"]
    assert "one direction only" not in found["198.51.100.7:500"]
    assert asked == {one_way: 1, both: 1}


def test_each_sniffer_run_of_a_paste_is_judged_by_its_own_filter() -> None:
    """Two runs in one paste (the first one-way, `src host`, to one peer; the second both
    ways, to another): the caveat is on the finding from the one-way run only, whichever
    comes first; each run keeps its filter and lines, `capture_filter` the first's."""
    import ikeanalyze
    from ikeanalyze.sources import Blob

    packets = UDP500_NO_REPLY.read_text(encoding="utf-8")
    other = packets.replace("198.51.100.9", "198.51.100.7").replace("14:00:", "14:20:")
    one_way, both = "src host 203.0.113.1 and port 500", "host 198.51.100.7 or host 198.51.100.9"

    def run(f: str, body: str) -> str:
        return f"FGT # diagnose sniffer packet wan1 '{f}' 4 0 a\ninterfaces=[wan1]\nfilters=[{f}]\n{body}^C\n"

    for first, second, caveated in ((one_way, both, "198.51.100.9:500"), (both, one_way, "198.51.100.7:500")):
        d = ikeanalyze.analyze([Blob("s.txt", data=(run(first, packets) + run(second, other)).encode())],
                               select=["IKE105"])
        found = {f.peer: f for f in d.all_findings() if f.code == "IKE105"}
        assert set(found) == {"198.51.100.9:500", "198.51.100.7:500"}
        for peer, f in found.items():
            assert ("one direction only" in f.message) == (peer == caveated), (first, peer)
        lines = "lines 1-9" if first == one_way else "lines 10-18"
        assert f"the sniffer's filter (`{one_way}`, {lines}) passes one direction only" in found[caveated].message
        assert found[caveated].facts["one_way_filter"] == {"s.txt": one_way}
        (report,) = d.ingest.inputs
        assert report.as_dict()["capture_filter"] == first
        assert report.as_dict()["capture_filters"] == [{"filter": first, "lines": [1, 9]},
                                                       {"filter": second, "lines": [10, 18]}]
