"""How messages print a count and its noun: here, below both diagnosis (the findings) and
ingest (the input warnings), which both print counts."""

from __future__ import annotations


def counted(n: int | str, one: str, many: str | None = None) -> str:
    """``n`` and its noun as a message prints them: `1 time`, `3 times`; ``many`` where the
    plural is not ``one`` + s (`1 echo reply`, `2 echo replies`). ``n`` may be the digits
    a line printed (an event log's `sentbyte="1"`): kept as printed, `'1'` is one."""
    return f"{n} {one if n in (1, '1') else many or one + 's'}"
