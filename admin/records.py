"""Read-only records (events, tasks, firings, versions), grids, and the working calendar's holidays and years."""
from __future__ import annotations

from flask_admin import AdminIndexView, expose
from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from admin.base import Guarded, MasterDataView, ReadOnlyView
from engine.core import clock
from engine.core.states import EventStatus
from engine.core.worktime import missing_years_ahead
from web.common.extensions import db


class IndexView(Guarded, AdminIndexView):
    @expose("/")
    def index(self):
        return self.render("admin/civicrules_index.html", missing_years=missing_years_ahead(db.session))


class GridView(MasterDataView):
    column_list = ("code", "name_zh", "name_en", "unit")
    form_excluded_columns = ("boundary",)
    column_labels = {"code": _l("Code"), "name_zh": _l("Name (Chinese)"), "name_en": _l("Name (English)"),
                     "unit": _l("Responsible unit")}


class HolidayView(MasterDataView):
    """Statutory holidays and make-up working days: seeded from chinese-calendar, edited for later years."""

    can_delete = True
    column_display_pk = True
    column_list = ("day", "kind", "name", "source")
    column_default_sort = ("day", True)
    column_filters = ("kind", "source")
    form_columns = ("day", "kind", "name")
    form_overrides = {"kind": SelectField}
    form_args = {"kind": {"choices": [("holiday", _l("Holiday (day off)")), ("workday", _l("Make-up working day"))]}}
    column_formatters = {"kind": lambda view, context, model, name: dict(HolidayView.form_args["kind"]["choices"]).get(
        model.kind, model.kind)}
    column_labels = {"day": _l("Date"), "kind": _l("Kind"), "name": _l("Name"), "source": _l("Source")}

    def on_model_change(self, form, model, is_created):
        model.source = "admin"


class CalendarYearView(MasterDataView):
    """A year is marked complete once its whole schedule is entered; until then it counts Monday–Friday."""

    can_delete = True
    column_display_pk = True
    column_list = ("year", "source", "recorded_at")
    form_columns = ("year",)
    column_labels = {"year": _l("Year"), "source": _l("Source"), "recorded_at": _l("Recorded at")}

    def on_model_change(self, form, model, is_created):
        model.source, model.recorded_at = "admin", clock.now()


class EventView(ReadOnlyView):
    column_list = ("id", "source", "source_event_id", "category", "grid", "occurred_at", "status", "attempts")
    column_choices = {"status": [(EventStatus.PENDING, _l("Pending")), (EventStatus.EVALUATED, _l("Evaluated")),
                                 (EventStatus.FAILED, _l("Evaluation failed"))]}
    column_filters = ("status", "source")
    column_default_sort = ("id", True)
    column_labels = {"source": _l("Source"), "source_event_id": _l("Source id"), "category": _l("Category"),
                     "grid": _l("Grid"), "occurred_at": _l("Occurred at"), "status": _l("Status"),
                     "attempts": _l("Attempts")}


class TaskView(ReadOnlyView):
    column_list = ("id", "event_id", "unit", "rule_key", "list_kind", "status", "deadline_at")
    column_filters = ("status", "list_kind")
    column_default_sort = ("id", True)
    column_labels = {"event_id": _l("Event"), "unit": _l("Unit"), "rule_key": _l("Rule"), "list_kind": _l("List"),
                     "status": _l("Status"), "deadline_at": _l("Deadline")}


class FiringView(ReadOnlyView):
    column_list = ("id", "event_id", "rule_key", "rule_version", "ruleset_version_id", "list_kind", "task_id",
                   "fired_at")
    column_filters = ("rule_key", "list_kind")
    column_default_sort = ("id", True)
    column_labels = {"event_id": _l("Event"), "rule_key": _l("Rule"), "rule_version": _l("Rule version"),
                     "ruleset_version_id": _l("Ruleset version"), "list_kind": _l("List"), "task_id": _l("Task"),
                     "fired_at": _l("Fired at")}


class VersionView(ReadOnlyView):
    column_list = ("id", "campaign_id", "number", "content_hash", "comment", "published_at")
    column_labels = {"campaign_id": _l("Campaign"), "number": _l("Number"), "content_hash": _l("Content hash"),
                     "comment": _l("Comment"), "published_at": _l("Published at")}
