"""Admin: the register of evaluation points (测评点位) and their types' responsible departments.

A point is saved through engine.space.points.save_point, so every fault (a place that is not a point, line
or area, a person outside the unit, a code taken) is named next to its field, in the user's language.
"""
from __future__ import annotations

import json
import math

from flask_admin.contrib.sqla.filters import IntEqualFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField

from admin.base import MasterDataView, shown_geometry, shown_label
from admin.people import RecordPicker, ShownChoices, save_or_place
from admin.zones import EXTRA_LAYERS
from engine.core.models import Grid, InspectionPoint, InspectionPointType, Person, Unit
from engine.space.datum import geometry_from_wgs84
from engine.space.points import save_point, type_name
from rules.problems import InputError, Problem
from web.common.extensions import db
from web.common.i18n import short_lang

FIELD_NAMES = {"code": _l("Point code"), "name": _l("Name"), "type": _l("Point type"), "address": _l("Address"),
               "lat": _l("Latitude"), "lon": _l("Longitude"), "place": _l("Place (GeoJSON)"),
               "reach_metres": _l("Reach (metres)"), "unit": _l("Responsible unit"),
               "person": _l("Responsible person (包点)"), "grid": _l("Grid"), "active": _l("In use"),
               "departments": _l("Responsible departments"), "duty": _l("Duty (as the source words it)"),
               "source": _l("Source")}


def _types() -> list[tuple[str, str]]:
    lang = short_lang()
    return [("", "—")] + [(t.code, type_name(t.code, lang)) for t in
                          db.session.scalars(select(InspectionPointType).order_by(InspectionPointType.id))]


def _units() -> list[Unit]:
    return list(db.session.scalars(select(Unit).order_by(Unit.code)))


def _people() -> list[Person]:
    return list(db.session.scalars(select(Person).order_by(Person.code)))


def _grids() -> list[Grid]:
    return list(db.session.scalars(select(Grid).order_by(Grid.code)))


class InspectionPointForm(FlaskForm):
    """Fields go to save_point as entered; it names each fault."""

    code = StringField(_l("Point code"))
    name = StringField(_l("Name"))
    type = SelectField(_l("Point type"), choices=_types, validate_choice=False)
    address = StringField(_l("Address"))
    lat = StringField(_l("Latitude"), description=_l("A point (WGS-84), or a line or an area below."))
    lon = StringField(_l("Longitude"))
    place = TextAreaField(_l("Place (GeoJSON)"), description=_l("A line (a road) or an area (a market, a square)."))
    reach_metres = StringField(_l("Reach (metres)"), default="50",
                               description=_l("How far beyond its place a report still counts as at the point."))
    unit = RecordPicker(_l("Responsible unit"), query_factory=_units, get_label=shown_label, allow_blank=True,
                        blank_text="—")
    person = RecordPicker(_l("Responsible person (包点)"), query_factory=_people,
                          get_label=lambda p: f"{p.name}（{shown_label(p.unit)}）", allow_blank=True, blank_text="—")
    grid = RecordPicker(_l("Grid"), query_factory=_grids, get_label=shown_label, allow_blank=True, blank_text="—")
    active = BooleanField(_l("In use"), default=True)


def _place(form: InspectionPointForm) -> tuple[dict | str | None, list[Problem]]:
    """The point from latitude and longitude, else the GeoJSON text as entered."""
    lat, lon = (form.lat.data or "").strip(), (form.lon.data or "").strip()
    if lat or lon:
        try:
            y, x = float(lat), float(lon)
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ValueError
        except ValueError:
            return None, [Problem("lat", "latitude and longitude are numbers in degrees", "经纬度须为以度计的数字")]
        return {"type": "Point", "coordinates": [x, y]}, []
    return (form.place.data or "").strip() or None, []


