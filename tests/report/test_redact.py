"""--redact: no original address or name survives in any output, and the diagnosis reads the same.

Inputs: the seed sample (samples/) and FortiGate IKE debug logs from tests/data/ikedebug/
(provenance in tests/data/ikedebug/SOURCES.md): a certificate-auth log (cert subjects and
issuers, a DER_ASN1_DN peer ID, SK_* keys, an e-mail user), an LDAP XAUTH log (device
prompt, user, groups, LDAP server and DNs, FQDNs) and a SAML log (FortiClient UID, HOST=,
e-mail addresses, tenant GUIDs).
"""

from __future__ import annotations

import ipaddress
import json
import re

import pandas as pd
import pytest

from ikeanalyze import api, export
from ikeanalyze.redact import Redactor, redact_strings
from tests.conftest import DATA, SAMPLES, run_cli

SEED = SAMPLES / "forticlient-udp-fallback-tcp.txt"
CERT = DATA / "ikedebug" / "IKE_Log_cert_auth.txt"
LDAP = DATA / "ikedebug" / "IKE_LOG_V1_ldap_working.txt"
SAML = DATA / "ikedebug" / "IKE_LOG_SAML_working.txt"

# Names a reader of these files could tie to a person, a company or a device, picked by
# hand from the files (each is asserted to be in its input, so the list cannot go stale).
NAMES = {
    SEED: ["kvm81"],
    CERT: ["svishal", "Vishal-SubCA", "Vishal-RootCA", "Vito-RootCA", "fgt3.vis.com", "svishal-pc1-ma",
           "D56926D96409BB93E901728EB60CD926",  # SK_ei
           "22FE49F8D2EB0B49184C2ABD0DD08844DA11AF55F9A5733741E189BA4916B12B"],  # SK_ai
    LDAP: ["FortiWiFi-61E", "vito", "labDC-ldap-ITAdmins", "labDC-ldap", "labsrvdc", "fortilab",
           "ikev1ldap"],
    SAML: ["448804186640428B941B1E0748567723", "vito-1", "azure-saml-group", "svishal", "vito@svishal"],
}
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\d)")
GUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")


def _originals(path) -> set[str]:
    raw = path.read_text(errors="replace")
    ips = {ip for ip in IPV4.findall(raw)
           if not ip.startswith(("0.", "255.", "127.")) and all(int(o) < 256 for o in ip.split("."))}
    names = set(NAMES[path])
    missing = [n for n in names if n not in raw]
    assert not missing, f"{path.name} no longer holds {missing}"
    return ips | names | set(GUID.findall(raw))


def _outputs(path, tmp_path) -> dict[str, str]:
    """Every report format and the event exports, redacted (in-process: the CLI wiring has
    its own test below)."""
    d = api.redact(api.analyze([str(path)]))
    out = {fmt: api.render(d, fmt) for fmt in ("json", "html", "markdown", "terminal")}
    table = api.redact_events(api.load([str(path)])[0])
    for fmt in ("csv", "jsonl", "parquet"):
        target = tmp_path / f"events.{fmt}"
        export.write(table, fmt, target)
        out["events-" + fmt] = (target.read_text() if fmt != "parquet"
                                else pd.read_parquet(target).astype(str).to_csv())
    return out


def test_cli_redacts_every_output(tmp_path):
    originals = _originals(SEED)
    html = tmp_path / "r.html"
    runs = [run_cli("analyze", str(SEED), "--redact", "--format", "markdown", "--html", str(html)),
            run_cli("events", str(SEED), "--redact", "--format", "jsonl")]
    for p in runs:
        assert p.returncode == 0, p.stderr.decode()
        text = p.stdout.decode()
        assert text.strip() and not [v for v in originals if v in text]
    page = html.read_text()
    assert "IKE102" in page and not [v for v in originals if v in page]
    assert "10.3.2.150" in api.render(api.analyze([str(SEED)]), "markdown")  # only --redact replaces


@pytest.mark.parametrize("path", [SEED, CERT, LDAP, SAML], ids=lambda p: p.name)
def test_no_original_value_survives(path, tmp_path):
    originals = _originals(path)
    assert len(originals) >= 3
    for fmt, text in _outputs(path, tmp_path).items():
        assert text.strip(), fmt
        leaks = sorted(v for v in originals if v in text)
        assert not leaks, f"{fmt} output still holds {leaks}"


def test_seed_keeps_ports_and_address_kinds():
    d = api.analyze([str(SEED)])
    r = api.redact(d)
    text = json.dumps([f.message for f in r.all_findings()])
    for port in ("59641", "4500", "5500", "58518"):
        assert port in text
    peers = {(f.peer, g.peer) for f, g in zip(d.all_findings(), r.all_findings()) if f.peer}
    assert peers
    for orig, red in peers:
        oip, oport = orig.rsplit(":", 1)
        rip, rport = red.rsplit(":", 1)
        assert oport == rport and oip != rip
        assert ipaddress.ip_address(oip).is_private == ipaddress.ip_address(rip).is_private
        assert oip.split(".")[-1] == rip.split(".")[-1]  # host octet kept


