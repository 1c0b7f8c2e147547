"""`eqm list exams|papers|schools|classes|surveys|users`: what the warehouse holds.

Names beside ids, grades, subjects, counts and dates (:mod:`analytics.catalog`), so that the
names the other commands take (``--exam``, ``--subject``, ``--school``, ``--survey``) can be
copied from here rather than guessed.
"""

from __future__ import annotations

from pathlib import Path

import click

from eqm.output import emit, format_option, out_option
from eqm.warehouse import reader


def register(cli: click.Group) -> None:
    @cli.command("list")
    @click.argument("kind", type=click.Choice(["exams", "papers", "schools", "classes",
                                               "surveys", "users"]))
    @click.option("--school", default=None,
                  help="classes: 只列该校(名称或代码)/ only this school's classes (name or code).")
    @click.option("--grade", type=int, default=None,
                  help="papers/classes/surveys: 只列该年级 / only this grade.")
    @format_option
    @out_option
    @click.pass_context
    def list_(ctx: click.Context, kind: str, school: str | None, grade: int | None, fmt: str,
              out: Path | None) -> None:
        """列出数据库中的考试、试卷、学校、班级、问卷、账号 / list what the warehouse holds.

        exams: 日期、年级、科目、试卷数、人数 / date, grades, subjects, papers, students;
        papers: 满分、小题数、实考与缺考人数 / full score, items, present and absent;
        schools: 代码、片区、年级、班级数、人数 / code, zone, grades, classes, students;
        classes: 按 1班、2班 … 10班 排序 / in natural order; surveys: 年级、作答人数、题数;
        users: 角色、学校(不含密码)/ role, school (never a password).
        """
        from analytics import catalog
        from analytics.users import list_users

        with reader(ctx) as wh:
            if kind == "classes":
                frame = catalog.list_classes(wh, school=school, grade=grade)
            elif kind == "users":
                frame = list_users(wh)
            else:
                frame = {"exams": catalog.list_exams, "papers": catalog.list_papers,
                         "schools": catalog.list_schools,
                         "surveys": catalog.list_surveys}[kind](wh)
        if grade is not None and kind in ("papers", "surveys"):
            frame = frame[frame["grade"] == grade]
        emit(frame, fmt, out, min_n=0, raw=True, sheet=kind)
