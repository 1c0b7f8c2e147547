"""`eqm import …`: exit codes 0 (ok / no-op), 2 (bad input), 1 (internal error); messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from analytics.warehouse import Warehouse
from eqm.cli import cli

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
EXAM = "2026春九年级监测"


def run(db: Path, *args: str):
    return CliRunner().invoke(cli, ["--db", str(db), "import", *args], obj={})


def test_cli_imports_samples_and_exit_codes(tmp_path):
    db = tmp_path / "w.duckdb"
    r = run(db, "roster", str(SAMPLES / "roster.csv"), "--district", "示例区")
    assert r.exit_code == 0, r.output
    assert "12" in r.output and "roster" in r.output
    r = run(db, "paper", str(SAMPLES / "paper_spec.csv"), "--exam", EXAM, "--subject", "数学",
            "--grade", "9", "--excellent", "34", "--date", "2026-04-20")
    assert r.exit_code == 0, r.output
    r = run(db, "scores", str(SAMPLES / "scores.csv"), "--exam", EXAM, "--subject", "数学")
    assert r.exit_code == 0, r.output
    assert "imported the scores" in r.output
    r = run(db, "scores", str(SAMPLES / "scores.csv"), "--exam", EXAM, "--subject", "数学")
    assert r.exit_code == 0 and "noop" in r.output
    r = run(db, "totals", str(SAMPLES / "totals.csv"), "--exam", "2025秋期末", "--subject",
            "数学", "--grade", "9", "--full-score", "120", "--quiet")
    assert r.exit_code == 0, r.output
    r = run(db, "survey", str(SAMPLES / "survey.csv"), "--survey", "问卷", "--grade", "9")
    assert r.exit_code == 0, r.output
    with Warehouse(db) as wh:
        assert wh.scalar("SELECT excellent_line FROM papers p JOIN exams e USING (exam_id) "
                         "WHERE e.name = $e", {"e": EXAM}) == 34
        assert str(wh.scalar("SELECT exam_date FROM exams WHERE name = $e", {"e": EXAM})) \
            == "2026-04-20"
        assert wh.df("SELECT outcome FROM import_log ORDER BY import_id")["outcome"].tolist() \
            == ["ok", "ok", "ok", "noop", "ok", "ok"]


def test_cli_bad_input_exits_2_with_problems(tmp_path):
    db = tmp_path / "w.duckdb"
    r = run(db, "scores", str(SAMPLES / "scores.csv"), "--exam", "无此考试", "--subject", "数学")
    assert r.exit_code == 2
    assert "no specification table" in r.output and "Traceback" not in r.output
    bad = tmp_path / "spec.csv"
    bad.write_text("题号,题型,分值,答案\n1,单选,3,Z\n2,解答,-1,\n", encoding="utf-8")
    r = run(db, "paper", str(bad), "--exam", "E", "--subject", "数学", "--grade", "9")
    assert r.exit_code == 2
    assert "第2行" in r.output and "row 3" in r.output and "答案" in r.output
    r = run(db, "paper", str(tmp_path / "missing.csv"), "--exam", "E", "--subject", "数学",
            "--grade", "9")
    assert r.exit_code == 2   # click: the file does not exist
    with Warehouse(db) as wh:
        log = wh.df("SELECT kind, outcome FROM import_log ORDER BY import_id")
    assert log.values.tolist() == [["scores", "rejected"], ["paper", "rejected"]]


def test_cli_internal_error_exits_1(tmp_path, monkeypatch):
    import analytics.importers.scores as scores_mod

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(scores_mod, "create_people", boom)
    db = tmp_path / "w.duckdb"
    assert run(db, "paper", str(SAMPLES / "paper_spec.csv"), "--exam", EXAM, "--subject",
               "数学", "--grade", "9").exit_code == 0
    r = run(db, "scores", str(SAMPLES / "scores.csv"), "--exam", EXAM, "--subject", "数学")
    assert r.exit_code == 1
    assert "internal error" in r.output and "disk on fire" in r.output
    with Warehouse(db) as wh:
        assert wh.scalar("SELECT count(*) FROM students") == 0
        assert wh.scalar("SELECT outcome FROM import_log ORDER BY import_id DESC LIMIT 1") \
            == "failed"


@pytest.mark.parametrize("kind", ["roster", "paper", "scores", "totals", "survey"])
def test_cli_help_is_bilingual(kind):
    r = CliRunner().invoke(cli, ["import", kind, "--help"], obj={})
    assert r.exit_code == 0
    assert "--mapping" in r.output and "--sheet" in r.output
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.output)
