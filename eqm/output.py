"""Writing tidy frames for the CLI: table, csv, json or xlsx; rounding/suppression via
:func:`analytics.display.prepare` (the one place that does it)."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pandas as pd

from analytics.display import (
    DEFAULT_MIN_N,
    MAX_DIGITS,
    csv_text_not_formulas,
    prepare,
    round_significant,
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


DIGITS_KEY = "eqm.digits"  # where --digits leaves its value: the click context's meta


def _keep_digits(ctx: click.Context, _param: click.Parameter, value: int | None) -> None:
    if value is not None:
        ctx.meta[DIGITS_KEY] = value


digits_option = click.option(
    "--digits", type=click.IntRange(1, MAX_DIGITS), default=None, expose_value=False,
    callback=_keep_digits, is_eager=False,
    help=f"有效数字位数(最多 {MAX_DIGITS})/ significant digits of every number (1–{MAX_DIGITS}; "
         "default: 2 decimals, 3 for rates, in every format) — e.g. --digits 15 for csv/json "
         "that feed further analysis.",
)
_format_only = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
    help="Output format.",
)
# --format and --digits: every command that writes a table (emit reads --digits itself)
format_option = options(_format_only, digits_option)
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


def current_digits() -> int | None:
    """The command line's ``--digits`` (None when not given or outside a command)."""
    ctx = click.get_current_context(silent=True)
    value = ctx.meta.get(DIGITS_KEY) if ctx is not None else None
    return None if value is None else int(value)


def json_records(frame: pd.DataFrame) -> str:
    """``frame`` as a JSON array of records, floats written in their shortest round-trip form
    (``repr``: a value rounded to N significant digits shows N digits at most; pandas'
    ``to_json`` writes a fixed number of decimals instead), NaN and ±inf as null; the other
    columns as pandas writes them."""
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    rest = json.loads(frame.drop(columns=floats).to_json(orient="records", force_ascii=False,
                                                         date_format="iso"))
    values = {c: frame[c].to_numpy(dtype="float64", na_value=math.nan).tolist() for c in floats}
    records = []
    for i, base in enumerate(rest):
        row: dict[str, Any] = {}
        for col in frame.columns:
            if col in floats:
                v = values[col][i]
                row[str(col)] = v if math.isfinite(v) else None
            else:
                row[str(col)] = base[str(col)]
        records.append(row)
    return json.dumps(records, ensure_ascii=False, indent=1)


def emit(frame: pd.DataFrame, fmt: str = "table", out: Path | None = None,
         min_n: int = DEFAULT_MIN_N, raw: bool = False, sheet: str = "data",
         digits: int | None = None) -> None:
    """Print or write ``frame``. ``raw=True`` skips rounding and suppression (csv/json only).

    ``digits`` (default: the command line's ``--digits``): every number to that many
    significant digits instead of the display rounding (2 decimals, 3 for rates); small
    groups are suppressed either way.
    """
    digits = current_digits() if digits is None else digits
    if raw:
        shown = frame if digits is None else round_significant(frame, digits)
    else:
        shown = prepare(frame, min_n=min_n, digits=digits)
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
        # dates as ISO 8601 text (pandas' default, epoch milliseconds, changes in pandas 4)
        text = (shown.to_json(orient="records", force_ascii=False, indent=1, date_format="iso")
                if digits is None
                else json_records(shown))
    else:
        with pd.option_context("display.max_rows", 500, "display.max_columns", 50,
                               "display.width", 200, "display.unicode.east_asian_width", True):
            text = shown.to_string(index=False, float_format=None if digits is None
                                   else f"{{:.{digits}g}}".format)
    if out is None:
        click.echo(text)
    else:
        Path(out).write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        click.echo(f"wrote {out} ({len(shown)} rows)")
