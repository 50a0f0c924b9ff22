"""A pooled PostgreSQL connection the server has ended is replaced on checkout, without a ping round trip; one idle
for longer than IDLE_PING_SECONDS, which a firewall may have dropped silently, is pinged first."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, event, text

from engine.core import db
from engine.core.db import make_engine


@pytest.fixture
def postgres_engine(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no server to end a connection")
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _backend(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_an_idle_pooled_connection_is_reused_without_a_ping(postgres_engine):
    sent: list[str] = []
    event.listen(postgres_engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    first = _backend(postgres_engine)
    assert _backend(postgres_engine) == first
    assert sent == ["SELECT pg_backend_pid()"] * 2
    assert not postgres_engine.pool._pre_ping


def test_a_connection_the_server_ended_is_replaced_before_use(postgres_engine, database_url):
    ended = _backend(postgres_engine)
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": ended}).scalar_one()
            deadline = time.monotonic() + 10
            while conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                               {"pid": ended}).scalar_one() and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        admin.dispose()
    assert _backend(postgres_engine) != ended  # no OperationalError: the pool opened a new connection


def _last_query(database_url: str, pid: int) -> str:
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return conn.execute(text("SELECT query FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).scalar_one()
    finally:
        admin.dispose()


def test_a_connection_idle_past_the_limit_is_pinged_on_checkout(postgres_engine, database_url, monkeypatch):
    pid = _backend(postgres_engine)
    assert "idle check" not in _last_query(database_url, pid)
    with postgres_engine.connect():  # a connection back from the pool within the limit: no ping
        pass
    assert "idle check" not in _last_query(database_url, pid)
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", -1.0)  # every connection now counts as idle too long
    with postgres_engine.connect() as conn:  # checked out: pinged before anything of ours ran on it
        assert "idle check" in _last_query(database_url, pid)
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == pid
