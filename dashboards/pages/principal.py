"""Principal (校长): own school only — against district and zone, classes, weak items and
knowledge points with the common wrong answers, value added in plain words, 学困生 and 临界生,
a printable report and an Excel export. Research officers may open it for any school; student
lists are for the school's principal alone (enforced by the service)."""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, callback, dcc, html

from analytics.domain.bands import DEFAULT_BORDERLINE, LOW_GROWTH_SGP, STRUGGLING_SHARE
from analytics.reports.views import classes_equal_school
from analytics.users import User
from dashboards import figures, ids, report
from dashboards.components import (
    band_names,
    bands_long,
    comparison_notes,
    graph,
    guarded,
    how_to_read,
    message,
    on_filters,
    page,
    section,
    table,
    totals_only,
)
from dashboards.i18n import code_label, t
from dashboards.service import AccessDenied, Filters, NotAvailable, Service

dash.register_page(__name__, path="/principal", title="本校报告", name="principal")

WEAK_ITEM_COLS = ["item_label", "knowledge_points", "unit_rate", "district_rate", "gap",
                  "wrong_option", "wrong_option_share", "wrong_option_district_share", "flag"]
WEAK_KP_COLS = ["knowledge_point", "unit_rate", "district_rate", "gap", "worst_item_label",
                "wrong_option", "wrong_option_share", "flag"]


class NotInGrade(Exception):
    """The school has no class of the grade shown (a primary school on a grade-9 paper)."""


def _school(svc: Service, user: User, f: Filters) -> int:
    """The school shown: the page's roles only, and a school chosen (an officer must pick one
    first; a principal has theirs). Refusals say which of the two is missing; a school
    without a class in the grade raises :class:`NotInGrade` (the page says so)."""
    svc.require(user, "principal")
    school = svc.school_of(user, f)
    f = svc.scope(user, f)
    tree = svc.tree(user)
    mine = tree[tree["school_id"] == school]
    if f.grade is not None and not mine.empty and not (mine["grade"] == f.grade).any():
        raise NotInGrade(str(mine["school_name"].iloc[0]))
    return school


def _class_name(svc: Service, user: User, f: Filters) -> str | None:
    if f.class_id is None:
        return None
    tree = svc.tree(user)
    hit = tree.loc[tree["class_id"] == f.class_id, "class_name"]
    return str(hit.iloc[0]) if not hit.empty else None


def principal_view(*targets: str) -> Any:
    """:func:`on_filters` for this page, with the plain state of a school without the grade
    shown — said once, in the first section (:data:`ids.PR_VS`), the other sections left
    empty. (No school chosen yet, an officer, is the refusal 请先选择学校 in each section.)"""
    def deco(fn: Any) -> Any:
        def inner(user: User, lang: str, svc: Service, f: Filters) -> Any:
            say = targets[0] == ids.PR_VS
            try:
                return fn(user, lang, svc, f)
            except NotInGrade as exc:
                grade = code_label("grade", svc.scope(user, f).grade, lang)
                return [message(t("not_in_grade", lang, school=str(exc), grade=grade))
                        if i == 0 and say else html.Div() for i in range(len(targets))]
        inner.__name__ = fn.__name__
        return on_filters(*targets)(inner)
    return deco


def layout(**kwargs: Any) -> html.Div:
    def body(user: User, f: Filters, lang: str) -> list[Any]:
        return [
            html.Div([
                html.Button(t("report_html", lang), id=ids.PR_REPORT_BTN, n_clicks=0),
                html.Button(t("export_xlsx", lang), id=ids.PR_XLSX_BTN, n_clicks=0,
                            style={"marginLeft": "8px"}),
                html.Button(t("report_docx", lang), id=ids.PR_DOCX_BTN, n_clicks=0,
                            style={"marginLeft": "8px"}),
                dcc.Download(id=ids.PR_DOWNLOAD),
            ]),
            section(t("vs_district", lang), ids.PR_VS, ids.PR_VS_TABLE),
            section(t("classes", lang), ids.PR_CLASSES, ids.PR_CLASSES_TABLE),
            html.Div([section(t("weak_items", lang), ids.PR_ITEMS),
                      section(t("weak_points", lang), ids.PR_POINTS)], className="eqm-grid"),
            section(t("va_reading", lang), ids.PR_VA_TEXT, ids.PR_VA,
                    howto=how_to_read("value_added", lang)),
            html.Div([section(t("struggling", lang), ids.PR_STRUGGLING,
                              howto=how_to_read("struggling", lang,
                                                share=f"{STRUGGLING_SHARE:.0%}",
                                                sgp=LOW_GROWTH_SGP)),
                      section(t("borderline", lang), ids.PR_BORDERLINE,
                              howto=how_to_read("borderline", lang,
                                                buffer=f"{DEFAULT_BORDERLINE:.0%}"))],
                     className="eqm-grid"),
        ]

    return page(kwargs, group="principal", title="principal", body=body,
                keys=("exam", "grade", "subject", "school", "class"))


