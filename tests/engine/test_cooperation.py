"""主办/协办 (issue 14, point 6): garbage left two days in an estate (06011 积存2日以上, SM7 for 1 point) makes a case
led by the sub-district (JD-NC) with sanitation (HWZX) cooperating. Sanitation answers the lead by submitting its
task; the shift leader may close the case only once the lead's task passed its check and sanitation answered, and
the 待结案 queue agrees. The campaign decides whether the case's points stay with the lead or are shared."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.accounts.users import create_user
from engine.cases.closing import awaiting_closing, close_case, why_not_closable
from engine.core import clock
from engine.cases.cooperation import COOPERATING, LEAD, answers, role_of, split
from engine.core.models import AssessmentConfig, Case, Event, Task, User
from engine.evaluation.handover import Handover, hand_over
from engine.handling.tasks import apply
from engine.intake.events import IntakeSource, accept_event
from rules.problems import InputError
from tests.helpers import event, zone_spot

PATROL = IntakeSource("cooperation-tests", "patrol")


def user(session, name: str) -> User:
    return session.scalar(select(User).where(User.username == name))


def garbage_case(factory, drain, session, points: str | None = None) -> Case:
    """An SM7 case in NC-02 (JD-NC leads, HWZX cooperates), under the campaign's points rule if given."""
    with factory() as s:
        if points is not None:
            for config in s.scalars(select(AssessmentConfig)):
                config.cooperation_points = points
        event_id = accept_event(s, event("06011", "NC-02", hour=10, filing_condition="over_2_days",
                                         location=zone_spot("NC-02")), PATROL)[0].id
        s.commit()
    drain()
    return session.get(Event, event_id).case


def task_of(case: Case, unit: str) -> Task:
    return next(t for t in case.tasks if t.unit.code == unit)


def act(session, task: Task, action: str, actor: User, comment: str = "", data: dict | None = None) -> None:
    apply(session, task, action, actor, comment, data, expected_version=task.version)
    session.flush()


def handle(session, task: Task, actor: User, comment: str, data: dict | None = None) -> None:
    """Sign, start and submit, as the unit does on its page."""
    for action in ("sign", "start"):
        act(session, task, action, actor)
    act(session, task, "submit", actor, comment, data)


@pytest.fixture()
def nanchang(session) -> User:
    """A field account of the lead sub-district (the demo has none)."""
    account = create_user(session, "nanchang-test", "field_unit", "Passw0rd!Passw0rd", "JD-NC")
    session.flush()
    return account


def test_the_case_closes_only_once_the_cooperating_unit_has_answered_the_lead(factory, drain, session, nanchang):
    case = garbage_case(factory, drain, session)
    lead, helper = task_of(case, "JD-NC"), task_of(case, "HWZX")
    assert case.lead_unit.code == "JD-NC" and (role_of(lead), role_of(helper)) == (LEAD, COOPERATING)
    [owed] = answers(case)
    assert owed.unit.code == "HWZX" and not owed.answered and owed.at is None

    handle(session, lead, nanchang, "已清运")
    act(session, lead, "pass_check", user(session, "checker"))
    shift_leader = user(session, "shift_leader")
    problems = why_not_closable(case)
    assert [p.zh for p in problems] == ["协办单位尚未向主办单位反馈：环卫中心"]
    assert "Sanitation" in problems[0].en
    assert case not in awaiting_closing(session)
    with pytest.raises(InputError) as refused:
        close_case(session, case.id, "", shift_leader, case.opened_at + timedelta(hours=2))
    assert "环卫中心" in refused.value.problems[0].zh and session.get(Case, case.id).stage == "dispatched"

    handle(session, helper, user(session, "sanitation"), "已配合清运垃圾约2吨", {"result": "调派清运车一辆"})
    [answer] = answers(case)
    assert answer.answered and answer.at is not None
    assert answer.text("zh") == "已配合清运垃圾约2吨；处置情况：调派清运车一辆"
    assert answer.text("en") == "已配合清运垃圾约2吨; What was done: 调派清运车一辆"
    assert why_not_closable(case) == [] and case in awaiting_closing(session)
    close_case(session, case.id, "", shift_leader, case.opened_at + timedelta(hours=3))
    session.flush()
    assert case.stage == "closed"


