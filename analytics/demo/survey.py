"""The demo's questionnaire: the answers of each grade's students (its codebook:
:func:`analytics.demo.district.survey_codebook`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analytics.demo import names as N
from analytics.demo.base import _rng

if TYPE_CHECKING:
    from analytics.demo.district import DemoDistrict


def _survey(dist: DemoDistrict, rows: np.ndarray, grade: int) -> pd.DataFrame:
    """The questionnaire, wide: 考号 then one column per question (respondents only, ~97%)."""
    rng = _rng(dist.seed, "survey", grade)
    st = dist.students.iloc[rows]
    n = len(rows)
    school_no = st["school_no"].to_numpy()
    ses = st["ses"].to_numpy()
    urban = (dist.schools["locality"].to_numpy()[school_no] == "urban").astype(float)
    dims = ("学习动力", "学业负担", "师生关系", "教学方式", "身心健康", "品德行为")
    school_eff = {d: rng.normal(0, 0.3, len(dist.schools)) for d in dims}
    general = _rng(dist.seed, "general", grade).normal(0, 1, n)
    hi = 1.0 if grade >= 7 else 0.0
    latent = {
        "学习动力": 0.3 * general + 0.15 * ses,
        "学业负担": 0.25 * urban + 0.3 * hi + 0.1 * ses,
        "师生关系": 0.1 * ses - 0.15 * hi,
        "教学方式": 0.15 * urban,
        "身心健康": 0.1 * ses - 0.2 * hi,
        "品德行为": 0.1 * general,
    }
    for d in dims:
        latent[d] = latent[d] + school_eff[d][school_no] + rng.normal(0, 1, n)
    out: dict[str, Any] = {"考号": st["student_id"].to_numpy()}
    # 5 ordered categories, GRM thresholds skewed to agreement (favourable answers common).
    thresholds = np.array([-2.6, -1.4, -0.2, 1.1])
    for code, dim, _text, reverse in N.SURVEY_LIKERT:
        # 学业负担 items: agreeing means more burden, and agreement is rarer
        z = 1.6 * latent[dim] + rng.logistic(0, 1, n) - (1.5 if dim == "学业负担" else 0.0)
        val = 1 + (z[:, None] > 1.6 * thresholds[None, :]).sum(axis=1)
        if reverse:
            val = 6 - val
        v = pd.array(val.astype("int8"), dtype="Int8")
        v[rng.random(n) < 0.01] = pd.NA
        out[code] = v
    burden = latent["学业负担"]
    sleep = (7.6 if hi else 9.3) - 0.35 * burden + rng.normal(0, 0.5, n)
    homework = (2.3 if hi else 1.1) + 0.35 * burden + rng.normal(0, 0.4, n)
    tut = 1.0 + 1.2 * ses + 1.0 * urban + 0.8 * hi + rng.normal(0, 2.0, n)
    numeric = {"睡眠时间": np.clip(sleep, 5, 11), "作业时间": np.clip(homework, 0, 6),
               "校外辅导时间": np.clip(tut, 0, 16)}
    for code, val in numeric.items():
        v = np.round(val * 2) / 2
        v[rng.random(n) < 0.015] = np.nan
        out[code] = v
    frame = pd.DataFrame(out)
    respond = rng.random(n) < 0.97
    return frame.loc[respond].reset_index(drop=True)
