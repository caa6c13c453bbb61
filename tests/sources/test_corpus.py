"""Every real corpus file (tests/data/ikedebug, tests/data/sniffer) is read with no lost record.

For each file: the accounting sums to its line count, and the lines left `unrecognised`
are exactly the ones listed here, each of which is genuinely none of the known forms
(URLs and notes typed into the paste, ssh client warnings, `config ... end` blocks shown
with `show`, a CLI error message). The other tests pin the messy forms the corpus holds:
wrapped hex and wrapped long lines, glued prompts and typed keys, mixed `ike 0:` /
`ike V=root:0:` prefixes, fnbamd and samld lines, samld XML dumps and FCT data blocks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ikeanalyze import ingest
from ikeanalyze.api import load

DATA = Path(__file__).resolve().parent.parent / "data"


# file -> the 1-based line numbers that are honestly unrecognised, with what they are.
UNRECOGNISED: dict[str, list[int]] = {
    "ikedebug/IKE_LOG_PFS_mismatch.txt": [],
    "ikedebug/IKE_LOG_SAML_bug_1.txt": [1],  # the article URL the author pasted on top
    # (its `config user saml` ... `end` printed by `show`: `config` events)
    "ikedebug/IKE_LOG_SAML_group_attribute_mismatch.txt": [],
    "ikedebug/IKE_LOG_SAML_working.txt": [],
    # (the CLI's reply after `vpn ike gateway list name`, typed without its prompt: `banner`)
    "ikedebug/IKE_LOG_SAML_working_2.txt": [],
    "ikedebug/IKE_LOG_V1_ldap_non_reachable_2.txt": [],
    "ikedebug/IKE_LOG_V1_ldap_non_working_pswd_1.txt": [],
    "ikedebug/IKE_LOG_V1_ldap_non_working_pswd_2.txt": [],
    "ikedebug/IKE_LOG_V1_ldap_working.txt": [],
    "ikedebug/IKE_LOG_V1_local_pwd_non_working_2.txt": [],
    "ikedebug/IKE_LOG_V1_local_pwd_working copy.txt": [],
    "ikedebug/IKE_LOG_V1_radius_DNS_Issues.txt": [],
    # `s`: the tail of an echoed `config sys glo` wrapped by the terminal; then a config block
    # (the `s` echoed under the typed `config sys glo`: a `prompt` line; its `config system
    # global` block after `sh`: `config` events)
    "ikedebug/IKE_LOG_V1_radius_not_reachable.txt": [],
    "ikedebug/IKE_LOG_V2.txt": [],
    "ikedebug/IKE_LOG_V2_Mismatch.txt": [],
    "ikedebug/IKE_LOG_V2_PSK.txt": [],
    "ikedebug/IKE_LOG_V2_Partial_selector.txt": [],
    "ikedebug/IKE_LOG_V2_net_un.txt": [],
    "ikedebug/IKE_LOG_V2_overlay_2_init.txt": [],
    "ikedebug/IKE_LOG_V2_ph_2_TS_mismatch_initiator.txt": [],
    "ikedebug/IKE_LOG_V2_ph_2_TS_mismatch_responder.txt": [],
    "ikedebug/IKE_LOG_V2_policy_not_found.txt": [],
    "ikedebug/IKE_LOG_passive_mode.txt": [],
    "ikedebug/IKE_LOG_peer_id.txt": [],
    "ikedebug/IKE_LOG_pwd_psk_mismatch.txt": [],
    "ikedebug/IKE_LOG_pwd_radius_auth_cert.txt": [],
    "ikedebug/IKE_LOG_retrans.txt": [],  # (its `Connected`, the GUI's CLI console's first line, is a banner)
    "ikedebug/IKE_Log_cert_auth.txt": [],
    # a hex fragment after two blank lines whose `in/out` head the compiler of this file cut
    # away (nothing says which message it belongs to); its `Connected` (line 963) is a banner
    "ikedebug/IKE_Log_combined_all.txt": [1448],
    "ikedebug/IKE_SAMPLE_LOG.txt": [],
    "ikedebug/saml_config_issues.txt": [],
    "sniffer/30_sniffer_v6_abs_terminal_noise.txt": [],
    # bash's `(reverse-i-search)` garbled by backspaces, ssh's warning, `Connection ... closed.`
    # (ssh's "REMOTE HOST IDENTIFICATION HAS CHANGED" box and notes, its `Connection to ...
    # closed.` and bash's reverse search: terminal noise, banner and prompt lines)
    "sniffer/31_sniffer_v5_any_relative.txt": [],
    "sniffer/32_sniffer_v1_relative_noiface.txt": [],
}


def test_every_corpus_file_is_listed() -> None:
    on_disk = {f"{p.parent.name}/{p.name}" for d in ("ikedebug", "sniffer") for p in (DATA / d).glob("*.txt")}
    assert on_disk == set(UNRECOGNISED)


@pytest.fixture(autouse=True)
def _all_examples(monkeypatch):
    # Keep every unrecognised line, not the first five the report shows.
    monkeypatch.setattr(ingest, "MAX_EXAMPLES", 1_000_000)


def _load(name: str):
    events, rep = load([str(DATA / name)])
    return events, rep.inputs[0]


@pytest.mark.parametrize("name", sorted(UNRECOGNISED))
def test_no_lost_record(name: str) -> None:
    events, rep = _load(name)
    lines = (DATA / name).read_bytes().replace(b"\r\n", b"\n").count(b"\n")
    assert rep.total >= lines  # a bare CR (terminal logs) ends a line too
    assert sum(rep.accounting.values()) == rep.total, rep.accounting
    assert [ref for ref, _ in rep.examples] == UNRECOGNISED[name]
    assert rep.accounting.get("unrecognised", 0) == len(UNRECOGNISED[name])
    # Every event points at a line of the file, and every record line is an event.
    assert events["ref"].between(1, rep.total).all()
    assert events["ref"].nunique() == rep.accounting["event"]


def _row(events, ref: int, i: int = 0):
    rows = events[events["ref"] == ref]
    assert len(rows), f"line {ref} is no event"
    return rows.iloc[i]


def test_wrapped_long_line_joins_its_record() -> None:
    # `... len=9` / `80, vrf=0, id=...`: the terminal cut `len=980` in two.
    events, rep = _load("ikedebug/IKE_Log_cert_auth.txt")
    sent = _row(events, 647)
    assert sent.kind == "ike-sent" and sent.length == 980
    assert sent.ispi == "7a5b8d45049ce723" and sent.msg_id == 1
    assert 648 not in set(events["ref"])
    # `OSPFv3 debugging status:` after a long record line is not a wrap: the line above is
    # not as wide as this terminal (138), so it is the `diagnose debug info` banner.
    assert rep.accounting["banner"] == 7


def test_wrapped_hex_joins_its_dump() -> None:
    events, _ = _load("ikedebug/IKE_Log_cert_auth.txt")
    out = _row(events, 632)
    assert out.kind == "ike-hex" and out.direction == "out"
    assert "CDAB87E71ADA7739929B98A590BCC2D2537970F2626D962F4C105B21C43A63ECD2AA506BD5EF4D77A945C30E0" in out.text
    assert not set(range(633, 647)) & set(events["ref"])


def test_glued_prompt_and_typed_keys_are_events() -> None:
    events, _ = _load("ikedebug/IKE_LOG_SAML_working_2.txt")
    comes = _row(events, 759)  # `FortiWiFi-61E # ike V=root:0: comes ...`
    assert comes.kind == "ike-received" and comes.src == "10.21.4.181" and comes.dport == 500
    events, _ = _load("ikedebug/IKE_LOG_V1_radius_not_reachable.txt")
    rad = _row(events, 375)  # ` de2025-01-20 14:31:38 [730] __rad_conn_timeout-Connction ...`
    assert rad.origin == "authd" and rad.kind == "authd" and rad.detail == "__rad_conn_timeout"
    assert str(rad.time) == "2025-01-20 14:31:38"


def test_typed_keys_inside_debug_lines() -> None:
    # IKE_LOG_V2_PSK: `de di` typed while the debug ran.
    events, rep = _load("ikedebug/IKE_LOG_V2_PSK.txt")
    assert rep.accounting.get("unrecognised", 0) == 0
    assert (events["text"].str.contains("PSK auth failed: probable pre-shared key mismatch")).any()


def test_mixed_prefixes_in_one_log() -> None:
    events, _ = _load("ikedebug/IKE_LOG_V2_PSK.txt")
    text = events["text"].astype(str)
    assert text.str.contains(r"^ike V=root:0:").any() and text.str.contains(r"^ike 0:").any()
    # Both forms name the same VDOM index and tunnel.
    hexes = events[events["kind"] == "ike-hex"]
    assert len(hexes) == 6 and hexes["text"].str.contains("ike 0:", regex=False).all()
    assert (hexes["vdom"] == "0").all() and set(hexes["tunnel"].dropna()) == {"eveS2S"}
    # `iike 0: in ...`: a typed `i` glued before the record.
    typed = events[events["text"].str.startswith("iike 0: in ")]
    assert len(typed) == 1 and typed.iloc[0].kind == "ike-hex"


def test_fnbamd_and_samld_lines_are_authd_events() -> None:
    events, _ = _load("ikedebug/IKE_LOG_V1_ldap_non_working_pswd_1.txt")
    fn = events[events["text"].str.contains("__ldap_next_state-No DN is found.", regex=False)]
    assert len(fn) == 1 and fn.iloc[0].origin == "authd" and fn.iloc[0].kind == "authd"
    assert fn.iloc[0].detail == "__ldap_next_state"
    events, _ = _load("ikedebug/IKE_LOG_pwd_radius_auth_cert.txt")
    hexline = _row(events, 439)  # `fnbamd_dbg_hex_pnt[50] EAP msg from client (43)-02 64 ...`
    assert hexline.kind == "authd" and hexline.detail == "fnbamd_dbg_hex_pnt"
    events, _ = _load("ikedebug/saml_config_issues.txt")
    sslvpn = _row(events, 23)  # `[22973:root:1ee]fsv_saml_login_response:509 No group info ...`
    assert sslvpn.kind == "authd" and sslvpn.detail == "fsv_saml_login_response"
    garbled = _row(events, 18)  # garbled bytes before `samld_send_common_reply [122]:`
    assert garbled.kind == "authd" and "unknown to #LassoServer" in garbled.text


def test_samld_dump_is_a_continuation_of_its_record() -> None:
    events, rep = _load("ikedebug/IKE_LOG_SAML_bug_1.txt")
    refs = set(events["ref"])
    # `__samld_sp_create_auth_req [453]:` then `**** AuthnRequest URL ****`, the URL over
    # nine lines, `*****`: one record.
    head = _row(events, 98)
    assert head.kind == "authd" and head.detail == "__samld_sp_create_auth_req"
    assert not set(range(99, 110)) & refs
    # The XML a daemon restart cut mid-line: the fnbamd line glued to it is an event.
    glued = _row(events, 247)
    assert glued.kind == "authd" and glued.detail == "__fnbamd_register_new_ha_events"
    assert str(glued.time) == "2024-09-25 15:44:58"


def test_fct_data_block_is_a_continuation() -> None:
    events, _ = _load("ikedebug/IKE_LOG_pwd_psk_mismatch.txt")
    rec = events[events["text"].str.contains("received FCT data len", regex=False)]
    assert len(rec) == 1
    ref = int(rec.iloc[0].ref)
    assert not set(range(ref + 1, ref + 10)) & set(events["ref"])  # FCTVER= ... REG_STATUS=0 ... '


def test_sniffer_corpus_packets() -> None:
    events, rep = _load("sniffer/30_sniffer_v6_abs_terminal_noise.txt")
    assert rep.accounting["event"] == 23 and rep.accounting["hexdump"] == 137
    assert (events["origin"] == "sniffer").all() and events["direction"].isna().all()  # `wan1 --`
    events, rep = _load("sniffer/32_sniffer_v1_relative_noiface.txt")
    # 21 ARP lines and 7 SSDP, DHCPv6 and NetBIOS datagrams: the datagrams are other traffic.
    assert rep.accounting["event"] == 21 and rep.accounting["other-traffic"] == 7 and events["iface"].isna().all()
