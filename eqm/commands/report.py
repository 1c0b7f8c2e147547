"""`eqm report`: the printed reports (issue 17) — school (学校质量分析报告, one school or
``--all``), district (区级), class (班级) and student (学生档案) — as .pdf, .docx or .html."""

from __future__ import annotations

import getpass
import os
import re
import time
from pathlib import Path

import click

from analytics.display import DEFAULT_MIN_N
from analytics.errors import InputError
from eqm.warehouse import reader, say

LANG = click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
                    help="报告语言 / the report's language.")
MIN_N = click.option("--min-n", type=click.IntRange(1), default=DEFAULT_MIN_N,
                     show_default=True, help="少于此人数的群体不报告 / smallest group reported.")
USER = click.option("--user", "user", default=None,
                    help="页脚中的生成者(默认:当前用户)/ who generated it, for the footer "
                         "(default: the login name).")
EXAM = click.option("--exam", required=True, help="考试 / the exam.")
GRADE = click.option("--grade", type=int, default=None, help="年级 / the grade.")
PRIOR = click.option("--prior-exam", default=None,
                     help="对比的上次考试(默认:最近一次)/ the earlier exam compared with "
                          "(default: the latest).")


def _user(user: str | None) -> str:
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # no login name (a service account): say so plainly
        return os.environ.get("USERNAME", "eqm")


def _safe(name: str) -> str:
    return re.sub(r"[\\/:*?\"<>|\s]+", "_", name).strip("_") or "school"


def register(cli: click.Group) -> None:
    @cli.group("report")
    def report() -> None:
        """打印报告:学校、区级、班级、学生 / printed reports (.pdf, .docx, .html)."""

    @report.command("school")
    @EXAM
    @GRADE
    @click.option("--school", default=None, help="学校(编号、名称或代码)/ the school.")
    @click.option("--all", "all_schools", is_flag=True,
                  help="每所学校一份报告,写入 --out 目录 / one report per school into the "
                       "--out directory.")
    @PRIOR
    @click.option("--out", type=click.Path(path_type=Path), required=True,
                  help="输出文件(.pdf/.docx/.html),或 --all 时的目录 / the file, or the "
                       "directory with --all.")
    @click.option("--format", "fmt", type=click.Choice(["pdf", "docx", "html"]), default="pdf",
                  show_default=True, help="--all 时的格式 / the format with --all.")
    @LANG
    @MIN_N
    @USER
    @click.option("--quiet", is_flag=True, help="不显示进度条 / no progress bar.")
    @click.pass_context
    def school(ctx: click.Context, exam: str, grade: int | None, school: str | None,
               all_schools: bool, prior_exam: str | None, out: Path, fmt: str, lang: str,
               min_n: int, user: str | None, quiet: bool) -> None:
        """学校质量分析报告 / the school report: a one-page summary, then per subject bands,
        classes, credibly-below items and knowledge points, 学困生 and 临界生, how to read."""
        from analytics.documents import render
        from analytics.documents.data import ExamData
        from analytics.documents.school import school_report

        if all_schools == (school is not None):
            raise InputError("请给出 --school 或 --all 之一 / give either --school or --all")
        if not all_schools:
            render.format_of(out)  # refuse a bad suffix before any work
        t0 = time.perf_counter()
        with reader(ctx) as wh:
            data = ExamData(wh, exam=exam, grade=grade, prior_exam=prior_exam, min_n=min_n)
            if not all_schools:
                assert school is not None
                doc = school_report(data, school, lang=lang, user=_user(user))
                render.write(doc, out)
                say(f"已写出 wrote {out} ({time.perf_counter() - t0:.1f} s)")
                return
            from tqdm import tqdm

            schools = data.schools()
            docs, paths = [], []
            bar = tqdm(total=2 * len(schools), desc="学校报告 school reports", unit="步",
                       disable=quiet)
            for _, s in schools.iterrows():
                docs.append(school_report(data, int(s["school_id"]), lang=lang,
                                          user=_user(user)))
                code = s.get("school_code")
                stem = _safe(f"{code}_{s['school_name']}" if code else str(s["school_name"]))
                paths.append(out / f"{stem}.{fmt}")
                bar.update()
        out.mkdir(parents=True, exist_ok=True)
        render.write_all(docs, paths, progress=bar.update)  # the PDFs share one font subset
        bar.close()
        say(f"已写出 {len(paths)} 份报告到 wrote {len(paths)} reports to {out} "
            f"({time.perf_counter() - t0:.1f} s)")

    @report.command("student")
    @click.option("--student", required=True, help="考号 / the student's ID.")
    @click.option("--school", default=None,
                  help="只在此学校内查找(校长的范围)/ only within this school.")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="输出文件 .pdf/.docx/.html / the file.")
    @LANG
    @USER
    @click.pass_context
    def student(ctx: click.Context, student: str, school: str | None, out: Path, lang: str,
                user: str | None) -> None:
        """学生成长档案(一至两页)/ the student report: trajectory, weak points, records."""
        from analytics.documents import render
        from analytics.documents.student import student_report
        from eqm.commands.students import school_id_of

        render.format_of(out)
        with reader(ctx) as wh:
            doc = student_report(wh, student, school=school_id_of(wh, school), lang=lang,
                                 user=_user(user))
        render.write(doc, out)
        say(f"已写出 wrote {out}")

    @report.command("district")
    @EXAM
    @GRADE
    @PRIOR
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="输出文件 .pdf/.docx/.html / the file.")
    @LANG
    @MIN_N
    @USER
    @click.pass_context
    def district(ctx: click.Context, exam: str, grade: int | None, prior_exam: str | None,
                 out: Path, lang: str, min_n: int, user: str | None) -> None:
        """区级质量监测分析报告 / the district report: zones and schools in levels, the paper's
        quality, the main error points."""
        from analytics.documents import render
        from analytics.documents.data import ExamData
        from analytics.documents.district import district_report

        render.format_of(out)
        with reader(ctx) as wh:
            data = ExamData(wh, exam=exam, grade=grade, prior_exam=prior_exam, min_n=min_n)
            doc = district_report(data, lang=lang, user=_user(user))
        render.write(doc, out)
        say(f"已写出 wrote {out}")

    @report.command("class")
    @EXAM
    @GRADE
    @click.option("--school", required=True, help="学校 / the school.")
    @click.option("--class", "klass", required=True, help="班级名称,如 3班 / the class.")
    @PRIOR
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="输出文件 .pdf/.docx/.html / the file.")
    @LANG
    @MIN_N
    @USER
    @click.pass_context
    def class_(ctx: click.Context, exam: str, grade: int | None, school: str, klass: str,
               prior_exam: str | None, out: Path, lang: str, min_n: int,
               user: str | None) -> None:
        """班级质量分析报告 / the class report for the 班主任 and subject teachers."""
        from analytics.documents import render
        from analytics.documents.classes import class_report
        from analytics.documents.data import ExamData

        render.format_of(out)
        with reader(ctx) as wh:
            data = ExamData(wh, exam=exam, grade=grade, prior_exam=prior_exam, min_n=min_n)
            doc = class_report(data, school, klass, lang=lang, user=_user(user))
        render.write(doc, out)
        say(f"已写出 wrote {out}")
