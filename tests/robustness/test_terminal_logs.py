"""Pastes as terminal clients and screen copies deliver them read as the clean paste does.

Each variant in tests/data/terminal_logs/ (SOURCES.md there: which damage, which paste) is
compared with the paste it was made from: the same events with the same fields, line for
line, and the same findings.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from ikeanalyze import api
from ikeanalyze.sources import Blob
from tests.robustness.helpers import ROOT, TESTS, check_books

DATA = TESTS / "data"
LOGS = DATA / "terminal_logs"
FIELDS = ["ref", "kind", "origin", "time", "src", "sport", "dst", "dport", "transport", "exchange",
          "msg_id", "ispi", "rspi", "length", "tcp_flags", "tunnel", "detail"]


def _load(path=None, data: bytes | None = None, name: str = "paste.txt"):
    data = path.read_bytes() if data is None else data
    events, ingest = api.load([Blob(name, None, data, data[:16])])
    check_books(ingest)
    return events, ingest


def _table(events, fields=FIELDS):
    sub = events[fields].astype(object)
    return sub.where(sub.notna(), None).values.tolist()


def _codes(events, ingest) -> list[tuple]:
    """Every finding, the symptoms ranked under a root cause too."""
    d = api.diagnose(events, ingest)
    return sorted((f.code, f.tunnel or "", f.peer or "") for f in [*d.findings, *(s for f in d.findings for s in f.symptoms)])


@pytest.mark.parametrize("variant, base", [
    ("seed.securecrt-stamps.txt", "seed/forticlient-udp-fallback-tcp.paste.txt"),
    ("tunnel-list.teraterm-stamps.txt", "state/35_tunnel_list_dpd_disabled.txt"),
])
def test_client_time_stamps_before_every_line_are_not_device_output(variant, base):
    """SecureCRT/Tera Term/MobaXterm/`ts` write the client's time before every logged line:
    every sniffer, snapshot, prompt and banner line was unrecognised (the sniffer lines of
    the seed: no IKE101/102/104; a tunnel list: no snapshot). Read without them, and said."""
    got, got_ingest = _load(LOGS / variant)
    want, want_ingest = _load(DATA / base)
    [report], [clean] = got_ingest.inputs, want_ingest.inputs
    assert dict(report.accounting) == dict(clean.accounting)
    untimed = want["time"].isna().all()  # the tunnel list prints no time: the client's is its clock
    fields = [f for f in FIELDS if f != "time"] if untimed else FIELDS
    assert _table(got, fields) == _table(want, fields)
    assert _codes(got, got_ingest) == _codes(want, want_ingest)
    assert any("time stamp added by the terminal client" in w for w in report.warnings)
    assert report.clock == ("client" if untimed else clean.clock)


def test_a_debug_without_device_time_takes_the_terminal_clients_clock():
    """A debug without `console timestamp enable`, logged by MobaXterm with a date on every
    line: the client's stamps time its events (to the second), so waits are measured and
    the report does not ask for timestamps; the findings are those of the clean log."""
    got, got_ingest = _load(LOGS / "retrans.mobaxterm-stamps.txt")
    want, want_ingest = _load(DATA / "ikedebug" / "IKE_LOG_retrans.txt")
    assert want["time"].isna().all()
    [report] = got_ingest.inputs
    assert report.clock == "client"
    assert any("times are the terminal client's stamps (58 events)" in w for w in report.warnings)
    fields = [f for f in FIELDS if f != "time"]
    assert _table(got, fields) == _table(want, fields)
    stamps = {i + 1: line[1:20] for i, line in enumerate((LOGS / "retrans.mobaxterm-stamps.txt").read_text().splitlines())}
    assert [str(x) for x in got["time"]] == [stamps[r] for r in got["ref"]]
    assert got["t"].iloc[0] == 0 and got["t"].is_monotonic_increasing and got["t"].iloc[-1] == 8.0  # 09:12:01 to 09:12:09
    assert _codes(got, got_ingest) == _codes(want, want_ingest)
    d = api.diagnose(got, got_ingest)
    [late] = [f for f in d.all_findings() if f.code == "IKE304" and "193.248.63.133:500 (then 193.248.63.133:4500) re-sent" in f.message]
    assert "(waits 2.0, 1.0, 3.0 s" in late.message
    assert "09:12:05 (line 49)" in next(f for f in d.all_findings() if f.code == "IKE111").message
    assert not any("no timestamps" in step for step in d.next_steps)


def test_a_time_stamp_starting_a_few_wrapped_lines_is_kept():
    """A stamp without brackets is the client's only when most lines carry one: a wrapped
    SAML line may begin with the assertion's own `IssueInstant` time."""
    lines = (DATA / "ikedebug" / "IKE_LOG_SAML_working.txt").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if 'IssueInstant="' in line)
    cut = lines[at].index('IssueInstant="') + len('IssueInstant="')
    wrapped = lines[:at] + [lines[at][:cut], lines[at][cut:]] + lines[at + 1:]
    assert wrapped[at + 1][:4].isdigit() and wrapped[at + 1][10] == "T"
    _, ingest = _load(data=("\n".join(wrapped) + "\n").encode())
    [report] = ingest.inputs
    assert not any("terminal client" in w for w in report.warnings)


def test_a_windows_1252_line_in_a_utf8_paste_leaves_the_other_lines_utf8():
    """One line typed in a Windows editor made the whole file Latin-1: the paste's UTF-8
    non-breaking spaces became `Â ` and the lines holding them stopped matching (the seed
    lost IKE104). Each line is read in its own encoding."""
    got, got_ingest = _load(LOGS / "seed.cp1252-note.txt")
    want, want_ingest = _load(DATA / "seed" / "forticlient-udp-fallback-tcp.paste.txt")
    [report], [clean] = got_ingest.inputs, want_ingest.inputs
    assert report.accounting - clean.accounting == {"annotation": 1}
    shifted = want.assign(ref=want["ref"] + 1)
    assert _table(got) == _table(shifted)
    assert _codes(got, got_ingest) == _codes(want, want_ingest)


def test_windows_1252_punctuation_reads_as_typed():
    from ikeanalyze.sources.textclean import decode

    text, _ = decode((LOGS / "seed.cp1252-note.txt").read_bytes())
    assert text.splitlines()[0] == "# Kunde Büro Zürich: Tunnel fällt um 23:35 aus – erst “Connect” hilft"
    assert "\u00a0" in text and "Â" not in text


def test_a_note_wrapped_onto_the_next_line_is_not_read_as_the_record():
    """An 80-column terminal put the seed's `<-- First Sync packet.` note on the wrapped
    piece of the SYN line: the joined record kept the note, the SYN read as `other`, and
    IKE104 (the manual fallback to TCP) was lost."""
    got, got_ingest = _load(LOGS / "seed.wrap80.txt")
    want, want_ingest = _load(DATA / "seed" / "forticlient-udp-fallback-tcp.paste.txt")
    fields = [f for f in FIELDS if f != "ref"]
    assert _table(got, fields) == _table(want, fields)
    assert _codes(got, got_ingest) == _codes(want, want_ingest)


