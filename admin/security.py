"""Admin views for access: accounts (create, role and unit, deactivate, reactivate, reset password), bearer
tokens (revoke) and sign-in waits (unlock), the security administrator's alone (三员分立); and the security
audit log, the audit administrator's alone. Every account change goes through engine.accounts.users, so the
admin refuses what the command line refuses, the change log records it, and the security audit log names who
did it from where."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import flash
from flask_admin import Admin
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, SelectField, StringField
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l

from admin.base import ACCOUNT_MANAGERS, SECURITY_AUDITORS, ReadOnlyView, ReadableModelView, named_choices, shown_label
from engine.authoring.campaigns import campaign_for, campaign_zone
from admin.people import place_problems
from engine.audit.security_log import KINDS, record
from engine.core.cells import local
from engine.core.models import ApiToken, SecurityAuditEntry, Unit, User
from engine.accounts import tokens
from engine.accounts.users import ROLES, create_user, deactivate, reactivate, reset_password, set_role
from rules.problems import InputError
from web.common.display import in_reader_language
from web.common.extensions import db
from web.auth import request_actor
from web.common.i18n import short_lang
from engine.accounts.lockout import unlock


#: Every role the accounts know (collector and shift leader among them), named in the user's language.
ROLE_CHOICES = tuple((code, LazyString(lambda zh=zh, en=en: zh if short_lang() == "zh" else en))
                     for code, (zh, en) in ROLES.items())


def _units() -> list[tuple[str, str]]:
    return [("", "—")] + [(u.code, shown_label(u)) for u in db.session.scalars(select(Unit).order_by(Unit.code))]


def _local(instant: datetime | None) -> str:
    """An instant in the campaign's local time, as every page shows it (stored in UTC)."""
    return instant.astimezone(campaign_zone(campaign_for(db.session, None))).strftime("%Y-%m-%d %H:%M") \
        if instant else ""


def _local_column(name: str):
    return lambda v, c, m, n: _local(getattr(m, name))


def _rows(model: type, ids: list[str]) -> list:
    """The rows an action names; an id that is no number (a crafted request) names none."""
    return [row for row in (db.session.get(model, int(i)) for i in ids if str(i).isdecimal()) if row is not None]


def _role_name(code: str) -> str:
    return str(dict(ROLE_CHOICES).get(code, code))


def _audit(what: str, user: User) -> None:
    """An account change in the security audit log, by the signed-in security administrator."""
    record(db.session, request_actor(), "account", what, subject=f"user {user.username}")


class AccessView(ReadableModelView):
    """Accounts, tokens and sign-in waits: the security administrator's alone, who also changes them."""

    roles = editors = ACCOUNT_MANAGERS


class AccountForm(FlaskForm):
    """Role and unit of an existing account (the engine checks that a field unit has a unit)."""

    role = SelectField(_l("Role"), choices=lambda: [(c, str(n)) for c, n in ROLE_CHOICES], validate_choice=False)
    unit_code = SelectField(_l("Unit"), choices=_units, validate_choice=False)


class NewAccountForm(AccountForm):
    """A new account with its first password (usable at once: only a reset forces a change)."""

    username = StringField(_l("Username"))
    password = PasswordField(_l("Password"), description=_l(
        "At least 8 characters, not a common or leaked password, and without the username."))


