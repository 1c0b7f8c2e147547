"""The demo's papers: specification templates, items, and the item response model that
scores the students (graded response for scored items, nominal for choices)."""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.demo import names as N
from analytics.demo.base import SUBJECTS, _rng
from analytics.domain.items import COGNITIVE_LEVELS, ITEM_TYPES
from analytics.domain.labels import label


# ---------------------------------------------------------------------------------------------
# Paper templates (双向细目表 sections)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Section:
    """One section of a paper template (双向细目表): ``count`` items of one type, their points,
    knowledge points and options, and the means of their generating item parameters."""

    item_type: str                      # single | multiple | true_false | fill | constructed
    count: int
    points: float | tuple[float, ...]
    kps: tuple[str, ...] | None = None  # None: the subject's whole list
    options: str = "ABCD"
    b: float = 0.0                      # mean difficulty (logits)
    a: float = 1.3                      # mean discrimination
    step: float = 1.0                   # score step of constructed items (1 or 0.5)
    spread: float = 4.0                 # width of the GRM thresholds (logits)
    type_cn: str | None = None          # 题型 as printed (default from item_type)
    partial: float | None = None        # 多选: score for a correct proper subset


TYPE_CN = {t: label("item_type", t) for t in ITEM_TYPES}

TEMPLATES: dict[tuple[str, int], tuple[Section, ...]] = {
    ("语文", 5): (
        Section("single", 10, 2, ("拼音与汉字", "词语积累", "句子运用"), b=-1.2),
        Section("fill", 8, 2, ("古诗积累", "词语积累"), b=-0.9),
        Section("constructed", 7, (4, 4, 5, 5, 6, 6, 4), ("课内阅读", "课外阅读", "口语交际"),
                b=-0.4, a=1.1),
        Section("constructed", 1, 30, ("习作",), b=-1.3, a=0.9, spread=9, type_cn="作文"),
    ),
    ("数学", 5): (
        Section("single", 8, 2, b=-1.1),
        Section("true_false", 4, 1, options="TF", b=-1.3),
        Section("fill", 10, 2, b=-0.7),
        Section("constructed", 10, (4, 4, 4, 6, 6, 6, 7, 7, 8, 8), b=-0.2, a=1.4),
    ),
    ("英语", 5): (
        Section("single", 10, 2, ("听力",), options="ABC", b=-1.4),
        Section("single", 10, 2, ("字母与语音", "词汇", "句型", "情景交际"), b=-1.0),
        Section("single", 8, 2, ("阅读理解",), b=-0.7),
        Section("fill", 8, 2, ("词汇", "句型"), b=-0.5),
        Section("constructed", 3, (8, 8, 12), ("阅读理解", "书面表达", "书面表达"), b=-0.5,
                a=1.1, step=0.5, spread=6),
    ),
    ("科学", 5): (
        Section("single", 15, 2, b=-1.0),
        Section("true_false", 6, 1, options="TF", b=-1.2),
        Section("fill", 8, 2, b=-0.6),
        Section("constructed", 7, (6, 6, 6, 7, 7, 8, 8), b=-0.2, a=1.2),
    ),
    ("语文", 9): (
        Section("single", 6, 3, ("字音字形", "词语运用", "病句修改"), b=-0.9),
        Section("fill", 8, 1, ("古诗文默写",), b=-1.0),
        Section("constructed", 10, (3, 3, 4, 4, 4, 5, 5, 6, 6, 4),
                ("文言文阅读", "古诗词鉴赏", "现代文阅读", "名著阅读"), b=-0.2, a=1.1),
        Section("constructed", 1, 50, ("写作",), b=-1.3, a=0.9, spread=10, type_cn="作文"),
    ),
    ("数学", 9): (
        Section("single", 8, 4, b=-1.0),
        Section("multiple", 2, 4, b=-0.4, partial=2),
        Section("fill", 4, 5, b=-0.4),
        Section("constructed", 9, (8, 8, 8, 8, 10, 10, 12, 12, 14), b=-0.2, a=1.5),
    ),
    ("英语", 9): (
        Section("single", 10, 2, ("听力理解",), options="ABC", b=-1.2),
        Section("single", 10, 2, ("阅读理解",), b=-0.7),
        Section("single", 10, 1, ("完形填空",), b=-0.6),
        Section("fill", 8, 2, ("词汇", "语法"), b=-0.4),
        Section("constructed", 3, 8, ("任务型阅读",), b=-0.3, step=0.5, spread=5),
        Section("constructed", 1, 30, ("书面表达",), b=-1.0, a=1.0, step=0.5, spread=9,
                type_cn="作文"),
    ),
    ("科学", 9): (
        Section("single", 14, 2, b=-0.9),
        Section("multiple", 2, 3, b=-0.3, partial=1),
        Section("fill", 8, 3, b=-0.4),
        Section("constructed", 5, (6, 6, 8, 10, 12), b=0.1, a=1.4),
    ),
}

# Papers whose last question is printed in parts (max scores of the parts sum to its points).
SPLIT_LAST: dict[tuple[str, int], tuple[float, ...]] = {("数学", 9): (6, 8), ("科学", 9): (5, 7)}

