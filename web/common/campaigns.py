"""The campaign a page is about: the one its `?campaign=<code>` names, else the deployment's own."""
from __future__ import annotations

from flask import abort, request
from flask_babel import gettext as _

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
