"""Shared fixtures. Test data is built from code with fixed seeds; nothing large is committed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.warehouse import Warehouse


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    """A fresh, migrated warehouse in a temporary file."""
    w = Warehouse(tmp_path / "test.duckdb")
    try:
        yield w
    finally:
        w.close()
