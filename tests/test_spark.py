"""The same analyses on DuckDB and on Spark (over a Parquet export) agree to 1e-9.

Parameter binding and injection safety are tested on the SQL text alone (no Spark needed) and
again by round trips through Spark. One SparkSession (local[2], 2 shuffle partitions, no UI) is
shared by the whole module because Spark takes seconds to start.

Without pyspark or Java the Spark tests skip, unless ``EQM_REQUIRE_SPARK=1`` (set by CI), in
which case they fail.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if os.environ.get("EQM_REQUIRE_SPARK") != "1":
    pytest.importorskip("sqlglot", reason="sqlglot is not installed (pip install -e '.[spark]')")
import sqlglot
from sqlglot import exp

from analytics.backends.spark import (
    SparkWarehouse,
    bind_params,
    to_spark_sql,
    view_definitions,
)
from analytics.export import export_parquet
from analytics.warehouse import Warehouse
from tests.builders import build_exam
from tests.spark_env import local_spark, require_spark, spark_warehouse

EVIL = "x'; DROP TABLE students; --"
TOL = 1e-9
ITEMS = (
    {"label": "1", "item_type": "single", "max_score": 3, "key": "A",
     "knowledge_points": ["有理数"], "cognitive_level": "了解", "difficulty": -1.0},
    {"label": "2", "item_type": "single", "max_score": 3, "key": "B",
     "knowledge_points": ["方程"], "cognitive_level": "理解", "difficulty": 0.2,
     "distractor_weights": {"A": 1, "C": 3, "D": 1}},
    {"label": "3", "item_type": "multiple", "max_score": 4, "key": "AC", "partial_score": 2,
     "knowledge_points": ["函数"], "cognitive_level": "理解", "difficulty": 0.4},
    {"label": "4", "item_type": "true_false", "max_score": 2, "key": "T",
     "knowledge_points": ["方程"], "cognitive_level": "了解", "difficulty": -0.6},
    {"label": "5", "item_type": "fill", "max_score": 4, "knowledge_points": ["函数"],
     "cognitive_level": "掌握", "difficulty": 0.1},
    {"label": "6", "item_type": "constructed", "max_score": 10,
     "knowledge_points": ["函数", "方程"], "cognitive_level": "运用", "difficulty": 0.6},
)


# -- parameters as literals: the SQL text alone -------------------------------------------------


def _where_literal(spark_sql: str) -> exp.Expression:
    """The right-hand side of the only comparison in the WHERE clause, read back as Spark SQL."""
    trees = sqlglot.parse(spark_sql, read="spark")
    assert len(trees) == 1, spark_sql
    where = trees[0].find(exp.Where)
    assert where is not None
    eq = where.find(exp.EQ)
    assert eq is not None
    return eq.expression


def test_string_parameter_stays_one_literal():
    sql = to_spark_sql("SELECT student_id FROM students WHERE name = $n", {"n": EVIL})
    lit = _where_literal(sql)
    assert isinstance(lit, exp.Literal) and lit.is_string and lit.this == EVIL
    assert "DROP" not in sql.split("'")[0]          # the keyword sits inside the quotes only


@pytest.mark.parametrize("value", [
    EVIL, "a\\'b", "\\", "trailing \\", "'", "''", "--", "/* c */", "$n", "\n;\t", "学生'张三",
    "\\u0041", "%_",
])
def test_awkward_strings_survive_the_generated_spark_sql(value):
    lit = _where_literal(to_spark_sql("SELECT 1 FROM t WHERE a = $v", {"v": value}))
    assert isinstance(lit, exp.Literal) and lit.is_string and lit.this == value


def test_typed_literals():
    sql = to_spark_sql(
        "SELECT $i AS i, $neg AS neg, $f AS f, $b AS b, $none AS z, $d AS d, $ts AS ts, "
        "$dec AS dec, $lst AS lst, $np AS np_i",
        {"i": 7, "neg": -3, "f": 0.1, "b": True, "none": None, "d": dt.date(2026, 6, 20),
         "ts": dt.datetime(2026, 6, 20, 8, 30), "dec": decimal.Decimal("-1.25"),
         "lst": [1, 2], "np": np.int64(5)},
    )
    assert sql == (
        "SELECT 7 AS i, -3 AS neg, CAST('0.1' AS DOUBLE) AS f, TRUE AS b, NULL AS z, "
        "CAST('2026-06-20' AS DATE) AS d, CAST('2026-06-20 08:30:00' AS TIMESTAMP) AS ts, "
        "-1.25 AS dec, ARRAY(1, 2) AS lst, 5 AS np_i"
    )


def test_missing_unused_and_anonymous_parameters_are_errors():
    with pytest.raises(ValueError, match=r"\$a has no value"):
        to_spark_sql("SELECT $a", {})
    with pytest.raises(ValueError, match="not used"):
        to_spark_sql("SELECT $a", {"a": 1, "b": 2})
    with pytest.raises(ValueError, match="anonymous"):
        to_spark_sql("SELECT ?", {})
    with pytest.raises(TypeError):
        to_spark_sql("SELECT $a", {"a": object()})


def test_binding_does_not_touch_the_input_tree():
    tree = sqlglot.parse_one("SELECT * FROM t WHERE a = $a", read="duckdb")
    bound = bind_params(tree, {"a": EVIL})
    assert tree.find(exp.Placeholder) is not None
    assert bound.find(exp.Placeholder) is None


def test_duckdb_constructs_spark_spells_differently():
    assert "SPLIT(answer, '')" in to_spark_sql("SELECT string_split(answer, '') FROM x")
    assert "PERCENTILE(t, 0.5)" in to_spark_sql("SELECT quantile_cont(t, 0.5) FROM x")
    disc = to_spark_sql("SELECT quantile_disc(t, 0.25) FROM x")
    assert "PERCENTILE_DISC(0.25) WITHIN GROUP (ORDER BY t" in disc
    assert "QUALIFY" not in to_spark_sql(
        "SELECT a, rank() OVER (ORDER BY b) AS r FROM x QUALIFY r = 1")


def test_student_tree_is_transpiled_from_the_migration():
    views = view_definitions()
    assert "student_tree" in views
    tables = {t.name for t in views["student_tree"].find_all(exp.Table)}
    assert tables == {"students", "schools", "classes", "zones", "districts"}


# -- Spark -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    require_spark()
    session = local_spark("eqm-tests", cores=2)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def backends(spark, tmp_path_factory) -> Iterator[tuple[Warehouse, SparkWarehouse]]:
    """A seeded district with an entry exam and a final exam of the same cohort, in DuckDB and
    exported to Parquet for Spark."""
    root = tmp_path_factory.mktemp("spark")
    duck = Warehouse(root / "w.duckdb")
    first = build_exam(duck, n_schools=6, students_per_school=40, classes_per_school=2,
                       items=ITEMS, seed=11, exam="入口", exam_date="2025-06-20",
                       gender_gap=0.2)
    theta = first["students"].set_index("student_key")["theta"]
    rng = np.random.default_rng(12)
    school = first["students"].set_index("student_key")["school_id"]
    shift = pd.Series(rng.normal(0, 0.4, school.nunique()), index=sorted(school.unique()))
    later = 0.7 * theta + school.map(shift) + rng.normal(0, 0.7, len(theta))
    build_exam(duck, items=ITEMS, seed=13, exam="期末", theta=later, exam_date="2026-06-20")
    export_parquet(duck, root / "lake")
    try:
        with spark_warehouse(root / "lake", spark) as sw:
            yield duck, sw
    finally:
        duck.close()


def assert_same(a: pd.DataFrame, b: pd.DataFrame, keys: list[str] | None = None,
                tol: float = TOL) -> None:
    """Same columns and rows; numbers equal to ``tol`` (absolute or relative), others exactly."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    assert len(a) > 0
    if keys:
        a = a.sort_values(keys, ignore_index=True)
        b = b.sort_values(keys, ignore_index=True)
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y) \
                and not pd.api.types.is_bool_dtype(x):
            np.testing.assert_allclose(x.to_numpy(float, na_value=np.nan),
                                       y.to_numpy(float, na_value=np.nan),
                                       rtol=tol, atol=tol, equal_nan=True, err_msg=c)
        else:
            norm = [None if (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)))
                    else v for v in x.astype(object)]
            other = [None if (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)))
                     else v for v in y.astype(object)]
            assert norm == other, c