class AccountView(AccessView):
    """Accounts: editors create them, change role and unit, deactivate, reactivate and reset passwords (each in
    the change log); a reset shows the temporary password once, and the user must change it at sign-in."""

    can_delete = False  # an account with history is deactivated, never deleted
    can_view_details = True
    action_disallowed_list = ["delete"]
    page_size = 50
    form = AccountForm
    column_list = ("username", "role", "unit", "active", "must_change_password", "created_at")
    column_details_list = ("username", "role", "unit", "active", "must_change_password", "created_at",
                           "failed_logins", "locked_until")
    column_searchable_list = ("username",)
    column_filters = (FilterEqual(User.role, _l("Role"), options=ROLE_CHOICES), "active")
    column_formatters = {"role": lambda v, c, m, n: _role_name(m.role), "created_at": _local_column("created_at"),
                         "locked_until": _local_column("locked_until")}
    column_default_sort = ("username", False)
    column_labels = {"username": _l("Username"), "role": _l("Role"), "unit": _l("Unit"), "unit_code": _l("Unit"),
                     "active": _l("Active"), "must_change_password": _l("Must change password"),
                     "created_at": _l("Created at"), "failed_logins": _l("Failed sign-ins"),
                     "locked_until": _l("Sign-in waits until"), "password": _l("Password")}

    def get_create_form(self):
        return NewAccountForm

    def get_edit_form(self):
        return AccountForm

    def on_form_prefill(self, form: AccountForm, id) -> None:
        user = db.session.get(User, id)
        if user is not None:
            form.role.data = user.role
            form.unit_code.data = user.unit.code if user.unit else ""

    def create_model(self, form: NewAccountForm) -> User | bool:
        try:
            user = create_user(db.session, (form.username.data or "").strip(), form.role.data,
                               form.password.data or "", form.unit_code.data or None)
        except InputError as err:
            db.session.rollback()
            place_problems(form, err.problems, {"unit": "unit_code"})
            return False
        _audit(f"新建账号 {user.username}，角色 {user.role} / created {user.username} as {user.role}", user)
        db.session.commit()
        return user

    def update_model(self, form: AccountForm, model: User) -> bool:
        if model.id == current_user.id and form.role.data != model.role:
            form.role.errors.append(_("You cannot change your own role."))
            return False
        before = model.role
        try:
            set_role(db.session, model, form.role.data, form.unit_code.data or None)
        except InputError as err:
            db.session.rollback()
            place_problems(form, err.problems, {"unit": "unit_code"})
            return False
        _audit(f"角色 {before} → {model.role}，单位 {model.unit.code if model.unit else '-'} / role {before} -> "
                   f"{model.role}, unit {model.unit.code if model.unit else '-'}", model)
        db.session.commit()
        return True

    def _selected(self, ids: list[str]) -> list[User]:
        return _rows(User, ids)

    @action("deactivate", _l("Deactivate"), _l("Deactivate the selected accounts? Their sessions end and their "
                                               "tokens are revoked at once."))
    def action_deactivate(self, ids: list[str]) -> None:
        count = 0
        for user in self._selected(ids):
            if user.id == current_user.id:
                flash(_("You cannot deactivate your own account."), "danger")
                continue
            try:
                if deactivate(db.session, user):
                    count += 1
                    _audit("停用 / deactivated", user)
            except InputError as err:
                flash(err.problems[0].message(short_lang()), "danger")
        db.session.commit()
        flash(ngettext("%(num)s account deactivated.", "%(num)s accounts deactivated.", count), "success")

    @action("reactivate", _l("Reactivate"), _l("Reactivate the selected accounts?"))
    def action_reactivate(self, ids: list[str]) -> None:
        count = 0
        for user in self._selected(ids):
            if reactivate(db.session, user):
                count += 1
                _audit("重新启用 / reactivated", user)
        db.session.commit()
        flash(ngettext("%(num)s account reactivated.", "%(num)s accounts reactivated.", count), "success")

    @action("reset_password", _l("Reset password"), _l("Reset the passwords of the selected accounts? Each gets "
                                                      "a temporary password that must be changed at sign-in."))
    def action_reset_password(self, ids: list[str]) -> None:
        shown = []
        for user in self._selected(ids):
            shown.append((user.username, reset_password(db.session, user)))
            _audit("重置密码 / password reset", user)
        db.session.commit()
        for username, password in shown:
            flash(_("Temporary password of %(username)s (shown once): %(password)s", username=username,
                    password=password), "warning")


class TokenView(AccessView):
    """Tokens by prefix, source or owner; only digests are stored, so a token cannot be shown again.

    Readers (auditors, assessors) see this metadata; the digest is never listed, detailed or exported."""

    can_create = can_edit = can_delete = False
    action_disallowed_list = ["delete"]
    page_size = 50
    column_list = ("id", "kind", "prefix", "source", "source_type", "user", "created_at", "expires_at",
                   "revoked_at")
    column_filters = ("kind", "source")
    column_default_sort = ("id", True)
    column_choices = {"kind": [("intake", _l("Intake token (a source's)")), ("user", _l("User token"))],
                      "source_type": named_choices("source_type")}
    column_formatters = {name: _local_column(name) for name in ("created_at", "expires_at", "revoked_at")}
    column_labels = {"kind": _l("Kind"), "prefix": _l("Prefix"), "source": _l("Source"),
                     "source_type": _l("Source type"), "user": _l("User"), "created_at": _l("Created at"),
                     "expires_at": _l("Expires at"), "revoked_at": _l("Revoked at")}

    @action("revoke", _l("Revoke"), _l("Revoke the selected tokens? Requests with them will be refused."))
    def action_revoke(self, ids: list[str]) -> None:
        count = 0
        for token in _rows(ApiToken, ids):
            if tokens.revoke(db.session, token):
                count += 1
                record(db.session, request_actor(), "account", f"吊销令牌 {token.prefix} / token {token.prefix} revoked",
                       subject=f"user {token.user.username}" if token.user else f"source {token.source}")
        db.session.commit()
        flash(ngettext("%(num)s token revoked.", "%(num)s tokens revoked.", count), "success")


