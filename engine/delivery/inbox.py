"""Messages (消息): each outbox row is one message, shown to every user it is addressed to.

Whom a row is addressed to is worked out once per row, not once per reader, and kept as a few
`InboxAddress` rows: the unit its target names (`unit:`), the tier (`tier:N`), the supervising body of a
step (`payload["body"]`), and for a row about a task, the task's unit (who answers for it, as
`grid_unit`/`assignee` mean) and the people of its chain (`payload["chain"]` when the step names them,
else the chain computed from the task). A user then reads the rows addressed to their unit (a field
unit: and the units under it, as with tasks), their tier (board.tier_for), their person or themselves,
through one index; read marks are per user. Copies of one message to many units (a published bulletin's) name
in `payload["shown_as"]` the key of the copy that stands for them all: their addressees are that copy's, so an
account reading several units reads the message once.
Rows are addressed as they appear: by the escalation poller every round, and by each inbox read.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import and_, exists, func, insert, literal, or_, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased, selectinload

from engine.core import clock
from engine.core.models import UTC, Event, InboxAddress, MessageRead, OutboxMessage, Person, Task, Unit, User
from engine.people.responsibility import Organisation, chain
from engine.people.staff import unit_and_below
from engine.supervision.board import tier_for

#: A row committed this long after another with a higher id is still addressed (PostgreSQL's ids are
#: handed out before commit); the poller looks back this far.
STRAGGLERS = timedelta(minutes=5)
BATCH = 500


@dataclass(frozen=True)
class Reader:
    """The addresses one user reads: their id, units, tier and person."""

    user_id: int
    units: frozenset[int]
    tier: int | None
    person_id: int | None

    def condition(self):
        """The SQL condition on InboxAddress for the rows addressed to this reader."""
        terms = [and_(InboxAddress.scope == "user", InboxAddress.ref == self.user_id)]
        if self.units:
            terms.append(and_(InboxAddress.scope == "unit", InboxAddress.ref.in_(sorted(self.units))))
        if self.tier is not None:
            terms.append(and_(InboxAddress.scope == "tier", InboxAddress.ref == self.tier))
        if self.person_id is not None:
            terms.append(and_(InboxAddress.scope == "person", InboxAddress.ref == self.person_id))
        return or_(*terms)


def reader_of(session: Session, user: User) -> Reader:
    """A field unit reads its unit's and the units' below it (the tasks it sees); others their own unit's."""
    if user.role == "field_unit":
        units = unit_and_below(session, user.unit_id)
    else:
        units = {user.unit_id} if user.unit_id is not None else set()
    person_id = session.scalar(select(Person.id).where(Person.user_id == user.id, Person.active.is_(True)))
    return Reader(user.id, frozenset(units), tier_for(session, user), person_id)


def _ids(values: Any) -> set[int]:
    """Person ids from a payload's chain: ids, or objects carrying `id`/`person`."""
    found: set[int] = set()
    for value in values if isinstance(values, list) else []:
        if isinstance(value, dict):
            value = value.get("id", value.get("person"))
        if isinstance(value, int) and not isinstance(value, bool):
            found.add(value)
    return found


def _body_unit(body: Any) -> str | int | None:
    """The unit a step's supervising body names: a unit code, or an object with `unit`/`unit_id`/`code`."""
    if isinstance(body, dict):
        body = body.get("unit_id", body.get("unit", body.get("code")))
    return body if isinstance(body, (str, int)) and not isinstance(body, bool) else None


class _Chains:
    """The person chains of a batch's tasks, each (unit, grid, assignee) worked out once, with the paired
    leaders held so that the session's identity map keeps them between chains."""

    def __init__(self, session: Session) -> None:
        self.session, self.org = session, Organisation.load(session)
        self.paired = list(session.scalars(select(Person).where(Person.id.in_(select(Unit.liaison_id)))))
        self.known: dict[tuple[int, int | None, int | None], set[int]] = {}

    def people(self, task: Task) -> set[int]:
        grid_id = task.event.grid_id if task.event is not None else None
        key = (task.unit_id, grid_id, task.assignee_id)
        if key not in self.known:
            self.known[key] = {link.person.id for link in chain(self.session, task.unit_id, grid_id, task.assignee,
                                                                self.org) if link.person is not None}
        return self.known[key]


