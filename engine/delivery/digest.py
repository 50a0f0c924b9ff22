"""The daily readiness digest (每日就绪清单): before a campaign's digest time (06:40 by default, as
bureaus ask during the inspection window) each unit with open tasks gets one message listing what is open
and what is overdue, and, 60 days ahead, the first day the working calendar has no holiday data for. One row
per campaign, unit and local day makes it idempotent."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.core import clock, outbox
from engine.core.holiday_notice import first_uncounted_day
from engine.core.models import Campaign, Digest, Task
from engine.core.states import TERMINAL


#: Per campaign, the local day whose digests are all written and the newest task id then: later rounds of the day
#: look only at tasks born since (a unit's first task of the afternoon), never again at every open task, which at a
#: million open tasks took 0.3 s every 10 s.
_settled: dict[tuple[str, int], tuple[date, int]] = {}
LISTED = 200  # tasks named in one unit's digest; the counts cover all of them


def run_due(session: Session, now: datetime | None = None) -> int:
    """Write the digests due by now for every active campaign; commits; returns how many were written."""
    now = now or clock.now()
    written = 0
    bind = session.get_bind()
    database = str(getattr(bind, "engine", bind).url)
    for campaign in session.scalars(select(Campaign).where(Campaign.status == "active")):
        local = now.astimezone(ZoneInfo(campaign.timezone))
        hours, minutes = (int(x) for x in campaign.digest_time.split(":"))
        if local.time() < time(hours, minutes):
            continue
        key = (database, campaign.id)
        newest = session.scalar(select(func.max(Task.id))) or 0
        open_tasks = (Task.campaign_id == campaign.id) & Task.status.not_in(TERMINAL)
        settled = _settled.get(key)
        if settled is not None and settled[0] == local.date():
            if newest == settled[1]:
                continue  # no task born since today's digests were written
            open_tasks &= Task.unit_id.in_(select(Task.unit_id).where(open_tasks, Task.id > settled[1]))
        done = set(session.scalars(select(Digest.unit_id).where(Digest.campaign_id == campaign.id,
                                                                 Digest.day == local.date())))
        counts = {unit_id: (total, overdue) for unit_id, total, overdue in session.execute(
            select(Task.unit_id, func.count(), func.count().filter(Task.deadline_at < now))
            .where(open_tasks).group_by(Task.unit_id)) if unit_id not in done}
        if not counts:
            _settled[key] = (local.date(), newest)
            continue  # today's digests are all written: only newer tasks are looked at again today
        gap = first_uncounted_day(session, local.date())
        listed = _first_due(session, open_tasks, set(counts))
        for unit_id, (total, overdue) in counts.items():
            try:
                with session.begin_nested():
                    session.add(Digest(campaign_id=campaign.id, unit_id=unit_id, day=local.date(), open_count=total,
                                       overdue_count=overdue, created_at=now))
                    session.flush()
                    outbox.write(session, [outbox.message(
                        f"digest:{campaign.id}:{unit_id}:{local.date().isoformat()}", "digest", f"unit:{unit_id}",
                        {"campaign": campaign.code, "day": local.date().isoformat(), "open": total,
                         "overdue": overdue, "tasks": listed.get(unit_id, []),
                         **({"calendar_gap": gap.isoformat()} if gap else {})}, now)])
                written += 1
            except IntegrityError:
                continue  # another poller wrote this unit's digest first
    session.commit()
    return written


def _first_due(session: Session, open_tasks, units: set[int]) -> dict[int, list[dict[str, Any]]]:
    """Each unit's LISTED open tasks that fall due first, in one query: never every open task as an object."""
    ranked = select(Task.id, Task.unit_id, Task.status, Task.deadline_at, func.row_number().over(
        partition_by=Task.unit_id, order_by=(Task.deadline_at, Task.id)).label("n")).where(
        open_tasks, Task.unit_id.in_(sorted(units))).subquery()
    listed: dict[int, list[dict[str, Any]]] = {}
    for row in session.execute(select(ranked).where(ranked.c.n <= LISTED).order_by(ranked.c.unit_id, ranked.c.n)):
        deadline = row.deadline_at if row.deadline_at.tzinfo else row.deadline_at.replace(tzinfo=timezone.utc)
        listed.setdefault(row.unit_id, []).append({"id": row.id, "status": row.status,
                                                   "deadline": deadline.isoformat()})
    return listed
