"""三级督查 pages: a supervisor's phone page for an inspection round (start, findings with photos and location,
end) and the weekly coverage page. Thin views over engine/supervision/inspection.py and coverage.py."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.assessment.indicators import PeriodError, for_period, parse_period, period_containing
from engine.authoring.campaigns import campaign_for
from engine.core import clock
from engine.core.models import (Category, Evidence, FilingCondition, InspectionFinding, InspectionPlan,
                                InspectionRound, Street, Unit, User)
from engine.supervision import cadence, coverage, inspection
from rules.problems import InputError, Problem
from web.auth import require_roles
from web.common.extensions import db
from web.common.i18n import short_lang
from web.uploads import send_upload

bp = Blueprint("inspection", __name__, url_prefix="/inspection")
INSPECTORS = ("supervisor", "admin")
COVERAGE_READERS = ("supervisor", "assessor", "auditor", "admin")


def position_from(form: Any, problems: list[Problem]) -> inspection.Position | None:
    return inspection.parse_position(form.get("lat"), form.get("lon"), form.get("location_source") or "pin", problems)


def photos_from(files: Any) -> list[inspection.Photo]:
    return [inspection.Photo(f.filename or "photo", f.read()) for f in files.getlist("photos") if f and f.filename]


def visible_round(user: User, round_id: int) -> InspectionRound:
    """An inspector sees their own rounds; an administrator every round."""
    round_ = db.session.get(InspectionRound, round_id)
    if round_ is None or (user.role != "admin" and round_.inspector_id != user.id):
        abort(404)
    return round_


def categories_for(plan: InspectionPlan) -> list[Category]:
    """The categories a finding may name: those intake accepts (with a filing condition), within the plan's topics."""
    query = select(Category).where(Category.id.in_(select(FilingCondition.category_id))).order_by(Category.code)
    topics = (plan.scope or {}).get("categories") or []
    if topics:
        query = query.where(Category.code.in_(topics))
    return list(db.session.scalars(query))


def streets_for(plan: InspectionPlan) -> list[Street]:
    codes = (plan.scope or {}).get("streets") or []
    query = select(Street).order_by(Street.code)
    return list(db.session.scalars(query.where(Street.code.in_(codes)) if codes else query))


def _zone(round_: InspectionRound) -> str:
    return round_.plan.campaign.timezone


@bp.get("")
@require_roles(*INSPECTORS)
def index():
    tier = inspection.inspector_tier(db.session, current_user)
    body = inspection.body_name(db.session, tier) if tier and tier not in inspection.TIERS else None
    plans = inspection.plans_for(db.session, tier, current_user)
    return render_template("inspection.html", tier=tier, tiers=inspection.TIERS, body=body,
                           plans=plans, frequencies=inspection.FREQUENCIES, statuses=cadence.STATUS,
                           week=cadence.this_week(db.session, plans, clock.now()),
                           current=inspection.open_round(db.session, current_user),
                           rounds=inspection.rounds_of(db.session, current_user), lang=short_lang(), errors={})


@bp.post("/rounds")
@require_roles(*INSPECTORS)
def start():
    problems: list[Problem] = []
    position = position_from(request.form, problems)
    plan = db.session.get(InspectionPlan, request.form.get("plan", type=int) or 0)
    try:
        if problems:
            raise InputError(problems)
        round_ = inspection.start_round(db.session, current_user, plan, position)
    except InputError as err:
        db.session.rollback()
        for message in (m for ms in err.by_field(short_lang()).values() for m in ms):
            flash(message, "danger")
        return redirect(url_for("inspection.index"))
    db.session.commit()
    return redirect(url_for("inspection.round_page", round_id=round_.id))


def _round_page(round_: InspectionRound, errors: dict[str, list[str]], form: Any, status: int = 200):
    lang = short_lang()
    return render_template("inspection_round.html", round=round_, plan=round_.plan, tiers=inspection.TIERS,
                           categories=categories_for(round_.plan), streets=streets_for(round_.plan),
                           worklist=inspection.worklist(db.session, round_.plan), worklists=inspection.WORKLISTS,
                           sources=inspection.LOCATION_SOURCES, zone=_zone(round_), lang=lang, errors=errors,
                           form=form, max_photos=inspection.MAX_PHOTOS), status


