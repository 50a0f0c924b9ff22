"""Admin → Change history never shows a robot key or signing secret, to the administrator or to a reader; the
recipient form never shows the stored secret, and an empty secret field keeps it."""
from __future__ import annotations

from sqlalchemy import select

from engine.core import clock
from engine.core.models import ChangeLogEntry, Recipient
from tests.helpers import csrf_from, unique

ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="


def _form(token: str, name: str, key: str, secret: str) -> dict[str, str]:
    return {"csrf_token": token, "name": name, "scope": "oncall", "person": "__None", "channel": "wecom",
            "address": ROBOT + key, "secret": secret, "language": "zh", "enabled": "y"}


def _changes(client, name: str) -> str:
    page = client.get("/admin/changes/?object_type=Recipient&lang=en")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_change_history_masks_keys_and_an_empty_secret_field_keeps_the_secret(app, client, login, session):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    name, key, new_key = unique("robot"), unique("KEY").upper() + "wxyz", unique("NEWKEY").upper() + "9876"
    token = csrf_from(client.get("/admin/recipient/new/?lang=en").get_data(as_text=True))
    assert client.post("/admin/recipient/new/", data=_form(token, name, key, "FIRST-SIGN-SECRET")).status_code == 302
    recipient = session.scalar(select(Recipient).where(Recipient.name == name))
    edit = client.get(f"/admin/recipient/edit/?id={recipient.id}&lang=en").get_data(as_text=True)
    assert "FIRST-SIGN-SECRET" not in edit and "leave empty to keep the current secret" in edit

    assert client.post(f"/admin/recipient/edit/?id={recipient.id}",
                       data=_form(token, name, new_key, "")).status_code == 302  # a new key, the secret kept
    session.expire_all()
    assert (recipient.address, recipient.secret) == (ROBOT + new_key, "FIRST-SIGN-SECRET")
    assert client.post(f"/admin/recipient/edit/?id={recipient.id}",
                       data=_form(token, name, new_key, "SECOND-SIGN-SECRET")).status_code == 302
    session.expire_all()
    assert recipient.secret == "SECOND-SIGN-SECRET"

    logged = list(session.scalars(select(ChangeLogEntry).where(ChangeLogEntry.object_type == "Recipient",
                                                               ChangeLogEntry.object_id == str(recipient.id))))
    assert len(logged) == 3 and not any(k in repr((e.before, e.after)) for e in logged
                                        for k in (key, new_key, "SIGN-SECRET"))
    auditor = app.test_client()
    assert login(auditor, "auditor").status_code == 302
    for html in (_changes(client, name), _changes(auditor, name)):
        assert "https://qyapi.weixin.qq.com/…****wxyz" in html and "https://qyapi.weixin.qq.com/…****9876" in html
        assert key not in html and new_key not in html and "SIGN-SECRET" not in html


def test_change_history_masks_a_key_logged_before_masking_existed(app, client, login, session):
    """Entries written in clear before 0048 stay (the log is append-only) but are shown masked."""
    key = unique("OLDKEY").upper()
    recipient = Recipient(name=unique("old-robot"), scope="oncall", channel="dingtalk", language="zh",
                          address="https://oapi.dingtalk.com/robot/send?access_token=" + key)
    session.add(recipient)
    session.flush()
    session.add(ChangeLogEntry(at=clock.now(), object_type="Recipient", object_id=str(recipient.id),
                               action="insert", before=None, interface="admin",
                               after={"address": recipient.address, "secret": "[redacted]"}))
    session.commit()
    auditor = app.test_client()
    assert login(auditor, "auditor").status_code == 302
    html = _changes(auditor, recipient.name)
    assert f"https://oapi.dingtalk.com/…****{key[-4:]}" in html and key not in html

