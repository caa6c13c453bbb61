"""Sniffer hex dumps → frames: real verbosity 5/6 dumps, every mangled copy of a dump line,
short and broken dumps, link-layer normalising, and the decoded events of a bench dump
against the same packets read from the bench capture."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ikeanalyze import capture
from ikeanalyze.ingest import IngestReport
from ikeanalyze.sources import Blob, LoadOptions, load, load_blob
from ikeanalyze.sources import hexdump as hx
from ikeanalyze.sources.textclean import clean, decode, split_lines

DATA = Path(__file__).resolve().parent.parent / "data"
V6 = DATA / "hexdump" / "30_sniffer_v6_abs_terminal_noise.txt"
V5 = DATA / "hexdump" / "31_sniffer_v5_any_relative.txt"


def cleaned(path: Path) -> bytes:
    lines, _ = split_lines(clean(decode(path.read_bytes())[0]))
    return ("\n".join(lines) + "\n").encode()


def frame_bytes(d: hx.Dumps) -> list[bytes]:
    f = d.frames
    return [f.data[int(f.offsets[i]) : int(f.offsets[i + 1])] for i in range(len(f))]


def make_bench(tmp: Path) -> tuple[Path, Path, Path]:
    """A small bench story, written as a capture and as a verbosity-6 dump of the same packets."""
    a_pcap, a_txt, truth = tmp / "A.pcap", tmp / "A.txt", tmp / "A.json"
    subprocess.run([sys.executable, str(DATA / "make_capture.py"), "--packets", "400", "--tunnels", "4",
                    "--duration", "240", "--esp-rate", "0.5", "--seed", "3", "--pcap", str(a_pcap),
                    "--sniffer", str(a_txt), "--verbosity", "6", "--truth", str(truth)],
                   check=True, capture_output=True)
    return a_pcap, a_txt, truth


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return make_bench(tmp_path_factory.mktemp("bench"))


def pcap_frames(path: Path) -> list[tuple[int, bytes]]:
    import dpkt

    with open(path, "rb") as f:
        return [(round(ts * 1e6), bytes(b)) for ts, b in dpkt.pcap.Reader(f)]


# ---------------------------------------------------------------------------- real dumps
def test_v6_corpus_dump_every_packet_with_its_lines():
    d = hx.scan(cleaned(V6))
    # 23 packets (the trailer says `23 packets received by filter`), all on wan1 with `--`
    assert len(d) == 23 and d.headers == 23 and d.orphan_lines == 0
    assert set(d.frames.iface) == {"wan1"} and set(d.frames.direction) == {None}
    assert set(d.frames.linktype.tolist()) == {capture.LINKTYPE_ETHERNET}
    frames = frame_bytes(d)
    # first packet: ARP who-has 10.108.17.97 tell 10.108.17.129, header on line 9, dump 10-13
    assert (d.header_line[0], d.first_line[0], d.last_line[0]) == (8, 9, 12)
    assert frames[0][:14] == bytes.fromhex("ffffffffffff085b0ea0e23a0806")
    assert frames[0][28:32] == bytes([10, 108, 17, 129]) and frames[0][38:42] == bytes([10, 108, 17, 97])
    assert len(frames[0]) == 60 and not any(d.notes)
    # the IPv6 SSDP packet: 14 + 40 + 8 + 146 bytes (`udp 146 ... (len 154)`)
    ssdp = [f for f in frames if f[12:14] == b"\x86\xdd"]
    assert ssdp and len(ssdp[0]) == 14 + 40 + 154
    assert b"M-SEARCH * HTTP/1.1" in ssdp[0]
    # absolute timestamps as printed
    assert d.frames.ts_us[0] == 1435078884796828 and not d.relative


def test_v6_corpus_raw_bytes_with_crlf_and_backspaces_give_the_same_frames():
    raw = V6.read_bytes()
    assert b"\r\n" in raw and b"\x08" in raw
    assert frame_bytes(hx.scan(raw)) == frame_bytes(hx.scan(cleaned(V6)))


def test_v5_corpus_dump_starts_at_the_ip_or_arp_header():
    d = hx.scan(cleaned(V5))
    assert len(d) == 22 and d.relative
    lt = d.frames.linktype.tolist()
    frames = frame_bytes(d)
    for kind, f in zip(lt, frames):
        if kind == capture.LINKTYPE_RAW:
            assert f[0] >> 4 == 6  # the 5 IPv6 SSDP/DHCPv6 packets (5 ` -> ` headers)
        else:  # ARP from its hardware type on, behind a cooked-capture header
            assert kind == capture.LINKTYPE_LINUX_SLL and f[14:16] == b"\x08\x06"
            assert f[16:22] == bytes.fromhex("000108000604")
    assert lt.count(capture.LINKTYPE_RAW) == 5 and set(d.frames.direction) == {"in"}
    assert d.frames.ts_us[0] == 758788  # `0.758788 wan1 in arp ...` (anchored by the caller)
    # the script(1) banner, the host-key warning, the help block and prompts are stray text
    assert len(d.stray_lines) > 25 and d.orphan_lines == 0


# ---------------------------------------------------------------------------- mangled copies
def _mangle(buf: bytes, how: str) -> bytes:
    out = []
    for line in buf.decode().split("\n"):
        m = re.match(r"^(0x[0-9a-f]{4})\t (.{39})\t(.*)$", line)
        if not m:
            out.append(line)
            continue
        off, groups, ascii_col = m.groups()
        if how == "spaces":  # a web page: tabs turned into runs of spaces
            out.append(f"{off}   {groups}        {ascii_col}")
        elif how == "collapsed":  # a PDF copy: single spaces, ASCII column garbled
            out.append(f"{off} {' '.join(groups.split())} {ascii_col.replace('.', '#')[::-1]}")
        elif how == "no-ascii":
            out.append(f"{off}\t {groups.rstrip()}")
        elif how == "tab-prefix":  # copied from a document: each line indented by a tab
            out.append(f"\t{off}\t {groups}\t{ascii_col}")
    return "\n".join(out).encode()


@pytest.mark.parametrize("how", ["spaces", "collapsed", "no-ascii", "tab-prefix"])
def test_mangled_dump_lines_give_the_same_bytes(how):
    buf = cleaned(V6)
    want = frame_bytes(hx.scan(buf))
    got = hx.scan(_mangle(buf, how))
    assert frame_bytes(got) == want
    assert got.orphan_lines == 0


def test_ascii_column_made_of_hex_letters_is_not_read_as_bytes():
    # 8 groups, then an ASCII column that looks like hex: only 16 bytes are taken
    line = b"0x0000 4500 0054 0000 4000 4001 0000 0a00 0001 beef dead"
    assert hx._loose(line) == (0, bytes.fromhex("450000540000400040010000" "0a000001"))


# ---------------------------------------------------------------------------- damage
def test_short_dump_is_kept_and_flagged(bench):
    _, a_txt, _ = bench
    lines = a_txt.read_text().split("\n")
    # cut the last two dump lines of the first packet (an SA_INIT of 820 bytes of UDP payload)
    first_blank = lines.index("", 5)
    cut = lines[: first_blank - 2] + lines[first_blank:]
    d = hx.scan("\n".join(cut).encode())
    assert d.notes[0] and "hex dump holds" in d.notes[0]
    f = d.frames
    assert f.offsets[1] - f.offsets[0] < f.orig_len[0] == 14 + 20 + 8 + 820


def test_lost_line_ends_the_packet_there(bench):
    _, a_txt, _ = bench
    lines = a_txt.read_text().split("\n")
    del lines[5 + 3]  # the fourth dump line (offset 0x0030) of the first packet
    d = hx.scan("\n".join(lines).encode())
    assert d.frames.offsets[1] == 48  # three lines of 16 bytes kept
    assert "breaks off at line 9 (offset 0x0040" in d.notes[0]
    assert d.orphan_lines > 0 and len(d) == d.headers == len(pcap_frames(bench[0]))


def test_truncated_ip_header_is_flagged():
    text = (b"0.100000 port2 in 10.0.0.1.500 -> 10.0.0.2.500: truncated-ip - 20 bytes missing!\n"
            b"0x0000\t 4500 0030 0001 0000 4011 0000 0a00 0001\tE..0....@.......\n"
            b"0x0010\t 0a00 0002 01f4 01f4 001c 0000          \t............\n\n")
    d = hx.scan(text)
    assert len(d) == 1 and "truncated-ip" in d.notes[0] and "holds 28 of 48 bytes" in d.notes[0]


# ---------------------------------------------------------------------------- link layers
def _dump(frame: bytes, header: str) -> bytes:
    out = [header]
    for off in range(0, len(frame), 16):
        chunk = frame[off : off + 16]
        groups = " ".join(chunk[i : i + 2].hex() for i in range(0, len(chunk), 2))
        out.append(f"0x{off:04x}\t {groups:<39}\t{'.' * len(chunk)}")
    return ("\n".join(out) + "\n\n").encode()


def test_internal_tag_and_fortinet_ethertypes_are_normalised(bench):
    a_pcap, _, _ = bench
    ts, eth = pcap_frames(a_pcap)[0]
    head = "2026-02-26 23:20:03.224742 any in 10.3.2.1.500 -> 10.55.3.193.500: udp 820"
    tagged = eth[:12] + b"\x00\x01" + eth[12:]  # 2-byte internal tag before the ethertype
    forti = eth[:12] + b"\x88\x90" + eth[14:]
    tunnel = eth[14:]  # a tunnel interface: the `Ethernet` dump starts at the IP header
    d = hx.scan(_dump(tagged, head) + _dump(forti, head) + _dump(tunnel, head))
    got = frame_bytes(d)
    assert got[0] == eth and got[1] == eth and got[2] == eth[14:]
    assert d.frames.linktype.tolist() == [capture.LINKTYPE_ETHERNET] * 2 + [capture.LINKTYPE_RAW]
    assert d.normalised == 2


# ---------------------------------------------------------------------------- round trip
def test_bench_dump_is_the_capture_byte_for_byte(bench):
    a_pcap, a_txt, _ = bench
    d = hx.scan(a_txt.read_bytes())
    want = pcap_frames(a_pcap)
    assert frame_bytes(d) == [b for _, b in want]
    assert set(d.frames.iface) == {"port2"}
    gw = bytes([10, 55, 3, 193])
    dirs = ["out" if b[26:30] == gw else "in" for _, b in want]
    assert d.frames.direction == dirs
    assert np.abs(d.frames.ts_us - np.array([t for t, _ in want])).max() <= 1


KEYS = ["kind", "src", "sport", "dst", "dport", "transport", "ike_version", "exchange", "response",
        "msg_id", "ispi", "rspi", "payloads", "notify", "esp_spi", "esp_seq", "iface", "direction"]


def test_v6_dump_gives_the_same_ike_events_as_the_capture(bench):
    a_pcap, a_txt, _ = bench
    txt, ingest = load([a_txt])
    cap, _ = load([a_pcap])
    ipsec = ["ike", "esp", "nat-keepalive", "iketcp-prefix"]
    t = txt[txt["kind"].isin(ipsec)].reset_index(drop=True)
    c = cap[cap["kind"].isin(ipsec)].reset_index(drop=True)
    assert len(t) == len(c) > 100
    assert (t["exchange"] == "SA_INIT").sum() >= 4
    for k in KEYS:
        if k in ("iface", "direction") and c[k].isna().all():
            continue  # a classic pcap has neither; the capture reader may infer directions
        assert t[k].astype(object).where(t[k].notna(), None).tolist() == \
               c[k].astype(object).where(c[k].notna(), None).tolist(), k
    assert (t["time"] == c["time"]).mean() > 0.99  # pcap rounds µs the bench's own way
    # each event still points at its header line, with the header's text
    assert t["origin"].eq("sniffer").all()
    lines = a_txt.read_text().split("\n")
    assert all(lines[r - 1] == text for r, text in zip(t["ref"], t["text"]))
    rep = ingest.inputs[0]
    assert rep.balanced and rep.accounting["hexdump"] > 10 * len(t)


def test_dump_without_ipsec_keeps_its_header_events():
    ingest = IngestReport()
    data = V6.read_bytes()
    ev = load_blob(Blob("30.txt", None, data, data[:16]), LoadOptions(), ingest)
    assert len(ev) == 23 and set(ev["kind"]) == {"arp", "other"}
    assert ingest.inputs[0].balanced and ingest.inputs[0].accounting["hexdump"] == 137


def test_scanning_in_pieces_changes_nothing(bench, monkeypatch):
    _, a_txt, _ = bench
    lines = a_txt.read_text().split("\n")
    del lines[5 + 3]  # a lost line, so a note carries a line number
    buf = "\n".join(lines).encode()
    whole = hx.scan(buf)
    monkeypatch.setattr(hx, "CHUNK_BYTES", 5000)
    pieces = hx.scan(buf)
    assert frame_bytes(pieces) == frame_bytes(whole)
    assert pieces.header_line.tolist() == whole.header_line.tolist()
    assert pieces.last_line.tolist() == whole.last_line.tolist()
    assert pieces.notes == whole.notes and pieces.frames.direction == whole.frames.direction
    assert (pieces.orphan_lines, pieces.stray_lines) == (whole.orphan_lines, whole.stray_lines)


LOGS = DATA / "terminal_logs"


def _with_pieces(lines: list[str]) -> tuple[bytes, np.ndarray, np.ndarray]:
    """Text, header lines and the lines continuing them (as the text source names them:
    every line between a header and its dump)."""
    header = np.array([bool(re.match(r"\d{4}-\d\d-\d\d \d", x)) for x in lines])
    other = np.array([not (x.startswith("0x") or not x.strip()) for x in lines]) & ~header
    root = np.maximum.accumulate(np.where(other, -1, np.arange(len(lines))))
    pieces = other & (root >= 0) & header[np.maximum(root, 0)]
    return ("\n".join(lines) + "\n").encode(), header, pieces


def _headers_broken(width: int) -> list[str]:
    """The bench excerpt's lines, its packet headers broken every ``width`` characters."""
    lines = []
    for x in cleaned(LOGS / "bench-v6.excerpt.txt").decode().splitlines():
        lines += [x[k : k + width] for k in range(0, len(x), width)] if x[:4].isdigit() else [x]
    return lines


