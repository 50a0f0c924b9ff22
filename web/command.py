"""The command centre (智慧城管指挥平台): a map page that polls its state every few seconds, with the list of
responsibility areas (责任区域清单), and the same state as JSON for other systems (GET /api/v1/command-centre,
user tokens). Thin: engine/readiness/command.py aggregates. Field units are refused: the centre shows every
unit's numbers, their own task list is /tasks."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.authoring.campaigns import campaign_for, campaign_zone
from engine.core import clock
from engine.core.cells import csv_chunks
from engine.core.models import Category, Unit
from engine.people.areas import area_list, export_rows, units_held
from engine.space.datum import geometry_from_wgs84
from engine.readiness import command as command_centre
from rules.problems import InputError, Problem
from web.auth import record_export, require_roles, require_token, token_user
from web.common.downloads import CSV, attachment
from web.common.extensions import csrf, db
from web.common.i18n import short_lang
from web.common.problems import refused
from web.openapi import BEARER, json_response, problem_responses

bp = Blueprint("command", __name__)
api = Blueprint("command_api", __name__, url_prefix="/api/v1")
csrf.exempt(api)  # bearer tokens only, never a session cookie
#: Who watches the centre: the bureau's staff who dispatch, lead shifts, supervise, assess or audit.
WATCHERS = ("admin", "dispatcher", "shift_leader", "supervisor", "auditor", "assessor")
POLL_SECONDS = 4


def _zoom() -> int:
    zoom = request.args.get("zoom", "")
    return int(zoom) if zoom.isdecimal() and len(zoom) < 3 else command_centre.DEFAULT_ZOOM


def _role() -> str | None:
    """The caller's role (the token's user, else the signed-in one): it decides whether phones are shown whole."""
    return getattr(token_user() or current_user, "role", None)


def _answer():
    """The state for the request's filters, or 422 naming the bad filter (nothing is written either way)."""
    lang = short_lang()
    try:
        filters = command_centre.filters_from(db.session, request.args)
    except InputError as err:
        return refused(err.problems)
    return jsonify(command_centre.state(db.session, filters, clock.now(), lang, _zoom(), _role()))


def _areas(lang: str) -> tuple[list[dict[str, Any]], str, Problem | None]:
    """The responsibility areas of the unit in `?area_unit=` (its code; the unit and those below it), all when none
    is given; an unknown code leaves the list whole and says so."""
    code = (request.args.get("area_unit") or "").strip()
    units = units_held(db.session, code) if code else None
    if code and units is None:
        return area_list(db.session, lang, _role()), "", Problem("area_unit", f"No unit {code}.", f"没有单位 {code}。")
    return area_list(db.session, lang, _role(), units), code, None


@bp.get("/command")
@require_roles(*WATCHERS)
def page():
    """The map, the overdue board and the filters, which command-centre.js fills from /command/state, and the
    list of responsibility areas (责任区域清单) drawn once with the page."""
    lang = short_lang()
    web = current_app.extensions["civicrules.settings"].web
    shapes = [{**f, "geometry": geometry_from_wgs84(f["geometry"], web.map_tiles_crs)}
              for f in command_centre.grid_shapes(db.session, lang)]
    categories = [(c.code, c.name_zh if lang == "zh" else c.name_en) for c in db.session.execute(
        select(Category.code, Category.name_zh, Category.name_en).where(Category.kind == "matter")
        .order_by(Category.code))]
    units = [(u.id, u.name_zh if lang == "zh" else u.name_en) for u in db.session.execute(
        select(Unit.id, Unit.name_zh, Unit.name_en).order_by(Unit.code))]
    lists = {code: names[0] if lang == "zh" else names[1] for code, names in command_centre.LIST_FILTERS.items()}
    words = {"open": _("open"), "overdue": _("overdue"), "grids": _("Grids"), "hotspots": _("Hotspots"),
             "points": _("Inspection points"), "reports": _("reports"), "unit": _("Unit"), "total": _("Total"),
             "none_overdue": _("No overdue tasks."), "nobody": _("Nobody is on duty now."),
             "until": _("until"), "stale": _("Not updated: the server did not answer."),
             "case": _("Case"), "no_hotspots": _("No hotspots now."),
             "nobody_named": _("No responsible person named")}
    areas, area_unit, area_problem = _areas(lang)
    area_units = [(u.code, u.name_zh if lang == "zh" else u.name_en) for u in db.session.execute(
        select(Unit.code, Unit.name_zh, Unit.name_en).order_by(Unit.code))]
    return render_template("command.html", shapes=shapes, categories=categories, units=units, lists=lists,
                           words=words, lang=lang, poll_ms=POLL_SECONDS * 1000, tiles=web.map_tiles,
                           attribution=web.map_attribution, args=request.args, areas=areas, area_unit=area_unit,
                           area_units=area_units, area_problem=area_problem.message(lang) if area_problem else None)


