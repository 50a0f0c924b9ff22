"""The task state machine: who may move a task from which state by which action, and what it costs.

A task is born dispatched, with its first TaskTransition, in `engine.handling.dispatch`; after that
every change of `Task.status` happens in `apply`, driven by the TRANSITIONS table, and appends one
TaskTransition row. Each transition is an `UPDATE ... WHERE version = :expected`, so of two people
acting on the same version exactly one wins and the other gets a VersionConflict with the current
state. Refusals raise before anything is written. The caller owns the transaction: we flush, never
commit.

Timing follows the brief (b.4): an approved extension (延期) adds the length the dispatcher grants (by default
the length the unit asked, else one original time limit; engine/handling/extension.py) to the current deadline,
at most twice and never once overdue; every rejection of a request needs a reason the unit reads; parking (挂账)
stops the clock and resuming moves the deadline by the paused time; rework (返工) does not reset the clock.
At an inspection point neither an extension nor resuming moves a deadline due by the inspection past its start
(seed 003: 所有测评点在3月22日之前整改到位; engine/handling/inspection_deadline.py).

A unit may send an order back (退单) only before signing for it, naming its grounds (SEND_BACK_GROUNDS) as well
as a reason; once signed, the order is the unit's. The grounds are kept in the transition's data and counted
in accurate dispatch (准确派遣率, engine/assessment/indicators.py).
"""
from __future__ import annotations

import json

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Callable, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.core import clock
from engine.accounts.users import ROLES
from rules.problems import InputError, Problem
from engine.people.responsibility import responsible_for_events
from engine.people.staff import unit_and_below
from engine.core.models import Campaign, Task, TaskTransition, Unit, User, TaskStep
from engine.core.states import TaskStatus
from engine.core.worktime import before_inspection, calendar_for
from engine.handling import extension
from engine.handling.inspection_deadline import inspection_cap, refuse_past_inspection
from engine.handling.ladder import Clock, moved_later, replan
from engine.space.points import points_at

STATES: dict[str, tuple[str, str]] = {
    TaskStatus.DISPATCHED: ("待签收", "dispatched, awaiting signing"),
    TaskStatus.SIGNED: ("已签收", "signed"),
    TaskStatus.HANDLING: ("处置中", "being handled"),
    TaskStatus.SUBMITTED: ("待核查", "submitted, awaiting check"),
    TaskStatus.RETURNED: ("返工", "returned for rework"),
    TaskStatus.CLOSED: ("结案", "closed"),
    TaskStatus.EXT_REQUESTED: ("延期待审批", "awaiting extension approval"),
    TaskStatus.PARK_REQUESTED: ("挂账待审批", "awaiting parking approval"),
    TaskStatus.PARKED: ("挂账", "parked"),
    TaskStatus.SENT_BACK: ("已退单", "sent back to the dispatcher"),
    TaskStatus.VOID_REQUESTED: ("作废待审批", "awaiting void approval"),
    TaskStatus.VOIDED: ("已作废", "voided"),
}

ACTIONS: dict[str, tuple[str, str]] = {
    "sign": ("签收", "sign"),
    "start": ("开始处置", "start handling"),
    "submit": ("提交处置结果", "submit"),
    "pass_check": ("核查通过", "pass the check"),
    "fail_check": ("核查不通过", "fail the check"),
    "request_extension": ("申请延期", "request an extension"),
    "approve_extension": ("批准延期", "approve the extension"),
    "reject_extension": ("驳回延期", "reject the extension"),
    "request_park": ("申请挂账", "request parking"),
    "approve_park": ("批准挂账", "approve parking"),
    "reject_park": ("驳回挂账", "reject parking"),
    "resume": ("恢复处置", "resume"),
    "send_back": ("退单", "send back"),
    "reroute": ("改派", "reroute"),
    "request_void": ("申请作废", "request voiding"),
    "approve_void": ("批准作废", "approve voiding"),
    "reject_void": ("驳回作废", "reject voiding"),
    "assign": ("指派给人员", "assign to a person"),  # not a move of state: engine/handling/assignment.py
}

PREVIOUS = "@previous"  # target meaning "the state the task was in before the request or parking"
#: A unit holds the task and may ask for time or a pause.
WORKING = (TaskStatus.SIGNED, TaskStatus.HANDLING, TaskStatus.RETURNED)
#: States a task reaches only after its unit signed for it: too late to send the order back.
SIGNED_ONWARD = frozenset(WORKING) | {TaskStatus.SUBMITTED, TaskStatus.CLOSED, TaskStatus.EXT_REQUESTED,
                                      TaskStatus.PARK_REQUESTED, TaskStatus.PARKED}

