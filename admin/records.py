"""Read-only records (events, tasks, firings, versions), grids with their 责任人 and 监督员, the admin home's
warnings, and the working calendar's holidays and years."""
from __future__ import annotations

from flask import redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from admin.base import (ACCOUNT_MANAGERS, READERS, SECURITY_AUDITORS, Guarded, MasterDataView, ReadOnlyView, may_edit,
                        named_choices, require_editor, shown_label)
from admin.history import rule_title
from admin.people import RecordPicker, import_upload, person_cell, person_picker, place_problems, without_area_url
from admin.roster import tonight_gaps
from engine.core import clock
from engine.core.models import Campaign, Category, Event, Firing, Grid, Task, Unit
from engine.core.states import EventStatus
from engine.evaluation.decide import ROUTINE
from engine.core.holiday_notice import TEMPLATE as NOTICE_TEMPLATE
from engine.core.holiday_notice import WARN_DAYS as NOTICE_WARN_DAYS
from engine.core.holiday_notice import first_uncounted_day, import_notice
from engine.core.tables import read_table
from engine.core.worktime import describe_limit, holiday_name, missing_years_ahead
from engine.intake.reporter import shown_reporter
from engine.people.responsibility import check_grid, grids_missing_people, staff_without_area
from engine.space.grids import grid_code_problems
from rules.wording import describe_condition
from web.common.display import duration, name_of, source_name
from web.common.explain import decision_lines, fact_lines, namer
from web.common.extensions import db
from web.common.i18n import short_lang

#: The grid list's filter argument for "missing a person" (stable across languages, unlike a named filter).
MISSING_PEOPLE_ARG = "missing_people"


def missing_people_url() -> str:
    """The grid list narrowed to grids without a responsible person or a collector."""
    return url_for("grid.index_view", **{f"flt0_{MISSING_PEOPLE_ARG}": "1"})


class IndexView(Guarded, AdminIndexView):
    """The admin home: what needs an administrator now (calendar years without data, grids nobody answers
    for, field staff without an area, uncovered hours in tonight's roster). The security and audit
    administrators go straight to their own pages: master data is not theirs to read."""

    roles = READERS + ACCOUNT_MANAGERS + SECURITY_AUDITORS

    @expose("/")
    def index(self):
        if current_user.role in ACCOUNT_MANAGERS:
            return redirect(url_for("account.index_view"))
        if current_user.role in SECURITY_AUDITORS:
            return redirect(url_for("security_audit.index_view"))
        return self.render("admin/civicrules_index.html", missing_years=missing_years_ahead(db.session),
                           first_uncounted=first_uncounted_day(db.session, clock.now().date(), NOTICE_WARN_DAYS),
                           missing_people=grids_missing_people(db.session), missing_people_url=missing_people_url(),
                           without_area=_named(staff_without_area(db.session)), without_area_url=without_area_url(),
                           roster_gaps=tonight_gaps(db.session, clock.now()), label=shown_label)


def _named(people: list) -> list[tuple[str, str]]:
    """Each person's name and unit name in the reader's language, as the home's warning lists them."""
    zh = short_lang() == "zh"
    return [(p.name, p.unit.name_zh if zh else p.unit.name_en or p.unit.name_zh) for p in people]


class MissingPeopleFilter(BaseSQLAFilter):
    """Grids without a responsible person or a collector, as engine.people.responsibility names them."""

    def apply(self, query, value, alias=None):
        return query.filter(Grid.id.in_([g.id for g in grids_missing_people(db.session)]))

    def operation(self):
        return _l("is missing")


GRID_CODE_LABEL = _l("15-digit grid code (网格编码)")


def _blank_is_none(value: str | None) -> str | None:
    """An empty code is none (the column is unique: two grids without a code must not clash)."""
    return (value or "").strip() or None


