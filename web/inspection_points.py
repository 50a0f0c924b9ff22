"""The evaluation points API: GET /api/v1/inspection-points answers the register (测评点位): each point's type,
place, responsible unit and person (包点), and today's readiness (每日自查: checked, failed, not checked by the
readiness time), names in the caller's language. Administrators, auditors and assessors read it with a user token."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engine.core.models import InspectionPoint, InspectionPointType, Unit
from engine.readiness import daily
from engine.space.points import point_json
from rules.facts import POINT_TYPES
from rules.problems import Problem
from web.auth import require_token
from web.common.extensions import csrf, db
from web.common.i18n import short_lang
from web.common.problems import refused
from web.openapi import BEARER, json_response, problem_responses

bp = Blueprint("inspection_points_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens only, never a session cookie
READERS = ("admin", "auditor", "assessor")


@bp.get("/inspection-points")
@require_token(kinds=("user",), roles=READERS)
def list_points():
    """The register in code order; ?type= keeps one point type, ?unit= one responsible unit (its code)."""
    query = (select(InspectionPoint).join(InspectionPointType).join(Unit, Unit.id == InspectionPoint.unit_id)
             .options(selectinload(InspectionPoint.type), selectinload(InspectionPoint.unit),
                      selectinload(InspectionPoint.person), selectinload(InspectionPoint.grid))
             .order_by(InspectionPoint.code))
    kind, unit = request.args.get("type"), request.args.get("unit")
    if kind is not None:
        if kind not in POINT_TYPES:
            return refused([Problem("type", f"one of {', '.join(POINT_TYPES)}", f"须为 {'、'.join(POINT_TYPES)} 之一")])
        query = query.where(InspectionPointType.code == kind)
    if unit is not None:
        query = query.where(Unit.code == unit) if "\x00" not in unit else query.where(False)  # no unit is called that
    lang = short_lang()
    points = list(db.session.scalars(query))
    states = daily.today(db.session, points)
    names = {state: names[0 if lang == "zh" else 1] for state, names in daily.STATES.items()}
    return jsonify({"points": [{**point_json(p, lang), "readiness": {**states[p.id],
                                                                       "state_name": names[states[p.id]["state"]]}}
                               for p in points]})


def _openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    named = {"type": "object", "required": ["code", "name"],
             "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}
    readiness = {"type": "object", "required": ["state", "state_name", "day"], "description": "每日自查 today",
                 "properties": {
                     "state": {"type": "string", "enum": list(daily.STATES),
                               "description": "checked, failed (an item failed: see cases), pending (before the "
                                              "readiness time), missed (not checked by it), closed (outside the "
                                              "inspection window)"},
                     "state_name": {"type": "string", "description": "In the caller's language"},
                     "day": {"type": "string", "format": "date", "nullable": True,
                             "description": "The campaign's local day"},
                     "deadline": {"type": "string", "format": "date-time"},
                     "checked_at": {"type": "string", "format": "date-time", "nullable": True},
                     "failed": {"type": "integer", "description": "Items failed"},
                     "cases": {"type": "array", "items": {"type": "integer"}, "description": "Cases of failed items"},
                     "escalated_at": {"type": "string", "format": "date-time", "nullable": True,
                                      "description": "When not checking by the readiness time was escalated"}}}
    point = {"type": "object", "required": ["id", "code", "name", "type", "place", "reach_metres", "unit", "person",
                                            "active", "readiness"], "properties": {
        "id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"},
        "type": {**named, "properties": {"code": {"type": "string", "enum": list(POINT_TYPES)},
                                         "name": {"type": "string", "description": "In the caller's language"}}},
        "address": {"type": "string", "nullable": True},
        "place": {"type": "object", "description": "GeoJSON Point, LineString or Polygon (WGS-84, longitude first)"},
        "reach_metres": {"type": "number", "description": "How far beyond its place a report counts as at it"},
        "unit": named,
        "person": {"type": "object", "nullable": True, "required": ["id", "name"], "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}}, "description": "包点: who answers for the point"},
        "grid": {"type": "string", "nullable": True}, "active": {"type": "boolean"}, "readiness": readiness}}
    paths = {"/api/v1/inspection-points": {"get": {
        "summary": "The register of evaluation points (测评点位)",
        "description": "Each point's type, place, responsible unit and person, and today's readiness. A report at a point carries the "
                       "fact `inspection_point` (its type). Administrators, auditors and assessors.",
        "tags": ["inspection points"], "security": BEARER,
        "parameters": [
            {"name": "type", "in": "query", "schema": {"type": "string", "enum": list(POINT_TYPES)}},
            {"name": "unit", "in": "query", "description": "A responsible unit's code", "schema": {"type": "string"}}],
        "responses": {"200": json_response("The points", {
            "type": "object", "required": ["points"], "properties": {
                "points": {"type": "array", "items": {"$ref": "#/components/schemas/InspectionPoint"}}}}),
            **problem_responses(401, 403, 422)}}}}
    return paths, {"InspectionPoint": point}


OPENAPI_PATHS, OPENAPI_SCHEMAS = _openapi()
