"""三级督查 as inspection (issue 15 point 3): findings become cases with the tier and inspector of the account;
only a body above the unit costs it inspection points; a finding without a required location writes nothing;
a photo's EXIF position stands in for the phone's; coverage counts the grids each tier went through."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.assessment.indicators import for_period, period_containing
from engine.core import clock
from engine.core.models import Campaign, Event, Evidence, InspectionFinding, InspectionPlan, Unit
from engine.supervision import coverage, inspection
from rules.problems import InputError
from tests.helpers import SHANGHAI, act, jpeg, user

#: A Wednesday afternoon inside the demo campaign: the barbecue row (ZT4) costs 6 points per inspection finding.
NOON = datetime(2026, 12, 2, 14, 0, tzinfo=SHANGHAI)
#: Inside grid DC-01 of the demo pack.
DC01 = (35.025, 110.995)
#: Inside grid DC-02, about a kilometre away: a separate problem, not a report joining DC-01's case.
DC02 = (35.025, 111.005)


@pytest.fixture(autouse=True)
def afternoon():
    clock.set_clock(lambda: NOON)


def plan(session, code: str) -> InspectionPlan:
    return session.scalar(select(InspectionPlan).where(InspectionPlan.code == code))


def find(session, settings, username: str, plan_code: str, **extra) -> InspectionFinding:
    inspector = user(session, username)
    round_ = inspection.start_round(session, inspector, plan(session, plan_code))
    values = {"category": "06029", "description": "人行道上露天烧烤", "photos": [inspection.Photo("a.jpg", jpeg())],
              "position": inspection.Position(*DC01, "gps")}
    values.update(extra)
    finding = inspection.record_finding(session, round_, inspector, values["category"], values["description"],
                                        values["photos"], values["position"], settings.evidence.dir,
                                        settings.evidence.max_bytes)
    inspection.end_round(session, round_, inspector)
    session.commit()
    return finding


def counts(session) -> tuple[int, int, int]:
    return (session.scalar(select(func.count(Event.id))), session.scalar(select(func.count(InspectionFinding.id))),
            session.scalar(select(func.count(Evidence.id))))


def test_a_finding_becomes_a_case_with_the_tier_and_inspector_of_the_account(session, settings, drain):
    finding = find(session, settings, "supervisor", "DCZD-TARGETED")
    drain()
    session.expire_all()
    event = session.get(Event, finding.event_id)
    assert (event.source_type, event.inspection_tier, event.inspector_id) == ("inspection", 2,
                                                                              user(session, "supervisor").id)
    assert event.case is not None and event.case.stage in ("dispatched", "filed")
    assert [t.unit.code for t in event.tasks] == ["JD-DC"]
    assert finding.location_source == "gps" and len(finding.photos) == 1
    assert finding.round.track[-1]["grid"] == "DC-01"


def test_only_a_body_above_the_unit_costs_inspection_points(session, settings, drain):
    """A tier-1 (中队内部) finding about the squad's own grid files a case but costs nothing; a tier-2 one costs
    the row's inspection points (ZT4: 6)."""
    own = find(session, settings, "squad_lead", "ZD-DC-DAILY")
    above = find(session, settings, "supervisor", "DCZD-TARGETED", position=inspection.Position(*DC02, "pin"))
    drain()
    session.expire_all()
    for finding in (own, above):
        task = session.get(Event, finding.event_id).tasks[0]
        act(session, task, "sign", "dongcheng")
    campaign = session.scalar(select(Campaign))
    week = period_containing("week", NOON, campaign.timezone)
    unit = session.scalar(select(Unit).where(Unit.code == "JD-DC"))
    ind = for_period(session, campaign, week, NOON + timedelta(hours=2))[unit.id]
    assert ind.inspection_findings == 2
    assert ind.findings_by_tier == {1: 1, 2: 1}
    assert ind.points_by.get("inspection") == 6


def test_a_finding_without_the_location_its_plan_requires_writes_nothing(session, settings):
    before = counts(session)
    with pytest.raises(InputError) as refused:
        find(session, settings, "supervisor", "DCZD-TARGETED", position=None)
    session.rollback()
    problems = {p.where: p for p in refused.value.problems}
    assert "location" in problems and "HTTPS" in problems["location"].en and "定位" in problems["location"].zh
    assert counts(session) == before


def test_a_file_that_is_no_photo_is_named_by_its_file_name_and_writes_nothing(session, settings):
    before = counts(session)
    with pytest.raises(InputError) as refused:
        find(session, settings, "supervisor", "DCZD-TARGETED",
             photos=[inspection.Photo("a.jpg", jpeg()), inspection.Photo("scan.jpg", b"not a photo")])
    session.rollback()
    [en], [zh] = refused.value.by_field("en")["photos"], refused.value.by_field("zh")["photos"]
    assert en.startswith("scan.jpg: ") and zh.startswith("scan.jpg：")
    assert counts(session) == before


