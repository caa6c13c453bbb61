"""Forms of FortiGate text found in public snippets (web, PDF and markdown copies), each with
its real lines from tests/data/text_public (provenance in SOURCES.md there)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ikeanalyze.ingest import InputReport
from ikeanalyze.sources import text
from ikeanalyze.sources.textclean import clean, decode, split_lines

DATA = Path(__file__).resolve().parent.parent / "data" / "text_public"


def _lines(name: str) -> list[str]:
    t, _ = decode((DATA / name).read_bytes())
    return split_lines(clean(t))[0]


def _parse(lines: list[str]):
    report = InputReport("t")
    frame = text.parse_lines(lines, report)
    assert report.balanced
    return frame, report


def test_collapsed_web_copy_is_split_past_an_arrow_note() -> None:
    """A KB page put a whole IKEv2 debug in one table cell, after prose holding an arrow note
    (`<Public IP> <----- Sophos/Arista public IP.`): the note ends at the next record, so the
    records after it are found and split (they used to go with the note: 0 events)."""
    frame, report = _parse(_lines("kb181232_ikev2_authfail_collapsed.txt"))
    assert report.accounting["event"] == 1 and report.accounting["unrecognised"] == 0
    assert list(frame["ref"]) == [1] * 5
    assert list(frame["kind"]) == ["ike-exchange", "ike-other", "ike-hex", "ike-other", "notify"]
    assert frame["exchange"].iloc[0] == "AUTH_RESPONSE" and frame["ispi"].iloc[0] == "554498e2804b4c46"
    assert frame["tunnel"].iloc[4] == "IPSECVPN_Test" and frame["notify"].iloc[4] == "AUTHENTICATION_FAILED"
    assert frame["text"].iloc[3] == "ike 0:IPSECVPN_Test:1535625: initiator received AUTH msg"
    assert not frame["text"].str.contains("Sophos/Arista").any()


def test_arrow_note_still_ends_its_line() -> None:
    """Without a record after it, a note still runs to the end of the line."""
    core = text._core(pa.array(["2.1 port2 out 10.0.0.1.4500 -> 10.0.0.2.4500: udp 1  << Oneway traffic",
                                "ike 0:vpn: set oper up <-- ike 0 is the vdom index, not a record"]))
    assert core.to_pylist() == ["2.1 port2 out 10.0.0.1.4500 -> 10.0.0.2.4500: udp 1", "ike 0:vpn: set oper up"]
    assert pc.utf8_length(core).to_pylist()[0] == 51


def test_sniffer_esp_with_spi_and_sequence() -> None:
    """7.x prints ESP as `ESP(spi=0x2e03e37b,seq=0x2)` (no length): an ESP event with its SPI
    (8 lowercase hex digits, as from a capture) and sequence number, not kind `other`."""
    frame, report = _parse(_lines("handbook_cisco_ikev2_sniffer_esp.txt"))
    assert report.accounting["event"] == 8 and report.accounting["unrecognised"] == 0
    esp = frame[frame["kind"] == "esp"]
    assert list(esp["ref"]) == [6, 7, 10, 11]
    assert list(esp["direction"]) == ["out", "in", "out", "in"]
    assert list(esp["esp_spi"]) == ["2e03e37b", "148a8320", "2e03e37b", "148a8320"]
    assert list(esp["esp_seq"]) == [2, 1, 3, 2]
    assert set(esp["proto"]) == {"esp"} and set(esp["transport"]) == {"esp"} and esp["wire"].all()
    assert list(esp["src"][:2]) == ["202.106.1.1", "101.100.1.1"] and esp["sport"].isna().all()


def test_tunnel_list_56_header_without_ver_and_pdf_breaks() -> None:
    """FortiOS 5.6 prints `name=<p1> <lgw>:<port>-><rgw>:<port> lgwy=...` (no `ver=`/
    `serial=`): a tunnel block all the same. The PDF moved `natt:` to the end of the `dpd:`
    line; the two sections are read apart. The page footer after the block is not a wrap of
    its last line."""
    frame, report = _parse(_lines("fortios563_transparent_tunnel_list_pdf.txt"))
    acc = report.accounting
    assert (acc["event"], acc["continuation"], acc["banner"], acc["prompt"], acc["unrecognised"]) == (12, 1, 2, 1, 3)
    assert (frame["kind"] == "snapshot").all() and (frame["tunnel"] == "to_FGT1").all()
    assert list(frame["ref"]) == [4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16]
    head = frame.iloc[0]
    assert (head["src"], head["sport"], head["dst"], head["dport"]) == ("10.2.2.100", 0, "10.1.1.100", 0)
    facts = json.loads(head["detail"])["facts"]
    assert facts["lgwy"] == "dyn" and facts["local"] == "10.2.2.100:0" and facts["remote"] == "10.1.1.100:0"
    assert facts["dpd"] == {"mode": "active", "on": 1, "idle": "5000ms", "retry": 3, "count": 0, "seqno": "21"}
    assert facts["natt"] == {"mode": "none", "draft": 0, "interval": 0, "remote_port": 0}
    (p2,) = facts["proxyids"]
    assert p2["sa"] == 1 and p2["sas"][0]["dec_spi"] == "c1a8e951" and p2["sas"][0]["enc_spi"] == "322067b4"
    assert list(frame["esp_spi"].dropna()) == ["c1a8e951", "322067b4"]
    assert frame["text"].iloc[-1].endswith("d3c269ae8b61")  # not `...8b61Transparent Mode for FortiOS 5.6.3`


def test_markdown_italics_around_sniffer_lines() -> None:
    """A markdown page put each packet line in italics (`*12.650762 wan1 out ... udp 716*`,
    indented, trailing blanks) and the command in bold after a prompt with no blank
    (`FGT#**diagnose sniffer packet ...**`): the markers go, the packets are read (they
    were 5 unrecognised lines, and IKE903 said there was no IKE content)."""
    frame, report = _parse(_lines("cndoc_sniffer_markdown_italic.txt"))
    acc = report.accounting
    assert (acc["event"], acc["prompt"], acc["blank"], acc["unrecognised"]) == (4, 1, 4, 0)
    assert list(frame["ref"]) == [3, 5, 7, 9]
    assert set(frame["kind"]) == {"ike"} and set(frame["transport"]) == {"udp500"}
    assert list(frame["direction"]) == ["out", "in", "out", "in"]
    assert list(frame["length"]) == [716, 192, 380, 380]
    assert list(frame["src"][:2]) == ["119.100.1.35", "202.106.2.1"] and frame["t"].iloc[3] == 12.665846 - 12.650762
    assert frame["text"].iloc[0].strip() == "*12.650762 wan1 out 119.100.1.35.500 -> 202.106.2.1.500: udp 716*"  # as pasted


def test_markdown_bold_inside_state_lists() -> None:
    """Bold around a gateway list's `key: value` (`**name: EDGE_INET1_1**`,
    `**tun_id: 10.0.0.6**/::10.0.0.8`) and inside tunnel-list tokens (`name=**EDGE_INET1_1**`):
    the lines belong to their blocks, the names carry no `*`, and both lists merge into one
    tunnel (the gateway list was lost and the tunnel named `**EDGE_INET1_1**`)."""
    import ikeanalyze
    from ikeanalyze.analysis import snapshots

    path = str(DATA / "advpn745_markdown_bold_gwlist_dialuplist.txt")
    frame, ingest = ikeanalyze.load([path])
    acc = ingest.inputs[0].accounting
    assert (acc["event"], acc["continuation"], acc["prompt"], acc["banner"]) == (54, 0, 1, 2)
    assert [line for _, line in ingest.inputs[0].examples] == ["../.."]  # a web page's elision: honest
    assert set(frame["tunnel"]) == {"EDGE_INET1_1"}
    gateway, tunnel = (json.loads(d)["facts"] for d in frame["detail"] if "facts" in json.loads(d))
    assert gateway["name"] == "EDGE_INET1_1" and gateway["tun_id"] == "10.0.0.6/::10.0.0.8"
    assert gateway["peer_id"] == "WEST-BR2_INET1" and gateway["ike_sas"][0]["status"] == "established"
    assert tunnel["name"] == "EDGE_INET1_1" and tunnel["tun_id"] == "10.0.0.6"
    (merged,) = snapshots.build(frame).tunnels.values()
    assert merged.name == "EDGE_INET1_1" and merged.phase1 == "established"
    assert merged.gateway is not None and merged.tunnel is not None


def test_prompts_with_no_blank_before_the_hash() -> None:
    """`FGT-BJ# diagnose ...`, `FGT# diagnose ...` and `WEST-DC1 (Interim)# diagnose ...` are
    prompts as `FGT-BJ # ...` is (they were unrecognised); a record glued to one is read."""
    _, report = _parse(_lines("handbook_sniffer_prompt_no_blank.txt"))
    assert (report.accounting["prompt"], report.accounting["event"], report.accounting["unrecognised"]) == (1, 3, 0)
    frame, report = _parse(_lines("azure_apipa_debug_prompt_no_blank.txt"))
    acc = report.accounting
    assert (acc["prompt"], acc["banner"], acc["event"], acc["unrecognised"]) == (2, 1, 2, 0)
    assert list(frame["ref"]) == [4, 5] and (frame["origin"] == "ikedebug").all()
    lines = _lines("advpn745_markdown_bold_gwlist_dialuplist.txt")
    assert lines[35] == "WEST-DC1 (Interim)# diagnose vpn tunnel dialup-list EDGE_INET1"
    _, report = _parse(lines[35:36])
    assert report.accounting["prompt"] == 1


def test_a_hash_inside_wrapped_text_is_not_a_prompt() -> None:
    """Without a blank after the `#`, only a command word makes a prompt: a wrapped URL in a
    samld dump (tests/data/ikedebug/IKE_LOG_SAML_working.txt:86, 321) stays a continuation."""
    lines = _lines("../ikedebug/IKE_LOG_SAML_working.txt")
    for ref in (86, 321, 322):
        core = text._core(pa.array([lines[ref - 1]]))
        assert not pc.match_substring_regex(core, text.PROMPT)[0].as_py(), lines[ref - 1][:40]
    _, report = _parse(_lines("cndoc_sniffer_markdown_italic.txt")[:1])
    assert report.accounting["prompt"] == 1  # `FGT#**diagnose sniffer packet ...**`


def test_debug_flow_trace_lines() -> None:
    """`diagnose debug flow` trace lines are their own form (`flow` events, they were
    unrecognised): the time, `func: msg` as detail, the VDOM, and the tunnel where a line
    names the IPsec interface the packet enters or came from (`tun_id` not 0.0.0.0), and on
    the trace's later lines; the lines that show the packet in IPsec are kind `flow-ipsec`.
    The commands echoed after a bare `#` are prompts; the closing markdown fence is an
    annotation, not a wrap of the last trace line."""
    frame, report = _parse(_lines("handbook_debug_flow_ipsec.txt"))
    acc = report.accounting
    assert (acc["event"], acc["prompt"], acc["blank"], acc["annotation"], acc["unrecognised"],
            acc["continuation"]) == (13, 5, 2, 1, 2, 0)
    assert (frame["origin"] == "flow").all() and list(frame["ref"]) == [*range(8, 16), *range(18, 23)]
    assert list(frame["kind"]) == ["flow"] * 4 + ["flow-ipsec"] * 5 + ["flow"] * 4
    # Trace 1 names its tunnel at `enter IPSec interface` (line 12): its encrypt and send lines
    # carry it, its route and policy lines above do not; trace 2 came from the tunnel (line 18).
    assert list(frame["tunnel"].fillna("-")) == ["-"] * 4 + ["VPN-to-SH"] * 9
    assert frame["detail"].iloc[6] == "esp_output4: IPsec encrypt/auth"
    assert frame["detail"].iloc[12] == "fw_forward_dirty_handler: state=00010200, state2=00000000, npu_state=05040000"
    assert list(frame["vdom"].dropna()) == ["root", "root"]
    assert str(frame["time"].iloc[0]) == "2022-12-30 17:50:12" and frame["src"].isna().all()
    frame, report = _parse(_lines("advpn745_debug_flow_no_stamp.txt"))  # no stamp, no `id=`
    assert report.accounting["event"] == 7 and frame["time"].isna().all()
    assert list(frame["kind"]) == ["flow-ipsec"] + ["flow"] * 5 + ["flow-ipsec"]
    assert list(frame["tunnel"].dropna()) == ["EDGE_INET1"] * 7


def test_debug_flow_tunnel_of_older_builds_and_of_the_drop_line() -> None:
    """FortiOS 4.x-6.0 print `enter IPsec interface-NAME` (a hyphen, no blank): the tunnel is
    NAME (it was empty), and the trace's later `No matching IPsec selector, drop` line
    carries it, so `--tunnel` keeps the drop. A trace_id printed again after another
    `received a packet` is another packet: it does not inherit the first one's tunnel."""
    frame, report = _parse(_lines("qa_fos4_flow_interface_hyphen_no_func.txt"))  # 620B, no `func=`
    assert report.accounting["event"] == 4
    assert list(frame["tunnel"].fillna("-")) == ["-", "-", "XXX_P2P", "XXX_P2P"]
    assert frame["detail"].iloc[3] == "No matching IPsec selector, drop"
    frame, _ = _parse(_lines("kb_sdwan_sla_flow_no_selector_blank_broken.txt"))
    flow = frame[frame["origin"] == "flow"]
    assert list(flow["ref"]) == [15, 17, 19, 21, 25, 27, 29, 31]
    assert list(flow["tunnel"].fillna("-")) == ["-", "-", "HO_port1_2", "HO_port1_2", "-", "-", "HO_port2_3",
                                                "HO_port2_3"]
    lines = _lines("qa_fos4_flow_interface_hyphen_no_func.txt")
    frame, _ = _parse(lines + [lines[1]])  # trace_id=368 again: a new packet
    assert list(frame["tunnel"].fillna("-")) == ["-", "-", "XXX_P2P", "XXX_P2P", "-"]


