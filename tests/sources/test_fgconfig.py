"""Pasted FortiOS configuration (`config ... end`) through the real text loader: every
statement a `config` event, phase-1 and phase-2 entries gathered per tunnel with the
statements that show them, and the shapes a paste gives it (cut before its `end`, the
pager, a terminal wrap, a certificate over many lines, several VDOMs, typed at the prompt).
The inputs are written here (RFC 5737 and private addresses)."""

from __future__ import annotations

import json

import pandas as pd

import ikeanalyze
from ikeanalyze.analysis import configured
from ikeanalyze.analysis.context import Context
from ikeanalyze.ingest import InputReport
from ikeanalyze.sources import Blob, text

PHASES = """\
FGT-EDGE # show vpn ipsec phase1-interface
config vpn ipsec phase1-interface
    edit "to dc"
        set interface "wan1"
        set proposal aes128-sha256 aes256-sha256
        set dpd disable
        set remote-gw 203.0.113.20
    next
end
FGT-EDGE # show vpn ipsec phase2-interface
config vpn ipsec phase2-interface
    edit "p2-a"
        set phase1name "to dc"
        set src-addr-type range
        set src-start-ip 10.20.1.10
        set src-end-ip 10.20.1.20
        set dst-subnet 172.16.40.0 255.255.255.0
        set protocol 6
        set dst-port 443
    next
    edit "p2-b"
        set phase1name "to dc"
        set src-addr-type name
        set src-name "lan-grp"
    next
end
"""


def load(name: str, paste: str):
    return ikeanalyze.load([Blob(name, data=paste.encode())])


def analyze(name: str, paste: str):
    return ikeanalyze.analyze([Blob(name, data=paste.encode())])


def parse(lines: list[str]) -> tuple[pd.DataFrame, InputReport]:
    report = InputReport("paste.txt")
    return text.parse_lines(lines, report), report


def details(frame: pd.DataFrame) -> list[dict]:
    return [json.loads(d) for d in frame["detail"]]


def test_statements_are_config_events_with_their_tunnel():
    frame, report = parse(PHASES.splitlines())
    assert report.balanced and report.accounting["unrecognised"] == 0
    assert report.accounting["prompt"] == 2 and report.accounting["event"] == len(frame) == 24
    assert set(frame["kind"]) == {"config"} and set(frame["origin"]) == {"config"}
    d = details(frame)
    dpd = frame.index[[x.get("key") == "dpd" for x in d]][0]
    assert d[dpd] == {"path": "vpn ipsec phase1-interface", "entry": "to dc", "key": "dpd", "value": "disable"}
    assert frame.loc[dpd, "ref"] == 6
    # A phase 2's rows carry its phase 1's name (its `phase1name`), its `edit` line included.
    p2a = [i for i, x in enumerate(d) if x.get("entry") == "p2-a"]
    assert set(frame.loc[p2a, "tunnel"]) == {"to dc"} and frame.loc[p2a[0], "ref"] == 12
    # The `config` and `end` lines belong to no entry and no tunnel.
    assert frame.loc[0, "tunnel"] is pd.NA and d[0] == {"path": "vpn ipsec phase1-interface"}


def test_entries_and_their_settings_with_evidence():
    events, ingest = load("paste.txt", PHASES)
    c = Context(events, ingest).configured
    p1 = c.phase1("to dc")
    assert p1.get("interface") == "wan1" and p1.words("proposal") == ["aes128-sha256", "aes256-sha256"]
    assert p1.get("dpd") == "disable" and [e.ref for e in p1.evidence("dpd", "nat-traversal")] == [3, 6]
    assert p1.get("passive-mode") == "disable" and not p1.stated("passive-mode")  # the default `show` leaves out
    assert [e.name for e in c.for_peer("203.0.113.20:500")] == ["to dc"] and not c.for_peer("203.0.113.21")
    a, b = c.phase2s("to dc")
    assert configured.selectors(a) == (["6:10.20.1.10-10.20.1.20:0"], ["6:172.16.40.0/255.255.255.0:443"])
    assert configured.selectors(b) is None  # an address object: not resolvable from the paste


