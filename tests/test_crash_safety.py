"""Crash safety: an import killed with SIGKILL is all or nothing.

After the kill the warehouse holds either exactly the state before the import or exactly the
state a finished import gives (the kill can land after the commit but before the process
exits); never anything in between.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.importers import import_paper, import_scores
from analytics.warehouse import Warehouse
from tests.fingerprint import fingerprint

pytestmark = pytest.mark.slow  # crash safety, fuzz, load, notebooks: `make fast` leaves them out

N_ITEMS = 30


def _write_exam(tmp: Path, n_students: int, seed: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    spec = pd.DataFrame({
        "题号": [str(i) for i in range(1, N_ITEMS + 1)],
        "题型": ["单选"] * 20 + ["解答"] * 10,
        "分值": [2] * 20 + [6] * 10,
        "答案": list(rng.choice(list("ABCD"), 20)) + [""] * 10,
        "知识点": [f"知识点{i % 6}" for i in range(N_ITEMS)],
        "认知层次": ["理解"] * N_ITEMS,
    })
    spec_path = tmp / "spec.csv"
    spec.to_csv(spec_path, index=False)
    cols = {
        "考号": [f"S{i:07d}" for i in range(n_students)],
        "姓名": [f"学生{i}" for i in range(n_students)],
        "学校": [f"第{i % 20}中学" for i in range(n_students)],
        "班级": [f"{i % 4 + 1}班" for i in range(n_students)],
    }
    for j in range(1, 21):
        cols[str(j)] = rng.choice(list("ABCD"), n_students)
    for j in range(21, N_ITEMS + 1):
        cols[str(j)] = rng.integers(0, 7, n_students)
    scores_path = tmp / "scores.csv"
    pd.DataFrame(cols).to_csv(scores_path, index=False)
    return spec_path, scores_path


def test_sigkill_midway_leaves_previous_state_and_import_can_rerun(tmp_path):
    db = tmp_path / "w.duckdb"
    spec, small = _write_exam(tmp_path, 200, seed=1)
    with Warehouse(db) as wh:
        import_paper(wh, spec, exam="期末", subject="数学", grade=9)
        import_scores(wh, small, exam="期末", subject="数学")
        before = fingerprint(wh)
    big_dir = tmp_path / "big"
    big_dir.mkdir()
    _, big = _write_exam(big_dir, 150_000, seed=2)
    # The complete state, from an uninterrupted import into a copy of the warehouse.
    ref_db = tmp_path / "reference.duckdb"
    shutil.copy(db, ref_db)
    with Warehouse(ref_db) as wh:
        import_scores(wh, big, exam="期末", subject="数学")
        complete = fingerprint(wh)
    assert complete != before

    code = (
        "import sys\n"
        "from analytics.warehouse import Warehouse\n"
        "from analytics.importers import import_scores\n"
        "wh = Warehouse(sys.argv[1])\n"
        "print('started', flush=True)\n"
        "import_scores(wh, sys.argv[2], exam='期末', subject='数学')\n"
        "print('finished', flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    killed_midway = False
    finished = False
    # Kill at several points into the import; at least one must land mid-import.
    for delay in (0.5, 1.5, 3.0):
        proc = subprocess.Popen([sys.executable, "-c", code, str(db), str(big)],
                                stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with Warehouse(db) as wh:  # opens (WAL replay): all or nothing
            state = fingerprint(wh)
        if proc.returncode == 0 or state == complete:
            # finished (or committed just before the kill): nothing more to test at larger delays
            assert state == complete
            finished = True
            break
        assert state == before
        killed_midway = True
    assert killed_midway, "the import committed before any kill; make the file bigger"

    with Warehouse(db) as wh:
        result = import_scores(wh, big, exam="期末", subject="数学")
        # After only killed attempts the file is imported now; if the last attempt finished,
        # the warehouse already holds it and running it again changes nothing.
        assert result.outcome == ("noop" if finished else "replaced")
        n = wh.scalar("SELECT count(*) FROM paper_results")
        assert n == 150_000
