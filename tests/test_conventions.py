"""The signature convention of docs/conventions.md, checked on every registered analysis, and
the item columns on every frame with item rows (0.2.0; CHANGELOG.md)."""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from analytics import registry
from tests.hotspot_fixture import EXAM, SUBJECT, planted_warehouse

DEMOGRAPHICS = {"gender", "hukou", "ownership", "locality"}
# parameter names of 0.1 that no public signature may carry any more
RETIRED = {"unit_id", "school_id", "confidence"}
# the first keyword-only parameters, in order, of each signature kind
LEADING = {"paper": ["exam", "subject", "grade"],
           "growth": ["exam", "prior_exam", "subject", "grade"]}
# the one documented exception: the green indicators also run on a questionnaire alone
OPTIONAL_PAPER = {"green_indicators"}
# summaries.summary(…, school_id=) is the summaries module's, being moved by the reductions'
# rework (its file is outside this change); it reads a stored table, it is not an analysis
NOT_YET = {"summary"}
# groups of docs/api.md that hold no analysis (imports, snapshots, users, the summary store)
NOT_ANALYSES = {"warehouse", "snapshot", "summaries", "users", "export"}


def _function(e: registry.Entry) -> Callable[..., Any]:
    return getattr(importlib.import_module(e.module), e.name)


def _analyses() -> list[registry.Entry]:
    """Every public function whose first parameter is the warehouse ``wh``."""
    out = []
    for e in registry.ENTRIES:
        fn = _function(e)
        if inspect.isclass(fn) or e.name in NOT_YET or e.group in NOT_ANALYSES:
            continue
        params = list(inspect.signature(fn).parameters.values())
        if params and params[0].name == "wh":
            out.append(e)
    return out


