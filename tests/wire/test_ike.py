import struct

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ikeanalyze.errors import WireError
from ikeanalyze.wire import iana
from ikeanalyze.wire.ike import IkeMessage, decode
from tests.wire.ikebuild import message, notify_v2, sa_v1, sa_v2

ISPI = bytes.fromhex("a88875a8198992a6")
RSPI = bytes.fromhex("71be8358efae7663")
ZERO = bytes(8)


def sa_init_request() -> bytes:
    sa = sa_v2([(1, 12, 256), (2, 5, None), (3, 12, None), (4, 14, None)])
    return message(
        ISPI,
        ZERO,
        iana.EXCHANGE_IKE_SA_INIT,
        0x08,
        0,
        [
            (iana.PAYLOAD_SA, sa),
            (iana.PAYLOAD_KE, struct.pack("!HH", 14, 0) + bytes(256)),
            (iana.PAYLOAD_NONCE, bytes(32)),
            (iana.PAYLOAD_NOTIFY, notify_v2(iana.NOTIFY_NAT_DETECTION_SOURCE_IP, bytes(20))),
            (iana.PAYLOAD_NOTIFY, notify_v2(iana.NOTIFY_NAT_DETECTION_DESTINATION_IP, bytes(20))),
            (iana.PAYLOAD_VENDOR_ID, bytes.fromhex("afcad71368a1f1c96b8696fc77570100")),
            (iana.PAYLOAD_VENDOR_ID, bytes.fromhex("b4f01ca951e9da8d0bafbbd34ad3044e")),
            (iana.PAYLOAD_VENDOR_ID, b"unknown-vendor!!"),
        ],
    )


def test_sa_init_request_fields():
    m = decode(sa_init_request())
    assert (m.version, m.exchange, m.exchange_name) == (2, 34, "SA_INIT")
    assert m.initiator is True and m.response is False and m.msg_id == 0
    assert m.ispi == "a88875a8198992a6" and m.rspi == "0" * 16
    assert m.payloads == ("SA", "KE", "Nonce", "N", "N", "V", "V", "V")
    assert m.notify == ("NAT_DETECTION_SOURCE_IP", "NAT_DETECTION_DESTINATION_IP")
    assert m.ke_group == 14
    assert m.vendor_ids == ("RFC 3706 DPD", "Fortinet Endpoint Control", "vid:" + b"unknown-vendor!!".hex())
    (p,) = m.proposals
    assert p.protocol == "IKE"
    assert [(t.type, t.name, t.key_length) for t in p.transforms] == [
        ("ENCR", "AES_CBC", 256),
        ("PRF", "PRF_HMAC_SHA2_256", None),
        ("INTEG", "AUTH_HMAC_SHA2_256_128", None),
        ("DH", "MODP_2048", None),
    ]
    assert m.proposals_summary == "#1 IKE: AES_CBC-256 PRF_HMAC_SHA2_256 AUTH_HMAC_SHA2_256_128 MODP_2048"
    assert m.stopped is None


def test_invalid_ke_response_is_an_error_notify():
    msg = message(ISPI, ZERO, 34, 0x20, 0, [(41, notify_v2(iana.NOTIFY_INVALID_KE_PAYLOAD, b"\x00\x13"))])
    m = decode(msg)
    assert m.response is True and m.initiator is False
    assert m.notify == ("INVALID_KE_PAYLOAD",) and m.notify_errors == ("INVALID_KE_PAYLOAD",)


def test_exchange_43_intermediate_with_sk():
    """IKE_INTERMEDIATE (RFC 9242), which tshark 4.0 prints as 'Unknown 43': checked by hand."""
    sk = bytes(range(48))
    msg = message(ISPI, RSPI, 43, 0x08, 1, [(iana.PAYLOAD_SK, sk)], last_next=iana.PAYLOAD_KE)
    assert msg[18] == 43
    m = decode(msg)
    assert m.exchange == iana.EXCHANGE_IKE_INTERMEDIATE and m.exchange_name == "INTERMEDIATE"
    assert m.payloads == ("SK",) and m.encrypted and m.encrypted_first == "KE"
    assert m.msg_id == 1 and m.stopped is None


