"""Admin: the staff register (人员), its CSV/XLSX import (导入人员) and streets (道路) with the person who answers
for each; person pickers and the placing of engine problems next to their fields, which the grid, unit and
roster screens share.

A person is saved through engine.people.staff.save_person, so the form refuses exactly what the import
refuses; phone numbers are shown whole only to the roles that call people (engine.people.staff.PHONE_ROLES).
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from flask import Response, flash, request, url_for
from flask_admin import BaseView, expose
from flask_admin.contrib.sqla.fields import QuerySelectField
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual, IntEqualFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from markupsafe import Markup
from sqlalchemy import select
from wtforms import BooleanField, Form, SelectField, StringField
from wtforms.validators import StopValidation

from admin.base import READERS, Guarded, MasterDataView, require_editor, shown_label
from engine.core.models import Person, Street, Unit, User
from engine.core.tables import MAX_FILE_BYTES, read_table
from engine.core.tables import ImportReport
from engine.people.register import COLUMNS, import_staff
from engine.people.responsibility import check_street, staff_without_area
from engine.people.staff import POSITIONS, position_name, save_person, shown_phone
from rules.problems import InputError, Problem
from web.common.extensions import db
from web.common.i18n import short_lang

#: What a problem's `where` is called on a page (the import's bad-row table names the column).
FIELD_NAMES = {"code": _l("Staff number"), "name": _l("Full name"), "position": _l("Position"), "unit": _l("Unit"),
               "phone": _l("Phone"), "username": _l("Account"), "user": _l("Account"), "file": _l("File")}


# --- shared by the people, grid, unit and roster screens ------------------------------------------------

def person_label(person: Person) -> str:
    """A person as pickers name them: name · position · unit, in the user's language."""
    lang = short_lang()
    return f"{person.name} · {position_name(person.position, lang)} · {shown_label(person.unit)}"


def people(position: str | None = None, unit_ids: Iterable[int] | None = None) -> list[Person]:
    """Active staff for a picker, by unit and position; optionally one position or some units only."""
    query = select(Person).join(Unit, Unit.id == Person.unit_id).where(Person.active.is_(True))
    if position is not None:
        query = query.where(Person.position == position)
    if unit_ids is not None:
        query = query.where(Person.unit_id.in_(list(unit_ids)))
    order = list(POSITIONS)
    found = db.session.scalars(query.order_by(Unit.code, Person.code)).all()
    return sorted(found, key=lambda p: (p.unit.code, order.index(p.position) if p.position in order else 99, p.code))


def people_of(position: str | None = None) -> Callable[[], list[Person]]:
    """A query factory for a relation picker (Flask-Admin calls it on each request)."""
    return lambda: people(position)


