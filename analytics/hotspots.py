"""Error hotspots (主要出错点): where a school or class falls credibly below the district.

Three public functions, each returning a tidy frame:

* :func:`error_hotspots` — every unit (zone, school or class) × item (or knowledge point) with
  the unit's score rate, the district's, the gap, a test of the gap, Benjamini–Hochberg q-values
  across all the unit × item comparisons, an empirical-Bayes shrunken gap, a flag, and the
  most-chosen wrong option.
* :func:`district_weak_points` — the district's items or knowledge points with the lowest rates.
* :func:`knowledge_matrix` — unit × knowledge point score rates in long format (a heatmap's
  input).

SQL reduces the responses to per unit × item (or knowledge point) counts, sums and sums of
squares of the per-student score rate ``x = score / max_score`` (unanswered = 0, as in totals),
one scan with ``GROUPING SETS`` giving the district row too; numpy/scipy infer on that small
frame.

The test (why small schools do not dominate)
--------------------------------------------
For unit u with n_u students and mean rate m_u, the rest of the district (n_r = N − n_u,
mean m_r) is the comparison group, so the unit is not compared with a mean that contains it.
Under H0 (the unit's students score like the rest) both groups share one variance, estimated by
the district's variance s² of x (ddof = 1), and

    z = (m_u − m_r) / (s · √(1/n_u + 1/n_r)),   p = 2 · (1 − Φ(|z|)).

For 0/1 items this is the classical pooled two-proportion z-test (Fleiss, Levin & Paik 2003,
*Statistical Methods for Rates and Proportions*, 3rd ed., ch. 2); for polytomous items and
knowledge-point rates it is the large-sample two-sample z-test with a common variance. Using the
pooled null variance, not the unit's own, keeps a tiny unit whose few students all failed from
getting a near-zero standard error. A small unit thus needs a much larger gap to reach the same
p-value; with the false-discovery-rate control below, large but noisy gaps are not flagged.

Relative weakness (``relative=True``, 相对薄弱): the same test on y = x − p, a student's item
(or knowledge-point) rate minus their own paper rate p = total / full score, so that a strong
school's weak point is found and a school weak everywhere is not flagged everywhere; the gap is
then (unit rate − district rate) − (unit paper rate − district paper rate).

Multiplicity: the p-values of all unit × item (or unit × knowledge point) comparisons of the
call are adjusted together with the Benjamini–Hochberg step-up procedure (Benjamini & Hochberg
1995, *J. R. Stat. Soc. B* 57:289–300): q_(i) = min_{j ≥ i} m · p_(j) / j, capped at 1.
A row is flagged when ``q_value ≤ fdr`` **and** ``gap ≤ −min_gap`` (credible and large).

The reported ``gap`` is against the whole district, m_u − m_d = (n_r/N)(m_u − m_r); its 95 %
interval ``ci_low``/``ci_high`` is gap ± 1.96 · (n_r/N) · s · √(1/n_u + 1/n_r).

``gap_shrunk`` is an empirical-Bayes (normal–normal) posterior mean of the gap for ranking:
per item, the unit effects d_u = m_u − m_r are taken as N(0, τ²) with sampling variance v_u,
τ² = max(0, mean(d_u²) − mean(v_u)) by the method of moments, and
gap_shrunk = gap · τ² / (τ² + v_u) (Efron & Morris 1975, *JASA* 70:311–319; Morris 1983,
*JASA* 78:47–55). Small units are pulled towards 0 the most.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from analytics.compat import renamed
from analytics.domain.bands import DIFFICULTY_BANDS as _BAND_CODES
from analytics.domain.items import OBJECTIVE_TYPES as OBJECTIVE_TYPES
from analytics.domain.labels import label
from analytics.domain.levels import LEVEL_KEYS, check_level
from analytics.domain.params import fill_doc
from analytics.errors import InputError
from analytics.lookup import resolve_paper, school_id_of
from analytics.reduce.hotspots import knowledge_sums as _knowledge_sums
from analytics.reduce.hotspots import knowledge_sums_sql as knowledge_sums_sql
from analytics.reduce.hotspots import knowledge_sums_stored_sql as knowledge_sums_stored_sql
from analytics.reduce.hotspots import knowledge_sums_wide_sql as knowledge_sums_wide_sql
from analytics.reduce.hotspots import n_knowledge_points_sql as n_knowledge_points_sql
from analytics.reduce.hotspots import paper_items_sql as paper_items_sql
from analytics.reduce.hotspots import top_wrong_sql as top_wrong_sql
from analytics.reduce.hotspots import unit_id_column as _uid
from analytics.reduce.hotspots import unit_names_sql as unit_names_sql
from analytics.reduce.hotspots import unit_pass_sums as _unit_pass_sums
from analytics.reduce.hotspots import wrong_options as _wrong_options
from analytics.reduce.hotspots import wrong_options_sql as wrong_options_sql
from analytics.reduce.item_passes import ans_stage
from analytics.stats.frames import pair_positions as _pair_positions
from analytics.stats.frames import sort_positions as _sort_positions
from analytics.stats.frames import take as _take
from analytics.stats.intervals import Z95 as Z95
from analytics.stats.items import difficulty_band as difficulty_band
from analytics.stats.multiplicity import bh_qvalues as bh_qvalues
from analytics.stats.unit_gaps import SUMS as SUMS
from analytics.stats.unit_gaps import compare_units as _compare
from analytics.warehouse import Backend, shared_df
from analytics.warehouse.db import memo

Grain = Literal["item", "knowledge_point"]
By = Grain  # the 0.1 name (removed in 0.3.0)

# Difficulty bands of 难度 P (score rate) with their Chinese names (analytics.domain)
DIFFICULTY_BANDS: tuple[tuple[str, str], ...] = tuple(
    (code, label("difficulty", code)) for code in _BAND_CODES)


# -- inference on the small frames ------------------------------------------------------------



def _split(sums: pd.DataFrame, level: str, group: str,
           names: pd.DataFrame | None = None, attach: bool = True
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """District rows (renamed ``*_d``) and unit rows (with the level's key columns first when
    ``names`` is given; units without an id, e.g. students with no class, are dropped)."""
    uid = _uid(level)
    is_d = sums["is_district"].astype(int) == 1
    district = sums.loc[is_d, [group, *SUMS]].rename(
        columns={c: f"{c}_d" for c in SUMS})
    units = sums.loc[~is_d].drop(columns="is_district")
    units = units[units[uid].notna()].astype({uid: "int64"})
    if names is not None and attach:
        units = names.merge(units, on=uid, how="inner")
    elif names is not None:      # keep the units that have names; names are joined at the end
        units = units[units[uid].isin(names[uid].dropna().astype("int64"))]
    return units, district


def _top_wrong(wh: Backend, sp: dict[str, Any], level: str, units: pd.DataFrame,
               district_n: pd.DataFrame) -> pd.DataFrame:
    """``units`` with the most-chosen wrong answer per unit × item and its share in the unit
    and district (columns wrong_option, wrong_option_share, wrong_option_district_share)."""
    uid = _uid(level)
    paper_id = sp["paper_id"]
    top = wh.df(top_wrong_sql(level, ans_stage(wh, paper_id)), {"paper_id": paper_id})
    # looked up per unit row (a merge would copy every column of the units)
    pos = _pair_positions((top[uid].to_numpy("int64"), top["item_id"].to_numpy("int64")),
                          (units[uid].to_numpy("int64"), units["item_id"].to_numpy("int64")))
    hit = pos >= 0

    def at(c: str) -> np.ndarray:
        vals = np.append(top[c].to_numpy(float), np.nan)      # position −1: the NaN
        return vals[np.where(hit, pos, len(vals) - 1)]

    n_d = district_n.set_index("item_id")["n_d"]
    f = units.copy(deep=False)
    f["wrong_option"] = top["answer"].array.take(pos, allow_fill=True)
    f["wrong_option_share"] = at("n_chose") / f["n"].to_numpy(float)
    f["wrong_option_district_share"] = (at("n_chose_d")
                                        / f["item_id"].map(n_d).to_numpy(float))
    return f


def _resolve(wh: Backend, exam: str, subject: str,
             grade: int | None) -> tuple[int, dict[str, Any]]:
    """The paper id and the parameters of the sums queries."""
    paper = resolve_paper(wh, exam, subject, grade)
    return paper.paper_id, {"paper_id": paper.paper_id, "full_score": paper.full_score}


def _check_grain(grain: str) -> None:
    if grain not in ("item", "knowledge_point"):
        raise InputError(f"--grain 只能是 item 或 knowledge_point / grain must be 'item' or "
                         f"'knowledge_point', not {grain!r}")


def _unit_level(level: str) -> str:
    check_level(level)
    if level == "district":
        raise InputError("主要出错点按片区、学校或班级比较,不能按全区 / hotspots compare zones, "
                         "schools or classes with the district; level 'district' has no units")
    return level


def _filter_school(wh: Backend, frame: pd.DataFrame, level: str,
                   school: str | int | None) -> pd.DataFrame:
    if school is None:
        return frame
    if "school_id" not in LEVEL_KEYS[level]:
        raise InputError("--school 只能与 --level school 或 class 一起使用 / --school needs "
                         "level school or class")
    sid = school_id_of(wh, school)
    return frame[frame["school_id"] == sid].reset_index(drop=True)


def _item_frame(wh: Backend, sp: dict[str, Any], level: str, relative: bool,
                names: pd.DataFrame) -> pd.DataFrame:
    units, district = _item_base(wh, sp, level, names)
    return _compare(units, district, "item_id", relative)


def _item_base(wh: Backend, sp: dict[str, Any], level: str, names: pd.DataFrame
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Unit rows (sums, most-chosen wrong answer, item number and maximum attached) and
    district rows of the item comparison: what does not depend on ``relative``, kept on the
    connection (:meth:`Backend.memo <analytics.warehouse.Backend.memo>`) per paper and level."""
    def build() -> tuple[pd.DataFrame, pd.DataFrame]:
        sums = _unit_pass_sums(wh, sp, level)
        meta = shared_df(wh, paper_items_sql(), {"paper_id": sp["paper_id"]})
        units, district = _split(sums, level, "item_id", names, attach=False)
        # numbers only: the item's text columns are attached once, to the final rows
        units = units.assign(**_take(meta, "item_id", units["item_id"],
                                     ["item_number", "max_score"]))
        # in the final order once, so that neither call (plain or relative) sorts it again
        units = _in_unit_order(units, names, level)
        return _top_wrong(wh, sp, level, units, district[["item_id", "n_d"]]), district

    return memo(wh, ("hotspots._item_base", sp["paper_id"], sp["full_score"], level), build)


