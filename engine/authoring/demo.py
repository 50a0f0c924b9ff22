"""Loading a campaign pack (the demo campaign) into an empty database, once."""
from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts.users import create_user, ensure_roles, issue_intake_token
from engine.authoring import scenarios
from engine.authoring.catalogue import load_catalogue, merge_categories
from engine.authoring.drafts import publish
from engine.cases.duties import duty_items
from engine.core.models import (Campaign, Category, ChecklistItem, DutyItem, FrontageHolder, Grid, InspectionPoint,
                                InspectionPointType, ListItem, Rule, RuleList, SupervisionTier, TaskTemplate, TierMember, Timeline,
                                TimelineStep, Unit)
from engine.core import clock
from engine.core.models import (DEFAULT_TIMEZONE, AssessmentConfig, InspectionPlan, Permit, PermitKind, Person,
                                Recipient, SanctionRule, Street, Zone)
from engine.people.responsibility import assign_grid
from engine.people.roster import WeekPattern, save_week, units_on_call
from engine.people.staff import position_name, save_person
from engine.space.permits import PermitInput, save_permit, save_permit_kind
from engine.space.points import save_point
from engine.space.zones import save_zone, set_active
from rules.packs import load_pack

DEMO_PASSWORD = "civicrules-demo"
log = logging.getLogger(__name__)


def load(session: Session, pack: dict[str, Any] | None = None, password: str = DEMO_PASSWORD) -> dict[str, Any] | None:
    """Load the pack and publish its rules; return logins and an intake token, or None if already loaded."""
    pack = pack or load_pack("demo")
    spec = pack["campaign"]
    if session.scalar(select(Campaign).where(Campaign.code == spec["code"])):
        return None
    ensure_roles(session)
    _master_data(session, pack)
    window = spec.get("inspection_window") or {}
    campaign = Campaign(code=spec["code"], name_zh=spec["zh"], name_en=spec["en"], status="active",
                        timezone=spec.get("timezone", DEFAULT_TIMEZONE),
                        starts_on=date.fromisoformat(spec["starts_on"]), ends_on=date.fromisoformat(spec["ends_on"]),
                        inspection_starts_at=_instant(window.get("starts_at")),
                        inspection_ends_at=_instant(window.get("ends_at")))
    session.add(campaign)
    session.flush()
    units = {u.code: u for u in session.scalars(select(Unit))}
    tiers = {}
    for tier in pack["tiers"]:
        tiers[tier["level"]] = SupervisionTier(campaign_id=campaign.id, level=tier["level"], name_zh=tier["zh"],
                                               name_en=tier["en"], rung=tier.get("rung"),
                                               unit_types=tier.get("unit_types"),
                                               members=[TierMember(unit=units[c]) for c in tier.get("units", [])])
        session.add(tiers[tier["level"]])
    for spec_p in pack.get("inspection_plans", []):  # 三级督查: each tier's scope and frequency
        session.add(InspectionPlan(campaign_id=campaign.id, code=spec_p["code"], tier_level=spec_p["tier"],
                                   name_zh=spec_p["zh"], name_en=spec_p["en"], frequency=spec_p["frequency"],
                                   scope=spec_p.get("scope", {}),
                                   requires_location=spec_p.get("requires_location", True)))
    for spec_t in pack["timelines"]:
        timeline = Timeline(campaign_id=campaign.id, code=spec_t["code"], name_zh=spec_t["zh"], name_en=spec_t["en"])
        timeline.steps = [TimelineStep(position=i, anchor=s["anchor"], share=s.get("share"),
                                       after_minutes=s.get("after_minutes", 0), action=s["action"],
                                       tier_level=s.get("tier"), unless_state=s.get("unless_state"))
                          for i, s in enumerate(spec_t["steps"])]
        session.add(timeline)
    for spec_l in pack["lists"]:
        rule_list = RuleList(campaign_id=campaign.id, kind=spec_l["kind"], name_zh=spec_l["zh"], name_en=spec_l["en"])
        rule_list.items = [ListItem(position=i, key=r["key"], title_zh=r["title"]["zh"], title_en=r["title"]["en"],
                                    categories=r["categories"], conditions=r.get("conditions", []),
                                    assign=r.get("assign", "grid_unit"), template_code=r["template"],
                                    timeline_code=r.get("timeline"), limit=r.get("limit"), points=r.get("points", 0),
                                    point_rules=r.get("point_rules"),
                                    legal_basis=r.get("legal_basis"), enabled=r.get("enabled", True))
                           for i, r in enumerate(spec_l["rows"])]
        session.add(rule_list)
    _assessment(session, campaign, pack.get("assessment") or {})
    for doc in pack["rules"]:
        session.add(Rule(campaign_id=campaign.id, key=doc["key"], version=1, document=doc, enabled=True,
                         updated_at=clock.now()))
    session.flush()
    logins = []
    people = {p.code: p for p in session.scalars(select(Person))}
    for user in pack["users"]:
        account = create_user(session, user["username"], user["role"], password, user.get("unit"))
        account.tier_level = user.get("tier")
        if user.get("tier") in tiers:
            tiers[user["tier"]].members.append(TierMember(user=account))
        person = people.get(user.get("person"))
        if person is not None:
            person.user_id = account.id
        logins.append((user["username"], user["role"],
                       " ".join(part for part in (user.get("unit"), f"tier {user['tier']}" if user.get("tier") else None)
                                if part) or None,
                       f"{person.name} {position_name(person.position)}" if person is not None else None))
    session.flush()
    _roster(session, pack.get("roster") or {}, campaign.timezone)
    for scenario in pack.get("scenarios") or []:  # checked by the publish below, as every later publish checks them
        scenarios.save(session, campaign, scenario)
    publish(session, campaign, comment="demo pack")  # after the users, so the tiers' member users are in the bundle
    tokens = {s["name"]: issue_intake_token(session, s["name"], s["source_type"]) for s in pack["intake_sources"]}
    return {"campaign": campaign.code, "logins": logins, "password": password, "tokens": tokens}


