"""Browser pages: login, the role's home page, and the field unit's task list (with 我的任务) and task
page (with the person chain, the leader's assignment form, and 主办/协办: the lead's task shows the cooperating
units' answers, a cooperating task names the lead unit)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from engine.accounts.lockout import attempt
from engine.accounts.users import ROLES, end_sessions
from engine.accounts.users import change_password as change_own_password
from engine.audit.security_log import record
from engine.core import clock
from engine.supervision.steps import escalated, ladder, upcoming
from engine.core.models import Campaign, Category, Event, Person, Task, Unit
from engine.core.states import TERMINAL, TaskStatus
from engine.core.worktime import calendar_for
from engine.handling.arrival import ArrivalRefused, first_arrival, may_arrive, record_arrival, source_name
from engine.handling.assignment import AssignmentRefused, may_assign
from engine.handling.assignment import assign as assign_task
from engine.handling.evidence import for_task as photos_of
from engine.handling.holder_notice import NoticeRefused, duty_name, issue_notice, may_notify
from engine.space.holders import DUTIES
from engine.handling import extension, task_list
from engine.handling.evidence import photo_fields
from engine.handling.tasks import (ACTIONS, REASON_REQUIRED, SEND_BACK_GROUNDS, STATES, TransitionError, actions_for,
                                   grounds_name)
from engine.handling.tasks import apply as apply_transition
from engine.handling.urgency import urgency
from engine.people.responsibility import chain
from engine.people.staff import LEADERS, POSITIONS, person_of, position_name, unit_and_below
from engine.supervision.board import for_task
from engine.supervision.escalation import body_names
from rules.problems import InputError
from web.auth import SEPARATED_ADMINS, request_actor, require_roles, stranger, task_scope, unit_scope
from web.common.explain import cards
from web.common.extensions import db
from web.home_work import work_of
from web.common.i18n import short_lang
from web.common.taskforms import page_form
from web import task_view
from web.forms import LoginForm, PasswordChangeForm, ReplyForm
from web.ratelimit import account_waits, login_limit, note_sign_in, password_limit
from web.security import SIGN_IN_FAILED, local_target
from engine.cases.cooperation import COOPERATING, LEAD, answers, lead_task, role_of
from engine.cases.stages import count_awaiting_dispatch, stage_name
from web.case_pages import QUEUE_TITLES, queue_cases, queues_for
from web.workflow import (CHECKERS, DISPATCHERS, awaiting_check, awaiting_dispatcher, instructions, units_for_reroute,
                          visible_task, zone_of)

bp = Blueprint("pages", __name__)
HOME_QUEUE = 10  # tasks of the role's queue shown on the home page


def my_person() -> Person | None:
    """The person the signed-in account belongs to (once per request), for 我的任务."""
    if "my_person" not in g:
        g.my_person = person_of(db.session, current_user) if current_user.is_authenticated else None
    return g.my_person


@bp.app_context_processor
def people_context() -> dict[str, Any]:
    return {"my_person": my_person, "checkers": CHECKERS, "dispatchers": DISPATCHERS}


def mine_by_default(person: Person | None) -> bool:
    """A team member's account opens on its own tasks; a leader's or a unit's shared account on the unit's."""
    return person is not None and current_user.role == "field_unit" and person.position not in LEADERS


@bp.route("/login", methods=["GET", "POST"])
@login_limit
def login():
    form = LoginForm()
    if form.validate_on_submit():
        outcome = attempt(db.session, form.username.data, form.password.data, address=request.remote_addr or "")
        note_sign_in(outcome.failed)
        if outcome.user is not None:
            record(db.session, request_actor(outcome.user), "sign_in", "登录 / signed in")
        else:
            record(db.session, stranger(form.username.data or ""), "sign_in_failed",
                   "须等待后再试 / waiting" if outcome.wait_seconds else "用户名或密码错误 / wrong username or password")
        db.session.commit()  # a failure is counted towards the account's wait
        if outcome.user is not None:
            login_user(outcome.user)
            session[LAST_SEEN] = clock.now().timestamp()
            if outcome.user.must_change_password:
                return redirect(url_for("pages.change_password"))
            return redirect(local_target(request.args.get("next")) or url_for("pages.home"))
        if outcome.wait_seconds:
            return account_waits(form.username.data, outcome.wait_seconds)
        flash(str(SIGN_IN_FAILED), "danger")
    return render_template("login.html", form=form)


@bp.post("/logout")
@require_roles(*ROLES)
def logout():
    """Ends the session on the server too: the user's session generation moves on, so a copied cookie is dead."""
    user = current_user._get_current_object()
    end_sessions(db.session, user)
    record(db.session, request_actor(user), "sign_out", "退出登录 / signed out")
    db.session.commit()
    logout_user()
    return redirect(url_for("pages.login"))


