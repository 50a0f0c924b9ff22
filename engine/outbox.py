"""Delivery of outbox rows, at least once, each carrying its idempotency key.

The spine delivers to the in-app inbox (the row itself is the message, marked delivered);
external channels arrive with the notification work and reuse this claim-and-mark loop.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.models import OutboxMessage


def deliver_due(session: Session, limit: int = 500) -> int:
    """Deliver the due pending rows; return how many were delivered. Commits."""
    now = clock.now()
    rows = list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)))
    for row in rows:
        row.attempts += 1
        if row.channel == "inbox":
            row.status = "delivered"
            row.delivered_at = now
        else:
            row.status = "failed"
            row.last_error = f"no delivery channel {row.channel!r}"
    session.commit()
    return sum(1 for r in rows if r.status == "delivered")


def pending_count(session: Session) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= clock.now())) or 0
