"""Benchmark: the same analyses on DuckDB and on Spark (local mode) over a Parquet export.

Over an existing warehouse (e.g. the benchmark suite's ``data/bench/warehouse_1000000.duckdb``,
or ``eqm demo --no-serve --students N``) it times

1. ``export`` — :func:`analytics.export.export_parquet` of the warehouse (``eqm export parquet``);
2. for each analysis — ``score_report`` (school), ``item_stats`` (district and school) on the
   40-item bench paper, ``value_added`` (school, entry → monitoring exam) — the DuckDB run and
   the Spark run of the same function (one SQL source, transpiled by SQLGlot), and the largest
   absolute difference between the two results' numeric columns;
3. Spark's session start-up separately (it is paid once per process).

Peak memory: the Python process's peak RSS (``ru_maxrss``) and, for Spark, the peak RSS of the
Java child process sampled every 0.2 s from ``/proc``.

Usage::

    python benchmarks/spark_bench.py data/bench/warehouse_1000000.duckdb --master 'local[2]'
    python benchmarks/spark_bench.py data/warehouse.duckdb --exam 2026年区级质量监测

Prints one JSON object (``--json``) or a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BENCH_EXAM = "基准监测(40题)"
ENTRY_EXAM, MONITOR_EXAM = "2025学年第一学期期末", "2026年区级质量监测"


class JavaRss:
    """Peak resident memory of this process's Java children, sampled from /proc."""

    def __init__(self, every: float = 0.2) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _children(self) -> list[int]:
        me, found, out = os.getpid(), [os.getpid()], []
        procs: dict[int, int] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as fh:
                        procs[int(d)] = int(fh.read().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
        while found:
            parent = found.pop()
            kids = [p for p, pp in procs.items() if pp == parent]
            out += kids
            found += kids
        return [p for p in out if p != me]

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            total = 0
            for pid in self._children():
                try:
                    with open(f"/proc/{pid}/status") as fh:
                        for line in fh:
                            if line.startswith("VmRSS:"):
                                total += int(line.split()[1])
                except OSError:
                    continue
            self.peak_kb = max(self.peak_kb, total)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def max_abs_diff(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Largest absolute difference over the numeric columns both frames share (rows aligned
    by the frames' id columns when present, else by position)."""
    ids = [c for c in a.columns if c.endswith("_id") and c in b.columns]
    if ids:
        a, b = a.sort_values(ids).reset_index(drop=True), b.sort_values(ids).reset_index(drop=True)
    if len(a) != len(b):
        return float("inf")
    worst = 0.0
    for col in a.columns:
        if col in b.columns and pd.api.types.is_numeric_dtype(a[col]) \
                and pd.api.types.is_numeric_dtype(b[col]):
            x, y = a[col].to_numpy(float), b[col].to_numpy(float)
            both = ~(np.isnan(x) & np.isnan(y))
            if both.any():
                worst = max(worst, float(np.nanmax(np.abs(x[both] - y[both]), initial=0.0)))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--exam", default=BENCH_EXAM, help="itemised paper for the statistics")
    ap.add_argument("--subject", default="数学")
    ap.add_argument("--grade", type=int, default=9)
    ap.add_argument("--parquet", type=Path, default=None,
                    help="export directory (default: a temporary one, removed afterwards)")
    ap.add_argument("--driver-memory", default="6g")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from analytics.backends.spark import SparkWarehouse, spark_session
    from analytics.export import export_parquet
    from analytics.items import item_stats
    from analytics.scores import score_report
    from analytics.value_added import value_added
    from analytics.warehouse import Warehouse

    out_dir = args.parquet or Path(tempfile.mkdtemp(prefix="eqm_lake_"))
    paper = {"exam": args.exam, "subject": args.subject, "grade": args.grade}
    analyses: dict[str, Callable[[Any], pd.DataFrame]] = {
        "score_report[school]": lambda w: score_report(w, level="school", **paper),
        "item_stats[district]": lambda w: item_stats(w, level="district", **paper),
        "item_stats[school]": lambda w: item_stats(w, level="school", **paper),
        "value_added[school]": lambda w: value_added(
            w, exam=MONITOR_EXAM, prior_exam=ENTRY_EXAM, subject=args.subject,
            grade=args.grade, level="school"),
    }
    res: dict[str, Any] = {"db": str(args.db), "master": args.master, "steps": {}}
    try:
        with Warehouse(args.db, read_only=True) as wh:
            res["students"] = int(wh.scalar("SELECT count(*) FROM students"))
            res["responses"] = int(wh.scalar("SELECT count(*) FROM responses"))
            _, wall, cpu = timed(lambda: export_parquet(wh, out_dir))
            res["steps"]["export parquet"] = {"duckdb": [wall, cpu]}
            res["parquet_mb"] = sum(p.stat().st_size for p in out_dir.rglob("*.parquet")) / 2**20
            duck: dict[str, pd.DataFrame] = {}
            for name, fn in analyses.items():
                duck[name], wall, cpu = timed(lambda fn=fn: fn(wh))
                res["steps"][name] = {"duckdb": [wall, cpu]}
        res["duckdb_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        java = JavaRss()
        session, wall, _ = timed(lambda: spark_session(
            args.master, conf={"spark.driver.memory": args.driver_memory}))
        res["spark_startup_s"] = wall
        sw, wall, _ = timed(lambda: SparkWarehouse(out_dir, spark=session))
        res["spark_open_s"] = wall
        for name, fn in analyses.items():
            frame, wall, cpu = timed(lambda fn=fn: fn(sw))
            res["steps"][name]["spark"] = [wall, cpu]
            res["steps"][name]["max_abs_diff"] = max_abs_diff(duck[name], frame)
        sw.close()
        res["java_peak_rss_mb"] = java.stop()
        session.stop()
    finally:
        if args.parquet is None:
            shutil.rmtree(out_dir, ignore_errors=True)
    res["python_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        print(json.dumps(res, ensure_ascii=False, indent=1))
        return
    print(f"{res['students']:,} students, {res['responses']:,} responses, Spark {args.master}; "
          f"start-up {res['spark_startup_s']:.1f} s, open {res['spark_open_s']:.1f} s")
    print("| step | DuckDB wall s | Spark wall s | max abs difference |")
    print("|---|---|---|---|")
    for name, step in res["steps"].items():
        spark = f"{step['spark'][0]:.2f}" if "spark" in step else "—"
        diff = f"{step['max_abs_diff']:.1e}" if "max_abs_diff" in step else "—"
        print(f"| {name} | {step['duckdb'][0]:.2f} | {spark} | {diff} |")
    print(f"peak RSS: DuckDB process {res['duckdb_peak_rss_mb']:.0f} MB; Spark JVM "
          f"{res['java_peak_rss_mb']:.0f} MB; parquet {res['parquet_mb']:.0f} MB")


if __name__ == "__main__":
    main()
