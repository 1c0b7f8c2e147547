"""Precomputed summary tables that the dashboards read, refreshed after each import.

An interactive page must answer in well under a second at a million students, so it never
reduces the ``responses`` table on a click. :func:`refresh_summaries` runs the analysis
functions listed in :data:`SUMMARIES` (declared with each analysis in
:mod:`analytics.registry`) once per paper and materialises their tidy frames as
tables ``summary_<name>`` (the frame's columns, prefixed by ``paper_id``); the catalogue
``summary_catalog`` (migration 003) records what was written and when. :func:`summary` reads a
materialised frame, or computes it live when it has not been materialised (so a page is right
even before the first refresh, only slower).

Analyses that are not available yet (their module or function does not exist) are skipped and
reported with status ``missing``; one that fails is reported with status ``failed`` and its
message, and the others still run.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analytics import registry
from analytics.item_sums import keep_item_passes_current
from analytics.lookup import list_papers
from analytics.warehouse import Warehouse


@dataclass(frozen=True)
class SummarySpec:
    """One materialised analysis: ``module.function(wh, exam=…, subject=…, grade=…, **kwargs)``."""

    module: str
    function: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    needs_items: bool = False     # skip papers without a specification table (totals only)
    needs_prior: bool = False     # pass prior_exam = default_prior_exam(...); skip when none


# name -> spec, from the one table of public names (analytics.registry: each analysis declares
# its summaries). Names are trusted identifiers (they become table names).
SUMMARIES: dict[str, SummarySpec] = {
    s.name: SummarySpec(e.module, e.name, dict(s.kwargs), needs_items=s.needs_items,
                        needs_prior=s.needs_prior)
    for e, s in registry.summaries()
}


def prior_exams(papers: pd.DataFrame, exam: str, subject: str) -> list[str]:
    """Exams dated before ``exam`` that have a paper in ``subject``, latest first (the entry
    candidates of value added); ``papers`` is :func:`analytics.lookup.list_papers`."""
    cur = papers[(papers["exam"] == exam) & (papers["subject"] == subject)]
    if cur.empty:
        return []
    date = cur["exam_date"].iloc[0]
    earlier = papers[(papers["subject"] == subject) & (papers["exam"] != exam)]
    if pd.notna(date):
        earlier = earlier[earlier["exam_date"] < date]
    return list(dict.fromkeys(earlier.sort_values("exam_date", ascending=False)["exam"]))


def analysis_function(module: str, function: str) -> Callable[..., pd.DataFrame] | None:
    """The public analysis function ``module.function``, or None while it does not exist."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None
        raise
    fn = getattr(mod, function, None)
    return fn if callable(fn) else None


def reporting_tree_sql() -> str:
    return """
        SELECT z.zone_id, z.name AS zone_name, s.school_id, s.name AS school_name,
               c.class_id, c.name AS class_name, c.grade, count(st.student_key) AS n
        FROM schools s
        LEFT JOIN zones z ON z.zone_id = s.zone_id
        LEFT JOIN classes c ON c.school_id = s.school_id
        LEFT JOIN students st ON st.class_id = c.class_id
        GROUP BY ALL
        ORDER BY z.zone_id, s.school_id, c.grade, c.name
    """


def reporting_tree(wh: Warehouse) -> pd.DataFrame:
    """Zones, schools and classes (one row per class; schools without classes once).

    Returns
    -------
    pandas.DataFrame
        ``zone_id, zone_name, school_id, school_name, class_id, class_name, grade, n``
        (``n`` = students on the roll of the class).
    """
    return wh.df(reporting_tree_sql())


def import_history_sql() -> str:
    return """
        SELECT import_id, kind, file_name, target, rows, started_at, finished_at, outcome, message
        FROM import_log ORDER BY import_id DESC LIMIT $limit
    """


def import_history(wh: Warehouse, limit: int = 200) -> pd.DataFrame:
    """The most recent imports, newest first (``import_log``)."""
    return wh.df(import_history_sql(), {"limit": limit})


def _table(name: str) -> str:
    if name not in SUMMARIES:
        raise KeyError(f"unknown summary {name!r}")
    return f"summary_{name}"


class Skip(Exception):
    """The summary does not apply to this paper (no items, no prior exam)."""