TRANSITIONS: dict[tuple[str, str], str] = {
    (TaskStatus.DISPATCHED, "sign"): TaskStatus.SIGNED,
    (TaskStatus.SIGNED, "start"): TaskStatus.HANDLING,
    (TaskStatus.RETURNED, "start"): TaskStatus.HANDLING,
    (TaskStatus.HANDLING, "submit"): TaskStatus.SUBMITTED,
    (TaskStatus.SUBMITTED, "pass_check"): TaskStatus.CLOSED,
    (TaskStatus.SUBMITTED, "fail_check"): TaskStatus.RETURNED,
    **{(state, "request_extension"): TaskStatus.EXT_REQUESTED for state in WORKING},
    (TaskStatus.EXT_REQUESTED, "approve_extension"): PREVIOUS,
    (TaskStatus.EXT_REQUESTED, "reject_extension"): PREVIOUS,
    **{(state, "request_park"): TaskStatus.PARK_REQUESTED for state in WORKING},
    (TaskStatus.PARK_REQUESTED, "approve_park"): TaskStatus.PARKED,
    (TaskStatus.PARK_REQUESTED, "reject_park"): PREVIOUS,
    (TaskStatus.PARKED, "resume"): PREVIOUS,
    (TaskStatus.DISPATCHED, "send_back"): TaskStatus.SENT_BACK,
    (TaskStatus.SENT_BACK, "reroute"): TaskStatus.DISPATCHED,
    (TaskStatus.DISPATCHED, "reroute"): TaskStatus.DISPATCHED,
    **{(state, "request_void"): TaskStatus.VOID_REQUESTED for state in (TaskStatus.DISPATCHED,) + WORKING},
    (TaskStatus.VOID_REQUESTED, "approve_void"): TaskStatus.VOIDED,
    (TaskStatus.VOID_REQUESTED, "reject_void"): PREVIOUS,
}

_UNIT = ("field_unit",)
_DISPATCH = ("dispatcher", "shift_leader", "admin")
_CHECK = ("checker", "collector")  # 核查: the checker at the centre or the 监督员 on site
RIGHTS: dict[str, tuple[str, ...]] = {
    "sign": _UNIT, "start": _UNIT, "submit": _UNIT, "request_extension": _UNIT, "request_park": _UNIT,
    "send_back": _UNIT, "request_void": _UNIT,
    "pass_check": _CHECK, "fail_check": _CHECK,
    "approve_extension": _DISPATCH, "reject_extension": _DISPATCH, "approve_park": _DISPATCH,
    "reject_park": _DISPATCH, "resume": _DISPATCH, "reroute": _DISPATCH, "approve_void": _DISPATCH,
    "reject_void": _DISPATCH,
}
SYSTEM_ACTIONS = frozenset({"resume"})  # what may run with no actor (parking ends by itself)
#: A refusal's reason is what the unit reads on its task page, so a rejection needs one too.
REASON_REQUIRED = frozenset({"fail_check", "send_back", "request_park", "request_void", "reject_extension",
                             "reject_park", "reject_void"})
#: Why a unit sends an order back (退单): the fixed list a dispatcher reads before rerouting.
SEND_BACK_GROUNDS: dict[str, tuple[str, str]] = {
    "not_our_duty": ("不属于本单位职责", "not this unit's duty"),
    "outside_area": ("不在本单位辖区", "outside this unit's area"),
    "duplicate": ("重复派遣", "dispatched twice"),
    "insufficient_information": ("信息不全无法处置", "too little information to act on"),
    "other": ("其他", "other"),
}
MAX_EXTENSIONS = 2
MAX_PARK_DAYS = 366


class TransitionError(Exception):
    """A refused transition; nothing was written. `kind`: state | role | scope | rule | conflict."""

    def __init__(self, kind: str, status: str, action: str, zh: str, en: str):
        self.kind, self.status, self.action, self.zh, self.en = kind, status, action, zh, en
        super().__init__(en)

    def message(self, lang: str = "en") -> str:
        return self.zh if lang.startswith("zh") else self.en


