"""Admin: the permits register (审批/备案), its CSV/XLSX import (导入审批) and who approves each kind (审批种类).

A permit is saved through engine.space.permits.save_permit, so the form refuses exactly what the import
refuses, each fault next to its field. Times are entered and shown in the campaign's local time.
"""
from __future__ import annotations

import json
import math
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_admin.contrib.sqla.filters import FilterEqual
from flask_admin.form import DatePickerWidget
from flask_babel import lazy_gettext as _l
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField, validators

from admin.base import MasterDataView, shown_label
from admin.fields import LocalDateTimeField
from admin.people import RecordPicker, ShownChoices, TableImportView, import_upload, save_or_place
from admin.zones import EXTRA_LAYERS
from engine.authoring.campaigns import campaign_for, campaign_zone
from engine.core.models import FrontageHolder, Permit, PermitKind, Unit
from engine.core.tables import ImportReport, read_table
from engine.space.datum import geometry_from_wgs84
from engine.space.permit_import import import_permits, template_headers
from engine.space.permits import (KIND_NAMES, STATUS_NAMES, PermitInput, approvers, geojson, kind_name, save_permit,
                                  save_permit_kind, status_name)
from rules.facts import PERMIT_KINDS
from web.common.extensions import db
from web.common.i18n import short_lang

FIELD_NAMES = {"number": _l("Permit number"), "kind": _l("Kind"), "holder_name": _l("Holder"),
               "holder_contact": _l("Holder contact"), "holder": _l("Frontage holder (门前三包)"),
               "place": _l("Place"), "lat": _l("Latitude"), "lon": _l("Longitude"),
               "radius_m": _l("Radius (metres)"), "polygon": _l("Area (GeoJSON polygon)"),
               "site": _l("Designated site (指定消纳场所)"), "site_lat": _l("Designated site: latitude"),
               "site_lon": _l("Designated site: longitude"), "site_radius_m": _l("Designated site: radius (metres)"),
               "site_polygon": _l("Designated site: area (GeoJSON polygon)"), "starts_at": _l("Valid from"),
               "ends_at": _l("Valid until"), "status": _l("Status"), "approved_by": _l("Approved by"),
               "filed_on": _l("Filed with the committee on (书面备案)"),
               "filing_reference": _l("Filing reference (备案文号)"), "declared_by": _l("Declared by (申报单位)"),
               "reviewed_by": _l("Reviewed by (审定单位)"), "file": _l("File"), "row": _l("Row")}
#: Where a problem of the engine goes on the form (the point's problems go next to its latitude).
FORM_FIELDS = {"place": "lat", "site": "site_lat"}
NUMBER_FIELDS = ("lat", "lon", "radius_m", "site_lat", "site_lon", "site_radius_m")


def _zone() -> ZoneInfo:
    return campaign_zone(campaign_for(db.session, None))


def _kinds() -> list[tuple[str, str]]:
    lang = short_lang()
    return [("", "—")] + [(k, kind_name(k, lang)) for k in PERMIT_KINDS]


def _statuses() -> list[tuple[str, str]]:
    lang = short_lang()
    return [(s, status_name(s, lang)) for s in STATUS_NAMES]


def _units() -> list[Unit]:
    return list(db.session.scalars(select(Unit).order_by(Unit.code)))


def _holders() -> list[FrontageHolder]:
    return list(db.session.scalars(select(FrontageHolder).order_by(FrontageHolder.name)))


def _local(instant: datetime | None) -> str:
    return instant.astimezone(_zone()).strftime("%Y-%m-%d %H:%M") if instant else ""


