"""When a task ran overdue (超时), by the brief's rule (b.4): the unit's submission (confirm-and-forward) that
stands counts, not its first one, because rework does not reset the clock (退回重办继续计; seed 002,
「工作不达标不放过」). The indicators, the bulletin and the task page all judge a task by this one function.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


def overdue_since(moves: Iterable[tuple[datetime, str]], deadline: datetime, before: datetime) -> datetime | None:
    """The instant before `before` at which the task ran overdue, or None if it had not by then.

    Its deadline, unless a submission made by the deadline still stood then (awaiting or past its check); in
    that case the later failed check of that submission, since every submission after it is late. A task
    voided before that instant never ran overdue. `moves` are (instant, action) in time order.
    """
    moves = [(at, action) for at, action in moves if at < before]
    in_time = False
    for at, action in moves:
        if at > deadline:
            break
        if action in ("submit", "fail_check"):
            in_time = action == "submit"
    since = deadline if not in_time else next(
        (at for at, action in moves if action == "fail_check" and at > deadline), None)
    if since is None or since >= before:
        return None
    voided = next((at for at, action in moves if action == "approve_void"), None)
    return None if voided is not None and voided < since else since
