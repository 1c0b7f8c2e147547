"""The demo district (``eqm demo``): a seeded synthetic district with planted truths, written as
the files a research office receives and loaded through the importers.

* :func:`analytics.demo.district.generate` — the model (DataFrames and arrays, no I/O);
* :func:`analytics.demo.files.write_all` — the files (CSV in several encodings, XLSX, title rows);
* :func:`build_demo` — generate, write, import, then store the planted truths in ``demo_truths``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analytics.demo.district import (
    DEFAULT_STUDENTS,
    EXAM_BY_KEY,
    EXAMS,
    GRADES,
    SUBJECTS,
    DemoDistrict,
    generate,
    survey_codebook,
    survey_name,
    truths,
)
from analytics.demo.files import DemoFile, write_all
from analytics.warehouse import Warehouse

DEFAULT_SEED = 2026
DEFAULT_OUT_DIR = Path("data") / "demo"

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_STUDENTS",
    "EXAMS",
    "EXAM_BY_KEY",
    "GRADES",
    "SUBJECTS",
    "DemoDistrict",
    "DemoFile",
    "build_demo",
    "generate",
    "import_files",
    "survey_codebook",
    "survey_name",
    "truths",
    "write_all",
]


def import_files(wh: Warehouse, files: list[DemoFile], *, progress: bool = False) -> list[Any]:
    """Load the written files through the public importers, in order; returns their results."""
    from tqdm.auto import tqdm

    from analytics.importers import (
        import_paper,
        import_roster,
        import_scores,
        import_survey,
        import_totals,
    )
    from analytics.reduce.derived import deferred

    importers: dict[str, Callable[..., Any]] = {
        "roster": import_roster, "paper": import_paper, "scores": import_scores,
        "totals": import_totals, "survey": import_survey}
    results = []
    bar = tqdm(files, desc="导入 import", unit="file", disable=not progress)
    with deferred(wh):     # the stored reductions once, after the last file (not after each)
        results += _import_each(wh, bar, importers, progress)
        done = tqdm(total=1, desc="归约 stored reductions", unit="step", disable=not progress)
    done.update(1)
    done.close()
    return results


def _import_each(wh: Warehouse, bar: Any, importers: dict[str, Callable[..., Any]],
                 progress: bool) -> list[Any]:
    results = []
    for f in bar:
        short = f.path.name[-28:]
        bar.set_postfix_str(short)
        kwargs = dict(f.kwargs)
        if f.kind in ("scores", "totals") and progress:   # stage messages of big files
            kwargs["progress"] = lambda msg, short=short: bar.set_postfix_str(
                f"{short}: {msg.split(' / ')[-1]}")
        results.append(importers[f.kind](wh, f.path, **kwargs))
    return results


def build_demo(
    wh_or_path: Warehouse | str | Path,
    *,
    students: int = DEFAULT_STUDENTS,
    seed: int = DEFAULT_SEED,
    subjects: list[str] | tuple[str, ...] | None = None,
    grades: list[int] | tuple[int, ...] | None = None,
    out_dir: str | Path = DEFAULT_OUT_DIR,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate the demo district, write its files, import them, store the planted truths.

    Parameters
    ----------
    wh_or_path : Warehouse or path
        An open warehouse, or a file path (opened, migrated, closed at the end). The caller
        decides whether to start from an empty file; existing demo truths are replaced.
    students : int
        Total students over the grades (default 12,000; up to a million for benchmarks).
    seed : int
        Seed: the same seed gives the same files and the same warehouse content.
    subjects, grades : sequence or None
        Subsets of 语文/数学/英语/科学 and of grades 5, 9 (default: all).
    out_dir : path
        Where the import files are written (``data/demo``).
    progress : bool
        tqdm progress bars for generation, writing and importing.

    Returns
    -------
    dict
        students, schools, classes, papers, items, responses, survey_answers, truths (counts in
        the warehouse), files (number), out_dir, and the seconds spent in generate / write /
        import / total.
    """
    t0 = time.perf_counter()
    dist = generate(students, seed, subjects, grades, progress=progress)
    t1 = time.perf_counter()
    files = write_all(dist, out_dir, progress=progress)
    t2 = time.perf_counter()
    own = not isinstance(wh_or_path, Warehouse)
    wh = wh_or_path if isinstance(wh_or_path, Warehouse) else Warehouse(wh_or_path)
    if own:
        wh.execute("SET enable_progress_bar = false")   # tqdm shows progress instead
    try:
        import_files(wh, files, progress=progress)
        with wh.transaction():
            wh.execute("DELETE FROM demo_truths")
            wh.insert_df("demo_truths", dist.truths)
        t3 = time.perf_counter()
        counts = wh.df(summary_sql()).iloc[0].to_dict()
    finally:
        if own:
            wh.close()
    return {
        **{str(k): int(v) for k, v in counts.items()},
        "files": len(files),
        "out_dir": str(out_dir),
        "seconds_generate": t1 - t0,
        "seconds_write": t2 - t1,
        "seconds_import": t3 - t2,
        "seconds_total": t3 - t0,
    }


def summary_sql() -> str:
    """Row counts of the main tables (one row)."""
    return """
        SELECT (SELECT count(*) FROM students) AS students,
               (SELECT count(*) FROM schools) AS schools,
               (SELECT count(*) FROM classes) AS classes,
               (SELECT count(*) FROM papers) AS papers,
               (SELECT count(*) FROM items) AS items,
               (SELECT count(*) FROM responses) AS responses,
               (SELECT count(*) FROM survey_answers) AS survey_answers,
               (SELECT count(*) FROM demo_truths) AS truths
    """
