"""Publishing refuses what does not validate, naming the rule and the part at fault; nothing half-written."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.authoring.drafts import publish
from engine.core.models import Campaign, Rule, RulesetVersion
from rules.problems import InputError


def test_an_invalid_rule_blocks_publishing_and_names_the_offending_part(session):
    campaign = session.scalar(select(Campaign))
    before = session.scalar(select(func.count()).select_from(RulesetVersion))
    session.add(Rule(campaign_id=campaign.id, key="broken-rule", document={
        "key": "broken-rule", "title": {"zh": "坏规则", "en": "Broken"},
        "when": {"all": [{"fact": "local_hour", "op": "between", "value": [23]}]},
        "then": [{"do": "create_task", "template": "no-such-template", "assign": "grid_unit"}]}))
    session.flush()
    with pytest.raises(InputError) as info:
        publish(session, campaign)
    paths = {p.where for p in info.value.problems}
    assert paths == {"broken-rule: when.all[0].value", "broken-rule: then[0].template"}
    session.rollback()
    assert session.scalar(select(func.count()).select_from(RulesetVersion)) == before


def test_publishing_the_same_bundle_again_keeps_its_content_hash(session):
    campaign = session.scalar(select(Campaign))
    current = session.get(RulesetVersion, campaign.published_version_id)
    version = publish(session, campaign, comment="republish")
    assert version.number == current.number + 1
    assert version.content_hash == current.content_hash
    session.rollback()
