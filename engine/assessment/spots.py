"""The spot a rebound (反弹) belongs to, so that a spot that keeps coming back counts once per period.

A rebound names the task last closed at its place; that task's own report may itself have been a rebound of
an earlier task there, and so on. The spot is the first task of that chain: the first closure at the place.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.models import Event, Task

CHUNK = 500


def roots(session: Session, task_ids: Iterable[int]) -> dict[int, int]:
    """Each task's spot: the task at the start of its rebound chain (itself when its report was no rebound)."""
    wanted = list(dict.fromkeys(task_ids))
    parent: dict[int, int | None] = {}
    frontier = set(wanted)
    while frontier:
        batch, frontier = sorted(frontier), set()
        for start in range(0, len(batch), CHUNK):
            for task_id, origin in session.execute(select(Task.id, Event.rebound_task_id)
                                                   .join(Event, Event.id == Task.event_id)
                                                   .where(Task.id.in_(batch[start:start + CHUNK]))):
                parent[task_id] = origin
                if origin is not None and origin not in parent:
                    frontier.add(origin)
    return {task_id: _root(parent, task_id) for task_id in wanted}


def _root(parent: dict[int, int | None], task_id: int) -> int:
    seen = {task_id}
    while (up := parent.get(task_id)) is not None and up not in seen:
        seen.add(up)
        task_id = up
    return task_id
