"""Item statistics (试题分析): difficulty, discrimination, item–total correlations, options, flags.

All statistics come from the one-pass SQL sums of :mod:`analytics.reduce.item_sums`; this module
only does arithmetic on frames of one row per unit × item (or × option letter).

Definitions (x an item score with an omission counted as 0, m its full mark, T the total,
R = T − x the rest score; sample moments with n − 1):

* 得分率 / difficulty P = mean(x) / m (Ebel & Frisbie 1991; for 0/1 items the share correct,
  答对率). Larger means easier.
* Discrimination D = P_upper − P_lower, the score rates of Kelley's (1939) upper and lower 27%
  groups by total within the unit (ties at the cut broken by student_key; see
  :mod:`analytics.reduce.item_sums`). Ebel's reading: ≥ .40 very good, .30–.39 good, .20–.29
  acceptable, < .20 poor.
* r_item_total = cov(x, T) / (s_x s_T); r_item_rest = cov(x, R) / (s_x s_R), the corrected
  item–total correlation (Pearson; point-biserial for 0/1 items; polytomous items alike).
* alpha_if_deleted: Cronbach's (1951) α of the other k − 1 items (:mod:`analytics.reliability`).
* discriminative_efficiency = cov(x, R) / cov_max(x, R), where cov_max pairs the sorted x with
  the sorted R (the largest covariance these margins allow); effective_weight =
  √cov(x, T) / Σⱼ √cov(xⱼ, T) over items with cov ≥ 0 (NaN for a negative covariance). Both
  as defined by Moodle's quiz statistics (question/classes/statistics/questions/calculator.php,
  ``discriminativeefficiency``, ``effectiveweight``), reported as fractions not percentages.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import pandas as pd

from analytics.domain.levels import LEVEL_KEYS, check_level
from analytics.domain.params import fill_doc
from analytics.errors import InputError
from analytics.lookup import PaperRef, resolve_paper, school_id_of
from analytics.reduce.item_sums import PAPER, item_sums
from analytics.stats.items import FLAG_CODES as FLAG_CODES  # documented here
from analytics.stats.items import (
    compute_item_stats,
    item_flags,
    kelley_group_size,
    option_flags,
    option_table,
)
from analytics.stats.sums import ItemSums
from analytics.warehouse import Backend, shared_df

P = ParamSpec("P")
R = TypeVar("R")


def items_sql() -> str:
    """The items of paper ``$paper_id`` in printing order, one row each.

    Columns: ``item_id``, ``item_number``, ``item_label``, ``item_type``, ``max_score``, ``key``
    (the answer key), ``options``.
    """
    return """
        SELECT item_id, number AS item_number, label AS item_label, item_type, max_score,
               answer_key AS key, options
        FROM items WHERE paper_id = $paper_id ORDER BY number
    """


def _load(wh: Backend, paper: PaperRef, level: str, school: str | int | None,
          efficiency: bool) -> tuple[ItemSums, pd.DataFrame]:
    if not paper.has_items:
        n_items = wh.scalar("SELECT count(*) FROM items WHERE paper_id = $p",
                            {"p": paper.paper_id})
        if not n_items:
            raise InputError(
                f"试卷「{paper.exam} {paper.subject}」没有小题数据(未导入双向细目表)/ paper "
                f"{paper.exam} {paper.subject} has no items (no specification table imported)"
            )
    meta = shared_df(wh, items_sql(), {"paper_id": paper.paper_id})
    sums = item_sums(wh, paper_id=paper.paper_id, level=level, school_id=school_id_of(wh, school),
                     sorted_cov=efficiency)
    return sums, meta


def paper_population_stats(wh: Backend,
                           paper: PaperRef) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`item_stats`' statistics and :func:`option_analysis`' option table for the
    paper's whole population as one unit (Kelley's groups of the whole paper): what the
    question archive records of an administration.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The statistics (the columns of :func:`analytics.stats.items.compute_item_stats`, one
        row per item, plus ``n_group``, the size of each Kelley group,
        :func:`analytics.stats.items.kelley_group_size` of the present students) and the
        option table (:func:`analytics.stats.items.option_table`).
    """
    sums, meta = _load(wh, paper, PAPER, None, False)
    stats = compute_item_stats(sums, meta)
    stats["n_group"] = kelley_group_size(stats["n_unit"])
    return stats, option_table(sums, meta)