# The class-within-school REML fit (two variance ratios, L-BFGS-B on a finite-difference
# gradient) locates its optimum to about √ε: perturbing the per-class sums by 1e-15 relative
# — less than DuckDB's own run-to-run summation-order noise — moves the class VA by ~8e-9
# (measured on this fixture). Its inputs, the sufficient statistics, are compared to 1e-9 in
# "va sufficient statistics"; the estimates themselves to this looser tolerance.
REML_2D_TOL = 1e-6


def _cases() -> list[tuple[Any, ...]]:
    from analytics import items, reliability, scores
    from analytics.gaps import group_gap
    from analytics.reduce.item_sums import KELLEY_SHARE, item_sums_sql
    from analytics.value_added import (
        va_cell_stats_sql,
        va_students_sql,
        value_added,
        value_added_simple,
    )

    final = {"exam": "期末", "subject": "数学"}
    va = {"exam": "期末", "prior_exam": "入口", "subject": "数学"}

    def va_cells(wh: Any) -> pd.DataFrame:
        # the per-class sufficient statistics behind the REML fit (the heavy SQL of VA)
        src = (f"(SELECT *, y_z AS y, x_z AS x FROM ({va_students_sql()}))")
        paper = {"paper": wh.scalar("SELECT paper_id FROM papers JOIN exams USING (exam_id) "
                                    "WHERE name = $e", {"e": "期末"}),
                 "prior": wh.scalar("SELECT paper_id FROM papers JOIN exams USING (exam_id) "
                                    "WHERE name = $e", {"e": "入口"})}
        return wh.df(va_cell_stats_sql(src, ("gender", "ses"), "class"), paper)

    def raw_item_sums(wh: Any) -> pd.DataFrame:
        # the one-pass reduction behind item_stats / alpha / options, before any pandas step
        paper = wh.scalar("SELECT paper_id FROM papers JOIN exams USING (exam_id) "
                          "WHERE name = $e", {"e": "期末"})
        return wh.df(item_sums_sql("school", True),
                     {"paper_id": paper, "school_id": None, "share": KELLEY_SHARE})

    return [
        ("item sums (raw SQL)", raw_item_sums, ["kind", "uid", "item_id", "letter"]),
        ("score_report school", lambda w: scores.score_report(w, **final), ["school_id"]),
        ("score_report class by gender",
         lambda w: scores.score_report(w, **final, level="class", by="gender"),
         ["class_id", "gender"]),
        ("score_report one school",
         lambda w: scores.score_report(w, **final, school=2), ["school_id"]),
        ("score_bands", lambda w: scores.score_bands(w, **final, level="zone"), ["zone_id"]),
        ("percentiles", lambda w: scores.percentiles(w, **final), ["school_id"]),
        ("grade_bands", lambda w: scores.grade_bands(w, **final, level="class"), ["class_id"]),
        ("standard_scores", lambda w: scores.standard_scores(w, **final), ["student_key"]),
        ("item_stats district", lambda w: items.item_stats(w, **final, level="district"),
         ["item_id"]),
        ("item_stats school", lambda w: items.item_stats(w, **final, level="school"),
         ["school_id", "item_id"]),
        ("option_analysis", lambda w: items.option_analysis(w, **final, level="district"),
         ["item_id", "option"]),
        ("cronbach_alpha school",
         lambda w: reliability.cronbach_alpha(w, **final, level="school"), ["school_id"]),
        ("va sufficient statistics", va_cells, ["school_id", "class_id"]),
        ("value_added school", lambda w: value_added(w, **va, classes=False),
         ["school_id"]),
        ("value_added class",
         lambda w: value_added(w, **va, level="class", covariates=["gender"]),
         ["class_id"], REML_2D_TOL),
        ("value_added residual",
         lambda w: value_added_simple(w, **va, method="residual"), ["school_id"]),
        ("value_added rankchange",
         lambda w: value_added_simple(w, **va, method="rankchange"),
         ["school_id"]),
        ("gender gap", lambda w: group_gap(w, **final), ["school_id"]),
    ]


