"""Auditors and assessors read the authoring pages that are not model views — task templates, event
imports, firing and change history — and can change nothing there; a field unit is refused."""
from __future__ import annotations

import pytest


READ_ONLY_PAGES = ["/admin/templates/", "/admin/templates/edit/?code=night-patrol", "/admin/import/",
                   "/admin/history/", "/admin/changes/"]


@pytest.fixture()
def no_csrf(app):
    """The guard, not the CSRF check, must answer these POSTs (call it after logging in)."""
    return lambda: app.config.__setitem__("WTF_CSRF_ENABLED", False)


@pytest.mark.parametrize("username", ["auditor", "assessor"])
def test_readers_see_the_pages_without_controls_and_cannot_change_anything(app, username, no_csrf, login):
    client = app.test_client()
    login(client, username)
    no_csrf()
    for url in READ_ONLY_PAGES:
        response = client.get(url, headers={"Accept-Language": "zh-CN"})
        assert response.status_code == 200, url
    editor = client.get("/admin/templates/edit/?code=night-patrol").get_data(as_text=True)
    assert 'id="read-only"' in editor and 'id="save"' not in editor and "<fieldset disabled" in editor
    assert 'href="/admin/templates/edit/"' not in client.get("/admin/templates/").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' not in client.get("/admin/import/").get_data(as_text=True)
    design = '{"code": "night-patrol", "name_zh": "夜巡", "name_en": "Night patrol", "fields": []}'
    assert client.post("/admin/templates/edit/?code=night-patrol", data={"design": design}).status_code == 403
    assert client.post("/admin/import/", data={}).status_code == 403
    assert client.post("/admin/import/999999999/cancel", data={}).status_code == 403


def test_an_admin_gets_the_controls(app, login):
    client = app.test_client()
    login(client, "admin")
    editor = client.get("/admin/templates/edit/?code=night-patrol").get_data(as_text=True)
    assert 'id="save"' in editor and "<fieldset disabled" not in editor
    assert 'enctype="multipart/form-data"' in client.get("/admin/import/").get_data(as_text=True)


def test_a_field_unit_is_refused(app, login):
    client = app.test_client()
    login(client, "dongcheng")
    for url in READ_ONLY_PAGES:
        assert client.get(url).status_code == 403, url
