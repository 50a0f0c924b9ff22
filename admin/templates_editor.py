"""Admin: the low-code task-template editor — fields with labels, options and order (drag to reorder),
a checklist, evidence rules and instructions, a live preview rendered by the very form class the
field unit gets, and saving as a new template version."""
from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import HiddenField

from admin import base
from admin.base import Guarded
from admin.field_labels import field_label
from engine.authoring import templates as task_templates
from engine.authoring.vocabulary import InputError
from web.common.display import name_of
from web.common.extensions import db
from web.common.i18n import short_lang
from web.common.taskforms import form_class

BLANK = {"code": "", "name_zh": "", "name_en": "", "instructions_zh": "", "instructions_en": "",
         "fields": [{"name": "result", "type": "textarea", "zh": "处置情况", "en": "What was done", "required": True}],
         "checklist": [], "evidence_rules": {}}


def _changed_words(changes: list[task_templates.FieldChange], lang: str) -> str:
    """What the new version changes, in one sentence for the flash after saving."""
    if not changes:
        return _("Nothing changed from the previous version.")
    kinds = {"added": _("added"), "removed": _("removed"), "changed": _("changed")}
    return _("Changed fields: %(fields)s", fields="; ".join(
        f"{f.label(lang) if f.zh or f.en else field_label(f.name)} ({kinds[f.kind]})" for f in changes))


class DesignForm(FlaskForm):
    design = HiddenField()


class TemplateEditorView(Guarded, BaseView):
    roles = base.READERS  # auditors and assessors read templates; only admins save (preview changes nothing)

    @expose("/")
    def index(self):
        return self.render("admin/templates_editor/index.html", rows=task_templates.latest_of_each(db.session),
                           may_edit=base.may_edit(), lang=short_lang())

    @expose("/edit/", methods=("GET", "POST"))
    def edit(self):
        form = DesignForm()
        code = request.args.get("code", "")
        current = task_templates.latest(db.session, code) if code else None
        spec = task_templates.spec_of(current) if current else dict(BLANK)
        problems: list[dict] = []
        if request.method == "POST":
            base.require_editor()
        if form.validate_on_submit():
            try:
                spec = task_templates.parse_design(form.design.data)
                previous = task_templates.latest(db.session, str(spec.get("code") or ""))
                row = task_templates.save_version(db.session, spec)
            except InputError as err:
                db.session.rollback()
                lang = short_lang()
                problems = [{"path": p.where, "message": p.message(lang)} for p in err.problems]
            else:
                db.session.commit()
                saved = _("Saved as version %(version)s of %(code)s. Tasks created before keep their version.",
                          version=row.version, code=row.code)
                if previous is not None:  # one message: what was saved and what it changed
                    saved = f"{saved} {_changed_words(task_templates.changed_fields(previous, row), short_lang())}"
                flash(saved, "success")
                return redirect(url_for(".edit", code=row.code))
        return self.render("admin/templates_editor/edit.html", form=form, spec=spec, problems=problems,
                           version=current.version if current else None,
                           types=[(t, name_of("field_type", t)) for t in task_templates.FIELD_TYPES],
                           may_edit=base.may_edit())

    @expose("/preview", methods=("POST",))
    def preview(self):
        """The runtime form of the design being edited, exactly as the field unit's page renders it."""
        spec = request.get_json(silent=True) or {}
        lang = short_lang()
        template, problems = task_templates.preview(spec)
        try:
            form = form_class(template, lang, FlaskForm)(meta={"csrf": False})
        except Exception:  # an incomplete design: show what can be shown, the problems say the rest
            form = None
        html = render_template("task_form.html", form=form, template=template, lang=lang)
        return jsonify({"html": html, "problems": [{"path": p.where, "message": p.as_dict(lang)["message"]}
                                                   for p in problems]})
