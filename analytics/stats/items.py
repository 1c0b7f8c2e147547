"""Item statistics from the reduced sums: difficulty, discrimination, item–total correlations,
options, flags; Kelley's 27 % groups; the difficulty and discrimination bands.

Arithmetic on frames of one row per unit × item (or × option letter) only: the sums come from
:mod:`analytics.reduce.item_sums`, the public analyses (and the definitions with their sources, in
their module docstring) are in :mod:`analytics.items`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.domain.bands import (
    ATTRACTIVE_MIN_SHARE,
    DIFFICULTY_BANDS,
    DIFFICULTY_CUTS,
    DISCRIMINATION_BANDS,
    DISCRIMINATION_CUTS,
    EASY_P,
    HARD_P,
    KELLEY_SHARE,
    OMIT_RATE,
    WEAK_D,
)
from analytics.domain.items import OBJECTIVE_TYPES as OBJECTIVE
from analytics.domain.labels import LABELS
from analytics.stats.reliability import alpha_if_deleted_from_sums, item_moments
from analytics.stats.sums import ItemSums

# -- Kelley's groups (Kelley 1939) --------------------------------------------------------------
# The one definition of the upper and lower groups that every item analysis uses (the item
# statistics, the option analysis, the stored passes and the question archive): within a unit,
# students ranked by total, highest first, ties broken by student_key ascending, so that each
# group holds exactly g = floor(0.27 · n + 0.5) students (round half up); the upper group is
# ranks 1..g, the lower group ranks n − g + 1..n. (The archive asked for at least one student,
# ``at_least=1``, until 0.2.1; it now stores the item statistics' own groups.)



def kelley_group_size(n: npt.ArrayLike, share: float = KELLEY_SHARE,
                      at_least: int = 0) -> np.ndarray:
    """g = max(at_least, floor(share · n + 0.5)) students in each of Kelley's groups."""
    g = np.floor(share * np.asarray(n, dtype=float) + 0.5).astype(np.int64)
    return np.maximum(g, at_least) if at_least else g


def kelley_size_sql(n: str, share: str = "$share", at_least: int = 0,
                    sql_type: str = "BIGINT") -> str:
    """SQL for :func:`kelley_group_size` of the count expression ``n`` (trusted SQL);
    ``share`` is a parameter or a literal."""
    size = f"CAST(floor({share} * {n} + 0.5) AS {sql_type})"
    return f"greatest({at_least}, {size})" if at_least else size


def kelley_rank_sql(partition: str = "", total: str = "pr.total",
                    key: str = "pr.student_key") -> str:
    """SQL for a student's rank in Kelley's order within ``partition`` (trusted SQL; none =
    the whole population): by ``total`` descending, ties by ``key`` ascending."""
    over = f"PARTITION BY {partition} " if partition else ""
    return f"row_number() OVER ({over}ORDER BY {total} DESC, {key})"


# -- bands --------------------------------------------------------------------------------------


def difficulty_band(p: pd.Series | np.ndarray | float) -> pd.Series:
    """Band of each difficulty P (score rate): very_easy (> .90), easy (≥ .70), medium
    (≥ .40), hard (≥ .20), very_hard (< .20); NaN stays missing (None). A Series keeps its
    index; an array or a number gets a fresh one."""
    r = p if isinstance(p, pd.Series) else pd.Series(np.atleast_1d(np.asarray(p, dtype=float)))
    e, m, h, vh = DIFFICULTY_CUTS
    out = np.select([r > e, r >= m, r >= h, r >= vh, r < vh], list(DIFFICULTY_BANDS),
                    default="")
    return pd.Series(out, index=r.index, dtype=object).replace("", None)


def difficulty_band_sql(col: str) -> str:
    """SQL CASE giving :func:`difficulty_band` of a score-rate column (trusted identifier)."""
    e, m, h, vh = DIFFICULTY_CUTS
    codes = DIFFICULTY_BANDS
    return (f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} > {e:.2f} THEN '{codes[0]}' "
            f"WHEN {col} >= {m:.2f} THEN '{codes[1]}' WHEN {col} >= {h:.2f} THEN '{codes[2]}' "
            f"WHEN {col} >= {vh:.2f} THEN '{codes[3]}' ELSE '{codes[4]}' END")


def discrimination_band(d: pd.Series) -> pd.Series:
    """Ebel's band of each discrimination D: very_good (≥ .40), good (≥ .30), acceptable
    (≥ .20), poor (< .20); NaN stays missing (None)."""
    vg, g, a = DISCRIMINATION_CUTS
    out = np.select([d >= vg, d >= g, d >= a, d < a], list(DISCRIMINATION_BANDS), default="")
    return pd.Series(out, index=d.index, dtype=object).replace("", None)


# -- item statistics ----------------------------------------------------------------------------

# "过易 / too easy (P > .90)", …: the labels of :func:`analytics.domain.label` ``("flag", code)``
FLAG_CODES = {code: f"{zh} / {en}" for code, (zh, en) in LABELS["flag"].items()}


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


def option_flags(opts: pd.DataFrame) -> pd.DataFrame:
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


def item_flags(frame: pd.DataFrame) -> pd.Series:
    """The flags of each item row, ``;``-joined codes of :data:`FLAG_CODES` ('' when none).

    ``too_easy``: difficulty > ``EASY_P`` (0.90); ``too_hard``: difficulty < ``HARD_P`` (0.20);
    ``weak_discrimination``: 0 ≤ discrimination < ``WEAK_D`` (0.20, Ebel's "poor");
    ``negative_discrimination``: discrimination < 0 or item–rest r < 0; ``possible_wrong_key``
    and ``attractive_distractor`` as the row says; ``many_omissions``: omit rate > ``OMIT_RATE``
    (0.10). The thresholds are those of :mod:`analytics.domain.bands`; a missing statistic
    raises no flag.
    """
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