ITEM_COLUMNS = (
    "item_id", "item_number", "item_label", "item_type", "knowledge_points", "n", "max_score",
    "unit_rate", "district_rate", "paper_gap", "gap", "ci_low", "ci_high", "z", "p_value",
    "q_value", "gap_shrunk", "flag", "wrong_option", "wrong_option_share",
    "wrong_option_district_share",
)
KP_COLUMNS = (
    "knowledge_point", "n_items", "n", "max_score", "unit_rate", "district_rate", "paper_gap",
    "gap",
    "ci_low", "ci_high", "z", "p_value", "q_value", "gap_shrunk", "flag", "worst_item_label",
    "wrong_option_item_label", "wrong_option", "wrong_option_share",
)


@renamed(by="grain")
@fill_doc
def error_hotspots(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    school: str | int | None = None,
    grain: Grain = "item",
    fdr: float = 0.05,
    min_gap: float = 0.05,
    relative: bool = False,
) -> pd.DataFrame:
    """Items (or knowledge points) where a unit falls below the district, tested and FDR-controlled.

    Parameters
    ----------
    {paper}
    level : {"school", "class", "zone"}
        The units compared with the district.
    school : str or int, optional
        Keep only this school's rows (its classes at level ``class``). The Benjamini–Hochberg
        family is still every unit × item comparison of the level, so filtering does not make
        results look more significant.
    grain : {"item", "knowledge_point"}
        Compare item score rates, or knowledge-point rates (a student's points on the
        knowledge point's items ÷ their maximum). ``by`` before 0.2.0.
    fdr : float
        False-discovery rate for the flag (q-value threshold), default 0.05.
    min_gap : float
        Smallest shortfall (in score-rate units, 0.05 = 5 percentage points) that is flagged.
    relative : bool
        Relative weakness (相对薄弱): test each student's y = x − p, the item (or knowledge
        point) rate minus the student's own paper rate p = total / full score, instead of x.
        The gap is then (unit_rate − district_rate) − paper_gap: how much further below the
        district the unit is on this item than on the paper as a whole. A strong school's
        weak point, invisible in absolute terms, shows up; a school weak everywhere is not
        flagged everywhere. The same test, BH and shrinkage apply to y.

    Returns
    -------
    pandas.DataFrame
        One row per unit × item (or knowledge point), sorted by unit then item. Columns: the
        level's keys (``LEVEL_KEYS[level]``), then for ``grain="item"``: item_id, item_number,
        item_label, item_type, knowledge_points (';'-joined), n, max_score, unit_rate,
        district_rate, paper_gap (the unit's paper rate − the district's, over the same
        students), gap (unit_rate − district_rate; with ``relative`` minus paper_gap), ci_low,
        ci_high (95 % for the gap), z,
        p_value (two-sided), q_value (BH), gap_shrunk (empirical Bayes), flag (q_value ≤ fdr
        and gap ≤ −min_gap), wrong_option (the unit's most-chosen wrong answer on objective
        items; ties go to the first letter), wrong_option_share (its share of the unit's
        students), wrong_option_district_share. For ``grain="knowledge_point"``:
        knowledge_point, n_items, n, max_score, unit_rate, district_rate, paper_gap, gap, ci_low,
        ci_high, z, p_value, q_value, gap_shrunk, flag, worst_item_label (the point's item with
        the unit's largest shortfall), wrong_option_item_label, wrong_option,
        wrong_option_share (the point's objective item and wrong answer with the largest share
        in the unit).

    Notes
    -----
    The test, the shrinkage and the FDR procedure are described in the module docstring:
    pooled-variance two-sample z-test of the unit against the rest of the district (Fleiss,
    Levin & Paik 2003), Benjamini & Hochberg (1995) q-values over all comparisons, and
    normal–normal empirical Bayes shrinkage (Efron & Morris 1975; Morris 1983).
    """
    _check_grain(grain)
    level = _unit_level(level)
    keys = list(LEVEL_KEYS[level])
    paper_id, sp = _resolve(wh, exam, subject, grade)
    names = shared_df(wh, unit_names_sql(level))
    items = _item_frame(wh, sp, level, relative, names)
    if grain == "item":
        f = items
        f["q_value"] = bh_qvalues(f["p_value"])
        columns = [*keys, *ITEM_COLUMNS]
        last = "item_number"
    else:
        sums = _knowledge_sums(wh, level, sp)
        meta = sums.loc[sums["is_district"].astype(int) == 1,
                        ["knowledge_point", "max_score", "n_items"]]
        units, district = _split(sums.drop(columns=["max_score", "n_items"]), level,
                                 "knowledge_point", names, attach=False)
        f = _compare(units, district, "knowledge_point", relative).merge(
            meta, on="knowledge_point")
        f["q_value"] = bh_qvalues(f["p_value"])
        uid = _uid(level)
        f = f.merge(_kp_item_details(wh, items, [uid], paper_id), on=[uid, "knowledge_point"],
                    how="left")
        columns = [*keys, *KP_COLUMNS]
        last = "knowledge_point"
    f["flag"] = (f["q_value"] <= fdr) & (f["gap"] <= -min_gap)
    text = None if grain != "item" else shared_df(wh, paper_items_sql(), {"paper_id": paper_id})[
        ["item_id", "item_label", "item_type", "knowledge_points"]]
    f = _finish(f, names, level, last, text)
    return _filter_school(wh, f[columns], level, school)