class RecordPicker(QuerySelectField):
    """A record picker that refuses a record it does not offer: Flask-Admin's QuerySelectField with a blank
    choice reads an unknown id as "nobody", so a stale page would silently clear the assignment."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.sent = valuelist[0] if valuelist else None
        super().process_formdata(valuelist)

    def pre_validate(self, form: Form) -> None:
        if self.data is None and getattr(self, "sent", None) not in (None, "", "__None"):
            raise StopValidation(_("Choose one of the listed entries."))
        super().pre_validate(form)


def person_picker(label, position: str | None = None) -> dict:
    """form_args for a relation to Person (with RecordPicker as its form_overrides entry): "—" for nobody,
    each person named with position and unit."""
    return {"label": label, "query_factory": people_of(position), "get_label": person_label, "allow_blank": True,
            "blank_text": "—"}


def place_problems(form: Form, problems: Iterable[Problem], fields: dict[str, str] | None = None) -> None:
    """Each problem next to its field (`fields` maps a problem's `where` to a form field's name); a problem
    with no field on the form is flashed, so nothing the engine says is lost."""
    lang = short_lang()
    for problem in problems:
        name = (fields or {}).get(problem.where, problem.where)
        if name in form:
            form[name].errors = list(form[name].errors or []) + [problem.message(lang)]
        else:
            flash(problem.message(lang), "danger")


Saved = TypeVar("Saved")


def save_or_place(form: Form, save: Callable[[], Saved], fields: dict[str, str] | None = None) -> Saved | bool:
    """What `save` stored, committed; when the engine refuses it (InputError), nothing is kept and each problem
    stands next to its field (as place_problems puts it): False."""
    try:
        saved = save()
    except InputError as err:
        db.session.rollback()
        place_problems(form, err.problems, fields)
        return False
    db.session.commit()
    return saved


def missing_badge(text: str) -> Markup:
    return Markup('<span class="badge badge-warning missing-person">{}</span>').format(text)


def person_cell(nobody: str) -> Callable:
    def cell(view, context, model, name: str) -> Markup | str:
        person = getattr(model, name)
        return missing_badge(nobody) if person is None else person_label(person)
    return cell


def _phone(view, context, model: Person, name: str) -> str:
    return shown_phone(model.phone, getattr(current_user, "role", None))


def _position(view, context, model: Person, name: str) -> str:
    return position_name(model.position, short_lang())


def _position_choices() -> list[tuple[str, str]]:
    lang = short_lang()
    return [(code, position_name(code, lang)) for code in POSITIONS]


def _units() -> list[Unit]:
    return list(db.session.scalars(select(Unit).order_by(Unit.code)))


class ShownChoices:
    """A list filter's options, read each time the list is shown: Flask-Admin reads a filter's options once,
    when the admin is built, outside any request (no database session, no user language)."""

    def __init__(self, read: Callable[[], list[tuple[Any, str]]]) -> None:
        self.read = read

    def __bool__(self) -> bool:
        return True

    def __iter__(self) -> Iterator[tuple[Any, str]]:
        return iter(self.read())


UNIT_OPTIONS = ShownChoices(lambda: [(u.id, shown_label(u)) for u in _units()])
POSITION_OPTIONS = ShownChoices(_position_choices)


def _accounts() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))


# --- staff ---------------------------------------------------------------------------------------------

class PersonForm(FlaskForm):
    """Every field goes to save_person as entered; it names each fault, so the form itself checks nothing."""

    code = StringField(_l("Staff number"), description=_l("The staff number (工号) imports match on."))
    name = StringField(_l("Full name"))
    position = SelectField(_l("Position"), choices=_position_choices, default="responsible", validate_choice=False)
    unit = RecordPicker(_l("Unit"), query_factory=_units, get_label=shown_label, allow_blank=True, blank_text="—")
    phone = StringField(_l("Phone"), description=_l("One phone number belongs to one person in one unit."))
    user = RecordPicker(_l("Linked account"), query_factory=_accounts, get_label=lambda u: u.username,
                        allow_blank=True, blank_text="—", description=_l("Optional: the account this person signs in with."))
    active = BooleanField(_l("Active"), default=True)


#: The staff list's filter argument for "field staff without an area" (stable across languages).
WITHOUT_AREA_ARG = "without_area"


def without_area_url() -> str:
    """The staff list narrowed to field staff holding no grid, street or inspection point."""
    return url_for("person.index_view", **{f"flt0_{WITHOUT_AREA_ARG}": "1"})


class WithoutAreaFilter(BaseSQLAFilter):
    """Field staff without a responsibility area (责任区域), as engine.people.responsibility names them."""

    def apply(self, query, value, alias=None):
        return query.filter(Person.id.in_([p.id for p in staff_without_area(db.session)]))

    def operation(self):
        return _l("is missing")


class PersonView(MasterDataView):
    """The staff register; readers (auditors, assessors) see phone numbers masked."""

    form = PersonForm
    column_list = ("name", "code", "position", "unit", "phone", "user", "active")
    column_details_list = column_list
    column_searchable_list = ("name", "code")  # not phone: readers see it masked and could probe it by searching
    column_filters = (IntEqualFilter(Person.unit_id, _l("Unit"), options=UNIT_OPTIONS),
                      FilterEqual(Person.position, _l("Position"), options=POSITION_OPTIONS),
                      WithoutAreaFilter(Person.id, _l("Responsibility area (责任区域)"), options=(("1", _l("Yes")),)))
    column_default_sort = "code"
    column_formatters = {"phone": _phone, "position": _position,
                         "user": lambda v, c, m, n: m.user.username if m.user else ""}
    column_labels = {"name": _l("Full name"), "code": _l("Staff number"), "position": _l("Position"), "unit": _l("Unit"),
                     "phone": _l("Phone"), "user": _l("Linked account"), "active": _l("Active")}

    def get_filter_arg(self, index: int, flt) -> str:
        return WITHOUT_AREA_ARG if isinstance(flt, WithoutAreaFilter) else super().get_filter_arg(index, flt)

    def create_model(self, form: PersonForm) -> Person | bool:
        return self._save(form, None)

    def update_model(self, form: PersonForm, model: Person) -> bool:
        return bool(self._save(form, model))

    def _save(self, form: PersonForm, person: Person | None) -> Person | bool:
        return save_or_place(form, lambda: save_person(
            db.session, code=form.code.data or "", name=form.name.data or "", position=form.position.data or "",
            unit=form.unit.data, phone=form.phone.data or "", user=form.user.data, person=person,
            active=bool(form.active.data)))


# --- streets -------------------------------------------------------------------------------------------

class StreetView(MasterDataView):
    """Roads and streets (道路) with the person who answers for each (包路), from the street's own unit."""

    can_delete = True
    column_list = ("code", "name_zh", "name_en", "unit", "responsible")
    column_searchable_list = ("code", "name_zh", "name_en")
    column_filters = (IntEqualFilter(Street.unit_id, _l("Unit"), options=UNIT_OPTIONS),)
    column_default_sort = "code"
    form_columns = ("code", "name_zh", "name_en", "unit", "responsible")
    form_args = {"responsible": person_picker(_l("Responsible person"))}
    form_overrides = {"responsible": RecordPicker}
    column_formatters = {"responsible": person_cell(_l("No responsible person"))}
    column_labels = {"code": _l("Code"), "name_zh": _l("Name (Chinese)"), "name_en": _l("Name (English)"),
                     "unit": _l("Unit"), "responsible": _l("Responsible person")}

    def validate_form(self, form) -> bool:
        valid = super().validate_form(form)
        if not valid or "responsible" not in form or form.unit.data is None:
            return valid
        problems = check_street(db.session, Street(unit_id=form.unit.data.id), form.responsible.data)
        place_problems(form, problems)
        return not problems


