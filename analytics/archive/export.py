"""The paper archive's export: an Excel workbook and a printable A4 HTML page."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.archive.names import DIFFICULTY_ZH, GROUP_ORDER, GROUP_ZH, ITEM_TYPE_ZH
from analytics.archive.read import paper_archive, paper_archive_groups, paper_archive_options
from analytics.display import (
    DEFAULT_MIN_N,
    round_for_display,
    round_significant,
    suppress_small,
    text_not_formulas,
)
from analytics.domain.labels import label
from analytics.errors import InputError
from analytics.hotspots import district_weak_points, error_hotspots
from analytics.lookup import resolve_paper
from analytics.warehouse import Warehouse

# -- export ---------------------------------------------------------------------------------------

HEADERS_ZH: dict[str, str] = {
    "item_number": "序号", "item_label": "题号", "bank_item_id": "档案编号",
    "item_type": "题型", "knowledge_points": "知识点", "cognitive_level": "认知层次",
    "max_score": "分值", "answer_key": "答案", "stem_text": "题干", "option_texts": "选项",
    "solution_notes": "解析", "n": "人数", "mean_score": "平均分", "score_rate": "得分率",
    "difficulty_band": "难度等级", "discrimination": "区分度", "upper_rate": "高分组得分率",
    "lower_rate": "低分组得分率", "omit_rate": "未作答率", "wrong_option_1": "主要错误选项",
    "wrong_option_1_share": "选择比例", "wrong_option_2": "次要错误选项",
    "wrong_option_2_share": "选择比例(次)", "n_administrations": "使用次数",
    "first_exam": "首次使用", "note_version": "分析版本", "note_author": "分析人",
    "cause_text": "出错原因分析", "advice": "教学建议", "option": "选项", "is_key": "是否答案",
    "share": "选择比例", "upper_share": "高分组比例", "lower_share": "低分组比例",
    "group_kind": "分组", "group_value": "组别", "rank": "排序", "school_name": "学校",
    "zone_name": "片区", "unit_rate": "本校得分率", "district_rate": "全区得分率",
    "gap": "差距", "q_value": "q值", "n_items": "题数", "wrong_option": "主要错误选项",
    "wrong_option_share": "选择比例", "ci_low": "下限", "ci_high": "上限",
}
GROUP_KIND_ZH = {kind: label("group_kind", kind) for kind in GROUP_ORDER}


def _zh(frame: pd.DataFrame) -> pd.DataFrame:
    """Translate codes (types, bands, groups, booleans) and headers to Chinese."""
    f = frame.copy()
    if "item_type" in f.columns:
        f["item_type"] = f["item_type"].map(ITEM_TYPE_ZH).fillna(f["item_type"])
    if "difficulty_band" in f.columns:
        f["difficulty_band"] = f["difficulty_band"].map(DIFFICULTY_ZH)
    if "group_kind" in f.columns:
        f["group_kind"] = f["group_kind"].map(GROUP_KIND_ZH)
    if "group_value" in f.columns:
        f["group_value"] = f["group_value"].map(GROUP_ZH).fillna(f["group_value"])
    if "is_key" in f.columns:
        f["is_key"] = np.where(f["is_key"].astype(bool), "是", "")
    if "option_texts" in f.columns:
        f["option_texts"] = f["option_texts"].map(_options_line)
    return f.rename(columns=HEADERS_ZH)


def _options_line(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    try:
        d = json.loads(value)
    except (TypeError, ValueError):
        return str(value)
    return "  ".join(f"{k}. {v}" for k, v in d.items()) if isinstance(d, dict) else str(value)


def archive_report(wh: Warehouse, *, exam: str, subject: str, grade: int | None = None,
                   min_n: int = DEFAULT_MIN_N, digits: int | None = None) -> dict[str, Any]:
    """The pieces of a paper's archive export, rounded and suppressed for display
    (``digits``: to that many significant digits instead, :func:`analytics.display.prepare`).

    Returns
    -------
    dict
        ``paper`` (dict: exam, subject, grade, full_score, n_students, n_items, mean, score_rate,
        exported_at), and frames with Chinese headers: ``items`` (试题与答案), ``results``
        (作答结果), ``group_rates`` (分组得分率: grade bands, gender, ownership, locality
        side by side; groups below ``min_n`` blanked), ``options`` (选项分布), ``errors``
        (主要出错点: the items with the lowest rates and their main wrong answers),
        ``weak_knowledge_points`` (知识点得分率), ``hotspots`` (学校出错点: flagged school ×
        item rows of :func:`analytics.hotspots.error_hotspots`), ``notes`` (出错原因分析).
    """
    paper = resolve_paper(wh, exam, subject, grade)
    arch = paper_archive(wh, exam=exam, subject=subject, grade=grade)
    groups = suppress_small(paper_archive_groups(wh, exam=exam, subject=subject, grade=grade),
                            min_n=min_n)
    options = paper_archive_options(wh, exam=exam, subject=subject, grade=grade)
    summary = wh.df("SELECT count(*) AS n, avg(total) AS mean FROM paper_results "
                    "WHERE paper_id = $p AND status = 'present'", {"p": paper.paper_id})
    n_students = int(summary["n"].iloc[0])
    mean = float(summary["mean"].iloc[0]) if n_students else float("nan")
    info = {"exam": paper.exam, "subject": paper.subject, "grade": paper.grade,
            "full_score": paper.full_score, "n_students": n_students, "n_items": len(arch),
            "mean": round(mean, 2) if n_students else None,
            "score_rate": round(mean / paper.full_score, 3) if n_students else None,
            "exported_at": datetime.now().strftime("%Y-%m-%d %H:%M")}

    def show(frame: pd.DataFrame) -> pd.DataFrame:
        kept = suppress_small(frame, min_n=min_n)
        return round_for_display(kept) if digits is None else round_significant(kept, digits)

    items = arch[["item_number", "item_label", "item_type", "knowledge_points",
                  "cognitive_level", "max_score", "answer_key", "stem_text", "option_texts",
                  "solution_notes", "bank_item_id", "n_administrations", "first_exam"]]
    results = arch[["item_number", "item_label", "n", "mean_score", "score_rate",
                    "difficulty_band", "discrimination", "upper_rate", "lower_rate",
                    "omit_rate"]]
    group_rates = arch[["item_number", "item_label"]]
    if not groups.empty:
        g = groups.assign(col=groups["group_value"].map(GROUP_ZH).fillna(groups["group_value"])
                          + "得分率")
        order = [GROUP_ZH.get(v, v) + "得分率" for kind in GROUP_ORDER
                 for v in sorted(groups.loc[groups["group_kind"] == kind, "group_value"]
                                 .unique())]
        wide = g.pivot(index="item_label", columns="col", values="score_rate")[order]
        wide = wide.add_prefix("rate_").reset_index()
        group_rates = group_rates.merge(wide, on="item_label", how="left")
    errors = arch.sort_values(["score_rate", "item_number"])[
        ["item_number", "item_label", "knowledge_points", "score_rate", "difficulty_band",
         "wrong_option_1", "wrong_option_1_share", "wrong_option_2", "wrong_option_2_share",
         "cause_text"]]
    hot = error_hotspots(wh, exam=exam, subject=subject, grade=grade, level="school")
    hot = hot[hot["flag"]].sort_values(["school_id", "item_number"])[
        ["zone_name", "school_name", "item_label", "knowledge_points", "n", "unit_rate",
         "district_rate", "gap", "q_value", "wrong_option", "wrong_option_share"]]
    notes = arch[["item_number", "item_label", "note_version", "note_author", "cause_text",
                  "advice"]]
    rates = show(group_rates)
    rates.columns = [c[5:] if c.startswith("rate_") else c for c in rates.columns]
    return {
        "paper": info,
        "items": _zh(show(items)),
        "results": _zh(show(results)),
        "group_rates": _zh(rates),
        "options": _zh(show(options)),
        "errors": _zh(show(errors)),
        "hotspots": _zh(show(hot)),
        "notes": _zh(notes),
        "weak_knowledge_points": _zh(show(district_weak_points(
            wh, exam=exam, subject=subject, grade=grade, grain="knowledge_point").rename(
                columns={"knowledge_point": "knowledge_points"}))),
    }


SHEETS = (("items", "试题与答案"), ("results", "作答结果"), ("group_rates", "分组得分率"),
          ("options", "选项分布"),
          ("errors", "主要出错点"), ("weak_knowledge_points", "知识点得分率"),
          ("hotspots", "学校出错点"), ("notes", "出错原因分析"))


def export_paper_archive(wh: Warehouse, *, exam: str, subject: str, out: str | Path,
                         grade: int | None = None, min_n: int = DEFAULT_MIN_N,
                         digits: int | None = None) -> Path:
    """Write a paper's archive as an Excel workbook (``.xlsx``) or a printable A4 HTML page
    (``.html``), chosen by the suffix of ``out``. Numbers are rounded for display (2 decimals,
    3 for rates), or to ``digits`` significant digits (at most 15) when given.

    Returns
    -------
    Path
        The path written.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".html", ".htm"):
        raise InputError(f"只支持 .xlsx 或 .html:{out.name} / export to .xlsx or .html, "
                         f"not {out.suffix!r}")
    rep = archive_report(wh, exam=exam, subject=subject, grade=grade, min_n=min_n,
                         digits=digits)
    if suffix == ".xlsx":
        _write_xlsx(rep, out)
    else:
        out.write_text(render_html(rep), encoding="utf-8")
    return out