def _in_unit_order(f: pd.DataFrame, names: pd.DataFrame, level: str,
                   last: str = "item_number") -> pd.DataFrame:
    """``f`` (unit rows of units that all have names) in the order of the final frames: by the
    level's id columns (a unit's parents' ids looked up in ``names``), then ``last``; with a
    fresh index."""
    uid = _uid(level)
    nm = names.drop_duplicates(uid).reset_index(drop=True)
    unit_pos = pd.Index(nm[uid]).get_indexer(f[uid])
    ids = [k for k in LEVEL_KEYS[level] if k.endswith("_id")]
    keys = pd.DataFrame({k: f[k].array if k == uid else nm[k].array.take(unit_pos)
                         for k in ids})
    keys[last] = f[last].array
    pos = _sort_positions(keys, list(keys.columns))
    return f.reset_index(drop=True) if pos is None else f.take(pos).reset_index(drop=True)


def _finish(f: pd.DataFrame, names: pd.DataFrame, level: str, last: str,
            text: pd.DataFrame | None) -> pd.DataFrame:
    """The units that have names, sorted by the level's ids then ``last``
    (:func:`_in_unit_order`; names follow their ids, so the id columns sort), with the level's
    key columns and, when given, the item text columns (``text``, keyed by item_id) attached:
    the frames before carry ids and numbers only, so the sort moves no text and the text is
    built once, for the final rows. The class frames come in order already (kept sorted by
    :func:`_item_base`), so nothing is moved for them."""
    uid = _uid(level)
    nm = names.drop_duplicates(uid).reset_index(drop=True)
    named = f[uid].isin(nm[uid])
    if not named.all():         # (a filter copies every column; usually every unit has a name)
        f = f[named]
    f = _in_unit_order(f, nm, level, last)
    unit_pos = pd.Index(nm[uid]).get_indexer(f[uid])
    f = f.assign(**{k: nm[k].array.take(unit_pos) for k in LEVEL_KEYS[level] if k != uid})
    if text is not None:
        f = f.assign(**_take(text, "item_id", f["item_id"], [c for c in text.columns
                                                             if c != "item_id"]))
    return f


