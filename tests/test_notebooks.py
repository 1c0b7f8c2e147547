"""The notebooks in notebooks/ run top to bottom on a small demo warehouse (nbclient)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from analytics.demo import build_demo  # noqa: E402

pytestmark = pytest.mark.slow  # crash safety, fuzz, load, notebooks: `make fast` leaves them out

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("nb")
    db = d / "demo.duckdb"
    build_demo(db, students=3000, subjects=["数学", "语文"], grades=[9], out_dir=d / "files",
               progress=False)
    return db


def test_there_are_three_studies():
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, demo_db, monkeypatch):
    monkeypatch.setenv("EQM_DB", str(demo_db))
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:  # committed notebooks carry no outputs (kept light)
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name}: strip outputs before committing"
    client = nbclient.NotebookClient(book, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    env_before = os.environ.get("EQM_DB")
    assert env_before == str(demo_db)
    client.execute()
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]
    assert not errors