class VersionConflict(TransitionError):
    """Someone changed the task since the caller read it; carries the current state and version."""

    def __init__(self, status: str, action: str, version: int):
        zh_state, en_state = STATES.get(status, (status, status))
        super().__init__("conflict", status, action,
                         f"任务已被他人更新（当前状态：{zh_state}，版本 {version}），请刷新后重试。",
                         f"The task was changed by someone else (now {en_state}, version {version}); "
                         f"reload it and try again.")
        self.version = version


@dataclass
class Move:
    """What one transition does beyond the status: column values and notes for the history row."""

    values: dict[str, Any]
    notes: dict[str, Any]


def _names(status: str, action: str) -> tuple[str, str, str, str]:
    zs, es = STATES.get(status, (status, status))
    za, ea = ACTIONS.get(action, (action, action))
    return zs, es, za, ea


def _refuse(kind: str, task: Task, action: str, zh: str, en: str) -> TransitionError:
    return TransitionError(kind, task.status, action, zh, en)


def unit_scope(session: Session, unit_id: Optional[int]) -> set[int]:
    """A unit and every unit below it: the tasks a field unit may act on."""
    return unit_and_below(session, unit_id)


def _shift_steps(session: Session, task: Task, moved: timedelta) -> None:
    """The clock stood still while parked: the task's pending timeline steps move as far as its deadline did."""
    for step in session.scalars(select(TaskStep).where(TaskStep.task_id == task.id, TaskStep.status == "pending")):
        step.due_at = step.due_at + moved
        step.later = moved_later(step.later, lambda planned: planned.due_at + moved)


def _replan_steps(session: Session, task: Task, deadline: datetime, counting: Clock) -> None:
    """An extension is a new limit from the old deadline: the pending steps are anchored to the new deadline
    (DESIGN 14), so no urge, order or public listing falls due while the extended time runs."""
    moved = deadline - task.deadline_at
    for step in session.scalars(select(TaskStep).where(TaskStep.task_id == task.id, TaskStep.status == "pending")):
        step.due_at = replan(step, task.deadline_at, deadline, counting, moved)
        step.later = moved_later(step.later, lambda later: replan(later, task.deadline_at, deadline, counting, moved))


def _rearm_steps(session: Session, task: Task) -> None:
    """A step skipped only because the task awaited its check is owed once the check fails, as rework does not
    reset the clock (brief b.4): pending again and already due, it runs at the next poll, once (done stays done)."""
    session.execute(update(TaskStep).where(TaskStep.task_id == task.id, TaskStep.status == "skipped",
                                           TaskStep.task_status == TaskStatus.SUBMITTED)
                    .values(status="pending", ran_at=None, task_status=None)
                    .execution_options(synchronize_session=False))


def _check_rights(session: Session, task: Task, action: str, actor: Optional[User]) -> None:
    zs, es, za, ea = _names(task.status, action)
    if actor is None:
        if action not in SYSTEM_ACTIONS:
            raise _refuse("role", task, action, f"「{za}」须由登录用户执行。", f"'{ea}' needs a signed-in user.")
        return
    if actor.role not in RIGHTS[action]:
        zr, er = ROLES.get(actor.role, (actor.role, actor.role))
        raise _refuse("role", task, action, f"角色「{zr}」无权执行「{za}」（任务当前状态：{zs}）。",
                      f"The {er} role may not {ea} (the task is {es}).")
    if actor.role == "field_unit" and task.unit_id not in unit_scope(session, actor.unit_id) \
            and not (task.assignee is not None and task.assignee.user_id == actor.id):
        raise _refuse("scope", task, action, "该任务不属于你的单位。", "This task is not assigned to your unit.")


def _check_version(session: Session, task: Task, action: str, expected: Any) -> None:
    if not isinstance(expected, int) or isinstance(expected, bool):
        raise InputError([Problem("version", "the task version you read, an integer",
                                       "须为读取任务时的版本号（整数）")])
    if task.version != expected:
        session.refresh(task)
        if task.version != expected:
            raise VersionConflict(task.status, action, task.version)


def _target(task: Task, action: str) -> str:
    target = TRANSITIONS.get((task.status, action))
    zs, es, za, ea = _names(task.status, action)
    if target is None and action == "send_back" and task.status in SIGNED_ONWARD:
        raise _refuse("state", task, action, f"任务已签收（当前状态：{zs}），不能退单：退单须在签收前提出。",
                      f"The task has been signed for (it is {es}); an order can be sent back only before signing.")
    if target is None:
        raise _refuse("state", task, action, f"任务当前状态为「{zs}」，不能执行「{za}」（{action}）。",
                      f"The task is {es} (state '{task.status}'); action '{action}' is not allowed from this state.")
    if target == PREVIOUS:
        if not task.previous_status:
            raise _refuse("state", task, action, f"任务当前状态为「{zs}」，但没有可返回的状态。",
                          f"The task is {es} but has no state to return to.")
        return task.previous_status
    return target


