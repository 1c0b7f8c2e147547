"""Derived tables: one way to tell whether they are current, and one call that keeps them so.

Three families of tables are computed from the responses and kept in the warehouse so that a
report run (or a dashboard click) need not reduce tens of millions of rows again:

* ``item_passes`` — the stored item passes (``item_pass_*``, migration 005;
  :mod:`analytics.reduce.item_passes`);
* ``knowledge_results`` — per student × knowledge point sums (migration 004;
  :mod:`analytics.reduce.knowledge`);
* ``summaries`` — the dashboards' summary tables (``summary_<name>``, migration 003;
  :mod:`analytics.summaries`, which declares the family when imported).

Each family is described once by a :class:`Family`: its name, the tables it writes, what it
is derived from (the fingerprint's :data:`COMPONENTS`, plus anything else that changes its
content, such as Kelley's share or the summaries' declarations), which papers it applies to,
and how to rebuild the tables of some papers and to drop those of papers that went away.

One fingerprint scheme. A paper's fingerprint for a family is the text
``component:rows:hash|…`` over its components — for each source table the number of the
paper's rows and the XOR of their row hashes (DuckDB's 64-bit ``hash``) — followed by the
family's extras. Any change of a row a family reads gives another fingerprint (barring a 64-bit
collision), whoever made it. It is recorded, with the family's :attr:`Family.version`, in the
one table ``derived_state`` (migration 007: family × paper × part; a part is a summary table's
name, ``''`` for the other families) when the tables are rebuilt.

* :func:`is_current` — whether the analyses may read a family's tables for a paper (the
  recorded fingerprint and version equal today's); every reader asks it and reduces the
  responses itself otherwise, so a stale table is never read.
* :func:`keep_derived_current` — the one call that rebuilds what is stale (importers at the end
  of their transaction, ``eqm init``, the summaries refresh, the snapshot republish, the
  benchmarks).
* :func:`refresh_derived` — rebuild given papers regardless (benchmarks, tools).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analytics.warehouse import Backend

#: The sources a fingerprint can summarise: per paper (``paper_id``), ``n`` rows and ``h`` the
#: XOR of their hashes; ``{where}`` is ``WHERE <paper column> = $paper_id`` for one paper or
#: empty for all (:func:`component_sql`). ``surveys`` is one row for every paper.
COMPONENTS: dict[str, tuple[str, str]] = {
    # the scores and answers of the paper's students
    "responses": ("paper_id", """
        SELECT paper_id, count(*) AS n, bit_xor(hash(student_key, item_id, score, answer)) AS h
        FROM responses {where} GROUP BY paper_id"""),
    # status and total of each student, with the units the student belongs to
    "results": ("pr.paper_id", """
        SELECT pr.paper_id, count(*) AS n,
               bit_xor(hash(pr.student_key, pr.status, pr.total, s.district_id, s.school_id,
                            s.class_id)) AS h
        FROM paper_results pr LEFT JOIN student_tree s ON s.student_key = pr.student_key
        {where} GROUP BY pr.paper_id"""),
    # the knowledge points of the paper's items
    "knowledge": ("i.paper_id", """
        SELECT i.paper_id, count(*) AS n, bit_xor(hash(k.item_id, k.knowledge_point)) AS h
        FROM item_knowledge k JOIN items i ON i.item_id = k.item_id
        {where} GROUP BY i.paper_id"""),
    # every column of the paper's items
    "items": ("i.paper_id", """
        SELECT i.paper_id, count(*) AS n, bit_xor(hash(i)) AS h FROM items i
        {where} GROUP BY i.paper_id"""),
    # the paper (lines, full score) and its exam (name, date)
    "paper": ("p.paper_id", """
        SELECT p.paper_id, count(*) AS n, bit_xor(hash(p, e)) AS h
        FROM papers p JOIN exams e ON e.exam_id = p.exam_id {where} GROUP BY p.paper_id"""),
    # every column of the reporting tree (names, demographics) of the paper's students
    "roster": ("pr.paper_id", """
        SELECT pr.paper_id, count(*) AS n, bit_xor(hash(s)) AS h
        FROM paper_results pr JOIN student_tree s ON s.student_key = pr.student_key
        {where} GROUP BY pr.paper_id"""),
    # the questionnaires and their answers (the green indicators)
    "surveys": ("", """
        SELECT NULL::INTEGER AS paper_id,
               (SELECT count(*) FROM surveys) + (SELECT count(*) FROM survey_answers) AS n,
               xor(coalesce((SELECT bit_xor(hash(s)) FROM surveys s), 0::UBIGINT),
                   coalesce((SELECT bit_xor(hash(a)) FROM survey_answers a), 0::UBIGINT))
               AS h"""),
}


def component_sql(name: str, one_paper: bool) -> str:
    """The SQL of component ``name``: for ``$paper_id`` (``one_paper``) or every paper (one row
    per paper that has rows; the others have ``n`` 0 and ``h`` NULL)."""
    column, sql = COMPONENTS[name]
    return sql.format(where=f"WHERE {column} = $paper_id" if one_paper and column else "")


@dataclass(frozen=True)
class Family:
    """One family of derived tables (see the module notes).

    Attributes
    ----------
    name : str
        The family's key in ``derived_state``.
    tables : tuple of str
        The tables it writes (documentation; ``summaries`` writes ``summary_<name>``).
    components : tuple of str
        The :data:`COMPONENTS` its content is derived from.
    papers_sql : str
        The papers it applies to (column ``paper_id``); the tables of others are dropped.
    refresh : callable
        ``refresh(wh, paper_ids)`` rebuilds the tables of those papers; may return a log frame.
    drop : callable
        ``drop(wh, paper_ids)`` removes the rows of papers it no longer applies to.
    version : int
        Bumped whenever the code changes what the tables hold: state of another version is
        not current.
    extras : callable, optional
        ``extras(wh, paper_id, component)`` → further ``key:value`` parts of the fingerprint
        (what the content depends on besides the components; ``component(name, paper_id)``
        gives another paper's component).
    parts : callable, optional
        ``parts()`` → the parts recorded per paper (default one part, ``''``).
    gated : bool
        Read only where the backend keeps stored reductions (``wh.stored_passes``): False on
        Spark and for ``Warehouse(stored_passes=False)``.
    atomic : bool
        Rebuild and record in one transaction (the summaries commit each table themselves).
    """

    name: str
    tables: tuple[str, ...]
    components: tuple[str, ...]
    papers_sql: str
    refresh: Callable[[Backend, list[int]], pd.DataFrame | None]
    drop: Callable[[Backend, list[int]], None]
    version: int = 1
    extras: Callable[[Backend, int, Callable[[str, int], str]], list[str]] | None = None
    parts: Callable[[], Sequence[str]] | None = None
    gated: bool = True
    atomic: bool = True


#: Every declared family by name, in the order :func:`keep_derived_current` refreshes them
#: (the summaries last: they read the others).
FAMILIES: dict[str, Family] = {}

#: The families every write of responses, results, items or students keeps current in its own
#: transaction (the importers): the stored reductions. The summaries follow after the commit
#: (``eqm serve``, the snapshot republish, ``eqm summaries refresh``).
STORED: tuple[str, ...] = ("item_passes", "knowledge_results")


def declare(family: Family) -> Family:
    """Add (or replace) a family in :data:`FAMILIES`; returns it."""
    FAMILIES[family.name] = family
    return family


def family(name: str) -> Family:
    """The declared family ``name`` (the stored reductions are declared on first use)."""
    if name not in FAMILIES:
        _declare_stored()
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown derived family {name!r}; declared: {sorted(FAMILIES)}") from None


def _declare_stored() -> None:
    # the stored reductions declare themselves in their modules
    from analytics.reduce import item_passes, knowledge  # noqa: F401


# -- the fingerprint ----------------------------------------------------------------------------

def component(wh: Backend, name: str, paper_id: int, *, every: bool = False) -> str:
    """One component of a fingerprint: ``name:rows:hash`` for ``paper_id``, from a query of
    that paper, or (``every``) from one query of every paper kept with the memos (the
    refreshes look at all papers; the analyses at one). Both give the same text."""
    if every:
        frame = wh.memo(("derived: component", name), lambda: wh.df(component_sql(name, False)))
        hit = frame[frame["paper_id"] == paper_id] if COMPONENTS[name][0] else frame
    else:
        hit = wh.df_shared(component_sql(name, True), {"paper_id": int(paper_id)}
                           if COMPONENTS[name][0] else {})
    if hit.empty:
        return f"{name}:0:"
    n, h = hit["n"].iloc[0], hit["h"].iloc[0]
    return f"{name}:{int(n)}:{'' if pd.isna(h) else int(h)}"


def fingerprint(wh: Backend, name: str, paper_id: int, *, every: bool = False) -> str:
    """Today's fingerprint of ``paper_id`` for family ``name`` (see the module notes): the
    family's components, then its extras, joined by ``|`` (``every``: see
    :func:`component`)."""
    fam = family(name)

    def comp(c: str, pid: int) -> str:
        return component(wh, c, pid, every=every)

    parts = [comp(c, paper_id) for c in fam.components]
    if fam.extras is not None:
        parts += fam.extras(wh, paper_id, comp)
    return "|".join(parts)


def state_sql() -> str:
    """The recorded state of one family and paper: ``part, version, fingerprint,
    refreshed_at``."""
    return """
        SELECT part, version, fingerprint, refreshed_at FROM derived_state
        WHERE family = $family AND paper_id = $paper_id ORDER BY part
    """


def has_state_table(wh: Backend) -> bool:
    """Whether the warehouse has ``derived_state`` (migration 007)."""
    n = wh.df_shared("SELECT count(*) AS n FROM information_schema.tables "
                     "WHERE table_name = 'derived_state' AND table_catalog <> 'temp'")
    return int(n["n"].iloc[0]) == 1


def _state(wh: Backend, name: str, paper_id: int, every: bool = False) -> pd.DataFrame:
    if not every:
        return wh.df_shared(state_sql(), {"family": name, "paper_id": int(paper_id)})
    frame = wh.memo(("derived: state", name), lambda: wh.df(
        "SELECT paper_id, part, version, fingerprint, refreshed_at FROM derived_state "
        "WHERE family = $family", {"family": name}))
    return frame[frame["paper_id"] == paper_id]


def _allowed(wh: Backend, fam: Family) -> bool:
    return (wh.stored_passes or not fam.gated) and has_state_table(wh)


def is_current(wh: Backend, name: str, paper_id: int, part: str = "", *,
               every: bool = False) -> bool:
    """Whether the analyses may read a derived family's tables for one paper.

    Parameters
    ----------
    wh : Backend
        The warehouse.
    name : {'item_passes', 'knowledge_results', 'summaries'}
        The family (:data:`FAMILIES`).
    paper_id : int
        The paper.
    part : str
        A summary table's name (family ``summaries``); ``''`` for the others.
    every : bool
        Take the fingerprint from one query of every paper (kept until the next write): for
        a reader that will ask about many papers (the summaries); else of this paper only.

    Returns
    -------
    bool
        True when the backend allows it (``gated`` families: ``wh.stored_passes``), the
        warehouse has ``derived_state``, and the state recorded for the paper (and part) has
        the family's version and today's :func:`fingerprint`; else the caller reduces the
        responses itself.
    """
    fam = family(name)
    if not _allowed(wh, fam):
        return False
    st = _state(wh, name, paper_id, every)
    row = st[st["part"] == part]
    if len(row) != 1 or int(row["version"].iloc[0]) != fam.version:
        return False
    return str(row["fingerprint"].iloc[0]) == fingerprint(wh, name, paper_id, every=every)


def family_papers(wh: Backend, name: str) -> list[int]:
    """The papers family ``name`` applies to."""
    return [int(p) for p in wh.df(family(name).papers_sql)["paper_id"]]


def stale_papers(wh: Backend, name: str, papers: Iterable[int] | None = None) -> list[int]:
    """The papers (of ``papers``, default every paper the family applies to) whose tables of
    family ``name`` are missing or not current: no state recorded, or a recorded part of
    another version or fingerprint."""
    fam = family(name)
    applies = family_papers(wh, name)
    wanted = set(applies)
    chosen = applies if papers is None else [p for p in map(int, papers) if p in wanted]
    if not has_state_table(wh):
        return chosen
    states = wh.df("SELECT paper_id, version, fingerprint FROM derived_state "
                   "WHERE family = $f", {"f": name})
    by_paper = {int(g["paper_id"].iloc[0]): g for _, g in states.groupby("paper_id")}
    every = len(chosen) > 1         # one query of every paper, else one of this paper
    out = []
    for pid in chosen:
        st = by_paper.get(pid)
        if st is None or not ((st["version"].astype(int) == fam.version).all() and
                              (st["fingerprint"] == fingerprint(wh, name, pid,
                                                                every=every)).all()):
            out.append(pid)
    return out


def record_sql() -> str:
    """Record one part's state (after the row of ``$family``, ``$paper_id``, ``$part`` was
    deleted)."""
    return """
        INSERT INTO derived_state (family, paper_id, part, version, fingerprint)
        VALUES ($family, $paper_id, $part, $version, $fingerprint)
    """


def record(wh: Backend, name: str, prints: dict[int, str],
           parts: Sequence[str] | None = None) -> None:
    """Record ``prints`` (paper → fingerprint taken before the rebuild) as the state of family
    ``name``'s ``parts`` (default the family's parts; the other parts of those papers are
    forgotten unless ``parts`` is given)."""
    fam = family(name)
    chosen = list(parts if parts is not None else (fam.parts() if fam.parts else [""]))
    with wh.transaction():
        for pid, fp in prints.items():
            if parts is None:
                wh.execute("DELETE FROM derived_state WHERE family = $f AND paper_id = $p",
                           {"f": name, "p": int(pid)})
            for part in chosen:
                if parts is not None:
                    wh.execute("DELETE FROM derived_state WHERE family = $f AND paper_id = $p "
                               "AND part = $part", {"f": name, "p": int(pid), "part": part})
                wh.execute(record_sql(), {"family": name, "paper_id": int(pid), "part": part,
                                          "version": fam.version, "fingerprint": fp})


def forget_gone(wh: Backend, name: str) -> list[int]:
    """Drop family ``name``'s rows and state of papers it no longer applies to (a paper
    deleted, a paper's results removed); returns those papers."""
    applies = set(family_papers(wh, name))
    known = wh.df("SELECT DISTINCT paper_id FROM derived_state WHERE family = $f",
                  {"f": name})["paper_id"]
    gone = sorted(int(p) for p in known if int(p) not in applies)
    fam = family(name)
    with wh.transaction():
        fam.drop(wh, gone)
        if gone:
            wh.execute("DELETE FROM derived_state WHERE family = $f AND list_contains($p, "
                       "paper_id)", {"f": name, "p": gone})
    return gone


