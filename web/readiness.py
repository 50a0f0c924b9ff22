"""每日自查 pages: the phone page on which a point's responsible person runs its checklist each morning (with
photos), and the readiness board of every point today. Thin views over engine/readiness/daily.py."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.core import clock
from engine.core.models import InspectionPoint, ReadinessCheck, Task, Unit, User
from engine.readiness import checklists, daily
from engine.space.points import type_name
from engine.supervision.inspection import Photo
from rules.problems import InputError
from web.auth import STAFF_ROLES, require_roles
from web.common.extensions import db
from web.common.i18n import short_lang

bp = Blueprint("readiness", __name__, url_prefix="/readiness")
#: Who reads the board: the bureau's supervisors and administrators, the assessment office; a field unit its own.
BOARD_READERS = ("supervisor", "assessor", "auditor", "admin")
VISITORS = ("field_unit", *BOARD_READERS)


@bp.app_template_filter("fromiso")
def fromiso(text: str | None) -> datetime | None:
    """An instant the engine gave as ISO text, back to a datetime for the `local` filter."""
    return datetime.fromisoformat(text) if text else None


def _visible_point(user: User, code: str) -> InspectionPoint:
    """The point's person, a field account of its unit, or a board reader; anyone else sees nothing."""
    point = db.session.scalar(select(InspectionPoint).where(InspectionPoint.code == code)) if "\x00" not in code \
        else None
    if point is None or not (user.role in BOARD_READERS or daily.may_check(point, user)
                             or (user.role == "field_unit" and user.unit_id == point.unit_id)):
        abort(404)
    return point


def case_links(case_ids: list[int]) -> dict[int, str]:
    """Where a failed item's case opens for the reader: the case page for staff, its task for a field unit."""
    if current_user.role in STAFF_ROLES:
        return {c: url_for("case_pages.case_page", case_id=c) for c in case_ids}
    tasks = db.session.execute(select(Task.case_id, Task.id).where(Task.case_id.in_(case_ids)).order_by(Task.id))
    links: dict[int, str] = {}
    for case_id, task_id in tasks:
        links.setdefault(case_id, url_for("pages.task", task_id=task_id))
    return links


def answers_from(form: Any, files: Any, items: list) -> list[daily.Answer]:
    answers = []
    for item in items:
        verdict = form.get(f"passed-{item.code}")
        photos = [Photo(f.filename or "photo", f.read()) for f in files.getlist(f"photos-{item.code}")
                  if f and f.filename]
        answers.append(daily.Answer(item.code, {"yes": True, "no": False}.get(verdict), form.get(f"score-{item.code}"),
                                    form.get(f"note-{item.code}", ""), photos))
    return answers


def _check_page(point: InspectionPoint, errors: dict[str, list[str]], form: Any, status: int = 200):
    campaign = daily.readiness_campaign(db.session)
    now = clock.now()
    day = daily.local_day(campaign, now) if campaign else None
    state = daily.today(db.session, [point], now)[point.id]
    return render_template("readiness_check.html", point=point, type_name=type_name(point.type.code, short_lang()),
                           items=checklists.items_for(db.session, point.type_id, daily_only=True),
                           state=state, states=daily.STATES, links=case_links(state["cases"]),
                           check=daily.check_of(db.session, point.id, day) if day else None,
                           deadline=daily.deadline(campaign, day) if day and daily.in_window(campaign, now) else None,
                           may_check=daily.may_check(point, current_user), zone=campaign.timezone if campaign else None,
                           open_window=daily.in_window(campaign, now), frequencies=checklists.FREQUENCIES,
                           max_photos=daily.MAX_PHOTOS, lang=short_lang(), errors=errors, form=form), status


@bp.get("")
@require_roles(*VISITORS)
def index():
    """The person's own points today; a board reader without points goes to the board."""
    points = daily.points_of(db.session, current_user)
    if not points:
        return redirect(url_for("readiness.board_page"))
    campaign = daily.readiness_campaign(db.session)
    return render_template("readiness_mine.html", points=points, states=daily.today(db.session, points),
                           names=daily.STATES, zone=campaign.timezone if campaign else None, lang=short_lang())


@bp.get("/points/<code>")
@require_roles(*VISITORS)
def check_page(code: str):
    return _check_page(_visible_point(current_user, code), {}, {})


@bp.post("/points/<code>")
@require_roles(*VISITORS)
def check(code: str):
    point = _visible_point(current_user, code)
    settings = current_app.extensions["civicrules.settings"]
    items = checklists.items_for(db.session, point.type_id, daily_only=True)
    try:
        row = daily.run_check(db.session, point, current_user, answers_from(request.form, request.files, items),
                              settings.evidence.dir, settings.evidence.max_bytes)
    except InputError as err:
        db.session.rollback()
        return _check_page(_visible_point(current_user, code), err.by_field(short_lang()), request.form, 422)
    db.session.commit()
    if row.failed:
        zh = short_lang() == "zh"
        flash(_("Check recorded: %(n)s failed item(s) filed as cases for %(unit)s.", n=row.failed,
                unit=("、" if zh else ", ").join(u.name_zh if zh else u.name_en for u in _case_units(row))),
              "success")
    else:
        flash(_("Check recorded: every item passed."), "success")
    return redirect(url_for("readiness.check_page", code=point.code))


def _case_units(row: ReadinessCheck) -> list[Unit]:
    """The units the check's failed items went to: the point's unit, then the departments in charge of its kind."""
    ids = [r["case"] for r in row.results if r.get("case")]
    tasks = db.session.scalars(select(Task).where(Task.case_id.in_(ids)).order_by(Task.id)) if ids else []
    return list({t.unit_id: t.unit for t in tasks}.values())


@bp.get("/board")
@require_roles(*VISITORS)
def board_page():
    rows = daily.board(db.session)
    if current_user.role not in BOARD_READERS:
        rows = [(p, s) for p, s in rows if p.unit_id == current_user.unit_id]
    campaign = daily.readiness_campaign(db.session)
    totals: dict[str, int] = {}
    for _point, state in rows:
        totals[state["state"]] = totals.get(state["state"], 0) + 1
    links = case_links([c for _point, state in rows for c in state["cases"]])
    return render_template("readiness_board.html", rows=rows, totals=totals, names=daily.STATES, links=links,
                           campaign=campaign,
                           zone=campaign.timezone if campaign else None, type_name=type_name, lang=short_lang())
