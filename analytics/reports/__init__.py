"""Reports: what a dashboard page shows, composed of the analyses and their summary tables.

* :func:`school_profile` — a school (or every school) against its zone and the district on
  every subject of an exam, with the above / similar / below rule;
* :func:`score_trends` — the district's (and a school's) 三率一分 across the exams of a subject;
* :func:`struggling_students` — 学困生: the rule (the district's bottom share, or below the
  district mean and under the pass line or with low growth) with each student's reason;
* :func:`student_archive`, :func:`student_weak_points`, :func:`watch_list` — the student
  archive across exams and the school's watch list (issue 17).

They read the precomputed summary tables where those exist
(:func:`analytics.summaries.from_summary`), so a page stays fast, and compute live otherwise;
the CLI and notebooks call the same functions. Scope (whose rows a user may see) and
complementary suppression stay in the dashboard service.
"""

from analytics.reports.archive import student_archive as student_archive
from analytics.reports.archive import student_weak_points as student_weak_points
from analytics.reports.archive import watch_list as watch_list
from analytics.reports.profile import school_profile as school_profile
from analytics.reports.students import struggling_students as struggling_students
from analytics.reports.trends import score_trends as score_trends

__all__ = ["school_profile", "score_trends", "struggling_students", "student_archive",
           "student_weak_points", "watch_list"]
