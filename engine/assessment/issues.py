"""The weekly bulletin as a publication (周通报 第N期, DESIGN 15): on the campaign's day and hour the poller
freezes the week just ended into a numbered issue (content JSON, its sha256 and the PDFs in both languages)
and writes one inbox message per unit, which the outbox also e-mails with the PDF and posts to robots. An
issue is never regenerated: a correction is a new issue with the next number that names the one it corrects.
Two pollers publish a week once: the (campaign, week) and (campaign, number) pairs are unique in SQL."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.assessment import publication
from engine.assessment.publication import summary, title
from engine.assessment.bulletin import Bulletin, build
from engine.assessment.indicators import Period, parse_period, period_containing
from engine.core import clock, outbox
from engine.core.models import BulletinIssue, Campaign, Unit, User
from engine.supervision import cadence
from rules.problems import InputError, Problem

KIND = "bulletin_published"
GROUP_NAMES = {"subdistricts": ("街道", "Sub-districts"), "departments": ("部门", "Departments"),
               "squads": ("中队", "Squads")}
#: What the sanctions section says under a weekly list (the page's caveat, kept in the issue).
SANCTION_NOTES = {"week": ("约谈、末位淘汰等按月度和季度排名执行，本期不列。",
                           "Sanctions follow monthly and quarterly rankings only."),
                  "final": ("本期问责名单已于期末生成并存档。", "This list was produced when the period ended and is kept."),
                  "provisional": ("名单为暂定，期末生成后存档。", "Provisional: the list is kept once the period has ended.")}


def _names(obj: Any) -> dict[str, str]:
    return {"zh": obj.name_zh, "en": obj.name_en}


def _unit(unit: Unit) -> dict[str, str]:
    return {"code": unit.code, "zh": unit.name_zh, "en": unit.name_en}


def office_of(session: Session, campaign: Campaign) -> dict[str, str]:
    """The issuing office: the campaign's configured name, else its bureau unit's, else the campaign's."""
    bureau = session.scalar(select(Unit).where(Unit.type == "bureau").order_by(Unit.id).limit(1))
    fallback = _names(bureau) if bureau is not None else _names(campaign)
    return {"zh": campaign.bulletin_office_zh or fallback["zh"], "en": campaign.bulletin_office_en or fallback["en"]}


def content_of(session: Session, bulletin: Bulletin) -> dict[str, Any]:
    """The issue's figures in both languages, plain JSON: what is frozen, hashed and rendered."""
    campaign, period, zone = bulletin.campaign, bulletin.period, ZoneInfo(bulletin.campaign.timezone)
    units = bulletin.units
    ranking, commended, criticised = [], [], []
    totals = {"due": 0, "handled": 0, "closed": 0, "due_to_close": 0, "overdue": 0, "overdue_unhandled": 0,
              "rebounds": 0, "reworked": 0}
    for r in bulletin.ranked:
        ind, rates = r.indicators, r.indicators.rates()
        for key in totals:
            totals[key] += getattr(ind, key)
        ranking.append({"group": r.group, "group_name": dict(zip(("zh", "en"), GROUP_NAMES.get(r.group, (r.group,) * 2))),
                        "rank": r.rank, "size": r.size, "no_cases": r.no_cases, "unit": _unit(units[r.unit_id]), "score": round(r.score, 2),
                        "due": ind.due, "handled": ind.handled, "closed": ind.closed, "overdue": ind.overdue,
                        "overdue_unhandled": ind.overdue_unhandled, "rebounds": ind.rebounds,
                        "points_lost": round(ind.points_lost, 2), "handling_rate": rates["handling_rate"],
                        "closure_rate": rates["closure_rate"]})
        if ind.due == 0 and ind.dispatched == 0:
            continue  # no work in the week: neither praised nor blamed
        if r.rank == 1 and r.size > 1:
            commended.append(_unit(units[r.unit_id]))
        elif r.rank == r.size and not r.best:
            criticised.append(_unit(units[r.unit_id]))
    by_tier = bulletin.findings_by_tier()
    note = "final" if bulletin.sanctions_final else ("week" if period.kind == "week" else "provisional")
    last_day = (period.end.astimezone(zone) - timedelta(seconds=1)).date()
    return {
        "campaign": {"code": campaign.code, **_names(campaign)},
        "office": office_of(session, campaign),
        "period": {"label": period.label, "kind": period.kind, "first_day": period.first_day.isoformat(),
                   "last_day": last_day.isoformat()},
        "timezone": campaign.timezone,
        "counted_until": bulletin.cutoff.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        "provisional": bulletin.cutoff < period.end,
        "findings": {
            "found": sum(found for _t, found, _r in by_tier), "rectified": sum(r for _t, _f, r in by_tier),
            "tier_names": {str(level): {"zh": zh, "en": en} for level, (zh, en) in bulletin.tier_names.items()},
            "by_tier": [{"tier": t, "found": f, "rectified": r} for t, f, r in by_tier],
            "by_unit": [{"tier": line.tier, "unit": _unit(units[line.unit_id]), "found": line.found,
                         "rectified": line.rectified} for line in bulletin.findings]},
        "rounds": {"plans": [line.as_json() for line in bulletin.rounds],
                   "by_tier": [tier.as_json() for tier in cadence.by_tier(bulletin.rounds)]},
        "totals": totals,
        "overdue_by_tier": [{"tier": tier, "tasks": count} for tier, count in bulletin.overdue_by_tier],
        "ranking": ranking,
        "commended": commended,
        "criticised": criticised,
        "categories": [{"code": c.code, **_names(c), "count": n} for c, n in bulletin.categories],
        "trend": {"labels": [label for label, _s in bulletin.trend],
                  "series": [{"unit": _unit(units[r.unit_id]),
                              "scores": [None if scores.get(r.unit_id) is None else round(scores[r.unit_id], 2)
                                         for _l, scores in bulletin.trend]} for r in bulletin.ranked]},
        "sanctions": {"note": note, "text": dict(zip(("zh", "en"), SANCTION_NOTES[note])),
                      "lines": [{"rule": line.rule_code, "sanction": line.sanction, "unit": _unit(line.unit)}
                                for line in bulletin.sanctions]},
    }