def test_lines_padded_with_blanks_to_the_window_width():
    """A console copy pads every line to the window's width: the views search the event
    text with patterns anchored at its end, and `IPsec SA connect 4 2.2.2.254->1.1.1.254:0`
    followed by blanks no longer named the peer the gateway refused (IKE209)."""
    got, got_ingest = _load(LOGS / "passive-mode.padded132.txt")
    want, want_ingest = _load(DATA / "ikedebug" / "IKE_LOG_passive_mode.txt")
    assert _table(got, FIELDS + ["text"]) == _table(want, FIELDS + ["text"])
    assert _codes(got, got_ingest) == _codes(want, want_ingest) == [("IKE209", "eveS2S", "1.1.1.254")]


def _snapshots(events, ingest):
    return [{k: v for k, v in s.items() if k != "refs"} for s in api.diagnose(events, ingest).snapshots]


def test_the_cli_pager_does_not_cut_a_snapshot():
    """`--More--` after each screenful of a paged `gateway list`/`tunnel list` (and the
    blanks that erase it in a session log) were unrecognised and ended the block: the
    gateway's `message-id`, `lifetime` and `DPD sent/recv` lines after it were lost."""
    got, got_ingest = _load(LOGS / "lists.putty-paged.txt")
    want, want_ingest = _load(DATA / "state" / "handbook_gateway_and_tunnel_list_ports.txt")
    [report], [clean] = got_ingest.inputs, want_ingest.inputs
    assert report.accounting["unrecognised"] == 0 and report.accounting["prompt"] == clean.accounting["prompt"] + 2
    assert report.events == clean.events
    fields = [f for f in FIELDS if f != "ref"]
    assert _table(got, fields) == _table(want, fields)
    assert _snapshots(got, got_ingest) == _snapshots(want, want_ingest)
    assert _snapshots(got, got_ingest)[0]["dpd_sent_recv"] == [[12, 12]]


@pytest.mark.parametrize("variant, tail", [
    ("local-pwd.cut-mid-stamp.txt", "2025-01-15 0"),
    ("sniffer-v6.cut-mid-header.txt", "2015-06-23 17:01:31.113209 wan1 -- fe80::11"),
])
def test_a_paste_cut_mid_line_ends_in_a_truncated_record(variant, tail):
    """The piece of a record a cut leaves at the end was counted unrecognised (IKE901,
    'report the format') beside a hedged 'may be cut off'; it is a truncated record (IKE902
    names the line)."""
    events, ingest = _load(LOGS / variant)
    [report] = ingest.inputs
    assert report.accounting["truncated"] == 1 and report.accounting["unrecognised"] == 0
    assert any(w.startswith(f"line {report.total}: truncated record") and tail in w for w in report.warnings)
    codes = {code for code, _, _ in _codes(events, ingest)}
    assert "IKE902" in codes and "IKE901" not in codes


def test_prose_cut_off_is_still_unrecognised():
    """Only a piece after device output is a cut record; a note without a final newline is
    a line of no known form."""
    data = (DATA / "ikedebug" / "saml_config_issues.txt").read_bytes().rstrip(b"\n") + b"\n\nThanks, the customer"
    _, ingest = _load(data=data)
    [report] = ingest.inputs
    assert report.accounting["truncated"] == 0
    assert report.examples[-1] == (report.total, "Thanks, the customer")


def test_a_tunnel_list_cut_by_an_80_column_terminal_inside_a_token():
    """`... options[0228]=npu f` / `rag-rfc  run_state=0 ...`: a piece starting inside a
    value-less word (no `key=`) ended the tunnel block, and the rest of the tunnel (its
    selectors, SAs and counters) was unrecognised; a line of the block cut at the
    terminal's width goes on in the next line whatever it starts with."""
    got, got_ingest = _load(LOGS / "lists.wrap80.txt")
    want, want_ingest = _load(DATA / "state" / "handbook_gateway_and_tunnel_list_ports.txt")
    [report], [clean] = got_ingest.inputs, want_ingest.inputs
    assert report.accounting["unrecognised"] == 0 and report.events == clean.events
    assert _snapshots(got, got_ingest) == _snapshots(want, want_ingest)


def test_a_quote_opened_in_a_wrapped_piece_takes_its_dump_block():
    """`... FCC request len =` / ` 205, data = 'VER=1` / `FCTVER=...`: the quote opens in
    the piece the terminal wrapped, and the dump lines under it were unrecognised."""
    got, got_ingest = _load(LOGS / "ldap-fcc.wrap80.txt")
    want, want_ingest = _load(LOGS / "ldap-fcc.excerpt.txt")
    [report], [clean] = got_ingest.inputs, want_ingest.inputs
    assert clean.accounting["unrecognised"] == report.accounting["unrecognised"] == 0
    assert report.events == clean.events
    fields = [f for f in FIELDS if f != "ref"]
    assert _table(got, fields) == _table(want, fields)


def test_a_sniffer_header_cut_before_its_colon_keeps_its_packet_and_dump():
    """An 80-column window broke v6 headers on a long interface name inside the addresses:
    the header no longer looked like one, so every packet line was unrecognised and no hex
    dump had a header (0 events, IKE903). The cut header is a record, its piece a
    continuation, and the dump under the piece is the packet's."""
    got, got_ingest = _load(LOGS / "bench-v6.wrap80.txt")
    want, want_ingest = _load(LOGS / "bench-v6.excerpt.txt")
    [report], [clean] = got_ingest.inputs, want_ingest.inputs
    assert report.accounting["unrecognised"] == 0 and report.events == clean.events == 15
    fields = [f for f in FIELDS if f != "ref"] + ["iface", "direction", "esp_spi", "payloads"]
    assert _table(got, fields) == _table(want, fields)
    assert _codes(got, got_ingest) == _codes(want, want_ingest)


def test_convert_reads_the_dump_under_a_wrapped_sniffer_header():
    """`convert` (sniffer text → pcapng) found no packet under a wrapped header: the piece
    between the header and its dump left every dump without a header."""
    from datetime import datetime, timezone

    from ikeanalyze.convert import frames_of

    def frames(name):
        data = (LOGS / name).read_bytes()
        f, summary, _ = frames_of(Blob(name, None, data, data[:16]), datetime(2026, 1, 1, tzinfo=timezone.utc), False)
        return f, summary

    got, got_summary = frames("bench-v6.wrap80.txt")
    want, want_summary = frames("bench-v6.excerpt.txt")
    assert len(got) == len(want) == 15
    assert list(got.ts_us) == list(want.ts_us)
    assert [got.data[a:b] for a, b in zip(got.offsets, got.offsets[1:])] == \
        [want.data[a:b] for a, b in zip(want.offsets, want.offsets[1:])]
    assert (got_summary.headers, got_summary.stray_lines) == (want_summary.headers, want_summary.stray_lines)


def clean_events(name: str) -> int:
    return _load(DATA / "ikedebug" / name)[1].inputs[0].events


