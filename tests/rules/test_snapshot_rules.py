"""Snapshots as evidence: each case runs the same input with and without its `diagnose vpn
tunnel list` / `ike gateway list` part, and the snapshot must change the diagnosis.
Data: tests/data/state/ (SOURCES.md) and the seed story (tests/data/seed/)."""

from __future__ import annotations

import re
from pathlib import Path

import ikeanalyze
from tests.conftest import DATA

STATE = DATA / "state"
SEED = DATA / "seed" / "forticlient-udp-fallback-tcp.paste.txt"


def without_snapshot(name: str, tmp_path: Path, keep_lines: int, first_line: int = 1) -> str:
    """Lines ``first_line`` .. ``keep_lines`` (1-based) of a state file: its part without
    the snapshot."""
    lines = (STATE / name).read_text(encoding="utf-8").splitlines(keepends=True)[first_line - 1:keep_lines]
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


def test_ike108_from_tunnel_list_counters(tmp_path):
    name = "handmade_esp_oneway_two_lists.txt"
    # The debug alone (lines 26-31) cannot show ESP: no IKE108.
    assert codes(ikeanalyze.analyze([without_snapshot(name, tmp_path, 31, 26)], select=["IKE108"]), "IKE108") == []

    (f,) = codes(ikeanalyze.analyze([str(STATE / name)], select=["IKE108"]), "IKE108")
    assert f.severity == "error" and f.tunnel == "to-branch7" and f.peer == "203.0.113.70:4500"
    assert "`enc:pkts` of SA to-branch7 (SPI 0xc4e2f9a0) grew from 120 to 348" in f.message
    assert "`dec:pkts` (SPI 0x7a1c0e52) stays 0" in f.message
    assert [e.ref for e in f.evidence] == [22, 53]
    assert "(line 22) and 10:16:05 (line 53)" in f.message  # the counters' lines, not the blocks' first
    assert f.t_start == 0.0 and f.t_end == 64.0  # the lists' times come from the debug around them
    assert f.facts["enc_before"] == 120 and f.facts["packets"] == 348 and f.facts["dec_packets"] == 0


def test_ike108_counters_of_an_offloaded_sa_are_not_trusted(tmp_path):
    # The same two lists with the SA offloaded (npu_flag=03): the counters miss what the
    # NPU handled, so they say nothing about one-way ESP.
    text = (STATE / "handmade_esp_oneway_two_lists.txt").read_text(encoding="utf-8").replace("npu_flag=00", "npu_flag=03")
    p = tmp_path / "offloaded.txt"
    p.write_text(text, encoding="utf-8")
    assert codes(ikeanalyze.analyze([str(p)], select=["IKE108"]), "IKE108") == []


def test_ike105_connecting_gateway_list_joins_the_unanswered_sa_init(tmp_path):
    name = "handmade_sa_init_retransmits_connecting.txt"
    (plain,) = codes(ikeanalyze.analyze([without_snapshot(name, tmp_path, 7)], select=["IKE105"]), "IKE105")
    assert "gateway list" not in plain.message and [e.ref for e in plain.evidence] == [3, 6]

    (f,) = codes(ikeanalyze.analyze([str(STATE / name)], select=["IKE105"]), "IKE105")
    assert f.message.startswith(plain.message)
    assert "The gateway list agrees: phase 1 of to-hq is `status: connecting, state 1, started 3s ago`" in f.message
    assert "`IKE SA: created 1/4`" in f.message
    assert [e.ref for e in f.evidence] == [3, 6, 24]
    assert f.facts["phase1"] == "connecting" and f.facts["direction"] == "initiator"


def test_ike105_from_a_connecting_initiator_with_no_ike_traffic():
    d = ikeanalyze.analyze([str(STATE / "handmade_gateway_connecting_initiator.txt")])
    (f,) = codes(d, "IKE105")
    assert f.tunnel == "to-hq" and f.peer == "198.51.100.1:500" and f.severity == "error"
    assert "Phase 1 of to-hq to 198.51.100.1:500 is still `status: connecting, state 1, started 3s ago`" in f.message
    assert "no IKE traffic" in f.message
    assert [e.ref for e in f.evidence] == [3, 17, 20]  # `vd:`, `status:`, the tunnel summary line
    assert codes(d, "IKE903") == []  # a snapshot is IPsec evidence


