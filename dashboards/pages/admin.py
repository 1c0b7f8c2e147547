"""Administrator: users (add, reset, remove; also `eqm users`), the import log, the summary
tables. Every change goes through :class:`dashboards.service.Service`, which checks the role
on the server; the page only lays out the form."""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, callback, dcc, html

from analytics.users import ROLES, User
from dashboards import ids
from dashboards.components import browser_id, guarded, message, page, section, table
from dashboards.i18n import code_label, t
from dashboards.service import Filters, Service

dash.register_page(__name__, path="/admin", title="管理", name="admin")


FIELD = {"width": "280px", "display": "block"}

# the summary tables' analyses in words (name → Chinese, English)
SUMMARY_WORDS: dict[str, tuple[str, str]] = {
    "score_report": ("三率一分", "rates and mean"), "grade_bands": ("等级分布", "grade bands"),
    "percentiles": ("分位数", "percentiles"), "item_stats": ("试题统计", "item statistics"),
    "option_analysis": ("选项分析", "option analysis"),
    "knowledge_matrix": ("知识点得分率", "knowledge-point rates"),
    "error_hotspots": ("错误热点", "error hotspots"), "hotspots": ("错误热点", "error hotspots"),
    "green": ("绿色指标", "green indicators"),
    "district_weak_points": ("全区薄弱点", "district weak points"),
    "value_added": ("增值评价", "value added"), "standard_scores": ("标准分", "standard scores"),
    "student_growth": ("成长百分位", "growth percentiles"),
    "borderline_students": ("临界生", "borderline students"),
    "green_indicators": ("绿色指标", "green indicators"),
    "paper_quality": ("试卷质量", "paper quality"), "item_curve": ("项目曲线", "item curves"),
}


def _labelled(label: str, control: Any) -> html.Label:
    return html.Label([html.Span(label, className="eqm-field-label"), control],
                      className="eqm-field", style={"display": "block", "margin": "6px 0"})


def layout(**kwargs: Any) -> html.Div:
    def body(user: User, f: Filters, lang: str) -> list[Any]:
        zh = lang == "zh"
        roles = [{"label": zh_name if zh else en_name, "value": code}
                 for code, (zh_name, en_name) in ROLES.items()]
        return [
            dcc.Store(id=ids.AD_VERSION, data=0),
            section(t("users", lang), ids.AD_USERS, note=t("users_cli", lang)),
            html.Div([
                html.H3(t("manage_users", lang)),
                _labelled(t("username", lang), dcc.Input(id=ids.AD_NEW_NAME, type="text",
                                                           style=FIELD)),
                _labelled(t("display_name", lang),
                          dcc.Input(id=ids.AD_NEW_DISPLAY, type="text", style=FIELD)),
                _labelled(t("new_password", lang),
                          dcc.Input(id=ids.AD_NEW_PASSPHRASE, type="password",
                                    autoComplete="new-password", style=FIELD)),
                _labelled(t("role", lang), dcc.Dropdown(id=ids.AD_NEW_ROLE, options=roles,
                                                        clearable=False,
                                                        style={"width": "280px"})),
                _labelled(t("school_for_principal", lang),
                          dcc.Dropdown(id=ids.AD_NEW_SCHOOL, style={"width": "280px"})),
                dcc.Checklist(id=ids.AD_NEW_REPLACE,
                              options=[{"label": t("replace_user", lang), "value": "yes"}],
                              value=[]),
                html.Button(t("add_user", lang), id=ids.AD_ADD, n_clicks=0),
                html.H3(t("remove_user", lang)),
                dcc.Dropdown(id=ids.AD_REMOVE_NAME, style={"width": "280px"}),
                dcc.ConfirmDialogProvider(
                    html.Button(t("remove_user", lang), n_clicks=0),
                    id=ids.AD_REMOVE, message=t("confirm_remove", lang)),
                html.Div(id=ids.AD_STATUS, style={"marginTop": "8px"}),
            ], className="eqm-section"),
            section(t("imports", lang), ids.AD_IMPORTS),
            section(t("summary_tables", lang), ids.AD_SUMMARIES),
        ]

    return page(kwargs, group="admin", title="admin", body=body, keys=())


@callback(Output(ids.AD_USERS, "children"), Output(ids.AD_IMPORTS, "children"),
          Output(ids.AD_SUMMARIES, "children"), Input(ids.FILTERS, "data"),
          Input(ids.AD_VERSION, "data"))
@guarded(3)
def update(user: User, lang: str, svc: Service, data: dict[str, Any],
           version: Any) -> list[Any]:
    imports = svc.imports(user)
    if "message" in imports.columns:  # the importers write "中文 / English": one language
        imports = imports.assign(message=[in_language(m, lang) for m in imports["message"]])
    if "target" in imports.columns:  # "exam=…; subject=…; grade=5" in words
        imports = imports.assign(target=[target_text(v, lang) for v in imports["target"]])
    catalog = svc.summary_catalog(user)
    if "paper_id" in catalog.columns:  # each summary with its paper's name, not its id
        papers = svc.papers(user)
        names = {int(str(pid)): f"{exam} {code_label('grade', grade, lang)}{subject}"
                 for pid, exam, grade, subject in zip(papers["paper_id"], papers["exam"],
                                                      papers["grade"], papers["subject"],
                                                      strict=True)}
        catalog = catalog.assign(
            summary=[summary_label(n, lang) for n in catalog["name"]],
            paper=[names.get(int(str(p)), "") if pd.notna(p) else ""
                   for p in catalog["paper_id"]])
        catalog = catalog[["summary", "paper",
                           *[c for c in catalog.columns if c not in ("summary", "paper", "name")]]]
    return [table(svc.users(user), lang, table_id="ad-users-table"),
            table(imports, lang), table(catalog, lang)]


