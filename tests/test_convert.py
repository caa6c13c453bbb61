"""`ikeanalyze convert`: sniffer text (and IKE debug hex) → pcapng/pcap, checked with tshark.

tshark is the oracle: it must read every converted file without error and see the same
packets (count, bytes, interface names, directions, IKE fields) as the dump and the bench
capture hold."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ikeanalyze import capture
from ikeanalyze.convert import convert, udp_packet
from ikeanalyze.sources import load
from tests.sources.test_hexdump import make_bench, pcap_frames

DATA = Path(__file__).resolve().parent / "data" / "hexdump"
V6 = DATA / "30_sniffer_v6_abs_terminal_noise.txt"
V5 = DATA / "31_sniffer_v5_any_relative.txt"
DEBUG = DATA / "IKE_LOG_V2_PSK.txt"
TSHARK = shutil.which("tshark")
needs_tshark = [
    pytest.mark.tshark,
    pytest.mark.skipif(TSHARK is None and not os.environ.get("IKEANALYZE_REQUIRE_TOOLS"),
                       reason="tshark binary not installed"),
]


def tshark(path: Path, *fields: str, md5: bool = False) -> list[dict[str, str]]:
    """Per frame, the named fields; fails on any tshark error or malformed packet."""
    cmd = [TSHARK or "tshark", "-n", "-r", str(path), "-T", "fields", "-E", "occurrence=f"]
    if md5:
        cmd[1:1] = ["-o", "frame.generate_md5_hash:TRUE"]
    for f in ("_ws.malformed", "_ws.expert.severity", *fields):
        cmd += ["-e", f]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "appears to be damaged" not in p.stderr and "isn't" not in p.stderr, p.stderr
    rows = [dict(zip(("malformed", "severity", *fields), line.split("\t"))) for line in p.stdout.splitlines()]
    assert not [r for r in rows if r["malformed"]], "tshark: malformed packets"
    return rows


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return make_bench(tmp_path_factory.mktemp("bench"))


# ---------------------------------------------------------------------------- bench round trip
@pytest.mark.parametrize("suffix", [".pcapng", ".pcap"])
def test_bench_dump_converts_to_the_capture_frames(bench, tmp_path, suffix):
    a_pcap, a_txt, _ = bench
    out = tmp_path / f"A{suffix}"
    res = convert([str(a_txt)], out)
    want = pcap_frames(a_pcap)
    assert res.packets == len(want)
    got = pcap_frames(out) if suffix == ".pcap" else None
    if got is not None:  # classic pcap: Ethernet, the same frames byte for byte
        assert [b for _, b in got] == [b for _, b in want]
        assert out.read_bytes()[20:24] == capture.LINKTYPE_ETHERNET.to_bytes(4, "little")


def tshark_test(fn):
    """Mark a test as needing tshark (skipped only when it is missing and not required)."""
    for m in needs_tshark:
        fn = m(fn)
    return fn


@tshark_test
def test_tshark_sees_the_bench_packets_with_interface_and_direction(bench, tmp_path):
    a_pcap, a_txt, _ = bench
    out = tmp_path / "A.pcapng"
    convert([str(a_txt)], out)
    fields = ("frame.md5_hash", "frame.len", "isakmp.ispi", "isakmp.exchangetype", "isakmp.messageid", "esp.spi")
    want = tshark(a_pcap, *fields, md5=True)
    got = tshark(out, *fields, "frame.interface_name", "frame.p2p_dir", "ip.src", md5=True)
    assert len(got) == len(want) > 500
    for w, g in zip(want, got):
        assert all(g[f] == w[f] for f in fields), (w, g)
        assert g["frame.interface_name"] == "port2"
        assert g["frame.p2p_dir"] == ("0" if g["ip.src"] == "10.55.3.193" else "1")  # 0 sent, 1 received
    assert sum(1 for g in got if g["isakmp.exchangetype"] == "34") >= 4  # every tunnel's SA_INIT


@tshark_test
def test_converted_pcapng_reads_back_with_interfaces_and_directions(bench, tmp_path):
    _, a_txt, _ = bench
    out = tmp_path / "A.pcapng"
    convert([str(a_txt)], out)
    back, ingest = load([out])
    txt, _ = load([a_txt])
    ipsec = ["ike", "esp", "nat-keepalive", "iketcp-prefix"]
    b = back[back["kind"].isin(ipsec)]
    t = txt[txt["kind"].isin(ipsec)]
    assert len(b) == len(t)
    assert set(b["iface"]) == {"port2"}
    assert b["direction"].tolist() == t["direction"].tolist()
    assert b["ispi"].fillna("").tolist() == t["ispi"].fillna("").tolist()


# ---------------------------------------------------------------------------- real corpus dumps
@tshark_test
def test_compressed_and_zipped_dumps_convert_as_the_plain_text(tmp_path):
    """A dump sent as .gz, .bz2, .xz or inside a ZIP converts to the packets of the plain file,
    as `analyze` reads those inputs."""
    import bz2
    import gzip
    import lzma
    import zipfile

    plain = convert([str(V6)], None)
    text = V6.read_bytes()
    for name, data in (("d.txt.gz", gzip.compress(text)), ("d.txt.bz2", bz2.compress(text)),
                       ("d.txt.xz", lzma.compress(text))):
        (tmp_path / name).write_bytes(data)
    with zipfile.ZipFile(tmp_path / "case.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("sniffer/d.txt", text)
    for name in ("d.txt.gz", "d.txt.bz2", "d.txt.xz", "case.zip"):
        res = convert([str(tmp_path / name)], None, fmt="pcap")
        assert res.packets == plain.packets == 23, name
        assert res.data == convert([str(V6)], None, fmt="pcap").data, name
    assert convert([str(tmp_path / "case.zip")], None).inputs[0].source == f"{tmp_path / 'case.zip'}:sniffer/d.txt"


def test_v6_corpus_dump_with_crlf_and_backspaces_converts(tmp_path):
    out = tmp_path / "30.pcapng"
    res = convert([str(V6)], out)
    (s,) = res.inputs
    assert (res.packets, s.headers, s.orphan_lines) == (23, 23, 0)
    # 195 lines: 23 headers + 137 dump lines + 27 blank; the 8 others are 3 prompts (one with the
    # backspaced command echo), `current vf=root:0`, `interfaces=`, `filters=` and the 2 trailer lines
    assert s.lines == 195 and s.stray_lines == 195 - 23 - 137 - 27 == 8
    rows = tshark(out, "frame.interface_name", "frame.p2p_dir", "frame.protocols", "frame.len", "arp.dst.proto_ipv4")
    assert len(rows) == 23
    assert {r["frame.interface_name"] for r in rows} == {"wan1"}
    assert {r["frame.p2p_dir"] for r in rows} == {""}  # `--`: no direction
    protos = [r["frame.protocols"] for r in rows]
    assert sum(p == "eth:ethertype:arp" for p in protos) == 17
    assert sum("ipv6:udp" in p for p in protos) == 6
    assert rows[0]["arp.dst.proto_ipv4"] == "10.108.17.97" and rows[0]["frame.len"] == "60"


@tshark_test
def test_v5_corpus_dump_converts_to_raw_ip_and_cooked_arp(tmp_path):
    out = tmp_path / "31.pcapng"
    res = convert([str(V5)], out, start="2026-01-01T00:00:00")
    assert res.packets == 22
    rows = tshark(out, "frame.interface_name", "frame.p2p_dir", "frame.protocols", "frame.time_epoch",
                  "arp.src.proto_ipv4", "ipv6.src")
    assert len(rows) == 22 and {r["frame.interface_name"] for r in rows} == {"wan1"}
    assert {r["frame.p2p_dir"] for r in rows} == {"1"}  # `in`: received
    assert rows[0]["frame.protocols"].endswith("arp") and rows[0]["arp.src.proto_ipv4"] == "10.108.16.133"
    assert rows[2]["frame.protocols"].startswith("raw:ipv6") and rows[2]["ipv6.src"] == "fe80::18f:aba6:cdc7:e96b"
    # `0.758788 wan1 in arp ...` anchored at --start, and the file says so
    assert rows[0]["frame.time_epoch"].startswith("1767225600.758788")
    info = subprocess.run(["capinfos", "-k", str(out)], capture_output=True, text=True).stdout
    assert "anchored at 2026-01-01T00:00:00+00:00 (--start)" in info


@tshark_test
def test_classic_pcap_of_mixed_link_layers_keeps_directions(tmp_path):
    out = tmp_path / "31.pcap"
    convert([str(V5)], out)
    assert out.read_bytes()[20:24] == capture.LINKTYPE_LINUX_SLL.to_bytes(4, "little")
    rows = tshark(out, "frame.protocols", "sll.pkttype", "frame.time_epoch")
    assert len(rows) == 22 and {r["sll.pkttype"] for r in rows} == {"0"}  # to us
    assert sum(r["frame.protocols"].endswith(":arp") for r in rows) == 17
    assert rows[0]["frame.time_epoch"].startswith("0.758788")  # default anchor: the Unix epoch


# ---------------------------------------------------------------------------- IKE debug hex
@tshark_test
def test_ike_debug_hex_becomes_udp_packets(tmp_path):
    out = tmp_path / "psk.pcapng"
    res = convert([str(DEBUG)], out, from_ike_debug=True)
    (s,) = res.inputs
    # `in` on lines 3, 78, 92, 98 and `out` on line 70; the `dec` on line 79 is not wire bytes
    assert res.packets == 5 and s.debug_skipped == {"enc/dec (not wire bytes)": 1}
    rows = tshark(out, "ip.src", "udp.srcport", "ip.dst", "udp.dstport", "isakmp.exchangetype", "isakmp.ispi",
                  "isakmp.rspi", "isakmp.length", "frame.p2p_dir", "frame.comment")
    assert [r["isakmp.exchangetype"] for r in rows] == ["34", "34", "35", "35", "35"]
    assert {r["isakmp.ispi"] for r in rows} == {"b84babe9e6a4abf9"}
    assert [(r["ip.src"], r["udp.srcport"], r["udp.dstport"], r["frame.p2p_dir"]) for r in rows] == [
        ("1.1.1.254", "500", "500", "1"), ("2.2.2.254", "500", "500", "0"),
        ("1.1.1.254", "4500", "4500", "1"), ("1.1.1.254", "4500", "4500", "1"), ("1.1.1.254", "4500", "4500", "1")]
    assert rows[0]["isakmp.length"] == "641"  # `comes ... len=641`
    assert rows[1]["isakmp.rspi"] == "b51bd7b5c75df81d"
    assert "line 70" in rows[1]["frame.comment"]


def test_ike_debug_hex_needs_the_flag(cli, tmp_path):
    p = cli("convert", str(DEBUG), "-o", str(tmp_path / "x.pcapng"))
    assert p.returncode == 2 and b"--from-ike-debug" in p.stderr


def test_udp_packet_checksums():
    pkt = udp_packet("10.0.0.1", 500, "10.0.0.2", 500, b"\x01\x02\x03")
    assert len(pkt) == 20 + 8 + 3 and pkt[9] == 17
    from ikeanalyze.convert import _checksum

    assert _checksum(pkt[:20]) == 0
    v6 = udp_packet("2001:db8::1", 4500, "2001:db8::2", 4500, b"\0\0\0\0abc")
    assert v6[0] >> 4 == 6 and v6[6] == 17 and v6[40 + 6 : 40 + 8] != b"\0\0"


# ---------------------------------------------------------------------------- the command
def test_cli_reports_what_it_skipped(cli, tmp_path):
    out = tmp_path / "30.pcapng"
    p = cli("convert", str(V6), "-o", str(out))
    assert p.returncode == 0, p.stderr
    err = p.stderr.decode()
    assert "wrote 23 packets" in err and "8 other lines" in err
    assert out.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"


def test_cli_stdout_and_bad_start(cli, tmp_path):
    p = cli("convert", str(V5), "-o", "-")
    assert p.returncode == 0 and p.stdout[:4] == b"\x0a\x0d\x0d\x0a"
    p = cli("convert", str(V5), "-o", str(tmp_path / "x.pcapng"), "--start", "yesterday")
    assert p.returncode == 2 and b"--start" in p.stderr


def _diagnosis(path: Path) -> list[tuple]:
    from tests.conftest import analyze_json

    d = analyze_json(str(path))
    return sorted((f["code"], f["peer"], f["start"].rstrip("Z"), (f.get("end") or "").rstrip("Z"))
                  for f in d["findings"])


def test_dump_capture_and_converted_capture_diagnose_the_same(bench, tmp_path):
    """`analyze A.txt` (verbosity 6) tells what `analyze A.pcap` tells, and so does the
    capture `convert A.txt` writes (clock: the text's own, the pcap's UTC: same digits)."""
    a_pcap, a_txt, truth = bench
    out = tmp_path / "A.pcapng"
    convert([str(a_txt)], out)
    from_text = _diagnosis(a_txt)
    assert from_text == _diagnosis(a_pcap) == _diagnosis(out)
    import json

    broken = [t for t in json.loads(truth.read_text())["tunnels"] if t["broken"]]
    assert broken and {(c, p) for c, p, *_ in from_text} >= {("IKE102", t["client"]) for t in broken}


def test_ike_debug_console_timestamps_become_frame_times(tmp_path):
    lines = DEBUG.read_text().split("\n")
    stamped = tmp_path / "stamped.txt"
    # `diagnose debug console timestamp enable`: every line gets the device's date and time
    stamped.write_text("\n".join(f"2026-02-26 23:17:{i % 60:02d}.{i:06d} {line}" if line.startswith("ike ") else line
                                 for i, line in enumerate(lines)))
    res = convert([str(stamped)], tmp_path / "t.pcapng", from_ike_debug=True)
    back, _ = load([tmp_path / "t.pcapng"])
    assert res.packets >= 3  # lines with typed keys before `ike` stay unstamped but still pair
    first_in = lines.index(next(x for x in lines if x.startswith("ike 0: in ")))
    assert str(back["time"].iloc[0]) == f"2026-02-26 23:17:{first_in % 60:02d}.{first_in:06d}"


def test_a_terminal_clients_stamps_time_the_frames_of_a_debug_that_prints_none(tmp_path):
    """MobaXterm's dated stamp on every line of a debug without console timestamps: the
    frames take the client's times (not 1 us apart from --start), and the comment says so."""
    logs = Path(__file__).resolve().parent / "data" / "terminal_logs"
    res = convert([str(logs / "retrans.mobaxterm-stamps.txt")], tmp_path / "t.pcapng", from_ike_debug=True)
    back, _ = load([tmp_path / "t.pcapng"])
    assert res.packets == 6
    assert [str(t) for t in back["time"]] == ["2026-03-04 09:12:01", "2026-03-04 09:12:02", "2026-03-04 09:12:04",
                                              "2026-03-04 09:12:04", "2026-03-04 09:12:05", "2026-03-04 09:12:08"]
    assert b"the terminal client's time stamps (the debug prints none)" in (tmp_path / "t.pcapng").read_bytes()


def test_debug_hex_with_a_far_future_console_time_does_not_overflow():
    """Found by hypothesis in CI: a mangled console stamp read as year 9999 overflowed
    pandas' nanosecond Timestamp.value; the frame keeps its microseconds."""
    from datetime import datetime, timezone

    from ikeanalyze import convert
    from ikeanalyze.sources import Blob
    from tests.conftest import DATA

    data = (DATA / "ikedebug" / "IKE_LOG_V1_ldap_working.txt").read_bytes().replace(
        b"2025-01-15 08:43:25.242719", b"9999999999999999999999999-01-15 08:43:25.242719")
    frames, _summary, _comment = convert.frames_of(Blob("x", None, data, data[:16]),
                                                   datetime(2026, 1, 1, tzinfo=timezone.utc), True)
    assert len(frames) > 0