def _compute(wh: Warehouse, spec: SummarySpec, paper: pd.Series,
             papers: pd.DataFrame) -> pd.DataFrame | None:
    fn = analysis_function(spec.module, spec.function)
    if fn is None:
        return None
    if spec.needs_items and not bool(paper["has_items"]):
        raise Skip("no items")
    kwargs = dict(spec.kwargs)
    if spec.needs_prior:
        priors = prior_exams(papers, str(paper["exam"]), str(paper["subject"]))
        if not priors:
            raise Skip("no prior exam")
        kwargs["prior_exam"] = priors[0]
    return fn(wh, exam=str(paper["exam"]), subject=str(paper["subject"]),
              grade=int(paper["grade"]), **kwargs)


def refresh_summaries(wh: Warehouse, names: Iterable[str] | None = None) -> pd.DataFrame:
    """Recompute and materialise the summary tables for every paper.

    Parameters
    ----------
    wh : Warehouse
        A writable warehouse.
    names : iterable of str, optional
        Which of :data:`SUMMARIES` to refresh (default all).

    Returns
    -------
    pandas.DataFrame
        One row per summary × paper: ``name, paper_id, status`` (ok | skipped | missing |
        failed),
        ``rows, seconds, message``.
    """
    # the stored item passes of papers imported before they existed (or changed behind the
    # importers' back) are built first, in their own transaction, so every summary reads them
    with wh.transaction():
        keep_item_passes_current(wh)
    papers = list_papers(wh)
    chosen = list(names if names is not None else SUMMARIES)
    frames: dict[str, list[pd.DataFrame]] = {name: [] for name in chosen}
    log: list[dict[str, Any]] = []
    # Paper by paper: the reductions a paper's analyses share (the staged passes over its
    # responses, the kept sums) are computed once for all of them and released before the
    # next paper; the tables are written at the end (a write releases them too).
    for _, paper in papers.iterrows():
        pid = int(paper["paper_id"])
        for name in chosen:
            spec = SUMMARIES[name]
            start = time.perf_counter()
            try:
                frame = _compute(wh, spec, paper, papers)
            except Skip as why:
                log.append({"name": name, "paper_id": pid, "status": "skipped", "rows": 0,
                            "seconds": 0.0, "message": str(why)})
                continue
            except Exception as exc:  # one failing analysis must not block the others
                log.append({"name": name, "paper_id": pid, "status": "failed", "rows": 0,
                            "seconds": time.perf_counter() - start,
                            "message": f"{type(exc).__name__}: {exc}"})
                continue
            if frame is None:
                log.append({"name": name, "paper_id": pid, "status": "missing", "rows": 0,
                            "seconds": 0.0, "message": f"{spec.module}.{spec.function}"})
                continue
            frame = frame.copy()
            frame.insert(0, "paper_id", pid)
            frames[name].append(frame)
            log.append({"name": name, "paper_id": pid, "status": "ok", "rows": len(frame),
                        "seconds": time.perf_counter() - start, "message": None})
        wh.forget_shared()
    for name in chosen:
        _store(wh, name, frames.pop(name),
               [r for r in log if r["name"] == name and r["status"] == "ok"])
    order = {name: i for i, name in enumerate(chosen)}
    log.sort(key=lambda r: order[r["name"]])      # stable: papers keep their order
    return pd.DataFrame(log, columns=["name", "paper_id", "status", "rows", "seconds", "message"])


def _store(wh: Warehouse, name: str, frames: list[pd.DataFrame],
           done: list[dict[str, Any]]) -> None:
    table = _table(name)
    with wh.transaction():
        wh.execute(f"DROP TABLE IF EXISTS {table}")
        wh.execute("DELETE FROM summary_catalog WHERE name = $n", {"n": name})
        if not frames:
            return
        data = pd.concat([f for f in frames if not f.empty] or frames[:1], ignore_index=True)
        wh.register("_summary_frame", data)
        try:
            wh.execute(f"CREATE TABLE {table} AS SELECT * FROM _summary_frame")
        finally:
            wh.unregister("_summary_frame")
        catalog = pd.DataFrame(done)[["name", "paper_id", "rows", "seconds"]]
        wh.insert_df("summary_catalog", catalog)


