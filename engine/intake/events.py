"""Intake: validate and normalise an incoming event, then store it once per (source, source_event_id).

A repeat of an accepted event returns the original row; nothing is stored for a refused one.
The caller owns the transaction: these functions flush, they never commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import TextClause, select, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.core import clock
from engine.intake.reporter import reporter_values
from rules.problems import InputError, Problem, hostile_problems
from engine.space.datum import to_wgs84
from engine.space.geo import grid_for_address, grid_for_point
from engine.space.grids import GRID_CODE_LENGTH
from engine.space.holders import holder_point
from engine.core.models import Category, Event, FilingCondition, Grid
from engine.core.states import EventStatus
from rules.facts import SOURCE_TYPES

MAX_DESCRIPTION = 4000
MAX_ADDRESS = 300
FUTURE_TOLERANCE = timedelta(minutes=10)
#: Older reports are typing errors; and history windows (30 days back) must stay within datetime's range.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
KNOWN_FIELDS = {"source_event_id", "category", "filing_condition", "grid", "location", "occurred_at",
                "description", "address", "source_type", "media_url", "reporter_name", "reporter_phone", "anonymous",
                "confidence"}
MAX_MEDIA_URL = 500


@dataclass(frozen=True)
class IntakeSource:
    """Who hands the event over: the intake token's source name and its source type, which every event it
    sends carries (a payload may repeat the type, not claim another), and the datum its points are in."""

    name: str
    source_type: str = "hotline"
    crs: str = "wgs84"


@dataclass(frozen=True)
class AcceptedEvent:
    """What intake answers: the stored event's id and status (the original one for a repeat)."""

    id: int
    status: str


#: Categories by code (their id and filing conditions), and grids by code.
Codes = tuple[dict[str, tuple[int, frozenset[str]]], dict[str, int]]
_REFERENCE_TTL = 30.0
_reference: tuple[float, object, dict[str, tuple[int, frozenset[str]]], dict[str, int]] | None = None


def _codes(session: Session) -> Codes:
    """Categories (with their filing conditions) and grids by code: master data, cached 30 s per process."""
    global _reference
    key = session.get_bind().engine  # the engine itself: rendering its URL costs more than the lookup
    if _reference is None or _reference[1] is not key or time.monotonic() - _reference[0] > _REFERENCE_TTL:
        conditions: dict[int, set[str]] = {}
        for category_id, code in session.execute(select(FilingCondition.category_id, FilingCondition.code)):
            conditions.setdefault(category_id, set()).add(code)
        categories = {code: (cid, frozenset(conditions[cid]))
                      for cid, code in session.execute(select(Category.id, Category.code)) if cid in conditions}
        grids = dict(session.execute(select(Grid.code, Grid.id)).all())
        _reference = (time.monotonic(), key, categories, grids)
    return _reference[2], _reference[3]


def _problem(field: str, en: str, zh: str) -> Problem:
    return Problem(field, en, zh)


def _mistyped(value: Any) -> bool:
    """Sent, but not as text (a number, a list, true): the sender's mistake is its type, not a missing value."""
    return value is not None and not isinstance(value, str)


def _not_text(field: str) -> Problem:
    return _problem(field, "must be a text code", "须为文本代码")


def _parse_time(value: Any, problems: list[Problem]) -> datetime | None:
    if not isinstance(value, str) or not value:
        problems.append(_problem("occurred_at", "required: an ISO 8601 timestamp with a UTC offset",
                                 "必填：带时区偏移的 ISO 8601 时间"))
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problems.append(_problem("occurred_at", f"not an ISO 8601 timestamp: {value!r}",
                                 f"不是 ISO 8601 时间：{value!r}"))
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        problems.append(_problem("occurred_at", "the timestamp has no UTC offset (e.g. +08:00)",
                                 "时间缺少时区偏移（例如 +08:00）"))
        return None
    if parsed < EARLIEST:
        problems.append(_problem("occurred_at", "the timestamp is before 2000", "时间早于 2000 年"))
        return None
    if parsed - clock.now() > FUTURE_TOLERANCE:
        problems.append(_problem("occurred_at", "the timestamp lies in the future", "时间晚于当前时刻"))
        return None
    return parsed