def test_a_header_continued_on_several_lines_keeps_its_dump():
    """The scan follows the pieces the text source names, however many: a header broken
    twice (every 35 characters) is the header of the dump below its last piece."""
    whole = hx.scan(cleaned(LOGS / "bench-v6.excerpt.txt"))
    lines = _headers_broken(35)
    buf, header, pieces = _with_pieces(lines)
    assert pieces.sum() == 2 * header.sum()  # 84-88 characters: three lines each
    d = hx.scan(buf, headers=header, pieces=pieces)
    assert len(d) == len(whole) == 15 and d.orphan_lines == 0 and d.headers == 15
    assert frame_bytes(d) == frame_bytes(whole)
    assert [lines[h] for h in d.header_line] == [lines[h] for h in np.flatnonzero(header)]
    assert d.frames.ts_us.tolist() == whole.frames.ts_us.tolist() and d.frames.iface == whole.frames.iface
    assert not np.isin(np.flatnonzero(pieces), d.stray_lines).any()


def test_scanning_in_pieces_keeps_a_header_with_its_piece(monkeypatch):
    """A piece of the text is cut before a line that is not a dump line: the piece of a
    wrapped header is such a line, and stays with its header."""
    lines = _headers_broken(35)  # (each piece starts with no blank: a place to cut)
    buf, header, pieces = _with_pieces(lines)
    whole = hx.scan(buf, headers=header, pieces=pieces)
    assert len(whole) == 15 and whole.orphan_lines == 0
    starts = np.cumsum([0] + [len(x) + 1 for x in lines])
    for size in starts[np.flatnonzero(header)[:4]] + 10:  # a piece of the text ending inside a header line
        assert hx._cut(buf, int(size)) in starts[np.flatnonzero(pieces)]
        monkeypatch.setattr(hx, "CHUNK_BYTES", int(size))
        got = hx.scan(buf, headers=header, pieces=pieces)
        assert frame_bytes(got) == frame_bytes(whole)
        assert got.header_line.tolist() == whole.header_line.tolist()
        assert (got.orphan_lines, got.stray_lines, got.headers) == (whole.orphan_lines, whole.stray_lines, whole.headers)


