"""The outbox row constructor: every side effect the engine decides (a task dispatched, a rule's
notification, a timeline step, a supervisor's action, a daily digest) is written as one of these rows,
in the same transaction as the decision, and delivered later at least once (engine/delivery/outbox.py)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.core.bulk import insert_rows
from engine.core.models import OutboxMessage


def message(idempotency_key: str, kind: str, target: str, payload: dict[str, Any], now: datetime, *,
            event_id: int | None = None, task_id: int | None = None, channel: str = "inbox") -> dict[str, Any]:
    """One outbox row's column values, pending and due at once; the key makes its delivery idempotent."""
    return {"idempotency_key": idempotency_key, "event_id": event_id, "task_id": task_id, "kind": kind,
            "channel": channel, "target": target, "payload": payload, "status": "pending", "attempts": 0,
            "created_at": now, "next_attempt_at": now}


def write(session: Session, messages: list[dict[str, Any]]) -> None:
    """Insert the rows in one statement inside the caller's transaction; an empty list writes nothing."""
    insert_rows(session, OutboxMessage.__table__, messages)  # one COPY (PostgreSQL) or one Core insert


def unused_key(session: Session, key: str) -> str:
    """`key` if no row has it yet, else its first free repeat (`key#2`, `key#3` …): a side effect decided again
    on the same facts (an item raised anew after its due date went back to one already raised) gets a row of
    its own, while a parallel run deciding the same repeat finds the same key."""
    batch = 8
    for start in range(1, 1 << 20, batch):
        candidates = [key if n == 1 else f"{key}#{n}" for n in range(start, start + batch)]
        taken = set(session.scalars(select(OutboxMessage.idempotency_key)
                                    .where(OutboxMessage.idempotency_key.in_(candidates))))
        free = next((c for c in candidates if c not in taken), None)
        if free is not None:
            return free
    raise RuntimeError(f"no free repeat of outbox key {key!r}")


def write_once(session: Session, messages: list[dict[str, Any]]) -> None:
    """Insert the rows, leaving out any whose key a parallel run wrote first, instead of failing the whole batch
    (and with it every other row of the caller's transaction)."""
    if not messages:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["idempotency_key"])
    elif dialect == "sqlite":
        statement = sqlite.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["idempotency_key"])
    else:
        statement = insert(OutboxMessage)
    session.execute(statement.execution_options(render_nulls=True), messages)
