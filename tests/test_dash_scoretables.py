"""The score tables page (一分一段表, 全科总分): scoped on the server (a principal: own school
only, a crafted request for another school refused), the service's frames are the analyses',
the page's texts in Chinese and in English, the figures pure."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analytics.scoretables import score_distribution, total_score_report
from analytics.users import add_user
from analytics.warehouse import Warehouse
from dashboards import ids
from dashboards.figures_scoretables import band_shares, cumulative
from tests.builders import build_exam
from tests.dash_client import PASSWORD, login
from tests.test_dash_access import payload, post, school_names

EXAM = "期末监测"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One exam with two subjects (数学 itemised, 语文 totals only) in 6 schools; users."""
    path = tmp_path_factory.mktemp("dist") / "w.duckdb"
    wh = Warehouse(path)
    built = build_exam(wh, n_schools=6, students_per_school=40, exam=EXAM, seed=4)
    pid = int(wh.scalar("SELECT max(paper_id) + 1 FROM papers"))
    wh.execute("INSERT INTO papers (paper_id, exam_id, subject, grade, full_score) "
               "VALUES ($p, $e, '语文', $g, 100)",
               {"p": pid, "e": built["exam_id"], "g": built["grade"]})
    keys = built["students"]["student_key"].to_numpy()
    rng = np.random.default_rng(9)
    status = np.where(np.arange(len(keys)) % 37 == 0, "absent", "present")
    wh.insert_df("paper_results", pd.DataFrame({
        "paper_id": pid, "student_key": keys, "status": status,
        "total": np.where(status == "present", rng.integers(30, 101, len(keys)), None)}))
    add_user(wh, "officer", PASSWORD, "officer")
    add_user(wh, "p1", PASSWORD, "principal", school=1)
    wh.close()
    return path


@pytest.fixture(scope="module")
def app(db: Path) -> Any:
    from dashboards.app import create_app

    app = create_app(db, secret_key="d" * 64)
    yield app
    app.server.config["EQM_SERVICE"].close()


def _filters(**kw: Any) -> dict[str, Any]:
    return {"exam": EXAM, "subject": "数学", **kw}


def _table_call(client: Any, data: dict[str, Any], source: str = "subject",
                width: int = 1) -> str:
    body = payload(client, ids.DS_TABLE, {f"{ids.FILTERS}.data": data,
                                          f"{ids.DS_SOURCE}.value": source,
                                          f"{ids.DS_WIDTH}.value": width})
    resp = post(client, body)
    assert resp.status_code == 200
    return json.dumps(resp.get_json(), ensure_ascii=False)


def _levels_call(client: Any, data: dict[str, Any]) -> str:
    resp = post(client, payload(client, ids.DS_LEVELS_TABLE, {f"{ids.FILTERS}.data": data}))
    assert resp.status_code == 200
    return json.dumps(resp.get_json(), ensure_ascii=False)


def test_service_frames_are_the_analyses_scoped(app: Any, db: Path) -> None:
    from dashboards.service import AccessDenied, Filters

    svc = app.server.config["EQM_SERVICE"]
    officer, p1 = svc.get_user("officer"), svc.get_user("p1")
    f = Filters(exam=EXAM, subject="数学")
    with Warehouse(db, read_only=True) as wh:
        ref = score_distribution(wh, exam=EXAM, subject="数学", level="district")
        ref_total = total_score_report(wh, exam=EXAM, level="school")
    got = svc.score_distribution(officer, f, level="district")
    assert got["count"].tolist() == ref["count"].tolist()
    own = svc.score_distribution(p1, f, level="school", total=True)
    assert set(own["school_id"]) == {1}
    rep = svc.total_report(p1, f, level="school")
    assert set(rep["school_id"]) == {1} and "rank" not in rep.columns
    assert int(rep["n"].iloc[0]) == int(ref_total.loc[ref_total["school_id"] == 1, "n"].iloc[0])
    with pytest.raises(AccessDenied):
        svc.score_distribution(p1, Filters(exam=EXAM, subject="数学", school=2), level="school")
    with pytest.raises(AccessDenied):
        svc.score_distribution(officer, f, level="school")      # an officer must choose one