#: The session's last request (a POSIX timestamp of the injected clock), for the idle timeout.
LAST_SEEN = "last_seen"


@bp.before_app_request
def end_idle_session():
    """等保: a page session without a request for CIVICRULES_IDLE_MINUTES ends, and the user signs in again. The
    time is in the signed cookie, so a copy of an idle cookie is as dead; bearer tokens are not sessions."""
    if request.endpoint == "static" or request.path.startswith("/api/") or not current_user.is_authenticated:
        return None
    now = clock.now().timestamp()
    minutes = int(current_app.config.get("CIVICRULES_IDLE_MINUTES",
                                         current_app.extensions["civicrules.settings"].privacy.idle_minutes))
    seen = session.get(LAST_SEEN)
    if isinstance(seen, (int, float)) and now - seen > minutes * 60:
        record(db.session, request_actor(current_user._get_current_object()), "session_idle",
               f"超过 {minutes} 分钟无操作 / idle for more than {minutes} minutes")
        db.session.commit()
        logout_user()
        session.pop(LAST_SEEN, None)
        flash(_("You were signed out after %(minutes)s minutes without activity. Please sign in again.",
                minutes=minutes), "warning")
        return redirect(url_for("pages.login", next=request.full_path if request.method == "GET" else None))
    session[LAST_SEEN] = now
    return None


#: What a user who must change the password may still reach.
PASSWORD_CHANGE_EXEMPT = frozenset({"pages.change_password", "pages.logout", "pages.login", "static"})


@bp.before_app_request
def password_change_first():
    """After a reset, every page leads to the change form until the password is changed."""
    if (request.endpoint not in PASSWORD_CHANGE_EXEMPT and not request.path.startswith("/api/")
            and current_user.is_authenticated and current_user.must_change_password):
        return redirect(url_for("pages.change_password"))
    return None


@bp.route("/password", methods=["GET", "POST"])
@require_roles(*ROLES)
@password_limit
def change_password():
    """The user's own password change (forced after a reset); errors next to their field. A wrong current
    password is a guess at the account's password and counts towards its own limit; a form error does not."""
    form = PasswordChangeForm()
    user = current_user._get_current_object()  # login_user below needs the user, not the proxy
    if form.validate_on_submit():
        try:
            change_own_password(db.session, user, form.current.data, form.new.data)
        except InputError as err:
            note_sign_in(any(p.where == "current" for p in err.problems))
            lang = short_lang()
            for p in err.problems:
                getattr(form, p.where, form.new).errors.append(p.message(lang))
        else:
            note_sign_in(False)
            db.session.commit()
            login_user(user)  # this session goes on under the new generation; others have ended
            flash(_("Your password was changed."), "success")
            return redirect(url_for("pages.home"))
    return render_template("password.html", form=form, forced=user.must_change_password)


