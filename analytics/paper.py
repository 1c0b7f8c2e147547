"""Paper quality report (试卷质量分析): reliability, difficulty and discrimination distributions,
the specification table (双向细目表) planned vs achieved, and score rates per knowledge point and
cognitive level at every level.

Bands (defined once, in :mod:`analytics.domain.bands`, applied by :mod:`analytics.stats.items`;
Ebel, R. L. & Frisbie, D. A. (1991), *Essentials of Educational Measurement*, 5th ed.):

* difficulty P: very_easy > .90, easy .70–.90, medium .40–.70, hard .20–.40, very_hard < .20
  (the boundary values belong to the easier band: P = .70 is easy, P = .40 medium);
* discrimination D (Ebel & Frisbie 1991): very_good ≥ .40, good .30–.40, acceptable .20–.30,
  poor < .20.

Score rate of a set of items S (a knowledge point, a cognitive level, an item type) in a unit:
Σ_{i∈S} mean(xᵢ) / Σ_{i∈S} mᵢ — the achieved share of the planned points, omissions scoring 0.
An item tagged with several knowledge points counts fully under each of them, so the planned
points of the knowledge-point rows can add up to more than the full score.
"""

from __future__ import annotations

import pandas as pd

from analytics.compat import renamed
from analytics.domain.levels import LEVEL_KEYS, LEVELS, check_level
from analytics.domain.params import fill_doc
from analytics.errors import InputError
from analytics.items import items_sql
from analytics.lookup import resolve_paper, school_id_of
from analytics.reduce.item_passes import cls_stage, unit_item_pass
from analytics.reduce.item_sums import item_sums
from analytics.stats.items import (
    DIFFICULTY_BANDS,
    DISCRIMINATION_BANDS,
    compute_item_stats,
    difficulty_band,
    discrimination_band,
)
from analytics.stats.reliability import alpha_from_sums
from analytics.warehouse import Backend, shared_df

CATEGORIES = ("knowledge_point", "cognitive_level", "item_type")


@fill_doc
def paper_quality(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    school: str | int | None = None,
) -> pd.DataFrame:
    """The paper's quality summary per unit (试卷质量分析).

    Parameters
    ----------
    {unit_items}

    Returns
    -------
    pandas.DataFrame
        One row per unit: level keys, ``n``, ``k``, ``full_score``, ``mean``, ``sd``,
        ``score_rate`` (mean ÷ full score, the paper's difficulty), ``alpha``, ``sem``,
        ``ci_low``, ``ci_high`` (Feldt interval of α), ``mean_difficulty`` (mean item P),
        ``mean_discrimination`` (mean item D), then the number of items per difficulty band
        ``items_very_easy`` … ``items_very_hard`` and per Ebel band ``items_d_very_good`` …
        ``items_d_poor``.

    Notes
    -----
    α, SEM: :mod:`analytics.reliability`; P and D: :mod:`analytics.items`; bands in the module
    docstring. ``score_rate`` uses the paper's full score.
    """
    paper = resolve_paper(wh, exam, subject, grade)
    keys = list(LEVEL_KEYS[check_level(level)])
    sid = school_id_of(wh, school)
    meta = shared_df(wh, items_sql(), {"paper_id": paper.paper_id})
    if meta.empty:
        raise InputError(
            f"试卷「{paper.exam} {paper.subject}」没有小题数据 / paper has no items"
        )
    sums = item_sums(wh, paper_id=paper.paper_id, level=level, school_id=sid, sorted_cov=False)
    rel = alpha_from_sums(sums)
    st = compute_item_stats(sums, meta)
    st["p_band"] = difficulty_band(st["difficulty"])
    st["d_band"] = discrimination_band(st["discrimination"])
    pb = pd.crosstab(st["uid"], st["p_band"]).reindex(columns=list(DIFFICULTY_BANDS),
                                                      fill_value=0)
    pb.columns = [f"items_{c}" for c in pb.columns]
    db = pd.crosstab(st["uid"], st["d_band"]).reindex(columns=list(DISCRIMINATION_BANDS),
                                                      fill_value=0)
    db.columns = [f"items_d_{c}" for c in db.columns]
    means = st.groupby("uid").agg(mean_difficulty=("difficulty", "mean"),
                                  mean_discrimination=("discrimination", "mean"))
    out = rel.set_index("uid").join(means).join(pb).join(db)
    out[list(pb.columns) + list(db.columns)] = (
        out[list(pb.columns) + list(db.columns)].fillna(0).astype("int64"))
    out["full_score"] = paper.full_score
    out["score_rate"] = out["mean"] / paper.full_score
    cols = [*keys, "n", "k", "full_score", "mean", "sd", "score_rate", "alpha", "sem",
            "ci_low", "ci_high", "mean_difficulty", "mean_discrimination",
            *pb.columns, *db.columns]
    return out.reset_index(drop=True)[cols]


