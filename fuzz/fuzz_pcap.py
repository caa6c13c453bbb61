"""atheris target: pcap and pcapng captures (record walker, link/IP/L4 classification,
fragments, RFC 8229 streams). Inputs that lack a capture magic get one, so the fuzzer's
effort goes into the records and not into rediscovering four bytes."""

from __future__ import annotations

import sys

import _common  # noqa: F401
import atheris

with atheris.instrument_imports(include=["ikeanalyze"]):
    from ikeanalyze.errors import InputError
    from ikeanalyze.ingest import InputReport
    from ikeanalyze.sources import Blob, LoadOptions, pcap

MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\x0a\x0d\x0d\x0a")
OPTIONS = LoadOptions(ike_tcp_ports=(443, 5500))


def test_one_input(data: bytes) -> None:
    if data[:4] not in MAGICS:
        data = MAGICS[data[0] % len(MAGICS) if data else 0] + data
    report = InputReport("fuzz.pcap", unit="frame")
    try:
        pcap.parse(Blob("fuzz.pcap", None, data, data[:16]), report, OPTIONS)
    except InputError:
        return
    if sum(report.accounting.values()) != report.total:
        raise AssertionError(f"accounting {dict(report.accounting)} does not sum to {report.total}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
