"""CLI `eqm va|growth|green|progress` on a seeded warehouse file; cross-year progress."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from analytics.progress import progress_index
from analytics.warehouse import Warehouse
from eqm.cli import cli
from tests.va_fixture import add_survey, build_cohort, random_survey


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        build_cohort(wh, n_schools=6, students_per_school=40, exams=("入口", "期中", "期末"),
                     seed=3)
        add_survey(wh, random_survey(240, seed=2))
    return path


def run(db, *args):
    res = CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


def test_eqm_va_csv_columns(db):
    res = run(db, "va", "--exam", "期末", "--prior-exam", "入口", "--subject", "数学",
              "--format", "csv")
    text = res.stdout[res.stdout.index("zone_id"):]
    frame = pd.read_csv(io.StringIO(text))
    for col in ("school_id", "school_name", "n", "n_missing_prior", "va", "se", "ci_low",
                "ci_high", "category", "category_label"):
        assert col in frame.columns
    assert len(frame) == 6
    assert set(frame["category_label"]) <= {"显著高于预期", "符合预期", "显著低于预期"}


def test_eqm_va_all_methods_class_level_and_pool(db):
    res = run(db, "va", "--exam", "期末", "--prior-exam", "入口", "--subject", "数学",
              "--method", "all", "--format", "csv")
    assert "rankchange" in res.stdout and "residual" in res.stdout
    run(db, "va", "--exam", "期末", "--prior-exam", "入口", "--subject", "数学", "--level",
        "class", "--covariates", "gender,ses")
    res = run(db, "va", "--exam", "期末", "--prior-exam", "入口", "--subject", "数学",
              "--pool", "期中:入口", "--stability", "--format", "json")
    assert '"r"' in res.stdout


def test_eqm_va_bad_input_exits_2(db):
    res = CliRunner().invoke(cli, ["--db", str(db), "va", "--exam", "期末", "--prior-exam",
                                   "没有", "--subject", "数学"])
    assert res.exit_code == 2
    assert "找不到" in res.output


def test_eqm_growth_green_progress(db):
    res = run(db, "growth", "--exam", "期末", "--prior-exam", "入口", "--subject", "数学")
    assert "median_sgp" in res.stdout
    res = run(db, "green", "--exam", "期末", "--subject", "数学", "--level", "district",
              "--format", "csv")
    assert "学习动力" in res.stdout and "equity" in res.stdout
    res = run(db, "green", "--alpha", "--format", "csv")
    assert "alpha" in res.stdout
    res = run(db, "progress", "--exams", "期中,期末", "--subject", "数学")
    assert "change" in res.stdout


def test_progress_index_matches_pandas(db):
    with Warehouse(db, read_only=True) as wh:
        out = progress_index(wh, exams=["入口", "期中", "期末"], subject="数学")
        d = wh.df("SELECT pr.paper_id, s.school_id, pr.total FROM paper_results pr "
                  "JOIN students s USING (student_key) WHERE pr.status = 'present'")
    assert list(out.columns) == ["zone_id", "zone_name", "school_id", "school_name", "exam", "n",
                                 "mean_z", "se", "ci_low", "ci_high", "change", "change_se",
                                 "change_ci_low", "change_ci_high", "category"]
    d["z"] = d.groupby("paper_id")["total"].transform(lambda s: (s - s.mean()) / s.std())
    m = d.groupby(["school_id", "paper_id"])["z"].agg(["mean", "var", "size"]).reset_index()
    m["se"] = np.sqrt(m["var"] / m["size"])
    s1 = m[m["school_id"] == 1].set_index("paper_id")
    row = out[(out["school_id"] == 1) & (out["exam"] == "期末")].iloc[0]
    assert row["mean_z"] == pytest.approx(s1.loc[3, "mean"])
    assert row["change"] == pytest.approx(s1.loc[3, "mean"] - s1.loc[2, "mean"])
    assert row["change_se"] == pytest.approx(np.hypot(s1.loc[3, "se"], s1.loc[2, "se"]))
    first = out[out["exam"] == "入口"]
    assert first["change"].isna().all() and first["category"].isna().all()
