"""Properties of every parser: arbitrary text and bytes, and mutations of real inputs
(truncate, flip bytes, duplicate lines, insert garbage, inflate numbers, extreme lengths),
never raise anything but the project's own error, and the books always balance.

Every bug these found is pinned twice: an ``@example`` here and a file in crashers/.
"""

from __future__ import annotations

import functools
import gzip
import os
import re
from datetime import datetime, timezone

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from ikeanalyze import convert
from ikeanalyze.errors import InputError, WireError
from ikeanalyze.sources import Blob, _decompress
from ikeanalyze.sources.textclean import clean, decode, not_text, split_lines
from ikeanalyze.wire import esp, ike, natt, tcpencap
from tests.robustness.helpers import CRASHERS, load_bytes, small_inputs

SMALL = small_inputs()
TEXTS = [p for p in SMALL if p.suffix == ".txt"]
CAPTURES = [p for p in SMALL if p.suffix != ".txt"]
CAPTURE_MAGICS = [b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
                  b"\x0a\x0d\x0d\x0a"]
# IKEANALYZE_FUZZ_EXAMPLES: a longer local hunt (e.g. 2000) with the same tests.
SLOW = settings(max_examples=int(os.environ.get("IKEANALYZE_FUZZ_EXAMPLES", 80)), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


@functools.cache
def _read(path) -> bytes:
    return path.read_bytes()


# ----------------------------------------------------------------------------- mutations
def _truncate(draw, b: bytearray) -> bytearray:
    return b[: draw(st.integers(0, len(b)))]


def _flip(draw, b: bytearray) -> bytearray:
    for _ in range(draw(st.integers(1, 8))):
        if b:
            b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
    return b


def _duplicate_lines(draw, b: bytearray) -> bytearray:
    lines = bytes(b).split(b"\n")
    i = draw(st.integers(0, len(lines) - 1))
    j = draw(st.integers(i, min(len(lines), i + 20)))
    return bytearray(b"\n".join(lines[:j] + lines[i:j] + lines[j:]))


def _insert_garbage(draw, b: bytearray) -> bytearray:
    at = draw(st.integers(0, len(b)))
    junk = draw(st.one_of(st.binary(min_size=1, max_size=64),
                          st.text(max_size=64).map(lambda s: s.encode("utf-8", "surrogatepass")),
                          st.sampled_from([b"\x1b[2K\r", b"\x08\x08\x08", b"\x00" * 7, b"\r\r\n",
                                           b"\xef\xbb\xbf", b"\xff\xfe"])))
    return b[:at] + bytearray(junk) + b[at:]


def _delete(draw, b: bytearray) -> bytearray:
    i = draw(st.integers(0, len(b)))
    return b[:i] + b[i + draw(st.integers(1, 400)) :]


def _inflate_number(draw, b: bytearray) -> bytearray:
    """A number of the input made huge: the class of bug the fuzzer found first."""
    runs = list(re.finditer(rb"[0-9A-Fa-f]+", bytes(b)))
    if not runs:
        return b
    m = draw(st.sampled_from(runs))
    new = draw(st.sampled_from([b"9" * 25, b"f" * 40, b"0" * 30, b"4294967296", b"99999", b"9" * 5000]))
    return b[: m.start()] + bytearray(new) + b[m.end() :]


def _extreme_u32(draw, b: bytearray) -> bytearray:
    """A length field (or any 4 bytes) set to an impossible value."""
    if len(b) < 8:
        return b
    at = draw(st.integers(0, len(b) - 4))
    b[at : at + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff",
                                           b"\x00\x00\x00\x01", b"\x00\x00\x01\x00", b"\x0c\x00\x00\x00"]))
    return b


MUTATIONS = [_truncate, _flip, _duplicate_lines, _insert_garbage, _delete, _inflate_number, _extreme_u32]


@st.composite
def mutated(draw, files) -> tuple[str, bytes]:
    path = draw(st.sampled_from(files))
    b = bytearray(_read(path))
    for op in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=4)):
        b = op(draw, b)
    return path.name, bytes(b)


