"""Importers: round trips, every bad-input rule with its message, atomicity, encodings, re-import.

Expected values are worked by hand from the small files written here (the scoring rule is
stated next to each case), never read back from the code under test.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from analytics.errors import InputError
from analytics.importers import (
    import_paper,
    import_roster,
    import_scores,
    import_survey,
    import_totals,
)
from tests.tables import assert_same_tables, table_contents

EXAM, SUBJECT, GRADE = "2026春监测", "数学", 9

SPEC = [
    ["题号", "题型", "分值", "答案", "选项", "知识点", "认知层次", "部分得分"],
    ["1", "单选", "3", "B", "", "函数", "了解", ""],
    ["2", "多选", "4", "ACD", "ABCD", "全等；轴对称", "理解", "2"],
    ["3", "判断", "2", "对", "", "相似", "了解", ""],
    ["4", "填空", "4", "", "", "方程", "掌握", ""],
    ["5", "解答", "10", "", "", "函数、方程", "运用", ""],
]
SCORE_HEADER = ["考号", "姓名", "学校", "班级", "第1题", "第2题", "第3题", "第4题", "第5题"]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def scores_rows() -> list[list[str]]:
    return [
        ["S01", "甲", "一中", "1班", "B", "ACD", "对", "4", "10"],   # 3+4+2+4+10 = 23
        ["S02", "乙", "一中", "1班", "A", "AC", "错", "2", "6"],     # 0+2+0+2+6 = 10
        ["S03", "丙", "二中", "1班", "B", "AB", "√", "", "7"],       # 3+0+2+NULL+7 = 12
        ["S04", "丁", "二中", "2班", "缺考", "缺考", "缺考", "缺考", "缺考"],  # absent
        ["S05", "戊", "二中", "2班", "D", "DCA", "B", "0", "0"],     # 0+4+0+0+0 = 4
    ]


@pytest.fixture
def paper(wh, tmp_path):
    spec = write_csv(tmp_path / "spec.csv", SPEC)
    import_paper(wh, spec, exam=EXAM, subject=SUBJECT, grade=GRADE)
    return spec


def scores_file(tmp_path: Path, rows: list[list[str]] | None = None, *, title: bool = True,
                header: list[str] | None = None, name: str = "scores.csv",
                encoding: str = "utf-8") -> Path:
    body = [header or SCORE_HEADER, *(rows if rows is not None else scores_rows())]
    if title:
        body = [["2026年春季区级监测 数学 成绩", "", ""], *body]
    return write_csv(tmp_path / name, body, encoding)


def snapshot(wh) -> dict[str, pd.DataFrame]:
    """Every table's full content, sorted, for before/after comparisons."""
    return table_contents(wh, skip=("import_log", "schema_version"))


assert_same = assert_same_tables


def results(wh) -> dict[str, tuple[str, float | None]]:
    df = wh.df("SELECT s.student_id, r.status, r.total FROM paper_results r "
               "JOIN students s USING (student_key)")
    return {r.student_id: (r.status, None if pd.isna(r.total) else r.total)
            for r in df.itertuples()}


def problems_of(exc: pytest.ExceptionInfo[InputError]) -> list[tuple[int | None, str | None]]:
    return [(p.row, p.column) for p in exc.value.problems]


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------

def test_paper_round_trip(wh, paper):
    items = wh.df("SELECT number, label, item_type, max_score, answer_key, options, "
                  "partial_score, cognitive_level FROM items ORDER BY number")
    assert list(items["label"]) == ["1", "2", "3", "4", "5"]
    assert list(items["item_type"]) == ["single", "multiple", "true_false", "fill",
                                        "constructed"]
    assert list(items["max_score"]) == [3, 4, 2, 4, 10]
    assert list(items["answer_key"].fillna("-")) == ["B", "ACD", "T", "-", "-"]
    assert list(items["options"].fillna("-")) == ["ABCD", "ABCD", "TF", "-", "-"]
    assert items["partial_score"].tolist()[1] == 2
    kn = wh.df("SELECT i.label, k.knowledge_point FROM item_knowledge k JOIN items i "
               "USING (item_id) ORDER BY 1, 2")
    assert kn.values.tolist() == [["1", "函数"], ["2", "全等"], ["2", "轴对称"], ["3", "相似"],
                                  ["4", "方程"], ["5", "函数"], ["5", "方程"]]
    p = wh.df("SELECT full_score, has_items FROM papers").iloc[0]
    assert p["full_score"] == 3 + 4 + 2 + 4 + 10 and bool(p["has_items"])
    assert wh.scalar("SELECT grade FROM exams WHERE name = $e", {"e": EXAM}) == GRADE


