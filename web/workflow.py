"""The task workflow in the browser: acting on a task (sign, submit with the template's form, check,
approve, re-route), photos from the camera, and the checker's and dispatcher's queues.

Every action goes through engine.handling.tasks.apply, as the API's do; these handlers only read the form.
"""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from sqlalchemy import func, select
from wtforms import ValidationError

from engine.cases.clocks import StageClock, due_first, running_checks
from engine.core import clock
from engine.core.models import DEFAULT_TIMEZONE, Campaign, Evidence, Task, TaskTemplate, TaskTransition, Unit
from engine.core.states import REQUESTS, TaskStatus
from engine.evaluation.hand_routing import route_case
from engine.handling import evidence
from engine.handling.tasks import STATES, TransitionError
from engine.handling.tasks import ACTION_DATA, apply as apply_transition
from rules.problems import InputError
from web.auth import require_roles, task_scope
from web.common.display import local_time
from web.common.extensions import db
from web.common.i18n import short_lang
from web.common.taskforms import page_form
from web.task_view import by_input, checklist_ticks, field_name
from web.uploads import send_upload

bp = Blueprint("workflow", __name__)
DISPATCH_STATES = (*REQUESTS, TaskStatus.SENT_BACK)
CHECKERS = ("checker", "collector", "admin")  # 核查: the centre's checker or the 监督员 on site
DISPATCHERS = ("dispatcher", "shift_leader", "admin")  # the 值班长 has the dispatcher's rights
PLACEHOLDER = re.compile(r"\{\{\s*(event\.address|event\.description|event\.category|task\.deadline|task\.unit|rule\.title)\s*\}\}")


def visible_task(task_id: int) -> Task:
    """The task, or 404 if the signed-in user may not see it (web.auth.task_scope)."""
    task = db.session.get(Task, task_id)
    if task is None or not task_scope(current_user).sees(task):
        abort(404)
    return task


def zone_of(task: Task) -> ZoneInfo:
    return ZoneInfo(db.session.scalar(select(Campaign.timezone).where(Campaign.id == task.campaign_id))
                    or DEFAULT_TIMEZONE)


def campaign_zones() -> dict[int, str]:
    """Each campaign's time zone by id, for pages that list tasks of several campaigns."""
    return {cid: zone or DEFAULT_TIMEZONE for cid, zone in db.session.execute(select(Campaign.id, Campaign.timezone))}


def local(moment: datetime | None, zone: str | None = None) -> str:
    """The `|local` filter (web.common.display), for text built outside a template."""
    return local_time(moment, zone)


def instructions(task: Task, lang: str) -> str:
    """The template's instructions with its placeholders filled in: plain text substitution, never a template."""
    text = (task.template.instructions_zh if lang == "zh" else task.template.instructions_en) or ""
    firing = next((f for f in task.firings if f.task_id == task.id), None)
    rule = (firing.ruleset_version.rules.get(firing.rule_key) or {}) if firing else {}
    values = {
        "event.address": task.event.address or "", "event.description": task.event.description or "",
        "event.category": task.event.category.name_zh if lang == "zh" else task.event.category.name_en,
        "task.deadline": local(task.deadline_at, str(zone_of(task))),
        "task.unit": task.unit.name_zh if lang == "zh" else task.unit.name_en,
        "rule.title": ((rule.get("title") or {}).get(lang) or task.rule_key),
    }
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _flash_problems(err: InputError, template: TaskTemplate | None = None) -> None:
    """Each problem under the name of the field the user filled in, never its data path."""
    lang = short_lang()
    for problem in err.problems:
        name = field_name(template, problem.where, lang) if template is not None else problem.where
        flash(f"{name}{'：' if lang == 'zh' else ': '}{problem.message(lang)}", "danger")


