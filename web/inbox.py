"""Messages (消息): the signed-in user's inbox page, its header badge and its API; thin views over
engine/delivery/inbox.py. Everyone signed in reads their own messages and no one else's."""
from __future__ import annotations

import time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from sqlalchemy import select

from engine.core.models import DEFAULT_TIMEZONE, Campaign, PlanItem, SupervisionTier, User
from engine.delivery import inbox
from rules.problems import Problem
from web.auth import require_roles, require_token, token_user
from web.common.extensions import db
from web.common.i18n import short_lang
from web.common.problems import problem, refused
from web.task_view import map_links
from web.openapi import BEARER, id_parameter, json_response, problem_responses

bp = Blueprint("inbox", __name__)
api = Blueprint("inbox_api", __name__, url_prefix="/api/v1")
PAGE = 30
MAX_LIMIT = 200

#: What a message is, in words: a timeline step's action, a supervisor's act, the engine's own notices.
KINDS = {
    "remind": _l("Urge (催办)"), "order": _l("Order to handle (督办)"), "escalate": _l("Escalation (升级)"),
    "list_publicly": _l("Public listing (挂牌督办)"), "supervision_urge": _l("Urge (催办)"),
    "supervision_order": _l("Order to handle (督办)"), "supervision_list_publicly": _l("Public listing (挂牌督办)"),
    "task_dispatched": _l("New task"), "digest": _l("Daily summary"), "notify": _l("Rule notification"),
    "bulletin_published": _l("Weekly bulletin"), "readiness_missed": _l("Point not checked (未自查)"),
    "plan_overdue": _l("Plan item overdue (督办)"),
}
STEPS = ("remind", "order", "escalate", "list_publicly")


#: Each account's addresses for READER_SECONDS, so that the header's badge on every page is one COUNT; keyed
#: by what the account row says, so a changed unit or role is seen at once, a changed tier membership soon.
READERS: dict[tuple, tuple[float, inbox.Reader]] = {}
READER_SECONDS = 30.0


def _reader(user: User) -> inbox.Reader:
    """The user's addresses (unit scope, tier, person), from the cache while fresh."""
    key = (user.id, user.username, user.role, user.unit_id, user.tier_level)
    now = time.monotonic()
    cached = READERS.get(key)
    if cached is None or cached[0] < now:
        if len(READERS) > 10_000:
            READERS.clear()
        cached = READERS[key] = (now + READER_SECONDS, inbox.reader_of(db.session, user))
    return cached[1]


@bp.app_context_processor
def inbox_context() -> dict[str, Any]:
    return {"unread_messages": lambda: inbox.unread_count(db.session, _reader(current_user))}


def _zones(campaign_ids: set[int]) -> dict[int, ZoneInfo]:
    rows = db.session.execute(select(Campaign.id, Campaign.timezone).where(Campaign.id.in_(campaign_ids))) \
        if campaign_ids else []
    return {cid: ZoneInfo(zone or DEFAULT_TIMEZONE) for cid, zone in rows}


def _tier_names(lang: str) -> dict[tuple[int | None, int], str]:
    """Tier names by (campaign, level), and by (None, level) for a row without a task (a few rows in all)."""
    names: dict[tuple[int | None, int], str] = {}
    for tier in db.session.scalars(select(SupervisionTier).order_by(SupervisionTier.campaign_id)):
        name = tier.name_zh if lang == "zh" else tier.name_en
        names[(tier.campaign_id, tier.level)] = name
        names.setdefault((None, tier.level), name)
    return names


def _plan_titles(messages: list[inbox.Message]) -> dict[int, str]:
    """The titles of overdue plan items raised before their messages carried them (one query for the page)."""
    ids = {m.row.payload.get("plan_item") for m in messages if m.row.kind == "plan_overdue"
           and isinstance(m.row.payload, dict) and not m.row.payload.get("title")}
    ids.discard(None)
    if not ids:
        return {}
    return dict(db.session.execute(select(PlanItem.id, PlanItem.title).where(PlanItem.id.in_(ids))).all())


