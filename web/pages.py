"""Browser pages: login, the role's home page, and the field unit's task list and task page."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from engine.accounts.lockout import sign_in
from engine.core.models import Event, Task, Campaign, Category
from engine.core.states import TERMINAL, TaskStatus
from web.auth import require_roles, unit_scope
from web.common.extensions import db
from web.forms import LoginForm, ReplyForm
from web.common.i18n import short_lang
from web.ratelimit import login_limit
from web.security import SIGN_IN_FAILED
from engine.core import clock
from engine.handling.tasks import ACTIONS, REASON_REQUIRED, STATES, actions_for
from engine.handling.urgency import urgency
from engine.core.worktime import calendar_for
from engine.handling.evidence import for_task as photos_of, photo_fields
from engine.supervision.board import for_task
from web.common.explain import cards
from web.common.taskforms import page_form
from web.workflow import instructions, units_for_reroute, visible_task, zone_of

bp = Blueprint("pages", __name__)


@bp.route("/login", methods=["GET", "POST"])
@login_limit
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = sign_in(db.session, form.username.data, form.password.data)
        db.session.commit()  # a failure is counted towards the lockout
        if user is not None:
            login_user(user)
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("pages.home"))
        flash(str(SIGN_IN_FAILED), "danger")
    return render_template("login.html", form=form)


@bp.post("/logout")
@require_roles()
def logout():
    logout_user()
    return redirect(url_for("pages.login"))


@bp.get("/")
@require_roles()
def home():
    counts = dict(db.session.execute(select(Event.status, func.count()).group_by(Event.status)).all())
    return render_template("home.html", counts=counts)


@bp.get("/tasks")
@require_roles()
def tasks():
    """The unit's tasks by deadline, each with its traffic light and countdown; filters by state,
    overdue and category."""

    state = request.args.get("state", "open")
    query = select(Task).order_by(Task.deadline_at).limit(200)
    scope = unit_scope(current_user)
    if scope is not None:
        query = query.where(Task.unit_id.in_(scope))
    if state == "open":
        query = query.where(Task.status.not_in(TERMINAL))
    elif state == "closed":
        query = query.where(Task.status.in_(TERMINAL))
    elif state in STATES:
        query = query.where(Task.status == state)
    now = clock.now()
    if request.args.get("overdue"):
        query = query.where(Task.deadline_at < now, Task.status.not_in([*TERMINAL, TaskStatus.PARKED]))
    category = request.args.get("category", "")
    if category:
        query = query.join(Event, Event.id == Task.event_id).join(Category, Category.id == Event.category_id).where(
            Category.code == category)
    rows = list(db.session.scalars(query))
    campaigns = {c.id: c for c in db.session.scalars(select(Campaign))}
    calendars = {cid: calendar_for(db.session, c.timezone, c.office_hours) for cid, c in campaigns.items()}
    lights = {t.id: urgency(t, now, calendars[t.campaign_id], campaigns[t.campaign_id].continuous_time) for t in rows}
    lang = short_lang()
    categories = sorted({(t.event.category.code, t.event.category.name_zh if lang == "zh" else t.event.category.name_en)
                         for t in rows})
    return render_template("tasks.html", tasks=rows, lights=lights, lang=lang, state=state, states=STATES,
                           category=category, categories=categories, overdue=bool(request.args.get("overdue")),
                           now=now, zones={cid: c.timezone for cid, c in campaigns.items()})


@bp.get("/tasks/<int:task_id>")
@require_roles()
def task(task_id: int):
    task = visible_task(task_id)
    lang = short_lang()
    actions = actions_for(task, current_user.role) if current_user.role != "admin" else []
    return render_template(
        "task.html", task=task, lang=lang, supervisions=for_task(db.session, task.id), reply_form=ReplyForm(),
        cards=cards(task.firings, lang, task.timeline_id), instructions=instructions(task, lang),
        form=page_form(task.template, lang) if "submit" in actions else None, actions=actions,
        action_names=ACTIONS, states=STATES, reason_required=REASON_REQUIRED, photos=photos_of(db.session, task.id),
        photo_fields=photo_fields(task), zone=str(zone_of(task)), now=clock.now(),
        units=units_for_reroute() if "reroute" in actions else [])
