"""模拟测评 and the official evaluation's deductions: the rounds with their trend, a round's score rates, the phone
page on which an inspector scores a point (with photos), the deductions by unit and person (谁丢分谁负责), and
the rates as JSON. Thin views over engine/readiness/mock.py and official.py."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user
from sqlalchemy import select

from engine.authoring.campaigns import campaign_for
from engine.cases.cooperation import COOPERATION_POINTS
from engine.core.models import Campaign, EvaluationRound, InspectionPoint, Unit
from engine.readiness import checklists, daily, mock, official
from engine.space.points import TYPE_NAMES, type_name
from rules.problems import InputError, Problem
from web.auth import require_roles, require_token
from web.common.display import person_name
from web.common.extensions import csrf, db
from web.common.i18n import short_lang
from web.common.problems import problem
from web.openapi import BEARER, id_parameter, json_response, problem_responses
from web.readiness import answers_from, case_links

bp = Blueprint("evaluation", __name__, url_prefix="/evaluation")
api = Blueprint("evaluation_api", __name__, url_prefix="/api/v1")
csrf.exempt(api)  # bearer tokens only
#: Who reads rounds, rates and deductions: the bureau's supervisors, the assessment office, auditors, admins.
READERS = ("supervisor", "assessor", "auditor", "admin")
#: Who starts and closes a round: those who score (mock.SCORER_ROLES) and administrators.
RUNNERS = (*mock.SCORER_ROLES, "admin")


def _campaign() -> Campaign:
    campaign = campaign_for(db.session, None)
    if campaign is None:
        abort(404)
    return campaign


def _round(round_id: int) -> EvaluationRound:
    row = db.session.get(EvaluationRound, round_id)
    if row is None:
        abort(404)
    return row


def _unit_name(unit: Unit | None, lang: str) -> str:
    return "" if unit is None else unit.name_zh if lang == "zh" else unit.name_en


def _parse_date(text: str | None, field: str, problems: list[Problem]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(Problem(field, "a date such as 2026-11-20", "须为日期，如 2026-11-20"))
        return None


def _start_form_problems(form: Any) -> tuple[dict[str, Any], list[Problem]]:
    """The start form's fields as start_round takes them, and the problems of those the form alone can judge."""
    problems: list[Problem] = []
    count = None
    if (form.get("count") or "").strip():
        try:
            count = int(form["count"])
        except ValueError:
            problems.append(Problem("count", "a whole number of points", "须为整数"))
    seed = None
    if (form.get("seed") or "").strip():
        try:
            seed = int(form["seed"])
        except ValueError:
            problems.append(Problem("seed", "a whole number", "须为整数"))
    values = {"name": form.get("name", ""), "starts_on": _parse_date(form.get("starts_on"), "starts_on", problems),
              "ends_on": _parse_date(form.get("ends_on"), "ends_on", problems),
              "types": form.getlist("types"), "count": count, "seed": seed,
              "codes": (form.get("codes") or "").replace("，", ",").replace(" ", ",").split(",")}
    return values, problems


def _index_page(errors: dict[str, list[str]], form: Any, status: int = 200):
    campaign = _campaign()
    lang = short_lang()
    return render_template("evaluation_index.html", trend=mock.trend(db.session, campaign),
                           rounds=mock.rounds(db.session, campaign), kinds=mock.KINDS, statuses=mock.STATUSES,
                           types=[(code, names[0 if lang == "zh" else 1]) for code, names in TYPE_NAMES.items()],
                           may_run=current_user.role in RUNNERS, lang=lang, errors=errors, form=form), status


@bp.get("")
@require_roles(*READERS)
def index():
    return _index_page({}, {})


@bp.post("/rounds")
@require_roles(*RUNNERS)
def start():
    values, problems = _start_form_problems(request.form)
    try:
        if problems:
            raise InputError(problems)
        row = mock.start_round(db.session, _campaign(), current_user, **values)
    except InputError as err:
        db.session.rollback()
        return _index_page(err.by_field(short_lang()), request.form, 422)
    db.session.commit()
    flash(ngettext("Round %(n)s started with %(num)s point.", "Round %(n)s started with %(num)s points.",
                   len(row.point_ids), n=row.number), "success")
    return redirect(url_for("evaluation.round_page", round_id=row.id))