def test_skf_fragment_number_and_total():
    body = struct.pack("!HH", 2, 5) + bytes(40)
    m = decode(message(ISPI, RSPI, 35, 0x08, 1, [(iana.PAYLOAD_SKF, body)]))
    assert m.fragment == (2, 5) and m.payloads == ("SKF",) and m.encrypted_first is None
    first = decode(
        message(
            ISPI,
            RSPI,
            35,
            0x08,
            1,
            [(iana.PAYLOAD_SKF, struct.pack("!HH", 1, 5) + bytes(8))],
            last_next=iana.PAYLOAD_IDI,
        )
    )
    assert first.fragment == (1, 5) and first.encrypted_first == "IDi"


def _ts(kind: int, proto: int, ports: tuple[int, int], first: bytes, last: bytes) -> bytes:
    return struct.pack("!BBHHH", kind, proto, 8 + len(first) + len(last), *ports) + first + last


def test_traffic_selectors_in_fortios_form():
    """RFC 7296 §3.13: IPv4 and IPv6 ranges, the whole port range printed as 0 as FortiOS does."""
    v4 = _ts(iana.TS_IPV4_ADDR_RANGE, 0, (0, 65535), bytes([192, 168, 40, 0]), bytes([192, 168, 40, 255]))
    one_port = _ts(iana.TS_IPV4_ADDR_RANGE, 17, (500, 500), bytes([10, 0, 0, 1]), bytes([10, 0, 0, 1]))
    v6 = _ts(iana.TS_IPV6_ADDR_RANGE, 6, (1024, 2048), bytes.fromhex("20010db8" + "00" * 12),
             bytes.fromhex("20010db8" + "ff" * 12))
    m = decode(message(ISPI, RSPI, 36, 0x08, 2, [
        (iana.PAYLOAD_TSI, bytes([2, 0, 0, 0]) + v4 + one_port),
        (iana.PAYLOAD_TSR, bytes([1, 0, 0, 0]) + v6),
    ]))
    assert m.payloads == ("TSi", "TSr") and m.stopped is None
    assert m.selectors == ("TSi 0:192.168.40.0-192.168.40.255:0, 17:10.0.0.1-10.0.0.1:500",
                           "TSr 6:2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff:1024-2048")


def test_a_traffic_selector_of_unknown_type_stops_there():
    bad = _ts(9, 0, (0, 65535), bytes(4), bytes(4))
    m = decode(message(ISPI, RSPI, 36, 0x08, 2, [(iana.PAYLOAD_TSI, bytes([1, 0, 0, 0]) + bad)]))
    assert m.selectors == () and "TSi selector of type 9" in m.stopped


def test_ikev1_main_mode_sa_attributes():
    sa = sa_v1([(1, 7), (14, 256), (2, 4), (3, 1), (4, 14), (11, 1), (12, 28800)])
    msg = message(
        ISPI, ZERO, 2, 0, 0, [(1, sa), (13, bytes.fromhex("4a131c81070358455c5728f20e95452f"))], version=0x10
    )
    m = decode(msg)
    assert m.version == 1 and m.exchange_name == "Identity Protection"
    assert m.initiator is None and m.response is None  # IKEv1 has no ISPI/RSPI flags
    assert m.payloads == ("SA", "VID") and m.vendor_ids == ("RFC 3947 NAT-T",)
    (t,) = m.proposals[0].transforms
    assert t.name == "KEY_IKE" and t.key_length == 256
    assert dict(t.attributes) == {
        "Encryption": "AES-CBC",
        "Key Length": "256",
        "Hash": "SHA2-256",
        "Auth": "PSK",
        "Group": "MODP_2048",
        "Life Type": "seconds",
        "Life Duration": "28800",
    }


def test_ikev1_encrypted_only_first_payload_known():
    msg = struct.pack("!8s8sBBBBII", ISPI, RSPI, 8, 0x10, 32, 0x01, 0x1234, 28 + 32) + bytes(32)
    m = decode(msg)
    assert m.encrypted and m.payload_types == (8,) and m.payloads == ("HASH",) and m.stopped is None


def test_truncated_message_decodes_what_is_there():
    full = sa_init_request()
    m = decode(full[:400])
    assert m.exchange_name == "SA_INIT" and m.payloads[:3] == ("SA", "KE", "Nonce")
    assert m.stopped and "truncated" in m.stopped


def test_payload_length_below_four_stops():
    msg = (
        struct.pack("!8s8sBBBBII", ISPI, ZERO, 33, 0x20, 34, 8, 0, 40)
        + struct.pack("!BBH", 0, 0, 2)
        + bytes(8)
    )
    m = decode(msg)
    assert m.payloads == ("SA",) and "length 2 < 4" in m.stopped


