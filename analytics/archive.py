"""The question archive (命题档案): an item bank with every administration's statistics and the
committee's error-cause notes (出错原因分析) kept as an append-only history.

Tables (migration ``002_archive.sql``): ``bank_items`` (+ ``bank_item_knowledge``),
``bank_administrations`` (one per use of an item on a paper), ``bank_admin_options``,
``bank_admin_groups`` and ``bank_notes``.

Entering a paper: :func:`archive_paper` registers each item of an imported paper and records the
administration's statistics. An item already in the bank is *linked*, not duplicated, when its
content fingerprint matches:

* with stem text (题干): ``sha256(subject | normalised stem)``; normalisation is NFKC, lower case,
  all white space and punctuation removed, so re-typed spacing or full-width commas still match;
* without stem text: ``sha256(subject | grade | label | type | key | sorted knowledge points |
  max score)``. This metadata match is deliberately strict (the label is part of it), so an item
  that moved position is not linked automatically — use :func:`link_item` — and two different
  items that happen to share all of these fields would be linked: check with ``eqm archive
  show`` and split them with :func:`link_item` (``bank_item_id=None``).

Statistics of an administration (computed in SQL over the present students):

* n, mean score, score rate 得分率 = mean / max (答对率 for 0/1 items; difficulty P), omission
  rate (NULL score);
* D = score rate of the upper 27 % − that of the lower 27 % by total score (Kelley 1939,
  *J. Educ. Psychol.* 30:17–24), the groups of :mod:`analytics.stats.items`: size
  floor(0.27 N + 0.5) (here at least 1); students are ordered by total, ties at the cut broken
  by ``student_key`` so both groups have exactly that size;
* per answer: count, share of all present students, and shares in the upper/lower groups;
* score rates by grade band A/B/C/D (from the paper's band lines on the total), gender,
  ownership (公办/民办) and locality (城区/乡镇).

Export (:func:`export_paper_archive`): an Excel workbook with Chinese headers and a printable A4
HTML page rendered from ``templates/archive_paper.html`` with Jinja2; numbers are rounded and
small groups suppressed by :mod:`analytics.display` only.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.display import (
    DEFAULT_MIN_N,
    round_for_display,
    suppress_small,
    text_not_formulas,
)
from analytics.domain.bands import DIFFICULTY_BANDS, GRADE_BANDS
from analytics.domain.items import ITEM_TYPE_ALIASES, ITEM_TYPES, OBJECTIVE_TYPES
from analytics.domain.labels import label
from analytics.errors import InputError, NotFoundError
from analytics.hotspots import district_weak_points, error_hotspots
from analytics.lookup import PaperRef, resolve_paper
from analytics.stats.items import (
    KELLEY_SHARE,
    difficulty_band_sql,
    kelley_rank_sql,
    kelley_size_sql,
)
from analytics.warehouse import Warehouse

# the vocabulary (codes, labels, aliases) is analytics.domain's
OBJECTIVE = OBJECTIVE_TYPES
ITEM_TYPE_ZH = {t: label("item_type", t) for t in ITEM_TYPES}
_TYPE_ALIASES = ITEM_TYPE_ALIASES
DIFFICULTY_ZH = {code: label("difficulty", code) for code in DIFFICULTY_BANDS}
_DIFFICULTY_ALIASES = {**{zh: code for code, zh in DIFFICULTY_ZH.items()},
                       "易": "very_easy", "中": "medium", "中档": "medium"}
GROUP_ZH = {code: label(kind, code) for kind, codes in (
    ("grade_band", GRADE_BANDS), ("gender", ("M", "F")), ("ownership", ("public", "private")),
    ("locality", ("urban", "rural"))) for code in codes}
GROUP_ORDER = ("band", "gender", "ownership", "locality")
CONTENT_FIELDS = ("stem_text", "option_texts", "solution_notes", "image_paths",
                  "intended_difficulty")


# -- fingerprints -------------------------------------------------------------------------------

def normalise_stem(text: str | None) -> str:
    """NFKC, lower case, white space and punctuation removed ('' for None/blank)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    t = unicodedata.normalize("NFKC", str(text)).lower()
    return "".join(ch for ch in t
                   if not unicodedata.category(ch).startswith(("P", "Z", "C")))


def _sha(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:32]


def stem_fingerprint(subject: str, stem: str | None) -> str | None:
    """Fingerprint of an item's content from its stem text; None when there is no stem."""
    norm = normalise_stem(stem)
    return _sha("stem", subject, norm) if norm else None