def test_ike105_not_from_a_responder_stuck_connecting():
    # The article's gateway is the responder (state 3): the first message arrived, so it
    # is not "unanswered"; the list is still reported in the JSON.
    d = ikeanalyze.analyze([str(STATE / "05_gateway_list_connecting.txt")])
    assert codes(d, "IKE105") == []
    assert [s["phase1"] for s in d.snapshots] == [None, "connecting"]


def test_no_finding_over_a_tunnel_shown_down_is_not_no_problem():
    """The snapshot shows to10.189.0.182 down (0 of 1 selectors up, phase 1 connecting as
    responder) and no rule can tell why: the headline said "No problem found"."""
    d = ikeanalyze.analyze([str(STATE / "05_gateway_list_connecting.txt")])
    assert not d.findings
    assert d.summary.startswith("No rule found a cause in 13 events, but the snapshot shows 1 tunnel down: "
                                "to10.189.0.182.")
    assert "No problem found" not in d.summary
    # A tunnel that is up: no sentence of a tunnel down, only what is worth knowing (DPD off).
    up = ikeanalyze.analyze([str(STATE / "35_tunnel_list_dpd_disabled.txt")])
    assert [f.code for f in up.findings] == ["IKE306"] and up.summary.startswith("DPD is off on tunnel DisabledDPD")
    assert "down" not in up.summary.replace("brought down", "")


def test_connecting_note_for_ike210_helper():
    # IKE210 (negotiation-timeout) is not written yet: this is the sentence and evidence it
    # will add for a gateway whose phase 1 is still `connecting` (here the article's responder).
    from ikeanalyze.analysis import snapshots
    from ikeanalyze.analysis.context import Context

    events, ingest = ikeanalyze.load([str(STATE / "05_gateway_list_connecting.txt")])
    ctx = Context(events, ingest)
    note = snapshots.connecting_note(ctx, tunnel="to10.189.0.182")
    assert note.text.startswith("The gateway list agrees: phase 1 of to10.189.0.182 is "
                                "`status: connecting, state 3, started 15s ago`")
    assert [e.ref for e in note.evidence] == [18]
    assert note.facts == {"gateway": "to10.189.0.182", "phase1": "connecting", "phase1_state": 3,
                          "direction": "responder"}
    assert snapshots.connecting_note(ctx, tunnel="to10.174.0.182") is None  # no gateway list of it
    assert [s.name for s in snapshots.connecting_without_ike(ctx)] == ["to10.189.0.182"]


def test_ike210_connecting_gateway_list_joins_the_timeout(tmp_path):
    name = "handmade_negotiation_timeout_connecting.txt"
    (plain,) = codes(ikeanalyze.analyze([without_snapshot(name, tmp_path, 8)], select=["IKE210"]), "IKE210")
    assert "gateway list" not in plain.message

    (f,) = codes(ikeanalyze.analyze([str(STATE / name)], select=["IKE210"]), "IKE210")
    assert f.message.startswith(plain.message) and f.tunnel == "to-hq"
    assert "The gateway list agrees: phase 1 of to-hq is `status: connecting, state 1" in f.message
    assert [e.ref for e in f.evidence] == [e.ref for e in plain.evidence] + [25]
    assert f.facts["phase1"] == "connecting" and f.facts["timeouts"] == 1


def test_the_gateway_list_note_is_told_once_on_the_root_cause():
    """The same file with every rule: IKE105 takes IKE210 as a symptom, and both told "The
    gateway list agrees: ..." word for word; the symptom now leaves it to its cause (its
    evidence still cites the gateway list's line)."""
    d = ikeanalyze.analyze([str(STATE / "handmade_negotiation_timeout_connecting.txt")])
    [top] = [f for f in d.findings if f.code == "IKE105"]
    [sym] = [s for s in top.symptoms if s.code == "IKE210"]
    assert "The gateway list agrees: phase 1 of to-hq is `status: connecting" in top.message
    assert "gateway list" not in sym.message
    assert sym.message.endswith("the last message sent was `RETRANSMIT_SA_INIT` at 07:41:37 (line 6).")
    assert 25 in [e.ref for e in sym.evidence]


