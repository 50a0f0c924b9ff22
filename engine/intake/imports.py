"""Importing events from a file (a hotline platform's CSV or Excel export): map columns, dry-run, import.

The file is kept in the instance folder; a dry run reads it and reports every bad row with its
reason without writing anything; the import runs as a job in chunks, each chunk one transaction,
with its progress on the ImportRun row. Rows go through intake like any API event, so a re-import
of the same file finds every (source, source id) already known and creates nothing.
"""
from __future__ import annotations

from datetime import date, datetime, time as day_time
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from engine.core import clock
from rules.problems import InputError, Problem
from engine.intake.events import IntakeSource, accept_event, parse_event
from engine.core.models import Event, ImportRun
from engine.core.tables import MAX_FILE_BYTES, Table, read_table
from engine.space.datum import datum_problem
import uuid

CHUNK = 500
REPORT_LIMIT = 500  # bad rows kept in a report; the count covers them all
TARGETS = ("source_event_id", "category", "occurred_at", "grid", "lat", "lon", "address", "description",
           "filing_condition", "source_type")
#: The caller (来电人/反映人) and their number: mapped when the file has them, masked when shown.
REPORTER_TARGETS = ("reporter_name", "reporter_phone")
REQUIRED = ("source_event_id", "category", "occurred_at")
#: Column headers seen in hotline (12345/12319) and patrol exports, for a first guess at the mapping.
HEADER_HINTS = {
    "source_event_id": ("工单编号", "工单号", "编号", "案件编号", "source_event_id", "id", "ticket"),
    "category": ("问题类别代码", "类别代码", "问题类别", "类别", "category", "category_code"),
    "occurred_at": ("发生时间", "受理时间", "上报时间", "时间", "occurred_at", "time", "reported_at"),
    "grid": ("网格", "网格编号", "网格代码", "grid"),
    "lat": ("纬度", "lat", "latitude"),
    "lon": ("经度", "lon", "lng", "long", "longitude"),
    "address": ("问题地址", "地址", "发生地址", "address"),
    "description": ("问题描述", "描述", "诉求内容", "内容", "description"),
    "filing_condition": ("立案条件", "filing_condition"),
    "source_type": ("来源类型", "来源", "source_type"),
    "reporter_name": ("来电人", "反映人", "来电人姓名", "反映人姓名", "reporter_name"),
    "reporter_phone": ("来电号码", "联系电话", "来电人电话", "reporter_phone", "phone"),
}


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Target field -> column header, from the usual header names (the administrator confirms it)."""
    lowered = {h.lower(): h for h in headers}
    mapping = {}
    for target, hints in HEADER_HINTS.items():
        found = next((lowered[h.lower()] for h in hints if h.lower() in lowered), None)
        if found:
            mapping[target] = found
    return mapping


def check_mapping(headers: list[str], mapping: dict[str, str]) -> None:
    problems = [Problem(t, "map a column to this field", "请为该字段选择一列") for t in REQUIRED if not mapping.get(t)]
    problems += [Problem(t, f"no column {c!r} in the file", f"文件中没有列 {c!r}")
                 for t, c in mapping.items() if c and c not in headers]
    if not any(mapping.get(t) for t in ("grid", "lat", "address")):
        problems.append(Problem("grid", "map a grid column, latitude and longitude, or an address",
                                     "请映射网格列、经纬度或地址列"))
    if bool(mapping.get("lat")) != bool(mapping.get("lon")):
        problems.append(Problem("lon", "latitude and longitude are mapped together", "纬度与经度须同时映射"))
    if problems:
        raise InputError(problems)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _occurred_at(value: Any, zone: ZoneInfo) -> str:
    """Excel dates and naive local times are read in the campaign's zone; ISO times with an offset stay."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, day_time())
    else:
        text = _cell(value).replace("/", "-")
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text  # intake names the problem
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def payload_for(row: list[Any], headers: list[str], mapping: dict[str, str], zone: ZoneInfo) -> dict[str, Any]:
    index = {h: i for i, h in enumerate(headers)}
    value = {t: (row[index[c]] if index[c] < len(row) else None) for t, c in mapping.items() if c}
    payload: dict[str, Any] = {"source_event_id": _cell(value.get("source_event_id")),
                               "category": _cell(value.get("category")),
                               "occurred_at": _occurred_at(value.get("occurred_at"), zone)}
    for key in ("grid", "address", "description", "filing_condition", "source_type", *REPORTER_TARGETS):
        if _cell(value.get(key)):
            payload[key] = _cell(value[key])
    if _cell(value.get("lat")) or _cell(value.get("lon")):
        try:
            payload["location"] = {"lat": float(_cell(value.get("lat"))), "lon": float(_cell(value.get("lon")))}
        except ValueError:
            payload["location"] = {"lat": _cell(value.get("lat")), "lon": _cell(value.get("lon"))}
    return payload


def _rows(table: Table, mapping: dict[str, str], zone: ZoneInfo) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, row in enumerate(table.rows, start=2):  # row 1 holds the headers, as a spreadsheet shows it
        yield number, payload_for(row, table.headers, mapping, zone)


def _problem_rows(number: int, err: InputError) -> dict[str, Any]:
    return {"row": number, "problems": [{"field": p.where, "en": p.en, "zh": p.zh} for p in err.problems]}


