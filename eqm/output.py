"""Writing tidy frames for the CLI: table, csv, json or xlsx; rounding/suppression via
:func:`analytics.display.prepare` (the one place that does it)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pandas as pd

from analytics.display import (
    DEFAULT_MIN_N,
    csv_text_not_formulas,
    prepare,
    text_not_formulas,
)

FORMATS = ("table", "csv", "json", "xlsx")
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def renamed_option(old: str, new: str, **attrs: Any) -> Decorator:
    """The option ``old`` (``"--by"``), renamed ``--<new>`` in 0.2.0, still accepted: hidden from
    ``--help``, its value passed on as the parameter ``new`` with a one-line note on stderr.
    Removed in 0.3.0 (CHANGELOG.md). ``attrs`` are the new option's (``type``, …)."""
    dest = "renamed_" + old.lstrip("-").replace("-", "_")
    flag = "--" + new.replace("_", "-")

    def apply(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def inner(*args: Any, **kwargs: Any) -> Any:
            value = kwargs.pop(dest, None)
            if value is not None:
                click.echo(f"注意:{old} 已改名为 {flag} / note: {old} is now {flag} "
                           f"({old} goes in 0.3.0)", err=True)
                kwargs[new] = value
            return f(*args, **kwargs)
        return click.option(old, dest, hidden=True, default=None, **attrs)(inner)
    return apply


def options(*decorators: Decorator) -> Decorator:
    """Several click options (or arguments) as one decorator, listed in the order given."""
    def apply(f: Callable[..., Any]) -> Callable[..., Any]:
        for decorate in reversed(decorators):
            f = decorate(f)
        return f
    return apply


format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
    help="Output format.",
)
out_option = click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write to this file instead of standard output (required for xlsx).",
)
min_n_option = click.option(
    "--min-n", type=int, default=DEFAULT_MIN_N, show_default=True,
    help="Suppress statistics of groups smaller than this.",
)
# --format, --out and --min-n: every command that prints a table
output_options = options(format_option, out_option, min_n_option)

exam_option = click.option("--exam", required=True, help="考试名称 / exam name.")
subject_option = click.option("--subject", required=True, help="科目 / subject.")


def grade_option(help: str = "年级(考试含多个年级时)/ grade, when the exam spans grades.",
                 **kwargs: Any) -> Decorator:
    """``--grade`` (an int, default None) with its help text."""
    return click.option("--grade", **{"type": int, "default": None, "help": help, **kwargs})


# the paper an analysis reads: --exam, --subject, --grade
paper_options = options(exam_option, subject_option, grade_option())
# a cohort's two exams (value added, growth): --exam, --prior-exam, --subject, --grade
cohort_options = options(
    click.option("--exam", required=True, help="当前(出口)考试 / the current (exit) exam."),
    click.option("--prior-exam", required=True, help="入口考试 / the entry exam."),
    subject_option, grade_option("年级 / grade of the current paper."))


def emit(frame: pd.DataFrame, fmt: str = "table", out: Path | None = None,
         min_n: int = DEFAULT_MIN_N, raw: bool = False, sheet: str = "data") -> None:
    """Print or write ``frame``. ``raw=True`` skips rounding and suppression (csv/json only)."""
    shown = frame if raw else prepare(frame, min_n=min_n)
    if fmt == "xlsx":
        if out is None:
            raise click.UsageError("--format xlsx needs --out FILE.xlsx")
        with pd.ExcelWriter(out, engine="openpyxl") as xw:
            shown.to_excel(xw, index=False, sheet_name=sheet[:31])
            text_not_formulas(xw.book)  # imported names starting with '=' stay text
        click.echo(f"wrote {out} ({len(shown)} rows)")
        return
    if fmt == "csv":
        # names starting with = + - @ stay text in a spreadsheet (formula injection)
        text = csv_text_not_formulas(shown).to_csv(index=False)
    elif fmt == "json":
        text = shown.to_json(orient="records", force_ascii=False, indent=1)
    else:
        with pd.option_context("display.max_rows", 500, "display.max_columns", 50,
                               "display.width", 200, "display.unicode.east_asian_width", True):
            text = shown.to_string(index=False)
    if out is None:
        click.echo(text)
    else:
        Path(out).write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        click.echo(f"wrote {out} ({len(shown)} rows)")