HEADER_LINES = ["0.5 port2 in 10.0.0.1.500 -> 10.0.0.2.500: udp 20", "2026-02-26 23:20:03.2 arp who-has 1.2.3.4 tell 1.2.3.5",
                "1.25 10.0.0.1 -> 10.0.0.2: ip-proto-50 92", "\t3.5 ppp0 out 10.0.0.1.4500 -> 10.0.0.2.4500: udp 1"]
_hex = st.binary(min_size=0, max_size=16)
_offset = st.integers(0, 0x200)


@st.composite
def dump_text(draw) -> bytes:
    out = []
    for _ in range(draw(st.integers(0, 12))):
        choice = draw(st.integers(0, 5))
        if choice == 0:
            out.append(draw(st.sampled_from(HEADER_LINES)))
        elif choice in (1, 2):
            b = draw(_hex)
            groups = " ".join(b[i : i + 2].hex() for i in range(0, len(b), 2))
            sep = draw(st.sampled_from(["\t ", " ", "   "]))
            out.append(f"0x{draw(_offset):04x}{sep}{groups:<39}\t{'.' * len(b)}")
        elif choice == 3:
            out.append("")
        else:
            out.append(draw(st.text(alphabet="0x 9af\t.-:>#", max_size=60)))
    return ("\n".join(out) + draw(st.sampled_from(["", "\n", "\r\n"]))).encode()


