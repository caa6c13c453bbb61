"""State snapshots (`diagnose vpn tunnel list`, `diagnose vpn ike gateway list`, tunnel
summary) through the real text loader: every line accounted for, blocks per tunnel, lines
cut mid-token joined, times taken from the paste around them. Data: tests/data/state/
(SOURCES.md)."""

from __future__ import annotations

import json

import pytest

import ikeanalyze
from ikeanalyze.analysis import snapshots as snap
from ikeanalyze.analysis.context import Context
from ikeanalyze.ingest import InputReport
from ikeanalyze.sources import text
from tests.conftest import DATA

STATE = DATA / "state"
FILES = sorted(STATE.glob("*.txt"))


def load(name: str):
    events, ingest = ikeanalyze.load([str(STATE / name)])
    return events, ingest, Context(events, ingest)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_line_accounted_and_nothing_unrecognised(path):
    events, ingest = ikeanalyze.load([str(path)])
    report = ingest.inputs[0]
    assert report.balanced
    assert report.accounting.get("unrecognised", 0) == 0, report.examples
    assert "snapshot" in report.formats
    snaps = events[events["origin"] == "snapshot"]
    assert (snaps["kind"] == "snapshot").all()
    assert snaps["tunnel"].notna().all()
    # Exactly one row per block carries the parsed facts.
    details = [json.loads(d) for d in snaps["detail"]]
    assert len({(d["block"]) for d in details}) == sum("facts" in d for d in details)


def test_article_tunnel_list_dpd_disabled():
    events, ingest, ctx = load("35_tunnel_list_dpd_disabled.txt")
    acc = ingest.inputs[0].accounting
    # `dp` / `d-link=on weight=1` (cut mid-key) and `accept_traffic=1 overlay_id=0` (wrapped)
    # are pieces of the lines above; `For example:` is the article's words.
    assert acc["continuation"] == 2
    assert acc["annotation"] == 1
    assert acc["prompt"] == 1  # the echoed `diagnose vpn tunnel list`
    st = ctx.snapshots.get("DisabledDPD")
    b = st.tunnel
    assert b.ref == 7
    assert b.facts["dpd-link"] == "on" and b.facts["dst_mtu"] == 1500 and b.facts["overlay_id"] == 0
    assert st.dpd["mode"] == "off" and st.dpd["retry"] == 3
    assert st.natt == {"mode": "none", "draft": 0, "interval": 0, "remote_port": 0}
    assert st.npu and b.facts["options"] == ["npu", "frag-rfc"]
    assert st.npu_flags == ["00"]
    assert not snap.npu_offloaded(ctx, "DisabledDPD")  # allowed, but no SA offloaded
    assert snap.dpd_off(ctx, "DisabledDPD")
    assert st.sas == [{"proxyid": "DisabledDPD", "dec_spi": "f099b8fc", "enc_spi": "f5bfe1e9", "dec_pkts": 0,
                       "dec_bytes": 0, "enc_pkts": 0, "enc_bytes": 0, "npu_flag": "00"}]
    assert st.selectors == [{"proxyid": "DisabledDPD", "src": ["0:"], "dst": ["0:"]}]
    assert st.tunnel.sas()[0][2]["life"]["timeout"] == "42898/43200"
    assert [(e.ref, e.text) for e in b.evidence("dpd")] == [
        (14, "dpd: mode=off on=0 idle=20000ms retry=3 count=0 seqno=0")]
    spis = events.loc[events["esp_spi"].notna(), ["ref", "esp_spi"]].values.tolist()
    assert spis == [[22, "f099b8fc"], [24, "f5bfe1e9"]]
    assert snap.esp_one_way(ctx) == []  # 0/0: nothing sent either
    # An untimed paste: no clock to borrow.
    assert events.loc[events["origin"] == "snapshot", "time"].isna().all()


