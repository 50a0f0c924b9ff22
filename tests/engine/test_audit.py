"""Tamper evidence: sealed segments chain; a changed, deleted or inserted row breaks the chain;
PostgreSQL refuses updates and deletes of the append-only tables outright."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from engine.audit import seals as audit
from engine.core import clock
from engine.intake.events import IntakeSource, accept_event
from engine.core.models import Firing
from tests.helpers import event


def sealed_firing(factory, drain, session) -> Firing:
    with factory() as s:
        event_id = accept_event(s, event("06029", "XC-04", hour=23), IntakeSource("audit-tests"))[0].id
        s.commit()
    drain()
    with factory() as s:
        audit.seal(s, now=clock.now() + timedelta(minutes=5))
    return session.scalars(select(Firing).where(Firing.event_id == event_id)).first()


def test_the_chain_is_intact_and_counts_rows(factory, drain, session):
    sealed_firing(factory, drain, session)
    with factory() as s:
        verdict = audit.verify(s)
    assert verdict.intact and verdict.broken is None
    assert verdict.sealed_rows["firings"] > 0 and verdict.unsealed_rows["firings"] == 0


def test_a_changed_row_is_found(factory, drain, session):
    firing = sealed_firing(factory, drain, session)
    with factory() as s:
        if s.bind.dialect.name == "postgresql":
            with pytest.raises(DBAPIError, match="append-only"):
                s.execute(update(Firing).where(Firing.id == firing.id).values(rule_key="forged"))
            s.rollback()
            s.execute(text("SET session_replication_role = replica"))  # what an intruder with superuser could do
        s.execute(update(Firing).where(Firing.id == firing.id).values(rule_key="forged"))
        s.commit()
        if s.bind.dialect.name == "postgresql":
            s.execute(text("SET session_replication_role = DEFAULT"))
            s.commit()
    try:
        with factory() as s:
            verdict = audit.verify(s)
        assert not verdict.intact and "firings" in verdict.broken and "changed" in verdict.broken
        assert f"row {firing.id}:" in verdict.broken  # the edited row itself is named
    finally:
        with factory() as s:
            if s.bind.dialect.name == "postgresql":
                s.execute(text("SET session_replication_role = replica"))
            s.execute(update(Firing).where(Firing.id == firing.id).values(rule_key=firing.rule_key))
            s.commit()
            if s.bind.dialect.name == "postgresql":
                s.execute(text("SET session_replication_role = DEFAULT"))
                s.commit()
    with factory() as s:
        assert audit.verify(s).intact


def test_a_later_row_with_an_older_time_never_leaves_an_unsealed_gap(factory, drain, session):
    """Rows are sealed in id order up to the first one not yet settled: a back-dated row written after a fresh one
    (an import, the demo's history) waits with it instead of being sealed around it, so verify finds no gap."""
    real = clock.current()
    with factory() as s:
        fresh_event = accept_event(s, event("06029", "XC-04", hour=23), IntakeSource("audit-tests-new"))[0].id
        s.commit()
    drain()
    fresh = session.scalars(select(Firing).where(Firing.event_id == fresh_event)).first()
    clock.set_clock(lambda: real() - timedelta(days=3))
    try:
        with factory() as s:
            event_id = accept_event(s, event("06029", "XC-04", hour=23), IntakeSource("audit-tests-old"))[0].id
            s.commit()
        drain()
    finally:
        clock.set_clock(real)
    old = session.scalars(select(Firing).where(Firing.event_id == event_id)).first()
    assert old.id > fresh.id and old.fired_at < fresh.fired_at
    with factory() as s:
        audit.seal(s, now=clock.now())  # the back-dated row is settled, the fresh one before it is not
        verdict = audit.verify(s)
    assert verdict.intact, verdict.broken
    with factory() as s:
        audit.seal(s, now=clock.now() + timedelta(minutes=5))
        verdict = audit.verify(s)
    assert verdict.intact and verdict.unsealed_rows["firings"] == 0
