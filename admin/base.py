"""The admin's base classes: who reaches a view (READERS), who may change what it shows (EDITORS), and
model views that name records in the user's language; every admin module builds on these."""
from __future__ import annotations

import re
from datetime import date, datetime

from flask import Response, abort, g, has_request_context, redirect, request, stream_with_context, url_for
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.contrib.sqla.typefmt import DEFAULT_FORMATTERS
from flask_admin.model.form import converts
from flask_admin.model.typefmt import DETAIL_FORMATTERS
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import FloatField
from wtforms.widgets import NumberInput

from admin.field_labels import LABELS, yes_no
from engine.audit.changelog import url_host
from engine.authoring.campaigns import campaign_for, campaign_zone
from engine.core import clock
from engine.core.cells import csv_chunks
from engine.core.models import Base, Case, Category, DutyItem, Event, Grid, RulesetVersion, SupervisionTier, Task, Unit
from web.auth import record_export
from web.common.display import NAMES, local_time, name_of
from web.common.downloads import CSV, attachment
from web.common.extensions import db
from web.common.i18n import short_lang


#: Who may change configuration, and who may read every admin page (auditors and assessors see everything
#: read-only; field units have no access). 三员分立: accounts are the security administrator's alone
#: (ACCOUNT_MANAGERS), the security audit log the audit administrator's (SECURITY_AUDITORS); neither reaches
#: configuration, and the system administrator reaches neither of theirs.
EDITORS: tuple[str, ...] = ("admin",)
READERS: tuple[str, ...] = ("admin", "auditor", "assessor")
ACCOUNT_MANAGERS: tuple[str, ...] = ("security_admin",)
SECURITY_AUDITORS: tuple[str, ...] = ("audit_admin",)


def may_edit() -> bool:
    """Whether the signed-in user may change what the admin shows (templates hide controls otherwise)."""
    return current_user.is_authenticated and current_user.role in EDITORS


def require_editor() -> None:
    """Refuse a state-changing request from a read-only role; views call it first thing on POST."""
    if not may_edit():
        abort(403)


class Guarded:
    """Who reaches a view at all: READERS unless a view narrows `roles`; anonymous users go to sign in."""

    roles: tuple[str, ...] = READERS

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and current_user.role in self.roles

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("pages.login", next=request.full_path))
        abort(403)


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
        return self.granted and view_may_edit(view)


def view_may_edit(view: object) -> bool:
    """Whether the signed-in user may change what this view shows: its `editors` (EDITORS unless narrowed)."""
    return current_user.is_authenticated and current_user.role in getattr(view, "editors", EDITORS)


def shown_label(record: object) -> str:
    """A record as pickers and columns name it, in the user's language: the engine's __str__ is Chinese only."""
    zh = short_lang() == "zh"
    if isinstance(record, DutyItem):
        return record.text_zh if zh else record.text_en or record.text_zh
    name_zh = getattr(record, "name_zh", None)
    if isinstance(record, RulesetVersion):
        return _("Version %(number)s", number=record.number)
    if name_zh is None and isinstance(record, Base) and type(record).__str__ is object.__str__:
        return f"{RECORD_KINDS.get(type(record), type(record).__name__)} #{getattr(record, 'id', '')}"
    if name_zh is None:
        return str(record)
    name = name_zh if zh else getattr(record, "name_en", None) or name_zh
    if isinstance(record, SupervisionTier):
        return _("Tier %(level)s: %(name)s", level=record.level, name=name)
    return f"{record.code} {name}" if isinstance(record, (Category, Grid, Unit)) else name


#: Records without a name of their own, named by kind and number ("事件 #12") instead of Python's repr.
RECORD_KINDS = {Event: _l("Event"), Case: _l("Case"), Task: _l("Task")}
#: GeoJSON geometries by name: a detail page sums a boundary up instead of printing its coordinates.
GEOMETRIES = {"Point": _l("point"), "MultiPoint": _l("points"), "LineString": _l("line"),
              "MultiLineString": _l("lines"), "Polygon": _l("polygon"), "MultiPolygon": _l("polygons")}
