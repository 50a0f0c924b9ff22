"""Tamper evidence: firings, task transitions and the change log are sealed in segments, in id order, each seal
hashing its rows and chaining to the previous seal. Each row also carries its own MAC (engine/core/macs.py), and
seals are keyed (HMAC) with the same key ring, kept outside the database: who can write the database but lacks the
key can neither re-sign an edited row nor rebuild the seals. One sealer writes seals; the rows' own writers are
never serialised. `verify` checks every row's MAC and every seal, and names the first broken link."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.core import macs
from engine.core import clock, keyring
from engine.core.models import AuditSeal, ChangeLogEntry, Firing, TaskTransition

GENESIS = "0" * 64
SEGMENT_ROWS = 5000
SETTLE = timedelta(seconds=60)  # rows younger than this may still belong to an uncommitted batch
CHAINED = {
    "firings": (Firing, Firing.fired_at, ("id",) + macs.CONTENT["firings"]),
    "task_transitions": (TaskTransition, TaskTransition.at, ("id",) + macs.CONTENT["task_transitions"]),
    "change_log": (ChangeLogEntry, ChangeLogEntry.at, ("id",) + macs.CONTENT["change_log"]),
}
Problem = tuple[str, str]  # (中文, English)


def row_digest(row: Any, columns: tuple[str, ...]) -> str:
    values = {}
    for name in columns:
        value = getattr(row, name)
        values[name] = value.astimezone(timezone.utc).isoformat() if isinstance(value, datetime) else value
    blob = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _content_hash(rows: list[Any], columns: tuple[str, ...], keyed: bool = False) -> str:
    """Unkeyed seals hash each row's content; keyed ones hash each id with its MAC (the MAC covers the content)."""
    digest = hashlib.sha256()
    for row in rows:
        if keyed:
            digest.update(f"{row.id}:{row.mac or row_digest(row, columns)}\n".encode())
        else:
            digest.update(row_digest(row, columns).encode())
    return digest.hexdigest()


def _chain(prev: str, content: str, signer: macs.Signer | None = None) -> str:
    if signer is None:  # a seal written before the chain was keyed (migration 0049)
        return hashlib.sha256(f"{prev}{content}".encode()).hexdigest()
    return signer.mac(f"{prev}{content}".encode())


def seal(session: Session, now: datetime | None = None) -> int:
    """Seal the settled rows after the last seal of each chained table; commits; returns seals written."""
    now = now or clock.now()
    signer = macs.current()
    written = 0
    for kind, (model, stamp, columns) in CHAINED.items():
        last = session.scalar(select(AuditSeal).where(AuditSeal.kind == kind).order_by(AuditSeal.seq.desc()).limit(1))
        after = last.last_id if last else 0
        # A segment is a run of ids with no gap: it ends before the first row not yet settled, even where a later
        # id carries an older time (a back-dated import, the demo's history), or verify would find rows unsealed.
        unsettled = session.scalar(select(func.min(model.id)).where(model.id > after, stamp >= now - SETTLE))
        rows = list(session.scalars(select(model).where(model.id > after, *(
            (model.id < unsettled,) if unsettled is not None else ())).order_by(model.id).limit(SEGMENT_ROWS)))
        if not rows:
            continue
        content = _content_hash(rows, columns, keyed=True)
        prev = last.chain_hash if last else GENESIS
        unkeyed = [[row.id, row_digest(row, columns)] for row in rows if row.mac is None]  # written before 0049
        try:
            with session.begin_nested():
                session.add(AuditSeal(kind=kind, seq=(last.seq + 1) if last else 1, first_id=rows[0].id,
                                      last_id=rows[-1].id, row_count=len(rows), content_hash=content, prev_hash=prev,
                                      row_digests=unkeyed or None, key=signer.spec,
                                      chain_hash=_chain(prev, content, signer), sealed_at=now))
            written += 1
        except IntegrityError:
            continue  # another sealer took this segment
    session.commit()
    return written


def _first_changed(s: AuditSeal, rows: list[Any], columns: tuple[str, ...]) -> int | None:
    """The id of the first unkeyed row whose digest differs from the one sealed (older seals keep no row digests)."""
    if not s.row_digests:
        return None
    sealed = {int(ident): digest for ident, digest in s.row_digests}
    for row in rows:
        if row.id in sealed and sealed[row.id] != row_digest(row, columns):
            return row.id
    return None


@dataclass
class Verdict:
    intact: bool = True
    sealed_rows: dict[str, int] = field(default_factory=dict)
    unsealed_rows: dict[str, int] = field(default_factory=dict)
    unkeyed_rows: dict[str, int] = field(default_factory=dict)  # written before the chain was keyed: counted
    seals: dict[str, int] = field(default_factory=dict)
    broken: str | None = None
    broken_zh: str | None = None


