"""Reliability (信度): Cronbach's α, its Feldt interval, SEM and α if an item is deleted.

The formulas are in :mod:`analytics.stats.reliability`; everything is computed from the
sufficient statistics of :mod:`analytics.reduce.item_sums` (per unit × item Σx, Σx², Σxt; per
unit Σt, Σt²), so no student-level data reaches Python.

Formulas (sample variances with n − 1; the choice cancels in α):

* Cronbach (1951): α = k/(k − 1) · (1 − Σᵢ s²ᵢ / s²_T), T = Σᵢ xᵢ the total.
* SEM = s_T · √(1 − α) (classical test theory; Lord & Novick 1968).
* Feldt (1965) interval: 1 − (1 − α) · F_{1−p/2}(n − 1, (n − 1)(k − 1)) ≤ α ≤
  1 − (1 − α) · F_{p/2}(n − 1, (n − 1)(k − 1)), as in R ``psych::alpha.ci``.
* α if item i is deleted: k' = k − 1, Σ s²ⱼ (j ≠ i) = Σ s² − s²ᵢ and
  s²_{T−xᵢ} = s²_T − 2 cov(xᵢ, T) + s²ᵢ, in Cronbach's formula.
"""

from __future__ import annotations

import pandas as pd

from analytics.compat import renamed
from analytics.domain.levels import LEVEL_KEYS, check_level
from analytics.domain.params import fill_doc
from analytics.lookup import resolve_paper, school_id_of
from analytics.reduce.item_sums import item_sums
from analytics.stats.reliability import alpha_from_sums
from analytics.warehouse import Backend


@renamed(confidence="conf")
@fill_doc
def cronbach_alpha(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    school: str | int | None = None,
    conf: float = 0.95,
) -> pd.DataFrame:
    """Cronbach's α, SEM and the Feldt interval of a paper, per unit.

    Parameters
    ----------
    {paper}
    level : {'district', 'zone', 'school', 'class'}
        Default ``'school'`` (``'district'`` before 0.2.0).
    {school_population}
    conf : float
        Confidence level of the Feldt interval (``confidence`` before 0.2.0).

    Returns
    -------
    pandas.DataFrame
        One row per unit: level keys, ``n`` (present students), ``k`` (items), ``mean``,
        ``sd`` (of the total, n − 1), ``alpha``, ``sem`` (s_T √(1 − α)), ``ci_low``,
        ``ci_high`` (Feldt 1965), ``sum_item_var``.

    Notes
    -----
    α = k/(k − 1) · (1 − Σ s²ᵢ / s²_T) (Cronbach 1951); an omitted answer scores 0.
    """
    paper = resolve_paper(wh, exam, subject, grade)
    sid = school_id_of(wh, school)
    sums = item_sums(wh, paper_id=paper.paper_id, level=level, school_id=sid, sorted_cov=False)
    res = alpha_from_sums(sums, conf)
    keys = list(LEVEL_KEYS[check_level(level)])
    cols = [*keys, "n", "k", "mean", "sd", "alpha", "sem", "ci_low", "ci_high", "sum_item_var"]
    return res.reindex(columns=cols)

