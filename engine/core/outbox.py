"""The outbox row constructor: every side effect the engine decides (a task dispatched, a rule's
notification, a timeline step, a supervisor's action, a daily digest) is written as one of these rows,
in the same transaction as the decision, and delivered later at least once (engine/delivery/outbox.py)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

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
