"""Flask-Admin: master data and configuration edited by administrators, read by auditors and assessors.

The rule-authoring screens (lists as decision tables, the guided editor, versions) build on
these views; every view checks the role of the logged-in user, and every change needs may_edit().
"""
from __future__ import annotations

import re
from pathlib import Path

from flask import Flask, abort, current_app, flash, has_request_context, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.typefmt import DEFAULT_FORMATTERS
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.model.form import converts
from flask_admin.model.typefmt import DETAIL_FORMATTERS
from flask_admin.theme import Bootstrap4Theme
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from engine.core.models import (Base, CalendarYear, Category, Delivery, DutyItem, Event, Firing, Grid, Holiday, Recipient, RulesetVersion, SupervisionTier, Task, Unit)
from wtforms import FloatField, SelectField
from wtforms.widgets import NumberInput


#: Who may change configuration, and who may read every admin page (issue #3: auditors and assessors
#: see everything read-only; field units have no access).
EDITORS: tuple[str, ...] = ("admin",)
READERS: tuple[str, ...] = ("admin", "auditor", "assessor")


def may_edit() -> bool:
    """Whether the signed-in user may change what the admin shows (templates hide controls otherwise)."""
    return current_user.is_authenticated and current_user.role in EDITORS


def require_editor() -> None:
    """Refuse a state-changing request from a read-only role; views call it first thing on POST."""
    if not may_edit():
        abort(403)


class _Guarded:
    """Who reaches a view at all: READERS unless a view narrows `roles`; anonymous users go to sign in."""

    roles: tuple[str, ...] = READERS

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and current_user.role in self.roles

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("pages.login", next=request.full_path))
        abort(403)


class IndexView(_Guarded, AdminIndexView):
    @expose("/")
    def index(self):
        from engine.core.worktime import missing_years_ahead
        from web.common.extensions import db

        return self.render("admin/civicrules_index.html", missing_years=missing_years_ahead(db.session))


#: The views of a model view that change data (or serve only its edit form): editors only.
EDITING_VIEWS = frozenset({"create_view", "edit_view", "delete_view", "action_view", "ajax_update", "ajax_lookup"})


class EditorPermission:
    """A view's can_create / can_edit / can_delete as declared for editors, read as False for a reader.

    Computed per request from current_user, so shared view instances are never mutated across threads.
    """

    def __init__(self, granted: bool) -> None:
        self.granted = granted

    def __get__(self, view: object, owner: type | None = None) -> bool:
        if view is None or not has_request_context():
            return self.granted
        return self.granted and may_edit()


def shown_label(record: object) -> str:
    """A record as pickers and columns name it, in the user's language: the engine's __str__ is Chinese only."""
    from web.common.i18n import short_lang

    zh = short_lang() == "zh"
    if isinstance(record, DutyItem):
        return record.text_zh if zh else record.text_en or record.text_zh
    name_zh = getattr(record, "name_zh", None)
    if name_zh is None:
        return str(record)
    name = name_zh if zh else getattr(record, "name_en", None) or name_zh
    if isinstance(record, SupervisionTier):
        return _("Tier %(level)s: %(name)s", level=record.level, name=name)
    return f"{record.code} {name}" if isinstance(record, (Category, Grid, Unit)) else name


def _record_label(view, value: object, name: str) -> str:
    return shown_label(value)


def _record_labels(view, values, name: str) -> str:
    return ", ".join(shown_label(v) for v in values)


class _Converter(AdminModelConverter):
    """Relation pickers offer "—" for none (WTForms 3.3 shows an empty label as the raw value "__None") and name
    records in the user's language (shown_label). Float columns get a number box: SQLAlchemy 2.1's Float (and
    Double, REAL) no longer derives from Numeric, so Flask-Admin's "Numeric" converter missed it and silently
    left the column out of the form."""

    def _model_select_field(self, prop, multiple, remote_model, **kwargs):
        kwargs.setdefault("blank_text", "—")
        kwargs.setdefault("get_label", shown_label)
        return super()._model_select_field(prop, multiple, remote_model, **kwargs)

    @converts("Float")  # matched through the type's MRO: Double, REAL and DOUBLE_PRECISION too
    def convert_float(self, column, field_args, **extra) -> FloatField:
        field_args.setdefault("widget", NumberInput(step="any"))
        return FloatField(**field_args)


