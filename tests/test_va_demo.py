"""Value-added and SGP on the demo district: the planted school effects (demo_truths) are found.

Builds a small demo (one grade, one subject) through the real importers, so it takes a while.
"""

from __future__ import annotations

import pytest
from scipy import stats

from analytics.growth import growth_summary
from analytics.value_added import value_added

ENTRY, MONITOR = "2025学年第一学期期末", "2026年区级质量监测"


@pytest.mark.slow
def test_demo_planted_school_effects_are_recovered(wh, tmp_path):
    from analytics.demo import build_demo

    build_demo(wh, students=2500, seed=7, subjects=["数学"], grades=[9], out_dir=tmp_path,
               progress=False)
    truth = wh.df("SELECT school, value FROM demo_truths WHERE kind = 'school_effect' "
                  "AND subject = '数学' AND grade = 9")
    assert len(truth) >= 3
    va = value_added(wh, exam=MONITOR, prior_exam=ENTRY, subject="数学", grade=9)
    m = va.merge(truth, left_on="school_name", right_on="school")
    # every planted effect is found with the right sign, and ranks agree
    assert (m["va"] * m["value"] > 0).all(), m[["school_name", "va", "se", "value"]]
    assert stats.spearmanr(m["va"], m["value"])[0] >= 0.5
    strong = m[m["value"].abs() >= 0.3]
    expect = strong["value"].gt(0).map({True: "above", False: "below"})
    assert (strong["category"] == expect).all()
    assert va["n_missing_prior"].sum() >= 0
    g = growth_summary(wh, exam=MONITOR, prior_exam=ENTRY, subject="数学", grade=9)
    mg = g.merge(truth, left_on="school_name", right_on="school")
    assert ((mg["median_sgp"] - 50) * mg["value"] > 0).all()
