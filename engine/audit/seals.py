"""Tamper evidence: firings, task transitions and the change log are sealed in segments, in id order, each seal
hashing its rows and chaining to the previous seal. One sealer writes seals; the rows' own writers
are never serialised. `verify` recomputes everything and names the first broken link."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.models import AuditSeal, ChangeLogEntry, Firing, TaskTransition

GENESIS = "0" * 64
SEGMENT_ROWS = 5000
SETTLE = timedelta(seconds=60)  # rows younger than this may still belong to an uncommitted batch
CHAINED = {
    "firings": (Firing, Firing.fired_at, ("id", "event_id", "campaign_id", "ruleset_version_id", "rule_key",
                                          "rule_version", "list_kind", "list_item", "matched", "decisions",
                                          "points", "task_id", "fired_at")),
    "task_transitions": (TaskTransition, TaskTransition.at, ("id", "task_id", "from_status", "to_status", "action",
                                                             "actor_id", "at", "comment", "data")),
    "change_log": (ChangeLogEntry, ChangeLogEntry.at, ("id", "at", "user_id", "username", "interface", "object_type",
                                                       "object_id", "action", "before", "after", "campaign_id")),
}


def row_digest(row: Any, columns: tuple[str, ...]) -> str:
    values = {}
    for name in columns:
        value = getattr(row, name)
        values[name] = value.astimezone(timezone.utc).isoformat() if isinstance(value, datetime) else value
    blob = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _content_hash(rows: list[Any], columns: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(row_digest(row, columns).encode())
    return digest.hexdigest()


def _chain(prev: str, content: str) -> str:
    return hashlib.sha256(f"{prev}{content}".encode()).hexdigest()


def seal(session: Session, now: datetime | None = None) -> int:
    """Seal the settled rows after the last seal of each chained table; commits; returns seals written."""
    now = now or clock.now()
    written = 0
    for kind, (model, stamp, columns) in CHAINED.items():
        last = session.scalar(select(AuditSeal).where(AuditSeal.kind == kind).order_by(AuditSeal.seq.desc()).limit(1))
        rows = list(session.scalars(select(model).where(model.id > (last.last_id if last else 0), stamp < now - SETTLE)
                                    .order_by(model.id).limit(SEGMENT_ROWS)))
        if not rows:
            continue
        content = _content_hash(rows, columns)
        prev = last.chain_hash if last else GENESIS
        try:
            with session.begin_nested():
                session.add(AuditSeal(kind=kind, seq=(last.seq + 1) if last else 1, first_id=rows[0].id,
                                      last_id=rows[-1].id, row_count=len(rows), content_hash=content, prev_hash=prev,
                                      row_digests=[[row.id, row_digest(row, columns)] for row in rows],
                                      chain_hash=_chain(prev, content), sealed_at=now))
            written += 1
        except IntegrityError:
            continue  # another sealer took this segment
    session.commit()
    return written


def _first_changed(s: AuditSeal, rows: list[Any], columns: tuple[str, ...]) -> int | None:
    """The id of the first row whose digest differs from the one sealed (older seals keep no row digests)."""
    if not s.row_digests:
        return None
    sealed = {int(ident): digest for ident, digest in s.row_digests}
    for row in rows:
        if sealed.get(row.id) != row_digest(row, columns):
            return row.id
    return None


@dataclass
class Verdict:
    intact: bool = True
    sealed_rows: dict[str, int] = field(default_factory=dict)
    unsealed_rows: dict[str, int] = field(default_factory=dict)
    seals: dict[str, int] = field(default_factory=dict)
    broken: str | None = None


def verify(session: Session) -> Verdict:
    """Recompute every seal from its rows and the chain; stop at the first broken link."""
    verdict = Verdict()
    for kind, (model, _stamp, columns) in CHAINED.items():
        prev, last_id, count = GENESIS, 0, 0
        seals = list(session.scalars(select(AuditSeal).where(AuditSeal.kind == kind).order_by(AuditSeal.seq)))
        for expected_seq, s in enumerate(seals, start=1):
            rows = list(session.scalars(select(model).where(model.id > last_id, model.id <= s.last_id).order_by(model.id)))
            problem = None
            if s.seq != expected_seq:
                problem = f"seal {expected_seq} is missing"
            elif s.prev_hash != prev or s.chain_hash != _chain(prev, s.content_hash):
                problem = f"seal {s.seq} does not chain to seal {s.seq - 1}"
            elif len(rows) != s.row_count or (rows and (rows[0].id != s.first_id)):
                problem = (f"rows {s.first_id}–{s.last_id}: {len(rows)} found, {s.row_count} sealed "
                           "(a row was deleted or inserted)")
            elif _content_hash(rows, columns) != s.content_hash:
                changed = _first_changed(s, rows, columns)
                problem = (f"row {changed}: content changed after sealing (seal {s.seq})" if changed is not None
                           else f"rows {s.first_id}–{s.last_id}: content changed after sealing")
            if problem:
                verdict.intact, verdict.broken = False, f"{kind}: {problem}"
                return verdict
            prev, last_id, count = s.chain_hash, s.last_id, count + s.row_count
        verdict.seals[kind] = len(seals)
        verdict.sealed_rows[kind] = count
        verdict.unsealed_rows[kind] = session.scalar(select(func.count()).select_from(model).where(model.id > last_id)) or 0
    return verdict