def test_merged_snapshot_takes_addresses_with_their_ports():
    """A tunnel list prints ports 0 without NAT-T, the gateway list the IKE port: the merged
    tunnel's local and remote both carry the port (not 202.106.1.1:500 -> 101.100.1.1:0)."""
    d = ikeanalyze.analyze([str(STATE / "handbook_gateway_and_tunnel_list_ports.txt")])
    (s,) = d.snapshots
    assert s["tunnel"] == "VPN-to-Side1" and [r["output"] for r in s["refs"]] == ["gateway", "tunnel"]
    assert (s["local"], s["remote"]) == ("202.106.1.1:500", "101.100.1.1:500")
    assert s["natt"]["mode"] == "none" and s["sas"][0]["enc_spi"] == "2e03e37b"


def test_ike106_sniffer_text_another_inputs_working_4500_hides_nothing(tmp_path):
    """Last week's capture, where the peer answered on 4500, is another input: today's
    unanswered 4500 still fires (a review found the peer's address alone was asked)."""
    fixtures = Path(__file__).resolve().parent / "fixtures" / "IKE106"
    week = tmp_path / "lastweek.txt"
    week.write_text((fixtures / "quiet-sniffer-text-4500-answered" / "input.txt").read_text()
                    .replace("2024-05-02", "2024-04-25"))
    d = ikeanalyze.analyze([str(fixtures / "fires-sniffer-text-4500-unanswered" / "input.txt"), str(week)],
                           select=["IKE106"])
    assert [f.peer for f in d.all_findings() if f.code == "IKE106"] == ["192.0.2.9:4500"]


def test_ike108_counters_of_an_sa_whose_inbound_side_is_not_offloaded_are_trusted():
    """`npu_flag=01`: only the outbound SA is on the NPU, so `dec:pkts=0` is the CPU's own
    count of inbound ESP. The spoke sent 12 and decrypted none; offload had silenced it."""
    d = ikeanalyze.analyze([str(DATA / "text_public" / "handbook_dialup_spoke_npu_flag_01_oneway.txt")])
    (f,) = codes(d, "IKE108")
    assert f.tunnel == "SPOKE1" and f.peer == "100.1.1.2:500" and f.severity == "error"
    assert "`enc:pkts` of SA SPOKE1 (SPI 0xa7d1cc77) is 12 (line 203)" in f.message
    assert "`npu_flag=01`: only the outbound SA is offloaded" in f.message
    # HUB_1's `npu_flag=02` SA (inbound offloaded) decrypted 2 and encrypted none: not one-way out.
    assert all(x.tunnel != "HUB_1" for x in codes(d, "IKE108"))


def test_one_phase2_down_beside_another_up_is_told_and_only_it_is_restarted():
    """A 5.x tunnel list: `PHASE2_NAME` has an SA, `SSLVPN-to-GridWay` has `sa=0`. Nothing
    was said (every phase 2 had to be down); clearing the gateway would drop the working one."""
    d = ikeanalyze.analyze([str(DATA / "text_public" / "wiki_fos52_tunnel_list_one_of_two_phase2_down.txt")])
    (step,) = [s for s in d.next_steps if "VPN_NAME" in s]
    assert step.startswith("Tunnel VPN_NAME is partly down: 1 phase 2 without an SA "
                           "in its tunnel list (`proxyid=SSLVPN-to-GridWay proto=0 sa=0 ref=1`, line 25) while "
                           "PHASE2_NAME is up")
    assert "`diagnose vpn tunnel up SSLVPN-to-GridWay VPN_NAME`" in step
    assert "gateway clear name" not in step
    assert d.summary.startswith("No rule found a cause in 19 events, but the snapshot shows 1 tunnel down: "
                                "VPN_NAME (phase 2 SSLVPN-to-GridWay only).")
    # 5.x prints no `options[...]=npu`: the SA's `npu_flag=03` says the tunnel is offloaded.
    (snap,) = d.snapshots
    assert snap["npu"] is True


def test_a_finding_of_what_is_worth_knowing_does_not_hide_a_tunnel_shown_down():
    """A tunnel list with one phase 2 down and DPD off: IKE306 (info) is no cause of the
    phase 2 being down, so the summary still says the snapshot shows it down."""
    d = ikeanalyze.analyze([str(DATA / "text_public" / "wiki_fos52_tunnel_list_one_of_two_phase2_down.txt")])
    assert "IKE306" in [f.code for f in d.findings]
    assert d.summary.startswith("No rule found a cause in 19 events, but the snapshot shows 1 tunnel down: "
                                "VPN_NAME (phase 2 SSLVPN-to-GridWay only).")
    assert "DPD is off on tunnel VPN_NAME (`dpd: mode=off" in d.summary  # `y.y.y.y:0`: no address


