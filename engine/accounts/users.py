"""Accounts, roles and bearer tokens. Passwords are hashed by Werkzeug (scrypt); tokens by SHA-256."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine.accounts.passwords import password_problems
from engine.core import clock
from rules.problems import InputError, Problem
from engine.core.models import DATUMS, ApiToken, Role, Unit, User

ROLES = {
    "admin": ("系统管理员", "System administrator"),  # 三员分立: master data, rules, system; not accounts
    "security_admin": ("安全管理员", "Security administrator"),  # accounts, roles, tokens, sign-in waits only
    "audit_admin": ("审计管理员", "Audit administrator"),  # reads the security audit log only
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
    if not username or len(username) > 64 or "\x00" in username:
        problems.append(Problem("username", "1–64 characters, without NUL bytes", "1–64 个字符，且不含空字符"))
    elif session.scalar(select(User).where(User.username == username)):
        problems.append(Problem("username", f"user {username!r} exists", f"用户 {username!r} 已存在"))
    problems += password_problems(password, username)
    unit, unit_problems = _role_unit(session, role, unit_code)
    problems += unit_problems
    if problems:
        raise InputError(problems)
    ensure_roles(session)
    user = User(username=username, role=role, password_hash=generate_password_hash(password),
                unit_id=unit.id if unit else None, active=True, created_at=clock.now())
    session.add(user)
    session.flush()
    return user


def _role_unit(session: Session, role: str, unit_code: str | None) -> tuple[Unit | None, list[Problem]]:
    """The unit a role's account belongs to, and what is wrong with the pair (a field unit needs a unit)."""
    problems = []
    if role not in ROLES:
        problems.append(Problem("role", f"one of {', '.join(ROLES)}", f"须为 {'、'.join(ROLES)} 之一"))
    unit = None
    if role == "field_unit" and not unit_code:
        problems.append(Problem("unit", "a field-unit account needs a unit", "处置单位账号必须指定单位"))
    if unit_code and "\x00" in unit_code:  # PostgreSQL refuses the query outright
        problems.append(Problem("unit", "a unit code without NUL bytes", "单位编号不得含空字符"))
    elif unit_code:
        unit = session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            problems.append(Problem("unit", f"unknown unit {unit_code!r}", f"未知的单位 {unit_code!r}"))
    return unit, problems


def find_user(session: Session, username: str) -> User:
    """The account of that name, or InputError naming it."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InputError([Problem("username", f"no user {username!r}", f"没有用户 {username!r}")])
    return user


def end_sessions(session: Session, user: User) -> None:
    """Every signed-in session of the user ends at its next request (logout signs out everywhere).

    A single UPDATE, so a logout is not a change of the account in the change log."""
    session.execute(update(User).where(User.id == user.id).values(session_epoch=User.session_epoch + 1)
                    .execution_options(synchronize_session=False))
    session.expire(user, ["session_epoch"])


def _revoke_tokens(session: Session, user: User) -> int:
    rows = list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))))
    for row in rows:
        row.revoked_at = clock.now()
    return len(rows)


#: Roles the site must always keep one active account of: the system administrator (configuration) and the
#: security administrator (who alone manages accounts in the admin).
KEPT_ROLES = ("admin", "security_admin")


def _keep_an_administrator(session: Session, user: User) -> None:
    """Refuse to leave the site with no active system or security administrator: nobody could then configure
    it, or manage accounts, in the admin."""
    if user.role not in KEPT_ROLES or not user.active:
        return
    others = session.scalar(select(func.count()).select_from(User).where(
        User.role == user.role, User.active.is_(True), User.id != user.id))
    if not others:
        zh, en = ROLES[user.role]
        raise InputError([Problem("username", f"{user.username!r} is the last active {en.lower()}",
                                  f"{user.username!r} 是最后一个启用的{zh}账号")])


def deactivate(session: Session, user: User) -> bool:
    """Stop an account at once: its sessions end and its tokens are revoked (reactivating does not bring them
    back). False if it was inactive already."""
    if not user.active:
        return False
    _keep_an_administrator(session, user)
    user.active = False
    user.session_epoch = (user.session_epoch or 0) + 1
    _revoke_tokens(session, user)
    session.flush()
    return True


def reactivate(session: Session, user: User) -> bool:
    """Let the account sign in again (with no old token and no counted failures); False if it was active."""
    if user.active:
        return False
    user.active = True
    user.failed_logins, user.failed_login_window_start, user.locked_until = 0, None, None
    session.flush()
    return True


def set_role(session: Session, user: User, role: str, unit_code: str | None = None) -> None:
    """Give the account another role and unit; its sessions end, so the new rights apply from the next sign-in."""
    unit, problems = _role_unit(session, role, unit_code)
    if problems:
        raise InputError(problems)
    if role != user.role:
        _keep_an_administrator(session, user)
    user.role, user.unit_id = role, unit.id if unit else None
    user.session_epoch = (user.session_epoch or 0) + 1
    ensure_roles(session)
    session.flush()


def temporary_password(username: str = "") -> str:
    """A one-time password that passes the rules (12 random URL-safe characters), drawn again in the rare case
    that it holds the username."""
    password = secrets.token_urlsafe(9)
    while password_problems(password, username):
        password = secrets.token_urlsafe(9)
    return password


def reset_password(session: Session, user: User, password: str | None = None) -> str:
    """Set a password the user must change at the next sign-in; sessions end and tokens are revoked (a reset is
    often because the old one leaked). Returns the password, a random one unless given."""
    password = password or temporary_password(user.username)
    problems = password_problems(password, user.username)
    if problems:
        raise InputError(problems)
    user.password_hash = generate_password_hash(password)
    user.must_change_password = True
    user.session_epoch = (user.session_epoch or 0) + 1
    user.failed_logins, user.failed_login_window_start, user.locked_until = 0, None, None
    _revoke_tokens(session, user)
    session.flush()
    return password


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """The user's own change: the current password, then a new one that passes the rules and differs from it.
    Other sessions end and tokens are revoked (the old password may have leaked); the caller signs the current
    session in again."""
    problems = []
    if not check_password_hash(user.password_hash, current or ""):
        problems.append(Problem("current", "the current password is wrong", "当前密码不正确"))
    problems += password_problems(new, user.username, where="new")
    if not problems and new == current:
        problems.append(Problem("new", "choose a password different from the current one", "新密码不能与当前密码相同"))
    if problems:
        raise InputError(problems)
    user.password_hash = generate_password_hash(new)
    user.must_change_password = False
    user.session_epoch = (user.session_epoch or 0) + 1
    _revoke_tokens(session, user)
    session.flush()


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
