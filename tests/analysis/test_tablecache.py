"""Views kept per table (analysis.tablecache): an analysis must not depend on the ones before it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import ikeanalyze
from ikeanalyze.analysis import tablecache

DEBUG = Path(__file__).resolve().parents[1] / "data" / "ikedebug_public"


def test_a_view_in_use_is_not_dropped_when_others_fill_the_cache() -> None:
    # The cache used to be cleared whole when full: a view an analysis was still using was
    # built again, with new objects that views built before it did not know.
    tablecache.forget()
    mine = pd.DataFrame({"a": [1]})
    first = tablecache.per_table("view", mine, lambda t: object())
    others = [pd.DataFrame({"a": [k]}) for k in range(tablecache.LIMIT * 2)]
    for k, other in enumerate(others):
        tablecache.per_table("view", other, lambda t: object())
        if k % 8 == 0:
            assert tablecache.per_table("view", mine, lambda t: object()) is first
    assert tablecache.per_table("view", mine, lambda t: object()) is first
    assert len(tablecache._VIEWS) <= tablecache.LIMIT


def test_an_analysis_reads_the_same_after_others() -> None:
    """The ID rejection that explains the generic proposal error (IKE206, not IKE201) is
    matched to its negotiation by identity: after a few other analyses in the same process
    the cache filled up during this one, the negotiations were built again, and IKE201 came
    back (tests passed or failed with the order they ran in)."""
    path = str(DEBUG / "ikev1-aggressive-peer-id-mismatch.txt")
    alone = sorted(f.code for f in ikeanalyze.analyze([path]).all_findings())
    assert "IKE201" not in alone
    # Other tables' views fill the cache to every level this analysis can find it at.
    tables = [pd.DataFrame({"a": [k]}) for k in range(tablecache.LIMIT)]
    for n in range(tablecache.LIMIT - 24, tablecache.LIMIT):
        for t in tables[:n]:
            tablecache.per_table("view", t, lambda t: None)
        after = sorted(f.code for f in ikeanalyze.analyze([path]).all_findings())
        assert after == alone, f"with {n} views of other tables kept: {after}"


def test_groups_number_rows_in_order_and_find_each_groups_first_row():
    """A missing value is a group of its own; the first rows are the ones np.unique finds."""
    table = pd.DataFrame({"a": ["x", None, "x", "y", None, "y"], "b": [1, 2, 1, 1, 2, 3]})
    group, first = tablecache.groups(table, ["a", "b"])
    assert group.tolist() == [0, 1, 0, 2, 1, 3]
    assert first.tolist() == [0, 1, 3, 5]


def test_first_rows_of_ids_out_of_order_or_with_gaps_are_sorted_by_id():
    for ids in ([0, 1, 0, 2, 1], [2, 0, 2, 1], [3, 5, 3, 7], []):
        ids = np.array(ids, dtype=np.int64)
        got, at = tablecache.first_rows(ids)
        want, want_at = np.unique(ids, return_index=True)
        assert got.tolist() == want.tolist() and at.tolist() == want_at.tolist(), ids