def _kp_item_details(wh: Backend, items: pd.DataFrame, keys: list[str],
                     paper_id: int) -> pd.DataFrame:
    """Per unit × knowledge point: the item with the largest shortfall and the wrong answer with
    the largest share among the point's objective items."""
    ik = wh.df("SELECT k.item_id, k.knowledge_point FROM item_knowledge k JOIN items i "
               "ON i.item_id = k.item_id WHERE i.paper_id = $paper_id", {"paper_id": paper_id})
    labels = shared_df(wh, paper_items_sql(), {"paper_id": paper_id})[["item_id", "item_label"]]
    f = items.merge(ik, on="item_id").merge(labels, on="item_id")
    ids = [k for k in keys if k.endswith("_id")]       # names follow their ids
    worst = (f.sort_values([*ids, "knowledge_point", "gap", "item_number"])
             .drop_duplicates([*ids, "knowledge_point"])
             [[*keys, "knowledge_point", "item_label"]]
             .rename(columns={"item_label": "worst_item_label"}))
    w = f[f["wrong_option"].notna()]
    w = (w.sort_values([*ids, "knowledge_point", "wrong_option_share", "item_number"],
                       ascending=[True] * (len(ids) + 1) + [False, True])
         .drop_duplicates([*ids, "knowledge_point"])
         [[*keys, "knowledge_point", "item_label", "wrong_option", "wrong_option_share"]]
         .rename(columns={"item_label": "wrong_option_item_label"}))
    return worst.merge(w, on=[*keys, "knowledge_point"], how="left")


