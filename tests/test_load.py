"""A small, bounded version of the load test (benchmarks/load_test.py): 20 simulated users
(research officers and principals) at once against the dashboard served on 127.0.0.1, each
doing 5 browser interactions (open a page, change a filter) through real HTTP requests built
from the app's own ``/_dash-dependencies`` and layouts.

Asserted: zero errors, and every response correct — status 200, JSON, the output ids of the
callback present, no refusal or error message. No latency assertion for the 20 users: the
timing figures come from the benchmark script (docs/benchmarks.md, "Load test (20 concurrent
users)").

The failed-login flood (issue 13): while 6 threads send about 10 failed logins a second, another
signed-in officer's callback median stays under twice its quiet value (it was 100 times: the
password check ran inside the service's lock, and no client was ever throttled).
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from pathlib import Path

import pytest

from analytics.users import list_users
from analytics.warehouse import Warehouse
from benchmarks.load_test import (
    FLOOD_KIND,
    LOOPBACK,
    Browser,
    Recorder,
    create_accounts,
    flood_scenario,
    login_flood,
    remove_accounts,
    run_load,
    serve_in_thread,
    summarise,
)
from tests.builders import build_exam

pytestmark = pytest.mark.slow  # crash safety, fuzz, load, notebooks: `make fast` leaves them out

USERS = 20
REQUESTS = 5


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two exams of one cohort (entry → exit) in 6 schools of 2 zones."""
    path = tmp_path_factory.mktemp("load") / "w.duckdb"
    with Warehouse(path) as wh:
        first = build_exam(wh, n_schools=6, students_per_school=30, exam="入口考试",
                           exam_date="2025-09-01", seed=11)
        build_exam(wh, n_schools=6, students_per_school=30, exam="期末监测",
                   exam_date="2026-06-20", seed=12,
                   theta=first["students"].set_index("student_key")["theta"])
    return path


def test_twenty_concurrent_users_get_only_correct_responses(db: Path) -> None:
    accounts = create_accounts(db, USERS)
    assert Counter(a.role for a in accounts) == {"officer": 10, "principal": 10}
    try:
        with serve_in_thread(db, secrets.token_hex(32)) as base:
            assert base.startswith(f"http://{LOOPBACK}:")
            recorder, _ = run_load(base, accounts, requests_per_user=REQUESTS,
                                   time_limit=900, timeout=120)
    finally:
        remove_accounts(db, accounts)
    bad = [(s.kind, s.detail) for s in recorder.samples if not s.ok]
    assert bad == []
    assert len(recorder.interactions) == USERS * REQUESTS  # nobody stopped early
    assert all(s.ok for s in recorder.interactions)
    kinds = {r["kind"]: r["n"] for r in summarise(recorder.samples)}
    assert kinds["login"] == USERS
    # The real requests of the pages were exercised: router, filter bar, both roles' callbacks.
    assert kinds["callback: pages router"] >= USERS
    assert kinds.get("callback: filter bar → URL", 0) > 0
    assert any(k.startswith("callback: pr-") for k in kinds)
    assert any(k.startswith("callback: ") and not k.startswith("callback: pr-")
               and k not in ("callback: pages router", "callback: filter bar → URL")
               for k in kinds)
    with Warehouse(db) as wh:  # the test's accounts are gone again
        assert not list_users(wh)["username"].str.startswith("loadtest-").any()


def test_checks_catch_a_refusal(db: Path) -> None:
    """The response checks can fail: a principal opening an officer page gets the app's
    refusal, which the browser records as an error."""
    accounts = create_accounts(db, 2, prefix="loadcheck")
    principal = next(a for a in accounts if a.role == "principal")
    try:
        with serve_in_thread(db, secrets.token_hex(32)) as base:
            rec = Recorder()
            browser = Browser(base, rec)
            assert browser.login(principal.username, principal.password)
            assert browser.open_page("/principal")
            assert all(s.ok for s in rec.samples)
            assert not browser.open_page("/officer/overview")  # refused page, no data
            assert any("eqm-refused" in s.detail for s in rec.samples if not s.ok)
            wrong = Browser(base, Recorder())
            assert not wrong.login(principal.username, "not-the-password")
    finally:
        remove_accounts(db, accounts)


def test_only_loopback() -> None:
    with pytest.raises(ValueError):
        Browser("http://192.0.2.1:8050", Recorder())
    with pytest.raises(ValueError):
        login_flood("http://192.0.2.1:8050", Recorder(), threading.Event())


def test_failed_login_flood_leaves_other_users_callbacks_fast(db: Path) -> None:
    """6 threads, ~10 failed logins a second from 127.0.0.1 (bounded: at most 600 attempts or
    60 s, stopped when the probe is done), while another officer fires a page's callbacks."""
    accounts = create_accounts(db, 2, prefix="loadflood")
    officer = next(a for a in accounts if a.role == "officer")
    try:
        with serve_in_thread(db, secrets.token_hex(32)) as base:
            result = flood_scenario(base, officer, rounds=20, threads=6, rate=10.0,
                                    max_attempts=600, time_limit=60, timeout=60)
    finally:
        remove_accounts(db, accounts)
    print(result)
    assert result["errors"] == []
    assert result["flood_p50"] < 2 * result["quiet_p50"], result  # the officer is unhurt …
    assert result["quiet_n"] >= 20 and result["flood_n"] >= 20
    attempts = sum(result["flood"].values())
    assert attempts >= 10 and set(result["flood"]) <= {"401", "429"}
    assert result["flood"].get("429", 0) > 0  # … and the client was throttled


def test_flood_answers_are_checked(db: Path) -> None:
    """A flood sample is an error unless the login is refused (a 302 would be a sign-in)."""
    with serve_in_thread(db, secrets.token_hex(32)) as base:
        rec, stop = Recorder(), threading.Event()
        for t in login_flood(base, rec, stop, threads=2, rate=20.0, max_attempts=4):
            t.join(30)
    assert [s.kind for s in rec.samples] == [FLOOD_KIND] * 4
    assert all(s.ok and s.detail == "401" for s in rec.samples)


def test_principal_on_an_exam_without_prior_gets_the_struggling_list(db: Path) -> None:
    """Found by the load test: on the entry exam (no earlier exam, so no growth percentiles)
    the 学困生 callback failed for a school with low-attainment students ("merge on float64
    and object columns for key 'total'" in ``Service._struggling``)."""
    with Warehouse(db) as wh:
        from analytics.users import add_user

        password = secrets.token_urlsafe(12)
        for school in range(1, 7):
            add_user(wh, f"struggle-{school}", password, "principal", school=school,
                     replace=True)
    try:
        with serve_in_thread(db, secrets.token_hex(32)) as base:
            for school in range(1, 7):
                rec = Recorder()
                browser = Browser(base, rec)
                assert browser.login(f"struggle-{school}", password)
                assert browser.load_shell("/principal", "?exam=入口考试")
                browser.route("/principal", "?exam=入口考试")
                bad = [(s.kind, s.detail) for s in rec.samples if not s.ok]
                assert bad == [], (school, bad)
    finally:
        with Warehouse(db) as wh:
            from analytics.users import remove_user

            for school in range(1, 7):
                remove_user(wh, f"struggle-{school}")
