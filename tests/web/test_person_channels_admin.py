"""A person's own delivery channel (issue 15 point 6), kept in Admin → Recipients under the scope "A person's own
(on duty)": it must name the person, other scopes must not; errors appear next to the field in both languages
and nothing is saved."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from engine.core.models import Person, Recipient
from tests.helpers import csrf_from, unique


def form(token: str, name: str, scope: str, person: int | None) -> dict[str, str]:
    return {"csrf_token": token, "name": name, "scope": scope, "person": str(person) if person else "__None", "channel": "webhook",
            "address": "https://duty.example/hook", "language": "zh", "enabled": "y"}


def count(session, name: str) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Recipient).where(Recipient.name == name))


def test_an_admin_gives_a_person_a_channel_and_a_scope_mismatch_is_named(app, client, login, session):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    listing = client.get("/admin/recipient/new/?lang=zh_Hans_CN").get_data(as_text=True)
    assert "个人渠道（值班）" in listing
    token = csrf_from(listing)
    person = session.scalar(select(Person).where(Person.name == "张伟"))
    name = unique("duty-channel")
    for lang, words in (("en", "Choose the person whose channel this is."), ("zh_Hans_CN", "请选择该渠道所属的人员")):
        page = client.post(f"/admin/recipient/new/?lang={lang}", data=form(token, name, "person", None))
        assert page.status_code == 200 and words in page.get_data(as_text=True)
    page = client.post("/admin/recipient/new/?lang=en", data=form(token, name, "unit", person.id))
    assert "Only a recipient of the person scope names a person." in page.get_data(as_text=True)
    assert count(session, name) == 0
    assert client.post("/admin/recipient/new/", data=form(token, name, "person", person.id)).status_code == 302
    saved = session.scalar(select(Recipient).where(Recipient.name == name))
    assert saved.scope == "person" and saved.person_id == person.id and saved.enabled


def test_the_recipient_list_names_each_channel_in_the_readers_language_only(client, login, session):
    """Every demo duty channel read "周立新 值班 / on duty" in both languages at once."""
    person = session.scalar(select(Person).where(Person.name == "张伟"))
    duty = Recipient(name=f"{person.name} 值班 / on duty", scope="person", person_id=person.id, channel="email",
                     address="duty-zw@civicrules.invalid", language="zh", enabled=False)
    group = Recipient(name="东城街道群 / Dongcheng group", scope="oncall", channel="email",
                      address="dc-group@civicrules.invalid", language="zh", enabled=False)
    session.add_all([duty, group])
    session.flush()
    login(client, "admin")
    for lang, shown in (("zh_Hans_CN", {duty.id: "张伟 值班", group.id: "东城街道群"}),
                        ("en", {duty.id: "张伟 on duty", group.id: "Dongcheng group"})):
        for record, search in ((duty, "张伟"), (group, "Dongcheng")):
            page = client.get(f"/admin/recipient/?lang={lang}&search={search}").get_data(as_text=True)
            row = page.split(f'name="rowid" class="action-checkbox" value="{record.id}"', 1)[1].split("</tr>", 1)[0]
            assert re.search(r'<td class="col-name">(.*?)</td>', row, re.S).group(1).strip() == shown[record.id]
