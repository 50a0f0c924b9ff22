"""The campaign a page is about (the one its `?campaign=<code>` names, else the deployment's own) and the period
its URL names in that campaign's time zone."""
from __future__ import annotations

from flask import abort, request
from flask_babel import gettext as _

from engine.assessment.periods import Period, PeriodError, parse_period
from engine.authoring.campaigns import campaign_for
from engine.core.models import Campaign
from web.common.extensions import db


def requested_campaign() -> Campaign:
    """The campaign of `?campaign=<code>` (else the active one, `campaign_for`); an unknown code is a 404 that
    says so."""
    campaign = campaign_for(db.session, request.args.get("campaign"))
    if campaign is None:
        abort(404, description=_("No such campaign."))
    return campaign


def requested_period(label: str) -> tuple[Campaign, Period]:
    """The requested campaign and the period `label` names (2026-W47, 2026-11, 2026-Q4) in its time zone; a label
    that names none is a 404 that says how one is written."""
    campaign = requested_campaign()
    try:
        return campaign, parse_period(label, campaign.timezone)
    except PeriodError:
        abort(404, description=_("A period is written 2026-W47 (week), 2026-11 (month) or 2026-Q4 (quarter)."))
