"""Benchmark: the school value-added model for N students in S schools.

Generates (seeded) entry and exit scores, z-standardised, with school effects (SD 0.3) and
intake differences, registers them in an in-memory DuckDB warehouse and times:

1. ``suff``  — the DuckDB aggregation to per-school sufficient statistics
   (:func:`analytics.value_added.va_cell_stats_sql`, the same SQL the warehouse path runs);
2. ``reml``  — the REML fit, EBLUPs and standard errors from those statistics
   (:func:`analytics.value_added.reml_fit`);
3. ``mixedlm`` — statsmodels' ``MixedLM`` (REML, random intercept) on the same data, unless
   ``--no-mixedlm``; it is run at ``--mixedlm-students`` (default: all) because it is far
   slower; agreement of the two fits is printed.

Usage::

    python benchmarks/va_bench.py --students 1000000 --schools 2000          # the target
    python benchmarks/va_bench.py --students 100000 --schools 2000           # quick check

Target (issue 4): 1,000,000 students in 2,000 schools fitted in under 5 s (suff + reml).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import warnings

import numpy as np
import pandas as pd

from analytics.value_added import CellStats, reml_fit, va_cell_stats_sql
from analytics.warehouse import Warehouse


def simulate(n: int, schools: int, seed: int = 20260401) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    school = np.sort(rng.integers(0, schools, n)) + 1
    intake = rng.normal(0, 0.5, schools)
    effect = rng.normal(0, 0.3, schools)
    a = intake[school - 1] + rng.normal(size=n)
    x = np.round(100 + 15 * a)
    y = np.round(100 + 15 * (0.7 * a + effect[school - 1] + 0.7 * rng.normal(size=n)))
    z = lambda v: (v - v.mean()) / v.std(ddof=1)  # noqa: E731
    return pd.DataFrame({"school_id": school, "class_id": pd.array([None] * n, "Int64"),
                         "y": z(y), "x": z(x), "female": np.nan, "ses": np.nan})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=1_000_000)
    ap.add_argument("--schools", type=int, default=2000)
    ap.add_argument("--mixedlm-students", type=int, default=None,
                    help="run MixedLM on the first N students only (default: all)")
    ap.add_argument("--no-mixedlm", action="store_true")
    ap.add_argument("--json", action="store_true",
                    help="also print the figures as one JSON line (for benchmarks/run_all.py)")
    args = ap.parse_args()
    rec: dict = {"students": args.students, "schools": args.schools}

    def done() -> None:
        if args.json:
            rec["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(json.dumps(rec))

    t0 = time.perf_counter()
    data = simulate(args.students, args.schools)
    t_gen = time.perf_counter() - t0
    wh = Warehouse(":memory:", migrate=False)
    wh.register("va_input", data)

    t0, c0 = time.perf_counter(), time.process_time()
    cells = wh.df(va_cell_stats_sql("va_input", (), cell="school"))
    t_suff = time.perf_counter() - t0
    t0 = time.perf_counter()
    st = CellStats.from_frame(cells, 2, np.arange(len(cells)))
    fit = reml_fit(st)
    t_reml = time.perf_counter() - t0
    rec.update(suff=t_suff, reml=t_reml, wall=t_suff + t_reml, cpu=time.process_time() - c0,
               converged=bool(fit.converged), sigma2_school=float(fit.sigma2_school))
    print(f"students={args.students:,} schools={args.schools:,} (generate {t_gen:.1f} s)")
    print(f"sufficient statistics (DuckDB): {t_suff:.2f} s")
    print(f"REML fit + EBLUPs + SEs:        {t_reml:.2f} s")
    print(f"total:                          {t_suff + t_reml:.2f} s  (target < 5 s)")
    print(f"  beta={fit.beta.round(5)}, sigma2={fit.sigma2:.5f}, "
          f"sigma2_school={fit.sigma2_school:.5f}, converged={fit.converged}")

    if args.no_mixedlm:
        done()
        return
    import statsmodels.formula.api as smf

    m = args.mixedlm_students or args.students
    sub = data.iloc[:m] if m < len(data) else data
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = smf.mixedlm("y ~ x", sub, groups=sub["school_id"]).fit(reml=True)
    t_mlm = time.perf_counter() - t0
    rec.update(mixedlm_students=len(sub), mixedlm=t_mlm, mixedlm_cpu=time.process_time() - c0,
               mixedlm_converged=bool(res.converged))
    conv = [str(w.message)[:80] for w in caught if "converge" in str(w.message).lower()]
    print(f"statsmodels MixedLM on {len(sub):,} students: {t_mlm:.1f} s, "
          f"converged={res.converged}" + (f", warnings: {conv}" if conv else ""))
    if len(sub) == len(data):
        re = np.array([res.random_effects[k].iloc[0] for k in sorted(res.random_effects)])
        print(f"  max |beta diff| = {np.abs(res.fe_params.to_numpy() - fit.beta).max():.2e}, "
              f"max |EBLUP diff| = {np.abs(re - fit.school_effect).max():.2e}, "
              f"sigma2_school {float(res.cov_re.iloc[0, 0]):.5f}")
        rec.update(max_beta_diff=float(np.abs(res.fe_params.to_numpy() - fit.beta).max()),
                   max_eblup_diff=float(np.abs(re - fit.school_effect).max()))
    rec["mixedlm_warnings"] = conv
    done()


if __name__ == "__main__":
    main()
