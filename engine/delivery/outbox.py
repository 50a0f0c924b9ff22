"""Delivery of outbox rows, at least once, each carrying its idempotency key.

The row itself is the in-app inbox message. On its first round a row fans out to the enabled
recipients its target names (`tier:N`, `unit:<id or code>`, `grid_unit`/`assignee` = the task's
unit) plus the on-call recipients, one `Delivery` each; a reply to a case's source (`source:<name>`) goes to
that source's reply addresses alone. Outside office hours (not an office period of a working day of the
task's campaign) a unit's message goes to the person(s) on duty in its roster through their own channels
(scope `person`) instead of the unit's day address; with nobody on duty, or nobody reachable, it goes to the
day address and the on-call recipients as before, and the row's payload says so under `duty`.

Each delivery is claimed by pushing its `next_attempt_at` out by a lease and committing, sent outside any
transaction, then recorded with a guarded update: a crash mid-send resends after the lease with the same key,
and nothing is marked delivered twice. Failures back off exponentially in SQL, so the sweep finds them after a Redis loss.
A row is delivered once all its deliveries are, failed once none is pending and one failed. Disabling a
recipient cancels its pending deliveries in the same transaction (`disable`); a row whose deliveries were all
cancelled is cancelled, and a send already under way when it happened is not recorded.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.worktime import calendar_for
from engine.delivery import channels as notify
from engine.core.models import (DEFAULT_TIMEZONE, BulletinIssue, Campaign, Delivery, OutboxMessage, Recipient, Task,
                               Unit)
from engine.people.roster import on_duty

Sender = Callable[[notify.Addressee, notify.Context, notify.Policy], notify.Outcome]
ROUND_ROWS = 500  # rows one delivery round takes at most


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    attempts: int
    recipient: notify.Addressee
    context: notify.Context


@dataclass(frozen=True)
class Routing:
    """Whom a row goes to and, outside office hours, how its unit's duty was resolved (None in office hours)."""

    recipients: list[Recipient]
    duty: dict[str, Any] | None = None


class Directory:
    """The enabled recipients read once, and each unit's duty resolved once, for one delivery round at one instant:
    a round of 500 rows routes them in memory instead of asking SQL a handful of questions per row."""

    def __init__(self, session: Session, at: datetime, tasks: dict[int, Task] | None = None) -> None:
        self.session, self.at, self.tasks = session, at, tasks or {}
        self.recipients = list(session.scalars(select(Recipient).where(Recipient.enabled.is_(True))
                                               .order_by(Recipient.id).execution_options(populate_existing=True)))
        self._duties: dict[tuple[int, int | None], tuple[list[int], dict[str, Any] | None]] = {}
        self._unit_codes: dict[str, int | None] = {}

    def route(self, row: OutboxMessage) -> Routing:
        """The one resolver: the enabled recipients a row's target names, plus on-call, each once; a unit's day
        address gives way to its on-duty people outside office hours; a reply to a source (`source:<name>`) goes
        to that source's own addresses only."""
        task = None
        if row.task_id:
            task = self.tasks.get(row.task_id) or self.session.get(Task, row.task_id)
        scope, _, value = row.target.partition(":")
        if scope == "source":
            return Routing([r for r in self.recipients if r.scope == "source" and r.source == value])
        tier_level, campaign_id = None, None
        if scope == "tier" and value.isdecimal():
            tier_level = int(value)
            payload = row.payload if isinstance(row.payload, dict) else {}
            campaign_id = task.campaign_id if task is not None else payload.get("campaign")
        unit_id = self._unit_id(scope, value, task)
        reachable, duty = self._duty(unit_id, task) if unit_id is not None else ([], None)
        return Routing([r for r in self.recipients if _named(r, tier_level, campaign_id, unit_id, reachable)], duty)

    def _unit_id(self, scope: str, value: str, task: Task | None) -> int | None:
        if scope == "unit" and not value.isdecimal():  # a rule action's unit code: looked up once a round
            if value not in self._unit_codes:
                self._unit_codes[value] = _unit_id(self.session, scope, value, task)
            return self._unit_codes[value]
        return _unit_id(self.session, scope, value, task)

    def _duty(self, unit_id: int, task: Task | None) -> tuple[list[int], dict[str, Any] | None]:
        key = (unit_id, task.campaign_id if task is not None else None)
        if key not in self._duties:
            self._duties[key] = _duty(self.session, unit_id, task, self.at)
        return self._duties[key]


