"""Where the warehouse is by default (no DuckDB import: ``eqm --help`` and the CLI's group
option read it before any command needs the database)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB_PATH = Path("data") / "warehouse.duckdb"


def default_db_path() -> Path:
    """The warehouse path: ``$EQM_DB`` if set, else ``data/warehouse.duckdb`` under the cwd."""
    env = os.environ.get("EQM_DB")
    return Path(env) if env else DEFAULT_DB_PATH
