"""Seeded synthetic exams written straight into a warehouse (bypassing the importers).

:func:`build_exam` creates a reporting tree (district → zones → schools → classes → students),
one exam with one paper and its items (with knowledge points and cognitive levels), each
student's paper result (a few absent) and item responses (letters for objective items scored
from the stored key, polytomous scores for fill/constructed items, some omitted = NULL).

Response model (a two-parameter logistic model, vectorised with numpy, one loop over items only):
ability ``theta = school_effect + class_effect + N(0, 1)``; an item with ``difficulty`` b and
``discrimination`` a is answered correctly with probability ``1 / (1 + exp(-a (theta - b)))``.
Objective items: a correct student picks ``true_key`` (by default the stored ``key``); others
pick a distractor with probabilities proportional to ``distractor_weights``. Setting
``true_key`` different from ``key`` plants a wrong key (the students "know" the right answer, the
paper's key is wrong). Fill/constructed items: score = max_score × Binomial(m, p) / m with
m = ceil(max_score) steps.

The signature is stable; other test modules rely on it. Call it several times on one warehouse
with different exam names: a district that already exists (by name) is reused with its students
(and the abilities in ``theta`` if passed), so two exams of the same cohort can be built.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analytics.domain.items import OBJECTIVE_TYPES
from analytics.reduce.derived import STORED, keep_derived_current
from analytics.warehouse import Warehouse

DEFAULT_ITEMS: tuple[dict[str, Any], ...] = (
    {"label": "1", "item_type": "single", "max_score": 3, "key": "A",
     "knowledge_points": ["有理数"], "cognitive_level": "了解", "difficulty": -1.5},
    {"label": "2", "item_type": "single", "max_score": 3, "key": "B",
     "knowledge_points": ["有理数"], "cognitive_level": "理解", "difficulty": -0.5},
    {"label": "3", "item_type": "single", "max_score": 3, "key": "C",
     "knowledge_points": ["方程"], "cognitive_level": "理解", "difficulty": 0.0},
    {"label": "4", "item_type": "true_false", "max_score": 2, "key": "T",
     "knowledge_points": ["方程"], "cognitive_level": "了解", "difficulty": -1.0},
    {"label": "5", "item_type": "fill", "max_score": 4, "key": None,
     "knowledge_points": ["函数"], "cognitive_level": "掌握", "difficulty": 0.3},
    {"label": "6", "item_type": "constructed", "max_score": 10, "key": None,
     "knowledge_points": ["函数", "方程"], "cognitive_level": "运用", "difficulty": 0.8},
)

OBJECTIVE = OBJECTIVE_TYPES


def _next_id(wh: Warehouse, table: str, col: str) -> int:
    return int(wh.scalar(f"SELECT coalesce(max({col}), 0) + 1 FROM {table}"))


def _insert_tree(wh: Warehouse, district_id: int, district: str, zones: pd.DataFrame,
                 schools: pd.DataFrame, classes: pd.DataFrame, students: pd.DataFrame) -> None:
    """Insert a new district with its zones, schools, classes and students (in the caller's
    transaction)."""
    wh.insert_df("districts", pd.DataFrame({"district_id": [district_id], "name": [district]}))
    wh.insert_df("zones", zones)
    wh.insert_df("schools", schools)
    wh.insert_df("classes", classes)
    wh.insert_df("students", students)


def _letters(options: str, mask: np.ndarray) -> np.ndarray:
    """Bitmask (bit i = options[i]) → letter strings, via a lookup table of all masks."""
    table = np.array(
        ["".join(o for i, o in enumerate(options) if m >> i & 1) for m in range(2 ** len(options))],
        dtype=object,
    )
    return table[mask]


def _mask(options: str, letters: str) -> int:
    return sum(1 << options.index(ch) for ch in letters)


def _paper_rows(wh: Warehouse, items: list[dict[str, Any]], *, subject: str, grade: int,
                paper: Mapping[str, Any] | None, need_keys: bool
                ) -> tuple[int, int, list[dict[str, Any]], dict[str, Any], pd.DataFrame]:
    """The next exam and paper ids, the ``items`` rows as dicts (with ``true_key``: the answer
    students know, default the key), the ``papers`` row (``paper`` overrides its fields) and
    the ``item_knowledge`` rows of a new paper. ``need_keys``: an objective item without a key is
    an error."""
    exam_id = _next_id(wh, "exams", "exam_id")
    paper_id = _next_id(wh, "papers", "paper_id")
    i0 = _next_id(wh, "items", "item_id")
    rows = []
    for j, it in enumerate(items):
        itype = it.get("item_type", "single")
        opts = it.get("options") or ("TF" if itype == "true_false" else
                                     "ABCD" if itype in OBJECTIVE else None)
        key = it.get("key")
        if need_keys and itype in OBJECTIVE and not key:
            raise ValueError(f"item {it['label']}: objective items need a key")
        rows.append({
            "item_id": i0 + j, "paper_id": paper_id, "number": j + 1,
            "label": str(it["label"]), "item_type": itype,
            "max_score": float(it.get("max_score", 1.0)),
            "answer_key": key if itype in OBJECTIVE else None,
            "options": opts,
            "partial_score": it.get("partial_score"),
            "cognitive_level": it.get("cognitive_level"),
            "true_key": it.get("true_key", key) if itype in OBJECTIVE else None,
        })
    paper_row = {"paper_id": paper_id, "exam_id": exam_id, "subject": subject, "grade": grade,
                 "full_score": float(pd.DataFrame(rows)["max_score"].sum()), "has_items": True}
    paper_row.update(dict(paper or {}))
    ik = pd.DataFrame(
        [(i0 + j, kp) for j, it in enumerate(items) for kp in it.get("knowledge_points", [])],
        columns=["item_id", "knowledge_point"],
    )
    return exam_id, paper_id, rows, paper_row, ik


def build_exam(
    wh: Warehouse,
    *,
    n_schools: int = 4,
    students_per_school: int = 30,
    items: Sequence[Mapping[str, Any]] | None = None,
    seed: int = 0,
    school_effects: Sequence[float] | None = None,
    class_effects_sd: float = 0.0,
    classes_per_school: int = 2,
    n_zones: int = 2,
    grade: int = 8,
    exam: str = "测试监测",
    subject: str = "数学",
    district: str = "测试区",
    absent_rate: float = 0.03,
    omit_rate: float = 0.02,
    gender_gap: float = 0.0,
    theta: pd.Series | None = None,
    paper: Mapping[str, Any] | None = None,
    exam_date: str | None = "2026-06-20",
) -> dict[str, Any]:
    """Build one synthetic exam into ``wh`` and return what was inserted.

    Parameters
    ----------
    wh : Warehouse
        A migrated warehouse (e.g. the ``wh`` fixture).
    n_schools, students_per_school, classes_per_school, n_zones : int
        Size of the tree. Schools are spread round-robin over zones; ownership alternates
        public/private, locality urban/rural every other pair. Ignored when ``district`` exists.
    items : sequence of dict, optional
        One dict per item, in paper order. Keys: ``label`` (required), ``item_type``
        (single|multiple|true_false|fill|constructed, default single), ``max_score``
        (default 1), ``key`` (required for objective items; letters), ``options`` (default
        ABCD, true_false TF), ``knowledge_points`` (list of str), ``cognitive_level``,
        ``partial_score`` (multiple), ``difficulty`` (b, default 0), ``discrimination``
        (a, default 1.2), ``true_key`` (the answer students know; default ``key``; differ to
        plant a wrong key), ``distractor_weights`` (dict letter → weight, default uniform),
        ``omit_rate`` (overrides the global one). Default: :data:`DEFAULT_ITEMS`.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same arguments give the same warehouse.
    school_effects : sequence of float, optional
        Mean ability of each school (length n_schools); default N(0, 0.4²) draws.
    class_effects_sd : float
        SD of class effects added to ability.
    grade, exam, subject, district : str or int
        Names; ``exam`` must be new, ``district`` is reused if it exists.
    absent_rate, omit_rate : float
        Share of students absent from the paper; share of item responses omitted (NULL).
    gender_gap : float
        Added to the ability of girls (F).
    theta : pandas.Series, optional
        Abilities indexed by student_key (to reuse a cohort); default drawn as above.
    paper : dict, optional
        Extra columns of ``papers`` (excellent_line, pass_line, low_line, borderline_buffer,
        band_a, band_b, band_c, full_score).
    exam_date : str, optional
        ISO date of the exam.

    Returns
    -------
    dict
        ``district_id``, ``exam_id``, ``paper_id``, ``exam``, ``subject``, ``grade`` and frames
        ``zones``, ``schools``, ``classes``, ``students`` (with ``theta``), ``items`` (with
        ``true_key``), ``item_knowledge``, ``paper_results``, ``responses`` — as inserted.
    """
    rng = np.random.default_rng(seed)
    items = [dict(it) for it in (items if items is not None else DEFAULT_ITEMS)]

    # -- the tree --------------------------------------------------------------------------
    existing = wh.df("SELECT district_id FROM districts WHERE name = $n", {"n": district})
    if existing.empty:
        district_id = _next_id(wh, "districts", "district_id")
        z0 = _next_id(wh, "zones", "zone_id")
        s0 = _next_id(wh, "schools", "school_id")
        c0 = _next_id(wh, "classes", "class_id")
        k0 = _next_id(wh, "students", "student_key")
        zones = pd.DataFrame({
            "zone_id": np.arange(z0, z0 + n_zones),
            "district_id": district_id,
            "name": [f"{district}第{i + 1}片区" for i in range(n_zones)],
        })
        sidx = np.arange(n_schools)
        schools = pd.DataFrame({
            "school_id": s0 + sidx,
            "zone_id": z0 + sidx % n_zones,
            "code": [f"{district_id:02d}{i + 1:03d}" for i in sidx],
            "name": [f"{district}第{i + 1}中学" for i in sidx],
            "ownership": np.where(sidx % 2 == 0, "public", "private"),
            "locality": np.where(sidx // 2 % 2 == 0, "urban", "rural"),
        })
        n_cls = n_schools * classes_per_school
        cidx = np.arange(n_cls)
        classes = pd.DataFrame({
            "class_id": c0 + cidx,
            "school_id": s0 + cidx // classes_per_school,
            "grade": grade,
            "name": [f"{i % classes_per_school + 1}班" for i in cidx],
        })
        n = n_schools * students_per_school
        keys = np.arange(k0, k0 + n)
        school_of = s0 + np.arange(n) // students_per_school
        class_of = (c0 + (np.arange(n) // students_per_school) * classes_per_school
                    + np.arange(n) % classes_per_school)
        students = pd.DataFrame({
            "student_key": keys,
            "student_id": pd.Series(keys).map(lambda k: f"{district_id:02d}{k:07d}"),
            "name": pd.Series(keys).map(lambda k: f"学生{k}"),
            "gender": rng.choice(np.array(["M", "F"]), n),
            "grade": grade,
            "school_id": school_of,
            "class_id": class_of,
            "hukou": np.where(rng.random(n) < 0.8, "local", "nonlocal"),
            "ses": rng.normal(0.0, 1.0, n),
        })
        with wh.transaction():
            _insert_tree(wh, district_id, district, zones, schools, classes, students)
    else:
        district_id = int(existing["district_id"].iloc[0])
        zones = wh.df("SELECT * FROM zones WHERE district_id = $d ORDER BY zone_id",
                      {"d": district_id})
        schools = wh.df("SELECT * FROM schools WHERE zone_id IN (SELECT zone_id FROM zones "
                        "WHERE district_id = $d) ORDER BY school_id", {"d": district_id})
        classes = wh.df("SELECT * FROM classes WHERE school_id IN (SELECT school_id FROM "
                        "schools WHERE zone_id IN (SELECT zone_id FROM zones WHERE district_id"
                        " = $d)) ORDER BY class_id", {"d": district_id})
        students = wh.df("SELECT * FROM students WHERE school_id IN (SELECT school_id FROM "
                         "schools WHERE zone_id IN (SELECT zone_id FROM zones WHERE district_id"
                         " = $d)) ORDER BY student_key", {"d": district_id})
        n_schools = len(schools)
    n = len(students)

    # -- abilities ---------------------------------------------------------------------------
    if theta is not None:
        th = theta.reindex(students["student_key"]).to_numpy(dtype=float)
    else:
        eff = (np.asarray(school_effects, dtype=float) if school_effects is not None
               else rng.normal(0.0, 0.4, n_schools))
        if len(eff) != n_schools:
            raise ValueError("school_effects needs one value per school")
        s_pos = pd.Index(schools["school_id"]).get_indexer(students["school_id"])
        c_eff = pd.Series(rng.normal(0.0, class_effects_sd, len(classes)),
                          index=classes["class_id"].to_numpy())
        th = (eff[s_pos] + c_eff.reindex(students["class_id"]).fillna(0.0).to_numpy()
              + rng.normal(0.0, 1.0, n)
              + gender_gap * (students["gender"].to_numpy() == "F"))
    students = students.assign(theta=th)

    # -- exam, paper, items ------------------------------------------------------------------
    exam_id, paper_id, rows, paper_row, ik = _paper_rows(
        wh, items, subject=subject, grade=grade, paper=paper, need_keys=True)
    items_df = pd.DataFrame(rows)

    # -- results and responses ---------------------------------------------------------------
    present = rng.random(n) >= absent_rate
    pk = students["student_key"].to_numpy()[present]
    tp = th[present]
    m = len(pk)
    resp_frames = []
    for j, it in enumerate(items):
        row = rows[j]
        a = float(it.get("discrimination", 1.2))
        b = float(it.get("difficulty", 0.0))
        p = 1.0 / (1.0 + np.exp(-a * (tp - b)))
        omit = rng.random(m) < float(it.get("omit_rate", omit_rate))
        mx = row["max_score"]
        if row["item_type"] in OBJECTIVE:
            opts = row["options"]
            correct = rng.random(m) < p
            true_mask = _mask(opts, row["true_key"])
            if row["item_type"] == "multiple":
                wrong = rng.integers(1, 2 ** len(opts) - 1, m)
                wrong = np.where(wrong >= true_mask, wrong + 1, wrong)  # skip the true mask
            else:
                distract = [o for o in opts if o != row["true_key"]]
                w = np.array([float((it.get("distractor_weights") or {}).get(o, 1.0))
                              for o in distract])
                pick = rng.choice(len(distract), m, p=w / w.sum())
                wrong = np.array([1 << opts.index(o) for o in distract])[pick]
            chosen = np.where(correct, true_mask, wrong)
            answer = _letters(opts, chosen)
            key_mask = _mask(opts, row["answer_key"])
            score = np.where(chosen == key_mask, mx, 0.0)
            if row["item_type"] == "multiple" and row["partial_score"] is not None:
                proper = (chosen & ~key_mask == 0) & (chosen != key_mask)
                score = np.where(proper, float(row["partial_score"]), score)
            answer = np.where(omit, None, answer)
        else:
            steps = max(1, math.ceil(mx))
            score = rng.binomial(steps, p) * (mx / steps)
            answer = np.full(m, None, dtype=object)
        score = np.where(omit, np.nan, score)
        resp_frames.append(pd.DataFrame({
            "paper_id": paper_id, "item_id": row["item_id"], "student_key": pk,
            "score": score, "answer": pd.Series(answer, dtype=object),
        }))
    responses = pd.concat(resp_frames, ignore_index=True)
    totals = (responses.assign(s=responses["score"].fillna(0.0))
              .groupby("student_key")["s"].sum())
    results = pd.DataFrame({
        "paper_id": paper_id,
        "student_key": students["student_key"].to_numpy(),
        "status": np.where(present, "present", "absent"),
    })
    results["total"] = totals.reindex(results["student_key"]).to_numpy()

    with wh.transaction():
        wh.insert_df("exams", pd.DataFrame({"exam_id": [exam_id], "name": [exam],
                                            "exam_date": [pd.Timestamp(exam_date).date()
                                                          if exam_date else None],
                                            "grade": [grade], "level": ["district"]}))
        wh.insert_df("papers", pd.DataFrame([paper_row]))
        wh.insert_df("items", items_df.drop(columns=["true_key"]))
        wh.insert_df("item_knowledge", ik)
        wh.insert_df("paper_results", results)
        wh.insert_df("responses", responses)
        keep_derived_current(wh, [paper_id], only=STORED)     # as the importers keep them

    return {
        "district_id": district_id, "exam_id": exam_id, "paper_id": paper_id,
        "exam": exam, "subject": subject, "grade": grade,
        "zones": zones, "schools": schools, "classes": classes, "students": students,
        "items": items_df, "item_knowledge": ik, "paper_results": results,
        "responses": responses,
    }


def build_from_matrix(
    wh: Warehouse,
    scores: Any,
    *,
    items: Sequence[Mapping[str, Any]],
    answers: Any = None,
    school_of: Sequence[int] | None = None,
    class_of: Sequence[int] | None = None,
    gender: Sequence[str] | None = None,
    n_absent: int = 0,
    exam: str = "矩阵测试",
    subject: str = "数学",
    grade: int = 8,
    district: str = "矩阵区",
    n_zones: int = 2,
    paper: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a given students × items score matrix into ``wh`` (for hand-worked tests).

    Parameters
    ----------
    scores : array-like, shape (n, k)
        Item scores; NaN = omitted (stored NULL, counted 0 in totals).
    items : sequence of dict
        As in :func:`build_exam` (label, item_type, max_score, key, options,
        knowledge_points, cognitive_level); the model keys are ignored.
    answers : array-like of str/None, shape (n, k), optional
        The letters stored in ``responses.answer`` (objective items); None elsewhere.
    school_of, class_of : sequence of int, optional
        School index (0-based) of each student, and class index within the school; default
        all in school 0, class 0. School s is in zone s mod n_zones.
    gender : sequence of 'M'/'F', optional
    n_absent : int
        Extra students (in school 0) marked absent.

    Returns
    -------
    dict
        ``paper_id``, ``exam_id``, ``exam``, ``subject``, ``student_keys`` (row order; the
        Kelley tiebreak follows it), ``absent_keys``, ``school_ids`` (index → id),
        ``class_ids`` ((school, class) → id), ``item_ids``, ``totals``.
    """
    x = np.asarray(scores, dtype=float)
    n, k = x.shape
    if len(items) != k:
        raise ValueError("one item dict per column")
    s_of = np.zeros(n, dtype=int) if school_of is None else np.asarray(school_of, dtype=int)
    c_of = np.zeros(n, dtype=int) if class_of is None else np.asarray(class_of, dtype=int)
    n_sch = int(s_of.max()) + 1
    existing = wh.df("SELECT district_id FROM districts WHERE name = $n", {"n": district})
    if not existing.empty:
        raise ValueError("build_from_matrix needs a new district name")
    district_id = _next_id(wh, "districts", "district_id")
    z0 = _next_id(wh, "zones", "zone_id")
    s0 = _next_id(wh, "schools", "school_id")
    c0 = _next_id(wh, "classes", "class_id")
    k0 = _next_id(wh, "students", "student_key")
    zones = pd.DataFrame({"zone_id": z0 + np.arange(n_zones), "district_id": district_id,
                          "name": [f"{district}第{i + 1}片区" for i in range(n_zones)]})
    sidx = np.arange(n_sch)
    schools = pd.DataFrame({
        "school_id": s0 + sidx, "zone_id": z0 + sidx % n_zones,
        "code": [f"M{district_id:02d}{i + 1:03d}" for i in sidx],
        "name": [f"{district}第{i + 1}学校" for i in sidx],
        "ownership": np.where(sidx % 2 == 0, "public", "private"),
        "locality": np.where(sidx // 2 % 2 == 0, "urban", "rural"),
    })
    pairs = sorted(set(zip(s_of.tolist(), c_of.tolist(), strict=True)) | {(0, 0)})
    class_ids = {p: c0 + i for i, p in enumerate(pairs)}
    classes = pd.DataFrame({"class_id": list(class_ids.values()),
                            "school_id": [s0 + s for s, _ in pairs], "grade": grade,
                            "name": [f"{c + 1}班" for _, c in pairs]})
    n_all = n + n_absent
    keys = k0 + np.arange(n_all)
    s_all = np.concatenate([s_of, np.zeros(n_absent, dtype=int)])
    c_all = np.concatenate([c_of, np.zeros(n_absent, dtype=int)])
    g = (np.asarray(list(gender) + ["M"] * n_absent) if gender is not None
         else np.where(np.arange(n_all) % 2 == 0, "M", "F"))
    students = pd.DataFrame({
        "student_key": keys, "student_id": [f"M{district_id:02d}{kk:06d}" for kk in keys],
        "name": [f"学生{kk}" for kk in keys], "gender": g, "grade": grade,
        "school_id": s0 + s_all,
        "class_id": [class_ids[(int(s), int(c))] for s, c in zip(s_all, c_all, strict=True)],
        "hukou": "local", "ses": 0.0,
    })
    exam_id, paper_id, rows, paper_row, ik = _paper_rows(
        wh, items, subject=subject, grade=grade, paper=paper, need_keys=False)
    items_df = pd.DataFrame(rows).drop(columns=["true_key"])
    ans = (np.full((n, k), None, dtype=object) if answers is None
           else np.asarray(answers, dtype=object))
    responses = pd.DataFrame({
        "paper_id": paper_id,
        "item_id": np.tile(items_df["item_id"].to_numpy(), n),
        "student_key": np.repeat(keys[:n], k),
        "score": x.reshape(-1),
        "answer": pd.Series(ans.reshape(-1), dtype=object),
    })
    totals = np.nansum(x, axis=1)
    results = pd.DataFrame({
        "paper_id": paper_id, "student_key": keys,
        "status": ["present"] * n + ["absent"] * n_absent,
        "total": np.concatenate([totals, np.full(n_absent, np.nan)]),
    })
    with wh.transaction():
        _insert_tree(wh, district_id, district, zones, schools, classes, students)
        wh.insert_df("exams", pd.DataFrame({"exam_id": [exam_id], "name": [exam],
                                            "grade": [grade], "level": ["district"]}))
        wh.insert_df("papers", pd.DataFrame([paper_row]))
        wh.insert_df("items", items_df)
        wh.insert_df("item_knowledge", ik)
        wh.insert_df("paper_results", results)
        wh.insert_df("responses", responses)
        keep_derived_current(wh, [paper_id], only=STORED)     # as the importers keep them
    return {"paper_id": paper_id, "exam_id": exam_id, "exam": exam, "subject": subject,
            "student_keys": keys[:n], "absent_keys": keys[n:],
            "school_ids": {i: s0 + i for i in range(n_sch)}, "class_ids": class_ids,
            "item_ids": items_df["item_id"].to_numpy(), "totals": totals}
