"""Every registered analysis documents each of its parameters, and the shared descriptions
(:mod:`analytics.domain.params`) are filled in: no placeholder is left in a rendered docstring."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from analytics import registry
from analytics.domain import params

# Analyses whose Parameters section is still to be written, each with its reason. Keep short.
PENDING: dict[str, str] = {}

ANALYSES = [e for e in registry.ENTRIES if e.signature != "other"]


def _documented(doc: str) -> set[str]:
    """The names listed in the Parameters section of a (cleaned) numpydoc docstring."""
    m = re.search(r"^Parameters\n-+\n(.*?)(?=^\S[^\n]*\n-+\n|\Z)", doc, re.S | re.M)
    assert m, "no Parameters section"
    names: set[str] = set()
    for line in m.group(1).splitlines():
        if line and not line[0].isspace():
            head = line.split(" : ")[0]
            names.update(n.strip() for n in head.split(","))
    return names


@pytest.mark.parametrize("entry", ANALYSES, ids=lambda e: e.name)
def test_analysis_documents_every_parameter(entry: registry.Entry):
    obj = getattr(importlib.import_module(entry.module), entry.name)
    doc = obj.__doc__ or ""
    assert not params.UNFILLED.search(doc), f"unfilled placeholder in {entry.name}.__doc__"
    if entry.name in PENDING:
        pytest.skip(PENDING[entry.name])
    wanted = set(inspect.signature(obj).parameters)
    missing = wanted - _documented(inspect.getdoc(obj) or "")
    assert not missing, f"{entry.name}: parameters not documented: {sorted(missing)}"


@pytest.mark.parametrize("entry", registry.ENTRIES, ids=lambda e: e.name)
def test_no_public_docstring_keeps_a_placeholder(entry: registry.Entry):
    obj = getattr(importlib.import_module(entry.module), entry.name)
    assert not params.UNFILLED.search(obj.__doc__ or ""), f"unfilled placeholder in {entry.name}"


def test_placeholders_are_filled_with_the_shared_text():
    doc = params.render("Summary.\n\n    Parameters\n    ----------\n    {paper}\n")
    assert "    exam, subject : str\n        The paper (考试 × 科目)." in doc
    assert not params.UNFILLED.search(doc)
    with pytest.raises(KeyError):
        params.render("    {no_such_parameter}\n")


def test_help_shows_the_full_text():
    import analytics

    doc = analytics.item_stats.__doc__ or ""
    assert "grade : int, optional" in doc and "{paper}" not in doc
    assert "Restrict the population to one school" in doc
