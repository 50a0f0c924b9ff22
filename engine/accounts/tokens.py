"""Bearer tokens over their life: listed by prefix, revoked by an administrator (only digests are stored), and
intake tokens kept briefly per process, dropped everywhere at once when any token is revoked."""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session, object_session, selectinload

from engine.accounts.users import resolve_token
from engine.core import clock
from engine.core.config import load_settings
from engine.core.models import ApiToken

log = logging.getLogger(__name__)


def find(session: Session, ident: str) -> list[ApiToken]:
    """Tokens matching an id, a printed prefix (e.g. `cri_AbC123`) or the whole token."""
    ident = ident.strip()
    clauses = [ApiToken.prefix == ident[:10] if len(ident) >= 10 else ApiToken.prefix == ident,
               ApiToken.token_hash == hashlib.sha256(ident.encode()).hexdigest()]
    if ident.isdecimal():
        clauses.append(ApiToken.id == int(ident))
    rows = list(session.scalars(select(ApiToken).where(or_(*clauses))))
    exact = [r for r in rows if r.token_hash == hashlib.sha256(ident.encode()).hexdigest()]
    return exact or rows


def revoke(session: Session, token: ApiToken) -> bool:
    """Revoke one token from now on; False if it was revoked already. The next request with it gets 401."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = clock.now()
    session.flush()
    return True


def listing(session: Session, kind: str | None = "intake", include_revoked: bool = False) -> list[ApiToken]:
    query = select(ApiToken).options(selectinload(ApiToken.user)).order_by(ApiToken.id)
    if kind:
        query = query.where(ApiToken.kind == kind)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query))


#: How long a process trusts an intake token it has read, unless the revocation epoch moves first.
CACHE_SECONDS = 30.0
_CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class IntakeCredential:
    """An intake token as a request needs it: what a process keeps for CACHE_SECONDS instead of the row."""

    id: int
    kind: str
    prefix: str
    source: str | None
    source_type: str | None
    crs: str
    expires_at: datetime | None
    user: None = None

    def valid_now(self) -> bool:
        return self.expires_at is None or self.expires_at >= clock.now()


class TokenCache:
    """Intake tokens by digest, each trusted for CACHE_SECONDS and only under the revocation epoch it was read
    in: a revocation anywhere moves the epoch (epoch_key), so every process reads the row again at once.
    User tokens are never kept: their user's role, state and password change are read on every request."""

    def __init__(self, seconds: float = CACHE_SECONDS):
        self.seconds = seconds
        self._kept: dict[str, tuple[IntakeCredential, str, float]] = {}

    def resolve(self, session: Session, token: str, epoch: str | None) -> ApiToken | IntakeCredential | None:
        """The valid token named by `token`; `epoch` None (Redis unreadable) means read the database."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        kept = self._kept.get(digest) if epoch is not None else None
        if kept is not None and kept[1] == epoch and time.monotonic() - kept[2] < self.seconds:
            return kept[0] if kept[0].valid_now() else None
        row = resolve_token(session, token)
        if row is None or row.kind != "intake":
            self._kept.pop(digest, None)
            return row
        credential = IntakeCredential(row.id, row.kind, row.prefix, row.source, row.source_type, row.crs or "wgs84",
                                      row.expires_at)
        if epoch is not None:
            if len(self._kept) >= _CACHE_LIMIT:
                self._kept.clear()
            self._kept[digest] = (credential, epoch, time.monotonic())
        return credential


def epoch_key(prefix: str) -> str:
    """The Redis counter every revocation moves (shared by all processes of one instance)."""
    return f"{prefix}:token-epoch"


@event.listens_for(ApiToken, "after_update")
@event.listens_for(ApiToken, "after_delete")
def _note_token_change(_mapper, _connection, row: ApiToken) -> None:
    session = object_session(row)
    if session is not None:
        session.info["tokens_changed"] = True


@event.listens_for(Session, "after_commit")
def _announce_token_changes(session: Session) -> None:
    """After a commit that changed or deleted a token (revoked, expired, its user deactivated): move the epoch."""
    if session.info.pop("tokens_changed", False):
        announce_revocation()


def announce_revocation() -> None:
    """Move the revocation epoch in this instance's Redis; if Redis is down, processes that cannot read it
    either do not use their caches (see TokenCache.resolve), and a kept token lapses within CACHE_SECONDS."""
    import redis

    settings = load_settings()
    try:
        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2).incr(
            epoch_key(settings.queues.prefix))
    except redis.RedisError:
        log.warning("could not announce a token revocation; caches lapse within %s s", CACHE_SECONDS, exc_info=True)
