"""The demo district's planted weak knowledge point and attractive distractor are found.

A small demo (4,000 students, grade 9, 数学 and 科学; about 15 s to build) is generated and
imported through the public importers; the truths are read from ``demo_truths``, never
hard-coded.
"""

from __future__ import annotations

import pytest

from analytics.archive import archive_paper, paper_archive
from analytics.hotspots import district_weak_points, error_hotspots
from analytics.warehouse import Warehouse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from analytics.demo import build_demo

    root = tmp_path_factory.mktemp("demo")
    wh = Warehouse(root / "demo.duckdb")
    build_demo(wh, students=4000, subjects=("数学", "科学"), grades=(9,),
               out_dir=root / "files", progress=False)
    yield wh
    wh.close()


def test_planted_weak_knowledge_point_found(demo):
    truths = demo.df("SELECT * FROM demo_truths WHERE kind = 'weak_knowledge_point'")
    assert len(truths) >= 2
    (exam, subject, grade, kp), = truths[["exam", "subject", "grade",
                                          "knowledge_point"]].drop_duplicates().itertuples(
        index=False, name=None)
    planted = set(truths["school"])
    k = error_hotspots(demo, exam=exam, subject=subject, grade=int(grade),
                       grain="knowledge_point", relative=True)
    on_kp = k[k["knowledge_point"] == kp].sort_values("gap")
    # The planted schools have the most negative relative gaps on the point …
    assert set(on_kp["school_name"].iloc[:len(planted)]) == planted
    # … and (−0.8 logits, schools of 60–500 students) most of them are flagged.
    flagged = set(on_kp.loc[on_kp["flag"], "school_name"])
    assert len(flagged & planted) >= len(planted) - 1
    # Across every school × knowledge point, flags are mostly the planted ones.
    all_flags = set(zip(k.loc[k["flag"], "school_name"], k.loc[k["flag"], "knowledge_point"],
                        strict=True))
    assert len(all_flags - {(s, kp) for s in planted}) <= 2


def test_planted_attractive_distractor_found(demo):
    t = demo.df("SELECT * FROM demo_truths WHERE kind = 'attractive_distractor'").iloc[0]
    d = district_weak_points(demo, exam=t["exam"], subject=t["subject"], grade=int(t["grade"]))
    row = d[d["item_label"] == t["item_label"]].iloc[0]
    assert row["wrong_option"] == t["option"]
    archive_paper(demo, exam=t["exam"], subject=t["subject"], grade=int(t["grade"]))
    arch = paper_archive(demo, exam=t["exam"], subject=t["subject"], grade=int(t["grade"]))
    item = arch[arch["item_label"] == t["item_label"]].iloc[0]
    assert item["wrong_option_1"] == t["option"]
    # it pulls more than any other distractor does on average
    others = arch["wrong_option_1_share"].drop(item.name).dropna()
    assert item["wrong_option_1_share"] > others.median()
