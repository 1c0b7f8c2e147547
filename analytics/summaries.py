"""Precomputed summary tables that the dashboards read, refreshed after each import.

An interactive page must answer in well under a second at a million students, so it never
reduces the ``responses`` table on a click. :func:`refresh_summaries` runs the analysis
functions listed in :data:`SUMMARIES` (declared with each analysis in
:mod:`analytics.registry`) once per paper and materialises their tidy frames as
tables ``summary_<name>`` (the frame's columns, prefixed by ``paper_id``); the catalogue
``summary_catalog`` (migration 003) records what was written and when. :func:`summary` reads a
materialised frame, or computes it live when it has not been materialised or is no longer
current (so a page is right even before the first refresh, only slower).

The summary tables are a derived family (``summaries``, :data:`SUMMARY_TABLES`) of the one
mechanism of :mod:`analytics.reduce.derived`: each paper's summaries carry the fingerprint of
what they were computed from, so a refresh recomputes only the papers whose data changed
(whoever changed them) and a stale summary is never read.

Analyses that are not available yet (their module or function does not exist) are skipped and
reported with status ``missing``; one that fails is reported with status ``failed`` and its
message, and the others still run.
"""

from __future__ import annotations

import hashlib
import importlib
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analytics import registry
from analytics.display import natural_sort
from analytics.lookup import list_papers
from analytics.reduce.derived import (
    STORED,
    Family,
    declare,
    family_papers,
    fingerprint,
    has_state_table,
    is_current,
    keep_derived_current,
    record,
    refresh_derived,
    stale_papers,
)
from analytics.warehouse import Backend, Warehouse


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


def prior_exams(papers: pd.DataFrame, exam: str, subject: str,
                grade: int | None = None) -> list[str]:
    """Exams dated before ``exam`` that have a paper in ``subject`` (and, given ``grade``, in
    that grade), latest first (the entry candidates of value added; the first is the default);
    ``papers`` is :func:`analytics.lookup.list_papers`."""
    if grade is not None:
        papers = papers[papers["grade"] == grade]
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
    """Zones, schools and classes with each class's roll count ``n`` (schools without a class
    once, with NULL class columns), ordered by zone, school, grade and class name."""
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
        (``n`` = students on the roll of the class), classes in natural order (``2班`` before
        ``10班``: :func:`analytics.domain.order.natural_key`).
    """
    return natural_sort(wh.df(reporting_tree_sql()),
                        ["zone_id", "school_id", "grade", "class_name"]).reset_index(drop=True)


def import_history_sql() -> str:
    """The import log, newest first: at most ``$limit`` rows of ``import_id, kind, file_name,
    target, rows, started_at, finished_at, outcome, message``."""
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


#: Bumped whenever the way summaries are computed or stored changes (their state is not read).
SUMMARY_VERSION = 1

LOG_COLUMNS = ["name", "paper_id", "status", "rows", "seconds", "message"]


def _spec_digest() -> str:
    """A digest of :data:`SUMMARIES` (names, functions, arguments): declaring, removing or
    changing a summary makes every paper's summaries stale."""
    text = repr(sorted((name, repr(spec)) for name, spec in SUMMARIES.items()))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _summary_extras(wh: Backend, paper_id: int,
                    comp: Callable[[str, int], str]) -> list[str]:
    """The fingerprint's extras of a paper's summaries: the declarations, and the exam the
    value-added and growth summaries compare against (the latest earlier exam in the subject,
    :func:`prior_exams`) with the results of its papers."""
    papers = wh.memo(("summaries: papers",), lambda: list_papers(wh))
    out = [f"spec:{_spec_digest()}"]
    row = papers[papers["paper_id"] == paper_id]
    if row.empty:
        return out
    subject = str(row["subject"].iloc[0])
    priors = prior_exams(papers, str(row["exam"].iloc[0]), subject)
    if priors:
        out.append(f"prior:{priors[0]}")
        hit = papers[(papers["exam"] == priors[0]) & (papers["subject"] == subject)]
        out += [f"prior_{comp('results', int(p))}" for p in hit["paper_id"]]
    return out