def digest(content: dict[str, Any]) -> str:
    """sha256 of the content in one canonical JSON spelling: the same figures always hash the same."""
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _freeze(session: Session, campaign: Campaign, period: Period, now: datetime, number: int,
            corrects: BulletinIssue | None, reason: str | None) -> BulletinIssue:
    content = content_of(session, build(session, campaign, period, now))
    zone = ZoneInfo(campaign.timezone)
    content["number"] = number
    content["issued_on"] = now.astimezone(zone).date().isoformat()
    content["corrects"] = {"number": corrects.number, "reason": reason} if corrects is not None else None
    return BulletinIssue(campaign_id=campaign.id, number=number, period=period.label, period_start=period.start,
                         period_end=period.end, generated_at=now, content=content, content_sha256=digest(content),
                         pdf_zh=publication.pdf(content, "zh"), pdf_en=publication.pdf(content, "en"),
                         corrects_id=corrects.id if corrects is not None else None, correction_reason=reason)


def _next_number(session: Session, campaign: Campaign) -> int:
    return (session.scalar(select(func.max(BulletinIssue.number)).where(BulletinIssue.campaign_id == campaign.id))
            or 0) + 1


def publish(session: Session, issue: BulletinIssue, now: datetime) -> int:
    """One message per unit (the outbox fans it out to the unit's e-mail and robots); returns how many. The inbox
    shows them as one (`shown_as`): an account reading several units reads the issue once."""
    content = issue.content
    units = list(session.scalars(select(Unit.id).order_by(Unit.id)))
    payload = {"issue": issue.id, "campaign": content["campaign"]["code"], "number": issue.number,
               "period": issue.period, "sha256": issue.content_sha256,
               "title": {lang: title(content, lang) for lang in ("zh", "en")},
               "summary": {lang: summary(content, lang) for lang in ("zh", "en")},
               "url": f"/assessment/issues/{issue.id}.pdf",
               "shown_as": _key(issue, units[0]) if units else None}
    outbox.write(session, [outbox.message(_key(issue, unit_id), KIND, f"unit:{unit_id}", payload, now)
                           for unit_id in units])
    return len(units)


def _key(issue: BulletinIssue, unit_id: int) -> str:
    return f"bulletin:{issue.id}:unit:{unit_id}"


def due_week(campaign: Campaign, now: datetime) -> Period | None:
    """The week just ended if its issue is due by now (the campaign's weekday and local time), else None."""
    zone = ZoneInfo(campaign.timezone)
    current = period_containing("week", now, campaign.timezone)
    hours, minutes = (int(x) for x in campaign.bulletin_time.split(":"))
    due = datetime.combine(current.first_day + timedelta(days=campaign.bulletin_weekday % 7), time(hours, minutes),
                           zone)
    if now < due:
        return None
    week = current.previous(campaign.timezone)
    if campaign.starts_on is not None and week.end.astimezone(zone).date() <= campaign.starts_on:
        return None
    return week


def run_due(session: Session, now: datetime | None = None) -> list[int]:
    """Publish the issues due by now for every active campaign, once each; commits; returns their ids.

    The figures and PDFs are made in a read-only transaction (seconds of work), which is ended before the
    short write; a poller that loses the race to the unique (campaign, week) or (campaign, number) moves on."""
    now = now or clock.now()
    published = []
    for campaign_id in session.scalars(select(Campaign.id).where(Campaign.status == "active")).all():
        campaign = session.get(Campaign, campaign_id)
        week = due_week(campaign, now)
        if week is None or session.scalar(select(BulletinIssue.id).where(
                BulletinIssue.campaign_id == campaign.id, BulletinIssue.scheduled_for == week.label)):
            continue
        issue = _freeze(session, campaign, week, now, _next_number(session, campaign), None, None)
        issue.scheduled_for = week.label
        session.rollback()  # nothing was written: end the read before writing
        try:
            session.add(issue)
            session.flush()
            publish(session, issue, now)
            session.commit()
        except IntegrityError:
            session.rollback()  # another poller published this week (or took the number) first
            continue
        published.append(issue.id)
    session.commit()
    return published


def correct(session: Session, issue: BulletinIssue, reason: str, user: User | None,
            now: datetime | None = None) -> BulletinIssue:
    """A correction: the same week counted again now, as the next number, naming the issue it corrects and why;
    the corrected issue stays as it was. Flushes and writes the messages; the caller commits."""
    reason = (reason or "").strip()
    if not reason:
        raise InputError([Problem("reason", "Say what the correction corrects.", "请说明更正的内容和原因。")])
    if len(reason) > 2000:
        raise InputError([Problem("reason", "The reason is longer than 2000 characters.", "更正原因不能超过 2000 字。")])
    now = now or clock.now()
    campaign = issue.campaign
    corrected = _freeze(session, campaign, parse_period(issue.period, campaign.timezone), now,
                        _next_number(session, campaign), issue, reason)
    corrected.issued_by_id = user.id if user is not None else None
    session.add(corrected)
    session.flush()
    publish(session, corrected, now)
    return corrected


def issues_of(session: Session, campaign: Campaign) -> list[BulletinIssue]:
    """The campaign's issues, newest number first."""
    return list(session.scalars(select(BulletinIssue).where(BulletinIssue.campaign_id == campaign.id)
                                .order_by(BulletinIssue.number.desc())))
