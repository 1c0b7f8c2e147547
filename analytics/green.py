"""Green indicators (绿色指标): questionnaire indices, light burden, attainment, equity and the
influence of socio-economic background, graded in levels 1–9 as Shanghai's Green Indicators do.

Indices and levels (sources in ``green_scales.toml``)
----------------------------------------------------
* Questionnaire scales (学习动力, 学业负担(感受), 师生关系, 教学方式, 身心健康, 品德行为): an
  answer is favourable when, after reverse-keying (v → min + max − v), it is ≥ the scale's threshold
  (direction "high") or ≤ it ("low"); a student is favourable when *more than* 60% of the
  answered items are (students answering under half the items are not scored). The index is
  the share of favourable students; ``index_level = clamp(floor(share × 10), 1, 9)``.
* 学业负担 (time): a student is lightly burdened when at least two of sleep ≥ 7 h, homework < 2 h
  a day, tutoring < 4 h a week hold (scored only when the answers settle it); index = share.
* 学业水平 attainment: the 达标率, the share of students reaching the paper's pass line
  (``1 − fail rate``; SH2011's 学业成绩标准达成度), banded like the questionnaire shares, plus
  the shares at the proficiency bands A/B/C/D (``attainment_A`` … rows, no level). Before
  issue 16 it was ``1 − 2.5 × fail rate``: level 1 at any fail rate above 36%, so every school
  of a district whose papers fail a third of the students (the demo's 20–53%) got level 1.
* 均衡 equity (district / zone only): ``1 − 2.5 × ICC`` with ICC = σ_s²/(σ_s² + σ²) of the
  z-scores in a REML random-intercept model with schools (:func:`analytics.stats.mixed.reml_fit`).
* 社会经济背景影响 SES influence, banded in reverse: ``1 − 2.5 × R²`` of the z-score regressed on
  SES (rows ``ses_slope`` and ``ses_r2`` give the slope with its OLS interval and the R²).

Coefficient levels use the same ``clamp(floor(index × 10), 1, 9)``. Shares carry Wilson 95%
intervals. Cronbach's α of each scale: :func:`scale_reliability`, α = k/(k−1)·(1 − Σ var(item) /
var(total)) over students answering every item, with Feldt's (1965) F-based 95% interval.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.domain.levels import LEVEL_KEYS, key_list
from analytics.domain.params import fill_doc
from analytics.errors import InputError, NotFoundError
from analytics.lookup import not_found, resolve_paper
from analytics.stats.intervals import feldt_interval
from analytics.stats.intervals import wilson as wilson
from analytics.stats.mixed import CellStats, reml_fit
from analytics.stats.reliability import alpha_from_variances
from analytics.warehouse import Backend


def index_level(value: npt.ArrayLike) -> np.ndarray:
    """Shanghai's 9 levels: clamp(floor(value × 10), 1, 9); NaN stays NaN.

    ``floor`` is taken after rounding to 12 decimals so that, e.g., 0.7 × 10 gives 7.
    """
    v = np.asarray(value, float)
    with np.errstate(invalid="ignore"):
        lv = np.clip(np.floor(np.round(v * 10, 12)), 1, 9)
    return lv


@dataclass(frozen=True)
class GreenConfig:
    """The parsed scale configuration (see ``green_scales.toml``)."""

    raw: dict[str, Any]

    @property
    def scales(self) -> list[dict[str, Any]]:
        """The ``[[scale]]`` tables in file order (code, name, items, threshold, reverse, …)."""
        return list(self.raw.get("scale", []))

    @property
    def burden(self) -> dict[str, Any]:
        """The ``[burden]`` table (question names and cuts of the light-burden rule); empty if
        absent."""
        return dict(self.raw.get("burden", {}))

    @property
    def coefficients(self) -> dict[str, float]:
        """The factors of the coefficient indices (index = 1 − factor × statistic): the
        ``[coefficients]`` table over the defaults 1 for attainment (index = the pass share) and
        2.5 for equity and SES."""
        c = {"attainment_factor": 1.0, "equity_factor": 2.5, "ses_factor": 2.5}
        c.update(self.raw.get("coefficients", {}))
        return c

    def items_frame(self) -> pd.DataFrame:
        """One row per scale item: question, scale, reverse, lo, hi, direction, threshold, k."""
        lo, hi = float(self.raw.get("likert_min", 1)), float(self.raw.get("likert_max", 5))
        rows = []
        for s in self.scales:
            rev = set(s.get("reverse", []))
            for q in s["items"]:
                rows.append({"question": q, "scale": s["code"], "reverse": q in rev, "lo": lo,
                             "hi": hi, "direction": s.get("favourable", "high"),
                             "threshold": float(s["threshold"]), "k": len(s["items"])})
        return pd.DataFrame(rows, columns=["question", "scale", "reverse", "lo", "hi",
                                           "direction", "threshold", "k"])


def load_scales(path: str | Path | None = None) -> GreenConfig:
    """Read the scale configuration: ``path`` or the packaged ``green_scales.toml``.

    Returns
    -------
    GreenConfig
        The checked configuration (its ``scales``: code, name, items, threshold, …).
    """
    try:
        if path is None:
            text = (resources.files("analytics") / "green_scales.toml").read_text("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"量表配置文件格式错误 / the scale configuration is not valid TOML: "
                         f"{exc}") from exc
    for s in raw.get("scale", []):
        missing = {"code", "name", "items", "threshold"} - set(s)
        if missing:
            raise InputError(f"量表配置缺少字段 {sorted(missing)} / scale {s.get('code')!r} "
                             f"lacks {sorted(missing)}")
        if s.get("favourable", "high") not in ("high", "low"):
            raise InputError(f"favourable 只能是 high 或 low / scale {s['code']!r}: favourable "
                             "must be high or low")
        extra = set(s.get("reverse", [])) - set(s["items"])
        if extra:
            raise InputError(f"反向计分题不在量表中 / reverse-keyed items {sorted(extra)} are not "
                             f"items of scale {s['code']!r}")
    return GreenConfig(raw)


def resolve_survey(wh: Backend, survey: str | None = None, grade: int | None = None) -> int:
    """The survey id by name, or the only survey (of ``grade``) when no name is given."""
    s = wh.df("SELECT survey_id, name, grade FROM surveys ORDER BY survey_id")
    hit = s[s["name"] == survey] if survey is not None else s
    if survey is None and grade is not None:
        hit = hit[hit["grade"] == grade]
    if len(hit) == 1:
        return int(hit["survey_id"].iloc[0])
    names = "; ".join(s["name"]) or "—"
    if hit.empty:
        raise not_found("问卷", "survey", survey or "", s["name"])
    raise NotFoundError(f"有多份问卷,请用 --survey 指定 / several surveys; pass one by name: "
                        f"{names}")


# --------------------------------------------------------------------------------------------
# SQL
# --------------------------------------------------------------------------------------------
def scale_answers_sql() -> str:
    """Reverse-keyed numeric answers to the scale items (view ``green_items``)."""
    return """
        SELECT sa.student_key, gi.scale, gi.question, gi.k, gi.direction, gi.threshold,
               CASE WHEN gi.reverse THEN gi.lo + gi.hi - sa.value_num ELSE sa.value_num END AS v
        FROM survey_answers sa JOIN green_items gi ON gi.question = sa.question
        WHERE sa.survey_id = $survey AND sa.value_num IS NOT NULL
    """


def scale_students_sql() -> str:
    """Per student × scale: items answered, share of favourable answers, favourable (bool)."""
    return f"""
        WITH a AS ({scale_answers_sql()})
        SELECT student_key, scale, count(*) AS answered,
               avg(CASE WHEN (direction = 'high' AND v >= threshold)
                          OR (direction = 'low' AND v <= threshold) THEN 1.0 ELSE 0.0 END)
                   AS fav_share,
               avg(CASE WHEN (direction = 'high' AND v >= threshold)
                          OR (direction = 'low' AND v <= threshold) THEN 1.0 ELSE 0.0 END)
                   > $item_share AS favourable
        FROM a GROUP BY student_key, scale, k
        HAVING count(*) >= $min_items * k
    """


def scale_index_sql(level: str) -> str:
    """Per unit of ``level`` × scale (:func:`scale_students_sql`): the students counted and the
    favourable ones.

    Parameters ``$survey``, ``$item_share``, ``$min_items``; reads view ``green_items``.
    Columns: the level's key columns, ``indicator`` (the scale code), ``n`` (students who
    answered at least ``$min_items`` of the scale's items), ``k`` (of them favourable).
    """
    return f"""
        WITH s AS ({scale_students_sql()})
        SELECT {key_list(level)}, s.scale AS indicator, count(*) AS n,
               sum(s.favourable::INTEGER) AS k
        FROM s JOIN student_tree t USING (student_key)
        GROUP BY ALL
    """


def burden_students_sql() -> str:
    """Per student: the three burden answers and whether the light-burden rule holds (NULL when
    the answers do not settle it)."""
    return """
        WITH w AS (
            SELECT student_key,
                   max(value_num) FILTER (WHERE question = $q_sleep) AS sleep,
                   max(value_num) FILTER (WHERE question = $q_homework) AS homework,
                   max(value_num) FILTER (WHERE question = $q_tutoring) AS tutoring
            FROM survey_answers
            WHERE survey_id = $survey AND question IN ($q_sleep, $q_homework, $q_tutoring)
            GROUP BY student_key
        ), c AS (
            SELECT *,
                   coalesce((sleep >= $sleep_min)::INTEGER, 0)
                   + coalesce((homework < $homework_max)::INTEGER, 0)
                   + coalesce((tutoring < $tutoring_max)::INTEGER, 0) AS n_true,
                   coalesce((sleep < $sleep_min)::INTEGER, 0)
                   + coalesce((homework >= $homework_max)::INTEGER, 0)
                   + coalesce((tutoring >= $tutoring_max)::INTEGER, 0) AS n_false
            FROM w
        )
        SELECT *, CASE WHEN n_true >= $need THEN true
                       WHEN n_false > 3 - $need THEN false END AS light
        FROM c
    """


def burden_index_sql(level: str) -> str:
    """Per unit of ``level``: the students whose light-burden rule is settled and the lightly
    burdened ones (:func:`burden_students_sql`).

    Parameters as :func:`burden_students_sql` (``$survey``, ``$q_sleep``, ``$q_homework``,
    ``$q_tutoring``, ``$sleep_min``, ``$homework_max``, ``$tutoring_max``, ``$need``).
    Columns: the level's key columns, ``n`` (``light`` not NULL), ``k`` (``light`` true).
    """
    return f"""
        WITH b AS ({burden_students_sql()})
        SELECT {key_list(level)}, count(light) AS n, sum(light::INTEGER) AS k
        FROM b JOIN student_tree t USING (student_key)
        GROUP BY ALL
    """


def attainment_sql(level: str) -> str:
    """Per unit: students present, below the pass line, and in each proficiency band."""
    return f"""
        SELECT {key_list(level)}, count(*) AS n,
               count(*) FILTER (WHERE pr.total < $pass_line) AS k_fail,
               count(*) FILTER (WHERE pr.total >= $band_a) AS k_a,
               count(*) FILTER (WHERE pr.total >= $band_b AND pr.total < $band_a) AS k_b,
               count(*) FILTER (WHERE pr.total >= $band_c AND pr.total < $band_b) AS k_c,
               count(*) FILTER (WHERE pr.total < $band_c) AS k_d
        FROM paper_results pr JOIN student_tree t USING (student_key)
        WHERE pr.paper_id = $paper AND pr.status = 'present'
        GROUP BY ALL
    """


# CTE ``z``: the present students of ``$paper`` with their total standardised over the paper
# (``y``; NULL when every total is the same)
Z_SCORES_CTE = """
        WITH z AS (
            SELECT student_key,
                   (total - avg(total) OVER ()) / nullif(stddev_samp(total) OVER (), 0) AS y
            FROM paper_results WHERE paper_id = $paper AND status = 'present'
        )"""


def ses_sql(level: str) -> str:
    """Per unit sums for the regression of the z-score (within the paper) on SES."""
    return f"""{Z_SCORES_CTE}
        SELECT {key_list(level)}, count(*) AS n, sum(t.ses) AS sx, sum(t.ses * t.ses) AS sxx,
               sum(z.y) AS sy, sum(t.ses * z.y) AS sxy, sum(z.y * z.y) AS syy
        FROM z JOIN student_tree t USING (student_key)
        WHERE t.ses IS NOT NULL
        GROUP BY ALL
    """


def equity_sql(level: str) -> str:
    """Per unit × school sums of the z-score, for the between-school variance share."""
    return f"""{Z_SCORES_CTE}
        SELECT {key_list(level)}, t.school_id AS sid, count(*) AS n, sum(z.y) AS sy,
               sum(z.y * z.y) AS syy
        FROM z JOIN student_tree t USING (student_key)
        GROUP BY ALL ORDER BY ALL
    """


def alpha_sql() -> str:
    """Per scale: complete cases, items, sum of item variances and variance of the total."""
    return f"""
        WITH a AS ({scale_answers_sql()}),
        complete AS (
            SELECT student_key, scale FROM a GROUP BY student_key, scale, k HAVING count(*) = k
        ),
        c AS (SELECT a.* FROM a JOIN complete USING (student_key, scale)),
        iv AS (SELECT scale, question, var_samp(v) AS var FROM c GROUP BY ALL),
        tot AS (SELECT scale, student_key, sum(v) AS total FROM c GROUP BY ALL)
        SELECT tot.scale, count(*) AS n, var_samp(total) AS var_total,
               (SELECT sum(var) FROM iv WHERE iv.scale = tot.scale) AS sum_item_var,
               (SELECT count(*) FROM iv WHERE iv.scale = tot.scale) AS k
        FROM tot GROUP BY tot.scale ORDER BY tot.scale
    """


# --------------------------------------------------------------------------------------------
# Python: the statistics
# --------------------------------------------------------------------------------------------
def feldt_ci(alpha: float, n: int, k: int, conf: float = 0.95) -> tuple[float, float]:
    """Feldt's (1965) interval of one α (:func:`analytics.stats.intervals.feldt_interval`)."""
    lo, hi = feldt_interval(alpha, n, k, conf)
    return float(lo), float(hi)