def parse_event(session: Session, payload: Any, source: IntakeSource, codes: Codes | None = None) -> dict[str, Any]:
    """Validate one payload; return the column values of a new Event or raise InputError. A batch passes the
    master data's `codes` (from _codes) read once for all its items."""
    if not isinstance(payload, dict):
        raise InputError([_problem("(body)", "an event must be a JSON object", "事件必须是 JSON 对象")])
    problems: list[Problem] = hostile_problems(payload)  # a batch's items are checked here, one by one
    if problems:
        raise InputError(problems)
    for extra in sorted(set(payload) - KNOWN_FIELDS):
        problems.append(_problem(extra, "unknown field", "未知字段"))

    source_event_id = payload.get("source_event_id")
    if isinstance(source_event_id, int) and not isinstance(source_event_id, bool):
        source_event_id = str(source_event_id)
    if _mistyped(source_event_id):
        problems.append(_not_text("source_event_id"))
    elif not isinstance(source_event_id, str) or not source_event_id.strip() or len(source_event_id) > 128:
        problems.append(_problem("source_event_id", "required: the event's id in the sending system (1–128 characters)",
                                 "必填：事件在来源系统中的编号（1–128 个字符）"))

    categories, grids = codes or _codes(session)
    category = None
    code = payload.get("category")
    if _mistyped(code):
        problems.append(_not_text("category"))
    elif not isinstance(code, str) or not code:
        problems.append(_problem("category", "required: a category code", "必填：问题类别代码"))
    else:
        category = categories.get(code)
        if category is None:
            problems.append(_problem("category", f"unknown category {code!r}", f"未知的问题类别 {code!r}"))

    filing_condition = payload.get("filing_condition")
    if _mistyped(filing_condition):
        problems.append(_not_text("filing_condition"))
    elif filing_condition is not None and category is not None:
        if filing_condition not in category[1]:
            problems.append(_problem("filing_condition",
                                     f"{filing_condition!r} is not a filing condition of category {code}",
                                     f"{filing_condition!r} 不是类别 {code} 的立案条件"))

    grid_id, lat, lon = _resolve_grid(session, grids, payload, problems, source.crs)
    occurred_at = _parse_time(payload.get("occurred_at"), problems)

    description = payload.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        problems.append(_problem("description", f"text of at most {MAX_DESCRIPTION} characters",
                                 f"不超过 {MAX_DESCRIPTION} 个字符的文本"))
    address = payload.get("address", "")
    if not isinstance(address, str) or len(address) > MAX_ADDRESS:
        problems.append(_problem("address", f"text of at most {MAX_ADDRESS} characters",
                                 f"不超过 {MAX_ADDRESS} 个字符的文本"))
    media_url = payload.get("media_url")
    if media_url is not None and (not isinstance(media_url, str) or len(media_url) > MAX_MEDIA_URL
                                  or not media_url.startswith(("https://", "http://"))):
        problems.append(_problem("media_url", f"an http(s) URL of at most {MAX_MEDIA_URL} characters",
                                 f"不超过 {MAX_MEDIA_URL} 个字符的 http(s) 网址"))
    _check_source_type(payload.get("source_type"), source, problems)
    reporter = reporter_values(payload, source.source_type, problems)
    if problems:
        raise InputError(problems)
    return {
        "source": source.name, "source_event_id": source_event_id.strip(), "source_type": source.source_type,
        "category_id": category[0], "filing_condition": filing_condition, "grid_id": grid_id,
        "lat": lat, "lon": lon, "occurred_at": occurred_at, "description": description, "address": address,
        "media_url": media_url, **reporter,
    }


def _check_source_type(claimed: Any, source: IntakeSource, problems: list[Problem]) -> None:
    """The source type is the token's: a payload may leave it out or repeat it, never claim another, since
    trusted types (patrol, inspection) are filed without verification."""
    if source.source_type not in SOURCE_TYPES or (claimed is not None and claimed not in SOURCE_TYPES):
        problems.append(_problem("source_type", f"one of {', '.join(SOURCE_TYPES)}",
                                 f"须为 {'、'.join(SOURCE_TYPES)} 之一"))
    elif claimed is not None and claimed != source.source_type:
        problems.append(_problem("source_type", f"this source sends {source.source_type} events and may not "
                                 f"claim {claimed}; leave source_type out or send {source.source_type}",
                                 f"该来源的事件类型为 {source.source_type}，不能声明为 {claimed}；"
                                 f"请省略 source_type 或填写 {source.source_type}"))


