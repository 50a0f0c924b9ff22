"""Addressing outbox rows to readers: a step that names its person chain and supervising body reaches
them, a tier's row reaches that tier's supervisors, a reply to a source reaches nobody here, and a row
committed after a later one was addressed is still found by the poller's look back."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.core import clock, outbox
from engine.core.models import InboxAddress, OutboxMessage, Person, Unit, User
from engine.delivery import inbox

#: address_new takes one batch of unaddressed rows, oldest first: the backlog files before may leave is addressed
#: first, as the escalation poller keeps it in a running service, so the batch holds this test's own rows.
pytestmark = pytest.mark.usefixtures("messages_caught_up")


def user(session, name: str) -> User:
    return session.scalar(select(User).where(User.username == name))


def ids(session, name: str) -> set[int]:
    """Every message in the reader's inbox, page by page: the messages files before have left for the reader may be
    more than a page, and a row committed late has an id below theirs (the oldest, newest first)."""
    reader, found, offset = inbox.reader_of(session, user(session, name)), set(), 0
    while True:
        page, total = inbox.messages(session, reader, limit=500, offset=offset)
        found |= {m.row.id for m in page}
        offset += len(page)
        if not page or offset >= total:
            return found


def row_id(session, key: str) -> int:
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))


def test_a_step_naming_its_chain_and_body_reaches_them_and_its_tier(session):
    zhangwei = session.scalar(select(Person.id).where(Person.code == "ZDDC-002"))
    now = clock.now()
    outbox.write(session, [outbox.message("inbox-test:order", "order", "tier:2",
                                          {"action": "order", "tier": 2, "chain": [zhangwei], "body": "DCZD"}, now)])
    inbox.address_new(session)
    message = row_id(session, "inbox-test:order")
    addresses = set(session.execute(select(InboxAddress.scope, InboxAddress.ref)
                                    .where(InboxAddress.outbox_id == message)).all())
    dczd = session.scalar(select(Unit.id).where(Unit.code == "DCZD"))
    assert addresses == {("tier", 2), ("person", zhangwei), ("unit", dczd)}
    assert message in ids(session, "zhangwei") and message in ids(session, "supervisor")
    assert message not in ids(session, "squad_dc") and message not in ids(session, "squad_lead")
    assert message not in ids(session, "xicheng")


def test_a_reply_to_a_source_is_nobodys_message_and_unit_codes_resolve(session):
    now = clock.now()
    outbox.write(session, [outbox.message("inbox-test:reply", "case_reply", "source:hotline-12345", {}, now,
                                          channel="webhook"),
                           outbox.message("inbox-test:notify", "notify", "unit:JD-XC", {"rule": "r"}, now)])
    assert inbox.address_new(session) >= 2
    reply, notify = row_id(session, "inbox-test:reply"), row_id(session, "inbox-test:notify")
    assert session.execute(select(InboxAddress.scope).where(InboxAddress.outbox_id == reply)).scalars().all() == ["none"]
    assert reply not in ids(session, "admin")
    assert notify in ids(session, "xicheng") and notify not in ids(session, "dongcheng")


def test_a_row_committed_late_is_found_by_the_look_back(session):
    now = clock.now()
    outbox.write(session, [outbox.message("inbox-test:later", "notify", "unit:JD-DC", {}, now)])
    inbox.address_new(session)
    later = row_id(session, "inbox-test:later")
    # a row whose id was handed out before `later` but committed after it had been addressed (PostgreSQL)
    taken = set(session.scalars(select(OutboxMessage.id)))
    early_id = next(i for i in range(later - 1, -later - 2, -1) if i not in taken)
    session.add(OutboxMessage(id=early_id, idempotency_key="inbox-test:early", kind="notify", channel="inbox",
                              target="unit:JD-DC", payload={}, status="pending", attempts=0,
                              created_at=now - timedelta(seconds=1), next_attempt_at=now))
    session.flush()
    assert inbox.address_new(session) == 0  # a reader's quick pass looks only past the last addressed row
    assert early_id not in ids(session, "dongcheng")
    assert inbox.address_new(session, stragglers=True) == 1  # the poller looks back
    assert early_id in ids(session, "dongcheng")


def test_marking_all_read_marks_only_the_readers_own(session):
    now = clock.now()
    outbox.write(session, [outbox.message(f"inbox-test:all:{unit}", "notify", f"unit:{unit}", {}, now)
                           for unit in ("JD-DC", "JD-XC")])
    inbox.address_new(session)
    dongcheng = inbox.reader_of(session, user(session, "dongcheng"))
    xicheng = inbox.reader_of(session, user(session, "xicheng"))
    before = inbox.unread_count(session, xicheng)
    assert inbox.unread_count(session, dongcheng) >= 1
    assert inbox.mark_all_read(session, dongcheng) >= 1
    assert inbox.unread_count(session, dongcheng) == 0 and inbox.mark_all_read(session, dongcheng) == 0
    assert inbox.unread_count(session, xicheng) == before
    assert inbox.mark_read(session, dongcheng, [row_id(session, "inbox-test:all:JD-XC")]) == 0  # not theirs
