"""`eqm irt …`: IRT calibration, fit, person scores, information, DIF and linking.

Parameters as R's mirt reports them: logistic without the 1.702, P = 1/(1 + exp(−a(θ − b))),
θ ~ N(0, 1). Missing answers are missing by default (``--missing zero`` scores them 0).
Tables round for reading; ``--format csv`` and ``json`` keep full precision.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pandas as pd

from analytics import irt as irt_mod
from analytics.errors import InputError
from eqm.output import emit, output_options, paper_options, subject_option
from eqm.warehouse import reader, republish, writer


@click.group("irt")
def irt_group() -> None:
    """项目反应理论:定标、拟合、能力值、信息量、DIF、链接 / IRT: items, scores, DIF, links."""


def register(cli: click.Group) -> None:
    """Add ``eqm irt`` to the top-level command group."""
    if "irt" not in cli.commands:
        cli.add_command(irt_group)


model_option = click.option(
    "--model", type=click.Choice(["rasch", "2pl", "3pl", "grm", "gpcm", "auto"]), default="2pl",
    show_default=True,
    help="模型(多级计分题:2pl/3pl/grm/auto 用 GRM,gpcm/rasch 用 GPCM)/ the model of the "
         "dichotomous items; polytomous items get GRM or GPCM.")
missing_option = click.option(
    "--missing", type=click.Choice(["missing", "zero"]), default="missing", show_default=True,
    help="未作答:按缺失处理(默认)或记 0 分 / a NULL score is missing (default) or 0.")


def _emit(frame: pd.DataFrame, fmt: str, out: Path | None, min_n: int, sheet: str) -> None:
    emit(frame, fmt, out, min_n=min_n, raw=fmt in ("csv", "json"), sheet=sheet)


def _paper_command(name: str, fn: Callable[..., pd.DataFrame], doc: str) -> None:
    @irt_group.command(name, help=doc)
    @paper_options
    @model_option
    @missing_option
    @output_options
    @click.pass_context
    def command(ctx: click.Context, exam: str, subject: str, grade: int | None, model: str,
                missing: str, fmt: str, out: Path | None, min_n: int) -> None:
        with reader(ctx) as wh:
            frame = fn(wh, exam=exam, subject=subject, grade=grade, model=model,
                       missing=missing)
        _emit(frame, fmt, out, min_n, f"irt_{name}")


@irt_group.command("items")
@paper_options
@model_option
@missing_option
@click.option("--save", is_flag=True,
              help="把参数存入命题档案(irt_parameters)/ keep the parameters in the archive.")
@output_options
@click.pass_context
def items_command(ctx: click.Context, exam: str, subject: str, grade: int | None, model: str,
                  missing: str, save: bool, fmt: str, out: Path | None, min_n: int) -> None:
    """小题参数 a, b, c, b_1…(及标准误)/ item parameters with standard errors."""
    kw: dict[str, Any] = {"exam": exam, "subject": subject, "grade": grade, "model": model,
                          "missing": missing}
    if save:
        with writer(ctx) as wh:
            irt_mod.save_irt_parameters(wh, **kw)
        republish(ctx)
    with reader(ctx) as wh:
        frame = irt_mod.irt_items(wh, **kw)
    _emit(frame, fmt, out, min_n, "irt_items")

_paper_command("fit", irt_mod.irt_fit,
               "模型拟合:n, k, loglik, AIC, BIC, 迭代次数, 是否收敛 / the fit of the calibration.")
_paper_command("info", irt_mod.irt_information,
               "测验信息量与条件测量误差 / test information and conditional SEM by θ.")


@irt_group.command("scores")
@paper_options
@model_option
@missing_option
@click.option("--base-exam", default=None,
              help="换算到该基准考试的量尺(经锚题链接)/ put θ on this base exam's scale.")
@click.option("--method", type=click.Choice(["stocking-lord", "haebara", "mean-sigma",
                                             "mean-mean"]),
              default="stocking-lord", show_default=True, help="链接方法 / linking method.")
@click.option("--anchors", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="锚题对照表 CSV(base_item,item)/ CSV of base_item,item.")
@output_options
@click.pass_context
def scores_command(ctx: click.Context, exam: str, subject: str, grade: int | None, model: str,
                   missing: str, base_exam: str | None, method: str, anchors: Path | None,
                   fmt: str, out: Path | None, min_n: int) -> None:
    """学生能力值 θ(EAP、MAP、WLE)及标准误 / person scores (EAP, MAP, WLE) with SEs."""
    with reader(ctx) as wh:
        frame = irt_mod.irt_scores(wh, exam=exam, subject=subject, grade=grade, model=model,
                                   missing=missing, base_exam=base_exam, method=method,
                                   anchors=read_anchors(anchors) if anchors else None)
    _emit(frame, fmt, out, 0, "irt_scores")


@irt_group.command("dif")
@paper_options
@click.option("--group", type=click.Choice(["gender", "hukou", "locality", "ownership"]),
              default="gender", show_default=True,
              help="参照组/焦点组:男/女、本地/外地、城区/乡镇、公办/民办 / reference and focal "
                   "groups: M/F, local/nonlocal, urban/rural, public/private.")
@click.option("--method", type=click.Choice(["mh", "logistic"]), default="mh", show_default=True,
              help="Mantel–Haenszel(多级计分题用标准化均值差)或 logistic 回归 / "
                   "Mantel–Haenszel (polytomous: standardised mean difference) or logistic.")
@click.option("--purify/--no-purify", default=True, show_default=True,
              help="两阶段纯化匹配分 / two-stage purification of the matching score.")
@missing_option
@output_options
@click.pass_context
def dif_command(ctx: click.Context, exam: str, subject: str, grade: int | None, group: str,
                method: str, purify: bool, missing: str, fmt: str, out: Path | None,
                min_n: int) -> None:
    """项目功能差异(DIF):MH D-DIF、标准误、χ²、q 值、ETS 等级 A/B/C / DIF per item."""
    with reader(ctx) as wh:
        frame = irt_mod.irt_dif(wh, exam=exam, subject=subject, grade=grade, group=group,
                                method=method, purify=purify, missing=missing)
    _emit(frame, fmt, out, min_n, "irt_dif")


def read_anchors(path: Path) -> pd.DataFrame:
    """A CSV of base_item,item pairs (labels as printed)."""
    try:
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: 锚题文件无法读取 / the anchors file cannot be read "
                         f"({exc})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = {"base_item", "item"} - set(frame.columns)
    if missing:
        raise InputError(f"{path}: 缺少列 {sorted(missing)} / missing the columns "
                         f"{sorted(missing)} (base_item, item)")
    return frame


@irt_group.command("link")
@click.option("--exam", required=True, help="新考试 / the new exam.")
@click.option("--base-exam", required=True, help="基准考试 / the base exam (its scale is kept).")
@subject_option
@click.option("--grade", type=int, default=None, help="新考试的年级 / grade of the new paper.")
@click.option("--method", type=click.Choice(["stocking-lord", "haebara", "mean-sigma",
                                             "mean-mean", "concurrent"]),
              default="stocking-lord", show_default=True,
              help="链接方法(concurrent: 两卷同时定标)/ linking method (concurrent: one "
                   "calibration of both papers).")
@click.option("--anchors", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None,
              help="锚题对照表 CSV(列 base_item,item);默认用命题档案中关联的重复使用题 / "
                   "CSV of base_item,item; default: the reused items the archive links.")
@click.option("--drop-drifting", is_flag=True,
              help="剔除漂移的锚题后重新链接 / link again without the drifting anchors.")
@click.option("--view", type=click.Choice(["constants", "anchors"]), default="constants",
              show_default=True, help="constants: A, B 及标准误; anchors: 锚题与漂移 / the "
                                      "constants or the anchors with their drift.")
@model_option
@missing_option
@output_options
@click.pass_context
def link_command(ctx: click.Context, exam: str, base_exam: str, subject: str,
                 grade: int | None, method: str, anchors: Path | None, drop_drifting: bool,
                 view: str, model: str, missing: str, fmt: str, out: Path | None,
                 min_n: int) -> None:
    """把新考试的 θ 链接到基准考试的量尺:θ_base = A·θ_new + B / link two exams' scales."""
    kw: dict[str, Any] = {"exam": exam, "base_exam": base_exam, "subject": subject,
                          "grade": grade, "method": method, "drop_drifting": drop_drifting,
                          "model": model, "missing": missing,
                          "anchors": read_anchors(anchors) if anchors else None}
    with reader(ctx) as wh:
        fn = irt_mod.irt_link if view == "constants" else irt_mod.irt_anchors
        frame = fn(wh, **kw)
    _emit(frame, fmt, out, min_n, f"irt_link_{view}")
