"""Authentication and roles: Flask-Login sessions for pages, bearer tokens for the API."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps

from flask import abort, current_app, g, request
from flask_login import current_user
from sqlalchemy import ColumnElement, or_, select

from engine.accounts.tokens import IntakeCredential, TokenCache
from engine.audit.security_log import Actor, record
from engine.core.models import ApiToken, Person, Task, User
from engine.people.staff import LEADERS, person_of, unit_and_below
from web.common.extensions import db, login_manager
from web.common.problems import problem

STAFF_ROLES = ("admin", "dispatcher", "checker", "supervisor", "assessor", "auditor", "collector", "shift_leader")
#: 三员分立: the security administrator (accounts) and the audit administrator (the security audit log) sign in to
#: the admin only; no business page or API call is theirs.
SEPARATED_ADMINS = ("security_admin", "audit_admin")


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The active user whose id and session generation the cookie names (User.get_id); a cookie from before a
    logout, deactivation, reset or role change names an older generation and signs no one in."""
    ident, _, epoch = session_id.partition(":")
    if not (ident.isdecimal() and epoch.isdecimal()):
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.active or (user.session_epoch or 0) != int(epoch):
        return None
    return user


def request_actor(user: User | None = None) -> Actor:
    """Who acts in this request, for the security audit log: the signed-in (or token) user and the client
    address (ProxyFix has already put the proxied client's address there)."""
    if user is None:
        user = g.get("user") or (current_user._get_current_object() if current_user.is_authenticated else None)
    return Actor(user, request.remote_addr)


def stranger(username: str) -> Actor:
    """A failed sign-in's actor: the name as typed and the address, never the session's user."""
    return Actor(None, request.remote_addr, username)


def record_export(what: str) -> None:
    """A download of data (bulletin, appraisal, firing history, rankings) in the security audit log, committed
    at once: the file leaves whatever happens next."""
    record(db.session, request_actor(), "export", what, subject=request.path[:128])
    db.session.commit()


def require_roles(*roles: str) -> Callable:
    """Page decorator: a logged-in user with one of the roles, else login redirect or 403. No roles: any
    signed-in user but the separated administrators (SEPARATED_ADMINS), whose pages name them."""
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in (roles or ()) and (roles or current_user.role in SEPARATED_ADMINS):
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorator


def require_token(kinds: Iterable[str] = ("intake", "user"), roles: Iterable[str] | None = None) -> Callable:
    """API decorator: a valid bearer token of an allowed kind (and, for user tokens, role; with no roles named,
    any role but the separated administrators, who have no API)."""
    kinds, roles = tuple(kinds), tuple(roles) if roles else None

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            if not header.lower().startswith("bearer "):
                return problem(401, "unauthorized", detail_key="token_missing")
            token = bearer_token(header[7:].strip())
            if token is None:
                return problem(401, "unauthorized", detail_key="token_invalid")
            if token.kind == "user" and token.user.must_change_password:
                return problem(403, "password-change-required", detail_key="password_change_required")
            if token.kind not in kinds or (token.kind == "user" and (
                    token.user.role not in roles if roles else token.user.role in SEPARATED_ADMINS)):
                return problem(403, "forbidden", detail_key="forbidden")
            g.token = token
            g.user = token.user
            return view(*args, **kwargs)
        return wrapper
    return decorator


def bearer_token(raw: str) -> ApiToken | IntakeCredential | None:
    """The valid token `raw` names; an intake token is kept briefly per app (dropped at once on any revocation,
    whose epoch the intake rate limit read in its round trip, g.token_epoch)."""
    cache = current_app.extensions.get("civicrules.tokens")
    if cache is None:
        cache = current_app.extensions.setdefault("civicrules.tokens", TokenCache())
    return cache.resolve(db.session, raw, g.get("token_epoch"))


def unit_scope(user: User) -> set[int] | None:
    """The unit ids a user may see tasks of: a field unit's own unit and those under it; None = all."""
    if user.role != "field_unit":
        return None
    return unit_and_below(db.session, user.unit_id)


@dataclass(frozen=True)
class TaskScope:
    """The tasks a user may see: those of `units` (None: every task), and, beyond them, those assigned
    to `people` (a team member's own tasks; a leader's or unit account's people's tasks)."""

    units: frozenset[int] | None
    people: frozenset[int] = frozenset()

    def sees(self, task: Task) -> bool:
        return self.units is None or task.unit_id in self.units or task.assignee_id in self.people

    def condition(self) -> ColumnElement[bool] | None:
        """The SQL condition on Task for a list query; None when nothing is hidden."""
        if self.units is None:
            return None
        if not self.people:
            return Task.unit_id.in_(self.units)
        return or_(Task.unit_id.in_(self.units), Task.assignee_id.in_(self.people))


def task_scope(user: User | None) -> TaskScope:
    """A field unit sees its units' tasks and those assigned to its person; a leader's account (or a
    unit's shared one) also those assigned to people of its units, which it may re-assign."""
    units = unit_scope(user) if user is not None else None
    if units is None:
        return TaskScope(None)
    person = person_of(db.session, user)
    people = {person.id} if person is not None else set()
    if person is None or person.position in LEADERS:
        people |= set(db.session.scalars(select(Person.id).where(Person.unit_id.in_(units))))
    return TaskScope(frozenset(units), frozenset(people))


def token_user() -> User | None:
    token: ApiToken | None = g.get("token")
    return token.user if token is not None and token.kind == "user" else None
