"""atheris target: RFC 8229 stream reassembly (IKETCP prefix, 2-byte length framing)
over segments at arbitrary sequence numbers, overlapping and out of order."""

from __future__ import annotations

import sys

import _common  # noqa: F401
import atheris

with atheris.instrument_imports(include=["ikeanalyze"]):
    from ikeanalyze.wire import tcpencap


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    r = tcpencap.StreamReassembler(expect_prefix=(None, True, False)[fdp.ConsumeIntInRange(0, 2)])
    if fdp.ConsumeBool():
        r.syn(fdp.ConsumeIntInRange(0, 0xFFFFFFFF))
    frame = 0
    while fdp.remaining_bytes():
        frame += 1
        seq = fdp.ConsumeIntInRange(0, 0xFFFFFFFF)
        for unit in r.feed(seq, fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 300)), frame):
            assert unit.kind in ("prefix", "ike", "esp", "empty"), unit
    assert r.buffered >= 0


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
