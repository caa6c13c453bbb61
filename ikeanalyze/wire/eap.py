"""EAP packets (RFC 3748 §4): code, identifier, length, type, and what a Nak asks for.

FortiOS's fnbamd prints each EAP packet it relays between the IKEv2 client and the RADIUS
server (`EAP msg from client (7)-02 ED 00 07 03 1A 06`); reading them tells which method
the server offered and whether the client refused it, which no text line says.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ikeanalyze.errors import WireError
from ikeanalyze.wire.iana import (
    EAP_CODE_REQUEST,
    EAP_CODE_RESPONSE,
    EAP_NOT_METHODS,
    EAP_TYPE_NAK,
)

HEADER = struct.Struct("!BBH")  # Code, Identifier, Length (RFC 3748 §4)


@dataclass(frozen=True)
class EapPacket:
    code: int
    ident: int
    length: int
    type: int | None  # Requests and Responses only
    data: bytes  # Type-Data (or the Success/Failure body, empty in practice)

    @property
    def offered(self) -> int | None:
        """The authentication method a Request proposes (not Identity, Notification, Nak)."""
        if self.code == EAP_CODE_REQUEST and self.type is not None and self.type not in EAP_NOT_METHODS:
            return self.type
        return None

    @property
    def nak(self) -> tuple[int, ...] | None:
        """A Response Nak's desired methods, in the peer's order (RFC 3748 §5.3.1; a 0
        means it has none to offer), or None when this is not a Nak."""
        if self.code == EAP_CODE_RESPONSE and self.type == EAP_TYPE_NAK:
            return tuple(b for b in self.data if b)
        return None


def parse(b: bytes) -> EapPacket:
    """One EAP packet; the bytes may be cut after the type (fnbamd prints them whole, but a
    paste may not): the Length field is kept as written."""
    if len(b) < HEADER.size:
        raise WireError(len(b), "EAP header needs 4 bytes")
    code, ident, length = HEADER.unpack_from(b)
    if length < HEADER.size:
        raise WireError(2, f"EAP length {length} is shorter than its header")
    body = b[HEADER.size:length]
    if code in (EAP_CODE_REQUEST, EAP_CODE_RESPONSE):
        if not body:
            raise WireError(HEADER.size, "EAP Request/Response without a type")
        return EapPacket(code, ident, length, body[0], bytes(body[1:]))
    return EapPacket(code, ident, length, None, bytes(body))