def _refresh_papers(wh: Backend, paper_ids: list[int]) -> pd.DataFrame:
    """The ``summaries`` family's refresh: every summary of these papers."""
    return _refresh(_writer(wh), list(SUMMARIES), paper_ids)


def _drop_papers(wh: Backend, paper_ids: list[int]) -> None:
    """Remove the summary rows of papers that are gone."""
    if not paper_ids:
        return
    w = _writer(wh)
    have = set(w.tables())
    for name in SUMMARIES:
        if _table(name) in have:
            w.execute(f"DELETE FROM {_table(name)} WHERE list_contains($p, paper_id)",
                      {"p": paper_ids})
    w.execute("DELETE FROM summary_catalog WHERE list_contains($p, paper_id)", {"p": paper_ids})


def _writer(wh: Backend) -> Warehouse:
    if not isinstance(wh, Warehouse):
        raise TypeError("summary tables are written to a DuckDB warehouse")
    return wh


#: The derived family of the summary tables: one part per summary table, derived from
#: everything a paper's analyses read — the paper and its exam, the items and their knowledge
#: points, the responses, the results, the reporting tree of its students, the questionnaires
#: — and the declarations and the prior exam (:func:`_summary_extras`).
SUMMARY_TABLES = declare(Family(
    name="summaries",
    tables=("summary_catalog",),
    components=("paper", "items", "knowledge", "responses", "results", "roster", "surveys"),
    papers_sql="SELECT paper_id FROM papers ORDER BY paper_id",
    refresh=_refresh_papers,
    drop=_drop_papers,
    version=SUMMARY_VERSION,
    extras=_summary_extras,
    parts=lambda: list(SUMMARIES),
    gated=False,
    atomic=False,
))


def refresh_summaries(wh: Warehouse, names: Iterable[str] | None = None, *,
                      force: bool = False) -> pd.DataFrame:
    """Recompute and materialise the summary tables of the papers whose data changed.

    Parameters
    ----------
    wh : Warehouse
        A writable warehouse.
    names : iterable of str, optional
        Recompute only these of :data:`SUMMARIES`, for every paper (default: all of them, for
        the papers whose summaries are not current).
    force : bool
        Recompute every summary of every paper, current or not.

    Returns
    -------
    pandas.DataFrame
        One row per summary × paper recomputed: ``name, paper_id, status`` (ok | skipped |
        missing | failed), ``rows, seconds, message`` (no rows when everything was current).

    Notes
    -----
    The derived tables are kept by :func:`analytics.reduce.derived.keep_derived_current`:
    first the stored item passes and knowledge results (so every summary reads them), then
    the summaries of the papers whose fingerprint (``derived_state``) differs from today's.
    """
    if names is None and not force:
        kept = keep_derived_current(wh)
        return kept.logs.get("summaries", pd.DataFrame(columns=LOG_COLUMNS))
    keep_derived_current(wh, only=STORED)
    papers = family_papers(wh, "summaries")
    if names is None:
        log = refresh_derived(wh, "summaries", papers)
        return log if log is not None else pd.DataFrame(columns=LOG_COLUMNS)
    chosen = list(names)
    prints = {pid: fingerprint(wh, "summaries", pid, every=True) for pid in papers}
    log = _refresh(wh, chosen, papers)
    record(wh, "summaries", prints, parts=chosen)
    return log


