"""The DuckDB warehouse: schema migrations and the one choke point through which SQL runs.

Everything that touches the database goes through :class:`Warehouse` (``wh.df``,
``wh.execute``, ``wh.transaction``). SQL is written in DuckDB's dialect, parameterised with
``$name`` placeholders, and kept in ``*_sql`` functions or named ``.sql`` files beside the code
that runs it (:func:`load_sql`), so that a second backend (Spark, via SQLGlot) can run the same
text.
"""

from analytics.warehouse.db import (
    DEFAULT_DB_PATH,
    SCHEMA_VERSION,
    Warehouse,
    connect,
    default_db_path,
    load_sql,
    shared_df,
)

__all__ = [
    "DEFAULT_DB_PATH",
    "SCHEMA_VERSION",
    "Warehouse",
    "connect",
    "default_db_path",
    "load_sql",
    "shared_df",
]
