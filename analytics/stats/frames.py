"""Vectorised lookups and sorts on frames (no merges that copy every column)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def pair_positions(table: tuple[np.ndarray, np.ndarray],
                    query: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Position in ``table`` of each ``query`` pair (unit id, item id), −1 where absent; the
    pairs of ``table`` are unique, ids are non-negative integers.

    When the unit ids span a modest range (classes of a city: tens of thousands; the grid is
    at most eight cells per row looked up, plus a million) the pairs are found through a dense
    unit × item array of positions (two vectorised lookups); otherwise through a hash index of
    the pairs."""
    t_unit, t_item = (np.asarray(a, dtype="int64") for a in table)
    q_unit, q_item = (np.asarray(a, dtype="int64") for a in query)
    items = np.unique(t_item)
    cells = (int(max(t_unit.max(initial=-1), q_unit.max(initial=-1))) + 1) * len(items)
    limit = 8 * (len(t_unit) + len(q_unit)) + 1_000_000
    if len(items) == 0 or cells > limit or min(t_unit.min(initial=0),
                                               q_unit.min(initial=0)) < 0:
        return pd.MultiIndex.from_arrays([t_unit, t_item]).get_indexer(
            pd.MultiIndex.from_arrays([q_unit, q_item]))
    grid = np.full(cells, -1, dtype="int64")
    grid[t_unit * len(items) + np.searchsorted(items, t_item)] = np.arange(len(t_unit))
    j = np.searchsorted(items, q_item).clip(max=len(items) - 1)
    pos = grid[q_unit * len(items) + j]
    return np.where(items[j] == q_item, pos, -1)


def take(table: pd.DataFrame, key: str, values: pd.Series, cols: list[str]
          ) -> dict[str, Any]:
    """``table``'s ``cols`` at the rows whose ``key`` equals each of ``values`` (``key``
    unique in ``table``; every value present), dtypes kept: a merge that copies only the
    new columns."""
    pos = pd.Index(table[key]).get_indexer(values)
    if (pos < 0).any():
        raise ValueError(f"{key} values missing from the table they are looked up in")
    return {c: table[c].array.take(pos) for c in cols}


def sort_positions(f: pd.DataFrame, by: list[str]) -> np.ndarray | None:
    """The positions that sort ``f`` by the columns ``by`` (stable; missing values last), or
    None when ``f`` is in that order already. Integer columns without missing values are
    ordered by one packed integer key when their ranges allow it (one argsort instead of a
    lexsort over every column)."""
    cols = [f[c] for c in by]
    if not all(pd.api.types.is_integer_dtype(c) and not c.hasnans for c in cols):
        return f.index.get_indexer(f[by].sort_values(by, kind="mergesort").index)
    arrays = [c.to_numpy("int64") for c in cols]
    if len(f) < 2:
        return None
    before = np.zeros(len(f) - 1, dtype=bool)    # row i sorts strictly before row i + 1
    tied = np.ones(len(f) - 1, dtype=bool)       # rows i and i + 1 equal so far
    for a in arrays:
        before |= tied & (a[:-1] < a[1:])
        tied &= a[:-1] == a[1:]
    if (before | tied).all():
        return None
    lows = [int(a.min()) for a in arrays]
    spans = [int(a.max()) - lo + 1 for a, lo in zip(arrays, lows, strict=True)]
    if float(np.prod(np.asarray(spans, dtype=float))) < 2.0 ** 62:
        key = np.zeros(len(f), dtype="int64")
        for a, lo, span in zip(arrays, lows, spans, strict=True):
            key = key * span + (a - lo)
        return np.argsort(key, kind="stable")
    return np.lexsort(arrays[::-1])
