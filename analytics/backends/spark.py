"""Run the warehouse's DuckDB SQL on Apache Spark, over a Parquet export.

One source of truth per query: the analyses keep their SQL in DuckDB's dialect (``*_sql()``
functions and ``.sql`` files) and call ``wh.df(sql, params)``. :class:`SparkWarehouse` answers the
same calls: it parses the DuckDB text with SQLGlot, binds the ``$name`` parameters as literal
nodes of the syntax tree (never by pasting text, so a value cannot change the statement), applies
the few rewrites Spark needs (:data:`SPARK_REWRITES`), generates Spark SQL (the same as
``sqlglot.transpile(sql, read="duckdb", write="spark")`` plus those rewrites) and runs it with
``spark.sql`` over temporary views of the Parquet files written by ``eqm export parquet DIR``.
The views of the migrations (``student_tree``) are recreated by transpiling their definitions
from the migration files themselves.

So any analysis function ``f(wh, …)`` that only reads through ``wh.df``/``wh.scalar`` runs on
Spark by passing a :class:`SparkWarehouse` instead of a :class:`~analytics.warehouse.Warehouse`::

    from analytics.backends.spark import SparkWarehouse
    sw = SparkWarehouse("lake/2026-spring")            # EQM_SPARK_MASTER or local[*]
    report = score_report(sw, exam="…", subject="数学")

Needs ``pip install 'eqm[spark]'`` (pyspark) and Java 17+. Importing this module does not import
pyspark; only creating a session does. The cluster URL comes from the ``master`` argument, else
``$EQM_SPARK_MASTER``, else ``local[*]``.

Semantics kept equal to DuckDB's (tested in tests/test_spark.py): Spark runs in ANSI mode
(errors on integer overflow and invalid casts as DuckDB does; a division by zero raises on Spark
where DuckDB returns ±inf, so the SQL must guard divisors with ``nullif``); ``DECIMAL`` result
columns come back as float64 as DuckDB's ``df()`` returns them; NULL ordering is made explicit by
SQLGlot (DuckDB sorts NULLs last).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import numbers
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any, cast

import pandas as pd
import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB

from analytics.errors import EqmError
from analytics.export import read_manifest
from analytics.warehouse.base import Backend, Params

ENV_MASTER = "EQM_SPARK_MASTER"
DEFAULT_MASTER = "local[*]"


class _DuckDBAsWritten(DuckDB):
    """DuckDB as parsed here: list subscripts keep the index the SQL wrote (1-based).

    SQLGlot's own DuckDB reader shifts ``l[2]`` to a 0-based index only where it guesses that
    ``l`` is a list (it does for a column, not for ``quantile_cont(x, [..])[2]``, nor for a
    ``$i`` index); :func:`_list_index` instead turns every DuckDB subscript into Spark's 1-based
    ``try_element_at``.
    """

    INDEX_OFFSET = 0


READ_DIALECT = _DuckDBAsWritten
WRITE_DIALECT = "spark"

#: Session settings applied to every SparkWarehouse session (see the module docstring).
SESSION_CONF: dict[str, str] = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "true",
}

_MIGRATION_RE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


class SparkUnavailableError(EqmError):
    """pyspark (or Java) is missing: install the optional extra ``eqm[spark]``."""

    exit_code = 2


# -- parameters as literals ------------------------------------------------------------------


def literal(value: Any) -> exp.Expression:
    """A SQL literal node for one Python parameter value, typed as DuckDB would bind it.

    ``None`` → NULL; bool → TRUE/FALSE; int → integer literal; float → ``CAST('…' AS DOUBLE)``
    (DuckDB binds a Python float as DOUBLE, whereas a bare ``0.5`` in Spark is a DECIMAL);
    ``Decimal`` → exact numeric literal; str → string literal (quotes and backslashes escaped by
    the generator of the target dialect); date / datetime → ``CAST('iso' AS DATE/TIMESTAMP)``;
    list or tuple → ``ARRAY(…)`` of the above.

    Raises
    ------
    TypeError
        For any other type.
    """
    if value is None or value is pd.NA:
        return exp.Null()
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return exp.Boolean(this=bool(value))
    if isinstance(value, numbers.Integral):
        n = int(value)
        return exp.Literal.number(n) if n >= 0 else exp.Neg(this=exp.Literal.number(-n))
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise TypeError(f"non-finite Decimal parameter {value!r}")
        text = format(abs(value), "f")
        lit = exp.Literal.number(text)
        return exp.Neg(this=lit) if value < 0 else lit
    if isinstance(value, numbers.Real):
        f = float(value)
        text = repr(f) if math.isfinite(f) else ("NaN" if math.isnan(f) else
                                                  ("Infinity" if f > 0 else "-Infinity"))
        return exp.cast(exp.Literal.string(text), exp.DataType.build("DOUBLE"))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, _dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")),
                        exp.DataType.build("TIMESTAMP"))
    if isinstance(value, _dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    if isinstance(value, list | tuple):
        return exp.Array(expressions=[literal(v) for v in value])
    raise TypeError(f"unsupported SQL parameter type {type(value).__name__}: {value!r}")


def bind_params(tree: exp.Expression, params: Mapping[str, Any] | None) -> exp.Expression:
    """Replace every ``$name`` placeholder of ``tree`` by the literal of ``params[name]``.

    Works on the syntax tree, so a value is always one literal node: a string such as
    ``"x'; DROP TABLE students; --"`` stays a string. Like DuckDB, a missing or an unused
    parameter is an error.

    Raises
    ------
    ValueError
        On a missing parameter, an unused one, or an anonymous ``?`` placeholder.
    """
    params = dict(params or {})
    used: set[str] = set()

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder | exp.Parameter):
            name = node.name
            if name in ("", "?"):
                raise ValueError("anonymous '?' placeholders are not supported; use $name")
            if name not in params:
                raise ValueError(f"SQL parameter ${name} has no value (given: {sorted(params)})")
            used.add(name)
            return literal(params[name])
        return node

    bound = tree.transform(swap, copy=True)
    unused = sorted(set(params) - used)
    if unused:
        raise ValueError(f"parameters not used by the SQL: {', '.join(unused)}")
    return bound


# -- DuckDB constructs Spark spells differently ------------------------------------------------


def _percentile_cont(node: exp.Expression) -> exp.Expression:
    """DuckDB ``quantile_cont(x, p)`` → Spark ``percentile(x, p)``.

    Both are exact, linearly interpolated quantiles (type 7 of Hyndman & Fan); ``p`` may be a
    list in both, giving a list. SQLGlot's default Spark output ``PERCENTILE_CONT(x, p)`` is not
    valid Spark, and its WITHIN GROUP form becomes the approximate ``PERCENTILE_APPROX``.
    """
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return exp.Anonymous(this="PERCENTILE", expressions=[node.this, node.expression])
    return node


def _percentile_disc(node: exp.Expression) -> exp.Expression:
    """DuckDB ``quantile_disc(x, p)`` / ``quantile(x, p)`` → Spark ``percentile_disc(p) WITHIN
    GROUP (ORDER BY x)`` (scalar ``p`` only)."""
    if isinstance(node, exp.PercentileDisc) and node.expression is not None:
        col, p = node.this, node.expression
    elif isinstance(node, exp.Quantile):
        col, p = node.this, node.args.get("quantile")
    else:
        return node
    if isinstance(p, exp.Array):
        raise NotImplementedError(
            "quantile_disc with a list of quantiles has no Spark equivalent; call it once per "
            "quantile"
        )
    return exp.WithinGroup(
        this=exp.Anonymous(this="PERCENTILE_DISC", expressions=[p]),
        expression=exp.Order(expressions=[exp.Ordered(this=col, nulls_first=False)]),
    )


def _list_index(node: exp.Expression) -> exp.Expression:
    """DuckDB ``l[i]`` / ``list_extract(l, i)`` → Spark ``try_element_at(l, i)``.

    Both are 1-based, count from the end for negative ``i`` and give NULL out of range
    (Spark's ``l[i]`` is 0-based and, in ANSI mode, raises out of range). Subscripts by a
    string (struct fields, map keys) and slices are left alone.
    """
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        idx = node.expressions[0]
        if isinstance(idx, exp.Slice) or (isinstance(idx, exp.Literal) and idx.is_string):
            return node
        return exp.Anonymous(this="TRY_ELEMENT_AT", expressions=[node.this.copy(), idx.copy()])
    if (isinstance(node, exp.Anonymous) and str(node.this).upper() in
            ("LIST_EXTRACT", "ARRAY_EXTRACT", "LIST_ELEMENT") and len(node.expressions) == 2):
        return exp.Anonymous(this="TRY_ELEMENT_AT", expressions=[e.copy() for e in
                                                               node.expressions])
    return node


def _split_chars(node: exp.Expression) -> exp.Expression:
    """DuckDB ``string_split(s, '')`` (one element per character) → Spark ``split(s, '')``.

    SQLGlot quotes the delimiter as a regex (``\\Q…\\E``); with an empty delimiter Spark then
    appends a trailing empty string (``['A', 'C', '']`` for ``'AC'``), whereas ``split(s, '')``
    gives ``['A', 'C']`` (and ``['']`` for ``''``) exactly as DuckDB does.
    """
    if (isinstance(node, exp.Split) and isinstance(node.expression, exp.Literal)
            and node.expression.is_string and node.expression.this == ""):
        return exp.Anonymous(this="SPLIT", expressions=[node.this.copy(),
                                                        exp.Literal.string("")])
    return node


def _grouping_id(node: exp.Expression) -> exp.Expression:
    """DuckDB ``grouping(a, b, c)`` → Spark ``grouping_id(a, b, c)``.

    Both give the bit mask with the first argument as the most significant bit (SQL standard
    ``GROUPING``); Spark's ``grouping`` takes one column only.
    """
    if isinstance(node, exp.Grouping) and len(node.expressions) > 1:
        return exp.Anonymous(this="GROUPING_ID", expressions=[e.copy() for e in node.expressions])
    return node


def _window_filter(node: exp.Expression) -> exp.Expression:
    """``agg(x) FILTER (WHERE c) OVER (…)`` → ``agg(CASE WHEN c THEN x END) OVER (…)``.

    Spark accepts FILTER on grouped aggregates but not on window aggregates. The rewrite is
    exact for aggregates that skip NULL inputs (count, sum, avg, min, max, var/stddev, …);
    ``count(*)`` becomes ``count(CASE WHEN c THEN 1 END)``.
    """
    if not (isinstance(node, exp.Window) and isinstance(node.this, exp.Filter)):
        return node
    flt = node.this
    agg = flt.this.copy()
    cond = flt.expression.this

    def gate(arg: exp.Expression) -> exp.Expression:
        value = exp.Literal.number(1) if isinstance(arg, exp.Star) else arg
        return exp.Case(ifs=[exp.If(this=cond.copy(), true=value)])

    for key in ("this", "expression"):
        arg = agg.args.get(key)
        if isinstance(arg, exp.Expression):
            agg.set(key, gate(arg))
    out = node.copy()
    out.set("this", agg)
    return out


def _eliminate_qualify(node: exp.Expression) -> exp.Expression:
    """``SELECT … QUALIFY c ORDER BY o`` → ``SELECT … FROM (SELECT …) _q WHERE c ORDER BY o``.

    Spark has no QUALIFY. SQLGlot's own rewrite lists the select's aliases again beside ``*``
    (``SELECT *, a, b FROM (SELECT *, … AS a, … AS b …)``), which duplicates columns, so this
    one keeps ``*`` when the condition uses only output columns. Window functions written in
    the condition itself are computed as hidden columns of the inner query and the outer query
    lists the visible columns (so that form needs an explicit select list, not ``*``).
    """
    if not isinstance(node, exp.Select) or node.args.get("qualify") is None:
        return node
    cond = node.args["qualify"].this.copy()
    inner = node.copy()
    inner.set("qualify", None)
    tail = {k: inner.args.get(k) for k in ("order", "limit", "offset")}
    for k in tail:
        inner.set(k, None)
    has_star = any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and e.is_star)
                   for e in inner.expressions)
    names = [e.alias_or_name for e in inner.expressions]
    windows = list(cond.find_all(exp.Window))
    if windows and has_star:
        raise NotImplementedError(
            "QUALIFY with a window function over SELECT * cannot be rewritten for Spark; "
            "give the window an alias in the select list and qualify on the alias"
        )
    for i, win in enumerate(windows):
        hidden = f"_qualify_{i}"
        inner.append("expressions", win.copy().as_(hidden))
        win.replace(exp.column(hidden))
    if not has_star:
        for col in cond.find_all(exp.Column):
            if col.name not in names and not col.name.startswith("_qualify_"):
                inner.append("expressions", exp.column(col.name, table=col.table or None))
                names.append(col.name)
            col.set("table", None)
    visible = [exp.Star()] if has_star else [exp.column(n) for n in
                                             [e.alias_or_name for e in node.expressions]]
    outer = exp.select(*visible).from_(inner.subquery("_q")).where(cond)
    order = tail["order"]
    if order is not None:
        for col in order.find_all(exp.Column):
            col.set("table", None)
    for k, v in tail.items():
        if v is not None:
            outer.set(k, v)
    return outer


#: Rewrites applied (in order) to the DuckDB syntax tree before generating Spark SQL.
SPARK_REWRITES: tuple[Callable[[exp.Expression], exp.Expression], ...] = (
    _percentile_cont,
    _percentile_disc,
    _list_index,
    _split_chars,
    _grouping_id,
    _window_filter,
    _eliminate_qualify,
)


def _parse(text: str) -> list[exp.Expression]:
    """DuckDB text → its statements' syntax trees."""
    return [cast(exp.Expression, s) for s in sqlglot.parse(text, read=READ_DIALECT)
            if s is not None]


def to_spark_sql(sql: str, params: Mapping[str, Any] | None = None) -> str:
    """DuckDB SQL with ``$name`` parameters → one Spark SQL statement with the values bound.

    Parameters
    ----------
    sql : str
        One statement in DuckDB's dialect.
    params : mapping, optional
        Values of the ``$name`` placeholders (see :func:`literal` for the types).

    Returns
    -------
    str
        Spark SQL: ``sqlglot.transpile(sql, read="duckdb", write="spark")`` after binding the
        parameters as literal nodes and applying :data:`SPARK_REWRITES`.
    """
    statements = _parse(sql)
    if len(statements) != 1:
        raise ValueError(f"expected one SQL statement, got {len(statements)}")
    tree = bind_params(statements[0], params)
    for rewrite in SPARK_REWRITES:
        tree = tree.transform(rewrite, copy=False)
    return tree.sql(dialect=WRITE_DIALECT)


# -- the migrations' views -------------------------------------------------------------------


def _migration_texts() -> list[tuple[str, str]]:
    files = resources.files("analytics.warehouse") / "sql"
    found = [(e.name, e.read_text(encoding="utf-8")) for e in files.iterdir()
             if _MIGRATION_RE.match(e.name)]
    return sorted(found)


def _statements(text: str) -> list[exp.Expression]:
    try:
        return _parse(text)
    except sqlglot.errors.ParseError:
        # A migration with DDL SQLGlot cannot read: keep only its view statements.
        found = []
        for chunk in text.split(";"):
            body = "\n".join(ln for ln in chunk.splitlines() if not ln.strip().startswith("--"))
            if re.match(r"\s*(CREATE\s+(OR\s+REPLACE\s+)?(TEMP\w*\s+)?VIEW|DROP\s+VIEW)", body,
                        re.IGNORECASE):
                found.extend(_parse(body))
        return found


def view_definitions() -> dict[str, exp.Expression]:
    """The views the migrations leave behind: name → defining query (DuckDB syntax tree).

    Read from ``analytics/warehouse/sql/NNN_*.sql`` in order (a later ``CREATE OR REPLACE VIEW``
    wins, ``DROP VIEW`` removes), so the Spark views are transpiled from the same text DuckDB
    ran, never a hand-kept copy.
    """
    views: dict[str, exp.Expression] = {}
    for _, text in _migration_texts():
        for stmt in _statements(text):
            if isinstance(stmt, exp.Create) and (stmt.kind or "").upper() == "VIEW":
                target = stmt.this
                name = target.name if isinstance(target, exp.Table) else target.this.name
                views[name] = stmt.expression
            elif isinstance(stmt, exp.Drop) and (stmt.kind or "").upper() == "VIEW":
                views.pop(stmt.this.name, None)
    return views


# -- sessions --------------------------------------------------------------------------------


def spark_session(
    master: str | None = None, *, app_name: str = "eqm", conf: Mapping[str, str] | None = None
) -> Any:
    """Get or create the process's SparkSession.

    Parameters
    ----------
    master : str, optional
        Cluster URL (``spark://host:7077``, ``yarn``, ``k8s://…``, ``local[4]``). Default
        ``$EQM_SPARK_MASTER``, else ``local[*]``.
    app_name : str
        Application name shown by the cluster.
    conf : mapping, optional
        Extra Spark settings (e.g. ``{"spark.executor.memory": "8g"}``).

    Raises
    ------
    SparkUnavailableError
        When pyspark is not installed.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SparkUnavailableError(
            "未安装 pyspark:请运行 pip install 'eqm[spark]'(还需要 Java 17) / pyspark is not "
            "installed: pip install 'eqm[spark]' (Java 17 is needed too)"
        ) from exc
    url = master or os.environ.get(ENV_MASTER) or DEFAULT_MASTER
    builder = SparkSession.builder.master(url).appName(app_name)
    for key, value in {**SESSION_CONF, **dict(conf or {})}.items():
        builder = builder.config(key, value)
    with _quiet():
        return builder.getOrCreate()


@contextmanager
def _quiet() -> Iterator[None]:
    """pyspark 4.3 warns on every conversion that it does not "fully support" pandas 3; the
    conversions used here (Arrow, flat numeric/string/date columns) are tested."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas.*")
        warnings.filterwarnings("ignore", message=".*copy keyword is deprecated.*")
        yield