class GridView(MasterDataView):
    """Each grid's unit, its responsible person (责任人, from that unit) and its collector (监督员); a grid
    missing either is badged in the list and found by the "People: is missing" filter."""

    column_list = ("code", "grid_code", "name_zh", "name_en", "unit", "responsible", "collector")
    column_searchable_list = ("code", "grid_code", "name_zh", "name_en")
    column_filters = (MissingPeopleFilter(Grid.id, _l("Responsible person or collector"),
                                          options=(("1", _l("Yes")),)),)
    form_columns = ("code", "grid_code", "name_zh", "name_en", "unit", "responsible", "collector")
    form_args = {"grid_code": {"label": GRID_CODE_LABEL, "filters": [_blank_is_none],
                               "description": _l("6 digits of the administrative division, 3 of the street, 3 of the "
                                                 "community and 3 of the grid.")},
                 "responsible": person_picker(_l("Responsible person (责任人)")),
                 "collector": person_picker(_l("Collector (监督员)"), "collector")}
    form_overrides = {"responsible": RecordPicker, "collector": RecordPicker}
    column_formatters = {"responsible": person_cell(_l("No responsible person")),
                         "collector": person_cell(_l("No collector"))}
    column_labels = {"code": _l("Code"), "grid_code": GRID_CODE_LABEL, "name_zh": _l("Name (Chinese)"),
                     "name_en": _l("Name (English)"), "unit": _l("Responsible unit"),
                     "responsible": _l("Responsible person (责任人)"), "collector": _l("Collector (监督员)")}

    def get_filter_arg(self, index: int, flt) -> str:
        return MISSING_PEOPLE_ARG if isinstance(flt, MissingPeopleFilter) else super().get_filter_arg(index, flt)

    def validate_form(self, form) -> bool:
        """Refuse a malformed or taken 15-digit code, a 责任人 of another unit or a 监督员 who is not a collector,
        next to the field, before anything is written."""
        valid = super().validate_form(form)
        if valid and "grid_code" in form:
            edited = request.args.get("id", type=int)
            problems = grid_code_problems(db.session, form.grid_code.data, edited)
            place_problems(form, problems)
            valid = not problems
        if not valid or "responsible" not in form or form.unit.data is None:
            return valid
        problems = check_grid(db.session, Grid(unit_id=form.unit.data.id), form.responsible.data,
                              form.collector.data)
        place_problems(form, problems)
        return not problems


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
        model.kind, model.kind), "name": lambda view, context, model, name: holiday_name(model.name, short_lang())}
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


class HolidayNoticeForm(FlaskForm):
    year = IntegerField(_l("Year of the notice"), validators=[InputRequired(), NumberRange(2000, 2100)])
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])


class HolidayNoticeView(Guarded, BaseView):
    """The State Council's holiday notice for a year, uploaded as a table: it replaces that year's holidays and
    make-up days at once and marks the year known (engine/core/holiday_notice.py). Readers see the page only."""

    roles = READERS

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = HolidayNoticeForm()
        report = None
        if request.method == "POST":
            require_editor()
            if form.validate_on_submit():
                report = import_upload(form, "holidays", lambda path, _name: import_notice(
                    db.session, form.year.data, read_table(path)))
        return self.render("admin/holiday_notice.html", form=form, report=report, example=NOTICE_TEMPLATE,
                           first_day=first_uncounted_day(db.session, clock.now().date(), NOTICE_WARN_DAYS))


def _reporter_name(view, context, model: Event, name: str) -> str:
    reporter = shown_reporter(model, getattr(current_user, "role", None))
    if reporter is None:
        return str(_l("Anonymous")) if model.anonymous else ""
    return reporter.name or ""


def _reporter_phone(view, context, model: Event, name: str) -> str:
    """The caller's number, always masked here: the whole number is read on the case page ("show number")."""
    reporter = shown_reporter(model, getattr(current_user, "role", None))
    return (reporter.phone or "") if reporter is not None else ""


def _event_id(view, context, model: Event, name: str) -> Markup:
    """The id, with "Save as scenario" for those who may edit: the event's outcome becomes the expectation."""
    if not may_edit():
        return Markup(str(model.id))
    return Markup('{} <a class="save-as-scenario small" href="{}">{}</a>').format(
        model.id, url_for("scenarios.from_event", event_id=model.id), _l("Save as scenario"))


def _record_by_id(model: type):
    """A detail formatter naming the record a bare id column points at (a firing's unit, category and grid)."""
    def shown(view, context, record, name: str) -> str:
        found = db.session.get(model, getattr(record, name)) if getattr(record, name) is not None else None
        return shown_label(found) if found is not None else ""
    return shown


def _lines(lines: list[str]) -> Markup:
    """Readable lines as a list on the detail page, one condition, decision or fact each."""
    return Markup("<ul class=\"mb-0\">{}</ul>").format(Markup("").join(Markup("<li>{}</li>").format(x) for x in lines))


class EventView(ReadOnlyView):
    """Events as they came in, with the reporter (来电人) named and their phone masked; an anonymous report
    shows no reporter."""

    column_list = ("id", "source", "source_event_id", "source_type", "category", "grid", "occurred_at",
                   "reporter_name", "reporter_phone", "status", "attempts")
    column_choices = {"status": [(EventStatus.PENDING, _l("Pending")), (EventStatus.EVALUATED, _l("Evaluated")),
                                 (EventStatus.FAILED, _l("Evaluation failed"))],
                      "source_type": named_choices("source_type")}
    column_filters = ("status", "source")
    column_default_sort = ("id", True)
    column_formatters = {"id": _event_id, "reporter_name": _reporter_name, "reporter_phone": _reporter_phone,
                         "source": lambda v, c, m, n: source_name(m.source, m.source_type)}
    column_labels = {"source": _l("Source"), "source_event_id": _l("Source id"), "category": _l("Category"),
                     "grid": _l("Grid"), "occurred_at": _l("Occurred at"), "status": _l("Status"),
                     "attempts": _l("Attempts"), "source_type": _l("Source type"),
                     "reporter_name": _l("Reporter"), "reporter_phone": _l("Reporter's phone"),
                     "anonymous": _l("Anonymous"), "confidence": _l("Confidence")}
    #: What the report said and what became of it; the worker's lease (token, expiry) is plumbing, left out.
    column_details_list = ("id", "source", "source_event_id", "source_type", "category", "grid", "filing_condition",
                           "occurred_at", "received_at", "description", "address", "lat", "lon", "media_url",
                           "reporter_name", "reporter_phone", "anonymous", "confidence", "inspection_tier", "case",
                           "status", "attempts", "last_error", "evaluated_at", "points", "facts")
    column_formatters_detail = {**column_formatters,
                                "facts": lambda v, c, m, n: _lines(fact_lines(m.facts, short_lang()))}


