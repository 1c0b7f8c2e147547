"""The benchmark suite (issue 6): every heavy stage at a stated scale, each in its own process.

At ``--students N`` (default 1,000,000) it builds the demo district (``build_demo``, grade 9,
数学: a roster, an entry and a monitoring exam of 24 items, totals, a questionnaire) and adds a
40-item bench paper for every student (:func:`analytics.bench.add_bench_paper`), then times:

* ``import_200k`` — a 200,000 × 40 marking export and its specification table through the
  importers, validation included (``benchmarks/import_bench.py``; issue 2: < 10 s);
* ``item_passes`` — rebuilding the stored item passes of the N × 40 paper
  (``refresh_derived(wh, "item_passes", …)``, :mod:`analytics.reduce.derived`: what every
  import of a paper's scores, rescoring or roster change adds, in its transaction);
* ``reports`` — issue 3, parts 1–4 on the N × 40 paper in one process: score reports at every
  level and grade bands, item statistics (district, per school), paper quality, knowledge-point
  rates and the specification table, error hotspots (school and class, by item and knowledge
  point, relative), the district's weak points and the class × knowledge-point matrix (issue 3:
  < 15 s, peak < 4 GB), on the warehouse as the importers leave it (stored passes current);
* ``reports_from_responses`` — the same calls with the stored passes switched off
  (``Warehouse(stored_passes=False)``): the three passes over the responses are computed in the
  run, as on a warehouse whose passes are stale or missing;
* ``pandas_stats``, ``pandas_hotspots`` — the straightforward pandas versions of the same
  statistics (``stats_bench.py`` / ``hotspots_bench.py --phase pandas``);
* ``va_warehouse`` — :func:`analytics.value_added.value_added` on the demo warehouse (school
  level, entry → monitoring exam), end to end;
* ``va_sim`` — the school model for N students in 2,000 schools (``va_bench.py``; issue 4:
  < 5 s), and ``mixedlm_<M>`` — statsmodels ``MixedLM`` on M students in 2,000 schools for
  growing M until one does not finish within ``--mixedlm-timeout`` (default 300 s);
* ``sgp`` — student growth percentiles for N students (``sgp_bench.py``; issue 4: < 60 s);
* ``summaries`` — :func:`analytics.summaries.refresh_summaries` of every paper (``force``; after
  an import it recomputes only the papers whose data changed) and
  ``dashboard`` — the dashboards' data callbacks through Flask's test client, cold and warm
  (``dashboard_latency.py``; issue 5: < 300 ms at demo size, < 1 s at 1M).

Each stage is a child process: its wall time, CPU seconds (user + system, all threads) and peak
RSS come from ``os.wait4``; the timed part inside the child (without interpreter start-up and
imports) is reported too, with the load average at the stage's start — the machine is shared,
so CPU seconds are the steadier figure. The table is printed and written into
docs/benchmarks.md between the markers ``<!-- run_all:begin -->`` / ``<!-- run_all:end -->``
(the rest of the file is kept); the raw figures go to ``benchmarks/results/``.

Usage::

    python benchmarks/run_all.py --students 100000 --no-mixedlm        # iteration
    python benchmarks/run_all.py                                         # 1,000,000 × 40
    eqm bench --students 200000 --out docs/benchmarks.md                 # the same, via the CLI
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
PY = sys.executable
DEMO_SUBJECT, DEMO_GRADE = "数学", 9
BEGIN, END = "<!-- run_all:begin -->", "<!-- run_all:end -->"
ALL_STAGES = ("build", "import_200k", "item_passes", "reports", "reports_from_responses",
              "pandas_stats", "pandas_hotspots",
              "va_warehouse", "va_sim", "mixedlm", "sgp", "summaries", "dashboard")


# -- child side: the analyses, timed step by step ---------------------------------------------

def _timed(steps: dict[str, list[float]], label: str, fn: Any) -> Any:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    steps[label] = [time.perf_counter() - t0, time.process_time() - c0]
    return out


def _reports(wh: Any, p: dict[str, Any], steps: dict[str, list[float]],
             info: dict[str, Any]) -> None:
    """Issue 3, parts 1–4, as one office would run them after an exam: one process, one
    connection (reductions shared between the analyses are computed once)."""
    from analytics.hotspots import district_weak_points, error_hotspots, knowledge_matrix
    from analytics.items import item_stats
    from analytics.lookup import resolve_paper
    from analytics.paper import category_rates, paper_quality, specification_table
    from analytics.reduce.derived import is_current
    from analytics.scores import grade_bands, score_report

    for lv in ("district", "zone", "school", "class"):
        _timed(steps, f"1 score_report[{lv}]", lambda lv=lv: score_report(wh, **p, level=lv))
    _timed(steps, "1 grade_bands[school]", lambda: grade_bands(wh, **p, level="school"))
    d = _timed(steps, "2 item_stats[district]", lambda: item_stats(wh, **p, level="district"))
    s = _timed(steps, "2 item_stats[school]", lambda: item_stats(wh, **p, level="school"))
    q = _timed(steps, "3 paper_quality[district]", lambda: paper_quality(wh, **p, level="district"))
    _timed(steps, "3 kp_rates[all levels]", lambda: category_rates(wh, **p))
    _timed(steps, "3 specification_table", lambda: specification_table(wh, **p))
    h = _timed(steps, "4 hotspots[school,item]", lambda: error_hotspots(wh, **p))
    _timed(steps, "4 hotspots[school,kp]",
           lambda: error_hotspots(wh, **p, grain="knowledge_point"))
    _timed(steps, "4 hotspots[class,item]", lambda: error_hotspots(wh, **p, level="class"))
    _timed(steps, "4 hotspots[class,item,relative]",
           lambda: error_hotspots(wh, **p, level="class", relative=True))
    _timed(steps, "4 district_weak_points", lambda: district_weak_points(wh, **p))
    _timed(steps, "4 knowledge_matrix[class]", lambda: knowledge_matrix(wh, **p, level="class"))
    info.update(mean_D=float(d["discrimination"].mean()), school_rows=len(s),
                alpha=float(q["alpha"].iloc[0]), n=int(q["n"].iloc[0]),
                hotspots_flagged=int(h["flag"].sum()),
                stored_passes_read=is_current(
                    wh, "item_passes",
                    resolve_paper(wh, p["exam"], p["subject"], p["grade"]).paper_id))
    for part in "1234":
        info[f"part{part}"] = [sum(v[i] for k, v in steps.items() if k[0] == part)
                               for i in (0, 1)]


def child(stage: str, db: Path, students: int) -> dict[str, Any]:
    """Run one in-process stage; returns its step times and facts (printed as JSON)."""
    sys.path.insert(0, str(ROOT))
    from analytics.bench import BENCH_EXAM, BENCH_SUBJECT, add_bench_paper
    from analytics.warehouse import Warehouse

    steps: dict[str, list[float]] = {}
    info: dict[str, Any] = {}
    p = {"exam": BENCH_EXAM, "subject": BENCH_SUBJECT, "grade": DEMO_GRADE}
    t0, c0 = time.perf_counter(), time.process_time()
    if stage == "build":
        from analytics.demo import build_demo

        for f in (db, Path(f"{db}.wal")):
            f.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            s = _timed(steps, "demo (generate, write, import)", lambda: build_demo(
                db, students=students, subjects=[DEMO_SUBJECT], grades=[DEMO_GRADE],
                out_dir=Path(tmp), progress=False))
        info.update({k: s[k] for k in ("students", "schools", "classes", "responses")})
        info.update({k: round(s[k], 2) for k in s if k.startswith("seconds_")})
        with Warehouse(db) as wh:
            wh.execute("SET enable_progress_bar = false")
            b = _timed(steps, "bench paper (40 items, SQL)", lambda: add_bench_paper(wh))
        info["bench_paper"] = b
    elif stage == "item_passes":
        from analytics.lookup import resolve_paper
        from analytics.reduce.derived import is_current, refresh_derived

        with Warehouse(db) as wh:
            paper_id = resolve_paper(wh, BENCH_EXAM, BENCH_SUBJECT, DEMO_GRADE).paper_id

            def rebuild() -> None:
                refresh_derived(wh, "item_passes", [paper_id])

            _timed(steps, "refresh_item_passes", rebuild)
            wh.forget_shared()
            _timed(steps, "currency check", lambda: is_current(wh, "item_passes", paper_id))
            info["rows"] = {t: int(wh.scalar(f"SELECT count(*) FROM {t} WHERE paper_id = $p",
                                             {"p": paper_id}))
                            for t in ("item_pass_answers", "item_pass_kelley", "item_pass_sorted")}
    elif stage in ("reports", "reports_from_responses"):
        with Warehouse(db, read_only=True, stored_passes=stage == "reports") as wh:
            _reports(wh, p, steps, info)
    elif stage == "va_warehouse":
        from analytics.demo.district import EXAM_BY_KEY
        from analytics.value_added import value_added

        with Warehouse(db, read_only=True) as wh:
            v = _timed(steps, "value_added[school]", lambda: value_added(
                wh, exam=EXAM_BY_KEY["monitor"].name, prior_exam=EXAM_BY_KEY["entry"].name,
                subject=DEMO_SUBJECT, grade=DEMO_GRADE, level="school"))
        info.update(schools=len(v), students=int(v["n"].sum()))
    elif stage == "summaries":
        from analytics.summaries import refresh_summaries

        with Warehouse(db) as wh:
            log = _timed(steps, "refresh_summaries",
                         lambda: refresh_summaries(wh, force=True))   # every paper
        slow = log.sort_values("seconds", ascending=False).head(6)
        info["slowest"] = {f"{r.name}/{r.paper_id}": round(float(r.seconds), 2)
                           for r in slow.itertuples()}
        info["status"] = log["status"].value_counts().to_dict()
    else:
        raise SystemExit(f"unknown stage {stage}")
    return {"stage": stage, "steps": steps, "wall": time.perf_counter() - t0,
            "cpu": time.process_time() - c0, "info": info,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# -- parent side: run each stage as a process --------------------------------------------------

def run(cmd: list[str], timeout: float | None) -> dict[str, Any]:
    """Run ``cmd``; wall, CPU and peak RSS of the process tree via wait4; the last JSON line
    of its standard output as ``inner``."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, start_new_session=True)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        _, status, ru = os.wait4(proc.pid, 0)
        if timer:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    inner = None
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                inner = json.loads(line)
                break
            except json.JSONDecodeError:
                continue
    rec = {"cmd": shlex.join(cmd), "load": load, "proc_wall": wall,
           "proc_cpu": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024,
           "returncode": proc.returncode, "timed_out": killed.is_set(), "inner": inner}
    if proc.returncode != 0 and not killed.is_set():
        rec["error"] = (stderr.strip().splitlines() or ["?"])[-1][:300]
    return rec


