"""The line classifier: one test per LINE_FORMS row with a real line, and the continuation
rules (terminal-width wraps, hex dumps, dump blocks, open quotes) on real text.

Lines are copied from tests/data (file:line given); the sniffer lines come from the
sniftran samples (tests/data/sniffer/SOURCES.md), the debug lines from the IKE debug corpus,
the tcpdump line from tests/data/tcpdump_text (its SOURCES.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ikeanalyze.ingest import InputReport
from ikeanalyze.sources import text
from ikeanalyze.sources.textclean import clean, decode, split_lines

DATA = Path(__file__).resolve().parent.parent / "data"

# (LINE_FORMS row, form, source, line)
FORMS = [
    (0, "blank", "sniffer/31_sniffer_v5_any_relative.txt:31", ""),
    (1, "tcpdump", "tcpdump_text/forticlient-udp-stall.txt:12",
     "23:34:52.765482 IP 10.55.3.193.4500 > 10.3.2.150.59641: isakmp-nat-keep-alive"),
    (2, "sniffer", "sniffer/32_sniffer_v1_relative_noiface.txt", "0.402124 arp who-has 10.108.17.33 tell 10.108.16.133"),
    (3, "hexdump", "sniffer/31_sniffer_v5_any_relative.txt:34",
     "0x0000\t 0001 0800 0604 0001 000c 29cb 0575 0a6c\t..........)..u.l"),
    (4, "ikedebug", "ikedebug/IKE_LOG_PFS_mismatch.txt:45", "ike 0:to-FG2:267:eveS2S:85: no proposal chosen"),
    (5, "authd", "ikedebug/IKE_LOG_V1_ldap_non_working_pswd_1.txt:232",
     "2025-01-15 08:51:23 [900] __ldap_next_state-No DN is found."),
    (6, "flow", "text_public/handbook_debug_flow_ipsec.txt:12",
     "2022-12-30 17:50:12 id=20085 trace_id=1 func=ipsecdev_hard_start_xmit line=669 "
     'msg="enter IPSec interface VPN-to-SH, tun_id=0.0.0.0"'),
    (7, "eventlog", "eventlog/tunnel-down-faz.log:2", (DATA / "eventlog/tunnel-down-faz.log").read_text().splitlines()[1]),
    (8, "banner", "sniffer/31_sniffer_v5_any_relative.txt", "22 packets received by filter"),
    (9, "banner", "sniffer/30_sniffer_v6_abs_terminal_noise.txt:4", "current vf=root:0"),
    (9, "banner", "ikedebug/IKE_LOG_retrans.txt:1", "Connected"),  # the GUI's CLI console
    # `get system status` beside a debug (hand-written fixture)
    (10, "banner", "rules/fixtures/IKE901/quiet-debug-beside-system-status/input.txt:26",
     "Version: FortiGate-60F v7.4.4,build2662,240514 (GA.F)"),
    # `get router info routing-table all`: a route into a tunnel (hand-written fixture)
    (11, "banner", "rules/fixtures/IKE901/quiet-tunnel-list-beside-routing-table/input.txt:12",
     "S       10.10.0.0/16 [10/0] via to-dc1 tunnel 203.0.113.45, [1/0]"),
    (12, "banner", "sniffer/31_sniffer_v5_any_relative.txt:6", "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @"),
    # the tunnel list's header with no block under it (the page's copy ends there)
    (13, "banner", "text_public/blog_ja_tunnel_list_slash_comment_azure_down.txt:21", "list all ipsec tunnel in vd 0"),
    (14, "prompt", "sniffer/31_sniffer_v5_any_relative.txt", 'FG600C3913802320 (root) # diag snif pack any "port not 22" 5'),
    (15, "prompt", "sniffer/31_sniffer_v5_any_relative.txt:3", "(reverse-i-searchh"),
    (16, "prompt", "terminal_logs/lists.putty-paged.txt:24", "--More-- "),
    (17, "prompt", "sniffer/31_sniffer_v5_any_relative.txt", "oho@chaos:~/miniprojects/sniftran$ exit"),
    (18, "prompt", "ikedebug/IKE_LOG_V2_PSK.txt:100", " de di"),
    (19, "prompt", "text_public/kb357095_tunnel_list_bare_dia_command.txt:1", "dia vpn tunnel list"),
    # No input has an arrow note on a line of its own; this is the seed paste's trailing
    # note of line 23 (`... udp 1  << Oneway traffic`) as a line by itself.
    (20, "annotation", "seed/forticlient-udp-fallback-tcp.paste.txt:23 (its note)", "<< Oneway traffic"),
    # an elision line a person put in place of the lines they left out (hand-written fixture)
    (21, "annotation", "rules/fixtures/IKE108/fires-tunnel-list-elided-lines/input.txt:17", "  [...]"),
    (22, "annotation", "ikedebug/saml_config_issues.txt:26", "# Case scenario #3 - Error: Failed to verify signature"),
    (23, "annotation", "text_public/handbook_debug_flow_ipsec.txt:23", "   ```"),
    # a closing fence longer than its opening ``` (markdown allows it)
    (23, "annotation", "text_public/blog_tunnel_summary_fence_closed_four_backticks.txt:7", "````"),
    # a site generator's fence with attributes: mkdocs' title, here the command it shows
    (23, "annotation", "text_public/lab_sdwan_sniffer_title_fence_flow_elided.txt:34",
     '    ``` title="diagnose sniffer packet any \'host 10.0.2.101\' 4"'),
    (23, "annotation", "text_public/blog_bgp_redistribute_quoted_subtable.txt:1",
     '```console title="Customer-FW BGP configuration"'),
]


def classify(lines: list[str]) -> np.ndarray:
    cap = {}
    orig = text._continuations

    def spy(form, core, raw, *rest):
        out = orig(form, core, raw, *rest)
        cap["form"] = form.copy()
        return out

    text._continuations = spy
    try:
        text.parse_lines(lines, InputReport("t"))
    finally:
        text._continuations = orig
    return cap["form"]


def test_every_row_is_tested() -> None:
    assert {r for r, *_ in FORMS} == set(range(len(text.LINE_FORMS)))


@pytest.mark.parametrize(("row", "form", "where", "line"), FORMS, ids=[f"row{r[0]}-{r[1]}" for r in FORMS])
def test_line_form(row: int, form: str, where: str, line: str) -> None:
    assert text.LINE_FORMS[row][0] == form
    got = classify([line])
    assert got[0] == form
    # The row under test is the first that names it.
    import re
    core = re.sub(text.ANNOTATION, "", line).rstrip().lstrip(" \t")
    first = next(i for i, (_, p) in enumerate(text.LINE_FORMS) if re.search(p, core))
    assert first == row


def _lines(name: str) -> list[str]:
    t, _ = decode((DATA / name).read_bytes())
    return split_lines(clean(t))[0]


def test_terminal_width_decides_what_is_a_wrap() -> None:
    lines = _lines("ikedebug/IKE_Log_cert_auth.txt")
    form = classify(lines)
    assert form[647] == "continuation"  # `80, vrf=0, id=...` after a 138-wide `len=9`
    assert form[653] == "banner"  # `OSPFv3 debugging status:` after a 113-wide record: not a wrap
    assert len(lines[646]) == 138 and len(lines[652]) != 138


def test_samld_dump_block_and_fct_data() -> None:
    form = classify(_lines("ikedebug/IKE_LOG_SAML_bug_1.txt"))
    assert form[97] == "authd"  # `__samld_sp_create_auth_req [453]:`
    assert (form[98:109] == "continuation").all()  # `**** AuthnRequest URL ****` ... `*****`
    form = classify(_lines("ikedebug/IKE_LOG_pwd_psk_mismatch.txt"))
    assert form[103] == "ikedebug" and (form[104:113] == "continuation").all()  # data = 'VER=1 ... '


def test_hex_after_a_blank_line_is_not_a_continuation() -> None:
    form = classify(_lines("ikedebug/IKE_Log_combined_all.txt"))
    assert form[1445] == "blank" and form[1447] is None  # honest: orphan hex


def test_glued_records_and_typed_keys() -> None:
    form = classify(["FortiWiFi-61E # ike V=root:0: comes 10.21.4.181:500->10.128.202.142:500,ifindex=6,vrf=0,len=65....",
                     " de2025-01-20 14:31:38 [730] __rad_conn_timeout-Connction with labDC-radius:10.21.1.101 timed out."])
    assert list(form) == ["ikedebug", "authd"]


def test_keys_echoed_between_typed_commands() -> None:
    form = classify(["FortiWiFi-61E # config sys glo", "s", "FortiWiFi-61E (global) # sh", "", "FGT # get", "ok",
                     "the tunnel"])
    assert list(form) == ["prompt", "prompt", "prompt", "blank", "prompt", None, None]  # (not above a prompt)
    # A command's short output at the end of the paste, or above a blank line, is not typed.
    assert list(classify(["FGT # get system status", "up"])) == ["prompt", None]
    assert list(classify(["FGT # diag sys top | grep -c ike", "12", "", "FGT #"])) == ["prompt", None, "blank", "prompt"]


def test_the_cli_refusing_a_command_is_a_banner_not_unrecognised() -> None:
    form = classify(["FGT # diagnose vpn ike gateway list name", "Required arguments missing.",
                     "Command fail. Return code -61", "FGT # set remote-gw 198.51.100.300",
                     "value parse error before '198.51.100.300'", "Command fail. Return code -61",
                     "Required arguments missing, said the note"])
    assert list(form) == ["prompt", "banner", "banner", "prompt", "banner", "banner", None]


def test_the_ssh_client_s_own_messages_are_banner_lines() -> None:
    """A session log that starts with OpenSSH's host-key warning and ends with its goodbye:
    terminal noise, not unrecognised input (the two sniftran samples open so)."""
    form = classify([
        "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
        "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
        "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
        "The fingerprint for the ED25519 key sent by the remote host is",
        "SHA256:3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.",
        "Offending ED25519 key in /home/ops/.ssh/known_hosts:7",
        "Host key verification failed.",
        "Warning: Permanently added '192.0.2.1' (ED25519) to the list of known hosts.",
        "Connection to 192.0.2.1 closed.",
        "The tunnel was fine, someone said.",
    ])
    assert list(form) == ["banner"] * 9 + [None]


def test_collapsed_debug_records_are_split_on_their_line():
    """A web copy that put a daemon-level record and a full one on one line (FORMATS.md):
    two events with the same line number, the line counted once; lines around it stay."""
    from ikeanalyze.ingest import InputReport
    from ikeanalyze.sources.text import parse_lines

    lines = [
        "ike 0:vpn1:27: sent IKE msg (ident_i1send): 10.0.0.1:500->10.0.0.2:500, len=380, id=aa/0",
        "ike Negotiate ISAKMP SA Error: ike 0:vpn1:27: no SA proposal chosen",
        "ike 0:vpn1:27: comes 10.0.0.2:500->10.0.0.1:500,ifindex=4,vrf=0....",
    ]
    r = InputReport("t")
    f = parse_lines(lines, r)
    assert list(f["ref"]) == [1, 2, 2, 3] and r.accounting["event"] == 3 and r.balanced
    assert f["text"].iloc[1] == "ike Negotiate ISAKMP SA Error:" and f["text"].iloc[2].startswith("ike 0:vpn1:27: no SA")


@pytest.mark.parametrize(("stamp", "told"), [
    ("[2026-02-26 23:34:42] ", "2026-02-26 23:34:42"),                  # SecureCRT, MobaXterm
    ("[2026/02/26 09:05:03.250] ", "2026-02-26 09:05:03.250000"),        # KiTTY, fractions
    ("2026-02-26T23:34:42.123456Z ", "2026-02-26 23:34:42.123456"),      # ISO 8601 (`ts -s`-like)
    ("[Thu Feb  5 23:17:20.000 2026] ", "2026-02-05 23:17:20"),          # Tera Term, space-padded day
    ("[26/02/2026 23:34:42] ", None),                                    # day and month: either order
    ("[23:34:42] ", None),                                               # no date
    ("Feb 26 23:34:42 ", None),                                          # no year
])
def test_client_stamps_tell_a_time_only_with_a_whole_date(stamp: str, told: str | None) -> None:
    import pyarrow as pa

    lines = [stamp + "ike 0: comes 10.3.2.150:500->10.55.3.193:500,ifindex=4...."] * 3
    raw, times = text.clean_stamps(pa.array(lines, pa.large_string()), InputReport("paste.txt"))
    assert raw.to_pylist()[0].startswith("ike 0: comes")
    got = times.to_pylist()
    assert [None if v is None else str(v) for v in got] == [told] * 3


def test_a_line_below_more_blank_lines_than_a_copy_puts_at_a_break() -> None:
    """The opening of a web copy of Fortinet KB 408078 (prose, three blank lines, prose):
    no line above the second sentence within reach is anything but blank, so nothing can
    be its record (this crashed the search for records broken at a blank)."""
    lines = ["Example, if the parameter is enabled:", "", " ", "", "xAuth enabled on FortiClient:",
             "ike 0:gw:1: sent IKE msg (AUTH):", "", "", "", "10.0.0.1:4500->10.0.0.2:4500, len=240"]
    report = InputReport("t")
    frame = text.parse_lines(lines, report)
    assert report.balanced and report.accounting["unrecognised"] == 3 and report.accounting["blank"] == 6
    assert list(frame["ref"]) == [6] and frame["src"].isna().all()


@pytest.mark.parametrize("line", ["...", "  ...", "\t...", "\u2026", "[...]", "(...)", "<snip>", "-- snip --", "[snipped]",
                                  "<--- output omitted --->", "[output omitted]", "--- omitted ---"])
def test_a_line_left_out_is_an_annotation(line: str) -> None:
    """Elision marks a person puts where they cut lines out of a paste: no output, and not
    the rest of the record above (a tab-indented `...` under a tab-indented tcpdump packet
    was joined to it as payload detail). Lines written by hand after the Kmesh IPsec guide's
    `tcpdump -i any` paste (code index id 15993335483)."""
    packet = "\t08:15:42.300117 ?     In  IP 198.51.100.20 > 192.0.2.10: ESP(spi=0x5e6f7081,seq=0x2a), length 152"
    report = InputReport("t")
    frame = text.parse_lines([packet, line], report)
    assert report.accounting["annotation"] == 1 and report.accounting["event"] == 1, dict(report.accounting)
    assert [t.lstrip() for t in frame["text"]] == [packet.lstrip()]  # (a common margin is taken off)


@pytest.mark.parametrize("line", ["... and then the tunnel dropped", "etc...", "[...] see below"])
def test_prose_with_dots_is_not_an_elision(line: str) -> None:
    assert classify([line])[0] is None


@pytest.mark.parametrize("line", ['Using username "admin".', "Access granted. Press Return to begin session.",
                                  "FGT60F login: admin", "Password:", "Last login: Sun Nov 29 10:00:01 2026 from 192.0.2.50",
                                  "Connection closed.", "Pre-authentication banner message from server:"])
def test_a_sessions_login_lines_are_banners(line: str) -> None:
    """An SSH or console session's login (PuTTY's own lines, the FortiGate's `login:`) is no
    device output: counted `banner`, not unrecognised (IKE901 said 'Connected' was input it
    could not read)."""
    assert classify([line, "ike 0:to-hq:42: negotiation timeout, deleting"])[0] == "banner"


def test_each_sniffer_run_keeps_its_own_filter_and_lines() -> None:
    """A run starts at its command (its `filters=` line is the sniffer's reading of it) or,
    without one, at its `filters=` line, and ends above the next prompt or run; packets
    above the first run are under no filter the paste shows."""
    pkt = "2024-05-04 14:00:00.000000 wan1 out 203.0.113.1.500 -> 198.51.100.9.500: udp 596"
    report = InputReport("t")
    text.parse_lines([pkt,  # 1
                      "FGT # diagnose sniffer packet wan1 'port 500' 4 0 a", "interfaces=[wan1]",
                      "filters=[udp port 500]", pkt, "^C",  # 2-6
                      "FGT # diagnose debug application ike -1",  # 7
                      "interfaces=[any]", "filters=[host 198.51.100.9]", pkt, pkt],  # 8-11
                     report)
    assert [(r.first, r.last, r.filter) for r in report.capture_runs] == [
        (2, 6, "udp port 500"), (9, 11, "host 198.51.100.9")]
    assert report.capture_filter == "udp port 500"
    assert [report.run_at(k) for k in (1, 7)] == [None, None] and report.run_at(10).filter == "host 198.51.100.9"


def test_a_bare_fingerprint_is_a_banner_only_under_openssh_s_heading() -> None:
    """Sixteen colon-separated hex bytes are an old OpenSSH client's fingerprint right under
    its `The fingerprint for ... is` heading (a blank line between, as a double-spaced copy
    puts it), and no banner anywhere else: not terminal noise to be set aside."""
    fp = "3f:2a:9c:01:b4:77:e0:5d:6a:c8:12:fe:90:4b:d3:21"
    form = classify(["The fingerprint for the RSA key sent by the remote host is", fp + ".",
                     "Please contact your system administrator.",
                     "The fingerprint for the RSA key sent by the remote host is", "", fp,
                     "the key we saw:", fp, fp])
    assert list(form) == ["banner", "banner", "banner", "banner", "blank", "banner", None, None, None]
    report = InputReport("t")
    text.parse_lines(["The tunnel key, as the peer's admin sent it:", fp], report)
    assert report.accounting["unrecognised"] == 2 and report.accounting["banner"] == 0


# A negotiation pasted without the `ike 0:gw:serial:` context of its lines (hand-written,
# RFC 5737 addresses): the messages the reader's table names are IKE debug records; the
# daemon's messages no row names stay lines of no form.
STRIPPED = ["comes 198.51.100.7:500->203.0.113.5:500,ifindex=7,vrf=0,len=464....",
            "IKEv2 exchange=SA_INIT id=7d3e91a0c4b25f16/0000000000000000 len=464",
            "responder received SA_INIT msg",
            "received notify type NAT_DETECTION_SOURCE_IP",
            "incoming proposal:",
            "  protocol = IKEv2:",
            "no SA proposal chosen"]


@pytest.mark.parametrize("spacing", [1, 2], ids=["single-spaced", "double-spaced"])
def test_a_debug_pasted_without_its_prefixes_is_read(spacing: int) -> None:
    # A web page's copy puts a blank line after each line (double-spaced): the blanks end no
    # block, so the proposal lines are read beside the strong lines as in the single-spaced paste.
    form = classify([x for line in STRIPPED for x in (line, "")[:spacing]])
    assert list(form[::spacing]) == ["ikedebug", "ikedebug", None, "ikedebug", "ikedebug", "ikedebug", "ikedebug"]


def test_a_line_whose_prefix_was_cut_beside_prefixed_lines_is_read() -> None:
    # Beside prefixed lines, a line whose prefix the poster cut is the daemon's too.
    form = classify(["ike 0:to-hq:5: incoming proposal:", "proposal id = 1:", "no SA proposal chosen"])
    assert list(form) == ["ikedebug"] * 3


@pytest.mark.parametrize("lines", [
    # A paragraph that quotes the daemon: more prose than messages.
    ["Hi all, my tunnel to the branch does not come up.", "NAT detected on both sides, so I enabled NAT-T.",
     "In the debug I only see this:", "no SA proposal chosen", "Any idea? I checked the proposals twice."],
    # The daemon's words alone, with nothing that only the daemon prints.
    ["negotiation result", "proposal id = 1:"],
    # A message beside prose, a blank line away from a debug block.
    ["ike 0:to-hq:5: incoming proposal:", "", "NAT detected on both sides, so I enabled NAT-T."],
])
def test_prose_in_the_daemons_words_is_not_its_debug(lines: list[str]) -> None:
    form = classify(lines)
    assert all(f in (None, "blank") for f, line in zip(form, lines) if not line.startswith("ike "))


def test_among_is_isin_of_form_names():
    """A form column (names and None) asked for some names, None among them or not: what
    numpy's isin answers, on every line and on none."""
    form = np.array(["ikedebug", None, "prompt", "continuation", "blank", None, "snapshot", "sniffer"], dtype=object)
    for names in ((None, "prompt"), ("snapshot", "config", "continuation"), text.RECORD_FORMATS, ()):
        assert text._among(form, names).tolist() == np.isin(form, list(names)).tolist()
    assert text._among(form[:0], ("blank",)).tolist() == []


# Records and the lines a terminal or a daemon put under them (hand-written, RFC 5737
# addresses): a dump wrapped at the terminal's width, a samld block of XML whose long
# lines wrapped too, a quote opened in a wrapped piece, prose after a block.
_DUMP = "ike 0:to-hub:7: in " + "A1B2C3D4" * 9
_BLOCK = [
    "__samld_sp_login_resp [866]:",
    "<saml:Assertion ID=\"a1\" IssueInstant=\"2025-01-20T14:31:38Z\" Version=\"2.0\">" + "x" * 6,
    "<saml:Issuer>https://idp.example.net/</saml:Issuer>",
    "<saml:Attribute Name=\"group\"><saml:AttributeValue>vpn</saml:AttributeValue></sam",
    "l:Attribute>",
]
_WRAPPED = ["ike 0:to-hub:7: sent IKE msg (ident_r1send): 192.0.2.1:500->198.51.100.2:500, len=156, vrf=0, i",
            "d=0123456789abcdef/fedcba9876543210"]


def _continuation_pieces(seed: int) -> list[str]:
    import random
    rnd = random.Random(seed)
    lines = []
    for _ in range(60):
        pick = rnd.randrange(7)
        if pick == 0:
            lines += [_DUMP[:80]] + ["A1B2C3D4" * 10] * rnd.randint(1, 3) + ["ike 0:to-hub:7: negotiation timeout, deleting"]
        elif pick == 1:
            lines += _BLOCK[: rnd.randint(1, len(_BLOCK))]
        elif pick == 5:  # a quote opened in a block, closed lines below
            lines += _BLOCK[:2] + ["<data = 'VER=1", rnd.choice(["<more>", "end' of it"]), "<after/>", "ike 0: comes 192.0.2.1:500->198.51.100.2:500"]
        elif pick == 6:  # a dump's hex, then more after a blank line (a copy's)
            lines += [_DUMP[:80], "A1B2C3D4" * 10, "", "A1B2C3D4" * 3, "ike 0:to-hub:7: deleting"]
        elif pick == 2:
            lines += ["fnbamd_dbg_hex_pnt[50] FCC request len = " + "9" * 40, "205, data = 'VER=1", "more data'", ""]
        elif pick == 3:
            lines += _WRAPPED + ["  indented prose under it", "A1B2"]
        else:
            lines += ["ike 0:to-hub:7: established IKE SA 0123456789abcdef/fedcba9876543210", "some prose", ""]
    return lines


@pytest.mark.parametrize("seed", range(6))
def test_pieces_joined_as_columns_as_the_walk_joins_them(seed, monkeypatch):
    """The pieces joined as whole columns under their record (a dump's hex, wrapped pieces,
    a block's lines: _plain_runs) are named and joined as the line-by-line walk names and
    joins them: the same forms, separators and events."""
    _columns_as_the_walk(_continuation_pieces(seed), monkeypatch)


@pytest.mark.parametrize("name", ["ipsec-mix.wrap80.txt", "ipsec-mix.wrap80-mail72.txt", "ipsec-mix.wrap80-mail76.txt",
                                  "ipsec-mix.mail72-no-blank.txt", "ipsec-mix.wrap80-mail72-no-blank.txt"])
def test_wrapped_pastes_joined_as_columns_as_the_walk_joins_them(name, monkeypatch):
    """The same on pastes wrapped twice (a terminal's cut after a mail's pieces), mail
    wraps that dropped the blank they broke at (joined with it), and a typed command cut
    by the wrap (its rest under the prompt)."""
    lines = (DATA / "terminal_logs" / name).read_text().splitlines()
    _columns_as_the_walk(lines, monkeypatch)


def _columns_as_the_walk(lines: list[str], monkeypatch) -> None:
    seen = {}
    orig = text._continuations

    def spy(form, *rest):
        out = orig(form, *rest)
        seen.setdefault("form", []).append(form.copy())
        seen.setdefault("sep", []).append(out[0].copy())
        return out

    monkeypatch.setattr(text, "_continuations", spy)
    got = text.parse_lines(lines, InputReport("t"))
    walked = text._plain_runs
    monkeypatch.setattr(text, "_plain_runs", lambda *a: tuple(np.zeros_like(x) for x in walked(*a)))
    want = text.parse_lines(lines, InputReport("t"))
    assert (seen["form"][0] == "continuation").sum() > 10  # (pieces there were)
    assert seen["form"][0].tolist() == seen["form"][1].tolist()
    assert seen["sep"][0].tolist() == seen["sep"][1].tolist()
    assert got.astype(str).equals(want.astype(str))