def _register_items(wh: Backend, cfg: GreenConfig) -> None:
    wh.register("green_items", cfg.items_frame())


def scale_reliability(wh: Backend, *, survey: str | None = None, grade: int | None = None,
                      config: GreenConfig | None = None) -> pd.DataFrame:
    """Cronbach's α of each questionnaire scale.

    Returns
    -------
    pandas.DataFrame
        ``scale, name, k`` (items), ``n`` (students answering every item), ``alpha``,
        ``ci_low``, ``ci_high`` (Feldt 1965).
    """
    cfg = config or load_scales()
    sid = resolve_survey(wh, survey, grade)
    _register_items(wh, cfg)
    try:
        g = wh.df(alpha_sql(), {"survey": sid})
    finally:
        wh.unregister("green_items")
    names = {s["code"]: s["name"] for s in cfg.scales}
    rows = []
    for r in g.to_dict("records"):
        k, n = int(r["k"]), int(r["n"])
        a = float(alpha_from_variances(k, float(r["sum_item_var"]), float(r["var_total"]))) \
            if k > 1 and n > 1 else float("nan")
        lo, hi = feldt_ci(a, n, k) if k > 1 and n > 2 else (float("nan"),) * 2
        rows.append({"scale": r["scale"], "name": names.get(r["scale"], r["scale"]), "k": k, "n": n,
                     "alpha": a, "ci_low": lo, "ci_high": hi})
    order = {s["code"]: i for i, s in enumerate(cfg.scales)}
    out = pd.DataFrame(rows, columns=["scale", "name", "k", "n", "alpha", "ci_low", "ci_high"])
    return out.sort_values("scale", key=lambda s: s.map(order)).reset_index(drop=True)


