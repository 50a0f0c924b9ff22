"""Zones as GeoJSON for other systems (GET /api/v1/zones), and Leaflet served from the xstatic-leaflet package
for the admin's zone map (no CDN). Thin: engine/space/zones.py builds the features."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, send_from_directory
from xstatic.pkg import leaflet as xstatic_leaflet

from engine.space.datum import DATUMS, datum_problem
from engine.space.zones import KIND_NAMES, feature_collection
from web.auth import require_token
from web.common.extensions import csrf, db
from web.common.i18n import short_lang
from web.common.problems import refused
from web.openapi import BEARER, json_response, problem_responses

bp = Blueprint("zones_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens only, never a session cookie
leaflet = Blueprint("leaflet", __name__)


@bp.get("/zones")
@require_token(kinds=("user",))
def list_zones():
    """Published zones (every zone with ?all=1), in WGS-84 unless ?crs= names another datum."""
    datum = request.args.get("crs", "wgs84")
    wrong = datum_problem("crs", datum)
    if wrong is not None:
        return refused([wrong])
    every = request.args.get("all") in ("1", "true")
    return jsonify(feature_collection(db.session, datum, short_lang(), active_only=not every))


@leaflet.get("/vendor/leaflet/<path:filename>")
def asset(filename: str):
    """Leaflet's script, style sheet and marker images from the installed xstatic-leaflet package."""
    return send_from_directory(xstatic_leaflet.BASE_DIR, filename, max_age=86400)


OPENAPI_PATHS = {
    "/api/v1/zones": {"get": {
        "summary": "Zones on the map (限制经营区, 严管街, 学校周边, 居住区) as a GeoJSON FeatureCollection",
        "description": "Each feature's `properties.kind` is its kind; a school's `buffer_metres` and a street's "
                       "`width_metres` say how far it reaches. Published zones only unless `all=1`.",
        "tags": ["reference"], "security": BEARER,
        "parameters": [{"name": "crs", "in": "query", "description": "datum of the coordinates (default wgs84)",
                        "schema": {"type": "string", "enum": list(DATUMS)}},
                       {"name": "all", "in": "query", "description": "1: drafts (unpublished zones) too",
                        "schema": {"type": "string", "enum": ["0", "1"]}}],
        "responses": {"200": json_response("Zones", {"type": "object", "required": ["type", "features"], "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": {"type": "object", "required": ["type", "geometry", "properties"],
                                                    "properties": {
                "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "integer"},
                "geometry": {"type": "object", "required": ["type", "coordinates"], "properties": {
                    "type": {"type": "string"}, "coordinates": {"type": "array", "items": {}}}},
                "properties": {"type": "object", "required": ["kind", "name"], "properties": {
                    "id": {"type": "integer"}, "kind": {"type": "string", "enum": list(KIND_NAMES)},
                    "kind_name": {"type": "string"}, "name": {"type": "string"},
                    "width_metres": {"type": "number", "nullable": True},
                    "buffer_metres": {"type": "number", "nullable": True},
                    "campaign_id": {"type": "integer", "nullable": True},
                    "active": {"type": "boolean"}}}}}}}}),
            **problem_responses(401, 403, 422)}}},
}
