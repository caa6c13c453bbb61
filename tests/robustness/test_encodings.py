"""Text in any encoding a terminal or Windows produces reads as the same events.

Each variant of a real paste (the seed story, a debug log with 1 KB hex lines, a sniffer
v6 dump) is compared with the plain UTF-8 reading: same line accounting, same events
with the same fields. Variants: UTF-8 with BOM, UTF-16 LE/BE with BOM, UTF-16 LE without,
Latin-1, CRLF, bare CR, PuTTY's CR CR LF, NUL bytes, ANSI/VT100 colours and erase codes,
backspaced typing, and lines of hundreds of kilobytes.
"""

from __future__ import annotations

import codecs
import re

import pytest

from ikeanalyze.errors import InputError
from ikeanalyze.sources import Blob, load
from tests.robustness.helpers import ROOT, TESTS

PASTES = {
    "seed": ROOT / "samples" / "forticlient-udp-fallback-tcp.txt",
    "debug": TESTS / "data" / "ikedebug" / "IKE_LOG_V2_PSK.txt",
    "sniffer": TESTS / "data" / "hexdump" / "31_sniffer_v5_any_relative.txt",
}
FIELDS = ["ref", "kind", "origin", "src", "sport", "dst", "dport", "transport", "exchange", "msg_id",
          "ispi", "rspi", "length", "tunnel", "text"]


def _read(data: bytes, name: str = "paste.txt"):
    events, ingest = load([Blob(name, None, data, data[:16])])
    [report] = ingest.inputs
    assert sum(report.accounting.values()) == report.total
    return events, report


def _table(events):
    return events[FIELDS].astype(object).where(events[FIELDS].notna(), None).values.tolist()


def _plain(path) -> str:
    """The paste as the device printed it: clean LF lines (the corpus sniffer holds debris)."""
    from ikeanalyze.sources.textclean import clean, decode

    return clean(decode(path.read_bytes())[0])


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _colour(text: str) -> str:
    # What `ls --color`, a coloured prompt or tmux leave: SGR around lines, erase-to-EOL, OSC title.
    return "\n".join(f"\x1b[32m{line}\x1b[0m\x1b[K" if line else "\x1b]0;FGT: ~\x07" for line in _lines(text))


def _backspaced(text: str) -> str:
    # Every line typed with a correction: a wrong character, then a backspace.
    return "\n".join(f"{line[:5]}x\x08{line[5:]}" if len(line) > 5 else line for line in _lines(text))


def _nuls(text: str) -> str:
    return "\n".join(f"{line}\x00\x00" for line in _lines(text))


VARIANTS = {
    "utf-8 with BOM": lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
    "utf-16 le with BOM": lambda t: t.encode("utf-16"),  # Python writes the LE BOM
    "utf-16 be with BOM": lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
    "utf-16 le without BOM": lambda t: t.encode("utf-16-le"),
    "latin-1": lambda t: t.encode("latin-1", "replace"),
    "crlf": lambda t: t.replace("\n", "\r\n").encode(),
    "bare cr": lambda t: t.replace("\n", "\r").encode(),
    "putty cr cr lf": lambda t: t.replace("\n", "\r\r\n").encode(),
    "nul bytes": lambda t: _nuls(t).encode(),
    "ansi escapes": lambda t: _colour(t).encode(),
    "backspaces": lambda t: _backspaced(t).encode(),
}


@pytest.mark.parametrize("paste", PASTES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_encoding_variant_reads_the_same_events(paste, variant):
    text = _plain(PASTES[paste])
    if variant == "latin-1" and not text.isascii():
        text = text.encode("latin-1", "replace").decode("latin-1")  # what Latin-1 can hold
    base, base_report = _read(text.encode())
    got, report = _read(VARIANTS[variant](text))
    assert len(base) > 5
    assert report.total == base_report.total
    assert dict(report.accounting) == dict(base_report.accounting)
    assert _table(got) == _table(base)


def test_latin1_text_keeps_its_accented_characters():
    line = "ike 0:Büro-VPN:7: sent IKE msg (ident_r1send): 10.0.0.1:500->10.0.0.2:500, len=120, vrf=0, " \
           "id=0123456789abcdef/fedcba9876543210\n"
    events, _ = _read(line.encode("latin-1"))
    assert events["tunnel"][0] == "Büro-VPN" and events["dst"][0] == "10.0.0.2"


def test_terminal_log_with_typed_corrections_in_the_echoed_command():
    """FORMATS.md: `diag n^H^[[Ksnif ...` — the echoed command reads as the command typed."""
    data = (b"FGT # diag n\x08\x1b[Ksnif pack any 'port 4500' 4\r\r\n"
            b"interfaces=[any]\r\r\n"
            b"0.342268 port1 in 10.3.2.150.59641 -> 10.55.3.193.4500: udp 116\r\r\n")
    events, report = _read(data)
    assert report.accounting["prompt"] == 1 and report.accounting["banner"] == 1
    assert len(events) == 1 and events["sport"][0] == 59641 and events["length"][0] == 116


@pytest.mark.parametrize("where", ["middle", "end"])
def test_lines_of_hundreds_of_kilobytes(where):
    """A 400 KB line (a pasted blob, a runaway hex dump) is one line, counted, and the events
    around it are read as before."""
    text = _plain(PASTES["seed"])
    lines = _lines(text.rstrip("\n"))
    base, _ = _read(text.encode())
    blobs = {
        "blank": "",  # (so the blob is not read as the terminal wrap of a long record above)
        "unrecognised": "A" * 400_000,
        "debug hex": "ike 0:dialup:1: in " + "AB" * 200_000,
        "sniffer": "0.1 port1 in 10.0.0.1.500 -> 10.0.0.2.500: udp 116 " + "x " * 200_000,
    }
    at = len(lines) // 2 if where == "middle" else len(lines)
    got, report = _read(("\n".join(lines[:at] + list(blobs.values()) + lines[at:]) + "\n").encode())
    assert report.total == len(lines) + 4
    assert report.accounting["unrecognised"] >= 1
    assert report.examples[0] == (at + 2, "A" * 200)  # shown cut to 200 characters
    shifted = got[~got["ref"].isin(range(at + 1, at + 5))].copy()
    shifted.loc[shifted["ref"] > at, "ref"] -= 4
    assert _table(shifted) == _table(base)
    assert any(len(t) > 100_000 for t in got["text"].astype(str)) or where == "end"


def test_utf16_without_bom_but_with_binary_is_still_refused():
    data = bytes(range(256)) * 16
    with pytest.raises(InputError, match=re.escape("not a capture or FortiGate text (binary data)")):
        load([Blob("x.txt", None, data, data[:16])])
