"""The OpenAPI 3 description of the JSON API, served at /openapi.json with a browsable UI at /api/docs.

Each blueprint module documents its own routes in `OPENAPI_PATHS` (and `OPENAPI_SCHEMAS`); this
module merges them, so a route and its description live side by side. tests/web/test_openapi.py
fails for any route the description misses.
"""
from __future__ import annotations

import sys
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("openapi", __name__)

PROBLEM_TITLES = {400: "Bad request", 401: "Authentication required", 403: "Forbidden", 404: "Not found",
                  409: "Conflict", 413: "Request too large", 415: "Unsupported media type", 422: "Invalid input",
                  429: "Too many requests", 503: "Service unavailable", 504: "Timed out"}

SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object", "required": ["type", "title", "status"],
        "description": "RFC 9457 problem details, in the caller's language (Accept-Language or ?lang=).",
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
        },
    },
    "FieldError": {"type": "object", "required": ["field", "message"],
                   "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
    "Name": {"type": "object", "required": ["zh", "en"],
             "properties": {"zh": {"type": "string"}, "en": {"type": "string"}}},
    "StageClock": {
        "type": "object", "description": "A case's stage clock (engine/cases/clocks.py) against the campaign's minutes",
        "properties": {
            "clock": {"type": "string", "enum": ["accept", "verify", "dispatch", "check"]},
            "name": {"type": "string"}, "started": {"type": "string", "format": "date-time"},
            "ended": {"type": "string", "format": "date-time", "nullable": True}, "minutes": {"type": "number"},
            "limit_minutes": {"type": "integer", "nullable": True},
            "due_at": {"type": "string", "format": "date-time", "nullable": True,
                       "description": "When its minutes run out, with its offset"},
            "overdue": {"type": "boolean"}}},
}


def problem_responses(*codes: int) -> dict[str, Any]:
    """Responses for the given error statuses, each a Problem document."""
    return {str(code): {"description": PROBLEM_TITLES[code], "content": {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}} for code in codes}


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def id_parameter(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "integer", "minimum": 1, "maximum": 9223372036854775807}}


BEARER = [{"bearerAuth": []}]


def build_spec(app: Flask) -> dict[str, Any]:
    """The whole description, merged from every registered blueprint's module."""
    paths: dict[str, Any] = {}
    schemas = dict(SCHEMAS)
    for blueprint in app.blueprints.values():
        module = sys.modules.get(blueprint.import_name)
        for path, item in (getattr(module, "OPENAPI_PATHS", None) or {}).items():
            paths.setdefault(path, {}).update(item)
        schemas.update(getattr(module, "OPENAPI_SCHEMAS", None) or {})
    for path, item in paths.items():  # the app-wide guard (web.common.wellformed): NUL bytes 422, deep JSON 400
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation and path.startswith("/api/"):
                for status, response in problem_responses(400, 422).items():
                    operation["responses"].setdefault(status, response)
    return {
        "openapi": "3.0.3",
        "info": {"title": "CivicRules API (创城规则引擎)", "version": "1.0.0",
                 "description": "Intake of events, tasks and their lifecycle, supervision, simulation, and "
                                "Open311 GeoReport v2. Errors are problem details in the caller's language "
                                "(zh_Hans_CN by default, en with Accept-Language: en)."},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "An intake token (civicrules token create --source NAME "
                                          "--source-type TYPE: every event it sends carries that source "
                                          "type) or a user token (POST /api/v1/auth/token)."}}},
    }


@bp.get("/openapi.json")
def openapi_json():
    spec = current_app.extensions.get("civicrules.openapi")
    if spec is None:
        spec = current_app.extensions["civicrules.openapi"] = build_spec(current_app)
    return jsonify(spec)


@bp.get("/api/docs")
def docs_page():
    return render_template("api_docs.html")


@bp.get("/api/docs/assets/<path:filename>")
def docs_assets(filename: str):
    """Swagger UI's files from the swagger-ui-bundle wheel: no CDN, works offline."""
    return send_from_directory(swagger_ui_path, filename)
