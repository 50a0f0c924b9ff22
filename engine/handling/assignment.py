"""Handing a task to a person of its unit (我的任务): a unit's leader chooses who handles it.

Assignment is not a move of state: the status and version stay, and a transition row with the action
`assign` records who chose whom, so the task's history and the audit chain show it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine.core.models import Person, Task, TaskTransition, User
from engine.core.states import TERMINAL
from engine.people.responsibility import check_assignee
from engine.people.staff import LEADERS, person_of, unit_and_below
from rules.problems import InputError, Problem


class AssignmentRefused(Exception):
    """The actor may not assign this task; nothing was written."""

    def __init__(self, zh: str, en: str):
        self.zh, self.en = zh, en
        super().__init__(en)

    def message(self, lang: str = "en") -> str:
        return self.zh if lang.startswith("zh") else self.en


def may_assign(session: Session, task: Task, actor: Optional[User]) -> bool:
    """An administrator; or a field unit's shared account or leader (分管领导, 大队长, 中队长) whose units
    include the task's unit, or include the unit of the person now holding it (a squad chief re-assigning)."""
    if actor is None or task.status in TERMINAL:
        return False
    if actor.role == "admin":
        return True
    if actor.role != "field_unit":
        return False
    person = person_of(session, actor)
    if person is not None and person.position not in LEADERS:
        return False
    scope = unit_and_below(session, actor.unit_id)
    return task.unit_id in scope or (task.assignee is not None and task.assignee.unit_id in scope)


def assign(session: Session, task: Task, person: Optional[Person], actor: Optional[User], now: datetime,
           comment: str = "") -> TaskTransition:
    """Give `task` to `person` (a person of the task's unit); flushes, never commits."""
    if not may_assign(session, task, actor):
        raise AssignmentRefused("你无权指派该任务（须为本单位负责人，且任务未办结）。",
                                "You may not assign this task (a leader of its unit, and the task still open).")
    if person is None or not person.active:
        raise InputError([Problem("person", "choose an active person of the unit", "请选择本单位在岗人员")])
    problems = check_assignee(session, task.unit_id, person)
    if not problems and actor.role == "field_unit" and task.unit_id not in unit_and_below(session, actor.unit_id) \
            and person.unit_id not in unit_and_below(session, actor.unit_id):
        problems = [Problem("person", "a squad chief assigns within the squad", "中队长只能指派给本中队人员")]
    if problems:
        raise InputError(problems)
    previous = task.assignee
    held = session.execute(update(Task).where(Task.id == task.id, Task.unit_id == task.unit_id,
                                              Task.status.not_in(TERMINAL))
                           .values(assignee_id=person.id).execution_options(synchronize_session=False)).rowcount
    if held != 1:  # rerouted or closed since it was read: the person may no longer belong to its unit
        raise AssignmentRefused("任务已被他人改派或办结，请刷新后重试。",
                                "The task was rerouted or closed meanwhile; reload it and try again.")
    session.expire(task, ["assignee", "assignee_id"])
    row = TaskTransition(task_id=task.id, from_status=task.status, to_status=task.status, action="assign",
                         actor_id=actor.id, at=now, comment=comment or "",
                         data={"person": person.id, "name": person.name,
                               "previous": previous.name if previous is not None else None})
    session.add(row)
    session.flush()
    return row
