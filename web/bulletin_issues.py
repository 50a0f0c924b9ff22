"""The published weekly bulletins (周通报 第N期): the list of past issues, each PDF as it was sent, the
frozen JSON through the API, and a correction (a new issue) by the assessment office. The issue is
addressed to every unit, so every signed-in user may read it; only assessors and admins correct."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.assessment import issues
from engine.authoring.campaigns import campaign_for
from engine.core.models import BulletinIssue, Campaign
from rules.problems import InputError
from web.auth import record_export, require_roles, require_token
from web.common.campaigns import requested_campaign
from web.common.extensions import csrf, db
from web.common.i18n import short_lang
from web.common.problems import problem
from web.forms import CorrectionForm
from web.openapi import BEARER, id_parameter, json_response, problem_responses

bp = Blueprint("bulletin_issues", __name__, url_prefix="/assessment/issues")
api = Blueprint("bulletin_issues_api", __name__, url_prefix="/api/v1")
csrf.exempt(api)  # bearer tokens only, never a session cookie
EDITORS = ("assessor", "admin")


def _issue(issue_id: int) -> BulletinIssue:
    issue = db.session.get(BulletinIssue, issue_id)
    if issue is None:
        abort(404)
    return issue


def weekday_names() -> list[str]:
    return [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]


def _page(campaign: Campaign, form: CorrectionForm | None = None, failed: int | None = None,
          errors: list[str] | None = None, status: int = 200):
    return render_template("assessment_issues.html", campaign=campaign, rows=issues.issues_of(db.session, campaign),
                           form=form or CorrectionForm(), failed=failed,
                           weekday=weekday_names()[campaign.bulletin_weekday % 7], errors=errors or [], lang=short_lang(),
                           may_correct=current_user.role in EDITORS), status


@bp.get("/")
@require_roles()
def issues_page():
    return _page(requested_campaign())


@bp.get("/<int(max=2147483647):issue_id>.pdf")
@require_roles()
def issue_pdf(issue_id: int):
    issue = _issue(issue_id)
    lang = request.args.get("language") or short_lang()
    data = issue.pdf_en if lang == "en" else issue.pdf_zh
    name = f"bulletin-{issue.campaign.code}-{issue.number}-{'en' if lang == 'en' else 'zh'}.pdf"
    record_export(f"导出通报问题 / bulletin issue {name}")
    return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                                 "X-Content-SHA256": issue.content_sha256})


@bp.post("/<int(max=2147483647):issue_id>/correction")
@require_roles(*EDITORS)
def correct(issue_id: int):
    issue = _issue(issue_id)
    form = CorrectionForm()
    if not form.validate_on_submit():
        return _page(issue.campaign, form, issue.id, [e for errs in form.errors.values() for e in errs], 400)
    try:
        corrected = issues.correct(db.session, issue, form.reason.data, current_user)
    except InputError as err:
        db.session.rollback()
        return _page(issue.campaign, form, issue.id, [p.as_dict(short_lang())["message"] for p in err.problems], 422)
    db.session.commit()
    flash(_("Issue No. %(n)s published; it corrects No. %(old)s.", n=corrected.number, old=issue.number), "success")
    return redirect(url_for("bulletin_issues.issues_page", campaign=issue.campaign.code))


def issue_json(issue: BulletinIssue, with_content: bool = False) -> dict[str, Any]:
    body = {"id": issue.id, "campaign": issue.campaign.code, "number": issue.number, "period": issue.period,
            "generated_at": issue.generated_at.isoformat(), "sha256": issue.content_sha256,
            "corrects": issue.corrects.number if issue.corrects is not None else None,
            "correction_reason": issue.correction_reason,
            "pdf": url_for("bulletin_issues.issue_pdf", issue_id=issue.id)}
    if with_content:
        body["content"] = issue.content
    return body


@api.get("/bulletin-issues")
@require_token(kinds=("user",))
def api_issues():
    campaign = campaign_for(db.session, request.args.get("campaign"))
    if campaign is None:
        return problem(404, "not-found", detail_key="not_found")
    return jsonify({"issues": [issue_json(i) for i in issues.issues_of(db.session, campaign)]})


@api.get("/bulletin-issues/<int(max=2147483647):issue_id>")
@require_token(kinds=("user",))
def api_issue(issue_id: int):
    issue = db.session.get(BulletinIssue, issue_id)
    if issue is None:
        return problem(404, "not-found", detail_key="not_found")
    return jsonify(issue_json(issue, with_content=True))


def _openapi() -> dict:
    row = {"type": "object", "required": ["id", "campaign", "number", "period", "sha256"], "properties": {
        "id": {"type": "integer"}, "campaign": {"type": "string"}, "number": {"type": "integer"},
        "period": {"type": "string", "example": "2026-W48"}, "generated_at": {"type": "string", "format": "date-time"},
        "sha256": {"type": "string", "description": "sha256 of the frozen content in canonical JSON"},
        "corrects": {"type": "integer", "nullable": True, "description": "The number of the issue this one corrects"},
        "correction_reason": {"type": "string", "nullable": True}, "pdf": {"type": "string"}}}
    return {
        "/api/v1/bulletin-issues": {"get": {
            "summary": "The published weekly bulletins (周通报) of a campaign, newest first", "security": BEARER,
            "tags": ["assessment"], "parameters": [{"name": "campaign", "in": "query", "required": False,
                                                    "schema": {"type": "string"}}],
            "responses": {"200": json_response("Issues", {"type": "object", "required": ["issues"], "properties": {
                "issues": {"type": "array", "items": row}}}), **problem_responses(401, 403, 404)}}},
        "/api/v1/bulletin-issues/{issue_id}": {"get": {
            "summary": "One issue with its frozen content (the JSON its sha256 is computed over)", "security": BEARER,
            "tags": ["assessment"], "parameters": [id_parameter("issue_id", "Issue id")],
            "responses": {"200": json_response("The issue", {**row, "properties": {
                **row["properties"], "content": {"type": "object"}}}), **problem_responses(401, 403, 404)}}},
    }


OPENAPI_PATHS = _openapi()