COGNITIVE = COGNITIVE_LEVELS
COGNITIVE_P = {
    "single": (0.40, 0.45, 0.15, 0.0), "true_false": (0.6, 0.4, 0.0, 0.0),
    "multiple": (0.0, 0.5, 0.5, 0.0), "fill": (0.0, 0.4, 0.5, 0.1),
    "constructed": (0.0, 0.2, 0.45, 0.35),
}


def _template(subject: str, grade: int) -> tuple[Section, ...]:
    if (subject, grade) in TEMPLATES:
        return TEMPLATES[(subject, grade)]
    near = 9 if grade >= 7 else 5
    if (subject, near) in TEMPLATES:
        return TEMPLATES[(subject, near)]
    raise ValueError(f"未知学科「{subject}」/ unknown subject {subject!r}; choose from {SUBJECTS}")


def _kp_list(subject: str, grade: int) -> tuple[str, ...]:
    return N.KNOWLEDGE_POINTS.get((subject, grade)) or N.KNOWLEDGE_POINTS[
        (subject, 9 if grade >= 7 else 5)]


def _mc_candidates(options: str, key: str) -> tuple[tuple[str, ...], int]:
    """Answers offered to a 多选 item: the key, its proper subsets (partial credit), wrong sets.

    Returns the tuple and how many of its leading entries (after the key) are proper subsets.
    """
    subsets = ["".join(c) for r in range(1, len(key)) for c in itertools.combinations(key, r)]
    wrong = []
    for x in options:
        if x not in key:
            wrong.append("".join(sorted(key + x)))
            wrong.append("".join(sorted(key[1:] + x)))
            wrong.append(x)
    return (key, *subsets, *dict.fromkeys(wrong)), len(subsets)


def paper_spec(subject: str, grade: int, exam_key: str, seed: int,
               weak_kp: str | None = None) -> pd.DataFrame:
    """The specification table of one paper, with the hidden generating parameters.

    Columns: number, label, item_type, type_cn, max_score, options, true_key, answer_key (as
    listed in the file; differs from true_key only for the planted wrong key), partial_score,
    knowledge_points (list), knowledge_point (joined with "；"), cognitive_level, a, b, step,
    spread, d_base, d_gamma (per option), trap (option index attracting strong students or −1),
    candidates (多选 answers offered).
    """
    rng = _rng(seed, "spec", subject, grade, exam_key)
    all_kps = _kp_list(subject, grade)
    rows: list[dict[str, Any]] = []
    for sec in _template(subject, grade):
        pts = sec.points if isinstance(sec.points, tuple) else (sec.points,) * sec.count
        pool = list(sec.kps or all_kps)
        order = [pool[i] for i in rng.permutation(len(pool))]
        for i in range(sec.count):
            kps = [order[i % len(order)]]
            if sec.item_type == "constructed" and len(all_kps) > 1 and rng.random() < 0.25:
                other = [k for k in all_kps if k != kps[0]]
                kps.append(other[int(rng.integers(len(other)))])
            level = COGNITIVE[int(rng.choice(4, p=COGNITIVE_P[sec.item_type]))]
            ramp = 0.8 * i / max(sec.count - 1, 1) if sec.item_type == "constructed" else 0.0
            b = sec.b - 0.4 + ramp + 0.25 * (COGNITIVE.index(level) - 1.5) + rng.normal(0, 0.5)
            a = float(np.clip(sec.a * np.exp(rng.normal(0, 0.2)), 0.5, 2.5))
            opts = sec.options
            key = partial = None
            cands: tuple[str, ...] = ()
            d_base = np.zeros(len(opts))
            d_gamma = np.zeros(len(opts))
            step = sec.step
            if sec.item_type in ("single", "true_false"):
                k = int(rng.integers(len(opts)))
                key = opts[k]
                d_base = rng.gamma(2.0, 1.0, len(opts))
                d_gamma = rng.uniform(0, 0.6, len(opts))
                d_base[k] = 0.0
            elif sec.item_type == "multiple":
                n_key = int(rng.integers(2, 4))
                key = "".join(sorted(rng.choice(list(opts), n_key, replace=False)))
                cands, _ = _mc_candidates(opts, key)
                partial = sec.partial
            elif sec.item_type == "fill":
                step = float(pts[i])
            rows.append({
                "item_type": sec.item_type, "type_cn": sec.type_cn or TYPE_CN[sec.item_type],
                "max_score": float(pts[i]), "options": opts, "true_key": key,
                "partial_score": partial, "knowledge_points": kps, "cognitive_level": level,
                "a": a, "b": float(b), "step": float(step), "spread": sec.spread,
                "d_base": d_base, "d_gamma": d_gamma, "trap": -1, "candidates": cands,
            })
    # The last question of some papers is printed in parts: 23(1), 23(2).
    labels = [str(i + 1) for i in range(len(rows))]
    parts = SPLIT_LAST.get((subject, grade)) or SPLIT_LAST.get(
        (subject, 9 if grade >= 7 else 5))
    if parts:
        last = rows.pop()
        n = labels.pop()
        for k, part_max in enumerate(parts, start=1):
            rows.append({**last, "max_score": float(part_max), "b": last["b"] + 0.4 * (k - 1)})
            labels.append(f"{n}({k})")
    spec = pd.DataFrame(rows)
    spec.insert(0, "number", np.arange(1, len(spec) + 1))
    spec.insert(1, "label", labels)
    if weak_kp is not None:
        # The weak knowledge point must be tested by at least four items.
        has = spec["knowledge_points"].map(lambda k: weak_kp in k)
        need = 4 - int(has.sum())
        if need > 0:
            cand = spec.index[~has & spec["item_type"].isin(["fill", "constructed", "single"])]
            for i in rng.choice(cand, need, replace=False):
                _set_cell(spec, i, "knowledge_points",
                          [weak_kp, *spec["knowledge_points"].loc[i]][:2])
    spec["answer_key"] = spec["true_key"]
    spec["knowledge_point"] = spec["knowledge_points"].map("；".join)
    return spec


