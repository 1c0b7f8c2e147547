"""Importers refuse bad files and never wipe (issue 13, items 1–7).

Every bad file is imported through the CLI (``eqm import …``) into a warehouse that already
holds a roster, a paper with scores, a totals paper and a questionnaire; each must exit 2 with
the file, row and column named in Chinese and English, and leave every table exactly as it was
(full contents compared, not counts).
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from analytics.errors import InputError
from analytics.importers import (
    import_paper,
    import_roster,
    import_scores,
    import_survey,
    import_totals,
)
from analytics.importers.common import MAX_CELL_CHARS, MAX_COLUMNS, load_mapping
from analytics.warehouse import Warehouse
from eqm.cli import cli
from tests.tables import assert_same_tables, table_contents

EXAM, SUBJECT = "2026春监测", "数学"
SPEC = ("题号,题型,分值,答案\n1,单选,3,B\n2,多选,4,ACD\n3,判断,2,对\n4,填空,4,\n5,解答,10,\n")
SCORE_HEADER = "考号,姓名,学校,班级,第1题,第2题,第3题,第4题,第5题"
SCORES = (SCORE_HEADER + "\nS01,甲,一中,1班,B,ACD,对,4,10\nS02,乙,一中,1班,A,AC,错,2,6\n"
          "S03,丙,二中,1班,B,AB,√,,7\n")
TOTALS = "考号,学校,总分\nS01,一中,88\nS02,一中,70\nT9,二中,50\n"
SURVEY = "考号,Q1,Q2\nS01,同意,8\nS02,不同意,6\n"
ROSTER = ("考号,学校,学校代码,年级,班级,SES\nS01,一中,A01,9,1班,0.5\nS02,一中,A01,9,1班,-1\n"
          "S03,二中,B02,9,1班,0\n")

SCORES_ARGS = ["--exam", EXAM, "--subject", SUBJECT]
TOTALS_ARGS = ["--exam", "入口", "--subject", SUBJECT]
SURVEY_ARGS = ["--survey", "问卷"]


def snapshot_tables(db: Path) -> dict[str, pd.DataFrame]:
    """Every table of the warehouse, full contents, sorted by all columns.

    ``import_log`` is compared without the rows a refusal is meant to add (outcome
    ``rejected``)."""
    with Warehouse(db) as wh:
        return table_contents(
            wh, rows={"import_log": lambda frame: frame[frame["outcome"] != "rejected"]})


assert_unchanged = assert_same_tables


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("refuse")
    path = tmp / "base.duckdb"
    files = {n: tmp / f"base_{n}.csv" for n in ("spec", "scores", "totals", "survey",
                                                     "roster")}
    for n, text in (("spec", SPEC), ("scores", SCORES), ("totals", TOTALS), ("survey", SURVEY),
                    ("roster", ROSTER)):
        files[n].write_text(text, encoding="utf-8")
    with Warehouse(path) as wh:
        import_roster(wh, files["roster"], district="示例区")
        import_paper(wh, files["spec"], exam=EXAM, subject=SUBJECT, grade=9)
        import_scores(wh, files["scores"], exam=EXAM, subject=SUBJECT)
        import_totals(wh, files["totals"], exam="入口", subject=SUBJECT, grade=9,
                      full_score=100)
        import_survey(wh, files["survey"], survey="问卷")
        assert wh.scalar("SELECT count(*) FROM responses") == 15
        wh.execute("CHECKPOINT")
    return path


@pytest.fixture
def db(base_db, tmp_path) -> Path:
    """A private copy of the loaded warehouse for one test."""
    dest = tmp_path / "w.duckdb"
    shutil.copyfile(base_db, dest)
    return dest


def run(db: Path, *args: str):
    return CliRunner().invoke(cli, ["--db", str(db), "import", *args], obj={})


def refused(db: Path, kind: str, path: Path, args: list[str], *, row: int | None,
            column: str | None, en: str, zh: str | None = None, name: str | None = None
            ) -> str:
    """Import ``path`` through the CLI: exit 2, bilingual, the file, row and column named, no
    traceback, every table unchanged. Returns the output."""
    before = snapshot_tables(db)
    r = run(db, kind, str(path), *args)
    out = r.output
    assert r.exit_code == 2, out
    assert "Traceback" not in out and "internal error" not in out, out
    assert (name or path.name) in out, out
    assert en in out, out
    if zh is not None:
        assert zh in out, out
    assert any("\u4e00" <= ch <= "\u9fff" for ch in out.replace(name or path.name, "")), out
    if row is not None:
        assert f"第{row}行" in out and f"row {row}" in out, out
    if column is not None:
        assert f"列「{column}」" in out, out
    assert_unchanged(before, snapshot_tables(db))
    return out


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def xlsx(tmp_path: Path, name: str, rows: list[list[object]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    p = tmp_path / name
    wb.save(p)
    return p


# --------------------------------------------------------------------------------------------
# 1. A file without data rows never replaces anything
# --------------------------------------------------------------------------------------------

EMPTY_BODIES = {"header_only": "", "blank_lines": "\n\n\n", "empty_cells": ",,,,,,,,\n,,,,\n"}
HEADERS = {"scores": (SCORE_HEADER, SCORES_ARGS), "totals": ("考号,学校,总分", TOTALS_ARGS),
           "survey": ("考号,Q1,Q2", SURVEY_ARGS)}


@pytest.mark.parametrize("kind", list(HEADERS))
@pytest.mark.parametrize("body", list(EMPTY_BODIES))
def test_header_without_data_rows_is_refused(db, tmp_path, kind, body):
    header, args = HEADERS[kind]
    f = write(tmp_path, f"{kind}_{body}.csv", header + "\n" + EMPTY_BODIES[body])
    refused(db, kind, f, args, row=1, column=None, en="no data rows", zh="没有数据行")


@pytest.mark.parametrize("kind", list(HEADERS))
def test_header_only_xlsx_is_refused(db, tmp_path, kind):
    header, args = HEADERS[kind]
    f = xlsx(tmp_path, f"{kind}.xlsx", [["某区 监测"], header.split(","), [None, None]])
    refused(db, kind, f, args, row=2, column=None, en="no data rows")


def test_header_without_data_rows_python_api(db, tmp_path):
    f = write(tmp_path, "s.csv", SCORE_HEADER + "\n\n")
    with Warehouse(db) as wh, pytest.raises(InputError, match="no data rows"):
        import_scores(wh, f, exam=EXAM, subject=SUBJECT)


def test_empty_roster_is_a_noop_that_says_so(db, tmp_path):
    f = write(tmp_path, "r.csv", "考号,学校\n,\n")
    before = snapshot_tables(db)
    r = run(db, "roster", str(f), "--district", "新区")
    assert r.exit_code == 0, r.output
    assert "0 名学生" in r.output and "no students" in r.output and "r.csv" in r.output
    after = snapshot_tables(db)
    after["import_log"] = after["import_log"][after["import_log"]["outcome"] != "noop"]
    assert_unchanged(before, after)         # no district 新区 created either


# --------------------------------------------------------------------------------------------
# 2. Ragged rows, quotes, mixed encodings name the row
# --------------------------------------------------------------------------------------------

def test_short_row_is_refused(db, tmp_path):
    f = write(tmp_path, "short.csv", SCORE_HEADER + "\nS01,甲,一中,1班,B,ACD,对,4,10\n"
              "S02,乙,一中,1班,B,ACD\n")
    refused(db, "scores", f, SCORES_ARGS, row=3, column="第3题", en="fewer cells",
            zh="少于表头")


def test_short_row_in_totals_and_survey(db, tmp_path):
    f = write(tmp_path, "t.csv", "考号,学校,总分\nS01,一中,88\nS02,一中\n")
    refused(db, "totals", f, TOTALS_ARGS, row=3, column="总分", en="fewer cells")
    f = write(tmp_path, "q.csv", "考号,Q1,Q2\nS01,同意\n")
    refused(db, "survey", f, SURVEY_ARGS, row=2, column="Q2", en="fewer cells")


def test_long_row_is_refused_naming_row(db, tmp_path):
    f = write(tmp_path, "long.csv", SCORE_HEADER + "\nS01,甲,一中,1班,B,ACD,对,4,10\n"
              "S02,乙,一中,1班,B,ACD,对,4,10,,7\n")
    refused(db, "scores", f, SCORES_ARGS, row=3, column="K", en="more cells than the header")


def test_unbalanced_quote_names_row(db, tmp_path):
    f = write(tmp_path, "quote.csv", SCORE_HEADER + "\nS01,甲,一中,1班,B,ACD,对,4,10\n"
              'S02,"乙,一中,1班,B,ACD,对,4,10\nS03,丙,二中,1班,B,AB,√,,7\n')
    refused(db, "scores", f, SCORES_ARGS, row=3, column=None, en="quote")


def test_quote_then_text_names_row(db, tmp_path):
    f = write(tmp_path, "quote2.csv", SCORE_HEADER + '\nS01,"甲"x,一中,1班,B,ACD,对,4,10\n')
    refused(db, "scores", f, SCORES_ARGS, row=2, column=None, en="quote")


def test_gbk_file_with_a_utf8_line_names_row(db, tmp_path):
    lines = SCORES.splitlines()
    data = ("\n".join(lines[:3]) + "\n").encode("gbk") + (lines[3] + "\n").encode("utf-8")
    f = tmp_path / "mixed.csv"
    f.write_bytes(data)
    refused(db, "scores", f, SCORES_ARGS, row=4, column=None, en="UTF-8")


def test_utf8_file_with_a_gbk_line_names_row(db, tmp_path):
    lines = SCORES.splitlines()
    data = ("\n".join(lines[:2]) + "\n").encode("utf-8") + ("\n".join(lines[2:]) + "\n").encode(
        "utf-8").replace("乙".encode(), "乙".encode("gbk"))
    f = tmp_path / "mixed2.csv"
    f.write_bytes(data)
    refused(db, "scores", f, SCORES_ARGS, row=3, column=None, en="GBK")


def test_quoted_multiline_cell_with_a_blank_line_still_loads(db, tmp_path):
    # null padding (a blank row) and a quoted newline together used to be an internal error
    f = write(tmp_path, "ml.csv", SCORE_HEADER + '\nN1,"甲\n乙",一中,1班,B,ACD,对,4,10\n,,\n'
              "S02,乙,一中,1班,A,AC,错,2,6\nS03,丙,二中,1班,B,AB,√,,7\n")
    r = run(db, "scores", str(f), *SCORES_ARGS)
    assert r.exit_code == 0, r.output
    with Warehouse(db) as wh:
        assert wh.scalar("SELECT name FROM students WHERE student_id = 'N1'") == "甲\n乙"
        assert wh.scalar("SELECT count(*) FROM responses r JOIN papers p USING (paper_id) "
                         "WHERE p.has_items") == 15


# --------------------------------------------------------------------------------------------
# 3. Control characters
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("char", ["\x00", "\x1f", "\x7f", "\x85"])
def test_control_character_at_start_of_line_is_refused(db, tmp_path, char):
    f = write(tmp_path, "nul.csv", SCORE_HEADER + f"\nS01,甲,一中,1班,B,ACD,对,4,10\n"
              f"{char}S02,乙,一中,1班,A,AC,错,2,6\n")
    refused(db, "scores", f, SCORES_ARGS, row=3, column="考号", en="control character",
            zh="控制字符")


def test_control_character_in_a_cell_names_the_column(db, tmp_path):
    f = write(tmp_path, "c.csv", "考号,学校,总分\nS01,一\x00中,88\n")
    refused(db, "totals", f, TOTALS_ARGS, row=2, column="学校", en="control character")


def test_nul_in_gbk_file(db, tmp_path):
    f = write(tmp_path, "g.csv", "考号,Q1,Q2\nS01,同意,8\n\x00S02,不同意,6\n", encoding="gbk")
    refused(db, "survey", f, SURVEY_ARGS, row=3, column="考号", en="control character")


# --------------------------------------------------------------------------------------------
# 4. XLSX formulas without cached values
# --------------------------------------------------------------------------------------------

def test_xlsx_formula_without_cached_value_is_refused(db, tmp_path):
    f = xlsx(tmp_path, "f.xlsx", [["考号", "学校", "总分"], ["S01", "一中", 88],
                                  ["S02", "一中", "=40+30"], ["T9", "二中", "=SUM(1,2)"]])
    out = refused(db, "totals", f, TOTALS_ARGS, row=None, column=None,
                  en="formula", zh="公式")
    assert "C3" in out and "C4" in out
    assert "Excel" in out and "values" in out


def test_xlsx_formula_with_cached_value_loads(db, tmp_path):
    # a cell whose formula has a stored result (as Excel saves it) reads as that result
    f = xlsx(tmp_path, "fc.xlsx", [["考号", "学校", "总分"], ["S01", "一中", "=40+30"]])
    import zipfile
    with zipfile.ZipFile(f) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    # openpyxl writes the empty result as <v /> (ElementTree) or <v></v> (when lxml is installed)
    parts[sheet] = re.sub(rb"<f>40\+30</f><v\s*(/>|></v>)", b"<f>40+30</f><v>70</v>", parts[sheet])
    assert b"<v>70</v>" in parts[sheet]
    with zipfile.ZipFile(f, "w") as z:
        for n, b in parts.items():
            z.writestr(n, b)
    r = run(db, "totals", str(f), *TOTALS_ARGS)
    assert r.exit_code == 0, r.output
    with Warehouse(db) as wh:
        assert wh.scalar("SELECT r.total FROM paper_results r JOIN students s USING "
                         "(student_key) JOIN papers p USING (paper_id) "
                         "WHERE s.student_id = 'S01' AND NOT p.has_items") == 70


# --------------------------------------------------------------------------------------------
# 5. Non-finite numbers
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["inf", "1e400", "nan", "-inf", "Infinity"])
def test_non_finite_max_score_is_refused(db, tmp_path, value):
    f = write(tmp_path, "spec.csv", f"题号,题型,分值\n1,解答,5\n2,解答,{value}\n")
    refused(db, "paper", f, ["--exam", "E2", "--subject", "物理", "--grade", "9"], row=3,
            column="分值", en="max score")


@pytest.mark.parametrize("value", ["inf", "1e400", "nan"])
def test_non_finite_full_score_is_refused(db, tmp_path, value):
    spec = write(tmp_path, "spec.csv", SPEC)
    refused(db, "paper", spec, ["--exam", EXAM, "--subject", SUBJECT, "--grade", "9",
                                "--full-score", value], row=None, column=None,
            en="full score")
    t = write(tmp_path, "t.csv", "考号,学校,总分\nS01,一中,88\n")
    refused(db, "totals", t, ["--exam", "新考", "--subject", SUBJECT, "--grade", "9",
                              "--full-score", value], row=None, column=None, en="full score")
    refused(db, "totals", t, [*TOTALS_ARGS, "--full-score", value], row=None, column=None,
            en="full score")


@pytest.mark.parametrize("value", ["inf", "nan", "-Infinity", "1e400", "1_2"])
def test_non_finite_ses_is_refused(db, tmp_path, value):
    f = write(tmp_path, "r.csv", f"考号,学校,SES\nS01,一中,0.5\nS02,一中,{value}\n")
    refused(db, "roster", f, [], row=3, column="SES", en="SES")


@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "1_2"])
def test_non_finite_or_odd_totals_refused(db, tmp_path, value):
    f = write(tmp_path, "t.csv", f"考号,学校,总分\nS01,一中,{value}\n")
    refused(db, "totals", f, TOTALS_ARGS, row=2, column="总分", en="not a number")


# --------------------------------------------------------------------------------------------
# 6. Silent surprises
# --------------------------------------------------------------------------------------------

def test_underscore_number_in_spec_is_refused(db, tmp_path):
    f = write(tmp_path, "spec.csv", "题号,题型,分值\n1,解答,1_2\n")
    refused(db, "paper", f, ["--exam", "E2", "--subject", "物理", "--grade", "9"], row=2,
            column="分值", en="max score")


def test_underscore_number_in_scores_is_refused(db, tmp_path):
    f = write(tmp_path, "s.csv", SCORE_HEADER + "\nS01,甲,一中,1班,B,ACD,对,4,1_0\n")
    refused(db, "scores", f, SCORES_ARGS, row=2, column="第5题", en="cannot read")


def test_underscore_in_survey_is_text_not_a_number(db, tmp_path):
    f = write(tmp_path, "q.csv", "考号,Q1,Q2\nS01,同意,1_2\nS02,inf,6\n")
    assert run(db, "survey", str(f), *SURVEY_ARGS).exit_code == 0
    with Warehouse(db) as wh:
        got = wh.df("SELECT question, value_text, value_num FROM survey_answers "
                    "ORDER BY question, value_text")
    assert got.fillna(-99).values.tolist() == [["Q1", "inf", -99], ["Q1", "同意", -99],
                                               ["Q2", "1_2", -99], ["Q2", "6", 6.0]]


@pytest.mark.parametrize(("header", "first", "second"), [
    ("考号,学校,学校,总分", "学校", "学校"),
    ("考号,学校,单位,总分", "学校", "单位"),
    ("考号,学号,学校,总分", "考号", "学号"),
])
def test_duplicated_column_is_refused_naming_both(db, tmp_path, header, first, second):
    f = write(tmp_path, "d.csv", header + "\nS01,一中,一中,88\n")
    out = refused(db, "totals", f, TOTALS_ARGS, row=1, column=second, en="two columns")
    assert f"「{first}」" in out


def test_excellent_line_below_pass_line_is_refused(db, tmp_path):
    spec = write(tmp_path, "spec.csv", SPEC)
    refused(db, "paper", spec, ["--exam", EXAM, "--subject", SUBJECT, "--grade", "9",
                                "--excellent", "10", "--pass", "15"], row=None, column=None,
            en="below the pass line")
    # a given excellent line below the default pass line (60% of 23 = 13.8) too
    refused(db, "paper", spec, ["--exam", EXAM, "--subject", SUBJECT, "--grade", "9",
                                "--excellent", "12"], row=None, column=None,
            en="below the pass line")
    refused(db, "paper", spec, ["--exam", EXAM, "--subject", SUBJECT, "--grade", "9",
                                "--pass", "5", "--low", "8"], row=None, column=None,
            en="below the low")


def test_conflicting_school_code_in_file_is_refused(db, tmp_path):
    f = write(tmp_path, "r.csv", "考号,学校,学校代码\nN1,三中,C03\nN2,三中,C04\n")
    refused(db, "roster", f, [], row=3, column="学校代码", en="code")


def test_school_code_conflicting_with_warehouse_is_refused(db, tmp_path):
    f = write(tmp_path, "r.csv", "考号,学校,学校代码\nS01,一中,Z99\n")
    refused(db, "roster", f, [], row=2, column="学校代码", en="A01")
    f = write(tmp_path, "r2.csv", "考号,学校,学校代码\nN1,三中,B02\n")   # 二中's code
    refused(db, "roster", f, [], row=2, column="学校代码", en="二中")


def test_new_schools_are_named_in_the_output(db, tmp_path):
    f = write(tmp_path, "s.csv", SCORE_HEADER + "\nS01,甲,一中,1班,B,ACD,对,4,10\n"
              "N1,子,一 中学,1班,B,ACD,对,4,10\nN2,丑,二种,1班,B,ACD,对,4,10\n")
    r = run(db, "scores", str(f), *SCORES_ARGS)
    assert r.exit_code == 0, r.output
    assert "新建学校" in r.output and "new schools" in r.output
    assert "一 中学" in r.output and "二种" in r.output
    t = write(tmp_path, "t.csv", "考号,学校,总分\nN3,三种,5\n")
    r = run(db, "totals", str(t), *TOTALS_ARGS)
    assert r.exit_code == 0 and "三种" in r.output and "new schools" in r.output, r.output
    ro = write(tmp_path, "r.csv", "考号,学校\nN4,四种\n")
    r = run(db, "roster", str(ro))
    assert r.exit_code == 0 and "四种" in r.output and "new schools" in r.output, r.output


def test_hidden_xlsx_rows_and_columns_are_warned(db, tmp_path):
    f = xlsx(tmp_path, "h.xlsx", [["考号", "学校", "总分"], ["S01", "一中", 88],
                                  ["S02", "一中", 70]])
    wb = openpyxl.load_workbook(f)
    ws = wb.active
    assert ws is not None
    ws.row_dimensions[3].hidden = True
    ws.column_dimensions["B"].hidden = True
    wb.save(f)
    r = run(db, "totals", str(f), *TOTALS_ARGS)
    assert r.exit_code == 0, r.output
    assert "隐藏" in r.output and "hidden" in r.output
    assert "3" in r.output.split("hidden rows")[1][:20]
    assert "B" in r.output.split("hidden columns")[1][:20]
    with Warehouse(db) as wh:
        res = import_totals(wh, f, exam="入口2", subject=SUBJECT, grade=9, full_score=100)
    assert any("hidden rows" in w for w in res.warnings)


# --------------------------------------------------------------------------------------------
# 7. Bad mapping files, huge cells, very wide files
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("toml", "key"), [
    ('header_row = "abc"\n', "header_row"),
    ("header_row = [1, 2]\n", "header_row"),
    ("header_row = 0\n", "header_row"),
    ("header_row = true\n", "header_row"),
    ("sheet = [1]\n", "sheet"),
    ('[columns]\n"考号" = ["student_id"]\n', "考号"),
    ('columns = "x"\n', "columns"),
])
def test_bad_mapping_file_is_bad_input(db, tmp_path, toml, key):
    m = write(tmp_path, "map.toml", toml)
    f = write(tmp_path, "t.csv", TOTALS)
    out = refused(db, "totals", f, [*TOTALS_ARGS, "--mapping", str(m)], row=None,
                  column=None, en="mapping", name="map.toml")
    assert key in out
    with pytest.raises(InputError):
        load_mapping(m)


def test_huge_cell_is_refused_naming_row_and_column(db, tmp_path):
    f = write(tmp_path, "big.csv", "考号,Q1,Q2\nS01,同意,8\nS02," + "x" * 10_000_000 + ",6\n")
    out = refused(db, "survey", f, SURVEY_ARGS, row=3, column="Q1", en="characters")
    assert str(MAX_CELL_CHARS) in out.replace(",", "")


def test_cell_just_below_the_limit_loads(db, tmp_path):
    f = write(tmp_path, "ok.csv", f"考号,Q1,Q2\nS01,{'x' * MAX_CELL_CHARS},8\n")
    assert run(db, "survey", str(f), *SURVEY_ARGS).exit_code == 0


def test_too_many_columns_refused_at_once(db, tmp_path):
    header = ",".join(["考号", "学校", "总分"] + [f"x{i}" for i in range(50_000)])
    f = write(tmp_path, "wide.csv", header + "\nS01,一中,88" + ",1" * 50_000 + "\n")
    start = time.perf_counter()
    out = refused(db, "totals", f, TOTALS_ARGS, row=1, column=None, en="columns")
    assert time.perf_counter() - start < 10
    assert str(MAX_COLUMNS) in out.replace(",", "")


def test_too_many_columns_in_a_data_row(db, tmp_path):
    f = write(tmp_path, "wide2.csv", "考号,学校,总分\nS01,一中,88" + ",1" * 50_000 + "\n")
    start = time.perf_counter()
    refused(db, "totals", f, TOTALS_ARGS, row=2, column=None, en="columns")
    assert time.perf_counter() - start < 10


def test_too_many_columns_xlsx(db, tmp_path):
    f = xlsx(tmp_path, "wide.xlsx", [["考号", "学校", "总分"] + [f"x{i}" for i in
                                                              range(MAX_COLUMNS)]])
    refused(db, "totals", f, TOTALS_ARGS, row=1, column=None, en="columns")