#: Labels of admin columns the review labels (admin.field_labels.LABELS) lack or word otherwise for a record's page.
COMMON_LABELS = {"id": _l("No."), "event": _l("Event"), "case": _l("Case"), "task": _l("Task"),
                 "assignee": _l("Assignee"), "description": _l("Description"), "lat": _l("Latitude"),
                 "lon": _l("Longitude"), "received_at": _l("Received at"), "evaluated_at": _l("Evaluated at"),
                 "filing_condition": _l("Filing condition"), "frontage_holder": _l("Frontage holder (门前三包)"),
                 "media_url": _l("Media link"), "inspection_tier": _l("Inspection tier"),
                 "last_error": _l("Last evaluation error"), "ruleset_version": _l("Ruleset version"),
                 "list_item": _l("List item"), "campaign": _l("Campaign"), "category": _l("Category"),
                 "grid": _l("Grid"), "facts": _l("Facts evaluated"), "matched": _l("Matched conditions"),
                 "decisions": _l("Decisions"), "mac": _l("Integrity seal (HMAC)"),
                 "rework_count": _l("Rework count"), "extension_count": _l("Extension count"),
                 "paused_seconds": _l("Time paused"), "reopening": _l("Reopenings"),
                 "escalated_at": _l("Escalated at")}


def _points(coordinates: object) -> int:
    """How many positions a GeoJSON geometry's coordinates hold, however deeply nested."""
    if isinstance(coordinates, list) and coordinates and isinstance(coordinates[0], (int, float)):
        return 1
    return sum(_points(c) for c in coordinates) if isinstance(coordinates, list) else 0


def shown_geometry(value: dict) -> str | None:
    """A GeoJSON geometry as people read it: a point by its latitude and longitude, a boundary or frontage as
    "polygon with 5 points" (the map shows the shape); None for JSON that is no geometry."""
    shape = GEOMETRIES.get(value.get("type"))
    if shape is None or not isinstance(value.get("coordinates"), list):
        return None
    if value["type"] == "Point" and len(value["coordinates"]) >= 2:
        return _("point at %(lat)s, %(lon)s", lat=value["coordinates"][1], lon=value["coordinates"][0])
    return _("%(shape)s with %(n)s points", shape=shape, n=_points(value["coordinates"]))


def _geometry_or_json(view, value: dict, name: str) -> str:
    """A detail page sums a geometry up; any other JSON is shown as Flask-Admin does."""
    return shown_geometry(value) or DETAIL_FORMATTERS[dict](view, value, name)


def _record_label(view, value: object, name: str) -> str:
    return shown_label(value)


def _record_labels(view, values, name: str) -> str:
    return ", ".join(shown_label(v) for v in values)


def _yes_no_icon(view, value: bool, name: str) -> Markup:
    """Flask-Admin's tick or dash, its tooltip naming the column by its label and the value in the reader's words
    (Flask-Admin's own reads `verify: true`)."""
    icon = "fa-check-circle" if value else "fa-minus-circle"
    return Markup('<span class="fa {}" title="{}: {}"></span>').format(icon, view.get_column_name(name),
                                                                        yes_no(value))


def _yes_no_word(view, value: bool, name: str) -> str:
    """A record's details say 是 or 否 where Flask-Admin would print Python's True or False."""
    return yes_no(value)


def _local_instant(view, value: datetime, name: str) -> str:
    """Every admin list and detail page shows an instant in its row's campaign's local time, to the minute."""
    return local_time(value, g.get("shown_row"))


#: Column type formatters of every model view: instants first, since a datetime is also a date.
LIST_FORMATTERS = {datetime: _local_instant, **{k: v for k, v in DEFAULT_FORMATTERS.items() if k is not datetime},
                   bool: _yes_no_icon, list: _record_labels, Base: _record_label}
DETAIL_LIST_FORMATTERS = {datetime: _local_instant, **{k: v for k, v in DETAIL_FORMATTERS.items() if k is not datetime},
                          bool: _yes_no_word, list: _record_labels, dict: _geometry_or_json, Base: _record_label}


def named(kind: str):
    """A column formatter showing a code (a status, a role, a source type...) by its name (web.common.display)."""
    return lambda view, context, model, name: name_of(kind, getattr(model, name))


def named_choices(kind: str) -> list[tuple[str, LazyString]]:
    """A filter's choices for a kind of code, named in the language of the request that shows them."""
    return [(code, LazyString(lambda code=code: name_of(kind, code))) for code in NAMES[kind]]


class LabelledConverter(AdminModelConverter):
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


MAX_PAGE = 1_000_000
MAX_ID = 2**63 - 1