@bp.get("/rounds/<int:round_id>")
@require_roles(*INSPECTORS)
def round_page(round_id: int):
    return _round_page(visible_round(current_user, round_id), {}, {})


@bp.post("/rounds/<int:round_id>/findings")
@require_roles(*INSPECTORS)
def finding(round_id: int):
    round_ = visible_round(current_user, round_id)
    settings = current_app.extensions["civicrules.settings"]
    problems: list[Problem] = []
    position = position_from(request.form, problems)
    try:
        if problems:
            raise InputError(problems)
        inspection.record_finding(db.session, round_, current_user, request.form.get("category", ""),
                                  request.form.get("description", ""), photos_from(request.files), position,
                                  settings.evidence.dir, settings.evidence.max_bytes,
                                  street=request.form.get("street") or None, address=request.form.get("address", ""))
    except InputError as err:
        db.session.rollback()
        round_ = visible_round(current_user, round_id)
        return _round_page(round_, err.by_field(short_lang()), request.form, 422)
    db.session.commit()
    flash(_("Finding recorded: it is filed as a case and dispatched."), "success")
    return redirect(url_for("inspection.round_page", round_id=round_.id))


@bp.post("/rounds/<int:round_id>/end")
@require_roles(*INSPECTORS)
def end(round_id: int):
    round_ = visible_round(current_user, round_id)
    problems: list[Problem] = []
    position = position_from(request.form, problems)
    try:
        inspection.end_round(db.session, round_, current_user, position)
    except InputError as err:
        db.session.rollback()
        for p in err.problems:
            flash(p.as_dict(short_lang())["message"], "danger")
        return redirect(url_for("inspection.round_page", round_id=round_id))
    db.session.commit()
    flash(_("Round ended."), "success")
    return redirect(url_for("inspection.index"))


@bp.get("/findings/<int:finding_id>/photos/<int:evidence_id>")
@require_roles(*INSPECTORS)
def photo(finding_id: int, evidence_id: int):
    finding_row = db.session.get(InspectionFinding, finding_id)
    row = db.session.get(Evidence, evidence_id)
    if finding_row is None or row is None or row.finding_id != finding_row.id:
        abort(404)
    visible_round(current_user, finding_row.round_id)
    return send_upload(current_app.extensions["civicrules.settings"].evidence.dir / row.stored_name, row.original_name)


def week_coverage(campaign_code: str | None, label: str | None,
                  user: User) -> tuple[Any, Any, Any, dict[int, dict[int, int]]]:
    """The campaign, the week (this week by default), its coverage and the findings per unit and tier: for a
    squad's inspector its own plans, rounds and units only."""
    campaign = campaign_for(db.session, campaign_code)
    if campaign is None:
        abort(404)
    now = clock.now()
    try:
        period = parse_period(label, campaign.timezone) if label else period_containing("week", now, campaign.timezone)
    except PeriodError:
        period = None
    if period is None or period.kind != "week":
        abort(404, description=_("A week is written 2026-W47."))
    squad = coverage.squad_of(db.session, user)
    found = coverage.weekly(db.session, campaign.id, period.start, period.end, campaign.timezone, squad)
    by_unit = {uid: ind.findings_by_tier for uid, ind in for_period(db.session, campaign, period, now).items()
               if ind.findings_by_tier and (squad is None or uid in squad.units)}
    return campaign, period, found, by_unit


@bp.get("/coverage")
@require_roles(*COVERAGE_READERS)
def coverage_page():
    campaign, period, found, by_unit = week_coverage(request.args.get("campaign"), request.args.get("week"),
                                                     current_user)
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(list(by_unit))))}
    return render_template("inspection_coverage.html", campaign=campaign, period=period, coverage=found,
                           by_unit=by_unit, units=units, tiers=inspection.TIERS, lang=short_lang(),
                           frequencies=inspection.FREQUENCIES, statuses=cadence.STATUS,
                           previous=period.previous(campaign.timezone).label,
                           following=period_containing("week", period.end, campaign.timezone).label)
