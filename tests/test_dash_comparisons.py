"""Complementary suppression of the principal's comparison rows (issue 13, item 15).

A principal sees their school beside the district and their zone. In a zone of two schools the
zone row minus the own school's row *is* the other school (its n, mean and rates). The rule
(:func:`analytics.display.hidden_comparisons`): a group is shown only while it holds at least
K = :data:`analytics.display.MIN_OTHER_SCHOOLS` other schools with at least ``min_n`` students
between them, and the district minus the zone must not isolate fewer either. Tested as a pure
function, through the service and over HTTP (crafted callback requests, the report, the Excel
export) on warehouses whose zones hold two and three schools.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analytics.display import MIN_OTHER_SCHOOLS, hidden_comparisons, without_district_comparison
from analytics.users import User, add_user
from analytics.warehouse import Warehouse
from dashboards import ids
from dashboards.service import Filters, Service
from tests.builders import build_exam
from tests.dash_client import PASSWORD, login


# -- the rule, a pure function -------------------------------------------------------------------
def schools(*rows: tuple[int, int, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["school_id", "zone_id", "n"])


def test_k_is_two_by_default() -> None:
    assert MIN_OTHER_SCHOOLS == 2


@pytest.mark.parametrize(("frame", "expected"), [
    # zone of two (own 1 + school 3), district of four: the zone isolates school 3
    (schools((1, 1, 30), (2, 2, 30), (3, 1, 30), (4, 2, 30)),
     {"district": None, "zone": "few_schools"}),
    # zones of three: both shown
    (schools((1, 1, 30), (2, 2, 30), (3, 1, 30), (4, 2, 30), (5, 1, 30), (6, 2, 30)),
     {"district": None, "zone": None}),
    # one zone = the district: district − zone is empty, nothing isolated
    (schools((1, 1, 30), (2, 1, 30), (3, 1, 30)), {"district": None, "zone": None}),
    # zone of three, one school outside it: district − zone = that school
    (schools((1, 1, 30), (2, 1, 30), (3, 1, 30), (4, 2, 30)),
     {"district": None, "zone": "difference"}),
    # a district of two schools: nothing to compare with
    (schools((1, 1, 30), (2, 1, 30)), {"district": "few_schools", "zone": "few_schools"}),
    # enough schools but fewer than min_n = 5 other students in the zone
    (schools((1, 1, 30), (2, 2, 30), (3, 1, 2), (4, 2, 30), (5, 1, 2), (6, 2, 30)),
     {"district": None, "zone": "few_students"}),
    # a school without students on the paper takes no part
    (schools((1, 1, 30), (2, 2, 30), (3, 1, 30), (4, 2, 30), (5, 1, 0), (6, 2, 30)),
     {"district": None, "zone": "few_schools"}),
    # the own school absent from the paper: the others are still counted
    (schools((2, 2, 30), (3, 1, 30), (4, 2, 30), (5, 1, 30)),
     {"district": None, "zone": None}),
])
def test_hidden_comparisons(frame: pd.DataFrame, expected: dict[str, Any]) -> None:
    assert hidden_comparisons(frame, 1, 1, min_n=5) == expected


def test_hidden_comparisons_k_and_min_n_are_parameters() -> None:
    frame = schools((1, 1, 30), (2, 2, 30), (3, 1, 30), (4, 2, 30), (5, 1, 30), (6, 2, 30))
    assert hidden_comparisons(frame, 1, 1, min_schools=3)["zone"] == "few_schools"
    assert hidden_comparisons(frame, 1, 1, min_n=61)["zone"] == "few_students"
    assert hidden_comparisons(frame.iloc[0:0], 1, 1) == {"district": "few_schools",
                                                         "zone": "few_schools"}


def test_without_district_comparison_drops_what_reads_the_district_back() -> None:
    frame = pd.DataFrame({"school_id": [1], "n": [30], "mean": [70.0], "district_mean": [68.0],
                          "z_mean": [0.2], "above_mean_rate": [0.5]})
    assert list(without_district_comparison(frame).columns) == ["school_id", "n", "mean"]


# -- through the service and over HTTP -----------------------------------------------------------
def _warehouse(path: Path, n_schools: int) -> Path:
    """``n_schools`` schools over two zones (round robin: zone 1 holds schools 1, 3, …), and
    the principal p1 of school 1."""
    wh = Warehouse(path)
    build_exam(wh, n_schools=n_schools, n_zones=2, students_per_school=24, seed=3)
    add_user(wh, "p1", PASSWORD, "principal", school=1)
    add_user(wh, "officer", PASSWORD, "officer")
    wh.close()
    return path


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Zones of two schools."""
    return _warehouse(tmp_path_factory.mktemp("zone2") / "w.duckdb", 4)


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Zones of three schools."""
    return _warehouse(tmp_path_factory.mktemp("zone3") / "w.duckdb", 6)


@pytest.fixture
def svc2(two: Path) -> Iterator[Service]:
    svc = Service(two)
    yield svc
    svc.close()


PRINCIPAL = User("p1", "principal", school_id=1, zone_id=1)
OFFICER = User("o", "officer")


def _zone_facts(svc: Service) -> dict[str, Any]:
    """The zone row and the other school of zone 1 as an officer sees them."""
    zone = svc.score_report(OFFICER, Filters(), level="zone").set_index("zone_id").loc[1]
    school = svc.score_report(OFFICER, Filters(), level="school").set_index("school_id")
    return {"zone_name": zone["zone_name"], "zone_n": int(zone["n"]),
            "zone_mean": float(zone["mean"]), "other_n": int(school.loc[3, "n"]),
            "other_mean": float(school.loc[3, "mean"]), "own_n": int(school.loc[1, "n"])}


def _principal_frames(svc: Service) -> dict[str, pd.DataFrame]:
    f = Filters()
    out = {f"score_report_{lv}": svc.score_report(PRINCIPAL, f, level=lv)
           for lv in ("district", "zone", "school", "class")}
    out |= {f"grade_bands_{lv}": svc.grade_bands(PRINCIPAL, f, level=lv)
            for lv in ("district", "zone", "school")}
    out |= {"profile": svc.school_profile(PRINCIPAL, f), "trends": svc.trends(PRINCIPAL, f),
            "green": svc.green(PRINCIPAL, f), "hotspots": svc.hotspots(PRINCIPAL, f),
            "knowledge": svc.knowledge_matrix(PRINCIPAL, f),
            "items": svc.item_stats(PRINCIPAL, f),
            "borderline": svc.students(PRINCIPAL, f, "borderline")}
    return out


def test_service_hides_a_zone_of_two_schools_from_its_principal(svc2: Service) -> None:
    facts = _zone_facts(svc2)
    assert facts["zone_n"] == facts["own_n"] + facts["other_n"]  # the differencing attack
    assert svc2.comparisons(PRINCIPAL, Filters()) == {"district": None, "zone": "few_schools"}
    frames = _principal_frames(svc2)
    assert frames["score_report_zone"].empty and frames["grade_bands_zone"].empty
    assert "zone" not in set(frames["profile"]["unit"])
    assert {"district", "school"} <= set(frames["profile"]["unit"])  # the district stays
    for name, frame in frames.items():  # no row of the zone (its name only labels school 1)
        for col in ("unit_name", "unit"):
            if col in frame.columns:
                assert facts["zone_name"] not in set(frame[col]), name
        if "n" in frame.columns:
            assert facts["zone_n"] not in set(frame["n"].dropna().astype(int)), name
        for col in ("mean", "unit_rate", "score_rate"):
            if col in frame.columns:
                assert not (frame[col] - round(facts["zone_mean"], 2)).abs().lt(1e-9).any(), \
                    name
    # the officer still sees the zone (the rule is for principals)
    assert not svc2.score_report(OFFICER, Filters(), level="zone").empty
    assert svc2.comparisons(OFFICER, Filters()) == {"district": None, "zone": None}


def test_service_shows_a_zone_of_three_schools(three: Path) -> None:
    with closing(Service(three)) as svc:
        assert svc.comparisons(PRINCIPAL, Filters()) == {"district": None, "zone": None}
        zone = svc.score_report(PRINCIPAL, Filters(), level="zone")
        assert list(zone["zone_id"]) == [1] and zone["mean"].notna().all()
        assert "zone" in set(svc.school_profile(PRINCIPAL, Filters())["unit"])


def test_service_hides_the_zone_when_the_district_minus_it_is_one_school(
        tmp_path: Path) -> None:
    """Zone 1 of three schools, one school outside it: district − zone isolates school 4."""
    path = _warehouse(tmp_path / "w.duckdb", 4)
    wh = Warehouse(path)
    wh.execute("UPDATE schools SET zone_id = (SELECT zone_id FROM schools WHERE school_id = 1) "
               "WHERE school_id = 2")
    wh.close()
    with closing(Service(path)) as svc:
        assert svc.comparisons(PRINCIPAL, Filters())["zone"] == "difference"
        assert svc.score_report(PRINCIPAL, Filters(), level="zone").empty
        assert not svc.score_report(PRINCIPAL, Filters(), level="district").empty


def test_district_of_two_schools_hides_the_district_and_what_is_measured_against_it(
        tmp_path: Path) -> None:
    path = _warehouse(tmp_path / "w.duckdb", 2)
    with closing(Service(path)) as svc:
        assert svc.comparisons(PRINCIPAL, Filters())["district"] == "few_schools"
        frames = _principal_frames(svc)
        assert frames["score_report_district"].empty and frames["grade_bands_district"].empty
        assert frames["hotspots"].empty and frames["knowledge"].empty
        assert frames["items"].empty
        assert set(frames["profile"]["unit"]) == {"school"}
        assert frames["profile"]["position"].isna().all()
        assert set(frames["trends"]["level"]) == {"school"}
        assert frames["green"]["school_id"].notna().all()  # no district rows
        own = frames["score_report_school"]
        assert len(own) == 1 and not {"district_mean", "district_sd", "z_mean"} & set(own)
        # the officer's view is unchanged
        assert "district_mean" in svc.score_report(OFFICER, Filters(), level="school")


# -- over HTTP: crafted callback requests, the report and the export -------------------------------
def _app(db: Path) -> Any:
    from dashboards.app import create_app

    return create_app(db, secret_key="z" * 64)


def _post(client: Any, output_id: str, data: dict[str, Any]) -> str:
    from tests.test_dash_access import payload, post

    resp = post(client, payload(client, output_id, {f"{ids.FILTERS}.data": data}))
    assert resp.status_code == 200
    return json.dumps(resp.get_json(), ensure_ascii=False)


def _downloads(client: Any) -> tuple[str, pd.DataFrame, list[int]]:
    """The report's section "vs district and zone" (HTML), the export's sheet of it and every
    n (人数) of every sheet of the export."""
    from tests.test_dash_access import _download

    html = _download(client, ids.PR_REPORT_BTN, {}).get_json()["response"][ids.PR_DOWNLOAD]
    xlsx = _download(client, ids.PR_XLSX_BTN, {}).get_json()["response"][ids.PR_DOWNLOAD]
    sheets = pd.read_excel(io.BytesIO(base64.b64decode(xlsx["data"]["content"])),
                           sheet_name=None)
    section = html["data"]["content"].split("<h2>")[1]
    assert section.startswith("本校与全区、本片区对比")
    vs = next(frame for name, frame in sheets.items() if name.startswith("1-"))
    vs = vs.assign(单位=vs["单位.1"])  # unit and unit_name are both headed 单位: the name
    ns = [int(v) for frame in sheets.values() if "人数" in frame.columns
          for v in frame["人数"].dropna()]
    return section, vs, ns


@pytest.mark.parametrize("crafted", [{}, {"zone": 1}, {"zone": 2}, {"school": 1, "zone": 1}])
def test_http_principal_gets_no_zone_row_in_a_zone_of_two(two: Path,
                                                           crafted: dict[str, Any]) -> None:
    app = _app(two)
    try:
        svc = app.server.config["EQM_SERVICE"]
        facts = _zone_facts(svc)
        client = login(app, "p1")
        for output_id in (ids.PR_VS, ids.PR_CLASSES, ids.PR_ITEMS, ids.PR_VA_TEXT,
                          ids.PR_STRUGGLING, ids.PR_BORDERLINE):
            text = _post(client, output_id, crafted)
            assert facts["zone_name"] not in text, output_id
            assert f'"n": {facts["zone_n"]},' not in text, output_id
        vs = _post(client, ids.PR_VS, crafted)
        assert "片区内其他学校不足 2 所" in vs and "不显示片区对比" in vs
        shown = json.loads(vs)["response"][ids.PR_VS_TABLE]["children"]["props"]
        # issue 16: a table comes after its 导出 Excel bar
        table = shown["data"] if "data" in shown else shown["children"][1]["props"]["data"]
        assert {r["unit_name"] for r in table} == {"测试区", "测试区第1中学"}
        assert facts["zone_n"] not in {r["n"] for r in table}
        html, vs, ns = _downloads(client)
        assert facts["zone_name"] not in html and "不显示片区对比" in html
        assert facts["zone_name"] not in set(vs["单位"]) and len(vs) == 2, vs
        assert facts["zone_n"] not in ns
    finally:
        app.server.config["EQM_SERVICE"].close()


def test_http_principal_sees_the_zone_row_in_a_zone_of_three(three: Path) -> None:
    app = _app(three)
    try:
        facts = _zone_facts(app.server.config["EQM_SERVICE"])
        client = login(app, "p1")
        vs = _post(client, ids.PR_VS, {})
        assert facts["zone_name"] in vs and "不显示片区对比" not in vs
        html, vs, ns = _downloads(client)
        assert facts["zone_name"] in html and facts["zone_name"] in set(vs["单位"])
        assert facts["zone_n"] in ns
    finally:
        app.server.config["EQM_SERVICE"].close()
