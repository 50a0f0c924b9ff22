"""Who held a task when, read from its history, so a lost point is charged to whoever held the task at the
instant it was lost ("谁丢分谁负责"), not to whoever holds it now.

The history names the holder on three transitions: `dispatch` (`assignee`, absent when the task was born
unassigned), `assign` (`person`, the new holder; `previous`, the name of the one before or null) and
`reroute` (`assignee`, an id or null). See docs/ASSESSMENT.md.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

#: The transitions that say who holds the task from then on, and the data key that names the person.
HOLDER_KEYS = {"dispatch": "assignee", "assign": "person", "reroute": "assignee"}
HOLDER_ACTIONS = tuple(HOLDER_KEYS)

Holding = tuple[datetime, "int | None"]  # from this instant on, this person (or nobody) holds the task
_UNNAMED = object()


def _named(action: str, data: dict[str, Any] | None) -> object:
    data = data or {}
    key = HOLDER_KEYS[action]
    return data.get(key, _UNNAMED)


def holdings(records: Iterable[tuple[datetime, str, dict[str, Any] | None]], current: int | None) -> list[Holding]:
    """The task's holders in time order from its dispatch, assign and reroute records (in time order).

    A record that does not name the holder (a dispatch unassigned at birth, or made before the history named
    holders) is resolved: nobody when the next record is an assignment from nobody (`previous` null), else
    the task's current assignee, as every change since is recorded.
    """
    items = [(at, action, data or {}) for at, action, data in records]
    result: list[Holding] = []
    for index, (at, action, data) in enumerate(items):
        holder = _named(action, data)
        if holder is _UNNAMED:
            following = items[index + 1] if index + 1 < len(items) else None
            from_nobody = following is not None and following[1] == "assign" and "previous" in following[2] \
                and following[2]["previous"] is None
            holder = None if from_nobody else current
        result.append((at, holder if isinstance(holder, int) else None))
    return result


def holder_at(held: Sequence[Holding], current: int | None, instant: datetime) -> int | None:
    """Who held the task at `instant`: the last holding from at or before it (the first one before any; the
    current assignee when the history names none)."""
    if not held:
        return current
    holder = held[0][1]
    for at, person in held:
        if at > instant:
            break
        holder = person
    return holder


def unit_dispatches(created_at: datetime, unit_id: int, reroutes: Sequence[tuple[datetime, dict[str, Any]]],
                    codes: dict[str, int]) -> list[tuple[datetime, int]]:
    """A task's dispatch and reroutes as (instant, unit id), from the reroutes' `from_unit`/`to_unit` codes;
    a unit whose code is no longer known stands as the task's current unit (`unit_id`)."""
    first = codes.get(reroutes[0][1].get("from_unit"), unit_id)
    return [(created_at, first)] + [(at, codes.get(data.get("to_unit"), unit_id)) for at, data in reroutes]
