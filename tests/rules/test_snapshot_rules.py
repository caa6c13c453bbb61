"""Snapshots as evidence: each case runs the same input with and without its `diagnose vpn
tunnel list` / `ike gateway list` part, and the snapshot must change the diagnosis.
Data: tests/data/state/ (SOURCES.md) and the seed story (tests/data/seed/)."""

from __future__ import annotations

from pathlib import Path

import ikeanalyze
from tests.conftest import DATA

STATE = DATA / "state"
SEED = DATA / "seed" / "forticlient-udp-fallback-tcp.paste.txt"


def without_snapshot(name: str, tmp_path: Path, keep_lines: int) -> str:
    """The first ``keep_lines`` lines of a state file (the part before the snapshot)."""
    lines = (STATE / name).read_text(encoding="utf-8").splitlines(keepends=True)[:keep_lines]
    out = tmp_path / f"no-snapshot-{name}"
    out.write_text("".join(lines), encoding="utf-8")
    return str(out)


def codes(d, code: str):
    return [f for f in d.all_findings() if f.code == code]


def test_ike102_dpd_off_explains_why_the_tunnel_stayed_up(tmp_path):
    name = "handmade_dpd_off_silent_peer.txt"
    (plain,) = codes(ikeanalyze.analyze([without_snapshot(name, tmp_path, 16)], select=["IKE102"]), "IKE102")
    assert "DPD" not in plain.message and "dpd_off" not in plain.facts and plain.tunnel is None

    (f,) = codes(ikeanalyze.analyze([str(STATE / name)], select=["IKE102"]), "IKE102")
    assert f.peer == "203.0.113.90:4500"
    assert f.message.startswith(plain.message)
    assert "DPD is off on tunnel to-shop12 (`dpd: mode=off`" in f.message
    assert "until its phase-2 SA expires (11 h 54 min left at the snapshot)" in f.message  # 42898 s
    assert f.tunnel == "to-shop12"
    assert f.facts["dpd_off"] is True and f.facts["sa_seconds_left"] == 42898
    assert [e.ref for e in f.evidence][-2:] == [26, 33]  # the `dpd:` and `life:` lines
    assert f.evidence[-2].text == "dpd: mode=off on=0 idle=20000ms retry=3 count=0 seqno=0"


def test_ike102_dpd_on_adds_nothing():
    # The article's tunnel list has no addresses to tie it to a peer; the seed's silent
    # peer has no tunnel list: IKE102 tells its story without a DPD sentence.
    d = ikeanalyze.analyze([str(SEED), str(STATE / "35_tunnel_list_dpd_disabled.txt")], select=["IKE102"])
    (f,) = codes(d, "IKE102")
    assert "DPD is off" not in f.message


def test_ike103_gateway_list_alone_tells_ike_over_tcp():
    name = str(STATE / "handmade_gateway_transport_tcp.txt")
    (f,) = codes(ikeanalyze.analyze([name], select=["IKE103"]), "IKE103")
    assert f.tunnel == "ipsec_1" and f.peer == "10.3.2.150:58518"
    assert "between 10.55.3.193:5500 and 10.3.2.150:58518" in f.message
    assert "`transport: TCP`" in f.message
    assert [e.ref for e in f.evidence] == [3, 11]
    assert f.severity == "info"


def test_ike103_gateway_list_confirms_the_tcp_reconnect():
    (plain,) = codes(ikeanalyze.analyze([str(SEED)], select=["IKE103"]), "IKE103")
    assert "gateway list" not in plain.message
    d = ikeanalyze.analyze([str(SEED), str(STATE / "handmade_gateway_transport_tcp.txt")], select=["IKE103"])
    (f,) = codes(d, "IKE103")  # one finding: the packets' story, confirmed; not a second one
    assert f.message.startswith(plain.message)
    assert "The gateway list confirms it: ipsec_1 has `transport: TCP`" in f.message
    assert f.facts["gateway_transport"] == "TCP"
    assert f.evidence[-1].ref == 11 and f.evidence[-1].text == "transport: TCP"


def test_ike108_npu_offload_silences_a_one_way_sniffer_picture(tmp_path):
    name = "handmade_npu_sniffer_oneway.txt"
    d = ikeanalyze.analyze([without_snapshot(name, tmp_path, 20)], select=["IKE108"])
    (f,) = codes(d, "IKE108")
    assert f.severity == "info" and "13 ESP packets" in f.message
    assert not any("NPU-offloaded" in s for s in d.next_steps)

    d = ikeanalyze.analyze([str(STATE / name)], select=["IKE108"])
    assert codes(d, "IKE108") == []
    (step,) = [s for s in d.next_steps if "NPU-offloaded" in s]
    assert "203.0.113.80 one way only (13 out, 0 in)" in step and "to-dc2" in step


def test_snapshots_in_the_json(tmp_path):
    from ikeanalyze.report import model

    d = ikeanalyze.analyze([str(STATE / "handmade_npu_sniffer_oneway.txt")])
    m = model.build(d)
    (s,) = m["snapshots"]
    assert s["tunnel"] == "to-dc2" and s["npu"] is True and s["remote"] == "203.0.113.80:0"
    assert s["sas"][0]["dec_pkts"] == 5210 and s["sas"][0]["enc_pkts"] == 5342
    assert s["dpd"]["mode"] == "on-demand" and s["natt"]["mode"] == "none"
    assert s["refs"] == [{"source": str(STATE / "handmade_npu_sniffer_oneway.txt"), "ref": 25, "output": "tunnel"}]
    assert s["time"] == "2026-03-03T09:01:00.102522"  # the last sniffer line above it
