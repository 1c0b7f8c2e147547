"""Summary tables in proportion to the data (issue 15, item 1): time the refresh of every
summary of every paper, and the refresh after one paper's data changed.

On a copy of ``--db`` (or of a demo built at ``--students`` in a temporary directory):

* ``forced`` — :func:`analytics.summaries.refresh_summaries` with ``force=True``: every summary
  table of every paper (targets: the 12,000-student demo within 5 s, 1,000,000 within 30 s);
* ``one_paper`` — one student's total on one paper changed, then ``refresh_summaries()``:
  only the summaries whose fingerprint changed are recomputed (that paper's, and those of the
  papers that use its exam as the prior one).

Wall and CPU seconds (the machine is shared: CPU is the steadier figure), the load average,
the seconds per summary (from the refresh's log) and the statuses are printed as JSON.

Usage::

    python benchmarks/summaries_bench.py --students 12000
    python benchmarks/summaries_bench.py --db data/bench/warehouse_1000000.duckdb
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(fn):  # type: ignore[no-untyped-def]
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def bench(db: Path, *, one_paper: bool = True) -> dict[str, object]:
    from analytics.summaries import refresh_summaries
    from analytics.warehouse import Warehouse

    res: dict[str, object] = {"db": str(db)}
    with Warehouse(db) as wh:
        res["papers"] = int(wh.scalar("SELECT count(*) FROM papers"))
        res["responses"] = int(wh.scalar("SELECT count(*) FROM responses"))
        res["load_start"] = os.getloadavg()
        log, wall, cpu = _timed(lambda: refresh_summaries(wh, force=True))
        res["forced"] = {
            "wall": wall, "cpu": cpu, "tables": int((log["status"] == "ok").sum()),
            "status": log["status"].value_counts().to_dict(),
            "seconds_by_summary": {k: round(float(v), 3) for k, v in
                                   log.groupby("name")["seconds"].sum().sort_values(
                                       ascending=False).items()}}
        if one_paper:
            pid = int(wh.scalar("SELECT max(paper_id) FROM paper_results"))
            wh.execute("UPDATE paper_results SET total = total + 1 WHERE paper_id = $p AND "
                       "student_key = (SELECT min(student_key) FROM paper_results WHERE "
                       "paper_id = $p AND status = 'present')", {"p": pid})
            log, wall, cpu = _timed(lambda: refresh_summaries(wh))
            res["one_paper"] = {"wall": wall, "cpu": cpu, "paper_id": pid,
                                "papers_refreshed": sorted(int(p) for p in
                                                           log["paper_id"].unique()),
                                "tables": int((log["status"] == "ok").sum())}
        res["load_end"] = os.getloadavg()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, help="an existing warehouse (copied, not changed)")
    ap.add_argument("--students", type=int, default=12000,
                    help="without --db: build the demo at this size")
    ap.add_argument("--no-one-paper", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="eqm-summaries-") as tmp:
        db = Path(tmp) / "w.duckdb"
        if a.db is not None:
            shutil.copyfile(a.db, db)
        else:
            from analytics.demo import build_demo

            build_demo(db, students=a.students, out_dir=Path(tmp) / "files", progress=False)
        print(json.dumps(bench(db, one_paper=not a.no_one_paper), ensure_ascii=False,
                         indent=1))


if __name__ == "__main__":
    main()
