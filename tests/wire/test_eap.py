"""EAP packets as fnbamd prints them (RFC 3748 §4, §5.3.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ikeanalyze.errors import WireError
from ikeanalyze.wire import eap
from ikeanalyze.wire.iana import EAP_TYPE_GTC, EAP_TYPE_MS_EAP_AUTHENTICATION, EAP_TYPE_PEAP


def test_a_peap_start_offers_peap() -> None:
    p = eap.parse(bytes.fromhex("01 32 00 06 19 20".replace(" ", "")))
    assert (p.code, p.ident, p.length, p.type, p.offered, p.nak) == (1, 0x32, 6, EAP_TYPE_PEAP, EAP_TYPE_PEAP, None)


def test_a_nak_names_the_methods_the_client_wants_in_its_order() -> None:
    p = eap.parse(bytes.fromhex("02320007031a06"))
    assert p.offered is None and p.nak == (EAP_TYPE_MS_EAP_AUTHENTICATION, EAP_TYPE_GTC)


def test_an_identity_request_offers_no_method_and_a_failure_has_no_type() -> None:
    assert eap.parse(bytes.fromhex("0101000501")).offered is None
    f = eap.parse(bytes.fromhex("04320004"))
    assert (f.code, f.type, f.offered, f.nak) == (4, None, None, None)


@pytest.mark.parametrize("raw", ["0132", "01320003", "01320004"])
def test_a_short_packet_is_a_wire_error(raw: str) -> None:
    with pytest.raises(WireError):
        eap.parse(bytes.fromhex(raw))


@given(st.binary(max_size=64))
def test_parse_is_total(b: bytes) -> None:
    """A packet or a WireError with an offset inside the bytes, never another exception."""
    try:
        p = eap.parse(b)
    except WireError as e:
        assert 0 <= e.offset <= len(b)
        return
    assert p.length >= 4 and (p.type is None) == (p.code not in (1, 2))
