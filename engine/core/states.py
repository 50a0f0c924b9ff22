"""The states a task, a case and an event can be in, named once for the engine, the pages and the API.

Members are strings, so they compare equal to what the status columns store and go into SQL and
JSON as they are. Which task state may follow which is the state machine's table in
engine/handling/tasks.py; this module only names the states.
"""
from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    """Where a task stands in its lifecycle (派发 → 签收 → 处置 → 核查 → 结案, with requests and 挂账)."""

    DISPATCHED = "dispatched"
    SIGNED = "signed"
    HANDLING = "handling"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    CLOSED = "closed"
    EXT_REQUESTED = "ext_requested"
    PARK_REQUESTED = "park_requested"
    PARKED = "parked"  # 挂账: approved pause, the clock stands still
    SENT_BACK = "sent_back"
    VOID_REQUESTED = "void_requested"
    VOIDED = "voided"


#: States a task never leaves: no step, deadline or light applies to it any more.
TERMINAL: frozenset[TaskStatus] = frozenset({TaskStatus.CLOSED, TaskStatus.VOIDED})

#: Requests awaiting the dispatcher; the task's progress is that of the state it was in before.
REQUESTS: frozenset[TaskStatus] = frozenset({TaskStatus.EXT_REQUESTED, TaskStatus.PARK_REQUESTED,
                                             TaskStatus.VOID_REQUESTED})

#: How far along the lifecycle a state is; a timeline step is skipped once the task reaches its unless-state.
PROGRESS: dict[str, int] = {
    TaskStatus.DISPATCHED: 0, TaskStatus.SENT_BACK: 0, TaskStatus.SIGNED: 1, TaskStatus.HANDLING: 2,
    TaskStatus.RETURNED: 2, TaskStatus.SUBMITTED: 3, TaskStatus.CLOSED: 5, TaskStatus.VOIDED: 5,
}


class EventStatus(StrEnum):
    """Where an event stands in evaluation."""

    PENDING = "pending"
    EVALUATED = "evaluated"
    FAILED = "failed"  # gave up after failing alone `max_attempts` times; its error is kept


class CaseStage(StrEnum):
    """Where a case stands (DESIGN 12): 受理 → 核实 → 立案 or 不予立案 → 派遣 → 结案, then 回访.

    Named here for the API's stable contract; the moves between them are engine/cases/stages.py's."""

    REPORTED = "reported"
    VERIFYING = "verifying"
    FILING = "filing"
    AWAITING_DISPATCH = "awaiting_dispatch"
    FILED = "filed"
    NOT_FILED = "not_filed"
    VOID = "void"
    DISPATCHED = "dispatched"
    CLOSED = "closed"
    REOPENED = "reopened"
    REVISITED = "revisited"


#: Stages a case never leaves on its own; a report is never linked to a case in one of them.
CASE_ENDED: frozenset[CaseStage] = frozenset({CaseStage.CLOSED, CaseStage.NOT_FILED, CaseStage.VOID,
                                              CaseStage.REVISITED})