def _accept_unit_id(fn: Callable[P, R]) -> Callable[P, R]:
    """Accept the 0.1 keyword ``unit_id`` (an id of ``level``) as ``school``, ``zone`` or
    ``class_``, with a DeprecationWarning (removed in 0.3.0)."""
    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        if "unit_id" in kwargs:
            unit_id = kwargs.pop("unit_id")
            name = {"school": "school", "zone": "zone", "class": "class_"}.get(
                kwargs.get("level", "school"))
            warnings.warn(f"{fn.__name__}(): 'unit_id' is deprecated (removed in 0.3.0); use "
                          f"{name or 'no filter at level district'}=", DeprecationWarning,
                          stacklevel=2)
            if name is not None and unit_id is not None:
                if kwargs.get(name) is not None:
                    raise TypeError(f"{fn.__name__}() got both 'unit_id' and {name!r}")
                kwargs[name] = unit_id
        return fn(*args, **kwargs)
    return inner


@_accept_unit_id
@fill_doc
def item_stats(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    school: str | int | None = None,
    zone: int | None = None,
    class_: int | None = None,
    efficiency: bool | None = None,
) -> pd.DataFrame:
    """Item statistics of a paper for the whole population or per zone/school/class.

    Parameters
    ----------
    {paper}
    level : {'district', 'zone', 'school', 'class'}
        Each unit is analysed on its own (its own Kelley groups and total variance). Default
        ``'school'`` (``'district'`` before 0.2.0).
    {school_population}
    zone, class_ : int, optional
        Keep only the rows of this zone or class (its id; needs a level at or below it). The
        units are analysed as without the filter.
    efficiency : bool, optional
        Compute ``discriminative_efficiency`` (the SQL pass then groups by total too, which
        costs little for a district or zone but about 5× more CPU per school or class on large
        data). Default: True at district and zone level, False (NaN column) below.

    Returns
    -------
    pandas.DataFrame
        One row per unit × item: the level keys, ``item_id``, ``item_number``, ``item_label``,
        ``item_type``, ``n`` (present students), ``max_score``, ``mean_score``, ``sd_score``,
        ``score_rate`` (得分率), ``difficulty`` (P, = score_rate), ``upper_rate``,
        ``lower_rate``, ``discrimination`` (D), ``r_item_total``, ``r_item_rest``,
        ``alpha_if_deleted``, ``discriminative_efficiency``, ``effective_weight``,
        ``n_omitted``, ``omit_rate``, ``key``, ``top_distractor``, ``top_distractor_share``,
        ``flags`` (codes joined by ``;``, see :data:`FLAG_CODES`), then ``option_A``,
        ``option_B``, … (share of the unit's students choosing each letter; NaN where the item
        does not offer it).

    Notes
    -----
    Formulas and sources in the module docstring. Flags: ``too_easy`` P > .90, ``too_hard``
    P < .20, ``weak_discrimination`` 0 ≤ D < .20, ``negative_discrimination`` D < 0 or
    r_item_rest < 0, ``possible_wrong_key`` some distractor's share in the upper group exceeds
    the key's (for multiple choice: the smallest share of a key letter),
    ``attractive_distractor`` some distractor is chosen overall more often than the key, or is
    chosen by at least 5% and more often in the upper than in the lower group (a distractor
    should discriminate negatively), and the key is not suspect; ``many_omissions`` omit rate
    > .10. Statistics that need n ≥ 2 (or variance) are NaN for smaller units; no suppression
    here. ``unit_id=`` (0.1: the id of a unit of ``level``) is still accepted until 0.3.0, with a
    DeprecationWarning, as ``school``, ``zone`` or ``class_``.
    """
    paper = resolve_paper(wh, exam, subject, grade)
    keys = list(LEVEL_KEYS[check_level(level)])
    if efficiency is None:
        efficiency = level in ("district", "zone")
    sums, meta = _load(wh, paper, level, school, efficiency)
    stats = compute_item_stats(sums, meta)
    opts = option_table(sums, meta)
    stats = stats.merge(option_flags(opts), on=["uid", "item_id"], how="left")
    stats["flags"] = item_flags(stats)
    cols = [*keys, "item_id", "item_number", "item_label", "item_type", "n", "max_score",
            "mean_score",
            "sd_score", "score_rate", "difficulty", "upper_rate", "lower_rate",
            "discrimination", "r_item_total", "r_item_rest", "alpha_if_deleted",
            "discriminative_efficiency", "effective_weight", "n_omitted", "omit_rate", "key",
            "top_distractor", "top_distractor_share", "flags"]
    out = stats[["uid", *cols]]
    if not opts.empty:
        letters = sorted(opts["option"].unique())
        wide = opts.pivot_table(index=["uid", "item_id"], columns="option", values="share",
                                aggfunc="first", observed=True).reindex(columns=letters)
        wide.columns = [f"option_{c}" for c in wide.columns]
        out = out.merge(wide.reset_index(), on=["uid", "item_id"], how="left")
    out = _filter_units(out, keys, zone=zone, class_=class_)
    return (out.sort_values(["uid", "item_number"]).drop(columns="uid").reset_index(drop=True))


