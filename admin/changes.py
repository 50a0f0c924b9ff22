"""Admin: the change history for auditors — the one change log, filtered and keyset-paginated, each entry
field by field with who, when, the interface and the ruleset version the change went into. Read-only."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import request, url_for
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l

from admin.base import READERS, Guarded
from engine.audit import changelog
from engine.audit.changelog import ChangeFilter
from engine.core.models import DEFAULT_TIMEZONE
from web.common.extensions import db

ZONE = ZoneInfo(DEFAULT_TIMEZONE)  # changes of every campaign are listed together
#: Through which interface a change was made (ChangeLogEntry.interface), as readers call it.
INTERFACES = {"admin": _l("Administration pages"), "api": _l("API"), "cli": _l("Command line"),
              "web": _l("Web pages"), "system": _l("The system itself")}


def _day(name: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(request.args.get(name, "")), time.min, ZONE)
    except ValueError:
        return None


def _after() -> tuple[datetime, int] | None:
    moment, _, ident = request.args.get("after", "").rpartition("|")
    try:
        return datetime.fromisoformat(moment), int(ident)
    except ValueError:
        return None


class ChangeHistoryView(Guarded, BaseView):
    roles = READERS  # auditors and assessors read every admin page, read-only

    @expose("/")
    def index(self):
        until = _day("until")
        f = ChangeFilter(object_type=request.args.get("object_type") or None,
                         username=request.args.get("user") or None,
                         interface=request.args.get("interface") if request.args.get("interface") in INTERFACES else None,
                         since=_day("since"), until=until + timedelta(days=1) if until else None)
        rows, after = changelog.page(db.session, f, _after())
        args = {k: v for k, v in request.args.items() if k != "after" and v}
        next_url = url_for(".index", **args, after=f"{after[0].isoformat()}|{after[1]}") if after else None
        shown = {e.id: (changelog.shown_values(e.object_type, e.before), changelog.shown_values(e.object_type, e.after))
                 for e in rows}  # entries written before addresses were masked are masked here
        return self.render("admin/changes/index.html", rows=rows, shown=shown,
                           versions=changelog.went_into(db.session, rows),
                           args=args, object_types=changelog.object_types(), interfaces=INTERFACES, zone=ZONE,
                           next_url=next_url)
