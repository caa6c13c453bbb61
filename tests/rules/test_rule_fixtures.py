"""Every rule's fixture folders, run with only that rule selected (ruff's `for_rule`).

Layout: ``fixtures/<CODE>/fires-<story>/`` and ``fixtures/<CODE>/quiet-<near-miss>/``, each
holding one or more ``input*`` files (any format the tool reads) and ``expected.json``:

```json
{"local": ["10.0.0.1"], "ike_tcp_ports": [5500], "thresholds": {"IKE102.silence": "30s"},
 "findings": [{"peer": "198.51.100.7:4500", "tunnel": "vpn1", "severity": "error",
               "t_start": 12.5, "t_end": 40.0, "evidence_refs": [3, 9, 14],
               "message_contains": ["41 NAT keepalives"], "facts": {"keepalives": 41}}]}
```

Every key but ``findings`` is optional, and so is every key of a finding: what is given
must match (times within a millisecond, facts as a subset, evidence refs as a list in
order). ``message_excludes`` lists words the message must not hold, ``fix_contains``
words the finding's fix must hold (a rule that words the fix by the cause it found). A ``fires-`` case must produce exactly as many findings of the code as it lists,
sorted by start; a ``quiet-`` case must produce none (its ``findings`` is ``[]``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ikeanalyze
from ikeanalyze.sources import LoadOptions

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CASES = sorted(p for p in FIXTURES.glob("IKE*/*") if p.is_dir())


def run_case(case: Path):
    code = case.parent.name
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    inputs = sorted(str(p) for p in case.iterdir() if p.name.startswith("input"))
    assert inputs, f"{case}: no input file"
    options = LoadOptions(local=tuple(expected.get("local", ())),
                          ike_tcp_ports=tuple(int(p) for p in expected.get("ike_tcp_ports", ())))
    d = ikeanalyze.analyze(inputs, options, select=[code], thresholds=expected.get("thresholds") or {})
    got = [f for f in d.all_findings() if f.code == code]
    got.sort(key=lambda f: (f.t_start if f.t_start is not None else float("inf"), f.peer or "", f.tunnel or ""))
    return expected, got


def check_finding(f, want: dict, where: str) -> None:
    for key in ("peer", "tunnel", "severity"):
        if key in want:
            assert getattr(f, key) == want[key], f"{where}: {key} {getattr(f, key)!r} != {want[key]!r}"
    for key in ("t_start", "t_end"):
        if key in want:
            v = getattr(f, key)
            assert v is not None and abs(v - want[key]) < 1e-3, f"{where}: {key} {v!r} != {want[key]!r}"
    if "evidence_refs" in want:
        assert [e.ref for e in f.evidence] == want["evidence_refs"], f"{where}: evidence {f.evidence}"
    for text in want.get("message_contains", ()):
        assert text in f.message, f"{where}: {text!r} not in message {f.message!r}"
    for text in want.get("message_excludes", ()):
        assert text not in f.message, f"{where}: {text!r} in message {f.message!r}"
    for text in want.get("fix_contains", ()):
        assert text in f.fix, f"{where}: {text!r} not in fix {f.fix!r}"
    for key, value in want.get("facts", {}).items():
        assert f.facts.get(key) == value, f"{where}: facts[{key!r}] {f.facts.get(key)!r} != {value!r}"


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture(case: Path) -> None:
    assert case.name.startswith(("fires-", "quiet-")), f"{case.name}: fixture folders are fires-* or quiet-*"
    expected, got = run_case(case)
    if case.name.startswith("quiet-"):
        assert not got, f"{case}: expected no {case.parent.name}, got: " + "; ".join(f.message for f in got)
        return
    wanted = expected["findings"]
    assert wanted, f"{case}: a fires- case lists the findings it expects"
    assert len(got) == len(wanted), f"{case}: {len(got)} findings: " + "; ".join(f.message for f in got)
    for i, (f, want) in enumerate(zip(got, wanted)):
        check_finding(f, want, f"{case.name}[{i}]")


def test_stall_timeline_names_the_peers_last_esp() -> None:
    """No NAT: the peer's last packet before the unanswered keepalives on 4500 is its ESP
    (IP protocol 50, line 31), and the timeline says so, not `on UDP 4500`."""
    case = FIXTURES / "IKE102" / "fires-no-nat-peer-esp-stops"
    d = ikeanalyze.analyze([str(case / "input.txt")], select=["IKE102"])
    assert [m.text for m in d.timeline if m.ref == 31] == ["last packet from 198.51.100.7 (ESP)"]


def test_stall_whose_last_packet_has_no_transport_read() -> None:
    """The peer's last line is a tcpdump packet on 4500 whose summary was cut (`UDP-encap:`
    and nothing after: no transport read). The timeline names it as a packet of the flow
    (an NA transport had raised instead of a report)."""
    from ikeanalyze.sources import Blob

    lines = ["10:00:00.000000 IP 198.51.100.7.61001 > 192.0.2.1.4500: UDP-encap: ESP(spi=0x0a0b0c0d,seq=0x1), length 100",
             "10:00:00.100000 IP 192.0.2.1.4500 > 198.51.100.7.61001: UDP-encap: ESP(spi=0x01020304,seq=0x1), length 100",
             "10:00:02.000000 IP 198.51.100.7.61001 > 192.0.2.1.4500: UDP-encap:"]
    lines += [f"10:00:{s:02d}.000000 IP 192.0.2.1.4500 > 198.51.100.7.61001: isakmp-nat-keep-alive" for s in range(10, 60, 10)]
    d = ikeanalyze.analyze([Blob("cut.txt", data=("\n".join(lines) + "\n").encode())], select=["IKE102"])
    [f] = d.all_findings()
    assert f.facts["last_in_ref"] == 3 and f.facts["unanswered"] == 5
    assert [m.text for m in d.timeline if m.ref == 3] == ["last packet from 198.51.100.7:61001 on UDP 4500"]
