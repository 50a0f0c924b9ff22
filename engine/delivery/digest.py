"""The daily readiness digest (每日就绪清单): before a campaign's digest time (06:40 by default, as
bureaus ask during the inspection window) each unit with open tasks gets one message listing what is open
and what is overdue, and, 60 days ahead, the first day the working calendar has no holiday data for. One row
per campaign, unit and local day makes it idempotent."""
from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.core import clock, outbox
from engine.core.holiday_notice import first_uncounted_day
from engine.core.models import Campaign, Digest, Task
from engine.core.states import TERMINAL


def run_due(session: Session, now: datetime | None = None) -> int:
    """Write the digests due by now for every active campaign; commits; returns how many were written."""
    now = now or clock.now()
    written = 0
    for campaign in session.scalars(select(Campaign).where(Campaign.status == "active")):
        local = now.astimezone(ZoneInfo(campaign.timezone))
        hours, minutes = (int(x) for x in campaign.digest_time.split(":"))
        if local.time() < time(hours, minutes):
            continue
        done = set(session.scalars(select(Digest.unit_id).where(Digest.campaign_id == campaign.id,
                                                                 Digest.day == local.date())))
        waiting = set(session.scalars(select(Task.unit_id).distinct().where(
            Task.campaign_id == campaign.id, Task.status.not_in(TERMINAL)))) - done
        if not waiting:
            continue  # today's digests are all written: no need to read the open tasks again
        gap = first_uncounted_day(session, local.date())
        open_tasks = session.scalars(select(Task).where(Task.campaign_id == campaign.id, Task.unit_id.in_(waiting),
                                                        Task.status.not_in(TERMINAL)).order_by(Task.deadline_at))
        by_unit: dict[int, list[Task]] = {}
        for task in open_tasks:
            if task.unit_id not in done:
                by_unit.setdefault(task.unit_id, []).append(task)
        for unit_id, tasks in by_unit.items():
            overdue = [t for t in tasks if t.deadline_at < now]
            try:
                with session.begin_nested():
                    digest = Digest(campaign_id=campaign.id, unit_id=unit_id, day=local.date(), open_count=len(tasks),
                                    overdue_count=len(overdue), created_at=now)
                    session.add(digest)
                    session.flush()
                    outbox.write(session, [outbox.message(
                        f"digest:{campaign.id}:{unit_id}:{local.date().isoformat()}", "digest", f"unit:{unit_id}",
                        {"campaign": campaign.code, "day": local.date().isoformat(), "open": len(tasks),
                         "overdue": len(overdue), "tasks": [{"id": t.id, "status": t.status,
                                                             "deadline": t.deadline_at.isoformat()}
                                                            for t in tasks[:200]],
                         **({"calendar_gap": gap.isoformat()} if gap else {})}, now)])
                written += 1
            except IntegrityError:
                continue  # another poller wrote this unit's digest first
    session.commit()
    return written
