"""Resource bounds: hostile sizes end with a bounded amount of memory.

Each input is read in a fresh interpreter that reports its peak resident memory
(``resource.ru_maxrss``) after and before loading, so pandas/pyarrow allocations count too.
The bounds are generous ceilings (a 10 MB line may cost some hundreds of MB of columns and
regex passes), there to catch a 4 GB allocation or quadratic growth, not to benchmark;
there is no timing assertion beyond the subprocess timeout.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib

import pytest

from tests.conftest import ROOT, run_cli
from tests.sources.pcapbuild import _block, _opt, eth, ipv4, pcap, udp
from tests.wire.ikebuild import message, notify_v2

MB = 1 << 20
LINE = 10 * MB

CHILD = """
import json, resource, sys
from ikeanalyze.api import load
from ikeanalyze.errors import InputError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = {}
try:
    events, ingest = load([sys.argv[1]])
    r = ingest.inputs[0]
    out.update(total=r.total, accounting=dict(r.accounting), warnings=r.warnings, events=len(events),
               ifaces=int(events["iface"].nunique()))
except InputError as exc:
    out["error"] = str(exc)
out["grew_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps(out))
"""


def _measure(path) -> dict:
    p = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    return json.loads(p.stdout)


def _frame() -> bytes:
    ike = message(bytes(range(8)), bytes(8), 34, 0x08, 0, [(41, notify_v2(16388, bytes(20)))])
    return eth(ipv4("198.51.100.7", "203.0.113.1", 17, udp(500, 500, ike)))


TEN_MB_LINES = {
    "one character": b"A" * LINE + b"\n",
    "IKE debug hex": b"ike 0:dialup:1: in " + b"AB" * (LINE // 2) + b"\n",
    "digits in a debug context": b"ike 0:gw:" + b"9" * LINE + b": comes 1.2.3.4:500->5.6.7.8:500,ifindex=7\n",
    "terminal escapes": b"\x1b[" * (LINE // 2) + b"\n",
    "backspaces": b"a" * (LINE // 2) + b"\x08" * (LINE // 2) + b"\n",
    "sniffer header and junk": b"0.1 port1 in 10.0.0.1.500 -> 10.0.0.2.500: udp 116 " + b"x " * (LINE // 2) + b"\n",
}


@pytest.mark.parametrize("name", TEN_MB_LINES)
def test_a_10_mb_line(tmp_path, name):
    f = tmp_path / "paste.txt"
    f.write_bytes(TEN_MB_LINES[name])
    got = _measure(f)
    assert got["total"] == 1 and sum(got["accounting"].values()) == 1
    assert got["grew_mb"] < 800, got


def test_a_10_mb_line_through_the_whole_cli(tmp_path):
    """Rules and the report see the 10 MB line too; the report shows 200 characters of it."""
    f = tmp_path / "paste.txt"
    f.write_bytes(TEN_MB_LINES["one character"])
    p = run_cli("analyze", str(f), "--format", "json")
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    [inp] = json.loads(p.stdout)["inputs"]
    assert inp["accounting"]["unrecognised"] == 1
    assert inp["unrecognised_examples"] == [{"ref": 1, "text": "A" * 200}]


def test_pcap_record_claiming_4_gb(tmp_path):
    """The snapshot length allows it (0xFFFFFFFF): the record runs past the end of the file."""
    fr = _frame()
    data = pcap([(1.0, fr), (2.0, fr)], snaplen=0xFFFFFFFF) + struct.pack("<IIII", 3, 0, 0xFFFFFFFF,
                                                                         0xFFFFFFFF) + bytes(100)
    f = tmp_path / "big.pcap"
    f.write_bytes(data)
    got = _measure(f)
    assert got["events"] == 2 and got["accounting"] == {"event": 2, "truncated": 1}
    assert got["warnings"] == ["frame 3: capture cut off mid-record"]
    assert got["grew_mb"] < 100, got


def test_pcap_record_claiming_4_gb_beyond_the_snapshot_length(tmp_path):
    fr = _frame()
    data = pcap([(1.0, fr)]) + struct.pack("<IIII", 3, 0, 0xFFFFFFF0, 0xFFFFFFF0) + bytes(100)
    f = tmp_path / "big.pcap"
    f.write_bytes(data)
    got = _measure(f)
    assert got["events"] == 1
    assert got["warnings"] == ["frame 2: captured length 4294967280 exceeds the snapshot length 65535"]
    assert got["grew_mb"] < 100, got


def test_pcapng_with_10000_interfaces(tmp_path):
    fr = _frame()
    blocks = [_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    blocks += [_block(1, struct.pack("<HHI", 1, 0, 0) + _opt(2, f"port{i}".encode()) + bytes(4))
               for i in range(10_000)]
    for k in range(20_000):
        ts = 1_700_000_000_000_000 + k
        body = struct.pack("<IIIII", k % 10_000, ts >> 32, ts & 0xFFFFFFFF, len(fr), len(fr))
        blocks.append(_block(6, body + fr + bytes(-len(fr) % 4)))
    f = tmp_path / "many.pcapng"
    f.write_bytes(b"".join(blocks))
    got = _measure(f)
    assert got["events"] == 20_000 and got["ifaces"] == 10_000 and got["warnings"] == []
    assert got["grew_mb"] < 400, got


def test_gzip_bomb(tmp_path):
    """2 GiB of zeros in 2 MB of gzip: refused at the ratio bound, never expanded in full."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    zero = bytes(MB)
    f = tmp_path / "bomb.txt.gz"
    with open(f, "wb") as out:
        for _ in range(2048):
            out.write(z.compress(zero))
        out.write(z.flush())
    got = _measure(f)
    assert "expands beyond" in got["error"] and "refusing" in got["error"]
    size = f.stat().st_size
    assert got["grew_mb"] < 100 * size / MB + 150, got  # the ratio bound (100x) plus slack