def _refresh(wh: Warehouse, chosen: list[str], paper_ids: list[int]) -> pd.DataFrame:
    """Compute ``chosen`` summaries of ``paper_ids`` and store them in place of those papers'
    rows; the log of :func:`refresh_summaries`."""
    papers = list_papers(wh)
    wanted = set(paper_ids)
    frames: dict[str, list[pd.DataFrame]] = {name: [] for name in chosen}
    log: list[dict[str, Any]] = []
    # First the summaries with a set-based builder: one statement for all the papers
    # (analytics.summary_sets); one that fails falls back to the paper-by-paper path below.
    per_paper = list(chosen)
    in_order = [int(p) for p in papers["paper_id"] if int(p) in wanted]
    for name in chosen:
        got = _compute_set(wh, name, in_order)
        if got is not None:
            frames[name].append(got[0])
            log += got[1]
            per_paper.remove(name)
    bar = _bar(len(set(paper_ids)) * len(per_paper))
    # Paper by paper: the reductions a paper's analyses share (the staged passes over its
    # responses, the kept sums) are computed once for all of them and released before the
    # next paper; the tables are written at the end (a write releases them too).
    for _, paper in papers.iterrows():
        pid = int(paper["paper_id"])
        if pid not in wanted:
            continue
        for name in per_paper:
            bar.update(1)
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
    bar.close()
    every = wanted >= set(int(p) for p in papers["paper_id"])
    for name in chosen:
        _store(wh, name, frames.pop(name),
               [r for r in log if r["name"] == name and r["status"] == "ok"],
               None if every else sorted(wanted))
    order = {name: i for i, name in enumerate(chosen)}
    log.sort(key=lambda r: order[r["name"]])      # stable: papers keep their order
    return pd.DataFrame(log, columns=LOG_COLUMNS)


_PROGRESS: ContextVar[bool] = ContextVar("summaries_progress", default=False)


@contextmanager
def progress_bars() -> Iterator[None]:
    """Show a progress bar (tqdm, on standard error) while summaries are refreshed in this
    block (``eqm demo`` around its serve: the refresh is one of its stages)."""
    token = _PROGRESS.set(True)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def _bar(total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="汇总表 summaries", unit="table",
                disable=not _PROGRESS.get() or total == 0)


def _compute_set(wh: Warehouse, name: str, paper_ids: list[int]
                 ) -> tuple[pd.DataFrame, list[dict[str, Any]]] | None:
    """Summary ``name`` of ``paper_ids`` by its set-based builder (one statement for all of
    them): the frame (``paper_id`` first, papers in the order given) and its log rows; None
    when it has no builder or the builder failed (then it is computed paper by paper)."""
    from analytics.summary_sets import set_builder  # imports the analyses it replaces

    spec = SUMMARIES[name]
    build = set_builder(spec.module, spec.function, spec.kwargs)
    if build is None or spec.needs_items or spec.needs_prior or not paper_ids:
        return None
    start = time.perf_counter()
    try:
        frame = build(wh, paper_ids)
    except Exception:       # the paper-by-paper path reports what fails, paper by paper
        return None
    rank = {pid: i for i, pid in enumerate(paper_ids)}
    frame = frame[frame["paper_id"].isin(rank)]
    frame = frame.sort_values("paper_id", key=lambda s: s.map(rank), kind="stable")
    frame = frame.reset_index(drop=True)
    seconds = (time.perf_counter() - start) / len(paper_ids)
    counts = frame["paper_id"].value_counts()
    rows = [{"name": name, "paper_id": pid, "status": "ok", "rows": int(counts.get(pid, 0)),
             "seconds": seconds, "message": None} for pid in paper_ids]
    return frame, rows


def _store(wh: Warehouse, name: str, frames: list[pd.DataFrame],
           done: list[dict[str, Any]], papers: list[int] | None) -> None:
    """Write summary ``name``: the rows of ``frames`` replace those of ``papers`` (None: the
    table is written anew)."""
    table = _table(name)
    data = (pd.concat([f for f in frames if not f.empty] or frames[:1], ignore_index=True)
            if frames else None)
    with wh.transaction():
        exists = table in wh.tables()
        if papers is None or not exists:
            wh.execute(f"DROP TABLE IF EXISTS {table}")
            wh.execute("DELETE FROM summary_catalog WHERE name = $n", {"n": name})
            if data is not None:
                _create(wh, table, data)
        else:
            wh.execute("DELETE FROM summary_catalog WHERE name = $n AND list_contains($p, "
                       "paper_id)", {"n": name, "p": papers})
            kept = wh.df(f"SELECT * FROM {table} WHERE NOT list_contains($p, paper_id)",
                         {"p": papers}) if data is not None and not _fits(wh, table, data) \
                else None
            if kept is not None:          # another shape or type: rewritten as a whole
                wh.execute(f"DROP TABLE {table}")
                _create(wh, table, pd.concat([kept, data], ignore_index=True))
            else:
                wh.execute(f"DELETE FROM {table} WHERE list_contains($p, paper_id)",
                           {"p": papers})
                if data is not None:
                    _insert(wh, table, data)
        if done:
            wh.insert_df("summary_catalog",
                         pd.DataFrame(done)[["name", "paper_id", "rows", "seconds"]])


