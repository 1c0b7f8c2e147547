"""`eqm stats distribution` (一分一段表 / 分数段) and `eqm stats total` (全科总分).

Attached to the ``eqm stats`` group defined in :mod:`eqm.commands.stats`.
"""

from __future__ import annotations

from pathlib import Path

import click

from analytics import scoretables as st
from eqm.commands.stats import _level_option, school_option, stats_group
from eqm.output import emit, exam_option, grade_option, output_options
from eqm.warehouse import reader


@click.command("distribution")
@exam_option
@click.option("--subject", required=True,
              help="科目;“总分”为全科总分 / subject; 总分 (or total) for the total across "
                   "subjects.")
@grade_option()
@_level_option("district")
@school_option
@click.option("--width", type=float, default=None,
              help="分数段宽度(分),如 10;不给则一分一段 / band width in points, e.g. 10; "
                   "default one row per score.")
@output_options
@click.pass_context
def distribution(ctx: click.Context, exam: str, subject: str, grade: int | None, level: str,
                 school: str | None, width: float | None, fmt: str, out: Path | None,
                 min_n: int) -> None:
    """一分一段表 / 分数段:分数、人数、累计人数、累计百分比(从高分往下累计)/ score → count,
    cumulative count and cumulative share from the top, per unit."""
    with reader(ctx) as wh:
        frame = st.score_distribution(wh, exam=exam, subject=subject, grade=grade,
                                      level=level, school=school, width=width)
    emit(frame, fmt, out, min_n=min_n, sheet="distribution")


@click.command("total")
@exam_option
@grade_option()
@_level_option("school")
@school_option
@click.option("--subjects", default=None,
              help="计入总分的科目,逗号分隔(默认:该考试全部科目)/ subjects summed, "
                   "comma-separated (default: every subject of the exam).")
@click.option("--view", type=click.Choice(["report", "levels"]), default="report",
              show_default=True,
              help="report: 全科总分三率一分; levels: 总分等级 A/B/C/D 比例 / the total's score "
                   "report or its grade-band shares.")
@click.option("--ranks/--no-ranks", default=None,
              help="显示排名(默认:指定 --school 时不显示)/ show ranks (default: hidden when "
                   "--school is given).")
@output_options
@click.pass_context
def total(ctx: click.Context, exam: str, grade: int | None, level: str, school: str | None,
          subjects: str | None, view: str, ranks: bool | None, fmt: str, out: Path | None,
          min_n: int) -> None:
    """全科总分:各科都有成绩的学生的总分;缺科(缺考)与作弊/违纪者另计为 n_absent / n_void /
    the total across the exam's subjects of the students present on every paper."""
    chosen = None if subjects is None else [s.strip() for s in subjects.split(",") if s.strip()]
    with reader(ctx) as wh:
        fn = st.total_score_report if view == "report" else st.total_grade_bands
        frame = fn(wh, exam=exam, grade=grade, level=level, school=school, subjects=chosen)
    show_ranks = (school is None) if ranks is None else ranks
    if not show_ranks:
        frame = frame.drop(columns=[c for c in ("rank", "n_ranked") if c in frame.columns])
    emit(frame, fmt, out, min_n=min_n, sheet=f"total_{view}")


def register(cli: click.Group) -> None:
    """Attach ``distribution`` and ``total`` to ``eqm stats`` (and the group to the CLI)."""
    for cmd in (distribution, total):
        if cmd.name not in stats_group.commands:
            stats_group.add_command(cmd)
    if "stats" not in cli.commands:
        cli.add_command(stats_group)
