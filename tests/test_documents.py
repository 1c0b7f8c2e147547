"""The printed reports (issue 17): open the generated .pdf/.docx/.html and check them — page
count, embedded fonts, the school's and the named students' text, no raw code word, pictures,
the student archive across three exams, help-record history and scope refusals.

One small demo (one grade, two subjects, three exams) built once for the module.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from analytics.errors import InputError
from analytics.warehouse import Warehouse

MONITOR = "2026年区级质量监测"
# codes that must never reach a reader (labels only)
CODE_WORDS = ("bottom_share", "below_low", "below_pass", "low_growth", "as_expected",
              "similar", "excellent", "borderline", "struggling", "nan", "None", "NaN",
              "school_id", "share_a", "knowledge_point")
EN_WORDS = re.compile(r"\b(the|school|district|score|rate|band|mean)\b", re.I)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from analytics.demo import build_demo

    root = tmp_path_factory.mktemp("docs")
    db = root / "w.duckdb"
    build_demo(db, students=1200, seed=11, subjects=["数学", "英语"], grades=[9],
               out_dir=root / "files", progress=False)
    return db


@pytest.fixture(scope="module")
def school_pdf(demo: Path) -> tuple[Path, dict[str, object]]:
    from analytics.documents import render
    from analytics.documents.data import ExamData
    from analytics.documents.school import school_report

    wh = Warehouse(demo)
    try:
        data = ExamData(wh, exam=MONITOR, grade=9)
        sizes = data.report("数学", "school").sort_values("n", ascending=False)
        school = sizes.iloc[0]
        sid = int(school["school_id"])
        st = data.struggling("数学")
        others = wh.df("SELECT student_id FROM student_tree WHERE school_id <> $s",
                       {"s": sid})["student_id"].astype(str)
        doc = school_report(data, sid, user="测试员")
        out = demo.parent / "school.pdf"
        render.write_all([doc, doc, doc], [out, out.with_suffix(".docx"),
                                           out.with_suffix(".html")])
        info = {"name": str(school["school_name"]), "sid": sid,
                "named": st[st["school_id"] == sid].head(3)[["student_id", "student_name"]],
                "others": set(others), "charts": doc.charts()}
    finally:
        wh.close()
    return out, info


def _pdf_text(path: Path) -> tuple[int, str]:
    """Page count (pypdf) and text (poppler's pdftotext when installed: pypdf 7 puts NULs
    between the characters of fpdf2's CID fonts, so its text is the fallback, NULs dropped)."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
    else:
        text = "\n".join(p.extract_text() or "" for p in reader.pages).replace("\x00", "")
    return len(reader.pages), text


def test_school_pdf_pages_fonts_text_and_privacy(school_pdf) -> None:
    path, info = school_pdf
    pages, text = _pdf_text(path)
    assert 2 <= pages <= 12
    assert info["name"] in text
    flat = re.sub(r"\s+", "", text)
    for _, s in info["named"].iterrows():      # the school's own 学困生, named with 考号
        assert str(s["student_id"]) in flat and str(s["student_name"]) in flat
    ids = set(re.findall(r"\d{10,}", flat))
    assert not ids & info["others"], "another school's student is in the report"
    for word in CODE_WORDS:
        assert not re.search(rf"\b{word}\b", text), word
    assert not EN_WORDS.search(text), EN_WORDS.search(text)
    assert "测试员" in text and "生成于" in text                       # the footer
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                               check=True).stdout.splitlines()[2:]
        assert fonts and all(line.split()[-5] == "yes" for line in fonts)  # emb column
        assert any("NotoSansCJK" in line for line in fonts)
    else:
        from pypdf import PdfReader

        font = PdfReader(path).pages[0]["/Resources"]["/Font"]
        desc = next(iter(font.values())).get_object()["/DescendantFonts"][0].get_object()
        assert "/FontFile3" in desc["/FontDescriptor"].get_object()


def test_school_docx_has_charts_and_text(school_pdf) -> None:
    path, info = school_pdf
    docx = path.with_suffix(".docx")
    with zipfile.ZipFile(docx) as z:
        media = [n for n in z.namelist() if n.startswith("word/media/")]
        body = z.read("word/document.xml").decode()
        footer = "".join(z.read(n).decode() for n in z.namelist() if "footer" in n)
    assert info["charts"] >= 3 and len(media) >= 3
    assert info["name"] in body and "测试员" in footer
    for word in ("bottom_share", "below_low", "as_expected"):
        assert word not in body
    html = path.with_suffix(".html").read_text(encoding="utf-8")
    assert info["name"] in html and html.count("data:image/png;base64,") >= 3