def _shape(text: str) -> str:
    return IPV4.sub("<ip>", text)


@pytest.mark.parametrize("path", [SEED, CERT, LDAP, SAML], ids=lambda p: p.name)
def test_diagnosis_reads_the_same(path):
    d = api.analyze([str(path)])
    r = api.redact(d)
    a, b = d.all_findings(), r.all_findings()
    assert [(f.code, f.severity, f.t_start, len(f.evidence)) for f in a] == \
           [(f.code, f.severity, f.t_start, len(f.evidence)) for f in b]
    assert len(d.timeline) == len(r.timeline)
    # Same sentences with the addresses swapped, and each address always for the same pseudonym.
    mapping: dict[str, str] = {}
    for x, y in [(f.message, g.message) for f, g in zip(a, b)] + [(d.summary, r.summary)] + \
                [(m.text, n.text) for m, n in zip(d.timeline, r.timeline)]:
        assert _shape(x) == _shape(y)
        for o, p in zip(IPV4.findall(x), IPV4.findall(y)):
            assert mapping.setdefault(o, p) == p
    assert len(set(mapping.values())) == len(mapping)  # one pseudonym per address
    if path == SEED:
        assert len(mapping) == 2 and all(o != p for o, p in mapping.items())


def test_events_and_report_use_the_same_pseudonyms():
    d = api.redact(api.analyze([str(SEED)]))
    peer = d.findings[0].peer.rsplit(":", 1)[0]
    assert peer in set(d.events["src"].dropna()) | set(d.events["dst"].dropna())
    assert d.events["text"].str.contains(peer, regex=False).any()


def test_pseudonyms_never_equal_an_input_address():
    # 10.0.0.x is the first pseudonym block for 10/8; an input that uses it pushes it away.
    m = redact_strings(["peer 10.0.0.7 and 10.9.9.9 and 10.0.1.5"])
    out = next(iter(m.values()))
    got = IPV4.findall(out)
    assert not {"10.0.0.7", "10.9.9.9", "10.0.1.5"} & set(got)
    assert len(set(got)) == 3 and all(ip.startswith("10.") for ip in got)


def test_secrets_and_special_addresses():
    # Made-up values in the shapes FortiOS prints (config and `diagnose vpn tunnel list`).
    lines = [
        "    set psksecret ENC Zm9vYmFyYmF6cXV4cXV1eGZvb2Jhcg==",
        "dec: spi=3fe65c76 esp=aes key=16 0123456789abcdef0123456789abcdef",
        "ike 0:p1:14: IKE SA 0bba3c1cc48194fd/b0ca85768f066fbd SK_ei 16:5FD7562838234C82B2FD258570DBCE17",
        "TSi_0 0:0.0.0.0-255.255.255.255:0 mask 255.255.255.0",
        "FG100F (root) # diagnose vpn ike gateway list",
        "ike 0:p1: peer identifier USER_FQDN 'alice@corp.example.org'",
    ]
    m = redact_strings(lines)
    out = "\n".join(m[s] for s in lines)
    for secret in ("Zm9vYmFyYmF6cXV4cXV1eGZvb2Jhcg", "0123456789abcdef0123456789abcdef",
                   "5FD7562838234C82B2FD258570DBCE17", "FG100F", "alice"):
        assert secret not in out
    assert "0.0.0.0-255.255.255.255" in out and "255.255.255.0" in out  # no one's address
    assert "0bba3c1cc48194fd/b0ca85768f066fbd" in out  # SPIs stay: they are how SAs are followed
    assert "psksecret ENC [redacted]" in out


def test_a_name_gets_one_pseudonym_everywhere():
    r = Redactor()
    lines = ["ike 0:ra_0:12: received XAUTH_USER_NAME 'mallory' length 7",
             "[1738] handle_req-Rcvd auth req 799 for mallory in vpn-users opt=0",
             "[353] auth_local-started for mallory"]
    m = redact_strings(lines, r)
    pseudonym = r.names["mallory"]
    assert all(pseudonym in m[s] and "mallory" not in m[s] for s in lines)


def test_device_hostnames_from_prompts_are_redacted():
    """The `device` column and the per-device snapshots hold the prompts' hostnames, which no
    event line holds to learn them from: they are host names all the same."""
    path = DATA / "text_public" / "lab76_ha_members_tunnel_summaries.txt"
    d = api.redact(api.analyze([str(path)]))
    assert sorted(s["device"] for s in d.snapshots) == ["host-1", "host-2"]
    table = api.redact_events(api.load([str(path)])[0])
    assert set(table["device"]) == {"host-1", "host-2"}