def test_scores_round_trip(wh, paper, tmp_path):
    res = import_scores(wh, scores_file(tmp_path), exam=EXAM, subject=SUBJECT)
    assert (res.kind, res.rows, res.outcome) == ("scores", 5, "ok")
    # hand-scored above: multiple choice AC ⊂ ACD → partial 2, AB has a wrong letter → 0,
    # DCA = ACD (order ignored) → 4; 判断 √ = 对, B = 错; a blank is NULL, not 0.
    assert results(wh) == {"S01": ("present", 23), "S02": ("present", 10),
                           "S03": ("present", 12), "S04": ("absent", None),
                           "S05": ("present", 4)}
    r = wh.df("SELECT s.student_id, i.label, r.score, r.answer FROM responses r "
              "JOIN students s USING (student_key) JOIN items i USING (item_id) "
              "WHERE s.student_id IN ('S03', 'S05') ORDER BY 1, 2")
    got = {(x.student_id, x.label): (None if pd.isna(x.score) else x.score,
                                     None if pd.isna(x.answer) else x.answer)
           for x in r.itertuples()}
    assert got[("S03", "4")] == (None, None)
    assert got[("S03", "3")] == (2, "T")
    assert got[("S05", "2")] == (4, "ACD")
    assert got[("S05", "3")] == (0, "F")
    assert wh.scalar("SELECT count(*) FROM responses") == 4 * 5   # absent student: none
    # students and schools created from the file
    tree = wh.df("SELECT student_id, school_name, class_name, grade FROM student_tree "
                 "ORDER BY student_id")
    assert tree["school_name"].tolist() == ["一中", "一中", "二中", "二中", "二中"]
    assert tree["class_name"].tolist() == ["1班", "1班", "1班", "2班", "2班"]
    assert set(tree["grade"]) == {GRADE}
    log = wh.df("SELECT kind, outcome, rows, sha256 FROM import_log ORDER BY import_id")
    assert log[["kind", "outcome"]].values.tolist() == [["paper", "ok"], ["scores", "ok"]]
    assert log["rows"].tolist() == [5, 5] and log["sha256"].str.len().tolist() == [64, 64]


def test_roster_round_trip_and_school_must_match(wh, paper, tmp_path):
    roster = write_csv(tmp_path / "roster.csv", [
        ["学号", "姓名", "性别", "年级", "学校", "班级", "片区", "办学性质", "城乡", "户籍", "SES"],
        ["S01", "甲", "男", "九年级", "一中", "1班", "东片", "公办", "城区", "本地", "0.5"],
        ["S02", "乙", "女", "9", "一中", "1班", "东片", "公办", "城区", "外地", "-1"],
        ["S03", "丙", "F", "初三", "二中", "1班", "西片", "民办", "乡镇", "", ""],
    ])
    res = import_roster(wh, roster, district="示例区")
    assert (res.rows, res.outcome) == (3, "ok")
    tree = wh.df("SELECT student_id, gender, grade, hukou, ses, class_name, school_name, "
                 "ownership, locality, zone_name, district_name FROM student_tree "
                 "ORDER BY student_id")
    assert tree.drop(columns=["ses"]).fillna("-").values.tolist() == [
        ["S01", "M", 9, "local", "1班", "一中", "public", "urban", "东片", "示例区"],
        ["S02", "F", 9, "nonlocal", "1班", "一中", "public", "urban", "东片", "示例区"],
        ["S03", "F", 9, "-", "1班", "二中", "private", "rural", "西片", "示例区"],
    ]
    assert tree["ses"].tolist()[:2] == [0.5, -1.0]
    # scores: S03 listed at 一中 although the roster put them at 二中 → two schools
    rows = scores_rows()
    rows[2][2] = "一中"
    with pytest.raises(InputError) as exc:
        import_scores(wh, scores_file(tmp_path, rows), exam=EXAM, subject=SUBJECT)
    assert problems_of(exc) == [(5, "学校")]
    assert "两所学校" in str(exc.value) and "two schools" in str(exc.value)
    # with matching schools it loads, reusing the roster's students and classes
    import_scores(wh, scores_file(tmp_path), exam=EXAM, subject=SUBJECT)
    assert wh.scalar("SELECT count(*) FROM students") == 5
    assert wh.scalar("SELECT count(*) FROM schools") == 2


