"""The demo's six zero-tolerance and ten strict-management items agree with the seed's sub-district duties ① and ②
(issue 14, point 4): the sub-district takes them, the departments the duty lists name cooperate, and 占道经营 is
a routine duty (③), not a zero-tolerance item."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.cases.routing import route
from engine.core import clock
from engine.authoring.replay import _side_facts, changed_categories
from engine.authoring.versions import ruleset_context
from engine.core.models import Campaign, Category, Event, FilingCondition, Grid, ListItem, OutboxMessage, RuleList
from engine.intake.events import IntakeSource, accept_event
from rules.facts import complete
from rules.packs import load_pack
from rules.problems import InputError
from tests.helpers import event, local_time, zone_spot

PATROL = IntakeSource("demo-list-tests", "patrol")


def store(factory, *payloads) -> list[int]:
    with factory() as s:
        ids = [accept_event(s, p, PATROL)[0].id for p in payloads]
        s.commit()
    return ids


def tasks_by_unit(e: Event) -> dict[str, str]:
    return {t.unit.code: t.rule_key for t in e.tasks}


def fired(e: Event) -> set[str]:
    return {f.rule_key for f in e.firings}


#: The demo campaign's code: files before may leave other campaigns whose lists have the same item keys.
DEMO = load_pack("demo")["campaign"]["code"]


def demo_row(session, key: str) -> ListItem:
    return session.scalar(select(ListItem).join(RuleList).join(Campaign, Campaign.id == RuleList.campaign_id)
                          .where(Campaign.code == DEMO, ListItem.key == key,
                                 RuleList.kind.in_(["zero_tolerance", "strict_management"])))


def test_road_occupying_trade_is_a_routine_sub_district_duty_and_fires_no_zero_tolerance(factory, drain, session):
    day, night = store(factory, event("09006", "DC-02", hour=10), event("09006", "XC-01", hour=23))
    drain()
    by_day, at_night = session.get(Event, day), session.get(Event, night)
    assert by_day.firings == [] and tasks_by_unit(by_day) == {"JD-DC": "routine"}
    assert by_day.points == 0 and by_day.case.lead_unit.code == "JD-DC"
    # at night the demo's night-patrol rule adds the squad's task; still no ZT3, no points
    assert "zero_tolerance.zt3" not in fired(at_night) and at_night.points == 0
    assert tasks_by_unit(at_night) == {"JD-XC": "routine", "ZD-XC": "night-street-order"}
    assert "09006" not in demo_row(session, "ZT3").categories


def test_only_an_unapproved_temporary_market_fires_zt3(factory, drain, session):
    unapproved, overstaying = store(factory, event("09002", "DC-04", hour=10, filing_condition="unapproved"),
                                    event("09002", "DC-04", hour=10))  # default: an approved market out of hours
    drain()
    e = session.get(Event, unapproved)
    assert fired(e) == {"zero_tolerance.zt3"} and tasks_by_unit(e) == {"JD-DC": "zero_tolerance.zt3"}
    market = session.get(Event, overstaying)  # duty ⑤, 早夜市管理: a routine case for the sub-district
    assert market.firings == [] and tasks_by_unit(market) == {"JD-DC": "routine"} and market.points == 0


def test_garbage_left_two_days_fires_sm7_for_the_sub_district_with_sanitation_cooperating(factory, drain, session):
    left, plain = store(factory, event("06011", "NC-02", hour=10, filing_condition="over_2_days",
                                       location=zone_spot("NC-02", 0)),
                        event("06011", "NC-02", hour=10, location=zone_spot("NC-02", 5)))
    drain()
    e = session.get(Event, left)
    assert fired(e) == {"strict_management.sm7"}  # not ZT5: garbage left in an estate is not dumped muck
    assert tasks_by_unit(e) == {"JD-NC": "strict_management.sm7", "HWZX": "routine"}
    sm7 = next(t for t in e.tasks if t.unit.code == "JD-NC")
    assert (sm7.limit_value, sm7.limit_unit) == (1, "working_days")  # the filing condition 积存2日以上's limit
    assert e.points == demo_row(session, "SM7").points and e.case.lead_unit.code == "JD-NC"
    assert e.case.filing_condition == "over_2_days"

    other = session.get(Event, plain)  # under two days, ordinary garbage: on neither list (not ZT5 either)
    assert fired(other) == set() and other.points == 0
    assert tasks_by_unit(other) == {"JD-NC": "routine", "HWZX": "routine"}


def test_only_construction_waste_dumped_fires_zt5_not_garbage_spillage_or_an_open_truck(factory, drain, session):
    """Seed 001, ZT5: 未经城管局审批偷排或已审批没排放到指定地点建筑垃圾: dumped construction waste, nothing milder."""
    dumped, garbage, spilt, truck = store(
        factory, event("06011", "DC-01", hour=10, filing_condition="construction_waste"),
        event("06011", "DC-01", hour=10), event("06014", "DC-01", hour=10), event("08011", "DC-01", hour=10))
    drain()
    e = session.get(Event, dumped)
    assert fired(e) == {"zero_tolerance.zt5"} and tasks_by_unit(e) == {"JD-DC": "zero_tolerance.zt5", "HWZX": "routine"}
    zt5 = next(t for t in e.tasks if t.unit.code == "JD-DC")
    assert (zt5.limit_value, zt5.limit_unit) == (1, "working_days") and e.points == demo_row(session, "ZT5").points
    for milder in (garbage, spilt, truck):
        other = session.get(Event, milder)
        assert fired(other) == set() and other.points == 0, other.category.code
        assert {t.list_kind for t in other.tasks} <= {"routine"}, other.category.code
    assert demo_row(session, "ZT5").categories == ["06011", "08005"]


def test_only_building_materials_stacked_or_sold_fire_zt2_not_any_sundries(factory, drain, session):
    """Seed 001, ZT2: 占用公共空间堆放或销售砂石、水泥等建筑原料; 乱堆杂物 of any other kind is routine."""
    materials, sundries, site_materials = store(
        factory, event("06036", "DC-02", hour=10, filing_condition="building_materials"),
        event("06036", "DC-02", hour=10), event("08006", "DC-02", hour=10))
    drain()
    assert fired(session.get(Event, materials)) == {"zero_tolerance.zt2"}
    assert tasks_by_unit(session.get(Event, materials)) == {"JD-DC": "zero_tolerance.zt2"}
    other = session.get(Event, sundries)
    assert fired(other) == set() and tasks_by_unit(other) == {"JD-DC": "routine"} and other.points == 0
    assert fired(session.get(Event, site_materials)) == {"zero_tolerance.zt2"}  # 施工物料乱堆放 stays on ZT2
    condition = session.scalar(select(FilingCondition).join(Category).where(
        Category.code == "06036", FilingCondition.code == "building_materials"))
    assert condition.name_zh == "占用公共空间堆放或销售砂石、水泥等建筑原料" and condition.closing_zh


def test_a_broken_shared_bike_is_not_disorderly_parking_and_fires_no_sm2(factory, drain, session):
    broken, parked = store(factory, event("09011", "XC-01", hour=10, filing_condition="broken"),
                           event("09011", "XC-01", hour=10))
    drain()
    e = session.get(Event, broken)
    assert fired(e) == set() and tasks_by_unit(e) == {"JD-XC": "routine"} and e.points == 0
    assert fired(session.get(Event, parked)) == {"strict_management.sm2"}  # parked outside the zone: 乱停乱放


def test_exposed_garbage_left_two_days_adds_the_sub_districts_sm7_task_to_sanitations_own(factory, drain, session):
    [event_id] = store(factory, event("06010", "DC-03", hour=9, filing_condition="over_2_days",
                                      location=zone_spot("DC-03")))
    drain()
    e = session.get(Event, event_id)
    assert fired(e) == {"strict_management.sm7"}
    assert tasks_by_unit(e) == {"JD-DC": "strict_management.sm7", "HWZX": "routine"}  # HWZX leads 06010


def test_sm7_requires_the_filing_condition_and_every_category_it_names_has_it(session):
    row = demo_row(session, "SM7")
    assert row.assign == "grid_unit"
    assert {"fact": "filing_condition", "op": "eq", "value": "over_2_days"} in row.conditions
    assert {"fact": "in_zone", "op": "has", "value": "residential"} in row.conditions  # 居住区: on the zone map
    for code in row.categories:
        condition = session.scalar(select(FilingCondition).join(Category).where(
            Category.code == code, FilingCondition.code == "over_2_days"))
        assert condition is not None, code
        assert condition.name_zh == "居住区积存2日以上" and condition.closing_zh and condition.limit_value > 0


def test_the_filing_condition_belongs_only_to_the_garbage_categories(factory):
    with factory() as s:
        try:
            accept_event(s, event("06029", "DC-01", hour=10, filing_condition="over_2_days"), PATROL)
        except InputError as err:
            assert [p.where for p in err.problems] == ["filing_condition"]
        else:
            raise AssertionError("a barbecue has no filing condition 积存2日以上")
        s.rollback()


def test_freight_distribution_goes_to_the_sub_district_with_the_transport_bureau_cooperating(factory, drain, session):
    [event_id] = store(factory, event("L0001", "XC-03", hour=11, location=zone_spot("XC-03")))
    drain()
    e = session.get(Event, event_id)
    assert fired(e) == {"zero_tolerance.zt6"}
    assert tasks_by_unit(e) == {"JD-XC": "zero_tolerance.zt6", "JTJ": "routine"}
    assert e.case.lead_unit.code == "JD-XC" and e.points == demo_row(session, "ZT6").points


def test_night_construction_fires_sm4_for_the_sub_district_not_a_squad(factory, drain, session):
    [event_id] = store(factory, event("08001", "NC-03", hour=23))
    drain()
    e = session.get(Event, event_id)
    assert fired(e) == {"strict_management.sm4"}
    assert tasks_by_unit(e) == {"JD-NC": "strict_management.sm4"}  # the rule's task wins over the routine one
    assert e.points == demo_row(session, "SM4").points


def test_sanitation_cooperates_on_dumped_waste_and_spillage_in_every_sub_district(session):
    for code in ("06011", "06014"):
        for grid, unit in (("DC-01", "JD-DC"), ("XC-02", "JD-XC"), ("NC-04", "JD-NC")):
            grid_id = session.scalar(select(Grid.id).where(Grid.code == grid))
            category_id = session.scalar(select(Category.id).where(Category.code == code))
            routing = route(session, category_id, grid_id)
            assert (routing.lead.code, [u.code for u in routing.cooperating]) == (unit, ["HWZX"]), (code, grid)


def test_list_titles_carry_the_seeds_wording_in_both_languages(session):
    # the demo campaign's own lists: files before may leave campaigns with lists of their own
    rows = session.scalars(select(ListItem).join(RuleList).join(Campaign, Campaign.id == RuleList.campaign_id).where(
        Campaign.code == DEMO, RuleList.kind.in_(["zero_tolerance", "strict_management"]))).all()
    assert len(rows) == 16 and all(r.title_zh and r.title_en for r in rows)
    titles = {r.key: r.title_zh for r in rows}
    assert "店内烧烤外延" in titles["ZT4"] and "骑窗烧烤" in titles["ZT4"]
    assert titles["ZT3"] == "未经区城管委审批占用公共空间设立临时市场"
    assert titles["SM7"] == "居住区积存垃圾2日以上" and titles["SM4"] == "夜间工地施工扰民"
    basis = {r.key: r.legal_basis for r in rows}
    assert basis["ZT1"] == "《城乡规划法》第六十四条" and basis["ZT4"] == "《大气污染防治法》第一百一十八条"
    assert basis["SM4"] == "《噪声污染防治法》第七十七条"
    assert {r.key for r in rows if r.assign != "grid_unit"} == set()  # every item is the sub-district's (①, ②)


def tier_3_alerted(session, event_id: int) -> bool:
    """Whether the bureau's tier 3 got the demo's 测评期内零容忍问题报局督查 about the report."""
    return bool(session.scalars(select(OutboxMessage).where(
        OutboxMessage.event_id == event_id, OutboxMessage.kind == "notify", OutboxMessage.target == "tier:3")).all())


def test_during_the_inspection_only_a_report_a_zero_tolerance_row_matches_alerts_the_bureau(factory, drain, session):
    """The fact `zero_tolerance` is 命中零容忍清单某一条, not "its category is named by a row": ordinary garbage
    (06011), plain sundries (06036) and an approved market (09002) by default are on no list, so the bureau's
    tier 3 is not alerted about them during the inspection; dumped construction waste (ZT5) and building
    materials (ZT2) are, and nothing is outside the window."""
    now = clock.now()
    with factory() as s:
        campaign = s.scalar(select(Campaign).where(Campaign.code == DEMO))
        campaign.inspection_starts_at, campaign.inspection_ends_at = now - timedelta(days=3), now + timedelta(days=3)
        demo = str(campaign.id)
        s.commit()
    garbage, waste, market, sundries, materials, waste_before = store(
        factory, event("06011", "DC-01", hour=10),
        event("06011", "DC-02", hour=10, filing_condition="construction_waste"),
        event("09002", "DC-04", hour=10), event("06036", "XC-01", hour=10),
        event("06036", "XC-02", hour=10, filing_condition="building_materials"),
        event("06011", "NC-01", hour=10, filing_condition="construction_waste", occurred_at=local_time(10, 5)))
    drain()
    for quiet in (garbage, market, sundries):
        e = session.get(Event, quiet)
        assert e.facts[demo]["in_inspection_window"] is True and e.facts[demo]["zero_tolerance"] is False
        assert not tier_3_alerted(session, quiet) and "inspection-window-alert" not in fired(e), e.category.code
    for listed in (waste, materials):
        e = session.get(Event, listed)
        assert tier_3_alerted(session, listed) and "inspection-window-alert" in fired(e), e.category.code
    before = session.get(Event, waste_before)  # the same dumped waste, two days before the inspection began
    assert fired(before) == {"zero_tolerance.zt5"} and not tier_3_alerted(session, waste_before)


def test_replay_gives_each_side_the_list_facts_its_own_rows_give(session):
    """Replay recomputes `zero_tolerance` per side from the stored facts: garbage stored with the flag set (as
    before the flag read the rows' conditions) is not zero tolerance under the active ZT5, and is under a
    draft whose ZT5 takes any 06011; only the categories ZT5 names are replayed again."""
    campaign = session.scalar(select(Campaign).where(Campaign.code == DEMO))
    stored = complete({"category": "06011", "in_inspection_window": True, "at_designated_site": False,
                       "zero_tolerance": True, "strict_management": False})
    active = ruleset_context(session, campaign, "active")
    assert _side_facts(stored, active)["zero_tolerance"] is False
    assert _side_facts({**stored, "filing_condition": "construction_waste"}, active)["zero_tolerance"] is True
    demo_row(session, "ZT5").conditions = []
    session.flush()
    draft = ruleset_context(session, campaign, "draft")
    assert _side_facts(stored, draft)["zero_tolerance"] is True
    assert changed_categories(active, draft, ["06011", "08005", "06029", "06036"]) == {"06011", "08005"}
