import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ikeanalyze.errors import WireError
from ikeanalyze.wire import esp, natt


def test_classify_rfc3948_forms():
    assert natt.classify(b"\xff") == "nat-keepalive"
    assert natt.classify(b"\x00\x00\x00\x00" + bytes(28)) == "ike"
    assert natt.classify(bytes.fromhex("f4dc0ae5") + bytes(12)) == "esp"
    assert natt.classify(b"\xff\xff") == "esp"
    assert natt.ike_payload(b"\x00\x00\x00\x00abc") == b"abc"


def test_esp_header():
    assert esp.header(struct.pack("!II", 0xF4DC0AE5, 7) + b"x") == (0xF4DC0AE5, 7)
    assert esp.spi_hex(0xAB) == "000000ab"
    with pytest.raises(WireError):
        esp.header(b"\x01\x02\x03")


@given(st.binary(max_size=64))
def test_classify_total(b):
    assert natt.classify(b) in ("ike", "nat-keepalive", "esp")
