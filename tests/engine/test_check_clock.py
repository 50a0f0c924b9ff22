"""The 核查 clock (DESIGN 12): it runs each time the lead task is submitted until the checker passes or fails it,
against the campaign's check minutes, shows with the stage clocks and counts into the on-time check rate; the
cooperating unit's submissions start no clock. Garbage in an estate: JD-NC leads, sanitation (HWZX) cooperates."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import event as sql_event

from engine.cases.clocks import clock_rates, clocks, due_first, running_checks
from engine.core import clock
from engine.core.models import Campaign, Case, Event, Task
from engine.intake.events import accept_event
from tests.engine.test_cooperation import PATROL, act, garbage_case, handle, nanchang, task_of, user  # noqa: F401
from tests.helpers import event, zone_spot


def at(moment: datetime) -> None:
    clock.set_clock(lambda: moment)


def base(case: Case) -> datetime:
    """A stretch of hours of this case's own, so a period around its checks holds no other test's submissions."""
    return case.opened_at + timedelta(hours=5 * (case.id % 500 + 1))


@pytest.fixture()
def checked_twice(factory, drain, session, nanchang) -> Case:  # noqa: F811
    """Submitted at +1 h, failed 45 minutes later (返工), submitted again at +3 h and passed 10 minutes later; the
    cooperating unit submitted at +1 h and was never checked."""
    case = garbage_case(factory, drain, session)
    lead, helper = task_of(case, "JD-NC"), task_of(case, "HWZX")
    start = base(case)
    try:
        at(start + timedelta(hours=1))
        handle(session, lead, nanchang, "已清运")
        handle(session, helper, user(session, "sanitation"), "已配合清运", {"result": "调派清运车一辆"})
        at(start + timedelta(hours=1, minutes=45))
        act(session, lead, "fail_check", user(session, "checker"), "仍有垃圾")
        at(start + timedelta(hours=3))
        act(session, lead, "start", nanchang)
        act(session, lead, "submit", nanchang, "已彻底清运")
        at(start + timedelta(hours=3, minutes=10))
        act(session, lead, "pass_check", user(session, "checker"))
    finally:
        clock.set_clock(None)
    session.expire_all()
    return session.get(Case, case.id)


def test_each_submission_of_the_lead_task_runs_the_check_clock_until_the_decision(session, checked_twice):
    case, start = checked_twice, base(checked_twice)
    campaign = session.get(Campaign, case.campaign_id)
    checks = [c for c in clocks(case, campaign, None) if c.clock == "check"]
    assert [(c.started - start, c.ended - start) for c in checks] == [
        (timedelta(hours=1), timedelta(hours=1, minutes=45)), (timedelta(hours=3), timedelta(hours=3, minutes=10))]
    assert [c.limit_minutes for c in checks] == [30, 30]  # the default, R1's 30 minutes
    assert [c.overdue(start + timedelta(days=1)) for c in checks] == [True, False]
    assert (checks[0].name("zh"), checks[0].name("en")) == ("核查", "Check")
    assert checks[1].as_json(start, "zh")["minutes"] == 10


def test_the_campaigns_check_minutes_set_the_limit(session, checked_twice):
    campaign = session.get(Campaign, checked_twice.campaign_id)
    campaign.check_minutes = 60  # Taiyuan: one hour in the city
    checks = [c for c in clocks(checked_twice, campaign, None) if c.clock == "check"]
    assert [c.overdue(base(checked_twice) + timedelta(days=1)) for c in checks] == [False, False]
    session.rollback()


def test_the_on_time_check_rate_counts_the_submissions_of_the_period(session, checked_twice):
    campaign = session.get(Campaign, checked_twice.campaign_id)
    start = base(checked_twice)
    later = start + timedelta(days=1)
    rates = clock_rates(session, campaign, start, start + timedelta(hours=4), later)
    assert (rates["check"].counted, rates["check"].on_time) == (2, 1) and rates["check"].rate == 0.5
    # a period holding only the second submission counts that one
    rates = clock_rates(session, campaign, start + timedelta(hours=2), start + timedelta(hours=4), later)
    assert (rates["check"].counted, rates["check"].on_time) == (1, 1)


def test_a_submission_waiting_within_its_limit_is_shown_but_not_yet_counted(factory, drain, session,
                                                                           nanchang):  # noqa: F811
    case = garbage_case(factory, drain, session)
    lead = task_of(case, "JD-NC")
    submitted = base(case) + timedelta(hours=1)
    try:
        at(submitted)
        handle(session, lead, nanchang, "已清运")
    finally:
        clock.set_clock(None)
    session.expire_all()
    case = session.get(Case, case.id)
    campaign = session.get(Campaign, case.campaign_id)
    [check] = [c for c in clocks(case, campaign, None) if c.clock == "check"]
    assert check.ended is None and check.minutes(submitted + timedelta(minutes=20)) == 20
    window = (submitted - timedelta(seconds=1), submitted + timedelta(seconds=1))
    assert clock_rates(session, campaign, *window, submitted + timedelta(minutes=20))["check"].counted == 0
    waited = clock_rates(session, campaign, *window, submitted + timedelta(minutes=31))["check"]
    assert (waited.counted, waited.on_time) == (1, 0)  # run out while still waiting: late


def submitted_cases(factory, drain, session, nanchang, minutes: list[int]) -> list[Case]:  # noqa: F811
    """One garbage case per entry, its lead task (JD-NC) and its cooperating task (HWZX) submitted that many minutes
    after the first case's base hour."""
    with factory() as s:
        ids = [accept_event(s, event("06011", "NC-02", hour=10, filing_condition="over_2_days",
                                     location=zone_spot("NC-02", 9 + n)), PATROL)[0].id for n in range(len(minutes))]
        s.commit()
    drain()
    cases = [session.get(Event, event_id).case for event_id in ids]  # spots apart: each opens a case of its own
    start = base(cases[0])
    try:
        for case, offset in zip(cases, minutes):
            at(start + timedelta(minutes=offset))
            handle(session, task_of(case, "JD-NC"), nanchang, "已清运")
            handle(session, task_of(case, "HWZX"), user(session, "sanitation"), "已配合清运", {"result": "清运车一辆"})
    finally:
        clock.set_clock(None)
    session.expire_all()
    return [session.get(Case, case.id) for case in cases]