def meta_fingerprint(subject: str, grade: int | None, label: str, item_type: str,
                     key: str | None, knowledge_points: Iterable[str], max_score: float) -> str:
    """Fingerprint from metadata: subject, grade, label, type, key, knowledge points, max."""
    kps = ";".join(sorted(k for k in knowledge_points if k))
    return _sha("meta", subject, grade, label, item_type, key or "", kps, f"{float(max_score):g}")


# -- SQL ----------------------------------------------------------------------------------------

def _groups_cte() -> str:
    """Present students with band, demographics and their rank by total (upper/lower 27 %:
    Kelley's groups of the whole paper, :func:`analytics.stats.items.kelley_size_sql`, with at
    least one student each)."""
    size = kelley_size_sql("n_all", share=repr(KELLEY_SHARE), at_least=1, sql_type="INTEGER")
    return f"""
        WITH pres AS (
            SELECT pr.student_key, pr.total, t.gender, t.ownership, t.locality,
                   CASE WHEN pr.total >= $band_a THEN 'A' WHEN pr.total >= $band_b THEN 'B'
                        WHEN pr.total >= $band_c THEN 'C' ELSE 'D' END AS band,
                   {kelley_rank_sql()} AS rk,
                   count(*) OVER () AS n_all
            FROM paper_results pr JOIN student_tree t ON t.student_key = pr.student_key
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
        ),
        g AS (
            SELECT *, {size} AS n_g, rk <= {size} AS is_upper, rk > n_all - {size} AS is_lower
            FROM pres
        )
    """


def admin_items_sql() -> str:
    """Per item: n, mean score, score rate, omission rate, upper/lower 27 % rates."""
    return _groups_cte() + """
        SELECT r.item_id, count(*) AS n,
               avg(coalesce(r.score, 0)) AS mean_score,
               avg(coalesce(r.score, 0)) / any_value(i.max_score) AS score_rate,
               avg(CASE WHEN r.score IS NULL THEN 1.0 ELSE 0.0 END) AS omit_rate,
               any_value(g.n_g) AS n_group,
               avg(coalesce(r.score, 0)) FILTER (WHERE g.is_upper) / any_value(i.max_score)
                   AS upper_rate,
               avg(coalesce(r.score, 0)) FILTER (WHERE g.is_lower) / any_value(i.max_score)
                   AS lower_rate,
               count(*) FILTER (WHERE g.is_upper) AS n_upper,
               count(*) FILTER (WHERE g.is_lower) AS n_lower
        FROM responses r
        JOIN g ON g.student_key = r.student_key
        JOIN items i ON i.item_id = r.item_id
        WHERE r.paper_id = $paper_id
        GROUP BY r.item_id
    """


def admin_options_sql() -> str:
    """Per objective item × chosen answer: counts overall and in the upper/lower groups."""
    return _groups_cte() + """
        SELECT r.item_id, r.answer AS option, count(*) AS n_chose,
               count(*) FILTER (WHERE g.is_upper) AS n_upper_chose,
               count(*) FILTER (WHERE g.is_lower) AS n_lower_chose
        FROM responses r
        JOIN g ON g.student_key = r.student_key
        JOIN items i ON i.item_id = r.item_id
        WHERE r.paper_id = $paper_id AND i.item_type IN ('single', 'multiple', 'true_false')
          AND r.answer IS NOT NULL AND r.answer <> ''
        GROUP BY r.item_id, r.answer
    """


def admin_groups_sql() -> str:
    """Per item × grade band / gender / ownership / locality: n and score rate."""
    return _groups_cte() + """
        SELECT r.item_id,
               CASE WHEN GROUPING(g.band) = 0 THEN 'band'
                    WHEN GROUPING(g.gender) = 0 THEN 'gender'
                    WHEN GROUPING(g.ownership) = 0 THEN 'ownership'
                    ELSE 'locality' END AS group_kind,
               coalesce(g.band, g.gender, g.ownership, g.locality) AS group_value,
               count(*) AS n,
               avg(coalesce(r.score, 0) / i.max_score) AS score_rate
        FROM responses r
        JOIN g ON g.student_key = r.student_key
        JOIN items i ON i.item_id = r.item_id
        WHERE r.paper_id = $paper_id
        GROUP BY GROUPING SETS ((r.item_id, g.band), (r.item_id, g.gender),
                                (r.item_id, g.ownership), (r.item_id, g.locality))
    """


def paper_items_sql() -> str:
    """The paper's items with their knowledge points as a list."""
    return """
        SELECT i.item_id, i.number, i.label, i.item_type, i.max_score, i.answer_key, i.options,
               i.cognitive_level,
               list(k.knowledge_point ORDER BY k.knowledge_point)
                   FILTER (WHERE k.knowledge_point IS NOT NULL) AS knowledge_points
        FROM items i LEFT JOIN item_knowledge k ON k.item_id = i.item_id
        WHERE i.paper_id = $paper_id
        GROUP BY ALL
        ORDER BY i.number
    """