def _named(recipient: Recipient, tier_level: int | None, campaign_id: Any, unit_id: int | None,
           reachable: list[int]) -> bool:
    """Whether a (not source-scoped) row reaches this recipient: on-call always; a tier's recipients (of the row's
    campaign or of none); the unit's on-duty people outside office hours, else the unit's own address."""
    if recipient.scope == "oncall":
        return True
    if recipient.scope == "tier":
        return (tier_level is not None and recipient.tier_level == tier_level
                and (not isinstance(campaign_id, int) or recipient.campaign_id in (None, campaign_id)))
    if unit_id is None:
        return False
    if reachable:
        return recipient.scope == "person" and recipient.person_id in reachable
    return recipient.scope == "unit" and recipient.unit_id == unit_id


def _campaign_of(session: Session, task: Task | None) -> Campaign | None:
    """The task's campaign; for a unit message without a task, the first active campaign (its office hours)."""
    if task is not None:
        return session.get(Campaign, task.campaign_id)
    return session.scalar(select(Campaign).where(Campaign.status == "active").order_by(Campaign.id).limit(1))


def _duty(session: Session, unit_id: int, task: Task | None, at: datetime) -> tuple[list[int], dict[str, Any] | None]:
    """Outside office hours, the ids of the unit's on-duty people who have an enabled channel, and what the
    payload records: who was on duty, and `gap` (no_one_on_duty | no_channel) when the day address stands in."""
    campaign = _campaign_of(session, task)
    calendar = calendar_for(session, campaign.timezone if campaign else DEFAULT_TIMEZONE,
                            campaign.office_hours if campaign else None)
    if calendar.is_office_time(at):
        return [], None
    people = {s.person_id: s.person.name for s in on_duty(session, unit_id, at)}
    reachable = sorted(set(session.scalars(select(Recipient.person_id).where(
        Recipient.enabled.is_(True), Recipient.scope == "person", Recipient.person_id.in_(people))))) if people else []
    gap = None if reachable else ("no_channel" if people else "no_one_on_duty")
    duty = {"at": at.isoformat(), "unit_id": unit_id, "on_duty": [people[pid] for pid in sorted(people)],
            "reached": [people[pid] for pid in reachable], "gap": gap}
    return reachable, duty


def _unit_id(session: Session, scope: str, value: str, task: Task | None) -> int | None:
    """Engine rows name units by id, rule actions by code; `grid_unit` and `assignee` mean the task's unit."""
    if scope == "unit":
        if value.isdecimal():
            return int(value)
        return session.scalar(select(Unit.id).where(Unit.code == value))
    if scope in ("grid_unit", "assignee") and task is not None:
        return task.unit_id
    return None


def context_for(session: Session, row: OutboxMessage) -> notify.Context:
    """What the message says: the row's kind and payload with its task's unit and deadline."""
    task = session.get(Task, row.task_id) if row.task_id else None
    unit = task.unit if task is not None else None
    scope, _, value = row.target.partition(":")
    if unit is None and scope == "unit":
        unit_id = _unit_id(session, scope, value, None)
        unit = session.get(Unit, unit_id) if unit_id is not None else None
    zone = DEFAULT_TIMEZONE
    if task is not None:
        zone = session.scalar(select(Campaign.timezone).where(Campaign.id == task.campaign_id)) or zone
    return notify.Context(kind=row.kind, idempotency_key=row.idempotency_key, target=row.target,
                          payload=dict(row.payload or {}), task_id=row.task_id, event_id=row.event_id,
                          unit={"zh": unit.name_zh, "en": unit.name_en} if unit is not None else None,
                          deadline=task.deadline_at if task is not None else None, timezone=zone,
                          attachments=_attachments(session, row))


