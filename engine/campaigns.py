"""Campaigns and their ruleset versions: building the bundle, publishing, rolling back, and the
evaluation context.

Publishing validates every rule and list row, compiles the rules and freezes them as an immutable
RulesetVersion together with what they name (timelines, supervision tiers, template versions, list
rows) under one content hash; nothing that fails validation is ever published. A task keeps the
version it was created under: the pipeline reads its template version and timeline steps from the
frozen bundle. Units, grids and categories stay live master data.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from engine import clock
from engine.errors import FieldProblem, InputError
from engine.models import (Campaign, Category, Grid, RuleList, Rule, RulesetVersion, SupervisionTier, TaskTemplate,
                           TierMember, Timeline, Unit)
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


@dataclass(frozen=True)
class FrozenStep:
    """A timeline step as frozen in a version's bundle: the attributes plan_steps reads of a TimelineStep."""

    position: int
    after_minutes: float
    time_mode: str
    action: str
    tier_level: int | None
    unless_state: str | None


def _named(docs: list[dict[str, Any]], key: str) -> set[str]:
    """The template or timeline codes the enabled documents' create_task actions name."""
    return {a[key] for d in docs if d.get("enabled", True) for a in d.get("then") or []
            if isinstance(a, dict) and a.get("do") == "create_task" and isinstance(a.get(key), str)}


