"""The security audit log (等保 2.0 安全审计): sign-ins and their failures, sign-outs, account changes,
exports and each view of a reporter's whole phone number. Written in the caller's transaction, read only by
the audit administrator, kept at least six months (`purge` never removes a younger row)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.config import MIN_SECURITY_AUDIT_DAYS
from engine.core.models import SecurityAuditEntry, User
from rules.problems import InputError, Problem

#: Kinds of entry, named in both languages for the audit administrator's list.
KINDS = {
    "sign_in": ("登录", "Sign-in"),
    "sign_in_failed": ("登录失败", "Failed sign-in"),
    "sign_out": ("退出登录", "Sign-out"),
    "session_idle": ("空闲超时退出", "Idle session ended"),
    "account": ("账号变更", "Account change"),
    "export": ("导出", "Export"),
    "reporter_phone": ("查看反映人电话", "Reporter's phone viewed"),
    "key_rotation": ("密钥轮换", "Key rotated"),
}


@dataclass(frozen=True)
class Actor:
    """Who acts and from where: the account (None for an unknown name), the name as typed, the client address."""

    user: User | None
    address: str | None = None
    username: str | None = None


def record(session: Session, actor: Actor, kind: str, what: str, subject: str | None = None) -> SecurityAuditEntry:
    """Append one entry; the caller commits it with (or, for a refused sign-in, instead of) its own change."""
    if kind not in KINDS:
        raise ValueError(f"unknown security audit kind {kind!r}")
    user = actor.user
    entry = SecurityAuditEntry(at=clock.now(), kind=kind, user_id=user.id if user is not None else None,
                               username=(user.username if user is not None else actor.username or "")[:64] or None,
                               address=(actor.address or "")[:64] or None, what=what, subject=subject)
    session.add(entry)
    session.flush()
    return entry


def purge(session: Session, days: int, now: datetime | None = None) -> int:
    """Remove entries older than `days` (refused under six months); returns how many went."""
    if days < MIN_SECURITY_AUDIT_DAYS:
        raise InputError([Problem("days", f"the security audit log is kept at least {MIN_SECURITY_AUDIT_DAYS} days",
                                  f"安全审计日志至少保存 {MIN_SECURITY_AUDIT_DAYS} 天")])
    cutoff = (now or clock.now()) - timedelta(days=days)
    result = session.execute(delete(SecurityAuditEntry).where(SecurityAuditEntry.at < cutoff)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def oldest(session: Session) -> datetime | None:
    return session.scalar(select(func.min(SecurityAuditEntry.at)))
