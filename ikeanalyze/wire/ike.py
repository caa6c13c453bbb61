"""IKEv1 (ISAKMP) and IKEv2 message decoding: header, payload chain, and what a rule can use.

``decode(data)`` reads one IKE message (without the 4-byte non-ESP marker) and returns an
:class:`IkeMessage`. It decodes as far as the bytes allow: a malformed or truncated message
still yields the header and the payloads before the damage, and ``stopped`` says where and
why decoding ended; a header cut short (a capture's snapshot length) still gives the
message's SPIs, exchange and flags when their 20 bytes are there. Only with less does it
raise :class:`~ikeanalyze.errors.WireError`. Never ``IndexError`` or ``struct.error``: every read
is bounds-checked (see the hypothesis property in tests/wire/test_ike.py).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from ikeanalyze.errors import WireError
from ikeanalyze.wire import iana
from ikeanalyze.words import counted

HEADER_LEN = 28
_HEADER = struct.Struct("!8s8sBBBBII")
# Byte offsets of the header fields after the two SPIs (RFC 7296 §3.1), for readers that
# take them from many messages at once.
AT_NEXT, AT_VERSION, AT_EXCHANGE, AT_FLAGS, AT_MSG_ID, AT_LENGTH = 16, 17, 18, 19, 20, 24
_GENERIC = struct.Struct("!BBH")
MAX_PAYLOADS = 256  # a chain longer than this is a loop or garbage
# A header cut by a capture's snapshot length still names its message when the SPIs, next
# payload, version, exchange and flags are there (tcpdump's old default of 68 bytes leaves 26
# bytes of IKE on UDP 500, 22 on 4500).
MIN_CUT_HEADER = 20
_CUT_HEADER = struct.Struct("!8s8sBBBB")
# Exchanges whose message ID is 0 by protocol: IKEv2 IKE_SA_INIT (RFC 7296 §2.2), IKEv1 phase 1
# Identity Protection and Aggressive (RFC 2408 §3.1, RFC 2409 §5).
ZERO_MESSAGE_ID = {2: frozenset({34}), 1: frozenset({2, 4})}


@dataclass(frozen=True, slots=True)
class Transform:
    """One transform of a proposal.

    IKEv2: ``type`` is ENCR/PRF/INTEG/DH/ESN, ``name`` the algorithm, ``key_length`` from the
    Key Length attribute. IKEv1: ``type`` is the protocol's transform (``KEY_IKE``,
    ``ESP_AES`` ...), ``attributes`` the SA attributes as (class name, value name) pairs.
    """

    type: str
    id: int
    name: str
    key_length: int | None = None
    attributes: tuple[tuple[str, str], ...] = ()

    def summary(self) -> str:
        if self.attributes:
            return ",".join(f"{k}={v}" for k, v in self.attributes)
        return f"{self.name}-{self.key_length}" if self.key_length else self.name


@dataclass(frozen=True, slots=True)
class Proposal:
    number: int
    protocol: str  # IKE / ESP / AH (v2); ISAKMP / IPSEC_ESP / IPSEC_AH (v1)
    spi: str  # lowercase hex, "" when the proposal carries none
    transforms: tuple[Transform, ...]

    def summary(self) -> str:
        body = " ".join(t.summary() for t in self.transforms)
        return f"#{self.number} {self.protocol}: {body}" if body else f"#{self.number} {self.protocol}"


@dataclass(frozen=True, slots=True)
class IkeMessage:
    version: int  # major version: 1 or 2 (anything else decodes the header only)
    minor: int
    exchange: int
    exchange_name: str
    flags: int
    initiator: bool | None  # IKEv2 I flag; None for IKEv1 (no such flag)
    response: bool | None  # IKEv2 R flag; None for IKEv1 (not knowable from one message)
    msg_id: int | None  # None only when a cut header lost it (see MIN_CUT_HEADER)
    ispi: str  # 16 lowercase hex digits
    rspi: str
    length: int | None  # from the header; None when the header was cut before it
    first_payload: int
    payload_types: tuple[int, ...] = ()
    payloads: tuple[str, ...] = ()  # names in chain order
    notify_types: tuple[int, ...] = ()
    notify: tuple[str, ...] = ()
    proposals: tuple[Proposal, ...] = ()
    ke_group: int | None = None
    vendor_ids: tuple[str, ...] = ()
    fragment: tuple[int, int] | None = None  # (number, total): IKEv2 SKF (RFC 7383)
    encrypted_first: str | None = None  # SK/SKF inner first payload name
    encrypted: bool = False  # IKEv2 SK/SKF present, or IKEv1 E flag set
    # IKEv2 traffic selectors in FortiOS's debug form, one entry per TS payload:
    # "TSi 0:10.0.1.0-10.0.1.255:0, 17:10.0.2.1-10.0.2.1:500" (protocol:first-last:port)
    selectors: tuple[str, ...] = ()
    stopped: str | None = None  # where/why decoding stopped early, None when complete

    @property
    def proposals_summary(self) -> str:
        return " | ".join(p.summary() for p in self.proposals)

    @property
    def selectors_summary(self) -> str:
        """The event table's `selectors`: "TSi ...; TSr ..."."""
        return "; ".join(self.selectors)

    @property
    def notify_errors(self) -> tuple[str, ...]:
        limit = iana.NOTIFY_V2_ERROR_MAX if self.version == 2 else iana.NOTIFY_V1_ERROR_MAX
        return tuple(n for t, n in zip(self.notify_types, self.notify) if 0 < t <= limit)

    def info(self) -> str:
        """A one-line summary in the spirit of tshark's Info column."""
        parts = [f"IKEv{self.version} {self.exchange_name}"]
        if self.version == 2:
            parts.append("response" if self.response else "request")
            parts.append("(I)" if self.initiator else "(R)")
        parts.append(f"mid={self.msg_id}")
        parts.append(f"{self.ispi}/{self.rspi}")
        if self.payloads:
            parts.append("[" + " ".join(self.payloads) + "]")
        if self.notify:
            parts.append("notify=" + ",".join(self.notify))
        if self.fragment:
            parts.append(f"frag {self.fragment[0]}/{self.fragment[1]}")
        if self.encrypted_first:
            parts.append(f"inner={self.encrypted_first}")
        if self.ke_group is not None:
            parts.append("KE=" + iana.DH_GROUPS.get(self.ke_group, str(self.ke_group)))
        if self.vendor_ids:
            parts.append("VID=" + ",".join(self.vendor_ids))
        if self.stopped:
            parts.append(f"({self.stopped})")
        return " ".join(parts)


