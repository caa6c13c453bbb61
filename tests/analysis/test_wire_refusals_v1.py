"""An IKEv1 Main Mode offer refused on the wire with an Informational carrying
NO-PROPOSAL-CHOSEN (RFC 2408 spells it with hyphens; RFC 7296's IKEv2 name has underscores)."""

from __future__ import annotations

import struct

from ikeanalyze import api
from ikeanalyze.sources import Blob, LoadOptions
from tests.sources import pcapbuild as pb
from tests.wire import ikebuild as ib

GW, PEER = "192.0.2.1", "198.51.100.7"
T0 = 1714550400.0  # 2024-05-01 08:00:00 UTC
ISPI = bytes.fromhex("1122334455667788")
IDENTITY_PROTECTION, INFORMATIONAL_V1 = 2, 5
SA_V1, NOTIFICATION_V1 = 1, 11
NO_PROPOSAL_CHOSEN = 14  # RFC 2408 §3.14.1


def _ike(src: str, dst: str, msg: bytes, ident: int) -> bytes:
    return pb.eth(pb.ipv4(src, dst, 17, pb.udp(500, 500, msg), ident=ident))


def _refused_twice():
    """This side's Main Mode 1 sent twice, 10 s apart, each refused by the peer with an
    Informational carrying NO-PROPOSAL-CHOSEN: the diagnosis."""
    offer = ib.sa_v1([(1, 7), (2, 4), (3, 1), (4, 14)])  # AES, SHA2-256, PSK, group 14
    mm1 = ib.message(ISPI, bytes(8), IDENTITY_PROTECTION, 0, 0, [(SA_V1, offer)], version=0x10)
    notify = struct.pack("!IBBH", 1, 1, 0, NO_PROPOSAL_CHOSEN)  # DOI IPsec, ISAKMP, no SPI
    refusal = ib.message(ISPI, bytes(8), INFORMATIONAL_V1, 0, 0, [(NOTIFICATION_V1, notify)], version=0x10)
    frames = [fr for k in range(2) for fr in ((T0 + 10 * k, _ike(GW, PEER, mm1, 2 * k + 1)),
                                               (T0 + 10 * k + 0.03, _ike(PEER, GW, refusal, 2 * k + 2)))]
    return api.analyze([Blob("v1.pcap", data=pb.pcap(frames))], LoadOptions(local=(GW,)))


def test_an_ikev1_offer_refused_with_no_proposal_chosen_on_the_wire_is_ike201() -> None:
    d = _refused_twice()
    found = [f for f in d.all_findings() if f.code == "IKE201"]
    assert len(found) == 1, [f"{f.code} {f.message}" for f in d.all_findings()]
    assert "198.51.100.7" in found[0].message
    assert "NO-PROPOSAL-CHOSEN" in found[0].message or "NO_PROPOSAL_CHOSEN" in found[0].message


def test_the_peers_refusal_repeated_for_each_retry_is_no_retransmitted_request() -> None:
    """IKEv1 has no response flag: the Informational refusing each re-sent Main Mode 1 is an
    answer, not a request re-sent and left unanswered (IKE304 told it as one)."""
    d = _refused_twice()
    resent = [f for f in d.all_findings() if f.code == "IKE304"]
    assert resent and all("Informational" not in f.message for f in resent), [f.message for f in resent]
    assert all(f.facts["direction"] == "out" for f in resent)  # this side's Main Mode 1, re-sent
