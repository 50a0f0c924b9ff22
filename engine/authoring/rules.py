"""A campaign's hand-written rules: a new rule's starting document, copies, the checks a rule passes
before it is saved, and the save itself.

Saving edits the draft only, and only after the schema, the key, the whole draft with this rule in it
and durable_rules' own registration all accept it; otherwise nothing is stored and each problem names
its path in the rule. A save of a stored rule must carry that rule's stamp.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.authoring.drafts import catalog_for, draft_with, validate_bundle
from engine.authoring.stamps import locked_rule, require_stamp, rule_stamp
from engine.core import clock
from engine.core.models import Campaign, Rule, RulesetVersion
from engine.durable import compile_check
from rules.compiler import CompiledRuleset
from rules.document import Catalog, validate_rule
from rules.problems import InputError, Problem

#: What a new rule starts from: one category condition and one task for the grid's unit.
BLANK = {"key": "", "title": {"zh": "", "en": ""}, "enabled": True,
         "when": {"all": [{"fact": "category", "op": "in", "value": []}]},
         "then": [{"do": "create_task", "template": "", "assign": "grid_unit"}]}


def campaign_rules(session: Session, campaign: Campaign) -> list[Rule]:
    return list(session.scalars(select(Rule).where(Rule.campaign_id == campaign.id).order_by(Rule.key)))


def find_rule(session: Session, campaign: Campaign, key: str) -> Rule | None:
    return session.scalar(select(Rule).where(Rule.campaign_id == campaign.id, Rule.key == key))


def document_of(rule: Rule | None) -> dict[str, Any]:
    """What the editor shows: the stored rule with its switch, or a fresh blank rule."""
    return {**rule.document, "enabled": rule.enabled} if rule is not None else copy.deepcopy(BLANK)


def copy_of(session: Session, campaign: Campaign, key: str) -> dict[str, Any] | None:
    """A new rule's document copied from `key`: switched off, so it never fires twice beside its original."""
    source = find_rule(session, campaign, key)
    return {**source.document, "key": f"{source.key}-copy", "enabled": False} if source is not None else None


def published_rules(session: Session, campaign: Campaign) -> dict[str, int]:
    """Rule key -> the rule version in force (enabled rules of the published version), to flag pending edits."""
    version = session.get(RulesetVersion, campaign.published_version_id) if campaign.published_version_id else None
    return {key: int(doc.get("version", 1)) for key, doc in ((version.rules or {}) if version else {}).items()}


def parse_document(text: str | None) -> Any:
    """The submitted JSON document, or InputError saying where the JSON breaks."""
    try:
        return json.loads(text or "")
    except json.JSONDecodeError as err:
        raise InputError([Problem("(json)", f"the JSON is malformed at line {err.lineno}, column {err.colno}: "
                                  f"{err.msg}", f"JSON 格式错误：第 {err.lineno} 行第 {err.colno} 列，{err.msg}")])


@dataclass
class CheckedRule:
    """A rule document that passed every check short of durable_rules, with what saving it needs."""

    doc: dict[str, Any]
    enabled: bool
    version: int
    existing: Rule | None
    compiled: CompiledRuleset


def check_rule(session: Session, campaign: Campaign, doc: Any, original_key: str | None) -> CheckedRule:
    """The schema, the key and the whole draft with this rule in it; raise InputError (paths relative to
    the rule) on any problem. Reads only: the live check calls it on every edit."""
    catalog = catalog_for(session, campaign)
    title = doc.get("title") if isinstance(doc, dict) else None
    if isinstance(title, dict) and title.get("zh") and not str(title.get("en") or "").strip():
        doc = {**doc, "title": {**title, "en": title["zh"]}}  # English is optional: English pages show the Chinese
    validate_rule(doc, catalog)
    doc = {k: v for k, v in doc.items() if k not in ("version",)}
    enabled = doc.pop("enabled", True)
    existing = find_rule(session, campaign, original_key or doc["key"])
    if original_key and doc["key"] != original_key:
        raise InputError([Problem("key", "a saved rule keeps its key (firings name it); make a new rule "
                                  "for a new key", "已保存规则的键不能更改（触发记录引用它）；如需新键请新建规则")])
    if not original_key and existing is not None:
        raise InputError([Problem("key", f"this campaign already has a rule {doc['key']!r}",
                                  f"本专项行动已有键为 {doc['key']!r} 的规则")])
    version = (existing.version + (existing.document != doc)) if existing else 1
    docs = draft_with(session, campaign, [], rule_key=existing.key if existing is not None else None)
    if any(d.get("key") == doc["key"] for d in docs):  # a list row's rule, switched on or off
        raise InputError([Problem("key", f"a list row of this campaign already has the key {doc['key']!r}",
                                  f"本专项行动的清单行已使用键 {doc['key']!r}")])
    docs.append({**doc, "enabled": enabled, "version": version})
    return CheckedRule(doc, enabled, version, existing, _bundle_check(docs, catalog, doc["key"]))


def _bundle_check(docs: list[dict[str, Any]], catalog: Catalog, key: str) -> CompiledRuleset:
    """Validate and compile the draft; this rule's problems keep their path in it, others say where."""
    try:
        return validate_bundle(docs, catalog)
    except InputError as err:
        own = f"{key}: "
        problems = []
        for p in err.problems:
            if p.where.startswith(own):
                problems.append(Problem(p.where[len(own):], p.en, p.zh))
            else:
                problems.append(Problem(f"(draft) {p.where}", f"elsewhere in the draft: {p.en}",
                                        f"草稿中其他位置：{p.zh}"))
        raise InputError(problems) from err


def store_rule(session: Session, campaign: Campaign, doc: Any, original_key: str | None) -> Rule:
    """Store `doc` as the campaign's draft rule once check_rule and durable_rules accept it; raise
    InputError and leave the session untouched otherwise."""
    checked = check_rule(session, campaign, doc, original_key)
    refused = compile_check.check(checked.compiled.as_check())
    if refused:
        raise InputError([Problem("(compile)", f"durable_rules refused the ruleset: {p.en}",
                                  f"durable_rules 无法注册规则集：{p.zh}") for p in refused])
    rule = checked.existing or Rule(campaign_id=campaign.id, key=checked.doc["key"])
    rule.document, rule.enabled, rule.version, rule.updated_at = (checked.doc, checked.enabled, checked.version,
                                                                   clock.now())
    session.add(rule)
    session.flush()
    return rule


def save_rule(session: Session, campaign: Campaign, text: str | None, original_key: str | None,
              stamp: str | None) -> Rule:
    """The editor's save of a JSON document: a stored rule is locked first and must carry its stamp
    (StaleEdit), then the document is parsed and stored (InputError). The caller commits."""
    if original_key:
        rule = locked_rule(session, campaign, original_key)  # a concurrent save waits, then sees this one's stamp
        if rule is not None:
            require_stamp(stamp, rule_stamp(rule))
    return store_rule(session, campaign, parse_document(text), original_key)
