from __future__ import annotations

import pytest

from analytics.knowledge import student_knowledge_rates, student_totals
from tests.builders import build_exam


def test_knowledge_rates_sum_back_to_item_scores(wh):
    build_exam(wh, n_schools=2, students_per_school=20, seed=3)
    kr = student_knowledge_rates(wh, exam="测试监测", subject="数学")
    assert list(kr.columns) == ["student_key", "knowledge_point", "n_items", "score",
                                "max_score", "score_rate"]
    # DEFAULT_ITEMS: 函数 is on items 5 (max 4) and 6 (max 10); 方程 on 3, 4 and 6 (3+2+10)
    fx = kr[kr["knowledge_point"] == "函数"]
    assert set(fx["max_score"]) == {14.0}
    eq = kr[kr["knowledge_point"] == "方程"]
    assert set(eq["max_score"]) == {15.0}
    # hand check for one student: the rate equals the sum over the raw responses
    sk = int(fx["student_key"].iloc[0])
    raw = wh.df("SELECT i.label, coalesce(r.score, 0) AS s FROM responses r "
                "JOIN items i USING (item_id) WHERE r.student_key = $k", {"k": sk})
    by_label = dict(zip(raw["label"], raw["s"], strict=True))
    assert fx["score_rate"].iloc[0] == pytest.approx((by_label["5"] + by_label["6"]) / 14)
    totals = student_totals(wh, exam="测试监测", subject="数学")
    present = totals[totals["status"] == "present"]
    assert present["total"].notna().all()
    assert totals.loc[totals["status"] != "present", "total"].isna().all()
