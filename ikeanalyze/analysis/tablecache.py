"""Views built once per table: every rule asks for the same views of the same event or
message table, so each is built on the first question and kept while that table is in use.

Keyed by the table's identity (DataFrames are not hashable) and checked against it, so a
new table at a reused address is never served an old answer. Bounded: the long-running
`serve` keeps at most a few tables' views alive this way."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

import pandas as pd

T = TypeVar("T")
LIMIT = 48  # a handful of views per table; rules may ask about sub-tables too

_VIEWS: dict[tuple[Hashable, int], tuple[pd.DataFrame, object]] = {}


def per_table(name: Hashable, table: pd.DataFrame, build: Callable[[pd.DataFrame], T]) -> T:
    """``build(table)``, computed once per (``name``, table)."""
    key = (name, id(table))
    hit = _VIEWS.get(key)
    if hit is not None and hit[0] is table:
        return hit[1]  # type: ignore[return-value]
    value = build(table)
    if len(_VIEWS) > LIMIT:
        _VIEWS.clear()
    _VIEWS[key] = (table, value)
    return value