def _rows(frame: pd.DataFrame, keys: list[str], indicator: Any, name: Any, n: Any, value: Any,
          lo: Any, hi: Any, level: Any) -> pd.DataFrame:
    out = frame[keys].copy()
    out["indicator"], out["name"], out["n"] = indicator, name, np.asarray(n, dtype=np.int64)
    out["value"], out["ci_low"], out["ci_high"] = value, lo, hi
    lv = np.broadcast_to(np.asarray(level, float), (len(out),))
    out["index_level"] = pd.array(np.where(np.isnan(lv), np.nan, lv), dtype="Float64").astype(
        "Int64")
    return out


@fill_doc
def green_indicators(
    wh: Backend,
    *,
    exam: str | None = None,
    subject: str | None = None,
    grade: int | None = None,
    level: str = "school",
    survey: str | None = None,
    config: GreenConfig | None = None,
) -> pd.DataFrame:
    """The green indicators of each unit, long format (one row per unit × indicator).

    Parameters
    ----------
    {wh}
    exam, subject : str, optional
        The paper for attainment, equity and SES influence (skipped when not given).
    grade : int, optional
        The grade of the paper and of the questionnaire, when several.
    level : {"district", "zone", "school", "class"}
        Default ``"school"`` (``"district"`` before 0.2.0).
    survey : str, optional
        Questionnaire name (default: the only one, or the only one of ``grade``); questionnaire
        indices are skipped when the warehouse holds no survey.
    config : GreenConfig, optional
        Scale configuration (default: the packaged ``green_scales.toml``).

    Returns
    -------
    pandas.DataFrame
        The level's key columns, ``indicator`` (scale code, ``burden``, ``attainment``,
        ``attainment_A`` … ``attainment_D``, ``equity``, ``ses_influence``, ``ses_slope``,
        ``ses_r2``), ``name`` (Chinese), ``n``, ``value`` (share or index), ``ci_low``,
        ``ci_high``, ``index_level`` (1–9; NaN for descriptive rows).
    """
    cfg = config or load_scales()
    key_list(level)
    keys = list(LEVEL_KEYS[level])
    frames = survey_indices(wh, survey=survey, grade=grade, level=level, config=cfg)
    if exam is not None:
        if subject is None:
            raise InputError("学业指标需要科目 / attainment indices need --subject")
        frames += exam_indices(wh, exam, subject, grade, level, keys, cfg)
    if not frames:
        raise InputError("没有问卷,也没有指定考试 / no survey in the warehouse and no exam given")
    return combine(frames, keys)