@principal_view(ids.PR_VS, ids.PR_VS_TABLE)
def update_vs(user: User, lang: str, svc: Service, f: Filters) -> list[Any]:
    _school(svc, user, f)
    prof = svc.school_profile(user, f)
    if prof.empty:
        return [message(t("no_data", lang))] * 2
    notes = comparison_notes(svc, user, f, lang, subjects=list(dict.fromkeys(prof["subject"])))
    prof = prof.assign(position=[code_label("position", p, lang) for p in prof["position"]])
    fig = figures.bar(prof, "subject", "mean", color="unit_name",
                      x_title=t("axis_subject", lang), y_title=t("axis_mean", lang))
    grouped = prof.assign(group=prof["subject"] + " " + prof["unit_name"].astype(str))
    band_fig = figures.stacked_shares(bands_long(grouped, "group"), "group", "band", "share",
                                      order=["A", "B", "C", "D"], names=band_names(lang),
                                      y_title=t("axis_share", lang))
    return [html.Div([*notes, html.Div([graph(fig), graph(band_fig)], className="eqm-grid")]),
            table(prof.drop(columns=["unit"]), lang, table_id="pr-vs-datatable")]


@principal_view(ids.PR_CLASSES, ids.PR_CLASSES_TABLE)
def update_classes(user: User, lang: str, svc: Service, f: Filters) -> list[Any]:
    school = _school(svc, user, f)
    classes = svc.score_report(user, f, level="class")
    classes = classes[classes["school_id"] == school]
    district = svc.score_report(user, f, level="district")
    ref = float(district["mean"].iloc[0]) if not district.empty else float("nan")
    cols = [c for c in ["class_name", "n", "mean", "sd", "excellent_rate", "pass_rate",
                        "low_rate", "above_mean_rate"] if c in classes.columns]
    chosen = _class_name(svc, user, f)
    note = [message(t("class_chosen", lang, name=chosen))] if chosen else []
    if f.class_id is not None and "class_id" in classes.columns:
        classes = classes[classes["class_id"] == f.class_id]
    return [html.Div([*note, graph(figures.bar(
                classes, "class_name", "mean", reference=ref,
                reference_label=t("district_mean_line", lang),
                x_title=t("axis_class", lang), y_title=t("axis_mean", lang)))]),
            table(classes[cols], lang, reference={"mean": ref}, table_id="pr-classes-datatable")]


@principal_view(ids.PR_ITEMS, ids.PR_POINTS)
def update_items(user: User, lang: str, svc: Service, f: Filters) -> list[Any]:
    _school(svc, user, f)
    if svc.totals_only(user, f):
        return [totals_only(lang)] * 2
    level = "class" if f.class_id is not None else "school"
    items = svc.hotspots(user, f, level=level, grain="item")
    points = svc.hotspots(user, f, level=level, grain="knowledge_point")
    if level == "class":
        items, points = (frame[frame["class_id"] == f.class_id] if "class_id" in frame.columns
                         else frame.iloc[0:0] for frame in (items, points))
    out = []
    for frame, cols in ((items, WEAK_ITEM_COLS), (points, WEAK_KP_COLS)):
        below = frame[frame["gap"] < 0].sort_values("gap") if "gap" in frame.columns else frame
        out.append(table(below[[c for c in cols if c in below.columns]], lang, page_size=10)
                   if not below.empty else message(t("none_below", lang)))
    return out


def va_reading(row: pd.Series | None, lang: str) -> str:
    """The value added of a school in one plain sentence."""
    if row is None or pd.isna(row.get("va")):
        return t("no_data", lang)
    va, lo, hi = float(row["va"]), float(row["ci_low"]), float(row["ci_high"])
    cat = str(row.get("category", "as_expected"))
    if lang == "zh":
        head = {"above": "本校增值显著高于预期", "below": "本校增值显著低于预期"}.get(
            cat, "本校增值符合预期")
        return (f"{head}:与入口成绩相近的全区学生相比,本校学生的出口成绩平均"
                f"{'高' if va >= 0 else '低'}约 {abs(va):.2f} 个标准差"
                f"(95% 区间 {lo:.2f} 至 {hi:.2f})。"
                + ("区间包含 0,差异可能来自偶然波动。" if lo <= 0 <= hi else ""))
    head = {"above": "Value added is above expectation",
            "below": "Value added is below expectation"}.get(cat, "Value added is as expected")
    return (f"{head}: compared with district students of similar entry scores, our students "
            f"score {abs(va):.2f} SD {'higher' if va >= 0 else 'lower'} on average "
            f"(95% interval {lo:.2f} to {hi:.2f})."
            + (" The interval includes 0: the difference may be chance." if lo <= 0 <= hi
               else ""))


