"""A campaign's draft and its published versions: building the bundle, publishing, rolling back.

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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from engine.authoring.campaigns import campaign_today
from engine.core import clock
from engine.core.models import (Campaign, Category, RuleList, Rule, RulesetVersion, SupervisionTier, TaskTemplate,
                                TierMember, Timeline, Unit)
from engine.durable import compile_check
from engine.evaluation.decide import ROUTINE_TIMELINES
from engine.handling.ladder import FrozenStep
from rules.compiler import CompiledRuleset, compile_ruleset
from rules.document import Catalog, validate_rule
from rules.lists import expand_row
from rules.problems import InputError, Problem


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
    today = campaign_today(campaign)
    for rule_list in session.scalars(select(RuleList).where(RuleList.campaign_id == campaign.id).order_by(RuleList.id)):
        for item in rule_list.items:
            docs.append(expand_row(rule_list.kind, item.as_row(), today))
    for rule in session.scalars(select(Rule).where(Rule.campaign_id == campaign.id).order_by(Rule.key)):
        doc = dict(rule.document)
        doc["enabled"] = rule.enabled
        doc["version"] = rule.version
        docs.append(doc)
    return docs


def draft_with(session: Session, campaign: Campaign, part: list[dict[str, Any]], *, list_kind: str | None = None,
               rule_key: str | None = None) -> list[dict[str, Any]]:
    """The draft as it would be with `part` saved: in place of the rows of the list `list_kind`, or of the
    hand-written rule `rule_key` (None: a new rule), at the end of the bundle."""
    docs = draft_bundle(session, campaign)
    if list_kind is not None:
        docs = [d for d in docs if (d.get("origin") or {}).get("list") != list_kind]
    if rule_key is not None:
        rules_at = [i for i, d in enumerate(docs) if d.get("key") == rule_key]
        if rules_at:
            del docs[rules_at[-1]]  # hand-written rules come after the list rows
    return docs + part


def validate_bundle(docs: list[dict[str, Any]], catalog: Catalog) -> CompiledRuleset:
    """Validate every document and compile the bundle; raise InputError naming each fault."""
    problems: list[Problem] = []
    for doc in docs:
        try:
            validate_rule(doc, catalog)
        except InputError as err:
            key = doc.get("key", "?") if isinstance(doc, dict) else "?"
            problems += [Problem(f"{key}: {p.where}", p.en, p.zh) for p in err.problems]
    if problems:
        raise InputError(problems)
    try:
        return compile_ruleset(docs)
    except ValueError as err:
        raise InputError([Problem("(bundle)", str(err), f"规则集无法编译：{err}")]) from err


def _named(docs: list[dict[str, Any]], key: str) -> set[str]:
    """The template or timeline codes the enabled documents' create_task actions name."""
    return {a[key] for d in docs if d.get("enabled", True) for a in d.get("then") or []
            if isinstance(a, dict) and a.get("do") == "create_task" and isinstance(a.get(key), str)}


def _ladders(session: Session, docs: list[dict[str, Any]]) -> set[str]:
    """The timelines a task may follow (DESIGN 14): those the rules name, those categories name, and the
    campaign's routine and default ones."""
    by_category = set(session.scalars(select(Category.timeline_code).where(Category.timeline_code.is_not(None))))
    return _named(docs, "timeline") | by_category | set(ROUTINE_TIMELINES)


def freeze_bundle(session: Session, campaign: Campaign, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """What the rules name, as plain JSON: the timelines' steps, the tiers and their members, the newest
    version of each named template, and every list row (so a diff can show rows)."""
    timelines = {}
    for timeline in session.scalars(select(Timeline).where(Timeline.campaign_id == campaign.id,
                                                           Timeline.code.in_(_ladders(session, docs)))
                                    .options(selectinload(Timeline.steps)).order_by(Timeline.code)):
        timelines[timeline.code] = {"name": {"zh": timeline.name_zh, "en": timeline.name_en}, "steps": [
            FrozenStep.of(s).as_bundle() for s in timeline.steps]}
    tiers = []
    for tier in session.scalars(select(SupervisionTier).where(SupervisionTier.campaign_id == campaign.id)
                                .options(selectinload(SupervisionTier.members).selectinload(TierMember.user),
                                         selectinload(SupervisionTier.members).selectinload(TierMember.unit))
                                .order_by(SupervisionTier.level)):
        members = sorted([{"user": m.user.username} if m.user is not None else {"unit": m.unit.code}
                          for m in tier.members if m.user is not None or m.unit is not None],
                         key=lambda m: (sorted(m)[0], next(iter(m.values()))))
        tiers.append({"level": tier.level, "name": {"zh": tier.name_zh, "en": tier.name_en}, "members": members,
                      "rung": tier.rung or tier.level, "unit_types": sorted(tier.unit_types or []) or None})
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
    """durable_rules' own verdict on the compiled rules, from a child process (engine.durable.compile_check)."""
    return [Problem("(durable_rules)", f"durable_rules refuses the compiled rules: {message.en}",
                    f"durable_rules 无法注册编译后的规则：{message.zh}")
            for message in compile_check.check(compiled.as_check())]


def draft_view(session: Session, campaign: Campaign, check_registration: bool = False) -> DraftView:
    """Build, validate and (optionally) registration-check the draft without writing anything."""
    docs = draft_bundle(session, campaign)
    bundle = freeze_bundle(session, campaign, docs)
    compiled, problems = None, []
    try:
        compiled = validate_bundle(docs, catalog_for(session, campaign))
    except InputError as err:
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

    Raises InputError naming every problem, ScenariosFailed when a scenario fails and no second administrator
    confirmed an override; `check_registration` also asks durable_rules itself."""
    draft = draft_view(session, campaign, check_registration)
    if draft.problems or draft.compiled is None:
        raise InputError(draft.problems)
    override = scenario_gate(session, campaign, draft)
    version = freeze(session, campaign, draft, author_id, comment)
    if override is not None:
        override.version_id = version.id
        session.flush()
    return version


def scenario_gate(session: Session, campaign: Campaign, draft: DraftView) -> Any:
    """The campaign's scenarios against the draft, in a child process; raises ScenariosFailed, or returns the
    confirmed override that lets this draft through (None when every scenario passes)."""
    from engine.authoring import scenario_gate  # imported here: the gate builds on this module's draft view

    return scenario_gate.gate(session, campaign, draft)[1]


def freeze(session: Session, campaign: Campaign, draft: DraftView, author_id: int | None = None,
           comment: str = "") -> RulesetVersion:
    """Store a draft view (built in this transaction) as the next version and make it active."""
    if draft.problems or draft.compiled is None:
        raise InputError(draft.problems)
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
    """Republish version `number`'s frozen content as the next version, with the reason given (required:
    a rollback is an incident someone must explain); the draft is left as it is."""
    if not comment.strip():
        raise InputError([Problem("comment", "say why you roll back", "请填写回退原因")])
    old = session.scalar(select(RulesetVersion).where(RulesetVersion.campaign_id == campaign.id,
                                                      RulesetVersion.number == number))
    if old is None:
        raise InputError([Problem("number", f"no published version {number}", f"没有已发布的第 {number} 版")])
    version = RulesetVersion(campaign_id=campaign.id, number=_next_number(session, campaign),
                             content_hash=old.content_hash, rules=copy.deepcopy(old.rules),
                             compiled=copy.deepcopy(old.compiled), bundle=copy.deepcopy(old.bundle),
                             author_id=author_id,
                             comment=comment.strip(),
                             published_at=clock.now())
    session.add(version)
    session.flush()
    campaign.published_version_id = version.id
    return version
