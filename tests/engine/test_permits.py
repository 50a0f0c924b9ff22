"""The permits register (issue 16, point 1) through the real pipeline: a report at a place with a valid permit of
the right kind does not fire the list's "unapproved" item, and is still a routine case; once the permit's period
is over, or away from its place, the item fires. Bad permits are refused by field with nothing written."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from engine.core import clock
from engine.core.models import Event, Permit, PermitKind, Unit
from engine.intake.events import IntakeSource, accept_event
from engine.space.permits import PERMIT_INDEX, PermitInput, place_facts, save_permit, save_permit_kind
from rules.problems import InputError
from tests.helpers import event

PATROL = IntakeSource("permit-tests", "patrol")
NOW = datetime(2026, 10, 15, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai
MARKET = (35.0253, 111.0055)  # in grid DC-02, away from the demo's own permits


@pytest.fixture(autouse=True)
def fresh_index():
    PERMIT_INDEX.clear()  # the test's permits roll back with it; the index must not outlive them
    clock.set_clock(lambda: NOW)
    yield
    PERMIT_INDEX.clear()


def unit(session, code: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.code == code))


def market_permit(session, **changes) -> Permit:
    values = dict(number="CGW-TEST-001", kind="temporary_market", holder_name="锦园早市", lat=MARKET[0],
                  lon=MARKET[1], radius_m=60.0, starts_at=NOW - timedelta(days=10), ends_at=NOW + timedelta(days=10),
                  status="valid", approved_by=unit(session, "CGW"))
    return save_permit(session, PermitInput(**{**values, **changes}))


def report(factory, category: str, grid: str, lat: float, lon: float, **extra) -> int:
    with factory() as s:
        created = accept_event(s, event(category, grid, hour=10, location={"lat": lat, "lon": lon}, **extra), PATROL)
        s.commit()
        return created[0].id


def fired(e: Event) -> set[str]:
    return {f.rule_key for f in e.firings}


def tasks_by_unit(e: Event) -> dict[str, str]:
    return {t.unit.code: t.rule_key for t in e.tasks}


def test_a_market_with_a_valid_permit_fires_no_zt3_and_is_a_routine_case_until_its_period_ends(factory, drain,
                                                                                            session):
    with factory() as s:
        market_permit(s)
        s.commit()
    during = report(factory, "09002", "DC-02", *MARKET, filing_condition="unapproved")
    drain()
    e = session.get(Event, during)
    assert "zero_tolerance.zt3" not in fired(e) and e.points == 0
    assert tasks_by_unit(e) == {"JD-DC": "routine"} and e.case.lead_unit.code == "JD-DC"

    clock.set_clock(lambda: NOW + timedelta(days=12))  # the report of the next day lies after the period
    after = report(factory, "09002", "DC-02", *MARKET, filing_condition="unapproved")
    drain()
    e = session.get(Event, after)
    assert fired(e) == {"zero_tolerance.zt3"} and tasks_by_unit(e) == {"JD-DC": "zero_tolerance.zt3"}
    assert e.points > 0


def test_only_the_permits_place_kind_and_status_count(factory, drain, session):
    with factory() as s:
        market_permit(s)
        market_permit(s, number="CGW-TEST-002", lat=35.0240, lon=111.0030, status="revoked")
        s.commit()
    away = report(factory, "09002", "DC-02", 35.0240, 111.0030, filing_condition="unapproved")  # revoked there
    outside = report(factory, "09002", "DC-02", MARKET[0] + 0.001, MARKET[1], filing_condition="unapproved")  # 111 m
    ad = report(factory, "09022", "DC-02", *MARKET)  # a market permit does not approve street promotion
    drain()
    assert "zero_tolerance.zt3" in fired(session.get(Event, away))
    assert "zero_tolerance.zt3" in fired(session.get(Event, outside))
    assert "strict_management.sm5" in fired(session.get(Event, ad))


def test_construction_waste_fires_zt5_unless_at_the_approved_site_or_the_designated_site(factory, drain, session):
    site = (35.0265, 111.0040)
    with factory() as s:
        save_permit(s, PermitInput(
            number="CGJ-TEST-ZT", kind="construction_waste", holder_name="测试工地",
            polygon=json.dumps({"type": "Polygon", "coordinates": [[[111.0060, 35.0230], [111.0075, 35.0230],
                                                                    [111.0075, 35.0240], [111.0060, 35.0240],
                                                                    [111.0060, 35.0230]]]}),
            site_lat=site[0], site_lon=site[1], site_radius_m=80.0, starts_at=NOW - timedelta(days=30),
            ends_at=NOW + timedelta(days=30), status="valid", approved_by=unit(s, "CGJ"),
            filed_on=(NOW - timedelta(days=29)).date(), filing_reference="城管委备〔2026〕TEST号"))
        s.commit()
    at_site = report(factory, "08005", "DC-02", *site)
    on_works = report(factory, "08005", "DC-02", 35.0235, 111.0067)
    dumped = report(factory, "08005", "DC-02", 35.0250, 111.0020)
    drain()
    with factory() as s:
        facts = place_facts(s, [s.get(Event, at_site), s.get(Event, on_works), s.get(Event, dumped)])
    assert facts[at_site].at_designated_site and facts[on_works].permits_valid == ["construction_waste"]
    assert "zero_tolerance.zt5" not in fired(session.get(Event, at_site))
    assert "zero_tolerance.zt5" not in fired(session.get(Event, on_works))
    assert "zero_tolerance.zt5" in fired(session.get(Event, dumped))


def test_the_demos_permits_lie_in_its_grids_and_keep_sm6_silent_at_the_recycling_site(factory, drain, session):
    assert session.scalar(select(func.count(Permit.id))) >= 4
    at_site = report(factory, "09004", "XC-04", 35.0355, 111.0235)
    elsewhere = report(factory, "09004", "XC-04", 35.0330, 111.0200)
    drain()
    assert "strict_management.sm6" not in fired(session.get(Event, at_site))
    assert tasks_by_unit(session.get(Event, at_site)) == {"JD-XC": "routine"}
    assert "strict_management.sm6" in fired(session.get(Event, elsewhere))


@pytest.mark.parametrize("changes, field", [
    ({"ends_at": NOW - timedelta(days=20)}, "ends_at"),  # the period ends before it starts
    ({"lat": None, "lon": None}, "place"),
    ({"kind": "fireworks"}, "kind"),
    ({"polygon": json.dumps({"type": "Polygon", "coordinates": [[[111.0, 35.0], [111.01, 35.01], [111.01, 35.0],
                                                                 [111.0, 35.01], [111.0, 35.0]]]})}, "polygon"),
    ({"site_lat": 35.02, "site_lon": 111.0, "site_radius_m": 50.0}, "site"),  # only construction waste has one
])
def test_a_bad_permit_is_refused_by_field_and_nothing_is_written(session, changes, field):
    before = session.scalar(select(func.count(Permit.id)))
    with pytest.raises(InputError) as refused:
        market_permit(session, **changes)
    assert field in [p.where for p in refused.value.problems]
    assert all(p.zh and p.en for p in refused.value.problems)
    assert session.scalar(select(func.count(Permit.id))) == before


@pytest.mark.commits  # the command writes through its own connection
def test_the_cli_imports_all_rows_or_none(factory, tmp_path):
    from click.testing import CliRunner

    from app.cli import main

    header = "审批编号,种类,持证人,纬度,经度,半径（米）,开始时间,结束时间,审批单位\n"
    good = "CLI-P-1,夜间施工,测试工地,35.0445,111.0155,50,2026-10-01 22:00,2026-10-31 06:00,CGJ\n"
    bad = "CLI-P-2,夜间施工,测试工地,35.0445,111.0155,50,2026-10-31 22:00,2026-10-01 06:00,CGJ\n"
    refused, stored = tmp_path / "refused.csv", tmp_path / "stored.csv"
    refused.write_text(header + good + bad, encoding="utf-8")
    stored.write_text(header + good, encoding="utf-8")
    try:
        result = CliRunner().invoke(main, ["permits", "import", str(refused)])
        assert result.exit_code != 0 and "row 3 / 第 3 行: ends_at: the period ends before it starts" in result.output
        with factory() as s:
            assert s.scalar(select(func.count(Permit.id)).where(Permit.number.like("CLI-P-%"))) == 0
        result = CliRunner().invoke(main, ["permits", "import", str(stored)])
        assert result.exit_code == 0 and "1 created, 0 updated, 0 unchanged" in result.output, result.output
        with factory() as s:
            permit = s.scalar(select(Permit).where(Permit.number == "CLI-P-1"))
            assert permit.kind == "night_works" and permit.starts_at.isoformat() == "2026-10-01T14:00:00+00:00"
    finally:
        with factory() as s:
            for permit in s.scalars(select(Permit).where(Permit.number.like("CLI-P-%"))):
                s.delete(permit)
            s.commit()


def test_a_market_permit_from_another_unit_than_the_committee_is_refused_and_does_not_keep_zt3_silent(
        factory, drain, session):
    """Seed 001: 未经区城管委审批占用公共空间设立临时市场 — the bureau's approval of a market is not the committee's."""
    with pytest.raises(InputError) as refused:
        market_permit(session, approved_by=unit(session, "CGJ"))
    problem = next(p for p in refused.value.problems if p.where == "approved_by")
    assert "须由城乡综合管理委员会审批，城市管理综合执法局无权审批" in problem.zh
    assert "approved by Urban-Rural Management Committee alone, not by Urban Management Bureau" in problem.en

    with factory() as s:  # a bureau's market permit entered while no approver was named counts then...
        market = s.scalar(select(PermitKind).where(PermitKind.kind == "temporary_market"))
        save_permit_kind(s, "temporary_market", None, market.reviewer, False, market)
        market_permit(s, approved_by=unit(s, "CGJ"))
        s.commit()
    counted = report(factory, "09002", "DC-02", *MARKET, filing_condition="unapproved")
    drain()
    assert "zero_tolerance.zt3" not in fired(session.get(Event, counted))

    with factory() as s:  # ...and not once the committee is its approver again: the market is unapproved
        market = s.scalar(select(PermitKind).where(PermitKind.kind == "temporary_market"))
        save_permit_kind(s, "temporary_market", unit(s, "CGW"), market.reviewer, False, market)
        s.commit()
    clock.set_clock(lambda: NOW + timedelta(days=4))  # past the 3 days a case links reports, within the period
    unapproved = report(factory, "09002", "DC-02", *MARKET, filing_condition="unapproved")
    drain()
    e = session.get(Event, unapproved)
    assert fired(e) == {"zero_tolerance.zt3"} and tasks_by_unit(e) == {"JD-DC": "zero_tolerance.zt3"}
    assert e.points > 0
    with factory() as s:
        assert place_facts(s, [s.get(Event, unapproved)])[unapproved].permits_valid == []


def test_the_bureaus_approval_needs_its_written_filing_and_a_market_its_review_by_the_bureau(session):
    """Seed 001 duty ⑩: 区综合执法局在受理并批准相关申请后,要上报区城管委办公室并进行书面备案; duty ⑨: the
    bureau reviews (审定) what a sub-district declares, for the committee's approval."""
    ad = dict(number="CGJ-TEST-GG", kind="outdoor_ad", holder_name="测试商演台", lat=MARKET[0], lon=MARKET[1],
              radius_m=30.0, starts_at=NOW, ends_at=NOW + timedelta(days=5), status="valid",
              approved_by=unit(session, "CGJ"))
    with pytest.raises(InputError) as refused:
        save_permit(session, PermitInput(**ad))
    assert {p.where for p in refused.value.problems} == {"filing_reference", "filed_on"}
    assert "须填写备案文号" in refused.value.problems[0].zh
    assert save_permit(session, PermitInput(**{**ad, "status": "pending"})).filing_reference is None  # not yet
    with pytest.raises(InputError) as refused:
        market_permit(session, declared_by=unit(session, "JD-DC"), reviewed_by=unit(session, "JD-XC"))
    assert [p.where for p in refused.value.problems] == ["reviewed_by"]
    permit = market_permit(session, declared_by=unit(session, "JD-DC"), reviewed_by=unit(session, "CGJ"))
    assert (permit.declared_by.code, permit.reviewed_by.code) == ("JD-DC", "CGJ")


def test_the_demo_names_each_kinds_approver_from_the_seed_and_its_permits_are_from_them(session):
    kinds = {k.kind: k for k in session.scalars(select(PermitKind))}
    assert {kind: k.approver.code for kind, k in kinds.items()} == {
        "temporary_market": "CGW", "outdoor_ad": "CGJ", "road_occupation": "CGJ", "construction_waste": "CGJ",
        "site_shed": "GHFJ"}
    assert kinds["temporary_market"].reviewer.code == "CGJ" and not kinds["temporary_market"].filing_required
    for permit in session.scalars(select(Permit).where(Permit.number.like("CG_-2026-%"))):
        if permit.kind in kinds:
            assert permit.approved_by_id == kinds[permit.kind].approver_id, permit.number
        if permit.approved_by.code == "CGJ":
            assert permit.filing_reference and permit.filed_on, permit.number
