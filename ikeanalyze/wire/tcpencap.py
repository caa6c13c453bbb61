"""RFC 8229 TCP encapsulation of IKE and ESP: stream prefix, framing, reassembly.

An IKE-over-TCP stream starts, from the initiator, with the 6-byte prefix ``IKETCP``
(§3; FortiClient sends it in a segment of its own). After it, each direction is a sequence
of messages, each preceded by a 16-bit big-endian Length that counts itself (§3):

    Length (2) | Non-ESP marker 0x00000000 (4) | IKE message       -> IKE
    Length (2) | ESP packet (SPI never zero)                        -> ESP

Messages straddle segments freely, so a :class:`StreamReassembler` (one per direction)
takes TCP segments ``(seq, payload, frame)``, in any order, with retransmissions and
overlaps, and yields each complete message with the frame number in which it completed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

PREFIX = b"IKETCP"
NON_ESP_MARKER = b"\x00\x00\x00\x00"
MAX_PENDING = 4 << 20  # bytes held out of order before the stream is given up on
TCP_SEQ_SPACE = 1 << 32  # RFC 9293 §3.4: sequence numbers are 32 bits

Kind = Literal["prefix", "ike", "esp", "empty"]


def starts_with_prefix(payload: bytes | memoryview) -> bool:
    """Does a stream's first client payload start with the RFC 8229 prefix?"""
    return bytes(payload[: len(PREFIX)]) == PREFIX


def begins_prefix(payload: bytes | memoryview) -> bool:
    """Is a first client payload shorter than the prefix its beginning (``IKE`` of ``IKETCP``)?
    §3 does not keep the prefix in one segment: the rest comes in the next."""
    return 0 < len(payload) < len(PREFIX) and PREFIX.startswith(bytes(payload))


@dataclass(frozen=True, slots=True)
class Framed:
    """One unit found in the stream: the prefix, or a framed IKE/ESP message."""

    kind: Kind
    data: bytes  # IKE message (marker stripped) or ESP packet; b"" for prefix/empty
    frame: int  # frame number in which the unit completed
    offset: int  # byte offset of the unit in the stream (0 = first byte after the SYN)


