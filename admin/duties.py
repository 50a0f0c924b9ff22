"""Admin: the duty lists (职责清单) read as routing, to see what they leave unsettled: a matter that two units
lead in the same grids (the case would wait for the dispatcher) and a catalogue matter that nobody leads.
Read-only; the fix is made in a unit's duty list, which each line links to (editors to the form, readers to
the unit's page)."""
from __future__ import annotations

from flask import url_for
from flask_admin import BaseView, expose

from admin.base import READERS, Guarded, may_edit
from engine.cases.routing import review
from web.common.extensions import db
from web.common.i18n import short_lang


def name_of(record: object) -> str:
    """A unit, grid or category by its name in the reader's language, never by its code."""
    zh = getattr(record, "name_zh", "")
    return zh if short_lang() == "zh" else getattr(record, "name_en", "") or zh


def unit_link(unit_id: int) -> str:
    return url_for("unit.edit_view" if may_edit() else "unit.details_view", id=unit_id)


class DutyReviewView(Guarded, BaseView):
    roles = READERS  # auditors and assessors read it; the unit forms it links to are for editors

    @expose("/")
    def index(self):
        return self.render("admin/duties/index.html", review=review(db.session), name_of=name_of,
                           unit_link=unit_link)
