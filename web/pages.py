"""Browser pages: login, the role's home page, and the field unit's task list and task page."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from engine.lockout import sign_in
from engine.models import Event, Task
from web.auth import require_roles, unit_scope
from web.extensions import db
from web.forms import LoginForm
from web.i18n import short_lang
from web.ratelimit import login_limit
from web.security import SIGN_IN_FAILED

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
    query = select(Task).order_by(Task.deadline_at).limit(200)
    scope = unit_scope(current_user)
    if scope is not None:
        query = query.where(Task.unit_id.in_(scope))
    return render_template("tasks.html", tasks=list(db.session.scalars(query)), lang=short_lang())


@bp.get("/tasks/<int:task_id>")
@require_roles()
def task(task_id: int):
    task = db.session.get(Task, task_id)
    scope = unit_scope(current_user)
    if task is None or (scope is not None and task.unit_id not in scope):
        abort(404)
    from engine.supervision import for_task
    from web.forms import ReplyForm

    from web.explain import cards

    lang = short_lang()
    return render_template("task.html", task=task, lang=lang, supervisions=for_task(db.session, task.id),
                           reply_form=ReplyForm(), cards=cards(task.firings, lang, task.timeline_id))
