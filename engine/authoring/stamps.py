"""Edit stamps: a digest of what an editor showed, sent back with the save, so a save based on rows or a
rule someone else has changed since is refused instead of silently overwriting their edit.

A save first locks the row it changes (FOR UPDATE on PostgreSQL; SQLite writes one at a time anyway), so
a concurrent save waits, then reads the other one's result and sees that its stamp no longer matches.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.models import Campaign, Rule, RuleList


class StaleEdit(Exception):
    """Nothing was saved: the save carried no stamp (`unstamped`) or one of an older state."""

    def __init__(self, unstamped: bool):
        self.unstamped = unstamped
        super().__init__("the save did not say what it was based on" if unstamped
                         else "someone else changed it since it was read")


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def list_stamp(rule_list: RuleList) -> str:
    """A digest of the list's stored rows (ids included, so a swap of two rows counts as a change)."""
    return _digest([[item.id, item.as_row()] for item in rule_list.items])


def rule_stamp(rule: Rule) -> str:
    """A digest of the stored rule: its version, whether it is on, and its document."""
    return _digest([rule.version, rule.enabled, rule.document])


def locked_list(session: Session, list_id: int) -> RuleList | None:
    """The list, locked until the transaction ends and read afresh with its rows."""
    rule_list = session.scalar(select(RuleList).where(RuleList.id == list_id).with_for_update()
                               .execution_options(populate_existing=True))
    if rule_list is not None:
        session.expire(rule_list, ["items"])
    return rule_list


def locked_rule(session: Session, campaign: Campaign, key: str) -> Rule | None:
    """The campaign's rule, locked until the transaction ends and read afresh."""
    return session.scalar(select(Rule).where(Rule.campaign_id == campaign.id, Rule.key == key).with_for_update()
                          .execution_options(populate_existing=True))


def require_stamp(stamp: Any, current: str) -> None:
    """Raise StaleEdit unless the save carries the stamp of what is stored now."""
    if not isinstance(stamp, str) or not stamp:
        raise StaleEdit(unstamped=True)
    if stamp != current:
        raise StaleEdit(unstamped=False)
