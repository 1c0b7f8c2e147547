"""`eqm import roster|paper|scores|totals|survey FILE`: load files into the warehouse.

Exit codes: 0 loaded (or an identical file: no-op), 2 bad input (every problem listed with
file, row, column and reason), 1 internal error. File formats: docs/formats.md.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from analytics import snapshot
from analytics.errors import EqmError
from analytics.importers import (
    ImportResult,
    import_paper,
    import_roster,
    import_scores,
    import_survey,
    import_totals,
)
from eqm.output import exam_option, grade_option, options, subject_option
from eqm.warehouse import writer

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
mapping_option = click.option(
    "--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="TOML 表头映射文件 / TOML mapping file overriding header detection.")
sheet_option = click.option(
    "--sheet", default=None, help="XLSX 工作表名或序号(默认第一个)/ XLSX sheet name or number.")
# a results file of one paper: FILE, --exam, --subject
paper_file_options = options(click.argument("file", type=FILE), exam_option, subject_option)
# how the file is read: --mapping, --sheet
source_options = options(mapping_option, sheet_option)
quiet_option = click.option("--quiet", is_flag=True, help="不显示进度 / no stage messages.")
exam_level_option = click.option(
    "--level", type=click.Choice(["district", "city", "national", "school", "other"]),
    default="district", show_default=True, help="考试级别 / exam level.")


def _stage(quiet: bool) -> Callable[[str], None]:
    start = time.perf_counter()

    def say(msg: str) -> None:
        if not quiet:
            click.echo(f"[{time.perf_counter() - start:6.1f}s] {msg}", err=True)

    return say


def _run(ctx: click.Context, fn: Callable[..., ImportResult], *args: Any, **kwargs: Any) -> None:
    with writer(ctx) as wh:
        try:
            result = fn(wh, *args, **kwargs)
        except (EqmError, FileNotFoundError):
            raise
        except Exception as exc:  # an internal error: say so plainly, exit 1
            click.echo(f"内部错误,未导入任何数据 / internal error, nothing was imported: "
                       f"{type(exc).__name__}: {exc}", err=True)
            ctx.exit(1)
        click.echo(result.message)
        for warning in result.warnings:
            click.echo(f"警告 / warning: {warning}", err=True)
        if result.outcome in ("ok", "replaced"):
            # a running dashboard reads the published snapshot: give it the new data
            snapshot.publish_if_served(wh, say=lambda m: click.echo(m, err=True))


def register(cli: click.Group) -> None:
    @cli.group("import")
    def import_group() -> None:
        """导入文件 / import files (roster, paper, scores, totals, survey)."""

    @import_group.command("roster")
    @click.argument("file", type=FILE)
    @click.option("--district", default=None, help="区名(默认:唯一的区或「本区」)/ district name.")
    @source_options
    @click.pass_context
    def roster(ctx: click.Context, file: Path, district: str | None, mapping: Path | None,
               sheet: str | None) -> None:
        """导入名册(片区、学校、班级、学生)/ import a roster (zones, schools, classes, students)."""
        _run(ctx, import_roster, file, district=district, mapping=mapping, sheet=sheet)

    @import_group.command("paper")
    @paper_file_options
    @click.option("--grade", type=click.IntRange(1, 12), required=True, help="年级 / grade.")
    @click.option("--full-score", type=float, default=None,
                  help="满分(默认各题分值之和)/ full score (default: sum of item scores).")
    @click.option("--excellent", type=float, default=None, help="优秀线(分)/ excellent line.")
    @click.option("--pass", "pass_", type=float, default=None, help="及格线(分)/ pass line.")
    @click.option("--low", type=float, default=None, help="低分线(分)/ low-score line.")
    @click.option("--date", "exam_date", type=click.DateTime(["%Y-%m-%d"]), default=None,
                  help="考试日期 YYYY-MM-DD / exam date.")
    @exam_level_option
    @click.option("--term", default=None, help="学期,如 2025-2026-2 / term.")
    @source_options
    @click.pass_context
    def paper(ctx: click.Context, file: Path, exam: str, subject: str, grade: int,
              full_score: float | None, excellent: float | None, pass_: float | None,
              low: float | None, exam_date: dt.datetime | None, level: str, term: str | None,
              mapping: Path | None, sheet: str | None) -> None:
        """导入双向细目表 / import a specification table (双向细目表)."""
        _run(ctx, import_paper, file, exam=exam, subject=subject, grade=grade,
             full_score=full_score, excellent_line=excellent, pass_line=pass_, low_line=low,
             exam_date=exam_date.date() if exam_date else None, level=level, term=term,
             mapping=mapping, sheet=sheet)

    @import_group.command("scores")
    @paper_file_options
    @grade_option("年级(同一考试同一科目有多个年级时必填)/ grade, when needed.",
                  type=click.IntRange(1, 12))
    @source_options
    @quiet_option
    @click.pass_context
    def scores(ctx: click.Context, file: Path, exam: str, subject: str, grade: int | None,
               mapping: Path | None, sheet: str | None, quiet: bool) -> None:
        """导入网上阅卷小题得分(宽表)/ import a marking export (one column per item)."""
        _run(ctx, import_scores, file, exam=exam, subject=subject, grade=grade,
             mapping=mapping, sheet=sheet, progress=_stage(quiet))

    @import_group.command("totals")
    @paper_file_options
    @grade_option("年级(新建试卷时必填)/ grade (needed for a new paper).",
                  type=click.IntRange(1, 12))
    @click.option("--full-score", type=float, default=None,
                  help="满分(新建试卷时必填)/ full score (needed for a new paper).")
    @click.option("--date", "exam_date", type=click.DateTime(["%Y-%m-%d"]), default=None,
                  help="考试日期 / exam date.")
    @exam_level_option
    @source_options
    @quiet_option
    @click.pass_context
    def totals(ctx: click.Context, file: Path, exam: str, subject: str, grade: int | None,
               full_score: float | None, exam_date: dt.datetime | None, level: str,
               mapping: Path | None, sheet: str | None, quiet: bool) -> None:
        """导入总分(如入口成绩)/ import one total per student (e.g. entry scores)."""
        _run(ctx, import_totals, file, exam=exam, subject=subject, grade=grade,
             full_score=full_score, exam_date=exam_date.date() if exam_date else None,
             level=level, mapping=mapping, sheet=sheet, progress=_stage(quiet))

    @import_group.command("survey")
    @click.argument("file", type=FILE)
    @click.option("--survey", required=True, help="问卷名称 / questionnaire name.")
    @click.option("--grade", type=click.IntRange(1, 12), default=None, help="年级 / grade.")
    @source_options
    @click.pass_context
    def survey(ctx: click.Context, file: Path, survey: str, grade: int | None,
               mapping: Path | None, sheet: str | None) -> None:
        """导入学生问卷 / import questionnaire answers."""
        _run(ctx, import_survey, file, survey=survey, grade=grade, mapping=mapping,
             sheet=sheet)