def _assessment(session: Session, campaign: Campaign, spec: dict[str, Any]) -> None:
    """Composite-score weights, peer groups and the bottom-N sanction rules of the campaign."""
    if not spec:
        return
    session.add(AssessmentConfig(campaign_id=campaign.id, weights=spec.get("weights", {}),
                                 peer_groups=spec.get("peer_groups", {}), deduction_caps=spec.get("deduction_caps"),
                                 no_case_placement=spec.get("no_case_placement", "unranked")))
    for rule in spec.get("sanction_rules", []):
        session.add(SanctionRule(campaign_id=campaign.id, code=rule["code"], kind=rule["kind"],
                                 bottom_n=rule["bottom_n"], periods=rule["periods"], peer_group=rule.get("peer_group"),
                                 sanction=rule["sanction"], enabled=rule.get("enabled", True)))


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _master_data(session: Session, pack: dict[str, Any]) -> None:
    """Categories, units, grids and templates are shared master data: add what is missing."""
    merge_categories(session, load_catalogue()["categories"])  # the shipped catalogue, then the pack's own entries
    by_code: dict[str, Category] = merge_categories(session, pack["categories"])
    units: dict[str, Unit] = {u.code: u for u in session.scalars(select(Unit))}
    written = {spec["code"]: spec.get("duties", []) for spec in pack["units"]}
    for spec in pack["units"]:
        if spec["code"] not in units:
            units[spec["code"]] = Unit(code=spec["code"], name_zh=spec["zh"], name_en=spec["en"], type=spec["type"],
                                       parent=units.get(spec["parent"]) if spec.get("parent") else None)
            units[spec["code"]].duty_items = _duties(spec, written, by_code)
            session.add(units[spec["code"]])
    known_grids = set(session.scalars(select(Grid.code)))
    for spec in pack["grids"]:
        if spec["code"] not in known_grids:
            session.add(Grid(code=spec["code"], name_zh=spec["zh"], name_en=spec["en"], unit=units[spec["unit"]],
                             boundary=spec.get("boundary")))
    session.flush()
    grids = {g.code: g for g in session.scalars(select(Grid))}
    known_holders = set(session.scalars(select(FrontageHolder.address)))
    for spec in pack.get("frontage_holders", []):
        if spec["address"] not in known_holders and spec["grid"] in grids:
            letter = spec.get("letter", {})
            session.add(FrontageHolder(
                code=spec.get("code"), name=spec["name"], address=spec["address"], grid=grids[spec["grid"]],
                unit=units.get(spec.get("unit")), contact=spec.get("contact"), lat=spec.get("lat"), lon=spec.get("lon"),
                frontage=spec.get("frontage"), reach_metres=spec.get("reach_metres", 15.0),
                letter_number=letter.get("number"), letter_signer=letter.get("signer"),
                letter_duties=letter.get("duties"), letter_signed_on=_day(letter.get("signed_on")),
                letter_valid_from=_day(letter.get("valid_from")), letter_valid_until=_day(letter.get("valid_until"))))
    _people(session, pack, units, grids)
    _permit_kinds(session, pack.get("permit_kinds", []), units)
    _permits(session, pack.get("permits", []), units)
    _zones(session, pack)
    _inspection_points(session, pack)
    known_templates = set(session.scalars(select(TaskTemplate.code)))
    for spec in pack["templates"]:
        if spec["code"] not in known_templates:
            session.add(TaskTemplate(code=spec["code"], version=1, name_zh=spec["zh"], name_en=spec["en"],
                                     instructions_zh=spec.get("instructions_zh", ""),
                                     instructions_en=spec.get("instructions_en", ""), fields=spec.get("fields", [])))
    session.flush()