CASES = _cases()


@pytest.mark.spark
@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_analysis_on_spark_equals_duckdb(backends, name):
    duck, sw = backends
    _, run, keys, *tol = next(c for c in CASES if c[0] == name)
    expected = run(duck)
    got = run(sw)
    assert_same(got, expected, keys, *tol)


@pytest.mark.spark
def test_student_tree_view_matches(backends):
    duck, sw = backends
    sql = "SELECT * FROM student_tree"
    assert_same(sw.df(sql), duck.df(sql), ["student_key"])


@pytest.mark.spark
def test_quantiles_match_duckdb(backends):
    duck, sw = backends
    sql = """
        SELECT school_id, quantile_cont(total, 0.37) AS qc, median(total) AS med,
               quantile_disc(total, 0.25) AS qd, quantile_cont(total, [0.1, 0.9])[2] AS q90
        FROM paper_results JOIN students USING (student_key)
        WHERE status = $s GROUP BY school_id ORDER BY school_id
    """
    assert_same(sw.df(sql, {"s": "present"}), duck.df(sql, {"s": "present"}), ["school_id"])


@pytest.mark.spark
def test_injection_stays_a_literal_on_spark(backends):
    duck, sw = backends
    n = sw.scalar("SELECT count(*) FROM students")
    assert n > 0
    got = sw.df("SELECT $v AS v, count(*) AS n FROM students WHERE name = $v", {"v": EVIL})
    assert got["v"].tolist() == [EVIL] and got["n"].tolist() == [0]
    assert sw.scalar("SELECT count(*) FROM students") == n == duck.scalar(
        "SELECT count(*) FROM students")