def test_a_phase_1_with_no_phase_2_is_down_and_needs_one_not_a_debug():
    """A tunnel summary's `selectors(total,up): 0/0`: the phase 1 has no phase 2, so nothing
    will negotiate, and its `tx(pkt,err): 0/4` counts packets routed into it and dropped."""
    d = ikeanalyze.analyze([str(DATA / "text_public" / "readme_fortivpngen_summary_no_phase2_tx_errors.txt")])
    assert d.summary.startswith("No rule found a cause in 2 events, but the snapshot shows 2 tunnels down: "
                                "new_tunnel_2, Datacenter (no phase 2).")
    (step,) = [s for s in d.next_steps if "Datacenter" in s]
    assert step.startswith("Tunnel Datacenter has no phase 2 at all (`selectors(total,up): 0/0`")
    assert "4 packets routed into it were dropped (`tx(pkt,err): 0/4`)" in step
    assert "set phase1name \"Datacenter\"" in step and "diagnose debug application ike" not in step


def test_one_packet_dropped_into_a_phase_1_without_phase_2_is_singular(tmp_path):
    """`tx(pkt,err): 0/1`: one packet routed into the tunnel and dropped, said so."""
    paste = tmp_path / "summary.txt"
    paste.write_text("'Datacenter' 203.0.113.9:0  selectors(total,up): 0/0  rx(pkt,err): 0/0  tx(pkt,err): 0/1\n")
    (step,) = [s for s in ikeanalyze.analyze([str(paste)]).next_steps if "Datacenter" in s]
    assert "; 1 packet routed into it was dropped (`tx(pkt,err): 0/1`)" in step


def test_dpd_off_note_reads_tunnel_details_too() -> None:
    """IKE102's note of why a tunnel to a silent peer stayed up reads `tunnel details`'
    `dpd: disabled` and `lifetime/rekey:` where the paste holds no tunnel list."""
    from ikeanalyze.analysis import snapshots
    from ikeanalyze.analysis.context import Context

    path = Path(__file__).parent / "fixtures" / "IKE306" / "fires-tunnel-details-dpd-disabled" / "input.txt"
    note = snapshots.dpd_off_note(Context(*ikeanalyze.load([str(path)])), "203.0.113.70")
    assert note is not None and note.text.startswith("DPD is off on tunnel to-branch7 (`dpd: disabled` (")
    assert "its phase-2 SA lives 12 h, and its rekey was 11 h 9 min away at the snapshot" in note.text
    assert [e.ref for e in note.evidence] == [12, 20]


def test_a_tunnel_administratively_down_is_told_so() -> None:
    """`diagnose vpn ike config`'s `status.admin: down` explains why nothing negotiates: the
    summary says so, and the step asks where it was taken down instead of for an IKE debug;
    with `status.admin: up` the tunnel is down for no reason shown, as before."""
    text = (STATE / "handmade_ike_config_admin_down.txt").read_text(encoding="utf-8")
    d = ikeanalyze.analyze([str(STATE / "handmade_ike_config_admin_down.txt")])
    assert not d.findings
    assert d.summary.startswith("No rule found a cause in 19 events, but the snapshot shows 1 tunnel down: to-dc3 "
                                "(administratively down: `status.admin: down`, line 6). Nothing negotiates")
    (step,) = [s for s in d.next_steps if "to-dc3" in s]
    assert step.startswith("Tunnel to-dc3 (remote gateway 203.0.113.30) is administratively down (`status.admin: "
                           "down` in `diagnose vpn ike config`, ")
    assert "debug application ike" not in step
    from ikeanalyze.sources import Blob

    up = ikeanalyze.analyze([Blob("up.txt", data=text.replace("status.admin: down", "status.admin: up").encode())])
    assert "administratively" not in up.summary + " ".join(up.next_steps)
    assert up.summary.endswith("1 tunnel down: to-dc3. What to collect next says what would tell why.")


def test_another_fortigates_tunnel_of_the_same_name_down_is_still_unexplained() -> None:
    """One FortiGate's `status.admin: down` explains its own tunnel, not another device's
    tunnel of the same name that is down in the same paste."""
    from ikeanalyze.sources import Blob

    text = (STATE / "handmade_ike_config_admin_down.txt").read_text(encoding="utf-8")
    other = ("\nFGT-EDGE2 # get vpn ipsec tunnel summary\n"
             "'to-dc3' 203.0.113.30:0  selectors(total,up): 1/0  rx(pkt,err): 0/0  tx(pkt,err): 0/12\n")
    d = ikeanalyze.analyze([Blob("two.txt", data=(text + other).encode())])
    assert "2 tunnels down" in d.summary and d.summary.endswith("What to collect next says what would tell why.")
    assert any(s.startswith("Tunnel to-dc3 on FGT-EDGE2") for s in d.next_steps)


