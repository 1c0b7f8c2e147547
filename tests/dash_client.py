"""Signing in to the dashboard through Flask's test client (shared by the dashboard tests)."""

from __future__ import annotations

import re
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