def dry_run(session: Session, run: ImportRun) -> dict[str, Any]:
    """Check every row as intake would, report the bad ones and the repeats; write nothing but the report."""
    table = read_table(Path(run.stored_path))
    check_mapping(table.headers, run.mapping)
    source, zone = IntakeSource(run.source, run.source_type, run.crs), ZoneInfo(run.timezone)
    bad, good, ids = [], 0, []
    seen: set[str] = set()
    for number, payload in _rows(table, run.mapping, zone):
        try:
            values = parse_event(session, payload, source)
        except InputError as err:
            bad.append(_problem_rows(number, err))
            continue
        if values["source_event_id"] in seen:
            bad.append({"row": number, "problems": [{"field": "source_event_id", "en": "repeated in this file",
                                                     "zh": "在本文件中重复"}]})
            continue
        seen.add(values["source_event_id"])
        ids.append(values["source_event_id"])
        good += 1
    known = 0
    for start in range(0, len(ids), 1000):
        known += len(session.scalars(select(Event.id).where(
            Event.source == run.source, Event.source_event_id.in_(ids[start:start + 1000]))).all())
    return {"rows": len(table.rows), "valid": good, "invalid": len(bad), "already_imported": known,
            "bad_rows": bad[:REPORT_LIMIT]}


def run(factory: sessionmaker, run_id: int) -> ImportRun:
    """Import the file in chunks of CHUNK rows (one transaction each), recording progress; stops if cancelled."""
    with factory() as session:
        job = session.get(ImportRun, run_id)
        if job.status in ("cancelling", "cancelled"):  # cancelled while it waited in the queue
            job.status, job.finished_at = "cancelled", clock.now()
            session.commit()
            return job
        table = read_table(Path(job.stored_path))
        check_mapping(table.headers, job.mapping)
        job.status, job.total, job.started_at = "running", len(table.rows), clock.now()
        session.commit()
        source, zone = IntakeSource(job.source, job.source_type, job.crs), ZoneInfo(job.timezone)
        rows = list(_rows(table, job.mapping, zone))
        report = list(job.report or [])
        for start in range(job.processed, len(rows), CHUNK):
            session.refresh(job)
            if job.status == "cancelling":
                job.status, job.finished_at = "cancelled", clock.now()
                session.commit()
                return job
            for number, payload in rows[start:start + CHUNK]:
                try:
                    with session.begin_nested():
                        _event, created = accept_event(session, payload, source)
                except InputError as err:
                    job.refused += 1
                    if len(report) < REPORT_LIMIT:
                        report.append(_problem_rows(number, err))
                    continue
                except DataError:  # a value the database refuses: this row only, its savepoint is rolled back
                    job.refused += 1
                    if len(report) < REPORT_LIMIT:
                        report.append(_problem_rows(number, InputError([Problem(
                            "(row)", "a value the database cannot store", "含有数据库无法保存的值")])))
                    continue
                if created:
                    job.created += 1
                else:
                    job.duplicates += 1
            job.processed = min(start + CHUNK, len(rows))
            job.report = list(report)
            session.commit()
        job.status, job.finished_at = "done", clock.now()
        session.commit()
        return job


def cancel(session: Session, job: ImportRun) -> None:
    """Ask a running import to stop after its current chunk (the caller commits)."""
    if job.status in ("queued", "running"):
        job.status = "cancelling" if job.status == "running" else "cancelled"


def fail(factory: sessionmaker, run_id: int, err: Exception) -> None:
    """Record why an import stopped (its committed chunks stay: a re-run skips them as repeats)."""
    with factory() as session:
        job = session.get(ImportRun, run_id)
        if job is not None:
            job.status, job.error, job.finished_at = "failed", f"{type(err).__name__}: {err}"[:2000], clock.now()
            session.commit()


def new_run(session: Session, folder: Path, filename: str, data: bytes, source: str, source_type: str,
            timezone: str, user_id: int | None, crs: str = "wgs84") -> ImportRun:
    """Keep the uploaded file and guess its mapping (the caller commits); `crs` is the datum of its points."""
    suffix = Path(filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InputError([Problem("file", "a .csv or .xlsx file", "须为 .csv 或 .xlsx 文件")])
    if len(data) > MAX_FILE_BYTES:
        raise InputError([Problem("file", f"at most {MAX_FILE_BYTES // 2**20} MB", f"不超过 {MAX_FILE_BYTES // 2**20} MB")])
    try:
        ZoneInfo(timezone)
    except Exception:
        raise InputError([Problem("timezone", "an IANA time zone such as Asia/Shanghai",
                                       "须为 IANA 时区，例如 Asia/Shanghai")]) from None
    if datum_problem("crs", crs) is not None:
        raise InputError([datum_problem("crs", crs)])
    if not source.strip() or len(source) > 64:
        raise InputError([Problem("source", "the sending system's name (1–64 characters)",
                                       "来源系统名称（1–64 个字符）")])

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    path.write_bytes(data)
    try:
        table = read_table(path)
    except InputError:
        path.unlink(missing_ok=True)
        raise
    job = ImportRun(filename=Path(filename).name[:255], stored_path=str(path), source=source.strip(),
                    source_type=source_type, timezone=timezone, crs=crs, mapping=guess_mapping(table.headers),
                    status="uploaded", total=len(table.rows), processed=0, created=0, duplicates=0, refused=0,
                    created_by_id=user_id, created_at=clock.now())
    session.add(job)
    session.flush()
    return job