def header(data: bytes | memoryview) -> tuple:
    """The raw 28-byte header fields, or WireError when it is not all there."""
    if len(data) < HEADER_LEN:
        raise WireError(len(data), f"IKE header needs {HEADER_LEN} bytes, have {len(data)}")
    return _HEADER.unpack_from(data, 0)


def decode(data: bytes | memoryview) -> IkeMessage:
    """Decode one IKE message as far as it goes (see the module docstring)."""
    data = bytes(data)
    if MIN_CUT_HEADER <= len(data) < HEADER_LEN:
        return _cut_header(data)
    ispi, rspi, first, ver, exch, flags, msg_id, length = header(data)
    major, minor = ver >> 4, ver & 0x0F
    fields: dict = {
        "version": major,
        "minor": minor,
        "exchange": exch,
        "exchange_name": iana.exchange_name(major, exch),
        "flags": flags,
        "initiator": bool(flags & iana.FLAG_V2_INITIATOR) if major == 2 else None,
        "response": bool(flags & iana.FLAG_V2_RESPONSE) if major == 2 else None,
        "msg_id": msg_id,
        "ispi": ispi.hex(),
        "rspi": rspi.hex(),
        "length": length,
        "first_payload": first,
    }
    if major not in (1, 2):
        return IkeMessage(**fields, stopped=f"offset 17: unknown IKE version {major}.{minor}")
    _Walker(data, major, first, length, flags, fields).walk()
    return IkeMessage(**fields)


