"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2/): services, requests, JSON and XML.

Thin handlers over engine/intake/open311.py and engine/intake/events.py. Reads are public, as GeoReport
clients expect, and show citizen requests only; filing a request needs `api_key` = an intake token, whose
source type the request takes. Errors use GeoReport's error list.
"""
from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from flask import Blueprint, Response, current_app, json, request

from engine.intake import open311
from web.auth import bearer_token
from rules.problems import InputError, Problem
from engine.intake.events import IntakeSource
from web.common.extensions import db
from web.common.i18n import short_lang
from web.ratelimit import intake_limit
from workers.queues import enqueue_drain

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMATS = "<any(json,xml):fmt>"
ROOTS = {"services": ("services", "service"), "requests": ("service_requests", "request"),
         "definition": ("service_definition", None), "created": ("service_requests", "request"),
         "errors": ("errors", "error")}


def _xml_value(parent: Element, tag: str, value: Any) -> None:
    node = SubElement(parent, tag)
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_value(node, key, item)
    elif isinstance(value, list):
        singular = {"attributes": "attribute", "values": "value"}.get(tag, "item")
        for item in value:
            _xml_value(node, singular, item)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = str(value)


def _render(kind: str, body: Any, fmt: str, status: int = 200) -> Response:
    if fmt == "json":
        return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    root_tag, item_tag = ROOTS[kind]
    root = Element(root_tag)
    if item_tag is None:
        for key, value in body.items():
            _xml_value(root, key, value)
    else:
        for item in body:
            _xml_value(root, item_tag, item)
    xml = b'<?xml version="1.0" encoding="utf-8"?>' + tostring(root, encoding="utf-8", xml_declaration=False)
    return Response(xml, status=status, mimetype="text/xml")


def _errors(status: int, descriptions: list[str], fmt: str) -> Response:
    return _render("errors", [{"code": status, "description": d} for d in descriptions], fmt, status)


def _input_errors(err: InputError, fmt: str) -> Response:
    lang = short_lang()
    return _errors(400, [f"{p.where}: {p.as_dict(lang)['message']}" for p in err.problems], fmt)


def refusal(problems: list[Problem]) -> Response:
    """A request the app-wide guard refused (a NUL byte, JSON too deep), in the format the path asks for."""
    fmt = "xml" if request.path.endswith(".xml") else "json"
    return _input_errors(InputError(problems), fmt)


@bp.get(f"/services.{FORMATS}")
def list_services(fmt: str):
    return _render("services", open311.services(db.session, short_lang()), fmt)


@bp.get(f"/services/<code>.{FORMATS}")
def service_definition(code: str, fmt: str):
    definition = open311.service_definition(db.session, code, short_lang())
    if definition is None:
        return _errors(404, [_message("unknown service_code", "未知的服务代码")], fmt)
    return _render("definition", definition, fmt)


@bp.post(f"/requests.{FORMATS}")
@intake_limit
def create_request(fmt: str):
    form = request.form if request.form else (request.get_json(silent=True) or {})
    header = request.headers.get("Authorization", "")
    key = str(form.get("api_key") or (header[7:].strip() if header.lower().startswith("bearer ") else ""))
    token = bearer_token(key) if key else None
    if token is None or token.kind != "intake":
        return _errors(403, [_message("a valid api_key (an intake token) is required to file a request",
                                      "提交请求须提供有效的 api_key（受理令牌）")], fmt)
    try:
        source = IntakeSource(token.source, token.source_type or "hotline", token.crs or "wgs84")
        event, created = open311.file_request(db.session, form, source)
    except InputError as err:
        db.session.rollback()
        return _input_errors(err, fmt)
    db.session.commit()
    if created:
        _queue_evaluation()
    notice = _message("Received; the responsible unit and deadline follow once the rules have evaluated it.",
                      "已受理；规则研判后将给出责任单位与办结时限。")
    return _render("created", [{"service_request_id": str(event.id), "service_notice": notice, "account_id": None}],
                   fmt, 201)


@bp.get(f"/requests.{FORMATS}")
def list_requests(fmt: str):
    try:
        events = open311.find_requests(db.session, request.args)
    except InputError as err:
        return _input_errors(err, fmt)
    lang = short_lang()
    return _render("requests", [open311.request_json(e, lang) for e in events], fmt)


@bp.get(f"/requests/<request_id>.{FORMATS}")
def get_request(request_id: str, fmt: str):
    event = open311.find_request(db.session, request_id)
    if event is None:
        return _errors(404, [_message("no such service request", "无此服务请求")], fmt)
    return _render("requests", [open311.request_json(event, short_lang())], fmt)


def _message(en: str, zh: str) -> str:
    return zh if short_lang() == "zh" else en


def _queue_evaluation() -> None:
    try:
        enqueue_drain(current_app.extensions["civicrules.settings"])
    except Exception:
        current_app.logger.warning("could not queue evaluation; the sweep will", exc_info=True)


def _openapi() -> dict:
    fmt = {"name": "fmt", "in": "path", "required": True, "schema": {"type": "string", "enum": ["json", "xml"]}}

    def answer(description: str, schema: dict) -> dict:
        return {"description": description, "content": {"application/json": {"schema": schema},
                                                        "text/xml": {"schema": {"type": "string"}}}}

    errors = {"type": "array", "items": {"type": "object", "required": ["code", "description"], "properties": {
        "code": {"type": "integer"}, "description": {"type": "string"}}}}
    request_row = {"type": "object", "required": ["service_request_id", "status"], "properties": {
        "service_request_id": {"type": "string"}, "status": {"type": "string", "enum": ["open", "closed"]},
        "status_notes": {"type": "string"}, "service_name": {"type": "string"}, "service_code": {"type": "string"},
        "agency_responsible": {"type": "string"}, "expected_datetime": {"type": "string"},
        "requested_datetime": {"type": "string"}, "updated_datetime": {"type": "string"}}}
    tags = ["open311"]
    paths = {
        "/open311/v2/services.{fmt}": {"get": {
            "summary": "GeoReport v2: categories as services", "tags": tags, "security": [], "parameters": [fmt],
            "responses": {"200": answer("Services", {"type": "array", "items": {"type": "object"}})}}},
        "/open311/v2/services/{code}.{fmt}": {"get": {
            "summary": "GeoReport v2: a service's attributes (its filing conditions)", "tags": tags, "security": [],
            "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}, fmt],
            "responses": {"200": answer("Definition", {"type": "object"}), "404": answer("Unknown service", errors)}}},
        "/open311/v2/requests.{fmt}": {
            "get": {"summary": "GeoReport v2: service requests (events) by ids, service code, status, ≤90 days",
                    "tags": tags, "security": [], "parameters": [fmt] + [
                        {"name": n, "in": "query", "schema": {"type": "string"}} for n in (
                            "service_request_id", "service_code", "start_date", "end_date", "status")],
                    "responses": {"200": answer("Requests", {"type": "array", "items": request_row}),
                                  "400": answer("Bad query", errors)}},
            "post": {"summary": "GeoReport v2: file a service request (api_key = an intake token)", "tags": tags,
                     "description": "The request takes the source type of its api_key's token (a citizen "
                                    "token's requests are the ones GeoReport reads show). first_name, last_name "
                                    "and phone are kept as the reporter; the phone is masked for every role "
                                    "(dispatchers, shift leaders and collectors may ask for it, which is logged).",
                     "security": [], "parameters": [fmt],
                     "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                         "type": "object", "required": ["service_code"], "properties": {
                             "api_key": {"type": "string"}, "service_code": {"type": "string"},
                             "lat": {"type": "number"}, "long": {"type": "number"},
                             "address_string": {"type": "string"}, "description": {"type": "string"},
                             "media_url": {"type": "string"}, "first_name": {"type": "string"},
                             "last_name": {"type": "string"},
                             "phone": {"type": "string", "description": "6–30 digits; spaces and dashes allowed"}}}}}},
                     "responses": {"201": answer("Filed", {"type": "array", "items": {"type": "object"}}),
                                   "400": answer("Invalid request", errors), "403": answer("No valid api_key", errors),
                                   "429": {"description": "Too many requests"}}}},
        "/open311/v2/requests/{request_id}.{fmt}": {"get": {
            "summary": "GeoReport v2: one service request with its agency and expected time", "tags": tags,
            "security": [], "parameters": [{"name": "request_id", "in": "path", "required": True,
                                            "schema": {"type": "string"}}, fmt],
            "responses": {"200": answer("The request", {"type": "array", "items": request_row}),
                          "404": answer("No such request", errors)}}},
    }
    for item in paths.values():  # the app-wide guard refuses a NUL byte anywhere
        for operation in item.values():
            operation["responses"].setdefault("400", answer("A NUL byte in the request", errors))
    return paths


OPENAPI_PATHS = _openapi()