@bp.get("/")
@require_roles(*ROLES)
def home():
    """Event counts, then what the role works on: the check queue (checker, 监督员), the dispatcher's queue
    (dispatcher, 值班长), and a linked person's own open tasks. The security and audit administrators work in
    the admin only."""
    if current_user.role in SEPARATED_ADMINS:
        return redirect(url_for("admin.index"))
    counts = dict(db.session.execute(select(Event.status, func.count()).group_by(Event.status)).all())
    queues, case_queues = [], []
    if current_user.role in CHECKERS:
        queues.append((_("Awaiting check"), url_for("workflow.check_queue"), awaiting_check(HOME_QUEUE)[0]))
    waiting = None
    if current_user.role in DISPATCHERS:
        queues.append((_("Awaiting the dispatcher"), url_for("requests.queue"),
                       awaiting_dispatcher(HOME_QUEUE)))
        waiting = count_awaiting_dispatch(db.session)
    for name in queues_for(current_user.role):
        case_queues.append((name, str(QUEUE_TITLES[name]), queue_cases(name, HOME_QUEUE)))
    person = my_person()
    if person is not None:
        mine = list(db.session.scalars(select(Task).where(Task.assignee_id == person.id, Task.status.not_in(TERMINAL))
                                       .order_by(Task.deadline_at).limit(HOME_QUEUE)))
        queues.append((_("My tasks"), url_for("pages.tasks", mine=1), mine))
    lang = short_lang()
    role = ROLES.get(current_user.role, (current_user.role, current_user.role))[0 if lang == "zh" else 1]
    return render_template("home.html", counts=counts, queues=queues, lang=lang, role=role,
                           zones={cid: c.timezone for cid, c in _campaigns().items()},
                           person=person, position=position_name(person.position, lang) if person else "",
                           waiting=waiting, case_queues=case_queues, stage_name=stage_name,
                           work=work_of(current_user))


def _campaigns() -> dict[int, Campaign]:
    return {c.id: c for c in db.session.scalars(select(Campaign))}


@bp.get("/tasks")
@require_roles()
def tasks():
    """The unit's tasks by deadline, 50 a page with the total, each with its traffic light and countdown; search
    (task or case number, address, description) and filters by state, category, unit, list and overdue."""
    person = my_person()
    mine = person is not None and request.args.get("mine", "1" if mine_by_default(person) else "0") == "1"
    lang = short_lang()
    now = clock.now()
    errors: dict[str, list[str]] = {}
    try:
        filters = task_list.filters_from(db.session, request.args, person.id if mine else None)
        found = task_list.page_of(db.session, filters, task_scope(current_user).condition(), now,
                                  request.args.get("page", 1, type=int) or 1)
    except InputError as err:
        errors = err.by_field(lang)
        found = task_list.TaskPage([], 0, 1, 1)
    rows = found.tasks
    campaigns = _campaigns()
    calendars = {cid: calendar_for(db.session, c.timezone, c.office_hours) for cid, c in campaigns.items()}
    lights = {t.id: urgency(t, now, calendars[t.campaign_id], campaigns[t.campaign_id].continuous_time) for t in rows}
    categories = [(c.code, c.name_zh if lang == "zh" else c.name_en) for c in db.session.execute(
        select(Category.code, Category.name_zh, Category.name_en).where(Category.kind == "matter")
        .order_by(Category.code))]
    visible = unit_scope(current_user)
    units = [(u.id, u.name_zh if lang == "zh" else u.name_en) for u in db.session.execute(
        select(Unit.id, Unit.name_zh, Unit.name_en).where(*([Unit.id.in_(visible)] if visible is not None else []))
        .order_by(Unit.code))]
    kept = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("tasks.html", tasks=rows, lights=lights, lang=lang, state=request.args.get("state", "open"),
                           states=STATES, next_steps=upcoming(db.session, rows),
                           escalated=escalated(db.session, [t.id for t in rows]), args=request.args,
                           category=request.args.get("category", ""), categories=categories, units=units,
                           lists=task_list.LISTS, overdue=bool(request.args.get("overdue")), errors=errors,
                           found=found, page_url=lambda n: url_for("pages.tasks", **kept, page=n),
                           map_links={t.id: task_view.map_links(t.event) for t in rows},
                           now=now, zones={cid: c.timezone for cid, c in campaigns.items()}, mine=mine, person=person)


def _may_act(task: Task) -> bool:
    """A field unit acts on its units' tasks and on those assigned to its own person (as the engine checks)."""
    units = unit_scope(current_user)
    return units is None or task.unit_id in units or (task.assignee is not None
                                                      and task.assignee.user_id == current_user.id)