def test_a_photo_s_exif_position_stands_in_for_the_phone_s(session, settings, drain):
    finding = find(session, settings, "supervisor", "DCZD-TARGETED", position=None,
                   photos=[inspection.Photo("gps.jpg", jpeg(NOON, gps=DC01))])
    drain()
    session.expire_all()
    event = session.get(Event, finding.event_id)
    assert finding.location_source == "exif"
    assert event.lat == pytest.approx(DC01[0], abs=1e-4) and event.grid.code == "DC-01"


def test_a_plan_of_another_tier_and_a_second_open_round_are_refused(session):
    squad = user(session, "squad_lead")
    with pytest.raises(InputError):
        inspection.start_round(session, squad, plan(session, "DCZD-TARGETED"))
    inspection.start_round(session, squad, plan(session, "ZD-DC-DAILY"))
    with pytest.raises(InputError):
        inspection.start_round(session, squad, plan(session, "ZD-XC-DAILY"))


def test_coverage_names_the_grids_each_tier_inspected(session, settings):
    find(session, settings, "squad_lead", "ZD-DC-DAILY")
    campaign = session.scalar(select(Campaign))
    week = period_containing("week", NOON, campaign.timezone)
    found = coverage.weekly(session, campaign.id, week.start, week.end, campaign.timezone)
    grids = {g.code: g for g in found.grids}
    assert grids["DC-01"].days[1] == {NOON.date()} and grids["DC-01"].findings[1] == 1
    assert not grids["DC-02"].inspected and 1 in grids["DC-02"].planned
    assert found.rounds[1] == 1 and found.findings[1] == 1


def test_the_bureau_leaders_special_round_takes_road_occupying_trade_and_refuses_illegal_buildings(session, settings):
    """JLD-SPECIAL is 占道经营与露天烧烤: 09006 is its topic, 06001 私搭乱建 is not."""
    assert plan(session, "JLD-SPECIAL").scope["categories"] == ["06029", "09006"]
    trade = find(session, settings, "bureau_lead", "JLD-SPECIAL", category="09006", description="人行道上占道经营")
    assert session.get(Event, trade.event_id).category.code == "09006"
    before = counts(session)
    with pytest.raises(InputError) as refused:
        find(session, settings, "bureau_lead", "JLD-SPECIAL", category="06001", description="新建违法建筑")
    session.rollback()
    assert [(p.where, p.zh) for p in refused.value.problems] == [("category", "该问题类别不在本督查计划的专项范围内")]
    assert counts(session) == before


def test_every_squad_has_its_own_full_inspection_plan_over_all_its_grids(session):
    """Seed 002's 中队内部全面督查 is every 中队's: each squad's tier-1 plan covers its sub-district's grids, daily."""
    from engine.core.models import Grid
    squads = session.scalars(select(Unit).where(Unit.type == "squad").order_by(Unit.code)).all()
    plans = session.scalars(select(InspectionPlan).where(InspectionPlan.tier_level == 1)).all()
    assert len(squads) == 8
    for squad in squads:
        grids = set(session.scalars(select(Grid.code).where(Grid.unit_id == squad.parent_id)))
        [own] = [p for p in plans if set(p.scope.get("grids", [])) == grids]
        assert own.frequency == "daily" and squad.name_zh[:2] in own.name_zh, squad.code


def test_each_squads_full_plan_lists_every_street_of_its_sub_district_on_the_coverage_page(session):
    """和平路 and 学府路 are 东城's streets: the squad's 全面督查 offers them and plans them at tier 1 like its others."""
    from engine.core.models import Street
    campaign = session.scalar(select(Campaign))
    week = period_containing("week", NOON, campaign.timezone)
    found = coverage.weekly(session, campaign.id, week.start, week.end, campaign.timezone)
    planned = {s.code: s.planned for s in found.streets}
    for code in ("ZD-DC-DAILY", "ZD-XC-DAILY", "ZD-NC-DAILY"):
        squad = session.scalar(select(Unit).where(Unit.code == code.removesuffix("-DAILY")))
        streets = set(session.scalars(select(Street.code).where(Street.unit_id == squad.parent_id)))
        assert len(streets) >= 3 and set(plan(session, code).scope["streets"]) == streets, code
        assert all(1 in planned[s] for s in streets), f"every street of {code} is planned at tier 1"