def _write_xlsx(rep: dict[str, Any], out: Path) -> None:
    info = rep["paper"]
    cover = pd.DataFrame({
        "项目": ["考试", "科目", "年级", "满分", "实考人数", "小题数", "平均分", "得分率",
                 "导出时间"],
        "内容": [info["exam"], info["subject"], info["grade"], info["full_score"],
                 info["n_students"], info["n_items"], info["mean"], info["score_rate"],
                 info["exported_at"]],
    })
    cover["内容"] = cover["内容"].astype(object).map(lambda v: "" if v is None else v)
    with pd.ExcelWriter(out, engine="openpyxl") as xw:
        cover.to_excel(xw, sheet_name="试卷信息", index=False)
        for key, name in SHEETS:
            rep[key].to_excel(xw, sheet_name=name, index=False)
        text_not_formulas(xw.book)  # imported item text starting with '=' stays text
        for ws in xw.book.worksheets:
            ws.freeze_panes = "A2"
            for col in ws.columns:
                width = max(len(str(c.value)) if c.value is not None else 0 for c in col)
                ws.column_dimensions[col[0].column_letter].width = min(60, max(8, width + 2))


def render_html(rep: dict[str, Any]) -> str:
    """Render the report dict of :func:`archive_report` with ``templates/archive_paper.html``."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("analytics", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True, lstrip_blocks=True,
    )

    def table(frame: pd.DataFrame) -> dict[str, Any]:
        rows = frame.astype(object).where(frame.notna(), "").to_numpy().tolist()
        return {"columns": list(frame.columns), "rows": rows}

    sections = [(name, table(rep[key])) for key, name in SHEETS]
    return env.get_template("archive_paper.html").render(paper=rep["paper"], sections=sections)
