"""`eqm va`: value-added (增值评价) of schools or classes — the multilevel model and the simpler
methods side by side, multi-year pooling and year-to-year stability."""

from __future__ import annotations

import importlib
from pathlib import Path

import click
import pandas as pd

from analytics.errors import InputError
from eqm.output import cohort_options, emit, output_options
from eqm.warehouse import reader

# the package exports the function ``analytics.value_added``, which shadows the module name
va_mod = importlib.import_module("analytics.value_added")


def _pair(text: str) -> tuple[str, str]:
    if ":" not in text:
        raise InputError(f"--pool 的格式是 考试:入口考试 / --pool takes EXAM:PRIOR_EXAM, got "
                         f"{text!r}")
    exam, prior = text.split(":", 1)
    return exam.strip(), prior.strip()


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``category_label`` (Chinese) after ``category`` for display."""
    if "category" not in frame.columns:
        return frame
    out = frame.copy()
    out.insert(list(out.columns).index("category") + 1, "category_label",
               out["category"].map(va_mod.CATEGORY_LABELS))
    return out


def register(cli: click.Group) -> None:
    @cli.command("va")
    @cohort_options
    @click.option("--level", type=click.Choice(["school", "class"]), default="school",
                  show_default=True, help="学校或班级 / schools or classes.")
    @click.option("--scale", type=click.Choice(["z", "raw"]), default="z", show_default=True,
                  help="z: 考试×科目内标准化; raw: 原始分 / standardised within the paper or "
                       "raw points.")
    @click.option("--covariates", default="",
                  help="除入口成绩外的协变量,逗号分隔:gender,ses / covariates besides the "
                       "entry score, e.g. gender,ses.")
    @click.option("--method", type=click.Choice([*va_mod.METHODS, "all"]), default="mlm",
                  show_default=True,
                  help="mlm 多层模型; residual 入口定出口; zchange 标准分变化; "
                       "rankchange 名次变化; all 并列比较 / the multilevel model, the simple "
                       "methods, or all.")
    @click.option("--classes/--no-classes", default=None,
                  help="是否加入班级层随机截距(默认:有班级时加入)/ class-within-school level "
                       "(default: when classes exist).")
    @click.option("--min-effect", type=float, default=0.0, show_default=True,
                  help="“显著高于/低于预期”还需的最小效应 / minimum |va| for above/below.")
    @click.option("--pool", "pool", multiple=True,
                  help="多年合并:再加一对 考试:入口考试(可重复)/ pool with more EXAM:PRIOR "
                       "pairs (repeatable): precision-weighted multi-year VA.")
    @click.option("--stability", is_flag=True,
                  help="与 --pool 同用:输出逐年相关 / with --pool: year-to-year correlation.")
    @output_options
    @click.pass_context
    def va(ctx: click.Context, exam: str, prior_exam: str, subject: str, grade: int | None,
           level: str, scale: str, covariates: str, method: str, classes: bool | None,
           min_effect: float, pool: tuple[str, ...], stability: bool, fmt: str,
           out: Path | None, min_n: int) -> None:
        """增值评价:学校/班级的增值(EBLUP)、95%区间与类别 / value-added with 95% intervals.

        Columns: school (or class), n, n_missing_prior (no entry score: counted, not modelled),
        va, se, ci_low, ci_high, category (显著高于预期 / 符合预期 / 显著低于预期).
        """
        covs = [c.strip() for c in covariates.split(",") if c.strip()]
        with reader(ctx) as wh:
            if pool:
                pairs = [(exam, prior_exam), *(_pair(p) for p in pool)]
                if stability:
                    frame = va_mod.value_added_stability(wh, pairs=pairs, subject=subject,
                                                         grade=grade, scale=scale,
                                                         covariates=covs)
                    emit(frame, fmt, out, min_n=0, sheet="va_stability")
                    return
                frame = va_mod.value_added_pooled(wh, pairs=pairs, subject=subject, grade=grade,
                                                  scale=scale, covariates=covs,
                                                  min_effect=min_effect)
            elif method == "all":
                frame = va_mod.value_added_compare(wh, exam=exam, prior_exam=prior_exam,
                                                   subject=subject, grade=grade, level=level,
                                                   scale=scale, covariates=covs,
                                                   min_effect=min_effect)
            elif method == "mlm":
                res = va_mod.value_added_model(wh, exam=exam, prior_exam=prior_exam,
                                               subject=subject, grade=grade, level=level,
                                               scale=scale, covariates=covs,
                                               classes=classes, min_effect=min_effect)
                frame = res.effects
                f = res.fit
                click.echo(
                    f"REML: n={f.n}, 学校 schools={f.n_schools}, σ²={f.sigma2:.4g}, "
                    f"σ²_school={f.sigma2_school:.4g}, σ²_class={f.sigma2_class:.4g}, "
                    f"ICC={f.icc:.3f}; 缺入口成绩 missing entry score: {res.n_missing_prior}"
                    f"; 缺协变量 missing covariates: {res.n_missing_covariates}", err=True)
            else:
                frame = va_mod.value_added_simple(wh, exam=exam, prior_exam=prior_exam,
                                                  subject=subject, grade=grade, level=level,
                                                  scale=scale, method=method,
                                                  min_effect=min_effect)
        emit(with_labels(frame), fmt, out, min_n=min_n, sheet="value_added")
