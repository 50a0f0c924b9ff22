"""A user's language choice from the nav switch is kept on their row and follows them to a new browser; the
switch keeps the page's own query (a list's filters)."""
from __future__ import annotations

from sqlalchemy import select

import pytest

from engine.core.models import User


@pytest.fixture(autouse=True)
def real_login_form(app):
    """login() reads the form's CSRF token, so the form must render one whatever earlier tests set."""
    app.config["WTF_CSRF_ENABLED"] = True


def _html_lang(client, url: str = "/", **headers) -> str:
    page = client.get(url, headers=headers).get_data(as_text=True)
    return page.split('<html lang="', 1)[1].split('"', 1)[0]


def test_the_switch_is_remembered_on_the_user_and_beats_the_browser_language(app, session, login):
    user = session.scalar(select(User).where(User.username == "auditor"))
    first = app.test_client()
    login(first, "auditor")
    assert _html_lang(first, "/", **{"Accept-Language": "zh-CN,zh;q=0.9"}) == "zh-CN"
    assert _html_lang(first, "/?lang=en&remember=1") == "en"
    session.expire_all()
    assert session.get(User, user.id).language == "en"

    other_browser = app.test_client()
    login(other_browser, "auditor")
    assert _html_lang(other_browser, "/", **{"Accept-Language": "zh-CN,zh;q=0.9"}) == "en"
    assert _html_lang(other_browser, "/?lang=zh-CN") == "zh-CN"  # ?lang= still wins for the moment
    session.expire_all()
    assert session.get(User, user.id).language == "en"  # without remember=1 nothing is stored


def test_a_bare_lang_parameter_is_not_stored(app, session, login):
    client = app.test_client()
    login(client, "auditor")
    assert _html_lang(client, "/?lang=en") == "en"
    session.expire_all()
    assert session.scalar(select(User.language).where(User.username == "auditor")) is None


def test_the_switch_keeps_the_pages_filters(app, login):
    client = app.test_client()
    login(client, "auditor")
    page = client.get("/tasks?state=dispatched&lang=zh-CN").get_data(as_text=True)
    english = page.split('id="lang-en"', 1)[0].rsplit("<a href=\"", 1)[1].split('"', 1)[0]
    assert english.replace("&amp;", "&") == "?state=dispatched&lang=en&remember=1"


@pytest.mark.parametrize("choice, lang", [("zh_Hans_CN", "zh-CN"), ("en", "en")])
def test_admin_pages_name_their_language_as_the_main_pages_do(app, login, choice, lang):
    """Flask-Admin's own template writes a bare <html>: screen readers and fonts need the page's language there too,
    on its lists, its details and the admin's own pages."""
    client = app.test_client()
    login(client, "auditor")
    for url in ("/", "/admin/", "/admin/task/", "/admin/changes/", "/admin/history/"):
        assert _html_lang(client, f"{url}?lang={choice}") == lang, url
