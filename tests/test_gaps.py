"""Group gaps (gender gap by school) against scipy's Welch test on the raw student totals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analytics.gaps import group_gap
from tests.builders import build_exam


@pytest.fixture
def exam_wh(wh):
    build_exam(wh, n_schools=6, students_per_school=120, seed=11, gender_gap=0.5)
    return wh


def test_gender_gap_matches_welch_on_raw_data(exam_wh):
    wh = exam_wh
    out = group_gap(wh, exam="测试监测", subject="数学", level="school", by="gender")
    assert list(out.columns[:4]) == ["zone_id", "zone_name", "school_id", "school_name"]
    assert {"n", "gap", "se", "ci_low", "ci_high", "p_value"} <= set(out.columns)
    raw = wh.df(
        "SELECT t.school_id, t.gender, r.total FROM paper_results r "
        "JOIN student_tree t USING (student_key) WHERE r.status = 'present'"
    )
    for row in out.itertuples():
        s = raw[raw["school_id"] == row.school_id]
        f = s.loc[s["gender"] == "F", "total"].to_numpy()
        m = s.loc[s["gender"] == "M", "total"].to_numpy()
        # scipy.stats.ttest_ind(f, m, equal_var=False): Welch's t-test
        ref = stats.ttest_ind(f, m, equal_var=False)
        ci = ref.confidence_interval(0.95)
        assert row.n == len(f) + len(m)
        assert row.gap == pytest.approx(f.mean() - m.mean(), abs=1e-9)
        assert row.p_value == pytest.approx(ref.pvalue, rel=1e-9)
        assert row.ci_low == pytest.approx(ci.low, rel=1e-9)
        assert row.ci_high == pytest.approx(ci.high, rel=1e-9)


def test_planted_gender_gap_is_recovered_at_district_level(exam_wh):
    out = group_gap(exam_wh, exam="测试监测", subject="数学", level="district", by="gender")
    assert len(out) == 1
    row = out.iloc[0]
    # build_exam adds +gender_gap/2 logits to girls and −gender_gap/2 to boys
    assert row["gap"] > 0
    assert row["ci_low"] > 0
    assert np.isfinite(row["gap_sd"])
