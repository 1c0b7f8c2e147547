"""HTTP-level access rules of the dashboards (Flask's test client, no browser).

Logging in (CSRF token on the form, hashed passwords), the login guard on every Dash route,
the CSRF header on callback POSTs, role checks, and above all: a principal's crafted POST to
``/_dash-update-component`` asking for another school gets a refusal, never that school's data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from analytics.users import add_user
from analytics.warehouse import Warehouse
from dashboards import ids
from tests.builders import build_exam
from tests.dash_client import PASSWORD, csrf, login, page_request


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two exams of one cohort (entry → exit) in 6 schools, and one user of each role."""
    path = tmp_path_factory.mktemp("dash") / "w.duckdb"
    wh = Warehouse(path)
    first = build_exam(wh, n_schools=6, students_per_school=40, exam="入口考试",
                       exam_date="2025-09-01", seed=1, school_effects=[0, .3, -.3, .5, 0, -.5])
    build_exam(wh, n_schools=6, students_per_school=40, exam="期末监测", exam_date="2026-06-20",
               seed=2, theta=first["students"].set_index("student_key")["theta"])
    add_user(wh, "officer", PASSWORD, "officer")
    add_user(wh, "p1", PASSWORD, "principal", school=1)
    add_user(wh, "cm", PASSWORD, "committee")
    add_user(wh, "admin", PASSWORD, "admin")
    wh.close()
    return path


@pytest.fixture(scope="module")
def app(db: Path) -> Any:
    from dashboards.app import create_app

    app = create_app(db, secret_key="t" * 64)
    yield app
    app.server.config["EQM_SERVICE"].close()


def payload(client: Any, output_id: str | None, values: dict[str, Any],
            trigger: str | None = None) -> dict[str, Any]:
    """A callback request as Dash's renderer builds it, for the callback writing
    ``output_id`` (or, with ``trigger`` = "id.property", the callback that input fires);
    ``values`` maps "id.property" to the value to send."""
    deps = client.get("/_dash-dependencies").get_json()
    if trigger is None:
        dep = next(d for d in deps if f"{output_id}." in d["output"])
    else:
        dep = next(d for d in deps if any(f"{i['id']}.{i['property']}" == trigger
                                          for i in d["inputs"]))
    out = dep["output"]
    outputs = [  # a duplicate-allowed output carries "@<hash>" after its property
        {"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1].split("@")[0]}
        for o in (out.strip(".").split("...") if out.startswith("..") else [out])
    ]

    def fill(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": i["id"], "property": i["property"],
                 "value": values.get(f"{i['id']}.{i['property']}")} for i in items]

    return {"output": out, "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": fill(dep["inputs"]), "state": fill(dep["state"]),
            "changedPropIds": [trigger or f"{ids.FILTERS}.data"]}


def post(client: Any, body: dict[str, Any], token: str | None = "auto") -> Any:
    headers = {} if token is None else {"X-CSRFToken": csrf(client) if token == "auto"
                                        else token}
    return client.post("/_dash-update-component", json=body, headers=headers)


def school_names(app: Any) -> dict[int, str]:
    """School id → name, through the app's own warehouse connection."""
    frame = app.server.config["EQM_SERVICE"].wh.df("SELECT school_id, name FROM schools")
    return dict(zip(frame["school_id"], frame["name"], strict=True))


# -- login, logout, sessions -------------------------------------------------------------------
def test_every_route_needs_login(app: Any) -> None:
    client = app.server.test_client()
    resp = client.get("/officer/overview")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    for path in ("/_dash-layout", "/_dash-dependencies"):
        assert client.get(path).status_code == 401
    assert client.post("/_dash-update-component", json={}).status_code == 401


def test_login_needs_csrf_token_and_right_password(app: Any) -> None:
    client = app.server.test_client()
    client.get("/login")
    resp = client.post("/login", data={"username": "officer", "password": PASSWORD})
    assert resp.status_code == 400  # no token
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    resp = client.post("/login", data={"csrf_token": token, "username": "officer",
                                       "password": "wrong-password"})
    assert resp.status_code == 401
    assert client.get("/_dash-layout").status_code == 401
    other = app.server.test_client()  # a token from another session is refused
    other.get("/login")
    resp = other.post("/login", data={"csrf_token": token, "username": "officer",
                                      "password": PASSWORD})
    assert resp.status_code == 400