def _attachments(session: Session, row: OutboxMessage) -> tuple[notify.Attachment, ...]:
    """A published bulletin's e-mail carries its PDF, each reader the one in their language."""
    if row.kind != "bulletin_published" or not (row.payload or {}).get("issue"):
        return ()
    issue = session.get(BulletinIssue, row.payload["issue"])
    if issue is None:
        return ()
    name = f"bulletin-{row.payload.get('campaign', '')}-{issue.number}"
    return (notify.Attachment(f"{name}.pdf", "application/pdf", issue.pdf_zh, "zh"),
            notify.Attachment(f"{name}-en.pdf", "application/pdf", issue.pdf_en, "en"))


def _fan_out(session: Session, rows: list[OutboxMessage], now: datetime) -> None:
    """A first round's rows: one pending `Delivery` per recipient each names (none twice), and the duty resolved."""
    known: set[tuple[int, int]] = set(session.execute(select(Delivery.outbox_id, Delivery.recipient_id).where(
        Delivery.outbox_id.in_([row.id for row in rows]))).tuples())
    task_ids = {row.task_id for row in rows if row.task_id}
    tasks = {task.id: task for task in session.scalars(select(Task).where(Task.id.in_(task_ids)))} if task_ids else {}
    directory = Directory(session, now, tasks)
    with session.no_autoflush:  # routing only reads: the round's payloads and deliveries are flushed once, after
        for row in rows:
            routing = directory.route(row)
            if routing.duty is not None:
                row.payload = {**(row.payload or {}), "duty": routing.duty}
            session.add_all(Delivery(outbox_id=row.id, recipient_id=recipient.id, status="pending", attempts=0,
                                     next_attempt_at=now)
                            for recipient in routing.recipients if (row.id, recipient.id) not in known)


def deliver_due(session: Session, limit: int = ROUND_ROWS, send_limit: int = 20, sender: Sender | None = None) -> int:
    """Deliver the due pending rows; return how many rows became delivered. Commits."""
    policy = notify.delivery_policy()
    send = sender or notify.send
    now = clock.now()
    rows = list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)))  # attempts are counted in SQL: never trust an earlier round's copy
    if not rows:
        session.commit()
        return 0
    row_ids = [row.id for row in rows]
    fresh = [row for row in rows if row.attempts == 0]
    if fresh:
        _fan_out(session, fresh, now)
    session.flush()
    due = list(session.scalars(select(Delivery).where(
        Delivery.outbox_id.in_(row_ids), Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.id).limit(send_limit).with_for_update(skip_locked=True)))
    lease_until = now + timedelta(seconds=60 + policy.longest_call * (len(due) + 1))
    contexts: dict[int, notify.Context] = {}
    claims: list[_Claim] = []
    for delivery in due:
        delivery.attempts += 1
        delivery.next_attempt_at = lease_until
        if delivery.outbox_id not in contexts:
            contexts[delivery.outbox_id] = context_for(session, session.get(OutboxMessage, delivery.outbox_id))
        claims.append(_Claim(delivery.id, delivery.attempts, notify.Addressee.of(delivery.recipient),
                             contexts[delivery.outbox_id]))
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(row_ids))
                    .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=lease_until)
                    .execution_options(synchronize_session=False))
    session.commit()
    outcomes = [(claim, send(claim.recipient, claim.context, policy)) for claim in claims]
    finished = clock.now()
    for claim, outcome in outcomes:
        _record(session, claim, outcome, policy, finished)
    delivered = _settle(session, row_ids, finished)
    session.commit()
    return delivered


def _record(session: Session, claim: _Claim, outcome: notify.Outcome, policy: notify.Policy, now: datetime) -> None:
    """Write one send's result, only if the delivery is still the pending one this run claimed."""
    guard = (Delivery.id == claim.delivery_id, Delivery.status == "pending", Delivery.attempts == claim.attempts)
    if outcome.ok:
        values = {"status": "delivered", "delivered_at": now, "last_error": None, "next_attempt_at": None}
    elif outcome.permanent or claim.attempts >= policy.max_attempts:
        values = {"status": "failed", "last_error": outcome.error[:2000], "next_attempt_at": None}
    else:
        values = {"last_error": outcome.error[:2000],
                  "next_attempt_at": now + timedelta(seconds=policy.backoff(claim.attempts))}
    session.execute(update(Delivery).where(*guard).values(**values).execution_options(synchronize_session=False))


