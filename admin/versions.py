"""Admin: ruleset versions — each campaign's published versions, the draft against the active version
field by field, publishing (validation and the durable_rules check first, nothing published on error)
and rollback to an older version. Readers see everything; only editors publish or roll back."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from admin import base
from admin.base import Guarded
from admin.field_labels import field_label
from engine.authoring import drafts, scenario_gate, scenarios, versions
from engine.authoring import templates as task_templates
from engine.authoring.vocabulary import InputError, Problem, shown
from engine.core.models import DEFAULT_TIMEZONE, Campaign, ScenarioOverride, TaskTemplate
from web.common.extensions import db
from web.common.i18n import short_lang


class PublishForm(FlaskForm):
    comment = TextAreaField(_l("Comment (why this version)"), validators=[DataRequired(), Length(max=2000)])
    reviewed = HiddenField(validators=[DataRequired()])  # the draft hash the admin reviewed: publish exactly that


class OverrideForm(FlaskForm):
    reason = TextAreaField(_l("Why publish despite the failing scenarios"),
                           validators=[DataRequired(), Length(min=10, max=2000)])
    reviewed = HiddenField(validators=[DataRequired()])  # the draft the failures were shown for


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the second administrator's confirmation of one override."""


class RollbackForm(FlaskForm):
    comment = TextAreaField(_l("Why roll back"), validators=[DataRequired(_l("Say why you roll back.")),
                                                             Length(max=2000)])


def _shown_problems(found: list[Problem], lang: str) -> list[dict[str, str]]:
    return [{"path": p.where, "message": p.message(lang)} for p in found]


def _template_fields(changes: list, lang: str) -> dict[str, list[dict[str, object]]]:
    """For each task template whose version changes, the form fields that differ between the two versions."""
    out: dict[str, list[dict[str, object]]] = {}
    for c in changes:
        if c.section != "templates" or not isinstance(c.new, (int, dict)):
            continue
        new = c.new.get("version") if isinstance(c.new, dict) else c.new
        old = c.old.get("version") if isinstance(c.old, dict) else c.old
        rows = {t.version: t for t in db.session.scalars(select(TaskTemplate).where(
            TaskTemplate.code == c.subject, TaskTemplate.version.in_([v for v in (old, new) if v])))}
        if new in rows:
            out[c.subject] = [{"kind": f.kind, "name": f.name, "parts": f.parts,
                               "label": f.label(lang) if f.zh or f.en else field_label(f.name)}
                              for f in task_templates.changed_fields(rows.get(old), rows[new])]
    return out


