"""Flask-Admin's own messages that its shipped Chinese catalogue lacks come out in Chinese."""
from __future__ import annotations

from tests.helpers import csrf_from


def test_a_refused_admin_form_says_so_in_chinese(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    login(client, "admin")
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    form = client.get("/admin/holiday/new/", headers=zh).get_data(as_text=True)
    refused = client.post("/admin/holiday/new/", headers=zh,
                          data={"day": "", "kind": "holiday", "name": "元旦", "csrf_token": csrf_from(form)})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "创建记录失败。" in page and "Failed to create record." not in page
    english = client.post("/admin/holiday/new/?lang=en", data={"day": "", "kind": "holiday", "name": "x",
                                                               "csrf_token": csrf_from(form)})
    assert "Failed to create record." in english.get_data(as_text=True)