def test_overlapping_copies_of_one_debug_are_read_once():
    """Two copies out of one scroll-back that overlap: every message in the overlap was
    read twice and looked retransmitted (IKE304 on a healthy tunnel). A stamped debug line
    repeated word for word after the time went back is counted `duplicate`, and said."""
    got, got_ingest = _load(LOGS / "ldap.overlapping-copies.txt")
    want, want_ingest = _load(DATA / "ikedebug" / "IKE_LOG_V1_ldap_working.txt")
    [report] = got_ingest.inputs
    assert report.accounting["duplicate"] == 41 + 10  # the overlap's IKE lines, then its fnbamd lines
    assert any("repeat earlier lines word for word" in w and "from line 121 to 180" in w for w in report.warnings)
    assert any("10 authentication daemon lines from line 181 to 190" in w for w in report.warnings)
    assert report.events == clean_events("IKE_LOG_V1_ldap_working.txt")
    ike = got[got["origin"] == "ikedebug"]
    assert _table(ike, [f for f in FIELDS if f != "ref"]) == \
        _table(want[want["origin"] == "ikedebug"], [f for f in FIELDS if f != "ref"])
    assert _codes(got, got_ingest) == _codes(want, want_ingest) == []


def test_overlapping_copies_of_a_client_stamped_debug_are_read_once():
    """The same, for a debug that prints no time but whose terminal client stamped every
    line: the client's stamp tells the copies apart. Read twice, the overlap's re-sends
    counted 6 sends with a wait of -2.0 s."""
    got, got_ingest = _load(LOGS / "retrans.mobaxterm-overlapping-copies.txt")
    want, want_ingest = _load(LOGS / "retrans.mobaxterm-stamps.txt")
    [report] = got_ingest.inputs
    assert report.accounting["duplicate"] == 21
    assert any("from line 51 to 71" in w and "the terminal client's time stamps included" in w for w in report.warnings)
    assert _table(got, [f for f in FIELDS if f != "ref"]) == _table(want, [f for f in FIELDS if f != "ref"])
    assert _codes(got, got_ingest) == _codes(want, want_ingest)


def test_an_unstamped_debug_pasted_twice_is_read_once():
    """A debug that prints no time, pasted twice with a prompt between: read twice, the
    second copy's SA_INIT to port 500 after the first's NAT-T float looked like a NAT
    mapping change (a false IKE111 root cause) and its sends like retransmissions. The
    `established IKE SA` line of the same SPIs, printed once per SA, tells the copies apart."""
    one = (DATA / "ikedebug" / "IKE_LOG_V2_ph_2_TS_mismatch_initiator.txt").read_bytes()
    want, want_ingest = _load(data=one)
    got, got_ingest = _load(data=one + b"\nFG1 # \n" + one)
    [report] = got_ingest.inputs
    debug_lines = int((want["origin"] == "ikedebug").sum())
    assert report.accounting["duplicate"] >= debug_lines - 2
    assert any("an IKE SA established twice under the same SPIs" in w for w in report.warnings)
    assert _codes(got, got_ingest) == _codes(want, want_ingest)
    assert "IKE111" not in {c for c, _, _ in _codes(got, got_ingest)}


def test_a_second_negotiation_that_prints_the_same_lines_is_no_duplicate():
    """The same negotiation run again prints the same lines but new SPIs: its
    `established IKE SA` line differs, so nothing is taken for a second copy."""
    one = (DATA / "ikedebug" / "IKE_LOG_V2_ph_2_TS_mismatch_initiator.txt").read_bytes()
    again = one.replace(b"c59ac85a384d0bf5", b"d17e0c4b9a2f6e31").replace(b"C59AC85A384D0BF5", b"D17E0C4B9A2F6E31")
    assert again != one and b"established IKE SA d17e0c4b9a2f6e31/" in again
    _, ingest = _load(data=one + b"\nFG1 # \n" + again)
    assert ingest.inputs[0].accounting.get("duplicate", 0) == 0


def test_a_line_printed_twice_in_one_second_is_not_a_duplicate():
    """Without a step back in time, the same stamped line twice is the device's."""
    lines = (LOGS / "local-pwd.cut-mid-stamp.txt").read_text().splitlines()[:-1]
    at = next(i for i, line in enumerate(lines) if " ike " in line and line[:4].isdigit())
    data = ("\n".join(lines[: at + 1] + [lines[at]] + lines[at + 1:]) + "\n").encode()
    _, ingest = _load(data=data)
    assert ingest.inputs[0].accounting["duplicate"] == 0


@pytest.mark.parametrize("variant", ["radius-dns.tab-indented.txt", "radius-dns.markdown-breaks.txt"])
def test_a_margin_a_document_put_on_every_line_leaves_wrapped_records_whole(variant):
    """A wrapped debug pasted into a document: the piece `=0, id=b04c.../...:a9fb71de`
    under `... len=92, vrf` came with the document's tab (or the record with markdown's two
    trailing blanks), the joined record read `vrf\\t=0` (`vrf  =0`), lost its SPIs, and the
    CFG retransmissions no longer made IKE304."""
    got, got_ingest = _load(LOGS / variant)
    want, want_ingest = _load(DATA / "ikedebug" / "IKE_LOG_V1_radius_DNS_Issues.txt")
    assert dict(got_ingest.inputs[0].accounting) == dict(want_ingest.inputs[0].accounting)
    assert _table(got, FIELDS + ["text"]) == _table(want, FIELDS + ["text"])
    assert _codes(got, got_ingest) == _codes(want, want_ingest)
    assert "IKE304" in {code for code, _, _ in _codes(got, got_ingest)}


def _wide_paste(iface: str, between: str) -> bytes:
    """As copied from a 132-column window: an IKE debug whose `in`/`out` hex lines the
    window broke at 132 (the paste's measured terminal width), then the first two packets
    of the bench excerpt with their interface named ``iface`` (headers shorter than 132:
    left whole), and ``between`` printed between the first header and its dump."""
    debug = []
    for line in (DATA / "hexdump" / "IKE_LOG_V2_PSK.txt").read_text().splitlines():
        debug += [line[k : k + 132] for k in range(0, len(line), 132)] or [line]
    packets = [line.replace("wan1_vlan2048", iface) for line in (LOGS / "bench-v6.excerpt.txt").read_text().splitlines()[:93]]
    return ("\n".join(debug + packets[:5] + [between] + packets[5:]) + "\n").encode()


