"""Whether the Spark tests can run here (shared by the Spark test modules)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def spark_missing(modules: tuple[str, ...] = ("pyspark",)) -> str | None:
    """Why Spark cannot run here (a module of ``modules`` or Java missing), or None."""
    if any(importlib.util.find_spec(m) is None for m in modules):
        return f"{' or '.join(modules)} is not installed (pip install -e '.[spark]')"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "Java is not installed (Spark needs Java 17)"
    return None


def require_spark(modules: tuple[str, ...] = ("pyspark",)) -> None:
    """Skip the test when Spark cannot run, or fail under ``EQM_REQUIRE_SPARK=1`` (CI)."""
    reason = spark_missing(modules)
    if reason:
        if os.environ.get("EQM_REQUIRE_SPARK") == "1":
            pytest.fail(f"EQM_REQUIRE_SPARK=1 but {reason}")
        pytest.skip(reason)


def local_spark(app_name: str, cores: int = 1) -> Any:
    """A quiet local Spark session for the tests: ``cores`` threads and as many shuffle
    partitions, no UI, a 1 GB driver, only fatal log lines."""
    from analytics.backends.spark import spark_session

    session = spark_session(f"local[{cores}]", app_name=app_name,
                            conf={"spark.ui.enabled": "false",
                                  "spark.sql.shuffle.partitions": str(cores),
                                  "spark.driver.memory": "1g"})
    session.sparkContext.setLogLevel("FATAL")
    return session


@contextmanager
def spark_warehouse(lake: Path, session: Any) -> Iterator[Any]:
    """A :class:`~analytics.backends.spark.SparkWarehouse` over the Parquet export ``lake``
    on ``session``, closed afterwards (the session stays open)."""
    from analytics.backends.spark import SparkWarehouse

    sw = SparkWarehouse(lake, spark=session)
    try:
        yield sw
    finally:
        sw.close()
