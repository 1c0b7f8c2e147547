"""Every page fit for its role (issue 16), in headless Chromium with Chinese fonts.

Each role signs in and opens every page its navigation offers, for every exam of a small demo
(an exam with items, a totals-only exam, a second exam with items; one school with 11 classes),
and the test asserts what a user would see:

* no error box (``.eqm-error``), no HTTP 500 and no traceback in the server's log;
* no raw code word in the visible text in Chinese mode — the code words are taken from the
  vocabulary (:data:`analytics.domain.labels.LABELS`, codes and column names), and any
  snake_case word counts too;
* classes in natural order (1班, 2班, …, 10班, 11班) on the principal's page;
* the principal's 学困生 and 临界生 lists name the students (考号, 姓名, 班级).

Skipped without Chromium/chromedriver unless ``EQM_REQUIRE_BROWSER=1`` (CI).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analytics.domain.order import natural_key
from tests import browser

pytestmark = pytest.mark.browser

EXAMS = ("入口考试", "期中总分", "期末监测")
CLASSES = 11


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if browser.binaries() is None:
        if os.environ.get("EQM_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium/chromedriver missing but EQM_REQUIRE_BROWSER=1")
        pytest.skip("Chromium/chromedriver not installed")
    pytest.importorskip("selenium")
    from analytics.archive import archive_paper
    from analytics.importers import import_totals
    from analytics.users import add_user
    from analytics.warehouse import Warehouse
    from tests.builders import build_exam

    tmp = tmp_path_factory.mktemp("pages")
    path = tmp / "w.duckdb"
    wh = Warehouse(path)
    kw = {"n_schools": 5, "students_per_school": 14 * CLASSES,
          "classes_per_school": CLASSES}
    first = build_exam(wh, exam=EXAMS[0], exam_date="2025-09-01", seed=1, **kw)
    theta = first["students"].set_index("student_key")["theta"]
    roster = wh.df("SELECT s.student_id AS 考号, s.name AS 姓名, t.school_name AS 学校, "
                   "t.class_name AS 班级, s.student_key FROM students s "
                   "JOIN student_tree t USING (student_key) ORDER BY s.student_id")
    roster["总分"] = (60 + 12 * theta.reindex(roster.pop("student_key")).to_numpy()).round()
    roster["总分"] = roster["总分"].clip(0, 100)
    roster.to_csv(tmp / "期中总分.csv", index=False)  # a file name is data, not a code
    import_totals(wh, tmp / "期中总分.csv", exam=EXAMS[1], subject="数学", grade=8,
                  full_score=100, exam_date="2026-01-15")
    build_exam(wh, exam=EXAMS[2], exam_date="2026-06-20", seed=2, theta=theta, **kw)
    archive_paper(wh, exam=EXAMS[2], subject="数学")
    school = int(wh.scalar("SELECT min(school_id) FROM schools"))
    for name, role in browser.USERS.items():
        add_user(wh, name, browser.PASSWORD, role,
                 school=school if role == "principal" else None, replace=True)
    wh.close()
    return path


@pytest.fixture(scope="module")
def site(db: Path) -> Iterator[tuple[str, browser.ServerLog]]:
    with browser.served(db) as out:
        yield out


@pytest.fixture(scope="module")
def driver(db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with browser.chromium(tmp_path_factory.mktemp("chrome")) as drv:
        yield drv


def _check_page(drv: Any, url: str, words: set[str]) -> list[str]:
    """What is wrong on the page at ``url`` (empty: nothing)."""
    browser.open_page(drv, url, soft=True)
    problems = [f"{url}: error box {e!r}" for e in browser.error_boxes(drv)]
    codes = browser.raw_codes(browser.visible_text(drv), words)
    if codes:
        problems.append(f"{urllib.parse.unquote(url)}: raw codes {codes}")
    shots = os.environ.get("EQM_PAGE_SHOTS")
    if shots:  # look at the pages (a directory for the PNGs)
        name = urllib.parse.unquote(url.split("/", 3)[-1]).replace("/", "_").replace("?", "_")
        browser.full_page_screenshot(drv, Path(shots) / f"{name or 'home'}.png")
    return problems


@pytest.mark.parametrize("user", list(browser.USERS))
def test_every_page_of_every_exam(driver: Any, site: tuple[str, browser.ServerLog],
                                  user: str) -> None:
    base, log = site
    words = browser.code_words()
    browser.log_in(driver, base, user)
    paths = browser.nav_paths(driver)
    assert paths, user
    problems = []
    for path in paths:
        for exam in EXAMS if path != "/admin" else ("",):
            query = "?" + urllib.parse.urlencode({"exam": exam}) if exam else ""
            problems += _check_page(driver, base + path + query, words)
    assert not problems, "\n".join(problems)
    assert log.problems() == []


def test_principal_page_names_students_in_class_order(
        driver: Any, site: tuple[str, browser.ServerLog]) -> None:
    base, log = site
    browser.log_in(driver, base, "xz")
    browser.open_page(driver, f"{base}/principal?" + urllib.parse.urlencode({"exam": EXAMS[2]}))
    classes = browser.column_cells(driver, "pr-classes-table", "class_name")
    assert len(classes) == CLASSES, classes
    assert classes == sorted(classes, key=natural_key), classes
    for container in ("pr-struggling", "pr-borderline"):
        ids = browser.column_cells(driver, container, "student_id")
        names = browser.column_cells(driver, container, "student_name")
        klass = browser.column_cells(driver, container, "class_name")
        assert ids and all(ids), container
        assert len(names) == len(ids) and all(names), container
        assert len(klass) == len(ids) and all(klass), container
    assert log.problems() == []


def test_english_mode_shows_no_code_words(driver: Any,
                                          site: tuple[str, browser.ServerLog]) -> None:
    """English mode too: no snake_case word on the officer's pages of the latest exam."""
    base, log = site
    browser.log_in(driver, base, "jyy", lang="en")
    for path in browser.nav_paths(driver):
        browser.open_page(driver, base + path)
        text = browser.visible_text(driver)
        assert browser.SNAKE.findall(text) == [], path
    assert log.problems() == []
