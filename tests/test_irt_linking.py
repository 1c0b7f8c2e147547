"""Linking (analytics.stats.irt.linking): constants recovered on simulated forms with known A
and B, the closed forms of mean-mean and mean-sigma, and the ``mirt`` package's ``link``
(PyPI, test-only) as the oracle of Stocking–Lord and Haebara on the same parameters."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.stats.irt.calibrate import calibrate
from analytics.stats.irt.linking import Anchor, anchors_from_items, link

A_TRUE, B_TRUE = 1.25, 0.5


def forms(seed: int = 1, n: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """Base form (θ_base ~ N(0, 1)) and new form taken by a group with θ_base ~ N(B, A²):
    calibrated with θ_new ~ N(0, 1), θ_base = A·θ_new + B. Items 0–9 are common."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.8, 1.8, 25)
    b = rng.normal(0, 1, 25)
    base_items = np.r_[0:10, 10:20]
    new_items = np.r_[0:10, 15:25]

    def sit(theta: np.ndarray, idx: np.ndarray) -> np.ndarray:
        p = 1 / (1 + np.exp(-a[idx] * (theta[:, None] - b[idx])))
        return (rng.random(p.shape) < p).astype(int)

    return (sit(rng.normal(size=n), base_items),
            sit(B_TRUE + A_TRUE * rng.normal(size=n), new_items))


@pytest.fixture(scope="module")
def calibrated() -> tuple[list[Anchor], list[Anchor]]:
    x_base, x_new = forms()
    base = calibrate(x_base, "2pl", se="crossprod").item_table().iloc[:10]
    new = calibrate(x_new, "2pl", se="crossprod").item_table().iloc[:10]
    return anchors_from_items(base), anchors_from_items(new)


@pytest.mark.parametrize("method", ["stocking-lord", "haebara", "mean-sigma", "mean-mean"])
def test_constants_recovered(calibrated: tuple[list[Anchor], list[Anchor]], method: str) -> None:
    base, new = calibrated
    res = link(base, new, method, n_boot=20)
    tol = 0.08 if method in ("stocking-lord", "haebara") else 0.15
    assert pytest.approx(A_TRUE, abs=tol) == res.A
    assert pytest.approx(B_TRUE, abs=tol) == res.B
    assert 0 < res.A_se < 0.2 and 0 < res.B_se < 0.2
    # within three bootstrap SEs of the truth
    assert abs(res.A - A_TRUE) < 3 * res.A_se + 0.02


def test_mean_sigma_and_mean_mean_closed_form() -> None:
    base = [Anchor("2pl", 2, 1.0, (b,)) for b in (-1.0, 0.0, 2.0)]
    new = [Anchor("2pl", 2, 2.0, (b,)) for b in (-1.0, -0.5, 1.0)]
    ms = link(base, new, "mean-sigma", n_boot=0)
    sd_base, sd_new = np.std([-1, 0, 2], ddof=1), np.std([-1, -0.5, 1], ddof=1)
    assert pytest.approx(sd_base / sd_new) == ms.A
    assert pytest.approx(1 / 3 - ms.A * (-0.5 / 3)) == ms.B
    mm = link(base, new, "mean-mean", n_boot=0)
    assert pytest.approx(2.0) == mm.A
    assert pytest.approx(1 / 3 - 2.0 * (-0.5 / 3)) == mm.B


def test_drifting_anchor_flagged_and_dropped(calibrated: tuple[list[Anchor], list[Anchor]]
                                            ) -> None:
    base, new = calibrated
    moved = list(new)
    x = moved[3]
    moved[3] = Anchor(x.model, x.n_cat, x.a, (x.b[0] - 1.2,), x.c, x.a_se, x.b_se)
    res = link(base, moved, "stocking-lord", n_boot=0)
    assert bool(res.anchors.loc[3, "drift"])
    assert res.anchors["drift"].sum() <= 2
    kept = link(base, moved, "stocking-lord", n_boot=0, drop_drifting=True)
    assert 3 in kept.dropped
    assert pytest.approx(A_TRUE, abs=0.08) == kept.A
    assert pytest.approx(B_TRUE, abs=0.08) == kept.B


@pytest.mark.parametrize("ours, theirs", [("stocking-lord", "stocking_lord"),
                                          ("haebara", "haebara")])
def test_matches_mirt_package_link(ours: str, theirs: str) -> None:
    mirt = pytest.importorskip("mirt")
    x_base, x_new = forms(seed=2, n=3000)
    fb = mirt.fit_mirt(x_base, model="2PL", compute_standard_errors=False)
    fn = mirt.fit_mirt(x_new, model="2PL", compute_standard_errors=False)
    ref = mirt.link(fb.model, fn.model, list(range(10)), list(range(10)), method=theirs)

    def anchors(fit: object) -> list[Anchor]:
        pars = fit.model.parameters  # type: ignore[attr-defined]
        return [Anchor("2pl", 2, float(a), (float(b),))
                for a, b in zip(pars["discrimination"][:10], pars["difficulty"][:10],
                                strict=True)]

    res = link(anchors(fb), anchors(fn), ours, n_boot=0)
    assert pytest.approx(ref.constants.A, abs=1e-3) == res.A
    assert pytest.approx(ref.constants.B, abs=1e-3) == res.B


def test_concurrent_calibration_recovers_constants() -> None:
    from analytics.stats.irt.data import reduce_patterns
    from analytics.stats.irt.models import ItemSpec
    from analytics.stats.irt.multigroup import fit_multigroup
    x_base, x_new = forms(seed=3, n=4000)
    # one matrix of 30 columns: items 0-9 common, 10-19 base only, 20-29 new only
    base = np.full((len(x_base), 30), -1)
    base[:, :20] = x_base
    new = np.full((len(x_new), 30), -1)
    new[:, :10] = x_new[:, :10]
    new[:, 20:] = x_new[:, 10:]
    cats = np.full(30, 2)
    fit = fit_multigroup([reduce_patterns(base, cats), reduce_patterns(new, cats)],
                         [ItemSpec("2pl", 2)] * 30)
    assert fit.converged
    # sampling error of this seed's groups is about 0.03 (mean) and 0.03 (SD)
    assert pytest.approx(A_TRUE, abs=0.12) == fit.sd[1]
    assert pytest.approx(B_TRUE, abs=0.12) == fit.mean[1]
    # and the same scale as separate calibrations linked by Stocking–Lord on these data
    sep_b = calibrate(x_base, "2pl", se="none").item_table().iloc[:10]
    sep_n = calibrate(x_new, "2pl", se="none").item_table().iloc[:10]
    sl = link(anchors_from_items(sep_b), anchors_from_items(sep_n), n_boot=0)
    assert pytest.approx(sl.A, abs=0.03) == fit.sd[1]
    assert pytest.approx(sl.B, abs=0.03) == fit.mean[1]
