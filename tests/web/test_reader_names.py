"""Pages name things in the reader's language, as a Chinese official or an English reader expects: a task's grid
by its name (not only its code), a unit account's unit by its name, and whoever acted by the person's name rather
than the login name; a text stored in both languages in the reader's half."""
from __future__ import annotations

from sqlalchemy import select

from engine.cases.stages import note
from engine.core import clock
from engine.core.models import Grid, Person, Unit, User
from tests.helpers import act, new_task, user


def test_task_pages_name_the_grid_in_the_readers_language(client, login, factory, drain, session):
    task = new_task(factory, drain, session, grid="DC-02")
    grid = session.scalar(select(Grid).where(Grid.code == "DC-02"))
    login(client, "admin")
    for lang, name, other in (("zh-CN", grid.name_zh, grid.name_en), ("en", grid.name_en, grid.name_zh)):
        listed = client.get(f"/tasks?q={task.id}&lang={lang}").get_data(as_text=True)  # by number: others page first
        shown = client.get(f"/tasks/{task.id}?lang={lang}").get_data(as_text=True)
        assert name in listed and name in shown
        assert f"· {grid.code}" not in listed and f"· {grid.code}<br>" not in shown
        assert other not in shown


def test_a_unit_accounts_home_names_its_unit_in_english(client, login, session):
    unit = session.scalar(select(Unit).where(Unit.code == "JD-DC"))
    login(client, "dongcheng")
    home = client.get("/?lang=en").get_data(as_text=True)
    assert f"Unit: {unit.name_en}" in home and unit.name_zh not in home


def test_the_dispatchers_home_counts_waiting_cases_with_chinese_punctuation(client, login):
    login(client, "dispatcher")
    home = client.get("/?lang=zh-CN").get_data(as_text=True)
    waiting = home.split('id="cases-waiting"', 1)[1].split("</p>", 1)[0]
    assert "</a>：<strong>" in waiting


def test_people_are_named_not_their_logins(client, login, factory, drain, session):
    task = new_task(factory, drain, session)
    act(session, task, "sign", "dc_point")  # the account of a person of 东城街道
    name = session.scalar(select(Person.name).where(Person.user_id == user(session, "dc_point").id))
    login(client, "dc_point")
    assert f"欢迎，{name}" in client.get("/?lang=zh-CN").get_data(as_text=True)
    client.post("/logout")
    login(client, "admin")
    history = client.get(f"/tasks/{task.id}?lang=zh-CN").get_data(as_text=True).split('id="history"', 1)[1]
    assert f"· {name}" in history and "· dc_point" not in history


def test_texts_stored_in_both_languages_show_the_readers_half(client, login, factory, drain, session):
    task = new_task(factory, drain, session)
    note(session, task.case, clock.now(), None, "模拟测评失分，交点位责任单位整改 / lost points in a mock evaluation round")
    note(session, task.case, clock.now(), None, "handed over by the committee / 城管委交办")
    note(session, task.case, clock.now(), None, "东门 / 西门 都有占道")  # what a person typed stays whole
    session.commit()
    login(client, "admin")
    english = client.get(f"/cases/{task.case_id}?lang=en").get_data(as_text=True).split('id="history"', 1)[1]
    chinese = client.get(f"/cases/{task.case_id}?lang=zh-CN").get_data(as_text=True).split('id="history"', 1)[1]
    assert "· lost points in a mock evaluation round" in english and "模拟测评失分" not in english
    assert "· 模拟测评失分，交点位责任单位整改<" in chinese and "lost points" not in chinese
    assert "· handed over by the committee<" in english and "· 城管委交办<" in chinese
    assert "东门 / 西门 都有占道" in english and "东门 / 西门 都有占道" in chinese


def test_the_security_audit_log_reads_in_one_language(client, login):
    login(client, "audit_admin")
    english = client.get("/admin/security_audit/?lang=en").get_data(as_text=True)
    chinese = client.get("/admin/security_audit/?lang=zh-CN").get_data(as_text=True)
    assert "signed in" in english and "登录 / signed in" not in english
    assert "登录" in chinese and "signed in" not in chinese


def test_the_top_bar_names_the_signed_in_person_and_falls_back_to_the_login(client, login, session):
    """The main pages' and the admin's top bar say who is signed in by the person's name (张伟), with the role on the
    main pages; a unit's shared account, linked to no person, keeps its login name."""
    zhangwei = session.scalar(select(Person).where(Person.user.has(username="zhangwei")))
    login(client, "zhangwei")
    for lang, role in (("zh-CN", "处置单位"), ("en", "Field unit")):
        bar = client.get(f"/?lang={lang}").get_data(as_text=True).split('id="nav-user">', 1)[1].split("</span>")[0]
        assert bar == f"{zhangwei.name} · {role}", bar
    login(client, "dongcheng")
    assert 'id="nav-user">dongcheng · ' in client.get("/?lang=en").get_data(as_text=True)

    auditor = session.scalar(select(Person).where(Person.user_id.is_(None), Person.active.is_(True)))
    auditor.user = session.scalar(select(User).where(User.username == "auditor"))
    session.flush()
    login(client, "auditor")
    for lang in ("zh_Hans_CN", "en"):
        admin = client.get(f"/admin/?lang={lang}").get_data(as_text=True)
        assert f'id="admin-user">{auditor.name}</span>' in admin
    login(client, "admin")
    assert 'id="admin-user">admin</span>' in client.get("/admin/").get_data(as_text=True)