def _rule_title(view, context, model: Task, name: str) -> str:
    """The rule by its title in the reader's language, its key after it for the rule editor's sake; a routine
    task follows no rule but the duty lists, and says so."""
    if model.rule_key == ROUTINE:
        return name_of("list_kind", ROUTINE)
    firing = next((f for f in model.firings if f.task_id == model.id), None)
    doc = firing.ruleset_version.rules.get(model.rule_key) or {} if firing is not None else {}
    title = (doc.get("title") or {}).get(short_lang())
    return f"{title} ({model.rule_key})" if title else model.rule_key


class TaskView(ReadOnlyView):
    column_list = ("id", "event_id", "unit", "rule_key", "list_kind", "status", "deadline_at")
    column_choices = {"status": named_choices("status"), "list_kind": named_choices("list_kind")}
    column_formatters = {"rule_key": _rule_title}
    column_filters = ("status", "list_kind")
    column_default_sort = ("id", True)
    column_labels = {"event_id": _l("Event"), "unit": _l("Unit"), "rule_key": _l("Rule"), "list_kind": _l("List"),
                     "status": _l("Status"), "deadline_at": _l("Deadline"), "limit_value": _l("Limit")}
    #: The task as its handlers know it; the row version and the pause bookkeeping stay out.
    column_details_list = ("id", "event", "case", "unit", "assignee", "template", "frontage_holder", "rule_key",
                           "list_kind", "status", "limit_value", "deadline_at", "points", "created_at",
                           "rework_count", "extension_count", "paused_seconds", "reopening")
    column_formatters_detail = {
        "rule_key": _rule_title,
        "limit_value": lambda v, c, m, n: describe_limit(m.limit_value, m.limit_unit, short_lang())
        if m.limit_value is not None and m.limit_unit else "",
        "paused_seconds": lambda v, c, m, n: duration(m.paused_seconds)}


def _firing_rule(view, context, model: Firing, name: str) -> str:
    """The rule by the title frozen in its version, its key after it, as the task list shows a task's rule."""
    title = rule_title(model, short_lang())
    return f"{title} ({model.rule_key})" if title else model.rule_key


def _matched(view, context, model: Firing, name: str) -> Markup:
    """Each condition that matched in words, with the value that met it, as on the firing's explanation card."""
    name_of = namer()
    return _lines([describe_condition(leaf, short_lang(), name_of) for leaf in model.matched or []])


def _decisions(view, context, model: Firing, name: str) -> Markup:
    return _lines(decision_lines(model, short_lang()))


class FiringView(ReadOnlyView):
    column_list = ("id", "event_id", "rule_key", "rule_version", "ruleset_version_id", "phase", "list_kind",
                   "task_id", "fired_at")
    column_filters = ("rule_key", "phase", "list_kind")
    column_choices = {"list_kind": named_choices("list_kind"), "phase": named_choices("phase")}
    column_default_sort = ("id", True)
    column_labels = {"event_id": _l("Event"), "rule_key": _l("Rule"), "rule_version": _l("Rule version"),
                     "ruleset_version_id": _l("Ruleset version"), "phase": _l("Evaluation"), "list_kind": _l("List"),
                     "task_id": _l("Task"), "fired_at": _l("Fired at"), "unit_id": _l("Unit"),
                     "category_id": _l("Category"), "grid_id": _l("Grid")}
    column_details_list = ("id", "event", "ruleset_version", "rule_key", "rule_version", "phase", "list_kind",
                           "list_item", "points", "task_id", "unit_id", "category_id", "grid_id", "fired_at",
                           "matched", "decisions", "mac")
    column_formatters = {"rule_key": _firing_rule}
    column_formatters_detail = {"unit_id": _record_by_id(Unit), "category_id": _record_by_id(Category),
                                "grid_id": _record_by_id(Grid), "rule_key": _firing_rule, "matched": _matched,
                                "decisions": _decisions}


class VersionView(ReadOnlyView):
    column_list = ("id", "campaign_id", "number", "content_hash", "comment", "published_at")
    column_labels = {"campaign_id": _l("Campaign"), "number": _l("Number"), "content_hash": _l("Content hash"),
                     "comment": _l("Comment"), "published_at": _l("Published at")}
    #: The frozen rules and their compiled form are read on the ruleset versions page, not as raw JSON here.
    column_details_list = ("id", "campaign_id", "number", "content_hash", "comment", "published_at")
    column_formatters_detail = {"campaign_id": _record_by_id(Campaign)}