def _duties(spec: dict[str, Any], written: dict[str, list[dict[str, Any]]],
            categories: dict[str, Category]) -> list[DutyItem]:
    """A unit's duty list (or, with duties_from, the list of the unit it shares it with) as routing rows; a
    matter the catalogue lacks is logged and left out, never a reason to stop loading."""
    rows, problems = duty_items(written.get(spec.get("duties_from"), spec.get("duties", [])), categories)
    for problem in problems:
        log.error("demo pack, unit %s: %s", spec["code"], problem.en)
    return rows


def _inspection_points(session: Session, pack: dict[str, Any]) -> None:
    """The pack's point types with their departments from the seeds' duty list, a few points in its grids and a few
    checklist items (示例)."""
    known = set(session.scalars(select(InspectionPointType.code)))
    for spec in pack.get("inspection_point_types", []):
        if spec["code"] not in known:
            session.add(InspectionPointType(code=spec["code"], departments=spec["departments"], duty=spec.get("duty"),
                                            source=spec.get("source")))
    session.flush()
    known = set(session.scalars(select(InspectionPoint.code)))
    for spec in pack.get("inspection_points", []):
        if spec["code"] not in known:
            save_point(session, spec)
    types = {t.code: t for t in session.scalars(select(InspectionPointType))}
    known_items = set(session.execute(select(ChecklistItem.type_id, ChecklistItem.code)).tuples())
    for spec in pack.get("checklist_items", []):  # a few items, each marked 示例 with its source
        kind = types[spec["type"]]
        if (kind.id, spec["code"]) not in known_items:
            session.add(ChecklistItem(type=kind, **{k: v for k, v in spec.items() if k != "type"}))
    session.flush()


def _zones(session: Session, pack: dict[str, Any]) -> None:
    """The pack's zones (inside its grids), checked like a drawn zone and published."""
    known = set(session.scalars(select(Zone.name)))
    for spec in pack.get("zones", []):
        if spec["name"] not in known:
            set_active(session, save_zone(session, spec), True)


