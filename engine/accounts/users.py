"""Accounts, roles and bearer tokens. Passwords are hashed by Werkzeug (scrypt); tokens by SHA-256."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from engine.core import clock
from rules.problems import InputError, Problem
from engine.core.models import DATUMS, ApiToken, Role, Unit, User

ROLES = {
    "admin": ("管理员", "Administrator"),
    "dispatcher": ("派遣员", "Dispatcher"),
    "checker": ("核查员", "Checker"),
    "field_unit": ("处置单位", "Field unit"),
    "supervisor": ("督查员", "Supervisor"),
    "assessor": ("考核员", "Assessor"),
    "auditor": ("审计员", "Auditor"),
    "collector": ("监督员", "Collector"),  # verifies reports and checks closed work on site
    "shift_leader": ("值班长", "Shift leader"),  # files cases and closes them
}
USER_TOKEN_DAYS = 30


def ensure_roles(session: Session) -> None:
    known = set(session.scalars(select(Role.code)))
    for code, (zh, en) in ROLES.items():
        if code not in known:
            session.add(Role(code=code, name_zh=zh, name_en=en))
    session.flush()


def create_user(session: Session, username: str, role: str, password: str, unit_code: str | None = None) -> User:
    problems = []
    if not username or len(username) > 64:
        problems.append(Problem("username", "1–64 characters", "1–64 个字符"))
    elif session.scalar(select(User).where(User.username == username)):
        problems.append(Problem("username", f"user {username!r} exists", f"用户 {username!r} 已存在"))
    if role not in ROLES:
        problems.append(Problem("role", f"one of {', '.join(ROLES)}", f"须为 {'、'.join(ROLES)} 之一"))
    if len(password or "") < 8:
        problems.append(Problem("password", "at least 8 characters", "至少 8 个字符"))
    unit = None
    if role == "field_unit" and not unit_code:
        problems.append(Problem("unit", "a field-unit account needs --unit", "处置单位账号必须指定单位"))
    if unit_code:
        unit = session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            problems.append(Problem("unit", f"unknown unit {unit_code!r}", f"未知的单位 {unit_code!r}"))
    if problems:
        raise InputError(problems)
    ensure_roles(session)
    user = User(username=username, role=role, password_hash=generate_password_hash(password),
                unit_id=unit.id if unit else None, active=True, created_at=clock.now())
    session.add(user)
    session.flush()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_intake_token(session: Session, source: str, source_type: str = "hotline", crs: str = "wgs84") -> str:
    """Create a token for one intake source, whose points come in datum `crs` (wgs84, gcj02 or bd09); only its
    digest is stored, so print it now or never."""
    if crs not in DATUMS:
        raise InputError([Problem("crs", f"the datum is one of {', '.join(DATUMS)} (got {crs!r})",
                                  f"坐标系须为 {'、'.join(DATUMS)} 之一（收到 {crs!r}）")])
    token = "cri_" + secrets.token_urlsafe(32)
    session.add(ApiToken(kind="intake", token_hash=_digest(token), prefix=token[:10], source=source,
                         source_type=source_type, crs=crs, created_at=clock.now()))
    session.flush()
    return token


def issue_user_token(session: Session, user: User) -> tuple[str, ApiToken]:
    token = "cru_" + secrets.token_urlsafe(32)
    row = ApiToken(kind="user", token_hash=_digest(token), prefix=token[:10], user_id=user.id,
                   created_at=clock.now(), expires_at=clock.now() + timedelta(days=USER_TOKEN_DAYS))
    session.add(row)
    session.flush()
    return token, row


def resolve_token(session: Session, token: str) -> ApiToken | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at < clock.now():
        return None
    if row.kind == "user" and (row.user is None or not row.user.active):
        return None
    return row
