"""Benchmark: error hotspots (issue 3, part 4) against a straightforward pandas implementation.

Uses the same warehouse as ``benchmarks/stats_bench.py`` (built by its ``build``: N students ×
40 items through ``tests/builders.build_exam``), or an existing one (``--db``, e.g. from
``eqm demo --students 1000000``). Each phase runs in its own subprocess so that its peak memory
(``ru_maxrss``) is its own:

* ``sql``: ``error_hotspots`` by item and by knowledge point at school level, by item at class
  level (absolute and relative), ``district_weak_points`` and ``knowledge_matrix`` per class;
* ``pandas``: the obvious way — read every present response with its school, class, item and
  answer into pandas, ``groupby`` for the per-unit sums and the wrong answers, then the same
  inference (:func:`analytics.hotspots._compare`, BH) on the small frames.

Usage::

    python benchmarks/hotspots_bench.py --students 50000
    python benchmarks/hotspots_bench.py --db data/warehouse.duckdb --exam 期末 --subject 数学

Do not run above 100,000 students on the shared machine; the lead runs the 1M case.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from stats_bench import (  # noqa: E402
    _timed,
    bench_paper,
    bench_parser,
    print_steps,
    run_phase,
)


def phase_sql(db: Path, exam: str, subject: str, grade: int | None,
              threads: int | None) -> dict[str, Any]:
    from analytics.hotspots import district_weak_points, error_hotspots, knowledge_matrix
    from analytics.warehouse import Warehouse

    times: dict[str, Any] = {}
    p = {"exam": exam, "subject": subject, "grade": grade}
    t0 = time.perf_counter()
    with Warehouse(db, read_only=True, threads=threads) as wh:
        s = _timed("hotspots[school,item]", lambda: error_hotspots(wh, **p), times)
        _timed("hotspots[school,kp]",
               lambda: error_hotspots(wh, **p, grain="knowledge_point"), times)
        _timed("hotspots[class,item]", lambda: error_hotspots(wh, **p, level="class"), times)
        _timed("hotspots[class,item,relative]",
               lambda: error_hotspots(wh, **p, level="class", relative=True), times)
        _timed("district_weak_points", lambda: district_weak_points(wh, **p), times)
        _timed("knowledge_matrix[class]", lambda: knowledge_matrix(wh, **p, level="class"),
               times)
    return {"phase": "sql", "seconds": times, "total_seconds": time.perf_counter() - t0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "check": {"school_item_rows": len(s), "flagged": int(s["flag"].sum()),
                      "min_q": float(s["q_value"].min())}}


def phase_pandas(db: Path, exam: str, subject: str, grade: int | None) -> dict[str, Any]:
    """School × item hotspots the straightforward pandas way."""
    import numpy as np

    from analytics.domain.items import OBJECTIVE_TYPES
    from analytics.hotspots import _compare, bh_qvalues
    from analytics.lookup import resolve_paper
    from analytics.warehouse import Warehouse

    times: dict[str, Any] = {}
    t0 = time.perf_counter()
    with Warehouse(db, read_only=True) as wh:
        paper = resolve_paper(wh, exam, subject, grade)
        df = _timed("read responses", lambda: wh.df(
            "SELECT r.student_key, r.item_id, r.score, r.answer, i.max_score, i.answer_key, "
            "i.item_type, s.school_id, s.class_id FROM responses r "
            "JOIN paper_results p USING (paper_id, student_key) "
            "JOIN items i USING (item_id) JOIN students s USING (student_key) "
            "WHERE r.paper_id = $p AND p.status = 'present'", {"p": paper.paper_id}), times)

    def hotspots() -> Any:
        df["x"] = df["score"].fillna(0) / df["max_score"]
        df["xx"] = df["x"] ** 2
        units = (df.groupby(["school_id", "item_id"])
                 .agg(n=("x", "size"), sum_x=("x", "sum"), sum_xx=("xx", "sum")).reset_index())
        dist = (df.groupby("item_id").agg(n_d=("x", "size"), sum_x_d=("x", "sum"),
                                          sum_xx_d=("xx", "sum")).reset_index())
        for c in ("sum_p", "sum_pp", "sum_xp"):
            units[c] = 0.0
            dist[f"{c}_d"] = 0.0
        f = _compare(units, dist, "item_id")
        f["q_value"] = bh_qvalues(f["p_value"])
        wrong = df[df["item_type"].isin(OBJECTIVE_TYPES)
                   & df["answer"].notna() & (df["answer"] != df["answer_key"])]
        top = (wrong.groupby(["school_id", "item_id", "answer"]).size().rename("k")
               .reset_index().sort_values("k", ascending=False)
               .drop_duplicates(["school_id", "item_id"]))
        return f.merge(top, on=["school_id", "item_id"], how="left")

    f = _timed("hotspots[school,item]", hotspots, times)
    return {"phase": "pandas", "seconds": times, "total_seconds": time.perf_counter() - t0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "check": {"school_item_rows": len(f),
                      "min_q": float(np.nanmin(f["q_value"]))}}


def main() -> None:
    a = bench_parser(__doc__ or "").parse_args()
    if a.phase:  # child process
        if a.phase == "sql":
            out = phase_sql(a.db, a.exam, a.subject, a.grade, a.threads)
        else:
            out = phase_pandas(a.db, a.exam, a.subject, a.grade)
        print(json.dumps(out, ensure_ascii=False))
        return
    with bench_paper(a) as (db, exam, subject, grade):
        results = [run_phase(__file__, phase, db, exam, subject, grade, a.threads)
                   for phase in ("sql", "pandas")]
    for r in results:
        print(f"{r['phase']:7s} total {r['total_seconds']:6.2f} s  peak {r['peak_rss_mb']:7.0f} MB"
              f"  {r['check']}")
        print_steps(r, 10, 34)


if __name__ == "__main__":
    main()