@bp.get("/command/areas.csv")
@require_roles(*WATCHERS)
def areas_csv():
    """The list of responsibility areas as the page shows it (same unit filter, same phones for the reader's role),
    UTF-8 with a BOM for Excel, named with the campaign's local time; the download is in the security audit log."""
    lang = short_lang()
    areas, code, problem = _areas(lang)
    if problem is not None:
        return refused([problem])
    record_export("导出责任区域清单 / responsibility areas csv")
    stamp = clock.now().astimezone(campaign_zone(campaign_for(db.session, None))).strftime("%Y-%m-%d_%H-%M")
    unit = db.session.scalar(select(Unit).where(Unit.code == code)) if code else None
    unit_name = "" if unit is None else unit.name_zh if lang == "zh" else unit.name_en
    name = "_".join(part for part in (_("Responsibility areas"), unit_name, stamp) if part) + ".csv"
    header, rows = export_rows(areas, lang)
    return Response("".join(csv_chunks(header, rows)), content_type=CSV,
                    headers={"Content-Disposition": attachment(name, f"responsibility-areas_{stamp}.csv")})


@bp.get("/command/state")
@require_roles(*WATCHERS)
def page_state():
    """What the page polls, with the signed-in session."""
    return _answer()


@api.get("/command-centre")
@require_token(kinds=("user",), roles=WATCHERS)
def api_state():
    return _answer()


def _schema() -> dict[str, Any]:
    count = {"type": "integer"}
    return {"type": "object", "required": ["now", "updated_at", "timezone", "totals", "grids", "board", "hotspots",
                                           "points", "on_duty"], "properties": {
        "now": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "description": "local time HH:MM:SS in the campaign's zone"},
        "updated_on": {"type": "string"}, "timezone": {"type": "string"},
        "totals": {"type": "object", "properties": {"open": count, "overdue": count,
                                                    "outside_grids": {"type": "object"}}},
        "grids": {"type": "array", "items": {"type": "object", "properties": {
            "id": count, "code": {"type": "string"}, "name": {"type": "string"}, "open": count, "overdue": count,
            "people": {"type": "array", "description": "who answers for the grid (责任人, 监督员); phones masked "
                                                       "unless the caller's role calls people",
                       "items": {"type": "object", "properties": {
                           "name": {"type": "string"}, "duty": {"type": "string"}, "position": {"type": "string"},
                           "phone": {"type": "string"}}}}}}},
        "board": {"type": "object", "properties": {
            "tiers": {"type": "array", "items": {"type": "object", "properties": {
                "level": count, "name": {"type": "string"}}}},
            "rows": {"type": "array", "items": {"type": "object", "properties": {
                "unit_id": count, "unit": {"type": "string"}, "total": count,
                "counts": {"type": "object", "additionalProperties": count}}}},
            "total": count}},
        "hotspots": {"type": "array", "items": {"type": "object"}},
        "points": {"type": "object", "properties": {"clustered": {"type": "boolean"},
                                                    "items": {"type": "array", "items": {"type": "object"}},
                                                    "counts": {"type": "object"}}},
        "on_duty": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "unit": {"type": "string"}, "until": {"type": "string"}}}}}}


OPENAPI_PATHS = {
    "/api/v1/command-centre": {"get": {
        "summary": "The command centre (智慧城管指挥平台): open and overdue tasks per grid, overdue by unit and tier",
        "description": "Aggregated on the server: counts per grid with the people who answer for it (责任区域), "
                       "the overdue board by unit and the highest supervision tier each overdue task has reached "
                       "(level 0: not escalated), the most reported open cases, inspection points with today's readiness (grouped into cells by `zoom` when "
                       "there are many) and the people on duty now. Times are the campaign's local time.",
        "tags": ["supervision"], "security": BEARER,
        "parameters": [{"name": "category", "in": "query", "description": "a category code",
                        "schema": {"type": "string"}},
                       {"name": "list", "in": "query", "description": "the list the task came from",
                        "schema": {"type": "string", "enum": list(command_centre.LIST_FILTERS)}},
                       {"name": "unit", "in": "query", "description": "a unit's id or code (and the units under it)",
                        "schema": {"type": "string"}},
                       {"name": "zoom", "in": "query", "description": "the map's zoom, for grouping points",
                        "schema": {"type": "integer", "minimum": 0, "maximum": 20}}],
        "responses": {"200": json_response("The command centre's state", _schema()),
                      **problem_responses(401, 403, 422)}}},
}
