"""ESP header fields (RFC 4303 §2): SPI and sequence number, plain or UDP-encapsulated.

The SPI and the sequence number are the first eight bytes of the ESP packet, whether it is
the payload of IP protocol 50 or of a UDP 4500 datagram (RFC 3948 §2.1).
"""

from __future__ import annotations

import struct

from ikeanalyze.errors import WireError

ESP_HEADER_LEN = 8
_ESP = struct.Struct("!II")


def header(data: bytes | memoryview) -> tuple[int, int]:
    """(spi, seq) of an ESP packet; WireError when the 8-byte header is not all there."""
    if len(data) < ESP_HEADER_LEN:
        raise WireError(len(data), f"ESP header needs {ESP_HEADER_LEN} bytes, have {len(data)}")
    return _ESP.unpack_from(data, 0)


def spi_hex(spi: int) -> str:
    return f"{spi:08x}"