def test_roster_update_keeps_school_and_moves_class(wh, paper, tmp_path):
    import_scores(wh, scores_file(tmp_path), exam=EXAM, subject=SUBJECT)
    roster = write_csv(tmp_path / "r.csv", [["考号", "学校", "班级", "年级", "性别"],
                                            ["S01", "一中", "3班", "9", "男"]])
    res = import_roster(wh, roster)
    assert res.outcome == "replaced"
    got = wh.df("SELECT class_name, gender FROM student_tree WHERE student_id = 'S01'")
    assert got.values.tolist() == [["3班", "M"]]
    # the stored item passes (per class) followed the student into 3班
    assert_item_passes_current(wh)
    moved = wh.df("SELECT a.n FROM item_pass_answers a JOIN classes c USING (class_id) "
                  "WHERE c.name = '3班'")
    assert len(moved) > 0 and moved["n"].sum() == 5      # S01's five items
    bad = write_csv(tmp_path / "r2.csv", [["考号", "学校"], ["S01", "二中"]])
    with pytest.raises(InputError, match="two schools"):
        import_roster(wh, bad)


def test_totals_round_trip(wh, tmp_path):
    f = write_csv(tmp_path / "t.csv", [
        ["准考证号", "姓名", "学校名称", "班级", "成绩"],
        ["T1", "甲", "一中", "1班", "96.5"],
        ["T2", "乙", "一中", "1班", "缺考"],
        ["T3", "丙", "二中", "2班", "作弊"],
        ["T4", "丁", "二中", "2班", ""],
    ])
    res = import_totals(wh, f, exam="2025秋期末", subject="数学", grade=8, full_score=120)
    assert (res.rows, res.outcome) == (4, "ok")
    assert results(wh) == {"T1": ("present", 96.5), "T2": ("absent", None),
                           "T3": ("void", None), "T4": ("absent", None)}
    p = wh.df("SELECT grade, full_score, has_items FROM papers").iloc[0]
    assert (p["grade"], p["full_score"], bool(p["has_items"])) == (8, 120, False)


def test_survey_round_trip(wh, paper, tmp_path):
    import_scores(wh, scores_file(tmp_path), exam=EXAM, subject=SUBJECT)
    f = write_csv(tmp_path / "q.csv", [
        ["考号", "姓名", "Q1 喜欢上学", "Q2 睡眠(小时)"],
        ["S01", "甲", "同意", "8"],
        ["S02", "乙", "", "6.5"],
    ])
    res = import_survey(wh, f, survey="问卷A", grade=9)
    assert (res.rows, res.outcome) == (2, "ok")
    got = wh.df("SELECT s.student_id, a.question, a.value_text, a.value_num FROM survey_answers a "
                "JOIN students s USING (student_key) ORDER BY 1, 2")
    assert got.fillna(-1).values.tolist() == [
        ["S01", "Q1 喜欢上学", "同意", -1], ["S01", "Q2 睡眠(小时)", "8", 8.0],
        ["S02", "Q2 睡眠(小时)", "6.5", 6.5]]
    unknown = write_csv(tmp_path / "q2.csv", [["考号", "Q1"], ["NOPE", "1"]])
    with pytest.raises(InputError, match="not in the warehouse"):
        import_survey(wh, unknown, survey="问卷B")


# --------------------------------------------------------------------------------------------
# Bad input: each rule, its row/column and bilingual reason; nothing written; logged
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("row_index", "col", "value", "zh", "en", "column"), [
    (0, 8, "11", "超过该题分值", "above the item's max score", "第5题"),
    (1, 5, "E", "不在该题选项", "not among the item's options", "第2题"),
    (2, 7, "B", "不是分数", "not a score", "第4题"),
    (3, 8, "-1", "负数", "negative", "第5题"),
    (4, 4, "好", "无法识别", "cannot read", "第1题"),
])
def test_bad_cells(wh, paper, tmp_path, row_index, col, value, zh, en, column):
    rows = scores_rows()
    rows[3] = ["S04", "丁", "二中", "2班", "A", "A", "对", "1", "1"]   # make everyone present
    rows[row_index][col] = value
    with pytest.raises(InputError) as exc:
        import_scores(wh, scores_file(tmp_path, rows), exam=EXAM, subject=SUBJECT)
    # title row 1, header row 2, data rows start at 3
    assert problems_of(exc) == [(3 + row_index, column)]
    msg = str(exc.value)
    assert zh in msg and en in msg and "scores.csv" in msg


