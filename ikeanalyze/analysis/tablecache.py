"""Views built once per table: every rule asks for the same views of the same event or
message table, so each is built on the first question and kept while that table is in use.

Keyed by the table's identity (DataFrames are not hashable) and checked against it, so a
new table at a reused address is never served an old answer. Bounded: the long-running
`serve` keeps at most a few tables' views alive this way. The least recently asked view
goes first, so a view an analysis is still using is never dropped under it: views hold
objects that other views point to (a negotiation's `owners`, `id_rejections` compare
negotiations by identity), and a view built again would answer with new ones."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

import pandas as pd

T = TypeVar("T")
LIMIT = 64  # one analysis asks for about 20 views; rules may ask about sub-tables too

_VIEWS: dict[tuple[Hashable, int], tuple[pd.DataFrame, object]] = {}


def per_table(name: Hashable, table: pd.DataFrame, build: Callable[[pd.DataFrame], T]) -> T:
    """``build(table)``, computed once per (``name``, table)."""
    key = (name, id(table))
    hit = _VIEWS.pop(key, None)
    if hit is not None and hit[0] is table:
        _VIEWS[key] = hit  # the most recently asked last
        return hit[1]  # type: ignore[return-value]
    value = build(table)
    _VIEWS[key] = (table, value)
    while len(_VIEWS) > LIMIT:
        del _VIEWS[next(iter(_VIEWS))]
    return value


def forget() -> None:
    """Drop every view (and the tables they hold): a new analysis starts."""
    _VIEWS.clear()