@principal_view(ids.PR_VA_TEXT, ids.PR_VA)
def update_va(user: User, lang: str, svc: Service, f: Filters) -> list[Any]:
    school = _school(svc, user, f)
    priors = svc.prior_exams(user, f)
    if not priors:
        return [message(t("no_entry_exam", lang)), html.Div()]
    va = svc.value_added(user, f, level="school")
    mine = va[va["school_id"] == school] if "school_id" in va.columns else va.iloc[0:0]
    row = mine.iloc[0] if not mine.empty else None
    classes = svc.value_added(user, f, level="class")
    classes = classes[classes["school_id"] == school] if "school_id" in classes.columns \
        else classes.iloc[0:0]
    if f.class_id is not None and "class_id" in classes.columns:
        classes = classes[classes["class_id"] == f.class_id]
    shown = pd.concat([mine.assign(label=mine.get("school_name", "")),
                       classes.assign(label=classes.get("class_name", ""))], ignore_index=True)
    names = {c: code_label("category", c, lang) for c in ("above", "as_expected", "below")}
    fig = figures.caterpillar(shown, "label", "va", "ci_low", "ci_high", category="category",
                              category_names=names, y_title=t("axis_va", lang),
                              zero_label=t("expected_line", lang)) if not shown.empty \
        else None
    notes: list[Any] = [html.P(t("entry_default", lang, exam=priors[0]), className="eqm-note")]
    if classes_equal_school(classes):
        notes.append(message(t("va_classes_equal", lang), "eqm-message eqm-va-equal"))
    return [html.Div([html.P(va_reading(row, lang), className="eqm-reading"), *notes]),
            graph(fig) if fig is not None else html.Div()]


@principal_view(ids.PR_STRUGGLING, ids.PR_BORDERLINE)
def update_students(user: User, lang: str, svc: Service, f: Filters) -> list[Any]:
    _school(svc, user, f)
    out = []
    for kind, cols in (("struggling", ["student_id", "student_name", "class_name", "total",
                                       "z", "sgp", "reason"]),
                       ("borderline", ["student_id", "student_name", "class_name", "line",
                                       "line_score", "total", "gap"])):
        frame = svc.students(user, f, kind)
        out.append(table(frame[[c for c in cols if c in frame.columns]], lang, page_size=10))
    return out


def _sections(user: User, svc: Service, f: Filters, lang: str) -> dict[str, pd.DataFrame]:
    """What the report and the export hold (each section scoped by the service)."""
    getters = {
        t("vs_district", lang): lambda: svc.school_profile(user, f),
        t("classes", lang): lambda: svc.score_report(user, f, level="class"),
        t("weak_items", lang): lambda: svc.hotspots(user, f, level="school", grain="item"),
        t("weak_points", lang): lambda: svc.hotspots(user, f, level="school",
                                                     grain="knowledge_point"),
        t("va_reading", lang): lambda: svc.value_added(user, f, level="school"),
        t("struggling", lang): lambda: svc.students(user, f, "struggling"),
        t("borderline", lang): lambda: svc.students(user, f, "borderline"),
    }
    out = {}
    for name, get in getters.items():
        try:
            frame = get()
        except (AccessDenied, NotAvailable):
            continue
        if name == t("classes", lang) and "school_id" in frame.columns:
            frame = frame[frame["school_id"] == f.school]
        out[name] = frame
    return out


@callback(Output(ids.PR_DOWNLOAD, "data"), Input(ids.PR_REPORT_BTN, "n_clicks"),
          Input(ids.PR_XLSX_BTN, "n_clicks"), Input(ids.PR_DOCX_BTN, "n_clicks"),
          State(ids.FILTERS, "data"), prevent_initial_call=True)
def download(n_html: int, n_xlsx: int, n_docx: int, data: dict[str, Any]) -> Any:
    @guarded(1)
    def inner(user: User, lang: str, svc: Service) -> Any:
        f = svc.scope(user, Filters.from_mapping(data))
        _school(svc, user, f)
        if dash.ctx.triggered_id == ids.PR_DOCX_BTN:  # the printed report (issue 17)
            return dcc.send_bytes(svc.school_report_file(user, f, "docx"),
                                  f"{f.exam}_{user.school_name or f.school}.docx")
        sections = _sections(user, svc, f, lang)
        school = svc.tree(user)
        name = school.loc[school["school_id"] == f.school, "school_name"]
        title = f"{name.iloc[0] if not name.empty else ''} {f.exam} {f.subject}"
        if dash.ctx.triggered_id == ids.PR_XLSX_BTN:
            return dcc.send_bytes(report.workbook(sections, lang), f"{title}.xlsx")
        va = sections.get(t("va_reading", lang))
        notes = {}
        hidden = comparison_notes(svc, user, f, lang, subjects=list(dict.fromkeys(
            sections[t("vs_district", lang)]["subject"]))
            if not sections.get(t("vs_district", lang), pd.DataFrame()).empty else None)
        if hidden:
            notes[t("vs_district", lang)] = " ".join(str(d.children) for d in hidden)
        if svc.totals_only(user, f):  # the weak items and points need item scores
            notes[t("weak_items", lang)] = notes[t("weak_points", lang)] = t("totals_only", lang)
        if va is not None and not va.empty and "school_id" in va.columns:
            mine = va[va["school_id"] == f.school]
            notes[t("va_reading", lang)] = va_reading(mine.iloc[0] if not mine.empty
                                                      else None, lang)
        return dict(content=report.school_report_html(title, sections, lang, notes,
                                                      min_n=svc.min_n),
                    filename=f"{title}.html", type="text/html")

    out = inner()
    return out if isinstance(out, dict) else dash.no_update
