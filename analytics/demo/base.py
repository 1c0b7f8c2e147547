"""The demo district's fixed frame: subjects, grades, exams, seeds."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from analytics.demo import names as N

SUBJECTS = ("语文", "数学", "英语", "科学")
GRADES = (5, 9)
DEFAULT_STUDENTS = 12_000


@dataclass(frozen=True)
class ExamDef:
    """One exam sitting: ``key`` is entry / mid / monitor; ``itemised`` False = totals only."""

    key: str
    name: str
    date: str
    term: str
    itemised: bool


EXAMS = (
    ExamDef("entry", "2025学年第一学期期末", "2026-01-15", "2025-2026-1", True),
    ExamDef("mid", "2025学年第二学期期中", "2026-04-22", "2025-2026-2", False),
    ExamDef("monitor", "2026年区级质量监测", "2026-06-10", "2025-2026-2", True),
)
EXAM_BY_KEY = {e.key: e for e in EXAMS}


def survey_name(grade: int) -> str:
    """The questionnaire's name for a grade, e.g. ``2026年学生问卷(九年级)``."""
    return f"2026年学生问卷({N.GRADE_CN.get(grade, f'{grade}年级')})"


def _rng(seed: int, *keys: object) -> np.random.Generator:
    """A generator seeded by the seed and a stable hash of the component's name."""
    return np.random.default_rng([seed, *(zlib.crc32(str(k).encode()) for k in keys)])
