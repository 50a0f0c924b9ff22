"""Login lockout: repeated failed sign-ins lock an account for a while.

A sign-in that fails, for whatever reason (unknown user, wrong password, inactive or locked
account), looks the same to the caller and costs the same password-hash time, so neither the
answer nor its timing tells whether a username exists. The caller commits either way, so that
failures are counted.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.orm import Session, object_session as session_of
from werkzeug.security import check_password_hash, generate_password_hash

from engine.core import clock
from engine.core.config import LockoutSettings, load_settings
from engine.core.models import UTC, User

_DUMMY_HASH = generate_password_hash("civicrules-no-such-user")


@dataclass(frozen=True)
class LockoutPolicy:
    """`max_failures` failed sign-ins within `window` lock the account for `lock_for`."""

    max_failures: int = 10
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings: LockoutSettings) -> LockoutPolicy:
        return cls(max_failures=settings.failures, window=timedelta(seconds=settings.window_seconds),
                   lock_for=timedelta(seconds=settings.lock_seconds))


def is_locked(user: User, now: datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or clock.now())


def sign_in(session: Session, username: str, password: str, policy: LockoutPolicy | None = None) -> User | None:
    """The user if the password is right and the account active and not locked; else None (and count it)."""
    policy = policy or LockoutPolicy.from_settings(load_settings().lockout)
    now = clock.now()
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")  # same cost as a real check: no timing oracle
        return None
    password_ok = check_password_hash(user.password_hash, password or "")
    if is_locked(user, now):
        return None
    if password_ok and user.active:
        user.failed_logins, user.failed_login_window_start = 0, None
        return user
    _count_failure(user, now, policy)
    return None


def _count_failure(user: User, now: datetime, policy: LockoutPolicy) -> None:
    """Count one failure in a single UPDATE, so parallel guesses in several processes all count."""
    stale = or_(User.failed_login_window_start.is_(None), User.failed_login_window_start < now - policy.window)
    count = session_of(user).execute(
        update(User).where(User.id == user.id)
        .values(failed_logins=case((stale, 1), else_=User.failed_logins + 1),
                failed_login_window_start=case((stale, literal(now, UTC)), else_=User.failed_login_window_start))
        .returning(User.failed_logins).execution_options(synchronize_session=False)).scalar_one()
    if count >= policy.max_failures:
        session_of(user).execute(update(User).where(User.id == user.id).values(
            locked_until=now + policy.lock_for, failed_logins=0, failed_login_window_start=None)
            .execution_options(synchronize_session=False))
    session_of(user).expire(user)


def unlock(session: Session, username: str) -> bool:
    """Lift a lock and forget counted failures; False if there is no such user."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        return False
    user.locked_until, user.failed_logins, user.failed_login_window_start = None, 0, None
    return True