def test_show_without_selectors_means_the_default_any():
    events, ingest = load("p.txt", 'config vpn ipsec phase2-interface\n    edit "p2"\n'
                                   '        set phase1name "t"\n    next\nend\n')
    (p2,) = Context(events, ingest).configured.phase2s("t")
    assert configured.selectors(p2) == (["0:0.0.0.0/0.0.0.0:0"], ["0:0.0.0.0/0.0.0.0:0"])


def test_a_sentence_that_begins_with_config_is_not_a_block():
    _, report = parse(["config changes were made yesterday", "then the tunnel went down"])
    assert report.accounting["unrecognised"] == 2 and report.accounting["event"] == 0


def test_cut_before_its_end_then_a_new_block():
    lines = ["config vpn ipsec phase1-interface", '    edit "a"', "        set remote-gw 198.51.100.1",
             "config vpn ipsec phase2-interface", '    edit "a-p2"', '        set phase1name "a"', "    next", "end"]
    frame, report = parse(lines)
    assert report.accounting["event"] == 8
    d = details(frame)
    assert d[3] == {"path": "vpn ipsec phase2-interface"}  # a new top-level table, not a sub-table of "a"
    assert list(frame["tunnel"].iloc[4:7]) == ["a", "a", "a"]


def test_pager_terminal_wrap_and_quoted_value_over_lines():
    lines = ["config vpn certificate local", '    edit "fgt"',
             '        set comments "a comment that is long enough for the terminal to cut it somewhere n',
             'ear here"', "--More--",
             '        set certificate "-----BEGIN CERTIFICATE-----', "MIIBszCCAVmgAwIBAgIU", '-----END CERTIFICATE-----"',
             "    next", "end", "after the block"]
    frame, report = parse(lines)
    assert report.accounting["continuation"] == 3 and report.accounting["prompt"] == 1
    assert report.accounting["unrecognised"] == 1 and report.examples[0][0] == 11
    d = details(frame)
    assert d[2]["value"].endswith('somewhere near here"')
    assert d[3]["value"] == '"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----"'


def test_full_configuration_of_several_vdoms_and_a_sub_table():
    lines = ["#config-version=FGT60F-7.2.8-FW-build1639-240313:opmode=0:vdom=1", "#conf_file_ver=1234",
             "#buildno=1639", "#global_vdom=1", "config vdom", "edit cust1", "config vpn ipsec phase1-interface",
             'edit "t1"', "set remote-gw 198.51.100.9", "config ipv4-exclude-range", "edit 1",
             "set start-ip 10.0.0.1", "next", "end", "set dpd on-idle", "next", "end", "next", "end"]
    frame, report = parse(lines)
    assert report.accounting["banner"] == 4 and report.accounting["event"] == 15
    assert set(frame["vdom"].iloc[2:13]) == {"cust1"}
    d = details(frame)
    assert d[7] == {"path": "vpn ipsec phase1-interface/ipv4-exclude-range", "entry": "1", "key": "start-ip",
                    "value": "10.0.0.1"}
    assert frame["tunnel"].iloc[7] == "t1"
    events, ingest = load("full.conf", "\n".join(lines))
    p1 = Context(events, ingest).configured.phase1("t1")
    assert p1.get("dpd") == "on-idle" and p1.get("remote-gw") == "198.51.100.9" and "start-ip" not in p1.settings


def test_typed_at_the_prompt_is_what_was_typed():
    lines = ["FGT # config vpn ipsec phase1-interface", 'FGT (phase1-interface) # edit "t"',
             "FGT (t) # set dpd disable", "FGT (t) # end"]
    frame, report = parse(lines)
    assert report.accounting["prompt"] == 4 and len(frame) == 0


def test_config_only_paste_is_no_ike_content_not_unrecognised():
    d = analyze("cfg.txt", PHASES)
    # (and its `set dpd disable`: IKE306)
    assert [f.code for f in d.findings] == ["IKE306", "IKE903"]
    assert "24 configuration statements (of tunnel to dc) say how the tunnel is set up" in d.findings[1].message


