"""RFC 8229 framing, with hand-built streams (no peer tool decodes this)."""

import struct

from hypothesis import given
from hypothesis import strategies as st

from ikeanalyze.wire.tcpencap import PREFIX, StreamReassembler, starts_with_prefix

IKE = bytes(16) + bytes([33, 0x20, 34, 0x08]) + struct.pack("!II", 0, 40) + bytes(12)
ESP = struct.pack("!II", 0xC0FFEE01, 5) + bytes(20)


def frame(msg: bytes, ike: bool) -> bytes:
    body = (b"\0\0\0\0" + msg) if ike else msg
    return struct.pack("!H", 2 + len(body)) + body


STREAM = PREFIX + frame(IKE, True) + frame(ESP, False) + frame(IKE, True)


def test_prefix_in_its_own_segment_then_framing_split_across_segments():
    r = StreamReassembler(expect_prefix=True)
    r.syn(1000)
    out = r.feed(1001, PREFIX, frame=4)
    assert [(u.kind, u.frame) for u in out] == [("prefix", 4)]
    body = STREAM[6:]
    assert r.feed(1007, body[:1], frame=5) == []  # half of the length field
    assert r.feed(1008, body[1:20], frame=6) == []
    out = r.feed(1008 + 19, body[20:50], frame=7)
    assert [(u.kind, u.frame) for u in out] == [("ike", 7)]
    assert out[0].data == IKE and out[0].offset == 6
    out = r.feed(1007 + 50, body[50:], frame=8)
    assert [(u.kind, u.frame) for u in out] == [("esp", 8), ("ike", 8)]
    assert out[0].data == ESP and r.buffered == 0 and r.prefix_seen


def test_retransmission_overlap_and_out_of_order():
    r = StreamReassembler()
    r.syn(0)
    a, b, c = STREAM[:10], STREAM[10:40], STREAM[40:]
    assert [u.kind for u in r.feed(1, a, 1)] == ["prefix"]
    assert r.feed(1 + 40, c, 2) == []  # arrives before the gap is filled
    got = r.feed(1 + 10, b, 3)
    assert [(u.kind, u.frame) for u in got] == [("ike", 3), ("esp", 3), ("ike", 3)]
    assert r.feed(1, STREAM[:60], 4) == []  # retransmission of what was delivered
    r2 = StreamReassembler()
    r2.syn(0)
    r2.feed(1, STREAM[:20], 1)
    got = r2.feed(1 + 10, STREAM[10:], 2)  # overlapping retransmission carrying new bytes
    assert [u.kind for u in got] == ["ike", "esp", "ike"]


def test_sequence_wraparound():
    r = StreamReassembler()
    r.syn(0xFFFFFFFE)
    out = r.feed(0xFFFFFFFF, STREAM[:4], 1) + r.feed(3, STREAM[4:], 2)
    assert [u.kind for u in out] == ["prefix", "ike", "esp", "ike"]


def test_responder_direction_has_no_prefix_and_bad_length_is_reported():
    r = StreamReassembler(expect_prefix=False)
    assert [u.kind for u in r.feed(7, frame(IKE, True), 1)] == ["ike"]
    bad = StreamReassembler(expect_prefix=False)
    bad.feed(1, b"\x00\x01zzzz", 1)
    assert bad.error and "length 1" in bad.error
    strict = StreamReassembler(expect_prefix=True)
    strict.feed(1, b"GET / HTTP/1.1", 1)
    assert strict.error == "stream does not start with IKETCP"
    assert starts_with_prefix(b"IKETCPxyz") and not starts_with_prefix(b"IKET")


@given(st.lists(st.integers(1, len(STREAM) - 1), unique=True, max_size=12), st.randoms())
def test_any_segmentation_and_order_gives_the_same_messages(cuts, rnd):
    bounds = [0, *sorted(cuts), len(STREAM)]
    segs = [(bounds[i], STREAM[bounds[i] : bounds[i + 1]]) for i in range(len(bounds) - 1)]
    rnd.shuffle(segs)
    segs += segs[: len(segs) // 2]  # retransmissions
    r = StreamReassembler()
    r.syn(41)
    units = []
    for n, (off, seg) in enumerate(segs):
        units += r.feed(42 + off, seg, n + 1)
    assert [(u.kind, u.data) for u in units] == [("prefix", b""), ("ike", IKE), ("esp", ESP), ("ike", IKE)]


def test_six_byte_hits_on_the_seed_connection():
    """The seed's TCP 5500 connection without payload (sniffer verbosity 4): the client's
    first data segment (seq 309505875) is acknowledged as 309505881, six bytes on; the busy
    HTTPS stream beside it (a 1448-byte advance) is not IKE."""
    import numpy as np

    from ikeanalyze.wire.tcpencap import six_byte_hits, six_byte_streams

    nan = float("nan")
    sid = np.array([0, 0, 0, 0, 1, 1])
    side = np.array([True, False, True, False, True, True])  # True: the client sent it
    seq = np.array([309505874, 3060518285, 309505875, nan, 1000, 2448], float)
    ack = np.array([nan, 309505875, 3060518286, 309505881, nan, nan], float)
    assert list(six_byte_hits(sid, side, seq, ack)) == [False, False, True, False, False, False]
    assert list(six_byte_streams(sid, side, seq, ack)) == [0]
    # The acknowledgement must come from the other side: the client's own ack proves nothing.
    assert not six_byte_hits(sid, np.ones(6, bool), seq, ack).any()



def test_six_byte_hits_read_no_number_past_32_bits():
    """A mangled line's sequence number past 2**32 is none: packed as one it ran into the
    stream's bits (here stream 0's 2**34 + 5 read as stream 1's 5, six short of its 11) and
    a 25-digit one did not fit int64 at all."""
    import numpy as np

    from ikeanalyze.wire.tcpencap import six_byte_hits

    nan = float("nan")
    sid = np.array([0, 1, 0])
    side = np.array([True, True, False])
    seq = np.array([2.0**34 + 5, 11, 1e25])
    ack = np.array([nan, nan, 1e25])
    with np.errstate(invalid="raise"):
        assert list(six_byte_hits(sid, side, seq, ack)) == [False, False, False]
