"""Administrator: users (add, reset, remove; also `eqm users`), the import log, the summary
tables. Every change goes through :class:`dashboards.service.Service`, which checks the role
on the server; the page only lays out the form."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html

from analytics.users import ROLES, User
from dashboards import ids
from dashboards.components import browser_id, guarded, message, page, section, table
from dashboards.i18n import t
from dashboards.service import Filters, Service

dash.register_page(__name__, path="/admin", title="管理", name="admin")


FIELD = {"width": "280px", "display": "block"}


def _labelled(label: str, control: Any) -> html.Label:
    return html.Label([html.Span(label, className="eqm-field-label"), control],
                      className="eqm-field", style={"display": "block", "margin": "6px 0"})


def layout(**kwargs: Any) -> html.Div:
    def body(user: User, f: Filters, lang: str) -> list[Any]:
        zh = lang == "zh"
        roles = [{"label": f"{zh_name} / {en_name}" if zh else en_name, "value": code}
                 for code, (zh_name, en_name) in ROLES.items()]
        return [
            dcc.Store(id=ids.AD_VERSION, data=0),
            section(t("users", lang), ids.AD_USERS, note="eqm users add|list|remove"),
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
            section("summary tables", ids.AD_SUMMARIES),
        ]

    return page(kwargs, group="admin", title="admin", body=body, keys=())


@callback(Output(ids.AD_USERS, "children"), Output(ids.AD_IMPORTS, "children"),
          Output(ids.AD_SUMMARIES, "children"), Input(ids.FILTERS, "data"),
          Input(ids.AD_VERSION, "data"))
@guarded(3)
def update(user: User, lang: str, svc: Service, data: dict[str, Any],
           version: Any) -> list[Any]:
    return [table(svc.users(user), lang, table_id="ad-users-table"),
            table(svc.imports(user), lang),
            table(svc.summary_catalog(user), lang)]


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
          Input(ids.AD_ADD, "n_clicks"),
          State(ids.AD_NEW_NAME, "value"), State(ids.AD_NEW_DISPLAY, "value"),
          State(ids.AD_NEW_PASSPHRASE, "value"), State(ids.AD_NEW_ROLE, "value"),
          State(ids.AD_NEW_SCHOOL, "value"), State(ids.AD_NEW_REPLACE, "value"),
          State(ids.AD_VERSION, "data"), prevent_initial_call=True)
def add(n: Any, name: Any, display: Any, password: Any, role: Any, school: Any,
        replace: Any, version: Any) -> tuple[Any, Any]:
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

    return inner(), _bump(version)


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