def bank_overview_sql() -> str:
    """One row per bank item with its knowledge points, latest administration and note."""
    return f"""
        WITH kp AS (
            SELECT bank_item_id, string_agg(knowledge_point, ';' ORDER BY knowledge_point)
                       AS knowledge_points
            FROM bank_item_knowledge GROUP BY bank_item_id
        ),
        adm AS (
            SELECT bank_item_id, count(*) AS n_administrations,
                   arg_max(exam, (exam_date, recorded_at, paper_id)) AS last_exam,
                   arg_max(n, (exam_date, recorded_at, paper_id)) AS n,
                   arg_max(score_rate, (exam_date, recorded_at, paper_id)) AS score_rate,
                   arg_max(discrimination, (exam_date, recorded_at, paper_id)) AS discrimination
            FROM bank_administrations GROUP BY bank_item_id
        ),
        note AS (
            SELECT bank_item_id, max(version) AS note_version,
                   arg_max(cause_text, version) AS cause_text,
                   arg_max(advice, version) AS advice
            FROM bank_notes GROUP BY bank_item_id
        ),
        base AS (
            SELECT b.bank_item_id, b.subject, b.grade, b.item_type, b.label,
                   kp.knowledge_points, b.cognitive_level, b.max_score, b.answer_key,
                   b.stem_text, b.option_texts, b.solution_notes, b.intended_difficulty,
                   b.source_exam,
                   coalesce(adm.n_administrations, 0) AS n_administrations, adm.last_exam,
                   adm.n, adm.score_rate, adm.discrimination,
                   coalesce(note.note_version, 0) AS note_version, note.cause_text, note.advice,
                   coalesce(adm.score_rate, b.intended_difficulty) AS rate_for_band
            FROM bank_items b
            LEFT JOIN kp ON kp.bank_item_id = b.bank_item_id
            LEFT JOIN adm ON adm.bank_item_id = b.bank_item_id
            LEFT JOIN note ON note.bank_item_id = b.bank_item_id
        )
        SELECT * EXCLUDE (rate_for_band), {difficulty_band_sql("rate_for_band")} AS difficulty_band
        FROM base
    """


def search_sql() -> str:
    """Bank items filtered by optional parameters (NULL = no filter)."""
    return f"""
        SELECT * FROM ({bank_overview_sql()}) o
        WHERE ($subject IS NULL OR o.subject = $subject)
          AND ($grade IS NULL OR o.grade = $grade)
          AND ($item_type IS NULL OR o.item_type = $item_type)
          AND ($difficulty IS NULL OR o.difficulty_band = $difficulty)
          AND ($kp IS NULL OR EXISTS (
                SELECT 1 FROM bank_item_knowledge k
                WHERE k.bank_item_id = o.bank_item_id AND contains(k.knowledge_point, $kp)))
          AND ($text IS NULL OR contains(lower(concat_ws(' ', o.label, o.stem_text,
                o.option_texts, o.solution_notes, o.knowledge_points, o.cause_text, o.advice)),
                lower($text)))
        ORDER BY o.subject, o.grade, o.bank_item_id
    """


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
    stats = wh.df(admin_items_sql(), sp)
    options = wh.df(admin_options_sql(), sp)
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
        stats[["item_id", "n", "score_rate", "upper_rate", "lower_rate"]], on="item_id",
        how="left")
    out["discrimination"] = out["upper_rate"] - out["lower_rate"]
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
    adm = meta.merge(link, on="label").merge(stats, on="item_id", how="left")
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
        "discrimination": adm["upper_rate"] - adm["lower_rate"],
        "link_method": adm["link_method"],
    })
    wh.insert_df("bank_administrations", frame)

    # Options: every offered letter of single/true_false items appears, chosen or not.
    offered = [(r.item_id, ch) for r in meta.itertuples()
               if r.item_type in ("single", "true_false") and isinstance(r.options, str)
               for ch in r.options]
    opt = options.merge(pd.DataFrame(offered, columns=["item_id", "option"]),
                        on=["item_id", "option"], how="outer")
    if not opt.empty:
        opt[["n_chose", "n_upper_chose", "n_lower_chose"]] = (
            opt[["n_chose", "n_upper_chose", "n_lower_chose"]].fillna(0))
        opt = opt.merge(adm[["item_id", "label", "answer_key", "n", "n_upper", "n_lower"]],
                        on="item_id")
        with np.errstate(divide="ignore", invalid="ignore"):
            ofr = pd.DataFrame({
                "paper_id": paper.paper_id, "item_label": opt["label"],
                "option": opt["option"], "is_key": opt["option"] == opt["answer_key"],
                "n": opt["n_chose"].astype("int64"),
                "share": opt["n_chose"] / opt["n"].replace(0, np.nan),
                "upper_share": opt["n_upper_chose"] / opt["n_upper"].replace(0, np.nan),
                "lower_share": opt["n_lower_chose"] / opt["n_lower"].replace(0, np.nan),
            })
        wh.insert_df("bank_admin_options", ofr.fillna({"share": 0.0}))
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