def test_unknown_and_missing_item_columns(wh, paper, tmp_path):
    header = [*SCORE_HEADER[:-1], "第6题"]    # item 5 missing, item 6 unknown
    with pytest.raises(InputError) as exc:
        import_scores(wh, scores_file(tmp_path, header=header), exam=EXAM, subject=SUBJECT)
    reasons = [(p.row, p.column, p.reason_en) for p in exc.value.problems]
    assert (2, "第6题", "unknown item 6: not in the specification table") in reasons
    assert (2, None, "the file has no column for item 5") in reasons


def test_duplicate_student_row(wh, paper, tmp_path):
    rows = [*scores_rows(), scores_rows()[1]]
    with pytest.raises(InputError) as exc:
        import_scores(wh, scores_file(tmp_path, rows), exam=EXAM, subject=SUBJECT)
    assert problems_of(exc) == [(8, "考号")]
    assert "重复" in str(exc.value) and "first at row 4" in str(exc.value)


def test_every_problem_reported_at_once_with_cap(wh, paper, tmp_path):
    rows = [[f"X{i:03d}", "某", "一中", "1班", "B", "ACD", "对", "9", "99"] for i in range(40)]
    with pytest.raises(InputError) as exc:
        import_scores(wh, scores_file(tmp_path, rows), exam=EXAM, subject=SUBJECT)
    assert exc.value.total == 80                 # two bad cells in each of 40 rows
    assert len(exc.value.problems) == 50         # listed up to the cap
    assert "30 more problems" in str(exc.value)


def test_scores_need_a_specification_table(wh, tmp_path):
    f = scores_file(tmp_path)
    with pytest.raises(InputError, match="no specification table"):
        import_scores(wh, f, exam=EXAM, subject=SUBJECT)
    # a paper created by a totals import has no items either
    t = write_csv(tmp_path / "t.csv", [["考号", "学校", "总分"], ["S01", "一中", "50"]])
    import_totals(wh, t, exam=EXAM, subject=SUBJECT, grade=GRADE, full_score=100)
    with pytest.raises(InputError, match="eqm import paper"):
        import_scores(wh, f, exam=EXAM, subject=SUBJECT)
    log = wh.df("SELECT kind, outcome FROM import_log ORDER BY import_id")
    assert log.values.tolist() == [["scores", "rejected"], ["totals", "ok"],
                                   ["scores", "rejected"]]


def test_total_column_must_match(wh, paper, tmp_path):
    header = [*SCORE_HEADER, "总分"]
    rows = [[*r, t] for r, t in zip(scores_rows(), ["23", "10", "12", "缺考", "5"], strict=True)]
    with pytest.raises(InputError) as exc:
        import_scores(wh, scores_file(tmp_path, rows, header=header), exam=EXAM,
                      subject=SUBJECT)
    assert problems_of(exc) == [(7, "总分")]
    assert "differs from the sum of item scores 4" in str(exc.value)


def test_spec_problems(wh, tmp_path):
    bad = [SPEC[0], ["1", "单选", "3", "E", "", "", "", ""], ["2", "论述", "3", "", "", "", "", ""],
           ["3", "解答", "零", "", "", "", "", ""], ["1", "解答", "2", "", "", "", "", ""]]
    with pytest.raises(InputError) as exc:
        import_paper(wh, write_csv(tmp_path / "s.csv", bad), exam=EXAM, subject=SUBJECT,
                     grade=GRADE)
    assert problems_of(exc) == [(2, "答案"), (3, "题型"), (4, "分值"), (5, "题号")]
    assert wh.scalar("SELECT count(*) FROM exams") == 0


def test_totals_problems(wh, tmp_path):
    f = write_csv(tmp_path / "t.csv", [["考号", "学校", "总分"], ["A", "一中", "130"],
                                       ["B", "一中", "x"], ["", "一中", "5"], ["D", "", "5"]])
    with pytest.raises(InputError) as exc:
        import_totals(wh, f, exam="E", subject="语文", grade=5, full_score=120)
    assert sorted(problems_of(exc)) == [(2, "总分"), (3, "总分"), (4, "考号"), (5, "考号")]
    assert "above the full score" in str(exc.value)
    assert wh.scalar("SELECT count(*) FROM papers") == 0


# --------------------------------------------------------------------------------------------
# Atomicity, re-import, no-op
# --------------------------------------------------------------------------------------------