class SignInLockView(AccessView):
    """Accounts with their counted failed sign-ins and sign-in wait; "Unlock" ends a wait at once (editors only)."""

    can_create = can_edit = can_delete = False
    action_disallowed_list = ["delete"]
    page_size = 50
    column_list = ("username", "role", "unit", "active", "failed_logins", "locked_until")
    column_searchable_list = ("username",)
    column_filters = (FilterEqual(User.role, _l("Role"), options=ROLE_CHOICES),)
    column_formatters = {"role": lambda v, c, m, n: str(dict(ROLE_CHOICES).get(m.role, m.role)),
                         "locked_until": _local_column("locked_until")}
    column_default_sort = ("locked_until", True)
    column_labels = {"username": _l("Username"), "role": _l("Role"), "unit": _l("Unit"), "active": _l("Active"),
                     "failed_logins": _l("Failed sign-ins"), "locked_until": _l("Sign-in waits until")}

    @action("unlock", _l("Unlock"), _l("Unlock the selected accounts?"))
    def action_unlock(self, ids: list[str]) -> None:
        count = 0
        for user in _rows(User, ids):
            if unlock(db.session, user.username):
                count += 1
                _audit("解除登录等待 / sign-in wait lifted", user)
        db.session.commit()
        flash(ngettext("%(num)s account unlocked.", "%(num)s accounts unlocked.", count), "success")


def _kind_name(code: str) -> str:
    zh, en = KINDS.get(code, (code, code))
    return zh if short_lang() == "zh" else en


class LocalDayFilter(BaseSQLAFilter):
    """Entries from (or up to and including) a day, YYYY-MM-DD, in the campaign's local time."""

    def __init__(self, column, name, after: bool) -> None:
        super().__init__(column, name, data_type="datepicker")
        self.after = after

    def validate(self, value: str) -> bool:
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            return False
        return True

    def apply(self, query, value, alias=None):
        zone = campaign_zone(campaign_for(db.session, None))
        start = datetime.combine(date.fromisoformat(value), time(), zone)
        if self.after:
            return query.filter(SecurityAuditEntry.at >= start)
        return query.filter(SecurityAuditEntry.at < start + timedelta(days=1))

    def operation(self):
        return _l("from (local day)") if self.after else _l("until (local day)")


KIND_CHOICES = tuple((code, LazyString(lambda code=code: _kind_name(code))) for code in KINDS)


class SecurityAuditView(ReadOnlyView):
    """The security audit log for the audit administrator alone: newest first, filtered by kind, user, address
    and time, in the campaign's local time; exportable as CSV (the export itself is not an account's data)."""

    roles = SECURITY_AUDITORS
    editors: tuple[str, ...] = ()  # an audit record is never changed, not even by its reader
    can_view_details = False
    can_export = True
    export_types = ["csv"]
    export_record = "导出安全审计日志 / security audit log csv"  # an export of the log is itself in the log
    page_size = 50
    column_list = ("at", "kind", "username", "address", "what", "subject")
    column_export_list = column_list
    column_searchable_list = ("username", "address", "subject")
    column_filters = (FilterEqual(SecurityAuditEntry.kind, _l("Kind"), options=KIND_CHOICES),
                      FilterEqual(SecurityAuditEntry.username, _l("User")),
                      FilterEqual(SecurityAuditEntry.address, _l("Address")),
                      LocalDayFilter(SecurityAuditEntry.at, _l("At"), after=True),
                      LocalDayFilter(SecurityAuditEntry.at, _l("At"), after=False))
    column_default_sort = ("at", True)
    column_formatters = {"at": _local_column("at"), "kind": lambda v, c, m, n: _kind_name(m.kind),
                         "what": lambda v, c, m, n: in_reader_language(m.what)}
    column_formatters_export = {"at": lambda v, c, m, n: local(m.at, campaign_zone(campaign_for(db.session, None))),
                                "kind": column_formatters["kind"], "what": column_formatters["what"]}
    column_labels = {"at": _l("At"), "kind": _l("Kind"), "username": _l("User"), "address": _l("Address"),
                     "what": _l("What"), "subject": _l("Concerning")}


def add_security_views(admin: Admin) -> None:
    access = _l("Access")
    admin.add_view(AccountView(User, db, name=_l("Accounts"), category=access, endpoint="account"))
    admin.add_view(TokenView(ApiToken, db, name=_l("Tokens"), category=access, endpoint="token"))
    admin.add_view(SignInLockView(User, db, name=_l("Sign-in locks"), category=access, endpoint="sign_in_lock"))
    admin.add_view(SecurityAuditView(SecurityAuditEntry, db, name=_l("Security audit log"), category=access,
                                     endpoint="security_audit"))