def freeze_bundle(session: Session, campaign: Campaign, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """What the rules name, as plain JSON: the timelines' steps, the tiers and their members, the newest
    version of each named template, and every list row (so a diff can show rows)."""
    timelines = {}
    for timeline in session.scalars(select(Timeline).where(Timeline.campaign_id == campaign.id,
                                                           Timeline.code.in_(_named(docs, "timeline")))
                                    .options(selectinload(Timeline.steps)).order_by(Timeline.code)):
        timelines[timeline.code] = {"name": {"zh": timeline.name_zh, "en": timeline.name_en}, "steps": [
            {"position": s.position, "after_minutes": float(s.after_minutes), "time_mode": s.time_mode,
             "action": s.action, "tier_level": s.tier_level, "unless_state": s.unless_state} for s in timeline.steps]}
    tiers = []
    for tier in session.scalars(select(SupervisionTier).where(SupervisionTier.campaign_id == campaign.id)
                                .options(selectinload(SupervisionTier.members).selectinload(TierMember.user),
                                         selectinload(SupervisionTier.members).selectinload(TierMember.unit))
                                .order_by(SupervisionTier.level)):
        members = sorted([{"user": m.user.username} if m.user is not None else {"unit": m.unit.code}
                          for m in tier.members if m.user is not None or m.unit is not None],
                         key=lambda m: (sorted(m)[0], next(iter(m.values()))))
        tiers.append({"level": tier.level, "name": {"zh": tier.name_zh, "en": tier.name_en}, "members": members})
    named = _named(docs, "template")
    templates = dict(session.execute(select(TaskTemplate.code, func.max(TaskTemplate.version))
                                     .where(TaskTemplate.code.in_(named)).group_by(TaskTemplate.code)).all())
    lists = {rule_list.kind: [item.as_row() for item in rule_list.items] for rule_list in session.scalars(
        select(RuleList).where(RuleList.campaign_id == campaign.id).order_by(RuleList.id))}
    return {"timelines": timelines, "tiers": tiers, "templates": dict(sorted(templates.items())), "lists": lists}


def bundle_hash(rules: list[dict[str, Any]] | dict[str, dict[str, Any]], bundle: dict[str, Any] | None) -> str:
    """The content hash of a version: its enabled rules and its bundle (a timeline-only change counts)."""
    docs = list(rules.values()) if isinstance(rules, dict) else list(rules)
    blob = json.dumps({"rules": sorted(docs, key=lambda r: r["key"]), "bundle": bundle}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class DraftView:
    """What publishing the campaign now would freeze, and why it would be refused (problems)."""

    docs: list[dict[str, Any]]
    bundle: dict[str, Any]
    compiled: CompiledRuleset | None
    problems: list[Problem]
    content_hash: str

    @property
    def rules(self) -> dict[str, dict[str, Any]]:
        if self.compiled is not None:
            return self.compiled.rules
        return {d["key"]: d for d in self.docs if isinstance(d, dict) and "key" in d and d.get("enabled", True)}

    def as_view(self) -> dict[str, Any]:
        """The shape rules.diff compares: {"rules": {key: doc}, plus the bundle's parts}."""
        return {"rules": self.rules, **self.bundle}


def registration_problems(compiled: CompiledRuleset) -> list[Problem]:
    """durable_rules' own verdict on the compiled rules, from a child process (engine/compile_check.py)."""
    from engine.compile_check import check

    return [Problem("(durable_rules)", f"durable_rules refuses the compiled rules: {message.en}",
                    f"durable_rules 无法注册编译后的规则：{message.zh}") for message in check(compiled.as_dict())]


def draft_view(session: Session, campaign: Campaign, check_registration: bool = False) -> DraftView:
    """Build, validate and (optionally) registration-check the draft without writing anything."""
    docs = draft_bundle(session, campaign)
    bundle = freeze_bundle(session, campaign, docs)
    compiled, problems = None, []
    try:
        compiled = validate_bundle(docs, catalog_for(session, campaign))
    except RuleDocumentError as err:
        problems = list(err.problems)
    if compiled is not None and check_registration:
        problems = registration_problems(compiled)
    draft = DraftView(docs, bundle, compiled, problems, "")
    draft.content_hash = bundle_hash(draft.rules, bundle)
    return draft


def _next_number(session: Session, campaign: Campaign) -> int:
    return (session.scalar(select(func.max(RulesetVersion.number)).where(
        RulesetVersion.campaign_id == campaign.id)) or 0) + 1


def publish(session: Session, campaign: Campaign, author_id: int | None = None, comment: str = "",
            check_registration: bool = False) -> RulesetVersion:
    """Freeze the draft as the campaign's next published version (the caller commits).

    Raises RuleDocumentError naming every problem; `check_registration` also asks durable_rules itself."""
    return freeze(session, campaign, draft_view(session, campaign, check_registration), author_id, comment)


def freeze(session: Session, campaign: Campaign, draft: DraftView, author_id: int | None = None,
           comment: str = "") -> RulesetVersion:
    """Store a draft view (built in this transaction) as the next version and make it active."""
    if draft.problems or draft.compiled is None:
        raise RuleDocumentError(draft.problems)
    version = RulesetVersion(campaign_id=campaign.id, number=_next_number(session, campaign),
                             content_hash=draft.content_hash, rules=draft.compiled.rules,
                             compiled=draft.compiled.as_dict(), bundle=draft.bundle, author_id=author_id,
                             comment=comment, published_at=clock.now())
    session.add(version)
    session.flush()
    campaign.published_version_id = version.id
    return version


def rollback(session: Session, campaign: Campaign, number: int, author_id: int | None = None,
             comment: str = "") -> RulesetVersion:
    """Republish version `number`'s frozen content as the next version; the draft is left as it is."""
    old = session.scalar(select(RulesetVersion).where(RulesetVersion.campaign_id == campaign.id,
                                                      RulesetVersion.number == number))
    if old is None:
        raise InputError([FieldProblem("number", f"no published version {number}", f"没有已发布的第 {number} 版")])
    version = RulesetVersion(campaign_id=campaign.id, number=_next_number(session, campaign),
                             content_hash=old.content_hash, rules=copy.deepcopy(old.rules),
                             compiled=copy.deepcopy(old.compiled), bundle=copy.deepcopy(old.bundle),
                             author_id=author_id,
                             comment=f"rollback to v{number}: {comment}" if comment else f"rollback to v{number}",
                             published_at=clock.now())
    session.add(version)
    session.flush()
    campaign.published_version_id = version.id
    return version


def frozen_steps(bundle: dict[str, Any] | None, timeline_code: str | None) -> list[FrozenStep] | None:
    """The timeline's steps as frozen in a bundle, or None when the bundle does not hold it (use live)."""
    frozen = ((bundle or {}).get("timelines") or {}).get(timeline_code or "")
    if frozen is None:
        return None
    return [FrozenStep(**step) for step in frozen["steps"]]


def frozen_template_version(bundle: dict[str, Any] | None, template_code: str) -> int | None:
    return ((bundle or {}).get("templates") or {}).get(template_code)


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
    bundle: dict[str, Any] | None = None  # the version's frozen timelines and template versions (None: live)

    @property
    def tag(self) -> str:
        return f"v{self.version_id}_{self.compiled.content_hash[:10]}"


_compiled_cache: dict[tuple[int, str], tuple[CompiledRuleset, dict[str, Any] | None]] = {}


def context_for(session: Session, campaign: Campaign, version_id: int, version_number: int,
                compiled: CompiledRuleset, bundle: dict[str, Any] | None = None) -> CampaignContext:
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
        continuous_time=campaign.continuous_time, list_categories=lists, bundle=bundle)


def _frozen_version(session: Session, version_id: int,
                    version_hash: str) -> tuple[CompiledRuleset, dict[str, Any] | None]:
    """A version's compiled rules and bundle, read from the database once per process (versions never change)."""
    key = (version_id, version_hash)  # the hash too: SQLite may reuse the id of a version rolled back in a test
    found = _compiled_cache.get(key)
    if found is None:
        version = session.get(RulesetVersion, version_id)
        compiled = CompiledRuleset.from_dict(version.rules, version.compiled, version.content_hash)
        found = _compiled_cache[key] = (compiled, version.bundle)
    return found


def compiled_version(version: RulesetVersion) -> CompiledRuleset:
    key = (version.id, version.content_hash)
    if key not in _compiled_cache:
        _compiled_cache[key] = (CompiledRuleset.from_dict(version.rules, version.compiled, version.content_hash),
                                version.bundle)
    return _compiled_cache[key][0]


def active_contexts(session: Session) -> list[CampaignContext]:
    """Every active campaign with its published version; a batch reads only the version's id and hash, the
    frozen rules and bundle come from the process's cache."""
    rows = session.execute(select(Campaign, RulesetVersion.id, RulesetVersion.number, RulesetVersion.content_hash)
                           .join(RulesetVersion, RulesetVersion.id == Campaign.published_version_id)
                           .where(Campaign.status == "active").order_by(Campaign.id)).all()
    contexts = [context_for(session, campaign, version_id, number, *_frozen_version(session, version_id, version_hash))
                for campaign, version_id, number, version_hash in rows]
    for stale in set(_compiled_cache) - {(c.version_id, c.compiled.content_hash) for c in contexts}:
        del _compiled_cache[stale]  # a long-lived process keeps only what is active: memory stays flat over publishes
    return contexts


def grid_units(session: Session) -> dict[int, Unit]:
    return {g.id: g.unit for g in session.scalars(select(Grid))}