def _check_category(grain: str) -> None:
    if grain not in CATEGORIES:
        raise InputError(f"未知的分类「{grain}」,可选 {', '.join(CATEGORIES)} / unknown category "
                         f"{grain!r}; choose one of {', '.join(CATEGORIES)}")


def item_categories_sql(grain: str) -> str:
    """item_id, max_score, category (one row per item × knowledge point for knowledge points;
    ``grain`` a checked category name)."""
    _check_category(grain)
    if grain == "knowledge_point":
        return """
            SELECT i.item_id, i.max_score, k.knowledge_point AS category
            FROM items i LEFT JOIN item_knowledge k USING (item_id)
            WHERE i.paper_id = $paper_id
        """
    return f"SELECT item_id, max_score, {grain} AS category FROM items WHERE paper_id = $paper_id"


def _item_categories(wh: Backend, paper_id: int, grain: str) -> pd.DataFrame:
    """item_id → category value (one row per item × knowledge point for knowledge points)."""
    return wh.df(item_categories_sql(grain), {"paper_id": paper_id})


def _level_rollups(levels: tuple[str, ...], source: str) -> str:
    """``level, unit_id, item_id, n, sx`` per unit × item of each level (trusted names),
    summed from ``source`` (a CTE with the level id columns, item_id, n, sx)."""
    return "\n        UNION ALL ".join(
        f"SELECT '{lv}' AS level, {LEVEL_KEYS[check_level(lv)][-2]} AS unit_id, item_id, "
        f"sum(n) AS n, sum(sx) AS sx FROM {source} "
        f"GROUP BY {LEVEL_KEYS[lv][-2]}, item_id" for lv in levels)


def category_sums_sql(cls: str, grain: str, levels: tuple[str, ...]) -> str:
    """Per level × unit × category (``levels`` trusted level names) for the whole population,
    from the staged class × item sums ``cls`` (a trusted name;
    :func:`analytics.reduce.item_passes.class_item_sql`): ``n`` (the largest item n, i.e. the
    unit's present students), ``k`` (items: ``u`` has one row per unit × item and ``cats`` one
    per item × category, so rows count items), ``planned_score`` (Σ full marks) and
    ``mean_score`` (Σ item means, an omission 0). Parameter: ``$paper_id``."""
    union = _level_rollups(levels, "f")
    return f"""
        WITH f AS (
            SELECT c.class_id, c.school_id, sc.zone_id, z.district_id, c.item_id, c.n,
                   coalesce(c.sx, 0.0) AS sx
            FROM {cls} c LEFT JOIN schools sc ON sc.school_id = c.school_id
            LEFT JOIN zones z ON z.zone_id = sc.zone_id
        ),
        u AS (
            {union}
        ),
        cats AS ({item_categories_sql(grain)})
        SELECT u.level, u.unit_id, c.category, CAST(max(u.n) AS BIGINT) AS n,
               count(*) AS k, sum(c.max_score) AS planned_score,
               sum(u.sx / u.n) AS mean_score
        FROM u JOIN cats c ON c.item_id = u.item_id
        GROUP BY u.level, u.unit_id, c.category
    """


