"""Views built once per table: every rule asks for the same views of the same event or
message table, so each is built on the first question and kept while that table is in use.

Keyed by the table's identity (DataFrames are not hashable) and checked against it, so a
new table at a reused address is never served an old answer. Bounded: the long-running
`serve` keeps at most a few tables' views alive this way. The least recently asked view
goes first, so a view an analysis is still using is never dropped under it: views hold
objects that other views point to (a negotiation's `owners`, `id_rejections` compare
negotiations by identity), and a view built again would answer with new ones.

The views group rows and read each group's first row: `groups` and `first_rows` do that
one way for all of them."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

import numpy as np
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


def groups(table: pd.DataFrame, key: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group by the columns ``key`` (numbered from 0 in the order the groups
    first appear; a missing value is a value of its own) and, group by group, the position
    of its first row."""
    group = table.groupby(key, sort=False, dropna=False).ngroup().to_numpy()
    return group, first_rows(group)[1]


def first_rows(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ids in ``ids`` (ascending) and the position of each one's first row. Ids numbered
    in the order they first appear (`groups`, flows' `fid` over the whole wire table) step
    the running maximum up exactly there: one pass, not a sort of every row; other ids (a
    subset's) are sorted."""
    steps = np.flatnonzero(np.diff(np.maximum.accumulate(ids), prepend=-1) > 0)
    if np.array_equal(ids[steps], np.arange(len(steps))):
        return ids[steps], steps
    return np.unique(ids, return_index=True)
