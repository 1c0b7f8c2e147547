"""Every page and callback on a totals-only exam (one total per student, no item responses).

Issue 13, item 16: on the demo's 期中 exam (imported with ``eqm import totals``) 试题分析
answered HTTP 500 (KeyError 'item_type'), 错误热点 showed "出错" (KeyError 'gap') and the
committee's 试卷质量 "出错" (KeyError 'item'). Every callback of every page is posted here, for
every role that may open it, with the filters on a totals-only paper that sits between two exams
with items (so value added runs with it as the exit and as the entry exam): no 500, no
traceback, no callback that fails (logged by ``guarded``), and the item pages say in plain words
that the exam has totals only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analytics.importers import import_totals
from analytics.users import User, add_user
from analytics.warehouse import Warehouse
from dashboards import ids
from dashboards.service import Filters, Service
from tests.builders import build_exam
from tests.dash_client import PASSWORD, csrf, login, started_app

TOTALS_EXAM = "期中总分"
TOTALS = {"exam": TOTALS_EXAM, "subject": "数学", "grade": 8}
TOTALS_ONLY_ZH = "本次考试只有总分"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """入口考试 (items) → 期中总分 (totals only) → 期末监测 (items), one cohort in 4 schools."""
    tmp = tmp_path_factory.mktemp("totals")
    path = tmp / "w.duckdb"
    wh = Warehouse(path)
    first = build_exam(wh, n_schools=4, students_per_school=20, exam="入口考试",
                       exam_date="2025-09-01", seed=1)
    theta = first["students"].set_index("student_key")["theta"]
    roster = wh.df("SELECT s.student_id AS 考号, s.name AS 姓名, t.school_name AS 学校, "
                   "t.class_name AS 班级, s.student_key FROM students s "
                   "JOIN student_tree t USING (student_key) ORDER BY s.student_id")
    roster["总分"] = (60 + 12 * theta.reindex(roster.pop("student_key")).to_numpy()).round()
    roster["总分"] = roster["总分"].clip(0, 100)
    roster.to_csv(tmp / "totals.csv", index=False)
    import_totals(wh, tmp / "totals.csv", exam=TOTALS_EXAM, subject="数学", grade=8,
                  full_score=100, exam_date="2026-01-15")
    build_exam(wh, n_schools=4, students_per_school=20, exam="期末监测",
               exam_date="2026-06-20", seed=2, theta=theta)
    add_user(wh, "officer", PASSWORD, "officer")
    add_user(wh, "p1", PASSWORD, "principal", school=1)
    add_user(wh, "cm", PASSWORD, "committee")
    wh.close()
    return path


@pytest.fixture(scope="module")
def app(db: Path) -> Iterator[Any]:
    yield from started_app(db, secret_key="q" * 64)


def _outputs(out: str) -> Any:
    parts = out.strip(".").split("...") if out.startswith("..") else [out]
    outs = [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1].split("@")[0]}
            for o in parts]
    return outs if len(outs) > 1 else outs[0]


# Plausible values of every page input (the filter store is set per case below).
INPUTS: dict[str, Any] = {
    f"{ids.HS_LEVEL}.value": "school", f"{ids.VA_LEVEL}.value": "school",
    f"{ids.IT_ITEM}.value": 1, "va-prior.value": None, f"{ids.CM_QUERY}.value": "",
    f"{ids.CM_HISTORY_ITEM}.value": None, f"{ids.CM_NOTE_TEXT}.value": None,
}


def _values(dep: list[dict[str, Any]], filters: dict[str, Any],
            overrides: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for d in dep:
        key = f"{d['id']}.{d['property']}"
        if d["id"].startswith("{"):  # the filter bar's dropdowns (pattern-matching ids)
            out.append([{"id": ids.filter_id(k), "property": d["property"],
                         "value": ids.filter_id(k) if d["property"] == "id"
                         else filters.get(k)} for k in ids.FILTER_KEYS])
            continue
        value = (filters if d["id"] == ids.FILTERS else 1 if d["property"] == "n_clicks"
                 else overrides.get(key, INPUTS.get(key)))
        out.append({"id": d["id"], "property": d["property"], "value": value})
    return out


# (user, filter store, input overrides): each role on the totals-only paper, the officer also
# with a zone, a school and the class level, the principal's page for a chosen school.
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("officer", TOTALS, {}),
    ("officer", {**TOTALS, "zone": 1}, {f"{ids.HS_LEVEL}.value": "class",
                                        f"{ids.VA_LEVEL}.value": "class"}),
    ("officer", {**TOTALS, "school": 1}, {"va-prior.value": "入口考试"}),
    ("p1", TOTALS, {}),
    ("cm", TOTALS, {}),
]


@pytest.mark.parametrize(("user", "filters", "overrides"), CASES)
def test_every_callback_on_a_totals_only_exam(app: Any, caplog: pytest.LogCaptureFixture,
                                              user: str, filters: dict[str, Any],
                                              overrides: dict[str, Any]) -> None:
    import dash

    client = login(app, user)
    headers = {"X-CSRFToken": csrf(client)}
    deps = [d for d in client.get("/_dash-dependencies").get_json()
            if not d.get("clientside_function")]
    assert len(deps) >= 20
    problems = []
    with caplog.at_level(logging.ERROR):
        for dep in deps:
            inputs = [f"{d['id']}.{d['property']}" for d in dep["inputs"]]
            body = {"output": dep["output"], "outputs": _outputs(dep["output"]),
                    "inputs": _values(dep["inputs"], filters, overrides),
                    "state": _values(dep["state"], filters, overrides),
                    "changedPropIds": inputs}
            bodies = [body]
            if "_pages_location.pathname" in inputs:  # the router: every page's layout
                query = "?" + "&".join(f"{k}={v}" for k, v in filters.items())
                bodies = []
                for page in dash.page_registry.values():
                    b = json.loads(json.dumps(body))
                    for item in b["inputs"]:
                        item["value"] = page["path"] if item["property"] == "pathname" \
                            else query
                    bodies.append(b)
            for b in bodies:
                resp = client.post("/_dash-update-component", json=b, headers=headers)
                text = resp.get_data(as_text=True)
                if resp.status_code not in (200, 204) or "Traceback" in text:
                    problems.append((dep["output"], resp.status_code, text[:200]))
    crashes = [f"{r.getMessage()}: {r.exc_info[1]!r}" if r.exc_info else r.getMessage()
               for r in caplog.records if r.levelno >= logging.ERROR]
    assert not problems, problems[:3]
    assert not crashes, crashes[:5]


def _response(app: Any, user: str, output_id: str, filters: dict[str, Any]) -> str:
    from tests.test_dash_access import payload, post

    client = login(app, user)
    body = payload(client, output_id, {f"{ids.FILTERS}.data": filters,
                                       f"{ids.HS_LEVEL}.value": "school"})
    resp = post(client, body)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return json.dumps(resp.get_json(), ensure_ascii=False)


@pytest.mark.parametrize(("user", "output_id"), [
    ("officer", ids.IT_TABLE), ("officer", ids.IT_OPTIONS), ("officer", ids.HS_HEATMAP),
    ("officer", ids.HS_TABLE), ("cm", ids.CM_QUALITY), ("officer", ids.CM_QUALITY),
    ("p1", ids.PR_ITEMS), ("p1", ids.PR_POINTS),
])
def test_item_pages_say_the_exam_has_totals_only(app: Any, user: str, output_id: str) -> None:
    text = _response(app, user, output_id, TOTALS)
    assert TOTALS_ONLY_ZH in text, text[:400]
    assert "出错" not in text and "eqm-refused" not in text


def test_item_pages_of_an_exam_with_items_do_not_say_so(app: Any) -> None:
    for user, output_id in (("officer", ids.IT_TABLE), ("officer", ids.HS_TABLE),
                            ("cm", ids.CM_QUALITY), ("p1", ids.PR_ITEMS)):
        text = _response(app, user, output_id, {**TOTALS, "exam": "期末监测"})
        assert TOTALS_ONLY_ZH not in text and "出错" not in text, (output_id, text[:300])


def test_score_pages_of_a_totals_only_exam_still_show_scores(app: Any, db: Path) -> None:
    """Totals are enough for the score report, the school page and value added: those pages
    show their numbers, not the totals-only note."""
    text = _response(app, "officer", ids.OV_TABLE, TOTALS)
    assert "平均分" in text and TOTALS_ONLY_ZH not in text
    text = _response(app, "p1", ids.PR_VS, TOTALS)
    assert "平均分" in text and TOTALS_ONLY_ZH not in text


def test_service_knows_which_papers_have_items(db: Path) -> None:
    svc = Service(db)
    try:
        officer = User("o", "officer")
        assert svc.totals_only(officer, Filters.from_mapping(TOTALS)) is True
        assert svc.totals_only(officer, Filters.from_mapping({**TOTALS, "exam": "期末监测"})) \
            is False
    finally:
        svc.close()


def test_printable_report_says_the_exam_has_totals_only(app: Any) -> None:
    from tests.test_dash_access import _download

    client = login(app, "p1")
    out = _download(client, ids.PR_REPORT_BTN, TOTALS).get_json()["response"][ids.PR_DOWNLOAD]
    assert TOTALS_ONLY_ZH in out["data"]["content"] and "平均分" in out["data"]["content"]
