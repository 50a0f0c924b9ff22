"""The holiday notice in the admin (issue 15, point 8): the admin home names the first day without holiday data
(2027-01-01 in December 2026), a file with an unknown date format is refused next to the file field with nothing
stored, and a good file completes the year."""
from __future__ import annotations

import io
from datetime import datetime, timezone

from sqlalchemy import select

from engine.core import clock
from engine.core.models import CalendarYear
from tests.helpers import csrf_from


def upload(client, page: str, year: int, text: str):
    return client.post("/admin/holiday-notice/?lang=zh-CN", data={
        "year": str(year), "csrf_token": csrf_from(page),
        "file": (io.BytesIO(text.encode("utf-8")), "notice.csv")}, content_type="multipart/form-data")


def test_the_admin_is_warned_and_imports_a_notice(app, client, csrf_on, login, session):
    clock.set_clock(lambda: datetime(2026, 12, 6, 2, tzinfo=timezone.utc))
    login(client, "admin")
    home = client.get("/admin/?lang=zh-CN").get_data(as_text=True)
    assert 'id="calendar-gap"' in home and "2027-01-01" in home
    page = client.get("/admin/holiday-notice/?lang=zh-CN").get_data(as_text=True)
    assert "2027-01-01" in page
    bad = upload(client, page, 2032, "日期,类型,名称\n2032-01-01,放假,元旦\n1.5.2032,放假,劳动节\n")
    html = bad.get_data(as_text=True)
    assert "第 3 行" in html and "field-error" in html
    session.expire_all()
    assert session.get(CalendarYear, 2032) is None
    good = upload(client, page, 2032, "日期,结束日期,类型,名称\n2032-01-01,,放假,元旦\n2032-02-10,2032-02-16,放假,春节\n")
    assert 'id="notice-result"' in good.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(CalendarYear.source).where(CalendarYear.year == 2032)) == "notice"


def test_a_reader_sees_the_page_but_cannot_import(client, login):
    login(client, "auditor")
    assert client.get("/admin/holiday-notice/").status_code == 200
    assert client.post("/admin/holiday-notice/", data={"year": "2033"}).status_code in (400, 403)
