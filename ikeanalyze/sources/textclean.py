"""Text hygiene shared by every text source: decoding, terminal debris, line splitting.

Terminal logs carry what a person's screen showed, not what the device printed: a BOM or
UTF-16 from Windows tools, CRLF or bare CR, VT100 escapes and backspaces from line editing
in the echoed command, NUL bytes, non-breaking spaces from web copies. These are undone
here, once, so that the parsers see device output. Line numbers are preserved: nothing
here adds or removes a line break, except that a bare CR counts as a line end.

Every step is linear in the input: a 10 MB line of escapes or backspaces costs one pass
(the patterns have bounded repeats, backspaces are undone with a stack).
"""

from __future__ import annotations

import codecs
import re

import numpy as np
import pyarrow as pa

# CSI (`ESC [ ... final`), OSC (`ESC ] ... BEL|ST`, bounded: an unterminated one must not
# make every later ESC rescan the rest of the line), and two-byte escapes (`ESC =`, `ESC M`).
ANSI_ESCAPE = re.compile(
    r"\x1b(?:\[[0-9;?<=>!]{0,64}[ -/]{0,8}[@-~]|\][^\x07\x1b\n]{0,512}(?:\x07|\x1b\\)|[ -/]{0,4}[0-~])"
)
BACKSPACE_RUN = re.compile(r"\x08+")
# Characters a web page or terminal substitutes for a plain space.
SPACE_LIKE = {"\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u200b": "", "\ufeff": ""}
# The same in UTF-8: valid UTF-8 holds one of these byte runs only as that character, and
# also once its ASCII bytes are taken out (a continuation byte never follows an ASCII one).
_SPACE_LIKE_UTF8 = {k.encode(): v.encode() for k, v in SPACE_LIKE.items()}
_ASCII = bytes(range(128))
# Bytes that only `clean` undoes (NUL, CR, escapes, backspaces).
_DEBRIS = (b"\x00", b"\r", b"\x1b", b"\x08")

# A terminal wraps lines at a fixed width (80 columns or more, less a character at the wrap
# point): a line of a record at least this long may go on in the next line.
WRAP_MIN = 78
# A line a person put in place of lines they left out of a paste (`...`, `…`, `[...]`,
# `<snip>`, `-- snip --`, `<--- output omitted --->`): no output of its own, and not the end
# of the block it sits in.
ELISION = (r"^\s*(?:\.{3,}|…+|[\[(](?:\.{3}|…|snip(?:ped)?|output omitted)[\])]|<snip(?:ped)?>"
           r"|-+ ?snip(?:ped)? ?-+|<?-+ ?(?:output )?omitted ?-+>?)\s*$")

# A paste taken from a page's HTML source, or a forum post escaped twice, keeps `-&gt;` for
# `->`, `&quot;` for `"`, `&lt;` for `<`: no FortiGate output holds an entity, so one of these
# marks the whole paste as escaped.
HTML_ESCAPED = re.compile(rb"&(?:gt|lt|quot|#0*39|#x27);")
# What an escaped paste holds, undone in this order (`&amp;` last: `&amp;gt;`, escaped twice,
# becomes `&gt;` once). Only these: html.unescape also reads old entity names without a `;`
# (`&timestamp=` in a URL became `×tamp=`), and nothing else is escaped in device output.
ENTITIES = ((b"&lt;", b"<"), (b"&gt;", b">"), (b"&quot;", b'"'), (b"&#39;", b"'"), (b"&#039;", b"'"),
            (b"&#x27;", b"'"), (b"&nbsp;", "\u00a0".encode()), (b"&amp;", b"&"))


def html_unescaped(data: bytes) -> tuple[bytes, bool]:
    """The bytes with HTML entities undone when the paste is escaped (HTML_ESCAPED), and
    whether it was. A paste without `&` costs one byte search."""
    if b"&" not in data or not HTML_ESCAPED.search(data):
        return data, False
    for entity, char in ENTITIES:
        data = data.replace(entity, char)
    return data, True


