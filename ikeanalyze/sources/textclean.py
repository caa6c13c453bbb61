"""Text hygiene shared by every text source: decoding, terminal debris, line splitting.

Terminal logs carry what a person's screen showed, not what the device printed: a BOM or
UTF-16 from Windows tools, CRLF or bare CR, VT100 escapes and backspaces from line editing
in the echoed command, NUL bytes, non-breaking spaces from web copies. These are undone
here, once, so that the parsers see device output. Line numbers are preserved: nothing
here adds or removes a line break, except that a bare CR counts as a line end.
"""

from __future__ import annotations

import codecs
import re

ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\n]*(?:\x07|\x1b\\)|[@-Z\\-_])")
BACKSPACE = re.compile(r"[^\x08\n]\x08")
# Characters a web page or terminal substitutes for a plain space.
SPACE_LIKE = str.maketrans({"\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u200b": "", "\ufeff": ""})


def decode(data: bytes) -> tuple[str, str]:
    """Bytes → text and the encoding used. Never fails: Latin-1 is the last resort."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    # UTF-16 without BOM: every other byte NUL in an ASCII-heavy text.
    head = data[:4096]
    if len(head) >= 64 and head[1::2].count(0) > len(head) * 0.4 and head[0::2].count(0) < len(head) * 0.05:
        return data.decode("utf-16-le", errors="replace"), "utf-16-le"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def clean(text: str) -> str:
    """Undo terminal and web-copy debris without changing the number of lines."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        # PuTTY logs end lines with CR CR LF; a CR left before LF is not a line of its own.
        text = re.sub(r"\r+\n", "\n", text).replace("\r", "\n")
    if "\x1b" in text:
        text = ANSI_ESCAPE.sub("", text)
    if "\x08" in text:
        prev = None
        while prev != text:  # each pass deletes one character per backspace
            prev, text = text, BACKSPACE.sub("", text)
        text = text.replace("\x08", "")
    return text.translate(SPACE_LIKE)


def split_lines(text: str) -> tuple[list[str], bool]:
    """Split into lines; the flag says the text ended without a newline (cut-off paste?)."""
    if not text:
        return [], False
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
        return lines, False
    return lines, True
