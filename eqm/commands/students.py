"""`eqm students`: the student archive (学生档案) — a student across every exam, the school's
watch list of 学困生 and 临界生, and help records (帮教记录) with their history."""

from __future__ import annotations

from pathlib import Path

import click

from analytics.lookup import school_id_of as _school_id_of
from eqm.output import emit, output_options
from eqm.warehouse import reader, republish, say, writer


def school_id_of(wh: object, school: str | None) -> int | None:
    """``--school`` as a school id: digits without a leading zero are the id itself, anything
    else a name or code (:func:`analytics.lookup.school_id_of`)."""
    if school is None:
        return None
    text = school.strip()
    if text.isdigit() and not text.startswith("0"):
        return int(text)
    return _school_id_of(wh, text)  # type: ignore[arg-type]


SCOPE = click.option("--school", default=None,
                     help="只在此学校内查找学生(校长的范围)/ find the student in this school "
                          "only (a principal's scope).")


def register(cli: click.Group) -> None:
    @cli.group("students")
    def students() -> None:
        """学生档案:各次考试成绩、关注名单、帮教记录 / the student archive."""

    @students.command("show")
    @click.argument("student")
    @SCOPE
    @output_options
    @click.pass_context
    def show(ctx: click.Context, student: str, school: str | None, fmt: str, out: Path | None,
             min_n: int) -> None:
        """一名学生在每次考试每个学科的成绩、等级、百分等级、增长百分位,薄弱知识点与帮教记录 /
        one student on every paper: score, band, percentile, growth; weak points; records."""
        from analytics.help_records import find_student, help_records
        from analytics.reports.archive import student_archive, student_weak_points

        with reader(ctx) as wh:
            sid = school_id_of(wh, school)
            s = find_student(wh, student, sid)
            arch = student_archive(wh, student=str(s["student_id"]), school=sid)
            say(f"{s['student_name']} {s['student_id']} · {s['school_name']} {s['class_name']}")
            emit(arch.drop(columns=["student_key"]), fmt, out, min_n=0, sheet="archive")
            if fmt == "table" and out is None:
                weak = student_weak_points(wh, student=str(s["student_id"]), school=sid,
                                           archive=arch)
                click.echo("\n薄弱知识点 / weak knowledge points")
                emit(weak, fmt, None, min_n=0)
                click.echo("\n帮教记录 / help records")
                emit(help_records(wh, student=str(s["student_id"]), school=sid)
                     .drop(columns=["student_key"]), fmt, None, min_n=0)

    @students.command("watch")
    @click.option("--school", required=True, help="学校 / the school.")
    @click.option("--grade", type=int, default=None, help="年级 / the grade.")
    @output_options
    @click.pass_context
    def watch(ctx: click.Context, school: str, grade: int | None, fmt: str, out: Path | None,
              min_n: int) -> None:
        """关注名单:最近一次考试的学困生与临界生,原因与起始考试 / the watch list: who is
        学困生 or 临界生 on the latest exam, why, and since when."""
        from analytics.reports.archive import watch_list

        with reader(ctx) as wh:
            frame = watch_list(wh, school=school_id_of(wh, school) or school, grade=grade)
            emit(frame.drop(columns=["student_key"]), fmt, out, min_n=0, sheet="watch_list")

    @students.group("note")
    def note() -> None:
        """帮教记录:添加、修改、撤回、历史 / help records: add, edit, withdraw, history."""

    @note.command("add")
    @click.argument("student")
    @click.option("--date", "date", required=True, help="日期 YYYY-MM-DD / the date.")
    @click.option("--teacher", required=True, help="教师 / the teacher.")
    @click.option("--action", required=True, help="帮教内容 / what was done.")
    @click.option("--subject", default=None, help="学科 / the subject.")
    @click.option("--author", required=True, help="记录人 / who writes the record.")
    @SCOPE
    @click.pass_context
    def note_add(ctx: click.Context, student: str, date: str, teacher: str, action: str,
                 subject: str | None, author: str, school: str | None) -> None:
        """添加一条帮教记录 / add a help record."""
        from analytics.help_records import add_help_record

        with writer(ctx) as wh:
            rid = add_help_record(wh, student=student, date=date, teacher=teacher,
                                  action=action, subject=subject, author=author,
                                  school=school_id_of(wh, school))
        republish(ctx)
        click.echo(f"已添加帮教记录 added help record {rid}")

    @note.command("edit")
    @click.argument("record_id", type=int)
    @click.option("--date", "date", default=None)
    @click.option("--teacher", default=None)
    @click.option("--action", default=None)
    @click.option("--subject", default=None)
    @click.option("--author", required=True, help="修改人 / who edits it.")
    @click.option("--withdraw", is_flag=True, help="撤回此记录 / withdraw the record.")
    @SCOPE
    @click.pass_context
    def note_edit(ctx: click.Context, record_id: int, date: str | None, teacher: str | None,
                  action: str | None, subject: str | None, author: str, withdraw: bool,
                  school: str | None) -> None:
        """修改或撤回帮教记录(保留历史版本)/ edit or withdraw a record (history kept)."""
        from analytics.help_records import edit_help_record, withdraw_help_record

        with writer(ctx) as wh:
            sid = school_id_of(wh, school)
            version = withdraw_help_record(wh, record_id, author=author, school=sid) \
                if withdraw else edit_help_record(wh, record_id, author=author, date=date,
                                                  teacher=teacher, action=action,
                                                  subject=subject, school=sid)
        republish(ctx)
        click.echo(f"帮教记录 {record_id} 第 {version} 版 / help record {record_id} "
                   f"version {version}")

    @note.command("history")
    @click.argument("student")
    @SCOPE
    @output_options
    @click.pass_context
    def note_history(ctx: click.Context, student: str, school: str | None, fmt: str,
                     out: Path | None, min_n: int) -> None:
        """一名学生全部帮教记录的每个版本 / every version of a student's help records."""
        from analytics.help_records import help_record_history

        with reader(ctx) as wh:
            emit(help_record_history(wh, student=student, school=school_id_of(wh, school))
                 .drop(columns=["student_key"]), fmt, out, min_n=0, sheet="help_records")
