"""``import analytics`` is lazy (PEP 562): the public names load from their modules on use."""

from __future__ import annotations

import importlib
import subprocess
import sys

import analytics

HEAVY = ("scipy", "scipy.stats", "pandas", "duckdb", "analytics.demo", "analytics.backends.spark",
         "jinja2", "openpyxl", "pyspark", "analytics.warehouse")


def _loaded_after(code: str) -> set[str]:
    script = code + "\nimport sys\nprint(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    return set(out.stdout.split())


def test_import_analytics_loads_nothing_heavy():
    loaded = _loaded_after("import analytics")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_an_analysis_loads_what_it_needs_only():
    loaded = _loaded_after("import analytics\nanalytics.score_report\nanalytics.item_stats")
    assert "analytics.scores" in loaded and "analytics.items" in loaded
    assert not loaded & {"analytics.demo", "analytics.backends.spark", "jinja2", "pyspark",
                         "analytics.archive"}


def test_every_public_name_resolves_to_its_module_object():
    assert len(analytics.__all__) == len(set(analytics.__all__))
    for name in analytics.__all__:
        obj = getattr(analytics, name)
        module = importlib.import_module(analytics._LAZY[name])
        assert obj is getattr(module, name), name
    assert set(analytics.__all__) <= set(dir(analytics))


def test_a_submodule_named_like_a_function_leaves_the_function():
    importlib.import_module("analytics.value_added")
    from analytics.value_added import value_added_model  # noqa: F401

    assert callable(analytics.value_added) and not isinstance(analytics.value_added, type(sys))
    assert analytics.value_added.__name__ == "value_added"


def test_unknown_name_raises_attribute_error():
    try:
        analytics.no_such_analysis  # noqa: B018
    except AttributeError as exc:
        assert "no_such_analysis" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