def summaries_stale(wh: Warehouse) -> bool:
    """Whether the summary tables need :func:`refresh_summaries`.

    Returns
    -------
    bool
        True when a paper has no summaries yet or an import finished after the last refresh.
    """
    return bool(wh.scalar("""
        SELECT (SELECT count(*) FROM papers p WHERE NOT EXISTS (
                    SELECT 1 FROM summary_catalog c WHERE c.paper_id = p.paper_id)) > 0
            OR coalesce((SELECT max(coalesce(finished_at, started_at)) FROM import_log
                         WHERE outcome IN ('ok', 'replaced')), TIMESTAMP '1900-01-01')
               > coalesce((SELECT min(refreshed_at) FROM summary_catalog),
                          TIMESTAMP '1900-01-01')
    """))


def summary_catalog(wh: Warehouse) -> pd.DataFrame:
    """What is materialised: ``name, paper_id, rows, seconds, refreshed_at``."""
    return wh.df("SELECT name, paper_id, rows, seconds, refreshed_at FROM summary_catalog "
                 "ORDER BY name, paper_id")


def read_summary(wh: Warehouse, name: str, paper_id: int,
                 school_id: int | None = None) -> pd.DataFrame | None:
    """The materialised frame of ``name`` for one paper (without ``paper_id``), or None when it
    has not been materialised; ``school_id`` keeps only that school's rows (the frame must have
    a ``school_id`` column)."""
    table = _table(name)
    if not wh.scalar("SELECT count(*) FROM summary_catalog WHERE name = $n AND paper_id = $p",
                     {"n": name, "p": paper_id}):
        return None
    if school_id is None:
        frame = wh.df(f"SELECT * FROM {table} WHERE paper_id = $p", {"p": paper_id})
    else:
        frame = wh.df(f"SELECT * FROM {table} WHERE paper_id = $p AND school_id = $s",
                      {"p": paper_id, "s": int(school_id)})
    return frame.drop(columns=["paper_id"])


def summary(wh: Warehouse, name: str, *, exam: str, subject: str,
            grade: int | None = None, school_id: int | None = None) -> pd.DataFrame | None:
    """The frame of summary ``name`` for a paper: materialised if refreshed, else live
    (``school_id``: only that school's rows).

    Returns
    -------
    pandas.DataFrame or None
        The columns of the analysis function behind ``name``; None when that function is not
        available yet, an empty frame when the summary does not apply (no items, no prior
        exam).
    """
    from analytics.lookup import resolve_paper

    paper = resolve_paper(wh, exam, subject, grade)
    stored = read_summary(wh, name, paper.paper_id, school_id)
    if stored is not None:
        return stored
    papers = list_papers(wh)
    row = papers[papers["paper_id"] == paper.paper_id].iloc[0]
    try:
        frame = _compute(wh, SUMMARIES[name], row, papers)
    except Skip:
        return pd.DataFrame()
    if frame is not None and school_id is not None:
        frame = frame[frame["school_id"] == school_id].reset_index(drop=True)
    return frame


def summary_name(function: str, kwargs: dict[str, Any]) -> str | None:
    """The summary table that holds ``function(…, **kwargs)`` for every paper (a
    ``needs_prior`` one when ``kwargs`` has no ``prior_exam``: it uses the latest earlier
    exam), or None when none is declared."""
    key = tuple(sorted(kwargs.items()))
    for name, spec in SUMMARIES.items():
        if spec.function == function and tuple(sorted(spec.kwargs.items())) == key:
            return name
    return None


def from_summary(wh: Warehouse, fn: Callable[..., pd.DataFrame], *, exam: str, subject: str,
                 grade: int | None = None, school_id: int | None = None,
                 **kwargs: Any) -> pd.DataFrame:
    """``fn(wh, exam=…, subject=…, grade=…, **kwargs)``, read from its summary table when one
    is declared for these arguments (materialised, or computed live), else computed.

    Returns
    -------
    pandas.DataFrame
        The frame of ``fn`` (``school_id``: only that school's rows); an empty frame when the
        summary does not apply to the paper (no items, no prior exam).
    """
    name = summary_name(fn.__name__, kwargs)
    frame = None
    if name is not None:
        frame = summary(wh, name, exam=exam, subject=subject, grade=grade, school_id=school_id)
    if frame is None:
        frame = fn(wh, exam=exam, subject=subject, grade=grade, **kwargs)
        if school_id is not None and "school_id" in frame.columns:
            frame = frame[frame["school_id"] == school_id].reset_index(drop=True)
    return frame
