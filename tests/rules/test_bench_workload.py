"""The shared benchmark story, small: broken tunnels get their findings, healthy ones none.

tests/data/make_capture.py writes the same FortiGate dial-up day as sniffer text, a capture
and the gateway's IKE debug, plus the ground truth. On healthy tunnels DPD exchanges are
answered and NAT keepalives are one-way by nature: no rule may report them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import ikeanalyze

MAKE = Path(__file__).resolve().parents[1] / "data" / "make_capture.py"


@pytest.fixture(scope="module")
def workload(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("bench")
    paths = {k: d / n for k, n in (("sniffer", "s.txt"), ("pcap", "s.pcap"), ("ikedebug", "d.txt"), ("truth", "t.json"))}
    subprocess.run([sys.executable, str(MAKE), "--packets", "3000", "--tunnels", "5", "--duration", "900",
                    "--sniffer", str(paths["sniffer"]), "--pcap", str(paths["pcap"]),
                    "--ikedebug", str(paths["ikedebug"]), "--truth", str(paths["truth"])],
                   check=True, capture_output=True, timeout=120)
    truth = json.loads(paths["truth"].read_text())
    return {"paths": paths, "tunnels": truth["tunnels"]}


def _ip(endpoint: str) -> str:
    return endpoint.rsplit(":", 1)[0]


@pytest.mark.parametrize("source", ["sniffer", "pcap", "ikedebug"])
def test_findings_only_for_broken_tunnels(workload, source) -> None:
    tunnels = workload["tunnels"]
    broken = {t["client"] for t in tunnels if t["broken"]}
    healthy_ips = {_ip(t["client"]) for t in tunnels if not t["broken"]}
    assert broken and healthy_ips, "the workload must have both kinds of tunnel"
    d = ikeanalyze.analyze([str(workload["paths"][source])])
    found = d.all_findings()
    noisy = [f"{f.code} {f.peer}: {f.message}" for f in found if f.peer_ip in healthy_ips]
    assert not noisy, noisy
    codes = {f.code for f in found}
    # Nothing in this story is a negotiation, fragment, NAT-mapping or SPI problem.
    assert not codes & {"IKE105", "IKE106", "IKE107", "IKE108", "IKE109", "IKE110", "IKE111", "IKE302", "IKE303"}, codes
    tcp_clients = {t["tcp_client"] for t in tunnels if t.get("tcp_client")}
    assert {f.peer for f in found if f.code == "IKE103"} == tcp_clients
    if source != "ikedebug":  # a debug log never shows ESP: it cannot tell a stalled path
        assert {f.peer for f in found if f.code == "IKE102"} == broken
    if source != "sniffer":  # the sniffer prints no IKE header: the DPD requests are only `udp 84`
        # The gateway's DPD requests to each broken client go unanswered (5 attempts, 20 s apart).
        dpd = [f for f in found if f.code == "IKE301"]
        assert {f.peer for f in dpd} == broken
        assert all(f.facts["probes"] == 5 and f.facts["intervals_s"] == [20.0] * 4 for f in dpd)