class InspectionPointView(MasterDataView):
    """The register: readers list and open points; editors add and change them."""

    form = InspectionPointForm
    column_list = ("code", "name", "type", "unit", "person", "grid", "active")
    column_details_list = ("code", "name", "type", "address", "place", "reach_metres", "unit", "person", "grid",
                           "active")
    column_searchable_list = ("code", "name", "address")
    column_filters = (IntEqualFilter(InspectionPoint.type_id, _l("Point type"), options=ShownChoices(
        lambda: [(t.id, type_name(t.code, short_lang())) for t in
                 db.session.scalars(select(InspectionPointType).order_by(InspectionPointType.id))])),)
    column_default_sort = "code"
    column_formatters = {"type": lambda v, c, m, n: type_name(m.type.code, short_lang()),
                         "unit": lambda v, c, m, n: shown_label(m.unit),
                         "person": lambda v, c, m, n: m.person.name if m.person else "—",
                         "grid": lambda v, c, m, n: shown_label(m.grid) if m.grid else "—",
                         "place": lambda v, c, m, n: json.dumps(m.place, ensure_ascii=False)}
    column_formatters_detail = {**column_formatters,
                                "place": lambda v, c, m, n: shown_geometry(m.place) or json.dumps(m.place)}
    column_labels = FIELD_NAMES

    def on_form_prefill(self, form: InspectionPointForm, id) -> None:
        point = db.session.get(InspectionPoint, id)
        if point is None:
            return
        form.type.data = point.type.code
        form.reach_metres.data = f"{point.reach_metres:g}"
        if point.place.get("type") == "Point":
            form.lon.data, form.lat.data = (f"{c:g}" for c in point.place["coordinates"][:2])
        else:
            form.place.data = json.dumps(point.place, ensure_ascii=False)

    def create_model(self, form: InspectionPointForm) -> InspectionPoint | bool:
        return self._save(form, None)

    def update_model(self, form: InspectionPointForm, model: InspectionPoint) -> bool:
        return bool(self._save(form, model))

    def _save(self, form: InspectionPointForm, point: InspectionPoint | None) -> InspectionPoint | bool:
        place, problems = _place(form)
        data = {"code": form.code.data, "name": form.name.data, "type": form.type.data, "address": form.address.data,
                "place": place, "reach_metres": form.reach_metres.data, "unit": form.unit.data,
                "person": form.person.data, "grid": form.grid.data}

        def save() -> InspectionPoint:
            if problems:
                raise InputError(problems)
            saved = save_point(db.session, data, point)
            saved.active = bool(form.active.data)
            return saved
        return save_or_place(form, save, {"place": "lat" if form.lat.data else "place"})


def _department_choices() -> list[tuple[str, str]]:
    return [(u.code, shown_label(u)) for u in _units()]


class PointTypeForm(FlaskForm):
    departments = SelectMultipleField(_l("Responsible departments"), choices=_department_choices,
                                      validate_choice=False)
    duty = TextAreaField(_l("Duty (as the source words it)"))
    source = StringField(_l("Source"))


class InspectionPointTypeView(MasterDataView):
    """Each point type and the departments that answer for it (the seeds' 创城 duty list); the types themselves
    are the evaluation's fixed list (rules.facts.POINT_TYPES)."""

    form = PointTypeForm
    can_create = False
    column_list = ("code", "departments", "duty")
    column_labels = {**FIELD_NAMES, "code": _l("Point type")}
    column_formatters = {"code": lambda v, c, m, n: type_name(m.code, short_lang()),
                         "departments": lambda v, c, m, n: "、".join(_department_names(m.departments)) or "—"}

    def update_model(self, form: PointTypeForm, model: InspectionPointType) -> bool:
        known = {code for code, _label in _department_choices()}
        unknown = [code for code in form.departments.data or [] if code not in known]
        if unknown:
            form.departments.errors = list(form.departments.errors or []) + [
                _("No such unit: %(codes)s", codes=", ".join(unknown))]
            return False
        model.departments = list(form.departments.data or [])
        model.duty = (form.duty.data or "").strip() or None
        model.source = (form.source.data or "").strip() or None
        db.session.commit()
        return True


def _department_names(codes: list[str]) -> list[str]:
    units = {u.code: u for u in db.session.scalars(select(Unit).where(Unit.code.in_(codes or [])))}
    zh = short_lang() == "zh"
    return [(units[c].name_zh if zh else units[c].name_en) if c in units else c for c in codes or []]


def points_layer(session, datum: str, lang: str) -> tuple[str, dict]:
    """The points in use on the zone map, in the tiles' datum."""
    features = []
    for point in session.scalars(select(InspectionPoint).where(InspectionPoint.active.is_(True))
                                 .order_by(InspectionPoint.code)):
        features.append({"type": "Feature", "geometry": geometry_from_wgs84(point.place, datum),
                         "properties": {"name": point.name, "kind": point.type.code,
                                        "kind_name": type_name(point.type.code, lang)}})
    return _("Evaluation points (测评点位)"), {"type": "FeatureCollection", "features": features}


EXTRA_LAYERS.append(points_layer)