@given(dump_text())
def test_scan_never_fails_and_accounts_for_every_dump_line(text):
    d = hx.scan(text)
    assert len(d) <= d.headers
    assert len(d.frames.offsets) == len(d) + 1 and d.frames.offsets[-1] == len(d.frames.data)
    kept = int(sum(d.last_line - d.first_line + 1)) if len(d) else 0
    assert kept + d.orphan_lines == d.dump_lines


def test_a_decoded_dump_keeps_the_device_its_prompt_names():
    """ipsec-mix.txt: two sniffer runs under `FGT-EDGE #`, the first at verbosity 6 (dumps).
    The decoded packets lost the prompt's device, so the report told that run as "the
    paste's first run" and the second as "FGT-EDGE's run", two capture points of one
    FortiGate. Both runs are FGT-EDGE's, on one clock: one view, told with no run label."""
    from ikeanalyze import api

    events, _ = load([str(DATA / "terminal_logs" / "ipsec-mix.txt")])
    sniffed = events[events["origin"] == "sniffer"]
    assert sniffed["ref"].tolist()[:2] == [5, 23] and (sniffed["wire"] == True).sum() >= 2  # noqa: E712
    assert sniffed["device"].tolist() == ["FGT-EDGE"] * len(sniffed)
    text = api.render(api.analyze([str(DATA / "terminal_logs" / "ipsec-mix.txt")]), "terminal", width=140)
    assert "the paste's first run" not in text and "FGT-EDGE's run" not in text
    assert "traffic both ways on UDP 500 between 203.0.113.45:500 and 192.0.2.10:500" in text
