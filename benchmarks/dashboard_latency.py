"""Callback latency of the dashboards, measured through Flask's test client (HTTP round trip
through Dash's ``/_dash-update-component`` minus the network).

Usage::

    python benchmarks/dashboard_latency.py data/warehouse.duckdb [--refresh] [--repeat 3]

Creates the benchmark's own users (``bench-officer``, ``bench-principal`` …) if missing,
optionally refreshes the summary tables first, then for every paper with items posts each page's
data callback as each role would: the first request of a paper reads the summary tables (cache
cold), the repeats hit the service's LRU cache (warm). Prints the figures for
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.lookup import list_papers
from analytics.summaries import refresh_summaries
from analytics.users import add_user, get_user
from analytics.warehouse import Warehouse
from dashboards import ids
from tests.test_dash_access import login, payload, post

PASSWORD = "bench-password"
CALLBACKS = {
    "bench-officer": [ids.OV_TABLE, ids.SC_TABLE, ids.IT_TABLE, ids.IT_OPTIONS, ids.HS_HEATMAP,
                      ids.VA_CATERPILLAR, ids.GR_RADAR, ids.TR_CHART],
    "bench-principal": [ids.PR_VS, ids.PR_CLASSES, ids.PR_ITEMS, ids.PR_VA_TEXT,
                        ids.PR_STRUGGLING],
    "bench-committee": [ids.CM_QUALITY],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--refresh", action="store_true", help="refresh the summary tables first")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--papers", type=int, default=4, help="how many papers to sample")
    ap.add_argument("--json", action="store_true",
                    help="also print the figures as one JSON line (for benchmarks/run_all.py)")
    args = ap.parse_args()
    with Warehouse(args.db) as wh:
        school = int(wh.scalar("SELECT min(school_id) FROM schools"))
        for name, role in (("bench-officer", "officer"), ("bench-principal", "principal"),
                           ("bench-committee", "committee")):
            if get_user(wh, name) is None:
                add_user(wh, name, PASSWORD, role, school=school if role == "principal" else None)
        if args.refresh:
            t0 = time.perf_counter()
            log = refresh_summaries(wh)
            print(f"refresh_summaries: {time.perf_counter() - t0:.1f} s "
                  f"({(log['status'] == 'ok').sum()} tables × papers)")
        papers = list_papers(wh)
    papers = papers[papers["has_items"]].tail(args.papers)

    from dashboards.app import create_app

    app = create_app(args.db, secret_key="bench" * 16)
    extra = {"hs-level.value": "school", "va-level.value": "school", "it-item.value": 1,
             "va-prior.value": None}
    cold: dict[str, list[float]] = {}
    warm: dict[str, list[float]] = {}
    for user, outputs in CALLBACKS.items():
        client = login(app, user, PASSWORD)
        for _, p in papers.iterrows():
            f = {"exam": p["exam"], "subject": p["subject"], "grade": int(p["grade"])}
            for out in outputs:
                body = payload(client, out, {f"{ids.FILTERS}.data": f, **extra})
                for i in range(args.repeat + 1):
                    t0 = time.perf_counter()
                    resp = post(client, body)
                    dt = time.perf_counter() - t0
                    assert resp.status_code == 200, resp.status_code
                    (cold if i == 0 else warm).setdefault(out, []).append(dt)
    print(f"{'callback':18s} {'cold median':>12s} {'cold max':>9s} {'warm median':>12s} "
          f"{'warm max':>9s}  (ms)")
    for out in cold:
        c, w = cold[out], warm.get(out, [float("nan")])
        print(f"{out:18s} {1000 * statistics.median(c):12.0f} {1000 * max(c):9.0f} "
              f"{1000 * statistics.median(w):12.0f} {1000 * max(w):9.0f}")
    allc = [x for v in cold.values() for x in v]
    allw = [x for v in warm.values() for x in v]
    print(f"{'ALL':18s} {1000 * statistics.median(allc):12.0f} {1000 * max(allc):9.0f} "
          f"{1000 * statistics.median(allw):12.0f} {1000 * max(allw):9.0f}")
    app.server.config["EQM_SERVICE"].close()
    if args.json:
        print(json.dumps({"callbacks": {k: {"cold_median": statistics.median(v),
                                             "cold_max": max(v),
                                             "warm_median": statistics.median(warm.get(k, v)),
                                             "warm_max": max(warm.get(k, v))}
                                         for k, v in cold.items()},
                          "cold_median": statistics.median(allc), "cold_max": max(allc),
                          "warm_median": statistics.median(allw), "warm_max": max(allw)}))


if __name__ == "__main__":
    main()