def test_debug_flow_records_run_onto_one_line_name_their_tunnel() -> None:
    """A forum copy ran a trace's four records onto one line: it is one event, and the
    `enter IPsec interface-L2L` inside it (after the second record's `msg=`) names its tunnel."""
    frame, report = _parse(_lines("forum_snat_l2l_flow_collapsed.txt"))
    assert report.accounting["event"] == 1 and list(frame["ref"]) == [2]
    assert frame["kind"].iloc[0] == "flow-ipsec" and frame["tunnel"].iloc[0] == "L2L"


def test_debug_flow_record_glued_to_the_prompt() -> None:
    """The console prints a trace's first record right after the prompt the trace was started
    from (`FGTAZ-VM01 # id=20085 trace_id=2 func=print_pkt_detail ...`): the record is read,
    as one of the IKE debug after a prompt is (the line was counted `prompt` and the one
    record with the packet's original source and ingress interface was lost)."""
    frame, report = _parse(_lines("forum_ippool_snat_flow_glued_prompt.txt"))
    acc = report.accounting
    assert (acc["event"], acc["prompt"], acc["unrecognised"]) == (7, 2, 0)
    assert list(frame["ref"]) == list(range(3, 10)) and (frame["origin"] == "flow").all()
    assert frame["detail"].iloc[0].startswith("print_pkt_detail: vd-root:0 received a packet(proto=1, "
                                              "10.0.1.6:7390->192.168.110.11:2048) tun_id=0.0.0.0 from port2.")
    assert frame["vdom"].iloc[0] == "root"
    frame, report = _parse(_lines("blog_ecmp_flow_glued_prompt_fence.txt"))  # in a markdown fence
    acc = report.accounting
    assert (acc["event"], acc.get("prompt", 0), acc["annotation"], acc["unrecognised"]) == (8, 0, 2, 1)
    assert list(frame["ref"]) == list(range(3, 11))
    assert list(frame["tunnel"].dropna()) == ["link2"] * 4  # enter, output, encrypt, send