def test_session_is_renewed_and_logout_needs_token(app: Any) -> None:
    client = app.server.test_client()
    client.get("/login")
    before = client.get_cookie("eqm_session").value
    client = login(app, "officer")
    assert client.get("/_dash-layout").status_code == 200
    assert client.get_cookie("eqm_session").value != before
    assert client.post("/logout", data={}).status_code == 400
    resp = client.post("/logout", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302
    assert client.get("/_dash-layout").status_code == 401


def test_open_redirect_refused(app: Any) -> None:
    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    resp = client.post("/login", data={"csrf_token": token, "username": "officer",
                                       "password": PASSWORD, "next": "//evil.example/x"})
    assert resp.headers["Location"] == "/"


def test_callback_post_needs_csrf_header(app: Any) -> None:
    client = login(app, "officer")
    body = payload(client, ids.OV_TABLE, {f"{ids.FILTERS}.data": {}})
    assert post(client, body, token=None).status_code == 403
    assert post(client, body, token="forged").status_code == 403
    assert post(client, body).status_code == 200


def test_secret_never_in_code_and_generated_file(tmp_path: Path, monkeypatch: Any) -> None:
    from dashboards.auth import load_secret_key

    monkeypatch.delenv("EQM_SECRET_KEY", raising=False)
    f = tmp_path / ".eqm_secret_key"
    key = load_secret_key(None, secret_file=f)
    assert len(key) >= 64 and f.read_text().strip() == key
    assert (f.stat().st_mode & 0o077) == 0  # owner-only
    assert load_secret_key(None, secret_file=f) == key  # stable across restarts
    monkeypatch.setenv("EQM_SECRET_KEY", "from-the-environment-" + "x" * 20)
    assert load_secret_key(None, secret_file=f).startswith("from-the-environment-")
    gitignore = (Path(__file__).resolve().parents[1] / ".gitignore").read_text()
    assert ".eqm_secret_key" in gitignore


# -- roles ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("user", "output_id", "allowed"), [
    ("officer", ids.OV_TABLE, True),
    ("p1", ids.OV_TABLE, False),
    ("cm", ids.OV_TABLE, False),
    ("admin", ids.OV_TABLE, False),
    ("admin", ids.AD_USERS, True),
    ("officer", ids.AD_USERS, False),
    ("p1", ids.AD_USERS, False),
    ("p1", ids.SC_TABLE, False),
])
def test_role_checks_on_callbacks(app: Any, user: str, output_id: str, allowed: bool) -> None:
    client = login(app, user)
    resp = post(client, payload(client, output_id, {f"{ids.FILTERS}.data": {}}))
    assert resp.status_code == 200
    text = json.dumps(resp.get_json(), ensure_ascii=False)
    assert ("eqm-refused" in text) is (not allowed), text[:400]
    if not allowed:
        assert "school_name" not in text and "mean" not in text


@pytest.mark.parametrize(("user", "output_id", "data", "says"), [
    # an officer on the school page without a school chosen: not "another school"
    ("officer", ids.PR_CLASSES, {}, "请先选择学校"),
    ("officer", ids.PR_VS, {}, "请先选择学校"),
    ("officer", ids.PR_STRUGGLING, {}, "请先选择学校"),
    # a school chosen, the student lists are still the principal's alone
    ("officer", ids.PR_BORDERLINE, {"school": 2}, "学生名单仅供本校校长查看"),
    # the wrong role for a page: who the page is for
    ("cm", ids.OV_TABLE, {}, "仅供教研员使用"),
    ("p1", ids.OV_TABLE, {}, "仅供教研员使用"),
    ("cm", ids.PR_CLASSES, {}, "仅供教研员、校长使用"),
    ("officer", ids.AD_USERS, {}, "仅供管理员使用"),
    ("p1", ids.CM_QUALITY, {}, "仅供教研员、命题组使用"),
    # another school's data: the old words, where they are true
    ("p1", ids.PR_CLASSES, {"school": 2}, "无权查看其他学校的数据"),
])
def test_each_refusal_says_why(app: Any, user: str, output_id: str, data: dict[str, Any],
                               says: str) -> None:
    """Issue 13, item 17: every refusal read "无权查看其他学校的数据", even for the wrong
    role or an officer who had not chosen a school."""
    client = login(app, user)
    text = json.dumps(post(client, payload(client, output_id, {f"{ids.FILTERS}.data": data}))
                      .get_json(), ensure_ascii=False)
    assert "eqm-refused" in text and says in text, text[:400]
    if "其他学校" not in says:
        assert "其他学校" not in text, text[:400]