def _create(wh: Warehouse, table: str, data: pd.DataFrame) -> None:
    with wh.temp_view(data) as frame:
        wh.execute(f"CREATE TABLE {table} AS SELECT * FROM {frame}")


def _insert(wh: Warehouse, table: str, data: pd.DataFrame) -> None:
    with wh.temp_view(data) as frame:
        wh.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {frame}")


def _fits(wh: Warehouse, table: str, data: pd.DataFrame) -> bool:
    """Whether ``data`` has the columns of ``table`` with the same types (then its rows are
    appended; else the table is rewritten, as a full refresh would type it)."""
    with wh.temp_view(data) as frame:
        new = wh.df(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {frame})")
    old = wh.df("SELECT column_name, data_type AS column_type FROM information_schema.columns "
                "WHERE table_schema = 'main' AND table_name = $t ORDER BY ordinal_position",
                {"t": table})
    return list(map(tuple, new.to_numpy())) == list(map(tuple, old.to_numpy()))


def summaries_stale(wh: Warehouse) -> bool:
    """Whether the summary tables need :func:`refresh_summaries`.

    Returns
    -------
    bool
        True when a paper has no summaries yet, or the data its summaries were computed from
        changed since (``derived_state``, :func:`analytics.reduce.derived.stale_papers`).
    """
    return bool(stale_papers(wh, "summaries"))


def summary_catalog(wh: Warehouse) -> pd.DataFrame:
    """What is materialised: ``name, paper_id, rows, seconds, refreshed_at``."""
    return wh.df("SELECT name, paper_id, rows, seconds, refreshed_at FROM summary_catalog "
                 "ORDER BY name, paper_id")


def read_summary(wh: Warehouse, name: str, paper_id: int,
                 school_id: int | None = None) -> pd.DataFrame | None:
    """The materialised frame of ``name`` for one paper (without ``paper_id``), or None when it
    has not been materialised or is not current (the data changed since); ``school_id`` keeps
    only that school's rows (the frame must have a ``school_id`` column)."""
    table = _table(name)
    if not wh.scalar("SELECT count(*) FROM summary_catalog WHERE name = $n AND paper_id = $p",
                     {"n": name, "p": paper_id}):
        return None
    # never read stale (computed live then); one check for every paper, kept until a write
    if not is_current(wh, "summaries", paper_id, name, every=True):
        return None
    if school_id is None:
        frame = wh.df(f"SELECT * FROM {table} WHERE paper_id = $p", {"p": paper_id})
    else:
        frame = wh.df(f"SELECT * FROM {table} WHERE paper_id = $p AND school_id = $s",
                      {"p": paper_id, "s": int(school_id)})
    return frame.drop(columns=["paper_id"])


def warm_reads(wh: Backend) -> None:
    """Do once, now, the check the first :func:`read_summary` of a connection would do: the
    summaries' currency fingerprints of every paper (one grouped query per source table, about
    1 s for 86 M responses), kept with the connection's memos until it writes. A dashboard calls
    it when it opens a snapshot, so that its first page does not pay for it."""
    if not has_state_table(wh):
        return
    first = wh.df("SELECT paper_id, part FROM derived_state WHERE family = 'summaries' LIMIT 1")
    if not first.empty:
        is_current(wh, "summaries", int(first["paper_id"].iloc[0]), str(first["part"].iloc[0]),
                   every=True)


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