def test_the_lead_must_still_pass_its_check_when_the_cooperating_unit_answered_first(factory, drain, session):
    case = garbage_case(factory, drain, session)
    handle(session, task_of(case, "HWZX"), user(session, "sanitation"), "已配合")
    assert [p.zh for p in why_not_closable(case)] == ["主办单位的任务尚未通过核查"]
    assert case not in awaiting_closing(session)


def test_a_voided_cooperating_task_owes_no_answer(factory, drain, session, nanchang):
    case = garbage_case(factory, drain, session)
    lead, helper = task_of(case, "JD-NC"), task_of(case, "HWZX")
    handle(session, lead, nanchang, "已清运")
    act(session, lead, "pass_check", user(session, "checker"))
    act(session, helper, "request_void", user(session, "sanitation"), "不属于本单位职责")
    assert case not in awaiting_closing(session)  # a request to void is not yet a voided task
    act(session, helper, "approve_void", user(session, "dispatcher"))
    assert why_not_closable(case) == [] and case in awaiting_closing(session)


def test_a_cooperating_answer_sent_back_for_rework_is_owed_again(factory, drain, session, nanchang):
    case = garbage_case(factory, drain, session)
    lead, helper = task_of(case, "JD-NC"), task_of(case, "HWZX")
    handle(session, lead, nanchang, "已清运")
    act(session, lead, "pass_check", user(session, "checker"))
    handle(session, helper, user(session, "sanitation"), "已配合")
    act(session, helper, "fail_check", user(session, "checker"), "照片不清")
    [answer] = answers(case)
    assert not answer.answered and answer.text("zh") == "已配合"  # the earlier answer is kept, but no longer stands
    assert case not in awaiting_closing(session) and "环卫中心" in why_not_closable(case)[0].zh


def test_the_queue_agrees_with_the_rule_for_a_hand_over_with_two_cooperating_units(factory, drain, session):
    done = hand_over(session, Handover("清理违规广告", "", "DC-01", "JD-DC", 3, "working_days",
                                       cooperating=["HWZX", "JTJ"]), user(session, "dispatcher"), clock.now())
    session.flush()
    case = session.get(Case, done.case_id)
    lead, cleaners, transport = (session.get(Task, t) for t in done.task_ids)
    assert [role_of(t) for t in (lead, cleaners, transport)] == [LEAD, COOPERATING, COOPERATING]
    handle(session, lead, user(session, "dongcheng"), "已清理")
    act(session, lead, "pass_check", user(session, "checker"))
    handle(session, cleaners, user(session, "sanitation"), "已配合")
    assert "交通运输局" in why_not_closable(case)[0].zh and "环卫" not in why_not_closable(case)[0].zh
    assert case not in awaiting_closing(session)


def test_by_default_the_case_points_go_to_the_lead_units_task_only(factory, drain, session):
    case = garbage_case(factory, drain, session)
    assert (task_of(case, "JD-NC").points, task_of(case, "HWZX").points) == (1.0, 0.0)


def test_a_campaign_that_shares_points_splits_them_equally_among_the_case_tasks(factory, drain, session):
    case = garbage_case(factory, drain, session, points="shared")
    assert (task_of(case, "JD-NC").points, task_of(case, "HWZX").points) == (0.5, 0.5)
    assert case.reports[0].points == 1.0  # the report's points are the case's, whole


def test_shares_are_hundredths_that_add_up_to_the_points():
    assert split(3, [1, 2], 1) == {1: 1.5, 2: 1.5}
    assert split(1, [4, 5, 6], 5) == {4: 0.33, 5: 0.34, 6: 0.33}
    assert split(0.1, [1, 2, 3], 1) == {1: 0.04, 2: 0.03, 3: 0.03}
    assert split(2.5, [7], 7) == {7: 2.5}
