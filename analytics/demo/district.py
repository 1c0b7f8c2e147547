"""The seeded generator of the demo district: schools, classes, students, papers, responses,
questionnaires and the planted truths, as DataFrames and numpy arrays (no files, no database).

Model
-----
* Structure. One district, four zones (三个城区片区 and 乡镇片区); ``n_schools = max(16,
  round(students / 300))`` schools (40 at the default 12,000 students), each a 小学 (grade 5), a
  中学 (grade 9) or a 九年一贯制 school (both). Rural schools have one or two classes of ~28,
  urban public schools 4–10 classes of ~45, private (民办) ones 3–6 of ~42; students are spread
  over the (school, grade) units in proportion to those sizes, so ``--students`` scales the
  schools' number, not their realism.
* Background. A school SES mean (民办 > 城区公办 > 乡镇), student SES = school mean + noise −
  0.3 for 外地户籍. Entry ability per subject = school intake (0.45 × school SES + noise) + class
  effect + 0.25 × within-school SES + student part (0.8 general + 0.6 subject-specific),
  standardised per grade × subject, then the planted gender gap (英语, girls +0.3 SD).
* Growth. ``theta_mid = theta_entry + va/2 + N(0, .35²)``, ``theta_monitor = theta_mid + va/2 +
  N(0, .35²)`` where ``va`` is the school's value-added in that subject (background N(0, .08²),
  planted ±0.3–0.5 in six school × grade units). Value-added therefore accrues half by the mid
  exam and persists to the monitoring exam.
* Items. 2PL for binary items and the graded response model for polytomous ones, both sampled
  from one logistic draw per response: ``z = a(theta − b) + e, e ~ Logistic(0, 1)``; a binary
  item is right when ``z > 0``; a polytomous item with ``m`` steps and thresholds
  ``b + w(k − (m + 1)/2)`` scores ``min(m, max(0, ceil(z/(a w) + (m + 1)/2) − 1))`` steps, which has
  exactly the GRM's ``P(X ≥ k) = logistic(a(theta − b_k))`` (Samejima 1969). Wrong answers to
  choice items pick a distractor with probability ∝ ``base · exp(−gamma · theta)``; blanks are
  more frequent for weak students.
* Planted truths (:func:`truths`): school value-added, a knowledge point weak in three schools
  (−0.8 logits on its items in the monitoring paper), a wrong key in one monitoring paper's
  specification table (the key lists the distractor weak students favour), a distractor that
  attracts strong students, the 英语 gender gap, and one void (作弊) paper.

Everything is drawn from generators seeded by ``(seed, name of the component)`` (crc32), so a
component does not shift when another changes, and runs are identical for a seed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics.demo import names as N
from analytics.demo.base import DEFAULT_STUDENTS as DEFAULT_STUDENTS
from analytics.demo.base import EXAM_BY_KEY as EXAM_BY_KEY
from analytics.demo.base import EXAMS as EXAMS
from analytics.demo.base import GRADES as GRADES
from analytics.demo.base import SUBJECTS as SUBJECTS
from analytics.demo.base import ExamDef as ExamDef
from analytics.demo.base import _rng
from analytics.demo.base import survey_name as survey_name
from analytics.demo.papers import TYPE_CN as TYPE_CN
from analytics.demo.papers import Section as Section
from analytics.demo.papers import _kp_list, _set_cell, _template
from analytics.demo.papers import paper_spec as paper_spec
from analytics.demo.papers import score_codes as score_codes
from analytics.demo.papers import simulate_item as simulate_item
from analytics.demo.survey import _survey


# ---------------------------------------------------------------------------------------------
# The district
# ---------------------------------------------------------------------------------------------
@dataclass
class DemoPaper:
    """One paper: its exam, specification, the students of its grade (row indices into the
    district's students), their status (0 present, 1 absent 缺考, 2 void 作弊) and raw codes."""

    exam: ExamDef
    subject: str
    grade: int
    spec: pd.DataFrame
    rows: np.ndarray
    status: np.ndarray
    raw: np.ndarray

    @property
    def full_score(self) -> float:
        """The paper's full score: the sum of its items' ``max_score``."""
        return float(self.spec["max_score"].sum())

    def scores(self, *, listed: bool = True) -> np.ndarray:
        """Item scores (students × items, NaN = blank) as the importer computes them."""
        return score_codes(self.spec, self.raw, listed=listed)

    def totals(self, *, listed: bool = True) -> np.ndarray:
        """Totals (blank = 0); NaN for absent or void students."""
        tot = np.nansum(self.scores(listed=listed), axis=1)
        return np.where(self.status == 0, tot, np.nan)


@dataclass
class DemoDistrict:
    """Everything the demo generates, before any file is written."""

    students_total: int
    seed: int
    subjects: tuple[str, ...]
    grades: tuple[int, ...]
    schools: pd.DataFrame
    units: pd.DataFrame
    classes: pd.DataFrame
    students: pd.DataFrame
    papers: list[DemoPaper] = field(default_factory=list)
    surveys: dict[int, pd.DataFrame] = field(default_factory=dict)
    truths: pd.DataFrame = field(default_factory=pd.DataFrame)
    plan: dict[str, Any] = field(default_factory=dict)

    def paper(self, exam_key: str, subject: str, grade: int) -> DemoPaper:
        """The generated paper of this exam key, subject and grade; KeyError if none."""
        for p in self.papers:
            if (p.exam.key, p.subject, p.grade) == (exam_key, subject, grade):
                return p
        raise KeyError((exam_key, subject, grade))


def _cn_ordinal(k: int) -> str:
    digits = "零一二三四五六七八九"
    if k < 10:
        return digits[k]
    if k < 20:
        return "十" + (digits[k - 10] if k > 10 else "")
    return digits[k // 10] + "十" + (digits[k % 10] if k % 10 else "")


def _stems(curated: tuple[str, ...], a: str, b: str, suffix: str, n: int,
           rng: np.random.Generator) -> list[str]:
    combos = [x + y + suffix for x in a for y in b]
    base = [curated[i] for i in rng.permutation(len(curated))]
    base += [combos[i] for i in rng.permutation(len(combos))]
    base = list(dict.fromkeys(base))        # a combination may repeat a curated stem
    out: list[str] = []
    for r in itertools.count():
        for s in base:
            if len(out) == n:
                return out
            out.append(s if r == 0 else f"{s}第{_cn_ordinal(r + 1)}")
    return out  # pragma: no cover


def make_schools(n_schools: int, grades: tuple[int, ...], seed: int) -> pd.DataFrame:
    """Schools: code, name, zone, ownership, locality, kind (primary/middle/nine), ses_mean."""
    rng = _rng(seed, "schools")
    zone = np.sort(rng.choice(4, size=n_schools, p=[0.22, 0.22, 0.21, 0.35]))
    rural = (zone == 3) | (rng.random(n_schools) < 0.08)
    private = ~rural & (rng.random(n_schools) < 0.12)
    urban_idx = np.flatnonzero(~rural & ~private)
    if private.sum() < 2 and urban_idx.size >= 4:
        private[rng.choice(urban_idx, 2 - int(private.sum()), replace=False)] = True
    has5, has9 = 5 in grades, 9 in grades
    kinds = np.array(["primary", "middle", "nine"])
    if has5 and has9:
        p_urban, p_rural = [0.40, 0.38, 0.22], [0.40, 0.28, 0.32]
    elif has9:
        p_urban, p_rural = [0.0, 0.8, 0.2], [0.0, 0.6, 0.4]
    else:
        p_urban, p_rural = [0.8, 0.0, 0.2], [0.7, 0.0, 0.3]
    kind = np.where(rural, kinds[rng.choice(3, n_schools, p=p_rural)],
                    kinds[rng.choice(3, n_schools, p=p_urban)])
    if not (has5 or has9):  # other grades: every school offers them
        kind[:] = "nine"
    ses_mean = np.where(private, rng.normal(0.7, 0.3, n_schools),
                        np.where(rural, rng.normal(-0.7, 0.3, n_schools),
                                 rng.normal(0.25, 0.3, n_schools)))
    urban_stems = iter(_stems(N.URBAN_STEMS, N.URBAN_A, N.URBAN_B, "", n_schools, rng))
    rural_stems = iter(_stems(N.RURAL_STEMS, N.RURAL_A, N.RURAL_B, "村", n_schools, rng))
    names = []
    for i in range(n_schools):
        if rural[i]:
            s = next(rural_stems)
            town = "镇" in s[-3:] or s.endswith("岭")
            suffix = {"primary": "中心小学" if town else "小学", "middle": "初级中学",
                      "nine": "九年一贯制学校"}[kind[i]]
        else:
            s = next(urban_stems)
            if private[i]:
                suffix = {"primary": "外国语小学", "middle": "外国语中学",
                          "nine": "外国语学校"}[kind[i]]
            else:
                suffix = {"primary": "小学", "middle": "中学", "nine": "学校"}[kind[i]]
            if s == "实验":
                s = N.DISTRICT + s
        names.append(s + suffix)
    return pd.DataFrame({
        "school_no": np.arange(n_schools),
        "code": [f"{i + 1:04d}" for i in range(n_schools)],
        "name": names,
        "zone": np.array(N.ZONES)[zone],
        "ownership": np.where(private, "private", "public"),
        "locality": np.where(rural, "rural", "urban"),
        "kind": kind,
        "ses_mean": ses_mean,
    })


def make_units(schools: pd.DataFrame, grades: tuple[int, ...], students: int,
               seed: int) -> pd.DataFrame:
    """(school, grade) units with their student and class counts."""
    rng = _rng(seed, "units")
    serves = {"primary": {5}, "middle": {9}, "nine": {5, 9}}
    rows = []
    for s in schools.itertuples(index=False):
        for g in grades:
            if g in serves[str(s.kind)] or g not in (5, 9):
                rows.append((s.school_no, g, s.locality, s.ownership, s.kind))
    u = pd.DataFrame(rows, columns=["school_no", "grade", "locality", "ownership", "kind"])
    n = len(u)
    rural = (u["locality"] == "rural").to_numpy()
    private = (u["ownership"] == "private").to_numpy()
    kind = u["kind"].to_numpy()
    size = np.where(rural, rng.normal(28, 4, n).clip(15, 40),
                    np.where(private, rng.normal(42, 3, n), rng.normal(45, 3, n)))
    urban_classes = np.where(kind == "middle", rng.integers(8, 15, n),
                             np.where(kind == "nine", rng.integers(4, 9, n),
                                      rng.integers(5, 11, n)))
    classes = np.where(rural, 1 + (rng.random(n) < 0.2),
                       np.where(private, rng.integers(3, 7, n), urban_classes))
    w = (size * classes).astype(float)
    # Each grade gets an equal share of the students. Rural schools keep their natural size
    # (one or two small classes) when there are more students than the schools' natural
    # capacity; urban schools absorb the rest. With fewer students, every unit shrinks.
    gcol = u["grade"].to_numpy()
    n_st = np.zeros(n, dtype=np.int64)
    for i, g in enumerate(grades):
        sel = np.flatnonzero(gcol == g)
        target = students // len(grades) + (1 if i < students % len(grades) else 0)
        ws = w[sel].copy()
        urban_sel = ~rural[sel]
        if target > ws.sum() and urban_sel.any():
            rest = target - ws[~urban_sel].sum()
            ws[urban_sel] *= rest / ws[urban_sel].sum()
        exact = ws * target / ws.sum()
        part = np.floor(exact).astype(np.int64)
        short = target - int(part.sum())
        if short > 0:
            part[np.argsort(-(exact - part), kind="stable")[:short]] += 1
        n_st[sel] = part
    n_st = np.maximum(n_st, 3)
    u["n_students"] = n_st
    u["n_classes"] = np.maximum(1, np.rint(n_st / size)).astype(np.int64)
    u.insert(0, "unit_no", np.arange(n))
    return u


def make_students(schools: pd.DataFrame, units: pd.DataFrame,
                  seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Classes and students (vectorised; rows ordered by grade, school, class)."""
    rng = _rng(seed, "students")
    units = units.sort_values(["grade", "school_no"], kind="stable").reset_index(drop=True)
    ncls = units["n_classes"].to_numpy()
    nst = units["n_students"].to_numpy()
    # classes
    cls_unit = np.repeat(np.arange(len(units)), ncls)
    cls_k = np.arange(cls_unit.size) - np.repeat(np.cumsum(ncls) - ncls, ncls)
    classes = pd.DataFrame({
        "class_no": np.arange(cls_unit.size),
        "unit_no": units["unit_no"].to_numpy()[cls_unit],
        "school_no": units["school_no"].to_numpy()[cls_unit],
        "grade": units["grade"].to_numpy()[cls_unit],
        "name": pd.Series(cls_k + 1).astype(str).to_numpy() + "班",
        "effect": rng.normal(0, 0.15, cls_unit.size),
    })
    # students
    total = int(nst.sum())
    st_unit = np.repeat(np.arange(len(units)), nst)
    pos = np.arange(total) - np.repeat(np.cumsum(nst) - nst, nst)
    cls_in_unit = pos * ncls[st_unit] // nst[st_unit]
    class_no = (np.cumsum(ncls) - ncls)[st_unit] + cls_in_unit
    school_no = units["school_no"].to_numpy()[st_unit]
    grade = units["grade"].to_numpy()[st_unit]
    sch = schools.set_index("school_no").loc[school_no]
    locality = sch["locality"].to_numpy()
    ownership = sch["ownership"].to_numpy()
    male = rng.random(total) < 0.52
    p_nonlocal = np.where(locality == "rural", 0.08, np.where(ownership == "private", 0.10, 0.22))
    nonlocal_ = rng.random(total) < p_nonlocal
    ses_mean = sch["ses_mean"].to_numpy()
    ses = ses_mean + rng.normal(0, 0.75, total) - 0.3 * nonlocal_
    # names
    sur = np.array(list(N.SURNAMES), dtype=object)
    pz = 1.0 / (np.arange(sur.size) + 6.0)
    gm = np.array(list(N.GIVEN_M), dtype=object)
    gf = np.array(list(N.GIVEN_F), dtype=object)
    s_i = rng.choice(sur.size, total, p=pz / pz.sum())
    g1 = np.where(male, gm[rng.integers(0, gm.size, total)], gf[rng.integers(0, gf.size, total)])
    g2 = np.where(male, gm[rng.integers(0, gm.size, total)], gf[rng.integers(0, gf.size, total)])
    two = rng.random(total) < 0.7
    name = (pd.Series(sur[s_i], dtype="str") + pd.Series(g1, dtype="str")
            + pd.Series(np.where(two, g2, ""), dtype="str"))
    # 考号: 2026 + grade + school code + sequence within the (school, grade) unit
    width = max(4, len(str(int(nst.max()))))
    prefix = ("2026" + units["grade"].astype(str).str.zfill(2)
              + schools.set_index("school_no").loc[units["school_no"], "code"].to_numpy())
    sid = (pd.Series(prefix.to_numpy()[st_unit], dtype="str")
           + pd.Series(pos + 1).astype("str").str.zfill(width))
    students = pd.DataFrame({
        "student_id": sid,
        "name": name,
        "gender": np.where(male, "M", "F"),
        "grade": grade,
        "school_no": school_no,
        "class_no": class_no,
        "unit_no": units["unit_no"].to_numpy()[st_unit],
        "hukou": np.where(nonlocal_, "nonlocal", "local"),
        "ses": np.round(ses, 3),
    })
    return classes, students


def _pick_planted(units: pd.DataFrame, grades: tuple[int, ...], k: int, rng: np.random.Generator,
                  exclude: set[int] | None = None) -> list[int]:
    """``k`` unit numbers among the larger half of units, spread over the grades."""
    exclude = exclude or set()
    chosen: list[int] = []
    per = [k // len(grades) + (1 if i < k % len(grades) else 0) for i in range(len(grades))]
    for g, kk in zip(grades, per, strict=True):
        u = units[(units["grade"] == g) & ~units["unit_no"].isin(exclude)]
        big = u[u["n_students"] >= u["n_students"].median()]
        pool = big if len(big) >= kk else u
        kk = min(kk, len(pool))
        chosen += [int(x) for x in rng.choice(pool["unit_no"].to_numpy(), kk, replace=False)]
    return chosen


def generate(students: int = DEFAULT_STUDENTS, seed: int = 2026,
             subjects: tuple[str, ...] | list[str] | None = None,
             grades: tuple[int, ...] | list[int] | None = None,
             progress: bool = False) -> DemoDistrict:
    """Generate the demo district (deterministic for a seed).

    Parameters
    ----------
    students : int
        Total students over the selected grades (about; small units get at least 3).
    seed : int
        Seed of every random draw.
    subjects, grades : sequence or None
        Subsets of 语文/数学/英语/科学 and grades (default all four subjects, grades 5 and 9).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    DemoDistrict
        Schools, units, classes, students, papers (entry and monitoring itemised, mid as
        totals), questionnaires and the planted truths (:func:`truths`).
    """
    from tqdm.auto import tqdm

    subj = tuple(subjects) if subjects else SUBJECTS
    grd = tuple(sorted(set(grades))) if grades else GRADES
    for s in subj:
        _template(s, grd[0])
    if students < 1:
        raise ValueError("students must be positive")
    n_schools = max(16, round(students / 300))
    schools = make_schools(n_schools, grd, seed)
    units = make_units(schools, grd, students, seed)
    classes, st = make_students(schools, units, seed)
    units = units.set_index("unit_no", drop=False)
    dist = DemoDistrict(students_total=len(st), seed=seed, subjects=subj, grades=grd,
                        schools=schools, units=units, classes=classes, students=st)
    plan = _plan(dist)
    dist.plan = plan
    steps = [(g, s) for g in grd for s in subj]
    bar = tqdm(total=len(steps) * len(EXAMS) + len(grd), desc="生成 generate", unit="paper",
               disable=not progress)
    for g in grd:
        rows = np.flatnonzero(st["grade"].to_numpy() == g)
        for s in subj:
            thetas = _abilities(dist, rows, g, s)
            for ex in EXAMS:
                dist.papers.append(_paper(dist, rows, g, s, ex, thetas[ex.key]))
                bar.update()
        dist.surveys[g] = _survey(dist, rows, g)
        bar.update()
    bar.close()
    dist.truths = truths(dist)
    return dist


def _plan(dist: DemoDistrict) -> dict[str, Any]:
    """Decide where the truths are planted."""
    rng = _rng(dist.seed, "plan")
    subj, grd = dist.subjects, dist.grades
    grades_desc = sorted(grd, reverse=True)

    def first(prefs: list[tuple[int, str]]) -> tuple[int, str] | None:
        return next(((g, s) for g, s in prefs if g in grd and s in subj), None)

    va_units = _pick_planted(dist.units, grd, 6, rng)
    signs = np.array([1, -1, 1, -1, 1, -1])[: len(va_units)]
    va = {u: float(sg * rng.uniform(0.3, 0.5)) for u, sg in zip(va_units, signs, strict=True)}
    weak_at = first([(9, "数学"), (5, "数学")]) or (grades_desc[0], subj[0])
    weak_kp = {(9, "数学"): "函数", (5, "数学"): "分数加减法"}.get(
        weak_at, _kp_list(weak_at[1], weak_at[0])[0])
    weak_grade_units = dist.units[dist.units["grade"] == weak_at[0]]
    weak_units = _pick_planted(weak_grade_units, (weak_at[0],), 3, rng, exclude=set(va_units))
    wrong_at = first([(9, "数学"), (5, "数学"), (9, "科学"), (5, "科学")]) or (
        grades_desc[0], subj[0])
    trap_at = first([(9, "科学"), (5, "科学"), (9, "英语"), (5, "英语")]) or wrong_at
    gap_subject = "英语" if "英语" in subj else None
    return {"va": va, "weak_at": weak_at, "weak_kp": weak_kp, "weak_units": weak_units,
            "wrong_at": wrong_at, "trap_at": trap_at, "gender_gap": (gap_subject, 0.3)}


def _abilities(dist: DemoDistrict, rows: np.ndarray, grade: int,
               subject: str) -> dict[str, np.ndarray]:
    """Latent ability of the grade's students in ``subject`` at each exam."""
    st = dist.students.iloc[rows]
    units = dist.units
    rng_u = _rng(dist.seed, "intake", grade)  # school intake shared by the subjects
    intake = 0.45 * dist.schools["ses_mean"].to_numpy() + rng_u.normal(0, 0.2, len(dist.schools))
    rng_g = _rng(dist.seed, "general", grade)
    general = rng_g.normal(0, 1, len(rows))
    rng = _rng(dist.seed, "ability", grade, subject)
    school_no = st["school_no"].to_numpy()
    ses = st["ses"].to_numpy()
    ses_mean = dist.schools["ses_mean"].to_numpy()[school_no]
    raw = (intake[school_no] + dist.classes["effect"].to_numpy()[st["class_no"].to_numpy()]
           + 0.25 * (ses - ses_mean) - 0.1 * (st["hukou"].to_numpy() == "nonlocal")
           + 0.8 * (0.8 * general + 0.6 * rng.normal(0, 1, len(rows))))
    entry = (raw - raw.mean()) / raw.std()
    gap_subject, gap = dist.plan["gender_gap"]
    if subject == gap_subject:
        entry = entry + gap * ((st["gender"].to_numpy() == "F") - 0.5)
    unit_no = st["unit_no"].to_numpy()
    va_unit = _rng(dist.seed, "va", grade, subject).normal(0, 0.08, int(units["unit_no"].max()) + 1)
    for u, v in dist.plan["va"].items():
        va_unit[u] += v
    va = va_unit[unit_no]
    mid = entry + 0.5 * va + rng.normal(0, 0.35, len(rows))
    monitor = mid + 0.5 * va + rng.normal(0, 0.35, len(rows))
    return {"entry": entry, "mid": mid, "monitor": monitor}


def _paper(dist: DemoDistrict, rows: np.ndarray, grade: int, subject: str, exam: ExamDef,
           theta: np.ndarray) -> DemoPaper:
    plan = dist.plan
    is_weak = exam.key == "monitor" and plan["weak_at"] == (grade, subject)
    spec = paper_spec(subject, grade, exam.key, dist.seed,
                      weak_kp=plan["weak_kp"] if is_weak else None)
    rng = _rng(dist.seed, "responses", grade, subject, exam.key)
    if exam.key == "monitor" and plan["wrong_at"] == (grade, subject):
        _plant_wrong_key(spec, rng)
    if exam.key == "monitor" and plan["trap_at"] == (grade, subject):
        _plant_trap(spec, rng)
    unit_no = dist.students["unit_no"].to_numpy()[rows]
    weak_students = np.isin(unit_no, plan["weak_units"]) if is_weak else None
    raw = np.empty((len(rows), len(spec)), dtype=np.int16)
    for j, item in enumerate(spec.to_dict("records")):
        th = theta
        if weak_students is not None and plan["weak_kp"] in item["knowledge_points"]:
            th = theta - 0.8 * weak_students
        raw[:, j] = simulate_item(item, th, rng)
    # status: a sick day misses every subject of an exam; a few miss one paper
    day = _rng(dist.seed, "absent", grade, exam.key)
    away = day.random(len(rows)) < 0.012
    status = np.where(away | (rng.random(len(rows)) < 0.003), 1, 0).astype(np.int8)
    if exam.key == "monitor" and plan["wrong_at"] == (grade, subject):
        present = np.flatnonzero(status == 0)
        status[present[int(rng.integers(present.size))]] = 2
    return DemoPaper(exam, subject, grade, spec, rows, status, raw)


def _plant_wrong_key(spec: pd.DataFrame, rng: np.random.Generator) -> None:
    """List a distractor as the key of a mid-paper single-choice item; weak students favour it."""
    singles = spec.index[spec["item_type"] == "single"]
    i = singles[min(len(singles) - 1, max(2, len(singles) // 2))]
    opts: str = spec["options"].loc[i]
    k = opts.index(spec["true_key"].loc[i])
    x = (k + 1 + int(rng.integers(len(opts) - 1))) % len(opts)
    base = np.where(np.arange(len(opts)) == x, 4.0, 1.0)
    base[k] = 0.0
    gamma = np.where(np.arange(len(opts)) == x, 0.9, 0.0)
    _set_cell(spec, i, "d_base", base)
    _set_cell(spec, i, "d_gamma", gamma)
    spec.at[i, "a"], spec.at[i, "b"] = 1.4, -0.2
    spec.at[i, "answer_key"] = opts[x]


def _plant_trap(spec: pd.DataFrame, rng: np.random.Generator) -> None:
    """Give a single-choice item a distractor that pulls strong students."""
    singles = spec.index[(spec["item_type"] == "single")
                         & (spec["answer_key"] == spec["true_key"])]
    i = singles[min(len(singles) - 1, 3)]
    opts: str = spec["options"].loc[i]
    k = opts.index(spec["true_key"].loc[i])
    x = (k + 1 + int(rng.integers(len(opts) - 1))) % len(opts)
    spec.at[i, "trap"] = x
    spec.at[i, "b"] = -0.6


def survey_codebook() -> pd.DataFrame:
    """The questionnaire's items.

    Likert items are 1–5 (1 完全不同意 … 5 完全同意); reverse-keyed items are worded negatively, so
    a favourable answer is 1–2. 学业负担 items (not reversed) are favourable when low. Numeric
    items are hours.

    Returns
    -------
    pandas.DataFrame
        One row per item: ``question``, ``dimension``, ``text``, ``reverse`` (bool),
        ``scale`` (``likert5`` or the unit of a numeric item).
    """
    rows = [(c, d, t, r, "likert5") for c, d, t, r in N.SURVEY_LIKERT]
    rows += [(c, d, f"{t}({u})", False, u) for c, d, t, u in N.SURVEY_NUMERIC]
    return pd.DataFrame(rows, columns=["question", "dimension", "text", "reverse", "scale"])


VA_NOTE = ("增值:入口(期末)→监测的潜在能力增长,单位为入口标准差,期中时已实现一半 / "
           "value-added: latent growth entry→monitoring in entry-SD units beyond intake; "
           "half of it by the mid exam")


def truths(dist: DemoDistrict) -> pd.DataFrame:
    """The planted truths as rows of the ``demo_truths`` table.

    Columns: kind, exam, subject, grade, school, class, item_label, knowledge_point, option,
    value, note (see the schema; values in latent SD or logits as the note says).
    """
    plan = dist.plan
    sch = dist.schools.set_index("school_no")["name"]
    units = dist.units
    mon = EXAM_BY_KEY["monitor"].name
    rows: list[dict[str, Any]] = []
    for u, v in plan["va"].items():
        unit = units.loc[u]
        g = int(unit["grade"])
        for s in dist.subjects:
            rows.append({"kind": "school_effect", "exam": mon, "subject": s, "grade": g,
                         "school": sch[unit["school_no"]], "value": v,
                         "note": VA_NOTE})
    g, s = plan["weak_at"]
    for u in plan["weak_units"]:
        rows.append({"kind": "weak_knowledge_point", "exam": mon, "subject": s, "grade": g,
                     "school": sch[units["school_no"].loc[u]],
                     "knowledge_point": plan["weak_kp"], "value": -0.8,
                     "note": "该知识点的题目能力降低0.8 logit / −0.8 logits on the items of this "
                             "knowledge point in the monitoring paper"})
    wg, ws = plan["wrong_at"]
    wp = dist.paper("monitor", ws, wg)
    bad = wp.spec[wp.spec["answer_key"] != wp.spec["true_key"]].iloc[0]
    rows.append({"kind": "wrong_key", "exam": mon, "subject": ws, "grade": wg,
                 "item_label": bad["label"], "option": bad["answer_key"],
                 "note": f"细目表答案误为{bad['answer_key']},正确答案{bad['true_key']} / the "
                         f"specification lists {bad['answer_key']}; the true key is "
                         f"{bad['true_key']}"})
    tg, ts = plan["trap_at"]
    tp = dist.paper("monitor", ts, tg)
    trap = tp.spec[tp.spec["trap"] >= 0].iloc[0]
    rows.append({"kind": "attractive_distractor", "exam": mon, "subject": ts, "grade": tg,
                 "item_label": trap["label"], "option": trap["options"][int(trap["trap"])],
                 "note": "该干扰项吸引高分学生(选择概率随能力上升) / this distractor "
                         "attracts strong students (choice probability rises with ability)"})
    gap_subject, gap = plan["gender_gap"]
    if gap_subject:
        for gg in dist.grades:
            rows.append({"kind": "gender_gap", "subject": gap_subject, "grade": gg, "value": gap,
                         "note": "女生减男生,潜在能力标准差单位,各次考试 / girls minus boys in "
                                 "latent SD, every exam"})
    void = wp.status == 2
    if void.any():
        st = dist.students.iloc[wp.rows[void]].iloc[0]
        rows.append({"kind": "other", "exam": mon, "subject": ws, "grade": wg,
                     "school": sch[st["school_no"]],
                     "class": dist.classes.at[int(st["class_no"]), "name"],
                     "note": f"作弊(违纪)试卷一份:考号 {st['student_id']} / one void paper "
                             f"(cheating): student {st['student_id']}"})
    cols = ["kind", "exam", "subject", "grade", "school", "class", "item_label",
            "knowledge_point", "option", "value", "note"]
    frame = pd.DataFrame(rows).reindex(columns=cols)
    frame["grade"] = frame["grade"].astype("Int64")
    frame["value"] = frame["value"].astype("float64")
    return frame