def _set_cell(frame: pd.DataFrame, i: Any, col: str, value: Any) -> None:
    """Put a list/array into one cell of an object column."""
    frame[col] = [value if j == i else v for j, v in frame[col].items()]


# ---------------------------------------------------------------------------------------------
# Response simulation
# ---------------------------------------------------------------------------------------------
def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate_item(item: pd.Series | Mapping[Hashable, Any], theta: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Raw codes of one item for abilities ``theta``: −1 = blank; choice items: option index
    (single/true_false) or candidate index (multiple); scored items: number of score steps.
    """
    n = theta.shape[0]
    a, b, t = float(item["a"]), float(item["b"]), item["item_type"]
    z = a * (theta - b) + rng.logistic(0.0, 1.0, n)
    raw = np.empty(n, dtype=np.int16)
    if t in ("single", "true_false"):
        opts = item["options"]
        k = opts.index(item["true_key"])
        raw[:] = k
        wrong = z <= 0
        base = np.asarray(item["d_base"], dtype=float)
        gamma = np.asarray(item["d_gamma"], dtype=float)
        th = theta[wrong]
        w = base[None, :] * np.exp(-np.outer(th, gamma))
        cum = np.cumsum(w, axis=1)
        u = rng.random(th.shape[0]) * cum[:, -1]
        raw[wrong] = (u[:, None] >= cum).sum(axis=1)
        trap = int(item["trap"])
        if trap >= 0:
            pulled = rng.random(n) < 0.45 * _logistic(2.0 * (theta - 0.3))
            raw[pulled] = trap
        blank = rng.random(n) < np.minimum(0.008 * np.exp(-0.8 * theta), 0.08)
    elif t == "multiple":
        cands = item["candidates"]
        n_sub = sum(1 for c in cands[1:] if set(c) < set(cands[0]))
        raw[:] = 0
        wrong = z <= 0
        nw = int(wrong.sum())
        part = rng.random(nw) < 0.55
        pick_sub = 1 + rng.integers(0, n_sub, nw)
        pick_wrong = 1 + n_sub + rng.integers(0, len(cands) - 1 - n_sub, nw)
        raw[wrong] = np.where(part, pick_sub, pick_wrong)
        blank = rng.random(n) < np.minimum(0.008 * np.exp(-0.8 * theta), 0.08)
    elif t == "fill":
        raw[:] = z > 0
        blank = rng.random(n) < np.minimum(0.02 * np.exp(-0.6 * theta), 0.10)
    else:
        m = round(float(item["max_score"]) / float(item["step"]))
        width = float(item["spread"]) / m
        tt = z / (a * width) + (m + 1) / 2
        raw[:] = np.clip(np.ceil(tt) - 1, 0, m)
        blank = rng.random(n) < np.minimum(0.01 * np.exp(-theta), 0.15)
    raw[blank] = -1
    return raw


def score_codes(spec: pd.DataFrame, raw: np.ndarray, *, listed: bool = True) -> np.ndarray:
    """Item scores (float, NaN = not answered) from raw codes, scoring choice items with the
    listed key (as an importer would) or the true key. Multiple choice: full marks for the key,
    ``partial_score`` for a non-empty proper subset, else 0.
    """
    out = np.full(raw.shape, np.nan)
    keycol = "answer_key" if listed else "true_key"
    for j, item in enumerate(spec.to_dict("records")):
        r = raw[:, j]
        ans = r >= 0
        t = item["item_type"]
        if t in ("single", "true_false"):
            k = item["options"].index(item[keycol])
            out[ans, j] = np.where(r[ans] == k, item["max_score"], 0.0)
        elif t == "multiple":
            key = set(item[keycol])
            val = np.array([item["max_score"] if set(c) == key
                            else (item["partial_score"] or 0.0) if set(c) < key else 0.0
                            for c in item["candidates"]])
            out[ans, j] = val[r[ans]]
        else:
            out[ans, j] = r[ans] * item["step"]
    return out