def inner_figures(name: str, rec: dict[str, Any]) -> tuple[float | None, float | None]:
    """(wall, CPU) of the timed part, from the stage's JSON."""
    j = rec.get("inner") or {}
    if name.startswith("mixedlm"):
        return j.get("mixedlm"), j.get("mixedlm_cpu")
    if name == "pandas_stats":
        return j.get("total_seconds"), j.get("total_cpu")
    if name == "pandas_hotspots":
        cpu = sum(c for _, c in j.get("seconds", {}).values()) if j else None
        return j.get("total_seconds"), cpu
    if name == "dashboard":
        return None, None
    return j.get("wall"), j.get("cpu")


def stage_commands(a: argparse.Namespace) -> list[tuple[str, list[str], float | None]]:
    me = [PY, str(BENCH / "run_all.py")]
    db = ["--db", str(a.db)]
    bench = ["--db", str(a.db), "--exam", "基准监测(40题)", "--subject", DEMO_SUBJECT,
             "--grade", str(DEMO_GRADE)]
    cmds: list[tuple[str, list[str], float | None]] = []
    for st in a.stages:
        if st == "import_200k":
            cmds.append((st, [PY, str(BENCH / "import_bench.py"), "--students",
                              str(a.import_students), "--items", "40", "--json"], None))
        elif st in ("build", "item_passes", "reports", "reports_from_responses", "va_warehouse",
                    "summaries"):
            cmds.append((st, [*me, "--stage", st, *db, "--students", str(a.students)], None))
        elif st == "pandas_stats":
            cmds.append((st, [PY, str(BENCH / "stats_bench.py"), "--phase", "pandas", *bench],
                         a.pandas_timeout))
        elif st == "pandas_hotspots":
            cmds.append((st, [PY, str(BENCH / "hotspots_bench.py"), "--phase", "pandas",
                              *bench], a.pandas_timeout))
        elif st == "va_sim":
            cmds.append((st, [PY, str(BENCH / "va_bench.py"), "--students", str(a.students),
                              "--schools", "2000", "--no-mixedlm", "--json"], None))
        elif st == "mixedlm":
            for m in a.mixedlm_sizes:
                cmds.append((f"mixedlm_{m}", [PY, str(BENCH / "va_bench.py"), "--students",
                                              str(m), "--schools", "2000", "--json"],
                             a.mixedlm_timeout))
        elif st == "sgp":
            cmds.append((st, [PY, str(BENCH / "sgp_bench.py"), "--students", str(a.students),
                              "--json"], None))
        elif st == "dashboard":
            cmds.append((st, [PY, str(BENCH / "dashboard_latency.py"), str(a.db), "--repeat",
                              "3", "--json"], None))
    return cmds


