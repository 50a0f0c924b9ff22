"""Campaigns and their ruleset versions: building the bundle, publishing, and the evaluation context.

Publishing validates every rule and list row, compiles the bundle and freezes it as an immutable
RulesetVersion with its content hash; nothing that fails validation is ever published.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.models import (Campaign, Category, Grid, RuleList, Rule, RulesetVersion, SupervisionTier, TaskTemplate,
                           Timeline, Unit)
from rules.compiler import CompiledRuleset, categories_of, compile_ruleset
from rules.document import Catalog, Problem, RuleDocumentError, validate_rule
from rules.lists import expand_row
from engine.worktime import WorkCalendar, calendar_for


def catalog_for(session: Session, campaign: Campaign) -> Catalog:
    return Catalog(
        categories=set(session.scalars(select(Category.code))),
        units=set(session.scalars(select(Unit.code))),
        unit_types=set(session.scalars(select(Unit.type).distinct())),
        templates=set(session.scalars(select(TaskTemplate.code).distinct())),
        timelines=set(session.scalars(select(Timeline.code).where(Timeline.campaign_id == campaign.id))),
        tiers=set(session.scalars(select(SupervisionTier.level).where(SupervisionTier.campaign_id == campaign.id))),
    )


def draft_bundle(session: Session, campaign: Campaign) -> list[dict[str, Any]]:
    """The campaign's current rule documents: list rows expanded, then hand-written rules."""
    docs: list[dict[str, Any]] = []
    today = clock.now().astimezone(ZoneInfo(campaign.timezone or "Asia/Shanghai")).date()
    for rule_list in session.scalars(select(RuleList).where(RuleList.campaign_id == campaign.id).order_by(RuleList.id)):
        for item in rule_list.items:
            docs.append(expand_row(rule_list.kind, item.as_row(), today))
    for rule in session.scalars(select(Rule).where(Rule.campaign_id == campaign.id).order_by(Rule.key)):
        doc = dict(rule.document)
        doc["enabled"] = rule.enabled
        doc["version"] = rule.version
        docs.append(doc)
    return docs


def validate_bundle(docs: list[dict[str, Any]], catalog: Catalog) -> CompiledRuleset:
    """Validate every document and compile the bundle; raise RuleDocumentError naming each fault."""
    problems: list[Problem] = []
    for doc in docs:
        try:
            validate_rule(doc, catalog)
        except RuleDocumentError as err:
            key = doc.get("key", "?") if isinstance(doc, dict) else "?"
            problems += [Problem(f"{key}: {p.path}", p.en, p.zh) for p in err.problems]
    if problems:
        raise RuleDocumentError(problems)
    try:
        return compile_ruleset(docs)
    except ValueError as err:
        raise RuleDocumentError([Problem("(bundle)", str(err), f"规则集无法编译：{err}")]) from err


def publish(session: Session, campaign: Campaign, author_id: int | None = None, comment: str = "") -> RulesetVersion:
    """Freeze the draft as the campaign's next published version (the caller commits)."""
    docs = draft_bundle(session, campaign)
    compiled = validate_bundle(docs, catalog_for(session, campaign))
    number = (session.scalar(select(func.max(RulesetVersion.number)).where(
        RulesetVersion.campaign_id == campaign.id)) or 0) + 1
    version = RulesetVersion(campaign_id=campaign.id, number=number, content_hash=compiled.content_hash,
                             rules=compiled.rules, compiled=compiled.as_dict(), author_id=author_id,
                             comment=comment, published_at=clock.now())
    session.add(version)
    session.flush()
    campaign.published_version_id = version.id
    return version


@dataclass
class CampaignContext:
    """What evaluation needs of one active campaign, loaded once per batch."""

    id: int
    timezone: ZoneInfo
    version_id: int
    version_number: int
    compiled: CompiledRuleset
    inspection_starts_at: datetime | None
    inspection_ends_at: datetime | None
    calendar: WorkCalendar
    continuous_time: bool = False
    list_categories: dict[str, set[str]] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        return f"v{self.version_id}_{self.compiled.content_hash[:10]}"


_compiled_cache: dict[int, CompiledRuleset] = {}


def context_for(session: Session, campaign: Campaign, version_id: int, version_number: int,
                compiled: CompiledRuleset) -> CampaignContext:
    """What evaluation needs of one campaign under one compiled ruleset (published or a draft)."""
    lists: dict[str, set[str]] = {}
    for doc in compiled.rules.values():
        kind = (doc.get("origin") or {}).get("list")
        if kind:
            lists.setdefault(kind, set()).update(categories_of(doc) or set())
    return CampaignContext(
        id=campaign.id, timezone=ZoneInfo(campaign.timezone), version_id=version_id,
        version_number=version_number, compiled=compiled,
        inspection_starts_at=campaign.inspection_starts_at, inspection_ends_at=campaign.inspection_ends_at,
        calendar=calendar_for(session, campaign.timezone, campaign.office_hours),
        continuous_time=campaign.continuous_time, list_categories=lists)


def compiled_version(version: RulesetVersion) -> CompiledRuleset:
    compiled = _compiled_cache.get(version.id)
    if compiled is None:
        compiled = _compiled_cache[version.id] = CompiledRuleset.from_dict(
            version.rules, version.compiled, version.content_hash)
    return compiled


def active_contexts(session: Session) -> list[CampaignContext]:
    """Every active campaign with a published version; compiled versions are cached by id."""
    rows = session.execute(select(Campaign, RulesetVersion).join(
        RulesetVersion, RulesetVersion.id == Campaign.published_version_id).where(Campaign.status == "active")
        .order_by(Campaign.id))
    contexts = [context_for(session, campaign, version.id, version.number, compiled_version(version))
                for campaign, version in rows]
    for stale in set(_compiled_cache) - {c.version_id for c in contexts}:
        del _compiled_cache[stale]  # a long-lived process keeps only what is active: memory stays flat over publishes
    return contexts


def grid_units(session: Session) -> dict[int, Unit]:
    return {g.id: g.unit for g in session.scalars(select(Grid))}