class ReadableModelView(Guarded, ModelView):
    """Every reader (READERS) lists and opens records; only editors create, edit, delete or run actions.

    A subclass declares its permissions as plain booleans (can_delete = True); they become EditorPermission.
    A view of another administrator's domain narrows `roles` and `editors` (the accounts: ACCOUNT_MANAGERS).
    """

    editors: tuple[str, ...] = EDITORS

    form_base_class = FlaskForm  # renders and checks the same CSRF token as CSRFProtect
    model_form_converter = LabelledConverter
    column_type_formatters = LIST_FORMATTERS
    column_type_formatters_detail = DETAIL_LIST_FORMATTERS
    can_create = EditorPermission(True)
    can_edit = EditorPermission(True)
    can_delete = EditorPermission(True)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("can_create", "can_edit", "can_delete"):
            declared = cls.__dict__.get(name)
            if isinstance(declared, bool):
                setattr(cls, name, EditorPermission(declared))

    def get_column_name(self, field: str) -> str:
        """A column the view does not label takes the shared label (COMMON_LABELS, else the review labels), never
        its English field name."""
        if not (self.column_labels and field in self.column_labels):
            shared = COMMON_LABELS.get(field) or LABELS.get(field)
            if shared is not None:
                return shared
        return super().get_column_name(field)

    def _handle_view(self, name: str, **kwargs):
        refused = super()._handle_view(name, **kwargs)
        if refused is None and name in EDITING_VIEWS and not view_may_edit(self):
            abort(403)
        return refused

    def is_action_allowed(self, name: str) -> bool:
        return view_may_edit(self) and super().is_action_allowed(name)

    def _get_list_value(self, context, model, name, column_formatters, column_type_formatters):
        """Names the row being shown, so an instant's formatter finds its campaign's time zone."""
        g.shown_row = model
        return super()._get_list_value(context, model, name, column_formatters, column_type_formatters)

    def get_one(self, id):
        """An id the key cannot hold (`abc`, `²`, beyond 2^63 for an integer; no ISO date for a day) is simply no
        record, not a database error; a day's key (a holiday) is read as the date it names, as SQLite needs."""
        keys = self.model.__mapper__.primary_key
        text = str(id)
        kind = keys[0].type.python_type if len(keys) == 1 else None
        if kind is int and not (text.isascii() and text.isdecimal() and int(text) <= MAX_ID):
            return None
        if kind is date:
            try:
                return self.get_query().filter(keys[0] == date.fromisoformat(text)).one_or_none()
            except ValueError:
                return None
        return super().get_one(id)

    def _get_list_extra_args(self):
        """A page number or size no list has (negative, or beyond any offset the database takes) is a 400."""
        for name in ("page", "page_size", "sort"):
            value = request.args.get(name)
            if value is not None and not (value.isascii() and value.isdigit() and int(value) <= MAX_PAGE):
                abort(400, description=_("%(name)s must be a whole number from 0 to %(most)d.",
                                         name=name, most=MAX_PAGE))
        return super()._get_list_extra_args()

    #: What an export of the view is called in the security audit log ("导出… / … csv"); empty: not recorded.
    export_record = ""

    def _export_stamp(self) -> str:
        return clock.now().astimezone(campaign_zone(campaign_for(db.session, None))).strftime("%Y-%m-%d_%H-%M-%S")

    def get_export_name(self, export_type: str = "csv") -> str:
        """The view's name and the campaign's local time, as the rows give it (Flask-Admin's is the server's)."""
        return f"{self.name}_{self._export_stamp()}.{export_type}"

    def _export_disposition(self, export_type: str) -> str:
        """The reader's name for the file, with the endpoint's ASCII name for a client that cannot read it."""
        return attachment(self.get_export_name(export_type), f"{self.endpoint}_{self._export_stamp()}.{export_type}")

    def _export_csv(self, return_url):
        """Streamed with a BOM (so Excel reads the Chinese), under a name a header can carry in any language."""
        if self.export_record:
            record_export(self.export_record)
        _count, data = self._export_data()
        columns = self._export_columns
        rows = ([self.get_export_value(row, name) for name, _label in columns] for row in data)
        return Response(stream_with_context(csv_chunks([label for _name, label in columns], rows)),
                        content_type=CSV, headers={"Content-Disposition": self._export_disposition("csv")})

    def _export_tablib(self, export_type: str, return_url: str):
        response = super()._export_tablib(export_type, return_url)
        if response.status_code == 200:  # else the redirect back to the list after a refusal
            response.headers["Content-Disposition"] = self._export_disposition(export_type)
        return response

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


URL_IN_TEXT = re.compile(r"https?://[^\s'\"<>]+")


def shown_address(address: str | None) -> str:
    """A recipient address as a reader may see it: robot and webhook URLs carry their key in the path or
    query, so only editors see them whole; readers get the scheme and host."""
    if not address or may_edit() or "://" not in address:
        return address or ""
    return f"{address.split('://', 1)[0]}://{url_host(address)}/…"