def combine(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """The rows of :func:`green_indicators` in its order (by unit, stable)."""
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(keys[::2], kind="stable").reset_index(drop=True)


def survey_indices(wh: Backend, *, survey: str | None, grade: int | None, level: str,
                   config: GreenConfig) -> list[pd.DataFrame]:
    """The questionnaire rows of :func:`green_indicators` (scale indices, burden): the same for
    every paper of a grade, so the summaries compute them once per grade and level. Empty
    when no survey is named and the warehouse holds none."""
    cfg = config
    keys = list(LEVEL_KEYS[level])
    frames: list[pd.DataFrame] = []
    has_survey = bool(wh.scalar("SELECT count(*) FROM surveys"))
    if survey is not None or has_survey:
        sid = resolve_survey(wh, survey, grade)
        _register_items(wh, cfg)
        try:
            g = wh.df(scale_index_sql(level), {
                "survey": sid, "item_share": float(cfg.raw.get("favourable_item_share", 0.6)),
                "min_items": float(cfg.raw.get("min_items_share", 0.5))})
        finally:
            wh.unregister("green_items")
        names = {s["code"]: s["name"] for s in cfg.scales}
        order = {s["code"]: i for i, s in enumerate(cfg.scales)}
        g = g.sort_values([*keys[::2], "indicator"], key=lambda s: s.map(order)
                          if s.name == "indicator" else s)
        share = g["k"] / g["n"]
        lo, hi = wilson(g["k"], g["n"])
        frames.append(_rows(g, keys, g["indicator"], g["indicator"].map(names), g["n"], share,
                            lo, hi, index_level(share)))
        b = cfg.burden
        if b:
            params = {"survey": sid, "q_sleep": b["sleep"], "q_homework": b["homework"],
                      "q_tutoring": b["tutoring"], "sleep_min": float(b["sleep_min"]),
                      "homework_max": float(b["homework_max"]),
                      "tutoring_max": float(b["tutoring_max"]), "need": int(b.get("need", 2))}
            g = wh.df(burden_index_sql(level), params)
            g = g[g["n"] > 0]
            share = g["k"] / g["n"]
            lo, hi = wilson(g["k"], g["n"])
            frames.append(_rows(g, keys, b.get("code", "burden"), b.get("name", "学业负担"),
                                g["n"], share, lo, hi, index_level(share)))
    return frames


def exam_indices(wh: Backend, exam: str, subject: str, grade: int | None, level: str,
                 keys: list[str], cfg: GreenConfig) -> list[pd.DataFrame]:
    """The paper's rows of :func:`green_indicators` (attainment and its bands, SES influence,
    equity at district and zone level); ``keys`` the level's key columns."""
    paper = resolve_paper(wh, exam, subject, grade)
    coef = cfg.coefficients
    frames = []
    a = wh.df(attainment_sql(level), {"paper": paper.paper_id, "pass_line": paper.pass_line,
                                      "band_a": paper.band_a, "band_b": paper.band_b,
                                      "band_c": paper.band_c})
    fail = a["k_fail"] / a["n"]
    flo, fhi = wilson(a["k_fail"], a["n"])
    f = coef["attainment_factor"]
    idx = 1 - f * fail
    frames.append(_rows(a, keys, "attainment", "学业水平", a["n"], idx, 1 - f * fhi, 1 - f * flo,
                        index_level(idx)))
    for band in "ABCD":
        k = a[f"k_{band.lower()}"]
        lo, hi = wilson(k, a["n"])
        frames.append(_rows(a, keys, f"attainment_{band}", f"{band}等级比例", a["n"],
                            k / a["n"], lo, hi, np.nan))
    # SES influence: OLS of z on SES within each unit
    s = wh.df(ses_sql(level), {"paper": paper.paper_id})
    n = s["n"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        sxx = s["sxx"] - s["sx"] ** 2 / n
        sxy = s["sxy"] - s["sx"] * s["sy"] / n
        syy = s["syy"] - s["sy"] ** 2 / n
        slope = sxy / sxx
        r2 = sxy**2 / (sxx * syy)
        se = np.sqrt((syy - slope * sxy) / (n - 2) / sxx)
    from scipy import stats  # on first use (importing it costs 0.7 s)

    t = stats.t.ppf(0.975, np.maximum(n - 2, 1))
    fs = coef["ses_factor"]
    frames.append(_rows(s, keys, "ses_slope", "SES斜率", s["n"], slope, slope - t * se,
                        slope + t * se, np.nan))
    frames.append(_rows(s, keys, "ses_r2", "SES解释率R²", s["n"], r2, np.nan, np.nan, np.nan))
    frames.append(_rows(s, keys, "ses_influence", "社会经济背景影响", s["n"], 1 - fs * r2,
                        np.nan, np.nan, index_level(1 - fs * r2)))
    if level in ("district", "zone"):
        e = wh.df(equity_sql(level), {"paper": paper.paper_id})
        rows = []
        for key, grp in e.groupby(keys, sort=True):
            n_s = len(grp)
            icc = float("nan")
            if n_s >= 2:
                st = CellStats(
                    n=grp["n"].to_numpy(float), group=np.arange(n_s),
                    sx=grp["n"].to_numpy(float)[:, None],
                    sxx=grp["n"].to_numpy(float)[:, None, None],
                    sxy=grp["sy"].to_numpy(float)[:, None], sy=grp["sy"].to_numpy(float),
                    syy=grp["syy"].to_numpy(float))
                fit = reml_fit(st)
                icc = fit.icc
            rows.append((*key, int(grp["n"].sum()), icc))
        eq = pd.DataFrame(rows, columns=[*keys, "n", "icc"])
        fe = coef["equity_factor"]
        frames.append(_rows(eq, keys, "equity", "均衡(校间差异)", eq["n"], 1 - fe * eq["icc"],
                            np.nan, np.nan, index_level(1 - fe * eq["icc"])))
    return frames


def light_burden(sleep: float | None, homework: float | None, tutoring: float | None,
                 need: int = 2, sleep_min: float = 7.0, homework_max: float = 2.0,
                 tutoring_max: float = 4.0) -> bool | None:
    """The light-burden rule for one student (reference implementation for tests and docs):
    True when ≥ ``need`` of sleep ≥ 7, homework < 2, tutoring < 4 hold, False when the
    others make that impossible, None when missing answers leave it open."""
    conds = [None if sleep is None else sleep >= sleep_min,
             None if homework is None else homework < homework_max,
             None if tutoring is None else tutoring < tutoring_max]
    n_true = sum(c is True for c in conds)
    n_false = sum(c is False for c in conds)
    if n_true >= need:
        return True
    if n_false > 3 - need:
        return False
    return None