def _settle(session: Session, row_ids: list[int], now: datetime) -> int:
    """Move rows on from their deliveries' states; return how many became delivered here. A row with no delivery
    pending, failed or with an error (most rows: no channel but the inbox) is delivered in one statement for all."""
    states: dict[int, list[Any]] = {row_id: [] for row_id in row_ids}
    for state in session.execute(select(Delivery.outbox_id, Delivery.status, Delivery.next_attempt_at,
                                        Delivery.last_error, Recipient.name, Recipient.channel)
                                 .join(Recipient, Recipient.id == Delivery.recipient_id)
                                 .where(Delivery.outbox_id.in_(row_ids))):
        states[state.outbox_id].append(state)
    clean = [row_id for row_id, rows in states.items()
             if not any(s.status in ("pending", "failed") or s.last_error for s in rows)
             and not (rows and all(s.status == "cancelled" for s in rows))]
    delivered = _set_rows(session, clean, {"status": "delivered", "delivered_at": now, "last_error": None,
                                           "next_attempt_at": None}) if clean else 0
    for row_id in sorted(states.keys() - set(clean)):
        rows = states[row_id]
        pending = [s.next_attempt_at for s in rows if s.status == "pending"]
        errors = "; ".join(f"{s.name or s.channel}: {s.last_error}" for s in rows if s.last_error)[:4000] or None
        if pending:
            values = {"next_attempt_at": min(pending), "last_error": errors}
        elif any(s.status == "failed" for s in rows):
            values = {"status": "failed", "last_error": errors, "next_attempt_at": None}
        elif all(s.status == "cancelled" for s in rows):
            values = {"status": "cancelled", "last_error": errors, "next_attempt_at": None}
        else:
            values = {"status": "delivered", "delivered_at": now, "last_error": None, "next_attempt_at": None}
        done = _set_rows(session, [row_id], values)
        delivered += done if values.get("status") == "delivered" else 0
    return delivered


def _set_rows(session: Session, row_ids: list[int], values: dict[str, Any]) -> int:
    """Update the rows still pending (a row settled meanwhile stays as it is); return how many changed."""
    return session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(row_ids), OutboxMessage.status == "pending")
                           .values(**values).execution_options(synchronize_session=False)).rowcount


def requeue(session: Session, delivery_ids: Iterable[int]) -> int:
    """Send failed deliveries again (admin "Requeue"), with fresh attempts and the same key; no commit."""
    now = clock.now()
    ids = [int(i) for i in delivery_ids]
    rows = list(session.scalars(select(Delivery).where(Delivery.id.in_(ids), Delivery.status == "failed")))
    for delivery in rows:
        delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, now
        message = session.get(OutboxMessage, delivery.outbox_id)
        if message.status != "delivered":
            message.status, message.next_attempt_at = "pending", now
    return len(rows)


RECIPIENT_DISABLED = "cancelled: the recipient was disabled / 已取消：接收方已停用"


def cancel_sends(session: Session, recipient_id: int, reason: str = RECIPIENT_DISABLED) -> int:
    """Cancel a recipient's queued sends (pending deliveries, due or backing off), each keeping the reason as its
    error, and move their rows on; returns how many. No commit: the caller's change and this are one."""
    now = clock.now()
    deliveries = list(session.scalars(select(Delivery).where(Delivery.recipient_id == recipient_id,
                                                             Delivery.status == "pending")))
    for delivery in deliveries:
        delivery.status, delivery.next_attempt_at, delivery.last_error = "cancelled", None, reason
    session.flush()
    if deliveries:
        _settle(session, sorted({delivery.outbox_id for delivery in deliveries}), now)
    return len(deliveries)


def disable(session: Session, recipient: Recipient) -> int:
    """Stop sending to a recipient: it is no longer routed to, and its queued sends are cancelled."""
    recipient.enabled = False
    return cancel_sends(session, recipient.id)


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= clock.now())) or 0


def sends_due(session: Session) -> bool:
    """Whether a routed row has a send due now (one a round held back past its send limit, or a retry)."""
    return session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= clock.now(), OutboxMessage.attempts > 0)
        .limit(1)) is not None
