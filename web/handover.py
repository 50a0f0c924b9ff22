"""The committee's hand-over page (交办) for dispatchers, shift leaders and admins: a multipart form over
engine/evaluation/handover.py, whose refusals are shown next to each field; the files chosen are stored with the
case in the same transaction, or, if one is refused, nothing is."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.cases.attachments import MAX_PER_CASE, AttachmentFile, AttachmentStore
from engine.core import clock
from engine.core.models import Grid, Unit
from engine.evaluation.handover import Handover, hand_over
from engine.evaluation.handover import check as check_handover
from rules.limits import LIMIT_UNIT_TABLE
from rules.problems import InputError, Problem
from web.auth import require_roles
from web.common.extensions import db
from web.common.i18n import short_lang
from web.forms import HandoverForm
from web.workflow import DISPATCHERS

bp = Blueprint("handover", __name__)

#: Where each of the engine's problem fields is shown on the form.
FIELD_OF = {"location": "lat", "limit": "limit_value", "attachments": "attachments"}


def _choices(form: HandoverForm, lang: str) -> None:
    """Units and grids by name in the reader's language (codes only as values)."""
    zh = lang == "zh"
    units = [(u.code, u.name_zh if zh else u.name_en) for u in db.session.scalars(select(Unit).order_by(Unit.code))]
    form.lead.choices = [("", _("Choose a unit"))] + units
    form.cooperating.choices = units
    form.grid.choices = [("", _("Choose a grid"))] + [
        (g.code, f"{g.code} {g.name_zh if zh else g.name_en}") for g in db.session.scalars(select(Grid).order_by(Grid.code))]
    form.limit_unit.choices = [(code, unit.label_in(lang)) for code, unit in LIMIT_UNIT_TABLE.items()]
    if not form.limit_unit.data:
        form.limit_unit.data = "working_days"


def _handover(form: HandoverForm, files: list[AttachmentFile]) -> Handover:
    """The form's answers as the engine reads them."""
    return Handover(
        title=form.title.data or "", description=form.description.data or "", grid=form.grid.data or "",
        address=form.address.data or "", lat=form.lat.data, lon=form.lon.data, lead=form.lead.data or "",
        cooperating=list(form.cooperating.data or []), limit_value=form.limit_value.data,
        limit_unit=form.limit_unit.data, attachments=files)


def _place(form: HandoverForm, problems: list[Problem], lang: str) -> None:
    """Each engine problem next to its field, unless the form's own check already named what is wrong there."""
    named = {field.name for field in form if field.errors}
    for problem in problems:
        if problem.where == "location" and named & {"lat", "lon"}:
            continue  # the point's box that holds no number says so; "both or neither" would mislead
        field = getattr(form, FIELD_OF.get(problem.where, problem.where), form.title)
        if field.name not in named:
            field.errors.append(problem.message(lang))


@bp.route("/handovers/new", methods=["GET", "POST"])
@require_roles(*DISPATCHERS)
def new():
    """Hand an item over: one event, one dispatched case and a task per unit; then the lead's task is shown."""
    lang = short_lang()
    settings = current_app.extensions["civicrules.settings"]
    form = HandoverForm()
    _choices(form, lang)
    status = 200
    if form.is_submitted():
        formed = form.validate()
        try:
            if formed:
                files = [AttachmentFile(f.filename, f.read()) for f in form.attachments.data or [] if f and f.filename]
                done = hand_over(db.session, _handover(form, files), current_user, clock.now(),
                                 AttachmentStore(settings.evidence.dir, settings.evidence.max_bytes))
                db.session.commit()
                flash(_("Handed over: case %(case)s, %(n)s task(s).", case=done.case_id, n=len(done.task_ids)),
                      "success")
                return redirect(url_for("pages.task", task_id=done.task_ids[0]))
            check_handover(db.session, _handover(form, []))  # the engine's checks too: every problem at once
        except InputError as err:
            db.session.rollback()
            _place(form, err.problems, lang)
        status = 422
    return render_template("handover.html", form=form, lang=lang, now=clock.now(), max_files=MAX_PER_CASE,
                           max_mb=f"{settings.evidence.max_bytes / 2**20:g}"), status
