"""The warehouse-facing IRT analyses (analytics.irt) and `eqm irt …`: the responses reach the
engine through the SQL reduction (distinct patterns with counts) and give the same fit as the
engine on the student matrix; linking through the question archive's links of reused items and
through a CSV recovers known constants; DIF finds a planted item; bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from analytics import irt
from analytics.archive.bank import archive_paper
from analytics.errors import InputError
from analytics.progress import progress_index
from analytics.stats.irt.calibrate import calibrate
from analytics.warehouse import Warehouse
from eqm.cli import cli
from tests.builders import build_from_matrix

CHOICE = {"item_type": "single", "max_score": 1, "key": "A", "options": "ABCD"}


def _sim(rng: np.random.Generator, theta: np.ndarray, a: np.ndarray, b: np.ndarray
         ) -> np.ndarray:
    p = 1 / (1 + np.exp(-a * (theta[:, None] - b)))
    return (rng.random(p.shape) < p).astype(float)


@pytest.fixture
def paper(wh: Warehouse) -> tuple[Warehouse, dict, np.ndarray]:
    rng = np.random.default_rng(1)
    n = 1200
    theta = rng.normal(size=n)
    x = _sim(rng, theta, np.linspace(0.7, 1.8, 8), np.linspace(-1.2, 1.2, 8))
    x[:, 2] = np.where(np.arange(n) % 2 == 1,            # item 3 harder for girls (focal)
                       _sim(rng, theta, np.array([1.2]), np.array([1.2]))[:, 0], x[:, 2])
    points = np.digitize(theta + rng.normal(size=n), [-1.0, 0.0, 1.0]) * 2.0   # 0/2/4/6
    x = np.column_stack([x, points])
    x[rng.random(x.shape) < 0.03] = np.nan                # omissions
    items = [{"label": str(i + 1), **CHOICE} for i in range(8)]
    items.append({"label": "9", "item_type": "constructed", "max_score": 6})
    info = build_from_matrix(wh, x, items=items,
                             gender=["F" if i % 2 else "M" for i in range(n)])
    return wh, info, x


def test_items_match_the_engine_on_the_student_matrix(paper: tuple) -> None:
    wh, info, x = paper
    frame = irt.irt_items(wh, exam=info["exam"], subject="数学", model="auto")
    assert list(frame.item_label) == [str(i) for i in range(1, 10)]
    assert list(frame.model) == ["2pl"] * 8 + ["grm"]
    cats = np.where(np.isnan(x), -1, x)
    cats[:, 8] = np.where(cats[:, 8] >= 0, cats[:, 8] / 2, -1)     # scores 0/2/4/6 → 0..3
    ref = calibrate(cats.astype(int), "auto").item_table()
    np.testing.assert_allclose(frame.a, ref.a, rtol=1e-6)
    np.testing.assert_allclose(frame.loc[8, ["b_1", "b_2", "b_3"]].to_numpy(float),
                               ref.loc[8, ["b_1", "b_2", "b_3"]].to_numpy(float), rtol=1e-6)
    fit = irt.irt_fit(wh, exam=info["exam"], subject="数学", model="auto")
    assert fit.n[0] == 1200 and fit.k[0] == 9 and bool(fit.converged[0])
    # missing as 0 is another likelihood
    zero = irt.irt_fit(wh, exam=info["exam"], subject="数学", model="auto", missing="zero")
    assert zero.loglik[0] != pytest.approx(fit.loglik[0])


def test_scores_and_information(paper: tuple) -> None:
    wh, info, _ = paper
    scores = irt.irt_scores(wh, exam=info["exam"], subject="数学")
    assert len(scores) == 1200
    assert {"student_id", "theta", "se", "theta_map", "se_map"} <= set(scores.columns)
    assert abs(scores.theta.mean()) < 0.1
    inf = irt.irt_information(wh, exam=info["exam"], subject="数学")
    assert (inf["sem"] > 0).all() and inf["info"].idxmax() in range(20, 61)


def test_dif_finds_the_planted_item(paper: tuple) -> None:
    wh, info, _ = paper
    frame = irt.irt_dif(wh, exam=info["exam"], subject="数学", group="gender")
    assert list(frame.columns[:11]) == ["item_number", "item_label", "n_ref", "n_focal",
                                        "mh_d_dif", "se", "chi2", "p", "q", "ets_class",
                                        "favours"]
    row = frame.set_index("item_label").loc["3"]
    assert row["ets_class"] in ("B", "C") and row["favours"] == "reference"
    assert frame.set_index("item_label").loc["9", "ets_class"] in ("AA", "BB", "CC")
    logistic = irt.irt_dif(wh, exam=info["exam"], subject="数学", method="logistic")
    assert list(logistic.columns[:11]) == list(frame.columns[:11])
    assert logistic.set_index("item_label").loc["3", "ets_class"] in ("B", "C")


def _two_forms(wh: Warehouse) -> tuple[str, str]:
    rng = np.random.default_rng(4)
    a = rng.uniform(0.8, 1.8, 20)
    b = rng.normal(0, 1, 20)
    base_idx, new_idx = np.r_[0:8, 8:14], np.r_[0:8, 14:20]
    xb = _sim(rng, rng.normal(size=2500), a[base_idx], b[base_idx])
    xn = _sim(rng, 0.4 + 1.2 * rng.normal(size=2500), a[new_idx], b[new_idx])
    for x, idx, exam, district in ((xb, base_idx, "2025期末", "甲区"),
                                   (xn, new_idx, "2026期末", "乙区")):
        items = [{"label": f"{exam[:4]}-{j + 1}", **CHOICE} for j in range(len(idx))]
        build_from_matrix(wh, x, items=items, exam=exam, district=district)
        content = pd.DataFrame({"item_label": [it["label"] for it in items],
                                "stem_text": [f"题干 {k}" for k in idx]})
        archive_paper(wh, exam=exam, subject="数学", content=content)
    return "2026期末", "2025期末"


@pytest.mark.slow  # two archived papers, four calibrations, 400 bootstrap links: ~25 s here
def test_link_through_the_archive_and_a_csv(wh: Warehouse, tmp_path: Path) -> None:
    new, base = _two_forms(wh)
    const = irt.irt_link(wh, exam=new, base_exam=base, subject="数学")
    assert const.n_anchors[0] == 8
    assert const.A[0] == pytest.approx(1.2, abs=0.12)
    assert const.B[0] == pytest.approx(0.4, abs=0.12)
    anchors = irt.irt_anchors(wh, exam=new, base_exam=base, subject="数学")
    assert list(anchors.base_item) == [f"2025-{j}" for j in range(1, 9)]
    pairs = pd.DataFrame({"base_item": [f"2025-{j}" for j in range(1, 9)],
                          "item": [f"2026-{j}" for j in range(1, 9)]})
    csv = tmp_path / "anchors.csv"
    pairs.to_csv(csv, index=False)
    with pytest.raises(InputError):
        irt.irt_link(wh, exam=new, base_exam=base, subject="数学",
                     anchors=pairs.rename(columns={"item": "new_item"}))
    conc = irt.irt_link(wh, exam=new, base_exam=base, subject="数学", method="concurrent")
    assert conc.method[0] == "concurrent" and conc.n_anchors[0] == 8
    assert pytest.approx(const.A[0], abs=0.05) == conc.A[0]
    assert pytest.approx(const.B[0], abs=0.05) == conc.B[0]
    # the new group's scores on the base scale: mean ≈ B = 0.4, SD ≈ A = 1.2
    own = irt.irt_scores(wh, exam=new, subject="数学")
    linked = irt.irt_scores(wh, exam=new, subject="数学", base_exam=base)
    assert set(linked.scale) == {base}
    assert linked.theta.mean() == pytest.approx(0.4, abs=0.12)
    np.testing.assert_allclose(linked.theta, const.A[0] * own.theta + const.B[0], rtol=1e-4,
                               atol=1e-4)
    # cross-year progress on the IRT scale: the district rose by about B = 0.4
    prog = progress_index(wh, exams=[base, new], subject="数学", level="zone", scale="irt")
    assert len(prog) == 2            # the builder puts each form's students in one zone
    first = prog[prog.exam == base]
    later = prog[prog.exam == new]
    mean_first = float((first.mean_z * first.n).sum() / first.n.sum())
    mean_later = float((later.mean_z * later.n).sum() / later.n.sum())
    assert mean_later - mean_first == pytest.approx(0.4, abs=0.15)
    wh.close()
    res = CliRunner().invoke(cli, ["--db", str(wh.path), "irt", "link", "--exam", new,
                                   "--base-exam", base, "--subject", "数学", "--anchors",
                                   str(csv), "--method", "haebara", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out[0]["A"] == pytest.approx(1.2, abs=0.12) and out[0]["method"] == "haebara"


def test_cli_items_fit_scores_info_dif(paper: tuple) -> None:
    wh, info, _ = paper
    wh.close()
    runner = CliRunner()
    base = ["--db", str(wh.path), "irt"]
    paper_args = ["--exam", info["exam"], "--subject", "数学"]
    for cmd in ("items", "fit", "info", "dif"):
        res = runner.invoke(cli, [*base, cmd, *paper_args, "--format", "csv"])
        assert res.exit_code == 0, res.output
    res = runner.invoke(cli, [*base, "items", *paper_args, "--model", "rasch", "--format",
                              "json"])
    rows = json.loads(res.output)
    assert len({round(r["a"], 9) for r in rows[:8]}) == 1      # one shared slope
    assert rows[8]["model"] == "gpcm"
    res = runner.invoke(cli, [*base, "scores", *paper_args])
    assert res.exit_code == 0
    res = runner.invoke(cli, [*base, "items", *paper_args, "--model", "auto", "--save"])
    assert res.exit_code == 0, res.output
    with Warehouse(wh.path) as again:
        kept = again.df("SELECT * FROM irt_parameters ORDER BY item_number")
    assert len(kept) == 9 and set(kept.calibration) == {"auto/missing"}
    # b_1 … b_3 of the 0/2/4/6 item as a JSON list; dichotomous items have none
    assert len(json.loads(kept.thresholds[8])) == 3 and kept.thresholds[:8].isna().all()
    assert kept.a.notna().all() and (kept.model[:8] == "2pl").all()
    res = runner.invoke(cli, [*base, "items", "--exam", "不存在", "--subject", "数学"])
    assert res.exit_code == 2