def convention_problems(name: str, fn: Callable[..., Any], kind: str) -> list[str]:
    """What is wrong with ``fn``'s signature under docs/conventions.md (empty: nothing)."""
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    rest = params[1:]
    problems: list[str] = []
    kw = {p.name: p for p in rest}
    for p in rest:
        if p.name in RETIRED:
            problems.append(f"{name}: parameter {p.name!r} is retired")
    if "level" in kw:
        default = kw["level"].default
        if isinstance(default, float):
            problems.append(f"{name}: level={default} is a confidence level; call it conf")
        elif default != "school":
            problems.append(f"{name}: level defaults to {default!r}, not 'school'")
    if "conf" in kw and kw["conf"].default != 0.95:
        problems.append(f"{name}: conf defaults to {kw['conf'].default!r}")
    if "school" in kw and kw["school"].default is not None:
        problems.append(f"{name}: school defaults to {kw['school'].default!r}")
    if "grade" in kw and kw["grade"].default is not None:
        problems.append(f"{name}: grade defaults to {kw['grade'].default!r}")
    if "by" in kw and not (kw["by"].default is None or kw["by"].default in DEMOGRAPHICS):
        problems.append(f"{name}: by={kw['by'].default!r} is not a demographic (grain?)")
    if "grain" in kw and kw["grain"].default not in ("item", "knowledge_point"):
        problems.append(f"{name}: grain defaults to {kw['grain'].default!r}")
    if kind in LEADING:
        if params[0].kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
            problems.append(f"{name}: wh is not the first positional parameter")
        loose = [p.name for p in rest if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        if loose:
            problems.append(f"{name}: not keyword-only: {loose}")
        lead = LEADING[kind]
        if [p.name for p in rest[:len(lead)]] != lead:
            problems.append(f"{name}: starts {[p.name for p in rest[:len(lead)]]}, not {lead}")
        required = [n for n in lead if n != "grade"]
        if name not in OPTIONAL_PAPER:
            for n in required:
                if n in kw and kw[n].default is not inspect.Parameter.empty:
                    problems.append(f"{name}: {n} has a default")
    return problems


@pytest.mark.parametrize("e", _analyses(), ids=lambda e: e.name)
def test_every_registered_analysis_follows_the_signature_convention(e):
    assert convention_problems(e.name, _function(e), e.signature) == []


def test_the_paper_and_growth_kinds_cover_the_analyses():
    kinds = {e.name: e.signature for e in _analyses()}
    for name in ("score_report", "item_stats", "option_analysis", "cronbach_alpha",
                 "paper_quality", "category_rates", "error_hotspots", "knowledge_matrix",
                 "district_weak_points", "green_indicators", "group_gap",
                 "struggling_students"):
        assert kinds[name] == "paper", name
    for name in ("value_added", "value_added_compare", "value_added_simple", "growth_summary",
                 "student_growth"):
        assert kinds[name] == "growth", name


def test_the_check_catches_each_old_habit():
    """The convention check fails on each of the 0.1 signatures it replaced."""
    def district_default(wh, *, exam, subject, grade=None, level="district"): ...
    def unit_id(wh, *, exam, subject, grade=None, level="school", unit_id=None): ...
    def level_as_conf(wh, *, exam, subject, grade=None, level=0.95): ...
    def confidence(wh, *, exam, subject, grade=None, confidence=0.95): ...
    def by_grain(wh, *, exam, subject, grade=None, by="knowledge_point"): ...
    def positional(wh, exam, subject, grade=None): ...
    def school_id(wh, *, exam, subject, grade=None, school_id=None): ...
    for fn in (district_default, unit_id, level_as_conf, confidence, by_grain, positional,
               school_id):
        assert convention_problems(fn.__name__, fn, "paper"), fn.__name__
    def good(wh, *, exam, subject, grade=None, level="school", school=None, by=None,
             conf=0.95, grain="item"): ...
    assert convention_problems("good", good, "paper") == []


# ------------------------------------------------------------------------- frames and renames

@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    yield from planted_warehouse(tmp_path_factory.mktemp("conv") / "w.duckdb")


def _item_frames(wh) -> dict[str, Any]:
    import analytics

    p = {"exam": EXAM, "subject": SUBJECT}
    return {
        "item_stats": analytics.item_stats(wh, **p),
        "item_stats[district]": analytics.item_stats(wh, **p, level="district"),
        "option_analysis": analytics.option_analysis(wh, **p),
        "error_hotspots": analytics.error_hotspots(wh, **p),
        "district_weak_points": analytics.district_weak_points(wh, **p),
    }


def test_item_frames_carry_item_number_and_item_label(planted):
    for name, frame in _item_frames(planted).items():
        assert not frame.empty, name
        assert {"item_number", "item_label"} <= set(frame.columns), name
        assert not {"number", "item"} & set(frame.columns), name


def test_default_level_is_school(planted):
    import analytics

    p = {"exam": EXAM, "subject": SUBJECT}
    for fn in (analytics.item_stats, analytics.option_analysis, analytics.cronbach_alpha,
               analytics.paper_quality, analytics.knowledge_matrix, analytics.error_hotspots,
               analytics.score_report):
        default = fn(planted, **p)
        assert "school_id" in default.columns and "class_id" not in default.columns, fn
        # equal up to the last bits of DuckDB's parallel float sums (they vary between runs)
        pd.testing.assert_frame_equal(default, fn(planted, **p, level="school"), rtol=1e-9)


def test_old_keywords_still_work_with_a_warning(planted):
    import analytics

    p = {"exam": EXAM, "subject": SUBJECT}
    calls = [
        (analytics.error_hotspots, {"by": "knowledge_point"}, {"grain": "knowledge_point"}),
        (analytics.district_weak_points, {"by": "knowledge_point"},
         {"grain": "knowledge_point"}),
        (analytics.category_rates, {"by": "item_type"}, {"grain": "item_type"}),
        (analytics.score_report, {"confidence": 0.9}, {"conf": 0.9}),
        (analytics.cronbach_alpha, {"confidence": 0.9}, {"conf": 0.9}),
        (analytics.group_gap, {"confidence": 0.9}, {"conf": 0.9}),
    ]
    for fn, old, new in calls:
        with pytest.warns(DeprecationWarning, match=f"'{next(iter(old))}' is now"):
            got = fn(planted, **p, **old)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            # equal up to the last bits of DuckDB's parallel float sums (they vary between runs)
            pd.testing.assert_frame_equal(got, fn(planted, **p, **new), rtol=1e-9)
    with pytest.raises(TypeError):
        analytics.score_report(planted, **p, confidence=0.9, conf=0.9)


def test_item_stats_unit_id_is_the_school_filter(planted):
    import analytics

    p = {"exam": EXAM, "subject": SUBJECT}
    every = analytics.item_stats(planted, **p)
    sid = int(every["school_id"].iloc[0])
    with pytest.warns(DeprecationWarning, match="unit_id"):
        old = analytics.item_stats(planted, **p, level="school", unit_id=sid)
    assert old.equals(analytics.item_stats(planted, **p, school=sid))
    assert set(old["school_id"]) == {sid}
    cls = analytics.item_stats(planted, **p, level="class")
    cid = int(cls["class_id"].iloc[0])
    with pytest.warns(DeprecationWarning):
        old_cls = analytics.item_stats(planted, **p, level="class", unit_id=cid)
    new_cls = analytics.item_stats(planted, **p, level="class", class_=cid)
    assert old_cls.equals(new_cls) and set(new_cls["class_id"]) == {cid}


def test_cli_by_is_a_hidden_alias_of_grain(tmp_path):
    from analytics.warehouse import Warehouse
    from eqm.cli import cli
    from tests.hotspot_fixture import build_hotspot_exam

    db = tmp_path / "cli.duckdb"
    with Warehouse(db) as wh:
        build_hotspot_exam(wh)
    args = ["--db", str(db), "stats", "hotspots", "--exam", EXAM, "--subject", SUBJECT,
            "--format", "csv"]
    runner = CliRunner()
    new = runner.invoke(cli, [*args, "--grain", "knowledge_point"])
    old = runner.invoke(cli, [*args, "--by", "knowledge_point"])
    assert new.exit_code == 0 and old.exit_code == 0, (new.output, old.output)
    assert "knowledge_point" in new.stdout.splitlines()[0]
    assert old.stdout == new.stdout
    assert "--by is now --grain" in old.stderr and "--by" not in new.stderr
    helptext = runner.invoke(cli, ["stats", "hotspots", "--help"]).output
    assert "--grain" in helptext and "--by" not in helptext
