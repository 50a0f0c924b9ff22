"""The change log: admin, API and CLI edits each leave one entry with before/after and the interface."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from engine.audit import seals as audit
from engine.core import clock

from engine.accounts.users import create_user
from engine.audit.changelog import REDACTED, acting
from engine.core.models import ChangeLogEntry, Holiday, User
from tests.helpers import csrf_from


def _entries(session, object_type: str, object_id: str) -> list[ChangeLogEntry]:
    session.expire_all()
    return list(session.scalars(select(ChangeLogEntry).where(ChangeLogEntry.object_type == object_type,
                                                             ChangeLogEntry.object_id == object_id)
                                .order_by(ChangeLogEntry.id)))


def test_an_admin_edit_is_logged_with_who_and_before_after(app, client, session, login):
    app.config["WTF_CSRF_ENABLED"] = True
    login(client, "admin")
    form = client.get("/admin/holiday/new/").get_data(as_text=True)
    created = client.post("/admin/holiday/new/", data={"day": "2031-05-01", "kind": "holiday", "name": "劳动节",
                                                        "csrf_token": csrf_from(form)})
    assert created.status_code == 302
    [entry] = _entries(session, "Holiday", "2031-05-01")
    assert (entry.action, entry.interface, entry.username, entry.before) == ("insert", "admin", "admin", None)
    assert entry.after["name"] == "劳动节" and entry.after["kind"] == "holiday"
    row = session.get(Holiday, date(2031, 5, 1))
    with acting("system"):
        session.delete(row)
        session.commit()
    assert [e.action for e in _entries(session, "Holiday", "2031-05-01")] == ["insert", "delete"]


def test_an_api_sign_in_that_clears_failures_is_logged_as_an_api_change_of_the_user(client, session):
    name = "changelog-api"
    with acting("system"):
        user = create_user(session, name, "auditor", "right-password-1", None)
        session.commit()
    ident = str(user.id)
    refused = client.post("/api/v1/auth/token", json={"username": name, "password": "wrong"})
    assert refused.status_code == 401  # counted by a bulk UPDATE: lockout bookkeeping, not an edit
    signed_in = client.post("/api/v1/auth/token", json={"username": name, "password": "right-password-1"})
    assert signed_in.status_code == 201  # clears the failure count on the user through the ORM
    entries = _entries(session, "User", ident)
    assert [(e.action, e.interface) for e in entries] == [("insert", "system"), ("update", "api")]
    assert entries[1].before["failed_logins"] == 1 and entries[1].after["failed_logins"] == 0


def test_a_cli_user_creation_is_logged_without_the_password_hash(env, session):
    from app.cli import main

    name = "changelog-cli"
    result = CliRunner().invoke(main, ["user", "create", name, "--role", "auditor", "--password", "cli-pass-123"],
                                env=env)
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == name))
    [entry] = _entries(session, "User", str(user.id))
    assert (entry.action, entry.interface) == ("insert", "cli")
    assert entry.after["password_hash"] == REDACTED and user.password_hash not in str(entry.after)


def test_a_password_change_logs_no_hash(session):
    name = "changelog-pw"
    with acting("admin", 1, "admin"):
        user = create_user(session, name, "auditor", "first-password-1", None)
        session.commit()
        old_hash = user.password_hash
        user.password_hash = "pbkdf2:sha256:new-hash-value"
        session.commit()
    entries = _entries(session, "User", str(user.id))
    assert entries[-1].action == "update"
    assert entries[-1].before == {"password_hash": REDACTED} and entries[-1].after == {"password_hash": REDACTED}
    assert all(old_hash not in str(e.after) and "new-hash-value" not in str(e.after) for e in entries)


def _forge(factory, entry_id: int, username: str | None) -> None:
    with factory() as s:
        if s.bind.dialect.name == "postgresql":
            s.execute(text("SET session_replication_role = replica"))  # what an intruder with superuser could do
        s.execute(update(ChangeLogEntry).where(ChangeLogEntry.id == entry_id).values(username=username))
        s.commit()
        if s.bind.dialect.name == "postgresql":
            s.execute(text("SET session_replication_role = DEFAULT"))
            s.commit()


def test_an_edited_change_log_row_is_named_by_audit_verify(env, factory, session):
    from app.cli import main

    with acting("admin", 1, "admin"):
        session.add(Holiday(day=date(2032, 10, 1), kind="holiday", name="国庆节", source="admin"))
        session.commit()
    [entry] = _entries(session, "Holiday", "2032-10-01")
    with factory() as s:
        audit.seal(s, now=clock.now() + timedelta(minutes=5))
    with factory() as s:
        if s.bind.dialect.name == "postgresql":
            with pytest.raises(DBAPIError, match="append-only"):
                s.execute(update(ChangeLogEntry).where(ChangeLogEntry.id == entry.id).values(username="nobody"))
            s.rollback()
    _forge(factory, entry.id, "nobody")
    result = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert result.exit_code == 1
    assert f"change_log: row {entry.id}: content changed" in result.output
    _forge(factory, entry.id, "admin")  # put back, the chain verifies again
    intact = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert intact.exit_code == 0 and "change_log:" in intact.output and "chain intact" in intact.output


def test_the_change_history_shows_fields_who_interface_and_the_version_it_went_into(app, client, session, login):
    from engine.core.models import Campaign, RulesetVersion

    code = "changelog-campaign"
    with acting("admin", 1, "admin"):
        campaign = Campaign(code=code, name_zh="旧名", name_en="Old name")
        session.add(campaign)
        session.commit()
        campaign.name_en = "New name"
        session.commit()
        session.add(RulesetVersion(campaign_id=campaign.id, number=1, content_hash="c" * 64, rules={}, compiled={},
                                   comment="", published_at=clock.now() + timedelta(seconds=1)))
        session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    login(client, "auditor")
    page = client.get("/admin/changes/?object_type=Campaign&user=admin&interface=admin",
                      headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Old name" in html and "New name" in html and code in html
    assert "#1 (" in html  # the ruleset version the change went into
    login(client, "dispatcher")
    assert client.get("/admin/changes/").status_code == 403


def test_the_change_history_pages_by_keyset(session):
    from engine.audit.changelog import ChangeFilter, page

    first, after = page(session, ChangeFilter(), size=2)
    assert len(first) == 2 and after is not None
    second, _ = page(session, ChangeFilter(), after=after, size=2)
    assert second and all((e.at, e.id) < (first[-1].at, first[-1].id) for e in second)


def test_a_timeline_step_is_logged_under_its_campaign(session):
    from engine.core.models import Timeline, TimelineStep

    with acting("system"):
        timeline = session.scalars(select(Timeline).limit(1)).first()
        step = TimelineStep(timeline_id=timeline.id, position=99, anchor="after", after_minutes=5,
                            action="remind")
        session.add(step)
        session.commit()
        [entry] = _entries(session, "TimelineStep", str(step.id))
        assert entry.campaign_id == timeline.campaign_id and entry.after["position"] == 99