def _rates_rows(row: EvaluationRound, lang: str) -> dict[str, Any]:
    rates = mock.rates(db.session, row)
    points = {p.id: p for p in mock.points_of(db.session, row)}
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(list(rates.units))))} \
        if rates.units else {}
    return {"rates": rates, "points": points,
            "unit_rows": sorted(((units[u], t) for u, t in rates.units.items()), key=lambda r: r[0].code),
            "type_rows": sorted(((type_name(c, lang), t) for c, t in rates.types.items()), key=lambda r: r[0])}


@bp.get("/rounds/<int(max=2147483647):round_id>")
@require_roles(*READERS)
def round_page(round_id: int):
    row = _round(round_id)
    lang = short_lang()
    campaign = db.session.get(Campaign, row.campaign_id)
    deducted = [d for d in official.deductions(db.session, campaign) if d.round_id == row.id]
    return render_template("evaluation_round.html", row=row, kinds=mock.KINDS, statuses=mock.STATUSES,
                           run_by=person_name(row.run_by) or None,
                           deductions=deducted, carriers=official.carriers(db.session, campaign, deducted),
                           type_name=type_name, unit_name=_unit_name, lang=lang,
                           may_run=current_user.role in RUNNERS, may_score=mock.may_score(current_user),
                           **_rates_rows(row, lang))


@bp.post("/rounds/<int(max=2147483647):round_id>/close")
@require_roles(*RUNNERS)
def close(round_id: int):
    mock.close_round(db.session, _round(round_id))
    db.session.commit()
    flash(_("Round closed: it takes no more scores."), "success")
    return redirect(url_for("evaluation.round_page", round_id=round_id))


def _point(row: EvaluationRound, code: str) -> InspectionPoint:
    point = db.session.scalar(select(InspectionPoint).where(InspectionPoint.code == code)) \
        if "\x00" not in code else None
    if point is None or point.id not in row.point_ids:
        abort(404)
    return point


def _score_page(row: EvaluationRound, point: InspectionPoint, errors: dict[str, list[str]], form: Any,
                status: int = 200):
    lang = short_lang()
    scores = mock.scores_of(db.session, row, point.id)
    campaign = db.session.get(Campaign, row.campaign_id)
    return render_template("evaluation_score.html", row=row, point=point, type_name=type_name(point.type.code, lang),
                           items=checklists.items_for(db.session, point.type_id), scores=scores,
                           links=case_links([s.case_id for s in scores if s.case_id]),
                           may_score=mock.may_score(current_user) and row.status == "open" and row.kind == "mock",
                           zone=campaign.timezone, max_photos=daily.MAX_PHOTOS, lang=lang, errors=errors,
                           form=form), status


@bp.get("/rounds/<int(max=2147483647):round_id>/points/<code>")
@require_roles(*READERS)
def score_page(round_id: int, code: str):
    row = _round(round_id)
    return _score_page(row, _point(row, code), {}, {})


@bp.post("/rounds/<int(max=2147483647):round_id>/points/<code>")
@require_roles(*READERS)
def score(round_id: int, code: str):
    row = _round(round_id)
    point = _point(row, code)
    settings = current_app.extensions["civicrules.settings"]
    items = checklists.items_for(db.session, point.type_id)
    try:
        scores = mock.score_point(db.session, row, point, current_user,
                                  answers_from(request.form, request.files, items),
                                  settings.evidence.dir, settings.evidence.max_bytes)
    except InputError as err:
        db.session.rollback()
        row = _round(round_id)
        return _score_page(row, _point(row, code), err.by_field(short_lang()), request.form, 422)
    failed = sum(1 for s in scores if not s.passed)
    db.session.commit()
    unit = _unit_name(point.unit, short_lang())
    flash(_("Scored: %(n)s item(s) lost points and were filed as cases for %(unit)s.", n=failed, unit=unit)
          if failed else _("Scored: every item at full marks."), "success")
    return redirect(url_for("evaluation.score_page", round_id=row.id, code=point.code))


@bp.get("/deductions")
@require_roles(*READERS)
def deductions_page():
    campaign = _campaign()
    found = official.responsibility(db.session, campaign)
    return render_template("evaluation_deductions.html", by_unit=found.by_unit, by_person=found.by_person,
                           deductions=found.deductions, carriers=found.carriers,
                           rule=COOPERATION_POINTS[found.rule][0 if short_lang() == "zh" else 1], type_name=type_name,
                           unit_name=_unit_name, lang=short_lang())