def test_refusals_in_english(app: Any) -> None:
    client = login(app, "cm")
    client.get("/lang/en")
    text = post(client, payload(client, ids.OV_TABLE, {f"{ids.FILTERS}.data": {}})).get_data(
        as_text=True)
    assert "this page or feature is for research officers only" in text
    client = login(app, "officer")
    client.get("/lang/en")
    text = post(client, payload(client, ids.PR_CLASSES, {f"{ids.FILTERS}.data": {}})).get_data(
        as_text=True)
    assert "Choose a school first" in text and "another school" not in text


def test_page_refusal_names_the_roles_it_is_for(app: Any) -> None:
    client = login(app, "p1")
    body = page_request(client, "/officer/overview")
    text = json.dumps(post(client, body).get_json(), ensure_ascii=False)
    assert "eqm-refused" in text and "仅供教研员使用" in text and "其他学校" not in text


def test_admin_sees_users_without_hashes(app: Any) -> None:
    client = login(app, "admin")
    text = post(client, payload(client, ids.AD_USERS, {f"{ids.FILTERS}.data": {}})).get_data(
        as_text=True)
    assert "officer" in text and "p1" in text
    assert "scrypt" not in text and "password" not in text


# -- user management by the administrator ---------------------------------------------------------
def user_payload(client: Any, trigger: str, values: dict[str, Any]) -> dict[str, Any]:
    """The request of the admin page's callback triggered by ``trigger`` ("id.property")."""
    return payload(client, None, values, trigger=trigger)


def add_values(name: str, password: str = "long-enough-1", role: str = "principal",
               school: Any = 2, replace: bool = False) -> dict[str, Any]:
    return {f"{ids.AD_ADD}.n_clicks": 1, f"{ids.AD_NEW_NAME}.value": name,
            f"{ids.AD_NEW_DISPLAY}.value": "新校长", f"{ids.AD_NEW_PASSPHRASE}.value": password,
            f"{ids.AD_NEW_ROLE}.value": role, f"{ids.AD_NEW_SCHOOL}.value": school,
            f"{ids.AD_NEW_REPLACE}.value": ["yes"] if replace else [],
            f"{ids.AD_VERSION}.data": 0}


def usernames(app: Any) -> set[str]:
    svc = app.server.config["EQM_SERVICE"]
    return set(svc.users(svc.get_user("admin"))["username"])


