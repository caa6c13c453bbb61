"""The project's own errors and exit statuses (one error boundary: cli.py and web/)."""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    OK = 0
    FINDINGS = 1  # only under --fail-on, when a finding reaches that severity
    BAD_INPUT = 2  # input or usage error


class InputError(Exception):
    """An input that cannot be read at all. Damage part-way through is a warning, not this."""

    def __init__(self, source: str, ref: int | None, reason: str):
        self.source, self.ref, self.reason = source, ref, reason
        where = source if ref is None else f"{source}: {ref}"
        super().__init__(f"{where}: {reason}")


class UsageError(Exception):
    """A bad option value (unknown rule selector, malformed threshold, ...)."""


class WireError(Exception):
    """Bytes that do not decode; carries the offset where decoding stopped."""

    def __init__(self, offset: int, why: str):
        self.offset, self.why = offset, why
        super().__init__(f"offset {offset}: {why}")