def _reason(action: str, comment: str, data: dict[str, Any]) -> None:
    """The reason, and for a send-back its grounds from the fixed list; all problems at once."""
    problems = []
    za, ea = ACTIONS[action]
    if action in REASON_REQUIRED and not comment.strip():
        problems.append(Problem("comment", f"a reason is required to {ea}", f"「{za}」须填写理由"))
    grounds = data.get("grounds")
    if action == "send_back" and not (isinstance(grounds, str) and grounds in SEND_BACK_GROUNDS):
        # Both languages name the grounds as the official reads them; API clients find the codes in the OpenAPI enum.
        problems.append(Problem(
            "grounds", f"choose the grounds for sending the order back: "
                       f"{'; '.join(en for _zh, en in SEND_BACK_GROUNDS.values())}",
            f"须选择退单依据：{'、'.join(zh for zh, _en in SEND_BACK_GROUNDS.values())}"))
    if problems:
        raise InputError(problems)


def grounds_name(code: Any, lang: str) -> str:
    """A send-back's grounds in the reader's language (the code itself if it is not on the list)."""
    zh, en = SEND_BACK_GROUNDS.get(code, (str(code), str(code))) if isinstance(code, str) else ("", "")
    return zh if lang.startswith("zh") else en


def _extension_allowed(task: Task, action: str, now: datetime) -> None:
    za, ea = ACTIONS[action]
    if task.extension_count >= MAX_EXTENSIONS:
        raise _refuse("rule", task, action, f"已批准 {MAX_EXTENSIONS} 次延期，不能再「{za}」。",
                      f"The task already had {MAX_EXTENSIONS} extensions; cannot {ea} again.")
    if task.deadline_at < now:
        raise _refuse("rule", task, action, f"任务已超期（期限 {task.deadline_at.isoformat()}），不能「{za}」。",
                      f"The task is overdue (deadline {task.deadline_at.isoformat()}); cannot {ea}.")


def _campaign(session: Session, task: Task) -> Campaign:
    return session.get(Campaign, task.campaign_id)


def _park_until(session: Session, task: Task, data: dict[str, Any], now: datetime) -> datetime:
    """The instant parking ends: an aware ISO datetime, or a date meaning 'through that local day'."""
    raw = data.get("until")
    problem = InputError([Problem(
        "data.until", f"the end of parking: a date (YYYY-MM-DD) or an aware ISO time, after now and within "
                      f"{MAX_PARK_DAYS} days", f"挂账截止日期：日期（YYYY-MM-DD）或带时区的时间，须晚于现在且不超过 {MAX_PARK_DAYS} 天")])
    if not isinstance(raw, str):
        raise problem
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw) + timedelta(days=1)
            until = datetime.combine(day, time.min, ZoneInfo(_campaign(session, task).timezone))
        else:
            until = datetime.fromisoformat(raw)
    except ValueError:
        raise problem from None
    if until.tzinfo is None or not now < until <= now + timedelta(days=MAX_PARK_DAYS):
        raise problem
    return until


def _reroute(session: Session, task: Task, data: dict[str, Any], now: datetime) -> Move:
    code = data.get("unit")
    unit = session.scalar(select(Unit).where(Unit.code == code)) if isinstance(code, str) else None
    if unit is None:
        raise InputError([Problem("data.unit", "the code of an existing unit", "须为已有单位的代码")])
    if unit.id == task.unit_id and task.status != TaskStatus.SENT_BACK:
        raise InputError([Problem("data.unit", "a unit other than the current one", "须为当前单位以外的单位")])
    taken = session.scalar(select(Task.id).where(Task.event_id == task.event_id, Task.unit_id == unit.id,
                                                 Task.id != task.id))
    if taken is not None:
        raise InputError([Problem("data.unit", f"this event already has task {taken} for that unit",
                                       f"该事件在该单位已有任务 {taken}")])
    campaign = _campaign(session, task)
    calendar = calendar_for(session, campaign.timezone, campaign.office_hours)
    deadline = calendar.deadline(now, task.limit_value, task.limit_unit, campaign.continuous_time)
    if task.event_id in points_at(session, [task.event]):
        deadline = before_inspection(deadline, now, campaign.inspection_starts_at)
    old = session.get(Unit, task.unit_id)
    holder = responsible_for_events(session, [task.event_id]).get(task.event_id)
    assignee = holder[0] if holder is not None and holder[1] in unit_and_below(session, unit.id) else None
    return Move({"unit_id": unit.id, "deadline_at": deadline, "previous_status": None, "assignee_id": assignee},
                {"from_unit": old.code if old else None, "to_unit": unit.code, "deadline": deadline.isoformat(),
                 "assignee": assignee})


