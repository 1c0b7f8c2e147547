"""Item response theory on a paper (项目反应理论): calibration, person scores, information, DIF,
linking to an earlier paper's scale, and the parameters kept in the question archive.

The SQL reduction (:mod:`analytics.reduce.irt`) hands over each distinct response pattern once
with its count; the engine (:mod:`analytics.stats.irt`) fits by marginal maximum likelihood
(EM, θ ~ N(0, 1), 21 Gauss–Hermite nodes). Parameterised as R's mirt reports it, logistic
**without** the 1.702: P(x = 1 | θ) = 1 / (1 + exp(−a(θ − b))) (c for the 3PL; b_1 … for
polytomous items: GRM thresholds or GPCM steps).

Missing answers (score NULL) are missing by default — they drop out of the likelihood;
``missing='zero'`` scores them 0. Items every student scored alike are left out (no
information; listed with ``model`` empty). An item's categories are its observed scores in
rank order (see :mod:`analytics.reduce.irt`).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from analytics.domain.params import fill_doc
from analytics.errors import InputError, NotFoundError
from analytics.lookup import resolve_paper
from analytics.reduce.irt import (
    GROUPS,
    MISSING,
    common_items_sql,
    item_categories_sql,
    paper_patterns,
    pattern_matrix,
    student_patterns_sql,
)
from analytics.stats.irt.calibrate import CHOICES, Calibration, calibrate
from analytics.stats.irt.dif import dif
from analytics.stats.irt.linking import METHODS, anchors_from_items, link
from analytics.warehouse import Backend


def _check(model: str, missing: str) -> None:
    if model not in CHOICES:
        raise InputError(
            f"模型必须是 {', '.join(CHOICES)} 之一 / model must be one of {', '.join(CHOICES)}")
    if missing not in MISSING:
        raise InputError(
            f"缺答处理必须是 {'/'.join(MISSING)} / missing must be one of {', '.join(MISSING)}")


def _items(wh: Backend, paper_id: int, missing: str) -> pd.DataFrame:
    items = wh.df(item_categories_sql(missing), {"paper_id": paper_id})
    if items.empty:
        raise NotFoundError("这份试卷没有双向细目表(小题)/ the paper has no items "
                            "(import its specification table first)")
    return items


def _calibration(wh: Backend, exam: str, subject: str, grade: int | None, model: str,
                 missing: str, se: str = "auto") -> tuple[Calibration, pd.DataFrame, Any]:
    _check(model, missing)
    paper = resolve_paper(wh, exam, subject, grade)
    items = _items(wh, paper.paper_id, missing)

    def fit() -> tuple[Calibration, pd.DataFrame]:
        x, n, _ = paper_patterns(wh, paper.paper_id, len(items), missing)
        if n.sum() < 2:
            raise NotFoundError("这份试卷没有作答数据 / the paper has no responses")
        use = (items["n_cat"] >= 2).to_numpy()
        if use.sum() < 2:
            raise InputError("能区分学生的小题不足两道 / fewer than two items separate "
                                    "the students; IRT needs at least two")
        cal = calibrate(x[:, use], model, weights=n,
                        n_cat=items.loc[use, "n_cat"].to_numpy(), se=se,
                        items=items.loc[use, "item_label"].astype(str).tolist())
        return cal, items

    cal, items = fit()
    return cal, items, paper


def _with_item_keys(frame: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    keys = items[["item_number", "item_label", "item_type", "max_score"]].astype(
        {"item_label": str})
    out = keys.merge(frame.rename(columns={"item": "item_label"}), on="item_label", how="left")
    return out.sort_values("item_number").reset_index(drop=True)


@fill_doc
def irt_items(wh: Backend, *, exam: str, subject: str, grade: int | None = None,
              model: str = "2pl", missing: str = "missing") -> pd.DataFrame:
    """IRT item parameters of a paper, as mirt reports them (logistic, no 1.702).

    Parameters
    ----------
    {paper}
    model : {'rasch', '2pl', '3pl', 'grm', 'gpcm', 'auto'}
        For dichotomous items; polytomous items get GRM (under 2pl, 3pl, grm, auto) or GPCM
        (under gpcm, rasch). The Rasch model shares one slope a (θ ~ N(0, 1)).
    missing : {'missing', 'zero'}
        A NULL score is missing (default: drops out of the likelihood) or 0.

    Returns
    -------
    pandas.DataFrame
        One row per item: item_number, item_label, item_type, max_score, model, n_cat, n
        (students who answered), a, b (dichotomous), c (3PL; else 0), b_1 … (polytomous), a_se,
        b_se, c_se, b_1_se …, and the item fit: s_x2, s_x2_df, s_x2_p (Orlando & Thissen's
        S-X² over summed scores, complete patterns), infit, outfit (mean squares with the EAP
        θ̂); items every student scored alike have no parameters.

    Notes
    -----
    P(x = 1 | θ) = 1 / (1 + exp(−a(θ − b))); GRM P(x ≥ k) = 1/(1 + exp(−a(θ − b_k))); GPCM
    P(x = k) ∝ exp(Σ_{v ≤ k} a(θ − b_v)). Marginal ML by EM (Bock & Aitkin 1981); SEs from the
    observed information (Oakes) or, for large data, the cross-product of the patterns' scores
    (see ``irt_fit``'s ``se_method``).
    """
    cal, items, _ = _calibration(wh, exam, subject, grade, model, missing)
    table = cal.item_table().merge(cal.item_fit(), on="item", how="left")
    return _with_item_keys(table, items)


@fill_doc
def irt_fit(wh: Backend, *, exam: str, subject: str, grade: int | None = None,
            model: str = "2pl", missing: str = "missing") -> pd.DataFrame:
    """The fit of a paper's IRT calibration.

    Parameters
    ----------
    {paper}
    model : {'rasch', '2pl', '3pl', 'grm', 'gpcm', 'auto'}
        As in :func:`irt_items` (default ``'2pl'``).
    missing : {'missing', 'zero'}
        A NULL score is missing (default) or 0.

    Returns
    -------
    pandas.DataFrame
        One row: model, n (students), k (items), n_par (free parameters), n_patterns
        (distinct response patterns), loglik, aic, bic, iterations, converged, se_method
        ('oakes' observed information or 'crossprod').
    """
    cal, _, _ = _calibration(wh, exam, subject, grade, model, missing)
    out = cal.fit_table()
    out.insert(0, "model", model)
    return out


@fill_doc
def irt_scores(wh: Backend, *, exam: str, subject: str, grade: int | None = None,
               model: str = "2pl", missing: str = "missing", base_exam: str | None = None,
               method: str = "stocking-lord", anchors: pd.DataFrame | None = None
               ) -> pd.DataFrame:
    """Person scores on the paper's θ scale (mean 0, SD 1 in this population), or on
    ``base_exam``'s scale through the common items (θ_base = A·θ + B, SE × A; see
    :func:`irt_link` for ``method`` and ``anchors``).

    Parameters
    ----------
    {paper}
    model : {'rasch', '2pl', '3pl', 'grm', 'gpcm', 'auto'}
        As in :func:`irt_items` (default ``'2pl'``).
    missing : {'missing', 'zero'}
        A NULL score is missing (default) or 0.
    base_exam : str, optional
        Put θ on this exam's scale (its paper of the same grade) through the common items.
    method : str
        Linking method when ``base_exam`` is given (see :func:`irt_link`).
    anchors : DataFrame with columns base_item, item, optional
        The common items (default: the archive's links of reused items).

    Returns
    -------
    pandas.DataFrame
        One row per present student: student_key, student_id, school_id, class_id, theta
        (EAP), se (posterior SD), theta_map, se_map (MAP with the N(0, 1) prior, SE from the
        curvature), theta_wle, se_wle (Warm's weighted likelihood, SE I(θ̂)^(−1/2)), scale
        (the exam whose scale θ is on).
    """
    cal, items, paper = _calibration(wh, exam, subject, grade, model, missing)
    table = wh.arrow(student_patterns_sql(missing), {"paper_id": paper.paper_id})
    x = pattern_matrix(table, len(items))[:, (items["n_cat"] >= 2).to_numpy()]
    people = table.drop_columns(["pattern"]).to_pandas()
    scored = calibrate_scores(cal, x)
    out = pd.concat([people.reset_index(drop=True), scored], axis=1)
    out["scale"] = exam
    if base_exam is not None:
        res, _ = _link(wh, exam, base_exam, subject, grade, method, anchors, False, model,
                       missing, n_boot=0)
        for col in ("theta", "theta_map", "theta_wle"):
            out[col] = res.A * out[col] + res.B
        for col in ("se", "se_map", "se_wle"):
            out[col] = res.A * out[col]
        out["scale"] = base_exam
    return out


def calibrate_scores(cal: Calibration, x: np.ndarray) -> pd.DataFrame:
    """Scores of the rows of ``x`` under the calibration ``cal`` (same items)."""
    from analytics.stats.irt.data import reduce_patterns
    pat = reduce_patterns(x, cal.patterns.n_cat)
    return Calibration(patterns=pat, fit=cal.fit, items=cal.items).person_scores()


@fill_doc
def irt_information(wh: Backend, *, exam: str, subject: str, grade: int | None = None,
                    model: str = "2pl", missing: str = "missing") -> pd.DataFrame:
    """Test information, conditional SEM and the test characteristic curve on θ ∈ [−4, 4].

    Parameters
    ----------
    {paper}
    model : {'rasch', '2pl', '3pl', 'grm', 'gpcm', 'auto'}
        As in :func:`irt_items` (default ``'2pl'``).
    missing : {'missing', 'zero'}
        A NULL score is missing (default) or 0.

    Returns
    -------
    pandas.DataFrame
        One row per θ (81 points): theta, info (Σ_j I_j(θ)), sem (1/√I(θ)), expected_score
        (in categories: Σ_j E(x_j | θ)).
    """
    cal, _, _ = _calibration(wh, exam, subject, grade, model, missing)
    return cal.information()


@fill_doc
def irt_dif(wh: Backend, *, exam: str, subject: str, grade: int | None = None,
            group: str = "gender", method: str = "mh", purify: bool = True,
            missing: str = "missing") -> pd.DataFrame:
    """Differential item functioning between two groups of equal total score.

    Parameters
    ----------
    {paper}
    group : {'gender', 'hukou', 'locality', 'ownership'}
        Reference / focal: M / F, local / nonlocal (本地 / 外地), urban / rural, public / private.
    method : {'mh', 'logistic'}
        Mantel–Haenszel (polytomous items: standardised mean difference) or logistic
        regression (Nagelkerke ΔR², bands of Jodoin & Gierl).
    purify : bool
        Two-stage purification of the matching score (default True).
    missing : {'missing', 'zero'}
        Whether a NULL score is missing or 0 for the item itself; the matching total counts
        it 0 either way.

    Returns
    -------
    pandas.DataFrame
        One row per item: item_number, item_label, n_ref, n_focal, mh_d_dif, se, chi2, p, q
        (BH), ets_class (A/B/C; AA/BB/CC for polytomous items), favours ('reference'/'focal'),
        plus alpha_mh, smd, sd, delta_r2, purified, method, group.

    Notes
    -----
    MH D-DIF = −2.35 ln α_MH over total-score strata, SE by Robins–Breslow–Greenland,
    continuity-corrected χ²; ETS: A if |D| < 1 or not significant, C if |D| ≥ 1.5 and
    significantly above 1, B otherwise. Formulas in :mod:`analytics.stats.irt.dif`. Scores are
    item scores (categories in rank order); missing answers count 0 in the matching total.
    """
    if group not in GROUPS:
        raise InputError(f"分组必须是 {', '.join(GROUPS)} 之一 / group must be one of "
                                f"{', '.join(GROUPS)}")
    if method not in ("mh", "logistic"):
        raise InputError("方法必须是 mh 或 logistic / method must be mh or logistic")
    paper = resolve_paper(wh, exam, subject, grade)
    items = _items(wh, paper.paper_id, missing)
    x, n, grp = paper_patterns(wh, paper.paper_id, len(items), missing, group)
    assert grp is not None
    reps = n.astype(np.int64)
    xs = np.repeat(x.astype(float), reps, axis=0)
    xs[xs < 0] = np.nan
    g = np.repeat(grp, reps)
    res = dif(xs, g, max_score=(items["n_cat"].to_numpy() - 1).astype(float), method=method,
              purify=purify)
    res["item_label"] = items["item_label"].astype(str).to_numpy()[res["item"]]
    out = _with_item_keys(res.drop(columns=["item"]), items)
    out["method"], out["group"] = method, group
    cols = ["item_number", "item_label", "n_ref", "n_focal", "mh_d_dif", "se", "chi2", "p", "q",
            "ets_class", "favours"]
    return out.reindex(columns=cols + [c for c in out.columns if c not in cols])


def _anchor_pairs(wh: Backend, base_id: int, new_id: int,
                  anchors: pd.DataFrame | None) -> pd.DataFrame:
    if anchors is not None:
        missing_cols = {"base_item", "item"} - set(anchors.columns)
        if missing_cols:
            raise InputError(
                f"锚题文件缺少列 {sorted(missing_cols)} / the anchors file lacks the columns "
                f"{sorted(missing_cols)} (base_item, item)")
        return anchors[["base_item", "item"]].astype(str)
    pairs = wh.df(common_items_sql(), {"base": base_id, "new": new_id})
    return pairs.astype(str)


def _link(wh: Backend, exam: str, base_exam: str, subject: str, grade: int | None,
          method: str, anchors: pd.DataFrame | None, drop_drifting: bool, model: str,
          missing: str, n_boot: int = 200) -> tuple[Any, pd.DataFrame]:
    if method not in (*METHODS, "concurrent"):
        raise InputError(f"链接方法必须是 {', '.join(METHODS)}, concurrent 之一 / method must be "
                         f"one of {', '.join(METHODS)}, concurrent")
    if method == "concurrent":
        return _concurrent(wh, exam, base_exam, subject, grade, anchors, model, missing)
    new_cal, _, new_paper = _calibration(wh, exam, subject, grade, model, missing)
    # the base paper of the same grade (a paper of another grade is not a common-item design)
    base_cal, _, base_paper = _calibration(wh, base_exam, subject, new_paper.grade, model,
                                           missing)
    pairs = _anchor_pairs(wh, base_paper.paper_id, new_paper.paper_id, anchors)
    bt = base_cal.item_table().set_index("item")
    nt = new_cal.item_table().set_index("item")
    pairs = pairs[pairs["base_item"].isin(bt.index) & pairs["item"].isin(nt.index)]
    if len(pairs) < 2:
        raise _too_few_anchors()
    base = anchors_from_items(bt.loc[pairs["base_item"]].reset_index())
    new = anchors_from_items(nt.loc[pairs["item"]].reset_index())
    res = link(base, new, method, drop_drifting=drop_drifting, n_boot=n_boot)
    table = pd.concat([pairs.reset_index(drop=True), res.anchors], axis=1)
    return res, table


def _too_few_anchors() -> InputError:
    return InputError(
        "两份试卷的共同题(锚题)不足两道:请在命题档案中关联重复使用的题,或用 --anchors 给出 "
        "base_item,item 对照表 / fewer than two common items: link reused items in the "
        "question archive or give a CSV of base_item,item pairs with --anchors")


def _concurrent(wh: Backend, exam: str, base_exam: str, subject: str, grade: int | None,
                anchors: pd.DataFrame | None, model: str, missing: str
                ) -> tuple[Any, pd.DataFrame]:
    """Concurrent calibration of both papers (:mod:`analytics.stats.irt.multigroup`)."""
    from analytics.stats.irt.calibrate import item_specs
    from analytics.stats.irt.data import reduce_patterns
    from analytics.stats.irt.linking import Link
    from analytics.stats.irt.multigroup import fit_multigroup
    _check(model, missing)
    new_paper = resolve_paper(wh, exam, subject, grade)
    base_paper = resolve_paper(wh, base_exam, subject, new_paper.grade)
    ib = _items(wh, base_paper.paper_id, missing).astype({"item_label": str})
    inew = _items(wh, new_paper.paper_id, missing).astype({"item_label": str})
    pairs = _anchor_pairs(wh, base_paper.paper_id, new_paper.paper_id, anchors)
    kb = dict(zip(ib.item_label, ib.n_cat, strict=True))
    kn = dict(zip(inew.item_label, inew.n_cat, strict=True))
    pairs = pairs[[kb.get(b, 0) >= 2 and kb.get(b) == kn.get(n)
                   for b, n in zip(pairs.base_item, pairs.item, strict=True)]]
    if len(pairs) < 2:
        raise _too_few_anchors()
    anchor_of = dict(zip(pairs.item, pairs.base_item, strict=True))
    cols = [f"base:{lab}" for lab in ib.item_label[ib.n_cat >= 2]]
    cols += [f"new:{lab}" for lab in inew.item_label[inew.n_cat >= 2] if lab not in anchor_of]
    pos = {c: i for i, c in enumerate(cols)}
    cats = np.array([kb[c[5:]] if c.startswith("base:") else kn[c[4:]] for c in cols])
    pats = []
    for paper, items, key in ((base_paper, ib, "base"), (new_paper, inew, "new")):
        x, n, _ = paper_patterns(wh, paper.paper_id, len(items), missing)
        full = np.full((x.shape[0], len(cols)), -1, dtype=np.int64)
        for j, lab in enumerate(items.item_label):
            col = (f"base:{anchor_of[lab]}" if key == "new" and lab in anchor_of
                   else f"{key}:{lab}")
            if col in pos:
                full[:, pos[col]] = x[:, j]
        pats.append(reduce_patterns(full, cats, n))
    fit = fit_multigroup(pats, item_specs(cats, model))
    table = pairs.reset_index(drop=True).assign(used=True)
    res = Link(method="concurrent", A=fit.sd[1], B=fit.mean[1], A_se=np.nan, B_se=np.nan,
               anchors=table, dropped=[])
    return res, table


def irt_link(wh: Backend, *, exam: str, base_exam: str, subject: str, grade: int | None = None,
             method: str = "stocking-lord", anchors: pd.DataFrame | None = None,
             drop_drifting: bool = False, model: str = "2pl", missing: str = "missing"
             ) -> pd.DataFrame:
    """Linking constants putting ``exam``'s θ on ``base_exam``'s scale: θ_base = A·θ_new + B.

    Parameters
    ----------
    method : {'stocking-lord', 'haebara', 'mean-sigma', 'mean-mean', 'concurrent'}
        Separate calibrations linked through the anchors' parameters, or ``concurrent``: one
        calibration of both papers' students, the anchors sharing parameters, the new group's
        θ ~ N(B, A²) on the base scale (no SEs; :mod:`analytics.stats.irt.multigroup`).
    anchors : DataFrame with columns base_item, item (labels), optional
        Default: the items the question archive links (the same bank item on both papers).
    drop_drifting : bool
        Link again without the anchors flagged as drifting (robust z of the displacement
        beyond 1.645).

    Returns
    -------
    pandas.DataFrame
        One row: method, A, B, A_se, B_se (parametric bootstrap), n_anchors, n_dropped.
    """
    res, _ = _link(wh, exam, base_exam, subject, grade, method, anchors, drop_drifting, model,
                   missing)
    return res.constants()


def irt_anchors(wh: Backend, *, exam: str, base_exam: str, subject: str,
                grade: int | None = None, method: str = "stocking-lord",
                anchors: pd.DataFrame | None = None, drop_drifting: bool = False,
                model: str = "2pl", missing: str = "missing") -> pd.DataFrame:
    """The common items of :func:`irt_link` and their drift (parameters as there).

    Returns
    -------
    pandas.DataFrame
        One row per anchor: base_item, item (labels), a_base, b_base, a_new, b_new (the new
        form's on the base scale; b the mean over thresholds), displacement (b_new − b_base),
        robust_z, drift (|robust_z| > 1.645), used (in the final constants).
    """
    _, table = _link(wh, exam, base_exam, subject, grade, method, anchors, drop_drifting, model,
                     missing, n_boot=0)
    return table


def _json_list(values: pd.Series) -> str | None:
    vals = [float(v) for v in values if pd.notna(v)]
    return json.dumps(vals) if vals else None


def save_irt_parameters(wh: Backend, *, exam: str, subject: str, grade: int | None = None,
                        model: str = "2pl", missing: str = "missing") -> pd.DataFrame:
    """Calibrate the paper and keep its parameters in ``irt_parameters`` (migration 009),
    replacing this paper's rows of the same calibration (``'<model>/<missing>'``).

    Returns
    -------
    pandas.DataFrame
        The rows written: paper_id, item_label, calibration, item_number, bank_item_id, model,
        n_cat, n, a, b, c, thresholds, a_se, b_se, c_se, threshold_ses, loglik.
    """
    cal, items, paper = _calibration(wh, exam, subject, grade, model, missing)
    table = _with_item_keys(cal.item_table(), items).dropna(subset=["model"])
    steps = [c for c in table.columns if c.startswith("b_") and not c.endswith("_se")]
    bank = wh.df("SELECT item_label, bank_item_id FROM bank_administrations "
                 "WHERE paper_id = $paper_id", {"paper_id": paper.paper_id})
    bank_of = dict(zip(bank["item_label"].astype(str), bank["bank_item_id"], strict=True))
    calibration = f"{model}/{missing}"
    rows = pd.DataFrame({
        "paper_id": paper.paper_id, "item_label": table["item_label"].astype(str),
        "calibration": calibration, "item_number": table["item_number"].astype(int),
        "bank_item_id": [bank_of.get(str(x)) for x in table["item_label"]],
        "model": table["model"], "n_cat": table["n_cat"].astype(int),
        "n": table["n"].astype(int), "a": table["a"], "b": table["b"], "c": table["c"],
        "thresholds": [_json_list(r[steps]) for _, r in table.iterrows()],
        "a_se": table["a_se"], "b_se": table["b_se"], "c_se": table["c_se"],
        "threshold_ses": [_json_list(r[[f"{s}_se" for s in steps]]) for _, r in
                          table.iterrows()],
        "scale_paper_id": None, "link_a": None, "link_b": None,
        "loglik": float(cal.fit.loglik)})
    rows["bank_item_id"] = rows["bank_item_id"].astype("Int64")
    for col in ("scale_paper_id", "link_a", "link_b"):
        rows[col] = rows[col].astype("Float64") if col != "scale_paper_id" else rows[col].astype(
            "Int64")
    with wh.transaction():
        wh.execute("DELETE FROM irt_parameters WHERE paper_id = $paper_id AND "
                   "calibration = $calibration",
                   {"paper_id": paper.paper_id, "calibration": calibration})
        wh.insert_df("irt_parameters", rows)
    return rows.reset_index(drop=True)
