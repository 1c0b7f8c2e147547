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
"""

from analytics.warehouse.base import Backend
from analytics.warehouse.db import (
    DEFAULT_DB_PATH,
    SCHEMA_VERSION,
    Warehouse,
    connect,
    default_db_path,
    load_sql,
    shared_df,
)
from analytics.warehouse.lock import DEFAULT_WAIT, WarehouseBusy, writer_lock

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
