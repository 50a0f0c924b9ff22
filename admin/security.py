"""Admin views for access: bearer tokens (revoke) and sign-in locks (unlock)."""
from __future__ import annotations

from flask import flash
from flask_admin import Admin
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.base import ReadableModelView
from engine.core.models import ApiToken, User
from engine.accounts import tokens
from engine.accounts.users import ROLES
from web.common.extensions import db
from web.common.i18n import short_lang
from engine.accounts.lockout import unlock


#: Every role the accounts know (collector and shift leader among them), named in the user's language.
ROLE_CHOICES = tuple((code, LazyString(lambda zh=zh, en=en: zh if short_lang() == "zh" else en))
                     for code, (zh, en) in ROLES.items())


class TokenView(ReadableModelView):
    """Tokens by prefix, source or owner; only digests are stored, so a token cannot be shown again.

    Readers (auditors, assessors) see this metadata; the digest is never listed, detailed or exported."""

    can_create = can_edit = can_delete = False
    action_disallowed_list = ["delete"]
    page_size = 50
    column_list = ("id", "kind", "prefix", "source", "source_type", "user", "created_at", "expires_at",
                   "revoked_at")
    column_filters = ("kind", "source")
    column_default_sort = ("id", True)
    column_labels = {"kind": _l("Kind"), "prefix": _l("Prefix"), "source": _l("Source"),
                     "source_type": _l("Source type"), "user": _l("User"), "created_at": _l("Created at"),
                     "expires_at": _l("Expires at"), "revoked_at": _l("Revoked at")}

    @action("revoke", _l("Revoke"), _l("Revoke the selected tokens? Requests with them will be refused."))
    def action_revoke(self, ids: list[str]) -> None:
        count = sum(tokens.revoke(db.session, t) for t in
                    (db.session.get(ApiToken, int(i)) for i in ids) if t is not None)
        db.session.commit()
        flash(_("%(count)s tokens revoked.", count=count), "success")


class SignInLockView(ReadableModelView):
    """Accounts with their counted failed sign-ins and lock; "Unlock" lifts a lock at once (editors only)."""

    can_create = can_edit = can_delete = False
    action_disallowed_list = ["delete"]
    page_size = 50
    column_list = ("username", "role", "unit", "active", "failed_logins", "locked_until")
    column_searchable_list = ("username",)
    column_filters = (FilterEqual(User.role, _l("Role"), options=ROLE_CHOICES),)
    column_formatters = {"role": lambda v, c, m, n: str(dict(ROLE_CHOICES).get(m.role, m.role))}
    column_default_sort = ("locked_until", True)
    column_labels = {"username": _l("Username"), "role": _l("Role"), "unit": _l("Unit"), "active": _l("Active"),
                     "failed_logins": _l("Failed sign-ins"), "locked_until": _l("Locked until")}

    @action("unlock", _l("Unlock"), _l("Unlock the selected accounts?"))
    def action_unlock(self, ids: list[str]) -> None:
        count = 0
        for user in (db.session.get(User, int(i)) for i in ids):
            count += user is not None and unlock(db.session, user.username)
        db.session.commit()
        flash(_("%(count)s accounts unlocked.", count=count), "success")


def add_security_views(admin: Admin) -> None:
    access = _l("Access")
    admin.add_view(TokenView(ApiToken, db, name=_l("Tokens"), category=access, endpoint="token"))
    admin.add_view(SignInLockView(User, db, name=_l("Sign-in locks"), category=access, endpoint="sign_in_lock"))
