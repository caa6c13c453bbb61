"""The headline (diagnosis.summarize): what it names, and how."""

from __future__ import annotations

from ikeanalyze.diagnosis import Finding, counted, summarize
from ikeanalyze.ingest import IngestReport


def _p1(peer: str | None, tunnel: str | None) -> Finding:
    return Finding(code="IKE201", name="p1-proposal-mismatch", severity="error",
                   title="Phase-1 proposals do not match", message=f"mismatch with {peer or tunnel}.",
                   fix="", peer=peer, tunnel=tunnel)


def test_a_finding_without_a_peer_is_named_as_its_gateway_among_peers() -> None:
    """IKE_Log_combined_all's IKEv1 mismatch names no address, only gateway `ipsec`: the
    headline said "the same for 2 other peers: 192.0.2.7, ipsec", as if `ipsec` were a host."""
    text = summarize([_p1("198.51.100.2:500", "to-hq"), _p1("192.0.2.7:500", "dialup"), _p1(None, "ipsec")],
                     IngestReport(inputs=[]))
    assert text.endswith("Also: the same for 2 other peers: 192.0.2.7, gateway ipsec.")


def test_a_count_of_one_takes_the_singular() -> None:
    """`1 retransmissions in all`, `1 time(s)`: a count and its noun as a message prints them."""
    assert [counted(n, "time") for n in (0, 1, 2)] == ["0 times", "1 time", "2 times"]
    assert counted(1, "echo reply", "echo replies") == "1 echo reply"
    assert counted(3, "echo reply", "echo replies") == "3 echo replies"
    assert counted(2, "other phase 2") == "2 other phase 2s"


def test_one_more_finding_of_the_same_code_is_singular() -> None:
    top, other = _p1("192.0.2.7:500", "vpn1"), _p1("192.0.2.7:500", "vpn1")
    assert summarize([top, other], IngestReport()).endswith("Also: 1 more IKE201 finding of the same peer.")


def test_another_codes_title_keeps_its_protocol_names() -> None:
    """icmp-refused.txt's headline read "Also: IKE105 ike_sa_init unanswered: …": the whole
    title lower-cased. Only a first word that is no protocol name loses its capital."""
    sa_init = Finding(code="IKE105", name="sa-init-unanswered", severity="error",
                      title="IKE_SA_INIT unanswered: nothing comes back", message="m.", fix="",
                      peer="192.0.2.1:500")
    dpd = Finding(code="IKE301", name="dpd-failure", severity="error",
                  title="Dead peer detection failed: probes go unanswered", message="m.", fix="",
                  peer="192.0.2.9:4500")
    text = summarize([_p1("198.51.100.2:500", "to-hq"), sa_init, dpd], IngestReport())
    assert text.endswith("Also: IKE105 IKE_SA_INIT unanswered: nothing comes back (192.0.2.1); "
                         "IKE301 dead peer detection failed: probes go unanswered (192.0.2.9).")
