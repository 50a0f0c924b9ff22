"""The dispatcher's queue (调度): cases nobody owns, then the units' requests (延期, 挂账, 作废) and orders sent
back, with search, filters, pages and bulk decisions under one reason. Thin views over
engine/handling/request_queue.py; each decision goes through the state machine as on the task page."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.cases.stages import awaiting_dispatch, stage_name
from engine.core import clock
from engine.core.models import Unit
from engine.handling import request_queue
from engine.handling.tasks import STATES, grounds_name
from rules.problems import InputError
from web.auth import require_roles
from web.common.extensions import db
from web.common.i18n import short_lang
from web.workflow import DISPATCHERS, campaign_zones, units_for_reroute

bp = Blueprint("requests", __name__)


def _page(status: int = 200, decide_errors: dict[str, list[str]] | None = None, reason: str = ""):
    lang = short_lang()
    errors: dict[str, list[str]] = {}
    try:
        filters = request_queue.filters_from(db.session, request.args)
        found = request_queue.page_of(db.session, filters, clock.now(), request.args.get("page", 1, type=int) or 1)
    except InputError as err:
        errors = err.by_field(lang)
        found = request_queue.QueuePage([], 0, 1, 1)
    kept = {k: v for k, v in request.args.items() if k != "page" and v}
    units = [(u.id, u.name_zh if lang == "zh" else u.name_en) for u in db.session.execute(
        select(Unit.id, Unit.name_zh, Unit.name_en).order_by(Unit.code))]
    return render_template(
        "queue.html", title=_("Awaiting the dispatcher"), lang=lang, now=clock.now(), zones=campaign_zones(),
        states=STATES, cases=awaiting_dispatch(db.session), units=units_for_reroute(), stage_name=stage_name,
        grounds_name=grounds_name, found=found, errors=errors, args=request.args, unit_choices=units,
        kinds=request_queue.KIND_NAMES, decidable=request_queue.DECIDABLE, ages=request_queue.AGES,
        page_url=lambda n: url_for("requests.queue", **kept, page=n), decide_errors=decide_errors or {},
        reason=reason, back=_back() if request.method == "POST" else request.full_path), status


@bp.get("/dispatch")
@require_roles(*DISPATCHERS)
def queue():
    """Requests for the dispatcher: extensions, parking, voiding, and tasks sent back for re-routing."""
    return _page()


@bp.post("/dispatch/decide")
@require_roles(*DISPATCHERS)
def decide():
    """Approve or reject the ticked requests with one reason (CSRF checked by CSRFProtect before this runs)."""
    lang = short_lang()
    picked = []
    for value in request.form.getlist("task"):
        task_id, _sep, version = value.partition(":")
        if task_id.isdecimal() and version.isdecimal() and len(value) < 40:
            picked.append((int(task_id), int(version)))
    reason = request.form.get("comment", "").strip()
    if not picked:
        return _page(422, {"task": [_("Tick at least one request.")]}, reason)
    try:
        outcome = request_queue.decide(db.session, picked, request.form.get("decision") == "approve", reason,
                                       current_user, lang)
    except InputError as err:
        db.session.rollback()
        return _page(422, err.by_field(lang), reason)
    db.session.commit()
    if outcome.decided:
        flash(_("%(n)s request(s) decided.", n=len(outcome.decided)), "success")
    for task_id, why in outcome.refused.items():
        flash(_("Task %(id)s: %(why)s", id=task_id, why=why), "danger")
    return redirect(_back())


def _back() -> str:
    """Where a bulk decision returns: the queue with the filters it was made from (a path of this queue only)."""
    back = request.form.get("back", "")
    if back.startswith("/dispatch") and not back.startswith(("//", "/dispatch/decide")):
        return back
    return url_for("requests.queue")