def test_article_gateway_list_connecting_and_summary():
    events, ingest, ctx = load("05_gateway_list_connecting.txt")
    acc = ingest.inputs[0].accounting
    assert acc["prompt"] == 2  # `get vpn ipsec tunnel summary`, `diagnose vpn ike gateway list name ...`
    assert acc["event"] == 2 + 11
    up = ctx.snapshots.get("to10.174.0.182")
    assert up.summary.facts == {"list": "summary", "name": "to10.174.0.182", "selectors": [1, 1],
                                "rx": [1921, 0], "tx": [69, 2]}
    assert up.gateway is None and up.phase1 is None
    down = ctx.snapshots.get("to10.189.0.182")
    assert down.summary.facts["selectors"] == [1, 0]
    g = down.gateway
    assert g.facts["vdom"] == "root" and g.facts["version"] == "1" and g.facts["interface"] == "port9 10"
    assert "local" not in g.facts  # `addr: ->` while connecting
    assert down.ike_sas == [{"serial": 19576, "ispi": "a83334b3c66f871b", "rspi": "0000000000000000",
                             "direction": "responder", "status": "connecting", "state": 3,
                             "status_text": "connecting, state 3, started 15s ago"}]
    assert down.phase1 == "connecting" and down.phase1_state == 3
    assert [s.name for s in snap.phase1_connecting(ctx)] == ["to10.189.0.182"]
    assert [(e.ref, e.text) for e in g.evidence("status")] == [(18, "status: connecting, state 3, started 15s ago")]
    rows = events[(events["origin"] == "snapshot") & events["ispi"].notna()]
    assert rows[["ref", "ispi", "rspi", "vdom"]].values.tolist() == [
        [16, "a83334b3c66f871b", "0000000000000000", "root"]]


def test_two_tunnel_lists_joined_pieces_times_and_one_way_counters():
    events, ingest, ctx = load("handmade_esp_oneway_two_lists.txt")
    acc = ingest.inputs[0].accounting
    assert acc["continuation"] == 3  # `mtu=1500 ...`, `d-link=on weight=1`, `mode=keepalive ...`
    assert acc["banner"] == 4  # two `list ipsec tunnel by names in vd 0` + two `-----`
    st = ctx.snapshots.get("to-branch7")
    first, last = st.history
    assert (first.ref, last.ref) == (4, 34)
    for b in (first, last):
        assert b.facts["dst_mtu"] == 1500 and b.facts["dpd-link"] == "on"
        assert b.facts["natt"]["mode"] == "keepalive" and b.facts["natt"]["remote_port"] == 4500
        assert b.facts["local"] == "198.51.100.1:4500" and b.facts["remote"] == "203.0.113.70:4500"
    # The first list is above every timed line: it takes the first time below it; the
    # second takes the last time above it.
    assert str(first.time) == "2026-03-02 10:15:01" and str(last.time) == "2026-03-02 10:16:05"
    assert last.t == pytest.approx(64.0)
    header = events[(events["ref"] == 4)].iloc[0]
    assert (header["src"], header["sport"], header["dst"], header["dport"]) == ("198.51.100.1", 4500,
                                                                               "203.0.113.70", 4500)
    assert "dst_mtu=1500" in header["text"]  # the cut piece is shown joined
    assert st.stat == {"rxp": 0, "txp": 348, "rxb": 0, "txb": 50112}
    (ow,) = snap.esp_one_way(ctx)
    assert (ow.tunnel, ow.enc_spi, ow.dec_spi, ow.enc_before, ow.enc_after, ow.dec, ow.growing) == (
        "to-branch7", "c4e2f9a0", "7a1c0e52", 120, 348, 0, True)
    assert [e.ref for e in ow.evidence] == [22, 53]


def test_gateway_list_74_transport_tcp():
    events, ingest, ctx = load("handmade_gateway_transport_tcp.txt")
    st = ctx.snapshots.get("ipsec_1")
    assert st.transport == "TCP" and snap.transport(ctx, "ipsec_1") == "TCP"
    assert [s.name for s in snap.tcp_tunnels(ctx)] == ["ipsec_1"]
    assert st.phase1 == "established"
    assert st.gateway.facts["local"] == "10.55.3.193:5500" and st.remote == "10.3.2.150:58518"
    assert st.gateway.facts["ike_sa_counts"] == {"created": "1/1", "established": "1/1", "time": "30/30/30"}
    (sa,) = st.ike_sas
    assert (sa["dpd_sent"], sa["dpd_recv"], sa["message_id_sent_recv"]) == (0, 0, "2/3")
    assert [e.ref for e in st.gateway.evidence("transport")] == [11]