@pytest.mark.parametrize("between", [
    "ike 0: comes 10.3.2.2:500->10.55.3.193:500,ifindex=7,vrf=0....",  # the debug, printed into the sniffer's output
    "first SA_INIT from the client",  # a person's note, no marker
])
def test_a_long_sniffer_header_left_whole_by_a_wide_window_takes_no_piece(between):
    """The text source measured the window (132 columns), read the 84-character header as
    whole and the line under it as a line of its own (an IKE debug event, or unrecognised
    in the books); the dump scan decided again, took that line for the header's wrapped
    piece because the header had 78+ characters, and decoded the dump under it as the
    header's packet. A 75-character header in the same place kept its text event and its
    dump was reported under no header. Now the text source's decision holds for both: the
    line under a header that is not its piece ends the packet (hexdump's rule for any
    other line), whatever the header's length."""
    seen = {}
    for iface in ("wan1", "wan1_vlan2048"):  # headers of 75 and 84 characters
        events, ingest = _load(data=_wide_paste(iface, between))
        [report] = ingest.inputs
        sniff = events[events["origin"] == "sniffer"]
        assert len(sniff) == 2
        first, second = sniff.iloc[0], sniff.iloc[1]
        assert str(first["text"]).endswith(f"{iface} in 10.3.2.2.500 -> 10.55.3.193.500: udp 820")
        # the header's own event, read from its text: no bytes decoded under it
        assert pd.isna(first["exchange"]) and pd.isna(first["ispi"]) and first["length"] == 820
        below = events[events["ref"] == int(first["ref"]) + 1]
        if between.startswith("ike "):
            assert list(below["origin"]) == ["ikedebug"] and list(below["kind"]) == ["ike-received"]
        else:
            assert below.empty and report.accounting["unrecognised"] == 1
        assert "54 hex dump lines under no packet header (or after a lost line), not decoded" in report.warnings
        # the next packet, its dump right under its header, is decoded
        assert (second["exchange"], second["ispi"], second["length"]) == ("SA_INIT", "5534030e5878b49a", 440)
        seen[iface] = (_table(events, [f for f in FIELDS if f != "tunnel"]), dict(report.accounting))
    assert seen["wan1"] == seen["wan1_vlan2048"]


def test_a_putty_session_log_header_is_a_banner():
    """PuTTY's (and KiTTY's) session log starts with its own line: not device output, not
    unrecognised (which raised IKE901 on every PuTTY log)."""
    seed = (ROOT / "samples" / "forticlient-udp-fallback-tcp.txt").read_bytes()
    want, want_ingest = _load(data=seed)
    head = b"=~=~=~=~=~=~=~=~=~=~=~= PuTTY log 2026.02.26 23:17:00 =~=~=~=~=~=~=~=~=~=~=~=\r\n"
    got, got_ingest = _load(data=head + seed)
    [report] = got_ingest.inputs
    assert report.accounting.get("unrecognised", 0) == 0
    assert report.accounting["banner"] == want_ingest.inputs[0].accounting.get("banner", 0) + 1
    assert _codes(got, got_ingest) == _codes(want, want_ingest)


def test_client_times_follow_their_lines_when_formats_interleave():
    """A debug that prints no time, its lines stamped by the terminal client, with a tunnel
    list pasted in the middle: the formats' rows are merged into line order, and each row
    keeps the time of its own line (the merge used to look the client's times up in the
    formats' order, so rows after the list took other lines' times)."""
    import re

    debug = (LOGS / "retrans.mobaxterm-stamps.txt").read_text().splitlines()
    block = (DATA / "state" / "35_tunnel_list_dpd_disabled.txt").read_text().splitlines()
    stamped = [f"[2026-03-04 09:12:0{1 + i % 2}] {line}" for i, line in enumerate(block)]
    lines = debug[:20] + stamped + debug[20:]
    events, ingest = _load(data=("\n".join(lines) + "\n").encode())
    assert ingest.inputs[0].clock == "client"
    assert {"ikedebug", "snapshot"} <= set(events["origin"])
    own = [pd.Timestamp(re.match(r"\[([^\]]+)\]", lines[r - 1]).group(1)) for r in events["ref"]]
    assert list(events["time"]) == own


def test_overlapping_copies_of_a_sniffer_paste_are_read_once():
    """Two copies of one scroll-back that overlap (the seed's lines 1-27, then 16 to the
    end): the overlap's packets were read twice, the peer's last packet cited at its second
    copy. A sniffer line repeated word for word after the time went back is counted
    `duplicate`, and said; the findings are the seed's, with its later lines 12 further on."""
    got, got_ingest = _load(LOGS / "seed.overlapping-copies.txt")
    want, want_ingest = _load(DATA / "seed" / "forticlient-udp-fallback-tcp.paste.txt")
    [report], [clean] = got_ingest.inputs, want_ingest.inputs
    assert report.accounting["duplicate"] == 12
    assert report.events == clean.events == 38
    assert any("12 sniffer lines from line 28 to 39 repeat earlier lines" in w for w in report.warnings)
    fields = [f for f in FIELDS if f != "ref"]
    assert _table(got, fields) == _table(want, fields)

    def messages(events, ingest, shift=0):
        d = api.diagnose(events, ingest)
        return sorted((f.code, re.sub(r"\(line (\d+)\)", lambda m: f"(line {int(m[1]) + shift * (int(m[1]) >= 28)})",
                                      f.message)) for f in [*d.findings, *(s for f in d.findings for s in f.symptoms)])

    assert messages(got, got_ingest) == messages(want, want_ingest, shift=12)
    assert {c for c, _ in messages(got, got_ingest)} >= {"IKE101", "IKE102", "IKE104"}


def test_a_second_sniffer_run_restarting_its_clock_is_no_duplicate():
    """`diagnose sniffer packet` run twice with relative stamps: the second run's clock
    starts again near 0, a step back in time, but it prints other packets: every line is
    read."""
    lines = (DATA / "seed" / "forticlient-udp-fallback-tcp.paste.txt").read_text().splitlines()

    def relative(rows, start):
        base = pd.Timestamp(start)
        out = []
        for line in rows:
            stamp, rest = line[:26], line[26:]
            out.append(f"{(pd.Timestamp(stamp) - base).total_seconds():.6f}{rest}")
        return out

    sniffer = [line for line in lines if line[:4] == "2026"]
    first, second = sniffer[:16], sniffer[16:]  # up to 23:35:32, from 23:39:52
    data = "\n".join(["interfaces=[any]", *relative(first, "2026-02-26 23:17:20"), "",
                      "kvm81 # diagnose sniffer packet any 'port 4500 or port 5500' 4", "interfaces=[any]",
                      *relative(second, "2026-02-26 23:39:50")]) + "\n"
    events, ingest = _load(data=data.encode())
    [report] = ingest.inputs
    assert report.accounting["duplicate"] == 0
    assert report.events == len(sniffer) == int((events["origin"] == "sniffer").sum())
    assert (events["t"].diff() < 0).sum() == 1  # the step back is there


def test_a_sniffer_line_cut_mid_line_is_not_the_tail_of_the_packet_above():
    """The paste ends inside a packet line: with no repeated line width to go by, the piece
    was taken for a terminal wrap of the line above and joined on (`udp 1` read
    `udp 12026-02-26 23:40:12…`: a keepalive counted as ESP, and no IKE902). A piece that
    opens with a whole date and time is a record of its own, cut off."""
    seed = (DATA / "seed" / "forticlient-udp-fallback-tcp.paste.txt").read_text().splitlines()
    lines = seed[:4] + seed[15:27] + [seed[32]]  # the sniffer's lines from 23:34:38 to 23:39:52
    assert all(line[:4] == "2026" for line in lines[4:])
    whole, _ = _load(data=("\n".join(lines) + "\n").encode())
    cut = "\n".join(lines[:-1] + [lines[-1][:62]]).encode()  # `... -> 10.3.`: cut inside an address
    got, ingest = _load(data=cut)
    [report] = ingest.inputs
    assert report.accounting["truncated"] == 1 and report.accounting["continuation"] == 0
    fields = ["ref", "kind", "length", "text"]
    assert _table(got, fields) == _table(whole, fields)[:-1]  # every line above reads as before
    assert "IKE902" in {c for c, _, _ in _codes(got, ingest)}