class ReadableModelView(_Guarded, ModelView):
    """Every reader (READERS) lists and opens records; only editors create, edit, delete or run actions.

    A subclass declares its permissions as plain booleans (can_delete = True); they become EditorPermission.
    """

    form_base_class = FlaskForm  # renders and checks the same CSRF token as CSRFProtect
    model_form_converter = _Converter
    column_type_formatters = {**DEFAULT_FORMATTERS, list: _record_labels, Base: _record_label}
    column_type_formatters_detail = {**DETAIL_FORMATTERS, list: _record_labels, Base: _record_label}
    can_create = EditorPermission(True)
    can_edit = EditorPermission(True)
    can_delete = EditorPermission(True)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("can_create", "can_edit", "can_delete"):
            declared = cls.__dict__.get(name)
            if isinstance(declared, bool):
                setattr(cls, name, EditorPermission(declared))

    def _handle_view(self, name: str, **kwargs):
        refused = super()._handle_view(name, **kwargs)
        if refused is None and name in EDITING_VIEWS and not may_edit():
            abort(403)
        return refused

    def is_action_allowed(self, name: str) -> bool:
        return may_edit() and super().is_action_allowed(name)

    def edit_form(self, obj=None):
        """Flask-Admin's Unique validator skips the edited row through form._obj, which only its own
        BaseForm sets; without it an unchanged unique code reads as taken."""
        form = super().edit_form(obj)
        form._obj = obj
        return form


class MasterDataView(ReadableModelView):
    can_delete = False
    can_view_details = True
    page_size = 50


class ReadOnlyView(ReadableModelView):
    can_create = can_edit = can_delete = False
    can_view_details = True
    action_disallowed_list = ["delete"]
    page_size = 50


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
        from engine.core import clock
        model.source, model.recorded_at = "admin", clock.now()


class EventView(ReadOnlyView):
    column_list = ("id", "source", "source_event_id", "category", "grid", "occurred_at", "status", "attempts")
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


_URL = re.compile(r"https?://[^\s'\"<>]+")


def shown_address(address: str | None) -> str:
    """A recipient address as a reader may see it: robot and webhook URLs carry their key in the path or
    query, so only editors see them whole; readers get the scheme and host."""
    if not address or may_edit() or "://" not in address:
        return address or ""
    scheme, rest = address.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}/…"


class RecipientView(MasterDataView):
    """Where notifications go outside the app: a unit's, a tier's or the on-call group robot, webhook or inbox.

    Readers see no secret (not listed, not in details) and robot URLs cut to their host."""

    can_delete = True
    column_details_exclude_list = ("secret",)
    column_formatters = {"address": lambda view, context, model, name: shown_address(model.address)}
    column_formatters_detail = column_formatters
    column_list = ("name", "scope", "unit", "campaign", "tier_level", "channel", "address", "language", "enabled")
    column_filters = ("scope", "channel", "enabled")
    column_searchable_list = ("name",)  # not the address: a reader could probe a robot key by searching
    form_columns = ("name", "scope", "unit", "campaign", "tier_level", "channel", "address", "secret", "language",
                    "enabled")
    form_overrides = {"scope": SelectField, "channel": SelectField, "language": SelectField}
    form_args = {
        "scope": {"choices": [("unit", _l("Unit")), ("tier", _l("Supervision tier")), ("oncall", _l("On call"))]},
        "channel": {"choices": [("webhook", _l("JSON webhook")), ("wecom", _l("WeCom group robot")),
                                ("dingtalk", _l("DingTalk group robot")), ("email", _l("E-mail"))]},
        "language": {"choices": [("zh", _l("Chinese")), ("en", _l("English"))]},
    }
    column_labels = {"name": _l("Name"), "scope": _l("Scope"), "unit": _l("Unit"), "campaign": _l("Campaign"),
                     "tier_level": _l("Tier"), "channel": _l("Channel"), "address": _l("Address (URL or e-mail)"),
                     "secret": _l("Secret (HMAC key or DingTalk sign secret)"), "language": _l("Language"),
                     "enabled": _l("Enabled")}
    column_descriptions = {"campaign": _l("Tier scope only; empty means every campaign."),
                           "tier_level": _l("Tier scope only: the supervision tier level.")}


