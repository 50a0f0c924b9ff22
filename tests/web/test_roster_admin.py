"""The roster (值班表) in the admin through HTTP with CSRF on: a week entered as a pattern shows its people in
local time with holidays marked, bad cells and a shift that ends before it starts are refused next to their
fields with nothing stored, and the admin home warns of tonight's gaps, by unit, until the night is covered."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select

from engine.core import clock
from engine.core.models import Person, Shift, Unit
from engine.people.roster import add_shift, units_on_call
from tests.helpers import csrf_from

ZONE = ZoneInfo("Asia/Shanghai")
#: A week far from the demo's roster (two weeks from the real Monday), with National Day on Wednesday.
NATIONAL_DAY_WEEK = date(2025, 9, 29)


@pytest.fixture()
def admin(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    return client


def _ids(session, *codes: str) -> list[int]:
    found = dict(session.execute(select(Person.code, Person.id).where(Person.code.in_(codes))).all())
    return [found[c] for c in codes]


def _unit(session, code: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.code == code))


def _post(client, url: str, data: dict, lang: str = "en"):
    url = f"{url}&lang={lang}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def _near(html: str, anchor: str, message: str, window: int = 1500) -> bool:
    """The message is shown right after the field named `anchor`, not only in a banner."""
    at = html.find(f'name="{anchor}"')
    if at >= 0 and html.rfind("<select", 0, at) > html.rfind(">", 0, at):
        at = html.find("</select>", at)
    return at >= 0 and message in unescape(html[at:at + window])


def _week(day: list[int | None], night: list[int | None], holiday: int | None = None, **extra) -> dict:
    data = {"action": "week", "holiday": str(holiday or ""), "day_starts": "08:00", "night_starts": "18:00",
            "weeks": "1"}
    for i in range(7):
        data[f"day_{i}"] = str(day[i] or "")
        data[f"night_{i}"] = str(night[i] or "")
    return {**data, **extra}


def _shifts(session, unit_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Shift).where(Shift.unit_id == unit_id))


def test_a_week_saved_shows_its_people_by_day_and_night_in_local_time_with_the_holiday_marked(admin, session):
    unit = _unit(session, "ZD-DC")
    zhang, cao, shi = _ids(session, "ZDDC-002", "ZDDC-003", "ZDDC-001")
    url = f"/admin/roster/?unit={unit.id}&week={NATIONAL_DAY_WEEK.isoformat()}"
    saved = _post(admin, url, _week([zhang] * 7, [cao] * 7, holiday=shi))
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]

    page = admin.get(url + "&lang=en").get_data(as_text=True)
    assert "The roster of ZD-DC Dongcheng Sub-district Enforcement Squad is saved" in page
    assert "Times are local (Beijing time)." in page and "Asia/Shanghai" not in page
    assert "北京时间" in admin.get(url + "&lang=zh_Hans_CN").get_data(as_text=True)
    table = unescape(re.search(r'id="roster-week-table".*?</table>', page, re.DOTALL).group(0))
    days = re.findall(r'<tr class="roster-day.*?</tr>', table, re.DOTALL)
    assert len(days) == 7
    monday, wednesday = days[0], days[2]
    assert "2025-09-29" in monday and "08:00–18:00: 张伟" in monday and "18:00–08:00 (+1): 曹阳" in monday
    assert "National Day" in wednesday and "施伟" in wednesday and "张伟" not in wednesday  # 全天 on the holiday
    assert "08:00–08:00 (+1): 施伟" in wednesday
    chinese = admin.get(url + "&lang=zh-CN").get_data(as_text=True)
    week = re.search(r'id="roster-week-table".*?</table>', chinese, re.DOTALL).group(0)
    assert "国庆节" in week and "National Day" not in week  # chinese-calendar's names, in the reader's language
    assert "139****" not in table and "13900000024" in table  # an administrator reads whole numbers
    # The form is filled from what is stored, so the next save starts from it.
    assert re.search(rf'name="day_0"[^>]*>.*?<option selected value="{zhang}"', page, re.DOTALL) or \
        re.search(rf'name="day_0"[^>]*>.*?<option value="{zhang}" selected', page, re.DOTALL)


def test_bad_cells_of_a_week_are_named_next_to_their_fields_and_nothing_is_stored(admin, session):
    unit = _unit(session, "ZD-DC")
    zhang, stranger = _ids(session, "ZDDC-002", "ZDXC-002")
    before = _shifts(session, unit.id)
    url = f"/admin/roster/?unit={unit.id}&week={NATIONAL_DAY_WEEK.isoformat()}"
    night = [zhang] * 7
    night[3] = stranger  # 邹静 of the Xicheng squad on Thursday night
    for lang, message in (("en", "邹静 belongs to Xicheng Sub-district Enforcement Squad, not to"),
                          ("zh", "邹静属于「西城街道执法中队」，不属于「东城街道执法中队」")):
        refused = _post(admin, url, _week([zhang] * 7, night, weeks="27", night_starts="07:00"), lang=lang)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 200
        assert _near(html, "night_3", message), html[html.find('name="night_3"'):][:1500]
    assert _near(html, "weeks", "重复周数须为 1–26")
    assert _near(html, "night_starts", "夜班开始时间须晚于白班开始时间")
    assert _shifts(session, unit.id) == before


def test_a_shift_that_ends_before_it_starts_is_refused_next_to_the_end_and_none_is_stored(admin, session):
    unit = _unit(session, "ZD-DC")
    (zhang,) = _ids(session, "ZDDC-002")
    before = _shifts(session, unit.id)
    url = f"/admin/roster/?unit={unit.id}&week=2031-03-03"
    shift = {"action": "shift", "person": str(zhang), "kind": "night", "starts_at": "2031-03-04T18:00",
             "ends_at": "2031-03-04T08:00"}
    for lang, message in (("en", "a shift ends after it starts"), ("zh", "班次的结束时间须晚于开始时间")):
        refused = _post(admin, url, shift, lang=lang)
        assert refused.status_code == 200
        assert _near(refused.get_data(as_text=True), "ends_at", message)
    assert _shifts(session, unit.id) == before

    added = _post(admin, url, {**shift, "ends_at": "2031-03-05T08:00"})
    assert added.status_code == 302
    stored = session.scalar(select(Shift).where(Shift.unit_id == unit.id).order_by(Shift.id.desc()).limit(1))
    assert (stored.person_id, stored.kind) == (zhang, "night")
    assert stored.starts_at == datetime(2031, 3, 4, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai, stored in UTC
    page = admin.get(url + "&lang=en").get_data(as_text=True)
    assert "18:00–08:00 (+1): 张伟" in unescape(page)


def test_readers_see_the_roster_with_phones_masked_and_without_forms(app, login, admin, session):
    unit = _unit(session, "ZD-DC")
    zhang, cao = _ids(session, "ZDDC-002", "ZDDC-003")
    url = f"/admin/roster/?unit={unit.id}&week={NATIONAL_DAY_WEEK.isoformat()}"
    assert _post(admin, url, _week([zhang] * 7, [cao] * 7)).status_code == 302
    reader = app.test_client()
    assert login(reader, "auditor").status_code == 302
    page = unescape(reader.get(url + "&lang=en").get_data(as_text=True))
    assert "张伟" in page and "139****0024" in page and "13900000024" not in page
    assert 'id="roster-week-form"' not in page and 'id="roster-shift-form"' not in page
    token = csrf_from(reader.get("/admin/staff-import/").get_data(as_text=True))
    assert reader.post(url, data={**_week([zhang] * 7, [cao] * 7), "csrf_token": token}).status_code == 403


def _tonight_alert(client) -> str | None:
    found = re.search(r'id="roster-gaps".*?</div>', client.get("/admin/?lang=en").get_data(as_text=True), re.DOTALL)
    return unescape(found.group(0)) if found else None


def test_the_admin_home_warns_of_a_gap_in_tonights_roster_and_not_when_it_is_covered(admin, session):
    evening = datetime(2031, 3, 4, 21, 0, tzinfo=ZONE)  # a Tuesday evening, past the demo's roster
    clock.set_clock(lambda: evening.astimezone(UTC))
    units = units_on_call(session)
    night = (datetime(2031, 3, 4, 18, 0, tzinfo=ZONE), datetime(2031, 3, 5, 8, 0, tzinfo=ZONE))
    for unit in units:
        person = session.scalar(select(Person).where(Person.unit_id == unit.id, Person.active.is_(True))
                                .order_by(Person.code).limit(1))
        add_shift(session, unit.id, person, night[0].astimezone(UTC), night[1].astimezone(UTC), "night")
    session.commit()
    assert _tonight_alert(admin) is None

    squad = _unit(session, "ZD-XC")
    session.execute(delete(Shift).where(Shift.unit_id == squad.id, Shift.starts_at == night[0].astimezone(UTC)))
    (person,) = _ids(session, "ZDXC-002")  # someone covers only the first hours
    add_shift(session, squad.id, session.get(Person, person), night[0].astimezone(UTC),
              (night[0] + timedelta(hours=4)).astimezone(UTC), "night")
    session.commit()
    alert = _tonight_alert(admin)
    assert alert is not None
    assert "Xicheng Sub-district Enforcement Squad: 22:00–08:00 (+1)" in re.sub(r"<[^>]+>", "", alert)
    assert alert.count("<li>") == 1  # the other units are covered

    clock.set_clock(lambda: (evening + timedelta(days=1)).astimezone(UTC))  # tomorrow night: nobody at all
    alert = _tonight_alert(admin)
    assert alert.count("<li>") == len(units) and "18:00–08:00 (+1)" in alert