def _effects(session: Session, task: Task, action: str, data: dict[str, Any], now: datetime) -> Move:
    """Validate the action's own rules and return what it changes besides the status."""
    if action in ("request_extension", "request_park", "request_void"):
        move = Move({"previous_status": task.status}, {})
        if action == "request_extension":
            _extension_allowed(task, action, now)
            value, unit = extension.length(data, (task.limit_value, task.limit_unit))
            campaign = _campaign(session, task)
            calendar = calendar_for(session, campaign.timezone, campaign.office_hours)
            refuse_past_inspection(session, task, campaign,
                               calendar.deadline(task.deadline_at, value, unit, campaign.continuous_time))
            move.notes.update(zip(extension.FIELDS, (value, unit)))
        if action == "request_park":
            until = _park_until(session, task, data, now)
            move.values["park_until"] = until
            move.notes["until"] = until.isoformat()
        return move
    if action == "approve_extension":
        _extension_allowed(task, action, now)
        value, unit = extension.length(data, extension.requested(task))
        campaign = _campaign(session, task)
        calendar = calendar_for(session, campaign.timezone, campaign.office_hours)
        deadline = calendar.deadline(task.deadline_at, value, unit, campaign.continuous_time)
        refuse_past_inspection(session, task, campaign, deadline)
        _replan_steps(session, task, deadline, Clock.of(calendar, value, unit, campaign.continuous_time))
        return Move({"deadline_at": deadline, "extension_count": task.extension_count + 1, "previous_status": None},
                    {"deadline_from": task.deadline_at.isoformat(), "deadline_to": deadline.isoformat(),
                     "limit_value": value, "limit_unit": unit})
    if action == "approve_park":
        if task.park_until is None or task.park_until <= now:
            raise _refuse("rule", task, action, "申请的挂账截止时间已过，请驳回后重新申请。",
                          "The requested end of parking has passed; reject it and request again.")
        return Move({"paused_since": now}, {"until": task.park_until.isoformat()})
    if action == "resume":
        paused = now - (task.paused_since or now)
        cap = inspection_cap(session, task, _campaign(session, task))
        deadline = task.deadline_at + paused if cap is None else min(task.deadline_at + paused, cap)
        _shift_steps(session, task, deadline - task.deadline_at)
        return Move({"deadline_at": deadline, "paused_seconds": (task.paused_seconds or 0) + paused.total_seconds(),
                     "paused_since": None, "park_until": None, "previous_status": None},
                    {"paused_seconds": paused.total_seconds(), "deadline_from": task.deadline_at.isoformat(),
                     "deadline_to": deadline.isoformat()})
    if action == "reject_park":
        return Move({"park_until": None, "previous_status": None}, {})
    if action == "fail_check":
        return Move({"rework_count": task.rework_count + 1}, {"rework_count": task.rework_count + 1})
    if action == "reroute":
        return _reroute(session, task, data, now)
    if TRANSITIONS[(task.status, action)] == PREVIOUS or action == "approve_void":
        return Move({"previous_status": None}, {})
    return Move({}, {})


#: The data each action reads (a submission carries its template's form, checked by `prepare`); nothing else
#: is stored in the transition row, which the audit keeps for ever.
ACTION_DATA = {"send_back": ("grounds",), "request_park": ("until",), "reroute": ("unit",),
               "request_extension": extension.FIELDS, "approve_extension": extension.FIELDS}
MAX_DATA_VALUE = 64
MAX_SUBMISSION_BYTES = 16 * 1024
MAX_TRANSITION_COMMENT = 2000