def test_principal_sees_own_school_only_and_crafted_requests_are_refused(app: Any) -> None:
    names = school_names(app)
    client = login(app, "p1")
    for source in ("subject", "total"):
        text = _table_call(client, _filters(), source=source, width=10)
        assert names[1] in text
        assert all(name not in text for sid, name in names.items() if sid != 1)
    text = _levels_call(client, _filters())
    assert names[1] in text and "1班" in text
    assert all(name not in text for sid, name in names.items() if sid != 1)
    for crafted in ({"school": 2}, {"school": "3"}, {"class": 5}):
        for text in (_table_call(client, _filters(**crafted)),
                     _levels_call(client, _filters(**crafted))):
            assert "eqm-refused" in text, crafted
            assert all(name not in text for sid, name in names.items() if sid != 1)


def test_officer_page_in_chinese_and_english(app: Any) -> None:
    names = school_names(app)
    client = login(app, "officer")
    text = _table_call(client, _filters())
    assert "累计人数" in text and "累计百分比" in text and "全区" in text
    assert "选择学校" in text                 # says what is missing
    text = _table_call(client, _filters(school=2), source="total", width=10)
    assert names[2] in text and "全科总分只计各科都有成绩的学生" in text
    assert re.search(r"缺考或缺科 \d+ 人", text)
    assert "–" in text                        # bands shown as low–high
    levels = _levels_call(client, _filters())
    assert all(name in levels for name in names.values())
    client.get("/lang/en")
    text = _table_call(client, _filters(school=2), source="total", width=10)
    levels = _levels_call(client, _filters())
    for english in (text, levels):
        visible = re.sub(r'"(school_name|unit_name|class_name|id|type|property)": "[^"]*"', "",
                         english)
        # no Chinese left but the names in the data: schools, classes, district, subjects
        for name in [*names.values(), "班", "测试区", "数学", "语文"]:
            visible = visible.replace(name, "")
        assert not re.search(r"[\u4e00-\u9fff]", visible), re.findall(r".{20}[\u4e00-\u9fff]+",
                                                                      visible)[:5]
    assert "Cumulative share" in text and "Students" in text


def test_page_opens_for_both_roles_and_is_in_the_navigation(app: Any) -> None:
    from dashboards.app import nav_links
    from tests.dash_client import page_request

    assert ("/distribution", "officer_distribution") in nav_links("officer")
    assert ("/distribution", "officer_distribution") in nav_links("principal")
    assert ("/distribution", "officer_distribution") not in nav_links("committee")
    for user in ("officer", "p1"):
        client = login(app, user)
        text = json.dumps(post(client, page_request(client, "/distribution")).get_json(),
                          ensure_ascii=False)
        assert "一分一段与全科总分" in text and "eqm-refused" not in text
        assert "A等(优秀)" in text               # the plain legend of the bands


def test_figures_are_pure() -> None:
    frame = pd.DataFrame({"unit": ["全区"] * 3 + ["一校"] * 2, "score": [10, 8, 6, 10, 6],
                          "count": [1, 2, 3, 1, 1], "cum_share": [1 / 6, .5, 1, .5, 1]})
    fig = cumulative(frame, score="score", share="cum_share", series="unit", count="count",
                     count_series="一校", count_title="人数", x_title="分数", y_title="累计")
    assert [tr.type for tr in fig.data] == ["bar", "scatter", "scatter"]
    np.testing.assert_allclose(fig.data[1].y, [100 / 6, 50, 100])
    assert fig.layout.xaxis.autorange == "reversed" and fig.layout.xaxis.title.text == "分数"
    bands = pd.DataFrame({"unit_name": ["a", "b"], "share_a": [.1, .2], "share_b": [.2, .2],
                          "share_c": [.3, .2], "share_d": [.4, .4]})
    fig = band_shares(bands, "unit_name", names={"A": "A等"}, x_title="单位", y_title="比例")
    assert [tr.name for tr in fig.data] == ["A等", "B", "C", "D"]
    np.testing.assert_allclose(fig.data[3].y, [40, 40])
