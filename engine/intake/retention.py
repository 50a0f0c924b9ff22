"""Retention (等保 2.0, PIPL): the security audit log older than its period goes, and reporters' names and phones
are blanked on cases that ended longer ago than theirs. Run by the escalation poller hourly and by
`civicrules retention`; the periods are the settings' (engine.core.config.PrivacySettings)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.audit import security_log
from engine.core.config import PrivacySettings
from engine.intake.reporter import forget_reporters


def purge_due(session: Session, privacy: PrivacySettings, now: datetime | None = None) -> tuple[int, int]:
    """Apply both periods and commit; returns (audit entries removed, reports whose reporter was blanked)."""
    removed = security_log.purge(session, privacy.security_audit_days, now)
    blanked = forget_reporters(session, privacy.reporter_data_days, now)
    session.commit()
    return removed, blanked
