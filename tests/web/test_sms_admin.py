"""The recipient form offers the two SMS channels in both languages and takes only a mobile number for them."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from engine.core.models import Recipient
from tests.helpers import csrf_from


def _form(client, lang: str) -> str:
    page = client.get(f"/admin/recipient/new/?lang={lang}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _recipient_form(name: str, channel: str, address: str) -> dict:
    return {"name": name, "scope": "oncall", "channel": channel, "address": address, "language": "zh",
            "enabled": "y"}


def test_the_form_offers_sms_and_checks_the_number_next_to_the_field(app, client, login, session):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    zh, en = _form(client, "zh"), _form(client, "en")
    assert '<option value="aliyun_sms">短信（阿里云）</option>' in zh
    assert '<option value="tencent_sms">短信（腾讯云）</option>' in zh
    assert '<option value="aliyun_sms">SMS (Aliyun)</option>' in en and "SMS (Tencent Cloud)" in en

    name = f"sms-{uuid.uuid4().hex[:8]}"
    refused = client.post("/admin/recipient/new/?lang=zh", data={
        **_recipient_form(name, "tencent_sms", "139 0000 00"), "csrf_token": csrf_from(zh)})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200
    error = html.index("请输入手机号码")
    assert html.rindex('name="address"', 0, error) > html.rindex('name="channel"', 0, error)  # under the address
    assert error < html.index('name="secret"')
    assert session.scalar(select(Recipient).where(Recipient.name == name)) is None

    saved = client.post("/admin/recipient/new/?lang=en", data={
        **_recipient_form(name, "aliyun_sms", "+86 139 0000 0011"), "csrf_token": csrf_from(en)})
    assert saved.status_code == 302
    recipient = session.scalar(select(Recipient).where(Recipient.name == name))
    assert (recipient.channel, recipient.address) == ("aliyun_sms", "+8613900000011")

    webhook = f"hook-{uuid.uuid4().hex[:8]}"
    hook = client.post("/admin/recipient/new/?lang=en", data={
        **_recipient_form(webhook, "webhook", "https://example.org/hook"), "csrf_token": csrf_from(en)})
    assert hook.status_code == 302  # other channels keep their URL addresses

    auditor = app.test_client()
    assert login(auditor, "auditor").status_code == 302
    listing = auditor.get(f"/admin/recipient/?lang=en&search={name}").get_data(as_text=True)  # 50 a page
    assert "+86****0011" in listing and "+8613900000011" not in listing  # readers see the number masked
