"""Home: who is signed in and the pages their role may open."""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from dashboards.app import nav_links
from dashboards.auth import current_user
from dashboards.components import current_lang
from dashboards.i18n import code_label, t

dash.register_page(__name__, path="/", title="教育质量监测", name="home")


def layout(**kwargs: Any) -> html.Div:
    lang = current_lang()
    user = current_user()
    if user is None:
        return html.Div(html.A(t("login", lang), href="/login"), id="eqm-page")
    return html.Div([
        html.H2(f"{t('welcome', lang)}, {user.display_name or user.username}"),
        html.P(code_label("role", user.role, lang)
               + (f" · {user.school_name}" if user.school_name else "")),
        html.P(t("pages_for_you", lang)),
        html.Ul([html.Li(dcc.Link(t(key, lang), href=path)) for path, key in
                 nav_links(user.role)], id="eqm-home-links"),
    ], id="eqm-page")
