"""Response patterns of a paper for IRT, reduced by SQL.

Each item's observed scores are numbered as categories 0 … K − 1 by their rank (a 解答题 scored
0, 2, 3, 5 has four categories; half points are categories like any other). A present student's
pattern is the list of categories in item order, −1 where the score is NULL (not answered;
``missing='zero'`` scores it 0 first). :func:`patterns_sql` returns each distinct pattern once with
its count (per group when a group column is asked for), :func:`student_patterns_sql` one row per
student (for person scores), :func:`item_categories_sql` the scores behind the categories and
:func:`common_items_sql` the items two papers share in the question archive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.warehouse import Backend

# group → (SQL expression over students s and schools sc, reference value, focal value)
GROUPS: dict[str, tuple[str, str, str]] = {
    "gender": ("s.gender", "M", "F"),
    "hukou": ("s.hukou", "local", "nonlocal"),
    "locality": ("sc.locality", "urban", "rural"),
    "ownership": ("sc.ownership", "public", "private"),
}
MISSING = ("missing", "zero")


def _score(missing: str) -> str:
    if missing not in MISSING:
        raise ValueError(f"missing must be one of {MISSING}")
    return "coalesce(r.score, 0)" if missing == "zero" else "r.score"


def _cats_cte(missing: str) -> str:
    score = _score(missing)
    return f"""cats AS (
            SELECT item_id, score,
                   CAST(dense_rank() OVER (PARTITION BY item_id ORDER BY score) - 1 AS INTEGER)
                       AS cat
            FROM (SELECT DISTINCT r.item_id, {score} AS score FROM responses r
                  JOIN paper_results pr ON pr.paper_id = r.paper_id
                   AND pr.student_key = r.student_key AND pr.status = 'present'
                  WHERE r.paper_id = $paper_id AND {score} IS NOT NULL) d
        )"""


def _cells_ctes(missing: str) -> str:
    score = _score(missing)
    return f"""{_cats_cte(missing)},
        present AS (
            SELECT pr.student_key FROM paper_results pr
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
        ),
        grid AS (
            SELECT p.student_key, i.item_id, i.number
            FROM present p CROSS JOIN items i WHERE i.paper_id = $paper_id
        ),
        cells AS (
            SELECT g.student_key, g.number, coalesce(c.cat, -1) AS cat
            FROM grid g
            LEFT JOIN responses r ON r.paper_id = $paper_id AND r.item_id = g.item_id
                                 AND r.student_key = g.student_key
            LEFT JOIN cats c ON c.item_id = g.item_id AND c.score = {score}
        ),
        pats AS (
            SELECT student_key, list(cat ORDER BY number) AS pattern
            FROM cells GROUP BY student_key
        )"""


def patterns_sql(missing: str = "missing", group: str | None = None) -> str:
    """Distinct patterns with their count ``n`` (and ``grp``: 0 reference, 1 focal, NULL other,
    when ``group`` is one of :data:`GROUPS`). Parameter: ``$paper_id``."""
    if group is None:
        return f"""WITH {_cells_ctes(missing)}
            SELECT pattern, count(*) AS n FROM pats GROUP BY pattern"""
    expr, ref, foc = GROUPS[group]
    return f"""WITH {_cells_ctes(missing)}
        SELECT pattern,
               CASE {expr} WHEN '{ref}' THEN 0 WHEN '{foc}' THEN 1 END AS grp,
               count(*) AS n
        FROM pats p JOIN students s ON s.student_key = p.student_key
        LEFT JOIN schools sc ON sc.school_id = s.school_id
        GROUP BY pattern, grp"""


def student_patterns_sql(missing: str = "missing") -> str:
    """One row per present student: student_key, student_id, school_id, class_id, pattern."""
    return f"""WITH {_cells_ctes(missing)}
        SELECT p.student_key, s.student_id, s.school_id, s.class_id, p.pattern
        FROM pats p JOIN students s ON s.student_key = p.student_key
        ORDER BY p.student_key"""


def item_categories_sql(missing: str = "missing") -> str:
    """Per item: item_id, item_number, item_label, item_type, max_score, the observed scores
    behind categories 0 … K − 1 (``scores``, a list) and K (``n_cat``)."""
    return f"""WITH {_cats_cte(missing)}
        SELECT i.item_id, i.number AS item_number, i.label AS item_label, i.item_type,
               i.max_score, list(c.score ORDER BY c.cat) AS scores,
               CAST(count(c.cat) AS INTEGER) AS n_cat
        FROM items i LEFT JOIN cats c ON c.item_id = i.item_id
        WHERE i.paper_id = $paper_id
        GROUP BY ALL ORDER BY i.number"""


def common_items_sql() -> str:
    """Items of the base paper and the new paper that are the same bank item in the question
    archive (``bank_administrations``): base_item, item (labels). Parameters ``$base``,
    ``$new`` (paper ids)."""
    return """SELECT b.item_label AS base_item, n.item_label AS item
        FROM bank_administrations b JOIN bank_administrations n
          ON n.bank_item_id = b.bank_item_id
        WHERE b.paper_id = $base AND n.paper_id = $new
        ORDER BY b.item_number"""


def pattern_matrix(table: pa.Table, k: int) -> np.ndarray:
    """The ``pattern`` list column of an Arrow table as an int matrix (rows × k)."""
    col = table.column("pattern").combine_chunks()
    flat = col.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=np.int64).reshape(-1, k)


def paper_patterns(wh: Backend, paper_id: int, k: int, missing: str = "missing",
                   group: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(patterns, counts, group codes or None) of a paper."""
    table = wh.arrow(patterns_sql(missing, group), {"paper_id": paper_id})
    x = pattern_matrix(table, k)
    n = table.column("n").to_numpy().astype(np.float64)
    grp = None
    if group is not None:
        grp = pd.array(table.column("grp").to_pylist(), dtype="Float64").to_numpy(
            dtype=float, na_value=np.nan)
    return x, n, grp