def _resolve_grid(session: Session, grids: dict[str, int], payload: dict, problems: list[Problem],
                  datum: str = "wgs84") -> tuple[int | None, float | None, float | None]:
    code, location = payload.get("grid"), payload.get("location")
    lat = lon = None
    if location is not None:
        if (not isinstance(location, dict) or not all(isinstance(location.get(k), (int, float))
                                                      and not isinstance(location.get(k), bool) for k in ("lat", "lon"))
                or not -90 <= location["lat"] <= 90 or not -180 <= location["lon"] <= 180):
            problems.append(_problem("location", "location is {lat, lon} in degrees (in the datum the token declares, WGS-84 by default)",
                                     "位置格式为 {lat, lon}（经纬度，坐标系为令牌声明的坐标系，默认 WGS-84）"))
            return None, None, None
        lat, lon = to_wgs84(float(location["lat"]), float(location["lon"]), datum)  # stored in WGS-84
    if code is not None:
        grid_id = grids.get(code) if isinstance(code, str) else None
        if grid_id is None and isinstance(code, str) and len(code) == GRID_CODE_LENGTH and code.isdigit():
            grid_id = session.scalar(select(Grid.id).where(Grid.grid_code == code))  # the standard 15-digit code
        if grid_id is None:
            problems.append(_problem("grid", f"unknown grid {code!r}", f"未知的网格 {code!r}"))
        return grid_id, lat, lon
    if lat is None:
        address = payload.get("address")
        if isinstance(address, str) and address.strip():
            grid, holder = grid_for_address(session, address)
            if grid is None:
                problems.append(_problem("address", "this address is not registered (no frontage holder or grid has it); "
                                         "send a grid code or a location", "该地址未登记（无门前三包单位或网格使用该地址），"
                                         "请提供网格代码或位置"))
                return None, None, None
            return (grid.id, *holder_point(holder))
        problems.append(_problem("grid", "required: a grid code, a location or a registered address",
                                 "必填：网格代码、位置或已登记的地址"))
        return None, None, None
    grid = grid_for_point(session, lat, lon)  # none: kept, and its case waits for the dispatcher (待派遣)
    return (grid.id if grid else None), lat, lon