def test_an_indented_statement_cut_by_the_terminal_is_joined():
    """The terminal cuts the line as pasted, indent included: 80 columns of which the
    statement's own text is only 72 (the seed article cut at 80 columns lost IKE104's
    configuration sentence when the width was measured without the indent)."""
    cut = "        set proposal aes128-sha256 aes256-sha256 aes128gcm-prfsha256 aes256gcm-prfsha384"
    lines = ["config vpn ipsec phase1-interface", '    edit "ipsec"', cut[:80], cut[80:],
             "        set transport udp-fallback-tcp", "    next", "end"]
    frame, report = parse(lines)
    assert report.accounting["continuation"] == 1 and report.accounting["unrecognised"] == 0
    d = details(frame)
    assert d[2]["value"] == "aes128-sha256 aes256-sha256 aes128gcm-prfsha256 aes256gcm-prfsha384"
    assert d[3] == {"path": "vpn ipsec phase1-interface", "entry": "ipsec", "key": "transport",
                    "value": "udp-fallback-tcp"}


def test_a_block_a_web_copy_collapsed_onto_one_line_is_cut_back_into_statements():
    """A knowledge-base page turned to text puts a whole block on one line after the sentence
    that introduced it: each statement is an event with the line's number, the line counted
    once; a keyword inside a quoted value is the value's; the prose after `end` is dropped."""
    lines = ['Branch phase 1: config vpn ipsec phase1-interface edit "to hq" set interface "wan1" '
             'set comments "set this up and end it" set remote-gw 203.0.113.9 set dpd disable next End '
             "and the phase 2 as below.",
             "In the config system interface, set the IP and the mask, then end the session.",
             'config vpn ipsec phase2-interface edit "p2" set phase1name "to hq" set src-subnet 10.9.0.0 '
             "255.255.0.0 next end"]
    frame, report = parse(lines)
    assert report.accounting["event"] == 2 and report.accounting["unrecognised"] == 1
    assert list(frame["ref"]) == [1] * 8 + [3] * 6
    assert list(frame["text"].iloc[:8]) == [
        "config vpn ipsec phase1-interface", 'edit "to hq"', 'set interface "wan1"',
        'set comments "set this up and end it"', "set remote-gw 203.0.113.9", "set dpd disable", "next", "end"]
    d = details(frame)
    assert d[3] == {"path": "vpn ipsec phase1-interface", "entry": "to hq", "key": "comments",
                    "value": '"set this up and end it"'}
    assert d[7] == {"path": "vpn ipsec phase1-interface"}
    assert set(frame["tunnel"].iloc[9:13]) == {"to hq"}
    events, ingest = load("kb.txt", "\n".join(lines))
    c = Context(events, ingest).configured
    assert c.phase1("to hq").get("dpd") == "disable"
    assert configured.selectors(c.phase2s("to hq")[0])[0] == ["0:10.9.0.0/255.255.0.0:0"]


def test_fallback_transport_of_a_dial_up_instance_is_its_phase_1_s():
    """FortiClient's tunnels are dial-up instances (`FCT_0`): IKE104 asks by that name."""
    paste = ('config vpn ipsec phase1-interface\n    edit "FCT"\n        set type dynamic\n'
             '        set transport udp-fallback-tcp\n    next\n    edit "to-hq"\n        set remote-gw 198.51.100.7\n'
             '    next\nend\n')
    ctx = Context(*load("p.txt", paste))
    assert configured.fallback_transport(ctx, "FCT_0").name == "FCT"
    assert configured.fallback_transport(ctx, None).name == "FCT"  # the only one
    assert configured.fallback_transport(ctx, "to-hq") is None


def test_a_quote_never_closed_does_not_take_the_statements_after_it():
    """A comment typed with one quote (`set comments "primary link`): the quote never closes,
    and the statements under it, the next block's too, are statements, not its value's lines."""
    lines = ["config vpn ipsec phase1-interface", '    edit "to-hq"', '        set comments "primary link (hq',
             "        set remote-gw 198.51.100.7", "        set dpd disable", "    next", "end",
             "config vpn ipsec phase2-interface", '    edit "p2"', '        set phase1name "to-hq"', "    next", "end"]
    frame, report = parse(lines)
    assert report.accounting["continuation"] == 0 and report.accounting["event"] == len(lines)
    d = details(frame)
    assert d[2]["value"] == '"primary link (hq' and d[4] == {
        "path": "vpn ipsec phase1-interface", "entry": "to-hq", "key": "dpd", "value": "disable"}
    assert list(frame["tunnel"].iloc[8:11]) == ["to-hq"] * 3


