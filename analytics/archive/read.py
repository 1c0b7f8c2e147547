"""Reading the archive: search, one item's history, a paper's archive."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from analytics.archive.bank import _check_bank_item, _require_archive, note_history
from analytics.archive.names import _DIFFICULTY_ALIASES, _TYPE_ALIASES, DIFFICULTY_ZH, ITEM_TYPE_ZH
from analytics.archive.sql import bank_overview_sql, search_sql
from analytics.domain.params import fill_doc
from analytics.errors import InputError, NotFoundError
from analytics.lookup import resolve_paper
from analytics.stats.items import (
    difficulty_band_sql,
)
from analytics.warehouse import Warehouse

# -- reading the archive -------------------------------------------------------------------------

def _norm_choice(value: str | None, aliases: Mapping[str, str], codes: Iterable[str],
                 what_zh: str, what_en: str) -> str | None:
    if value is None:
        return None
    v = str(value).strip()
    if v in codes:
        return v
    if v in aliases:
        return aliases[v]
    choices = ", ".join(codes)
    raise InputError(f"未知的{what_zh}「{v}」,可选 {choices} 或 {'/'.join(aliases)} / "
                     f"unknown {what_en} {v!r}; choose one of {choices}")


def search_archive(
    wh: Warehouse,
    *,
    subject: str | None = None,
    grade: int | None = None,
    knowledge_point: str | None = None,
    item_type: str | None = None,
    difficulty: str | None = None,
    text: str | None = None,
) -> pd.DataFrame:
    """Search the bank; every filter is optional and they combine with AND.

    Parameters
    ----------
    subject : str, optional
    grade : int, optional
    knowledge_point : str, optional
        Substring of one of the item's knowledge points (函数 finds 二次函数).
    item_type : str, optional
        single | multiple | true_false | fill | constructed, or 单选/多选/判断/填空/解答.
    difficulty : str, optional
        Band of the latest administration's score rate (the intended difficulty when never
        used): very_easy (> .90) | easy (.70–.90) | medium (.40–.70) | hard (.20–.40) |
        very_hard (< .20), or 容易/较易/中等/较难/难.
    text : str, optional
        Case-insensitive substring of the label, stem, options, solution, knowledge points or
        the current note.

    Returns
    -------
    pandas.DataFrame
        One row per bank item: bank_item_id, subject, grade, item_type, label,
        knowledge_points, cognitive_level, max_score, answer_key, stem_text, option_texts,
        solution_notes, intended_difficulty, source_exam, n_administrations, last_exam, n
        (students in the latest administration), score_rate, discrimination (latest),
        note_version (0 = none), cause_text, advice (current note), difficulty_band.
    """
    _require_archive(wh)
    params = {
        "subject": subject, "grade": None if grade is None else int(grade),
        "item_type": _norm_choice(item_type, _TYPE_ALIASES, ITEM_TYPE_ZH, "题型", "item type"),
        "difficulty": _norm_choice(difficulty, _DIFFICULTY_ALIASES, DIFFICULTY_ZH,
                                   "难度", "difficulty band"),
        "kp": knowledge_point or None, "text": text or None,
    }
    return wh.df(search_sql(), params)


def archive_item(wh: Warehouse, bank_item_id: int) -> dict[str, pd.DataFrame]:
    """Everything the archive holds about one item.

    Returns
    -------
    dict of str → pandas.DataFrame
        ``item`` (one row, as :func:`search_archive` plus image_paths), ``administrations``
        (one row per use: exam, exam_date, paper_id, item_label, n, mean_score, score_rate,
        discrimination, upper_rate, lower_rate, omit_rate, link_method), ``options`` (per
        administration × answer: n, share, upper_share, lower_share, is_key), ``groups`` (per
        administration × group: group_kind, group_value, n, score_rate) and ``notes`` (the
        note history, :func:`note_history`).
    """
    _check_bank_item(wh, bank_item_id)
    p = {"id": int(bank_item_id)}
    item = wh.df(f"SELECT o.*, b.image_paths FROM ({bank_overview_sql()}) o JOIN bank_items b "
                 "USING (bank_item_id) WHERE o.bank_item_id = $id", p)
    adm = wh.df("SELECT exam, exam_date, paper_id, item_label, item_number, n, mean_score, "
                "score_rate, discrimination, upper_rate, lower_rate, omit_rate, link_method "
                "FROM bank_administrations WHERE bank_item_id = $id "
                "ORDER BY exam_date NULLS LAST, recorded_at", p)
    opts = wh.df("SELECT a.exam, o.item_label, o.option, o.is_key, o.n, o.share, "
                 "o.upper_share, o.lower_share FROM bank_admin_options o "
                 "JOIN bank_administrations a USING (paper_id, item_label) "
                 "WHERE a.bank_item_id = $id ORDER BY a.exam_date NULLS LAST, a.exam, o.option",
                 p)
    groups = wh.df("SELECT a.exam, g.group_kind, g.group_value, g.n, g.score_rate "
                   "FROM bank_admin_groups g JOIN bank_administrations a "
                   "USING (paper_id, item_label) WHERE a.bank_item_id = $id "
                   "ORDER BY a.exam_date NULLS LAST, a.exam, g.group_kind, g.group_value", p)
    return {"item": item, "administrations": adm, "options": opts, "groups": groups,
            "notes": note_history(wh, bank_item_id)}


def _wrong_options_text(opts: pd.DataFrame, top: int = 2) -> pd.DataFrame:
    """Per item label: the ``top`` most-chosen wrong answers and their shares (wide)."""
    w = opts[~opts["is_key"] & (opts["n"] > 0)].sort_values(
        ["item_label", "share", "option"], ascending=[True, False, True])
    w = w.assign(k=w.groupby("item_label").cumcount() + 1)
    w = w[w["k"] <= top]
    wide = w.pivot(index="item_label", columns="k", values=["option", "share"])
    wide.columns = [f"wrong_option_{k}" if c == "option" else f"wrong_option_{k}_share"
                    for c, k in zip(wide.columns.get_level_values(0),
                                    wide.columns.get_level_values(1), strict=True)]
    for k in range(1, top + 1):
        for c in (f"wrong_option_{k}", f"wrong_option_{k}_share"):
            if c not in wide.columns:
                wide[c] = np.nan
    cols = [c for k in range(1, top + 1) for c in (f"wrong_option_{k}",
                                                   f"wrong_option_{k}_share")]
    return wide[cols].reset_index()


def paper_archive(wh: Warehouse, *, exam: str, subject: str,
                  grade: int | None = None) -> pd.DataFrame:
    """The archive of one paper: one row per item with content, results and the current note.

    Returns
    -------
    pandas.DataFrame
        item_number, item_label, bank_item_id, item_type, knowledge_points, cognitive_level,
        max_score, answer_key, stem_text, option_texts, solution_notes, n, mean_score,
        score_rate, difficulty_band, discrimination, upper_rate, lower_rate, omit_rate,
        wrong_option_1, wrong_option_1_share, wrong_option_2, wrong_option_2_share,
        n_administrations (uses of the bank item so far), first_exam, note_version,
        note_author, cause_text, advice.
    """
    _require_archive(wh)
    paper = resolve_paper(wh, exam, subject, grade)
    p = {"paper_id": paper.paper_id}
    adm = wh.df(f"""
        SELECT a.item_number, a.item_label, a.bank_item_id, o.item_type, o.knowledge_points,
               o.cognitive_level, a.max_score, o.answer_key, o.stem_text, o.option_texts,
               o.solution_notes, a.n, a.mean_score, a.score_rate,
               {difficulty_band_sql("a.score_rate")} AS difficulty_band, a.discrimination,
               a.upper_rate, a.lower_rate, a.omit_rate, o.n_administrations,
               o.source_exam AS first_exam, o.note_version,
               (SELECT arg_max(author, version) FROM bank_notes nt
                 WHERE nt.bank_item_id = a.bank_item_id) AS note_author,
               o.cause_text, o.advice
        FROM bank_administrations a
        JOIN ({bank_overview_sql()}) o ON o.bank_item_id = a.bank_item_id
        WHERE a.paper_id = $paper_id
        ORDER BY a.item_number
    """, p)
    if adm.empty:
        raise NotFoundError(f"试卷「{exam} {subject}」尚未入档,请先运行 `eqm archive add` / "
                            f"paper {exam!r} {subject!r} is not archived; run "
                            "`eqm archive add` first")
    opts = wh.df("SELECT item_label, option, is_key, n, share FROM bank_admin_options "
                 "WHERE paper_id = $paper_id", p)
    wrong = _wrong_options_text(opts)
    out = adm.merge(wrong, on="item_label", how="left")
    cols = [*adm.columns[:19], *wrong.columns[1:], *adm.columns[19:]]
    return out[cols]


@fill_doc
def paper_archive_groups(wh: Warehouse, *, exam: str, subject: str,
                         grade: int | None = None) -> pd.DataFrame:
    """Score rates by group for each item of an archived paper (long).

    Parameters
    ----------
    {paper}

    Returns
    -------
    pandas.DataFrame
        item_number, item_label, group_kind, group_value, n, score_rate.
    """
    paper = resolve_paper(wh, exam, subject, grade)
    return wh.df("""
        SELECT a.item_number, g.item_label, g.group_kind, g.group_value, g.n, g.score_rate
        FROM bank_admin_groups g JOIN bank_administrations a USING (paper_id, item_label)
        WHERE g.paper_id = $paper_id
        ORDER BY a.item_number, g.group_kind, g.group_value
    """, {"paper_id": paper.paper_id})


def paper_archive_options(wh: Warehouse, *, exam: str, subject: str,
                          grade: int | None = None) -> pd.DataFrame:
    """Answer distribution of each objective item of an archived paper (long).

    Returns
    -------
    pandas.DataFrame
        item_number, item_label, option, is_key, n, share, upper_share, lower_share.
    """
    paper = resolve_paper(wh, exam, subject, grade)
    return wh.df("""
        SELECT a.item_number, o.item_label, o.option, o.is_key, o.n, o.share, o.upper_share,
               o.lower_share
        FROM bank_admin_options o JOIN bank_administrations a USING (paper_id, item_label)
        WHERE o.paper_id = $paper_id
        ORDER BY a.item_number, o.option
    """, {"paper_id": paper.paper_id})