def unit_item_sums_sql(levels: tuple[str, ...]) -> str:
    """Σ score and n per unit × item for several levels in one pass.

    The responses are aggregated once per class × item (classes nest in schools, schools in
    zones, zones in the district) and the levels are rolled up from that small result.
    ``levels`` are trusted identifiers. The result has ``level``, ``unit_id``, ``item_id``,
    ``n``, ``sx`` (omissions count 0).
    """
    union = _level_rollups(levels, "fine")
    return f"""
        WITH stu AS (
            SELECT pr.student_key, s.district_id, s.zone_id, s.school_id, s.class_id
            FROM paper_results pr JOIN student_tree s USING (student_key)
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
              AND ($school_id IS NULL OR s.school_id = $school_id)
        ),
        fine AS (
            SELECT stu.school_id, stu.class_id, any_value(stu.zone_id) AS zone_id,
                   any_value(stu.district_id) AS district_id, r.item_id,
                   count(*) AS n, sum(coalesce(r.score, 0.0)) AS sx
            FROM responses r JOIN stu ON stu.student_key = r.student_key
            WHERE r.paper_id = $paper_id
            GROUP BY stu.school_id, stu.class_id, r.item_id
        )
        {union}
    """


def _unit_item_sums(wh: Backend, paper_id: int, full_score: float,
                    levels: tuple[str, ...], school_id: int | None) -> pd.DataFrame:
    """``level, unit_id, item_id, n, sx`` as :func:`unit_item_sums_sql` gives them; for the
    whole population from the per-paper pass that the hotspots share
    (:func:`analytics.reduce.item_passes.unit_item_pass`, Σ score = m · Σ score / m)."""
    if school_id is not None:
        return wh.df(unit_item_sums_sql(levels), {"paper_id": paper_id, "school_id": school_id})
    f = unit_item_pass(wh, paper_id, full_score)
    f = f[f["level"].isin(levels)]
    m = f[["item_id"]].merge(shared_df(wh, items_sql(), {"paper_id": paper_id})
                             [["item_id", "max_score"]], on="item_id", how="left")
    return pd.DataFrame({"level": f["level"].to_numpy(), "unit_id": f["unit_id"].to_numpy(),
                         "item_id": f["item_id"].to_numpy(), "n": f["n"].to_numpy(),
                         "sx": f["sum_x"].to_numpy(float) * m["max_score"].to_numpy(float)})


def unit_names_sql() -> str:
    """Every unit's name: ``level``, ``unit_id``, ``unit_name``."""
    return """
        SELECT 'district' AS level, district_id AS unit_id, name AS unit_name FROM districts
        UNION ALL SELECT 'zone', zone_id, name FROM zones
        UNION ALL SELECT 'school', school_id, name FROM schools
        UNION ALL SELECT 'class', class_id, name FROM classes
    """