def _addresses(row: Any, task: Task | None, unit_ids: dict[str, int], chains: _Chains | None) -> set[tuple[str, int]]:
    scope, _, value = (row.target or "").partition(":")
    found: set[tuple[str, int]] = set()
    if scope == "source":
        return found
    if scope == "unit":
        unit = int(value) if value.isdecimal() else unit_ids.get(value)
        if unit is not None:
            found.add(("unit", unit))
    elif scope in ("tier", "user", "person") and value.isdecimal():
        found.add((scope, int(value)))
    if task is not None:  # the unit answers for its task whoever else the row names (and `grid_unit`/`assignee`)
        found.add(("unit", task.unit_id))
    payload = row.payload if isinstance(row.payload, dict) else {}
    body = _body_unit(payload.get("body"))
    if isinstance(body, int) or (isinstance(body, str) and body.isdecimal()):
        found.add(("unit", int(body)))
    elif body is not None and body in unit_ids:
        found.add(("unit", unit_ids[body]))
    if isinstance(payload.get("chain"), list):
        found |= {("person", pid) for pid in _ids(payload["chain"])}
    elif task is not None and chains is not None:
        found |= {("person", pid) for pid in chains.people(task)}
    return found


def address_new(session: Session, stragglers: bool = False, limit: int = BATCH) -> int:
    """Address the rows not addressed yet (those after the last one addressed; with `stragglers`, also
    those committed late within STRAGGLERS); return how many. No commit: the caller owns it."""
    newest = session.scalar(select(func.max(InboxAddress.outbox_id))) or 0
    columns = (OutboxMessage.id, OutboxMessage.target, OutboxMessage.payload, OutboxMessage.task_id)
    rows = []
    if stragglers and newest:
        since = session.scalar(select(OutboxMessage.created_at).where(OutboxMessage.id == newest))
        rows = session.execute(select(*columns).where(  # by the created_at index, not by id
            OutboxMessage.created_at >= since - STRAGGLERS,
            ~exists().where(InboxAddress.outbox_id == OutboxMessage.id)).limit(limit)).all()
    known = {row.id for row in rows}
    rows += [row for row in session.execute(select(*columns).where(OutboxMessage.id > newest)
                                            .order_by(OutboxMessage.id).limit(limit)) if row.id not in known]
    rows = rows[:limit]
    if not rows:
        return 0
    task_ids = {r.task_id for r in rows if r.task_id is not None}
    tasks = {t.id: t for t in session.scalars(select(Task).where(Task.id.in_(task_ids))
                                              .options(selectinload(Task.event).load_only(Event.grid_id),
                                                       selectinload(Task.assignee)))} if task_ids else {}
    codes = {r.target.partition(":")[2] for r in rows if (r.target or "").startswith("unit:")}
    codes |= {b for r in rows if isinstance(r.payload, dict) and isinstance(b := _body_unit(r.payload.get("body")), str)}
    unit_ids = dict(session.execute(select(Unit.code, Unit.id).where(Unit.code.in_(codes))).all()) if codes else {}
    needs_chain = any(r.task_id in tasks and not isinstance((r.payload or {}).get("chain"), list) for r in rows)
    chains = _Chains(session) if needs_chain else None
    standing = _standing_for(session, rows)
    values = []
    for row in rows:
        found = _addresses(row, tasks.get(row.task_id), unit_ids, chains)
        shown = standing.get(row.id, row.id)
        if shown != row.id:  # a copy: its addressees read the copy standing for it; it is itself addressed to no one
            values.append({"outbox_id": row.id, "scope": "none", "ref": 0})
        values += [{"outbox_id": shown, "scope": scope, "ref": ref}
                   for scope, ref in sorted(found or ({("none", 0)} if shown == row.id else set()))]
    session.execute(_insert_ignoring(session, InboxAddress), values)
    return len(rows)


def _standing_for(session: Session, rows: list[Any]) -> dict[int, int]:
    """Each copy's row id -> the id of the row its `shown_as` key names (one lookup by the unique key)."""
    keys = {row.id: shown for row in rows if isinstance(row.payload, dict)
            and isinstance(shown := row.payload.get("shown_as"), str)}
    if not keys:
        return {}
    ids = dict(session.execute(select(OutboxMessage.idempotency_key, OutboxMessage.id)
                               .where(OutboxMessage.idempotency_key.in_(set(keys.values())))).all())
    return {row_id: ids[key] for row_id, key in keys.items() if key in ids}


