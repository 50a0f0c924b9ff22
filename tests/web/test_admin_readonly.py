"""Auditors and assessors read every admin page but change nothing; field units get no admin at all;
the browser's zh-CN picks Chinese admin pages when the user chose no language."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine.core import clock
from engine.core.models import (ApiToken, Campaign, Category, Delivery, FrontageHolder, Grid, OutboxMessage, Recipient, SupervisionTier, Timeline, Unit, User)
from tests.helpers import csrf_from

#: Master-data views (endpoint -> model) every reader lists and opens.
MASTER_DATA = {"campaign": Campaign, "category": Category, "unit": Unit, "grid": Grid, "frontageholder": FrontageHolder,
               "supervisiontier": SupervisionTier, "timeline": Timeline}


@pytest.fixture()
def client_as(app, login):
    """`client_as(username)`: a fresh test client signed in as that demo user, CSRF on as in a browser."""
    app.config["WTF_CSRF_ENABLED"] = True

    def signed_in(username: str):
        client = app.test_client()
        assert login(client, username).status_code == 302
        return client
    return signed_in


def _edit_controls(html: str, view: str) -> list[str]:
    """Links or forms that would create, edit or delete, and bulk-action menus."""
    found = re.findall(rf'(?:href|action)="/admin/{view}/(?:new|edit|delete)/[^"]*"', html)
    if 'id="action_form"' in html or "modelActions" in html:
        found.append("actions")
    return found


@pytest.mark.parametrize("username", ["auditor", "assessor"])
def test_readers_list_and_open_every_master_data_view_without_edit_controls(session, username, client_as):
    client = client_as(username)
    assert client.get("/admin/").status_code == 200
    for view, model in MASTER_DATA.items():
        listing = client.get(f"/admin/{view}/?lang=en")
        html = listing.get_data(as_text=True)
        assert listing.status_code == 200, view
        assert _edit_controls(html, view) == [], (view, _edit_controls(html, view))
        row = session.scalar(select(model.id).order_by(model.id).limit(1))
        assert row is not None, f"the demo data should hold a {view}"
        details = client.get(f"/admin/{view}/details/?id={row}&lang=en")
        assert details.status_code == 200, view
        assert _edit_controls(details.get_data(as_text=True), view) == [], view


def _model_views(app) -> list:
    from admin.base import ReadableModelView

    admins = app.extensions["admin"]
    return [view for admin in (admins if isinstance(admins, list) else [admins]) for view in admin._views
            if isinstance(view, ReadableModelView)]


@pytest.mark.parametrize("username", ["auditor", "assessor"])
def test_every_model_view_of_the_admin_is_readable_without_edit_controls(app, username, client_as):
    client = client_as(username)
    views = _model_views(app)
    assert len(views) >= 20
    for view in views:
        page = client.get(f"{view.url}/?lang=zh")
        if username not in view.roles:  # 三员分立: accounts and the security audit log are not the readers'
            assert view.endpoint in ("account", "token", "sign_in_lock", "security_audit") and page.status_code == 403
            continue
        assert page.status_code == 200, view.endpoint
        html = page.get_data(as_text=True)
        assert _edit_controls(html, view.url.rsplit("/", 1)[-1]) == [], view.endpoint
        assert client.get(f"{view.url}/new/").status_code == 403, view.endpoint


@pytest.mark.parametrize("username", ["auditor", "assessor"])
def test_readers_are_refused_every_change(session, username, client_as):
    client = client_as(username)
    token = csrf_from(client.get("/").get_data(as_text=True))
    before = {view: session.scalar(select(func.count()).select_from(model)) for view, model in MASTER_DATA.items()}
    campaign = session.scalar(select(Campaign).order_by(Campaign.id))
    for view, model in MASTER_DATA.items():
        row = session.scalar(select(model.id).order_by(model.id).limit(1))
        assert client.get(f"/admin/{view}/new/").status_code == 403, view
        assert client.get(f"/admin/{view}/edit/?id={row}").status_code == 403, view
        assert client.post(f"/admin/{view}/new/", data={"csrf_token": token, "code": "x", "name": "x"}).status_code == 403
        assert client.post(f"/admin/{view}/edit/?id={row}", data={"csrf_token": token, "name_zh": "被改"}).status_code == 403
        assert client.post(f"/admin/{view}/delete/", data={"csrf_token": token, "id": str(row)}).status_code == 403
        assert client.post(f"/admin/{view}/action/", data={"csrf_token": token, "action": "delete",
                                                           "rowid": str(row)}).status_code == 403
    for view, action in (("token", "revoke"), ("sign_in_lock", "unlock"), ("failed_delivery", "requeue")):
        assert client.post(f"/admin/{view}/action/", data={"csrf_token": token, "action": action,
                                                           "rowid": "1"}).status_code == 403
    session.expire_all()
    assert {view: session.scalar(select(func.count()).select_from(model)) for view, model in MASTER_DATA.items()} == before
    assert session.get(Campaign, campaign.id).name_zh == campaign.name_zh


def test_readers_see_token_metadata_and_recipients_without_secrets(session, client_as):
    recipient = Recipient(name="readonly-test robot", scope="unit", channel="wecom", language="zh", enabled=True,
                          address="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ROBOT-KEY-123",
                          secret="HMAC-SECRET-456")
    message = OutboxMessage(idempotency_key="readonly-recipient-test", kind="notify", channel="webhook",
                            target="readonly", payload={}, status="delivered", created_at=clock.now())
    delivery = Delivery(message=message, recipient=recipient, status="failed", attempts=5,
                        last_error="HTTP 404 from https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ROBOT-KEY-123")
    session.add_all([recipient, message, delivery])
    session.commit()
    auditor = client_as("auditor")
    listing = auditor.get("/admin/recipient/?lang=en&search=readonly-test").get_data(as_text=True)  # past page 1
    details = auditor.get(f"/admin/recipient/details/?id={recipient.id}&lang=en").get_data(as_text=True)
    for html in (listing, details):
        assert "readonly-test robot" in html and "https://qyapi.weixin.qq.com/…" in html
        assert "ROBOT-KEY-123" not in html and "HMAC-SECRET-456" not in html
    failed = auditor.get("/admin/failed_delivery/?lang=en").get_data(as_text=True)
    assert "HTTP 404 from https://qyapi.weixin.qq.com/…" in failed and "ROBOT-KEY-123" not in failed
    admin = client_as("admin")
    assert "ROBOT-KEY-123" in admin.get("/admin/recipient/?lang=en&search=readonly-test").get_data(as_text=True)
    assert "ROBOT-KEY-123" in admin.get("/admin/failed_delivery/?lang=en").get_data(as_text=True)

    # 三员分立: tokens are the security administrator's alone; neither readers nor the system administrator see them
    assert auditor.get("/admin/token/?lang=en").status_code == 403 and admin.get("/admin/token/").status_code == 403
    tokens = client_as("security_admin").get("/admin/token/?lang=en")
    digest = session.scalar(select(ApiToken.token_hash).limit(1))
    html = tokens.get_data(as_text=True)
    assert tokens.status_code == 200 and digest not in html and 'id="action_form"' in html  # they may revoke


def test_a_field_unit_gets_403_everywhere_under_admin(app, client_as):
    client = client_as("dongcheng")
    token = csrf_from(client.get("/").get_data(as_text=True))
    routes = sorted({(re.sub(r"<[^>]+>", "1", rule.rule), "GET" if "GET" in rule.methods else "POST")
                     for rule in app.url_map.iter_rules()
                     if rule.rule.startswith("/admin") and not rule.rule.startswith("/admin/static")})
    assert len(routes) > 40
    wrong = [(path, method, status) for path, method in routes
             if (status := client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
                 .status_code) != 403]
    assert wrong == []


def test_the_browser_language_picks_the_admin_language_when_the_user_chose_none(session, client_as):
    user = session.scalar(select(User).where(User.username == "assessor"))
    user.language = None
    session.commit()
    for accept, expected, absent in (("zh-CN,zh;q=0.9,en;q=0.8", "创城规则引擎管理后台", "CivicRules administration"),
                                     ("zh-CN,zh;q=0.9,en;q=0.8", "督查层级", "Supervision tiers"),
                                     ("en-US,en;q=0.9", "Supervision tiers", "督查层级")):
        client = client_as("assessor")  # a fresh session: no ?lang= choice kept
        page = client.get("/admin/supervisiontier/", headers={"Accept-Language": accept}).get_data(as_text=True)
        assert expected in page and absent not in page, accept
        steps = client.get("/admin/timeline/", headers={"Accept-Language": accept}).get_data(as_text=True)
        assert ("提醒责任单位" in steps, "Remind the unit" in steps) == (accept.startswith("zh"), accept.startswith("en"))