def _filter_units(frame: pd.DataFrame, keys: list[str], *, zone: int | None,
                  class_: int | None) -> pd.DataFrame:
    """``frame``'s rows of ``zone`` and ``class_`` (ids; None = all)."""
    for col, value in (("zone_id", zone), ("class_id", class_)):
        if value is None:
            continue
        if col not in keys:
            raise InputError(f"按 {col[:-3]} 筛选需要该层级或更低的层级 / filtering by "
                             f"{col[:-3]} needs a level at or below it, not {keys[0]!r}")
        frame = frame[frame[col] == value]
    return frame


@fill_doc
def option_analysis(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    school: str | int | None = None,
) -> pd.DataFrame:
    """Distractor analysis (选项分析) of the objective items, per unit.

    Parameters
    ----------
    {unit_items}

    Returns
    -------
    pandas.DataFrame
        One row per unit × objective item × option offered: level keys, ``item_id``,
        ``item_number``, ``item_label``, ``option``, ``is_key``, ``n`` (present students of
        the unit),
        ``n_chosen``, ``share`` (n_chosen ÷ n), ``share_upper``, ``share_lower`` (shares within
        Kelley's upper and lower 27% by total), ``option_discrimination`` (upper − lower: a good
        distractor is negative, the key positive), ``mean_total`` (mean total of the students
        who chose the option). A multiple-choice answer counts for each letter it contains.
    """
    paper = resolve_paper(wh, exam, subject, grade)
    keys = list(LEVEL_KEYS[check_level(level)])
    sums, meta = _load(wh, paper, level, school, efficiency=False)
    opts = option_table(sums, meta)
    unit_keys = sums.items[["uid", *keys]].drop_duplicates("uid")
    out = (opts.merge(unit_keys, on="uid")
           .merge(meta[["item_id", "item_number", "item_label"]], on="item_id"))
    cols = [*keys, "item_id", "item_number", "item_label", "option", "is_key", "n", "n_chosen",
            "share",            "share_upper", "share_lower", "option_discrimination", "mean_total"]
    return out.sort_values(["uid", "item_number", "option"])[cols].reset_index(drop=True)
