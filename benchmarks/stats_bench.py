"""Benchmark: score reports, item statistics and the paper quality report (issue 3, parts 1–3),
against a straightforward pandas implementation of the same numbers.

Builds (seeded, through ``tests/builders.build_exam``) a warehouse of N students × 40 items
(25 single choice, 5 multiple choice, 5 fill-in, 5 constructed; ~N/400 schools of 8 classes),
or reads an existing one (``--db``, e.g. from ``eqm demo --students 1000000``; the paper is
``--exam``/``--subject`` or else the one with most responses). Then, each phase in its own
subprocess so that peak memory (``ru_maxrss``) is the phase's own:

* ``sql``: ``score_report`` at district, zone, school and class level, ``grade_bands`` per
  school, ``item_stats`` for the district and per school (with Moodle's discriminative
  efficiency), ``paper_quality`` and the knowledge-point rates at every level;
* ``pandas``: the same statistics the obvious way — read responses and results into pandas,
  pivot to a wide students × items matrix, groupby for the score report, corrwith for the
  item–total correlations, a sort for Kelley's groups, a loop over schools for per-school item
  statistics.

Each step is reported as wall seconds and CPU seconds of the process (all DuckDB threads);
on a shared machine the CPU figure is the steadier one.

Usage::

    python benchmarks/stats_bench.py --students 50000
    python benchmarks/stats_bench.py --db data/warehouse.duckdb --exam 期末 --subject 数学

Do not run above 100,000 students on the shared machine; the 1M target (< 15 s, < 4 GB for
parts 1–4) is checked by the lead.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def bench_items() -> list[dict[str, Any]]:
    """The bench paper of :func:`analytics.bench.bench_items` (40 items, seed 2026) as the
    item dicts of ``tests/builders.build_exam``."""
    from analytics.bench import bench_items as paper

    out: list[dict[str, Any]] = []
    for r in paper().to_dict("records"):
        it: dict[str, Any] = {
            "label": r["label"], "item_type": r["item_type"],
            "knowledge_points": [r["knowledge_point"]], "cognitive_level": r["cognitive_level"],
            "difficulty": r["b"], "discrimination": r["a"], "max_score": r["max_score"]}
        if isinstance(r["answer_key"], str):
            it["key"] = r["answer_key"]
        if r["partial_score"] == r["partial_score"]:  # not NaN
            it["partial_score"] = r["partial_score"]
        out.append(it)
    return out


def build(path: Path, students: int) -> tuple[str, str]:
    sys.path.insert(0, str(ROOT / "tests"))
    from builders import build_exam

    from analytics.warehouse import Warehouse

    n_schools = max(2, students // 400)
    with Warehouse(path) as wh:
        r = build_exam(wh, n_schools=n_schools, students_per_school=students // n_schools,
                       classes_per_school=8, n_zones=6, items=bench_items(), seed=1,
                       exam="基准监测")
    return r["exam"], r["subject"]


def pick_paper(db: Path) -> tuple[str, str, int]:
    from analytics.warehouse import Warehouse

    with Warehouse(db, read_only=True) as wh:
        row = wh.df("""
            SELECT e.name AS exam, p.subject, p.grade, count(*) AS n
            FROM responses r JOIN papers p USING (paper_id) JOIN exams e USING (exam_id)
            GROUP BY ALL ORDER BY n DESC LIMIT 1
        """).iloc[0]
    return str(row["exam"]), str(row["subject"]), int(row["grade"])


def _timed(label: str, fn: Any, times: dict[str, Any]) -> Any:
    """Run ``fn``; record [wall seconds, CPU seconds of the process (all DuckDB threads)] —
    CPU time is the steadier figure on a shared, loaded machine."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    times[label] = [time.perf_counter() - t0, time.process_time() - c0]
    return out


