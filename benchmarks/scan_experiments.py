"""Experiment: do fewer, merged scans of ``responses`` make issue 3's reports faster?

Times, on one warehouse and one paper, the per-paper SQL passes the reports use today against
two merged alternatives (written here, not in the package, because they lost):

* ``unit pass`` — per unit × item sums at every level, and ``wrong-answer pass`` — wrong
  answers per class × objective item, rolled up: two scans in the release these experiments
  started from (ad761c3; their SQL is kept below as it was). They have since been replaced by
  the staged passes of `analytics.reduce.item_passes` (class × item × answer sums, Kelley groups by
  answer), also timed here (``staged passes``).
* ``fold`` — one scan grouped by school × class × item × wrong answer (the answer when it is a
  wrong answer to an objective item, else NULL), the sums and the wrong-answer counts both
  rolled up from it.
* ``cube`` — one scan grouped by school × class × item × answer × score (the raw answer, no
  per-row test), the sums and the wrong answers (tested on the small cube) rolled up from it.
* ``materialised cube`` — the same cube with the per-school Kelley group counts, built once as
  a temporary table, then three queries on it: the unit sums, the wrong answers and the fine
  sums of the school item statistics; against today's three scans (unit pass, wrong-answer
  pass, school item sums).

Also the other scans of the reports (item sums per district with the sorted cross product,
per school, and the per student × knowledge point pass), for scale. Each statement runs
``--repeat`` times on a fresh read-only connection (best time kept); results are fetched into
pandas as the analyses do.

    python benchmarks/scan_experiments.py --db data/bench/warehouse_1000000.duckdb \\
        --exam 基准监测(40题) --subject 数学 --grade 9
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.domain.items import OBJECTIVE_SQL  # noqa: E402
from analytics.hotspots import (  # noqa: E402
    knowledge_sums_wide_sql,
    n_knowledge_points_sql,
)
from analytics.lookup import resolve_paper  # noqa: E402
from analytics.reduce.item_passes import (  # noqa: E402
    PASS_SUMS,
    ROLLUP_LEVELS,
    class_answer_pass_sql,
    kelley_pass_sql,
    level_rollup_sql,
)
from analytics.reduce.item_sums import KELLEY_SHARE, item_sums_sql  # noqa: E402
from analytics.warehouse import Warehouse  # noqa: E402


def unit_item_pass_sql() -> str:  # the release before the staged passes (ad761c3)
    """Per unit × item at every level in one scan of the responses (present students): n, Σx,
    Σx², Σp, Σp², Σxp of the item rate x = score / max_score (an omission counts 0) and the
    paper rate p = total / ``$full_score``.

    The responses are aggregated once per school × class × item (classes nest in schools,
    schools in zones; a student without a class keeps their school) and rolled up on that small
    result to the levels: ``level`` is ``class``, ``school``, ``zone``, ``district`` (per
    district id) or ``all`` (every present student of the paper), ``unit_id`` the level's id
    (NULL for ``all``). Parameters: ``$paper_id``, ``$full_score``. Score rates per knowledge
    point (:func:`analytics.paper.category_rates`) and the hotspots' item sums
    (:mod:`analytics.hotspots`) both read this one pass.
    """
    roll = ", ".join(f"sum({c}) AS {c}" for c in PASS_SUMS)
    return f"""
        WITH st AS (
            SELECT pr.student_key, s.district_id, s.zone_id, s.school_id, s.class_id,
                   pr.total / $full_score AS p
            FROM paper_results pr JOIN student_tree s ON s.student_key = pr.student_key
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
        ),
        fine AS (
            SELECT school_id, class_id, any_value(zone_id) AS zone_id,
                   any_value(district_id) AS district_id, item_id,
                   count(*) AS n, sum(x) AS sum_x, sum(x * x) AS sum_xx, sum(p) AS sum_p,
                   sum(p * p) AS sum_pp, sum(x * p) AS sum_xp
            FROM (
                SELECT st.school_id, st.class_id, st.zone_id, st.district_id, st.p, r.item_id,
                       coalesce(r.score, 0.0) / i.max_score AS x
                FROM responses r
                JOIN st ON st.student_key = r.student_key
                JOIN items i ON i.item_id = r.item_id
                WHERE r.paper_id = $paper_id
            ) AS rx
            GROUP BY school_id, class_id, item_id
        )
{level_rollup_sql("fine", roll)}
    """


def wrong_options_pass_sql() -> str:  # the release before the staged passes (ad761c3)
    """Per unit × objective item × wrong answer (an answer given that differs from the key), how
    many present students chose it (``n_chose``), for every level in one scan: counted per
    school × class × item × answer, rolled up to ``level`` class, school, zone and ``all`` (the
    whole paper; ``unit_id`` NULL)."""
    return f"""
        WITH st AS (
            SELECT pr.student_key, t.zone_id, t.school_id, t.class_id
            FROM paper_results pr JOIN student_tree t ON t.student_key = pr.student_key
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
        ),
        fine AS (
            SELECT st.school_id, st.class_id, any_value(st.zone_id) AS zone_id, r.item_id,
                   r.answer, count(*) AS n_chose
            FROM responses r
            JOIN st ON st.student_key = r.student_key
            JOIN items i ON i.item_id = r.item_id
            WHERE r.paper_id = $paper_id
              AND i.item_type IN {OBJECTIVE}
              AND r.answer IS NOT NULL AND r.answer <> ''
              AND r.answer IS DISTINCT FROM i.answer_key
            GROUP BY st.school_id, st.class_id, r.item_id, r.answer
        )
{level_rollup_sql("fine", "sum(n_chose) AS n_chose", ", answer", NO_DISTRICT)}
    """


NO_DISTRICT = tuple(lv for lv in ROLLUP_LEVELS if lv[0] != "district")
OBJECTIVE = OBJECTIVE_SQL
SUMS = ", ".join(f"sum({c}) AS {c}" for c in PASS_SUMS)
STUDENTS = """
    st AS (
        SELECT pr.student_key, s.district_id, s.zone_id, s.school_id, s.class_id,
               pr.total / $full_score AS p
        FROM paper_results pr JOIN student_tree s ON s.student_key = pr.student_key
        WHERE pr.paper_id = $paper_id AND pr.status = 'present'
    )"""


def _both_outputs() -> str:
    """The final SELECT of both merged variants: the sums of ``cells`` and the wrong-answer
    counts of ``wrong_cells``, rolled up to every level."""
    return f"""
    SELECT 'sums' AS kind, level, unit_id, item_id, NULL AS answer, n, sum_x, sum_xx, sum_p,
           sum_pp, sum_xp
    FROM ({level_rollup_sql("cells", SUMS)})
    UNION ALL
    SELECT 'wrong', level, unit_id, item_id, wrong, n, NULL, NULL, NULL, NULL, NULL
    FROM ({level_rollup_sql("wrong_cells", "sum(n) AS n", ", wrong")})
    """


def fold_sql() -> str:
    """Sums and wrong-answer counts from one scan keyed by the wrong answer."""
    return f"""
    WITH {STUDENTS},
    fine AS (
        SELECT school_id, class_id, any_value(zone_id) AS zone_id,
               any_value(district_id) AS district_id, item_id, wrong,
               count(*) AS n, sum(x) AS sum_x, sum(x * x) AS sum_xx, sum(p) AS sum_p,
               sum(p * p) AS sum_pp, sum(x * p) AS sum_xp
        FROM (
            SELECT st.*, r.item_id, coalesce(r.score, 0.0) / i.max_score AS x,
                   CASE WHEN i.item_type IN {OBJECTIVE} AND r.answer <> ''
                             AND r.answer IS DISTINCT FROM i.answer_key THEN r.answer END AS wrong
            FROM responses r JOIN st ON st.student_key = r.student_key
            JOIN items i ON i.item_id = r.item_id
            WHERE r.paper_id = $paper_id
        ) AS rx
        GROUP BY school_id, class_id, item_id, wrong
    ),
    cells AS (
        SELECT school_id, class_id, any_value(zone_id) AS zone_id,
               any_value(district_id) AS district_id, item_id, {SUMS}
        FROM fine GROUP BY school_id, class_id, item_id
    ),
    wrong_cells AS (SELECT * FROM fine WHERE wrong IS NOT NULL)
    {_both_outputs()}"""


def cube_sql() -> str:
    """Sums and wrong-answer counts from one scan keyed by the raw answer and score."""
    return f"""
    WITH {STUDENTS},
    cube AS (
        SELECT st.school_id, st.class_id, any_value(st.zone_id) AS zone_id,
               any_value(st.district_id) AS district_id, r.item_id, r.answer,
               coalesce(r.score, 0.0) AS score, count(*) AS n, sum(st.p) AS sp,
               sum(st.p * st.p) AS spp
        FROM responses r JOIN st ON st.student_key = r.student_key
        WHERE r.paper_id = $paper_id
        GROUP BY st.school_id, st.class_id, r.item_id, r.answer, score
    ),
    cells AS (
        SELECT c.school_id, c.class_id, any_value(c.zone_id) AS zone_id,
               any_value(c.district_id) AS district_id, c.item_id, sum(c.n) AS n,
               sum(c.score * c.n) / any_value(i.max_score) AS sum_x,
               sum(c.score * c.score * c.n) / any_value(i.max_score * i.max_score) AS sum_xx,
               sum(c.sp) AS sum_p, sum(c.spp) AS sum_pp,
               sum(c.score * c.sp) / any_value(i.max_score) AS sum_xp
        FROM cube c JOIN items i ON i.item_id = c.item_id
        GROUP BY c.school_id, c.class_id, c.item_id
    ),
    wrong_cells AS (
        SELECT c.school_id, c.class_id, c.zone_id, c.district_id, c.item_id,
               c.answer AS wrong, c.n
        FROM cube c JOIN items i ON i.item_id = c.item_id
        WHERE i.item_type IN {OBJECTIVE} AND c.answer <> ''
          AND c.answer IS DISTINCT FROM i.answer_key
    )
    {_both_outputs()}"""


CUBE_TABLE_SQL = f"""
    CREATE TEMP TABLE cube AS
    WITH st AS (
        SELECT pr.student_key, pr.total AS t, s.district_id, s.zone_id, s.school_id, s.class_id,
               count(*) OVER (PARTITION BY coalesce(s.school_id, -1)) AS n_unit,
               row_number() OVER (PARTITION BY coalesce(s.school_id, -1)
                                  ORDER BY pr.total DESC, pr.student_key) AS rk
        FROM paper_results pr JOIN student_tree s ON s.student_key = pr.student_key
        WHERE pr.paper_id = $paper_id AND pr.status = 'present'
    ),
    g AS (SELECT *, CAST(floor({KELLEY_SHARE} * n_unit + 0.5) AS BIGINT) AS n_group FROM st)
    SELECT g.school_id, g.class_id, any_value(g.zone_id) AS zone_id,
           any_value(g.district_id) AS district_id, r.item_id, r.answer,
           r.score IS NULL AS omitted, coalesce(r.score, 0.0) AS x, count(*) AS n,
           sum(g.t) AS st, sum(g.t * g.t) AS stt,
           count(*) FILTER (WHERE g.rk <= g.n_group) AS n_up,
           count(*) FILTER (WHERE g.rk > g.n_unit - g.n_group) AS n_lo
    FROM responses r JOIN g ON g.student_key = r.student_key
    WHERE r.paper_id = $paper_id
    GROUP BY ALL
