"""Frontage holders who answer (issue 16, point 5): a report at a holder's frontage, or given by its registered
address, names the holder on its case and tasks and in the fact `frontage_holder`; the holder's history counts it,
and a second violation within 90 days makes the holder a repeat offender (屡犯)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine.core import clock
from engine.core.models import Event, FrontageHolder
from engine.handling.holder_history import holder_history, standings
from engine.intake.events import IntakeSource, accept_event
from tests.helpers import event

PATROL = IntakeSource("holder-tests", "patrol")
#: 5 m north of 老王烧烤's frontage (a 55 m line on 解放路, reaching 12 m), and 170 m north of it (not linked).
AT_FRONTAGE, BEYOND = (35.02505, 110.9950), (35.02655, 110.9950)


def store(factory, *payloads) -> list[int]:
    with factory() as s:
        ids = [accept_event(s, p, PATROL)[0].id for p in payloads]
        s.commit()
    return ids


def facts(e: Event) -> dict:
    [found] = e.facts.values()
    return found


def holder(session, code: str) -> FrontageHolder:
    return session.scalar(select(FrontageHolder).where(FrontageHolder.code == code))


def at(spot: tuple[float, float], hour: int = 11) -> dict:
    return event("06029", "DC-01", hour=hour, location={"lat": spot[0], "lon": spot[1]})


def test_a_report_at_a_holders_frontage_names_the_holder_on_case_tasks_and_facts(factory, drain, session):
    shop = holder(session, "MQ-DC-001")
    report = at(AT_FRONTAGE)
    # the fact counts the holder's violations in the 90 days before the report (0 alone; files before may leave
    # cases there, some about 90 days old: counted back from now, they would fall out of the window)
    occurred = datetime.fromisoformat(report["occurred_at"])
    earlier = next(s for s in standings(session, occurred) if s.holder.id == shop.id).recent
    inside, outside = store(factory, report, at(BEYOND))
    drain()
    e, other = session.get(Event, inside), session.get(Event, outside)
    assert facts(e)["frontage_holder"] == "MQ-DC-001" and facts(e)["frontage_holder_violations_90d"] == earlier
    assert e.case.frontage_holder_id == shop.id and e.tasks
    assert {t.frontage_holder_id for t in e.tasks} == {shop.id}
    assert facts(other)["frontage_holder"] == "" and other.case.frontage_holder_id is None
    assert {t.frontage_holder_id for t in other.tasks} == {None}
    history = holder_history(session, shop, clock.now())
    assert e.case_id in [v.case_id for v in history.violations]


def test_a_report_given_by_address_names_the_holder_registered_there(factory, drain, session):
    by_point, no_place = store(factory, {**event("09006", hour=11), "grid": None, "address": "东城区 解放路36号"},
                               {**event("09006", hour=11), "grid": None, "address": "南城区建设街5号"})
    drain()
    e, other = session.get(Event, by_point), session.get(Event, no_place)
    assert facts(e)["frontage_holder"] == "MQ-DC-002" and e.case.frontage_holder.name == "好又多便利店"
    assert facts(other)["frontage_holder"] == "MQ-NC-001" and other.case.frontage_holder.code == "MQ-NC-001"
    assert other.lat is None


def test_the_second_violation_within_90_days_makes_a_repeat_offender(factory, drain, session):
    spot = (35.0350, 110.9950)  # inside 西城菜市场's frontage (a polygon); the two reports are 11 m apart, at
    # different hours of one day and different categories, so they open two cases
    first = store(factory, event("09006", "XC-01", hour=9, location={"lat": spot[0], "lon": spot[1]}))
    drain()
    market = holder(session, "MQ-XC-001")
    before = next(s for s in standings(session, clock.now()) if s.holder.id == market.id)
    second = store(factory, event("06029", "XC-01", hour=10, location={"lat": spot[0] + 0.0001, "lon": spot[1]}))
    drain()
    assert before.recent == 1 and not before.repeat
    e = session.get(Event, second[0])
    assert facts(e)["frontage_holder_violations_90d"] == 1  # the rules see the first
    now = clock.now()
    after = next(s for s in standings(session, now) if s.holder.id == market.id)
    assert after.recent == 2 and after.repeat
    assert market.id in [s.holder.id for s in standings(session, now, repeat_only=True)]
    later = now + timedelta(days=120)  # both violations are older than 90 days then
    assert market.id not in [s.holder.id for s in standings(session, later, repeat_only=True)]
    assert session.get(Event, first[0]).case.frontage_holder_id == market.id


def test_the_sub_districts_frontage_performance_counts_letters_violations_repeats_and_notices(factory, drain, session):
    from zoneinfo import ZoneInfo

    from engine.assessment.frontage import performance
    from engine.core.models import User
    from engine.handling.holder_notice import issue_notice

    now, zone = clock.now(), ZoneInfo("Asia/Shanghai")

    def lines(start, end, cutoff) -> dict:
        return {line.unit.code: line for line in performance(session, start, end, cutoff, zone)}

    def period():
        return lines(now - timedelta(days=3), now + timedelta(hours=1), now + timedelta(minutes=1))

    before = period()
    spot = (35.0350, 110.9950)  # 西城菜市场's frontage
    ids = store(factory, event("09006", "XC-01", hour=9, location={"lat": spot[0], "lon": spot[1]}),
                event("06029", "XC-01", hour=10, location={"lat": spot[0] + 0.0001, "lon": spot[1]}))
    drain()
    task = next(t for t in session.get(Event, ids[0]).tasks if t.unit.code == "JD-XC")
    xicheng = session.scalar(select(User).where(User.username == "xicheng"))
    issue_notice(session, task, xicheng, {"duties": ["sanitation"], "rectify_by": (now + timedelta(days=1)).isoformat(),
                                          "text": "请清理门前垃圾"}, now, zone)
    session.flush()
    after = period()
    xc, was = after["JD-XC"], before["JD-XC"]
    assert (xc.holders, xc.letters) == (1, 1)  # the demo's market, its letter in force
    assert (xc.violations, xc.notices) == (was.violations + 2, was.notices + 1)
    assert xc.repeat_offenders == 1  # its only holder, with two violations in 90 days
    assert (after["JD-DC"].holders, after["JD-DC"].letters) == (2, 2)
    assert after["JD-DC"].violations == before["JD-DC"].violations
    assert (after["JD-NC"].letters, after["JD-NC"].letter_rate) == (0, 0.0)  # 南城汽修店 has signed none
    earlier = lines(now - timedelta(days=30), now - timedelta(days=10), now - timedelta(days=10))
    assert earlier["JD-XC"].notices == 0 and earlier["JD-XC"].violations <= was.violations