class _Rows:
    """Checks the MAC of each row of one table in id order; rows without one may only precede the first keyed row."""

    def __init__(self, kind: str, signers: dict[str, macs.Signer], floor: int | None = None):
        self.kind, self.signers, self.floor = kind, signers, floor  # floor: the last row written before keying
        self.keyed, self.unkeyed = False, 0

    def check(self, rows: list[Any], sealed_unkeyed: set[int] | None = None) -> Problem | None:
        """`sealed_unkeyed`: under a keyed seal, the rows it sealed without a MAC (the only ones allowed none)."""
        for row in rows:
            if row.mac is None:
                if (self.keyed or (sealed_unkeyed is not None and row.id not in sealed_unkeyed)
                        or (self.floor is not None and row.id > self.floor)):
                    return (f"第 {row.id} 行没有 MAC，却写在启用密钥之后", f"row {row.id}: no MAC although written "
                                                                    "after keying began (removed?)")
                self.unkeyed += 1
                continue
            self.keyed = True
            try:
                signer = macs.signer_for(row.mac, self.signers)
            except (keyring.UnknownKey, ValueError) as err:
                return f"第 {row.id} 行：{err}", f"row {row.id}: {err}"
            if not signer.check(self.kind, {name: getattr(row, name) for name in macs.CONTENT[self.kind]}, row.mac):
                return (f"第 {row.id} 行：内容被改动（MAC 不符）", f"row {row.id}: content changed (its MAC does not "
                                                                "match)")
        return None


def _seal_problem(s: AuditSeal, expected_seq: int, prev: str, rows: list[Any], columns: tuple[str, ...],
                  keyed_before: bool, signers: dict[str, macs.Signer], floor: int | None = None) -> Problem | None:
    if s.seq != expected_seq:
        return f"第 {expected_seq} 个封印缺失", f"seal {expected_seq} is missing"
    if s.key is None and (keyed_before or (floor is not None and s.last_id > floor)):
        return (f"第 {s.seq} 个封印没有密钥，而之前的封印有", f"seal {s.seq} is not keyed although the seals before it "
                                                           "are (rebuilt without the key?)")
    try:
        signer = macs.signer_for(s.key, signers) if s.key else None
    except (keyring.UnknownKey, ValueError) as err:
        return f"第 {s.seq} 个封印：{err}", f"seal {s.seq}: {err}"
    if s.prev_hash != prev or s.chain_hash != _chain(prev, s.content_hash, signer):
        return f"第 {s.seq} 个封印接不上第 {s.seq - 1} 个", f"seal {s.seq} does not chain to seal {s.seq - 1}"
    if len(rows) != s.row_count or (rows and (rows[0].id != s.first_id)):
        return (f"第 {s.first_id}–{s.last_id} 行：现有 {len(rows)} 行，封印时 {s.row_count} 行（有行被删除或插入）",
                f"rows {s.first_id}–{s.last_id}: {len(rows)} found, {s.row_count} sealed "
                "(a row was deleted or inserted)")
    if _content_hash(rows, columns, keyed=s.key is not None) != s.content_hash:
        changed = _first_changed(s, rows, columns)
        if changed is not None:
            return (f"第 {changed} 行：封印后内容被改动（第 {s.seq} 个封印）",
                    f"row {changed}: content changed after sealing (seal {s.seq})")
        return (f"第 {s.first_id}–{s.last_id} 行：封印后内容被改动",
                f"rows {s.first_id}–{s.last_id}: content changed after sealing")
    return None


def verify(session: Session, chunk: int = SEGMENT_ROWS) -> Verdict:
    """Check every row's MAC, recompute every seal and the chain; stop at the first broken link."""
    verdict = Verdict()
    signers: dict[str, macs.Signer] = {}
    watermark = macs.keying_watermark()
    for kind, (model, _stamp, columns) in CHAINED.items():
        prev, last_id, count, keyed_before = GENESIS, 0, 0, False
        floor = watermark.get(kind) if watermark is not None else None
        scan = _Rows(kind, signers, floor)
        seals = list(session.scalars(select(AuditSeal).where(AuditSeal.kind == kind).order_by(AuditSeal.seq)))
        problem = None
        for expected_seq, s in enumerate(seals, start=1):
            rows = list(session.scalars(select(model).where(model.id > last_id, model.id <= s.last_id)
                                        .order_by(model.id)))
            unkeyed = {int(ident) for ident, _digest in s.row_digests or ()} if s.key else None
            problem = (scan.check(rows, unkeyed)
                       or _seal_problem(s, expected_seq, prev, rows, columns, keyed_before, signers, floor))
            if problem:
                break
            prev, last_id, count, keyed_before = s.chain_hash, s.last_id, count + s.row_count, s.key is not None
        unsealed, after = 0, last_id
        while problem is None:  # rows not sealed yet are covered by their MACs alone
            rows = list(session.scalars(select(model).where(model.id > after).order_by(model.id).limit(chunk)))
            if not rows:
                break
            problem, unsealed, after = scan.check(rows), unsealed + len(rows), rows[-1].id
        if problem:
            verdict.intact, verdict.broken_zh, verdict.broken = False, f"{kind}：{problem[0]}", f"{kind}: {problem[1]}"
            return verdict
        verdict.seals[kind] = len(seals)
        verdict.sealed_rows[kind] = count
        verdict.unsealed_rows[kind] = unsealed
        verdict.unkeyed_rows[kind] = scan.unkeyed
    return verdict
