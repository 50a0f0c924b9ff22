"""Error pages in the site's layout and the reader's language, with a way home: a Chinese official refused a page
reads why in Chinese, not Werkzeug's English; API and Open311 clients keep their own answers. A queue offers no link to a page that would refuse its reader."""
from __future__ import annotations

import pytest

ZH = {"Accept-Language": "zh-CN"}


def test_refusal_and_missing_page_are_translated_with_a_link_home(client, login):
    login(client, "checker")
    refused = client.get("/handovers/new", headers=ZH)
    missing = client.get("/no-such-page", headers=ZH)
    assert (refused.status_code, missing.status_code) == (403, 404)
    refused_text, missing_text = refused.get_data(as_text=True), missing.get_data(as_text=True)
    assert "无权访问" in refused_text and "Forbidden" not in refused_text
    assert "页面不存在" in missing_text and "Not Found" not in missing_text
    for page in (refused_text, missing_text):
        assert 'id="error-home" href="/"' in page and 'id="nav-inbox"' in page  # the site's navigation
    english = client.get("/no-such-page?lang=en").get_data(as_text=True)
    assert "Page not found" in english and "Back to the home page" in english


def test_an_anonymous_reader_gets_the_page_too(client):
    page = client.get("/no-such-page", headers=ZH)
    assert page.status_code == 404 and "页面不存在" in page.get_data(as_text=True)


def test_a_crash_shows_the_translated_500_page(app, client, login, monkeypatch):
    def broken():
        raise RuntimeError("boom")
    monkeypatch.setitem(app.view_functions, "pages.home", broken)
    login(client, "dispatcher")
    page = client.get("/", headers=ZH)
    assert page.status_code == 500
    assert "系统出错" in page.get_data(as_text=True) and "boom" not in page.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/v1/no-such", "/open311/no-such"])
def test_api_answers_are_unchanged(client, path):
    answer = client.get(path, headers=ZH)
    assert answer.status_code == 404 and "页面不存在" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("role", ["checker", "collector", "dispatcher", "shift_leader"])
def test_the_handover_link_is_offered_only_to_those_it_opens_for(client, login, role):
    login(client, role)
    queue = client.get("/check" if role in ("checker", "collector") else "/dispatch").get_data(as_text=True)
    offered = 'id="handover-link"' in queue
    assert offered == (client.get("/handovers/new").status_code == 200)
    assert offered == (role in ("dispatcher", "shift_leader"))