# ----------------------------------------------------------------------------- the loaders
@SLOW
@given(mutated(TEXTS))
@example(("crasher.txt", (CRASHERS / "text-snapshot-port-overflow.txt").read_bytes()))
@example(("crasher.txt", (CRASHERS / "text-ikedebug-serial-overflow.txt").read_bytes()))
@example(("crasher.txt", (CRASHERS / "text-hexdump-cut-dump-readonly.txt").read_bytes()))
@example(("crasher.txt", (CRASHERS / "text-hexdump-header-without-protocol.txt").read_bytes()))
@example(("crasher.txt", (CRASHERS / "text-hexdump-relative-time-overflow.txt").read_bytes()))
@example(("crasher.txt", (CRASHERS / "text-eventlog-port-not-digits.txt").read_bytes()))
@example(("crasher.txt", (CRASHERS / "text-tcpdump-epoch-past-year-9999.txt").read_bytes()))
@example(("crasher.txt", (CRASHERS / "text-tcpdump-clock-5000-digit-hours.txt").read_bytes()))
@example(("crasher.txt", (CRASHERS / "text-tcpdump-address-5000-digits.txt").read_bytes()))
@example(("crasher.txt", (CRASHERS / "text-sniffer-glued-record-5000-digit-seconds.txt").read_bytes()))
@example(("crasher.txt", (CRASHERS / "text-snapshot-header-port-5000-digits.txt").read_bytes()))
def test_mutated_text_inputs(case):
    name, data = case
    load_bytes(data, name)


@SLOW
@given(mutated(CAPTURES))
@example(("crasher.pcapng", (CRASHERS / "pcap-pcapng-timestamp-past-int64.pcapng").read_bytes()))
@example(("crasher.pcapng", (CRASHERS / "pcap-pcapng-tsoffset-past-int64.pcapng").read_bytes()))
def test_mutated_captures(case):
    name, data = case
    load_bytes(data, name)


