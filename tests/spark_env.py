"""Whether the Spark tests can run here (shared by the Spark test modules)."""

from __future__ import annotations

import importlib.util
import os
import shutil

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
