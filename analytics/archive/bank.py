"""Entering a paper into the bank; links, content and notes (the archive's writes)."""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from analytics.archive.fingerprints import meta_fingerprint, stem_fingerprint
from analytics.archive.names import CONTENT_FIELDS
from analytics.archive.sql import admin_groups_sql, paper_items_sql
from analytics.errors import InputError, NotFoundError
from analytics.items import paper_population_stats
from analytics.lookup import PaperRef, resolve_paper
from analytics.warehouse import Warehouse

# -- archiving a paper ---------------------------------------------------------------------------

def _json_or_none(value: Any, kind: str) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        v = value.strip()
        if not v:
            return None
        if kind == "images" and not v.startswith("["):
            return json.dumps([p.strip() for p in re.split(r"[;；\n]", v) if p.strip()],
                              ensure_ascii=False)
        try:
            json.loads(v)
        except ValueError as exc:
            raise InputError(f"不是合法的 JSON:{v[:40]} / not valid JSON: {v[:40]!r}") from exc
        return v
    return json.dumps(value, ensure_ascii=False)


def _content_by_label(content: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    if content is None or content.empty:
        return {}
    if "item_label" not in content.columns:
        raise InputError("试题内容表缺少「题号」列 / the content table needs an item_label column")
    out: dict[str, dict[str, Any]] = {}
    for rec in content.to_dict("records"):
        label = str(rec["item_label"]).strip()
        row: dict[str, Any] = {}
        for f in CONTENT_FIELDS:
            v = rec.get(f)
            if f == "option_texts":
                v = _json_or_none(v, "options")
            elif f == "image_paths":
                v = _json_or_none(v, "images")
            elif f == "intended_difficulty":
                v = None if v is None or pd.isna(v) else float(v)
                if v is not None and not 0 <= v <= 1:
                    raise InputError(f"第{label}题的预估难度须在 0–1 之间 / item {label}: "
                                     f"intended difficulty must be between 0 and 1, not {v}")
            else:
                v = None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
            if v is not None and v != "":
                row[f] = v
        out[label] = row
    return out


def _find_bank_item(wh: Warehouse, stem_fp: str | None, meta_fp: str,
                    taken: set[int]) -> tuple[int | None, str]:
    """The bank item to link to and how ('stem', 'metadata'), or (None, 'new')."""
    if stem_fp is not None:
        hit = wh.df("SELECT bank_item_id FROM bank_items WHERE stem_fingerprint = $f "
                    "ORDER BY bank_item_id", {"f": stem_fp})
        for b in hit["bank_item_id"]:
            if int(b) not in taken:
                return int(b), "stem"
        hit = wh.df("SELECT bank_item_id FROM bank_items WHERE meta_fingerprint = $f "
                    "AND stem_fingerprint IS NULL ORDER BY bank_item_id", {"f": meta_fp})
    else:
        hit = wh.df("SELECT bank_item_id FROM bank_items WHERE meta_fingerprint = $f "
                    "ORDER BY bank_item_id", {"f": meta_fp})
    for b in hit["bank_item_id"]:
        if int(b) not in taken:
            return int(b), "metadata"
    return None, "new"


def _insert_bank_item(wh: Warehouse, item: Mapping[Hashable, Any], paper: PaperRef,
                      content: Mapping[str, Any], stem_fp: str | None, meta_fp: str) -> int:
    new_id = int(wh.scalar("SELECT nextval('bank_item_id_seq')"))
    wh.execute(
        """
        INSERT INTO bank_items (bank_item_id, stem_fingerprint, meta_fingerprint, subject, grade,
            item_type, label, max_score, answer_key, options, option_texts, stem_text,
            solution_notes, image_paths, cognitive_level, intended_difficulty, source_exam)
        VALUES ($id, $sfp, $mfp, $subject, $grade, $type, $label, $max, $key, $options,
            $option_texts, $stem, $solution, $images, $cog, $diff, $exam)
        """,
        {"id": new_id, "sfp": stem_fp, "mfp": meta_fp, "subject": paper.subject,
         "grade": paper.grade, "type": item["item_type"], "label": item["label"],
         "max": float(item["max_score"]), "key": item["answer_key"], "options": item["options"],
         "option_texts": content.get("option_texts"), "stem": content.get("stem_text"),
         "solution": content.get("solution_notes"), "images": content.get("image_paths"),
         "cog": item["cognitive_level"], "diff": content.get("intended_difficulty"),
         "exam": paper.exam},
    )
    kps = list(item["knowledge_points"])
    if kps:
        wh.insert_df("bank_item_knowledge",
                     pd.DataFrame({"bank_item_id": new_id, "knowledge_point": kps}))
    return new_id


def _refresh_metadata(wh: Warehouse, bank_item_id: int, item: Mapping[Hashable, Any],
                      paper: PaperRef) -> None:
    """A re-imported specification table (e.g. a corrected key) updates the bank item's
    metadata, but only when this paper is the item's only use; a shared item is left alone."""
    others = wh.scalar("SELECT count(*) FROM bank_administrations WHERE bank_item_id = $b "
                       "AND paper_id <> $p", {"b": bank_item_id, "p": paper.paper_id})
    if int(others):
        return
    mfp = meta_fingerprint(paper.subject, paper.grade, str(item["label"]), item["item_type"],
                           item["answer_key"], item["knowledge_points"], item["max_score"])
    wh.execute("""
        UPDATE bank_items SET meta_fingerprint = $mfp, item_type = $type, max_score = $max,
               answer_key = $key, options = $options, cognitive_level = $cog
        WHERE bank_item_id = $b AND (meta_fingerprint <> $mfp
               OR cognitive_level IS DISTINCT FROM $cog OR options IS DISTINCT FROM $options)
    """, {"mfp": mfp, "type": item["item_type"], "max": float(item["max_score"]),
          "key": item["answer_key"], "options": item["options"],
          "cog": item["cognitive_level"], "b": bank_item_id})
    wh.execute("DELETE FROM bank_item_knowledge WHERE bank_item_id = $b", {"b": bank_item_id})
    kps = list(item["knowledge_points"])
    if kps:
        wh.insert_df("bank_item_knowledge",
                     pd.DataFrame({"bank_item_id": bank_item_id, "knowledge_point": kps}))


def _fill_content(wh: Warehouse, bank_item_id: int, content: Mapping[str, Any],
                  subject: str) -> None:
    """Set the content fields given (leaving the others), and the stem fingerprint."""
    if not content:
        return
    sets = {f: content[f] for f in CONTENT_FIELDS if f in content}
    if "stem_text" in sets:
        fp = stem_fingerprint(subject, sets["stem_text"])
        clash = wh.scalar("SELECT min(bank_item_id) FROM bank_items WHERE stem_fingerprint = $f "
                          "AND bank_item_id <> $id", {"f": fp, "id": bank_item_id})
        if clash is not None:
            raise InputError(
                f"题干与档案中第 {clash} 号试题相同,请用 link 关联 / the stem is the same as bank "
                f"item {clash}; link the administration to it instead")
        sets["stem_fingerprint"] = fp
    assign = ", ".join(f"{c} = ${c}" for c in sets)  # column names from CONTENT_FIELDS only
    wh.execute(f"UPDATE bank_items SET {assign}, updated_at = current_timestamp "
               "WHERE bank_item_id = $id", {**sets, "id": bank_item_id})


def archive_paper(
    wh: Warehouse,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    content: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Enter an imported paper's items into the archive and record this administration.

    Items already in the bank (same stem fingerprint, or same metadata fingerprint when there is
    no stem) are linked, not duplicated. Running it again for the same paper refreshes the
    statistics and keeps the links (and any manual re-links).

    Parameters
    ----------
    wh : Warehouse
    exam, subject : str
    grade : int, optional
    content : pandas.DataFrame, optional
        Item content by ``item_label``: stem_text, option_texts (JSON object or dict letter →
        text), solution_notes, image_paths (JSON array, list or ';'-separated), and
        intended_difficulty (0–1). See :func:`read_item_content`.

    Returns
    -------
    pandas.DataFrame
        One row per item of the paper: item_number, item_label, bank_item_id, link_method
        (new | stem | metadata | manual), n, score_rate, discrimination.
    """
    paper = resolve_paper(wh, exam, subject, grade)
    params = {"paper_id": paper.paper_id}
    items = wh.df(paper_items_sql(), params)
    if items.empty:
        raise NotFoundError(f"试卷「{exam} {subject}」没有双向细目表,无法入档 / paper {exam!r} "
                            f"{subject!r} has no specification table; import it first")
    for col in ("label", "item_type", "answer_key", "options", "cognitive_level"):
        items[col] = items[col].astype(object).where(items[col].notna(), None)
    items["knowledge_points"] = items["knowledge_points"].map(
        lambda v: [] if v is None or (not isinstance(v, (list, np.ndarray))) else list(v))
    by_label = _content_by_label(content)
    unknown = sorted(set(by_label) - set(items["label"]))
    if unknown:
        raise InputError(f"试题内容表中的题号不在试卷上:{', '.join(unknown)} / content rows for "
                         f"items not on the paper: {', '.join(unknown)}")
    sp = {"paper_id": paper.paper_id, "band_a": paper.band_a, "band_b": paper.band_b,
          "band_c": paper.band_c}
    stats, options = paper_population_stats(wh, paper)
    groups = wh.df(admin_groups_sql(), sp)
    exam_date = wh.scalar("SELECT exam_date FROM exams WHERE exam_id = $e", {"e": paper.exam_id})
    existing = wh.df("SELECT item_label, bank_item_id, link_method FROM bank_administrations "
                     "WHERE paper_id = $paper_id", params).set_index("item_label")

    with wh.transaction():
        links: list[tuple[str, int, str]] = []
        taken: set[int] = set(int(b) for b in existing["bank_item_id"])
        for it in items.to_dict("records"):
            label = str(it["label"])
            cont = by_label.get(label, {})
            if label in existing.index:
                bid = int(existing["bank_item_id"].loc[label])
                how = str(existing["link_method"].loc[label])
                _refresh_metadata(wh, bid, it, paper)
                _fill_content(wh, bid, cont, paper.subject)
            else:
                sfp = stem_fingerprint(paper.subject, cont.get("stem_text"))
                mfp = meta_fingerprint(paper.subject, paper.grade, label, it["item_type"],
                                       it["answer_key"], it["knowledge_points"], it["max_score"])
                found, how = _find_bank_item(wh, sfp, mfp, taken)
                if found is None:
                    bid = _insert_bank_item(wh, it, paper, cont, sfp, mfp)
                else:
                    bid = found
                    _fill_content(wh, bid, cont, paper.subject)
            taken.add(bid)
            links.append((label, bid, how))
        link = pd.DataFrame(links, columns=["label", "bank_item_id", "link_method"])
        _write_administration(wh, paper, exam_date, items, link, stats, options, groups)
    out = items[["number", "label", "item_id"]].merge(link, on="label").merge(
        stats[["item_id", "n", "score_rate", "discrimination"]], on="item_id", how="left")
    out = out.rename(columns={"number": "item_number", "label": "item_label"})
    return out[["item_number", "item_label", "bank_item_id", "link_method", "n", "score_rate",
                "discrimination"]]


def _write_administration(wh: Warehouse, paper: PaperRef, exam_date: Any, items: pd.DataFrame,
                          link: pd.DataFrame, stats: pd.DataFrame, options: pd.DataFrame,
                          groups: pd.DataFrame) -> None:
    pid = {"paper_id": paper.paper_id}
    for table in ("bank_administrations", "bank_admin_options", "bank_admin_groups"):
        wh.execute(f"DELETE FROM {table} WHERE paper_id = $paper_id", pid)
    meta = items[["item_id", "number", "label", "max_score", "item_type", "answer_key",
                  "options"]]
    adm = meta.merge(link, on="label").merge(
        stats[["item_id", "n", "mean_score", "score_rate", "omit_rate", "n_group", "upper_rate",
               "lower_rate", "discrimination"]], on="item_id", how="left")
    adm["n"] = adm["n"].fillna(0).astype("int64")
    adm["n_group"] = adm["n_group"].astype("Int64")
    frame = pd.DataFrame({
        "paper_id": paper.paper_id, "item_label": adm["label"],
        "bank_item_id": adm["bank_item_id"], "item_id": adm["item_id"],
        "item_number": adm["number"], "exam": paper.exam,
        "exam_date": exam_date, "subject": paper.subject, "grade": paper.grade,
        "max_score": adm["max_score"], "n": adm["n"], "mean_score": adm["mean_score"],
        "score_rate": adm["score_rate"], "omit_rate": adm["omit_rate"],
        "n_group": adm["n_group"], "upper_rate": adm["upper_rate"],
        "lower_rate": adm["lower_rate"],
        "discrimination": adm["discrimination"],
        "link_method": adm["link_method"],
    })
    wh.insert_df("bank_administrations", frame)

    # Options: every offered letter of the objective items, chosen or not, with its shares
    # overall and in Kelley's groups (option_analysis' table of the whole paper).
    opt = options.merge(adm[["item_id", "label"]], on="item_id")
    if not opt.empty:
        wh.insert_df("bank_admin_options", pd.DataFrame({
            "paper_id": paper.paper_id, "item_label": opt["label"], "option": opt["option"],
            "is_key": opt["is_key"], "n": opt["n_chosen"].astype("int64"),
            "share": opt["share"].fillna(0.0), "upper_share": opt["share_upper"],
            "lower_share": opt["share_lower"]}))
    g = groups[groups["group_value"].notna()].merge(adm[["item_id", "label"]], on="item_id")
    wh.insert_df("bank_admin_groups", pd.DataFrame({
        "paper_id": paper.paper_id, "item_label": g["label"], "group_kind": g["group_kind"],
        "group_value": g["group_value"], "n": g["n"].astype("int64"),
        "score_rate": g["score_rate"]}))


# -- links, content, notes -----------------------------------------------------------------------

def _require_archive(wh: Warehouse) -> None:
    """A clear error for a warehouse created before migration 002 and opened read-only."""
    if not wh.scalar("SELECT count(*) FROM information_schema.tables "
                     "WHERE table_name = 'bank_items'"):
        raise NotFoundError("数据库中没有命题档案表,请先运行 `eqm init` 升级 / the warehouse has "
                            "no archive tables; run `eqm init` to upgrade it")


def _check_bank_item(wh: Warehouse, bank_item_id: int) -> None:
    _require_archive(wh)
    if not wh.scalar("SELECT count(*) FROM bank_items WHERE bank_item_id = $id",
                     {"id": int(bank_item_id)}):
        raise NotFoundError(f"档案中没有第 {bank_item_id} 号试题 / no bank item {bank_item_id}")


def link_item(
    wh: Warehouse,
    *,
    exam: str,
    subject: str,
    label: str,
    grade: int | None = None,
    bank_item_id: int | None = None,
) -> int:
    """Link the administration of item ``label`` on a paper to another bank item.

    With ``bank_item_id=None`` the administration is split off into a new bank item (copying the
    metadata) — the way to undo a wrong automatic link. A bank item left with no administration
    and no note is removed.

    Returns
    -------
    int
        The bank item id now linked.
    """
    paper = resolve_paper(wh, exam, subject, grade)
    cur = wh.scalar("SELECT bank_item_id FROM bank_administrations WHERE paper_id = $p AND "
                    "item_label = $l", {"p": paper.paper_id, "l": str(label)})
    if cur is None:
        raise NotFoundError(f"第{label}题尚未入档,请先运行 `eqm archive add` / item {label} of "
                            f"this paper is not archived; run `eqm archive add` first")
    cur = int(cur)
    with wh.transaction():
        if bank_item_id is None:
            target = int(wh.scalar("SELECT nextval('bank_item_id_seq')"))
            wh.execute("""
                INSERT INTO bank_items (bank_item_id, meta_fingerprint, subject, grade,
                    item_type, label, max_score, answer_key, options, cognitive_level,
                    source_exam)
                SELECT $new, meta_fingerprint, subject, grade, item_type, $label, max_score,
                       answer_key, options, cognitive_level, $exam
                FROM bank_items WHERE bank_item_id = $old
            """, {"new": target, "old": cur, "label": str(label), "exam": paper.exam})
            wh.execute("INSERT INTO bank_item_knowledge SELECT $new, knowledge_point "
                       "FROM bank_item_knowledge WHERE bank_item_id = $old",
                       {"new": target, "old": cur})
        else:
            _check_bank_item(wh, bank_item_id)
            target = int(bank_item_id)
        wh.execute("UPDATE bank_administrations SET bank_item_id = $b, link_method = 'manual' "
                   "WHERE paper_id = $p AND item_label = $l",
                   {"b": target, "p": paper.paper_id, "l": str(label)})
        orphan = wh.scalar(
            "SELECT (SELECT count(*) FROM bank_administrations WHERE bank_item_id = $o) "
            "+ (SELECT count(*) FROM bank_notes WHERE bank_item_id = $o)", {"o": cur})
        if cur != target and int(orphan) == 0:
            wh.execute("DELETE FROM bank_item_knowledge WHERE bank_item_id = $o", {"o": cur})
            wh.execute("DELETE FROM bank_items WHERE bank_item_id = $o", {"o": cur})
    return target


def update_item_content(wh: Warehouse, bank_item_id: int, **content: Any) -> None:
    """Set content fields of a bank item: stem_text, option_texts, solution_notes, image_paths,
    intended_difficulty (others are refused). The stem fingerprint follows the stem."""
    bad = sorted(set(content) - set(CONTENT_FIELDS))
    if bad:
        raise InputError(f"不能修改的字段 / fields that cannot be set: {', '.join(bad)}")
    _check_bank_item(wh, bank_item_id)
    subject = str(wh.scalar("SELECT subject FROM bank_items WHERE bank_item_id = $id",
                            {"id": int(bank_item_id)}))
    row = _content_by_label(pd.DataFrame([{"item_label": "-", **content}]))["-"]
    with wh.transaction():
        _fill_content(wh, int(bank_item_id), row, subject)


def add_note(wh: Warehouse, *, bank_item_id: int, text: str, author: str,
             advice: str | None = None) -> int:
    """Append a new version of the item's error-cause note (出错原因分析) with teaching advice.

    Earlier versions are never changed or deleted.

    Returns
    -------
    int
        The new version number (1, 2, …).
    """
    if not text or not str(text).strip():
        raise InputError("出错原因分析不能为空 / the note text is empty")
    if not author or not str(author).strip():
        raise InputError("请注明作者 / the note needs an author")
    _check_bank_item(wh, bank_item_id)
    with wh.transaction():
        version = int(wh.scalar("SELECT coalesce(max(version), 0) + 1 FROM bank_notes "
                                "WHERE bank_item_id = $id", {"id": int(bank_item_id)}))
        wh.execute("INSERT INTO bank_notes (bank_item_id, version, author, cause_text, advice) "
                   "VALUES ($id, $v, $a, $t, $adv)",
                   {"id": int(bank_item_id), "v": version, "a": str(author).strip(),
                    "t": str(text).strip(), "adv": advice})
    return version


def note_history(wh: Warehouse, bank_item_id: int) -> pd.DataFrame:
    """All versions of an item's note, oldest first.

    Returns
    -------
    pandas.DataFrame
        bank_item_id, version, author, created_at, cause_text, advice.
    """
    _check_bank_item(wh, bank_item_id)
    return wh.df("SELECT bank_item_id, version, author, created_at, cause_text, advice "
                 "FROM bank_notes WHERE bank_item_id = $id ORDER BY version",
                 {"id": int(bank_item_id)})