class SparkWarehouse(Backend):
    """Read-only warehouse on Spark over a Parquet export; a
    :class:`~analytics.warehouse.Backend` like :class:`~analytics.warehouse.Warehouse`, whose
    choke point, caches and their limits it shares (this class only runs Spark).

    Parameters
    ----------
    parquet_dir : str or Path
        Directory written by ``eqm export parquet`` (:func:`analytics.export.export_parquet`).
    spark : SparkSession, optional
        An existing session. The warehouse works in its own ``newSession()`` (same cluster,
        separate temporary views), so several exports can be open at once.
    master : str, optional
        Cluster URL when no session is given (default ``$EQM_SPARK_MASTER`` or ``local[*]``).
    conf : mapping, optional
        Extra Spark settings when no session is given.

    Notes
    -----
    Writes (``execute``, ``insert_df`` of rows) raise :class:`PermissionError`: the lake is
    produced by re-exporting from DuckDB. ``register`` exposes a pandas frame as a temporary
    view, as DuckDB's does. A stage (:meth:`staged`) is a cached temporary view, unpersisted
    when it is dropped. ``transaction`` is atomic trivially: the export is one consistent
    snapshot and nothing writes it.
    """

    read_only = True

    def __init__(
        self,
        parquet_dir: str | Path,
        spark: Any = None,
        master: str | None = None,
        *,
        conf: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.path = str(Path(parquet_dir).resolve())
        self.manifest = read_manifest(parquet_dir)
        base = spark if spark is not None else spark_session(master, conf=conf)
        self.spark = base.newSession()
        for key, value in SESSION_CONF.items():
            self.spark.conf.set(key, value)
        self._views: list[str] = []
        self._stages: dict[str, Any] = {}
        for entry in self.manifest["tables"]:
            frame = self.spark.read.parquet(str(Path(self.path) / entry["path"]))
            frame.createOrReplaceTempView(entry["table"])
            self._views.append(entry["table"])
        available = set(self._views)
        for name, query in view_definitions().items():
            needed = {t.name for t in query.find_all(exp.Table)}
            if needed <= available:
                self.spark.sql(to_spark_sql(query.sql(dialect=READ_DIALECT))) \
                    .createOrReplaceTempView(name)
                self._views.append(name)
                available.add(name)

    # -- execution primitives (the choke point and the caches are in Backend) -----------------
    def _frame(self, sql: str, params: Params) -> Any:
        from pyspark.sql import functions as F
        from pyspark.sql.types import DecimalType

        result = self.spark.sql(to_spark_sql(sql, params))
        if any(isinstance(f.dataType, DecimalType) for f in result.schema.fields):
            result = result.select([
                F.col(f"`{f.name}`").cast("double").alias(f.name)
                if isinstance(f.dataType, DecimalType) else F.col(f"`{f.name}`")
                for f in result.schema.fields
            ])
        return result

    def _df(self, sql: str, params: Params) -> pd.DataFrame:
        frame = self._frame(sql, params)
        with _quiet():
            out: pd.DataFrame = frame.toPandas()
        return out

    def _scalar(self, sql: str, params: Params) -> Any:
        row = self._frame(sql, params).first()
        return None if row is None else row[0]

    def _arrow(self, sql: str, params: Params) -> Any:
        return self._frame(sql, params).toArrow()

    def _run(self, sql: str, params: Params) -> None:
        raise PermissionError(_READ_ONLY)

    def _insert(self, table: str, frame: pd.DataFrame) -> int:
        raise PermissionError(_READ_ONLY)

    def _register(self, name: str, frame: Any) -> None:
        with _quiet():
            self.spark.createDataFrame(frame).createOrReplaceTempView(name)

    def _unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def _stage(self, name: str, sql: str, params: Params) -> None:
        frame = self._frame(sql, params).cache()
        frame.createOrReplaceTempView(name)
        self._stages[name] = frame

    def _unstage(self, name: str) -> None:
        frame = self._stages.pop(name, None)
        with suppress(Exception):       # a stopped session has lost its views already
            self.spark.catalog.dropTempView(name)
            if frame is not None:
                frame.unpersist()

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        yield

    def _close(self) -> None:
        """Drop this warehouse's temporary views (the shared SparkContext keeps running)."""
        for name in self._views:
            self.spark.catalog.dropTempView(name)
        self._views = []

    # -- metadata ----------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The schema version the export was taken at (``schema_version`` of its manifest)."""
        return int(self.manifest["schema_version"])

    def tables(self) -> list[str]:
        """Names of the exported tables and of the views rebuilt over them, sorted."""
        return sorted(self._views)


_READ_ONLY = ("Spark 数据是只读导出 / the Spark warehouse is a read-only export; write to DuckDB "
              "and re-export")
