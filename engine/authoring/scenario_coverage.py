"""Scenarios from what admins already have, and what they leave unguarded. Which parts of a campaign's rules no scenario guards: list rows and hand-written rules no scenario names as
firing or not, and duty-list routes (a unit's duty for a category) no scenario expects a task of."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.authoring.campaigns import campaign_zone
from engine.authoring.scenarios import HISTORY_FACTS, PLACE_FACTS, TIME_FORMAT, of_campaign
from engine.core.models import Campaign, DutyItem, Event, Firing, Rule, RuleList, Task
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
                         "title": item.title_zh if lang.startswith("zh") else (item.title_en or item.title_zh)})
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


def from_event(session: Session, event: Event, campaign: Campaign) -> dict[str, Any]:
    """A past event's outcome as a scenario to edit before saving: the event as it came, the history and place
    facts it was evaluated with, the tasks it got and the rules that fired for it."""
    facts = (event.facts or {}).get(str(campaign.id)) or {}
    local = event.occurred_at.astimezone(campaign_zone(campaign)).strftime(TIME_FORMAT)
    tasks = session.scalars(select(Task).where(Task.event_id == event.id, Task.campaign_id == campaign.id)
                            .options(selectinload(Task.unit)).order_by(Task.id))
    fired = sorted(set(session.scalars(select(Firing.rule_key).where(Firing.event_id == event.id))))
    return {"title": "", "tags": [],
            "event": {"category": event.category.code, "grid": event.grid.code if event.grid else None,
                      "local_time": local, "source_type": event.source_type,
                      **({"filing_condition": event.filing_condition} if event.filing_condition else {}),
                      "facts": {k: facts[k] for k in PLACE_FACTS if facts.get(k) not in (None, "", [], False, 0)}},
            "history": {k: facts[k] for k in HISTORY_FACTS if isinstance(facts.get(k), int) and facts[k]},
            "expected": {"tasks": [{"unit": t.unit.code, "list": t.list_kind,
                                    "limit": {"value": t.limit_value, "unit": t.limit_unit}, "points": t.points or 0}
                                   for t in tasks], "fire": fired}}