def _f(x: float | None, fmt: str = "{:.2f}") -> str:
    return "—" if x is None else fmt.format(x)


def table(results: dict[str, dict[str, Any]]) -> list[str]:
    rows = ["| stage | timed wall s | timed CPU s | process wall s | process CPU s | "
            "peak RSS MB | load at start | notes |", "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        w, c = inner_figures(name, r)
        note = ("**timed out**" if r["timed_out"] else r.get("error", "")) or _notes(name, r)
        rows.append(f"| {name} | {_f(w)} | {_f(c)} | {r['proc_wall']:.1f} | "
                    f"{r['proc_cpu']:.1f} | {r['peak_rss_mb']:.0f} | {r['load']:.1f} | {note} |")
    return rows


def _notes(name: str, r: dict[str, Any]) -> str:
    j = r.get("inner") or {}
    if name == "build":
        i = j.get("info", {})
        b = i.get("bench_paper", {})
        return (f"{i.get('students', 0):,} students, {i.get('schools')} schools, "
                f"{i.get('classes')} classes; bench paper {b.get('items')} items, "
                f"{b.get('responses', 0):,} responses")
    if name == "import_200k":
        return (f"{j.get('students', 0):,} × {j.get('items')} ({j.get('file_mb', 0):.0f} MB), "
                f"{j.get('responses', 0):,} responses")
    if name.startswith("mixedlm"):
        return (f"{j.get('mixedlm_students', 0):,} students: converged "
                f"{j.get('mixedlm_converged')}, max EBLUP diff {j.get('max_eblup_diff', 0):.1e}"
                + (f", {j['mixedlm_warnings'][0]}" if j.get("mixedlm_warnings") else ""))
    if name == "va_sim":
        return f"{j.get('students', 0):,} students, 2,000 schools, converged {j.get('converged')}"
    if name == "sgp":
        return f"{j.get('students', 0):,} students, {j.get('pairs', 0):,} distinct pairs"
    if name == "dashboard" and j:
        return (f"callback cold median/max {1000 * j['cold_median']:.0f}/"
                f"{1000 * j['cold_max']:.0f} ms, warm {1000 * j['warm_median']:.0f}/"
                f"{1000 * j['warm_max']:.0f} ms")
    steps = j.get("steps") or {}
    if isinstance(j.get("seconds"), dict):
        steps = j["seconds"]
    return "; ".join(f"{k} {v[0]:.2f}/{v[1]:.2f}" for k, v in steps.items())


def targets(results: dict[str, dict[str, Any]], students: int) -> list[str]:
    def wall(n: str) -> float | None:
        return inner_figures(n, results[n])[0] if n in results else None

    out = ["| target (issue) | measured | met |", "|---|---|---|"]

    def line(label: str, value: float | None, limit: float, unit: str = "s") -> None:
        met = "—" if value is None else ("yes" if value < limit else
                                         f"no (by {value - limit:.1f} {unit})")
        out.append(f"| {label} | {_f(value, '{:.1f}')} {unit} | {met} |")

    line("import 200k × 40 < 10 s (2)", wall("import_200k"), 10)
    if "reports" in results:
        line(f"parts 1–4 at {students:,} × 40 < 15 s (3)", wall("reports"), 15)
        line("  peak RSS < 4 GB (3)", results["reports"]["peak_rss_mb"] / 1024, 4, "GB")
    if "reports_from_responses" in results:      # for comparison: not the target's setting
        out.append(f"| the same with the stored passes off (computed in the run) | "
                   f"{_f(wall('reports_from_responses'), '{:.1f}')} s | (comparison) |")
    if "item_passes" in results:
        out.append(f"| rebuilding the stored passes at {students:,} × 40 (part of each import) | "
                   f"{_f(wall('item_passes'), '{:.1f}')} s | (cost) |")
    line(f"VA school model, {students:,} students / 2,000 schools < 5 s (4)", wall("va_sim"), 5)
    line(f"SGP {students:,} < 60 s (4)", wall("sgp"), 60)
    if "dashboard" in results and results["dashboard"].get("inner"):
        j = results["dashboard"]["inner"]
        limit = 1.0 if students >= 500_000 else 0.3
        line(f"dashboard callbacks (max, cold) < {limit * 1000:.0f} ms (5)",
             1000 * j["cold_max"], 1000 * limit, "ms")
    return out


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    import duckdb
    return (f"{os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.platform()}, "
            f"Python {platform.python_version()}, DuckDB {duckdb.__version__}")


def git_rev() -> str:
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                       text=True)
    return r.stdout.strip() or "?"