def _cut_header(data: bytes) -> IkeMessage:
    """What a header cut before its end still says: the message's SPIs, exchange and flags;
    its message ID when those bytes are there, or 0 where the exchange fixes it."""
    ispi, rspi, first, ver, exch, flags = _CUT_HEADER.unpack_from(data, 0)
    major = ver >> 4
    msg_id = struct.unpack_from("!I", data, AT_MSG_ID)[0] if len(data) >= AT_LENGTH else None
    why = f"offset {len(data)}: IKE header cut short ({len(data)} of {HEADER_LEN} bytes there"
    if msg_id is None and exch in ZERO_MESSAGE_ID.get(major, ()):
        msg_id, why = 0, why + "; message ID 0, as the exchange has it"
    v2 = major == 2
    return IkeMessage(
        version=major, minor=ver & 0x0F, exchange=exch, exchange_name=iana.exchange_name(major, exch), flags=flags,
        initiator=bool(flags & iana.FLAG_V2_INITIATOR) if v2 else None,
        response=bool(flags & iana.FLAG_V2_RESPONSE) if v2 else None,
        msg_id=msg_id, ispi=ispi.hex(), rspi=rspi.hex(), length=None, first_payload=first,
        encrypted=bool(v2 and first in (iana.PAYLOAD_SK, iana.PAYLOAD_SKF)) or bool(
            major == 1 and flags & iana.FLAG_V1_ENCRYPTION),
        stopped=why + ")")


