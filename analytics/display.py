"""The one place where numbers are rounded and small groups suppressed, for display and export.

Analytics functions return unrounded tidy frames with an ``n`` column. Dashboards, the CLI and
exports pass them through :func:`prepare` (or the two steps separately) right before showing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from analytics.domain.order import natural_key

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
            out[col] = out[col].round(d) + 0.0  # + 0.0: a rounded -0.001 shows as 0, not -0
    return out


MAX_DIGITS = 15
"""The most significant digits ``--digits`` carries: every decimal of 15 digits survives the
round trip through a double (DBL_DIG), so a value written with 15 reads back as written."""


def round_significant(frame: pd.DataFrame, digits: int) -> pd.DataFrame:
    """Round every float column to ``digits`` significant digits (1 … :data:`MAX_DIGITS`);
    NaN and integers stay as they are.

    Each value becomes the double nearest to its ``digits``-digit decimal (``f"{x:.{d}g}"``),
    so writers that print a float's shortest round-trip form (``repr``: csv, json) print at
    most ``digits`` digits.
    """
    if not 1 <= int(digits) <= MAX_DIGITS:
        raise ValueError(f"digits must be 1 … {MAX_DIGITS}, not {digits}")
    fmt = f"{{:.{int(digits)}g}}"
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            values = out[col].to_numpy(dtype="float64", na_value=np.nan)
            finite = np.isfinite(values)
            rounded = values.copy()
            rounded[finite] = [float(fmt.format(v)) for v in values[finite]]
            out[col] = rounded
    return out


def prepare(frame: pd.DataFrame, min_n: int = DEFAULT_MIN_N,
            digits: int | None = None) -> pd.DataFrame:
    """Suppress small groups, then round: what every view and export shows.

    Parameters
    ----------
    digits : int, optional
        Round to this many significant digits (:func:`round_significant`, at most 15) instead
        of the display rounding (:func:`round_for_display`: 2 decimals, 3 for rates) — for
        exports that feed further analysis (``--digits``).

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame``: the statistics of rows with ``n < min_n`` blanked (NaN) and, when
        any row is, a boolean ``suppressed`` column added (:func:`suppress_small`); numbers
        rounded (:func:`round_for_display`, or :func:`round_significant` with ``digits``).
    """
    kept = suppress_small(frame, min_n=min_n)
    return round_for_display(kept) if digits is None else round_significant(kept, digits)


# -- complementary suppression of comparison groups ------------------------------------------
MIN_OTHER_SCHOOLS = 2
"""K: a comparison group (the zone, the district) is shown to a school's principal only if it
holds at least this many *other* schools with students on the paper (and at least ``min_n``
other students). Fewer would let the principal subtract their own school from the group and
read the other school's n, mean and rates."""

COMPARISON_GROUPS = ("district", "zone")
HIDE_REASONS = ("few_schools", "few_students", "difference")

DISTRICT_DERIVED = ("district_mean", "district_sd", "district_rate", "district_share",
                    "wrong_option_district_share", "z_mean", "t_mean", "above_mean_rate",
                    "z", "percentile_rank", "paper_gap", "gap", "gap_shrunk", "p_value",
                    "q_value", "flag", "position")
"""Columns of a unit's own rows computed against the district (its mean, SD, rates or
percentiles): dropped with the district row when the district comparison is hidden, since
each lets the district's statistics be read back."""


def _too_few(n: pd.Series, min_n: int, min_schools: int) -> str | None:
    if len(n) < min_schools:
        return "few_schools"
    if float(n.sum()) < min_n:
        return "few_students"
    return None


def hidden_comparisons(
    schools: pd.DataFrame,
    own_school: int,
    own_zone: int | None,
    *,
    min_n: int = DEFAULT_MIN_N,
    min_schools: int = MIN_OTHER_SCHOOLS,
) -> dict[str, str | None]:
    """Which comparison groups a school's principal may not see (complementary suppression).

    A principal sees their own school's rows beside the district's and their zone's. A group
    row minus the own school's row is the aggregate of the group's other schools, so a group
    is shown only when those others are at least ``min_schools`` schools (K,
    :data:`MIN_OTHER_SCHOOLS`) holding at least ``min_n`` students between them. Both groups
    shown also give the district minus the zone, the schools outside the zone: that remainder
    must be empty (district = zone) or pass the same test, else the zone is hidden.

    Parameters
    ----------
    schools : pandas.DataFrame
        One row per school of the district on the paper: ``school_id``, ``zone_id``, ``n``
        (students with a result). Schools with ``n`` 0 or missing take no part.
    own_school, own_zone : int
        The principal's school and its zone.
    min_n : int
        The smallest group shown (the same ``min_n`` as :func:`suppress_small`).
    min_schools : int
        K, the fewest other schools a shown group must hold.

    Returns
    -------
    dict
        ``{"district": reason or None, "zone": reason or None}``; None = shown, else one of
        :data:`HIDE_REASONS`: ``few_schools`` (fewer than K other schools), ``few_students``
        (fewer than ``min_n`` other students), ``difference`` (zone only: the district minus
        the zone would isolate fewer than K schools or ``min_n`` students).
    """
    n = pd.to_numeric(schools["n"], errors="coerce").fillna(0) if "n" in schools.columns \
        else pd.Series(dtype="float64")
    taking = schools[n > 0] if len(n) else schools.iloc[0:0]
    others = taking[taking["school_id"] != own_school] if "school_id" in taking.columns \
        else taking.iloc[0:0]
    other_n = pd.to_numeric(others["n"], errors="coerce").fillna(0) if "n" in others.columns \
        else pd.Series(dtype="float64")
    district = _too_few(other_n, min_n, min_schools)
    in_zone = (others["zone_id"] == own_zone) if own_zone is not None \
        and "zone_id" in others.columns else pd.Series(False, index=others.index)
    zone = _too_few(other_n[in_zone], min_n, min_schools)
    if district is None and zone is None:
        outside = other_n[~in_zone]
        if len(outside) and _too_few(outside, min_n, min_schools):
            zone = "difference"
    return {"district": district, "zone": zone}


def without_district_comparison(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the columns computed against the district (:data:`DISTRICT_DERIVED`)."""
    return frame.drop(columns=[c for c in DISTRICT_DERIVED if c in frame.columns])


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


def natural_sort(frame: pd.DataFrame, columns: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """``frame`` stably sorted by ``columns`` (those present), text in natural order."""
    cols = [c for c in columns if c in frame.columns]
    if not cols or frame.empty:
        return frame
    return frame.sort_values(cols, kind="stable", key=lambda s: s.map(natural_key)
                             if s.dtype == object or pd.api.types.is_string_dtype(s) else s)
