"""A case's attachments (交办 materials): attached by dispatchers, shift leaders and admins over the API, listed
and downloaded by whoever may see the case (staff, and a field unit with a task in it), over the API with a
bearer token or from the task and case pages with the session. Thin views over engine/cases/attachments.py;
the bytes go out through web/uploads.send_upload, so no file ever runs in the browser."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request
from flask_login import current_user

from engine.cases import attachments
from engine.core import clock
from engine.core.models import Case, CaseAttachment, User
from rules.problems import InputError
from web.auth import STAFF_ROLES, require_roles, require_token, task_scope, token_user
from web.common.extensions import db
from web.common.problems import problem, refused
from web.openapi import BEARER, id_parameter, json_response, problem_responses
from web.uploads import send_upload
from web.workflow import DISPATCHERS

api = Blueprint("attachments_api", __name__, url_prefix="/api/v1")
bp = Blueprint("attachments", __name__)


def sees_case(user: User | None, case: Case | None) -> bool:
    """Staff see every case; a field unit the cases in which it (or a person it answers for) has a task."""
    if user is None or case is None:
        return False
    if user.role in STAFF_ROLES:
        return True
    scope = task_scope(user)
    return user.role == "field_unit" and any(scope.sees(task) for task in case.tasks)


def _send(row: CaseAttachment):
    path = current_app.extensions["civicrules.settings"].evidence.dir / row.stored_name
    return send_upload(path, row.original_name)


@api.post("/cases/<int:case_id>/attachments")
@require_token(kinds=("user",), roles=DISPATCHERS)
def upload(case_id: int):
    """Multipart: one or more `file` parts; all are attached, or none and a 422 naming each refused file."""
    case = db.session.get(Case, case_id)
    if case is None:
        return problem(404, "not-found", detail_key="not_found")
    settings = current_app.extensions["civicrules.settings"]
    files = [attachments.AttachmentFile(f.filename or "", f.read()) for f in request.files.getlist("file")]
    try:
        rows = attachments.add_attachments(db.session, settings.evidence.dir, case, files, token_user(),
                                           settings.evidence.max_bytes, clock.now())
    except InputError as err:
        db.session.rollback()
        return refused(err.problems)
    db.session.commit()
    return jsonify({"attachments": [attachments.attachment_json(r) for r in rows]}), 201


@api.get("/cases/<int:case_id>/attachments")
@require_token(kinds=("user",))
def list_for_case(case_id: int):
    case = db.session.get(Case, case_id)
    if not sees_case(token_user(), case):
        return problem(404, "not-found", detail_key="not_found")
    return jsonify({"attachments": [attachments.attachment_json(r) for r in attachments.for_case(db.session, case.id)]})


@api.get("/attachments/<int:attachment_id>")
@require_token(kinds=("user",))
def fetch(attachment_id: int):
    """The file itself: pictures inline, everything else as a download."""
    row = db.session.get(CaseAttachment, attachment_id)
    if row is None or not sees_case(token_user(), db.session.get(Case, row.case_id)):
        return problem(404, "not-found", detail_key="not_found")
    return _send(row)


@bp.get("/attachments/<int:attachment_id>")
@require_roles()
def download(attachment_id: int):
    """The link on the task and case pages; 404 for a case the signed-in user may not see."""
    row = db.session.get(CaseAttachment, attachment_id)
    if row is None or not sees_case(current_user, db.session.get(Case, row.case_id)):
        abort(404)
    return _send(row)


def _openapi() -> dict[str, Any]:
    row = {"type": "object", "required": ["id", "case", "name", "content_type", "size", "sha256"], "properties": {
        "id": {"type": "integer"}, "case": {"type": "integer"},
        "name": {"type": "string", "description": "The name it was uploaded under"},
        "content_type": {"type": "string", "description": "What its content is, never what its name says"},
        "size": {"type": "integer"}, "sha256": {"type": "string"},
        "uploader": {"type": "integer", "nullable": True}, "created_at": {"type": "string", "format": "date-time"}}}
    listing = {"type": "object", "required": ["attachments"],
               "properties": {"attachments": {"type": "array", "items": row}}}
    return {
        "/api/v1/cases/{case_id}/attachments": {
            "post": {"summary": f"Attach files to an open case: PDF, JPEG, PNG, WebP, Word (DOCX) or Excel (XLSX), "
                                f"recognised by their content; at most {attachments.MAX_PER_CASE} per case, each at "
                                "most CIVICRULES_EVIDENCE_MAX_MB. All or none. Dispatcher, shift leader or admin",
                     "security": BEARER, "tags": ["cases"], "parameters": [id_parameter("case_id", "Case id")],
                     "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                         "type": "object", "required": ["file"], "properties": {
                             "file": {"type": "array", "items": {"type": "string", "format": "binary"},
                                      "description": "One or more files"}}}}}},
                     "responses": {"201": json_response("Attached", listing),
                                   **problem_responses(400, 401, 403, 404, 413, 422)}},
            "get": {"summary": "A case's attachments: staff, or a field unit with a task in the case",
                    "security": BEARER, "tags": ["cases"], "parameters": [id_parameter("case_id", "Case id")],
                    "responses": {"200": json_response("Attachments, oldest first", listing),
                                  **problem_responses(401, 403, 404)}}},
        "/api/v1/attachments/{attachment_id}": {"get": {
            "summary": "One attachment's bytes (pictures inline, documents as a download)", "security": BEARER,
            "tags": ["cases"], "parameters": [id_parameter("attachment_id", "Attachment id")],
            "responses": {"200": {"description": "The file", "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/webp": {"schema": {"type": "string", "format": "binary"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                **problem_responses(401, 403, 404)}}},
    }


OPENAPI_PATHS = _openapi()
