"""The one place where numbers are rounded and small groups suppressed, for display and export.

Analytics functions return unrounded tidy frames with an ``n`` column. Dashboards, the CLI and
exports pass them through :func:`prepare` (or the two steps separately) right before showing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_MIN_N = 5
ID_LIKE = ("_id", "_key", "rank", "number", "grade")


def suppress_small(
    frame: pd.DataFrame,
    min_n: int = DEFAULT_MIN_N,
    n_col: str = "n",
    keep: Iterable[str] = (),
) -> pd.DataFrame:
    """Blank every statistic of rows whose ``n`` is below ``min_n``.

    Identifier and label columns (non-numeric, or named like ids) and ``n`` itself are kept, so
    the reader sees that a group exists but is too small to report. Numeric statistics become NaN.
    """
    if n_col not in frame.columns or frame.empty:
        return frame
    out = frame.copy()
    small = out[n_col].fillna(0) < min_n
    if not small.any():
        return out
    keep_set = set(keep) | {n_col}
    for col in out.columns:
        if col in keep_set or col.endswith(ID_LIKE):
            continue
        if pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].astype("float64")
            out.loc[small, col] = np.nan
    out["suppressed"] = small
    return out


def round_for_display(frame: pd.DataFrame, digits: int = 2, rate_digits: int = 3) -> pd.DataFrame:
    """Round floats: columns ending in ``rate``/``_p``/``alpha``/``r_``/``difficulty`` etc. to
    ``rate_digits``, other floats to ``digits``."""
    out = frame.copy()
    rate_markers = ("rate", "difficulty", "discrimination", "alpha", "r_item", "share", "corr",
                    "p_value", "q_value", "efficiency")
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            d = rate_digits if any(m in col for m in rate_markers) else digits
            out[col] = out[col].round(d)
    return out


def prepare(frame: pd.DataFrame, min_n: int = DEFAULT_MIN_N) -> pd.DataFrame:
    """Suppress small groups, then round: what every view and export shows.

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame``: the statistics of rows with ``n < min_n`` blanked (NaN) and, when
        any row is, a boolean ``suppressed`` column added (:func:`suppress_small`); numbers
        rounded (:func:`round_for_display`).
    """
    return round_for_display(suppress_small(frame, min_n=min_n))


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text_not_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Quote text cells that a spreadsheet would run as a formula, for CSV exports.

    A CSV file carries no cell types: Excel and WPS evaluate any cell that starts with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return. Following OWASP's advice on CSV
    injection, such a cell of a *text* column (names and labels come from imported files) gets
    a leading apostrophe, which the spreadsheet shows as plain text. Numeric columns are left
    alone (``-0.3`` stays a number).

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame``; only text cells starting with one of those characters differ.
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) \
                or pd.api.types.is_datetime64_any_dtype(s):
            continue
        risky = s.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS))
        if risky.any():
            text = s.astype(object)
            text[risky] = "'" + text[risky].astype(str)
            out[col] = text
    return out


def text_not_formulas(book: Any) -> Any:
    """Make every formula cell of an openpyxl workbook a text cell, in place, before saving.

    pandas writes a string starting with ``=`` as an Excel formula. Names in exports come from
    imported files (schools, classes, knowledge points, item text), so ``=HYPERLINK(…)`` in a
    roster would become a live formula in every export (formula injection, OWASP "CSV
    injection"). Every Excel export of the project passes its workbook through here.

    Returns
    -------
    openpyxl.Workbook
        The same workbook.
    """
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    return book
