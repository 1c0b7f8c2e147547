"""Signing in to the dashboard through Flask's test client (shared by the dashboard tests)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

PASSWORD = "password1"


def login(app: Any, username: str, password: str = PASSWORD) -> Any:
    client = app.server.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token, "the login form carries a CSRF token"
    resp = client.post("/login", data={"csrf_token": token.group(1), "username": username,
                                       "password": password, "next": "/"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def csrf(client: Any) -> str:
    cookie = client.get_cookie("_csrf_token")
    assert cookie is not None
    return str(cookie.value)


def started_app(db: Any, secret_key: str) -> Iterator[Any]:
    """The dashboard over ``db`` (for a module-scoped fixture: ``yield from``), its pages
    router loaded by a first request, its service closed at the end."""
    from dashboards.app import create_app

    app = create_app(db, secret_key=secret_key)
    login(app, "officer").get("/_dash-layout")  # first request: Dash adds the pages router
    yield app
    app.server.config["EQM_SERVICE"].close()


def page_request(client: Any, pathname: str, search: str = "",
                 changed: str = "pathname") -> dict[str, Any]:
    """The body of the pages router's callback for ``pathname`` + ``search`` (a page visit as
    the browser posts it; ``changed`` names the location property that changed)."""
    deps = client.get("/_dash-dependencies").get_json()
    router = next(d for d in deps if "_pages_content" in d["output"])
    return {"output": router["output"],
            "outputs": [{"id": "_pages_content", "property": "children"},
                        {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": pathname},
                       {"id": "_pages_location", "property": "search", "value": search}],
            "state": [], "changedPropIds": [f"_pages_location.{changed}"]}
