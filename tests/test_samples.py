"""Every sample produces the diagnosis written by hand in samples/expected/, through the CLI."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SAMPLES, analyze_json

EXPECTED = sorted((SAMPLES / "expected").glob("*.json"))


def _input_for(expected_path):
    stem = expected_path.stem
    matches = [p for p in SAMPLES.iterdir() if p.is_file() and p.name.startswith(stem + ".")]
    assert len(matches) == 1, f"one input per expected file: {stem}: {matches}"
    return matches[0]


@pytest.mark.parametrize("expected_path", EXPECTED, ids=lambda p: p.stem)
def test_sample_diagnosis(expected_path):
    want = json.loads(expected_path.read_text())
    sample = _input_for(expected_path)
    got = analyze_json(str(sample.relative_to(SAMPLES.parent)))
    findings = got["findings"]
    codes = [f["code"] for f in findings]
    for w in want["findings"]:
        match = [f for f in findings if f["code"] == w["code"] and f["peer"] == w.get("peer", f["peer"])]
        assert match, f"{w['code']} for {w.get('peer')} missing; got {codes}"
        f = match[0]
        for key in ("start", "end", "tunnel"):
            if key in w:
                assert f[key] == w[key], (w["code"], key, f[key])
        refs = {e["ref"] for e in f["evidence"]}
        assert set(w.get("evidence_refs", [])) <= refs, (w["code"], refs)
        for text in w.get("message_contains", []):
            assert text in f["message"], (w["code"], text, f["message"])
        if "gap_s" in w:
            assert f["facts"]["gap_s"] == pytest.approx(w["gap_s"], abs=1e-6)
    for prefix in want.get("forbid", []):
        assert not [c for c in codes if c.startswith(prefix)], (prefix, codes)
    if "accounting" in want:
        (inp,) = got["inputs"]
        acc = dict(inp["accounting"], total=inp["total"])
        for k, v in want["accounting"].items():
            assert acc[k] == v, (k, acc)


def test_seed_capture_is_rebuilt_byte_for_byte(tmp_path):
    """samples/…-capture.pcap is exactly what tests/data/seed/make_seed_pcap.py writes."""
    import subprocess
    import sys

    from tests.conftest import DATA

    out = tmp_path / "seed.pcap"
    subprocess.run([sys.executable, str(DATA / "seed" / "make_seed_pcap.py"), str(out)], check=True)
    assert out.read_bytes() == (SAMPLES / "forticlient-udp-fallback-tcp-capture.pcap").read_bytes()


def test_whole_article_tells_the_same_story():
    """The seed article (prose, configuration, image names and the device output) gives the
    same findings as the paste of its device output; its prose is honestly unrecognised."""
    from tests.conftest import DATA

    paste = analyze_json(str(SAMPLES / "forticlient-udp-fallback-tcp.txt"))
    article = analyze_json(str(DATA / "seed" / "forticlient-udp-fallback-tcp.article.txt"))

    def story(doc):
        return sorted((f["code"], f["peer"], f["start"], f["end"]) for f in doc["findings"]
                      if f["code"].startswith("IKE1"))

    assert story(article) == story(paste)
    assert {c for c, *_ in story(paste)} == {"IKE101", "IKE102", "IKE103", "IKE104"}
    (inp,) = article["inputs"]
    # 38 of device output, and the 25 statements of the configuration the article shows
    assert inp["events"] == 38 + 25
    # the prose is not device output
    assert inp["accounting"]["unrecognised"] == 31
    # Its configuration confirms the gateway allows the fallback: the reconnect is still by hand.
    (fallback,) = [f for f in article["findings"] if f["code"] == "IKE104"]
    assert ("The configuration allows the fallback (`set transport udp-fallback-tcp` on phase 1 ipsec, "
            in fallback["message"]) and fallback["evidence"][-1]["ref"] == 50
    assert "IKE901" in {f["code"] for f in article["findings"]}



def test_a_blob_given_only_its_bytes_is_read_as_what_they_are() -> None:
    """`Blob(name, data=...)` of a capture was 'not a capture or FortiGate text (binary
    data)': the head that names the format was only set by the loaders, not from the bytes."""
    from ikeanalyze import api
    from ikeanalyze.sources import Blob

    data = (SAMPLES / "forticlient-udp-fallback-tcp-capture.pcap").read_bytes()
    assert {"IKE102", "IKE104"} <= {f.code for f in api.analyze([Blob("x.pcap", data=data)]).all_findings()}
