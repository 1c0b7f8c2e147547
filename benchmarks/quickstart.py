"""Time from ``eqm demo`` start to the first page (issue 15, item 2: within 30 s, pip excluded).

In a fresh temporary directory, starts ``eqm demo --port N`` (default size, 12,000 students) as
a child process and polls ``http://127.0.0.1:N/`` until it answers HTTP 200 (the login page);
then stops the child and reports the wall seconds to the first 200, the child's CPU seconds
(user + system, from ``os.wait4``: the machine is shared, so CPU seconds are the steadier
figure), the load average at the start and the end, and the stage lines ``eqm demo`` printed
(its progress bars go to standard error).

Usage::

    python benchmarks/quickstart.py [--students 12000] [--port 8765] [--timeout 600]

Linux/macOS only (``os.wait4``, process groups): a benchmark, not part of the user path.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def first_page(students: int, port: int, timeout: float) -> dict[str, object]:
    """Run ``eqm demo`` in a fresh directory until its first page answers; the figures."""
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="eqm-quickstart-") as tmp:
        out_path, err_path = Path(tmp) / "stdout.txt", Path(tmp) / "stderr.txt"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "eqm", "--db", str(Path(tmp) / "data" / "warehouse.duckdb"),
               "demo", "--port", str(port), "--students", str(students),
               "--out-dir", str(Path(tmp) / "data" / "demo")]
        with out_path.open("wb") as out, err_path.open("wb") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=tmp, stdout=out, stderr=err, env=env,
                                    start_new_session=True)
            seconds, usage = None, None
            while time.perf_counter() - t0 < timeout:
                pid, _, ru = os.wait4(proc.pid, os.WNOHANG)
                if pid:                 # ended before serving (an error): see stdout
                    usage = ru
                    break
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                        if r.status == 200:
                            seconds = time.perf_counter() - t0
                            break
                except OSError:
                    pass
                time.sleep(0.25)
            if usage is None:
                os.killpg(proc.pid, signal.SIGINT)
                deadline = time.perf_counter() + 20
                while usage is None and time.perf_counter() < deadline:
                    pid, _, ru = os.wait4(proc.pid, os.WNOHANG)
                    usage = ru if pid else None
                    time.sleep(0.1)
                if usage is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    usage = os.wait4(proc.pid, 0)[2]
            proc.returncode = 0          # reaped by wait4 above
        cpu = usage.ru_utime + usage.ru_stime
        stdout = out_path.read_text(encoding="utf-8", errors="replace")
    return {"students": students, "seconds_to_first_page": seconds, "cpu_seconds": cpu,
            "load_start": load0, "load_end": os.getloadavg(),
            "stdout": [ln for ln in stdout.splitlines() if ln.strip()][:30]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=12000)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    res = first_page(args.students, args.port, args.timeout)
    print(json.dumps(res, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