def round_json(row: EvaluationRound, lang: str) -> dict[str, Any]:
    return {"id": row.id, "number": row.number, "name": row.name, "kind": row.kind,
            "kind_name": mock.KINDS[row.kind][0 if lang == "zh" else 1], "status": row.status,
            "starts_on": row.starts_on.isoformat(), "ends_on": row.ends_on.isoformat(), "seed": row.seed,
            "points": len(row.point_ids)}


@api.get("/evaluation/rounds")
@require_token(kinds=("user",), roles=READERS)
def list_rounds():
    campaign = campaign_for(db.session, None)
    if campaign is None:
        return jsonify({"rounds": [], "trend": []})
    lang = short_lang()
    return jsonify({"rounds": [round_json(r, lang) for r in mock.rounds(db.session, campaign)],
                    "trend": [{"round": r.number, "rate": t.json()["rate"]} for r, t in
                              mock.trend(db.session, campaign)]})


@api.get("/evaluation/rounds/<int(max=2147483647):round_id>")
@require_token(kinds=("user",), roles=READERS)
def round_rates(round_id: int):
    row = db.session.get(EvaluationRound, round_id)
    if row is None:
        return problem(404, "not-found", detail_key="not_found")
    lang = short_lang()
    rows = _rates_rows(row, lang)
    rates, points = rows["rates"], rows["points"]
    return jsonify({**round_json(row, lang), "scored_points": rates.scored_points, "rate": rates.round.json(),
                    "by_point": [{"code": points[p].code, "name": points[p].name, **t.json()}
                                 for p, t in sorted(rates.points.items(), key=lambda pt: points[pt[0]].code)],
                    "by_type": [{"code": c, "name": type_name(c, lang), **t.json()}
                                for c, t in sorted(rates.types.items())],
                    "by_unit": [{"code": u.code, "name": _unit_name(u, lang), **t.json()}
                                for u, t in rows["unit_rows"]]})


def _openapi() -> dict[str, Any]:
    rate = {"type": "object", "properties": {"obtained": {"type": "number"}, "maximum": {"type": "number"},
                                             "items": {"type": "integer"}, "failed": {"type": "integer"},
                                             "rate": {"type": "number", "nullable": True}}}
    round_ = {"type": "object", "required": ["id", "number", "name", "kind", "status"], "properties": {
        "id": {"type": "integer"}, "number": {"type": "integer"}, "name": {"type": "string"},
        "kind": {"type": "string", "enum": list(mock.KINDS)}, "kind_name": {"type": "string"},
        "status": {"type": "string", "enum": list(mock.STATUSES)},
        "starts_on": {"type": "string", "format": "date"}, "ends_on": {"type": "string", "format": "date"},
        "seed": {"type": "integer", "nullable": True}, "points": {"type": "integer"}}}
    named_rate = {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                                   **rate["properties"]}}
    return {
        "/api/v1/evaluation/rounds": {"get": {
            "summary": "The evaluation rounds (模拟测评 and official) and the mock rounds' score rate trend",
            "tags": ["evaluation"], "security": BEARER,
            "responses": {"200": json_response("Rounds in order, and one rate per mock round", {
                "type": "object", "properties": {"rounds": {"type": "array", "items": round_},
                                                 "trend": {"type": "array", "items": {"type": "object"}}}}),
                **problem_responses(401, 403)}}},
        "/api/v1/evaluation/rounds/{round_id}": {"get": {
            "summary": "A round's score rates (obtained / maximum of the items scored) per point, type and unit",
            "tags": ["evaluation"], "security": BEARER, "parameters": [id_parameter("round_id", "The round")],
            "responses": {"200": json_response("The round and its rates", {"type": "object", "properties": {
                **round_["properties"], "scored_points": {"type": "integer"}, "rate": rate,
                "by_point": {"type": "array", "items": named_rate}, "by_type": {"type": "array", "items": named_rate},
                "by_unit": {"type": "array", "items": named_rate}}}), **problem_responses(401, 403, 404)}}},
    }


OPENAPI_PATHS = _openapi()