def test_bad_last_row_leaves_warehouse_exactly_as_it_was(wh, paper, tmp_path):
    import_scores(wh, scores_file(tmp_path), exam=EXAM, subject=SUBJECT)
    before = snapshot(wh)
    rows = [[r[0], r[1], r[2], r[3], "A", "A", "对", "1", "1"] for r in scores_rows()]
    rows += [["NEW1", "新", "三中", "9班", "B", "B", "对", "1", "1"],   # would create school+class
             ["NEW2", "新", "三中", "9班", "B", "B", "对", "1", "99"]]  # bad last row
    with pytest.raises(InputError):
        import_scores(wh, scores_file(tmp_path, rows, name="v2.csv"), exam=EXAM,
                      subject=SUBJECT)
    assert_same(before, snapshot(wh))
    last = wh.df("SELECT outcome, message FROM import_log ORDER BY import_id DESC LIMIT 1")
    assert last["outcome"].iloc[0] == "rejected" and "above" in last["message"].iloc[0]


def test_reimport_replaces_and_identical_is_noop(wh, paper, tmp_path):
    f = scores_file(tmp_path)
    import_scores(wh, f, exam=EXAM, subject=SUBJECT)
    again = import_scores(wh, f, exam=EXAM, subject=SUBJECT, grade=GRADE)
    assert again.outcome == "noop" and "noop" in again.message and "未做任何改动" in again.message
    rows = scores_rows()
    rows[0][8] = "5"                      # S01: 23 → 18
    rows = rows[:4]                       # S05 dropped
    res = import_scores(wh, scores_file(tmp_path, rows, name="v2.csv"), exam=EXAM,
                        subject=SUBJECT)
    assert res.outcome == "replaced"
    assert results(wh) == {"S01": ("present", 18), "S02": ("present", 10),
                           "S03": ("present", 12), "S04": ("absent", None)}
    assert wh.scalar("SELECT count(*) FROM responses") == 3 * 5
    # the first file again is not a no-op: it replaces v2
    assert import_scores(wh, f, exam=EXAM, subject=SUBJECT).outcome == "replaced"
    assert results(wh)["S05"] == ("present", 4)
    log = wh.df("SELECT outcome FROM import_log WHERE kind = 'scores' ORDER BY import_id")
    assert log["outcome"].tolist() == ["ok", "noop", "replaced", "replaced"]


def test_corrected_key_rescores_stored_answers(wh, paper, tmp_path):
    import_scores(wh, scores_file(tmp_path), exam=EXAM, subject=SUBJECT)
    assert_knowledge_results_current(wh)
    assert_item_passes_current(wh)
    passes_before = wh.df("SELECT * FROM item_pass_kelley")
    before = wh.df("SELECT * FROM knowledge_results")
    spec = [list(r) for r in SPEC]
    spec[1][3] = "A"          # item 1's key was wrong: A, not B
    res = import_paper(wh, write_csv(tmp_path / "spec2.csv", spec), exam=EXAM,
                       subject=SUBJECT, grade=GRADE)
    assert res.outcome == "replaced" and "rescored" in res.message
    # S01, S03 chose B (lose 3), S02 chose A (gains 3)
    assert results(wh) == {"S01": ("present", 20), "S02": ("present", 13),
                           "S03": ("present", 9), "S04": ("absent", None),
                           "S05": ("present", 4)}
    assert_knowledge_results_current(wh)
    assert not before.equals(wh.df("SELECT * FROM knowledge_results"))   # rescored too
    assert_item_passes_current(wh)
    assert not passes_before.equals(wh.df("SELECT * FROM item_pass_kelley"))


def assert_item_passes_current(wh):
    """The stored item passes (analytics.reduce.item_passes) of every paper with results are marked
    current and equal, row for row, the passes reduced from the responses as they are now."""
    from analytics.reduce.derived import is_current
    from analytics.reduce.item_passes import (
        PASS_TABLES,
        class_answer_pass_sql,
        kelley_pass_sql,
        sorted_cross_sql,
    )
    from analytics.reduce.item_sums import KELLEY_SHARE

    papers = wh.df("SELECT DISTINCT paper_id FROM paper_results")["paper_id"].astype(int)
    assert len(papers) > 0
    for pid in papers:
        wh.forget_shared()
        assert is_current(wh, "item_passes", pid)
        for kind, sql in (("ans", class_answer_pass_sql()), ("kel", kelley_pass_sql()),
                          ("sorted", sorted_cross_sql())):
            want = wh.df(sql, {"paper_id": pid, "share": KELLEY_SHARE} if "$share" in sql
                         else {"paper_id": pid})
            got = wh.df(f"SELECT * EXCLUDE (paper_id) FROM {PASS_TABLES[kind]} "
                        "WHERE paper_id = $p", {"p": pid})
            keys = [c for c in want.columns if c not in ("n", "n_answered", "sx", "sxx", "sxt",
                                                         "st", "stt", "sxr_sorted")]
            assert list(got.columns) == list(want.columns)
            pd.testing.assert_frame_equal(
                got.sort_values(keys).reset_index(drop=True),
                want.sort_values(keys).reset_index(drop=True), check_dtype=False, rtol=1e-12)