def test_overlapping_sniffer_copies_joined_at_a_cut_line_are_still_read_once():
    """The first scroll-back ends mid-line and the second starts earlier: the cut piece is
    unrecognised, the packet above it keeps its length, and the overlap is `duplicate`."""
    lines = (DATA / "seed" / "forticlient-udp-fallback-tcp.paste.txt").read_text().splitlines()
    data = ("\n".join(lines[:24] + [lines[24][:45]] + lines[15:]) + "\n").encode()
    got, ingest = _load(data=data)
    [report] = ingest.inputs
    assert report.accounting["unrecognised"] == 1 and report.accounting["duplicate"] == 9
    assert got.loc[got["ref"] == 24, "length"].tolist() == [1]


def test_overlapping_copies_of_a_debug_with_daemon_lines_read_the_daemons_once():
    """Lines 151-250 of an LDAP-unreachable login pasted twice: only the 11 stamped IKE lines
    of the overlap were counted `duplicate`; its ~80 fnbamd lines were read again, and the
    login's failure was cited at the copy of `__ldap_conn_timeout` (line 256, not 179)."""
    lines = (DATA / "ikedebug" / "IKE_LOG_V1_ldap_non_reachable_2.txt").read_text().splitlines()
    got, got_ingest = _load(data=("\n".join(lines[:250] + lines[150:]) + "\n").encode())
    want, want_ingest = _load(DATA / "ikedebug" / "IKE_LOG_V1_ldap_non_reachable_2.txt")
    [report] = got_ingest.inputs
    assert any("authentication daemon lines from line 251 to 350" in w for w in report.warnings)
    assert report.events == want_ingest.inputs[0].events
    assert _table(got[got["ref"] <= 250], FIELDS) == _table(want[want["ref"] <= 250], FIELDS)
    [f] = [f for f in api.diagnose(got, got_ingest).all_findings() if f.code == "IKE208"]
    assert "Failure at 08:48:43.420 (line 179)" in f.message
    assert _codes(got, got_ingest) == _codes(want, want_ingest)


def test_a_note_between_the_halves_of_a_broken_record_is_not_a_cut(tmp_path):
    """A handbook walkthrough broke `sent IKE msg ... vrf=0,` from its `id=...` and put its
    own note between them: the record goes on two lines below, the log is whole (it was
    headlined as cut off, IKE902, over a healthy negotiation)."""
    p = tmp_path / "annotated.txt"
    p.write_text(
        "ike 0:VPN-to-SH:8: sent IKE msg (SA_INIT_RESPONSE): 100.1.1.2:500->200.1.1.2:500, len=424, vrf=0, \n"
        "\n"
        "生成IKE SA和会话秘钥\n"
        "id=0640897749c18520/79d668275e8fab85\n"
        "ike 0:VPN-to-SH:8: established IKE SA 0640897749c18520/79d668275e8fab85\n", encoding="utf-8")
    d = api.analyze([str(p)])
    assert not [w for w in d.ingest.inputs[0].warnings if "truncated" in w]
    assert "IKE902" not in {f.code for f in d.all_findings()}


@pytest.mark.parametrize("paste", [
    DATA / "ikedebug" / "IKE_LOG_V1_ldap_non_working_pswd_1.txt",  # `in`/`out` hex dumps wrapped over lines
    ROOT / "samples" / "bench-dialup-udp-stall-v6.txt",  # sniffer -v6: every packet's hex dump
])
def test_a_paste_quoted_in_a_mail_reply_reads_as_the_paste(paste):
    """`> ` before every line (a mail or forum reply): the wrapped pieces of a hex dump, and
    a sniffer's dump lines, are read without the markers (they were glued into the dump, so
    its IKE messages were not decoded and IKE304 went quiet)."""
    clean = _load(paste)
    quoted = _load(data=b"".join(b"> " + line for line in paste.read_bytes().splitlines(keepends=True)))
    assert _table(quoted[0]) == _table(clean[0])
    assert _codes(*quoted) == _codes(*clean)
    assert "IKE304" in {code for code, _, _ in _codes(*clean)}


def _flowed(text: str, width: int, cut_words: bool = True) -> str:
    """What a mail client sending `format=flowed` (RFC 3676) makes of each line: a greedy
    word wrap at ``width`` that keeps each soft break's blank at the end of its line; a
    word longer than the width (hex) is cut at the width, or with ``cut_words=False`` (as
    most clients do) left whole on a line of its own."""
    out = []
    for line in text.split("\n"):
        cur = ""
        for word in re.findall(r"\s*\S+\s*|\s+", line):
            while cut_words and len(word.rstrip()) > width:  # a long word: cut (a line of its own)
                if cur:
                    out.append(cur)
                    cur = ""
                out.append(word[:width])
                word = word[width:]
            if cur and len(cur) + len(word.rstrip()) > width:
                out.append(cur)
                cur = ""
            cur += word
        out.append(cur)
    return "\n".join(out)


@pytest.mark.parametrize("paste", [DATA / "ikedebug" / "IKE_LOG_passive_mode.txt", DATA / "ikedebug" / "IKE_LOG_V2_net_un.txt",
                                   DATA / "ikedebug" / "IKE_LOG_retrans.txt"])
@pytest.mark.parametrize("width", [72, 80])
def test_a_paste_word_wrapped_by_a_mail_client_reads_as_the_paste(paste, width):
    """A mail client's word wrap breaks lines at blanks short of its width (the terminal
    width test does not see them): `... gateway is in ` / `passive mode` lost IKE209, and
    a wrapped `sent IKE msg` line IKE111 and IKE304. A line ending in a blank, under which
    the next line's first word would not have fitted, is a soft break."""
    clean = _load(paste)
    wrapped = _load(data=_flowed(paste.read_text(), width).encode())
    fields = [f for f in FIELDS if f != "ref"] + ["text"]
    assert _table(wrapped[0], fields) == _table(clean[0], fields)
    assert _codes(*wrapped) == _codes(*clean)


def test_a_record_ending_in_a_blank_keeps_the_prose_under_it() -> None:
    """A blank at a record's end is a soft break only where the next word would not have
    fitted after it: a short record then a sentence are two lines (and one break is chance)."""
    lines = ["ike 0:to-hq:42: sent IKE msg (ident_i1send): 192.0.2.1:500->198.51.100.7:500, len=508, id=aa/bb ",
             "ike 0:to-hq: negotiation timeout, deleting ",
             "Then the tunnel went down."]
    events, ingest = _load(data=("\n".join(lines) + "\n").encode())
    assert ingest.inputs[0].accounting.get("continuation", 0) == 0
    assert ingest.inputs[0].accounting.get("unrecognised") == 1


