"""The permits API: GET /api/v1/permits answers the register as a GeoJSON FeatureCollection (审批/备案), for maps
and for the systems that check a report against approvals. Bearer user tokens only, like the people API."""
from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, request
from shapely.geometry import box, shape
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engine.authoring.campaigns import campaign_for, campaign_zone
from engine.core.models import Permit
from engine.space.permits import STATUS_NAMES, approvers, geojson
from rules.facts import PERMIT_KINDS
from rules.problems import Problem
from web.auth import require_token
from web.common.extensions import csrf, db
from web.common.i18n import short_lang
from web.common.problems import refused
from web.openapi import BEARER, json_response, problem_responses

bp = Blueprint("permits_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens only, never a session cookie
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
#: A query string's "+08:00" arrives as " 08:00" when the client did not encode it.
_UNENCODED_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


def _valid_at(raw: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(_UNENCODED_OFFSET.sub(r"\1+\2", raw.strip()))
    except (ValueError, OverflowError):
        return None
    try:
        return moment if moment.tzinfo is not None and EARLIEST <= moment.astimezone(UTC) <= LATEST else None
    except OverflowError:
        return None


def _bbox(raw: str) -> tuple[float, float, float, float] | None:
    try:
        parts = tuple(float(p) for p in raw.split(","))
    except ValueError:
        return None
    if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
        return None
    west, south, east, north = parts
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        return None
    return west, south, east, north


def _reaches(permit: Permit, area: Any) -> bool:
    """Whether the permit's place or designated site (with its radius, roughly in degrees) meets the box."""
    for geometry, radius in ((permit.place, permit.radius_m), (permit.site, permit.site_radius_m)):
        if geometry and shape(geometry).buffer((radius or 0) / 111_000).intersects(area):
            return True
    return False


@bp.get("/permits")
@require_token(kinds=("user",))
def list_permits():
    """The register as GeoJSON features; ?kind=, ?valid_at= (valid then) and ?bbox=west,south,east,north."""
    lang, problems = short_lang(), []
    query = select(Permit).options(selectinload(Permit.approved_by), selectinload(Permit.declared_by),
                                   selectinload(Permit.reviewed_by)).order_by(Permit.number)
    kind = request.args.get("kind")
    if kind is not None:
        if kind not in PERMIT_KINDS:
            problems.append(Problem("kind", f"one of {', '.join(PERMIT_KINDS)}", f"须为 {'、'.join(PERMIT_KINDS)} 之一"))
        query = query.where(Permit.kind == kind)
    at = None
    if request.args.get("valid_at") is not None:
        at = _valid_at(request.args["valid_at"])
        if at is None:
            problems.append(Problem("valid_at", "an ISO 8601 time with its offset, e.g. 2026-10-01T08:00:00+08:00",
                                    "须为带时区偏移的 ISO 8601 时间，例如 2026-10-01T08:00:00+08:00"))
        else:
            query = query.where(Permit.status == "valid", Permit.starts_at <= at, Permit.ends_at >= at)
    area = None
    if request.args.get("bbox") is not None:
        bounds = _bbox(request.args["bbox"])
        if bounds is None:
            problems.append(Problem("bbox", "west,south,east,north in degrees, e.g. 110.99,35.02,111.03,35.05",
                                    "须为 西,南,东,北 经纬度，例如 110.99,35.02,111.03,35.05"))
        else:
            area = box(*bounds)
    if problems:
        return refused(problems)
    permits = [p for p in db.session.scalars(query) if area is None or _reaches(p, area)]
    zone = campaign_zone(campaign_for(db.session, None))
    by_kind = approvers(db.session)
    return jsonify({"type": "FeatureCollection",
                    "features": [geojson(p, lang, zone, by_kind.get(p.kind)) for p in permits]})


def _openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    geometry = {"type": "object", "required": ["type", "coordinates"], "description": "GeoJSON Point or Polygon "
                "(WGS-84/CGCS2000, longitude first)", "properties": {
                    "type": {"type": "string", "enum": ["Point", "Polygon", "MultiPolygon"]},
                    "coordinates": {"type": "array", "items": {}}}}
    unit = {"type": "object", "required": ["code", "name"], "properties": {"code": {"type": "string"},
                                                                            "name": {"type": "string"}}}
    feature = {"type": "object", "required": ["type", "id", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "integer"}, "geometry": geometry,
        "properties": {"type": "object", "required": ["number", "kind", "holder", "starts_at", "ends_at", "status",
                                                      "approved_by", "counts", "not_counted_because"], "properties": {
            "counts": {"type": "boolean", "description": "Whether evaluation counts it as an approval: status "
                       "valid and issued by its kind's approving unit (the period is checked per report)"},
            "not_counted_because": {"type": "string", "nullable": True, "description": "Why it does not count, in "
                                    "the caller's language (e.g. issued by a unit other than its kind's approver)"},
            "number": {"type": "string"}, "kind": {"type": "string", "enum": list(PERMIT_KINDS)},
            "kind_name": {"type": "string", "description": "In the caller's language"},
            "holder": {"type": "string"}, "radius_m": {"type": "number", "description": "Metres around a point"},
            "site": {**geometry, "nullable": True, "description": "Construction waste: the designated site"},
            "site_radius_m": {"type": "number"},
            "starts_at": {"type": "string", "format": "date-time"},
            "ends_at": {"type": "string", "format": "date-time"},
            "status": {"type": "string", "enum": list(STATUS_NAMES)}, "status_name": {"type": "string"},
            "approved_by": unit,
            "filed_on": {"type": "string", "format": "date", "nullable": True,
                         "description": "Written filing (书面备案) with the committee"},
            "filing_reference": {"type": "string", "nullable": True},
            "declared_by": {**unit, "nullable": True, "description": "Temporary markets: the sub-district that "
                            "declared it (申报)"},
            "reviewed_by": {**unit, "nullable": True, "description": "Temporary markets: the bureau that reviewed it "
                            "(审定) for the committee's approval"}}}}}
    paths = {"/api/v1/permits": {"get": {
        "summary": "The permits register (审批/备案) as a GeoJSON FeatureCollection",
        "description": "Each feature is a permit's place; `valid_at` keeps the permits valid at that instant "
                       "(status valid and within their period); evaluation counts only those from their kind's approver.",
        "tags": ["permits"], "security": BEARER,
        "parameters": [
            {"name": "kind", "in": "query", "schema": {"type": "string", "enum": list(PERMIT_KINDS)}},
            {"name": "valid_at", "in": "query", "description": "ISO 8601 with offset",
             "schema": {"type": "string", "format": "date-time", "example": "2026-10-01T08:00:00+08:00"}},
            {"name": "bbox", "in": "query", "description": "west,south,east,north in degrees",
             "schema": {"type": "string", "example": "110.99,35.02,111.03,35.05"}}],
        "responses": {"200": json_response("GeoJSON FeatureCollection of permits", {
            "type": "object", "required": ["type", "features"], "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": {"$ref": "#/components/schemas/PermitFeature"}}}}),
            **problem_responses(401, 403, 422)}}}}
    return paths, {"PermitFeature": feature}


OPENAPI_PATHS, OPENAPI_SCHEMAS = _openapi()
