"""`eqm growth`: student growth percentiles (SGP) and school median growth percentiles."""

from __future__ import annotations

from pathlib import Path

import click

from analytics import growth as growth_mod
from eqm.output import cohort_options, emit, format_option, out_option
from eqm.warehouse import reader


def register(cli: click.Group) -> None:
    @cli.command("growth")
    @cohort_options
    @click.option("--level", type=click.Choice(["district", "school", "class", "student"]),
                  default="school", show_default=True,
                  help="汇总层级;student 列出每个学生的 SGP / summary level, or every student.")
    @format_option
    @out_option
    @click.option("--min-n", type=int, default=growth_mod.MIN_N_REPORT, show_default=True,
                  help="少于该人数的单位不显示中位数 / hide medians of units smaller than this.")
    @click.pass_context
    def growth(ctx: click.Context, exam: str, prior_exam: str, subject: str,
               grade: int | None, level: str, fmt: str, out: Path | None, min_n: int) -> None:
        """学生成长百分位(SGP)与学校成长中位数 / student growth percentiles.

        SGP (1–99): the percentile of a student's score among students with similar entry
        scores (quantile regression on a B-spline of the entry score, as the SGP package).
        """
        with reader(ctx) as wh:
            if level == "student":
                frame = growth_mod.student_growth(wh, exam=exam, prior_exam=prior_exam,
                                                  subject=subject, grade=grade)
                emit(frame, fmt, out, min_n=0, sheet="sgp")
                return
            frame = growth_mod.growth_summary(wh, exam=exam, prior_exam=prior_exam,
                                              subject=subject, grade=grade, level=level)
        emit(frame, fmt, out, min_n=min_n, sheet="growth")
