"""The admin: role-gated, CSRF-protected, the working calendar editable and its gaps shown."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import select, update

from engine.core import clock
from engine.core.models import Event, Holiday
from tests.helpers import bearer, csrf_from, event


def test_admin_shows_the_missing_year_and_records_a_holiday(app, client, session, login):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    clock.set_clock(lambda: datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc))
    index = client.get("/admin/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "2027 年尚无节假日数据" in index
    form = client.get("/admin/holiday/new/").get_data(as_text=True)
    refused = client.post("/admin/holiday/new/", data={"day": "2027-01-01", "kind": "holiday", "name": "元旦"})
    assert session.get(Holiday, date(2027, 1, 1)) is None and refused.status_code in (200, 400)
    created = client.post("/admin/holiday/new/", data={"day": "2027-01-01", "kind": "holiday", "name": "元旦",
                                                        "csrf_token": csrf_from(form)})
    assert created.status_code == 302
    session.expire_all()
    row = session.scalar(select(Holiday).where(Holiday.day == date(2027, 1, 1)))
    assert (row.kind, row.name, row.source) == ("holiday", "元旦", "admin")


def test_admin_is_closed_to_other_roles(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.get("/admin/holiday/").status_code == 302  # to the login page
    login(client, "dispatcher")
    assert client.get("/admin/holiday/").status_code == 403


def test_the_queue_dashboard_is_for_administrators_only(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.get("/rq/").status_code == 302
    login(client, "dispatcher")
    assert client.get("/rq/").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})
    login(client, "admin")
    page = client.get("/rq/")
    assert page.status_code == 200 and "RQ" in page.get_data(as_text=True)
    queues = client.get("/rq/0/data/queues.json")
    assert queues.status_code == 200 and "queues" in queues.get_json()


def test_the_event_records_name_a_failed_evaluation_in_the_users_language(client, intake_token, session, login):
    event_id = client.post("/api/v1/events", json=event(), headers=bearer(intake_token)).get_json()["id"]
    session.execute(update(Event).where(Event.id == event_id).values(status="failed"))
    session.commit()
    login(client, "admin")
    assert "评估失败" in client.get("/admin/event/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Evaluation failed" in client.get("/admin/event/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_a_day_is_opened_by_its_date_and_a_wrong_date_is_no_record(client, login, session):
    """A holiday's key is a date: its details and edit pages open from the list's ISO link, on SQLite too."""
    day = session.get(Holiday, date(2026, 10, 10))
    assert day is not None and day.kind == "workday"
    login(client, "admin")
    details = client.get("/admin/holiday/details/?id=2026-10-10")
    assert details.status_code == 200 and "2026-10-10" in details.get_data(as_text=True)
    edit = client.get("/admin/holiday/edit/?id=2026-10-10")
    assert edit.status_code == 200 and 'value="2026-10-10"' in edit.get_data(as_text=True)
    assert client.get("/admin/holiday/details/?id=2026-13-40").status_code == 302  # no record: back to the list
    login(client, "auditor")
    assert client.get("/admin/holiday/details/?id=2026-10-10").status_code == 200
