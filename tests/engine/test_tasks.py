"""The task state machine on the real database: the lifecycle, who may act, extension and parking
time, and optimistic locking between two sessions and two threads. The clock is injected where time
matters, so the hour the suite runs at does not."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.core import clock
from engine.handling import tasks
from rules.problems import InputError
from engine.core.models import Task, TaskTransition
from engine.core.states import TERMINAL, TaskStatus
from engine.handling.tasks import TransitionError, VersionConflict
from tests.helpers import act, new_task, user


def history(session, task_id: int) -> list[tuple]:
    session.expire_all()
    return [(r.from_status, r.to_status, r.action, r.actor_id) for r in session.scalars(
        select(TaskTransition).where(TaskTransition.task_id == task_id).order_by(TaskTransition.id))]


def transition_count(session, task_id: int) -> int:
    return session.scalar(select(func.count()).select_from(TaskTransition).where(TaskTransition.task_id == task_id))


def frozen(instant):
    clock.set_clock(lambda: instant)


def test_the_happy_path_with_one_rework_is_recorded_in_order_with_actors(factory, drain, session):
    task = new_task(factory, drain, session)
    assert (task.status, task.version, task.rework_count) == ("dispatched", 1, 0)
    for action, who, comment in [("sign", "dongcheng", ""), ("start", "dongcheng", ""), ("submit", "dongcheng", "已清理"),
                                 ("fail_check", "checker", "现场仍有烤炉"), ("start", "dongcheng", ""),
                                 ("submit", "dongcheng", "已没收烤炉"), ("pass_check", "checker", "")]:
        act(session, task, action, who, comment)
    dc, checker = user(session, "dongcheng").id, user(session, "checker").id
    assert history(session, task.id) == [
        (None, "dispatched", "dispatch", None), ("dispatched", "signed", "sign", dc),
        ("signed", "handling", "start", dc), ("handling", "submitted", "submit", dc),
        ("submitted", "returned", "fail_check", checker), ("returned", "handling", "start", dc),
        ("handling", "submitted", "submit", dc), ("submitted", "closed", "pass_check", checker)]
    assert (task.status, task.version, task.rework_count) == ("closed", 8, 1)
    failed = session.scalar(select(TaskTransition).where(TaskTransition.task_id == task.id,
                                                         TaskTransition.action == "fail_check"))
    assert failed.comment == "现场仍有烤炉" and failed.data == {"rework_count": 1}


def test_a_transition_not_allowed_from_the_current_state_writes_nothing(factory, drain, session):
    task = new_task(factory, drain, session)
    before = transition_count(session, task.id)
    with pytest.raises(TransitionError) as refused:
        tasks.apply(session, task, "submit", user(session, "dongcheng"), expected_version=1)
    session.rollback()
    assert refused.value.kind == "state" and refused.value.status == "dispatched"
    assert "待签收" in refused.value.message("zh") and "提交" in refused.value.message("zh")
    assert "dispatched" in refused.value.message("en") and "submit" in refused.value.message("en")
    session.expire_all()
    assert (task.status, task.version, transition_count(session, task.id)) == ("dispatched", 1, before)
    act(session, task, "sign", "dongcheng")
    with pytest.raises(TransitionError):
        tasks.apply(session, task, "pass_check", user(session, "checker"), expected_version=task.version)
    with pytest.raises(InputError) as unknown:
        tasks.apply(session, task, "teleport", user(session, "admin"), expected_version=task.version)
    assert unknown.value.problems[0].where == "action"


def test_roles_act_only_within_their_rights_and_field_units_within_their_scope(factory, drain, session):
    task = new_task(factory, drain, session)
    for action, who in [("sign", "checker"), ("sign", "dispatcher"), ("sign", "admin"), ("sign", "supervisor")]:
        with pytest.raises(TransitionError) as refused:
            tasks.apply(session, task, action, user(session, who), expected_version=task.version)
        assert refused.value.kind == "role"
    with pytest.raises(TransitionError) as other_unit:
        tasks.apply(session, task, "sign", user(session, "xicheng"), expected_version=task.version)
    assert other_unit.value.kind == "scope"
    with pytest.raises(TransitionError) as squad:  # JD-DC is above the squad ZD-DC, not below it
        tasks.apply(session, task, "sign", user(session, "squad_dc"), expected_version=task.version)
    assert squad.value.kind == "scope"
    act(session, task, "sign", "dongcheng")
    act(session, task, "request_extension", "dongcheng", "需协调城管执法")
    with pytest.raises(TransitionError) as self_approval:
        tasks.apply(session, task, "approve_extension", user(session, "dongcheng"), expected_version=task.version)
    assert self_approval.value.kind == "role" and "处置单位" in self_approval.value.message("zh")
    act(session, task, "approve_extension", "admin")  # an administrator may do what a dispatcher may
    assert task.status == "signed"


def test_each_approved_extension_adds_one_limit_and_a_third_is_refused(factory, drain, session):
    task = new_task(factory, drain, session)
    act(session, task, "sign", "dongcheng")
    act(session, task, "start", "dongcheng")
    original = task.deadline_at
    act(session, task, "request_extension", "dongcheng", "雨天")
    act(session, task, "reject_extension", "dispatcher", "理由不足")  # rejections do not count
    assert (task.status, task.extension_count, task.deadline_at) == ("handling", 0, original)
    for n in (1, 2):
        act(session, task, "request_extension", "dongcheng", "需协调")
        assert task.status == "ext_requested" and task.previous_status == "handling"
        row = act(session, task, "approve_extension", "dispatcher")
        assert task.status == "handling" and task.extension_count == n
        assert task.deadline_at == original + n * timedelta(hours=2)
        assert row.data["deadline_to"] == task.deadline_at.isoformat()
    before = transition_count(session, task.id)
    with pytest.raises(TransitionError) as third:
        tasks.apply(session, task, "request_extension", user(session, "dongcheng"), "再延", expected_version=task.version)
    session.rollback()
    assert third.value.kind == "rule" and "2" in third.value.message("en")
    assert transition_count(session, task.id) == before and task.extension_count == 2


def test_an_extension_runs_the_length_asked_unless_the_dispatcher_grants_another(factory, drain, session):
    task = new_task(factory, drain, session)
    act(session, task, "sign", "dongcheng")
    original = task.deadline_at
    asked = act(session, task, "request_extension", "dongcheng", "需联合执法",
                {"limit_value": "1", "limit_unit": "urgent_days"})
    assert (asked.data["limit_value"], asked.data["limit_unit"]) == (1.0, "urgent_days")
    act(session, task, "approve_extension", "dispatcher")  # nothing given: what was asked
    assert task.deadline_at == original + timedelta(days=1)
    act(session, task, "request_extension", "dongcheng", "再需时间", {"limit_value": "1", "limit_unit": "urgent_days"})
    for bad in ({"limit_value": "-2"}, {"limit_value": "9999", "limit_unit": "urgent_days"},
                {"limit_value": "1", "limit_unit": "fortnights"}):
        with pytest.raises(InputError):
            tasks.apply(session, task, "approve_extension", user(session, "dispatcher"), "", bad,
                        expected_version=task.version)
        session.rollback()
    act(session, task, "approve_extension", "dispatcher", "", {"limit_value": "3", "limit_unit": "urgent_hours"})
    assert task.deadline_at == original + timedelta(days=1, hours=3) and task.extension_count == 2


def test_a_rejection_needs_a_reason(factory, drain, session):
    task = new_task(factory, drain, session)
    act(session, task, "sign", "dongcheng")
    for request, reject in (("request_extension", "reject_extension"), ("request_void", "reject_void")):
        act(session, task, request, "dongcheng", "理由")
        with pytest.raises(InputError) as bare:
            tasks.apply(session, task, reject, user(session, "dispatcher"), "  ", expected_version=task.version)
        session.rollback()
        assert [p.where for p in bare.value.problems] == ["comment"]
        assert act(session, task, reject, "dispatcher", "不符合条件").comment == "不符合条件"


def test_no_extension_once_overdue_even_if_requested_in_time(factory, drain, session):
    task = new_task(factory, drain, session)
    act(session, task, "sign", "dongcheng")
    deadline = task.deadline_at
    frozen(deadline + timedelta(minutes=1))
    with pytest.raises(TransitionError) as late:
        tasks.apply(session, task, "request_extension", user(session, "dongcheng"), expected_version=task.version)
    session.rollback()
    assert late.value.kind == "rule" and "超期" in late.value.message("zh")
    frozen(deadline - timedelta(minutes=5))
    act(session, task, "request_extension", "dongcheng", "需协调")
    frozen(deadline + timedelta(seconds=1))
    with pytest.raises(TransitionError):
        tasks.apply(session, task, "approve_extension", user(session, "dispatcher"), expected_version=task.version)
    session.rollback()
    act(session, task, "reject_extension", "dispatcher", "已超期")
    assert (task.status, task.extension_count, task.deadline_at) == ("signed", 0, deadline)


def test_parking_stops_the_clock_and_resuming_moves_the_deadline_by_the_paused_time(factory, drain, session):
    task = new_task(factory, drain, session)
    start = task.created_at + timedelta(minutes=10)
    frozen(start)
    act(session, task, "sign", "dongcheng")
    act(session, task, "start", "dongcheng")
    deadline = task.deadline_at
    with pytest.raises(InputError) as no_end:
        tasks.apply(session, task, "request_park", user(session, "dongcheng"), "待施工", expected_version=task.version)
    assert no_end.value.problems[0].where == "data.until"
    session.rollback()
    until = (start + timedelta(days=3)).isoformat()
    act(session, task, "request_park", "dongcheng", "须待市政施工完成", {"until": until})
    assert task.status == "park_requested" and task.deadline_at == deadline
    frozen(start + timedelta(minutes=20))
    act(session, task, "approve_park", "dispatcher")
    assert task.status == "parked" and task.paused_since == start + timedelta(minutes=20)
    with pytest.raises(TransitionError):  # no handling while parked
        tasks.apply(session, task, "submit", user(session, "dongcheng"), expected_version=task.version)
    session.rollback()
    frozen(start + timedelta(minutes=20, hours=5))
    row = act(session, task, "resume", "dispatcher")
    assert task.status == "handling" and task.deadline_at == deadline + timedelta(hours=5)
    assert task.paused_seconds == 5 * 3600 and task.paused_since is None and task.park_until is None
    assert row.data["paused_seconds"] == 5 * 3600


def test_parking_ends_by_itself_on_its_end_date(factory, drain, session):
    task = new_task(factory, drain, session)
    act(session, task, "sign", "dongcheng")
    act(session, task, "request_park", "dongcheng", "季节性工作", {"until": (task.created_at + timedelta(days=2)).date().isoformat()})
    act(session, task, "approve_park", "admin")
    deadline, paused_since, until = task.deadline_at, task.paused_since, task.park_until
    frozen(until - timedelta(seconds=1))
    assert task.id not in tasks.resume_due(session)
    frozen(until + timedelta(minutes=1))
    assert task.id in tasks.resume_due(session)
    session.commit()
    session.expire_all()
    assert task.status == "signed" and task.deadline_at == deadline + (until + timedelta(minutes=1) - paused_since)
    assert history(session, task.id)[-1] == ("parked", "signed", "resume", None)


def test_send_back_needs_a_reason_and_reroute_dispatches_to_the_new_unit(factory, drain, session):
    task = new_task(factory, drain, session)
    with pytest.raises(InputError) as no_reason:
        tasks.apply(session, task, "send_back", user(session, "dongcheng"), "  ", {"grounds": "outside_area"},
                    expected_version=1)
    assert [p.where for p in no_reason.value.problems] == ["comment"]
    session.rollback()
    act(session, task, "send_back", "dongcheng", "不属于本街道管辖", {"grounds": "outside_area"})
    assert task.status == "sent_back"
    with pytest.raises(InputError):
        tasks.apply(session, task, "reroute", user(session, "dispatcher"), data={"unit": "NO-SUCH"},
                    expected_version=task.version)
    session.rollback()
    now = task.created_at + timedelta(minutes=30)
    frozen(now)
    row = act(session, task, "reroute", "dispatcher", "改派西城", {"unit": "JD-XC"})
    assert task.status == "dispatched" and task.unit.code == "JD-XC"
    assert task.deadline_at == now + timedelta(hours=2)  # the new unit gets its own limit from now
    assert row.data == {"unit": "JD-XC", "from_unit": "JD-DC", "to_unit": "JD-XC", "deadline": task.deadline_at.isoformat(),
                        "assignee": None}
    with pytest.raises(TransitionError) as old_unit:
        tasks.apply(session, task, "sign", user(session, "dongcheng"), expected_version=task.version)
    assert old_unit.value.kind == "scope"
    act(session, task, "sign", "xicheng")
    assert task.status == "signed"


def test_voiding_needs_approval_and_is_terminal(factory, drain, session):
    task = new_task(factory, drain, session)
    act(session, task, "request_void", "dongcheng", "重复上报")
    with pytest.raises(TransitionError):
        tasks.apply(session, task, "approve_void", user(session, "checker"), expected_version=task.version)
    act(session, task, "approve_void", "dispatcher")
    assert task.status == "voided"
    assert tasks.actions_for(task, "dispatcher") == [] and tasks.actions_for(task, "field_unit") == []
    with pytest.raises(TransitionError):
        tasks.apply(session, task, "sign", user(session, "dongcheng"), expected_version=task.version)


def test_a_stale_version_is_a_conflict_carrying_the_current_state(factory, drain, session):
    task = new_task(factory, drain, session)
    act(session, task, "sign", "dongcheng")
    with pytest.raises(VersionConflict) as stale:
        tasks.apply(session, task, "start", user(session, "dongcheng"), expected_version=1)
    assert (stale.value.status, stale.value.version) == ("signed", 2)
    assert "版本 2" in stale.value.message("zh")


@pytest.mark.commits  # two connections race: each must see what the other committed
def test_two_sessions_submitting_the_same_version_one_wins(factory, drain, session):
    task = new_task(factory, drain, session)
    act(session, task, "sign", "dongcheng")
    act(session, task, "start", "dongcheng")
    version = task.version
    with factory() as first, factory() as second:
        mine, theirs = first.get(Task, task.id), second.get(Task, task.id)
        assert mine.version == theirs.version == version  # both read the same version
        tasks.apply(first, mine, "submit", user(first, "dongcheng"), "完成", expected_version=version)
        first.commit()
        with pytest.raises(VersionConflict) as lost:
            tasks.apply(second, theirs, "submit", user(second, "dongcheng"), "也完成",
                        expected_version=version)
        second.rollback()
    assert (lost.value.status, lost.value.version) == ("submitted", version + 1)
    session.expire_all()
    submits = [h for h in history(session, task.id) if h[2] == "submit"]
    assert len(submits) == 1 and task.version == version + 1


@pytest.mark.commits  # two connections race: each must see what the other committed
def test_two_threads_submitting_the_same_version_one_wins(factory, drain, session):
    task = new_task(factory, drain, session)
    act(session, task, "sign", "dongcheng")
    act(session, task, "start", "dongcheng")
    version, barrier, outcomes = task.version, threading.Barrier(2), []

    def submit() -> None:
        with factory() as s:
            mine, actor = s.get(Task, task.id), user(s, "dongcheng")
            barrier.wait(timeout=10)
            try:
                tasks.apply(s, mine, "submit", actor, expected_version=version)
                s.commit()
                outcomes.append("won")
            except VersionConflict as err:
                s.rollback()
                outcomes.append(err.status)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["submitted", "won"]
    assert [h[2] for h in history(session, task.id)].count("submit") == 1


def test_the_table_names_only_known_states_and_every_action_has_rights():
    for (source, action), target in tasks.TRANSITIONS.items():
        assert source in tasks.STATES and action in tasks.ACTIONS and action in tasks.RIGHTS
        assert target == tasks.PREVIOUS or target in tasks.STATES
        assert source not in TERMINAL
    assert set(tasks.STATES) == set(TaskStatus)  # every state has its zh/en names
    assert all(len(code) <= 16 for code in tasks.STATES)  # fits Task.status and TaskTransition columns
    assert set(tasks.RIGHTS["approve_void"]) == {"dispatcher", "shift_leader", "admin"}
    assert set(tasks.RIGHTS["pass_check"]) == {"checker", "collector"}  # the 监督员 checks closed work on site


def test_an_order_is_sent_back_before_signing_with_its_grounds_kept_in_the_history(factory, drain, session):
    task = new_task(factory, drain, session)
    row = act(session, task, "send_back", "dongcheng", "该点位属西城街道", {"grounds": "outside_area"})
    assert (row.from_status, row.to_status, row.comment) == ("dispatched", "sent_back", "该点位属西城街道")
    assert row.data == {"grounds": "outside_area"}
    assert tasks.grounds_name(row.data["grounds"], "zh") == "不在本单位辖区"
    assert tasks.grounds_name(row.data["grounds"], "en") == "outside this unit's area"
    assert tasks.latest_send_backs(session, [task.id])[task.id].id == row.id


@pytest.mark.parametrize("grounds", [None, "", "not_my_problem", 3, ["duplicate"]])
def test_send_back_without_known_grounds_is_refused_in_both_languages_and_writes_nothing(factory, drain, session,
                                                                                         grounds):
    task = new_task(factory, drain, session)
    before = transition_count(session, task.id)
    data = {} if grounds is None else {"grounds": grounds}
    with pytest.raises(InputError) as refused:
        tasks.apply(session, task, "send_back", user(session, "dongcheng"), "不归我们管", data, expected_version=1)
    session.rollback()
    [problem] = refused.value.problems
    assert problem.where == "grounds"
    assert "不属于本单位职责" in problem.message("zh") and "重复派遣" in problem.message("zh")
    assert "not this unit's duty" in problem.message("en") and "dispatched twice" in problem.message("en")
    assert "not_our_duty" not in problem.message("en")
    session.expire_all()
    assert transition_count(session, task.id) == before and (task.status, task.version) == ("dispatched", 1)


def test_no_reason_and_bad_grounds_are_named_together(factory, drain, session):
    task = new_task(factory, drain, session)
    with pytest.raises(InputError) as refused:
        tasks.apply(session, task, "send_back", user(session, "dongcheng"), "", {"grounds": "nope"},
                    expected_version=1)
    session.rollback()
    assert [p.where for p in refused.value.problems] == ["comment", "grounds"]


def test_a_signed_order_can_no_longer_be_sent_back(factory, drain, session):
    task = new_task(factory, drain, session)
    act(session, task, "sign", "dongcheng")
    before = transition_count(session, task.id)
    with pytest.raises(TransitionError) as refused:
        tasks.apply(session, task, "send_back", user(session, "dongcheng"), "不属于本街道管辖",
                    {"grounds": "not_our_duty"}, expected_version=task.version)
    session.rollback()
    assert refused.value.kind == "state"
    assert "已签收" in refused.value.message("zh") and "退单须在签收前提出" in refused.value.message("zh")
    assert "only before signing" in refused.value.message("en")
    assert transition_count(session, task.id) == before and task.status == "signed"
    assert "send_back" not in tasks.actions_for(task, "field_unit")
    assert (TaskStatus.SIGNED, "send_back") not in tasks.TRANSITIONS
