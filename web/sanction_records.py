"""Records of sanctions (约谈纪要 and the like): the list, and a form to write or complete one with each problem
next to its field. Assessors and admins write; auditors read. The engine checks (engine/assessment/
sanction_records.py); this module only shows."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.widgets import DateInput

from engine.assessment import sanction_records
from engine.assessment.ranking import config_for
from engine.assessment.sanctions import SANCTIONS
from engine.authoring.campaigns import campaign_for
from engine.core import clock
from engine.core.models import Campaign, Person, SanctionRecord, Unit
from engine.people.staff import position_name
from rules.problems import InputError
from web.auth import require_roles
from web.common.extensions import db
from web.common.i18n import short_lang

bp = Blueprint("sanction_records", __name__, url_prefix="/assessment/sanction-records")
READERS = ("assessor", "auditor", "admin")
WRITERS = ("assessor", "admin")


class SanctionRecordForm(FlaskForm):
    """The fields of a record; choices are filled per request, the engine validates."""

    unit = SelectField(_l("Unit"), validate_choice=False)
    period = StringField(_l("Ranking period (2026-11 or 2026-Q4)"))
    sanction = SelectField(_l("Sanction"), validate_choice=False)
    due = HiddenField()
    held_on = StringField(_l("Held on"), widget=DateInput())
    principal = SelectField(_l("Principal head (主要负责人)"), validate_choice=False)
    in_charge = SelectField(_l("Leader in charge (分管负责人)"), validate_choice=False)
    attendees = TextAreaField(_l("Attendees"))
    minutes = TextAreaField(_l("Minutes"))
    commitments = TextAreaField(_l("Commitments made"))
    follow_up = TextAreaField(_l("Follow-up"))
    follow_up_result = SelectField(_l("Result of the follow-up"), validate_choice=False)


def _names(table: dict[str, tuple[str, str]], lang: str) -> list[tuple[str, str]]:
    return [(code, zh if lang == "zh" else en) for code, (zh, en) in table.items()]


def _form(campaign: Campaign, data: Any = None, obj: SanctionRecord | None = None) -> SanctionRecordForm:
    lang = short_lang()
    form = SanctionRecordForm(formdata=data, obj=obj)
    _weights, groups = config_for(db.session, campaign)
    units = db.session.scalars(select(Unit).where(Unit.type.in_(list(groups))).order_by(Unit.code)).all()
    form.unit.choices = [("", "—")] + [(u.code, f"{u.code} {u.name_zh if lang == 'zh' else u.name_en}") for u in units]
    form.sanction.choices = _names(SANCTIONS, lang)
    form.follow_up_result.choices = _names(sanction_records.RESULTS, lang)
    people = db.session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.unit_id, Person.code))
    persons = [("", "—")] + [(p.code, f"{p.name} · {p.unit.name_zh if lang == 'zh' else p.unit.name_en} · "
                                       f"{position_name(p.position, lang)}") for p in people]
    form.principal.choices, form.in_charge.choices = persons, list(persons)
    if data is None and obj is not None:
        form.unit.data = obj.unit.code
        form.principal.data = obj.principal.code if obj.principal else ""
        form.in_charge.data = obj.in_charge.code if obj.in_charge else ""
        form.held_on.data = obj.held_on.isoformat()
        form.due.data = str(obj.due_id or "")
    elif data is None:
        for name in ("unit", "period", "sanction", "due"):
            if request.args.get(name):
                getattr(form, name).data = request.args[name]
    return form


def _campaign(code: str | None) -> Campaign:
    campaign = campaign_for(db.session, code)
    if campaign is None:
        abort(404, description=_("No such campaign."))
    return campaign


def _record(record_id: int) -> SanctionRecord:
    record = db.session.get(SanctionRecord, record_id)
    if record is None:
        abort(404)
    return record


@bp.get("/")
@require_roles(*READERS)
def index():
    campaign = _campaign(request.args.get("campaign"))
    period = request.args.get("period") or None
    return render_template("assessment_sanction_records.html", campaign=campaign, period=period,
                           records=sanction_records.records_of(db.session, campaign, period), lang=short_lang(),
                           sanctions=dict(_names(SANCTIONS, short_lang())),
                           results=dict(_names(sanction_records.RESULTS, short_lang())),
                           may_write=current_user.role in WRITERS)


def _page(campaign: Campaign, form: SanctionRecordForm, record: SanctionRecord | None, status: int = 200):
    return render_template("assessment_sanction_record.html", campaign=campaign, form=form, record=record,
                           may_write=current_user.role in WRITERS, lang=short_lang()), status


def _save(campaign: Campaign, record: SanctionRecord | None):
    form = _form(campaign, request.form)
    if not form.validate_on_submit():  # the CSRF token; the fields are the engine's to judge
        return _page(campaign, form, record, 400)
    fields = {name: getattr(form, name).data for name in ("unit", "period", "sanction", "due", "held_on", "principal",
                                                          "in_charge", *sanction_records.TEXTS, "follow_up_result")}
    try:
        record = sanction_records.save(db.session, campaign, fields, clock.now(), current_user.id, record)
    except InputError as err:
        db.session.rollback()
        for name, messages in err.by_field(short_lang()).items():
            getattr(form, name).errors = list(getattr(form, name).errors or []) + messages
        return _page(campaign, form, record, 422)
    db.session.commit()
    flash(_("The record is saved."), "success")
    return redirect(url_for("sanction_records.edit", record_id=record.id))


@bp.route("/new", methods=["GET", "POST"])
@require_roles(*WRITERS)
def new():
    campaign = _campaign(request.args.get("campaign"))
    if request.method == "POST":
        return _save(campaign, None)
    return _page(campaign, _form(campaign), None)


@bp.route("/<int(max=2147483647):record_id>", methods=["GET", "POST"])
@require_roles(*READERS)
def edit(record_id: int):
    record = _record(record_id)
    if request.method == "POST":
        if current_user.role not in WRITERS:
            abort(403)
        return _save(record.campaign, record)
    return _page(record.campaign, _form(record.campaign, obj=record), record)
