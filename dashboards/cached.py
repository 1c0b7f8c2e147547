"""The cached core of the dashboard service: the published snapshot it reads, the lock, and
the routes to the analytics (by the names of :mod:`analytics.registry`), with the results cached
per process and read from the precomputed summary tables where those exist.

Results are cached by the function and the paper, never by the user: scope is applied to the
cached frame on every call (:mod:`dashboards.scope`).
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import pandas as pd

from analytics import registry, snapshot, summaries
from analytics.display import DEFAULT_MIN_N, MIN_OTHER_SCHOOLS
from analytics.lookup import list_papers
from dashboards.access import Filters, NotAvailable, RankPolicy

# Public analytics functions the pages display, by the name the service uses, and the summary
# tables that answer them: generated from the one table of public names (analytics.registry).
ANALYSES: dict[str, tuple[str, str]] = registry.routes()
_SUMMARY_ROUTES = registry.summary_routes()
# (route, level or None) → summary, for calls with no keyword but ``level``
SUMMARY_OF: dict[tuple[str, str | None], str] = _SUMMARY_ROUTES.by_level
# (route, sorted keywords) → summary
SUMMARY_OF_KW: dict[tuple[str, tuple[tuple[str, Any], ...]], str] = _SUMMARY_ROUTES.by_kwargs
# (route, sorted keywords but prior_exam) → summary, when prior_exam is the latest earlier exam
SUMMARY_WITH_PRIOR: dict[tuple[str, tuple[tuple[str, Any], ...]], str] = \
    _SUMMARY_ROUTES.with_prior


class CachedAnalytics:
    """The snapshot, the caches and the routes (:class:`dashboards.service.Service` documents
    the parameters)."""

    def __init__(self, db_path: str, *, min_n: int = DEFAULT_MIN_N,
                 rank_policy: RankPolicy = "officers", cache_size: int = 1024,
                 min_other_schools: int = MIN_OTHER_SCHOOLS) -> None:
        if rank_policy not in ("officers", "none"):
            raise ValueError(f"rank_policy must be 'officers' or 'none', not {rank_policy!r}")
        self.db_path = str(db_path)
        self.min_n = int(min_n)
        self.min_other_schools = int(min_other_schools)
        self.rank_policy: RankPolicy = rank_policy
        # Reads come from the published read-only snapshot, so the dashboard keeps serving
        # while `eqm import` holds the warehouse file; a newer snapshot drops the caches.
        self.reader = snapshot.SnapshotReader(self.db_path, on_change=self.clear_cache)
        self._lock = threading.RLock()
        self._cached = functools.lru_cache(maxsize=cache_size)(self._compute)
        self._cached_reports = functools.lru_cache(maxsize=256)(self._report_compute)
        self.timings: deque[tuple[str, float]] = deque(maxlen=2000)
        self.warm()

    def warm(self) -> None:
        """Check, at start, the summaries' currency on the snapshot (what the first page would
        otherwise wait for: about 1 s at a million students). No snapshot yet: nothing to do."""
        with self._lock, contextlib.suppress(FileNotFoundError):
            summaries.warm_reads(self.reader.current())

    # -- plumbing ----------------------------------------------------------------------------
    @property
    def wh(self) -> Any:
        """The read-only warehouse on the latest published snapshot."""
        return self.reader.current()

    def close(self) -> None:
        with self._lock:
            self.reader.close()

    def clear_cache(self) -> None:
        """Forget cached results (after an import or a note edit)."""
        CachedAnalytics._papers_cached.cache_clear()
        CachedAnalytics._tree_cached.cache_clear()
        self._cached.cache_clear()
        self._cached_reports.cache_clear()

    def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return fn(self.reader.current(), *args, **kwargs)

    def _write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on the writer's file, then publish and read the new snapshot."""
        with self._lock, self.reader.write() as wh:
            return fn(wh, *args, **kwargs)

    def _compute(self, name: str, exam: str, subject: str, grade: int | None,
                 extra: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
        kwargs = dict(extra)
        start = time.perf_counter()
        try:
            summary_name = SUMMARY_OF_KW.get((name, extra))
            if summary_name is None and "prior_exam" in kwargs and \
                    kwargs["prior_exam"] == next(iter(summaries.prior_exams(
                        self.papers_raw(), exam, subject)), None):
                summary_name = SUMMARY_WITH_PRIOR.get(
                    (name, tuple(kv for kv in extra if kv[0] != "prior_exam")))
            if summary_name is None and set(kwargs) <= {"level"}:
                summary_name = SUMMARY_OF.get((name, kwargs.get("level")))
            if summary_name is not None:
                frame = self._run(summaries.summary, summary_name, exam=exam, subject=subject,
                                  grade=grade)
                if frame is None:
                    raise NotAvailable(".".join(ANALYSES[name]))
                return frame
            fn = self._function(name)
            return self._run(fn, exam=exam, subject=subject, grade=grade, **kwargs)
        finally:
            self.timings.append((name, time.perf_counter() - start))

    def _report(self, name: str, **kwargs: Any) -> pd.DataFrame:
        """``name``'s analysis called with ``kwargs`` only (a report across papers), cached."""
        self.sync()
        return self._cached_reports(name, tuple(sorted(kwargs.items()))).copy()

    def _report_compute(self, name: str, extra: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
        start = time.perf_counter()
        try:
            return self._run(self._function(name), **dict(extra))
        finally:
            self.timings.append((name, time.perf_counter() - start))

    def _function(self, name: str) -> Callable[..., Any]:
        module, function = ANALYSES[name]
        fn = summaries.analysis_function(module, function)
        if fn is None:
            raise NotAvailable(f"{module}.{function}")
        return fn

    def _analysis(self, name: str, f: Filters, **kwargs: Any) -> pd.DataFrame:
        if f.exam is None or f.subject is None:
            return pd.DataFrame()
        self.sync()
        frame = self._cached(name, f.exam, f.subject, f.grade, tuple(sorted(kwargs.items())))
        return frame.copy()

    # -- reference data ------------------------------------------------------------------------
    def sync(self) -> None:
        """Switch to a newer published snapshot if a writer swapped one in (one ``stat``);
        the switch drops every cache. Called before each cache lookup."""
        with self._lock:
            self.reader.current()

    def papers_raw(self) -> pd.DataFrame:
        self.sync()
        return self._papers_cached()

    def _tree(self) -> pd.DataFrame:
        self.sync()
        return self._tree_cached()

    @functools.cache  # noqa: B019 - one Service per app; the tree changes only on import
    def _papers_cached(self) -> pd.DataFrame:
        return self._run(list_papers)

    @functools.cache  # noqa: B019
    def _tree_cached(self) -> pd.DataFrame:
        return self._run(summaries.reporting_tree)
