"""Lockout counts every failure, also when guesses arrive in parallel, and ends by itself."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.accounts.users import create_user
from engine.accounts.lockout import LockoutPolicy, is_locked, sign_in, unlock
from engine.core.models import User

POLICY = LockoutPolicy(max_failures=10, window=timedelta(minutes=15), lock_for=timedelta(minutes=15))


def _account(session) -> str:
    name = f"lock-{uuid.uuid4().hex[:8]}"
    create_user(session, name, "checker", "right-password-1")
    session.commit()
    return name


@pytest.mark.commits  # threads, each on its own connection
def test_parallel_guesses_all_count(factory, session):
    name = _account(session)

    def guess(_index: int) -> None:
        with factory() as own:
            assert sign_in(own, name, "wrong-guess", POLICY) is None
            own.commit()

    with ThreadPoolExecutor(max_workers=5) as pool:
        list(pool.map(guess, range(10)))
    session.expire_all()
    user = session.scalar(select(User).where(User.username == name))
    assert is_locked(user)
    assert sign_in(session, name, "right-password-1", POLICY) is None


def test_failures_outside_the_window_start_a_new_count(factory, session):
    name = _account(session)
    start = clock.now()
    for minute in range(9):
        clock.set_clock(lambda m=minute: start + timedelta(minutes=m))
        assert sign_in(session, name, "wrong-guess", POLICY) is None
        session.commit()
    clock.set_clock(lambda: start + timedelta(minutes=20))  # the first nine are out of the window
    assert sign_in(session, name, "wrong-guess", POLICY) is None
    session.commit()
    assert sign_in(session, name, "right-password-1", POLICY) is not None
    session.commit()
    user = session.scalar(select(User).where(User.username == name))
    assert user.failed_logins == 0 and not is_locked(user)
    assert unlock(session, name) and not unlock(session, "no-such-user-" + name)
