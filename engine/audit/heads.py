"""The chain's head, exported outside the database: a line per export with the last seal of each chained table.
Shipped off the machine (to the auditor, another host), the lines prove later that no seal up to them was rewritten:
`check` finds each exported seal unchanged in the database, and `seals.verify` that the chain still leads to it."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.seals import CHAINED, Problem, seal
from engine.core import clock
from engine.core.models import AuditSeal


def head(session: Session) -> dict[str, dict[str, Any]]:
    """The last seal of each chained table that has one."""
    heads = {}
    for kind in CHAINED:
        last = session.scalar(select(AuditSeal).where(AuditSeal.kind == kind).order_by(AuditSeal.seq.desc()).limit(1))
        if last is not None:
            heads[kind] = {"seq": last.seq, "seal_id": last.id, "last_id": last.last_id,
                           "chain_hash": last.chain_hash, "key": last.key, "sealed_at": last.sealed_at.isoformat()}
    return heads


def export(session: Session, path: Path, now: datetime | None = None) -> dict[str, Any] | None:
    """Append the current head to the file as one JSON line, synced to disk; None while nothing is sealed."""
    heads = head(session)
    if not heads:
        return None
    line = {"exported_at": (now or clock.now()).isoformat(), "heads": heads}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        os.write(fd, (json.dumps(line, sort_keys=True) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return line


def seal_and_export(session: Session, path: Path, now: datetime | None = None) -> int:
    """The poller's round: seal what has settled and, when a seal was written, append the new head to the file."""
    sealed = seal(session, now)
    if sealed:
        export(session, path, now)
    return sealed


@dataclass
class Match:
    heads: int = 0  # seals named by the file and found unchanged
    problem: Problem | None = None


def check(session: Session, path: Path) -> Match:
    """Find every head the file names unchanged in the database; name the first that is not."""
    match = Match()
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
            heads, at = line["heads"], line["exported_at"]
        except (ValueError, KeyError, TypeError):
            match.problem = (f"{path} 第 {number} 行不是导出的链头", f"{path} line {number} is not an exported head")
            return match
        for kind, exported in heads.items():
            found = session.scalar(select(AuditSeal).where(AuditSeal.kind == kind, AuditSeal.seq == exported["seq"]))
            where = f"{path}:{number} ({at})"
            if found is None:
                match.problem = (f"{where}：{kind} 第 {exported['seq']} 个封印已不在数据库中",
                                 f"{where}: {kind} seal {exported['seq']} is no longer in the database")
                return match
            if (found.chain_hash, found.last_id, found.key) != (exported["chain_hash"], exported["last_id"],
                                                                exported.get("key")):
                match.problem = (f"{where}：{kind} 第 {exported['seq']} 个封印在导出后被改写",
                                 f"{where}: {kind} seal {exported['seq']} was rewritten since it was exported "
                                 f"(exported {exported['chain_hash'][:16]}…, now {found.chain_hash[:16]}…)")
                return match
            match.heads += 1
    return match