def bench_parser(doc: str) -> argparse.ArgumentParser:
    """The options of a benchmark that times its phases in child processes (this one and
    ``hotspots_bench.py``): the warehouse built or given, the paper, threads, the phase."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--students", type=int, default=50_000)
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--exam")
    ap.add_argument("--subject")
    ap.add_argument("--grade", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--phase", choices=["sql", "pandas"], default=None, help=argparse.SUPPRESS)
    return ap


def phase_command(script: str, phase: str, db: Path, exam: str, subject: str,
                  grade: int | None, threads: int | None) -> list[str]:
    """The command line running one ``phase`` of ``script`` in a fresh process."""
    cmd = [sys.executable, script, "--phase", phase, "--db", str(db), "--exam", exam,
           "--subject", subject]
    if grade is not None:
        cmd += ["--grade", str(grade)]
    if threads:
        cmd += ["--threads", str(threads)]
    return cmd


@contextmanager
def bench_paper(a: argparse.Namespace,
                max_students: int | None = None) -> Iterator[tuple[Path, str, str, int | None]]:
    """The warehouse and paper to time: ``a.db`` with ``a.exam``, ``a.subject``, ``a.grade``
    (its first paper, :func:`pick_paper`, when they are not given), else ``a.students`` built
    into a temporary folder that is removed afterwards (at most ``max_students``)."""
    if a.db is not None:
        if a.exam and a.subject:
            yield a.db, a.exam, a.subject, a.grade
        else:
            yield (a.db, *pick_paper(a.db))
        return
    if max_students is not None and a.students > max_students:
        sys.exit(f"refusing to build more than {max_students:,} students here; use --db")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        t0 = time.perf_counter()
        exam, subject = build(db, a.students)
        print(f"built {a.students} students × 40 items in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
        yield db, exam, subject, None


def run_phase(script: str, phase: str, db: Path, exam: str, subject: str, grade: int | None,
              threads: int | None) -> dict[str, Any]:
    """Run one ``phase`` of ``script`` in a fresh process (:func:`phase_command`) and return
    the JSON object it prints last (its ``seconds``: step → [wall, cpu])."""
    cmd = phase_command(script, phase, db, exam, subject, grade, threads)
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    out: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def print_steps(result: dict[str, Any], indent: int, width: int) -> None:
    """One line per timed step of a :func:`run_phase` result: wall and CPU seconds."""
    for k, (wall, cpu) in result["seconds"].items():
        print(f"{' ' * indent}{k:{width}s} {wall:7.2f} s wall {cpu:7.2f} s CPU")


def phase_sql(db: Path, exam: str, subject: str, grade: int | None,
              threads: int | None) -> dict[str, Any]:
    from analytics.items import item_stats
    from analytics.paper import category_rates, paper_quality
    from analytics.scores import grade_bands, score_report
    from analytics.warehouse import Warehouse

    times: dict[str, Any] = {}
    p = {"exam": exam, "subject": subject, "grade": grade}
    t0, c0 = time.perf_counter(), time.process_time()
    with Warehouse(db, read_only=True, threads=threads) as wh:
        for lv in ("district", "zone", "school", "class"):
            _timed(f"score_report[{lv}]", lambda lv=lv: score_report(wh, **p, level=lv), times)
        _timed("grade_bands[school]", lambda: grade_bands(wh, **p, level="school"), times)
        d = _timed("item_stats[district]", lambda: item_stats(wh, **p, level="district"), times)
        s = _timed("item_stats[school]", lambda: item_stats(wh, **p, level="school"), times)
        _timed("paper_quality[district]", lambda: paper_quality(wh, **p, level="district"),
               times)
        _timed("kp_rates[all levels]", lambda: category_rates(wh, **p), times)
    total = time.perf_counter() - t0
    return {"phase": "sql", "seconds": times, "total_seconds": total,
            "total_cpu": time.process_time() - c0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "check": {"district_D_mean": float(d["discrimination"].mean()),
                      "n_school_rows": len(s)}}


def phase_pandas(db: Path, exam: str, subject: str, grade: int | None) -> dict[str, Any]:
    """The straightforward pandas way (what a notebook would do)."""
    from analytics.domain.bands import KELLEY_SHARE
    from analytics.lookup import resolve_paper
    from analytics.warehouse import Warehouse

    times: dict[str, Any] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    with Warehouse(db, read_only=True) as wh:
        paper = resolve_paper(wh, exam, subject, grade)
        prm = {"p": paper.paper_id}
        resp = _timed("read responses", lambda: wh.df(
            "SELECT student_key, item_id, score, answer FROM responses WHERE paper_id = $p",
            prm), times)
        res = _timed("read results+tree", lambda: wh.df(
            "SELECT pr.student_key, pr.status, pr.total, s.zone_id, s.school_id, s.class_id "
            "FROM paper_results pr JOIN student_tree s USING (student_key) "
            "WHERE pr.paper_id = $p", prm), times)
        meta = wh.df("SELECT item_id, max_score, answer_key, options FROM items "
                     "WHERE paper_id = $p ORDER BY number", prm)
        kp = wh.df("SELECT k.item_id, k.knowledge_point FROM item_knowledge k JOIN items i "
                   "USING (item_id) WHERE i.paper_id = $p", prm)

    def report() -> None:
        pres = res[res["status"] == "present"]
        dm, dsd = pres["total"].mean(), pres["total"].std()
        for lv in ("zone_id", "school_id", "class_id"):
            g = pres.groupby(lv)["total"]
            f = g.agg(["count", "mean", "std", "median", "max", "min"])
            f["excellent_rate"] = g.apply(lambda s: (s >= paper.excellent_line).mean())
            f["pass_rate"] = g.apply(lambda s: (s >= paper.pass_line).mean())
            f["low_rate"] = g.apply(lambda s: (s < paper.low_line).mean())
            f["above_mean_rate"] = f["mean"] / dm - 1
            f["z_mean"] = (f["mean"] - dm) / dsd
            f["rank"] = f["mean"].rank(ascending=False, method="min")

    _timed("score_report[all levels]", report, times)

    wide = _timed("pivot wide", lambda: resp.pivot(index="student_key", columns="item_id",
                                                    values="score").fillna(0.0), times)
    maxes = meta.set_index("item_id")["max_score"]

    def item_table(x: pd.DataFrame) -> pd.DataFrame:
        t = x.sum(axis=1)
        n = len(x)
        g = int(np.floor(KELLEY_SHARE * n + 0.5))
        order = t.sort_values(ascending=False, kind="mergesort").index
        up, lo = x.loc[order[:g]], x.loc[order[n - g:]]
        out = pd.DataFrame({"p": x.mean() / maxes,
                            "d": (up.mean() - lo.mean()) / maxes,
                            "r_total": x.corrwith(t),
                            "r_rest": x.apply(lambda c: c.corr(t - c))})
        var = x.var()
        k = x.shape[1]
        out["alpha_if_deleted"] = [(k - 1) / (k - 2) * (1 - (var.sum() - var[c])
                                                        / (t - x[c]).var()) for c in x.columns]
        return out

    _timed("item_stats[district]", lambda: item_table(wide), times)
    school_of = res.set_index("student_key")["school_id"].reindex(wide.index)
    _timed("item_stats[school]", lambda: {s: item_table(x) for s, x in
                                          wide.groupby(school_of)}, times)

    def quality() -> None:
        t = wide.sum(axis=1)
        k = wide.shape[1]
        alpha = k / (k - 1) * (1 - wide.var().sum() / t.var())
        _ = t.std() * np.sqrt(1 - alpha)
        long = resp.merge(kp, on="item_id").merge(res[["student_key", "zone_id", "school_id",
                                                       "class_id"]], on="student_key")
        long["score"] = long["score"].fillna(0.0)
        long["max"] = long["item_id"].map(maxes)
        for lv in ("zone_id", "school_id", "class_id"):
            g = long.groupby([lv, "knowledge_point"])[["score", "max"]].sum()
            _ = g["score"] / g["max"]

    _timed("paper_quality+kp_rates", quality, times)
    total = time.perf_counter() - t0
    return {"phase": "pandas", "seconds": times, "total_seconds": total,
            "total_cpu": time.process_time() - c0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = bench_parser(__doc__ or "")
    ap.add_argument("--skip-pandas", action="store_true")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    if a.phase:
        fn = (phase_sql(a.db, a.exam, a.subject, a.grade, a.threads) if a.phase == "sql"
              else phase_pandas(a.db, a.exam, a.subject, a.grade))
        print(json.dumps(fn, ensure_ascii=False))
        return
    phases = ["sql"] if a.skip_pandas else ["sql", "pandas"]
    with bench_paper(a, max_students=100_000) as (db, exam, subject, grade):
        for ph in phases:
            out = run_phase(__file__, ph, db, exam, subject, grade, a.threads)
            print(f"\n[{ph}] total {out['total_seconds']:.2f} s wall, {out['total_cpu']:.2f} s "
                  f"CPU, peak RSS {out['peak_rss_mb']:.0f} MB   (load average "
                  f"{os.getloadavg()[0]:.1f})")
            print_steps(out, 2, 28)


if __name__ == "__main__":
    main()