def test_admin_adds_resets_and_removes_a_principal(app: Any) -> None:
    admin = login(app, "admin")
    resp = post(admin, user_payload(admin, f"{ids.AD_ADD}.n_clicks", add_values("p2")))
    text = json.dumps(resp.get_json(), ensure_ascii=False)
    assert "账号已保存" in text and "p2" in text, text[:400]
    assert "p2" in usernames(app)
    # the new principal signs in and is pinned to school 2
    new = login(app, "p2", "long-enough-1")
    names = school_names(app)
    out = json.dumps(post(new, payload(new, ids.PR_CLASSES, {f"{ids.FILTERS}.data": {}}))
                     .get_json(), ensure_ascii=False)
    assert not [n for sid, n in names.items() if sid != 2 and n in out]
    # a second add of the same name is refused unless "reset" is ticked
    again = json.dumps(post(admin, user_payload(admin, f"{ids.AD_ADD}.n_clicks",
                                                add_values("p2", "another-pass-2")))
                       .get_json(), ensure_ascii=False)
    assert "已存在" in again
    post(admin, user_payload(admin, f"{ids.AD_ADD}.n_clicks",
                             add_values("p2", "another-pass-2", replace=True)))
    login(app, "p2", "another-pass-2")
    # removal (after the confirmation dialog): the session of p2 loses access at once
    resp = post(admin, user_payload(admin, f"{ids.AD_REMOVE}.submit_n_clicks",
                                    {f"{ids.AD_REMOVE}.submit_n_clicks": 1,
                                     f"{ids.AD_REMOVE_NAME}.value": "p2",
                                     f"{ids.AD_VERSION}.data": 3}))
    assert "账号已删除" in json.dumps(resp.get_json(), ensure_ascii=False)
    assert "p2" not in usernames(app)
    assert new.get("/_dash-layout").status_code == 401


@pytest.mark.parametrize(("values", "says"), [
    (add_values("short", password="1234567"), "至少 8"),
    (add_values("noschool", school=None), "必须指定学校"),
    (add_values("badschool", school="x'; DROP TABLE users; --"), "学校 / school 无效"),
    (add_values("badrole", role="root"), "未知角色"),
    (add_values("admin", role="officer", replace=True), "不能取消自己的管理员角色"),
])
def test_bad_user_forms_are_refused_in_plain_words(app: Any, values: dict[str, Any],
                                                   says: str) -> None:
    before = usernames(app)
    admin = login(app, "admin")
    text = json.dumps(post(admin, user_payload(admin, f"{ids.AD_ADD}.n_clicks", values))
                      .get_json(), ensure_ascii=False)
    assert says in text, text[:400]
    assert usernames(app) == before


def test_only_the_admin_manages_users_and_never_removes_themself(app: Any) -> None:
    before = usernames(app)
    for user in ("officer", "p1", "cm"):
        client = login(app, user)
        text = json.dumps(post(client, user_payload(client, f"{ids.AD_ADD}.n_clicks",
                                                    add_values(f"by-{user}", role="admin",
                                                               school=None)))
                          .get_json(), ensure_ascii=False)
        assert "eqm-refused" in text, (user, text[:300])
        text = json.dumps(post(client, user_payload(
            client, f"{ids.AD_REMOVE}.submit_n_clicks",
            {f"{ids.AD_REMOVE}.submit_n_clicks": 1, f"{ids.AD_REMOVE_NAME}.value": "admin"}))
            .get_json(), ensure_ascii=False)
        assert "eqm-refused" in text, (user, text[:300])
    admin = login(app, "admin")
    text = json.dumps(post(admin, user_payload(
        admin, f"{ids.AD_REMOVE}.submit_n_clicks",
        {f"{ids.AD_REMOVE}.submit_n_clicks": 1, f"{ids.AD_REMOVE_NAME}.value": "admin"}))
        .get_json(), ensure_ascii=False)
    assert "不能删除自己的账号" in text
    assert usernames(app) == before


# -- the principal's scope, enforced on the server ------------------------------------------------
def test_principal_gets_only_own_school(app: Any, db: Path) -> None:
    names = school_names(app)
    client = login(app, "p1")
    resp = post(client, payload(client, ids.PR_CLASSES, {f"{ids.FILTERS}.data": {}}))
    text = json.dumps(resp.get_json(), ensure_ascii=False)
    assert names[1] in text or "1班" in text
    for sid, name in names.items():
        if sid != 1:
            assert name not in text