@bp.post("/tasks/<int:task_id>/act")
@require_roles()
def act(task_id: int):
    """One transition from the task page; a submission carries the template's form, validated by WTForms, and
    the checklist's ticks. A refused form comes back with each problem next to its field."""
    from web.pages import task_page  # the page module imports this one for its queues

    task = visible_task(task_id)
    action = request.form.get("action", "")
    data = {key: request.form[key] for key in ACTION_DATA.get(action, ()) if request.form.get(key)}
    lang = short_lang()
    form = page_form(task.template, lang) if action == "submit" else None
    if form is not None and not form.validate_on_submit():
        return task_page(task, status=422, form=form)

    def prepare(current: Task, given: dict) -> dict:
        if form is None:
            return given
        problems = evidence.submission_problems(db.session, current)
        if problems:
            raise InputError(problems)
        answers = {name: (value.isoformat() if hasattr(value, "isoformat") else
                          float(value) if value is not None and type(value).__name__ == "Decimal" else value)
                   for name, value in form.data.items() if name != "csrf_token"}
        if current.template.checklist:
            answers["checklist"] = checklist_ticks(current.template, request.form.getlist("checklist"))
        return answers

    try:
        apply_transition(db.session, task, action, current_user, request.form.get("comment", "").strip(), data,
                         expected_version=request.form.get("version", type=int), prepare=prepare)
    except InputError as err:
        db.session.rollback()
        task = db.session.get(Task, task_id)
        _flash_problems(err, task.template)
        return task_page(task, status=422, form=form, act_errors={action: by_input(err, lang)},
                         typed={key: request.form.get(key, "") for key in (*ACTION_DATA.get(action, ()), "comment")})
    except TransitionError as err:
        db.session.rollback()
        flash(err.message(lang), "danger")
    else:
        db.session.commit()
        flash(_("Done."), "success")
    return redirect(url_for("pages.task", task_id=task_id))


@bp.post("/tasks/<int:task_id>/photos")
@require_roles("field_unit", "admin")
def photos(task_id: int):
    """Photos from the camera (several at once): each checked by content and the template's rules."""
    task = visible_task(task_id)
    settings = current_app.extensions["civicrules.settings"]

    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        abort(400)
    files = [f for f in request.files.getlist("photo") if f and f.filename]
    if not files:
        flash(_("Choose or take at least one photo."), "danger")
    stored = 0
    for upload in files:
        try:
            evidence.add_photo(db.session, settings.evidence.dir, task, current_user, request.form.get("field", ""),
                               request.form.get("stage", "after"), upload.filename, upload.read(),
                               settings.evidence.max_bytes, zone_of(task))
            db.session.commit()
            stored += 1
        except InputError as err:
            db.session.rollback()
            _flash_problems(err, task.template)
    if stored:
        flash(_("%(n)s photo(s) added.", n=stored), "success")
    return redirect(url_for("pages.task", task_id=task_id))


@bp.get("/tasks/<int:task_id>/photos/<int:evidence_id>")
@require_roles()
def photo(task_id: int, evidence_id: int):
    task = visible_task(task_id)
    row = db.session.get(Evidence, evidence_id)
    if row is None or row.task_id != task.id:
        abort(404)
    return send_upload(current_app.extensions["civicrules.settings"].evidence.dir / row.stored_name, row.original_name)


def awaiting_check(limit: int = 200) -> tuple[list[Task], dict[int, StageClock]]:
    """Work submitted by the units, the check that falls due first at the top, with each task's running 核查
    clock: the checker's and the 监督员's queue. Past `limit` the latest submissions are left out: they fall due last."""
    submitted = (select(func.max(TaskTransition.at)).where(TaskTransition.task_id == Task.id,
                                                           TaskTransition.to_status == TaskStatus.SUBMITTED)
                 .scalar_subquery())
    tasks = list(db.session.scalars(select(Task).where(Task.status == TaskStatus.SUBMITTED)
                                    .order_by(submitted, Task.deadline_at, Task.id).limit(limit)))
    checks = running_checks(db.session, tasks)
    return due_first(tasks, checks), checks


def awaiting_dispatcher(limit: int = 200) -> list[Task]:
    """Requests and tasks sent back, by deadline: the dispatcher's and the 值班长's queue."""
    return list(db.session.scalars(select(Task).where(Task.status.in_(DISPATCH_STATES))
                                   .order_by(Task.deadline_at).limit(limit)))


@bp.get("/check")
@require_roles(*CHECKERS)
def check_queue():
    """Work submitted by the units, the check that falls due first at the top, each with its 核查 due time and how
    late it is: pass closes it, fail returns it with a reason."""
    tasks, checks = awaiting_check()
    return render_template("queue.html", tasks=tasks, checks=checks, lang=short_lang(), title=_("Awaiting check"),
                           now=clock.now(), zones=campaign_zones(), states=STATES)


@bp.post("/dispatch/cases/<int:case_id>/route")
@require_roles(*DISPATCHERS)
def route_case_form(case_id: int):
    """The dispatcher gives a case nobody owns to a unit; its routine task is created at once."""
    try:
        task_id = route_case(db.session, case_id, request.form.get("unit", ""), current_user, clock.now())
    except InputError as err:
        db.session.rollback()
        _flash_problems(err)
        return redirect(url_for("requests.queue"))
    db.session.commit()
    flash(_("Case %(case)s dispatched: task %(task)s.", case=case_id, task=task_id), "success")
    return redirect(url_for("requests.queue"))


def units_for_reroute() -> list[Unit]:
    return list(db.session.scalars(select(Unit).order_by(Unit.code)))