# --- staff import --------------------------------------------------------------------------------------

class StaffUploadForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])


def import_upload(form: FlaskForm, stem: str, load: Callable[[Path, str], Any]) -> Any:
    """An uploaded CSV or XLSX file read in one transaction by `load(path, original name)`: a file of another kind,
    too large, or refused as a whole writes nothing and names its problem next to the file field."""
    upload = form.file.data
    name = Path(upload.filename or "").name
    suffix = Path(name).suffix.lower()
    data = upload.read(MAX_FILE_BYTES + 1)
    if suffix not in (".csv", ".xlsx"):
        form.file.errors.append(_("Upload a .csv or .xlsx file."))
        return None
    if len(data) > MAX_FILE_BYTES:
        form.file.errors.append(_("The file is larger than %(mb)s MB.", mb=MAX_FILE_BYTES // 2**20))
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{stem}{suffix}"
        path.write_bytes(data)
        try:
            report = load(path, name)
        except InputError as err:
            db.session.rollback()
            place_problems(form, err.problems)
            return None
    db.session.commit()
    return report


class TableImportView(Guarded, BaseView):
    """An import page: readers see it and download the template; only editors upload. Subclasses name their form,
    page, template and field names, and define `headers()` (the template's columns) and `_import(form)`."""

    roles = READERS
    form_class: type[FlaskForm]
    page: str
    download: str  # the template's file name
    field_names: dict = {}

    def context(self) -> dict[str, Any]:
        return {}

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = self.form_class()
        report = None
        if request.method == "POST":
            require_editor()
            if form.validate_on_submit():
                report = self._import(form)
        return self.render(self.page, form=form, report=report, lang=short_lang(), field_names=self.field_names,
                           max_mb=MAX_FILE_BYTES // 2**20, headers=self.headers(), **self.context())

    @expose("/template.csv")
    def template(self):
        """The header row an import expects, with a BOM so that Excel opens the Chinese headers as UTF-8."""
        return Response("\ufeff" + ",".join(self.headers()) + "\r\n", mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={self.download}"})


class StaffImportView(TableImportView):
    """Good rows are stored, each bad row is named with its reason."""

    form_class = StaffUploadForm
    page = "admin/people/import.html"
    download = "staff-template.csv"
    field_names = FIELD_NAMES

    def headers(self) -> list[str]:
        return [hints[0] for hints in COLUMNS.values()]

    def _import(self, form: StaffUploadForm) -> ImportReport | None:
        return import_upload(form, "staff", lambda path, _name: import_staff(db.session, read_table(path)))