def test_gateway_list_collapsed_onto_its_introduction_with_glued_bold() -> None:
    """A docs page put the first keys of a gateway list on the sentence that introduces it,
    with bold glued to the values before it (`ago**eap-user: ipsec**`): the line is one
    snapshot event per key it holds (it was 29 unrecognised lines, and IKE903 said the
    input held no IPsec evidence)."""
    frame, report = _parse(_lines("docs_ikev2_tcp5500_gwlist_collapsed_bold.txt"))
    assert report.accounting["unrecognised"] == 0
    first = frame[frame["ref"] == 1]
    assert list(first["text"]) == ["vd: root/0", "name: v2_psk-120_0", "version: 2", "interface: port1 3",
                                   "addr: 10.152.35.150:5500 -> 10.152.35.193:54854", "tun_id: 9.5.6.7/::10.0.0.23"]
    assert list(frame[frame["ref"] == 4]["text"]) == ["created: 592s ago", "eap-user: ipsec", "2FA: no"]
    facts = json.loads(frame["detail"].iloc[0])["facts"]
    assert (facts["transport"], facts["local"], facts["remote"]) == ("TCP", "10.152.35.150:5500", "10.152.35.193:54854")
    assert facts["eap_user"] == "ipsec" and facts["ike_sas"][0]["status"] == "established"


def test_gateway_and_tunnel_lists_each_collapsed_onto_one_line() -> None:
    """A docs page collapsed a gateway list and a tunnel list of two blocks onto one line
    each: the device's lines come back (the second tunnel's name glued to `ver=` too)."""
    frame, report = _parse(_lines("docs_dialup_gwlist_tunnel_list_collapsed.txt"))
    assert report.accounting == {**report.accounting, "event": 2, "unrecognised": 1}  # line 2: `- `
    gw = json.loads(frame["detail"].iloc[0])["facts"]
    assert (gw["name"], gw["local"], gw["remote"]) == ("for_client_0", "172.20.120.123:4500", "172.20.120.254:64916")
    assert gw["ike_sas"][0]["dpd_recv"] == 0xA0E
    tunnels = frame[frame["text"].str.startswith("name=")]
    assert list(tunnels["ref"]) == [3, 3] and list(tunnels["tunnel"]) == ["for_client_0", "for_client"]
    first = json.loads(tunnels["detail"].iloc[0])["facts"]
    assert first["natt"]["remote_port"] == 64916 and first["stat"]["rxp"] == 1
    (sa,) = first["proxyids"][0]["sas"]
    assert (sa["dec_spi"], sa["enc_spi"], sa["dec_pkts"], sa["enc_pkts"]) == ("36274d14", "8b154deb", 1, 0)


