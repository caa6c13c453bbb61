"""UDP 4500 demultiplexing (RFC 3948 §2.2, RFC 3947).

A UDP-encapsulated datagram on the NAT-T port is one of three things, told apart by its
first bytes: four zero bytes (the non-ESP marker) followed by an IKE message, a single
0xFF byte (NAT keepalive), or an ESP packet (its SPI is never zero).
"""

from __future__ import annotations

from typing import Literal

NON_ESP_MARKER = b"\x00\x00\x00\x00"
NAT_KEEPALIVE = b"\xff"

Kind = Literal["ike", "nat-keepalive", "esp"]


def classify(payload: bytes | memoryview) -> Kind:
    """What a UDP 4500 payload carries: ``ike``, ``nat-keepalive`` or ``esp``.

    An empty payload, or one shorter than an ESP header, is still reported as ``esp``
    (the receiver would treat it so); callers check the length when they need the SPI.
    """
    if len(payload) == 1 and payload[0] == 0xFF:
        return "nat-keepalive"
    if len(payload) >= 4 and bytes(payload[:4]) == NON_ESP_MARKER:
        return "ike"
    return "esp"


def ike_payload(payload: bytes | memoryview) -> bytes | memoryview:
    """The IKE message inside a non-ESP-marked datagram (the marker stripped)."""
    return payload[4:]
