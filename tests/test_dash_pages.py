"""Issue 16 without a browser: labels, natural order, the table helper, the Excel export, the
filters, the small display rules (analytics.reports.views) and the admin's readable texts."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest

from analytics.display import natural_sort, round_for_display
from analytics.domain import label
from analytics.domain.labels import LABELS
from analytics.domain.order import natural_key
from analytics.reports.views import (
    attainment_band,
    classes_equal_school,
    funnel_sigma,
    z_interval,
)
from analytics.summaries import prior_exams
from dashboards.i18n import TEXTS, code_label, column_label, translate_codes

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_natural_order_of_class_names() -> None:
    names = ["10班", "1班", "19班", "2班", "11班", None]
    assert sorted(names, key=natural_key) == ["1班", "2班", "10班", "11班", "19班", None]
    frame = pd.DataFrame({"school_id": [2, 1, 1, 1], "class_name": ["1班", "10班", "2班", "1班"]})
    out = natural_sort(frame, ["school_id", "class_name"])
    assert list(out["class_name"]) == ["1班", "2班", "10班", "1班"]


def test_codes_a_user_sees_have_labels() -> None:
    assert code_label("flags", "negative_discrimination;possible_wrong_key") == \
        "负区分、疑似答案错误"
    assert code_label("group", "upper") == "高分组"
    assert code_label("line", "excellent") == "优秀"
    assert code_label("difficulty_band", "hard") == "较难"
    assert code_label("link_method", "new") == "新题"
    assert code_label("grade", 9) == "九年级" and code_label("grade", "5") == "五年级"
    assert code_label("attainment", "middle") == "成绩居中"
    assert column_label("bank_item_id") == "题库编号"
    assert column_label("cause_text") == "出错原因分析"
    assert column_label("n_absent", "en") == "Absent"


def test_translate_codes_booleans_and_dates() -> None:
    frame = pd.DataFrame({"flag": [True, False],
                          "exam_date": pd.to_datetime(["2026-01-15", "2026-06-20"])})
    out = translate_codes(frame)
    assert list(out["flag"]) == ["是", "否"]
    assert list(out["exam_date"]) == ["2026-01-15", "2026-06-20"]


def test_rounding_shows_no_negative_zero() -> None:
    out = round_for_display(pd.DataFrame({"gap": [-0.001, 0.5]}))
    assert str(out["gap"].iloc[0]) == "0.0"


def test_english_texts_and_labels_hold_no_chinese() -> None:
    """English mode: no Chinese left in the UI texts and the labels (data names aside)."""
    for key, (_zh, en) in TEXTS.items():
        if key != "language":  # the switch back names its language: 中文
            assert not CJK.search(en), key
    for kind, codes in LABELS.items():
        for code in codes:
            assert not CJK.search(label(kind, code, "en")), (kind, code)


def test_table_shows_student_ids_and_hides_internal_ids() -> None:
    from dashboards.components import table

    frame = pd.DataFrame({"student_key": [1], "student_id": ["2026001"], "student_name": ["张三"],
                          "class_id": [3], "class_name": ["1班"], "pass_rate": [0.5]})
    grid = table(frame, "zh").children[1]
    cols = [c["id"] for c in grid.columns]
    assert cols == ["student_id", "student_name", "class_name", "pass_rate"]
    assert [c["name"] for c in grid.columns][:2] == ["考号", "姓名"]


def test_export_workbook_has_the_headers_and_percentages() -> None:
    from openpyxl import load_workbook

    from dashboards.components import export_workbook, table

    frame = pd.DataFrame({"school_name": ["一中"], "pass_rate": [0.523], "mean": [71.2]})
    grid = table(frame, "zh").children[1]
    book = load_workbook(io.BytesIO(export_workbook(grid.data, grid.columns, "zh")))
    sheet = book.active
    assert [c.value for c in sheet[1]] == ["学校", "及格率", "平均分"]
    assert sheet["B2"].value == pytest.approx(0.523) and sheet["B2"].number_format == "0.0%"


def test_prior_exams_of_the_same_grade() -> None:
    papers = pd.DataFrame({"exam": ["a", "b", "c", "c"], "subject": ["数学"] * 4,
                           "grade": [7, 8, 8, 7],
                           "exam_date": pd.to_datetime(["2025-01-01", "2025-06-01",
                                                        "2026-01-01", "2026-01-01"])})
    assert prior_exams(papers, "c", "数学", 8) == ["b"]
    assert prior_exams(papers, "c", "数学", 7) == ["a"]
    assert prior_exams(papers, "c", "数学") == ["b", "a"]


def test_views_rules() -> None:
    va = pd.DataFrame({"se": [0.1, 0.2], "n": [100, 25], "va_within_school": [0.0, 0.0]})
    assert funnel_sigma(va) == pytest.approx(1.0)  # se·√n = 1 for both
    assert classes_equal_school(va)
    assert not classes_equal_school(va.assign(va_within_school=[0.0, 0.1]))
    assert list(attainment_band(pd.Series([0.5, 0.0, -0.3, np.nan]))) == \
        ["high", "middle", "low", "middle"]


def test_admin_texts_in_words() -> None:
    import dash

    dash.Dash(__name__, use_pages=True, pages_folder="")
    from dashboards.pages.admin import in_language, summary_label, target_text

    assert summary_label("grade_bands_district", "zh") == "等级分布(全区)"
    assert summary_label("hotspots_school_kp", "en").startswith("error hotspots")
    assert target_text("exam=期中; subject=数学; grade=5; full=100.0", "zh") == \
        "期中 五年级数学(满分 100)"
    assert in_language("已导入「x」 / imported x", "zh") == "已导入「x」"
    assert in_language("已导入「x」 / imported x", "en") == "imported x"


def test_z_interval_is_the_mean_interval_on_the_z_scale() -> None:
    frame = pd.DataFrame({"ci_low": [68.0], "ci_high": [72.0], "district_mean": [70.0],
                          "district_sd": [20.0]})
    out = z_interval(frame)
    assert out["z_ci_low"].iloc[0] == pytest.approx(-0.1)
    assert out["z_ci_high"].iloc[0] == pytest.approx(0.1)
