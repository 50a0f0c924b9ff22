"""Admin: importing the official evaluation's deductions (导入正式测评扣分) after the visit, CSV or XLSX, one row per
point and item. Every row is stored (each opening a case for the point's unit) or none, each bad row and column
named in the user's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField

from admin.people import TableImportView, import_upload
from engine.authoring.campaigns import campaign_for
from engine.core.tables import ImportReport, read_table
from engine.readiness.official import import_deductions, template_headers
from rules.problems import InputError, Problem
from web.common.extensions import db

FIELD_NAMES = {"point": _l("Point code (点位编号)"), "item": _l("Item code (测评项目编号)"),
               "points": _l("Points deducted (扣分)"), "note": _l("Note (说明)"),
               "visited_on": _l("Evaluation date (测评日期)"), "file": _l("File"), "row": _l("Row")}


class DeductionUploadForm(FlaskForm):
    name = StringField(_l("Round name (empty: 正式测评 and the first date)"))
    file = FileField(_l("File"), validators=[FileRequired()])


class DeductionImportView(TableImportView):
    """Every row is stored, or none: each bad row is named."""

    form_class = DeductionUploadForm
    page = "admin/evaluation/import.html"
    download = "official-deductions-template.csv"
    field_names = FIELD_NAMES

    def headers(self) -> list[str]:
        return template_headers()

    def _import(self, form: DeductionUploadForm) -> ImportReport | None:
        def load(path, _name) -> ImportReport:  # a report with problems has written nothing
            campaign = campaign_for(db.session, None)
            if campaign is None:
                raise InputError([Problem("file", "no active campaign", "没有进行中的专项行动")])
            return import_deductions(db.session, campaign, read_table(path), current_user,
                                     (form.name.data or "").strip())

        return import_upload(form, "deductions", load)
