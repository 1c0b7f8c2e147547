"""A synthetic exam with planted error hotspots, shared by test_hotspots.py and test_archive.py.

Built with :func:`tests.builders.build_exam` (2PL responses, all school effects 0) and then
changed in place:

* ``WEAK_SCHOOL`` is weak on ``WEAK_KP``: half of its correct answers on the point's objective
  items become a wrong letter, and its constructed scores there are halved;
* at ``DISTRACTOR_SCHOOL`` ``DISTRACTOR_SHARE`` of the students choose ``DISTRACTOR_OPTION`` on
  item ``DISTRACTOR_ITEM`` (key B);
* a tiny school ``SMALL_SCHOOL`` (5 students) is added whose students do badly on everything
  (2 of 5 answer correctly, the other
  three score 0): a large gap measured on very few students.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.reduce.derived import STORED, keep_derived_current
from analytics.warehouse import Warehouse
from tests.builders import build_exam

EXAM = "热点监测"
SUBJECT = "数学"
GRADE = 8
KPS = ("有理数", "方程", "函数", "几何")
WEAK_KP = "函数"
WEAK_SCHOOL = "测试区第2中学"
DISTRACTOR_SCHOOL = "测试区第4中学"
DISTRACTOR_ITEM = "2"
DISTRACTOR_OPTION = "D"
DISTRACTOR_SHARE = 0.45
SMALL_SCHOOL = "测试区小学校"
N_SMALL = 5


def hotspot_items() -> list[dict[str, Any]]:
    """12 items, 3 per knowledge point: two single-choice items and one constructed (6 points)."""
    items: list[dict[str, Any]] = []
    keys = "BCAD"
    for k, kp in enumerate(KPS):
        for j in range(3):
            label = str(3 * k + j + 1)
            if j < 2:
                items.append({"label": label, "item_type": "single", "max_score": 3,
                              "key": keys[(k + j) % 4] if label != DISTRACTOR_ITEM else "B",
                              "knowledge_points": [kp], "cognitive_level": "理解",
                              "difficulty": -0.8 + 0.4 * j + 0.1 * k})
            else:
                items.append({"label": label, "item_type": "constructed", "max_score": 6,
                              "knowledge_points": [kp], "cognitive_level": "运用",
                              "difficulty": 0.3})
    return items


def build_hotspot_exam(wh: Warehouse, seed: int = 7, plant: bool = True,
                       exam: str = EXAM) -> dict[str, Any]:
    """Build the exam; with ``plant=False`` only the null district (no hotspots) is built."""
    b = build_exam(wh, n_schools=6, students_per_school=80, items=hotspot_items(), seed=seed,
                   school_effects=[0.0] * 6, exam=exam, subject=SUBJECT, grade=GRADE,
                   absent_rate=0.02, omit_rate=0.02)
    if not plant:
        return b
    rng = np.random.default_rng(seed + 1)
    resp = b["responses"].copy()
    items = b["items"].set_index("item_id")
    students = b["students"].set_index("student_key")
    schools = b["schools"].set_index("name")
    school_of = resp["student_key"].map(students["school_id"])
    label = resp["item_id"].map(items["label"])
    itype = resp["item_id"].map(items["item_type"])
    key = resp["item_id"].map(items["answer_key"])
    kp_items = set(b["item_knowledge"].loc[b["item_knowledge"]["knowledge_point"] == WEAK_KP,
                                          "item_id"])

    # Weak knowledge point at WEAK_SCHOOL.
    weak = (school_of == schools.loc[WEAK_SCHOOL, "school_id"]) & resp["item_id"].isin(kp_items)
    flip = weak & (itype == "single") & (resp["answer"] == key) & (rng.random(len(resp)) < 0.5)
    wrong_letter = key.map(lambda k: "ABCD"[("ABCD".index(k) + 1) % 4] if isinstance(k, str)
                           else None)
    resp.loc[flip, "answer"] = wrong_letter[flip]
    resp.loc[flip, "score"] = 0.0
    halve = weak & (itype == "constructed") & resp["score"].notna()
    resp.loc[halve, "score"] = np.floor(resp.loc[halve, "score"] / 2)

    # Attractive distractor at DISTRACTOR_SCHOOL.
    att = ((school_of == schools.loc[DISTRACTOR_SCHOOL, "school_id"])
           & (label == DISTRACTOR_ITEM) & (rng.random(len(resp)) < DISTRACTOR_SHARE))
    resp.loc[att, "answer"] = DISTRACTOR_OPTION
    resp.loc[att, "score"] = 0.0

    # A tiny school: 2 of 5 students right on every item, 3 wrong (next letter, 0 points).
    sid = int(wh.scalar("SELECT max(school_id) + 1 FROM schools"))
    cid = int(wh.scalar("SELECT max(class_id) + 1 FROM classes"))
    k0 = int(wh.scalar("SELECT max(student_key) + 1 FROM students"))
    zone = int(b["zones"]["zone_id"].iloc[0])
    small_keys = np.arange(k0, k0 + N_SMALL)
    rows = []
    for it in items.reset_index().itertuples():
        for s, sk in enumerate(small_keys):
            good = s < 2
            if it.item_type == "single":
                ans = it.answer_key if good else "ABCD"[("ABCD".index(it.answer_key) + 1) % 4]
                rows.append((it.paper_id, it.item_id, sk, it.max_score if good else 0.0, ans))
            else:
                rows.append((it.paper_id, it.item_id, sk, 5.0 if good else 0.0, None))
    small = pd.DataFrame(rows, columns=["paper_id", "item_id", "student_key", "score", "answer"])
    small["answer"] = small["answer"].astype(object)
    resp["answer"] = resp["answer"].astype(object)
    resp = pd.concat([resp, small], ignore_index=True)
    with wh.transaction():
        wh.insert_df("schools", pd.DataFrame({
            "school_id": [sid], "zone_id": [zone], "code": ["SMALL"], "name": [SMALL_SCHOOL],
            "ownership": ["public"], "locality": ["rural"]}))
        wh.insert_df("classes", pd.DataFrame({"class_id": [cid], "school_id": [sid],
                                              "grade": [GRADE], "name": ["1班"]}))
        wh.insert_df("students", pd.DataFrame({
            "student_key": small_keys, "student_id": [f"S{k}" for k in small_keys],
            "gender": ["M", "F", "M", "F", "M"], "grade": GRADE, "school_id": sid,
            "class_id": cid}))
        wh.insert_df("paper_results", pd.DataFrame({
            "paper_id": b["paper_id"], "student_key": small_keys, "status": "present",
            "total": 0.0}))
        wh.execute("DELETE FROM responses WHERE paper_id = $p", {"p": b["paper_id"]})
        wh.insert_df("responses", resp)
        wh.execute("""
            UPDATE paper_results pr SET total = s.total
            FROM (SELECT student_key, sum(coalesce(score, 0)) AS total FROM responses
                  WHERE paper_id = $p GROUP BY student_key) s
            WHERE pr.paper_id = $p AND pr.student_key = s.student_key
        """, {"p": b["paper_id"]})
        keep_derived_current(wh, [b["paper_id"]], only=STORED)
    b["responses"] = resp
    return b


def planted_warehouse(path: Path) -> Iterator[Warehouse]:
    """A warehouse at ``path`` holding the planted exam (for a fixture: ``yield from``), closed
    at the end."""
    wh = Warehouse(path)
    build_hotspot_exam(wh)
    yield wh
    wh.close()
