"""The numpydoc text of the parameters the analyses share, written once.

A docstring names a shared parameter by a placeholder line ``{name}`` in its Parameters
section; :func:`fill_doc` replaces each such line by :data:`PARAMS` ``[name]``, indented like
the placeholder, so that ``__doc__`` (hence ``help()`` and docs/api.md) reads as a full
numpydoc docstring::

    @fill_doc
    def paper_quality(wh, *, exam, subject, grade=None, level="school", school=None):
        \"\"\"The paper's quality summary per unit.

        Parameters
        ----------
        {paper}
        {level}
        {school}
        \"\"\"

Put :func:`fill_doc` next to ``def`` (below decorators such as ``renamed`` that copy the
docstring with :func:`functools.wraps`). A placeholder that names no entry raises at import.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])

PARAMS: dict[str, str] = {
    "wh": """\
wh : Backend
    The warehouse read from (DuckDB, or Spark where supported).""",
    "paper": """\
wh : Backend
    The warehouse read from (DuckDB, or Spark where supported).
exam, subject : str
    The paper (考试 × 科目).
grade : int, optional
    Needed only when the exam has the subject for several grades.""",
    "growth_paper": """\
wh : Backend
    The warehouse read from (DuckDB, or Spark where supported).
exam, prior_exam : str
    The current (exit) exam and the entry exam; students are linked by student key.
subject : str
    The subject of both papers.
grade : int, optional
    Grade of the current paper when the exam spans grades.""",
    "level": """\
level : {'district', 'zone', 'school', 'class'}
    The reporting level: one row per unit of it (default ``'school'``).""",
    "growth_level": """\
level : {'school', 'class'}
    The units compared. Default ``'school'``.""",
    "by": """\
by : {None, 'gender', 'ownership', 'locality', 'hukou'}
    Break every unit down further (性别 / 办学性质 / 城乡 / 户籍); the column is appended to
    the keys. Students with an unknown value form their own row (NaN).""",
    "school": """\
school : str or int, optional
    Only rows of this school (name, code or id); references stay district-wide.""",
    "school_population": """\
school : str or int, optional
    Restrict the population to one school (name, code or id): its units are analysed on
    its students alone.""",
    "scale": """\
scale : {'z', 'raw'}
    ``z`` standardises each paper's totals over its takers (default); ``raw`` keeps points.""",
    "covariates": """\
covariates : sequence of {'gender', 'ses'}
    Besides the entry score (always in the model).""",
    "min_effect": """\
min_effect : float
    Minimum |va| (on the scale of y) for the ``above``/``below`` categories.""",
    "classes": """\
classes : bool, optional
    Fit class within school as a second random level. ``None`` (default) fits it when the
    data have classes (more classes than schools) or when ``level="class"``.""",
    # the importers
    "import_wh": """\
wh : Warehouse
    The warehouse written to (one transaction).""",
    "mapping_sheet": """\
mapping : str or Path, optional
    TOML mapping file overriding header detection (see ``docs/formats.md``).
sheet : str or int, optional
    XLSX sheet name or 1-based number (default: the first sheet).""",
    "progress": """\
progress : callable, optional
    Called with a short message at each stage (reading, validating, writing).""",
    "import_refused": """\
InputError
    Every problem (file, row, column, reason), up to a cap; nothing is written.""",
}
PARAMS.update({
    # whole sections of the importers' docstrings (a placeholder line may stand for a section)
    "returns_student_rows": """\
Returns
-------
ImportResult
    ``rows`` = student rows in the file.""",
    "raises_refused": "Raises\n------\n" + PARAMS["import_refused"],
})

# The parameters of a family of analyses, in signature order.
GROUPS: dict[str, tuple[str, ...]] = {
    "unit_report": ("paper", "level", "by", "school"),
    "unit_items": ("paper", "level", "school_population"),
    "va_model": ("growth_paper", "growth_level", "scale", "covariates", "classes", "min_effect"),
}
PARAMS.update({group: "\n".join(PARAMS[name] for name in names)
               for group, names in GROUPS.items()})

_PLACEHOLDER = re.compile(r"^([ \t]*)\{(\w+)\}[ \t]*$", re.M)
# What an unfilled placeholder looks like in a rendered docstring (tests check for none).
UNFILLED = re.compile(r"^[ \t]*(\{\w+\}|%\(\w+\)s)[ \t]*$", re.M)


def render(doc: str) -> str:
    """``doc`` with every placeholder line ``{name}`` replaced by :data:`PARAMS` ``[name]``.

    Raises
    ------
    KeyError
        A placeholder names no entry of :data:`PARAMS`.
    """

    def sub(m: re.Match[str]) -> str:
        indent, name = m.group(1), m.group(2)
        return "\n".join(indent + line if line else line
                         for line in PARAMS[name].splitlines())

    return _PLACEHOLDER.sub(sub, doc)


def fill_doc(fn: F) -> F:
    """Fill the shared parameter descriptions into ``fn.__doc__`` (see the module docstring)."""
    if fn.__doc__:
        fn.__doc__ = render(fn.__doc__)
    return fn
