"""Whole-warehouse contents for before/after comparisons (shared by the importer tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import pandas as pd

from analytics.warehouse import Warehouse


def table_contents(wh: Warehouse, *, skip: Iterable[str] = (),
                   rows: Mapping[str, Callable[[pd.DataFrame], pd.DataFrame]] | None = None
                   ) -> dict[str, pd.DataFrame]:
    """Every table's full content (but ``skip``), sorted by all its columns; ``rows[t]``, when
    given, keeps only some of table t's rows."""
    out = {}
    for t in wh.tables():
        if t in skip:
            continue
        frame = wh.df(f'SELECT * FROM "{t}"')
        if rows and t in rows:
            frame = rows[t](frame)
        out[t] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def assert_same_tables(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    """The same tables with the same contents (dtypes aside)."""
    assert a.keys() == b.keys()
    for t in a:
        pd.testing.assert_frame_equal(a[t], b[t], check_dtype=False, obj=t)