class _Walker:
    """Walks the payload chain, filling the IkeMessage fields."""

    def __init__(self, data: bytes, version: int, first: int, length: int, flags: int, fields: dict):
        self.data, self.version, self.first, self.flags = data, version, first, flags
        self.fields = fields
        self.end = min(len(data), length) if length >= HEADER_LEN else len(data)
        self.stopped: str | None = None
        if length < HEADER_LEN:
            self.stopped = f"offset 24: header length {length} is shorter than the header"
        elif length > len(data):
            self.stopped = f"truncated: header says {length} bytes, have {len(data)}"
        self.types: list[int] = []
        self.notify_types: list[int] = []
        self.proposals: list[Proposal] = []
        self.vids: list[str] = []
        self.ke_group: int | None = None
        self.fragment: tuple[int, int] | None = None
        self.encrypted_first: str | None = None
        self.encrypted = False
        self.selectors: list[str] = []

    def stop(self, why: str) -> None:
        if self.stopped is None or self.stopped.startswith("truncated: header"):
            self.stopped = why if self.stopped is None else f"{why}; {self.stopped}"

    def walk(self) -> None:
        data, v = self.data, self.version
        off, ptype = HEADER_LEN, self.first
        if v == 1 and self.flags & iana.FLAG_V1_ENCRYPTION:
            # Everything after the header is ciphertext: only the first type is known.
            self.encrypted = True
            if ptype:
                self.types.append(ptype)
            self.finish()
            return
        while ptype != iana.PAYLOAD_NONE:
            if len(self.types) >= MAX_PAYLOADS:
                self.stop(f"offset {off}: more than {MAX_PAYLOADS} payloads")
                break
            if off + 4 > self.end:
                self.stop(
                    f"offset {off}: payload {iana.payload_name(v, ptype)} header past the end "
                    f"({counted(self.end - off, 'byte')} left)"
                )
                break
            nxt, _crit, plen = _GENERIC.unpack_from(data, off)
            self.types.append(ptype)
            if plen < 4:
                self.stop(f"offset {off}: payload {iana.payload_name(v, ptype)} length {plen} < 4")
                break
            body_end = off + plen
            if body_end > self.end:
                self.stop(
                    f"offset {off}: payload {iana.payload_name(v, ptype)} length {plen} runs past "
                    f"the end ({self.end - off} bytes left)"
                )
                body_end = self.end
            body = data[off + 4 : body_end]
            self.payload(ptype, nxt, body, off)
            if v == 2 and ptype in (iana.PAYLOAD_SK, iana.PAYLOAD_SKF):
                # The SK/SKF "next payload" names the first inner payload (RFC 7296 §3.14,
                # RFC 7383 §2.5); nothing follows in clear.
                self.encrypted = True
                if nxt:
                    self.encrypted_first = iana.payload_name(2, nxt)
                if body_end < self.end:
                    self.stop(f"offset {body_end}: {counted(self.end - body_end, 'byte')} after the encrypted payload")
                break
            if body_end >= self.end and body_end - off < plen:
                break
            off, ptype = body_end, nxt
        else:
            if off < self.end:
                self.stop(f"offset {off}: {counted(self.end - off, 'byte')} after the last payload")
        self.finish()

    def finish(self) -> None:
        f, v = self.fields, self.version
        f["payload_types"] = tuple(self.types)
        f["payloads"] = tuple(iana.payload_name(v, t) for t in self.types)
        f["notify_types"] = tuple(self.notify_types)
        f["notify"] = tuple(iana.notify_name(v, t) for t in self.notify_types)
        f["proposals"] = tuple(self.proposals)
        f["ke_group"] = self.ke_group
        f["vendor_ids"] = tuple(self.vids)
        f["fragment"] = self.fragment
        f["encrypted_first"] = self.encrypted_first
        f["encrypted"] = self.encrypted
        f["selectors"] = tuple(self.selectors)
        f["stopped"] = self.stopped

    # -- payload bodies -------------------------------------------------------------
    def payload(self, ptype: int, nxt: int, body: bytes, off: int) -> None:
        v = self.version
        if v == 2:
            if ptype == iana.PAYLOAD_NOTIFY and len(body) >= 4:
                self.notify_types.append(struct.unpack_from("!H", body, 2)[0])
            elif ptype == iana.PAYLOAD_SA:
                self.sa_v2(body, off + 4)
            elif ptype == iana.PAYLOAD_KE and len(body) >= 2:
                self.ke_group = struct.unpack_from("!H", body, 0)[0]
            elif ptype == iana.PAYLOAD_VENDOR_ID:
                self.vids.append(iana.vendor_name(body))
            elif ptype in (iana.PAYLOAD_TSI, iana.PAYLOAD_TSR):
                self.traffic_selectors("TSi" if ptype == iana.PAYLOAD_TSI else "TSr", body, off + 4)
            elif ptype == iana.PAYLOAD_SKF:
                if len(body) >= 4:
                    self.fragment = struct.unpack_from("!HH", body, 0)
                else:
                    self.stop(f"offset {off}: SKF payload too short for fragment number/total")
        else:
            if ptype == iana.PAYLOAD_V1_NOTIFY and len(body) >= 8:
                self.notify_types.append(struct.unpack_from("!H", body, 6)[0])
            elif ptype == iana.PAYLOAD_V1_SA:
                self.sa_v1(body, off + 4)
            elif ptype == iana.PAYLOAD_V1_VENDOR_ID:
                self.vids.append(iana.vendor_name(body))

    def sa_v2(self, body: bytes, base: int) -> None:
        off, n = 0, 0
        while off + 8 <= len(body) and n < 64:
            n += 1
            last, _r, plen, num, proto, spisize, ntrans = struct.unpack_from("!BBHBBBB", body, off)
            if plen < 8 or off + plen > len(body):
                self.stop(f"offset {base + off}: proposal length {plen} does not fit the SA payload")
                plen = len(body) - off
            spi = body[off + 8 : off + 8 + spisize]
            toff, tend = off + 8 + spisize, off + plen
            transforms: list[Transform] = []
            while toff + 8 <= tend and len(transforms) < 64:
                tlast, _r, tlen, ttype, _r2, tid = struct.unpack_from("!BBHBBH", body, toff)
                if tlen < 8 or toff + tlen > tend:
                    self.stop(f"offset {base + toff}: transform length {tlen} does not fit the proposal")
                    tlen = max(8, tend - toff)
                keylen = None
                for atype, value in _attributes(body[toff + 8 : toff + tlen]):
                    if atype == iana.ATTR_KEY_LENGTH and isinstance(value, int):
                        keylen = value
                tname = iana.TRANSFORM_TYPES.get(ttype, f"type-{ttype}")
                names = iana.TRANSFORM_IDS.get(ttype, {})
                transforms.append(Transform(tname, tid, names.get(tid, f"{tname}-{tid}"), keylen))
                toff += tlen
                if tlast == 0:
                    break
            if len(transforms) != ntrans and self.stopped is None:
                self.stop(f"offset {base + off}: proposal says {ntrans} transforms, found {len(transforms)}")
            self.proposals.append(
                Proposal(num, iana.PROTOCOLS_V2.get(proto, f"proto-{proto}"), spi.hex(), tuple(transforms))
            )
            off += plen
            if last == 0:
                break

    def traffic_selectors(self, side: str, body: bytes, base: int) -> None:
        """A TSi/TSr payload (RFC 7296 §3.13): a count, then typed selectors."""
        if len(body) < 4:
            self.stop(f"offset {base}: {side} payload too short for its selector count")
            return
        count, off, found = body[0], 4, []
        while len(found) < count and off + 8 <= len(body):
            typ, proto, slen, first_port, last_port = struct.unpack_from("!BBHHH", body, off)
            size = iana.TS_ADDRESS_BYTES.get(typ)
            if size is None or slen != 8 + 2 * size or off + slen > len(body):
                self.stop(f"offset {base + off}: {side} selector of type {typ}, length {slen}, not read")
                break
            lo = ipaddress.ip_address(body[off + 8: off + 8 + size])
            hi = ipaddress.ip_address(body[off + 8 + size: off + slen])
            # FortiOS prints the whole port range as 0, one port as itself.
            port = "0" if (first_port, last_port) == (0, 0xFFFF) else (
                str(first_port) if first_port == last_port else f"{first_port}-{last_port}")
            found.append(f"{proto}:{lo}-{hi}:{port}")
            off += slen
        if found:
            self.selectors.append(f"{side} {', '.join(found)}")

    def sa_v1(self, body: bytes, base: int) -> None:
        if len(body) < 8:
            self.stop(f"offset {base}: SA payload too short for DOI and situation")
            return
        off = 8  # DOI (4) + situation (4, IPSEC_SIT_IDENTITY_ONLY: no labels)
        n = 0
        while off + 8 <= len(body) and n < 64:
            n += 1
            nxt, _r, plen, num, proto, spisize, _ntrans = struct.unpack_from("!BBHBBBB", body, off)
            if plen < 8 or off + plen > len(body):
                self.stop(f"offset {base + off}: proposal length {plen} does not fit the SA payload")
                plen = len(body) - off
            spi = body[off + 8 : off + 8 + spisize]
            toff, tend = off + 8 + spisize, off + plen
            transforms: list[Transform] = []
            ids = iana.TRANSFORM_IDS_V1.get(proto, {})
            is_p1 = proto == 1
            while toff + 8 <= tend and len(transforms) < 64:
                tnext, _r, tlen, _tnum, tid, _r2 = struct.unpack_from("!BBHBBH", body, toff)
                if tlen < 8 or toff + tlen > tend:
                    self.stop(f"offset {base + toff}: transform length {tlen} does not fit the proposal")
                    tlen = max(8, tend - toff)
                attrs: list[tuple[str, str]] = []
                keylen = None
                for atype, value in _attributes(body[toff + 8 : toff + tlen]):
                    cls = (iana.OAKLEY_ATTRIBUTES if is_p1 else iana.IPSEC_ATTRIBUTES).get(
                        atype, f"attr-{atype}"
                    )
                    vals = (iana.OAKLEY_VALUES if is_p1 else iana.IPSEC_VALUES).get(atype)
                    if isinstance(value, int):
                        shown = vals.get(value, str(value)) if vals else str(value)
                        if atype == (iana.OAKLEY_KEY_LENGTH if is_p1 else 6):
                            keylen = value
                    else:
                        shown = value.hex()
                    attrs.append((cls, shown))
                name = ids.get(tid, f"transform-{tid}")
                transforms.append(Transform(name, tid, name, keylen, tuple(attrs)))
                toff += tlen
                if tnext == 0:
                    break
            self.proposals.append(
                Proposal(num, iana.PROTOCOLS_V1.get(proto, f"proto-{proto}"), spi.hex(), tuple(transforms))
            )
            off += plen
            if nxt == 0:
                break


def _attributes(raw: bytes):
    """Yield (type, value) for data attributes: TV (AF=1) as int, TLV as int (≤ 4 bytes) or bytes."""
    off = 0
    while off + 4 <= len(raw):
        atype, val = struct.unpack_from("!HH", raw, off)
        if atype & 0x8000:
            yield atype & 0x7FFF, val
            off += 4
            continue
        chunk = raw[off + 4 : off + 4 + val]
        yield atype, int.from_bytes(chunk, "big") if 0 < len(chunk) <= 4 else chunk
        off += 4 + val
