"""The sign-in delay counts every failure, also when guesses arrive in parallel; past the allowance each further
attempt waits twice as long, up to a cap, so nobody can lock an account for long by typing its name."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.core import clock
from engine.accounts.users import create_user
from engine.accounts.lockout import LockoutPolicy, attempt, is_locked, sign_in, unlock
from engine.core.models import UnknownSignIn, User

POLICY = LockoutPolicy(max_failures=10, window=timedelta(minutes=15), longest_wait=timedelta(minutes=5))


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
        list(pool.map(guess, range(11)))
    session.expire_all()
    user = session.scalar(select(User).where(User.username == name))
    assert user.failed_logins == 11 and is_locked(user)
    waiting = attempt(session, name, "right-password-1", POLICY)
    assert waiting.user is None and waiting.wait_seconds > 0


def test_ten_wrong_passwords_cost_the_real_user_seconds_not_a_quarter_hour(session):
    """The old hard lock: ten guesses by anyone locked the account for 15 minutes."""
    name = _account(session)
    start = clock.now()
    clock.set_clock(lambda: start)
    for _ in range(10):
        assert attempt(session, name, "wrong-guess", POLICY).wait_seconds == 0  # the allowance: no wait yet
        session.commit()
    assert attempt(session, name, "wrong-guess", POLICY).wait_seconds == 2  # the first wait
    session.commit()
    refused = attempt(session, name, "right-password-1", POLICY)  # even the right password waits...
    assert refused.user is None and refused.wait_seconds == 2
    session.commit()
    clock.set_clock(lambda: start + timedelta(seconds=3))  # ...but only for seconds
    assert attempt(session, name, "right-password-1", POLICY).user is not None


def test_each_failure_doubles_the_wait_up_to_the_cap_and_waiting_attempts_do_not_count(session):
    name = _account(session)
    now = clock.now()
    clock.set_clock(lambda: now)
    for _ in range(10):
        attempt(session, name, "wrong-guess", POLICY)
    waits = []
    for _ in range(12):
        outcome = attempt(session, name, "wrong-guess", POLICY)
        waits.append(outcome.wait_seconds)
        for _ in range(3):  # guessing on during the wait is refused and changes nothing
            assert attempt(session, name, "wrong-guess", POLICY).wait_seconds <= outcome.wait_seconds
        now += timedelta(seconds=outcome.wait_seconds)
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300, 300]
    user = session.scalar(select(User).where(User.username == name))
    assert user.failed_logins == 22


def test_failures_are_forgotten_after_a_quiet_window(session):
    name = _account(session)
    start = clock.now()
    for minute in range(10):
        clock.set_clock(lambda m=minute: start + timedelta(minutes=m))
        assert sign_in(session, name, "wrong-guess", POLICY) is None
        session.commit()
    clock.set_clock(lambda: start + timedelta(minutes=9 + 16))  # fifteen quiet minutes since the last one
    assert attempt(session, name, "wrong-guess", POLICY).wait_seconds == 0  # counted afresh: no wait
    session.commit()
    assert sign_in(session, name, "right-password-1", POLICY) is not None
    session.commit()
    user = session.scalar(select(User).where(User.username == name))
    assert user.failed_logins == 0 and not is_locked(user)
    assert unlock(session, name) and not unlock(session, "no-such-user-" + name)


def test_a_name_no_account_has_waits_exactly_like_an_account(session):
    """Otherwise the wait itself would tell a guesser which usernames exist."""
    real, ghost = _account(session), f"ghost-{uuid.uuid4().hex[:8]}"
    now = clock.now()
    clock.set_clock(lambda: now)
    for name in (real, ghost):
        assert [attempt(session, name, "wrong-guess", POLICY).wait_seconds for _ in range(13)] == [0] * 10 + [2, 2, 2]
    assert [attempt(session, name.upper(), "x", POLICY).wait_seconds for name in (real, ghost)] == [0, 0]
    later = now + timedelta(minutes=16)
    clock.set_clock(lambda: later)
    attempt(session, f"other-{uuid.uuid4().hex[:8]}", "x", POLICY)  # a new name sweeps the quiet ones away
    assert session.scalar(select(func.count()).select_from(UnknownSignIn)
                          .where(UnknownSignIn.last_failure_at < later - POLICY.window)) == 0
    assert attempt(session, ghost, "wrong-guess", POLICY).wait_seconds == 0


def test_failures_under_a_name_in_capitals_make_only_that_exact_name_wait(session):
    """Accounts are found by their exact name; were unknown names counted case-blind, eleven failures as
    GUESS-X then one as guess-x would wait only if no account guess-x existed."""
    name = _account(session)
    unknown = f"nobody-{uuid.uuid4().hex[:8]}"
    start = clock.now()
    clock.set_clock(lambda: start)
    for guessed in (name, unknown):
        for _ in range(11):
            attempt(session, guessed.upper(), "wrong-guess", POLICY)
            session.commit()
        assert attempt(session, guessed.upper(), "wrong-guess", POLICY).wait_seconds > 0
        session.commit()
        assert attempt(session, guessed, "wrong-guess", POLICY).wait_seconds == 0
        session.commit()


def test_the_wait_holds_the_addresses_that_failed_and_not_the_real_user(session):
    """One guess every few minutes from anywhere used to keep the account's owner out for good."""
    name = _account(session)
    start = clock.now()
    clock.set_clock(lambda: start)
    for _ in range(11):
        attempt(session, name, "wrong-guess", POLICY, address="203.0.113.9")
        session.commit()
    guesser = attempt(session, name, "right-password-1", POLICY, address="203.0.113.9")
    assert guesser.user is None and guesser.wait_seconds == 2
    owner = attempt(session, name, "right-password-1", POLICY, address="198.51.100.7")
    assert owner.user is not None and owner.user.username == name
    session.commit()
    another = attempt(session, name, "wrong-guess", POLICY, address="192.0.2.44")  # a new address guessing...
    assert another.user is None and another.wait_seconds == 2 and not another.failed
    session.commit()
    assert attempt(session, name, "right-password-1", POLICY, address="192.0.2.44").user is None  # ...waits too
    assert attempt(session, name, "right-password-1", POLICY, address="203.0.113.9").user is None
