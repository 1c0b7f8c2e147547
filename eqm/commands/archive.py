"""`eqm archive add|search|show|note|link|export`: the question archive (命题档案)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd

from analytics import snapshot
from analytics.archive import (
    add_note,
    archive_item,
    archive_paper,
    export_paper_archive,
    link_item,
    read_item_content,
    search_archive,
)
from analytics.display import prepare
from analytics.domain import label
from analytics.domain.items import ITEM_TYPES
from eqm.output import (
    current_digits,
    digits_option,
    emit,
    format_option,
    min_n_option,
    out_option,
    output_options,
)
from eqm.warehouse import reader, writer

_TYPE_NAMES_ZH = "/".join(label("item_type", t) for t in ITEM_TYPES)
SEARCH_TABLE_COLUMNS = [
    "bank_item_id", "subject", "grade", "item_type", "label", "knowledge_points", "answer_key",
    "max_score", "n_administrations", "last_exam", "n", "score_rate", "discrimination",
    "difficulty_band", "note_version", "stem_text",
]

exam_options = [
    click.option("--exam", required=True, help="考试名称 / exam name."),
    click.option("--subject", required=True, help="科目 / subject."),
    click.option("--grade", type=int, default=None, help="年级(考试含多个年级时)/ grade."),
]


def _paper_options(f):
    for opt in reversed(exam_options):
        f = opt(f)
    return f


@click.group("archive")
def archive_group() -> None:
    """命题档案:试题、答案、作答结果、出错原因分析 / the question archive."""


@archive_group.command("add")
@_paper_options
@click.option("--content", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None,
              help="试题内容表 (题号, 题干, 选项A…, 解析, 图片, 预估难度) / item content file.")
@format_option
@out_option
@click.pass_context
def add(ctx: click.Context, exam: str, subject: str, grade: int | None, content: Path | None,
        fmt: str, out: Path | None) -> None:
    """将已导入试卷的小题入档并记录本次统计 / enter a paper's items and this administration's
    statistics into the archive (reused items are linked, not duplicated)."""
    frame = read_item_content(content) if content is not None else None
    with writer(ctx) as wh:
        result = archive_paper(wh, exam=exam, subject=subject, grade=grade, content=frame)
        snapshot.publish_if_served(wh)  # a running dashboard sees the change
    counts = result["link_method"].value_counts()
    click.echo(f"已入档 {len(result)} 题 / archived {len(result)} items: "
               f"新增 new {counts.get('new', 0)}, 按题干关联 linked by stem "
               f"{counts.get('stem', 0)}, 按属性关联 linked by metadata "
               f"{counts.get('metadata', 0)}, 手工 manual {counts.get('manual', 0)}", err=True)
    emit(result, fmt, out, min_n=0)


@archive_group.command("search")
@click.option("--subject", default=None, help="科目 / subject.")
@click.option("--grade", type=int, default=None, help="年级 / grade.")
@click.option("--knowledge-point", default=None, help="知识点(包含)/ knowledge point (substring).")
@click.option("--type", "item_type", default=None,
              help=f"题型 {'|'.join(ITEM_TYPES)} 或 {_TYPE_NAMES_ZH} (或其他别名 / or an alias).")
@click.option("--difficulty", default=None,
              help="难度 very_easy|easy|medium|hard|very_hard 或 容易/较易/中等/较难/难.")
@click.option("--text", default=None, help="全文检索(题干、解析、分析)/ text search.")
@output_options
@click.pass_context
def search(ctx: click.Context, subject: str | None, grade: int | None,
           knowledge_point: str | None, item_type: str | None, difficulty: str | None,
           text: str | None, fmt: str, out: Path | None, min_n: int) -> None:
    """检索档案试题 / search the archive."""
    with reader(ctx) as wh:
        frame = search_archive(wh, subject=subject, grade=grade,
                               knowledge_point=knowledge_point, item_type=item_type,
                               difficulty=difficulty, text=text)
    if fmt == "table":
        frame = frame[SEARCH_TABLE_COLUMNS].assign(
            stem_text=frame["stem_text"].map(
                lambda s: s if not isinstance(s, str) or len(s) <= 30 else s[:29] + "…"))
    if frame.empty:
        click.echo("没有符合条件的试题 / no matching items", err=True)
    emit(frame, fmt, out, min_n=min_n, sheet="archive")


@archive_group.command("show")
@click.argument("item_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@digits_option
@click.pass_context
def show(ctx: click.Context, item_id: int, fmt: str) -> None:
    """显示一道档案试题的全部信息 / show everything the archive holds about one item."""
    with reader(ctx) as wh:
        parts = archive_item(wh, item_id)
    digits = current_digits()
    if fmt == "json":
        data = {k: json.loads(prepare(v, min_n=0, digits=digits).to_json(
                    orient="records", force_ascii=False, date_format="iso",
                    double_precision=15))
                for k, v in parts.items()}
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    item = prepare(parts["item"], min_n=0, digits=digits).iloc[0]
    click.echo(f"档案编号 / bank item {item_id}")
    for col, value in item.items():
        if value is None or (isinstance(value, float) and pd.isna(value)):
            continue
        click.echo(f"  {col}: {value}")
    titles = {"administrations": "历次使用 / administrations", "options": "选项分布 / options",
              "groups": "分组得分率 / rates by group", "notes": "出错原因分析 / note history"}
    for key, title in titles.items():
        click.echo(f"\n{title}")
        if parts[key].empty:
            click.echo("  (无 / none)")
        else:
            emit(parts[key], "table", None, min_n=0 if key == "notes" else 5)


@archive_group.command("note")
@click.argument("item_id", type=int)
@click.option("--text", required=True, help="出错原因分析 / error-cause analysis.")
@click.option("--author", required=True, help="作者 / author.")
@click.option("--advice", default=None, help="教学建议 / teaching advice.")
@click.pass_context
def note(ctx: click.Context, item_id: int, text: str, author: str, advice: str | None) -> None:
    """为试题追加一版出错原因分析(历史保留)/ append a new version of an item's note."""
    with writer(ctx) as wh:
        version = add_note(wh, bank_item_id=item_id, text=text, author=author, advice=advice)
        snapshot.publish_if_served(wh)  # a running dashboard sees the change
    click.echo(f"已保存第 {version} 版 / saved version {version} of item {item_id}'s note")


