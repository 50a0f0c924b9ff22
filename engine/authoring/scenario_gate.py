"""The publish gate: the campaign's scenarios against the draft before it is frozen. A failing scenario refuses
the publish with the differences; an override takes a written reason and a second administrator's confirmation,
both recorded with the version they let through. A rollback is never gated (it is what an incident needs)."""
from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.authoring.drafts import DraftView
from engine.authoring.scenarios import Difference, Outcome, failures, of_campaign, run_in
from engine.core import clock
from engine.core.models import Campaign, ScenarioOverride, User
from engine.evaluation.context import context_for
from rules.problems import InputError, Problem


class ScenariosFailed(InputError):
    """A publish refused because scenarios fail on the draft; `outcomes` holds every scenario's result."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        problems = [Problem(f"scenario: {o.title}", d.en + (f" — {_conditions_en(d)}" if d.conditions else ""),
                            d.zh + (f" — {_conditions_zh(d)}" if d.conditions else ""))
                    for o in outcomes if not o.passed for d in o.differences]
        super().__init__(problems)
        self.outcomes = outcomes


def _conditions_en(d: Difference) -> str:
    return "condition: " + "; ".join(f"{c['fact']} {c['op']} {c.get('value')!r} (actual {c.get('actual')!r})"
                                     for c in d.conditions)


def _conditions_zh(d: Difference) -> str:
    return "条件：" + "；".join(f"{c['fact']} {c['op']} {c.get('value')!r}（实际 {c.get('actual')!r}）"
                               for c in d.conditions)


def against_draft(session: Session, campaign: Campaign, draft: DraftView) -> list[Outcome]:
    """The campaign's scenarios against a validated draft (no scenarios: no child process at all)."""
    stored = of_campaign(session, campaign)
    if not stored or draft.compiled is None:
        return []
    return run_in(session, campaign, context_for(session, campaign, 0, 0, draft.compiled), stored)


def confirmed_override(session: Session, campaign: Campaign, content_hash: str) -> ScenarioOverride | None:
    """The confirmed, not yet used override for exactly this draft."""
    return session.scalar(select(ScenarioOverride).where(
        ScenarioOverride.campaign_id == campaign.id, ScenarioOverride.content_hash == content_hash,
        ScenarioOverride.confirmed_by_id.is_not(None), ScenarioOverride.version_id.is_(None))
        .order_by(ScenarioOverride.id.desc()).limit(1))


def gate(session: Session, campaign: Campaign, draft: DraftView) -> tuple[list[Outcome], ScenarioOverride | None]:
    """Check the draft's scenarios before it is frozen: raise ScenariosFailed unless every scenario passes or
    a second administrator confirmed an override for exactly this draft (returned, to be tied to the version)."""
    outcomes = against_draft(session, campaign, draft)
    if all(o.passed for o in outcomes):
        return outcomes, None
    override = confirmed_override(session, campaign, draft.content_hash)
    if override is None:
        raise ScenariosFailed(outcomes)
    return outcomes, override


def request_override(session: Session, campaign: Campaign, content_hash: str, reason: str, requester: User,
                     outcomes: Sequence[Outcome]) -> ScenarioOverride:
    """Ask to publish this draft despite its failing scenarios; a second administrator must confirm."""
    if not isinstance(reason, str) or len(reason.strip()) < 10 or len(reason) > 2000:
        raise InputError([Problem("reason", "write why the publish must go ahead (10 to 2000 characters)",
                                  "请写明必须发布的理由（10 至 2000 个字符）")])
    override = ScenarioOverride(campaign_id=campaign.id, content_hash=content_hash, reason=reason.strip(),
                                requested_by_id=requester.id, failures=failures(outcomes, "en"),
                                created_at=clock.now())
    session.add(override)
    session.flush()
    return override


def confirm_override(session: Session, override: ScenarioOverride, confirmer: User) -> ScenarioOverride:
    """The second administrator's confirmation: an administrator who is not the one who asked."""
    if confirmer.id == override.requested_by_id:
        raise InputError([Problem("confirmed_by", "a second administrator must confirm, not the one who asked",
                                  "须由另一名管理员确认，而非提出者本人")])
    if confirmer.role != "admin":
        raise InputError([Problem("confirmed_by", "only an administrator may confirm an override",
                                  "只有管理员可以确认强制发布")])
    if override.confirmed_by_id is not None:
        raise InputError([Problem("confirmed_by", "this override is already confirmed", "该强制发布已确认")])
    override.confirmed_by_id, override.confirmed_at = confirmer.id, clock.now()
    session.flush()
    return override


def pending(session: Session, campaign: Campaign, content_hash: str) -> list[dict[str, Any]]:
    """The overrides asked for this draft and not yet used, with who asked and who confirmed, for the page."""
    rows = session.scalars(select(ScenarioOverride).where(
        ScenarioOverride.campaign_id == campaign.id, ScenarioOverride.content_hash == content_hash,
        ScenarioOverride.version_id.is_(None)).order_by(ScenarioOverride.id))
    found = list(rows)
    ids = {o.requested_by_id for o in found} | {o.confirmed_by_id for o in found if o.confirmed_by_id}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all()) if ids else {}
    return [{"id": o.id, "reason": o.reason, "requested_by": names.get(o.requested_by_id),
             "requested_by_id": o.requested_by_id, "confirmed_by": names.get(o.confirmed_by_id),
             "created_at": o.created_at} for o in found]
