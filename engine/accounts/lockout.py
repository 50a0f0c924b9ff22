"""Sign-in delay: past an allowance of failed sign-ins, each further attempt on that account must wait, twice as
long each time up to a cap.

A hard lock after N failures let anyone lock any account by typing its name N times; a delay costs the real
user at most the cap, while a guesser gets only a trickle of attempts. The wait holds the client addresses that
failed on the account in the window: from them every attempt (even with the right password) is refused without
being counted, so guessing on cannot lengthen the wait, and the caller answers 429 with Retry-After. An address
with no recent failure signs in with the right password, so a guesser cannot keep the real user out; with a
wrong one it is refused like the others and waits from then on. A failure otherwise looks the same whatever the reason (unknown user, wrong
password, inactive account) and costs the same password-hash time; failures under unknown usernames are
counted and make the name wait just the same, so neither the answer, its timing, nor a wait tells whether a
username exists. The caller commits either way, so that failures are counted.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session as session_of
from werkzeug.security import check_password_hash, generate_password_hash

from engine.core import clock
from engine.core.config import LockoutSettings, load_settings
from engine.core.models import UTC, SignInFailure, UnknownSignIn, User

_DUMMY_HASH = generate_password_hash("civicrules-no-such-user")


@dataclass(frozen=True)
class LockoutPolicy:
    """`max_failures` failed sign-ins are free; the next failure makes the account wait `first_wait`, each
    further one twice as long, never more than `longest_wait`. The count is forgotten after `window` without
    a failure, so a guesser who keeps going stays at the longest wait."""

    max_failures: int = 10
    window: timedelta = timedelta(minutes=15)
    longest_wait: timedelta = timedelta(minutes=5)
    first_wait: timedelta = timedelta(seconds=2)

    @classmethod
    def from_settings(cls, settings: LockoutSettings) -> LockoutPolicy:
        return cls(max_failures=settings.failures, window=timedelta(seconds=settings.window_seconds),
                   longest_wait=timedelta(seconds=settings.lock_seconds))

    def wait_after(self, failures: int) -> timedelta | None:
        """How long the account waits after this many failures in the window (None: not yet)."""
        beyond = failures - self.max_failures
        if beyond <= 0:
            return None
        return min(self.longest_wait, self.first_wait * 2 ** min(beyond - 1, 30))


@dataclass(frozen=True)
class SignIn:
    """The outcome of one attempt: the user when it succeeded, else the seconds to wait (0: just refused);
    `failed` when the attempt was a failed guess (also one that started a wait), which rate limits count."""

    user: User | None = None
    wait_seconds: int = 0
    failed: bool = False


def is_locked(user: User, now: datetime | None = None) -> bool:
    """Whether the account is inside a wait (its name from the days of the hard lock)."""
    return user.locked_until is not None and user.locked_until > (now or clock.now())


def attempt(session: Session, username: str, password: str, policy: LockoutPolicy | None = None,
            address: str = "") -> SignIn:
    """One sign-in attempt from a client address: the user if the password is right and the account active and
    not waiting for that address."""
    policy = policy or LockoutPolicy.from_settings(load_settings().lockout)
    now = clock.now()
    named = "\x00" not in (username or "")  # no account has a NUL in its name, and PostgreSQL refuses the query
    user = session.scalar(select(User).where(User.username == username)) if named else None
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")  # same cost as a real check: no timing oracle
        return _unknown_name_fails(session, username, now, policy)  # and the same wait: no existence oracle
    password_ok = check_password_hash(user.password_hash, password or "")
    address = (address or "")[:64]
    if is_locked(user, now):
        waiting = SignIn(wait_seconds=max(1, math.ceil((user.locked_until - now).total_seconds())))
        if _failed_lately(session, user, address, now, policy):
            return waiting
        if password_ok and user.active:
            return SignIn(user)  # the wait stays for the addresses that failed
        _note_address(session, user, address, now, policy)  # refused like them, and waits from now on
        return waiting  # not counted, as no attempt in a wait is (nor is one under an unknown name)
    if password_ok and user.active:
        user.failed_logins, user.failed_login_window_start, user.locked_until = 0, None, None
        return SignIn(user)
    wait = _count_failure(user, now, policy)
    _note_address(session, user, address, now, policy)
    return SignIn(wait_seconds=math.ceil(wait.total_seconds()) if wait else 0, failed=True)


def sign_in(session: Session, username: str, password: str, policy: LockoutPolicy | None = None) -> User | None:
    """The user if the attempt succeeded, else None (and the failure counted)."""
    return attempt(session, username, password, policy).user


def _count_failure(user: User, now: datetime, policy: LockoutPolicy) -> timedelta | None:
    """Count one failure in a single UPDATE, so parallel guesses in several processes all count; past the
    allowance, start the account's wait. Returns the wait, if any. (failed_login_window_start holds the
    latest failure: the count starts again after a quiet window.)"""
    stale = or_(User.failed_login_window_start.is_(None), User.failed_login_window_start < now - policy.window)
    count = session_of(user).execute(
        update(User).where(User.id == user.id)
        .values(failed_logins=case((stale, 1), else_=User.failed_logins + 1),
                failed_login_window_start=literal(now, UTC))
        .returning(User.failed_logins).execution_options(synchronize_session=False)).scalar_one()
    wait = policy.wait_after(count)
    if wait is not None:
        session_of(user).execute(update(User).where(User.id == user.id).values(locked_until=now + wait)
                                 .execution_options(synchronize_session=False))
    session_of(user).expire(user)
    return wait


def _failed_lately(session: Session, user: User, address: str, now: datetime, policy: LockoutPolicy) -> bool:
    row = session.get(SignInFailure, (user.id, address))
    return row is not None and row.last_failure_at >= now - policy.window


def _note_address(session: Session, user: User, address: str, now: datetime, policy: LockoutPolicy) -> None:
    """Remember the address's latest failure on the account; rows quiet for the window are deleted."""
    row = session.get(SignInFailure, (user.id, address))
    if row is not None:
        row.last_failure_at = now
        session.flush()
        return
    session.execute(delete(SignInFailure).where(SignInFailure.last_failure_at < now - policy.window))
    try:
        with session.begin_nested():
            session.add(SignInFailure(user_id=user.id, address=address, last_failure_at=now))
    except IntegrityError:  # a parallel failure from the same address noted it already
        pass