class FailedDeliveryView(ReadableModelView):
    """Deliveries that gave up (attempts spent or refused), with the reason; "Requeue" sends them again."""

    can_create = can_edit = can_delete = False
    can_view_details = True
    action_disallowed_list = ["delete"]
    page_size = 50
    column_list = ("id", "message.idempotency_key", "message.kind", "recipient", "attempts", "last_error")
    column_formatters = {"recipient": lambda view, context, model, name: (
        f"{model.recipient.name or model.recipient.channel} ({model.recipient.channel}: "
        f"{shown_address(model.recipient.address)})" if model.recipient else ""),
        "last_error": lambda view, context, model, name: _URL.sub(lambda m: shown_address(m.group(0)),
                                                                  model.last_error or "")}
    column_formatters_detail = column_formatters
    column_default_sort = ("id", True)
    column_labels = {"message.idempotency_key": _l("Idempotency key"), "message.kind": _l("Kind"),
                     "recipient": _l("Recipient"), "attempts": _l("Attempts"), "last_error": _l("Error")}

    def get_query(self):
        return super().get_query().filter(Delivery.status == "failed")

    def get_count_query(self):
        return super().get_count_query().filter(Delivery.status == "failed")

    @action("requeue", _l("Requeue"), _l("Send the selected deliveries again?"))
    def action_requeue(self, ids: list[str]) -> None:
        from engine.delivery import outbox
        from web.common.extensions import db
        from workers.queues import enqueue_delivery

        count = outbox.requeue(db.session, [int(i) for i in ids])  # psycopg 3 sends the ids as strings
        db.session.commit()
        try:
            enqueue_delivery(current_app.extensions["civicrules.settings"])
        except Exception:
            current_app.logger.warning("could not queue delivery; the sweep will", exc_info=True)
        flash(_("%(count)s deliveries requeued.", count=count), "success")


def init_admin(app: Flask) -> Admin:
    from web.common.extensions import db

    app.jinja_env.globals["admin_may_edit"] = may_edit  # templates hide edit controls from read-only roles
    admin = Admin(app, name=_l("CivicRules administration"), theme=Bootstrap4Theme(),
                  index_view=IndexView(url="/admin"),
                  translations_path=str(Path(__file__).resolve().parent / "translations"))
    master, records = _l("Master data"), _l("Records")
    from admin.masterdata import add_master_data_views
    add_master_data_views(admin, master)  # campaigns, categories, units, frontage holders, tiers, timelines
    admin.add_view(GridView(Grid, db, name=_l("Grids"), category=master))
    calendar = _l("Working calendar")
    admin.add_view(HolidayView(Holiday, db, name=_l("Holidays and make-up days"), category=calendar))
    admin.add_view(CalendarYearView(CalendarYear, db, name=_l("Years with complete data"), category=calendar))
    admin.add_view(EventView(Event, db, name=_l("Events"), category=records))
    admin.add_view(TaskView(Task, db, name=_l("Tasks"), category=records))
    admin.add_view(FiringView(Firing, db, name=_l("Firings"), category=records))
    admin.add_view(VersionView(RulesetVersion, db, name=_l("Ruleset versions"), category=records))
    notifications = _l("Notifications")
    from admin.templates_editor import TemplateEditorView
    admin.add_view(TemplateEditorView(name=_l("Task templates"), endpoint="templates_editor", url="templates",
                                      category=master))
    from admin.simulator import SimulatorView
    admin.add_view(SimulatorView(name=_l("Simulator"), endpoint="simulator", url="simulator", category=_l("Rules")))
    from admin.replay import ReplayView
    admin.add_view(ReplayView(name=_l("Replay"), endpoint="replay", url="replay", category=_l("Rules")))
    from admin.rules_editor import RuleEditorView
    admin.add_view(RuleEditorView(name=_l("Hand-written rules"), endpoint="rules_editor", url="rules", category=_l("Rules")))
    from admin.versions import VersionsView
    admin.add_view(VersionsView(name=_l("Ruleset versions"), endpoint="versions", url="versions", category=_l("Rules")))
    from admin.lists import ListEditorView
    admin.add_view(ListEditorView(name=_l("Lists"), endpoint="lists", url="lists", category=_l("Rules")))
    from admin.history import FiringHistoryView
    admin.add_view(FiringHistoryView(name=_l("Firing history"), endpoint="firing_history", url="history",
                                     category=records))
    from admin.changes import ChangeHistoryView
    admin.add_view(ChangeHistoryView(name=_l("Change history"), endpoint="change_history", url="changes", category=records))
    from admin.imports import ImportView
    admin.add_view(ImportView(name=_l("Import events"), endpoint="import", url="import", category=records))
    admin.add_view(RecipientView(Recipient, db, name=_l("Recipients"), category=notifications))
    admin.add_view(FailedDeliveryView(Delivery, db, name=_l("Failed deliveries"), category=notifications,
                                      endpoint="failed_delivery"))
    from admin.assessment import add_assessment_views
    add_assessment_views(admin)  # weights, peer groups, points, sanction rules
    from admin.security import add_security_views
    add_security_views(admin)
    return admin
