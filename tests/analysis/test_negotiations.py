"""analysis/negotiations.py: which negotiation a debug line without a serial speaks for."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ikeanalyze import api
from ikeanalyze.analysis import negotiations as ng
from ikeanalyze.sources import Blob

# Two dial-up peers negotiating at once with two gateways, in the lines FortiOS prints for
# an IKEv1 aggressive-mode responder (tests/data/ikedebug_public/ikev1-aggressive-peer-
# id-mismatch.txt): VPN-to-SH refuses its peer's ID at gateway level (line 9, no serial)
# while VPN-to-BJ's negotiation, started later, is still running and then comes up.
TWO_GATEWAYS = """\
ike 0: comes 200.1.1.2:500->100.1.1.2:500,ifindex=10,vrf=0....
ike 0: IKEv1 exchange=Aggressive id=e6280452ac6300c3/0000000000000000 len=720 vrf=0
ike 0:e6280452ac6300c3/0000000000000000:24: responder: aggressive mode get 1st message...
ike 0:VPN-to-SH:24: peer identifier IPV4_ADDR 200.1.1.2
ike 0: comes 198.51.100.7:500->100.1.1.2:500,ifindex=10,vrf=0....
ike 0: IKEv1 exchange=Aggressive id=0a1b2c3d4e5f6071/0000000000000000 len=720 vrf=0
ike 0:0a1b2c3d4e5f6071/0000000000000000:25: responder: aggressive mode get 1st message...
ike 0:VPN-to-BJ:25: peer identifier FQDN 'bj-fgt'
ike 0:VPN-to-SH: ignoring IKE request, incorrect ID.
ike 0:VPN-to-SH:24: negotiation failure
ike Negotiate ISAKMP SA Error: ike 0:VPN-to-SH:24: no SA proposal chosen
ike 0:VPN-to-BJ:25: established IKE SA 0a1b2c3d4e5f6071/9a8b7c6d5e4f3021
"""


def _load(text: str):
    data = text.encode()
    return api.load([Blob("two-gateways.txt", None, data, data[:16])])


def test_a_serial_less_line_speaks_for_the_running_negotiation_of_its_gateway() -> None:
    events, _ = _load(TWO_GATEWAYS)
    serial = lambda found: [None if n is None else n.serial for n in found]  # noqa: E731
    # line 9: both are running (24 from line 1, 25 from line 5); its gateway picks
    assert serial(ng.running(events, "two-gateways.txt", [9, 9], ["VPN-to-SH", "VPN-to-BJ"])) == [24, 25]
    # a line naming no gateway: the latest started of the running ones
    assert serial(ng.running(events, "two-gateways.txt", [9], [None])) == [25]
    # before any negotiation started, after its gateway's finished (24 ends at line 11), another source
    assert serial(ng.running(events, "two-gateways.txt", [0, 12, 12], ["VPN-to-SH", "VPN-to-SH", "VPN-to-BJ"])) == [None, None, 25]
    assert serial(ng.running(events, "other.txt", [9], [None])) == [None]


def test_a_refused_peer_id_is_told_with_the_negotiation_of_its_own_gateway() -> None:
    """IKE206 took the negotiation whose lines surround the gateway-level rejection,
    whichever gateway: VPN-to-BJ's, which came up, so the refusal read as recovered and no
    finding was made (nor IKE201: the generic `no SA proposal chosen` after it was dropped
    as the rejection's consequence). The rejection is VPN-to-SH's; its peer and the
    identifier it presented are told."""
    events, ingest = _load(TWO_GATEWAYS)
    found = {f.code: f for f in api.diagnose(events, ingest).findings}
    assert set(found) == {"IKE206"}
    f = found["IKE206"]
    assert (f.tunnel, f.peer) == ("VPN-to-SH", "200.1.1.2:500")
    assert "presented peer identifier IPV4_ADDR 200.1.1.2" in f.message and "line 9" in f.message
    assert [e.ref for e in f.evidence] == [4, 9]


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 15)), max_size=12),
       st.lists(st.integers(0, 60), max_size=12))
def test_the_sweep_picks_the_latest_started_span_that_holds_the_line(spans, refs) -> None:
    spans = sorted(((a, a + d) for a, d in spans), key=lambda s: s[0])
    first = np.array([a for a, _ in spans], dtype=np.int64)
    last = np.array([b for _, b in spans], dtype=np.int64)
    got = ng._latest_running(first, last, np.array(refs, dtype=np.int64)).tolist()
    want = []
    for r in refs:
        holding = [k for k, (a, b) in enumerate(spans) if a <= r <= b]
        want.append(max(holding, key=lambda k: (spans[k][0], -k)) if holding else -1)
    assert got == want


# A paste that prints no IKE SA serial on any line (guides and blogs trim them): gateway
# GW-A negotiates twice (a new initiator SPI at line 4), GW-B once, interleaved.
WITHOUT_SERIALS = """\
ike 0:GW-A: comes 203.0.113.5:500->198.51.100.2:500,ifindex=5....
ike 0:GW-A: IKEv2 exchange=SA_INIT id=1111aaaa2222bbbb/0000000000000000 len=340
ike 0:GW-B: IPsec SA connect 5 198.51.100.2->192.0.2.77:0
ike 0:GW-A: comes 203.0.113.5:500->198.51.100.2:500,ifindex=5....
ike 0:GW-A: IKEv2 exchange=SA_INIT id=3333cccc4444dddd/0000000000000000 len=340
ike 0:GW-B: sent IKE msg (SA_INIT): 198.51.100.2:500->192.0.2.77:500, len=300, id=5555eeee6666ffff/0000000000000000
ike 0:GW-A: no SA proposal chosen
"""


def test_a_paste_without_serials_has_its_negotiations_told_apart_by_gateway_and_spi() -> None:
    events, _ = _load(WITHOUT_SERIALS)
    negs = ng.negotiations(events)
    told = [(n.tunnel, n.peer, n.ispi, n.column("ref").tolist(), n.numbered) for n in negs]
    assert told == [("GW-A", "203.0.113.5:500", "1111aaaa2222bbbb", [1, 2], False),  # in order of first lines
                    ("GW-B", "192.0.2.77:500", "5555eeee6666ffff", [3, 6], False),
                    ("GW-A", "203.0.113.5:500", "3333cccc4444dddd", [4, 5, 7], False)]
    assert len({n.serial for n in negs}) == 3 and all(n.serial < 0 for n in negs)


def test_a_paste_with_serials_keeps_them() -> None:
    events, _ = _load(TWO_GATEWAYS)
    assert [(n.serial, n.numbered) for n in ng.negotiations(events)] == [(24, True), (25, True)]


def test_an_esp_error_of_what_arrived_does_not_name_the_peer() -> None:
    """`invalid ESP ... src->dst` carries this side's address as `dst`: as a `sent` line it
    made 203.0.113.20, the FortiGate itself, the negotiation's peer (IKE210 named it)."""
    events, _ = _load(
        "ike 0:to-branch9:12: invalid ESP 1 (HMAC) SPI 8c41d2a7 seq 00000a1f 9  198.51.100.77->203.0.113.20\n"
        "ike 0:to-branch9:12: sent IKE msg (CREATE_CHILD): 203.0.113.20:4500->198.51.100.77:4500, len=300, "
        "id=5e1f0c2d3b4a6978/a1b2c3d4e5f60718:00000009\n"
        "ike 0:to-branch9:12: invalid ESP 1 (HMAC) SPI 8c41d2a7 seq 00000a2d 9  198.51.100.77->203.0.113.20\n")
    [n] = ng.negotiations(events)
    assert n.peer == "198.51.100.77:4500"


def test_two_clients_of_one_gateway_interleaved_without_serials_stay_two_negotiations() -> None:
    """SPIs A, B, then A again on one dial-up gateway: A's later lines rejoin A (they made a
    third negotiation)."""
    events, _ = _load(
        "ike 0:DIAL: comes 203.0.113.10:500->198.51.100.2:500,ifindex=5....\n"
        "ike 0:DIAL: IKEv2 exchange=SA_INIT id=1111aaaa2222bbbb/0000000000000000 len=340\n"
        "ike 0:DIAL: comes 203.0.113.20:500->198.51.100.2:500,ifindex=5....\n"
        "ike 0:DIAL: IKEv2 exchange=SA_INIT id=3333cccc4444dddd/0000000000000000 len=340\n"
        "ike 0:DIAL: no SA proposal chosen\n"
        "ike 0:DIAL: sent IKE msg (SA_INIT_RESPONSE): 198.51.100.2:500->203.0.113.10:500, len=340, "
        "id=1111aaaa2222bbbb/9b07c1e5a3d2f468\n")
    told = [(n.ispi, n.peer, n.column("ref").tolist()) for n in ng.negotiations(events)]
    assert told == [("1111aaaa2222bbbb", "203.0.113.10:500", [1, 2, 6]),
                    ("3333cccc4444dddd", "203.0.113.20:500", [3, 4, 5])]


REFUSED_HERE = "tests/rules/fixtures/IKE201/fires-pcap-no-proposal-chosen-local-responder/input.pcap"


def test_ike201_reads_the_sides_without_writing_into_the_kept_failures() -> None:
    """The Failures `proposal_failures` keeps are shared by every rule asking about the
    table; the sides a capture's refusal is read with depend on one analysis's `--local`.
    IKE201 used to write `peer`/`refused_here` into the kept Failure, so a second context
    on the same table (other options) was told the first one's sides."""
    from ikeanalyze import rules
    from ikeanalyze.analysis.context import Context

    events, ingest = api.load([REFUSED_HERE])
    kept = ng.proposal_failures(events)
    before = [(f.peer, f.refused_here) for f in kept]
    assert before and not any(here for _, here in before)

    def told(local: tuple[str, ...]) -> list[str]:
        ctx = Context(events, ingest, local)
        return [f.message for f in rules.run(ctx, rules.select(["IKE201"]), rules.thresholds_for({}))]

    mine = told(("198.51.100.2",))
    assert any("This side refused the phase-1 proposals of 192.0.2.1:500" in m for m in mine)
    assert ng.proposal_failures(events) is kept  # the same kept view, not rebuilt
    assert [(f.peer, f.refused_here) for f in kept] == before
    # The other side as local: the peer refused what this side offered, as a fresh table tells it.
    theirs = told(("192.0.2.1",))
    assert not any("This side refused" in m for m in theirs)
    fresh, fresh_ingest = api.load([REFUSED_HERE])
    ctx = Context(fresh, fresh_ingest, ("192.0.2.1",))
    assert theirs == [f.message for f in rules.run(ctx, rules.select(["IKE201"]), rules.thresholds_for({}))]