"""
CUBE_QUERIES = (
    f"""
    WITH cells AS (
        SELECT c.school_id, c.class_id, any_value(c.zone_id) AS zone_id,
               any_value(c.district_id) AS district_id, c.item_id, sum(c.n) AS n,
               sum(c.x * c.n) / any_value(i.max_score) AS sum_x,
               sum(c.x * c.x * c.n) / any_value(i.max_score * i.max_score) AS sum_xx,
               sum(c.st) / $full_score AS sum_p,
               sum(c.stt) / ($full_score * $full_score) AS sum_pp,
               sum(c.x * c.st) / any_value(i.max_score * $full_score) AS sum_xp
        FROM cube c JOIN items i ON i.item_id = c.item_id
        GROUP BY c.school_id, c.class_id, c.item_id
    )
    {level_rollup_sql("cells", SUMS)}""",
    f"""
    WITH w AS (
        SELECT c.school_id, c.class_id, c.zone_id, c.district_id, c.item_id, c.answer, c.n
        FROM cube c JOIN items i ON i.item_id = c.item_id
        WHERE i.item_type IN {OBJECTIVE} AND c.answer <> ''
          AND c.answer IS DISTINCT FROM i.answer_key
    )
    {level_rollup_sql("w", "sum(n) AS n_chose", ", answer")}""",
    """
    SELECT coalesce(school_id, -1) AS uid, item_id, answer, x, sum(n) AS n,
           sum(n) FILTER (WHERE omitted) AS n_omitted, sum(st) AS st, sum(stt) AS stt,
           sum(x * st) AS sxt, sum(n_up) AS n_up, sum(n_lo) AS n_lo
    FROM cube GROUP BY ALL""",
)


def materialised_cube(db: Path, params: dict[str, Any], repeat: int) -> float:
    """Build the cube as a temporary table, then run the three queries on it (best total)."""
    times = []
    for _ in range(repeat):
        with Warehouse(db, read_only=True) as wh:
            wh.execute("SET enable_progress_bar = false")
            t0 = time.perf_counter()
            wh.con.execute(CUBE_TABLE_SQL, {"paper_id": params["paper_id"]})
            wh.con.execute(CUBE_QUERIES[0], {"full_score": params["full_score"]}).df()
            wh.con.execute(CUBE_QUERIES[1]).df()
            wh.con.execute(CUBE_QUERIES[2]).df()
            times.append(time.perf_counter() - t0)
    return min(times)


def best_of(db: Path, sql: str, params: dict[str, Any], repeat: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(repeat):
        with Warehouse(db, read_only=True) as wh:
            wh.execute("SET enable_progress_bar = false")
            t0 = time.perf_counter()
            rows = len(wh.df(sql, params))
            times.append(time.perf_counter() - t0)
    return min(times), rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--exam", required=True)
    ap.add_argument("--subject", required=True)
    ap.add_argument("--grade", type=int)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args(argv)
    with Warehouse(a.db, read_only=True) as wh:
        paper = resolve_paper(wh, a.exam, a.subject, a.grade)
        n_kp = int(wh.scalar(n_knowledge_points_sql(), {"paper_id": paper.paper_id}))
        n = int(wh.scalar("SELECT count(*) FROM responses WHERE paper_id = $p",
                          {"p": paper.paper_id}))
    sp = {"paper_id": paper.paper_id, "full_score": paper.full_score}
    kelley = {"paper_id": paper.paper_id, "school_id": None, "share": KELLEY_SHARE}
    runs: dict[str, tuple[str, dict[str, Any]]] = {
        "unit pass (today)": (unit_item_pass_sql(), sp),
        "wrong-answer pass (today)": (wrong_options_pass_sql(), {"paper_id": paper.paper_id}),
        "fold: both from one scan": (fold_sql(), sp),
        "cube: both from one scan": (cube_sql(), sp),
        "item sums, district, sorted cross product (today)": (item_sums_sql("district"),
                                                              kelley),
        "item sums, school (today)": (item_sums_sql("school", False), kelley),
        "knowledge points per student (today)": (knowledge_sums_wide_sql(n_kp), sp),
        "staged pass: class × item × answer sums (now)": (class_answer_pass_sql(),
                                                          {"paper_id": paper.paper_id}),
        "staged pass: Kelley groups by answer (now)": (kelley_pass_sql(), {
            "paper_id": paper.paper_id, "share": KELLEY_SHARE}),
    }
    out: dict[str, Any] = {"responses": n, "repeat": a.repeat, "seconds": {}}
    for name, (sql, params) in runs.items():
        secs, rows = best_of(a.db, sql, params, a.repeat)
        out["seconds"][name] = round(secs, 2)
        print(f"{secs:6.2f} s  {rows:>9,} rows  {name}", flush=True)
    secs = out["seconds"]
    today = secs["unit pass (today)"] + secs["wrong-answer pass (today)"]
    print(f"two scans today: {today:.2f} s; fold {secs['fold: both from one scan']:.2f}"
          f" s; cube {secs['cube: both from one scan']:.2f} s")
    secs["materialised cube + 3 queries"] = round(materialised_cube(a.db, sp, a.repeat), 2)
    three = today + secs["item sums, school (today)"]
    print(f"three scans today (+ school item sums): {three:.2f} s; materialised cube and its "
          f"three queries: {secs['materialised cube + 3 queries']:.2f} s")
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