# A `show` cut before its `end`, whose last statement fills a terminal's line (a cut one, as
# far as its width tells), or opens a quote: the paste goes on with other output.
CUT_SHOW = ["config vpn ipsec phase1-interface", '    edit "to-hq"', "        set remote-gw 198.51.100.1",
            "        set psksecret ENC 3q9kL0m2Zb7fVx1HcPq8R4tYw6NnEa5Ud0Gs3Jk9Lz2Xv4Bc7Mf1Qe8Pr5Ty"]
AFTER = ["comes 198.51.100.1:500->192.0.2.33:500,ifindex=6....", "ike 0:to-hq: no SA proposal chosen"]


def test_a_show_cut_before_its_end_leaves_a_bare_debug_message_after_a_long_statement_to_the_debug():
    """The 80-column statement's next line is no rest of it when it is a debug message
    without its prefix: it was read as the statement's cut rest, lost to the debug."""
    frame, report = parse(CUT_SHOW + AFTER)
    assert report.accounting["continuation"] == 0 and report.accounting["event"] == 6
    assert list(frame.loc[frame["ref"] == 5, "origin"]) == ["ikedebug"]
    assert details(frame[frame["kind"] == "config"])[3]["value"].endswith("Pr5Ty")  # its whole value, no more


def test_a_show_cut_inside_a_quoted_value_leaves_a_record_glued_after_typed_keys_to_the_debug():
    """A comment's quote the cut left open takes the lines of a value up to its closing quote,
    but not another form's record (`dike 0:...`: `d` typed before the debug line)."""
    lines = CUT_SHOW[:3] + ['        set comments "primary link', "dike 0:to-hq: comes 198.51.100.1:500->"
                                                                     "192.0.2.33:500,ifindex=6...."]
    frame, report = parse(lines)
    assert report.accounting["continuation"] == 0 and report.accounting["event"] == 5
    assert list(frame.loc[frame["ref"] == 5, "kind"]) == ["ike-received"]
    assert details(frame[frame["kind"] == "config"])[3]["value"] == '"primary link'


def test_append_to_a_list_not_set_before_is_the_version_s_default_then_the_appended_words():
    """`append proposal` with no `set proposal` above adds to FortiOS's default list, which
    depends on the version and the paste does not print: the entry does not take the appended
    words for the whole list (it did, and quoted `set proposal aes256gcm-prfsha384`), as
    after `unset` it does not invent a value; after a `set`, the list is known."""
    paste = ('config vpn ipsec phase1-interface\n    edit "to-hq"\n        set remote-gw 198.51.100.7\n'
             '        append proposal aes256gcm-prfsha384\n    next\n    edit "to-dc"\n'
             '        set proposal aes128-sha256\n        append proposal aes256-sha256\n    next\n'
             '    edit "to-br"\n        set proposal aes128-sha256\n        unset proposal\n'
             '        append proposal aes256-sha256\n    next\nend\n')
    c = Context(*load("p.txt", paste)).configured
    hq, dc, br = c.phase1("to-hq"), c.phase1("to-dc"), c.phase1("to-br")
    assert hq.get("proposal") is None and hq.on_default == {"proposal"} and hq.stated("proposal")
    assert hq.statement("proposal") == "append proposal aes256gcm-prfsha384"
    assert configured.said([hq], configured.PHASE1_PROPOSAL).text == (
        "Its configuration has phase 1 to-hq: `append proposal aes256gcm-prfsha384` (after FortiOS's default "
        "list, which the paste does not show) (p.txt line 4).")
    assert dc.get("proposal") == "aes128-sha256 aes256-sha256" and not dc.on_default
    assert dc.statement("proposal") == "set proposal aes128-sha256 aes256-sha256"
    assert br.get("proposal") is None and br.on_default == {"proposal"}