def test_a_waiting_lead_task_falls_due_by_the_campaigns_check_minutes_and_is_late_after(factory, drain, session,
                                                                                       nanchang):  # noqa: F811
    [case] = submitted_cases(factory, drain, session, nanchang, [60])
    lead, helper = task_of(case, "JD-NC"), task_of(case, "HWZX")
    submitted = base(case) + timedelta(hours=1)
    checks = running_checks(session, [lead, helper])
    assert list(checks) == [lead.id]  # the cooperating unit's answer waits for no check
    check = checks[lead.id]
    assert (check.started, check.due_at) == (submitted, submitted + timedelta(minutes=30))
    assert check.as_json(submitted, "zh")["due_at"] == (submitted + timedelta(minutes=30)).isoformat()
    late = [(check.overdue(submitted + after), check.overdue_minutes(submitted + after))
            for after in (timedelta(minutes=20), timedelta(minutes=30), timedelta(minutes=30, seconds=20),
                          timedelta(minutes=31), timedelta(minutes=50))]
    assert late == [(False, 0), (False, 0), (True, 1), (True, 1), (True, 20)]


def test_a_task_submitted_again_after_rework_falls_due_from_its_new_submission(factory, drain, session,
                                                                              nanchang):  # noqa: F811
    [case] = submitted_cases(factory, drain, session, nanchang, [60])
    lead = task_of(case, "JD-NC")
    start = base(case)
    try:
        at(start + timedelta(hours=1, minutes=45))
        act(session, lead, "fail_check", user(session, "checker"), "仍有垃圾")
        assert running_checks(session, [lead]) == {}  # returned: nothing waits for a check
        at(start + timedelta(hours=3))
        act(session, lead, "start", nanchang)
        act(session, lead, "submit", nanchang, "已彻底清运")
    finally:
        clock.set_clock(None)
    session.expire_all()
    check = running_checks(session, [session.get(Task, lead.id)])[lead.id]
    assert (check.started, check.due_at) == (start + timedelta(hours=3), start + timedelta(hours=3, minutes=30))


def test_the_queue_order_puts_the_check_that_falls_due_first_on_top_in_the_same_queries_for_any_page(
        factory, drain, session, nanchang):  # noqa: F811
    cases = submitted_cases(factory, drain, session, nanchang, [90, 30, 60])
    leads = [task_of(c, "JD-NC") for c in cases]
    helpers = [task_of(c, "HWZX") for c in cases]
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    bind = session.connection().engine
    sql_event.listen(bind, "before_cursor_execute", count)
    try:
        session.expire_all()
        running_checks(session, [session.get(Task, leads[0].id)])
        one = len(statements)
        statements.clear()
        session.expire_all()
        page = [session.get(Task, t.id) for t in [*helpers, *leads]]
        statements.clear()
        checks = running_checks(session, page)
        assert len(statements) <= one, statements  # no query per row
    finally:
        sql_event.remove(bind, "before_cursor_execute", count)
    assert set(checks) == {t.id for t in leads}
    order = [t.id for t in due_first(page, checks)]
    assert order[:3] == [leads[1].id, leads[2].id, leads[0].id]  # due at +60, +90 and +120 minutes
    assert sorted(order[3:]) == sorted(t.id for t in helpers)  # no check clock: after, by their deadlines