@renamed(by="grain")
@fill_doc
def category_rates(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    grain: str = "knowledge_point",
    levels: tuple[str, ...] = LEVELS,
    school: str | int | None = None,
) -> pd.DataFrame:
    """Score rates per knowledge point (or cognitive level, or item type) at every level.

    One SQL pass (``GROUPING SETS``) gives Σ scores and n per unit × item for all ``levels``;
    rates are combined here.

    Parameters
    ----------
    {paper}
    grain : {'knowledge_point', 'cognitive_level', 'item_type'}
        What the rows are about (``by`` before 0.2.0).
    levels : tuple of level names
        Which levels to report (default all four).
    school : str or int, optional
        Restrict to one school (then the reference rate is the school's own, not the district's).

    Returns
    -------
    pandas.DataFrame
        One row per level × unit × category: ``level``, ``unit_id``, ``unit_name``, ``grain``
        (the category name; ``by`` before 0.2.0), ``category``, ``n`` (present students of the
        unit), ``k`` (items), ``planned_score`` (Σ full marks), ``mean_score`` (Σ item means),
        ``score_rate`` (mean_score ÷ planned_score), ``reference_rate`` (the same category at
        the top level requested: the district, or the school when ``school`` is given),
        ``rate_diff`` (score_rate − reference_rate).
    """
    paper = resolve_paper(wh, exam, subject, grade)
    levels = tuple(check_level(lv) for lv in levels)
    sid = school_id_of(wh, school)
    use = tuple(dict.fromkeys(("district", *levels)))
    _check_category(grain)
    if sid is None:
        cls = cls_stage(wh, paper.paper_id)
        out = wh.df(category_sums_sql(cls, grain, use), {"paper_id": paper.paper_id})
    else:
        sums = _unit_item_sums(wh, paper.paper_id, paper.full_score, use, sid)
        m = sums.merge(_item_categories(wh, paper.paper_id, grain), on="item_id")
        m["mean_x"] = m["sx"] / m["n"]
        g = m.groupby(["level", "unit_id", "category"], dropna=False)
        out = g.agg(n=("n", "max"), k=("item_id", "nunique"),
                    planned_score=("max_score", "sum"), mean_score=("mean_x", "sum")
                    ).reset_index()
    out["score_rate"] = out["mean_score"] / out["planned_score"]
    # the top row is the district, or the school's own students when ``school`` is given
    ref = (out.loc[out["level"] == "district", ["category", "score_rate"]]
           .rename(columns={"score_rate": "reference_rate"}))
    out = out.merge(ref, on="category", how="left")  # NaN categories match each other
    out["rate_diff"] = out["score_rate"] - out["reference_rate"]
    names = shared_df(wh, unit_names_sql())
    out = out.merge(names, on=["level", "unit_id"], how="left")
    out = out[out["level"].isin(levels)]
    out["grain"] = grain
    # levels in LEVELS order (district first): their codes in that categorical order
    out = (out.assign(_level=pd.Categorical(out["level"], categories=list(LEVELS)).codes)
           .sort_values(["_level", "unit_id", "category"]).drop(columns="_level"))
    return out[["level", "unit_id", "unit_name", "grain", "category", "n", "k", "planned_score",
                "mean_score", "score_rate", "reference_rate", "rate_diff"]].reset_index(drop=True)


@fill_doc
def specification_table(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
) -> pd.DataFrame:
    """The specification table (双向细目表) knowledge point × cognitive level, planned and
    achieved, for the whole population.

    Parameters
    ----------
    {paper}

    Returns
    -------
    pandas.DataFrame
        One row per knowledge point × cognitive level present on the paper:
        ``knowledge_point``, ``cognitive_level``, ``n`` (present students), ``k`` (items),
        ``items`` (labels, comma-separated), ``planned_score`` (Σ full marks),
        ``planned_share`` (÷ the paper's full score), ``achieved_score`` (Σ item means),
        ``score_rate`` (achieved ÷ planned).
    """
    paper = resolve_paper(wh, exam, subject, grade)
    sums = _unit_item_sums(wh, paper.paper_id, paper.full_score, ("district",), None)
    per_item = sums.groupby("item_id").agg(n=("n", "sum"), sx=("sx", "sum")).reset_index()
    meta = wh.df("""
        SELECT i.item_id, i.number, i.label, i.max_score, i.cognitive_level, k.knowledge_point
        FROM items i LEFT JOIN item_knowledge k USING (item_id)
        WHERE i.paper_id = $paper_id ORDER BY i.number
    """, {"paper_id": paper.paper_id})
    m = meta.merge(per_item, on="item_id", how="left")
    m["mean_x"] = m["sx"] / m["n"]
    g = m.groupby(["knowledge_point", "cognitive_level"], dropna=False, sort=True)
    out = g.agg(n=("n", "max"), k=("item_id", "nunique"),
                items=("label", lambda s: ",".join(map(str, s))),
                planned_score=("max_score", "sum"), achieved_score=("mean_x", "sum")
                ).reset_index()
    out["planned_share"] = out["planned_score"] / paper.full_score
    out["score_rate"] = out["achieved_score"] / out["planned_score"]
    return out[["knowledge_point", "cognitive_level", "n", "k", "items", "planned_score",
                "planned_share", "achieved_score", "score_rate"]]
