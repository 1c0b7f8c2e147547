"""`eqm green`: the green indicators (绿色指标) and the reliability of the questionnaire scales;
`eqm progress`: cross-year progress (跨年度进步)."""

from __future__ import annotations

from pathlib import Path

import click

from analytics import green as green_mod
from analytics import progress as progress_mod
from eqm.output import emit, output_options
from eqm.warehouse import reader


def register(cli: click.Group) -> None:
    @cli.command("green")
    @click.option("--survey", default=None, help="问卷名称(只有一份时可省略)/ survey name.")
    @click.option("--exam", default=None,
                  help="学业水平、均衡、SES影响所用考试 / exam for attainment, equity, SES.")
    @click.option("--subject", default=None, help="科目 / subject (with --exam).")
    @click.option("--grade", type=int, default=None, help="年级 / grade.")
    @click.option("--level", type=click.Choice(["district", "zone", "school", "class"]),
                  default="school", show_default=True, help="层级 / level of the units.")
    @click.option("--scales", "scales", type=click.Path(exists=True, dir_okay=False,
                                                        path_type=Path), default=None,
                  help="量表配置 TOML(默认内置)/ scale configuration (default: packaged).")
    @click.option("--alpha", is_flag=True,
                  help="输出各量表的 Cronbach α / Cronbach's α of each scale instead.")
    @output_options
    @click.pass_context
    def green(ctx: click.Context, survey: str | None, exam: str | None, subject: str | None,
              grade: int | None, level: str, scales: Path | None, alpha: bool, fmt: str,
              out: Path | None, min_n: int) -> None:
        """绿色指标:学习动力、学业负担、师生关系、教学方式、身心健康、品德行为、学业水平、
        均衡、社会经济背景影响,等级 1–9 / the green indicators with levels 1–9.

        Level = clamp(floor(index × 10), 1, 9); see analytics/green_scales.toml for the items,
        reverse-keyed items, thresholds and sources.
        """
        cfg = green_mod.load_scales(scales)
        with reader(ctx) as wh:
            if alpha:
                frame = green_mod.scale_reliability(wh, survey=survey, grade=grade, config=cfg)
                emit(frame, fmt, out, min_n=0, sheet="alpha")
                return
            frame = green_mod.green_indicators(wh, survey=survey, exam=exam, subject=subject,
                                               grade=grade, level=level, config=cfg)
        emit(frame, fmt, out, min_n=min_n, sheet="green")

    @cli.command("progress")
    @click.option("--exams", required=True,
                  help="同一年级历年监测,按时间先后,逗号分隔 / the same grade's monitoring exams "
                       "in time order, comma-separated.")
    @click.option("--subject", required=True, help="科目 / subject.")
    @click.option("--grade", type=int, default=None, help="年级 / grade.")
    @click.option("--level", type=click.Choice(["zone", "school", "class"]), default="school",
                  show_default=True, help="层级 / level.")
    @click.option("--scale", type=click.Choice(["z", "irt"]), default="z", show_default=True,
                  help="z: 各次考试内标准化; irt: 经锚题链接到第一次考试的 θ 量尺 / standardised "
                       "within each exam, or θ linked to the first exam's scale.")
    @output_options
    @click.pass_context
    def progress(ctx: click.Context, exams: str, subject: str, grade: int | None, level: str,
                 scale: str, fmt: str, out: Path | None, min_n: int) -> None:
        """跨年度进步指数:各年标准化位置(平均z)及其变化 / cross-year progress of standing."""
        names = [e.strip() for e in exams.split(",") if e.strip()]
        with reader(ctx) as wh:
            frame = progress_mod.progress_index(wh, exams=names, subject=subject, grade=grade,
                                                level=level, scale=scale)
        emit(frame, fmt, out, min_n=min_n, sheet="progress")
