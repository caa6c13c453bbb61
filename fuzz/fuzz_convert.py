"""atheris target: `ikeanalyze convert` (sniffer hex dumps and IKE debug hex → frames)."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import _common  # noqa: F401
import atheris

with atheris.instrument_imports(include=["ikeanalyze"]):
    from ikeanalyze import capture, convert
    from ikeanalyze.errors import InputError
    from ikeanalyze.sources import Blob

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_one_input(data: bytes) -> None:
    try:
        frames, _summary, comment = convert.frames_of(Blob("fuzz.txt", None, data, data[:16]), START, True)
    except InputError:
        return
    capture.pcapng(frames, comment)
    capture.pcap(frames)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