def test_a_second_devices_ike_config_alone_does_not_list_an_admin_down_tunnel_twice() -> None:
    """Tunnel states are keyed per device only when the tunnel outputs name several
    devices (snapshots.keyed_per_device); a second FortiGate's `diagnose vpn ike config`
    alone does not make the admin-down tunnel a second, unexplained one."""
    from ikeanalyze.sources import Blob

    text = (STATE / "handmade_ike_config_admin_down.txt").read_text(encoding="utf-8")
    other = ("\nFGT-B # diagnose vpn ike config\nvd: root/0\nname: to-br9\nserial: 4\nversion: 2\n"
             "status.admin: up\nstatus.operational: down\ntype: static\nlocal: 198.51.100.2\n"
             "remote: 203.0.113.99\n")
    d = ikeanalyze.analyze([Blob("edge2.txt", data=(text + other).encode())])
    assert "1 tunnel down" in d.summary and "administratively down" in d.summary
    assert [s for s in d.next_steps if s.startswith("Tunnel to-dc3")] == \
        [s for s in d.next_steps if s.startswith("Tunnel to-dc3") and "administratively down" in s]


def test_a_tunnel_down_with_phase_1_established_points_at_phase_2():
    """The gateway list shows phase 1 established for an hour while the tunnel list's phase 2
    has no SA: the step said only "no phase-2 SA", not that phase 1 is up and phase 2 is what fails."""
    d = ikeanalyze.analyze([str(STATE / "handmade_phase1_up_no_phase2_sa.txt")])
    assert not d.findings
    (step,) = [s for s in d.next_steps if s.startswith("Tunnel to-hq")]
    assert "phase 1 is established (`status: established 3590-3590s ago = 30ms`, line 31)" in step
    assert "phase 2 is what does not come up" in step


def test_a_remote_gateway_the_paste_blanked_is_not_named_as_an_address() -> None:
    """A published tunnel list blanks the gateway (`y.y.y.y:0`): the verdict said "to-hq
    (remote gateway y.y.y.y)" and the step asked for `diagnose vpn ike log filter rem-addr4
    y.y.y.y`. The tunnel is named alone, and the debug is filtered on its name."""
    from ikeanalyze.sources import Blob

    text = (STATE / "handmade_phase1_up_no_phase2_sa.txt").read_text(encoding="utf-8")
    for placeholder in ("y.y.y.y", "XXX.XXX.XXX.XXX"):
        d = ikeanalyze.analyze([Blob("blanked.txt", data=text.replace("198.51.100.9", placeholder).encode())])
        assert d.down_verdict() == "No rule found a cause, but 1 tunnel is down: to-hq"
        assert d.down_tunnels[0]["remote_gateway"] is None
        (step,) = [s for s in d.next_steps if s.startswith("Tunnel ")]
        assert step.startswith("Tunnel to-hq is down: ") and placeholder not in step
        assert "`diagnose vpn ike log filter name to-hq`" in step


def test_an_ipv6_remote_gateway_is_filtered_on_with_rem_addr6() -> None:
    """`rem-addr4` takes no IPv6 address: a tunnel down to 2001:db8:9::9 was to be debugged
    with `diagnose vpn ike log filter rem-addr4 2001:db8:9::9`, which FortiOS refuses."""
    from ikeanalyze.sources import Blob

    text = (STATE / "handmade_phase1_up_no_phase2_sa.txt").read_text(encoding="utf-8")
    text = re.sub(r"198\.51\.100\.9:(\d+)", r"2001:db8:9::9:\1", re.sub(r"192\.0\.2\.77:(\d+)", r"2001:db8:1::77:\1", text))
    d = ikeanalyze.analyze([Blob("v6.txt", data=text.encode())])
    assert d.down_tunnels[0]["remote_gateway"] == "2001:db8:9::9"
    (step,) = [s for s in d.next_steps if s.startswith("Tunnel ")]
    assert "`diagnose vpn ike log filter rem-addr6 2001:db8:9::9`" in step and "rem-addr4" not in step