@dataclass
class StreamReassembler:
    """Reassemble one direction of an RFC 8229 stream.

    ``expect_prefix``: True for the initiator's direction (the prefix must come first),
    False for the responder's, None to accept it if present.
    """

    expect_prefix: bool | None = None
    isn: int | None = None  # sequence number of the first payload byte (SYN seq + 1)
    prefix_seen: bool = False
    error: str | None = None
    delivered: int = 0  # stream bytes consumed so far (relative to isn)
    _buf: bytearray = field(default_factory=bytearray)
    _buf_start: int = 0  # stream offset of _buf[0]
    _pending: dict[int, tuple[bytes, int]] = field(default_factory=dict)
    _pending_bytes: int = 0
    _started: bool = False

    def syn(self, seq: int) -> None:
        """Tell the reassembler the SYN's sequence number (payload starts at seq + 1)."""
        if self.isn is None:
            self.isn = (seq + 1) & 0xFFFFFFFF

    def feed(self, seq: int, payload: bytes | memoryview, frame: int) -> list[Framed]:
        """Add one segment; return the units it completed (possibly none)."""
        if not payload or self.error:
            return []
        payload = bytes(payload)
        if self.isn is None:
            self.isn = seq & 0xFFFFFFFF
        rel = (seq - self.isn) & 0xFFFFFFFF
        if rel >= 0x80000000:  # before the start: a retransmission of bytes we never track
            rel -= 0x100000000
        end = rel + len(payload)
        have = self._buf_start + len(self._buf)  # next in-order stream offset
        if end <= have:
            return []  # retransmission of bytes already taken
        if rel < have:
            payload, rel = payload[have - rel :], have  # overlap: keep the new tail
        if rel > have:
            old = self._pending.get(rel)
            if old is None or len(old[0]) < len(payload):
                self._pending_bytes += len(payload) - (len(old[0]) if old else 0)
                self._pending[rel] = (payload, frame)
            if self._pending_bytes > MAX_PENDING:
                self.error = f"gap at stream offset {have} never filled"
                self._pending.clear()
            return []
        self._buf += payload
        self._drain_pending()
        return self._split(frame)

    def _drain_pending(self) -> None:
        while self._pending:
            have = self._buf_start + len(self._buf)
            ready = [k for k in self._pending if k <= have]
            if not ready:
                return
            for k in sorted(ready):
                data, _frame = self._pending.pop(k)
                self._pending_bytes -= len(data)
                have = self._buf_start + len(self._buf)
                if k + len(data) > have:
                    self._buf += data[have - k :]

    def _split(self, frame: int) -> list[Framed]:
        out: list[Framed] = []
        buf = self._buf
        pos = 0
        if not self._started:
            if self.expect_prefix is not False:
                n = min(len(buf), len(PREFIX))
                if bytes(buf[:n]) == PREFIX[:n]:
                    if n < len(PREFIX):
                        return out  # wait for the rest of a split prefix
                    self.prefix_seen = True
                    out.append(Framed("prefix", b"", frame, self._buf_start))
                    pos = len(PREFIX)
                elif self.expect_prefix:
                    self.error = "stream does not start with IKETCP"
                    return out
            self._started = True
        while len(buf) - pos >= 2:
            (length,) = struct.unpack_from("!H", buf, pos)
            if length < 2:
                self.error = f"framing: length {length} at stream offset {self._buf_start + pos}"
                break
            if len(buf) - pos < length:
                break
            body = bytes(buf[pos + 2 : pos + length])
            at = self._buf_start + pos
            if not body:
                out.append(Framed("empty", b"", frame, at))
            elif len(body) >= 4 and body[:4] == NON_ESP_MARKER:
                out.append(Framed("ike", body[4:], frame, at))
            else:
                out.append(Framed("esp", body, frame, at))
            pos += length
        if pos:
            del buf[:pos]
            self._buf_start += pos
        self.delivered = self._buf_start
        return out

    @property
    def awaiting_prefix(self) -> bool:
        """The stream so far is the beginning of a prefix split across segments."""
        return not self._started and self.expect_prefix is not False and begins_prefix(self._buf)

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete message still waiting for more segments."""
        return len(self._buf)


def six_byte_streams(sid: np.ndarray, side: np.ndarray, seq: np.ndarray, ack: np.ndarray) -> np.ndarray:
    """Streams (ids in ``sid``) with a :func:`six_byte_hits` segment."""
    return np.unique(np.asarray(sid)[six_byte_hits(sid, side, seq, ack)])


def six_byte_hits(sid: np.ndarray, side: np.ndarray, seq: np.ndarray, ack: np.ndarray) -> np.ndarray:
    """Per segment: its sequence number plus 6 is another segment's of the same side in the
    same stream, or the other side acknowledges it as such: it was the `IKETCP` prefix, and
    its sender is the client. ``side`` (bool) names the sender; ``seq`` and ``ack`` are
    floats, NaN where the line has none. Whole arrays, one binary search."""
    sid = np.asarray(sid, np.int64)
    side = np.asarray(side, bool).astype(np.int64)
    # A TCP sequence number has 32 bits: a bigger one is a mangled line's, and read as none.
    has_seq, has_ack = (seq >= 0) & (seq < TCP_SEQ_SPACE), (ack >= 0) & (ack < TCP_SEQ_SPACE)

    def key(s, d, value):  # (stream, side, 33-bit number) packed into one int64
        return (s << 34) | (d << 33) | value.astype(np.int64)

    s_seq = sid[has_seq]
    want = key(s_seq, side[has_seq], seq[has_seq] + len(PREFIX))
    have = np.sort(np.concatenate([key(s_seq, side[has_seq], seq[has_seq]),
                                   key(sid[has_ack], 1 - side[has_ack], ack[has_ack])]))
    # Membership by binary search in the sorted keys: several times faster than np.isin here.
    at = np.minimum(np.searchsorted(have, want), max(len(have) - 1, 0))
    out = np.zeros(len(sid), bool)
    out[np.flatnonzero(has_seq)] = have[at] == want if len(have) else False
    return out
