"""Which campaign a page or a command means, and the campaign's own calendar day.

Every page and command that takes an optional campaign code falls back the same way, so the rule
editor, the bulletins and the CLI agree on "the campaign" when none is named.
"""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.config import load_settings
from engine.core.models import Campaign


def campaign_for(session: Session, code: str | None) -> Campaign | None:
    """The campaign with this code; without a code, the oldest active campaign (the one a deployment
    began with), else the newest campaign of any status, so a bureau still drafting can edit its rules."""
    if code:
        if "\x00" in code or len(code) > 64:  # no campaign is called that (and PostgreSQL refuses a NUL byte)
            return None
        return session.scalar(select(Campaign).where(Campaign.code == code))
    active = Campaign.status == "active"
    return session.scalar(select(Campaign).order_by(case((active, 0), else_=1),
                                                    case((active, Campaign.id), else_=-Campaign.id)).limit(1))


def campaign_zone(campaign: Campaign | None) -> ZoneInfo:
    """The campaign's time zone (local facts and dates are judged in it); without one, the instance's."""
    if campaign is not None and campaign.timezone:
        return ZoneInfo(campaign.timezone)
    return ZoneInfo(load_settings().time_zone)


def campaign_today(campaign: Campaign) -> date:
    """The campaign's local date: the day list rows' effective windows are judged against."""
    return clock.now().astimezone(campaign_zone(campaign)).date()