def test_tunnel_summary_lines_with_the_remote_gateway() -> None:
    """`get vpn ipsec tunnel summary` as 6.x/7.x print it, the remote gateway between the
    name and `selectors(total,up):`; the `# FGT100 (hub)` notes in the fence are annotations.
    Every line was unrecognised and IKE903 said the input held no IPsec evidence."""
    frame, report = _parse(_lines("sdwan_readme_tunnel_summary_with_remote.txt"))
    assert report.accounting == {**report.accounting, "event": 7, "unrecognised": 1}  # line 1: the sentence
    rows = frame[frame["kind"] == "snapshot"]
    assert list(rows["ref"]) == [5, 6, 7, 8, 14, 15, 16]
    assert list(rows["tunnel"]) == ["VPN1_0", "VPN1_1", "VPN2_0", "VPN2_1", "HUB1-VPN1_0", "HUB1-VPN1", "HUB1-VPN2"]
    assert list(rows["dst"]) == ["100.64.15.1", "100.64.13.1", "100.64.16.1", "100.64.14.1",
                                 "100.64.15.1", "100.64.11.1", "100.64.12.1"]
    assert set(rows["dport"]) == {0}
    facts = json.loads(rows["detail"].iloc[-1])["facts"]
    assert facts == {"list": "summary", "name": "HUB1-VPN2", "remote": "100.64.12.1:0", "selectors": [1, 1],
                     "rx": [72112, 0], "tx": [72115, 6181]}


def test_tunnel_summary_collapsed_after_its_command() -> None:
    """A docs page collapsed a whole summary onto one line after the step that runs it
    (`Check the IPsec tunnel summary: # get vpn ipsec tunnel summary 'T2' ...`) and the
    sentence after it (`The backup overlay, T5, is down.`): one event per tunnel."""
    frame, report = _parse(_lines("docs_sdwan_tunnel_summary_collapsed.txt"))
    assert report.accounting == {**report.accounting, "event": 1, "unrecognised": 2}  # `- `, the next step
    rows = frame[frame["kind"] == "snapshot"]
    assert list(rows["ref"]) == [2] * 5
    assert list(rows["tunnel"]) == ["T2", "T3", "T4", "T5", "T1"]
    assert rows["text"].iloc[-1] == "'T1' 172.16.208.2:0 selectors(total,up): 1/1 rx(pkt,err): 0/0 tx(pkt,err): 0/4"
    t5 = json.loads(rows["detail"].iloc[3])["facts"]
    assert (t5["remote"], t5["selectors"], t5["tx"]) == ("172.16.210.2:0", [1, 0], [0, 4])


def test_sentence_under_a_gateway_list_is_not_joined_to_its_last_line() -> None:
    """A forum post typed its question right under the block (`status: connecting, state 3,
    started 7s ago` / `Is the above configuration correct? ...`): the sentence is the
    poster's, not the rest of a value a terminal cut (it was glued onto the status). The
    wrapped VID hex of the debug below still joins its records."""
    frame, report = _parse(_lines("reddit_gwlist_connecting_prose_below.txt"))
    assert report.accounting == {**report.accounting, "unrecognised": 4, "continuation": 5}
    status = frame[(frame["kind"] == "snapshot") & frame["text"].str.startswith("status:")]
    assert list(status["text"]) == ["status: connecting, state 3, started 7s ago"] * 2
    facts = json.loads(frame["detail"].iloc[0])["facts"]
    assert [(sa["ispi"], sa["status_text"]) for sa in facts["ike_sas"]] == [
        ("a92425779a0aef14", "connecting, state 3, started 7s ago"),
        ("b436eb61b2c7a141", "connecting, state 3, started 7s ago")]


def test_ike_config_and_ike_status_blocks_are_not_the_gateway_list() -> None:
    """`diagnose vpn ike status detailed` and `diagnose vpn ike config` open as a gateway
    list does (`vd: root/0` / `name: ...`); their keys say what they are. Their lines are
    read (`status.admin: up`, the `phase2s:` entry were unrecognised) and neither is taken
    for the gateway's state."""
    frame, report = _parse(_lines("forum_aws_ike_status_config_gwlist.txt"))
    assert report.accounting == {**report.accounting, "event": 42, "prompt": 4, "unrecognised": 1}
    heads = frame[frame["detail"].str.contains('"facts"', regex=False).fillna(False)]
    lists = [(int(r), json.loads(d)["facts"]["list"]) for r, d in zip(heads["ref"], heads["detail"])]
    assert lists == [(3, "ike-status"), (10, "ike-config"), (32, "gateway")]
    config = json.loads(heads["detail"].iloc[1])["facts"]
    assert (config["status.operational"], config["mode"]) == ("down", "main")


def test_ike_config_after_the_gateway_list_leaves_phase1_connecting(tmp_path) -> None:
    """Pasted after the gateway list, the `ike config` block took its place as "the latest
    gateway list" and the phase-1 state (`connecting`) was lost."""
    import ikeanalyze

    lines = (DATA / "forum_aws_ike_status_config_gwlist.txt").read_text(encoding="utf-8").splitlines()
    moved = tmp_path / "gwlist-then-config.txt"
    moved.write_text("\n".join(lines[:1] + lines[31:47] + lines[1:31] + lines[47:]) + "\n", encoding="utf-8")
    (st,) = ikeanalyze.analyze([str(moved)]).snapshots
    assert (st["tunnel"], st["phase1"], st["phase1_state"]) == ("VPN_to_AWS_VGW", "connecting", 3)
    assert st["refs"] == [{"source": str(moved), "ref": 2, "output": "gateway"}]


