"""Benchmark: student growth percentiles (SGP) for N students.

Generates (seeded) integer entry and current totals on a 0–150 paper (correlation ≈ 0.7) for N
students, writes them into a fresh warehouse (one exam pair), and times
:func:`analytics.growth.student_growth` end to end: the DuckDB grouping into distinct
(entry, current) pairs, the 100 quantile regressions (Frisch–Newton interior point on the
weighted pairs) and the join back to every student. ``--statsmodels-taus K`` also times
statsmodels ``QuantReg`` on the raw students for K quantiles and extrapolates to 100.

Usage::

    python benchmarks/sgp_bench.py --students 1000000                 # the target
    python benchmarks/sgp_bench.py --students 100000 --statsmodels-taus 3

Target (issue 4): 1,000,000 students in under 60 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.growth import TAUS, knots_boundaries, sgp_design, student_growth
from analytics.warehouse import Warehouse


def build(wh: Warehouse, n: int, schools: int = 500, seed: int = 20260402) -> None:
    rng = np.random.default_rng(seed)
    school = np.sort(rng.integers(1, schools + 1, n))
    a = rng.normal(0, 0.5, schools)[school - 1] + rng.normal(size=n)
    x = np.clip(np.round(95 + 18 * a), 0, 150)
    y = np.clip(np.round(90 + 20 * (0.7 * a + 0.71 * rng.normal(size=n))), 0, 150)
    wh.insert_df("districts", pd.DataFrame({"district_id": [1], "name": ["基准区"]}))
    wh.insert_df("schools", pd.DataFrame({"school_id": np.arange(1, schools + 1),
                                          "name": [f"学校{i}" for i in range(1, schools + 1)]}))
    wh.insert_df("students", pd.DataFrame({"student_key": np.arange(1, n + 1),
                                           "student_id": np.char.add("S", np.arange(1, n + 1)
                                                                     .astype(str)),
                                           "school_id": school}))
    wh.insert_df("exams", pd.DataFrame({"exam_id": [1, 2], "name": ["入口", "期末"]}))
    wh.insert_df("papers", pd.DataFrame({"paper_id": [1, 2], "exam_id": [1, 2],
                                         "subject": "数学", "grade": 8, "full_score": 150.0}))
    for pid, v in ((1, x), (2, y)):
        wh.insert_df("paper_results", pd.DataFrame({"paper_id": pid,
                                                    "student_key": np.arange(1, n + 1),
                                                    "status": "present", "total": v}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=1_000_000)
    ap.add_argument("--statsmodels-taus", type=int, default=0)
    ap.add_argument("--json", action="store_true",
                    help="also print the figures as one JSON line (for benchmarks/run_all.py)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(Path(tmp) / "bench.duckdb")
        t0 = time.perf_counter()
        build(wh, args.students)
        print(f"students={args.students:,} (build warehouse {time.perf_counter() - t0:.1f} s)")
        t0, c0 = time.perf_counter(), time.process_time()
        out = student_growth(wh, exam="期末", prior_exam="入口", subject="数学")
        t, cpu = time.perf_counter() - t0, time.process_time() - c0
        pairs = wh.scalar("SELECT count(*) FROM (SELECT DISTINCT p.total, c.total FROM "
                          "paper_results p JOIN paper_results c USING (student_key) "
                          "WHERE p.paper_id = 1 AND c.paper_id = 2)")
        print(f"SGP for {len(out):,} students ({pairs:,} distinct score pairs): {t:.1f} s "
              f"(target < 60 s)")
        print(f"  SGP deciles: {np.bincount((out['sgp'].to_numpy(int) - 1) // 10)}")
        if args.statsmodels_taus:
            from statsmodels.regression.quantile_regression import QuantReg

            d = wh.df("SELECT p.total AS x, c.total AS y FROM paper_results p JOIN "
                      "paper_results c USING (student_key) WHERE p.paper_id = 1 "
                      "AND c.paper_id = 2")
            knots, bnd = knots_boundaries(d["x"].to_numpy(float))
            X = sgp_design(d["x"].to_numpy(float), knots, bnd)
            taus = TAUS[np.linspace(0, 99, args.statsmodels_taus).astype(int)]
            t0 = time.perf_counter()
            for tau in taus:
                QuantReg(d["y"].to_numpy(float), X).fit(q=tau, max_iter=5000)
            ts = time.perf_counter() - t0
            print(f"statsmodels QuantReg: {ts:.1f} s for {len(taus)} quantiles → "
                  f"≈ {ts / len(taus) * 100:.0f} s for 100")
        if args.json:
            print(json.dumps({"students": len(out), "pairs": int(pairs), "wall": t, "cpu": cpu,
                              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                              / 1024}))
        wh.close()


if __name__ == "__main__":
    main()