def _candidates(task: Task) -> list[Person]:
    """Whom the signed-in leader may hand the task to: active people of the task's unit and those under it
    (a squad chief re-assigning a task of the unit above: the people of the squad)."""
    units = unit_and_below(db.session, task.unit_id)
    if current_user.role == "field_unit" and task.unit_id not in unit_and_below(db.session, current_user.unit_id):
        units &= unit_and_below(db.session, current_user.unit_id)
    order = {code: n for n, code in enumerate(POSITIONS)}
    people = db.session.scalars(select(Person).join(Unit, Unit.id == Person.unit_id)
                                .where(Person.unit_id.in_(units), Person.active.is_(True)))
    return sorted(people, key=lambda p: (p.unit.code, order.get(p.position, len(order)), p.code))


def _send_back_of(task: Task) -> Any:
    """The latest send-back (退单) of a task now waiting to be rerouted: the dispatcher reads its grounds."""
    if task.status != TaskStatus.SENT_BACK:
        return None
    return next((x for x in reversed(task.transitions) if x.action == "send_back"), None)


def task_page(task: Task, assign_errors: tuple[str, ...] = (), status: int = 200,
              send_back: dict[str, Any] | None = None, arrival: dict[str, Any] | None = None,
              notice: dict[str, Any] | None = None, form: Any = None, act_errors: dict[str, Any] | None = None,
              typed: dict[str, str] | None = None):
    """The task page; `send_back`, `arrival`, `notice` and `act_errors` (by action) carry a refused form's errors
    per field, `form` and `typed` what was filled in."""
    lang = short_lang()
    photos = photos_of(db.session, task.id)
    submitted = task_view.latest(task, "submit")
    failed, rejected = task_view.refusals(task)
    actions = actions_for(task, current_user.role) if current_user.role != "admin" and _may_act(task) else []
    assigning = may_assign(db.session, task, current_user)
    role = role_of(task)
    lead = lead_task(task.case) if role == COOPERATING else None
    steps = ladder(db.session, task)
    history = sorted([(x.at, "transition", x) for x in task.transitions]
                     + [(s.done_at, "step", s) for s in steps if s.done_at is not None], key=lambda e: (e[0], e[1]))
    return render_template(
        "task.html", task=task, lang=lang, supervisions=for_task(db.session, task.id), reply_form=ReplyForm(),
        cards=cards(task.firings, lang, task.timeline_id), instructions=instructions(task, lang),
        form=form or (page_form(task.template, lang) if "submit" in actions else None), actions=actions,
        action_names=ACTIONS, states=STATES, reason_required=REASON_REQUIRED, photos=photos, stages=task_view.STAGES,
        submitted=submitted, failed=failed, rejected=rejected, ticked=task_view.ticked(task),
        answers_given=task_view.answers(task.template, submitted.data, photos, lang) if submitted else [],
        act_errors=act_errors or {}, typed=typed or {}, map_links=task_view.map_links(task.event),
        requested=extension.requested(task), limit_units=task_view.limit_units(lang), field_name=task_view.field_name,
        photo_fields=photo_fields(task), zone=str(zone_of(task)), now=clock.now(),
        due_at_inspection=task_view.due_at_inspection(db.session, task),
        overdue_since=task_view.overdue_since(task, clock.now()),
        units=units_for_reroute() if "reroute" in actions else [],
        chain=chain(db.session, task.unit_id, task.event.grid_id, task.assignee), position_name=position_name,
        candidates=_candidates(task) if assigning else [], assign_errors=assign_errors, stage_name=stage_name,
        grounds=SEND_BACK_GROUNDS, grounds_name=grounds_name, sent_back=_send_back_of(task),
        send_back=send_back or {"errors": {}}, arrived=first_arrival(db.session, task.id),
        may_arrive=may_arrive(db.session, task, current_user), arrival=arrival or {"errors": {}},
        source_name=source_name, may_notify=may_notify(db.session, task, current_user),
        notice=notice or {"errors": {}, "duties": list(task.frontage_holder.letter_duties or [])
                          if task.frontage_holder else []},
        duties=DUTIES, duty_name=duty_name,
        role=role, lead_unit=(task.case.lead_unit or (lead.unit if lead else None)) if role == COOPERATING else None,
        answers=answers(task.case) if role == LEAD else [], link_tasks=False, steps=steps, history=history,
        routine_origin=task_view.routine_origin(db.session, task, lang),
        bodies={level: names for (_c, level), names in body_names(db.session, {task.campaign_id}).items()},
        next_step=next((s for s in steps if s.status == "pending"), None)), status


