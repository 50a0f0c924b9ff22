"""Admin: import events from a CSV or XLSX export — upload, map the columns, dry run, import with progress."""
from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from admin.base import Guarded, READERS, named_choices, require_editor
from engine.intake import imports
from engine.authoring.vocabulary import InputError
from engine.core.models import DEFAULT_TIMEZONE, ImportRun
from engine.space.datum import DATUMS
from web.common.extensions import db
from web.common.display import name_of
from web.common.i18n import short_lang
from workers.queues import enqueue_import

TARGET_LABELS = {
    "source_event_id": _l("Source id (unique per source)"), "category": _l("Category code"),
    "occurred_at": _l("Occurred at"), "grid": _l("Grid code"), "lat": _l("Latitude"), "lon": _l("Longitude"),
    "address": _l("Address"), "description": _l("Description"), "filing_condition": _l("Filing condition"),
    "source_type": _l("Source type"), "reporter_name": _l("Reporter"), "reporter_phone": _l("Reporter's phone"),
}


class UploadForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])
    source = StringField(_l("Source system"), default="hotline-12345", validators=[DataRequired(), Length(max=64)],
                         description=_l("Events are unique per source and source id: importing the same rows "
                                        "again creates nothing."))
    source_type = SelectField(_l("Source type"), choices=named_choices("source_type"), default="hotline")
    timezone = StringField(_l("Time zone of times without an offset"), default=DEFAULT_TIMEZONE,
                           validators=[DataRequired(), Length(max=64)])
    crs = SelectField(_l("Datum of the locations"), choices=[(d, d) for d in DATUMS], default="wgs84",
                      description=_l("gcj02 for Gaode or Tencent pickers and most phones, bd09 for Baidu; "
                                     "points are stored in WGS-84."))


def mapping_form(headers: list[str], mapping: dict[str, str]) -> FlaskForm:
    choices = [("", "—")] + [(h, h) for h in headers if h]

    class MappingForm(FlaskForm):
        pass

    for target in imports.TARGETS + imports.REPORTER_TARGETS:
        setattr(MappingForm, target, SelectField(TARGET_LABELS[target], choices=choices, default=mapping.get(target, "")))
    return MappingForm()


class ImportView(Guarded, BaseView):
    """Only administrators import; auditors and assessors read the runs, their progress and their reports."""

    roles = READERS

    def _folder(self) -> Path:
        return Path(current_app.instance_path) / "imports"

    def _run(self, run_id: int) -> ImportRun:
        job = db.session.get(ImportRun, run_id)
        if job is None:
            abort(404)
        return job

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = UploadForm()
        if request.method == "POST":
            require_editor()
        if form.validate_on_submit():
            upload = form.file.data
            try:
                job = imports.new_run(db.session, self._folder(), upload.filename or "upload.csv", upload.read(),
                                      form.source.data, form.source_type.data, form.timezone.data, current_user.id,
                                      form.crs.data)
            except InputError as err:
                db.session.rollback()
                for p in err.problems:
                    flash(p.as_dict(short_lang())["message"], "danger")
            else:
                db.session.commit()
                return redirect(url_for(".mapping", run_id=job.id))
        runs = db.session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(20)).all()
        return self.render("admin/imports/index.html", form=form, runs=runs)

    @expose("/<int:run_id>/", methods=("GET", "POST"))
    def mapping(self, run_id: int):
        job = self._run(run_id)
        table = imports.read_table(Path(job.stored_path))
        form = mapping_form(table.headers, job.mapping)
        report = None
        if request.method == "POST":
            require_editor()
        if request.method == "POST" and job.status == "uploaded" and form.validate_on_submit():
            job.mapping = {t: getattr(form, t).data for t in imports.TARGETS + imports.REPORTER_TARGETS
                           if getattr(form, t).data}
            try:
                imports.check_mapping(table.headers, job.mapping)
                if request.form.get("action") == "import":
                    job.status = "queued"
                    db.session.commit()

                    enqueue_import(current_app.extensions["civicrules.settings"], job.id)
                    return redirect(url_for(".progress_page", run_id=job.id))
                report = imports.dry_run(db.session, job)
                db.session.commit()
            except InputError as err:
                db.session.rollback()
                for p in err.problems:
                    flash(f"{TARGET_LABELS.get(p.where, p.where)}: {p.as_dict(short_lang())['message']}", "danger")
        elif job.status != "uploaded":
            return redirect(url_for(".progress_page", run_id=job.id))
        return self.render("admin/imports/mapping.html", job=job, form=form, headers=table.headers,
                           preview=table.rows[:5], report=report, lang=short_lang())

    @expose("/<int:run_id>/progress")
    def progress_page(self, run_id: int):
        return self.render("admin/imports/run.html", job=self._run(run_id), lang=short_lang(),
                           cancel_form=FlaskForm())

    @expose("/<int:run_id>/progress.json")
    def progress(self, run_id: int):
        job = self._run(run_id)
        return jsonify({"status": job.status, "status_name": name_of("import_status", job.status), "total": job.total, "processed": job.processed,
                        "created": job.created, "duplicates": job.duplicates, "refused": job.refused,
                        "error": job.error})

    @expose("/<int:run_id>/cancel", methods=("POST",))
    def cancel(self, run_id: int):
        require_editor()
        form = FlaskForm()
        if form.validate_on_submit():
            imports.cancel(db.session, self._run(run_id))
            db.session.commit()
            flash(_("The import stops after its current chunk."), "info")
        return redirect(url_for(".progress_page", run_id=run_id))