def _people(session: Session, pack: dict[str, Any], units: dict[str, Unit], grids: dict[str, Grid]) -> None:
    """Named staff for every unit, each grid's 责任人 and 监督员, streets and the units' 包联 leaders."""
    people = {p.code: p for p in session.scalars(select(Person))}
    for spec in pack.get("staff", []):
        if spec["code"] not in people:
            people[spec["code"]] = save_person(session, code=spec["code"], name=spec["name"],
                                               position=spec["position"], unit=units[spec["unit"]],
                                               phone=spec["phone"])
    for spec in pack["grids"]:
        grid = grids[spec["code"]]
        if grid.responsible_id is None and grid.collector_id is None:
            assign_grid(session, grid, people.get(spec.get("responsible")), people.get(spec.get("collector")))
    for spec in pack["units"]:
        if spec.get("liaison") and units[spec["code"]].liaison_id is None:
            units[spec["code"]].liaison_id = people[spec["liaison"]].id
    known_streets = set(session.scalars(select(Street.code)))
    for spec in pack.get("streets", []):
        if spec["code"] not in known_streets:
            session.add(Street(code=spec["code"], name_zh=spec["zh"], name_en=spec["en"], unit=units[spec["unit"]],
                               responsible=people.get(spec.get("responsible"))))
    session.flush()


def _permit_kinds(session: Session, specs: list[dict[str, Any]], units: dict[str, Unit]) -> None:
    """Who approves, reviews and files each kind as seed 001's duty lists say; an administrator's settings stay."""
    known = set(session.scalars(select(PermitKind.kind)))
    for spec in specs:
        if spec["kind"] not in known:
            save_permit_kind(session, spec["kind"], units.get(spec.get("approver")), units.get(spec.get("reviewer")),
                             bool(spec.get("filing_required")))


def _permits(session: Session, specs: list[dict[str, Any]], units: dict[str, Unit]) -> None:
    """A few permits inside the demo's grids (审批/备案), so ZT3, ZT5, SM5 and SM6 can be seen not to fire there."""
    known = set(session.scalars(select(Permit.number)))
    for spec in specs:
        if spec["number"] in known:
            continue
        place, site = spec["place"], spec.get("site") or {}
        save_permit(session, PermitInput(
            number=spec["number"], kind=spec["kind"], holder_name=spec["holder"],
            holder_contact=spec.get("contact", ""),
            lat=place.get("lat"), lon=place.get("lon"), radius_m=place.get("radius_m"),
            polygon=json.dumps(place["polygon"]) if "polygon" in place else "",
            site_lat=site.get("lat"), site_lon=site.get("lon"), site_radius_m=site.get("radius_m"),
            starts_at=_instant(spec["starts_at"]), ends_at=_instant(spec["ends_at"]), status=spec["status"],
            approved_by=units.get(spec["approved_by"]),
            filed_on=date.fromisoformat(spec["filed_on"]) if spec.get("filed_on") else None,
            filing_reference=spec.get("filing_reference", ""), declared_by=units.get(spec.get("declared_by")),
            reviewed_by=units.get(spec.get("reviewed_by"))))


def _roster(session: Session, spec: dict[str, Any], tz: str) -> None:
    """From this week's Monday, each unit's staff take the day and night shifts in turn; its first
    person (the most senior) holds statutory holidays. Each of them gets an e-mail channel of their own, a
    placeholder (.invalid) left disabled: the demo sends nowhere real until an administrator enters an address."""
    if not spec:
        return
    today = clock.now().astimezone(ZoneInfo(tz)).date()
    monday = today - timedelta(days=today.weekday())
    for unit in units_on_call(session):
        staff = list(session.scalars(select(Person.id).where(Person.unit_id == unit.id, Person.active.is_(True))
                                     .order_by(Person.code)))
        save_week(session, WeekPattern(
            unit_id=unit.id, monday=monday, weeks=spec.get("weeks", 1),
            day=[staff[i % len(staff)] for i in range(7)], night=[staff[(i + 1) % len(staff)] for i in range(7)],
            holiday=staff[0], day_starts=time.fromisoformat(spec.get("day_starts", "08:00")),
            night_starts=time.fromisoformat(spec.get("night_starts", "18:00"))), tz)
    for person in session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.code)):
        session.add(Recipient(name=f"{person.name} 值班 / on duty", scope="person", person_id=person.id,
                              channel="email", address=f"duty-{person.code.lower()}@civicrules.invalid",
                              language="zh", enabled=False))
    session.flush()
