"""Benchmark: import a marking export of N students × K items with its specification table.

Generates (seeded) a specification table (10 single-choice, 5 multiple-choice, 5 true/false,
K-20 constructed items) and a wide marking export in UTF-8 with a title row, about 1% absent
students and a few blanks, into a temporary directory; then times ``import_paper`` +
``import_scores`` into a fresh warehouse file, validation included. Reports seconds per stage
and peak RSS (``resource.getrusage``).

Usage::

    python benchmarks/import_bench.py --students 200000 --items 40
    python benchmarks/import_bench.py --students 50000            # quick check

The issue's target: 200,000 × 40 in under 10 s on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_files(folder: Path, n_students: int, n_items: int, seed: int = 20260301
                ) -> tuple[Path, Path]:
    """Write ``spec.csv`` and ``scores.csv`` into ``folder``; returns their paths."""
    from analytics.domain import label

    rng = np.random.default_rng(seed)
    kinds = (["single"] * 10 + ["multiple"] * 5 + ["true_false"] * 5
             + ["constructed"] * max(n_items - 20, 0))[:n_items]
    zh = {k: label("item_type", k) for k in set(kinds)}
    spec = folder / "spec.csv"
    keys, maxes = [], []
    with spec.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["题号", "题型", "分值", "答案", "知识点", "认知层次", "部分得分"])
        for i, k in enumerate(kinds, start=1):
            if k == "single":
                key, mx, part = "ABCD"[rng.integers(4)], 3, ""
            elif k == "multiple":
                key, mx, part = "".join(sorted(rng.choice(list("ABCD"), 2, replace=False))), 4, "2"
            elif k == "true_false":
                key, mx, part = ("对", "错")[rng.integers(2)], 2, ""
            else:
                key, mx, part = "", int(rng.choice([6, 8, 10, 12])), ""
            keys.append(key)
            maxes.append(mx)
            w.writerow([i, zh[k], mx, key, f"知识点{i % 7 + 1}", "理解", part])
    scores = folder / "scores.csv"
    theta = rng.normal(size=n_students)
    schools = rng.integers(1, 81, size=n_students)
    absent = rng.random(n_students) < 0.01
    cols = []
    for j, k in enumerate(kinds):
        p = 1 / (1 + np.exp(-(theta - rng.normal(0, 0.8))))
        u = rng.random(n_students)
        if k == "single":
            wrong = np.array([c for c in "ABCD" if c != keys[j]])
            col = np.where(u < p, keys[j], wrong[rng.integers(3, size=n_students)])
        elif k == "multiple":
            col = np.where(u < p, keys[j], np.where(u < p + 0.15, keys[j][0], "ABCD"))
        elif k == "true_false":
            other = "错" if keys[j] == "对" else "对"
            col = np.where(u < p, keys[j], other)
        else:
            col = np.floor(p * maxes[j] + rng.normal(0, 1, n_students)).clip(0, maxes[j])
            col = col.astype(int).astype(str)
        col = np.where(rng.random(n_students) < 0.005, "", col)
        cols.append(np.where(absent, "缺考", col))
    with scores.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([f"{n_students} 人 × {n_items} 题 基准测试 成绩导出"])
        w.writerow(["考号", "姓名", "学校", "班级"] + [f"第{i}题" for i in range(1, n_items + 1)])
        ids = [f"2026{i:07d}" for i in range(n_students)]
        for r in range(n_students):
            w.writerow([ids[r], f"学生{r}", f"第{schools[r]}中学", f"{(r % 8) + 1}班"]
                       + [c[r] for c in cols])
    return spec, scores


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=200_000)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--keep", type=Path, default=None, help="write files and db here")
    ap.add_argument("--json", action="store_true",
                    help="also print the figures as one JSON line (for benchmarks/run_all.py)")
    args = ap.parse_args(argv)

    from analytics.importers import import_paper, import_scores
    from analytics.warehouse import Warehouse

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        spec, scores = write_files(folder, args.students, args.items)
        t_gen = time.perf_counter() - t0
        size = scores.stat().st_size / 1e6
        with Warehouse(folder / "bench.duckdb") as wh:
            stages: list[tuple[float, str]] = []
            t1, c1 = time.perf_counter(), time.process_time()
            r1 = import_paper(wh, spec, exam="基准测试", subject="数学", grade=9)
            t2 = time.perf_counter()
            r2 = import_scores(wh, scores, exam="基准测试", subject="数学",
                               progress=lambda m: stages.append((time.perf_counter(), m)))
            t3, c3 = time.perf_counter(), time.process_time()
            n_resp = wh.scalar("SELECT count(*) FROM responses")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"generated {args.students} × {args.items} ({size:.1f} MB) in {t_gen:.1f} s")
        print(r1.message)
        print(r2.message)
        prev = t2
        for t, m in stages:
            print(f"  +{t - prev:5.2f} s  {m}")
            prev = t
        print(f"  +{t3 - prev:5.2f} s  (write)")
        print(f"import_paper {t2 - t1:.2f} s; import_scores {t3 - t2:.2f} s; "
              f"total {t3 - t1:.2f} s; responses {n_resp}; peak RSS {peak:.0f} MB")
        if args.json:
            print(json.dumps({
                "students": args.students, "items": args.items, "file_mb": size,
                "seconds": {"import_paper": t2 - t1, "import_scores": t3 - t2},
                "wall": t3 - t1, "cpu": c3 - c1, "responses": int(n_resp),
                "peak_rss_mb": peak, "load": os.getloadavg()[0]}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
