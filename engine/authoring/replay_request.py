"""What a replay may be asked for, checked before the job is queued so each refusal stands next to its
field: a period of at most MAX_DAYS local days that does not end before it starts, and rulesets that
exist (an active version to compare the draft with, or two published version numbers)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.authoring.replay import MAX_DAYS
from engine.core.models import Campaign, RulesetVersion
from rules.problems import Problem


def refusals(session: Session, campaign: Campaign, first: date, last: date,
             versions: tuple[int | None, int | None] | None) -> list[Problem]:
    """Every reason the replay job would refuse this request, by field (date_to, compare, base_version,
    other_version); `versions` None compares the draft with the active version."""
    problems: list[Problem] = []
    if last < first:
        problems.append(Problem("date_to", "The period ends before it starts.", "结束日期早于开始日期。"))
    elif (last - first).days >= MAX_DAYS:
        problems.append(Problem("date_to", f"A period of at most {MAX_DAYS} days.", f"期间不得超过 {MAX_DAYS} 天。"))
    if versions is None:
        if campaign.published_version_id is None:
            problems.append(Problem("compare", "The campaign has no published version yet.",
                                    "该专项行动尚无已发布版本。"))
        return problems
    numbers = set(session.scalars(select(RulesetVersion.number).where(RulesetVersion.campaign_id == campaign.id)))
    for where, number in zip(("base_version", "other_version"), versions):
        if number is None:
            problems.append(Problem(where, "Required when comparing two versions.", "比较两个版本时必填。"))
        elif number not in numbers:
            problems.append(Problem(where, f"No published version {number}.", f"没有已发布的第 {number} 版。"))
    return problems
