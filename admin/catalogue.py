"""Admin: importing a city's 立案/处置/结案 standard (导入问题类别目录) into the catalogue of categories.

The page reads the file through engine.authoring.catalogue.import_catalogue: good rows are stored, each bad row
is listed with its sheet, row and reason; a file that cannot be read is refused next to the file field.
"""
from __future__ import annotations


from flask import request
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from admin.base import READERS, Guarded, require_editor
from admin.people import import_upload
from engine.authoring.catalogue import CatalogueImport, import_catalogue
from engine.authoring.catalogue_import import COLUMNS, LIMIT_EXAMPLES
from engine.core.tables import MAX_FILE_BYTES
from web.common.extensions import db
from web.common.i18n import short_lang

#: A bad row's column, as the page names it.
FIELD_NAMES = {"code": _l("Subclass code"), "name": _l("Subclass name"), "condition": _l("Filing condition"),
               "limit": _l("Time limit"), "handler": _l("Handling unit"), "file": _l("File")}


class CatalogueUploadForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])


class CatalogueImportView(Guarded, BaseView):
    """Readers see the page and the expected columns; only editors upload."""

    roles = READERS

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = CatalogueUploadForm()
        report = None
        if request.method == "POST":
            require_editor()
            if form.validate_on_submit():
                report = self._import(form)
        return self.render("admin/catalogue/import.html", form=form, report=report, lang=short_lang(),
                           field_names=FIELD_NAMES, max_mb=MAX_FILE_BYTES // 2**20, examples=LIMIT_EXAMPLES,
                           columns="、".join(names[0] for names in COLUMNS.values()))

    def _import(self, form: CatalogueUploadForm) -> CatalogueImport | None:
        return import_upload(form, "standard", lambda path, name: import_catalogue(db.session, path, source=name))