def assert_knowledge_results_current(wh):
    """The per student × knowledge point sums the importers keep equal a recomputation from
    the responses (pandas), row for row."""
    raw = wh.df("SELECT r.paper_id, r.student_key, k.knowledge_point, r.score FROM responses r "
                "JOIN item_knowledge k USING (item_id)")
    want = (raw.assign(score=raw["score"].fillna(0.0))
            .groupby(["paper_id", "student_key", "knowledge_point"], as_index=False)["score"]
            .sum().sort_values(["paper_id", "student_key", "knowledge_point"])
            .reset_index(drop=True))
    got = (wh.df("SELECT paper_id, student_key, knowledge_point, score FROM knowledge_results")
           .sort_values(["paper_id", "student_key", "knowledge_point"]).reset_index(drop=True))
    assert len(want) > 0 or raw.empty
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_changed_items_remove_old_scores(wh, paper, tmp_path):
    import_scores(wh, scores_file(tmp_path), exam=EXAM, subject=SUBJECT)
    spec = [*SPEC, ["6", "解答", "5", "", "", "", "", ""]]
    res = import_paper(wh, write_csv(tmp_path / "spec3.csv", spec), exam=EXAM,
                       subject=SUBJECT, grade=GRADE)
    assert res.outcome == "replaced" and "import them again" in res.message
    assert wh.scalar("SELECT count(*) FROM responses") == 0
    assert wh.scalar("SELECT count(*) FROM items") == 6
    assert wh.scalar("SELECT count(*) FROM knowledge_results") == 0
    # the same scores file is then no no-op (its data are gone): it is rejected for item 6
    with pytest.raises(InputError, match="no column for item 6"):
        import_scores(wh, scores_file(tmp_path), exam=EXAM, subject=SUBJECT)


def test_survey_and_totals_reimport(wh, tmp_path):
    t = write_csv(tmp_path / "t.csv", [["考号", "学校", "总分"], ["A", "一中", "50"]])
    import_totals(wh, t, exam="E", subject="语文", grade=5, full_score=100)
    t2 = write_csv(tmp_path / "t2.csv", [["考号", "学校", "总分"], ["A", "一中", "60"]])
    assert import_totals(wh, t2, exam="E", subject="语文").outcome == "replaced"
    assert results(wh) == {"A": ("present", 60)}
    assert import_totals(wh, t2, exam="E", subject="语文").outcome == "noop"
    q = write_csv(tmp_path / "q.csv", [["考号", "Q1"], ["A", "3"]])
    import_survey(wh, q, survey="S")
    q2 = write_csv(tmp_path / "q2.csv", [["考号", "Q1", "Q2"], ["A", "4", "5"]])
    assert import_survey(wh, q2, survey="S").outcome == "replaced"
    assert wh.scalar("SELECT sum(value_num) FROM survey_answers") == 9
    assert import_survey(wh, q2, survey="S").outcome == "noop"


# --------------------------------------------------------------------------------------------
# Encodings, title rows, synonyms, full width, 缺考, mapping files
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings(wh, paper, tmp_path, encoding):
    f = scores_file(tmp_path, encoding=encoding)
    if encoding == "gbk":
        assert f.read_bytes().find("考号".encode("gbk")) >= 0
    import_scores(wh, f, exam=EXAM, subject=SUBJECT)
    assert results(wh)["S01"] == ("present", 23)
    assert wh.scalar("SELECT name FROM schools ORDER BY school_id LIMIT 1") == "一中"