# -- keeping them current ------------------------------------------------------------------------

@dataclass
class Kept:
    """What :func:`keep_derived_current` did: ``refreshed`` family → the papers rebuilt;
    ``logs`` family → the log its refresh returned (the summaries' per table × paper log)."""

    refreshed: dict[str, list[int]] = field(default_factory=dict)
    logs: dict[str, pd.DataFrame] = field(default_factory=dict)


def _chosen(only: Iterable[str] | None) -> list[str]:
    _declare_stored()
    names = list(FAMILIES) if only is None else list(only)
    for n in names:
        family(n)
    order = list(FAMILIES)
    return sorted(names, key=order.index)


def keep_derived_current(wh: Backend, papers: Iterable[int] | None = None, *,
                         only: Iterable[str] | None = None) -> Kept:
    """Rebuild the derived tables that are not current, and only those.

    Parameters
    ----------
    wh : Backend
        A writable DuckDB warehouse (inside or outside a transaction: each family's rebuild and
        its record are one transaction, joined to the caller's if there is one).
    papers : iterable of int, optional
        Look only at these papers (default every paper each family applies to; the tables of
        papers a family no longer applies to are dropped then).
    only : iterable of str, optional
        The families to keep (default every declared one: :data:`STORED` and, once
        :mod:`analytics.summaries` is imported, ``summaries``). The importers pass
        :data:`STORED`.

    Returns
    -------
    Kept
        The papers rebuilt per family, and the families' logs.

    Notes
    -----
    Every fingerprint is taken before anything is rebuilt (a rebuild writes, which drops the
    kept reductions the fingerprints share) and recorded after the rebuild; a family is
    rebuilt after those it reads (the summaries after the stored passes).
    """
    kept = Kept()
    if not has_state_table(wh):
        return kept
    names = _chosen(only)
    todo: dict[str, dict[int, str]] = {}
    for name in names:
        stale = stale_papers(wh, name, papers)
        todo[name] = {pid: fingerprint(wh, name, pid, every=len(stale) > 1) for pid in stale}
    for name in names:
        if papers is None:
            forget_gone(wh, name)
        kept.refreshed[name] = sorted(todo[name])
        log = _rebuild(wh, name, todo[name])
        if log is not None:
            kept.logs[name] = log
    return kept