@pytest.mark.parametrize("crafted", [
    {"school": 2}, {"school": "2"}, {"school": 3, "zone": 2}, {"class": 3},
    {"class_id": 4}, {"school": [2]}, {"school": {"$ne": 1}},
])
def test_crafted_callback_for_another_school_is_refused(app: Any, db: Path,
                                                        crafted: dict[str, Any]) -> None:
    names = school_names(app)
    client = login(app, "p1")
    for output_id in (ids.PR_VS, ids.PR_CLASSES, ids.PR_ITEMS, ids.PR_STRUGGLING,
                      ids.PR_BORDERLINE, ids.PR_VA_TEXT):
        resp = post(client, payload(client, output_id, {f"{ids.FILTERS}.data": crafted}))
        assert resp.status_code == 200
        text = json.dumps(resp.get_json(), ensure_ascii=False)
        for sid, name in names.items():
            if sid != 1:
                assert name not in text, (output_id, crafted)
        is_list_filter = all(isinstance(v, (list, dict)) for v in crafted.values())
        if not is_list_filter:  # a real other-school/class id: an explicit refusal
            assert "eqm-refused" in text, (output_id, crafted, text[:300])


def test_crafted_page_url_for_another_school_is_refused(app: Any, db: Path) -> None:
    names = school_names(app)
    client = login(app, "p1")
    body = page_request(client, "/principal", "?school=2", changed="search")
    text = json.dumps(post(client, body).get_json(), ensure_ascii=False)
    assert "eqm-refused" in text
    assert names[2] not in text


def test_student_lists_are_for_the_school_alone(app: Any) -> None:
    client = login(app, "officer")
    body = payload(client, ids.PR_BORDERLINE, {f"{ids.FILTERS}.data": {"school": 2}})
    text = json.dumps(post(client, body).get_json(), ensure_ascii=False)
    assert "eqm-refused" in text and "student_id" not in text


def test_principal_never_sees_ranks(app: Any) -> None:
    client = login(app, "p1")
    for output_id in (ids.PR_VS, ids.PR_CLASSES):
        text = post(client, payload(client, output_id, {f"{ids.FILTERS}.data": {}})).get_data(
            as_text=True)
        assert '"rank"' not in text and "n_ranked" not in text


def test_small_groups_suppressed(db: Path) -> None:
    """With min_n above every class size, class statistics are blanked in the view."""
    from dashboards.app import create_app

    app = create_app(db, secret_key="s" * 64, min_n=1000)
    try:
        client = login(app, "p1")
        data = post(client, payload(client, ids.PR_CLASSES, {f"{ids.FILTERS}.data": {}}))
        shown = data.get_json()["response"][ids.PR_CLASSES_TABLE]["children"]["props"]
        # issue 16: a table comes after its 导出 Excel bar
        table = shown["data"] if "data" in shown else shown["children"][1]["props"]["data"]
        assert table and all(row["mean"] is None for row in table)
        assert all(row["n"] is not None for row in table)
    finally:
        app.server.config["EQM_SERVICE"].close()


def test_rank_policy_none_hides_ranks_from_officers(app: Any, db: Path) -> None:
    from dashboards.app import create_app

    client = login(app, "officer")  # default policy: officers see exact ranks
    text = post(client, payload(client, ids.SC_TABLE, {f"{ids.FILTERS}.data": {}})).get_data(
        as_text=True)
    assert '"rank"' in text
    strict = create_app(db, secret_key="r" * 64, rank_policy="none")
    try:
        client = login(strict, "officer")
        text = post(client, payload(client, ids.SC_TABLE, {f"{ids.FILTERS}.data": {}})
                    ).get_data(as_text=True)
        assert '"rank"' not in text and "school_name" in text
    finally:
        strict.server.config["EQM_SERVICE"].close()


# -- language, exports, notes -----------------------------------------------------------------
def test_language_switch(app: Any) -> None:
    client = login(app, "officer")

    def shell() -> str:
        return json.dumps(client.get("/_dash-layout").get_json(), ensure_ascii=False)

    assert "退出" in shell() and "区域概览" in shell()
    client.get("/lang/en")
    assert "Log out" in shell() and "District overview" in shell()
    client.get("/lang/xx")  # unknown codes are ignored
    assert "Log out" in shell()


def _download(client: Any, button: str, data: dict[str, Any]) -> Any:
    body = payload(client, ids.PR_DOWNLOAD, {f"{ids.FILTERS}.data": data,
                                            f"{button}.n_clicks": 1})
    body["changedPropIds"] = [f"{button}.n_clicks"]
    return post(client, body)


