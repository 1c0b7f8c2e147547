"""Administrator: users (managed with `eqm users`), the import log, the summary tables."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, html

from analytics.users import User
from dashboards import ids
from dashboards.components import guarded, page, section, table
from dashboards.i18n import t
from dashboards.service import Filters, Service

dash.register_page(__name__, path="/admin", title="管理", name="admin")


def layout(**kwargs: Any) -> html.Div:
    def body(user: User, f: Filters, lang: str) -> list[Any]:
        return [
            section(t("users", lang), ids.AD_USERS,
                    note="eqm users add|list|remove"),
            section(t("imports", lang), ids.AD_IMPORTS),
            section("summary tables", ids.AD_SUMMARIES),
        ]

    return page(kwargs, group="admin", title="admin", body=body, keys=())


@callback(Output(ids.AD_USERS, "children"), Output(ids.AD_IMPORTS, "children"),
          Output(ids.AD_SUMMARIES, "children"), Input(ids.FILTERS, "data"))
@guarded(3)
def update(user: User, lang: str, svc: Service, data: dict[str, Any]) -> list[Any]:
    return [table(svc.users(user), lang, table_id="ad-users-table"),
            table(svc.imports(user), lang),
            table(svc.summary_catalog(user), lang)]
