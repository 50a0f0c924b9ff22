"""The case pages (DESIGN 12): the queues of a case's stages (待核实 for the grid's collector, 待立案 and 待结案 for
the shift leader, 待回访 for the dispatcher and the shift leader) and a case's page with the form its stage and the
reader's role call for: verify with a photo, file against a filing condition or refuse, close against a closing
condition, record the revisit, reopen a case whose reporter was not satisfied; the cooperating units' answers to
the lead are shown with the tasks. Thin views over engine/cases and engine/evaluation; every refusal is shown next
to its field."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from engine.cases.clocks import clocks
from engine.cases.closing import CLOSERS, awaiting_closing, close_case, why_not_closable
from engine.cases.cooperation import answers, lead_task
from engine.cases.revisits import RATINGS, REVISITORS, Answer, awaiting_revisit, may_reopen, rating_name, record_revisit
from engine.cases.stages import in_stage, load_case, stage_name
from engine.cases.verification import FINDINGS, Photo, finding_name, may_verify, verify
from engine.core import clock
from engine.core.models import DEFAULT_TIMEZONE, Campaign, Case, Category, Event, FilingCondition
from engine.core.states import CaseStage
from engine.evaluation.filing import FILERS, file_case, refuse_case
from engine.handling.tasks import STATES
from engine.evaluation.reopening import REOPENERS, reopen_case
from engine.handling.evidence import for_case as case_photos, of_case as photo_of_case
from engine.intake.reporter import REPORTER_PHONE_ROLES, may_reveal, reveal_phone, shown_reporter
from engine.people.staff import person_of
from rules.problems import InputError
from web.auth import STAFF_ROLES, request_actor, require_roles
from web.common.extensions import db
from web.common.i18n import short_lang
from web.uploads import send_upload

bp = Blueprint("case_pages", __name__)

#: The queues of the case stages, who works each, and the stage it lists.
QUEUES: dict[str, tuple[tuple[str, ...], CaseStage | None]] = {
    "verify": (("collector", "shift_leader", "admin"), CaseStage.VERIFYING),
    "file": (FILERS, CaseStage.FILING),
    "close": (CLOSERS, None),
    "revisit": (REVISITORS, CaseStage.CLOSED),
}
QUEUE_TITLES = {"verify": _l("Awaiting verification"), "file": _l("Awaiting filing"), "close": _l("Awaiting closing"),
                "revisit": _l("Awaiting revisit")}
#: A yes/no answer of the revisit form.
YES_NO = {"yes": True, "no": False}


def queue_cases(queue: str, limit: int = 200) -> list[Case]:
    """A queue's cases; a collector's 待核实 holds the cases of the grids they verify."""
    if queue == "close":
        return awaiting_closing(db.session, limit)
    if queue == "revisit":
        return awaiting_revisit(db.session, limit)
    person = person_of(db.session, current_user) if current_user.role == "collector" else None
    verifier = person.id if person is not None and queue == "verify" else None
    return in_stage(db.session, QUEUES[queue][1], limit, verifier)


def queues_for(role: str) -> list[str]:
    return [name for name, (roles, _stage) in QUEUES.items() if role in roles]


@bp.get("/cases")
@require_roles("collector", "dispatcher", "shift_leader", "admin")
def queue():
    name = request.args.get("queue") or (queues_for(current_user.role) or ["verify"])[0]
    if name not in QUEUES or current_user.role not in QUEUES[name][0]:
        abort(404)
    return render_template("case_queue.html", cases=queue_cases(name), queue=name, queues=queues_for(current_user.role),
                           titles={k: str(v) for k, v in QUEUE_TITLES.items()}, lang=short_lang(), stage_name=stage_name,
                           now=clock.now())


def _zone(case: Case) -> ZoneInfo:
    campaign = db.session.get(Campaign, case.campaign_id) if case.campaign_id else None
    return ZoneInfo(campaign.timezone if campaign else DEFAULT_TIMEZONE)


def _page(case_id: int, errors: dict[str, list[str]] | None = None, status: int = 200, form: Any = None,
          revealed: dict[int, str] | None = None):
    case = load_case(db.session, case_id)
    if case is None:
        abort(404)
    lang = short_lang()
    campaign = db.session.get(Campaign, case.campaign_id) if case.campaign_id else None
    role = current_user.role
    category_code = (form or {}).get("category") or case.category.code
    chosen = db.session.scalar(select(Category).where(Category.code == category_code)) or case.category
    conditions = list(db.session.scalars(select(FilingCondition).where(FilingCondition.category_id == chosen.id)
                                         .order_by(FilingCondition.id)))
    closing = list(db.session.scalars(select(FilingCondition).where(FilingCondition.category_id == case.category_id)
                                      .order_by(FilingCondition.id)))
    return render_template(
        "case.html", case=case, lang=lang, stage_name=stage_name, zone=str(_zone(case)), now=clock.now(),
        clocks=clocks(case, campaign, case.reports[0].received_at if case.reports else None),
        reporters={e.id: shown_reporter(e, role) for e in case.reports},
        may_reveal={e.id for e in case.reports if may_reveal(role, e)}, revealed=revealed or {},
        photos=case_photos(db.session, case.id),
        may_verify=case.stage == CaseStage.VERIFYING and may_verify(db.session, case, current_user),
        may_file=case.stage == CaseStage.FILING and role in FILERS,
        may_close=role in CLOSERS and not why_not_closable(case), blocked=why_not_closable(case),
        is_closer=role in CLOSERS,
        lead=lead_task(case), answers=answers(case), states=STATES,
        may_revisit=case.stage == CaseStage.CLOSED and role in REVISITORS, ratings=RATINGS, rating_name=rating_name,
        may_reopen=role in REOPENERS and may_reopen(db.session, case),
        findings=FINDINGS, finding_name=finding_name, conditions=conditions, closing=closing, chosen=chosen,
        categories=list(db.session.execute(select(Category.code, Category.name_zh, Category.name_en)
                                           .order_by(Category.code))) if role in FILERS else [],
        errors=errors or {}, form=form or {}), status


@bp.get("/cases/<int:case_id>")
@require_roles(*STAFF_ROLES)
def case_page(case_id: int):
    return _page(case_id)


@bp.post("/cases/<int:case_id>/reports/<int:event_id>/phone")
@require_roles(*REPORTER_PHONE_ROLES)
def reveal_reporter_phone(case_id: int, event_id: int):
    """显示号码: the reporter's whole number on this page only (never in a URL or a flash), logged as a view."""
    event = db.session.get(Event, event_id)
    if event is None or event.case_id != case_id:
        abort(404)
    try:
        phone = reveal_phone(db.session, event, request_actor())
    except InputError as err:
        db.session.rollback()
        return _page(case_id, err.by_field(short_lang()), 422)
    db.session.commit()
    response = make_response(_page(case_id, revealed={event_id: phone}))
    response.headers["Cache-Control"] = "no-store"  # the whole number stays out of caches
    return response