def test_a_word_wrapped_event_log_keeps_its_records():
    """An event-log record is long by nature, so a piece under it joins only when it holds a
    field (LOG_FIELDS), and an indented line only under a record as indented: a soft break
    (a blank at the end, the next word too long for the line) is its own proof, and the
    piece `not match local policy"` is the record's reason (IKE201 was lost)."""
    log = DATA / "eventlog" / "elastic-syslog-ipsec-sslvpn.log"
    clean = _load(log)
    wrapped = _load(data=_flowed(log.read_text(), 80).encode())
    fields = [f for f in FIELDS if f != "ref"]  # (a field piece joins with a blank: the text may show two)
    assert _table(wrapped[0], fields) == _table(clean[0], fields)
    assert _codes(*wrapped) == _codes(*clean) and "IKE201" in {c for c, _, _ in _codes(*clean)}


@pytest.mark.parametrize("width", [72, 80])
def test_the_seed_word_wrapped_by_a_mail_client_tells_its_story(width):
    """Sniffer headers broken at a blank (`... 10.3.2.150.59641 -> ` / `10.55.3.193.4500: udp
    842`) are packets again. (The paste's notes and its cut-off last line are read otherwise
    when wrapped: the findings about the input itself may differ.)"""
    seed = ROOT / "samples" / "forticlient-udp-fallback-tcp.txt"
    clean = _load(seed)
    wrapped = _load(data=_flowed(seed.read_text(), width).encode())
    fields = [f for f in FIELDS if f not in ("ref", "detail")]
    assert _table(wrapped[0], fields) == _table(clean[0], fields)
    story = [c for c in _codes(*clean) if not c[0].startswith("IKE9")]
    assert [c for c in _codes(*wrapped) if not c[0].startswith("IKE9")] == story
    assert {"IKE102", "IKE104"} <= {c[0] for c in story}


def _quoted(text: str) -> str:
    """A mail reply's quote: `> ` before every line."""
    return "\n".join("> " + line for line in text.split("\n"))


def _terminal(text: str, width: int = 80) -> str:
    """As copied from a terminal window ``width`` columns wide that cuts long lines."""
    out = []
    for line in text.split("\n"):
        while len(line) > width:
            out, line = out + [line[:width]], line[width:]
        out.append(line)
    return "\n".join(out)


@pytest.mark.parametrize("quote", [False, True])
def test_the_seed_flowed_with_a_long_word_left_whole_tells_its_story(quote):
    """A mail client that leaves a word longer than its width whole (the debug's hex line,
    100 characters) on a line of its own: that line is no measure of the wrap width (which
    then read as 100, so no break of the 72-column wrap was found); a reply's `> ` before
    every line is no word of the line below a break."""
    seed = ROOT / "samples" / "forticlient-udp-fallback-tcp.txt"
    clean = _load(seed)
    text = _flowed(seed.read_text(), 70, cut_words=False)
    wrapped = _load(data=(_quoted(text) if quote else text).encode())
    fields = [f for f in FIELDS if f not in ("ref", "detail")]
    assert _table(wrapped[0], fields) == _table(clean[0], fields)
    story = [c for c in _codes(*clean) if not c[0].startswith("IKE9")]
    assert [c for c in _codes(*wrapped) if not c[0].startswith("IKE9")] == story
    assert {"IKE102", "IKE104"} <= {c[0] for c in story}


@pytest.mark.parametrize("how", ["terminal-80", "flowed-72", "flowed-72-quoted"])
def test_a_tcpdump_v_paste_whose_ip_header_line_was_wrapped_reads_as_the_paste(how):
    """`tcpdump -v`'s first line of a packet (`IP (tos 0x0, ttl 64, id 4097, offset 0, flags
    [DF], proto UDP (17), length 870)`, 100 columns) broken inside its parentheses, by a
    terminal mid-word (`..., p` / `roto UDP ...`) or by a mail client at a blank: no line
    of the paste was read at all. The rest joins the line up to its `)`, with the blank a
    mail wrap took and none where a terminal cut a word; the indented line under it, cut at
    the terminal's width before a blank, goes on in the next (indented) line."""
    paste = DATA / "tcpdump_text" / "forticlient-udp-stall.v.txt"
    clean = _load(paste)
    text = paste.read_text()
    text = {"terminal-80": _terminal(text), "flowed-72": _flowed(text, 72),
            "flowed-72-quoted": _quoted(_flowed(text, 70))}[how]
    wrapped = _load(data=text.encode())
    assert wrapped[1].inputs[0].accounting.get("unrecognised", 0) == 0
    # (The evidence of a quoted paste shows the quote marker before the record.)
    fields = [f for f in FIELDS if f != "ref"] + ([] if how.endswith("quoted") else ["text"])
    assert _table(wrapped[0], fields) == _table(clean[0], fields)
    assert _codes(*wrapped) == _codes(*clean)
    assert {"IKE102", "IKE104"} <= {c[0] for c in _codes(*clean)}


def test_a_paste_left_html_escaped_reads_as_the_paste() -> None:
    """A paste from a page's HTML source (or a forum post escaped twice) keeps `-&gt;` for the
    sniffer's and the debug's arrows and `&quot;` for quotes: every packet line was
    unrecognised (no finding at all from the seed). Its entities are undone, and it says so."""
    import html

    seed = ROOT / "samples" / "forticlient-udp-fallback-tcp.txt"
    clean = _load(seed)
    escaped = _load(data=html.escape(seed.read_text(), quote=True).encode())
    fields = FIELDS + ["text"]
    assert _table(escaped[0], fields) == _table(clean[0], fields)
    assert _codes(*escaped) == _codes(*clean)
    assert any("HTML-escaped" in w for w in escaped[1].inputs[0].warnings)
    assert not any("HTML-escaped" in w for w in clean[1].inputs[0].warnings)


def test_an_ampersand_alone_does_not_unescape_a_paste():
    """`R&D` or a URL's `&amp;` is no sign of an escaped paste: the text stays as typed."""
    lines = ["ike 0:R&D-vpn:42: negotiation timeout, deleting", "see https://example.com/?a=1&amp;b=2"]
    events, ingest = _load(data=("\n".join(lines) + "\n").encode())
    assert events["tunnel"].iloc[0] == "R&D-vpn"
    assert not ingest.inputs[0].warnings
    assert ingest.inputs[0].examples[0][1] == lines[1]


NUMBERINGS = {
    "right-aligned": lambda i, line: f"{i + 1:>4}  {line}",
    "bar": lambda i, line: f"{i + 1} | {line}",
    "unaligned": lambda i, line: f"{i + 1} {line}",
    "left-aligned": lambda i, line: f"{i + 1:<4}{line}",
}