@archive_group.command("link")
@_paper_options
@click.option("--item", "label", required=True, help="试卷上的题号 / item label on the paper.")
@click.option("--to", "bank_item_id", type=int, default=None,
              help="关联到的档案编号 / bank item to link to.")
@click.option("--new", "split", is_flag=True,
              help="拆分为新的档案试题(撤销错误关联)/ split off into a new bank item.")
@click.pass_context
def link(ctx: click.Context, exam: str, subject: str, grade: int | None, label: str,
         bank_item_id: int | None, split: bool) -> None:
    """手工关联或拆分档案试题 / link an administration to a bank item, or split it off."""
    if (bank_item_id is None) == (not split):
        raise click.UsageError("请给出 --to ID 或 --new 之一 / give exactly one of --to ID, --new")
    with writer(ctx) as wh:
        target = link_item(wh, exam=exam, subject=subject, grade=grade, label=label,
                           bank_item_id=None if split else bank_item_id)
        snapshot.publish_if_served(wh)  # a running dashboard sees the change
    click.echo(f"第{label}题 → 档案编号 {target} / item {label} → bank item {target}")


@archive_group.command("export")
@_paper_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="输出文件 .xlsx 或 .html / output file (.xlsx workbook or .html A4 page).")
@min_n_option
@digits_option
@click.pass_context
def export(ctx: click.Context, exam: str, subject: str, grade: int | None, out: Path,
           min_n: int) -> None:
    """导出试卷命题档案 (Excel 或可打印 HTML) / export a paper's archive."""
    with reader(ctx) as wh:
        path = export_paper_archive(wh, exam=exam, subject=subject, grade=grade, out=out,
                                    min_n=min_n, digits=current_digits())
    click.echo(f"wrote {path}")


def register(cli: click.Group) -> None:
    """Add ``eqm archive`` to the top-level command group."""
    if "archive" not in cli.commands:
        cli.add_command(archive_group)