@pytest.mark.parametrize("extra, said", [(1, "1 byte"), (2, "2 bytes")])
def test_what_is_left_past_the_payloads_is_counted_one_or_many(extra, said):
    """A message's bytes after its last payload, after its SK payload, or too few for a
    payload header: `1 byte`, `2 bytes`."""
    last = message(ISPI, ZERO, 34, 8, 0, [(41, notify_v2(16390))])
    after = last[:24] + struct.pack("!I", len(last) + extra) + last[28:] + bytes(extra)
    assert decode(after).stopped == f"offset {len(last)}: {said} after the last payload"
    sk = message(ISPI, ISPI, 35, 8, 1, [(46, bytes(32))], last_next=41)
    after_sk = sk[:24] + struct.pack("!I", len(sk) + extra) + sk[28:] + bytes(extra)
    assert decode(after_sk).stopped == f"offset {len(sk)}: {said} after the encrypted payload"
    # The last payload says another follows (next payload 41), and only ``extra`` bytes do.
    cut = message(ISPI, ZERO, 34, 8, 0, [(41, notify_v2(16390))], last_next=41)
    short = cut[:24] + struct.pack("!I", len(cut) + extra) + cut[28:] + bytes(extra)
    assert decode(short).stopped == f"offset {len(cut)}: payload N header past the end ({said} left)"


def test_short_header_raises_wire_error():
    with pytest.raises(WireError) as exc:
        decode(b"\x00" * 19)
    assert exc.value.offset == 19


@pytest.mark.parametrize("cut", range(20, 28))
def test_a_header_cut_by_the_snapshot_length_still_names_its_message(cut):
    """20 bytes hold the SPIs, next payload, version, exchange and flags; 24 the message ID.
    An IKE_SA_INIT's message ID is 0 by RFC 7296 §2.2 even when its bytes were not captured;
    another exchange's is unknown (None), not made up."""
    init = decode(sa_init_request()[:cut])
    assert (init.exchange_name, init.ispi, init.initiator, init.response) == ("SA_INIT", ISPI.hex(), True, False)
    assert init.msg_id == 0 and init.length is None and init.payloads == ()
    assert init.stopped.startswith(f"offset {cut}: IKE header cut short ({cut} of 28")
    assert ("message ID 0, as the exchange has it" in init.stopped) == (cut < 24)
    auth = struct.pack("!8s8sBBBBII", ISPI, RSPI, 46, 0x20, 35, 0x08, 7, 300)[:cut]
    m = decode(auth)
    assert (m.exchange_name, m.rspi, m.msg_id, m.encrypted) == ("AUTH", RSPI.hex(), 7 if cut >= 24 else None, True)
    m.info()


def _check_total(data: bytes) -> None:
    try:
        m = decode(data)
    except WireError as exc:
        assert len(data) < 20 and exc.offset == len(data)
        return
    assert isinstance(m, IkeMessage)
    assert len(m.payloads) == len(m.payload_types)
    m.info()


@given(st.binary(max_size=2048))
@example(b"\x00" * 28)
@example(bytes(16) + bytes([33, 0x20, 34, 0]) + bytes(4) + struct.pack("!I", 0xFFFFFFFF))
def test_decode_total_on_any_bytes(b):
    _check_total(b)


@given(
    first=st.sampled_from([0, 1, 2, 3, 4, 11, 13, 33, 34, 41, 43, 46, 53, 132, 200]),
    version=st.sampled_from([0x10, 0x20, 0x2C, 0x30]),
    flags=st.integers(0, 255),
    exch=st.integers(0, 255),
    body=st.binary(max_size=1024),
    declared=st.one_of(st.none(), st.integers(0, 4096)),
)
def test_decode_total_on_valid_headers(first, version, flags, exch, body, declared):
    """A real header in front of random payload bytes exercises the chain walker itself."""
    length = 28 + len(body) if declared is None else declared
    _check_total(struct.pack("!8s8sBBBBII", ISPI, RSPI, first, version, exch, flags, 7, length) + body)


@given(st.lists(st.tuples(st.sampled_from([33, 34, 40, 41, 43]), st.binary(max_size=64)), max_size=8))
def test_chain_round_trip(payloads):
    msg = message(ISPI, RSPI, 37, 0x28, 9, payloads)
    m = decode(msg)
    assert m.payload_types == tuple(t for t, _ in payloads)
    assert m.msg_id == 9 and m.response and m.initiator