def describe(messages: list[inbox.Message], lang: str) -> list[dict[str, Any]]:
    """Each message as people read it: what happened in words, from whom, about which task (category and
    unit by name), at the campaign's local time."""
    campaigns = {m.task.campaign_id for m in messages if m.task is not None}
    zones, tiers = _zones(campaigns), _tier_names(lang)
    titles = _plan_titles(messages)
    default = ZoneInfo(DEFAULT_TIMEZONE)
    out = []
    for m in messages:
        row, task = m.row, m.task
        payload = row.payload if isinstance(row.payload, dict) else {}
        zone = zones.get(task.campaign_id, default) if task is not None else default
        tier = payload.get("tier") if isinstance(payload.get("tier"), int) else None
        tier_name = tiers.get((task.campaign_id if task else None, tier)) or tiers.get((None, tier)) if tier else None
        body = payload.get("body")
        if isinstance(body, dict) and isinstance(body.get("name"), dict) and body["name"].get(lang):
            tier_name = str(body["name"][lang])  # the supervising body as the step names it
        if row.kind in STEPS:
            origin = _("Timeline step") + (f" · {tier_name}" if tier_name else "")
        elif row.kind.startswith("supervision_"):
            origin = _("Supervisor") + (f" · {tier_name}" if tier_name else "")
        else:
            origin = None
        names = {"zh": 0, "en": 1}[lang]
        text = payload.get("message") if isinstance(payload.get("message"), str) else None
        if row.kind == "digest" and isinstance(payload.get("open"), int):
            text = ngettext("%(num)s open task, %(overdue)s overdue", "%(num)s open tasks, %(overdue)s overdue",
                            payload["open"], overdue=payload.get("overdue", 0))
        if row.kind == "plan_overdue" and isinstance(payload.get("code"), str):
            text = _("Item %(code)s of the task breakdown table, “%(title)s”, is past its due date (%(due_on)s) at "
                     "%(percent)s%% done: finish it and report its progress.", code=payload["code"],
                     title=payload.get("title") or titles.get(payload.get("plan_item"), ""),
                     due_on=payload.get("due_on", ""), percent=payload.get("percent", 0))
        link = None
        if row.kind == "bulletin_published" and isinstance(payload.get("issue"), int):
            heading, summary = payload.get("title") or {}, payload.get("summary") or {}
            text = " ".join(str(part) for part in (heading.get(lang), summary.get(lang)) if part) or None
            link = {"url": url_for("bulletin_issues.issue_pdf", issue_id=payload["issue"], language=lang), "label": _("Download the PDF")}
        out.append({
            "id": row.id, "kind": row.kind, "title": str(KINDS.get(row.kind, _l("Notification"))), "from": origin,
            "message": text, "link": link,
            "task": None if task is None else {
                "id": task.id, "url": url_for("pages.task", task_id=task.id),
                "category": (task.event.category.name_zh, task.event.category.name_en)[names],
                "unit": (task.unit.name_zh, task.unit.name_en)[names], "address": task.event.address or None,
                "map": map_links(task.event)},
            "created_at": row.created_at.astimezone(zone).isoformat(),
            "local_time": row.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "read": m.read_at is not None,
            "read_at": m.read_at.astimezone(zone).isoformat() if m.read_at is not None else None,
        })
    return out


