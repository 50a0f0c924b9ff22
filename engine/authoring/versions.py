"""Reading a campaign's published versions for review: their history, and what differs between the
draft and the active version or between any two versions (rules.diff over frozen bundle views)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.evaluation.context import CampaignContext, compiled_version, context_for
from engine.authoring.drafts import (DraftView, catalog_for, draft_bundle, draft_view, freeze, scenario_gate,
                                     validate_bundle)
from rules.problems import InputError, Problem
from engine.core.models import Campaign, RulesetVersion, User
from rules.diff import Change, diff
from rules.lists import row_rule_key


def view_of(version: RulesetVersion | None) -> dict[str, Any]:
    """A version as rules.diff compares it; no version at all compares as empty."""
    if version is None:
        return {"rules": {}, "lists": {}, "timelines": {}, "tiers": [], "templates": {}}
    return {"rules": version.rules, **(version.bundle or {})}


@dataclass
class VersionRow:
    version: RulesetVersion
    author: str | None
    active: bool
    same_as: int | None = None  # the oldest earlier version with this content: what a rollback went back to


def history(session: Session, campaign: Campaign) -> list[VersionRow]:
    """The campaign's versions, newest first, with the author's username and the active one marked."""
    versions = list(session.scalars(select(RulesetVersion).where(RulesetVersion.campaign_id == campaign.id)
                                    .order_by(RulesetVersion.number.desc())))
    ids = {v.author_id for v in versions if v.author_id is not None}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all()) if ids else {}
    first: dict[str, int] = {}
    for v in reversed(versions):
        first.setdefault(v.content_hash, v.number)
    return [VersionRow(v, names.get(v.author_id), v.id == campaign.published_version_id,
                       first[v.content_hash] if first[v.content_hash] != v.number else None) for v in versions]


def numbered(session: Session, campaign: Campaign, number: int, field: str = "number") -> RulesetVersion:
    version = session.scalar(select(RulesetVersion).where(RulesetVersion.campaign_id == campaign.id,
                                                          RulesetVersion.number == number))
    if version is None:
        raise InputError([Problem(field, f"no published version {number}", f"没有已发布的第 {number} 版")])
    return version


def ruleset_context(session: Session, campaign: Campaign, ruleset: Any) -> CampaignContext:
    """One campaign under "draft" (what publishing would freeze), "active" or a published version number:
    the simulator and replay name rulesets the same way."""
    if ruleset == "draft":
        return context_for(session, campaign, 0, 0,
                           validate_bundle(draft_bundle(session, campaign), catalog_for(session, campaign)))
    if ruleset == "active":
        version = session.get(RulesetVersion, campaign.published_version_id) if campaign.published_version_id else None
        if version is None:
            raise InputError([Problem("ruleset", "the campaign has no published version",
                                           "该专项行动尚无已发布版本")])
    elif isinstance(ruleset, int) and not isinstance(ruleset, bool):
        version = numbered(session, campaign, ruleset, "ruleset")
    else:
        raise InputError([Problem("ruleset", '"draft", "active" or a version number',
                                       '须为 "draft"、"active" 或版本号')])
    return context_for(session, campaign, version.id, version.number, compiled_version(version))


@dataclass
class Review:
    """The draft against the active version, as an editor reviews it before publishing; `refused` says
    why a publish did not happen (unchanged, changed_since_review, problems, scenarios), `published` what did."""

    draft: DraftView
    active: RulesetVersion | None
    changes: list[Change]
    refused: str | None = None
    published: RulesetVersion | None = field(default=None)
    failed: list[Any] = field(default_factory=list)  # the scenarios' outcomes when they refused the publish

    @property
    def unchanged(self) -> bool:
        return self.active is not None and self.active.content_hash == self.draft.content_hash

    def problems_of(self, change: Change) -> list[Problem]:
        """The draft's problems about the rule a change is about, to show them next to it."""
        key = rule_key_of(change)
        return [p for p in self.draft.problems if p.where.split(":")[0] == key]


def draft_against_active(session: Session, campaign: Campaign,
                         check_registration: bool = False) -> tuple[DraftView, RulesetVersion | None, list[Change]]:
    """The draft (validated), the active version, and what publishing would change."""
    draft = draft_view(session, campaign, check_registration)
    active = session.get(RulesetVersion, campaign.published_version_id) if campaign.published_version_id else None
    return draft, active, diff(view_of(active), draft.as_view())


def review(session: Session, campaign: Campaign) -> Review:
    """The draft against the active version, without asking durable_rules (that waits for publishing)."""
    return Review(*draft_against_active(session, campaign))


def publish_reviewed(session: Session, campaign: Campaign, reviewed: str, author_id: int | None,
                     comment: str) -> Review:
    """Publish exactly the draft the editor reviewed (its content hash), with durable_rules' own check;
    nothing when it equals the active version, changed since the review, or has problems. The caller
    commits (a concurrent publish of the same number fails there)."""
    review = Review(*draft_against_active(session, campaign, check_registration=True))
    if review.unchanged:
        review.refused = "unchanged"
    elif reviewed != review.draft.content_hash:
        review.refused = "changed_since_review"
    elif review.draft.problems:
        review.refused = "problems"
    else:
        try:
            override = scenario_gate(session, campaign, review.draft)
        except InputError as err:  # ScenariosFailed: the differences are shown, nothing is published
            review.refused, review.failed = "scenarios", getattr(err, "outcomes", [])
            return review
        review.published = freeze(session, campaign, review.draft, author_id=author_id, comment=comment)
        if override is not None:
            override.version_id = review.published.id
    return review


def between(session: Session, campaign: Campaign, old: int, new: int) -> list[Change]:
    return diff(view_of(numbered(session, campaign, old, "old")), view_of(numbered(session, campaign, new, "new")))


def rule_key_of(change: Change) -> str | None:
    """The rule a change is about (a list row's expanded rule), to put its problems next to it."""
    if change.section == "rules":
        return change.subject
    if change.section == "lists":
        kind, _, key = change.subject.partition("/")
        return row_rule_key(kind, key)
    return None