def test_school_report_refuses_unknown_school_and_bad_suffix(demo: Path) -> None:
    from eqm.cli import cli

    r = CliRunner().invoke(cli, ["--db", str(demo), "report", "school", "--exam", MONITOR,
                                 "--grade", "9", "--school", "没有这所学校", "--out",
                                 str(demo.parent / "x.pdf")])
    assert r.exit_code == 2 and "没有这所学校" in r.output
    r = CliRunner().invoke(cli, ["--db", str(demo), "report", "school", "--exam", MONITOR,
                                 "--grade", "9", "--school", "1", "--out",
                                 str(demo.parent / "x.txt")])
    assert r.exit_code == 2 and ".pdf" in r.output


def test_batch_writes_every_school(demo: Path) -> None:
    from eqm.cli import cli

    out = demo.parent / "all"
    r = CliRunner().invoke(cli, ["--db", str(demo), "report", "school", "--exam", MONITOR,
                                 "--grade", "9", "--all", "--format", "html", "--quiet",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    wh = Warehouse(demo)
    try:
        n = int(wh.scalar("SELECT count(DISTINCT school_id) FROM student_tree WHERE grade = 9"))
    finally:
        wh.close()
    assert len(list(out.glob("*.html"))) == n


def test_student_archive_across_three_exams_and_report(demo: Path) -> None:
    from analytics.documents import render
    from analytics.documents.student import student_report
    from analytics.reports.archive import student_archive, watch_list

    wh = Warehouse(demo)
    try:
        s = wh.df("SELECT student_id, student_name, school_id FROM student_tree "
                  "ORDER BY student_key LIMIT 1").iloc[0]
        arch = student_archive(wh, student=str(s["student_id"]))
        assert arch["exam"].nunique() == 3 and set(arch["subject"]) == {"数学", "英语"}
        present = arch[arch["status"] == "present"]
        assert present["percentile"].between(0, 100).all()
        assert present["band"].isin(["A", "B", "C", "D"]).all()
        # the percentile is the district percent rank of standard_scores, here recomputed
        total = wh.df("SELECT r.total FROM paper_results r JOIN papers p USING (paper_id) "
                      "JOIN exams e USING (exam_id) WHERE e.name = $e AND p.subject = '数学' "
                      "AND r.status = 'present'", {"e": MONITOR})["total"]
        mine = present[(present["exam"] == MONITOR) & (present["subject"] == "数学")]
        if len(mine):
            below = (total < float(mine["total"].iloc[0])).sum()
            assert mine["percentile"].iloc[0] == pytest.approx(100 * below / (len(total) - 1))
        doc = student_report(wh, str(s["student_id"]), user="班主任")
        out = render.write(doc, demo.parent / "student.pdf")
        wl = watch_list(wh, school=int(s["school_id"]))
        assert set(wl["kind"]) <= {"struggling", "borderline"}
        assert (wl["n_exams"] >= 1).all() and (wl["exam"] == MONITOR).all()
    finally:
        wh.close()
    pages, text = _pdf_text(out)
    assert 1 <= pages <= 2 and str(s["student_name"]) in text
    assert doc.charts() == 1


def test_help_records_keep_history_and_refuse_other_schools(demo: Path) -> None:
    from analytics.help_records import (
        add_help_record,
        edit_help_record,
        help_record_history,
        help_records,
        withdraw_help_record,
    )

    wh = Warehouse(demo)
    try:
        s = wh.df("SELECT student_id, school_id FROM student_tree ORDER BY student_key "
                  "LIMIT 1").iloc[0]
        other = int(wh.scalar("SELECT min(school_id) FROM schools WHERE school_id <> $s",
                              {"s": int(s["school_id"])}))
        sid = str(s["student_id"])
        rid = add_help_record(wh, student=sid, date="2026-06-15", teacher="王老师",
                              action="课后辅导分式运算", subject="数学", author="王老师",
                              school=int(s["school_id"]))
        assert edit_help_record(wh, rid, author="李校长", action="课后辅导分式运算(两次)") == 2
        cur = help_records(wh, student=sid)
        assert list(cur["action"]) == ["课后辅导分式运算(两次)"] and cur["version"].iloc[0] == 2
        hist = help_record_history(wh, student=sid)
        assert list(hist["version"]) == [1, 2] and hist["action"].iloc[0] == "课后辅导分式运算"
        with pytest.raises(InputError):        # another school's principal cannot see or write
            help_records(wh, student=sid, school=other)
        with pytest.raises(InputError):
            add_help_record(wh, student=sid, date="2026-06-16", teacher="某", action="x",
                            author="某", school=other)
        with pytest.raises(InputError):
            edit_help_record(wh, rid, author="某", action="y", school=other)
        with pytest.raises(InputError):
            add_help_record(wh, student=sid, date="16/06/2026", teacher="某", action="x",
                            author="某")
        withdraw_help_record(wh, rid, author="李校长")
        assert help_records(wh, student=sid).empty
        assert len(help_record_history(wh, student=sid)) == 3
    finally:
        wh.close()


def test_students_cli_scope_refusal(demo: Path) -> None:
    from eqm.cli import cli

    wh = Warehouse(demo)
    try:
        s = wh.df("SELECT student_id, school_id FROM student_tree ORDER BY student_key "
                  "LIMIT 1").iloc[0]
        other = int(wh.scalar("SELECT min(school_id) FROM schools WHERE school_id <> $s",
                              {"s": int(s["school_id"])}))
    finally:
        wh.close()
    r = CliRunner().invoke(cli, ["--db", str(demo), "students", "show", str(s["student_id"]),
                                 "--school", str(other)])
    assert r.exit_code == 2 and "不在本校" in r.output
    r = CliRunner().invoke(cli, ["--db", str(demo), "students", "watch", "--school",
                                 str(int(s["school_id"])), "--format", "csv"])
    assert r.exit_code == 0 and "since" in r.output


def test_district_report_levels_no_ranks(demo: Path) -> None:
    from eqm.cli import cli

    out = demo.parent / "district.pdf"
    r = CliRunner().invoke(cli, ["--db", str(demo), "report", "district", "--exam", MONITOR,
                                 "--grade", "9", "--out", str(out), "--user", "教研员"])
    assert r.exit_code == 0, r.output
    pages, text = _pdf_text(out)
    assert 2 <= pages <= 12
    assert "试卷质量" in text and "主要出错点" in text and "教研员" in text
    assert "排名" not in text and "名次" not in text
    for word in CODE_WORDS:
        assert not re.search(rf"\b{word}\b", text), word


def test_class_report_holds_that_class_only(demo: Path) -> None:
    from eqm.cli import cli

    wh = Warehouse(demo)
    try:
        c = wh.df("SELECT school_id, class_id, class_name, count(*) AS n FROM student_tree "
                  "GROUP BY ALL ORDER BY n DESC LIMIT 1").iloc[0]
        others = set(wh.df("SELECT student_id FROM student_tree WHERE class_id <> $c",
                           {"c": int(c["class_id"])})["student_id"].astype(str))
    finally:
        wh.close()
    out = demo.parent / "class.pdf"
    r = CliRunner().invoke(cli, ["--db", str(demo), "report", "class", "--exam", MONITOR,
                                 "--grade", "9", "--school", str(int(c["school_id"])),
                                 "--class", str(c["class_name"]), "--out", str(out)])
    assert r.exit_code == 0, r.output
    pages, text = _pdf_text(out)
    assert 1 <= pages <= 12 and str(c["class_name"]) in text
    assert not set(re.findall(r"\d{10,}", re.sub(r"\s+", "", text))) & others


def test_service_student_archive_is_scoped_on_the_server(demo: Path) -> None:
    from analytics.users import User
    from dashboards.service import AccessDenied, Service

    wh = Warehouse(demo)
    try:
        s = wh.df("SELECT student_id, school_id FROM student_tree ORDER BY student_key "
                  "LIMIT 1").iloc[0]
        other = int(wh.scalar("SELECT min(school_id) FROM schools WHERE school_id <> $s",
                              {"s": int(s["school_id"])}))
    finally:
        wh.close()
    svc = Service(str(demo))
    try:
        own = User("p1", "principal", school_id=int(s["school_id"]))
        assert svc.student_archive(own, str(s["student_id"]))["exam"].nunique() == 3
        with pytest.raises(AccessDenied):       # another school's principal
            svc.student_archive(User("p2", "principal", school_id=other), str(s["student_id"]))
        with pytest.raises(AccessDenied):       # the committee sees no student
            svc.student_archive(User("c", "committee"), str(s["student_id"]))
        assert len(svc.student_archive(User("o", "officer"), str(s["student_id"]))) > 0
        from dashboards.service import Filters

        f = Filters(exam=MONITOR, grade=9)
        body = svc.school_report_file(own, f, "docx")
        assert body[:2] == b"PK"
        with pytest.raises(AccessDenied):       # officers get no student lists in a file
            svc.school_report_file(User("o", "officer"), f, "docx")
    finally:
        svc.close()


def test_help_records_read_as_empty_before_migration_8(tmp_path: Path) -> None:
    """A read-only snapshot of a warehouse from before migration 8 has no help_records table:
    the student report shows "no records" instead of failing."""
    from analytics.help_records import help_records

    w = Warehouse(tmp_path / "w.duckdb")
    try:
        w.execute("DROP TABLE help_records")
        assert help_records(w).empty
    finally:
        w.close()
