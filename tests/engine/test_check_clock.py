"""The 核查 clock (DESIGN 12): it runs each time the lead task is submitted until the checker passes or fails it,
against the campaign's check minutes, shows with the stage clocks and counts into the on-time check rate; the
cooperating unit's submissions start no clock. Garbage in an estate: JD-NC leads, sanitation (HWZX) cooperates."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.cases.clocks import clock_rates, clocks
from engine.core import clock
from engine.core.models import Campaign, Case
from tests.engine.test_cooperation import act, garbage_case, handle, nanchang, task_of, user  # noqa: F401


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
