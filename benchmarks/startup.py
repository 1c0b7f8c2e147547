"""Benchmark: how long the command line takes, whole process (issue 15, item 4).

Runs each command N times as a fresh process (``python -m eqm …``) and reports the median,
minimum and maximum wall seconds and the median CPU seconds of the child (user + system), for

* ``eqm --help``  (target 0.3 s),
* ``eqm stats scores --exam … --subject … --grade …`` on a demo warehouse (target 1 s),
* ``eqm list exams`` on it,

for this checkout and, with ``--old REV``, for an older revision of the repository (extracted
with ``git archive`` into a temporary directory and put first on ``PYTHONPATH``), so that the
old figure is measured beside the new one on the same machine at the same load. The load
average (``os.getloadavg``, as ``uptime`` prints it) is printed before and after: on a shared
machine the CPU seconds are the steadier figure.

Usage::

    python benchmarks/startup.py --db data/warehouse.duckdb --runs 7 --old aa980f4
    python benchmarks/startup.py --students 3000 --runs 5      # builds a demo first

POSIX only (``os.getloadavg``, ``os.wait4``); benchmarks are not part of the user path.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAM, SUBJECT, GRADE = "2026年区级质量监测", "数学", "9"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} cores)"


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, child CPU seconds (user + system) and exit code of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, cwd=cwd)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def measure(label: str, args: list[str], source: Path, runs: int, cwd: Path) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(source), PYTHONDONTWRITEBYTECODE="1")
    env.pop("EQM_DB", None)
    argv = [sys.executable, "-m", "eqm", *args]
    run_once(argv, env, cwd)                       # warm the page cache and .pyc files
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu, code = run_once(argv, env, cwd)
        if code != 0:
            raise SystemExit(f"{label}: `eqm {' '.join(args)}` exited {code}")
        walls.append(wall)
        cpus.append(cpu)
    return {"command": "eqm " + " ".join(args), "source": label, "runs": runs,
            "wall_median": statistics.median(walls), "wall_min": min(walls),
            "wall_max": max(walls), "cpu_median": statistics.median(cpus)}


def extract(rev: str, into: Path) -> Path:
    """The tree of ``rev`` (its analytics/, dashboards/, eqm/) in ``into``."""
    data = subprocess.run(["git", "archive", "--format=tar", rev, "analytics", "dashboards",
                           "eqm"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=None, help="a demo warehouse (eqm demo)")
    ap.add_argument("--students", type=int, default=3000,
                    help="without --db: build a demo of this size first")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--old", default=None, help="also measure this git revision")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here too")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = args.db
        if db is None:
            sys.path.insert(0, str(ROOT))
            from analytics.demo import build_demo

            db = tmp / "demo.duckdb"
            build_demo(db, students=args.students, out_dir=tmp / "files", progress=False)
        db = db.resolve()
        commands = {
            "help": ["--help"],
            "stats": ["--db", str(db), "stats", "scores", "--exam", EXAM, "--subject", SUBJECT,
                      "--grade", GRADE],
            "list": ["--db", str(db), "list", "exams"],
        }
        sources = [("this checkout", ROOT)]
        if args.old:
            sources.append((f"old ({args.old})", extract(args.old, tmp / "old")))
        print(load(), flush=True)
        results = []
        for name, cmd in commands.items():
            for label, source in sources:
                if name == "list" and label != "this checkout":
                    continue        # `eqm list` is new
                r = measure(label, cmd, source, args.runs, tmp)
                results.append(r)
                print(f"{r['command'][:70]:<70} {label:<22} median {r['wall_median']:.3f} s "
                      f"(min {r['wall_min']:.3f}, max {r['wall_max']:.3f}), "
                      f"cpu {r['cpu_median']:.3f} s", flush=True)
        print(load(), flush=True)
        if args.json:
            args.json.write_text(json.dumps({"load": load(), "results": results},
                                            ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