def _campaign(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


class VersionsView(Guarded, BaseView):
    roles = base.READERS

    @expose("/")
    def index(self):
        return self._versions_page()

    def _versions_page(self, refused: tuple[int, int, list[str]] | None = None):
        """`refused`: a rollback form sent back (campaign, version number, its errors), shown next to its field."""
        found = list(db.session.scalars(select(Campaign).order_by(Campaign.id)))
        draft_hashes = {c.id: drafts.draft_view(db.session, c).content_hash for c in found}
        return self.render("admin/versions/index.html", campaigns=[(c, versions.history(db.session, c)) for c in found],
                           drafts=draft_hashes, rollback_form=RollbackForm(), may_edit=base.may_edit(),
                           zones={c.id: ZoneInfo(c.timezone or DEFAULT_TIMEZONE) for c in found},
                           lang=short_lang(), refused=refused)

    @expose("/<int:campaign_id>/draft", methods=("GET", "POST"))
    def draft(self, campaign_id: int):
        campaign = _campaign(campaign_id)
        form = PublishForm()
        publishing = request.method == "POST"
        if publishing:
            base.require_editor()
        publishing = publishing and form.validate_on_submit()
        if publishing:
            review = versions.publish_reviewed(db.session, campaign, form.reviewed.data, current_user.id,
                                               form.comment.data.strip())
        else:
            review = versions.review(db.session, campaign)
        if review.published is not None:
            try:
                db.session.commit()
            except IntegrityError:  # another editor published the same number a moment earlier
                db.session.rollback()
                flash(_("Nothing was published: another version was published at the same moment. Review the "
                        "differences again."), "warning")
                return redirect(url_for(".draft", campaign_id=campaign_id))
            flash(_("Published version %(number)s. Engine workers use it from their next batch.",
                    number=review.published.number), "success")
            return redirect(url_for(".index"))
        if review.refused == "unchanged":
            flash(_("Nothing was published: the draft is the same as the active version."), "info")
        elif review.refused == "changed_since_review":
            flash(_("Nothing was published: the draft changed since you reviewed it. Review the differences below "
                    "and publish again."), "warning")
        elif review.refused == "problems":
            db.session.rollback()
            flash(_("Nothing was published: the draft has problems (listed next to what caused them)."), "danger")
        elif review.refused == "scenarios":
            db.session.rollback()
            flash(_("Nothing was published: scenarios fail on the draft (the differences are listed below)."), "danger")
        form.reviewed.data = review.draft.content_hash
        lang = short_lang()
        beside = [(c, _shown_problems(review.problems_of(c), lang)) for c in review.changes]
        override_form = OverrideForm(formdata=None, reviewed=review.draft.content_hash)
        return self.render("admin/versions/draft.html", campaign=campaign, draft=review.draft, active=review.active,
                           changes=beside, form=form, may_edit=base.may_edit(), lang=lang,
                           template_fields=_template_fields(review.changes, lang),
                           problems=_shown_problems(review.draft.problems, lang), shown=shown, unchanged=review.unchanged,
                           failed=[o.as_dict(lang) for o in review.failed if not o.passed],
                           override_form=override_form, confirm_form=ConfirmForm(),
                           overrides=scenario_gate.pending(db.session, campaign, review.draft.content_hash))

    @expose("/<int:campaign_id>/override", methods=("POST",))
    def override(self, campaign_id: int):
        """Ask to publish this draft despite its failing scenarios; a second administrator confirms."""
        base.require_editor()
        campaign = _campaign(campaign_id)
        form = OverrideForm()
        draft = drafts.draft_view(db.session, campaign)
        if not form.validate_on_submit():
            for error in form.reason.errors:
                flash(f"{form.reason.label.text}: {error}", "danger")
        elif form.reviewed.data != draft.content_hash:
            flash(_("Nothing was asked: the draft changed since you reviewed it."), "warning")
        else:
            outcomes = scenario_gate.against_draft(db.session, campaign, draft)
            if all(o.passed for o in outcomes):
                flash(_("Every scenario passes on the draft: publish it without an override."), "info")
            else:
                scenario_gate.request_override(db.session, campaign, draft.content_hash, form.reason.data,
                                               current_user, outcomes)
                db.session.commit()
                flash(_("Override asked. A second administrator must confirm it before the draft can be published."),
                      "warning")
        return redirect(url_for(".draft", campaign_id=campaign_id))

    @expose("/<int:campaign_id>/override/<int:override_id>/confirm", methods=("POST",))
    def confirm_override(self, campaign_id: int, override_id: int):
        base.require_editor()
        found = db.session.get(ScenarioOverride, override_id)
        if found is None or found.campaign_id != campaign_id or not ConfirmForm().validate_on_submit():
            abort(404)
        try:
            scenario_gate.confirm_override(db.session, found, current_user)
        except InputError as err:
            db.session.rollback()
            for p in err.problems:
                flash(p.message(short_lang()), "danger")
        else:
            db.session.commit()
            flash(_("Override confirmed: the draft may now be published."), "success")
        return redirect(url_for(".draft", campaign_id=campaign_id))

    @expose("/<int:campaign_id>/diff")
    def compare(self, campaign_id: int):
        campaign = _campaign(campaign_id)
        rows = versions.history(db.session, campaign)
        numbers = [r.version.number for r in rows]
        new = request.args.get("new", type=int) or (numbers[0] if numbers else 0)
        old = request.args.get("old", type=int) or (numbers[1] if len(numbers) > 1 else new)
        try:
            changes = versions.between(db.session, campaign, old, new)
        except InputError as err:
            lang = short_lang()
            for p in err.problems:
                flash(f"{p.where}: {p.as_dict(lang)['message']}", "danger")
            changes = []
        lang = short_lang()
        return self.render("admin/versions/diff.html", campaign=campaign, rows=rows, old=old, new=new,
                           changes=changes, lang=lang, shown=shown, template_fields=_template_fields(changes, lang))

    @expose("/<int:campaign_id>/rollback/<int:number>", methods=("POST",))
    def rollback(self, campaign_id: int, number: int):
        base.require_editor()
        campaign = _campaign(campaign_id)
        form = RollbackForm()
        if form.comment.data is not None and not form.comment.data.strip():
            form.comment.data = ""  # spaces are no reason
        if not form.validate_on_submit():
            if getattr(form, "csrf_token", None) is not None and form.csrf_token.errors:
                abort(400)
            return self._versions_page(refused=(campaign_id, number, form.comment.errors)), 422
        try:
            version = drafts.rollback(db.session, campaign, number, author_id=current_user.id,
                                      comment=form.comment.data.strip())
            db.session.commit()
        except InputError:
            db.session.rollback()
            abort(404)
        except IntegrityError:
            db.session.rollback()
            flash(_("Nothing was published: another version was published at the same moment. Review the "
                    "differences again."), "warning")
            return redirect(url_for(".index"))
        flash(_("Version %(old)s republished as version %(number)s. The draft is unchanged.", old=number,
                number=version.number), "success")
        lang = short_lang()
        for outcome in scenarios.run(db.session, campaign, version.number):  # shown, never blocking a rollback
            if not outcome.passed:
                flash(_("Scenario fails on version %(number)s: %(title)s — %(why)s", number=version.number,
                        title=outcome.title, why="; ".join(d.as_dict(lang)["message"] for d in outcome.differences)),
                      "warning")
        db.session.rollback()
        return redirect(url_for(".index"))
