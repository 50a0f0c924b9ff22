"""Which parts of a campaign's rules no scenario guards: list rows and hand-written rules no scenario names as
firing or not, and duty-list routes (a unit's duty for a category) no scenario expects a task of."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.authoring.scenarios import of_campaign
from engine.core.models import Campaign, DutyItem, Rule, RuleList
from rules.lists import row_rule_key


@dataclass
class Coverage:
    """What is guarded and what is not; each entry names the rule key or (unit, category) route."""

    rows: list[dict[str, Any]]
    rules: list[dict[str, Any]]
    routes: list[dict[str, Any]]

    @property
    def uncovered(self) -> int:
        return sum(not e["covered"] for part in (self.rows, self.rules, self.routes) for e in part)


def coverage(session: Session, campaign: Campaign, lang: str = "zh") -> Coverage:
    named: set[str] = set()
    routes: set[tuple[str, str]] = set()
    for scenario in of_campaign(session, campaign):
        expected = scenario.expected or {}
        named |= set(expected.get("fire") or []) | set(expected.get("not_fire") or [])
        routes |= {(t["unit"], scenario.event["category"]) for t in expected.get("tasks") or []}
    rows = []
    for rule_list in session.scalars(select(RuleList).where(RuleList.campaign_id == campaign.id)
                                     .options(selectinload(RuleList.items)).order_by(RuleList.id)):
        for item in rule_list.items:
            key = row_rule_key(rule_list.kind, item.key)
            rows.append({"list": rule_list.kind, "row": item.key, "rule": key, "covered": key in named,
                         "title": item.title_zh if lang.startswith("zh") else item.title_en})
    rules = [{"rule": r.key, "covered": r.key in named,
              "title": ((r.document or {}).get("title") or {}).get("zh" if lang.startswith("zh") else "en") or r.key}
             for r in session.scalars(select(Rule).where(Rule.campaign_id == campaign.id).order_by(Rule.key))]
    duties = session.scalars(select(DutyItem).where(DutyItem.category_id.is_not(None))
                             .options(selectinload(DutyItem.unit), selectinload(DutyItem.category))
                             .order_by(DutyItem.unit_id, DutyItem.position))
    seen: set[tuple[str, str]] = set()
    found = []
    for duty in duties:
        route = (duty.unit.code, duty.category.code)
        if route in seen:
            continue
        seen.add(route)
        found.append({"unit": route[0], "category": route[1], "covered": route in routes,
                      "text": duty.text_zh if lang.startswith("zh") else (duty.text_en or duty.text_zh)})
    return Coverage(rows, rules, found)