# Fewer: each example runs every rule and renders four reports.
REPORTED = settings(SLOW, max_examples=max(SLOW.max_examples // 4, 10))


@REPORTED
@given(mutated(TEXTS + CAPTURES))
@example(("crasher.txt", b"9999999999.208180 IP 10.0.0.1.500 > 10.0.0.2.500: isakmp: phase 1 I ident\n"
                         b"1700000001.208180 IP 10.0.0.2.500 > 10.0.0.1.500: isakmp: phase 1 R ident\n"))
def test_mutated_inputs_reach_every_report(case):
    """Whatever a mangled input loads into, every rule and every report format takes it."""
    from ikeanalyze import api

    name, data = case
    try:
        events, ingest = api.load([Blob(name, None, data, data[:16])])
    except InputError:
        return
    d = api.diagnose(events, ingest)
    for fmt in ("terminal", "json", "markdown", "html"):
        assert api.render(d, fmt)


@SLOW
@given(st.lists(st.text(max_size=300), max_size=40), st.sampled_from(["\n", "\r\n", "\r", "\r\r\n"]))
def test_any_text(lines, eol):
    load_bytes(eol.join(lines).encode("utf-8", "surrogatepass"))


@SLOW
@given(st.lists(st.sampled_from([
    "ike 0:", "ike V=root:0:", "ike 0:tun:12:", "ike 0:tun_0:5:7:", "2026-02-26 23:17:23.208180 ",
    "0.342268 ", "port1 in ", "10.3.2.150.59641 -> 10.55.3.193.4500: ", "udp 116", "ip-proto-50 92",
    "comes ", "sent IKE msg (ident_r1send): ", "10.0.0.1:500->10.0.0.2:500", ", len=", "id=", "/",
    "0123456789abcdef", "0x0000\t 4500 0084 ", "in ", "out ", "dec ", "name=", "ver=", "serial=", " ", ":",
    "9" * 30, "\t", "<-- ", "FGT # ", "\x1b[K", "\x08", "vd: root/0", "addr: ", "->", "SA_INIT", "\n",
]), max_size=80))
def test_text_made_of_format_pieces(pieces):
    """Fragments of the real grammars, shuffled: each parser sees near-misses of its forms."""
    load_bytes("".join(pieces).encode())


@SLOW
@given(st.binary(max_size=4096))
def test_any_bytes(data):
    load_bytes(data, "upload.bin")


@SLOW
@given(st.sampled_from(CAPTURE_MAGICS), st.binary(max_size=4096))
def test_any_bytes_after_a_capture_magic(magic, body):
    load_bytes(magic + body, "upload.pcap")


@SLOW
@given(st.binary(max_size=2048), st.integers(2, 4096))  # (from 2: load_blob sends only 1f 8b... here)
def test_gzip_cut_anywhere_gives_a_prefix(payload, cut):
    """A .gz cut or damaged anywhere yields a prefix of what was compressed, never more."""
    z = gzip.compress(payload)[:cut]
    try:
        out = _decompress(Blob("x.gz", None, z, z[:16]))
    except InputError:
        return
    assert payload.startswith(out.data)
    assert out.notes or out.data == payload


@SLOW
@given(mutated(TEXTS))
@example(("crasher.txt", (CRASHERS / "text-tcpdump-address-5000-digits.txt").read_bytes()))
def test_convert_mutated_text(case):
    name, data = case
    try:
        frames, summary, _comment = convert.frames_of(Blob(name, None, data, data[:16]), START, True)
    except InputError:
        return
    assert summary.packets == len(frames)


# ----------------------------------------------------------------------------- text hygiene
@given(st.text())
def test_clean_keeps_the_line_count(text):
    """Nothing in textclean adds or removes a line: line ends are LF, CRLF, CR+LF or a bare CR.
    (A last line with no line end that held only terminal debris, `ESC [0m` or NULs, is no line.)"""
    raw = re.split(r"\r*\n|\r", text)
    expected = len(raw) - (1 if raw[-1] == "" or clean(raw[-1]) == "" else 0)
    lines, _cut = split_lines(clean(text))
    assert len(lines) == expected
    assert not any(c in line for line in lines for c in "\x00\x08\x1b\r\n")


@given(st.text())
def test_arrow_split_is_split_lines(text):
    """The text parser splits into one arrow array; it cuts where split_lines cuts."""
    from ikeanalyze.sources.text import _split

    text = clean(text)
    lines, cut = _split(text.encode("utf-8"))
    assert (lines.to_pylist(), cut) == split_lines(text)


@given(st.binary())
def test_decode_and_sniff_are_total(data):
    text, encoding = decode(data)
    assert isinstance(text, str) and encoding
    assert not_text(data) is None or isinstance(not_text(data), str)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
def test_printable_text_in_any_terminal_encoding_is_text(text, encoding):
    from ikeanalyze.sources.textclean import MAGIC

    data = text.encode(encoding, "replace")
    if encoding == "latin-1":
        # Latin-1 bytes that also read as UTF-8 (`Â\xa0` is b"\xc2\xa0", UTF-8 for NBSP) are
        # read as UTF-8, line by line (a paste may join a UTF-8 log and a Latin-1 note): no
        # decoder can tell those two apart, so such a line is no counterexample.
        assume(not any(_utf8_beyond_ascii(line) for line in data.split(b"\n")))
    if not any(data.startswith(m) for m, _ in MAGIC):
        assert not_text(data) is None
        assert decode(data)[0].replace("\ufeff", "") == data.decode(encoding, "replace").replace("\ufeff", "")


def _utf8_beyond_ascii(line: bytes) -> bool:
    try:
        return not line.decode("utf-8").isascii()
    except UnicodeDecodeError:
        return False


def test_latin1_bytes_that_are_valid_utf8_read_as_utf8():
    """The case the property above leaves out: `Â\xa0` in Latin-1 is b"\xc2\xa0", UTF-8 for
    NBSP; no decoder can tell the two apart, and UTF-8 is the likelier."""
    assert decode("Â\xa0".encode("latin-1"))[0] == "\xa0"


# ----------------------------------------------------------------------------- wire decoders
@given(st.binary(max_size=2048))
def test_wire_decoders_raise_only_wire_error(data):
    assert natt.classify(data) in ("ike", "nat-keepalive", "esp")
    for decoder in (ike.decode, esp.header):
        try:
            decoder(data)
        except WireError as exc:
            assert 0 <= exc.offset <= len(data) + 65536


@given(st.sampled_from([None, True, False]), st.one_of(st.none(), st.integers(0, 2**32 - 1)),
       st.lists(st.tuples(st.integers(0, 2**32 - 1), st.binary(max_size=300)), max_size=20))
def test_tcp_reassembly_of_any_segments(expect_prefix, syn, segments):
    r = tcpencap.StreamReassembler(expect_prefix=expect_prefix)
    if syn is not None:
        r.syn(syn)
    for frame, (seq, payload) in enumerate(segments, 1):
        for unit in r.feed(seq, payload, frame):
            assert unit.kind in ("prefix", "ike", "esp", "empty") and unit.frame == frame
    assert r.buffered >= 0
