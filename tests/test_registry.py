"""The one table of public names (analytics.registry) and what is generated from it: the
package's names, the summary tables, the dashboard service's routes and docs/api.md."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

import analytics
from analytics import registry, summaries
from analytics.registry import Entry, S
from dashboards import service
from eqm import apidoc

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_entry_is_reachable_as_analytics_name() -> None:
    public = [e for e in registry.ENTRIES if e.reach == "package"]
    assert analytics.__all__ == [e.name for e in public]
    assert len({e.name for e in registry.ENTRIES}) == len(registry.ENTRIES)
    for e in public:
        obj = getattr(analytics, e.name)
        assert obj is getattr(importlib.import_module(e.module), e.name), e.name
    for e in registry.ENTRIES:  # service and module reach: the module has it
        assert callable(getattr(importlib.import_module(e.module), e.name)), e.name


def test_every_documented_entry_is_in_its_group_of_docs_api_md() -> None:
    text = apidoc.DOC_PATH.read_text(encoding="utf-8")
    starts = {anchor: text.find(f'<a id="{anchor}"></a>\n## ') for anchor in registry.GROUPS}
    for e in registry.ENTRIES:
        qual = f"analytics.{e.name}" if e.reach == "package" else f"{e.module}.{e.name}"
        at = text.find(f'<a id="{apidoc._anchor(qual)}"></a>')
        if e.reach == "service":
            assert at < 0, f"{qual} is internal but documented"
            continue
        assert at > 0, f"{qual} is not in docs/api.md: run {apidoc.REGENERATE}"
        start = starts[e.group]
        after = [s for s in starts.values() if s > start]
        assert start > 0 and start < at < min(after, default=len(text) + 1), (qual, e.group)
    assert [a for a, _t, _m in apidoc.GROUPS] == list(registry.GROUPS)


def test_typed_reexports_are_current() -> None:
    init = ROOT / "analytics" / "__init__.py"
    text = init.read_text(encoding="utf-8")
    assert registry.with_typing_block(text) == text, (
        f"analytics/__init__.py is stale: run {apidoc.REGENERATE_TYPING}")
    for e in registry.ENTRIES:
        line = f"from {e.module} import {e.name} as {e.name}"
        assert (line in text) == (e.reach == "package"), e.name


def test_summaries_are_the_declared_ones_and_accept_their_arguments() -> None:
    declared = registry.summaries()
    assert list(summaries.SUMMARIES) == [s.name for _e, s in declared]
    for e, s in declared:
        spec = summaries.SUMMARIES[s.name]
        assert (spec.module, spec.function, spec.kwargs) == (e.module, e.name, dict(s.kwargs))
        assert (spec.needs_items, spec.needs_prior) == (s.needs_items, s.needs_prior)
        fn = getattr(importlib.import_module(e.module), e.name)
        paper = {"exam": "x", "subject": "y", "grade": 1}
        if s.needs_prior:
            paper["prior_exam"] = "w"
        inspect.signature(fn).bind(object(), **paper, **dict(s.kwargs))  # raises if not


def test_every_summary_the_service_reads_is_declared() -> None:
    reads = (list(service.SUMMARY_OF.values()) + list(service.SUMMARY_OF_KW.values())
             + list(service.SUMMARY_WITH_PRIOR.values()))
    assert reads and set(reads) <= set(summaries.SUMMARIES)
    # the string names of summaries anywhere in the service and the reports are declared
    sources = [*sorted((ROOT / "dashboards").glob("*.py")),
               *sorted((ROOT / "analytics" / "reports").glob("*.py"))]
    for path in sources:
        text = path.read_text("utf-8")
        for pattern in (r"\bsummary\(\s*\w+,\s*[\"'](\w+)[\"']",       # summary(wh, "name")
                        r"summaries\.summary,\s*[\"'](\w+)[\"']",       # _run(summary, "name")
                        r"_school_rows\(\s*[\"'](\w+)[\"']"):
            for name in re.findall(pattern, text):
                assert name in summaries.SUMMARIES, (path.name, name)


def test_every_route_the_service_calls_is_declared_and_exists() -> None:
    for route, (module, function) in service.ANALYSES.items():
        assert callable(getattr(importlib.import_module(module), function)), route
    called = set()
    for path in sorted((ROOT / "dashboards").glob("*.py")):
        called |= set(re.findall(r"self\._(?:analysis|function|report)\(\s*\"(\w+)\"",
                                 path.read_text("utf-8")))
    assert called, "no routed call found: the pattern above is out of date"
    assert called <= set(service.ANALYSES), sorted(called - set(service.ANALYSES))


def test_one_entry_reaches_every_generated_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding an analysis is one entry: it then has its name, its summary, its route and its
    docs group everywhere."""
    new = Entry("new_analysis", "analytics.scores", "scores", route="new_route",
                signature="paper", summaries=(S("new_summary", level="school"),
                                              S("new_summary_kp", level="school", by="x")))
    monkeypatch.setattr(registry, "ENTRIES", (*registry.ENTRIES, new))
    assert registry.lazy_names()["new_analysis"] == "analytics.scores"
    assert ("new_analysis", "new_summary") in [(e.name, s.name) for e, s in registry.summaries()]
    assert registry.routes()["new_route"] == ("analytics.scores", "new_analysis")
    tables = registry.summary_routes()
    assert tables.by_level[("new_route", "school")] == "new_summary"
    assert tables.by_kwargs[("new_route", (("by", "x"), ("level", "school")))] == "new_summary_kp"
    assert "analytics.scores" in dict((a, m) for a, _t, m in registry.docs_groups())["scores"]
    block = registry.typing_block()
    assert "from analytics.scores import new_analysis as new_analysis" in block
    assert "        new_analysis,\n" in block.split("_paper_analyses")[1].split(")")[0]


def test_the_registry_is_light() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "import analytics.registry, sys; "
                          "print(' '.join(sys.modules))"], capture_output=True, text=True,
                         check=True).stdout.split()
    assert not {"pandas", "numpy", "duckdb", "analytics.warehouse", "analytics.scores"} & set(out)