@bp.get("/tasks/<int:task_id>")
@require_roles()
def task(task_id: int):
    return task_page(visible_task(task_id))


@bp.post("/tasks/<int:task_id>/send-back")
@require_roles("field_unit")
def send_back(task_id: int):
    """The unit's 退单 form: grounds and reason; a bad one is shown next to its field, a refusal is flashed."""
    task = visible_task(task_id)  # the form's CSRF token is checked by CSRFProtect before this runs
    lang = short_lang()
    grounds, comment = request.form.get("grounds", ""), request.form.get("comment", "").strip()
    try:
        apply_transition(db.session, task, "send_back", current_user, comment, {"grounds": grounds},
                         expected_version=request.form.get("version", type=int))
    except TransitionError as err:
        db.session.rollback()
        flash(err.message(lang), "danger")
    except InputError as err:
        db.session.rollback()
        return task_page(db.session.get(Task, task_id), status=422,
                          send_back={"errors": err.by_field(lang), "grounds": grounds, "comment": comment})
    else:
        db.session.commit()
        flash(_("Sent back to the dispatcher."), "success")
    return redirect(url_for("pages.task", task_id=task_id))


@bp.post("/tasks/<int:task_id>/arrival")
@require_roles("field_unit")
def arrival(task_id: int):
    """到达现场: the phone's position (or one typed, or a photo's) and now; a bad one is shown next to its field."""
    task = visible_task(task_id)  # the form's CSRF token is checked by CSRFProtect before this runs
    lang = short_lang()
    data = {name: request.form.get(name, "").strip() for name in ("lat", "lon", "accuracy", "source")}
    try:
        record_arrival(db.session, task, current_user, data, clock.now(), request.form.get("comment", "").strip())
    except ArrivalRefused as err:
        db.session.rollback()
        flash(err.message(lang), "danger")
    except InputError as err:
        db.session.rollback()
        return task_page(db.session.get(Task, task_id), status=422, arrival={"errors": err.by_field(lang), **data})
    else:
        db.session.commit()
        flash(_("Arrival on site recorded."), "success")
    return redirect(url_for("pages.task", task_id=task_id))


@bp.post("/tasks/<int:task_id>/holder-notice")
@require_roles("field_unit", "admin")
def holder_notice(task_id: int):
    """告知书 to the frontage holder: the duties breached, the rectify-by time (local) and the text; a bad one is
    shown next to its field, a refusal is flashed."""
    task = visible_task(task_id)  # the form's CSRF token is checked by CSRFProtect before this runs
    lang = short_lang()
    data = {"duties": request.form.getlist("duties"), "rectify_by": request.form.get("rectify_by", "").strip(),
            "text": request.form.get("text", "").strip()}
    try:
        issue_notice(db.session, task, current_user, data, clock.now(), zone_of(task))
    except NoticeRefused as err:
        db.session.rollback()
        flash(err.message(lang), "danger")
    except InputError as err:
        db.session.rollback()
        return task_page(db.session.get(Task, task_id), status=422, notice={"errors": err.by_field(lang), **data})
    else:
        db.session.commit()
        flash(_("Notice issued to the frontage holder."), "success")
    return redirect(url_for("pages.task", task_id=task_id))


@bp.post("/tasks/<int:task_id>/assign")
@require_roles("field_unit", "admin")
def assign(task_id: int):
    """The leader's form: hand the task to a person; a refusal is flashed, a bad choice shown by the select."""
    task = visible_task(task_id)  # the form's CSRF token is checked by CSRFProtect before this runs
    lang = short_lang()
    person = db.session.get(Person, request.form.get("person", type=int) or 0)
    try:
        assign_task(db.session, task, person, current_user, clock.now(), request.form.get("comment", "").strip())
    except AssignmentRefused as err:
        db.session.rollback()
        flash(err.message(lang), "danger")
    except InputError as err:
        db.session.rollback()
        return task_page(db.session.get(Task, task_id), tuple(p.message(lang) for p in err.problems), 422)
    else:
        db.session.commit()
        flash(_("Assigned to %(name)s.", name=person.name), "success")
    return redirect(url_for("pages.task", task_id=task_id))
