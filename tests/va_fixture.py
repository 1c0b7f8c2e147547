"""Seeded cohort data for the value-added, growth, progress and green-indicator tests.

:func:`build_cohort` writes a district with schools and classes, students with gender and SES,
and several exams of one subject whose totals follow

    entry  = 100 + 15 · a                        (a ~ N(0, 1) plus a school intake shift)
    exit_t = 100 + 15 · (ρ a + school_effect_t + class_effect + sqrt(1 − ρ²) e)

rounded to whole points and clipped to 0–150, so the planted school effects are known (in SD
units of the student distribution). A few students miss the entry exam. Inserts go straight into
the tables with ``wh.insert_df``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.warehouse import Warehouse


@dataclass
class Cohort:
    school_effects: dict[str, np.ndarray]   # exam → effect per school (index = school_id − 1)
    school_names: list[str]
    students: pd.DataFrame                  # student_key, school_id, class_id, ability
    n_missing_prior: int


def build_cohort(
    wh: Warehouse,
    *,
    n_schools: int = 12,
    students_per_school: int = 60,
    classes_per_school: int = 2,
    exams: Sequence[str] = ("入口", "期末"),
    effect_sd: float = 0.3,
    class_sd: float = 0.0,
    rho: float = 0.7,
    missing_prior: float = 0.03,
    intake_sd: float = 0.5,
    seed: int = 0,
    subject: str = "数学",
    grade: int = 8,
    school_effects: Sequence[float] | None = None,
    stable_effects: bool = True,
) -> Cohort:
    """Build the district; the first exam is the entry exam (no school effect)."""
    rng = np.random.default_rng(seed)
    wh.insert_df("districts", pd.DataFrame({"district_id": [1], "name": ["测试区"]}))
    wh.insert_df("zones", pd.DataFrame({"zone_id": [1, 2], "district_id": [1, 1],
                                        "name": ["东片", "西片"]}))
    names = [f"第{i + 1}中学" for i in range(n_schools)]
    wh.insert_df("schools", pd.DataFrame({
        "school_id": np.arange(1, n_schools + 1), "zone_id": 1 + np.arange(n_schools) % 2,
        "name": names, "ownership": "public",
        "locality": np.where(np.arange(n_schools) % 3 == 0, "rural", "urban")}))
    n_cls = n_schools * classes_per_school
    cls_school = np.repeat(np.arange(1, n_schools + 1), classes_per_school)
    wh.insert_df("classes", pd.DataFrame({
        "class_id": np.arange(1, n_cls + 1), "school_id": cls_school, "grade": grade,
        "name": [f"{(i % classes_per_school) + 1}班" for i in range(n_cls)]}))
    N = n_schools * students_per_school
    school = np.repeat(np.arange(1, n_schools + 1), students_per_school)
    klass = (school - 1) * classes_per_school + 1 + rng.integers(0, classes_per_school, N)
    intake = rng.normal(0, intake_sd, n_schools)
    ability = intake[school - 1] + rng.normal(size=N)
    ses = 0.4 * ability + rng.normal(0, 0.9, N)
    gender = np.where(rng.random(N) < 0.5, "F", "M")
    wh.insert_df("students", pd.DataFrame({
        "student_key": np.arange(1, N + 1), "student_id": [f"S{i:06d}" for i in range(1, N + 1)],
        "gender": gender, "grade": grade, "school_id": school, "class_id": klass, "ses": ses}))
    wh.insert_df("exams", pd.DataFrame({"exam_id": np.arange(1, len(exams) + 1),
                                        "name": list(exams), "grade": grade,
                                        "exam_date": pd.date_range("2024-09-01", periods=len(
                                            exams), freq="180D"), "level": "district"}))
    wh.insert_df("papers", pd.DataFrame({"paper_id": np.arange(1, len(exams) + 1),
                                         "exam_id": np.arange(1, len(exams) + 1),
                                         "subject": subject, "grade": grade,
                                         "full_score": 150.0}))
    class_eff = rng.normal(0, class_sd, n_cls) if class_sd > 0 else np.zeros(n_cls)
    base = (np.asarray(school_effects, float) if school_effects is not None
            else rng.normal(0, effect_sd, n_schools))
    effects: dict[str, np.ndarray] = {exams[0]: np.zeros(n_schools)}
    frames = []
    missing = rng.random(N) < missing_prior
    for t, exam in enumerate(exams):
        if t == 0:
            latent = ability
            present = ~missing
        else:
            eff = base if stable_effects or t == 1 else rng.normal(0, effect_sd, n_schools)
            effects[exam] = eff
            latent = (rho * ability + eff[school - 1] + class_eff[klass - 1]
                      + np.sqrt(1 - rho**2) * rng.normal(size=N))
            present = np.ones(N, bool)
        total = np.clip(np.round(100 + 15 * latent), 0, 150)
        frames.append(pd.DataFrame({
            "paper_id": t + 1, "student_key": np.arange(1, N + 1),
            "status": np.where(present, "present", "absent"),
            "total": np.where(present, total, np.nan)}))
    wh.insert_df("paper_results", pd.concat(frames, ignore_index=True))
    students = pd.DataFrame({"student_key": np.arange(1, N + 1), "school_id": school,
                             "class_id": klass, "ability": ability})
    return Cohort(school_effects=effects, school_names=names, students=students,
                  n_missing_prior=int(missing.sum()))


def add_survey(wh: Warehouse, answers: pd.DataFrame, *, name: str = "学生问卷",
               grade: int = 8) -> int:
    """Insert a questionnaire: ``answers`` is wide (student_key, then one column per question;
    NaN = not answered). Returns the survey id."""
    sid = int(wh.scalar("SELECT coalesce(max(survey_id), 0) + 1 FROM surveys"))
    wh.insert_df("surveys", pd.DataFrame({"survey_id": [sid], "name": [name], "grade": [grade]}))
    long = answers.melt(id_vars="student_key", var_name="question", value_name="value_num")
    long = long.dropna(subset=["value_num"])
    long["value_text"] = long["value_num"].astype(str)
    long["survey_id"] = sid
    wh.insert_df("survey_answers", long[["survey_id", "student_key", "question", "value_text",
                                         "value_num"]])
    return sid


def random_survey(n: int, seed: int = 0, school: np.ndarray | None = None) -> pd.DataFrame:
    """Likert 1–5 answers to the packaged scales' items (latent trait per scale) and the
    three burden hours, for students 1..n."""
    from analytics.green import load_scales

    rng = np.random.default_rng(seed)
    cfg = load_scales()
    out: dict[str, np.ndarray] = {"student_key": np.arange(1, n + 1)}
    for s in cfg.scales:
        trait = rng.normal(size=n)
        rev = set(s.get("reverse", []))
        for q in s["items"]:
            z = 1.2 * trait + rng.logistic(size=n) * 0.8
            v = 1 + np.searchsorted([-2.0, -0.8, 0.4, 1.6], z)
            out[q] = (6 - v if q in rev else v).astype(float)
            out[q][rng.random(n) < 0.02] = np.nan
    out["睡眠时间"] = np.round(rng.normal(7.5, 1.0, n) * 2) / 2
    out["作业时间"] = np.round(rng.gamma(4, 0.5, n) * 2) / 2
    out["校外辅导时间"] = np.round(rng.gamma(2, 2, n) * 2) / 2
    return pd.DataFrame(out)