@bp.get("/inbox")
@require_roles()
def page():
    unread_only = request.args.get("unread") == "1"
    number = min(max(request.args.get("page", default=1, type=int) or 1, 1), 10 ** 6)
    found = inbox.read_page(db.session, _reader(current_user), unread_only, PAGE, (number - 1) * PAGE)
    db.session.commit()
    return render_template("inbox.html", messages=describe(found.messages, short_lang()), total=found.total,
                           page=number, pages=max((found.total + PAGE - 1) // PAGE, 1), unread_only=unread_only)


@bp.post("/inbox/<int:message_id>/read")
@require_roles()
def read(message_id: int):
    reader = _reader(current_user)
    if not inbox.is_addressed(db.session, reader, message_id):
        abort(404)
    inbox.mark_read(db.session, reader, [message_id])
    db.session.commit()
    return redirect(url_for("inbox.page", unread=request.args.get("unread") or None,
                            page=request.args.get("page", type=int) or None))


@bp.post("/inbox/read-all")
@require_roles()
def read_all():
    inbox.mark_all_read(db.session, _reader(current_user))
    db.session.commit()
    return redirect(url_for("inbox.page"))


def _number(name: str, default: int, low: int, high: int) -> tuple[int, list[Problem]]:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default, []
    if not raw.isdecimal() or not low <= int(raw) <= high:
        return default, [Problem(name, f"a whole number from {low} to {high}", f"须为 {low}–{high} 的整数")]
    return int(raw), []


@api.get("/inbox")
@require_token(kinds=("user",))
def api_list():
    user = token_user()
    limit, bad_limit = _number("limit", 50, 1, MAX_LIMIT)
    offset, bad_offset = _number("offset", 0, 0, 10 ** 9)
    unread = request.args.get("unread", "0")
    bad_unread = [] if unread in ("0", "1") else [Problem("unread", "0 or 1", "须为 0 或 1")]
    if bad_limit or bad_offset or bad_unread:
        return refused(bad_limit + bad_offset + bad_unread)
    found = inbox.read_page(db.session, _reader(user), unread == "1", limit, offset)
    db.session.commit()
    return jsonify({"messages": describe(found.messages, short_lang()), "total": found.total, "limit": limit,
                    "offset": offset, "unread": found.unread})


@api.post("/inbox/<int:message_id>/read")
@require_token(kinds=("user",))
def api_read(message_id: int):
    reader = _reader(token_user())
    if not inbox.is_addressed(db.session, reader, message_id):
        return problem(404, "not-found", detail_key="not_found")
    inbox.mark_read(db.session, reader, [message_id])
    db.session.commit()
    return jsonify({"id": message_id, "read": True, "unread": inbox.unread_count(db.session, reader)})


def _openapi() -> dict:
    message = {"type": "object", "required": ["id", "kind", "title", "created_at", "read"], "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string"},
        "title": {"type": "string", "description": "What happened, in words (催办, 督办, 挂牌督办, 升级, …)"},
        "from": {"type": "string", "nullable": True, "description": "A timeline step or a supervisor, with the tier"},
        "message": {"type": "string", "nullable": True},
        "link": {"type": "object", "nullable": True, "description": "A published weekly bulletin's PDF",
                 "properties": {"url": {"type": "string"}, "label": {"type": "string"}}},
        "task": {"type": "object", "nullable": True, "properties": {
            "id": {"type": "integer"}, "url": {"type": "string"}, "category": {"type": "string"},
            "unit": {"type": "string"}, "address": {"type": "string", "nullable": True},
            "map": {"type": "object", "nullable": True, "description": "geo: (WGS-84) and Gaode (GCJ-02) links",
                    "properties": {"geo": {"type": "string"}, "amap": {"type": "string"}}}}},
        "created_at": {"type": "string", "format": "date-time", "description": "In the campaign's time zone"},
        "local_time": {"type": "string"}, "read": {"type": "boolean"},
        "read_at": {"type": "string", "format": "date-time", "nullable": True}}}
    return {
        "/api/v1/inbox": {"get": {
            "summary": "The caller's messages (消息): notifications to them, their unit, tier or person chain",
            "security": BEARER, "tags": ["inbox"], "parameters": [
                {"name": "unread", "in": "query", "required": False, "description": "1: unread messages only",
                 "schema": {"type": "string", "enum": ["0", "1"]}},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50}},
                {"name": "offset", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 0, "maximum": 10 ** 9, "default": 0}}],
            "responses": {
                "200": json_response("A page of messages, newest first", {
                    "type": "object", "required": ["messages", "total", "limit", "offset", "unread"], "properties": {
                        "messages": {"type": "array", "items": message}, "total": {"type": "integer"},
                        "limit": {"type": "integer"}, "offset": {"type": "integer"},
                        "unread": {"type": "integer"}}}),
                **problem_responses(401, 403, 422)}}},
        "/api/v1/inbox/{message_id}/read": {"post": {
            "summary": "Mark one of the caller's messages read", "security": BEARER, "tags": ["inbox"],
            "parameters": [id_parameter("message_id", "Message id")],
            "responses": {
                "200": json_response("Marked", {"type": "object", "required": ["id", "read", "unread"], "properties": {
                    "id": {"type": "integer"}, "read": {"type": "boolean"}, "unread": {"type": "integer"}}}),
                **problem_responses(401, 403, 404)}}},
    }


OPENAPI_PATHS = _openapi()