def _insert_ignoring(session: Session, model: type) -> Any:
    """An INSERT that leaves the rows another reader (or tab) wrote first, on SQLite and PostgreSQL."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing()
    return insert(model)


@dataclass(frozen=True)
class Message:
    row: OutboxMessage
    task: Task | None
    read_at: datetime | None


def _unread(reader: Reader, column: Any):
    """No read mark of the reader's on the message `column` names (its own alias: the outer query may join one)."""
    mark = aliased(MessageRead)
    return ~select(mark.id).where(mark.outbox_id == column, mark.user_id == reader.user_id).exists()


def messages(session: Session, reader: Reader, unread_only: bool = False, limit: int = 50,
             offset: int = 0) -> tuple[list[Message], int]:
    """A page of the reader's messages, newest first, and how many there are in all (with the filter):
    both read from the addresses' index, the page's rows then by id."""
    where = [reader.condition()]
    if unread_only:
        where.append(_unread(reader, InboxAddress.outbox_id))
    total = session.scalar(select(func.count(func.distinct(InboxAddress.outbox_id))).where(*where)) or 0
    ids = list(session.scalars(select(InboxAddress.outbox_id).where(*where).distinct()
                               .order_by(InboxAddress.outbox_id.desc()).limit(limit).offset(offset)))
    if not ids:
        return [], total
    rows = session.execute(select(OutboxMessage, MessageRead.read_at)
                           .outerjoin(MessageRead, and_(MessageRead.outbox_id == OutboxMessage.id,
                                                        MessageRead.user_id == reader.user_id))
                           .where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id.desc())).all()
    task_ids = {row.task_id for row, _ in rows if row.task_id is not None}
    tasks = {t.id: t for t in session.scalars(
        select(Task).where(Task.id.in_(task_ids)).options(
            selectinload(Task.unit), selectinload(Task.event).selectinload(Event.category)))} if task_ids else {}
    return [Message(row, tasks.get(row.task_id), read_at) for row, read_at in rows], total


@dataclass(frozen=True)
class Page:
    messages: list[Message]
    total: int  # with the page's filter
    unread: int


def read_page(session: Session, reader: Reader, unread_only: bool = False, limit: int = 50, offset: int = 0) -> Page:
    """What an inbox read shows: the rows written since the last addressed are addressed first (so a step
    that just ran is there), then the page and the unread count. No commit: the caller owns it."""
    address_new(session)
    found, total = messages(session, reader, unread_only, limit, offset)
    return Page(found, total, unread_count(session, reader))


def unread_count(session: Session, reader: Reader) -> int:
    """The header's badge: one COUNT over the reader's addresses without a read mark."""
    return session.scalar(select(func.count(func.distinct(InboxAddress.outbox_id))).where(
        reader.condition(), _unread(reader, InboxAddress.outbox_id))) or 0


def is_addressed(session: Session, reader: Reader, outbox_id: int) -> bool:
    return session.scalar(select(InboxAddress.id).where(reader.condition(), InboxAddress.outbox_id == outbox_id)
                          .limit(1)) is not None


def mark_read(session: Session, reader: Reader, outbox_ids: Iterable[int]) -> int:
    """Mark the reader's own messages among `outbox_ids` read (once each); return how many were new.
    No commit."""
    ids = {int(i) for i in outbox_ids}
    if not ids:
        return 0
    mine = set(session.scalars(select(InboxAddress.outbox_id).where(reader.condition(),
                                                                   InboxAddress.outbox_id.in_(ids))))
    done = set(session.scalars(select(MessageRead.outbox_id).where(MessageRead.user_id == reader.user_id,
                                                                  MessageRead.outbox_id.in_(mine)))) if mine else set()
    now = clock.now()
    new = [{"outbox_id": i, "user_id": reader.user_id, "read_at": now} for i in sorted(mine - done)]
    if new:
        session.execute(_insert_ignoring(session, MessageRead), new)
    return len(new)


def mark_all_read(session: Session, reader: Reader) -> int:
    """Mark every unread message of the reader read, in one INSERT … SELECT. No commit."""
    ids = select(InboxAddress.outbox_id).where(reader.condition(), _unread(reader, InboxAddress.outbox_id)) \
        .distinct().subquery()
    # WHERE true: SQLite reads ON CONFLICT after a bare FROM as a join's ON (its documented parsing ambiguity)
    unread = select(ids.c.outbox_id, literal(reader.user_id), literal(clock.now(), UTC)).where(true())
    # RETURNING counts what was inserted: PostgreSQL reports no rowcount for an INSERT … SELECT … ON CONFLICT here
    result = session.execute(_insert_ignoring(session, MessageRead)
                             .from_select(["outbox_id", "user_id", "read_at"], unread).returning(MessageRead.id))
    return len(result.all())