def paper_archive_groups(wh: Warehouse, *, exam: str, subject: str,
                         grade: int | None = None) -> pd.DataFrame:
    """Score rates by group for each item of an archived paper (long).

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


# -- content files ------------------------------------------------------------------------------

_CONTENT_HEADERS = {
    "item_label": ("题号", "小题", "题目", "item", "label"),
    "stem_text": ("题干", "试题", "题目内容", "stem"),
    "solution_notes": ("解析", "答案解析", "评分说明", "solution"),
    "image_paths": ("图片", "插图", "images"),
    "intended_difficulty": ("预估难度", "预设难度", "intended difficulty", "difficulty"),
    "option_texts": ("选项内容", "options"),
}
_OPTION_COL = re.compile(r"^(?:选项|option[_ ]?)([A-Ha-h])$")


def read_item_content(path: str | Path) -> pd.DataFrame:
    """Read an item-content file (CSV in UTF-8/GBK or XLSX): 题号, 题干, 选项A…选项D (or a
    JSON 选项内容 column), 解析, 图片 (';'-separated paths), 预估难度 (0–1)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(str(p))
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        raw = pd.read_excel(p, dtype=str)
    else:
        data = p.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InputError(f"{p.name}: 无法识别编码 / unknown encoding")
        from io import StringIO

        raw = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
    index = {unicodedata.normalize("NFKC", w).lower().replace(" ", ""): canon
             for canon, words in _CONTENT_HEADERS.items() for w in (canon, *words)}
    out = pd.DataFrame(index=raw.index)
    letters: dict[str, str] = {}
    for col in raw.columns:
        key = unicodedata.normalize("NFKC", str(col)).strip().lower().replace(" ", "")
        m = _OPTION_COL.match(key)
        if m:
            letters[m.group(1).upper()] = col
        elif key in index and index[key] not in out.columns:
            out[index[key]] = raw[col]
    if "item_label" not in out.columns:
        raise InputError(f"{p.name}: 找不到「题号」列 / no item column (题号)")
    if letters and "option_texts" not in out.columns:
        out["option_texts"] = [
            json.dumps({k: str(raw.at[i, c]) for k, c in sorted(letters.items())
                        if str(raw.at[i, c]).strip() not in ("", "nan")}, ensure_ascii=False)
            for i in raw.index]
    out["item_label"] = out["item_label"].map(lambda v: normalise_label(str(v)))
    if "intended_difficulty" in out.columns:
        out["intended_difficulty"] = pd.to_numeric(out["intended_difficulty"].replace("", None),
                                                   errors="coerce")
    return out.replace({"": None})


def normalise_label(text: str) -> str:
    """'第3题'/'T3' → '3', '21（1）' → '21(1)'; other labels are trimmed (NFKC)."""
    from analytics.importers.common import item_label_key

    key = item_label_key(text)
    return key if key is not None else unicodedata.normalize("NFKC", text).strip()


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
                   min_n: int = DEFAULT_MIN_N) -> dict[str, Any]:
    """The pieces of a paper's archive export, rounded and suppressed for display.

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
        return round_for_display(suppress_small(frame, min_n=min_n))

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
            wh, exam=exam, subject=subject, grade=grade, by="knowledge_point").rename(
                columns={"knowledge_point": "knowledge_points"}))),
    }


SHEETS = (("items", "试题与答案"), ("results", "作答结果"), ("group_rates", "分组得分率"),
          ("options", "选项分布"),
          ("errors", "主要出错点"), ("weak_knowledge_points", "知识点得分率"),
          ("hotspots", "学校出错点"), ("notes", "出错原因分析"))


def export_paper_archive(wh: Warehouse, *, exam: str, subject: str, out: str | Path,
                         grade: int | None = None, min_n: int = DEFAULT_MIN_N) -> Path:
    """Write a paper's archive as an Excel workbook (``.xlsx``) or a printable A4 HTML page
    (``.html``), chosen by the suffix of ``out``.

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
    rep = archive_report(wh, exam=exam, subject=subject, grade=grade, min_n=min_n)
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
