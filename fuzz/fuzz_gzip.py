"""atheris target: .gz inputs (every member, cut or damaged streams, the expansion bound)."""

from __future__ import annotations

import gzip
import sys

import _common  # noqa: F401
import atheris

with atheris.instrument_imports(include=["ikeanalyze"]):
    from ikeanalyze.errors import InputError
    from ikeanalyze.sources import Blob, _decompress


def test_one_input(data: bytes) -> None:
    if data[:2] != b"\x1f\x8b":
        data = gzip.compress(data, 1)[: max(10, len(data))]  # a valid start, often cut short
    try:
        _decompress(Blob("fuzz.gz", None, data, data[:16]))
    except InputError:
        return


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