def test_principal_word_report_download_is_own_school(app: Any) -> None:
    import base64
    import io
    import zipfile

    client = login(app, "p1")
    out = _download(client, ids.PR_DOCX_BTN, {}).get_json()["response"][ids.PR_DOWNLOAD]["data"]
    assert out["filename"].endswith(".docx")
    body = base64.b64decode(out["content"])
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        xml = z.read("word/document.xml").decode()
    names = school_names(app)
    own = [n for n in names.values() if n in xml]
    assert len(own) == 1, own  # the principal's own school, no other


def test_principal_report_and_excel_hold_only_own_school(app: Any) -> None:
    import base64
    import io

    import pandas as pd

    names = school_names(app)
    client = login(app, "p1")
    resp = _download(client, ids.PR_REPORT_BTN, {})
    out = resp.get_json()["response"][ids.PR_DOWNLOAD]["data"]
    assert out["filename"].endswith(".html") and names[1] in out["content"]
    assert all(name not in out["content"] for sid, name in names.items() if sid != 1)
    assert "临界生" in out["content"]
    resp = _download(client, ids.PR_XLSX_BTN, {})
    out = resp.get_json()["response"][ids.PR_DOWNLOAD]["data"]
    assert out["filename"].endswith(".xlsx") and out["base64"]
    sheets = pd.read_excel(io.BytesIO(base64.b64decode(out["content"])), sheet_name=None)
    text = " ".join(frame.to_csv() for frame in sheets.values())
    assert names[1] in text
    assert all(name not in text for sid, name in names.items() if sid != 1)
    # Asking the export for another school gives nothing at all.
    resp = _download(client, ids.PR_XLSX_BTN, {"school": 2})
    assert resp.status_code == 204 or "content" not in resp.get_data(as_text=True)


def test_export_suppresses_small_groups(db: Path) -> None:
    import base64
    import io

    import pandas as pd

    from dashboards.app import create_app

    app = create_app(db, secret_key="e" * 64, min_n=1000)
    try:
        client = login(app, "p1")
        out = _download(client, ids.PR_XLSX_BTN, {}).get_json()["response"][ids.PR_DOWNLOAD]
        sheets = pd.read_excel(io.BytesIO(base64.b64decode(out["data"]["content"])),
                               sheet_name=None)
        classes = next(f for name, f in sheets.items() if "班级" in name)
        assert len(classes) > 0 and classes["平均分"].isna().all()
    finally:
        app.server.config["EQM_SERVICE"].close()


def test_only_the_committee_edits_notes(app: Any) -> None:
    from analytics.archive import archive_paper, search_archive

    svc = app.server.config["EQM_SERVICE"]
    with svc._lock:
        if search_archive(svc.wh).empty:
            with svc.reader.write() as writer:  # the service reads a read-only snapshot
                archive_paper(writer, exam="期末监测", subject="数学")
        bank_id = int(search_archive(svc.wh)["bank_item_id"].iloc[0])
    values = {f"{ids.CM_NOTE_SAVE}.n_clicks": 1, f"{ids.CM_HISTORY_ITEM}.value": bank_id,
              f"{ids.CM_NOTE_TEXT}.value": "学生混淆了正负号"}
    client = login(app, "cm")
    body = payload(client, ids.CM_NOTE_STATUS, values)
    body["changedPropIds"] = [f"{ids.CM_NOTE_SAVE}.n_clicks"]
    text = post(client, body).get_data(as_text=True)
    assert "v1" in text
    for user in ("officer", "p1", "admin"):
        other = login(app, user)
        body = payload(other, ids.CM_NOTE_STATUS, values)
        body["changedPropIds"] = [f"{ids.CM_NOTE_SAVE}.n_clicks"]
        assert "eqm-refused" in post(other, body).get_data(as_text=True)
    with svc._lock:
        from analytics.archive import note_history

        assert len(note_history(svc.wh, bank_id)) == 1
