"""The DuckDB warehouse: schema migrations and the one choke point through which SQL runs.

Everything that touches the database goes through :class:`Warehouse` (``wh.df``,
``wh.execute``, ``wh.transaction``), a :class:`Backend`: the base class that holds the choke
point's methods and caches once for DuckDB and Spark (:mod:`analytics.warehouse.base`); an
analysis types its ``wh`` as :class:`Backend`. SQL is written in DuckDB's dialect,
parameterised with ``$name`` placeholders, and kept in ``*_sql`` functions or named ``.sql``
files beside the code that runs it (:func:`load_sql`), so that a second backend (Spark, via
SQLGlot) can run the same text.

Writers take the writer's lock (:mod:`analytics.warehouse.lock`) and may wait for a busy file
(``Warehouse(path, wait=seconds)``); a warehouse still busy after the wait raises
:class:`WarehouseBusy` (exit 2, plain words).

The names of :mod:`analytics.warehouse.db` (DuckDB, pandas, pyarrow: ~0.5 s to import) load on
first use (PEP 562), so that importing the lock, the paths or :class:`Backend` — as the command
line does before it knows which command runs — stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from analytics.warehouse.base import Backend, shared_df
from analytics.warehouse.lock import DEFAULT_WAIT, WarehouseBusy, writer_lock
from analytics.warehouse.paths import DEFAULT_DB_PATH, default_db_path

_LAZY = {name: "analytics.warehouse.db"
         for name in ("SCHEMA_VERSION", "Warehouse", "connect", "load_sql")}


def __getattr__(name: str) -> Any:
    """Import a name of :mod:`analytics.warehouse.db` on first use (PEP 562) and keep it."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from analytics.warehouse.db import SCHEMA_VERSION as SCHEMA_VERSION
    from analytics.warehouse.db import Warehouse as Warehouse
    from analytics.warehouse.db import connect as connect
    from analytics.warehouse.db import load_sql as load_sql

__all__ = [
    "DEFAULT_DB_PATH",
    "DEFAULT_WAIT",
    "SCHEMA_VERSION",
    "Backend",
    "Warehouse",
    "WarehouseBusy",
    "connect",
    "default_db_path",
    "load_sql",
    "shared_df",
    "writer_lock",
]