_DEFERRING: set[int] = set()


@contextmanager
def deferred(wh: Backend, *, only: Iterable[str] = STORED) -> Iterator[None]:
    """A batch of imports: inside the block the importers do not keep the stored derived
    tables current after each file (each would look at every paper again); at its end, one
    :func:`keep_derived_current` (``only``) rebuilds what the batch changed. Meanwhile the
    readers see stale fingerprints and reduce the responses themselves (never a stale table).
    Used by the demo's import of its ~40 files."""
    key = id(wh)
    if key in _DEFERRING:                # nested: the outer block keeps them
        yield
        return
    _DEFERRING.add(key)
    try:
        yield
    finally:
        _DEFERRING.discard(key)
    keep_derived_current(wh, only=only)


def deferring(wh: Backend) -> bool:
    """Whether ``wh`` is inside :func:`deferred` (the importers then leave the derived tables
    to the end of the batch)."""
    return id(wh) in _DEFERRING


def refresh_derived(wh: Backend, name: str, papers: Iterable[int]) -> pd.DataFrame | None:
    """Rebuild family ``name``'s tables of ``papers`` whether current or not, and record
    their state; returns the family's log (if any)."""
    pids = [int(p) for p in papers]
    return _rebuild(wh, name, {pid: fingerprint(wh, name, pid, every=len(pids) > 1)
                               for pid in pids})


def _rebuild(wh: Backend, name: str, prints: dict[int, str]) -> pd.DataFrame | None:
    if not prints:
        return None
    fam = family(name)
    if fam.atomic:
        with wh.transaction():
            log = fam.refresh(wh, sorted(prints))
            record(wh, name, prints)
    else:
        log = fam.refresh(wh, sorted(prints))
        record(wh, name, prints)
    return log


def derived_state(wh: Backend) -> pd.DataFrame:
    """Every recorded state: ``family, paper_id, part, version, fingerprint, refreshed_at``."""
    return wh.df("SELECT family, paper_id, part, version, fingerprint, refreshed_at "
                 "FROM derived_state ORDER BY family, paper_id, part")


def params_for(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``params`` that ``sql`` uses (``$name``)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}