@renamed(by="grain")
@fill_doc
def district_weak_points(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    grain: Grain = "item",
    top: int | None = None,
) -> pd.DataFrame:
    """The district's items (or knowledge points) ordered from the lowest score rate up.

    Parameters
    ----------
    {paper}
    grain : {"item", "knowledge_point"}
        Items or knowledge points (``by`` before 0.2.0).
    top : int, optional
        Keep the ``top`` weakest rows (all when None).

    Returns
    -------
    pandas.DataFrame
        One row per item: rank (1 = lowest rate), item_id, item_number, item_label, item_type,
        knowledge_points, n, max_score, score_rate, ci_low, ci_high, difficulty_band,
        wrong_option, wrong_option_share (the district's most-chosen wrong answer). By knowledge
        point: rank, knowledge_point, n_items, n, max_score, score_rate, ci_low, ci_high,
        difficulty_band. score_rate = mean(x) with x = score / max (得分率, 难度 P); the 95 %
        interval is the normal one, mean ± 1.96 · s / √n.
    """
    _check_grain(grain)
    paper_id, sp = _resolve(wh, exam, subject, grade)
    params = {"paper_id": paper_id}
    if grain == "item":
        sums = _unit_pass_sums(wh, sp, "school")
        wrong = _wrong_options(wh, sp, None)
        group = "item_id"
    else:
        sums = _knowledge_sums(wh, "school", sp)
        group = "knowledge_point"
    d = sums[sums["is_district"].astype(int) == 1].copy()
    n = d["n"].to_numpy(float)
    m = d["sum_x"].to_numpy(float) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.clip((d["sum_xx"].to_numpy(float) - n * m ** 2) / (n - 1), 0.0, None)
        half = Z95 * np.sqrt(var / n)
    d["score_rate"] = m
    d["ci_low"] = m - half
    d["ci_high"] = m + half
    d["difficulty_band"] = difficulty_band(m).to_numpy()
    if grain == "item":
        meta = shared_df(wh, paper_items_sql(), params).drop(columns="answer_key")
        d = meta.merge(d.drop(columns=["max_score"], errors="ignore"), on="item_id")
        wrong = wrong[wrong["is_district"].astype(int) == 1]
        wrong = (wrong.sort_values(["item_id", "n_chose", "answer"], ascending=[True, False, True])
                 .drop_duplicates("item_id")[["item_id", "answer", "n_chose"]])
        d = d.merge(wrong, on="item_id", how="left")
        d["wrong_option"] = d["answer"]
        d["wrong_option_share"] = d["n_chose"] / d["n"]
        cols = ["item_id", "item_number", "item_label", "item_type", "knowledge_points", "n",
                "max_score", "score_rate", "ci_low", "ci_high", "difficulty_band",
                "wrong_option", "wrong_option_share"]
        tie = "item_number"
    else:
        cols = ["knowledge_point", "n_items", "n", "max_score", "score_rate", "ci_low",
                "ci_high", "difficulty_band"]
        tie = group
    d = d.sort_values(["score_rate", tie], kind="mergesort").reset_index(drop=True)
    d.insert(0, "rank", np.arange(1, len(d) + 1))
    d = d[["rank", *cols]]
    return d if top is None else d.head(top)


