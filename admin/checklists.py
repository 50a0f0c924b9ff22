"""Admin: each point type's checklist (测评内容) and its CSV/XLSX import (导入测评内容).

An item is saved through engine.readiness.checklists.save_item, so the form refuses exactly what the import
refuses, each fault next to its field, in the user's language."""
from __future__ import annotations

from flask_admin.contrib.sqla.filters import IntEqualFilter
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField, validators

from admin.base import MasterDataView
from admin.people import ShownChoices, TableImportView, import_upload, save_or_place
from engine.core.models import ChecklistItem, InspectionPointType
from engine.core.tables import ImportReport, read_table
from engine.readiness.checklist_import import import_checklists, template_headers
from engine.readiness.checklists import FREQUENCIES, save_item
from engine.space.points import type_name
from web.common.extensions import db
from web.common.i18n import short_lang

FIELD_NAMES = {"type": _l("Point type"), "code": _l("Item code"), "text": _l("What is checked (测评内容)"),
               "method": _l("How to check (测评方法)"), "max_score": _l("Maximum score"),
               "frequency": _l("Frequency"), "category_code": _l("Category of the case a failure opens"),
               "position": _l("Order"), "example": _l("Example (示例)"), "source": _l("Source"),
               "file": _l("File"), "row": _l("Row")}


def _types() -> list[tuple[str, str]]:
    lang = short_lang()
    return [("", "—")] + [(t.code, type_name(t.code, lang)) for t in
                          db.session.scalars(select(InspectionPointType).order_by(InspectionPointType.id))]


def _frequencies() -> list[tuple[str, str]]:
    pick = 0 if short_lang() == "zh" else 1
    return [(code, names[pick]) for code, names in FREQUENCIES.items()]


class ChecklistItemForm(FlaskForm):
    """Fields go to save_item as entered; it names each fault."""

    type = SelectField(_l("Point type"), choices=_types, validate_choice=False)
    code = StringField(_l("Item code"))
    text = TextAreaField(_l("What is checked (测评内容)"))
    method = TextAreaField(_l("How to check (测评方法)"))
    max_score = StringField(_l("Maximum score"))
    frequency = SelectField(_l("Frequency"), choices=_frequencies, validate_choice=False, default="daily")
    category_code = StringField(_l("Category of the case a failure opens"),
                                description=_l("A category code (e.g. 06036); empty: the catalogue's first."))
    position = IntegerField(_l("Order"), default=0, validators=[validators.Optional()])
    example = BooleanField(_l("Example (示例)"))
    source = StringField(_l("Source"))


class ChecklistItemView(MasterDataView):
    """Readers list and open items; editors add and change them."""

    form = ChecklistItemForm
    column_list = ("type", "position", "code", "text", "max_score", "frequency", "example")
    column_details_list = ("type", "code", "text", "method", "max_score", "frequency", "category_code", "position",
                           "example", "source")
    column_searchable_list = ("code", "text")
    column_filters = (IntEqualFilter(ChecklistItem.type_id, _l("Point type"), options=ShownChoices(
        lambda: [(t.id, type_name(t.code, short_lang())) for t in
                 db.session.scalars(select(InspectionPointType).order_by(InspectionPointType.id))])),)
    column_default_sort = [("type_id", False), ("position", False)]
    column_formatters = {"type": lambda v, c, m, n: type_name(m.type.code, short_lang()),
                         "frequency": lambda v, c, m, n: FREQUENCIES.get(m.frequency, (m.frequency,) * 2)[
                             0 if short_lang() == "zh" else 1]}
    column_labels = FIELD_NAMES

    def on_form_prefill(self, form: ChecklistItemForm, id) -> None:
        item = db.session.get(ChecklistItem, id)
        if item is not None:
            form.type.data = item.type.code
            form.max_score.data = f"{item.max_score:g}"

    def create_model(self, form: ChecklistItemForm) -> ChecklistItem | bool:
        return self._save(form, None)

    def update_model(self, form: ChecklistItemForm, model: ChecklistItem) -> bool:
        return bool(self._save(form, model))

    def _save(self, form: ChecklistItemForm, item: ChecklistItem | None) -> ChecklistItem | bool:
        data = {name: getattr(form, name).data for name in FIELD_NAMES if hasattr(form, name) and name != "file"}
        return save_or_place(form, lambda: save_item(db.session, data, item))


class ChecklistUploadForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired()])


class ChecklistImportView(TableImportView):
    """Every row is stored, or none: each bad row is named."""

    form_class = ChecklistUploadForm
    page = "admin/checklists/import.html"
    download = "checklists-template.csv"
    field_names = FIELD_NAMES

    def headers(self) -> list[str]:
        return template_headers()

    def _import(self, form: ChecklistUploadForm) -> ImportReport | None:
        return import_upload(form, "checklists", lambda path, _name: import_checklists(db.session, read_table(path)))
