"""Database engines and sessions for processes outside Flask (workers, CLI, benchmarks).

SQLite gets WAL and a busy timeout so the web, the worker and the sweeper can share one file. A pooled
PostgreSQL connection is checked on checkout without a round trip (`_drop_if_closed`). The change
log's session hooks (engine/audit/changelog.py) are loaded by the composition root, app/, which every
process starts from.
"""
from __future__ import annotations

import os
import select
import time
from typing import Callable, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    return {"pool_size": 5, "max_overflow": 10}


#: A connection idle longer than this is pinged on checkout: a firewall or a load balancer may have dropped it
#: silently, which no poll of the socket shows. Busy connections are never idle that long.
IDLE_PING_SECONDS = 30.0


def _idle_since(_dbapi_connection, record) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_after_idle(dbapi_connection, record) -> None:
    if time.monotonic() - record.info.get("idle_since", time.monotonic()) <= IDLE_PING_SECONDS:
        return
    try:
        was = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # one round trip, no transaction left open
        try:
            dbapi_connection.execute("SELECT 1 -- idle check")
        finally:
            dbapi_connection.autocommit = was
    except Exception as err:
        raise DisconnectionError("the connection was dropped while it was idle") from err


def _drop_if_closed(dbapi_connection, record, _proxy) -> None:
    """A pooled connection the server has ended is replaced before use, as pool_pre_ping would, but without its
    round trip (a `SELECT 1` on every checkout, a third of a single intake's statements): an idle connection
    has nothing to read unless the server closed it or sent its goodbye (a restart, an idle timeout, a
    terminated backend), and one poll of its socket says so. The pool then opens a new connection. A connection
    idle for more than IDLE_PING_SECONDS is pinged as well (`_ping_after_idle`)."""
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        raise DisconnectionError("the connection is closed")
    try:
        fd = dbapi_connection.fileno()
    except Exception as err:  # the driver no longer has a socket
        raise DisconnectionError("the connection has no socket") from err
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection or spoke while it was idle")
    _ping_after_idle(dbapi_connection, record)


def configure_engine(engine: Engine) -> Engine:
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "checkout", _drop_if_closed)
        event.listen(engine, "checkin", _idle_since)
    return engine


def ping(engine: Engine) -> None:
    """The health probes' check: `SELECT 1` outside a transaction, one round trip (no BEGIN, no ROLLBACK)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("SELECT 1")


def make_engine(url: str) -> Engine:
    return configure_engine(create_engine(url, **engine_options(url)))


_factories: dict[str, sessionmaker[Session]] = {}


def session_factory(url: str) -> sessionmaker[Session]:
    """One engine and session factory per database URL in this process."""
    if url not in _factories:
        _factories[url] = sessionmaker(make_engine(url), expire_on_commit=False)
    return _factories[url]


def reset_after_fork() -> None:
    """A forked child must not reuse its parent's pooled connections: drop them without closing."""
    for factory in _factories.values():
        factory.kw["bind"].dispose(close=False)


os.register_at_fork(after_in_child=reset_after_fork)


def tables_stamp(session: Session, tables: tuple[str, ...]) -> tuple | None:
    """A stamp of whole tables that moves with any committed insert, update or delete in them: each table's row
    count and the sum of its rows' creating transactions (`xmin`), in one query. For data read from a few hundred
    rows, kept between batches while its stamp holds. None (read the tables) on SQLite, and in a transaction that
    has written anything: a row written twice in one transaction keeps its `xmin`, so the stamp would not move."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    rows = session.execute(text(" UNION ALL ".join(
        f"SELECT '{table}', count(*), coalesce(sum(xmin::text::bigint), 0), "
        f"pg_current_xact_id_if_assigned() IS NOT NULL FROM {table}" for table in tables))).all()
    if any(row[3] for row in rows):
        return None
    return tuple(row[:3] for row in rows)


def kept_while_unchanged(session: Session, tables: tuple[str, ...], kept: dict[str, tuple[tuple, T]],
                         read: Callable[[], T]) -> T:
    """`read()`'s answer, kept in `kept` per database while the stamp of `tables` holds; read every time where
    there is no stamp (SQLite, or a transaction that has written). The stamp is taken first: a change made in
    between reads again at the next call."""
    stamp = tables_stamp(session, tables)
    if stamp is None:
        return read()
    bind = str(session.get_bind().engine.url)
    held = kept.get(bind)
    if held is None or held[0] != stamp:
        held = kept[bind] = (stamp, read())
    return held[1]