class PermitForm(FlaskForm):
    """Every field goes to save_permit as entered; it names each fault, so the form checks only that numbers
    are numbers."""

    number = StringField(_l("Permit number"))
    kind = SelectField(_l("Kind"), choices=_kinds, validate_choice=False)
    holder_name = StringField(_l("Holder"))
    holder_contact = StringField(_l("Holder contact"))
    holder = RecordPicker(_l("Frontage holder (门前三包)"), query_factory=_holders, get_label=str, allow_blank=True,
                          blank_text="—", description=_l("Optional: the place is then the holder's location."))
    lat = StringField(_l("Latitude"), description=_l("A point with a radius, or an area below (WGS-84)."))
    lon = StringField(_l("Longitude"))
    radius_m = StringField(_l("Radius (metres)"))
    polygon = TextAreaField(_l("Area (GeoJSON polygon)"))
    site_lat = StringField(_l("Designated site: latitude"),
                           description=_l("Construction waste only: where the waste must go."))
    site_lon = StringField(_l("Designated site: longitude"))
    site_radius_m = StringField(_l("Designated site: radius (metres)"))
    site_polygon = TextAreaField(_l("Designated site: area (GeoJSON polygon)"))
    starts_at = LocalDateTimeField(_l("Valid from"), validators=[validators.Optional()])
    ends_at = LocalDateTimeField(_l("Valid until"), validators=[validators.Optional()])
    status = SelectField(_l("Status"), choices=_statuses, default="valid", validate_choice=False,
                         description=_l("Only a valid permit counts for the rules."))
    approved_by = RecordPicker(_l("Approved by"), query_factory=_units, get_label=shown_label, allow_blank=True,
                               blank_text="—")
    filed_on = DateField(_l("Filed with the committee on (书面备案)"), widget=DatePickerWidget(),
                         validators=[validators.Optional()])
    filing_reference = StringField(_l("Filing reference (备案文号)"))
    declared_by = RecordPicker(_l("Declared by (申报单位)"), query_factory=_units, get_label=shown_label,
                               allow_blank=True, blank_text="—",
                               description=_l("Temporary markets: the sub-district that applied (镇街申报)."))
    reviewed_by = RecordPicker(_l("Reviewed by (审定单位)"), query_factory=_units, get_label=shown_label,
                               allow_blank=True, blank_text="—",
                               description=_l("Temporary markets: the bureau that reviewed it for the committee."))


def _number(form: PermitForm, name: str) -> float | None:
    text = (form[name].data or "").strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        form[name].errors = list(form[name].errors or []) + [_("Enter a number.")]
        return None
    return number


def _instant(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=_zone()) if value is not None else None


class PermitView(MasterDataView):
    """The permits register: readers list and open permits; editors add and change them."""

    form = PermitForm
    column_list = ("number", "kind", "holder_name", "approved_by", "starts_at", "ends_at", "status", "filed_on")
    column_details_list = ("number", "kind", "holder_name", "holder_contact", "holder", "place", "radius_m", "site",
                           "site_radius_m", "starts_at", "ends_at", "status", "declared_by", "reviewed_by",
                           "approved_by", "filed_on", "filing_reference", "updated_at")
    column_searchable_list = ("number", "holder_name")
    column_filters = (FilterEqual(Permit.kind, _l("Kind"), options=ShownChoices(lambda: _kinds()[1:])),
                      FilterEqual(Permit.status, _l("Status"), options=ShownChoices(_statuses)))
    column_default_sort = ("starts_at", True)
    column_formatters = {"kind": lambda v, c, m, n: kind_name(m.kind, short_lang()),
                         "status": lambda v, c, m, n: status_name(m.status, short_lang()),
                         "starts_at": lambda v, c, m, n: _local(m.starts_at),
                         "ends_at": lambda v, c, m, n: _local(m.ends_at),
                         "updated_at": lambda v, c, m, n: _local(m.updated_at)}
    column_labels = {**FIELD_NAMES, "updated_at": _l("Changed at")}

    def on_form_prefill(self, form: PermitForm, id) -> None:
        permit = db.session.get(Permit, id)
        if permit is None:
            return
        for prefix, geometry, radius in (("", permit.place, permit.radius_m), ("site_", permit.site,
                                                                              permit.site_radius_m)):
            if geometry and geometry.get("type") == "Point":
                form[f"{prefix}lon"].data, form[f"{prefix}lat"].data = (f"{c:g}" for c in geometry["coordinates"])
                form[f"{prefix}radius_m"].data = f"{radius:g}"
            elif geometry:
                form[f"{prefix}polygon"].data = json.dumps(geometry, ensure_ascii=False)
        zone = _zone()
        form.starts_at.data = permit.starts_at.astimezone(zone).replace(tzinfo=None)
        form.ends_at.data = permit.ends_at.astimezone(zone).replace(tzinfo=None)

    def create_model(self, form: PermitForm) -> Permit | bool:
        return self._save(form, None)

    def update_model(self, form: PermitForm, model: Permit) -> bool:
        return bool(self._save(form, model))

    def _save(self, form: PermitForm, permit: Permit | None) -> Permit | bool:
        numbers = {name: _number(form, name) for name in NUMBER_FIELDS}
        if any(form[name].errors for name in NUMBER_FIELDS):
            return False
        return save_or_place(form, lambda: save_permit(db.session, PermitInput(
            number=form.number.data or "", kind=form.kind.data or "", holder_name=form.holder_name.data or "",
            holder_contact=form.holder_contact.data or "", holder=form.holder.data, polygon=form.polygon.data or "",
            site_polygon=form.site_polygon.data or "", starts_at=_instant(form.starts_at.data),
            ends_at=_instant(form.ends_at.data), status=form.status.data or "", approved_by=form.approved_by.data,
            filed_on=form.filed_on.data, filing_reference=form.filing_reference.data or "",
            declared_by=form.declared_by.data, reviewed_by=form.reviewed_by.data, **numbers), permit), FORM_FIELDS)


class PermitKindForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=_kinds, validate_choice=False)
    approver = RecordPicker(_l("Approved by"), query_factory=_units, get_label=shown_label, allow_blank=True,
                            blank_text="—", description=_l("Only this unit's permits of the kind count for the "
                                                           "rules; empty: any unit's."))
    reviewer = RecordPicker(_l("Reviewed by (审定单位)"), query_factory=_units, get_label=shown_label,
                            allow_blank=True, blank_text="—",
                            description=_l("The unit that reviews an application before the approval, if any."))
    filing_required = BooleanField(_l("Filed in writing with the committee (书面备案)"),
                                   description=_l("An approval of the kind needs its filing date and reference."))


class PermitKindView(MasterDataView):
    """Who approves each kind of permit (seed 001: the committee approves temporary markets, the bureau street
    promotion and construction waste and files them with the committee); the engine reads these settings."""

    form = PermitKindForm
    column_list = ("kind", "approver", "reviewer", "filing_required", "updated_at")
    column_details_list = column_list
    column_formatters = {"kind": lambda v, c, m, n: kind_name(m.kind, short_lang()),
                         "approver": lambda v, c, m, n: shown_label(m.approver) if m.approver else "—",
                         "reviewer": lambda v, c, m, n: shown_label(m.reviewer) if m.reviewer else "—",
                         "updated_at": lambda v, c, m, n: _local(m.updated_at)}
    column_labels = {"kind": _l("Kind"), "approver": _l("Approved by"), "reviewer": _l("Reviewed by (审定单位)"),
                     "filing_required": _l("Filed in writing with the committee (书面备案)"),
                     "updated_at": _l("Changed at")}

    def create_model(self, form: PermitKindForm) -> PermitKind | bool:
        return self._save(form, None)

    def update_model(self, form: PermitKindForm, model: PermitKind) -> bool:
        return bool(self._save(form, model))

    def _save(self, form: PermitKindForm, settings: PermitKind | None) -> PermitKind | bool:
        return save_or_place(form, lambda: save_permit_kind(db.session, form.kind.data or "", form.approver.data,
                                                            form.reviewer.data, bool(form.filing_required.data),
                                                            settings))


class PermitUploadForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])


class PermitImportView(TableImportView):
    """Every row is stored, or none: each bad row is named."""

    form_class = PermitUploadForm
    page = "admin/permits/import.html"
    download = "permits-template.csv"
    field_names = FIELD_NAMES

    def headers(self) -> list[str]:
        return template_headers()

    def context(self) -> dict:
        return {"kinds": KIND_NAMES, "statuses": STATUS_NAMES}

    def _import(self, form: PermitUploadForm) -> ImportReport | None:
        return import_upload(form, "permits",
                             lambda path, _name: import_permits(db.session, read_table(path), _zone()))


def permits_layer(session, datum: str, lang: str) -> tuple[str, dict]:
    """The valid permits on the zone map (their places, in the tiles' datum), so an editor drawing a zone sees what
    is approved where; a permit from a unit other than its kind's approver is marked as not counting."""
    features, by_kind, zone = [], approvers(session), campaign_zone(campaign_for(session, None))
    sep = "：" if lang == "zh" else ": "
    for permit in session.scalars(select(Permit).where(Permit.status == "valid").order_by(Permit.number)):
        feature = geojson(permit, lang, zone, by_kind.get(permit.kind))
        feature["geometry"] = geometry_from_wgs84(permit.place, datum)
        shown = feature["properties"]
        starts, ends = (f"{moment.astimezone(zone):%Y-%m-%d %H:%M}" for moment in (permit.starts_at, permit.ends_at))
        shown["popup"] = [f"{permit.number} · {shown['kind_name']}", permit.holder_name,
                          f"{_('Approved by')}{sep}{shown['approved_by']['name']}",
                          f"{_('Period of validity')}{sep}{starts} – {ends}",
                          shown["not_counted_because"] or _("Counts as an approval for its kind at this place.")]
        features.append(feature)
    return _("Permits (审批/备案)"), {"type": "FeatureCollection", "features": features}


EXTRA_LAYERS.append(permits_layer)

