"""Admin: replay a period's stored events through the draft and the active version (or two versions) and
see the difference per unit. The work is an RQ job in an engine worker with a progress bar and Cancel.

Readers (admin, auditor, assessor) may start a replay too: it writes nothing to the domain tables (its
result lives a day in Redis), like the simulator. Starting and cancelling are POSTs with a CSRF token.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, jsonify, redirect, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import DataRequired, NumberRange, Optional

from admin.base import READERS, Guarded, may_edit
from engine.core import clock
from engine.core.models import DEFAULT_TIMEZONE, Campaign
from engine.authoring import replay_request
from web.common.extensions import db
from web.common.i18n import short_lang
from workers.replay import fetch, outcome, recent, request_cancel, start, state

STATUSES = {"queued": _l("Waiting for an engine worker"), "started": _l("Running"), "finished": _l("Replay finished"),
            "failed": _l("Failed"), "stopped": _l("Stopped"), "canceled": _l("Cancelled"), "deferred": _l("Waiting"),
            "scheduled": _l("Waiting")}
KINDS = {"added": _l("Task added"), "removed": _l("Task removed"), "deadline": _l("Deadline changed"),
         "rule": _l("Rule changed"), "points": _l("Points changed")}


class ReplayForm(FlaskForm):
    campaign = SelectField(_l("Campaign"), coerce=int, validators=[DataRequired()])
    date_from = DateField(_l("From (local date)"), validators=[DataRequired()])
    date_to = DateField(_l("To (local date, inclusive)"), validators=[DataRequired()])
    compare = SelectField(_l("Compare"), choices=[("draft", _l("Draft against the active version")),
                                                  ("versions", _l("Two published versions"))], default="draft")
    base_version = IntegerField(_l("Base version"), validators=[Optional(), NumberRange(min=1)])
    other_version = IntegerField(_l("Compared version"), validators=[Optional(), NumberRange(min=1)])


def _last_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def _problems(form: ReplayForm, campaign: Campaign | None) -> bool:
    """Check what the job would refuse, next to the field; True when all is well."""
    if campaign is None:
        form.campaign.errors.append(_("No such campaign."))
        return False
    versions = (form.base_version.data, form.other_version.data) if form.compare.data == "versions" else None
    found = replay_request.refusals(db.session, campaign, form.date_from.data, form.date_to.data, versions)
    lang = short_lang()
    for problem in found:
        getattr(form, problem.where).errors.append(problem.message(lang))
    return not found


def _ruleset_label(value: Any) -> str:
    if value == "draft":
        return _("Draft")
    if value == "active":
        return _("Active version")
    return _("Version %(n)s", n=value)


def _labelled(progress: dict[str, Any]) -> dict[str, Any]:
    return {**progress, "label": str(STATUSES.get(progress["status"], progress["status"]))}


def _local(value: str | None, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else "—"


def _may_cancel(job) -> bool:
    """Whoever started a replay may stop it, and administrators may stop any; other readers only watch."""
    return may_edit() or (job.meta or {}).get("by") == current_user.username


class ReplayView(Guarded, BaseView):
    roles = READERS

    def _settings(self):
        return current_app.extensions["civicrules.settings"]

    def _job(self, job_id: str):
        job = fetch(self._settings(), job_id)
        if job is None:
            abort(404)
        return job

    @expose("/", methods=("GET", "POST"))
    def index(self):
        lang = short_lang()
        campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.status != "active", Campaign.id)))
        form = ReplayForm()
        form.campaign.choices = [(c.id, f"{c.code} · {c.name_zh if lang == 'zh' else c.name_en}") for c in campaigns]
        if not form.is_submitted():
            first = ZoneInfo(campaigns[0].timezone if campaigns else DEFAULT_TIMEZONE)  # the campaign selected first
            form.date_from.data, form.date_to.data = _last_month(clock.now().astimezone(first).date())
        elif form.validate() and _problems(form, db.session.get(Campaign, form.campaign.data)):
            versions = form.compare.data == "versions"
            params = {"campaign": form.campaign.data, "from": form.date_from.data.isoformat(),
                       "to": form.date_to.data.isoformat(),
                       "base": form.base_version.data if versions else "active",
                       "other": form.other_version.data if versions else "draft"}
            job_id = start(self._settings(), params, by=current_user.username)
            return redirect(url_for(".job", job_id=job_id))
        names = {c.id: c.code for c in campaigns}
        runs = []
        for job in recent(self._settings()):
            asked = (job.meta or {}).get("request") or {}
            runs.append({"id": job.id, "campaign": names.get(asked.get("campaign"), "?"), "from": asked.get("from"),
                         "to": asked.get("to"), "base": _ruleset_label(asked.get("base")),
                         "other": _ruleset_label(asked.get("other")), "by": (job.meta or {}).get("by", ""),
                         "status": _labelled(state(self._settings(), job))["label"]})
        return self.render("admin/replay/index.html", form=form, runs=runs)

    @expose("/<job_id>/")
    def job(self, job_id: str):
        job = self._job(job_id)
        progress = _labelled(state(self._settings(), job))
        answer = outcome(job) if progress["finished"] else None
        asked = (job.meta or {}).get("request") or {}
        campaign = db.session.get(Campaign, asked.get("campaign"))
        zone = ZoneInfo(campaign.timezone if campaign else DEFAULT_TIMEZONE)
        result = (answer or {}).get("result")
        by_unit: dict[str, list[dict[str, Any]]] = {}
        if result:
            for d in result["differences"]:
                by_unit.setdefault(d["unit"], []).append({
                    **d, "kind_label": KINDS.get(d["kind"], d["kind"]), "occurred_local": _local(d["occurred_at"], zone),
                    "before_local": _local(d["deadline_before"], zone), "after_local": _local(d["deadline_after"], zone)})
        return self.render("admin/replay/job.html", job_id=job.id, progress=progress, answer=answer, result=result,
                           by_unit=by_unit, asked=asked, campaign=campaign, lang=short_lang(),
                           base=_ruleset_label(asked.get("base")), other=_ruleset_label(asked.get("other")),
                           cancel_form=FlaskForm(), may_cancel=_may_cancel(job))

    @expose("/<job_id>/status.json")
    def status(self, job_id: str):
        return jsonify(_labelled(state(self._settings(), self._job(job_id))))

    @expose("/<job_id>/cancel", methods=("POST",))
    def cancel(self, job_id: str):
        job = self._job(job_id)
        if not _may_cancel(job):
            abort(403)
        if FlaskForm().validate_on_submit():
            request_cancel(self._settings(), job)
            flash(_("The replay stops after its current batch."), "info")
        return redirect(url_for(".job", job_id=job.id))
