"""Every real IKE debug log gets what an expert reads from it (tests/data/ikedebug/MANIFEST.tsv).

Per log: each `expect` code is reported, no `forbid` code is, and a healthy log
(`expect` = none) produces no warning- or error-level finding at all. `allow` codes are
acceptable extras and are not checked. The manifest is the corpus's own, written from the
logs by hand; several file names are wrong about their content and the manifest is right.

Codes of the IKE1xx/3xx/9xx families belong to another area: when one is not registered
yet, that single expectation is an expected failure naming the code, never a skipped file.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import pytest

import ikeanalyze
from ikeanalyze.rules import REGISTRY

DATA = Path(__file__).resolve().parent.parent / "data" / "ikedebug"
MANIFEST = list(csv.DictReader((DATA / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t"))
MINE = ("IKE2",)  # this area's family; others may not be written yet
LOUD = ("warning", "error", "critical")


@cache
def findings(name: str) -> dict[str, list]:
    d = ikeanalyze.analyze([str(DATA / name)])
    out: dict[str, list] = {}
    for f in d.all_findings():
        out.setdefault(f.code, []).append(f)
    return out


def _cases(column: str) -> list:
    return [pytest.param(row["file"], code, id=f"{row['file']}:{code}")
            for row in MANIFEST for code in row[column].split() if code != "none"]


def _pending(code: str) -> None:
    if code not in REGISTRY and not code.startswith(MINE):
        pytest.xfail(f"{code} is not implemented yet (another area's rule)")


def test_manifest_lists_every_log() -> None:
    logs = {p.name for p in DATA.glob("*.txt")}
    assert logs == {row["file"] for row in MANIFEST}


@pytest.mark.parametrize(("name", "code"), _cases("expect"))
def test_expected_code_is_reported(name: str, code: str) -> None:
    _pending(code)
    got = findings(name)
    assert code in got, f"{name}: {code} missing; got {sorted(got)}"
    for f in got[code]:
        assert f.evidence and all(e.source.endswith(name) for e in f.evidence)


@pytest.mark.parametrize(("name", "code"), _cases("forbid"))
def test_forbidden_code_is_not_reported(name: str, code: str) -> None:
    got = findings(name)
    assert code not in got, f"{name}: false {code}: " + "; ".join(f.message for f in got[code])


@pytest.mark.parametrize("name", [row["file"] for row in MANIFEST if row["expect"].strip() == "none"])
def test_healthy_log_is_quiet(name: str) -> None:
    loud = [f for fs in findings(name).values() for f in fs if f.severity in LOUD]
    assert not loud, f"{name}: " + "; ".join(f"{f.code} {f.severity}: {f.message}" for f in loud)


# What the expert reads, beyond the code: the detail column names the mismatching
# transform, the selectors, the sub-reason. These pin the words a first-line engineer acts on.
DETAILS = [
    ("IKE_LOG_V2_Mismatch.txt", "IKE201", ["ENCR: peer DES_CBC", "INTEGR: peer AUTH_HMAC_MD5_96", "PRF: peer PRF_HMAC_MD5"]),
    ("IKE_LOG_V2_overlay_2_init.txt", "IKE201", ["NO_PROPOSAL_CHOSEN", "AES_CBC-128", "MODP_2048"]),
    ("IKE_SAMPLE_LOG.txt", "IKE201", ["ENCR: peer AES_CBC-256 vs local AES_CBC-128"]),
    ("IKE_LOG_PFS_mismatch.txt", "IKE202", ["PFS: peer offers DH MODP2048/MODP1536, local PFS is disabled",
                                             "PFS: peer has PFS disabled"]),
    ("IKE_LOG_V2_ph_2_TS_mismatch_responder.txt", "IKE203", ["TSi 0:20.0.0.0-20.255.255.255:0", "1.1.1.254"]),
    ("IKE_LOG_V2_ph_2_TS_mismatch_initiator.txt", "IKE203", ["TS_UNACCEPTABLE", "IKE SA itself was established"]),
    ("IKE_LOG_V2_PSK.txt", "IKE204", ["1.1.1.254", "eveS2S"]),
    ("IKE_LOG_peer_id.txt", "IKE206", ["FQDN 'admin'", "DialUp-wan"]),
    ("IKE_LOG_V1_ldap_non_reachable_2.txt", "IKE208", ["ldap-unreachable", '"vito"', "10.21.1.123"]),
    ("IKE_LOG_V1_ldap_non_working_pswd_1.txt", "IKE208", ["bad-credentials", '"vitoo"', "No DN is found"]),
    ("IKE_LOG_V1_local_pwd_non_working_2.txt", "IKE208", ["bad-credentials", '"vpnuserasd"']),
    ("IKE_LOG_V1_radius_DNS_Issues.txt", "IKE208", ["dns-failure", "labsrvdc2.van.fortilab.net"]),
    ("IKE_LOG_V1_radius_not_reachable.txt", "IKE208", ["radius-unreachable", "10.21.1.101"]),
    ("IKE_LOG_pwd_radius_auth_cert.txt", "IKE208", ["radius-group-mismatch", "RADIUS resp code 2"]),
    ("IKE_LOG_SAML_group_attribute_mismatch.txt", "IKE208", ["saml-group-mismatch", "f1c4e338-e6b7-4d16-8290-06559a741274"]),
    ("saml_config_issues.txt", "IKE208", ["saml-config-error"]),
    ("IKE_LOG_V2_policy_not_found.txt", "IKE209", ["No firewall policy", "to-FG2"]),
    ("IKE_LOG_passive_mode.txt", "IKE209", ["passive mode", "eveS2S"]),
    ("IKE_LOG_pwd_psk_mismatch.txt", "IKE212", ["never answered the EAP request", "ra-ipsec"]),
    ("IKE_LOG_SAML_bug_1.txt", "IKE213", ["restarted", "7D7FD05651784A46BB0FD70D405AF731"]),
]


@pytest.mark.parametrize(("name", "code", "words"), DETAILS, ids=[f"{n}:{c}" for n, c, _ in DETAILS])
def test_finding_names_what_the_expert_reads(name: str, code: str, words: list[str]) -> None:
    text = " ".join(f.message for f in findings(name).get(code, []))
    for w in words:
        assert w in text, f"{name} {code}: {w!r} not in {text!r}"


def test_saml_notes_name_each_sub_reason() -> None:
    reasons = {f.facts["reason"] for f in findings("saml_config_issues.txt")["IKE208"]}
    assert reasons == {"saml-config-error", "saml-attribute-mismatch", "saml-signature-invalid", "saml-clock-skew"}


def test_root_cause_groups_its_symptoms() -> None:
    # PSK mismatch (IKE204) explains the same peer's retransmissions and timeouts.
    d = ikeanalyze.analyze([str(DATA / "IKE_LOG_pwd_psk_mismatch.txt")])
    top = d.findings[0]
    assert top.code == "IKE212"
    assert {s.code for s in top.symptoms} >= {"IKE210"}


def test_a_retransmission_across_a_nat_float_names_both_ends_of_each_side() -> None:
    """The client's aggressive-mode message 1 came from :49140 to :500, then from :49204 to
    :4500 after the NAT-T float: IKE304 said `80.215.152.19:49204 re-sent to
    193.248.63.133:500`, the last of one side and the first of the other."""
    told = {f.message.split(" on IKE SA")[0] for f in findings("IKE_LOG_retrans.txt")["IKE304"]}
    assert told == {"80.215.152.19:49140 (then 80.215.152.19:49204) re-sent to 193.248.63.133:500 "
                    "(then 193.248.63.133:4500)",
                    "193.248.63.133:500 (then 193.248.63.133:4500) re-sent to 80.215.152.19:49140"}
