"""Unit tests of the dashboard building blocks: figures (pure functions of frames), labels,
the filter parsing and the service's scope rules (no HTTP)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics.users import User
from dashboards import figures
from dashboards.i18n import code_label, column_label, t, translate_codes
from dashboards.report import school_report_html, workbook
from dashboards.service import AccessDenied, Filters, Service


def test_funnel_limits_closed_form() -> None:
    # Hand-worked: σ = 2, n = 16 → σ/√n = 0.5; 95%: ± 1.959964 × 0.5.
    lo, hi = figures.funnel_limits(2.0, np.array([16.0, 100.0]), figures.Z_95, center=1.0)
    assert hi[0] == pytest.approx(1 + 0.979982, abs=1e-6)
    assert lo[1] == pytest.approx(1 - 1.959964 * 0.2, abs=1e-6)
    # The z values are the normal quantiles of 97.5% and 99.9% (scipy as the reference).
    assert pytest.approx(stats.norm.ppf(0.975), abs=1e-12) == figures.Z_95
    assert pytest.approx(stats.norm.ppf(0.999), abs=1e-12) == figures.Z_998


def test_funnel_draws_both_limit_pairs_and_the_points() -> None:
    va = pd.DataFrame({"n": [20, 80, 300], "va": [0.1, -0.2, np.nan], "label": list("abc")})
    fig = figures.funnel(va, "n", "va", "label", sigma=1.0)
    lines = [tr for tr in fig.data if tr.mode == "lines"]
    assert len(lines) == 4  # 95% and 99.8%, upper and lower
    points = next(tr for tr in fig.data if tr.mode == "markers")
    assert list(points.y) == [0.1, -0.2]  # the suppressed (NaN) unit is not drawn
    upper_998 = lines[2].y
    assert upper_998[0] == pytest.approx(figures.Z_998 / np.sqrt(lines[2].x[0]))


def test_caterpillar_sorted_with_asymmetric_bars() -> None:
    frame = pd.DataFrame({"name": ["x", "y", "z"], "va": [0.3, -0.1, 0.1],
                          "lo": [0.1, -0.4, -0.1], "hi": [0.6, 0.1, 0.2],
                          "category": ["above", "as_expected", "as_expected"]})
    tr = figures.caterpillar(frame, "name", "va", "lo", "hi", category="category").data[0]
    assert list(tr.text) == ["y", "z", "x"]
    assert list(tr.error_y.arrayminus) == pytest.approx([0.3, 0.2, 0.2])
    assert list(tr.error_y.array) == pytest.approx([0.2, 0.1, 0.3])
    assert tr.marker.color[2] == figures.COLORS["above"]


def test_heatmap_pivots_long_frames() -> None:
    long = pd.DataFrame({"kp": ["a", "b", "a", "b"], "unit": ["s1", "s1", "s2", "s2"],
                         "gap": [0.1, -0.2, np.nan, 0.05]})
    hm = figures.heatmap(long, "kp", "unit", "gap", zmid=0).data[0]
    assert list(hm.x) == ["a", "b"] and list(hm.y) == ["s1", "s2"]
    z = np.array(hm.z, dtype=float)
    assert z[0, 1] == -0.2 and np.isnan(z[1, 0])


def test_radar_closes_each_polygon() -> None:
    frame = pd.DataFrame({"dim": list("abc") * 2, "v": [1, 2, 3, 4, 5, 6],
                          "who": ["区"] * 3 + ["校"] * 3})
    fig = figures.radar(frame, "dim", "v", "who")
    assert [list(tr.r) for tr in fig.data] == [[1, 2, 3, 1], [4, 5, 6, 4]]
    assert list(fig.data[0].theta) == ["a", "b", "c", "a"]


def test_option_chart_marks_the_key() -> None:
    frame = pd.DataFrame({"option": list("ABAB"), "group": ["upper"] * 2 + ["lower"] * 2,
                          "share": [0.8, 0.2, 0.3, 0.7]})
    fig = figures.option_chart(frame, "option", "group", "share", key="A")
    assert list(fig.data[0].x) == ["A ✓", "B"] and list(fig.data[0].y) == [80.0, 20.0]


def test_labels_chinese_first() -> None:
    assert code_label("gender", "M") == "男"
    assert code_label("ownership", "public") == "公办"
    assert code_label("category", "above") == "显著高于预期"
    assert code_label("category", "above", "en") == "above expected"
    assert code_label("gender", "X") == "X"  # unknown codes shown as they are
    assert t("login") == "登录" and t("login", "en") == "Log in"
    assert t("login", "fr") == "登录"  # unknown language → Chinese
    assert column_label("excellent_rate") == "优秀率"
    out = translate_codes(pd.DataFrame({"gender": ["F", None], "n": [1, 2]}))
    assert list(out["gender"]) == ["女", ""]


@pytest.mark.parametrize(("data", "expected"), [
    ({"exam": "期末", "grade": "8", "school": 3}, Filters("期末", 8, None, None, 3, None)),
    ({"school": [2], "zone": {"$ne": 1}, "grade": True}, Filters()),
    ({"class": "12", "subject": " "}, Filters(class_id=12)),
    ({"exam": "x" * 500}, Filters()),
    (None, Filters()),
])
def test_filters_from_untrusted_mapping(data, expected) -> None:
    assert Filters.from_mapping(data) == expected


@pytest.fixture
def service(wh, tmp_path):
    from tests.builders import build_exam

    build_exam(wh, n_schools=3, students_per_school=12)
    path = wh.path
    wh.close()
    svc = Service(path, min_n=5)
    yield svc
    svc.close()


def test_scope_pins_principals_to_their_school(service) -> None:
    p = User("p", "principal", school_id=2, zone_id=2)
    f = service.scope(p, Filters())
    assert f.school == 2 and f.zone == 2 and f.exam is not None  # latest paper by default
    with pytest.raises(AccessDenied):
        service.scope(p, Filters(school=1))
    other_class = int(service.tree(User("o", "officer")).query("school_id == 1")["class_id"]
                      .iloc[0])
    with pytest.raises(AccessDenied):
        service.scope(p, Filters(class_id=other_class))
    assert set(service.tree(p)["school_id"]) == {2}
    assert service.tree(User("c", "committee")).empty


def test_frames_fail_closed_without_school_ids(service) -> None:
    p = User("p", "principal", school_id=2, zone_id=2)
    frame = pd.DataFrame({"school_name": ["a"], "n": [10], "mean": [1.0]})
    with pytest.raises(AccessDenied):
        service._restrict(p, Filters(), frame, "school")


def test_roles_and_ranks(service) -> None:
    officer, principal = User("o", "officer"), User("p", "principal", school_id=1, zone_id=1)
    report = service.score_report(officer, Filters(), level="school")
    assert "rank" in report.columns and len(report) == 3
    mine = service.score_report(principal, Filters(), level="school")
    assert "rank" not in mine.columns and list(mine["school_id"]) == [1]
    with pytest.raises(AccessDenied):
        service.school_ranking(principal, Filters())
    with pytest.raises(AccessDenied):
        service.score_report(User("c", "committee"), Filters())
    with pytest.raises(AccessDenied):
        service.users(officer)
    with pytest.raises(AccessDenied):
        service.students(officer, Filters(school=1), "borderline")


def test_small_groups_suppressed_by_the_service(service) -> None:
    # 12 students a school, 2 classes of ~6: with min_n = 7 every class is blanked.
    service.min_n = 7
    classes = service.score_report(User("o", "officer"), Filters(), level="class")
    assert classes["mean"].isna().all() and classes["suppressed"].all()
    assert (classes["n"] > 0).all()


def test_report_and_workbook_escape_and_round_trip() -> None:
    frame = pd.DataFrame({"school_name": ["<b>x</b>"], "n": [9], "mean": [71.234]})
    html = school_report_html("报告", {"本校": frame}, "zh")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html and "平均分" in html
    data = workbook({"本校": frame, "空": pd.DataFrame()}, "zh")
    back = pd.read_excel(__import__("io").BytesIO(data), sheet_name=None)
    assert list(back) == ["1-本校", "2-空"]
    assert back["1-本校"]["平均分"].iloc[0] == pytest.approx(71.234)


def test_green_levels_by_unit_is_one_row_per_unit_district_first() -> None:
    long = pd.DataFrame({
        "school_id": [np.nan, np.nan, 7, 7, 3, 3],
        "unit_name": ["全区", "全区", "七中", "七中", "三中", "三中"],
        "name": ["学习动力", "学业负担"] * 3,
        "n": [500, 480, 40, 38, 25, 26],
        "index_level": [5, 3, 7, 2, 4, 9],
    })
    wide = figures.levels_by_unit(long)
    assert list(wide.columns) == ["unit_name", "n", "学习动力", "学业负担"]
    assert list(wide["unit_name"]) == ["全区", "七中", "三中"]
    assert list(wide["n"]) == [500, 40, 26]
    assert list(wide["学业负担"]) == [3, 2, 9]


def test_worst_units_keeps_the_units_furthest_below() -> None:
    frame = pd.DataFrame({"school_name": list("aabbccdd"),
                          "gap": [0.1, 0.0, -0.3, -0.1, -0.05, -0.05, 0.2, 0.2]})
    kept = figures.worst_units(frame, "school_name", "gap", 2)
    assert sorted(set(kept["school_name"])) == ["b", "c"]
    assert len(kept) == 4
    pd.testing.assert_frame_equal(figures.worst_units(frame, "school_name", "gap", 4), frame)


def test_principal_on_a_totals_only_exam_gets_no_rows_not_a_refusal(wh, tmp_path) -> None:
    """Found by the load test: on an exam imported as totals only (no items) the principal's
    weak-items callback was refused ("cannot scope a school frame without school_id"): an
    empty frame has nothing to scope and now comes back empty."""
    from analytics.importers import import_totals
    from tests.builders import build_exam

    build_exam(wh, n_schools=3, students_per_school=12)
    roster = wh.df("SELECT s.student_id AS 考号, s.name AS 姓名, t.school_name AS 学校, "
                   "t.class_name AS 班级 FROM students s JOIN student_tree t USING (student_key) "
                   "ORDER BY s.student_id")
    roster["总分"] = 60
    path = tmp_path / "totals.csv"
    roster.to_csv(path, index=False)
    import_totals(wh, path, exam="期中总分", subject="数学", grade=8, full_score=100,
                  exam_date="2026-04-20")
    db = wh.path
    wh.close()
    svc = Service(db, min_n=5)
    try:
        p = User("p", "principal", school_id=2, zone_id=2)
        for grain in ("item", "knowledge_point"):
            frame = svc.hotspots(p, Filters(exam="期中总分", subject="数学", grade=8),
                                 grain=grain)
            assert frame.empty
    finally:
        svc.close()


def test_role_list_for_refusals() -> None:
    from dashboards.i18n import role_list

    assert role_list(["principal", "officer"]) == "教研员、校长"
    assert role_list(["committee", "officer"], "en") == "research officers and exam committees"
    assert role_list(["admin", "committee", "officer"], "en") == (
        "research officers, exam committees and administrators")
    assert role_list([], "en") == "" and role_list([]) == ""
    assert t("refused_role", "zh", roles=role_list(["officer"])) == (
        "无权访问:此页面或功能仅供教研员使用。")