@fill_doc
def knowledge_matrix(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    school: str | int | None = None,
) -> pd.DataFrame:
    """Unit × knowledge point score rates in long format, ready for a heatmap.

    Parameters
    ----------
    {paper}
    level : {"class", "school", "zone"}
        Default ``"school"`` (``"class"`` before 0.2.0).
    school : str or int, optional
        Keep only this school (its classes at level ``class``).

    Returns
    -------
    pandas.DataFrame
        One row per unit × knowledge point: the level's keys, knowledge_point, n_items, n,
        max_score, score_rate (mean over the unit's present students of their points on the
        knowledge point's items ÷ the maximum), district_rate, gap (score_rate − district_rate).
    """
    level = _unit_level(level)
    keys = list(LEVEL_KEYS[level])
    _, sp = _resolve(wh, exam, subject, grade)
    sums = _knowledge_sums(wh, level, sp)
    units, district = _split(sums, level, "knowledge_point", shared_df(wh, unit_names_sql(level)))
    f = units.merge(district[["knowledge_point", "n_d", "sum_x_d"]], on="knowledge_point")
    f["score_rate"] = f["sum_x"] / f["n"]
    f["district_rate"] = f["sum_x_d"] / f["n_d"]
    f["gap"] = f["score_rate"] - f["district_rate"]
    ids = [k for k in keys if k.endswith("_id")]       # names follow their ids
    f = f.sort_values([*ids, "knowledge_point"], kind="mergesort").reset_index(drop=True)
    cols = [*keys, "knowledge_point", "n_items", "n", "max_score", "score_rate",
            "district_rate", "gap"]
    return _filter_school(wh, f[cols], level, school)