def report(a: argparse.Namespace, results: dict[str, dict[str, Any]], started: str) -> str:
    lines = [
        BEGIN,
        f"## Benchmark suite at {a.students:,} students (`benchmarks/run_all.py`)",
        "",
        f"Run {started} on {machine()}, commit {git_rev()} (plus the working tree).",
        f"Command: `{a.command_line}`.",
        "Each stage ran in its own process. *timed* = the measured calls inside the process "
        "(without interpreter start-up, imports and data generation); *process* = the whole "
        "child (wait4). CPU seconds are user + system over all threads; on this shared 2-core "
        "machine they are steadier than wall seconds. The load average (1 min) at each stage's "
        "start says how busy the machine was.",
        "",
        *table(results),
        "",
        *targets(results, a.students),
        "",
        "Step figures in the notes are wall/CPU seconds of each call.",
        END,
    ]
    return "\n".join(lines)


def write_markdown(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=None,
                    help="bench warehouse (default data/bench/warehouse_<N>.duckdb)")
    ap.add_argument("--reuse-db", action="store_true",
                    help="skip the build stage when the warehouse exists")
    ap.add_argument("--stages", default=",".join(ALL_STAGES),
                    help=f"comma-separated subset of {','.join(ALL_STAGES)}")
    ap.add_argument("--skip", default="", help="comma-separated stages to leave out")
    ap.add_argument("--no-mixedlm", action="store_true")
    ap.add_argument("--no-pandas", action="store_true")
    ap.add_argument("--import-students", type=int, default=200_000)
    ap.add_argument("--mixedlm-sizes", default="50000,100000,200000,400000,1000000")
    ap.add_argument("--mixedlm-timeout", type=float, default=300.0)
    ap.add_argument("--pandas-timeout", type=float, default=900.0)
    ap.add_argument("--out", type=Path, default=None,
                    help="markdown file to write the section into (e.g. docs/benchmarks.md)")
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.db is None:
        a.db = ROOT / "data" / "bench" / f"warehouse_{a.students}.duckdb"
    if a.stage:
        print(json.dumps(child(a.stage, a.db, a.students), ensure_ascii=False, default=str))
        return 0
    a.command_line = shlex.join(["python", "benchmarks/run_all.py", *(argv or sys.argv[1:])])
    skip = {s for s in a.skip.split(",") if s}
    if a.no_mixedlm:
        skip.add("mixedlm")
    if a.no_pandas:
        skip |= {"pandas_stats", "pandas_hotspots"}
    if a.reuse_db and a.db.exists():
        skip.add("build")
    a.stages = [s for s in a.stages.split(",") if s and s not in skip]
    bad = set(a.stages) - set(ALL_STAGES)
    if bad:
        ap.error(f"unknown stages {sorted(bad)}")
    a.mixedlm_sizes = [int(m) for m in a.mixedlm_sizes.split(",") if m]
    a.db.parent.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    results: dict[str, dict[str, Any]] = {}
    mixedlm_done = False
    for name, cmd, timeout in stage_commands(a):
        if name.startswith("mixedlm") and mixedlm_done:
            continue
        print(f"[{time.strftime('%H:%M:%S')}] {name} (load {os.getloadavg()[0]:.1f}) …",
              file=sys.stderr, flush=True)
        rec = run(cmd, timeout)
        results[name] = rec
        w, c = inner_figures(name, rec)
        print(f"    {_f(w)} s wall, {_f(c)} s CPU (process {rec['proc_wall']:.1f} s, "
              f"{rec['proc_cpu']:.1f} CPU-s, peak {rec['peak_rss_mb']:.0f} MB)"
              + (" TIMED OUT" if rec["timed_out"] else "")
              + (f" ERROR {rec['error']}" if rec.get("error") else ""),
              file=sys.stderr, flush=True)
        if name.startswith("mixedlm") and (rec["timed_out"] or rec["returncode"] != 0):
            mixedlm_done = True   # larger sizes will not finish either
        if name == "build" and rec["returncode"] != 0:
            print("build failed; stopping", file=sys.stderr)
            break
    section = report(a, results, started)
    print(section)
    res_dir = BENCH / "results"
    res_dir.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M")
    (res_dir / f"run_{a.students}_{stamp}.json").write_text(
        json.dumps({"command": a.command_line, "started": started, "machine": machine(),
                    "commit": git_rev(), "students": a.students, "results": results},
                   ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    if a.out:
        write_markdown(a.out, section)
        print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