def test_npu_offloaded_tunnel_and_next_step():
    events, ingest, ctx = load("handmade_npu_sniffer_oneway.txt")
    assert snap.npu_offloaded(ctx, "to-dc2")
    assert [s.name for s in snap.npu_tunnels(ctx, "203.0.113.80")] == ["to-dc2"]
    assert snap.sniffer_esp_one_way(ctx, "203.0.113.80") == (13, 0)
    (step,) = snap.next_steps(ctx)
    assert "13 out, 0 in" in step and "to-dc2" in step and "npu_flag=03" in step
    assert "dec 5210 / enc 5342 packets" in step
    # Both counters move: not one-way by the device's own count.
    assert snap.esp_one_way(ctx) == []


def test_initiator_stuck_connecting_with_summary():
    events, ingest, ctx = load("handmade_gateway_connecting_initiator.txt")
    st = ctx.snapshots.get("to-hq")
    assert st.phase1 == "connecting" and st.phase1_state == 1
    assert st.ike_sas[0]["direction"] == "initiator"
    assert st.gateway.facts["ike_sa_counts"] == {"created": "1/4"}
    assert st.summary.facts["tx"] == [0, 4]
    assert st.remote == "198.51.100.1:500"
    assert [s.name for s in ctx.snapshots.for_peer("198.51.100.1")] == ["to-hq"]


def parse_lines(lines: list[str]):
    report = InputReport("inline")
    frame = text.parse_lines(lines, report)
    return frame, report


def test_cut_mid_value_and_label_values_on_next_line():
    # Published-copy damage of the kinds FORMATS.md §3 lists, on lines of the 35 article.
    lines = [
        "name=DisabledDPD ver=1 serial=8 192.0.2.1:0->192.0.2.2:0 tun_id=192.0.2.2 dst_",
        "mtu=1500 dpd-link=on weight=1",
        "stat: rxp=12",
        "34 txp=0 rxb=0 txb=0",
        "dpd: mode=off on=0 idle=20000ms retry=3 count=0 seqno=0",
        "natt:",
        "mode=none draft=0 interval=0 remote_port=0",
    ]
    frame, report = parse_lines(lines)
    assert report.accounting["event"] == 4 and report.accounting["continuation"] == 3
    assert report.balanced and not report.accounting.get("unrecognised")
    facts = json.loads(frame["detail"].iloc[0])["facts"]
    assert facts["dst_mtu"] == 1500 and facts["stat"]["rxp"] == 1234
    assert facts["natt"]["mode"] == "none" and facts["dpd"]["mode"] == "off"


def test_prose_after_a_block_is_not_claimed():
    lines = [
        "name=vpn1 ver=1 serial=1 192.0.2.1:0->192.0.2.2:0",
        "stat: rxp=1 txp=2 rxb=3 txb=4",
        "",
        "The tunnel is up but nothing comes back.",
    ]
    frame, report = parse_lines(lines)
    assert report.accounting["unrecognised"] == 1  # honest: a person's sentence, not device output
    assert report.accounting["event"] == 2


def test_no_snapshot_no_cost_to_other_lines():
    lines = ["ike 0: comes 192.0.2.2:500->192.0.2.1:500,ifindex=6...."]
    frame, report = parse_lines(lines)
    assert "snapshot" not in report.formats and (frame["origin"] != "snapshot").all()


def test_real_74_gateway_list_inside_an_ike_debug():
    # A FortiOS 7.4 gateway list typed in the middle of a SAML debug session (the corpus
    # file the ikedebug tests use; see tests/data/ikedebug/SOURCES.md).
    events, ingest = ikeanalyze.load([str(DATA / "ikedebug" / "IKE_LOG_SAML_working_2.txt")])
    ctx = Context(events, ingest)
    rows = events[events["origin"] == "snapshot"]
    assert rows["ref"].min() == 772 and rows["ref"].max() == 807 and len(rows) == 35  # 792 is blank
    st = ctx.snapshots.get("ra-ikev2-saml_0")
    assert st.transport == "UDP" and snap.tcp_tunnels(ctx) == []
    assert st.phase1 == "established" and st.remote == "10.21.4.181:500"
    g = st.gateway.facts
    assert g["eap_user"] == "vito@svishal.onmicrosoft.com" and g["2fa"] == "no"  # `2FA:` is its own line
    (sa,) = st.ike_sas
    assert sa["ispi"] == "d590bed78a09d4b5" and sa["message_id_sent_recv"] == "0/8"
    assert not any(k.startswith("sk_") for k in sa)  # session keys are not carried into events
    assert "11bc18488125a1be" not in " ".join(rows["detail"])
    # The debug around it is still the debug: nothing it owned became a snapshot.
    assert (events.loc[events["ref"] < 772, "origin"] != "snapshot").all()