@pytest.mark.parametrize("style", list(NUMBERINGS))
@pytest.mark.parametrize("paste", [ROOT / "samples" / "forticlient-udp-fallback-tcp.txt",
                                   DATA / "state" / "35_tunnel_list_dpd_disabled.txt",  # indented lines
                                   DATA / "tcpdump_text" / "sa-init-unanswered.txt"])  # four lines
def test_a_code_view_copied_with_its_line_numbers_reads_as_the_paste(style, paste):
    """A code view that numbers its lines copies the numbers too: the seed gave IKE103 alone,
    a tunnel list nothing (IKE903). Numbers counting up by one before nine lines in ten go,
    the text's own indent stays, and the warning says so."""
    number = NUMBERINGS[style]
    clean = _load(paste)
    numbered = _load(data="\n".join(number(i, line) for i, line in enumerate(paste.read_text().splitlines())).encode())
    assert _table(numbered[0], FIELDS + ["text"]) == _table(clean[0], FIELDS + ["text"])
    assert _codes(*numbered) == _codes(*clean)
    assert _snapshots(*numbered) == _snapshots(*clean)
    assert any("line number" in w for w in numbered[1].inputs[0].warnings)


def test_numbers_that_do_not_count_up_are_the_lines_own():
    """`execute log display` numbers its records `1: date=...` (device output, kept), and
    numbers that do not count up by one are no code view's."""
    log = (DATA / "eventlog" / "sslvpn-login-fail-wrapped.txt").read_bytes()
    events, ingest = _load(data=log)
    assert events["text"].iloc[0].startswith("1: date=")
    lines = [f"{k} ike 0:vpn:{k}: negotiation timeout, deleting" for k in (7, 3, 12, 4, 5, 9)]
    events, ingest = _load(data=("\n".join(lines) + "\n").encode())
    assert not any("line number" in w for w in ingest.inputs[0].warnings)
    assert events.empty or events["text"].iloc[0].startswith("7 ")


@pytest.mark.parametrize("paste", [
    DATA / "ikedebug" / "IKE_LOG_V1_ldap_non_working_pswd_1.txt",  # hex and VID lines a terminal wrapped
    ROOT / "samples" / "bench-dialup-udp-stall-v6.txt",  # sniffer -v6: a hex dump under every packet
    ROOT / "samples" / "forticlient-udp-fallback-tcp.txt",
    DATA / "state" / "handmade_gateway_connecting_initiator.txt",  # a gateway list with its own blank lines
    DATA / "text_public" / "blog_get_vpn_ipsec_tunnel_name_two_sas.txt",  # `get vpn ipsec tunnel name`
    DATA / "state" / "35_tunnel_list_dpd_disabled.txt",
    LOGS / "seed.wrap80.txt",  # sniffer headers a terminal wrapped: read from the joined record
    DATA / "tcpdump_text" / "icmp-refused.v.txt",  # the datagram an ICMP error quotes is no packet
])
def test_a_double_spaced_paste_reads_as_the_paste(paste):
    """A web copy that put a blank line after every line: a wrapped piece's line above is the
    one before the blank (IKE304 was lost: the pieces of the `in`/`out` dumps and the VID
    lines' hex were unrecognised), and a -v6 sniffer's dump lines are read across the blanks
    (IKE301 and IKE304 were lost with the packets' decoded IKE)."""
    clean = _load(paste)
    spaced = _load(data=b"\n\n".join(paste.read_bytes().splitlines()) + b"\n")
    fields = [f for f in FIELDS if f != "ref"] + ["text", "esp_spi", "payloads"]
    assert _table(spaced[0], fields) == _table(clean[0], fields)
    assert _codes(*spaced) == _codes(*clean)
    assert spaced[1].inputs[0].accounting.get("unrecognised", 0) == clean[1].inputs[0].accounting.get("unrecognised", 0)
    assert _snapshots(*spaced) == _snapshots(*clean)  # a blank line after every line ends no block


def test_undoing_html_entities_leaves_bare_ampersands() -> None:
    """Only the entities an escaped paste holds are undone: html.unescape also read the old
    names without `;`, and `&timestamp=2&notify=3` in an fnbamd URL became `×tamp=2¬ify=3`."""
    lines = ["2025-01-10 10:00:00 [123] fnbamd_http_get-GET https://idp.example/saml?x=1&timestamp=2&notify=3",
             "", "ike 0:vpn:1: negotiation timeout, deleting (&quot;vpn&quot; &amp;gt; 3 tries)"]
    events, ingest = _load(data=("\n".join(lines) + "\n").encode())
    assert events["text"].iloc[0].endswith("saml?x=1&timestamp=2&notify=3")
    assert events["text"].iloc[1].endswith('("vpn" &gt; 3 tries)')  # escaped twice: undone once
    assert any("HTML-escaped" in w for w in ingest.inputs[0].warnings)


@pytest.mark.parametrize("variant", ["ipsec-mix.wrap80.txt", "ipsec-mix.wrap80-mail72.txt",
                                     "ipsec-mix.wrap80-mail76.txt"])
def test_a_paste_wrapped_twice_reads_as_the_paste(variant):
    """Copied from an 80-column terminal, then word-wrapped by a mail client at 72 or 76
    (`format=flowed`): a terminal line is the run of pieces the mail broke it into, so no
    single line is as long as the terminal's width. The terminal's cut after the mail's
    piece (`... 203.0.113.45.500 -> ` / `192.0.2.10.500: ` / `udp 220`, `... dec ` /
    `7C3E19A04B5D2F81E0A4C2` / 80 hex digits) was not joined: 19 of 37 events lost (the
    sniffer's packets, the debug's received, sent and established lines, the whole tunnel
    list after `tun_id=10.212` / `.134.1 ...`). The tunnel list's `options[122` / `a8]=npu`
    (cut inside the brackets, a terminal's cut of its own) read `a8]` as a key."""
    got, got_ingest = _load(LOGS / variant)
    want, want_ingest = _load(LOGS / "ipsec-mix.txt")
    [report], [clean] = got_ingest.inputs, want_ingest.inputs
    assert clean.accounting["unrecognised"] == report.accounting["unrecognised"] == 0
    assert report.events == clean.events == 37
    fields = [f for f in FIELDS if f != "ref"]
    assert _table(got, fields) == _table(want, fields)
    assert _snapshots(got, got_ingest) == _snapshots(want, want_ingest)