def test_an_ipv6_phase_1_s_remote_gateway_is_its_remote_gw6():
    paste = ('config vpn ipsec phase1-interface\n    edit "v6"\n        set ip-version 6\n'
             '        set remote-gw6 2001:0db8::7\n        set dpd disable\n    next\nend\n')
    ctx = Context(*load("p.txt", paste))
    assert [e.name for e in ctx.configured.for_peer("[2001:db8::7]:500")] == ["v6"]
    assert ctx.configured.phase1("v6").remote == "2001:0db8::7"


def test_a_sentence_that_names_config_set_and_end_is_not_a_collapsed_block():
    """Prose can hold `config <path> … set … end` (found by a review): a statement holding a
    sentence's words (`and`, `then`, `the`) makes the line prose, left unrecognised."""
    for line in ["We used config vpn ipsec phase1-interface edit HQ and set dpd on-idle then set "
                 "dpd-retryinterval 10 and the End result was the same.",
                 "To fix it, config vpn ipsec phase1-interface then set dpd disable and set nattraversal disable, "
                 "and at the end reboot."]:
        frame, report = parse([line])
        assert report.accounting["event"] == 0 and report.accounting["unrecognised"] == 1, line


def test_a_block_quoted_in_a_settings_value_is_that_value():
    """A comment can quote a collapsed block (`set comments "moved to new hub: config … set …
    end"`): it is the setting's value. It was cut into statements, a phase 1 `to-hub1` that
    is not configured, and the block's own statements after it left unrecognised."""
    comment = ('"moved to new hub: config vpn ipsec phase1-interface edit to-hub1 set remote-gw 203.0.113.9 '
               'set status disable end"')
    lines = ["FGT-BR # show vpn ipsec phase1-interface", "config vpn ipsec phase1-interface", '    edit "to-hub2"',
             '        set interface "wan1"', "        set remote-gw 198.51.100.7", f"        set comments {comment}",
             "        set dpd on-idle", "    next", "end"]
    frame, report = parse(lines)
    assert report.accounting["event"] == 8 and report.accounting["unrecognised"] == 0
    assert list(frame["ref"]) == list(range(2, 10))
    assert details(frame)[4] == {"path": "vpn ipsec phase1-interface", "entry": "to-hub2", "key": "comments",
                                 "value": comment}
    c = Context(*load("p.txt", "\n".join(lines))).configured
    assert c.phase1("to-hub1") is None
    assert (c.phase1("to-hub2").get("dpd"), c.phase1("to-hub2").remote) == ("on-idle", "198.51.100.7")


def test_a_collapsed_block_after_a_unicode_blank_is_cut_too():
    """The lines Python's pattern reads are found first with RE2, whose `\\s` is ASCII: the
    first pass asks only for plain characters, so a block a web copy set after an em space
    or an ideographic space is found as Python reads it."""
    for blank in ("\u2003", "\u3000"):
        line = (f"Branch phase 1:{blank}config vpn ipsec phase1-interface edit \"to hq\" set interface \"wan1\" "
                f"set remote-gw 203.0.113.9 set dpd disable next{blank}End")
        frame, report = parse([line])
        assert report.accounting["event"] == 1, repr(blank)
        assert list(frame["text"]) == ["config vpn ipsec phase1-interface", 'edit "to hq"', 'set interface "wan1"',
                                       "set remote-gw 203.0.113.9", "set dpd disable", "next", "end"]


def test_only_the_lines_that_may_hold_a_collapsed_block_are_read_for_one(monkeypatch):
    """A configuration's statements hold no `config … set …` on one line: none is read by
    Python's pattern for a collapsed block (each was, on every `config` line of the paste)."""
    from ikeanalyze.sources import fgconfig

    read: list[str] = []
    unfold_line = fgconfig._unfold_line

    def counted(line: str):
        read.append(line)
        return unfold_line(line)

    monkeypatch.setattr(fgconfig, "_unfold_line", counted)
    frame, report = parse(PHASES.splitlines())
    assert report.accounting["event"] == len(frame) == 24
    assert read == []
