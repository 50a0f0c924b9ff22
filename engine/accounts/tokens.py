"""Bearer tokens over their life: listed by prefix, revoked by an administrator (only digests are stored)."""
from __future__ import annotations

import hashlib

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from engine.core import clock
from engine.core.models import ApiToken


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