def test_two_tunnels_56_and_dialup_layouts():
    # FortiOS 5.6 layout (FORMATS.md §3: `src: <net>/<mask>:0`, `seqno=` on the SA line) and a
    # 7.x dial-up instance (`parent=`, `fec:`) in one list, separated by `-----` lines.
    lines = [
        "list all ipsec tunnel in vd 0",
        "------------------------------------------------------",
        "name=hq ver=1 serial=1 192.0.2.1:0->192.0.2.9:0 lgwy=static tun=intf mode=auto bound_if=5",
        "proxyid_num=1 child_num=0 refcnt=11 ilast=0 olast=0",
        "stat: rxp=100 txp=0 rxb=9000 txb=0",
        "dpd: mode=on-demand on=1 idle=5000ms retry=3 count=0 seqno=0",
        "natt: mode=none draft=0 interval=0 remote_port=0",
        "proxyid=hq-p2 proto=0 sa=1 ref=2 serial=1",
        "src: 0:10.1.1.0/255.255.255.0:0",
        "dst: 0:10.2.2.0/255.255.255.0:0",
        "SA: ref=3 options=0000000e type=00 soft=0 mtu=1446 expire=3303/0B replaywin=1024 seqno=d1a80",
        "life: type=01 bytes=0/0 timeout=3548/3600",
        "dec: spi=0a0b0c0d esp=3des key=24 00112233445566778899aabbccddeeff0011223344556677",
        "ah=md5 key=16 00112233445566778899aabbccddeeff",
        "enc: spi=1a1b1c1d esp=3des key=24 77665544332211000011223344556677889900aabbccddee",
        "ah=md5 key=16 ffeeddccbbaa99887766554433221100",
        "dec:pkts/bytes=100/9000, enc:pkts/bytes=0/0",
        "------------------------------------------------------",
        "name=dialup_0 ver=2 serial=e 192.0.2.1:4500->198.51.100.77:64916 tun_id=10.10.1.1",
        "bound_if=5 lgwy=static/1 tun=intf/0 mode=dial_inst/3 encap=none/984 options[03d8]=npu create_dev rgwy-chg",
        "parent=dialup index=0",
        "proxyid_num=1 child_num=0 refcnt=12 ilast=3 olast=3 ad=/0",
        "stat: rxp=1 txp=0 rxb=16402 txb=0",
        "dpd: mode=on-idle on=1 idle=20000ms retry=3 count=0 seqno=0",
        "natt: mode=keepalive draft=32 interval=10 remote_port=64916",
        "fec: egress=0 ingress=0",
    ]
    frame, report = parse_lines(lines)
    assert report.accounting["banner"] == 3 and report.accounting["event"] == len(lines) - 3
    assert not report.accounting.get("unrecognised") and not report.accounting.get("continuation")
    details = [json.loads(d) for d in frame["detail"]]
    hq, dial = (d["facts"] for d in details if "facts" in d)
    assert hq["name"] == "hq" and hq["remote"] == "192.0.2.9:0" and hq["bound_if"] == 5
    (sa,) = hq["proxyids"][0]["sas"]
    assert hq["proxyids"][0]["src"] == ["0:10.1.1.0/255.255.255.0:0"]
    assert (sa["seqno"], sa["mtu"], sa["dec_pkts"], sa["enc_pkts"]) == ("d1a80", 1446, 100, 0)
    assert (sa["dec_ah"], sa["enc_ah"]) == ("md5", "md5")
    assert dial["name"] == "dialup_0" and dial["parent"] == "dialup" and dial["fec"] == {"egress": 0, "ingress": 0}
    assert dial["natt"]["remote_port"] == 64916 and dial["options"] == ["npu", "create_dev", "rgwy-chg"]
    assert dial["proxyids"] == []
    assert frame.loc[frame["ref"] == 19, "dport"].iloc[0] == 64916
    assert list(frame["tunnel"].unique()) == ["hq", "dialup_0"]