def _unknown_name_fails(session: Session, username: str, now: datetime, policy: LockoutPolicy) -> SignIn:
    """Count a failure under a name no account has exactly as an account's, in unknown_sign_ins; rows quiet
    for the window are deleted, so guessed names do not pile up. The name is digested exactly as accounts are
    looked up, so no spelling of a name waits unless that very spelling failed."""
    digest = hashlib.sha256((username or "").encode()).hexdigest()
    row = session.get(UnknownSignIn, digest, with_for_update=True)
    if row is not None and row.waits_until is not None and row.waits_until > now:
        return SignIn(wait_seconds=max(1, math.ceil((row.waits_until - now).total_seconds())))
    if row is None:
        session.execute(delete(UnknownSignIn).where(UnknownSignIn.last_failure_at < now - policy.window))
        wait = policy.wait_after(1)
        try:
            with session.begin_nested():
                session.add(UnknownSignIn(name_digest=digest, failures=1, last_failure_at=now,
                                          waits_until=now + wait if wait else None))
        except IntegrityError:  # a parallel first failure under the same name counted it already
            pass
        return SignIn(wait_seconds=math.ceil(wait.total_seconds()) if wait else 0, failed=True)
    if row.last_failure_at < now - policy.window:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    wait = policy.wait_after(row.failures)
    row.waits_until = now + wait if wait else None
    session.flush()
    return SignIn(wait_seconds=math.ceil(wait.total_seconds()) if wait else 0, failed=True)


def unlock(session: Session, username: str) -> bool:
    """End a wait and forget counted failures; False if there is no such user."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        return False
    user.locked_until, user.failed_logins, user.failed_login_window_start = None, 0, None
    return True
