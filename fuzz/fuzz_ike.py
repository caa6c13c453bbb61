"""atheris target: the IKE decoder (v1/v2 header, payload chain, SA proposals, notifies)
and the UDP 4500 / ESP demultiplexers. Only WireError may leave them."""

from __future__ import annotations

import sys

import _common  # noqa: F401
import atheris

with atheris.instrument_imports(include=["ikeanalyze"]):
    from ikeanalyze.errors import WireError
    from ikeanalyze.wire import esp, ike, natt


def test_one_input(data: bytes) -> None:
    natt.classify(data)
    if len(data) >= esp.ESP_HEADER_LEN:  # shorter is a WireError by contract, tested elsewhere
        esp.header(data)
    try:
        ike.decode(natt.ike_payload(data) if data[:4] == b"\0\0\0\0" else data)
    except WireError:
        return


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