def test_redacted_gateway_addresses_are_kept():
    """A gateway list as a forum post published it (reddit r/fortinet, 2023-12-11), the
    addresses redacted: `addr: x.x.x.x:500 -> x.x.x.x:500` still gives both ends and ports."""
    lines = ["vd: root/0", "name: xxxx", "version: 1", "interface: ppp1 75", "addr: x.x.x.x:500 -> x.x.x.x:500",
             "created: 7s ago", "IKE SA: created 2/2", "IPsec SA: created 0/0",
             "id/spi: 207251 a92425779a0aef14/3d6a6f1d25d6e362", "direction: responder",
             "status: connecting, state 3, started 7s ago"]
    events = text.parse_lines(lines, InputReport("t"))
    ctx = Context(events, None, (), ())
    g = ctx.snapshots.get("xxxx").gateway
    assert (g.facts["local"], g.facts["remote"]) == ("x.x.x.x:500", "x.x.x.x:500")
    assert ctx.snapshots.get("xxxx").phase1 == "connecting"


def test_redacted_56_tunnel_header_opens_its_block():
    """The 5.6 tunnel-list header (no ver=/serial=) takes the same addresses as the other
    forms, redacted ones too."""
    lines = ["name=to_FGT1 x.x.x.x:0->y.y.y.y:0 lgwy=dyn tun=tunnel mode=auto bound_if=0",
             "proxyid_num=1 child_num=0 refcnt=5 ilast=0 olast=0", "stat: rxp=0 txp=0 rxb=0 txb=0"]
    events = text.parse_lines(lines, InputReport("t"))
    ctx = Context(events, None, (), ())
    t = ctx.snapshots.get("to_FGT1").tunnel
    assert (t.facts["local"], t.facts["remote"]) == ("x.x.x.x:0", "y.y.y.y:0")


def test_a_tunnel_header_that_lost_its_name_still_opens_its_block():
    """A web copy that lost a header's `name=` (`inet ver=1 serial=2 <gw>-><gw> ...`, or
    the name too) leaves a block read without a tunnel name, not 5 unrecognised lines; a
    `name=` cut onto a line of its own just above gives the name back. Prose quoting
    `ver=1` without the gateways is not a header."""
    block = ["ver=1 serial=2 198.51.100.4:0->203.0.113.40:0 tun_id=203.0.113.40 dst_mtu=1500 dpd-link=on weight=1",
             "bound_if=5 lgwy=static/1 tun=intf mode=auto/1 encap=none/552 frag-rfc run_state=0 role=primary",
             "proxyid_num=1 child_num=0 refcnt=4 ilast=2 olast=2 ad=/0", "stat: rxp=0 txp=310 rxb=0 txb=26040",
             "dpd: mode=on-demand on=1 idle=20000ms retry=3 count=0 seqno=0"]
    for head in ("inet ", ""):
        frame, report = parse_lines(["list all ipsec tunnel in vd 0", head + block[0], *block[1:]])
        assert report.accounting["event"] == 5 and report.accounting["banner"] == 1, head
        assert not report.accounting.get("unrecognised") and report.balanced
        facts = json.loads(frame["detail"].iloc[0])["facts"]
        assert "name" not in facts and facts["remote"] == "203.0.113.40:0" and facts["stat"]["txp"] == 310
        assert frame["tunnel"].isna().all()
    frame, report = parse_lines(["list all ipsec tunnel in vd 0", "name=to-dc4", *block])
    assert report.accounting["event"] == 5 and report.accounting["continuation"] == 1
    assert set(frame["tunnel"]) == {"to-dc4"}
    _, report = parse_lines(["we saw ver=1 serial=2 in the header", "ver=1 serial=2 and nothing else"])
    assert report.accounting["unrecognised"] == 2
