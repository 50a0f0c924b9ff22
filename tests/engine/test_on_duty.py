"""On duty (issue 15 point 6): outside office hours a unit's alert reaches the person on duty through their own
channel, not the unit's day address; in office hours nothing changes; a roster gap falls back visibly.

Real HTTP receivers on 127.0.0.1 and the injected clock, never the wall-clock hour.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.core import clock
from engine.core.models import OutboxMessage, Person, Unit
from engine.core.worktime import WorkCalendar
from engine.people.roster import add_shift
from engine.people.staff import save_person
from tests.engine import test_notify
from tests.engine.test_notify import _deliver, _message, _recipient, _unit
from tests.helpers import unique

serve, allowed = test_notify.serve, test_notify.allowed  # the real HTTP receivers and the loopback allow-list

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEDNESDAY_NIGHT = datetime(2026, 11, 18, 22, 0, tzinfo=SHANGHAI)  # a working day, after office hours
SATURDAY_MORNING = datetime(2026, 11, 21, 10, 0, tzinfo=SHANGHAI)  # office hours' clock time, but a weekend
WEDNESDAY_MORNING = datetime(2026, 11, 18, 10, 0, tzinfo=SHANGHAI)


def _person(session, unit: Unit, name: str) -> Person:
    return save_person(session, code=unique("DUTY"), name=name, position="responsible", unit=unit,
                       phone="139" + "".join(random.choices("0123456789", k=8)))


def _unit_with_roster(session, serve, at: datetime) -> tuple[Unit, object, object, Person]:
    """A unit with a day webhook, and a person on duty around `at` whose own webhook is another receiver."""
    unit = _unit(session)
    day, personal = serve(), serve()
    _recipient(session, scope="unit", unit_id=unit.id, channel="webhook", address=day.url)
    duty = _person(session, unit, "值班员甲")
    _recipient(session, scope="person", person_id=duty.id, channel="webhook", address=personal.url)
    add_shift(session, unit.id, duty, at - timedelta(hours=4), at + timedelta(hours=10), kind="night")
    return unit, day, personal, duty


@pytest.mark.parametrize("at", [WEDNESDAY_NIGHT, SATURDAY_MORNING], ids=["22:00 on a working day", "a Saturday"])
def test_an_alert_outside_office_hours_reaches_the_person_on_duty_not_the_day_address(factory, serve, allowed, at):
    clock.set_clock(lambda: at)
    with factory() as s:
        unit, day, personal, duty = _unit_with_roster(s, serve, at)
        row = _message(s, f"unit:{unit.id}", kind="notify", message="井盖缺失，请立即处置")
        key = row.idempotency_key
        s.commit()
    _deliver(factory, at)
    assert day.keyed(key) == []
    [received] = personal.keyed(key)
    body = received.json()
    assert "井盖缺失" in body["text"]
    assert body["payload"]["duty"]["reached"] == ["值班员甲"] and body["payload"]["duty"]["gap"] is None


def test_an_alert_in_office_hours_goes_to_the_day_address(factory, serve, allowed):
    clock.set_clock(lambda: WEDNESDAY_MORNING)
    with factory() as s:
        unit, day, personal, _duty = _unit_with_roster(s, serve, WEDNESDAY_MORNING)
        key = _message(s, f"unit:{unit.id}", kind="notify", message="白天的提醒").idempotency_key
        s.commit()
    _deliver(factory, WEDNESDAY_MORNING)
    assert personal.keyed(key) == []
    [received] = day.keyed(key)
    assert "duty" not in received.json()["payload"] and "值班" not in received.json()["text"]


def test_a_roster_gap_falls_back_to_the_day_address_and_on_call_and_says_so(factory, serve, allowed):
    clock.set_clock(lambda: WEDNESDAY_NIGHT)
    with factory() as s:
        unit, day, personal, _duty = _unit_with_roster(s, serve, WEDNESDAY_NIGHT - timedelta(days=7))
        oncall = serve()
        _recipient(s, scope="oncall", channel="webhook", address=oncall.url)
        row = _message(s, f"unit:{unit.id}", kind="notify", message="夜间无人值班")
        key, row_id = row.idempotency_key, row.id
        s.commit()
    _deliver(factory, WEDNESDAY_NIGHT)
    assert personal.keyed(key) == []
    [received] = day.keyed(key)
    assert received.json()["payload"]["duty"]["gap"] == "no_one_on_duty"
    assert "无人值班可达" in received.json()["text"]  # the recipient's language: the gap is said in the message
    assert len(oncall.keyed(key)) == 1
    with factory() as s:
        assert s.get(OutboxMessage, row_id).payload["duty"]["gap"] == "no_one_on_duty"


def test_a_person_on_duty_without_an_enabled_channel_is_a_gap_too(factory, serve, allowed):
    clock.set_clock(lambda: WEDNESDAY_NIGHT)
    with factory() as s:
        unit = _unit(s)
        day = serve()
        _recipient(s, scope="unit", unit_id=unit.id, channel="webhook", address=day.url)
        duty = _person(s, unit, "值班员乙")
        _recipient(s, scope="person", person_id=duty.id, channel="webhook", address=serve().url, enabled=False)
        add_shift(s, unit.id, duty, WEDNESDAY_NIGHT - timedelta(hours=4), WEDNESDAY_NIGHT + timedelta(hours=10),
                  kind="night")
        key = _message(s, f"unit:{unit.id}", kind="notify").idempotency_key
        s.commit()
    _deliver(factory, WEDNESDAY_NIGHT)
    [received] = day.keyed(key)
    duty_note = received.json()["payload"]["duty"]
    assert duty_note["gap"] == "no_channel" and duty_note["on_duty"] == ["值班员乙"]


def test_office_time_is_a_working_period_of_a_working_day():
    calendar = WorkCalendar.build("Asia/Shanghai", None, {date(2026, 10, 1): "holiday", date(2026, 10, 10): "workday"},
                                  [2026])
    assert calendar.is_office_time(WEDNESDAY_MORNING)
    assert not calendar.is_office_time(WEDNESDAY_NIGHT)
    assert not calendar.is_office_time(SATURDAY_MORNING)
    assert not calendar.is_office_time(datetime(2026, 11, 18, 12, 30, tzinfo=SHANGHAI))  # lunch break
    assert not calendar.is_office_time(datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI))  # statutory holiday
    assert calendar.is_office_time(datetime(2026, 10, 10, 10, 0, tzinfo=SHANGHAI))  # a make-up working Saturday
