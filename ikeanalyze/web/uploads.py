"""Receive a multipart upload into a per-request temporary directory, streaming.

Starlette's own form parser keeps each field in memory (up to 1 MB, then refuses) and spools
files to anonymous temp files; a pasted debug log can be tens of MB and we want to see, and
delete, every byte we wrote. So the body goes through python-multipart chunk by chunk: file
parts and the paste are written to files named by us (``upload-1``, ``paste``) as they
arrive, small option fields are kept as text, and the bytes are counted against the limit
as they come, whatever Content-Length said.

Nothing a client sends is used as a path. A file's name is only its display name (the
event ``source`` and what the report shows), with control characters escaped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

FILE_FIELD = "files"  # <input type=file name=files multiple>
PASTE_FIELD = "paste"  # <textarea name=paste>
OPTION_FIELDS = ("local", "select", "ignore")
PASTE_NAME = "paste"  # the display name (event source) of pasted text
MAX_FILES = 32
MAX_OPTION_BYTES = 4096  # an option field is a few addresses or rule codes
MAX_NAME_CHARS = 200
MB = 1 << 20  # --max-upload-mb counts binary megabytes


class TooLarge(Exception):
    """The body is over the limit (413)."""


class BadForm(Exception):
    """The body is not a form we can use (400), or not multipart at all (415 when ``media``)."""

    def __init__(self, message: str, media: bool = False):
        super().__init__(message)
        self.media = media


@dataclass
class Upload:
    """What a request carried: files on disk (display name, path) in arrival order, the
    paste (written to a file too, so its size never matters), and the option fields."""

    inputs: list[tuple[str, Path]] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    received: int = 0  # body bytes read


def display_name(raw: bytes) -> str:
    """A file name to show, never to open: the last path component (some clients send the
    whole client-side path, which would leak a user's folders into the report), non-printable
    characters written as escapes, bounded length."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return text[:MAX_NAME_CHARS] or "upload"


def _unique(name: str, taken: set[str]) -> str:
    """Evidence points at (source, line): two inputs must not share a name."""
    out, n = name, 2
    while out in taken:
        out, n = f"{name} ({n})", n + 1
    taken.add(out)
    return out


class _Receiver:
    """python-multipart callbacks → files in ``folder`` and option strings."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.upload = Upload()
        self._names: set[str] = set()
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._part: str | None = None  # "file", "paste", or an option field name
        self._file: BinaryIO | None = None
        self._file_path: Path | None = None
        self._file_name = ""
        self._file_bytes = 0
        self._option = bytearray()
        self._n_files = 0

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._add(d[s:e], value=False),
            "on_header_value": lambda d, s, e: self._add(d[s:e], value=True),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._disposition = b""
        self._header_name = self._header_value = b""

    def _add(self, chunk: bytes, value: bool) -> None:
        if value:
            self._header_value += chunk
        else:
            self._header_name += chunk

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._disposition)
        name = params.get(b"name", b"").decode("latin-1")
        if name == FILE_FIELD and b"filename" in params:
            self._n_files += 1
            if self._n_files > MAX_FILES:
                raise BadForm(f"too many files (at most {MAX_FILES} in one analysis)")
            self._open("file", self.folder / f"upload-{self._n_files}", display_name(params[b"filename"]))
        elif name == PASTE_FIELD:
            self._open("paste", self.folder / "paste", PASTE_NAME)
        elif name in OPTION_FIELDS:
            self._part, self._option = name, bytearray()
        else:
            known = ", ".join((FILE_FIELD, PASTE_FIELD, *OPTION_FIELDS))
            raise BadForm(f"unknown form field {name!r} (the fields are: {known})")

    def _open(self, part: str, path: Path, name: str) -> None:
        self._part, self._file_path, self._file_name, self._file_bytes = part, path, name, 0
        # "x": the names are ours and fresh; never follow or overwrite anything.
        self._file = open(path, "xb")  # noqa: SIM115  (closed in _end or close())

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self._file.write(data[start:end])
            self._file_bytes += end - start
        else:
            self._option += data[start:end]
            if len(self._option) > MAX_OPTION_BYTES:
                raise BadForm(f"form field {self._part!r} is longer than {MAX_OPTION_BYTES} bytes")

    def _end(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            assert self._file_path is not None
            # A browser sends an empty, nameless file part when no file was chosen, and an
            # empty paste when the textarea was left alone: neither is an input.
            blank = self._file_bytes == 0 if self._part == "file" else _blank(self._file_path)
            if blank:
                self._file_path.unlink()
            else:
                self.upload.inputs.append((_unique(self._file_name, self._names), self._file_path))
        elif self._part in OPTION_FIELDS:
            self.upload.options[self._part] = self._option.decode("utf-8", "replace")
        self._part = None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _blank(path: Path) -> bool:
    """Is a paste only whitespace? Reads a little at a time: a paste may be large."""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            if chunk.strip():
                return False
    return True


async def receive(headers, body: AsyncIterator[bytes], folder: Path, max_bytes: int) -> Upload:
    """Stream a multipart/form-data body into ``folder``. Raises TooLarge as soon as more
    than ``max_bytes`` have arrived, BadForm for a body we cannot use. The caller deletes
    ``folder`` whatever happens."""
    ctype, params = parse_options_header(headers.get("content-type", ""))
    if ctype != b"multipart/form-data":
        raise BadForm("send the inputs as multipart/form-data (a form with files and/or a paste)", media=True)
    if b"boundary" not in params:
        raise BadForm("multipart/form-data without a boundary")
    rx = _Receiver(folder)
    parser = MultipartParser(params[b"boundary"], rx.callbacks())
    try:
        async for chunk in body:
            rx.upload.received += len(chunk)
            if rx.upload.received > max_bytes:
                raise TooLarge(f"the upload is larger than the limit of {max_bytes / MB:g} MB")
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise BadForm(f"the form data is malformed: {exc}") from exc
    finally:
        rx.close()
    # python-multipart does not check that the body ended where the form does: a cut body
    # would otherwise pass as a shorter file.
    if parser.state != MultipartState.END:
        raise BadForm("the form data ends before its closing boundary (was the upload cut off?)")
    return rx.upload
