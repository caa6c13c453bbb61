"""atheris target: FortiGate text (sniffer, IKE debug, auth daemons, tunnel lists, hex dumps)
through the same path as a file argument: sniff, decode, clean, classify every line."""

from __future__ import annotations

import sys

import _common  # noqa: F401  (puts the repo on sys.path)
import atheris

with atheris.instrument_imports(include=["ikeanalyze"]):
    from ikeanalyze.errors import InputError
    from ikeanalyze.sources import Blob, load


def test_one_input(data: bytes) -> None:
    try:
        _events, ingest = load([Blob("fuzz.txt", None, data, data[:16])])
    except InputError:
        return
    for r in ingest.inputs:
        if sum(r.accounting.values()) != r.total:
            raise AssertionError(f"accounting {dict(r.accounting)} does not sum to {r.total}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
