"""Item statistics (试题分析): difficulty, discrimination, item–total correlations, options, flags.

All statistics come from the one-pass SQL sums of :mod:`analytics.item_sums`; this module only
does arithmetic on frames of one row per unit × item (or × option letter).

Definitions (x an item score with an omission counted as 0, m its full mark, T the total,
R = T − x the rest score; sample moments with n − 1):

* 得分率 / difficulty P = mean(x) / m (Ebel & Frisbie 1991; for 0/1 items the share correct,
  答对率). Larger means easier.
* Discrimination D = P_upper − P_lower, the score rates of Kelley's (1939) upper and lower 27%
  groups by total within the unit (ties at the cut broken by student_key; see
  :mod:`analytics.item_sums`). Ebel's reading: ≥ .40 very good, .30–.39 good, .20–.29
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

import numpy as np
import pandas as pd

from analytics.errors import InputError
from analytics.item_sums import ItemSums, item_sums
from analytics.levels import LEVEL_KEYS, check_level
from analytics.lookup import PaperRef, resolve_paper, resolve_school
from analytics.reliability import alpha_if_deleted_from_sums, item_moments
from analytics.warehouse import Warehouse, shared_df

EASY_P = 0.90          # too easy above this difficulty
HARD_P = 0.20          # too hard below
WEAK_D = 0.20          # weak discrimination below (Ebel: poor)
OMIT_RATE = 0.10       # many omissions above
ATTRACTIVE_MIN_SHARE = 0.05  # a distractor discriminating positively counts from this share
OBJECTIVE = ("single", "multiple", "true_false")

FLAG_CODES = {
    "too_easy": "过易 / too easy (P > .90)",
    "too_hard": "过难 / too hard (P < .20)",
    "weak_discrimination": "区分度低 / weak discrimination (0 ≤ D < .20)",
    "negative_discrimination": "负区分 / negative discrimination (D < 0 or r_item_rest < 0)",
    "possible_wrong_key": "疑似答案错误 / a distractor attracts the upper group more than the key",
    "attractive_distractor": ("干扰项过强 / a distractor is chosen more often than the key, or "
                              "(share ≥ 5%) more by the upper than the lower group"),
    "many_omissions": "未答多 / many omissions (> 10%)",
}


def items_sql() -> str:
    return """
        SELECT item_id, number, label AS item, item_type, max_score, answer_key AS key, options
        FROM items WHERE paper_id = $paper_id ORDER BY number
    """


def _sid(wh: Warehouse, school: str | int | None) -> int | None:
    if school is None or isinstance(school, int):
        return school
    return resolve_school(wh, school)


def option_table(sums: ItemSums, meta: pd.DataFrame) -> pd.DataFrame:
    """Per unit × objective item × option letter offered: choice shares overall and in Kelley's
    groups, and the mean total of those who chose it (pure arithmetic on the sums).

    Returns
    -------
    pandas.DataFrame
        ``uid``, ``item_id``, ``option``, ``is_key``, ``n`` (present students in the unit),
        ``n_chosen``, ``share``, ``share_upper``, ``share_lower``, ``option_discrimination``
        (share_upper − share_lower), ``mean_total`` (of those who chose it).
    """
    obj = meta[meta["item_type"].isin(OBJECTIVE) & meta["options"].notna()]
    offered = (obj.assign(option=obj["options"].map(list))[["item_id", "key", "option"]]
               .explode("option"))
    # whether the letter is (part of) the key: decided once per item × letter, not per unit
    offered["is_key"] = [isinstance(k, str) and o in k
                         for k, o in zip(offered["key"], offered["option"], strict=True)]
    units = sums.items[["uid", "item_id", "n", "n_up", "n_lo"]]
    grid = units.merge(offered, on="item_id")
    opts = sums.options.rename(columns={"letter": "option", "n": "n_chosen",
                                        "n_up": "up_chosen", "n_lo": "lo_chosen"})
    out = grid.merge(opts, on=["uid", "item_id", "option"], how="left")
    for c in ("n_chosen", "up_chosen", "lo_chosen"):
        out[c] = out[c].fillna(0).astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = out["n_chosen"] / out["n"].where(out["n"] > 0)
        out["share_upper"] = out["up_chosen"] / out["n_up"].where(out["n_up"] > 0)
        out["share_lower"] = out["lo_chosen"] / out["n_lo"].where(out["n_lo"] > 0)
        out["mean_total"] = out["st"] / out["n_chosen"].where(out["n_chosen"] > 0)
    out["option_discrimination"] = out["share_upper"] - out["share_lower"]
    out["is_key"] = out["is_key"].astype(bool)
    return out[["uid", "item_id", "option", "is_key", "n", "n_chosen", "share", "share_upper",
                "share_lower", "option_discrimination", "mean_total"]]


def _option_flags(opts: pd.DataFrame) -> pd.DataFrame:
    """Per unit × item: possible wrong key and attractive distractor from the option table."""
    if opts.empty:
        return pd.DataFrame(columns=["uid", "item_id", "possible_wrong_key",
                                     "attractive_distractor", "top_distractor",
                                     "top_distractor_share"])
    key = opts[opts["is_key"]].groupby(["uid", "item_id"]).agg(
        key_up=("share_upper", "min"), key_share=("share", "min"))
    dis = opts[~opts["is_key"]]
    pos = dis["option_discrimination"].where(dis["share"] >= ATTRACTIVE_MIN_SHARE)
    dmax = (dis.assign(pos=pos).groupby(["uid", "item_id"])
            .agg(dis_up=("share_upper", "max"), dis_share=("share", "max"),
                 dis_d=("pos", "max")))
    top = (dis.sort_values(["uid", "item_id", "share", "option"],
                           ascending=[True, True, False, True])
           .drop_duplicates(["uid", "item_id"])
           .set_index(["uid", "item_id"])[["option", "share"]]
           .rename(columns={"option": "top_distractor", "share": "top_distractor_share"}))
    f = key.join(dmax, how="outer").join(top, how="left")
    f["possible_wrong_key"] = (f["dis_up"] > f["key_up"]).fillna(False)
    f["attractive_distractor"] = (((f["dis_share"] > f["key_share"]) | (f["dis_d"] > 0))
                                  & ~f["possible_wrong_key"]).fillna(False)
    return f[["possible_wrong_key", "attractive_distractor", "top_distractor",
              "top_distractor_share"]].reset_index()


def compute_item_stats(sums: ItemSums, meta: pd.DataFrame) -> pd.DataFrame:
    """Item statistics per unit × item from the reduced sums (see the module notes).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`item_stats` plus ``uid``.
    """
    m = item_moments(sums).merge(meta, on="item_id", how="left")
    mx = m["max_score"].to_numpy(dtype=float)
    n = m["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        m["mean_score"] = m["mean_x"]
        m["sd_score"] = np.sqrt(m["var_x"])
        m["score_rate"] = m["mean_x"] / mx
        m["difficulty"] = m["score_rate"]
        m["upper_rate"] = m["sx_up"] / m["n_up"].where(m["n_up"] > 0) / mx
        m["lower_rate"] = m["sx_lo"] / m["n_lo"].where(m["n_lo"] > 0) / mx
        m["discrimination"] = m["upper_rate"] - m["lower_rate"]
        var_x = m["var_x"].to_numpy(dtype=float)
        den_t = np.sqrt(var_x * m["var_t"].to_numpy(dtype=float))
        den_r = np.sqrt(var_x * m["var_rest"].to_numpy(dtype=float))
        m["r_item_total"] = m["cov_xt"] / np.where(den_t > 0, den_t, np.nan)
        m["r_item_rest"] = m["cov_x_rest"] / np.where(den_r > 0, den_r, np.nan)
        # Moodle: cov_max from the sorted pairing of x and R
        sr = (m["st"] - m["sx"]).to_numpy(dtype=float)
        cov_max = np.where(n > 1, (m["sxr_sorted"].to_numpy(dtype=float)
                                   - m["sx"].to_numpy(dtype=float) * sr / n) / (n - 1), np.nan)
        m["discriminative_efficiency"] = np.where(cov_max > 0,
                                                  m["cov_x_rest"] / cov_max, np.nan)
        root = np.sqrt(m["cov_xt"].where(m["cov_xt"] >= 0))
        m["effective_weight"] = root / root.groupby(m["uid"]).transform("sum").where(
            lambda s: s > 0)
        m["omit_rate"] = m["n_omitted"] / m["n"].where(m["n"] > 0)
    m = m.merge(alpha_if_deleted_from_sums(sums), on=["uid", "item_id"], how="left")
    return m


def _flags(frame: pd.DataFrame) -> pd.Series:
    p, d, rr = frame["difficulty"], frame["discrimination"], frame["r_item_rest"]
    conds = {
        "too_easy": p > EASY_P,
        "too_hard": p < HARD_P,
        "weak_discrimination": (d >= 0) & (d < WEAK_D),
        "negative_discrimination": (d < 0) | (rr < 0),
        "possible_wrong_key": frame["possible_wrong_key"].fillna(False).astype(bool),
        "attractive_distractor": frame["attractive_distractor"].fillna(False).astype(bool),
        "many_omissions": frame["omit_rate"] > OMIT_RATE,
    }
    hit = pd.DataFrame({k: v.fillna(False).astype(bool) for k, v in conds.items()})
    names = np.array(list(conds))
    # each row's set of flags as a bit mask; the few distinct masks are spelt out once
    masks = hit.to_numpy().astype(np.int64) @ (1 << np.arange(len(names), dtype=np.int64))
    distinct, inverse = np.unique(masks, return_inverse=True)
    text = np.array([";".join(names[(m >> np.arange(len(names))) & 1 == 1]) for m in distinct],
                    dtype=object)
    return pd.Series(text[inverse], index=frame.index, dtype=object)


def _load(wh: Warehouse, paper: PaperRef, level: str, school: str | int | None,
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
    sums = item_sums(wh, paper_id=paper.paper_id, level=level, school_id=_sid(wh, school),
                     sorted_cov=efficiency)
    return sums, meta


def item_stats(
    wh: Warehouse,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "district",
    unit_id: int | None = None,
    school: str | int | None = None,
    efficiency: bool | None = None,
) -> pd.DataFrame:
    """Item statistics of a paper for the whole population or per zone/school/class.

    Parameters
    ----------
    wh : Warehouse
    exam, subject, grade :
        The paper.
    level : {'district', 'zone', 'school', 'class'}
        Each unit is analysed on its own (its own Kelley groups and total variance).
    unit_id : int, optional
        Keep only this unit (an id of the level).
    school : str or int, optional
        Restrict the population to one school (name, code or id).
    efficiency : bool, optional
        Compute ``discriminative_efficiency`` (the SQL pass then groups by total too, which
        costs little for a district or zone but about 5× more CPU per school or class on large
        data). Default: True at district and zone level, False (NaN column) below.

    Returns
    -------
    pandas.DataFrame
        One row per unit × item: the level keys, ``item_id``, ``number``, ``item`` (label),
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
    here.
    """
    paper = resolve_paper(wh, exam, subject, grade)
    keys = list(LEVEL_KEYS[check_level(level)])
    if efficiency is None:
        efficiency = level in ("district", "zone")
    sums, meta = _load(wh, paper, level, school, efficiency)
    stats = compute_item_stats(sums, meta)
    opts = option_table(sums, meta)
    stats = stats.merge(_option_flags(opts), on=["uid", "item_id"], how="left")
    stats["flags"] = _flags(stats)
    cols = [*keys, "item_id", "number", "item", "item_type", "n", "max_score", "mean_score",
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
    if unit_id is not None:
        out = out[out[keys[-2]] == unit_id]
    return (out.sort_values(["uid", "number"]).drop(columns="uid").reset_index(drop=True))


def option_analysis(
    wh: Warehouse,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "district",
    school: str | int | None = None,
) -> pd.DataFrame:
    """Distractor analysis (选项分析) of the objective items, per unit.

    Returns
    -------
    pandas.DataFrame
        One row per unit × objective item × option offered: level keys, ``item_id``,
        ``number``, ``item``, ``option``, ``is_key``, ``n`` (present students of the unit),
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
    out = (opts.merge(unit_keys, on="uid").merge(meta[["item_id", "number", "item"]],
                                                  on="item_id"))
    cols = [*keys, "item_id", "number", "item", "option", "is_key", "n", "n_chosen", "share",
            "share_upper", "share_lower", "option_discrimination", "mean_total"]
    return out.sort_values(["uid", "number", "option"])[cols].reset_index(drop=True)