def test_fortios4_log_record_broken_at_every_field() -> None:
    """A 4.x record (`2012-07-20 13:08:51 log_id=... subtype=ipsec ... rem_ip=... error_reason=no
    matching gateway for new request`) that a copy broke into a line per field: one event,
    read with the old names; it was 22 unrecognised lines (IKE903)."""
    frame, report = _parse(_lines("forum_fos4_log_one_field_per_line.txt"))
    assert report.accounting == {**report.accounting, "event": 1, "continuation": 19, "unrecognised": 2}
    (row,) = frame.itertuples()
    assert (row.ref, row.origin, row.kind) == (2, "eventlog", "vpn-error")
    assert (row.src, row.sport, row.dst, row.dport, row.vdom) == ("xxx", 500, "xxx", 1049, "root")
    assert row.detail == "negotiate negotiate_error: no matching gateway for new request"
    assert str(row.time) == "2012-07-20 13:08:51"
    assert row.text.startswith("2012-07-20 13:08:51 log_id=0101037124  type=event subtype=ipsec pri=error")
    assert row.text.endswith("error_reason=no matching gateway for new request peer_notif=INITIAL-CONTACT")


def test_tunnel_details_block() -> None:
    """`get vpn ipsec tunnel details` (a bare `gateway` line, indented `key: value` lines, a
    `selectors` section): one snapshot event per line (16 lines were unrecognised), its
    `name: '...'` lines not taken for a gateway list."""
    frame, report = _parse(_lines("notes_p81_tunnel_list_no_sa_tunnel_details.txt"))
    assert report.accounting == {**report.accounting, "event": 26, "unrecognised": 5}  # the notes
    rows = frame[frame["ref"] >= 27]
    assert list(rows["ref"]) == list(range(27, 43)) and set(rows["tunnel"]) == {"Perimeter81"}
    facts = json.loads(rows["detail"].iloc[0])["facts"]
    assert facts == {"list": "details", "name": "Perimeter81", "type": "route-based", "local": "172.31.29.79:0",
                     "remote": "131.226.32.161:0", "mode": "ike-v2", "interface": "'port1' (3)",
                     "rx": {"packets": 0, "bytes": 0, "errors": 0}, "tx": {"packets": 0, "bytes": 0, "errors": 1},
                     "dpd": {"mode": "on-idle", "negotiated": False},
                     "selectors": [{"name": "Perimeter81", "sas": [], "src": "0:0.0.0.0/0.0.0.0:0",
                                    "dst": "0:0.0.0.0/0.0.0.0:0"}]}
    remote = rows[rows["text"].str.contains("remote-gateway")]
    assert (remote["dst"].iloc[0], remote["dport"].iloc[0]) == ("131.226.32.161", 0)


def test_tunnel_details_sas_with_their_spis() -> None:
    """`get vpn ipsec tunnel name X` prints a `tunnel details` block: each `SA` paragraph is
    one SA whose `inbound`/`outbound` SPIs are the tunnel list's `dec`/`enc` SPIs (they were
    only counted), on the rows that print them as `esp_spi`; the session keys under them
    (`enc:  aes-gc  fe03...`) are never carried into the facts."""
    frame, report = _parse(_lines("blog_get_vpn_ipsec_tunnel_name_two_sas.txt"))
    rows = frame[frame["kind"] == "snapshot"]
    first = rows["detail"].iloc[0]
    facts = json.loads(first)["facts"]
    (sel,) = facts["selectors"]
    assert [(sa["dec_spi"], sa["enc_spi"]) for sa in sel["sas"]] == [("83391146", "09387f45"),
                                                                   ("83391147", "03b2b08e")]
    assert sel["sas"][1]["lifetime_rekey"] == "3600/2844" and sel["sas"][1]["npu_acceleration"] == "none"
    assert facts["dpd"] == {"mode": "on-demand", "negotiated": True, "idle": "20000ms", "retry": 3, "count": 0}
    assert "fe03aea03aa08dee" not in first and "enc" not in sel["sas"][0]
    spis = rows[rows["esp_spi"].notna()]
    assert list(zip(spis["ref"], spis["esp_spi"])) == [(28, "83391146"), (32, "09387f45"), (43, "83391147"),
                                                       (47, "03b2b08e")]


def test_prompts_of_two_ha_members_name_the_device_of_the_lines_below() -> None:
    """Summaries of one tunnel from two HA members, each under its prompt: the prompt aligned
    with blanks before the `#` (`FGT-3 (Primary)   # get ...`, line 21) is a prompt (it was
    unrecognised), and each line carries the hostname of the prompt above it."""
    frame, report = _parse(_lines("lab76_ha_members_tunnel_summaries.txt"))
    assert (report.accounting["prompt"], report.accounting["event"]) == (3, 3)
    assert 21 not in [ref for ref, _ in report.examples]
    assert list(zip(frame["ref"], frame["device"])) == [(14, "FGT-2"), (22, "FGT-3"), (24, "FGT-2")]
    # Lines above any prompt that names a device have none.
    frame, _ = _parse(_lines("rulab_tunnel_details_tx_errors.txt"))
    assert frame["device"].isna().all()


def test_tunnel_list_header_glued_to_its_introducing_sentence_is_a_banner() -> None:
    """A docs page's web copy glued each `list all ipsec tunnel in vd 0` onto the step's
    sentence (`... should return the following:list all ipsec tunnel in vd 0`) just above
    the list's `----`: a banner line (it was unrecognised); the blocks below read as before."""
    frame, report = _parse(_lines("docs70_advpn_tunnel_list_header_glued_to_sentence.txt"))
    assert not {4, 39} & {ref for ref, _ in report.examples}
    assert (report.accounting["banner"], report.accounting["unrecognised"]) == (8, 10)
    heads = frame[frame["detail"].str.contains('"facts"')]
    assert list(zip(heads["ref"], heads["tunnel"])) == [(6, "spoke1"), (25, "spoke1_backup"), (42, "spoke1"),
                                                        (61, "spoke1_backup"), (71, "spoke1_0")]