def _bounded(action: str, comment: str, data: dict[str, Any]) -> None:
    """Only the fields the action reads, each short, and a submission of bounded size; all problems at once."""
    problems = []
    if len(comment) > MAX_TRANSITION_COMMENT:
        problems.append(Problem("comment", f"at most {MAX_TRANSITION_COMMENT} characters",
                                f"不超过 {MAX_TRANSITION_COMMENT} 个字符"))
    if action == "submit":
        if len(json.dumps(data, default=str, ensure_ascii=False).encode("utf-8")) > MAX_SUBMISSION_BYTES:
            problems.append(Problem("data", f"a submission's form of at most {MAX_SUBMISSION_BYTES // 1024} KB",
                                    f"提交的表单不超过 {MAX_SUBMISSION_BYTES // 1024} KB"))
    else:
        wanted = ACTION_DATA.get(action, ())
        for key, value in data.items():
            if key not in wanted:
                listed = ", ".join(wanted) or "none"
                problems.append(Problem(f"data.{key}", f"not a field of this action (its fields: {listed})",
                                        f"不是该操作的字段（其字段：{'、'.join(wanted) or '无'}）"))
            elif len(value if isinstance(value, str) else json.dumps(value, default=str)) > MAX_DATA_VALUE:
                problems.append(Problem(f"data.{key}", f"a value of at most {MAX_DATA_VALUE} characters",
                                        f"不超过 {MAX_DATA_VALUE} 个字符的值"))
    if problems:
        raise InputError(problems)


def apply(session: Session, task: Task, action: str, actor: Optional[User], comment: str = "",
          data: Optional[dict[str, Any]] = None, *, expected_version: Any,
          prepare: Optional[Callable[[Task, dict[str, Any]], dict[str, Any]]] = None) -> TaskTransition:
    """Move `task` by `action` if the table, the actor's role and scope, and the version allow it.

    `prepare`, once the move is allowed, checks and cleans the data (a submission's form and
    evidence) or raises InputError. Raises InputError (bad action, version, reason or data),
    TransitionError (refused) or VersionConflict (someone else moved the task first); in each case
    nothing was written.
    """
    if action not in RIGHTS:
        raise InputError([Problem("action", f"one of {', '.join(RIGHTS)}", f"须为 {'、'.join(RIGHTS)} 之一")])
    comment = comment if isinstance(comment, str) else ""
    if data is not None and not isinstance(data, dict):
        raise InputError([Problem("data", "a JSON object", "须为 JSON 对象")])
    data = dict(data or {})
    _bounded(action, comment, data)
    _check_rights(session, task, action, actor)
    _check_version(session, task, action, expected_version)
    source = task.status
    target = _target(task, action)
    _reason(action, comment, data)
    if prepare is not None:
        data = prepare(task, data)
        _bounded(action, comment, data)
    now = clock.now()
    move = _effects(session, task, action, data, now)
    changed = session.execute(
        update(Task).where(Task.id == task.id, Task.version == expected_version)
        .values(status=target, version=Task.version + 1, **move.values)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        status, version = session.execute(select(Task.status, Task.version).where(Task.id == task.id)).one()
        raise VersionConflict(status, action, version)
    if action == "fail_check":
        _rearm_steps(session, task)
    row = TaskTransition(task_id=task.id, from_status=source, to_status=target, action=action,
                         actor_id=actor.id if actor else None, at=now, comment=comment,
                         data={**data, **move.notes} or None)
    session.add(row)
    session.flush()
    session.expire(task)
    return row


def latest_send_backs(session: Session, task_ids: list[int]) -> dict[int, TaskTransition]:
    """The last send-back (退单) of each task, for the dispatcher who reroutes it: its grounds and reason."""
    if not task_ids:
        return {}
    rows = session.scalars(select(TaskTransition).where(TaskTransition.task_id.in_(task_ids),
                                                        TaskTransition.action == "send_back")
                           .order_by(TaskTransition.at, TaskTransition.id))
    return {row.task_id: row for row in rows}


def resume_due(session: Session) -> list[int]:
    """Resume every parked task whose parking has ended (the automatic path); return their ids.

    A task someone else moved meanwhile is skipped; the caller commits.
    """
    due = list(session.scalars(select(Task).where(Task.status == TaskStatus.PARKED, Task.park_until <= clock.now())
                               .order_by(Task.id)))
    resumed = []
    for task in due:
        try:
            with session.begin_nested():
                apply(session, task, "resume", None, "挂账期满自动恢复 / parking ended",
                      expected_version=task.version)
        except VersionConflict:
            continue
        resumed.append(task.id)
    return resumed


def actions_for(task: Task, role: str) -> list[str]:
    """The actions a role could take on the task in its current state (for buttons and hints)."""
    return [action for (state, action) in TRANSITIONS if state == task.status and role in RIGHTS[action]]