def test_xlsx_with_merged_title_and_sheet(wh, paper, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active["A1"] = "本工作簿第二页是成绩"
    ws = wb.create_sheet("成绩")
    ws.append(["2026年春季区级监测 数学 小题得分"])
    ws.merge_cells("A1:I1")
    ws.append(SCORE_HEADER)
    for r in scores_rows():
        ws.append([float(x) if x.isdigit() else x for x in r])   # numbers as numbers
    path = tmp_path / "scores.xlsx"
    wb.save(path)
    res = import_scores(wh, path, exam=EXAM, subject=SUBJECT, sheet="成绩")
    assert res.rows == 5
    assert results(wh)["S01"] == ("present", 23)
    with pytest.raises(InputError, match="no sheet named"):
        import_scores(wh, path, exam=EXAM, subject=SUBJECT, sheet="nope")


def test_header_synonyms_full_width_and_absent_marks(wh, paper, tmp_path):
    header = ["准考证号", "学生姓名", "学校名称", "班级", "状态", "T1", "Q2", "小题3", "4题", "５"]
    rows = [
        ["S01", "甲", "一中", "1班", "", "Ｂ", "ＡＣＤ", "对", "４", "１０"],
        ["S02", "乙", "一中", "1班", "缺考", "", "", "", "", ""],
        ["S03", "丙", "一中", "1班", "作弊", "B", "ACD", "对", "4", "10"],
        ["S04", "丁", "一中", "1班", "", "", "", "", "", ""],
        ["S05", "戊", "一中", "1班", "", "B", "A, C", "×", "", ""],
    ]
    import_scores(wh, scores_file(tmp_path, rows, header=header, title=False),
                  exam=EXAM, subject=SUBJECT)
    # S05: B=3, "A, C" ⊂ ACD → 2, × = 错 → 0: 5
    assert results(wh) == {"S01": ("present", 23), "S02": ("absent", None),
                           "S03": ("void", None), "S04": ("absent", None),
                           "S05": ("present", 5)}


def test_several_title_rows_and_blank_lines_keep_row_numbers(wh, paper, tmp_path):
    path = tmp_path / "s.csv"
    lines = ["某区教研室", "2026年春季 数学 成绩,,,", "", ",".join(SCORE_HEADER)]
    rows = scores_rows()
    rows[1][8] = "12"   # above max 10
    lines += [",".join(rows[0]), "", ",".join(rows[1])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        import_scores(wh, path, exam=EXAM, subject=SUBJECT)
    # header on line 4; S01 on line 5, a blank line 6, S02 on line 7
    assert problems_of(exc) == [(7, "第5题")]


def test_mapping_file(wh, paper, tmp_path):
    header = ["编号", "名字", "单位名", "班", "A1", "A2", "A3", "A4", "A5", "排名"]
    rows = [[*r, "1"] for r in scores_rows()]
    f = scores_file(tmp_path, rows, header=header)
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        'header_row = 2\n[columns]\n"编号" = "student_id"\n"单位名" = "school"\n'
        '"A1" = "item:1"\n"A2" = "item:2"\n"A3" = "item:3"\n"A4" = "item:4"\n'
        '"A5" = "item:5"\n"排名" = "ignore"\n', encoding="utf-8")
    with pytest.raises(InputError, match="no header row"):
        import_scores(wh, f, exam=EXAM, subject=SUBJECT)
    import_scores(wh, f, exam=EXAM, subject=SUBJECT, mapping=mapping)
    assert results(wh)["S01"] == ("present", 23)


def test_samples_import(wh):
    samples = Path(__file__).resolve().parents[1] / "data" / "samples"
    r = import_roster(wh, samples / "roster.csv", district="示例区")
    p = import_paper(wh, samples / "paper_spec.csv", exam="2026春九年级监测", subject="数学",
                     grade=9)
    s = import_scores(wh, samples / "scores.csv", exam="2026春九年级监测", subject="数学")
    t = import_totals(wh, samples / "totals.csv", exam="2025秋期末", subject="数学", grade=9,
                      full_score=120)
    q = import_survey(wh, samples / "survey.csv", survey="2026学生问卷", grade=9)
    assert [x.outcome for x in (r, p, s, t, q)] == ["ok"] * 5
    assert (r.rows, p.rows, s.rows, t.rows, q.rows) == (12, 8, 12, 12, 12)
    # the sample scores file has one title row and one 缺考 student, the totals one 作弊
    assert wh.scalar("SELECT count(*) FROM paper_results WHERE status = 'absent'") == 2
    assert wh.scalar("SELECT count(*) FROM paper_results WHERE status = 'void'") == 1
    assert wh.scalar("SELECT count(*) FROM students") == 12


def test_short_rows_and_long_rows_are_rejected(wh, paper, tmp_path):
    # issue 13: a short row used to be padded (its missing cells "not answered"); it is refused
    path = tmp_path / "short.csv"
    lines = [",".join(SCORE_HEADER), "S01,甲,一中,1班,B,ACD,对,4,10", "S02,乙,一中,1班,B,ACD"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="fewer cells than the header") as exc:
        import_scores(wh, path, exam=EXAM, subject=SUBJECT)
    assert problems_of(exc) == [(3, "第3题")]
    assert wh.scalar("SELECT count(*) FROM students") == 0
    long = tmp_path / "long.csv"
    long.write_text("\n".join([lines[0], lines[1] + ",5,6"]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="more cells than the header"):
        import_scores(wh, long, exam=EXAM, subject=SUBJECT)


def test_trailing_empty_cells_are_ignored(wh, paper, tmp_path):
    path = tmp_path / "trailing.csv"
    lines = [",".join(SCORE_HEADER), "S01,甲,一中,1班,B,ACD,对,4,10,,",
             "S02,乙,一中,1班,B,A,对,4,10,,"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_scores(wh, path, exam=EXAM, subject=SUBJECT)
    assert results(wh) == {"S01": ("present", 23), "S02": ("present", 21)}


def test_student_in_two_schools_across_files(wh, paper, tmp_path):
    import_scores(wh, scores_file(tmp_path), exam=EXAM, subject=SUBJECT)
    t = write_csv(tmp_path / "t.csv", [["考号", "学校", "总分"], ["S01", "一中", "50"],
                                       ["S02", "二中", "40"]])    # S02 was at 一中
    with pytest.raises(InputError) as exc:
        import_totals(wh, t, exam="入口", subject=SUBJECT, grade=GRADE, full_score=100)
    assert problems_of(exc) == [(3, "学校")]
    assert "already recorded at school 一中" in str(exc.value)
    assert wh.scalar("SELECT count(*) FROM exams") == 1     # the new exam was rolled back


def test_mapping_with_unknown_canonical_name(wh, paper, tmp_path):
    mapping = tmp_path / "bad.toml"
    mapping.write_text('[columns]\n"编号" = "studentid"\n', encoding="utf-8")
    with pytest.raises(InputError, match="unknown columns studentid"):
        import_scores(wh, scores_file(tmp_path), exam=EXAM, subject=SUBJECT, mapping=mapping)


def test_grade_needed_when_the_exam_has_several(wh, paper, tmp_path):
    import_paper(wh, write_csv(tmp_path / "spec8.csv", SPEC), exam=EXAM, subject=SUBJECT,
                 grade=8)
    with pytest.raises(InputError, match="pass --grade"):
        import_scores(wh, scores_file(tmp_path), exam=EXAM, subject=SUBJECT)
    import_scores(wh, scores_file(tmp_path), exam=EXAM, subject=SUBJECT, grade=8)
    assert wh.scalar("SELECT DISTINCT grade FROM students") == 8
    assert wh.scalar("SELECT grade FROM exams") is None      # the exam spans grades 8 and 9


def test_excel_unicode_text_utf16_tab_separated(wh, paper, tmp_path):
    path = tmp_path / "unicode.txt"
    rows = [SCORE_HEADER, *scores_rows()]
    path.write_text("\r\n".join("\t".join(r) for r in rows) + "\r\n", encoding="utf-16")
    import_scores(wh, path, exam=EXAM, subject=SUBJECT)
    assert results(wh)["S01"] == ("present", 23)


def test_undecodable_file_names_itself(wh, paper, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\xff\xfe\x00\xd8garbage")     # a UTF-16 BOM, then an unpaired surrogate
    with pytest.raises(InputError, match=r"bad\.csv.*cannot decode"):
        import_scores(wh, path, exam=EXAM, subject=SUBJECT)


def test_identical_totals_reimport_after_results_were_deleted_loads_again(wh, tmp_path):
    # the noop needs the paper to still hold results (importers.paper.paper_has_results)
    t = write_csv(tmp_path / "t.csv", [["考号", "学校", "总分"], ["A", "一中", "50"]])
    import_totals(wh, t, exam="E", subject="语文", grade=5, full_score=100)
    assert import_totals(wh, t, exam="E", subject="语文", grade=5, full_score=100).outcome == "noop"
    wh.execute("DELETE FROM paper_results")
    again = import_totals(wh, t, exam="E", subject="语文", grade=5, full_score=100)
    assert again.outcome != "noop"
    assert results(wh) == {"A": ("present", 50)}
