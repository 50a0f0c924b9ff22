"""Intake tokens are kept for a short while per web process (issue 18 point 4b), yet a revoked token and a
deactivated user's token are refused on their very next request (issue 19), in the process that served the
last request from its cache and in every other one sharing the database and Redis."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from engine.accounts import tokens
from engine.accounts.users import create_user, deactivate, issue_intake_token, issue_user_token
from engine.core.models import ApiToken
from tests.helpers import bearer, event


@pytest.fixture(scope="module")
def other_app(settings):
    """A second web app on the same database and Redis: its own token cache, as in another gunicorn worker."""
    from app import create_app

    return create_app(settings, {"TESTING": True, "CIVICRULES_IDLE_MINUTES": 10**8})


def _post(client, token: str) -> int:
    return client.post("/api/v1/events", json=event(), headers=bearer(token)).status_code


def test_a_revoked_intake_token_is_refused_at_once_after_cached_requests(app, other_app, session):
    token = issue_intake_token(session, f"cache-{uuid.uuid4().hex[:8]}")
    session.commit()
    here, there = app.test_client(), other_app.test_client()
    assert [_post(here, token), _post(there, token), _post(here, token), _post(there, token)] == [202] * 4
    row = session.scalar(select(ApiToken).where(ApiToken.prefix == token[:10]))
    assert tokens.revoke(session, row)
    session.commit()
    assert _post(here, token) == 401
    assert _post(there, token) == 401


def test_a_deactivated_users_token_is_refused_at_once_after_cached_requests(app, other_app, session):
    user = create_user(session, f"cache-{uuid.uuid4().hex[:8]}", "dispatcher", "a-long-pass-phrase-7")
    token, _row = issue_user_token(session, user)
    intake = issue_intake_token(session, f"cache-{uuid.uuid4().hex[:8]}")
    session.commit()
    here, there = app.test_client(), other_app.test_client()
    assert here.get("/api/v1/tasks?limit=1", headers=bearer(token)).status_code == 200
    assert there.get("/api/v1/tasks?limit=1", headers=bearer(token)).status_code == 200
    assert [_post(here, intake), _post(there, intake)] == [202, 202]
    assert deactivate(session, user)
    session.commit()
    assert here.get("/api/v1/tasks?limit=1", headers=bearer(token)).status_code == 401
    assert there.get("/api/v1/tasks?limit=1", headers=bearer(token)).status_code == 401
    assert [_post(here, intake), _post(there, intake)] == [202, 202]  # another source's token is not touched


def test_an_intake_token_is_read_from_the_database_when_redis_cannot_say_nothing_was_revoked(app, session):
    token = issue_intake_token(session, f"cache-{uuid.uuid4().hex[:8]}")
    session.commit()
    cache = tokens.TokenCache()
    assert cache.resolve(session, token, "7") is not None  # kept under epoch 7
    row = session.scalar(select(ApiToken).where(ApiToken.prefix == token[:10]))
    row.revoked_at = row.created_at
    session.flush()
    assert cache.resolve(session, token, None) is None  # no epoch known: the database decides
    assert cache.resolve(session, token, "8") is None  # the epoch moved: read again