def in_language(text: Any, lang: str) -> str:
    """The ``lang`` half of a bilingual message ``中文 / English`` (the whole text when it is
    not in two halves)."""
    if not isinstance(text, str):
        return ""
    for sep in (" / ", " /", "/ "):
        if sep in text:
            zh, en = text.split(sep, 1)
            if (any("\u4e00" <= ch <= "\u9fff" for ch in zh) and en.isascii()) or \
                    sum(ch.isascii() for ch in en) > 0.8 * max(len(en), 1):
                return zh.strip() if lang == "zh" else en.strip()
    return text


def target_text(target: Any, lang: str) -> str:
    """The import log's ``key=value; …`` target in words: ``exam=期中; subject=数学; grade=5;
    full=100`` → ``期中 五年级数学(满分 100)``."""
    if not isinstance(target, str):
        return ""
    parts = dict(p.split("=", 1) for p in (x.strip() for x in target.split(";")) if "=" in p)
    if not parts:
        return target
    head = " ".join(v for k, v in parts.items() if k in ("district", "exam", "survey"))
    grade = code_label("grade", parts["grade"], lang) if "grade" in parts else ""
    subject = parts.get("subject", "")
    text = " ".join(x for x in (head, f"{grade}{subject}" if lang == "zh"
                                else f"{grade} {subject}".strip()) if x)
    if "full" in parts:
        full = parts["full"].removesuffix(".0")
        text += f"(满分 {full})" if lang == "zh" else f" (full score {full})"
    return text


def summary_label(name: Any, lang: str) -> str:
    """A summary table's name in words: its analysis (the registry's Chinese name when it
    has one) and level, e.g. ``grade_bands_district`` → 等级分布(全区)."""
    text = str(name)
    if text.endswith("_kp"):  # knowledge-point grain
        inner = summary_label(text[:-3], lang)
        return f"{inner}·知识点" if lang == "zh" else f"{inner}, knowledge points"
    for level in ("district", "zone", "school", "class"):
        if text.endswith("_" + level):
            base = text[: -len(level) - 1]
            return f"{SUMMARY_WORDS.get(base, (base, base))[lang != 'zh']}" \
                   f"({code_label('level', level, lang)})" if lang == "zh" else \
                   f"{SUMMARY_WORDS.get(base, (base, base))[1]} ({level})"
    return SUMMARY_WORDS.get(text, (text, text))[lang != "zh"]


@callback(Output(ids.AD_NEW_SCHOOL, "options"), Output(ids.AD_REMOVE_NAME, "options"),
          Input(ids.FILTERS, "data"), Input(ids.AD_VERSION, "data"))
@guarded(2)
def choices(user: User, lang: str, svc: Service, data: dict[str, Any],
            version: Any) -> list[Any]:
    schools = svc.school_choices(user)
    names = svc.users(user)["username"].astype(str)
    return [[{"label": str(name), "value": int(sid)}
             for sid, name in zip(schools["school_id"].astype("int64"), schools["school_name"],
                                  strict=True)],
            [{"label": n, "value": n} for n in names if n != user.username]]


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


@callback(Output(ids.AD_STATUS, "children"), Output(ids.AD_VERSION, "data"),
          Output(ids.AD_NEW_PASSPHRASE, "value"),
          Input(ids.AD_ADD, "n_clicks"),
          State(ids.AD_NEW_NAME, "value"), State(ids.AD_NEW_DISPLAY, "value"),
          State(ids.AD_NEW_PASSPHRASE, "value"), State(ids.AD_NEW_ROLE, "value"),
          State(ids.AD_NEW_SCHOOL, "value"), State(ids.AD_NEW_REPLACE, "value"),
          State(ids.AD_VERSION, "data"), prevent_initial_call=True)
def add(n: Any, name: Any, display: Any, password: Any, role: Any, school: Any,
        replace: Any, version: Any) -> tuple[Any, Any, Any]:
    """Save the account; the password field is emptied either way (never left filled in)."""
    @guarded(1)
    def inner(user: User, lang: str, svc: Service) -> Any:
        if not _text(name) or not isinstance(password, str) or not _text(role):
            return message(t("no_data", lang))
        school_id = browser_id(school, "学校 / school") \
            if role == "principal" and school is not None else None
        added = svc.add_user(user, _text(name), password, _text(role), school_id=school_id,
                             display_name=_text(display) or None,
                             replace=isinstance(replace, list) and "yes" in replace)
        return message(t("user_saved", lang, name=added.username), "eqm-ok")

    return inner(), _bump(version), ""


@callback(Output(ids.AD_STATUS, "children", allow_duplicate=True),
          Output(ids.AD_VERSION, "data", allow_duplicate=True),
          Input(ids.AD_REMOVE, "submit_n_clicks"), State(ids.AD_REMOVE_NAME, "value"),
          State(ids.AD_VERSION, "data"), prevent_initial_call=True)
def remove(n: Any, name: Any, version: Any) -> tuple[Any, Any]:
    @guarded(1)
    def inner(user: User, lang: str, svc: Service) -> Any:
        if not _text(name):
            return message(t("no_data", lang))
        svc.remove_user(user, _text(name))
        return message(t("user_removed", lang, name=_text(name)), "eqm-ok")

    return inner(), _bump(version)


def _bump(version: Any) -> int:
    return (version if isinstance(version, int) and not isinstance(version, bool) else 0) + 1