def test_tunnel_summary_pasted_as_comments() -> None:
    """A summary kept in a script as comments, a `#` before each line: its lines are the
    tunnels' summaries (all 14 lines were unrecognised, and the input said to hold no IPsec
    evidence); the script's next line is not joined to the last one."""
    frame, report = _parse(_lines("tcl_comment_tunnel_summary_hash_prefixed.txt"))
    assert (report.accounting["event"], report.accounting["unrecognised"]) == (2, 12)
    facts = [json.loads(d)["facts"] for d in frame["detail"]]
    assert [(f["name"], f["remote"], f["selectors"], f["tx"]) for f in facts] == [
        ("mesh2-1", "100.100.104.2:0", [1, 1], [1672, 0]), ("mesh1-1", "100.100.103.2:0", [1, 0], [0, 5])]


def test_command_printed_without_its_prompt_is_an_echoed_command() -> None:
    """A KB article prints the command bare, abbreviated as typed (`dia vpn tunnel list`), above
    a 7.x tunnel list whose header lines a web copy cut mid-word (`dst_` / `mtu=1500`): the
    command is counted as a prompt, not as an unrecognised line (it was: IKE901 named it),
    and the block is read whole."""
    frame, report = _parse(_lines("kb357095_tunnel_list_bare_dia_command.txt"))
    acc = report.accounting
    assert (acc["event"], acc["prompt"], acc["banner"], acc["continuation"], acc["unrecognised"]) == (10, 1, 2, 2, 0)
    assert (frame["kind"] == "snapshot").all() and (frame["tunnel"] == "S2S").all()
    facts = json.loads(frame["detail"].iloc[0])["facts"]
    assert facts["dst_mtu"] == 1500 and facts["accept_traffic"] == 1 and facts["options"] == ["npu", "frag-rfc"]


def test_fortios4_alert_mail_records_collapsed_into_prose() -> None:
    """A forum post ran two 4.x alert-mail records into its paragraph (`... from the fortigate
    unit:    Message meets Alert condition  date=2010-10-11 time=12:47:27 ... log_id=...`): both
    are events of that line, the prose before them is not; the blank the forum put inside
    each quoted value is not part of it, and a value replaced by a description in
    parentheses is read whole. The line was unrecognised (IKE903)."""
    frame, report = _parse(_lines("forum_fos4_alert_mail_logs_in_prose.txt"))
    assert dict(report.accounting) == {"event": 1}
    assert list(frame["ref"]) == [1, 1] and set(frame["origin"]) == {"eventlog"}
    assert list(frame["kind"]) == ["vpn-error", "vpn-error"]
    assert list(frame["detail"]) == ["negotiate failure",
                                     "negotiate negotiate_error: peer SA proposal not match local policy"]
    assert set(frame["tunnel"]) == {"IPSec-VPN"} and set(frame["vdom"]) == {"root"}
    assert set(frame["dst"]) == {"(client' s public ip)"} and set(frame["dport"]) == {885}
    assert set(frame["ispi"]) == {"23585904a0094a6a"} and set(frame["rspi"]) == {"0000000000000000"}
    assert [str(t) for t in frame["time"]] == ["2010-10-11 12:47:27"] * 2
    assert frame["text"].iloc[0].startswith("date=2010-10-11 time=12:47:27 devname=(devname) device_id=(device_id)")
    assert frame["text"].iloc[1].startswith("date=2010-10-11 time=12:47:27 devname=(devname) device_id=F(device_id)")


def test_get_vpn_ike_gateway_counters_with_colons() -> None:
    """`get vpn ike gateway <name>` prints the gateway list's block with its counters as
    `IKE SA  created: 2/2  established: 2/2  time: ...`: read as the `IKE SA: created 2/2 ...`
    counters are (they were a key `ike_sa__created` holding the rest of the line)."""
    frame, report = _parse(_lines("blog_get_vpn_ike_gateway_counts_colons.txt"))
    acc = report.accounting
    assert (acc["event"], acc["prompt"], acc["annotation"], acc["unrecognised"]) == (28, 1, 2, 0)
    facts = json.loads(frame["detail"].iloc[0])["facts"]
    assert facts["ike_sa_counts"] == {"created": "2/2", "established": "2/2", "time": "300/10955/21610"}
    assert facts["ipsec_sa_counts"] == {"created": "2/2", "established": "2/2", "time": "0/10805/21610"}
    assert "ike_sa__created" not in facts and [sa["status"] for sa in facts["ike_sas"]] == ["established"] * 2


def test_gre_over_ipsec_tunnel_list_encap_addr_line() -> None:
    """A GRE-over-IPsec tunnel prints `encap-addr: <local>-><remote>` in its block: a line of
    the block, and the block goes on after it (it ended there: the 27 lines from it on were
    unrecognised and the tunnel had no phase 2)."""
    frame, report = _parse(_lines("handbook_gre_over_ipsec_tunnel_list_encap_addr.txt"))
    acc = report.accounting
    assert (acc["event"], acc["unrecognised"], acc["blank"]) == (29, 0, 1)
    assert (frame["kind"] == "snapshot").all() and (frame["tunnel"] == "VPN-to-SH").all()
    assert frame["text"].iloc[2] == "encap-addr: 100.1.1.2->200.1.1.2"
    facts = json.loads(frame["detail"].iloc[0])["facts"]
    assert facts["encap"] == "GRE/549"
    (p2,) = facts["proxyids"]
    assert (p2["proto"], p2["sa"], len(p2["sas"])) == (47, 2, 2)
    assert p2["src"] == ["47:0.0.0.0-255.255.255.255:0"]


def test_esp_both_ways_opens_the_timeline_with_addresses_without_ports() -> None:
    """ESP has no ports: the timeline's first line said `between nan and nan` (a port-less
    end formatted as address:port)."""
    import ikeanalyze

    d = ikeanalyze.analyze([str(DATA / "handbook_cisco_ikev1_sniffer_esp_md_indented.txt")])
    texts = [m.text for m in d.timeline]
    assert "traffic both ways on ESP between 101.100.1.1 and 202.106.1.1 (5 in, 5 out in total)" in texts
    assert not any("nan" in t for t in texts)


