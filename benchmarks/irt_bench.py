"""IRT calibration speed: our MML-EM against the ``mirt`` package on PyPI, in the same run.

Usage::

    python benchmarks/irt_bench.py [--n 100000] [--items 40] [--big 1000000] [--no-rival]
                                   [--threads 1] [--json FILE]

Simulates a seeded 2PL (a ~ U(0.7, 2.0), b ~ N(0, 1), θ ~ N(0, 1)), fits it with
``analytics.stats.irt.calibrate`` and with ``mirt.fit_mirt(model="2PL")`` at equal settings (21
Gauss–Hermite nodes, tolerance 1e-4 on the parameter change, standard errors off in both, then
the cross-product SEs in both), and reports wall and CPU time, iterations, log-likelihood and
the RMSE of a and b against the generating values (equal accuracy: the two RMSEs and
log-likelihoods side by side). Then fits ``--big`` students × ``--items`` with ours only
and reports the time and the peak memory (tracemalloc of the Python heap and numpy
buffers, and the process's maximum RSS).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _threads(n: int) -> None:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))


def simulate(n: int, k: int, seed: int = 20261202) -> tuple[Any, Any, Any]:
    import numpy as np
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.7, 2.0, k)
    b = rng.normal(0.0, 1.0, k)
    x = np.empty((n, k), dtype=np.int8)
    for start in range(0, n, 200_000):     # in blocks: the float matrix stays small
        stop = min(n, start + 200_000)
        theta = rng.normal(size=stop - start)
        p = 1.0 / (1.0 + np.exp(-a * (theta[:, None] - b)))
        x[start:stop] = rng.random(p.shape) < p
    return x, a, b


def rmse(est: Any, true: Any) -> float:
    import numpy as np
    return float(np.sqrt(np.mean((np.asarray(est) - true) ** 2)))


def ours(x: Any, se: bool) -> dict[str, Any]:
    from analytics.stats.irt.calibrate import calibrate
    t, cpu = time.perf_counter(), time.process_time()
    cal = calibrate(x, "2pl", se="crossprod" if se else "none")
    sec, cpu = time.perf_counter() - t, time.process_time() - cpu
    items, fit = cal.item_table(), cal.fit_table()
    return {"seconds": sec, "cpu": cpu, "iterations": int(fit.iterations[0]),
            "loglik": float(fit.loglik[0]),
            "a": items.a.to_numpy(), "b": items.b.to_numpy(),
            "n_patterns": int(fit.n_patterns[0])}


def rival(x: Any, se: bool) -> dict[str, Any]:
    import mirt
    t, cpu = time.perf_counter(), time.process_time()
    res = mirt.fit_mirt(x.astype(int), model="2PL", n_quadpts=21, tol=1e-4,
                        compute_standard_errors=se, se_method="crossprod" if se else "auto")
    sec, cpu = time.perf_counter() - t, time.process_time() - cpu
    return {"seconds": sec, "cpu": cpu, "iterations": int(res.n_iterations),
            "loglik": float(res.log_likelihood),
            "a": res.model.parameters["discrimination"], "b": res.model.parameters["difficulty"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--big", type=int, default=1_000_000)
    ap.add_argument("--no-rival", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (both packages)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    _threads(args.threads)
    import numpy as np

    out: dict[str, Any] = {"uptime_before": subprocess.run(["uptime"], capture_output=True,
                                                           text=True).stdout.strip(),
                           "n": args.n, "items": args.items, "threads": args.threads}
    x, a, b = simulate(args.n, args.items)
    rows = []
    for se in (False, True):
        for name, fn in (("ours", ours), ("mirt", rival)):
            if name == "mirt" and args.no_rival:
                continue
            r = fn(x, se)
            row = {"package": name, "se": se, "seconds": round(r["seconds"], 2),
                   "cpu_seconds": round(r["cpu"], 2),
                   "iterations": r["iterations"], "loglik": round(r["loglik"], 2),
                   "rmse_a": round(rmse(r["a"], a), 4), "rmse_b": round(rmse(r["b"], b), 4)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out["rows"] = rows
    if args.big:
        xb, ab, bb = simulate(args.big, args.items, seed=7)
        tracemalloc.start()
        r = ours(xb, se=True)  # cross-product SEs
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        big = {"package": "ours", "n": args.big, "se": True, "seconds": round(r["seconds"], 2),
               "cpu_seconds": round(r["cpu"], 2),
               "iterations": r["iterations"], "n_patterns": r["n_patterns"],
               "rmse_a": round(rmse(r["a"], ab), 4), "rmse_b": round(rmse(r["b"], bb), 4),
               "peak_traced_mb": round(peak / 2**20, 1),
               "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
               "input_mb": round(xb.nbytes / 2**20, 1)}
        out["big"] = big
        print(json.dumps(big), flush=True)
    out["uptime_after"] = subprocess.run(["uptime"], capture_output=True,
                                         text=True).stdout.strip()
    out["numpy"] = np.__version__
    print(out["uptime_before"], "|", out["uptime_after"])
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