# Files people attach by mistake, named so the error says what the file is. Captures and
# gzip are recognised before text is tried (sources.load_blob).
MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document); extract the text or capture first"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE2 file (old Office document or Outlook message)"),
    (b"\x7fELF", "an ELF executable"),
    (b"BZh", "bzip2-compressed; decompress it first"),
    (b"\xfd7zXZ\x00", "xz-compressed; decompress it first"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed; decompress it first"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive; extract it first"),
    (b"Rar!\x1a\x07", "a RAR archive; extract it first"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"snoop\x00\x00\x00", "a snoop capture (convert it to pcap with editcap)"),
    (b"GMBU", "a Network Monitor capture (convert it to pcap with editcap)"),
]
# A sniff of the head decides text or not; more is not needed to tell an image from a log.
SNIFF_BYTES = 8192
# Text from a terminal has almost no C0 control bytes besides tab/LF/CR/ESC/BS/NUL.
MAX_CONTROL_SHARE = 0.02
MAX_NUL_SHARE = 0.10
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 13, 27, 8, 0))


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when every other byte is NUL (ASCII text in UTF-16)."""
    if len(head) < 64:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > len(odd) * 0.8 and even.count(0) < len(even) * 0.05:
        return "utf-16-le"
    if even.count(0) > len(even) * 0.8 and odd.count(0) < len(odd) * 0.05:
        return "utf-16-be"
    return None


def not_text(data: bytes) -> str | None:
    """Why these bytes are not text a terminal could have held, or None when they may be.

    Known file signatures are named ("a PNG image"); otherwise a head with many control
    bytes or NULs (outside UTF-16) is "binary data"."""
    for magic, what in MAGIC:
        if data.startswith(magic):
            if magic == b"BM" and len(data) >= 6 and int.from_bytes(data[2:6], "little") != len(data):
                continue  # `BM` starting a line of text, not a bitmap (whose header holds the file size)
            return what
    head = data[:SNIFF_BYTES]
    if not head or head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    if _utf16_without_bom(head):
        return None
    ctrl = len(head) - len(head.translate(None, _CONTROL))
    if ctrl > len(head) * MAX_CONTROL_SHARE or head.count(0) > len(head) * MAX_NUL_SHARE:
        return "binary data"
    return None


def decode(data: bytes) -> tuple[str, str]:
    """Bytes → text and the encoding used. Never fails: a line that is not UTF-8 is read as
    Windows-1252 (Latin-1 for the five bytes that code leaves undefined), each line on its
    own (:func:`_decode_lines`)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    bare16 = _utf16_without_bom(data[:4096])
    if bare16:
        return data.decode(bare16, errors="replace"), bare16
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return _decode_lines(data), "utf-8/cp1252"


# Lines decoded together in a text that is not all UTF-8 (:func:`_decode_lines`).
DECODE_BLOCK = 1 << 16
# Bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) read as Latin-1 does.
codecs.register_error("ikeanalyze-latin1", lambda exc: (exc.object[exc.start : exc.end].decode("latin-1"), exc.end))


def _decode_lines(data: bytes) -> str:
    """UTF-8 text in which some lines are not: those lines read as Windows-1252, the others
    as UTF-8. Pastes are put together from several places (a note typed in a Windows
    editor, two logs concatenated): one Latin-1 byte must not turn every UTF-8 non-breaking
    space of the rest into `Â `. Blocks of whole lines are decoded at once; only a block
    that holds a bad line is read line by line."""
    parts: list[str] = []
    pos, n = 0, len(data)
    while pos < n:
        end = data.find(b"\n", min(pos + DECODE_BLOCK, n))
        end = n if end < 0 else end + 1
        block = data[pos:end]
        try:
            parts.append(block.decode("utf-8"))
        except UnicodeDecodeError:
            parts.append("\n".join(_decode_line(line) for line in block.split(b"\n")))
        pos = end
    return "".join(parts)


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1252", errors="ikeanalyze-latin1")


def _erase(line: str) -> str:
    """Apply a line's backspaces as the terminal did: each erases the character before it
    (never across the start of the line). One pass with a stack of pieces."""
    kept: list[str] = []
    pos = 0
    for m in BACKSPACE_RUN.finditer(line):
        kept.append(line[pos : m.start()])
        n = m.end() - m.start()
        while n and kept:
            last = kept[-1]
            if len(last) > n:
                kept[-1] = last[:-n]
                n = 0
            else:
                n -= len(last)
                kept.pop()
        pos = m.end()
    kept.append(line[pos:])
    return "".join(kept)


def clean(text: str) -> str:
    """Undo terminal and web-copy debris without changing the number of lines."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        # PuTTY logs end lines with CR CR LF; a CR left before LF is not a line of its own.
        text = re.sub(r"\r+\n", "\n", text).replace("\r", "\n")
    if "\x1b" in text:
        text = ANSI_ESCAPE.sub("", text).replace("\x1b", "")
    if "\x08" in text:
        text = "\n".join(_erase(line) if "\x08" in line else line for line in text.split("\n"))
    # One `replace` per character present (a C search each), not `translate`, which makes a
    # Python lookup per character of the whole text (5 s on a 30 MB log).
    for char, space in SPACE_LIKE.items():
        if char in text:
            text = text.replace(char, space)
    return text


def clean_utf8(data: bytes) -> bytes:
    """Bytes → cleaned UTF-8 (decode, clean, encode). Valid UTF-8 without NUL, CR, ESC or BS
    (so no UTF-16 either) needs only its space-like characters replaced, which is done on
    the bytes: no decoded copy of a large log (arrow's UTF-8 check costs a twentieth of
    Python's decode). ASCII has none of them: returned as it is."""
    if not any(c in data for c in _DEBRIS):
        if data.isascii():
            return data
        if _is_utf8(data):
            wide = data.translate(None, _ASCII)  # searched instead of the whole text: a tenth of the time
            for char, space in _SPACE_LIKE_UTF8.items():  # a leading BOM too, as decode + clean drop it
                if char in wide:
                    data = data.replace(char, space)
            return data
    text, _encoding = decode(data)
    return clean(text).encode("utf-8")


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (as Python's strict decode decides)."""
    blob = pa.Array.from_buffers(pa.large_binary(), 1, [None, pa.py_buffer(np.array([0, len(data)], np.int64)),
                                                          pa.py_buffer(data)])
    try:
        blob.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def split_lines(text: str) -> tuple[list[str], bool]:
    """Split into lines; the flag says the text ended without a newline (cut-off paste?)."""
    if not text:
        return [], False
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
        return lines, False
    return lines, True