@lru_cache(maxsize=None)
def _store(dialect: str):
    """The one statement that stores an event, built once: the values travel as parameters, so a statement is
    not built, and its cache key not computed, for every event."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = Event.__table__
    return (insert(table).on_conflict_do_nothing(index_elements=["source", "source_event_id"])
            .returning(table.c.id))


def accept_event(session: Session, payload: Any, source: IntakeSource) -> tuple[AcceptedEvent, bool]:
    """Store the event unless (source, source_event_id) is known; return (event, created).

    One `INSERT … ON CONFLICT DO NOTHING RETURNING id` (PostgreSQL, SQLite ≥ 3.35), the same statement every
    time with the values bound apart (SQLAlchemy's cache skips compiling it): a concurrent or repeated delivery
    of the same event reads the original row instead."""
    values = parse_event(session, payload, source)
    new_id = session.execute(_store(session.get_bind().dialect.name), _row(values)).scalar()
    if new_id is not None:
        return AcceptedEvent(new_id, EventStatus.PENDING), True
    existing = session.execute(select(Event.id, Event.status).where(
        Event.source == values["source"], Event.source_event_id == values["source_event_id"])).one()
    return AcceptedEvent(existing.id, existing.status), False


#: Rows per INSERT of a batch on SQLite: within its bound-parameter limit at ~20 columns a row.
BULK_ROWS = 200
#: Rows per INSERT of a batch on PostgreSQL, whose statement takes its rows as one JSON text (a whole batch).
JSON_ROWS = 1000
UNSTORABLE = Problem("(event)", "a value the database cannot store", "含有数据库无法保存的值")


def accept_events(session: Session, payloads: list[Any], source: IntakeSource
                  ) -> list[tuple[AcceptedEvent, bool] | InputError]:
    """A batch: each payload validated on its own (a refused one answers with its problems), the valid ones
    stored by `INSERT … ON CONFLICT DO NOTHING RETURNING` (on PostgreSQL one statement of the rows as JSON per
    JSON_ROWS, on SQLite a multi-row INSERT per BULK_ROWS) and repeats read back in one SELECT; a repeat within
    the batch answers as a duplicate of its first. If the database refuses a chunk, it is halved until only
    the unstorable rows are refused."""
    outcomes: list[tuple[AcceptedEvent, bool] | InputError | None] = [None] * len(payloads)
    first: dict[str, int] = {}
    parsed: dict[int, dict[str, Any]] = {}
    codes = _codes(session)
    for index, payload in enumerate(payloads):
        try:
            parsed[index] = parse_event(session, payload, source, codes)
        except InputError as err:
            outcomes[index] = err
            continue
        first.setdefault(parsed[index]["source_event_id"], index)
    created: dict[str, int] = {}
    refused: dict[str, InputError] = {}
    rows = [_row(parsed[index]) for index in first.values()]
    as_json = session.get_bind().dialect.name == "postgresql"
    size = JSON_ROWS if as_json else BULK_ROWS
    for start in range(0, len(rows), size):
        _insert_chunk(session, rows[start:start + size], created, refused, as_json)
    existing = _existing(session, source.name, [sid for sid in first if sid not in created and sid not in refused])
    for index, values in parsed.items():
        sid = values["source_event_id"]
        if sid in refused:
            outcomes[index] = refused[sid]
        elif sid in created:
            outcomes[index] = (AcceptedEvent(created[sid], EventStatus.PENDING), first[sid] == index)
        else:
            outcomes[index] = (existing[sid], False)
    return outcomes  # type: ignore[return-value]  # every index has its outcome now


def _row(values: dict[str, Any]) -> dict[str, Any]:
    return {**values, "received_at": clock.now(), "status": EventStatus.PENDING, "attempts": 0, "points": 0}


def _insert(session: Session, rows: list[dict[str, Any]]):
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return session.execute(insert(Event).on_conflict_do_nothing(
        index_elements=["source", "source_event_id"]).returning(Event.id, Event.source_event_id), rows,
        execution_options={"render_nulls": True})  # a None stays NULL, and every row has the same columns


@lru_cache(maxsize=8)
def _json_insert(columns: tuple[str, ...]) -> TextClause:
    """`INSERT … SELECT FROM json_populate_recordset(NULL::events, :rows)`: the rows travel as one JSON text in
    one short statement, which psycopg parses once and PostgreSQL prepares, however many rows it carries. Each
    value is read by its column's own type (a too-long text is refused, not cut short)."""
    table, names = Event.__table__.name, ", ".join(columns)
    return text(f"INSERT INTO {table} ({names}) SELECT {names} FROM json_populate_recordset(NULL::{table}, "
                "CAST(:rows AS json)) ON CONFLICT (source, source_event_id) DO NOTHING RETURNING id, source_event_id")


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not an event column value")


def _insert_json(session: Session, rows: list[dict[str, Any]]):
    return session.execute(_json_insert(tuple(rows[0])),
                           {"rows": json.dumps(rows, ensure_ascii=False, default=_json_value)})


def _insert_chunk(session: Session, rows: list[dict[str, Any]], created: dict[str, int],
                  refused: dict[str, InputError], as_json: bool) -> None:
    try:
        with session.begin_nested():
            stored = _insert_json(session, rows) if as_json else _insert(session, rows)
            created.update({sid: new_id for new_id, sid in stored})
        return
    except (DataError, IntegrityError):  # a value it cannot read, or a constraint other than the duplicate key
        if len(rows) == 1:
            refused[rows[0]["source_event_id"]] = InputError([UNSTORABLE])
            return
    half = (len(rows) + 1) // 2  # the database refused something in this chunk: find it by halves
    _insert_chunk(session, rows[:half], created, refused, as_json)
    _insert_chunk(session, rows[half:], created, refused, as_json)


def _existing(session: Session, source: str, sids: list[str]) -> dict[str, AcceptedEvent]:
    found: dict[str, AcceptedEvent] = {}
    for start in range(0, len(sids), BULK_ROWS):
        found.update({row.source_event_id: AcceptedEvent(row.id, row.status) for row in session.execute(
            select(Event.source_event_id, Event.id, Event.status).where(
                Event.source == source, Event.source_event_id.in_(sids[start:start + BULK_ROWS])))})
    return found