def _act(case_id: int, act, done: str):
    """Run one engine step; on a refusal the page comes back with each problem under its field (422)."""
    if db.session.get(Case, case_id) is None:
        abort(404)
    try:
        act()
    except InputError as err:
        db.session.rollback()
        return _page(case_id, err.by_field(short_lang()), 422, request.form.to_dict())
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("case_pages.case_page", case_id=case_id))


@bp.post("/cases/<int:case_id>/verify")
@require_roles("collector", "shift_leader", "admin")
def verify_form(case_id: int):
    settings = current_app.extensions["civicrules.settings"]
    photos = [Photo(f.filename or "photo", f.read()) for f in request.files.getlist("photo") if f.filename]

    def act():
        case = db.session.get(Case, case_id)
        verify(db.session, case, current_user, request.form.get("finding", ""), request.form.get("note", ""),
               request.form.get("filing_condition"), photos, settings.evidence.dir, settings.evidence.max_bytes,
               _zone(case), clock.now())
    return _act(case_id, act, _("Verified: the case waits for filing."))


@bp.post("/cases/<int:case_id>/file")
@require_roles(*FILERS)
def file_form(case_id: int):
    form = request.form
    return _act(case_id, lambda: file_case(db.session, case_id, form.get("filing_condition", ""),
                                           form.get("category") or None, current_user, clock.now(),
                                           form.get("comment", "")[:2000]), _("Filed."))


@bp.post("/cases/<int:case_id>/refuse")
@require_roles(*FILERS)
def refuse_form(case_id: int):
    return _act(case_id, lambda: refuse_case(db.session, case_id, request.form.get("reason", ""), current_user,
                                             clock.now()), _("Not filed; the reason goes back to the source."))


@bp.post("/cases/<int:case_id>/close")
@require_roles(*CLOSERS)
def close_form(case_id: int):
    form = request.form
    return _act(case_id, lambda: close_case(db.session, case_id, form.get("closing_condition", ""), current_user,
                                            clock.now(), form.get("comment", "")), _("Case closed."))


@bp.post("/cases/<int:case_id>/revisit")
@require_roles(*REVISITORS)
def revisit_form(case_id: int):
    form = request.form
    answer = Answer(YES_NO.get(form.get("reached", "")), form.get("rating") or None,
                    YES_NO.get(form.get("resolved", "")), form.get("comment", ""))
    return _act(case_id, lambda: record_revisit(db.session, case_id, answer, clock.now(), current_user),
                _("Revisit recorded."))


@bp.post("/cases/<int:case_id>/reopen")
@require_roles(*REOPENERS)
def reopen_form(case_id: int):
    return _act(case_id, lambda: reopen_case(db.session, case_id, request.form.get("reason", ""), current_user,
                                             clock.now()), _("Case reopened: a new task went to its lead unit."))


@bp.get("/cases/<int:case_id>/photos/<int:evidence_id>")
@require_roles(*STAFF_ROLES)
def photo(case_id: int, evidence_id: int):
    row = photo_of_case(db.session, evidence_id, case_id)
    if row is None:
        abort(404)
    return send_upload(current_app.extensions["civicrules.settings"].evidence.dir / row.stored_name, row.original_name)