def test_sniffer_lines_with_the_addresses_taken_out() -> None:
    """KB articles remove the addresses of their sniffer lines (`port3 out ->
    ESP(spi=0x5e1f0a27,seq=0x1a)`): each is an ESP event with its time, interface,
    direction, SPI and sequence number, and no addresses (they were unrecognised: the
    report said the input held no IPsec evidence)."""
    frame, report = _parse(_lines("handwritten_np_esp_out_only_redacted.txt"))
    acc = report.accounting
    assert (acc["event"], acc["prompt"], acc["unrecognised"]) == (9, 1, 2)
    assert list(frame["ref"]) == list(range(9, 18))
    assert set(frame["kind"]) == {"esp"} and set(frame["transport"]) == {"esp"} and set(frame["proto"]) == {"esp"}
    assert set(frame["iface"]) == {"port3"} and set(frame["direction"]) == {"out"}
    assert set(frame["esp_spi"]) == {"5e1f0a27"} and list(frame["esp_seq"]) == list(range(0x1A, 0x23))
    assert frame["src"].isna().all() and frame["dst"].isna().all() and frame["sport"].isna().all()
    assert str(frame["time"].iloc[0]) == "2024-04-18 09:12:05.120400" and frame["t"].iloc[-1] == 4.0813


def test_prose_with_less_margin_than_a_packet_line_is_not_its_wrap() -> None:
    """Docs pages indent their sniffer runs 4 blanks, under `  • ` bullets and before the
    next step's sentence at the margin. The packet lines are long enough to have been
    wrapped, but the lines after them are outside the indented block: unrecognised, and
    the packets' summaries end where the device ended them (`echo reply`, not `echo reply
    • On the branch FortiGate, ...`)."""
    frame, report = _parse(_lines("handwritten_sniffer_indented_bullets.txt"))
    acc = report.accounting
    assert acc.get("continuation", 0) == 0 and (acc["event"], acc["unrecognised"]) == (8, 5)
    assert list(frame["ref"]) == [10, 11, 12, 13, 20, 21, 22, 23]
    request, reply = "echo request", "echo reply"
    assert list(frame["detail"]) == [request, request, reply, reply, request, reply, request, reply]
    assert [r for r, _ in report.examples] == [1, 3, 4, 14, 24]


def test_sniffing_mode_banner_with_a_period() -> None:
    """The hub printed its banner `Using Original Sniffing Mode.` with a period: a banner
    line, as without one."""
    frame, report = _parse(_lines("kb_vxlan_hub_sniffer_banner_period.txt"))
    acc = report.accounting
    assert (acc["event"], acc["prompt"], acc["banner"], acc.get("unrecognised", 0)) == (8, 1, 3, 0)
    assert list(frame["iface"][:2]) == ["Vxlan1", "Vxlan2"]


def test_elided_context_number_is_a_record_and_prose_starting_with_ike_is_not() -> None:
    """An author quoting a debug line elided its VDOM index (`ike ...:to-fgt1: ignoring
    request to establish IPsec SA, no policy configured`): an IKE event of gateway to-fgt1
    with no VDOM (it was unrecognised, and IKE209 missed the refusal). A wrapped prose line
    that starts with the word `ike` and quotes markdown code (`ike gateway clear` brings it
    back ...`) is not a record (it was an `ike-other` event)."""
    frame, report = _parse(_lines("lab76_elided_vdom_no_policy_prose_ike_word.txt"))
    refused = frame[frame["ref"] == 6]
    assert list(refused["kind"]) == ["negotiation-failed"]
    assert refused["tunnel"].iloc[0] == "to-fgt1"
    assert refused["vdom"].isna().all() and refused["serial"].isna().all()
    assert refused["detail"].iloc[0] == "ignoring request to establish IPsec SA, no policy configured"
    assert 53 not in set(frame["ref"])
    assert list(frame[frame["origin"] == "ikedebug"]["ref"]) == [6, 43, 44, 45, 48]


def test_dump_whose_bytes_follow_a_blank_line_is_decoded() -> None:
    """A web copy broke `ike 0:IPSECVPN_Zscaler:1094499: out ` from its bytes and put a
    blank line between: the hex is the dump's (a continuation; the blank stays blank), so
    the `out` dump decodes (IKEv2 AUTH, message 1) and the `enc` above it is read under
    its header. They were an `ike-other` event and an unrecognised line."""
    frame, report = _parse(_lines("kb271355_zscaler_out_dump_after_blank.txt"))
    assert report.accounting["continuation"] == 1 and report.accounting["blank"] == 4
    assert report.accounting["unrecognised"] == 2  # the sentence before, the `ikee` line
    assert 13 not in set(frame["ref"])
    out = frame[frame["ref"] == 11].iloc[0]
    assert out["kind"] == "ike-hex" and out["detail"] == "out"
    assert (out["exchange"], out["msg_id"], out["ispi"], out["rspi"]) == ("AUTH", 1, "65d3ae182a9bf8e4", "53cd353c74a2861e")
    enc = frame[frame["ref"] == 8].iloc[0]
    assert enc["payloads"] == "IDi N AUTH N SA TSi TSr"


def test_debug_flow_message_a_web_copy_put_below_its_record() -> None:
    """A KB's web copy broke a trace record after `msg=` and put its quoted message after a
    blank line, in bold (`... line=804 msg=` / blank / `**"No matching IPsec selector,
    drop"**<-----`): the message joins its record (it was an unrecognised line, and the
    record's message was empty), the blank stays a blank line."""
    frame, report = _parse(_lines("kb_sdwan_sla_flow_no_selector_blank_broken.txt"))
    acc = report.accounting
    assert (acc["continuation"], acc["unrecognised"], acc["blank"]) == (1, 0, 15)
    drop = frame[frame["ref"] == 21].iloc[0]
    assert "No matching IPsec selector, drop" in drop["detail"] and drop["tunnel"] == "HO_port1_2"
    assert drop["text"].endswith('msg=**"No matching IPsec selector, drop"**<-----')