@pytest.mark.spark
@settings(max_examples=5, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.text(alphabet=st.characters(exclude_categories=("Cs",),
                                                      exclude_characters="\x00"),
                               max_size=12), min_size=1, max_size=40))
def test_any_string_round_trips_through_spark(backends, values):
    _, sw = backends
    names = [f"v{i}" for i in range(len(values))]
    sql = "SELECT " + ", ".join(f"${n} AS {n}" for n in names)
    row = sw.df(sql, dict(zip(names, values, strict=True))).iloc[0]
    assert [row[n] for n in names] == values


@pytest.mark.spark
def test_float_parameters_stay_double(backends):
    duck, sw = backends
    sql = "SELECT $f AS f, $f * 3 AS g, typeof($f) AS ty"
    got = sw.df(sql.replace(", typeof($f) AS ty", ""), {"f": 0.1})
    exp_ = duck.df(sql.replace(", typeof($f) AS ty", ""), {"f": 0.1})
    assert got["f"].iloc[0] == 0.1 and got["g"].iloc[0] == exp_["g"].iloc[0] == 0.1 * 3


@pytest.mark.spark
def test_spark_warehouse_is_read_only(backends):
    _, sw = backends
    with pytest.raises(PermissionError):
        sw.execute("DELETE FROM students")
    with pytest.raises(PermissionError):
        sw.insert_df("students", pd.DataFrame({"student_key": [1]}))
    assert "student_tree" in sw.tables() and "responses" in sw.tables()
