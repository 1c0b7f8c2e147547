"""`eqm stats …`: score reports, item statistics and the paper quality report.

The click group :data:`stats_group` is defined at module level so that other command modules can
attach their own subcommands to it, e.g. ``from eqm.commands.stats import stats_group`` and then
``stats_group.add_command(...)`` (``eqm stats hotspots`` lives in :mod:`eqm.commands.hotspots`).
:func:`register` adds the group to the top-level ``eqm``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from analytics import items as items_mod
from analytics import paper as paper_mod
from analytics import scores as scores_mod
from eqm.output import emit, output_options, paper_options
from eqm.warehouse import reader


@click.group("stats")
def stats_group() -> None:
    """成绩与试题统计 / score reports, item statistics, paper quality."""


def register(cli: click.Group) -> None:
    """Add ``eqm stats`` to the top-level command group."""
    if "stats" not in cli.commands:
        cli.add_command(stats_group)


def _level_option(default: str) -> Callable[..., Any]:
    return click.option(
        "--level", type=click.Choice(["district", "zone", "school", "class"]), default=default,
        show_default=True, help="层级:区/片区/学校/班级 / level of the units.")


school_option = click.option(
    "--school", default=None, help="只看该校(名称或代码)/ only this school (name or code).")


@stats_group.command("scores")
@paper_options
@_level_option("school")
@school_option
@click.option("--by", type=click.Choice(list(scores_mod.BY_COLUMNS)), default=None,
              help="再按 性别/办学性质/城乡/户籍 分组 / break down by gender, ownership, "
                   "locality or hukou.")
@click.option("--view", type=click.Choice(["report", "levels", "bands", "percentiles",
                                           "borderline"]),
              default="report", show_default=True,
              help="report: 三率一分等; levels: 等级 A/B/C/D 比例; bands: 分数段; percentiles: "
                   "百分位; borderline: 临界生名单 / the score report, grade-band shares, "
                   "score bands, percentiles, or the borderline students.")
@click.option("--ranks/--no-ranks", default=None,
              help="显示排名(默认:指定 --school 时不显示)/ show ranks (default: hidden when "
                   "--school is given, as exports to schools leave them out).")
@click.option("--buffer", type=float, default=None,
              help="临界分差(分)/ borderline buffer in points (default: the paper's).")
@output_options
@click.pass_context
def scores(ctx: click.Context, exam: str, subject: str, grade: int | None, level: str,
           school: str | None, by: str | None, view: str, ranks: bool | None,
           buffer: float | None, fmt: str, out: Path | None, min_n: int) -> None:
    """成绩分析:人数、缺考、平均分、标准差、三率、超均率、标准分、排名 / score report per unit."""
    common: dict[str, Any] = {"exam": exam, "subject": subject, "grade": grade}
    with reader(ctx) as wh:
        if view == "borderline":
            frame = scores_mod.borderline_students(wh, **common, buffer=buffer, school=school)
            emit(frame, fmt, out, min_n=0, sheet="borderline")
            return
        fn = {"report": scores_mod.score_report, "levels": scores_mod.grade_bands,
              "bands": scores_mod.score_bands, "percentiles": scores_mod.percentiles}[view]
        frame = fn(wh, **common, level=level, by=by, school=school)
    show_ranks = (school is None) if ranks is None else ranks
    if not show_ranks:
        frame = frame.drop(columns=[c for c in ("rank", "n_ranked") if c in frame.columns])
    emit(frame, fmt, out, min_n=min_n, sheet=view)


@stats_group.command("items")
@paper_options
@_level_option("school")
@school_option
@click.option("--view", type=click.Choice(["stats", "options"]), default="stats",
              show_default=True,
              help="stats: 难度、区分度、相关、标记; options: 选项分析 / item statistics or the "
                   "option (distractor) analysis.")
@click.option("--flagged-only", is_flag=True, help="只列出有标记的小题 / only flagged items.")
@output_options
@click.pass_context
def items(ctx: click.Context, exam: str, subject: str, grade: int | None, level: str,
          school: str | None, view: str, flagged_only: bool, fmt: str, out: Path | None,
          min_n: int) -> None:
    """试题分析:得分率、难度、区分度、题总相关、α(删除该题)、选项 / item statistics.

    Flags (标记): too_easy P>.90, too_hard P<.20, weak_discrimination D<.20,
    negative_discrimination, possible_wrong_key, attractive_distractor, many_omissions.
    """
    common: dict[str, Any] = {"exam": exam, "subject": subject, "grade": grade, "level": level,
              "school": school}
    with reader(ctx) as wh:
        if view == "options":
            frame = items_mod.option_analysis(wh, **common)
        else:
            frame = items_mod.item_stats(wh, **common)
            if flagged_only:
                frame = frame[frame["flags"] != ""]
    emit(frame, fmt, out, min_n=min_n, sheet=f"items_{view}")


@stats_group.command("paper")
@paper_options
@_level_option("school")
@school_option
@click.option("--view", type=click.Choice(["summary", "spec", "knowledge", "cognitive",
                                           "type"]),
              default="summary", show_default=True,
              help="summary: α、SEM、难度与区分度分布; spec: 双向细目表(计划与实得); "
                   "knowledge/cognitive/type: 各层级知识点/认知层次/题型得分率 / the quality "
                   "summary, the specification table, or score rates per knowledge point, "
                   "cognitive level or item type.")
@output_options
@click.pass_context
def paper(ctx: click.Context, exam: str, subject: str, grade: int | None, level: str,
          school: str | None, view: str, fmt: str, out: Path | None, min_n: int) -> None:
    """试卷质量分析:n, k, 平均分, 标准差, α, SEM 等 / paper quality report."""
    common: dict[str, Any] = {"exam": exam, "subject": subject, "grade": grade}
    with reader(ctx) as wh:
        if view == "summary":
            frame = paper_mod.paper_quality(wh, **common, level=level, school=school)
        elif view == "spec":
            frame = paper_mod.specification_table(wh, **common)
        else:
            grain = {"knowledge": "knowledge_point", "cognitive": "cognitive_level",
                     "type": "item_type"}[view]
            frame = paper_mod.category_rates(wh, **common, grain=grain, levels=(level,),
                                             school=school)
    emit(frame, fmt, out, min_n=min_n, sheet=f"paper_{view}")
