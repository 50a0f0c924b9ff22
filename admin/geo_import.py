"""Admin: onboarding a city's geography (导入地理数据) — grids, zones and frontage holders from GeoJSON, a zipped
Shapefile, or for holders CSV/XLSX. Every feature is stored or none; each bad one is named by number and field."""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Response, request
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Length

from admin.base import EDITORS, Guarded, require_editor, shown_label
from admin.people import place_problems
from engine.core.models import Campaign
from engine.core.tables import MAX_FILE_BYTES
from engine.space.geo_files import GEOJSON_SUFFIXES, TABLE_SUFFIXES
from engine.space.geo_import import COLUMNS, GeoImport, import_file
from engine.space.holder_import import template_csv
from rules.problems import InputError
from web.common.extensions import db
from web.common.i18n import short_lang

SUFFIXES = (*GEOJSON_SUFFIXES, ".zip", *TABLE_SUFFIXES)
#: Per target, each field's Chinese header and its English attribute name, as the page lists them.
HEADERS = {target: [(hints[0], next(h for h in hints if h.isascii())) for hints in known.values()]
           for target, known in COLUMNS.items()}
FIELD_NAMES = {"code": _l("Code"), "grid_code": _l("15-digit grid code"), "name_zh": _l("Name (Chinese)"),
               "name_en": _l("Name (English)"), "name": _l("Name"), "unit": _l("Responsible unit"), "kind": _l("Kind"),
               "width_metres": _l("Width (metres)"), "buffer_metres": _l("Buffer (metres)"),
               "campaign": _l("Campaign"), "campaign_id": _l("Campaign"), "address": _l("Address"),
               "grid": _l("Grid"), "contact": _l("Contact"), "lat": _l("Latitude"), "lon": _l("Longitude"),
               "reach_metres": _l("Reach (metres)"), "letter_number": _l("Letter number"),
               "letter_signed_on": _l("Letter signed on"), "letter_signer": _l("Letter signer"),
               "letter_duties": _l("Duties in the letter"), "letter_valid_from": _l("Letter valid from"),
               "letter_valid_until": _l("Letter valid until"), "geometry": _l("Shape"), "row": _l("Row"),
               "file": _l("File"), "crs": _l("Coordinate system")}


def _campaigns() -> list[tuple[str, str]]:
    return [("", _("Every campaign"))] + [(str(c.id), shown_label(c)) for c in
                                           db.session.scalars(select(Campaign).order_by(Campaign.code))]


class GeoUploadForm(FlaskForm):
    target = SelectField(_l("The file holds"), choices=[("grids", _l("Grids")), ("zones", _l("Zones")),
                                                        ("holders", _l("Frontage holders (门前三包)"))])
    file = FileField(_l("GeoJSON, zipped Shapefile (.shp, .shx, .dbf, .prj), or CSV/XLSX for holders"),
                     validators=[FileRequired()])
    crs = StringField(_l("Coordinate system"), validators=[Length(max=64)],
                      description=_l("Leave empty to read a Shapefile's .prj (GeoJSON and tables: WGS-84). Or declare "
                                     "it: wgs84, gcj02 (Gaode, Tencent), bd09 (Baidu), or a code such as EPSG:4549."))
    campaign = SelectField(_l("Zones apply to"), choices=_campaigns, default="", validate_choice=False)
    publish = BooleanField(_l("Publish imported zones at once (otherwise they are drafts)"))


class GeoImportView(Guarded, BaseView):
    """Administrators only: the page changes master data that every rule reads."""

    roles = EDITORS

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = GeoUploadForm()
        report = None
        if request.method == "POST":
            require_editor()
            if form.validate_on_submit():
                report = self._import(form)
        return self.render("admin/geo_import/index.html", form=form, report=report, lang=short_lang(),
                           field_names=FIELD_NAMES, headers=HEADERS, max_mb=MAX_FILE_BYTES // 2**20)

    @expose("/holders-template.csv")
    def holders_template(self):
        return Response(template_csv(), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=frontage-holders-template.csv"})

    def _import(self, form: GeoUploadForm) -> GeoImport | None:
        upload = form.file.data
        suffix = Path(upload.filename or "").suffix.lower()
        data = upload.read(MAX_FILE_BYTES + 1)
        if suffix not in SUFFIXES:
            form.file.errors.append(_("Upload a .geojson, a .zip holding a Shapefile, or a .csv or .xlsx file."))
            return None
        if len(data) > MAX_FILE_BYTES:
            form.file.errors.append(_("The file is larger than %(mb)s MB.", mb=MAX_FILE_BYTES // 2**20))
            return None
        campaign = int(form.campaign.data) if (form.campaign.data or "").isdecimal() else None
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"upload{suffix}"
            path.write_bytes(data)
            try:
                report = import_file(db.session, form.target.data, path, form.crs.data, campaign, form.publish.data)
            except InputError as err:
                db.session.rollback()
                place_problems(form, err.problems)
                return None
        if report.problems:
            db.session.rollback()
        else:
            db.session.commit()
        return report