@pytest.mark.parametrize("variant", ["ipsec-mix.mail72-no-blank.txt", "ipsec-mix.wrap80-mail72-no-blank.txt"])
def test_a_mail_wrap_that_drops_its_blank_joins_where_only_a_rest_can_follow(variant):
    """A mail client that wraps at 72 and drops the blank it broke at leaves no mark of the
    break: the sniffer's headers broken after `->` were packets of no address (`other`), the
    debug's `comes` / `203.0.113.45:4500->...`, `IKEv2 exchange=AUTH` / `id=...`, `sent IKE
    msg` / `(AUTH_RESPONSE): ...`, `established IKE SA` / `SPI/SPI` lost what they say. A
    line that ends where no record ends (an arrow, a comma, a record its rest must follow)
    takes the piece under it, with the blank it lost. A break in a debug's prose (`received
    peer` / `identifier FQDN ...`) has no such mark: its pieces stay apart, and that event
    alone differs."""
    got, got_ingest = _load(LOGS / variant)
    want, want_ingest = _load(LOGS / "ipsec-mix.txt")
    [report] = got_ingest.inputs
    fields = [f for f in FIELDS if f != "ref"]
    got_rows, want_rows = _table(got, fields), _table(want, fields)
    assert len(got_rows) == len(want_rows) == 37
    differ = [w for g, w in zip(got_rows, want_rows) if g != w]
    assert [(w[0], w[-1]) for w in differ] == [("auth", "received peer identifier FQDN 'vpnuser@example.com'")]
    assert _snapshots(got, got_ingest) == _snapshots(want, want_ingest)
    assert not any("hex dump lines under no packet header" in w for w in report.warnings)


def test_a_mail_wrap_without_blanks_leaves_whole_lines_apart():
    """Without the blank a `format=flowed` break keeps, a record and a line under it are a
    break only where the record cannot end there: a whole record above a sentence whose
    first word would not have fitted, and a record ending in a comma above a word that
    would have, stay two lines; the headers broken after `->` are joined."""
    lines = ["2026-03-04 09:12:01.120034 wan1_vlan2048 in 203.0.113.45.500 ->",
             "192.0.2.10.500: udp 220",
             "2026-03-04 09:12:01.121876 wan1_vlan2048 out 192.0.2.10.500 ->",
             "203.0.113.45.500: udp 220",
             "2026-03-04 09:12:31.004512 ike V=root:0:to-hq: negotiation timeout, deleting",
             "Afterwards the peer never answered again.",
             "ike 0:to-hq:42: sent IKE msg (SA_INIT): 192.0.2.1:500->198.51.100.7:500,",
             "ok"]
    events, ingest = _load(data=("\n".join(lines) + "\n").encode())
    [report] = ingest.inputs
    assert [(r.kind, r.src, r.dst, r.length) for r in events[events["origin"] == "sniffer"].itertuples()] == [
        ("ike", "203.0.113.45", "192.0.2.10", 220), ("ike", "192.0.2.10", "203.0.113.45", 220)]
    assert report.accounting["continuation"] == 2
    assert sorted(text for _, text in report.examples) == ["Afterwards the peer never answered again.", "ok"]


@pytest.mark.parametrize("how", ["terminal-80", "terminal-80-mail-72"])
def test_a_typed_sniffer_command_a_wrap_broke_keeps_its_stamp_format(how):
    """`FGT-EDGE # diagnose sniffer packet wan1_vlan2048 'udp port 500 or udp port 4500' 6 0 a`
    (86 columns) cut by the terminal before ` 6 0 a`, or broken again by a mail client:
    the rest of the typed command was unrecognised, and the sniffer run's `a` (UTC stamps
    beside the debug's local time) unseen, so the paste was not warned of its two clocks.
    A typed command's rest is a continuation where a wrap cut it (a width the paste's
    records show, a mail's soft break), and the command is read whole."""
    text = (LOGS / "ipsec-mix.txt").read_text().replace("port 4500' 6 0 l", "port 4500' 6 0 a")
    wrapped = _terminal(text) if how == "terminal-80" else _flowed(_terminal(text), 72, cut_words=False)
    got, got_ingest = _load(data=wrapped.encode())
    want, want_ingest = _load(data=text.encode())
    [report], [clean] = got_ingest.inputs, want_ingest.inputs
    assert report.accounting["unrecognised"] == 0
    assert any("the sniffer run prints UTC (`a`)" in w for w in clean.warnings)
    # The first run's count says 42 packets and the paste holds 2: told in both, at the
    # lines each version puts the run on (a wrap adds lines).
    short = [[w for w in r.warnings if "left out of the paste" in w] for r in (report, clean)]
    assert [w for w in report.warnings if w not in short[0]] == [w for w in clean.warnings if w not in short[1]]
    assert [[re.sub(r"\blines? \d+(?:-\d+)?", "line N", w) for w in told] for told in short] == [
        ["line N: the sniffer run counted 42 packets (line N), the paste holds 2 of them: up to 40 packets were left "
         "out of the paste (a few may not have been printed before it was stopped), so a packet missing from it may "
         "still have crossed the wire"]] * 2
    assert [r.filter for r in report.capture_runs] == [r.filter for r in clean.capture_runs] == [
        "udp port 500 or udp port 4500", "host 2001:db8:5e:91::45"]


def test_a_long_typed_command_with_no_terminal_width_takes_no_line():
    """A command typed at the prompt is no record: with no terminal width the paste's
    records show, a long one (at least WRAP_MIN) does not take the line under it."""
    lines = ["FGT-EDGE # diagnose sniffer packet wan1_vlan2048 'host 198.51.100.7 and udp port 500' 4 0 l",
             "interface wan1_vlan2048 not found, check the name"]
    events, ingest = _load(data=("\n".join(lines) + "\n").encode())
    [report] = ingest.inputs
    assert report.accounting["continuation"] == 0 and report.accounting["prompt"] == 1
    assert [text for _, text in report.examples] == [lines[1]]


def test_a_note_under_a_line_that_starts_with_an_arrow_stays_a_note():
    """An engineer's note under a sniffer line (`-> no answer after this one`) starts with
    an arrow as a header's piece a mail client broke off before its `->` does; the piece
    goes on with the address the arrow leads to, the note with a word: only the piece is
    joined (the notes under the paste's widest lines were read as the packets' text)."""
    notes = ["FGT # diag sni pa port1 'udp port 4500' 4 0 0",
             "01.120034 port1 in 203.0.113.45.500 -> 192.0.2.10.500: udp 220",
             "-> first one from the branch",
             "02.201876 port1 in 203.0.113.45.4500 -> 192.0.2.10.4500: udp 300",
             "-> then it moves to NAT-T",
             "12.301876 port1 out 192.0.2.10.4500 -> 203.0.113.45.4500: udp 88",
             "-> no answer after this one"]
    events, ingest = _load(data=("\n".join(notes) + "\n").encode())
    assert [t.split(": ")[-1] for t in events["text"]] == ["udp 220", "udp 300", "udp 88"]
    assert sorted(text for _, text in ingest.inputs[0].examples) == sorted(notes[2::2])
    pieces = ["2026-03-04 09:12:01.120034 wan1_vlan2048_branch_01 in 203.0.113.45.500",
              "-> 192.0.2.10.500: udp 220",
              "2026-03-04 09:12:01.121876 wan1_vlan2048_branch_012 out 192.0.2.10.500",
              "-> 203.0.113.45.500: udp 220"]
    events, ingest = _load(data=("\n".join(pieces) + "\n").encode())
    assert [(r.kind, r.src, r.dst, r.length) for r in events.itertuples()] == [
        ("ike", "203.0.113.45", "192.0.2.10", 220), ("ike", "192.0.2.10", "203.0.113.45", 220)]
