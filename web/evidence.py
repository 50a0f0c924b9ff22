"""Evidence photos over the JSON API: upload for a task, list a task's photos, fetch one (safely typed)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from engine.handling import evidence
from rules.problems import InputError
from engine.core.models import Evidence, Task
from web.auth import require_token, task_scope, token_user
from web.common.extensions import db
from web.common.problems import problem, refused
from web.uploads import send_upload
from web.workflow import zone_of
from web.openapi import BEARER, id_parameter, json_response, problem_responses

bp = Blueprint("evidence_api", __name__, url_prefix="/api/v1")
UPLOADERS = ("field_unit", "admin")


def _visible_task(task_id: int) -> Task | None:
    task = db.session.get(Task, task_id)
    if task is None or not task_scope(token_user()).sees(task):
        return None
    return task


@bp.errorhandler(InputError)
def _input_error(err: InputError):
    db.session.rollback()
    return refused(err.problems)


@bp.post("/tasks/<int:task_id>/evidence")
@require_token(kinds=("user",), roles=UPLOADERS)
def upload(task_id: int):
    """A photo from the camera: multipart `file`, the template's photo `field`, `stage` before|after."""
    task = _visible_task(task_id)
    if task is None:
        return problem(404, "not-found", detail_key="not_found")
    upload = request.files.get("file")
    settings = current_app.extensions["civicrules.settings"]
    row = evidence.add_photo(db.session, settings.evidence.dir, task, token_user(), request.form.get("field", ""),
                             request.form.get("stage", ""), upload.filename if upload else "",
                             upload.read() if upload else b"", settings.evidence.max_bytes, zone_of(task))
    db.session.commit()
    return jsonify(evidence.evidence_json(row)), 201


@bp.get("/tasks/<int:task_id>/evidence")
@require_token(kinds=("user",))
def list_for_task(task_id: int):
    task = _visible_task(task_id)
    if task is None:
        return problem(404, "not-found", detail_key="not_found")
    return jsonify({"evidence": [evidence.evidence_json(e) for e in evidence.for_task(db.session, task.id)]})


@bp.get("/evidence/<int:evidence_id>")
@require_token(kinds=("user",))
def fetch(evidence_id: int):
    """The photo itself, typed by its bytes and never as HTML or script (web/uploads.py)."""
    row = db.session.get(Evidence, evidence_id)
    if row is None or _visible_task(row.task_id) is None:
        return problem(404, "not-found", detail_key="not_found")
    path = current_app.extensions["civicrules.settings"].evidence.dir / row.stored_name
    return send_upload(path, row.original_name)


def _openapi() -> dict:
    row = {"type": "object", "required": ["id", "task", "field", "stage", "sha256"], "properties": {
        "id": {"type": "integer"}, "task": {"type": "integer"}, "field": {"type": "string"},
        "stage": {"type": "string", "enum": ["before", "after"]}, "sha256": {"type": "string"},
        "content_type": {"type": "string"}, "size": {"type": "integer"},
        "width": {"type": "integer", "nullable": True}, "height": {"type": "integer", "nullable": True},
        "taken_at": {"type": "string", "nullable": True}, "lat": {"type": "number", "nullable": True},
        "lon": {"type": "number", "nullable": True}, "created_at": {"type": "string"}}}
    return {
        "/api/v1/tasks/{task_id}/evidence": {
            "post": {"summary": "Upload a photo for a task (checked by content; EXIF time and place checked "
                                "against the template's evidence rules)", "security": BEARER, "tags": ["tasks"],
                     "parameters": [id_parameter("task_id", "Task id")],
                     "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                         "type": "object", "required": ["file", "field", "stage"], "properties": {
                             "file": {"type": "string", "format": "binary"}, "field": {"type": "string"},
                             "stage": {"type": "string", "enum": ["before", "after"]}}}}}},
                     "responses": {"201": json_response("Stored", row),
                                   **problem_responses(400, 401, 403, 404, 413, 422)}},
            "get": {"summary": "A task's photos", "security": BEARER, "tags": ["tasks"],
                    "parameters": [id_parameter("task_id", "Task id")],
                    "responses": {"200": json_response("Photos", {"type": "object", "required": ["evidence"],
                                                                   "properties": {"evidence": {"type": "array",
                                                                                               "items": row}}}),
                                  **problem_responses(401, 403, 404)}}},
        "/api/v1/evidence/{evidence_id}": {"get": {
            "summary": "One photo's bytes", "security": BEARER, "tags": ["tasks"],
            "parameters": [id_parameter("evidence_id", "Evidence id")],
            "responses": {"200": {"description": "The image", "content": {
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/webp": {"schema": {"type": "string", "format": "binary"}}}},
                **problem_responses(401, 403, 404)}}},
    }


OPENAPI_PATHS = _openapi()