def test_sub_table_of_a_named_object_stays_in_its_block() -> None:
    """`show router bgp` prints `config redistribute "connected"`: a sub-table whose object's
    name follows its path, quoted. It is a statement of the block (its rows too), not the
    line that ends it: the 4 lines from it to the block's `end` were unrecognised."""
    frame, report = _parse(_lines("blog_bgp_redistribute_quoted_subtable.txt"))
    assert report.accounting["unrecognised"] == 0  # the fence with its title is markup (annotation)
    assert report.accounting["event"] == 37
    d = [json.loads(x) for x in frame["detail"]]
    sub = frame.index[frame["ref"] == 39][0]
    assert d[sub] == {"path": 'router bgp/redistribute "connected"', "key": "status", "value": "enable"}
    assert d[-1] == {"path": "router bgp"}


def test_commented_out_statements_do_not_end_the_block() -> None:
    """A markdown copy of a policy block with two statements commented out in each entry
    (`#       set tcp-mss-sender 1350`): they are annotations between statements, and the
    block goes on to its `end` (the 15 lines after the first were unrecognised)."""
    frame, report = _parse(_lines("md_ko_policy_commented_out_statements.txt"))
    acc = report.accounting
    assert acc["event"] == 24 and acc["annotation"] == 5  # 4 commented out, the fence
    assert acc["unrecognised"] == 8 and report.examples[0] == (1, "## 4. Firewall Policy 설정")  # and <table> tags
    d = [json.loads(x) for x in frame["detail"]]
    assert frame["ref"].iloc[-1] == 39 and d[-1] == {"path": "firewall policy"}
    assert d[-3] == {"path": "firewall policy", "entry": "0", "key": "logtraffic", "value": "all"}


def test_capitalised_end_closes_the_block() -> None:
    """A Reddit comment's `show vpn ipsec phase1-interface`/`phase2-interface` of both peers,
    indentation lost and each block closed by `End` (capitalised, no `next`): the `End` is the
    block's end (it was unrecognised), and each phase 2 finds its phase 1."""
    frame, report = _parse(_lines("reddit_show_phases_flat_capital_end.txt"))
    acc = report.accounting
    assert acc["event"] == 44 and acc["unrecognised"] == 2 and acc["prompt"] == 4  # `Source Config` and the other
    d = [json.loads(x) for x in frame["detail"]]
    ends = [k for k, t in enumerate(frame["text"]) if t == "End"]
    assert [int(frame["ref"].iloc[k]) for k in ends] == [16, 25, 41, 50]
    assert all("key" not in d[k] for k in ends)  # a statement of no setting: the block's end
    p2 = frame[[x.get("key") == "keylifeseconds" for x in d]]
    assert list(p2["tunnel"]) == ["ToDestination", "ToSource"]


def test_show_whose_first_rows_the_author_cut_is_a_block() -> None:
    """A blog's `show router static` / `show firewall address` with the entries above the
    ones it discusses cut (`[...]` right under the `config` line, indented or not): the
    `config` line still opens a block (all 21 statements were unrecognised)."""
    frame, report = _parse(_lines("blog_it_show_elided_first_rows.txt"))
    acc = report.accounting
    assert acc["event"] == 21 and acc["unrecognised"] == 3  # the policies' heading and prose
    assert acc["annotation"] == 6  # 4 fences, 2 elisions
    d = [json.loads(x) for x in frame["detail"]]
    assert d[0] == {"path": "router static"} and d[1] == {"path": "router static", "entry": "2"}
    assert frame["ref"].iloc[11] == 24 and d[11] == {"path": "firewall address"}


def test_statements_typed_under_a_config_typed_at_the_prompt() -> None:
    """A GitHub issue's fix: `# config vpn ipsec phase1-interface` typed at a bare prompt, the
    statements typed after it shown without a prompt (`edit 1`, `set localid-type address`,
    `end`). They are typed, as the prompt line is (`prompt`), not a configuration the device
    printed (no `config` event) and no longer unrecognised."""
    frame, report = _parse(_lines("issue_typed_config_bare_statements.txt"))
    acc = report.accounting
    assert acc["prompt"] == 5 and acc["unrecognised"] == 2 and len(frame) == 0  # the 2 sentences above


def test_tunnel_list_header_with_no_block_under_it_is_the_lists_banner() -> None:
    """A Japanese blog's copy ends right after the second `diagnose vpn tunnel list` and its
    `list all ipsec tunnel in vd 0` (line 21): the header is FortiOS's even with no block
    under it (as an empty list prints it), not a line of no form. The down tunnel's `stat:`
    line carries the author's `//` note (`//切断状態なので...`): its counters are still read."""
    frame, report = _parse(_lines("blog_ja_tunnel_list_slash_comment_azure_down.txt"))
    acc = report.accounting
    assert (acc["banner"], acc["unrecognised"], acc["event"]) == (3, 3, 9)  # the 3 sentences only
    assert [r for r, _ in report.examples] == [1, 3, 18]
    head = json.loads(frame["detail"].iloc[0])["facts"]
    assert (head["name"], head["remote"], head["stat"]) == ("Azure", "aa.aa.aa.aa:0",
                                                            {"rxb": 0, "rxp": 0, "txb": 0, "txp": 0})
    assert head["proxyids"][0]["sa"] == 0


def test_mkdocs_title_fences_around_sniffer_runs_and_an_elided_flow_trace() -> None:
    """An SD-WAN lab (mkdocs, 4-blank list indent): a `debug flow` trace cut with `...`, then
    two sniffer runs each in a fence whose opening carries the command as its title
    (``` title="diagnose sniffer packet any 'host 10.0.2.101' 4"```): the fences are markup
    (they were lines of no form), the runs' packets and the trace's records all read."""
    frame, report = _parse(_lines("lab_sdwan_sniffer_title_fence_flow_elided.txt"))
    acc = report.accounting
    assert (acc["event"], acc["other-traffic"], acc["annotation"]) == (11, 13, 10)
    assert acc["unrecognised"] == 14  # the lab's own sentences and admonitions
    assert not any("```" in t for _, t in report.examples)
    assert [r.filter for r in report.capture_runs] == ["host 10.0.2.101", "host 10.0.2.101"]
    flow = frame[frame["origin"] == "flow"]
    assert flow["tunnel"].dropna().unique().tolist() == ["HUB1-VPN1_0"]
