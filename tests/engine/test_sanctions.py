"""A generated three quarters of tasks with known outcomes: indicators by hand, and the streak rules
name exactly the expected units (month, three months, three quarters, months in a year)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.assessment import indicators, sanctions
from engine.core.models import (AssessmentConfig, Campaign, Category, Event, Grid, RulesetVersion, SanctionDue, SanctionRule, Task, TaskTemplate, TaskTransition, Unit)

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 10, 15, tzinfo=timezone.utc)
# On-time tasks out of 5 per unit U0..U5 and month (the other tasks are left open and overdue).
ON_TIME = {1: [0, 1, 2, 3, 4, 5], 2: [0, 2, 1, 5, 3, 4], 3: [1, 0, 5, 2, 4, 3],
           4: [0, 5, 1, 2, 3, 4], 5: [2, 4, 0, 1, 5, 3], 6: [1, 3, 5, 0, 4, 2],
           7: [0, 1, 2, 5, 4, 3], 8: [1, 0, 3, 4, 5, 2], 9: [2, 1, 0, 3, 5, 4]}
OVERDUE_POINTS = 2.0


@pytest.fixture(scope="module")
def generated(factory):
    tag = uuid.uuid4().hex[:8]
    with factory() as session:
        version = session.scalar(select(RulesetVersion).limit(1))
        template = session.scalar(select(TaskTemplate).limit(1))
        category = session.scalar(select(Category).where(Category.code == "06001"))
        grid = session.scalar(select(Grid).limit(1))
        campaign = Campaign(code=f"rank-{tag}", name_zh="排名测试", name_en="ranking test", status="ended",
                            timezone="Asia/Shanghai")
        session.add(campaign)
        units = [Unit(code=f"S{i}-{tag}", name_zh=f"街道{i}", name_en=f"Street {i}", type=f"street-{tag}")
                 for i in range(6)]
        session.add_all(units)
        session.flush()
        session.add(AssessmentConfig(campaign_id=campaign.id, weights={}, peer_groups={f"street-{tag}": "streets"}))
        for month, counts in ON_TIME.items():
            for u, on_time in enumerate(counts):
                for n in range(5):
                    created = datetime(2026, month, 3, 10, tzinfo=CST)
                    event = Event(source="rank-test", source_event_id=f"{tag}-{month}-{u}-{n}", source_type="patrol",
                                  category_id=category.id, grid_id=grid.id, occurred_at=created, received_at=created)
                    session.add(event)
                    session.flush()
                    task = Task(event_id=event.id, campaign_id=campaign.id, ruleset_version_id=version.id,
                                unit_id=units[u].id, template_id=template.id, rule_key="test", list_kind="custom",
                                status="closed" if n < on_time else "signed", limit_value=2, limit_unit="urgent_days",
                                deadline_at=created + timedelta(days=2), points=OVERDUE_POINTS, created_at=created)
                    session.add(task)
                    session.flush()
                    moves = [(created, None, "dispatched", "dispatch"),
                             (created + timedelta(hours=1), "dispatched", "signed", "sign")]
                    if n < on_time:
                        moves += [(created + timedelta(hours=2), "signed", "handling", "start"),
                                  (created + timedelta(days=1), "handling", "submitted", "submit"),
                                  (created + timedelta(days=1, hours=2), "submitted", "closed", "pass_check")]
                    session.add_all(TaskTransition(task_id=task.id, from_status=f, to_status=t, action=a, at=when)
                                    for when, f, t, a in moves)
        rules = {code: SanctionRule(campaign_id=campaign.id, code=code, kind=kind, bottom_n=3, periods=k,
                                    sanction=sanction, enabled=True)
                 for code, kind, k, sanction in [("month", "month", 1, "interview"),
                                                 ("three-months", "consecutive_months", 3, "interview"),
                                                 ("three-quarters", "consecutive_quarters", 3, "interview"),
                                                 ("six-in-year", "months_in_year", 6, "criticism_bulletin"),
                                                 ("seven-in-year", "months_in_year", 7, "accountability")]}
        session.add_all(rules.values())
        session.commit()
        yield campaign.id, [u.id for u in units]


def named(session, campaign_id, label, units):
    campaign = session.get(Campaign, campaign_id)
    period = indicators.parse_period(label, campaign.timezone)
    found: dict[str, set[int]] = {}
    for due in sanctions.due_for(session, campaign, period, NOW):
        found.setdefault(due.rule.code, set()).add(units.index(due.unit_id))
    return found


def test_quarter_indicators_match_the_hand_count(session, generated):
    campaign_id, units = generated
    campaign = session.get(Campaign, campaign_id)
    q3 = indicators.for_period(session, campaign, indicators.parse_period("2026-Q3"), NOW, units)
    for u, uid in enumerate(units):
        on_time = sum(ON_TIME[m][u] for m in (7, 8, 9))
        ind = q3[uid]
        assert (ind.due, ind.handled, ind.handled_on_time, ind.closed, ind.closed_on_time) == (15, *[on_time] * 4)
        assert (ind.overdue_unhandled, ind.overdue, ind.reworked, ind.extended) == (15 - on_time, 15 - on_time, 0, 0)
        assert ind.points_lost == OVERDUE_POINTS * (15 - on_time)


def test_streak_rules_name_exactly_the_expected_units(session, generated):
    campaign_id, units = generated
    september = named(session, campaign_id, "2026-09", units)
    assert september == {"month": {0, 1, 2}, "three-months": {0, 1}, "six-in-year": {0, 1, 2}, "seven-in-year": {0}}
    assert named(session, campaign_id, "2026-08", units)["three-months"] == {0}
    # Q1 bottom {0,1,2}; Q2 sums 3,12,6,3,12,9 -> {0,3,2} (0 and 3 tie last); Q3 {1,0,2}
    assert named(session, campaign_id, "2026-Q3", units) == {"three-quarters": {0, 2}}
    assert named(session, campaign_id, "2026-Q2", units) == {}


def test_the_list_is_kept_once_per_period_with_the_ranks_that_caused_it(session, generated):
    campaign_id, units = generated
    campaign = session.get(Campaign, campaign_id)
    run = sanctions.produce(session, campaign, "2026-Q3", NOW)
    session.commit()
    assert sanctions.produce(session, campaign, "2026-Q3", NOW) is None
    entries = session.scalars(select(SanctionDue).where(SanctionDue.run_id == run.id)).all()
    assert {units.index(e.unit_id) for e in entries} == {0, 2}
    u0 = next(e for e in entries if e.unit_id == units[0])
    assert [(r["period"], r["rank"], r["size"]) for r in u0.ranks] == [("2026-Q3", 5, 6), ("2026-Q2", 5, 6),
                                                                       ("2026-Q1", 6, 6)]  # Q2: tied last
    with pytest.raises(ValueError):
        sanctions.produce(session, campaign, "2026-Q4", NOW)


def test_the_command_line_keeps_a_past_period(factory, generated):
    from click.testing import CliRunner

    from app.cli import main

    campaign_id, units = generated
    with factory() as session:
        code = session.get(Campaign, campaign_id).code
    clock.set_clock(lambda: NOW)
    result = CliRunner().invoke(main, ["sanctions", "produce", "2026-09", "--campaign", code])
    again = CliRunner().invoke(main, ["sanctions", "produce", "2026-09", "--campaign", code])
    bad = CliRunner().invoke(main, ["sanctions", "produce", "2026-W40", "--campaign", code])
    assert result.exit_code == 0, result.output
    assert "2026-09: 9 unit(s) due" in result.output and "three-months" in result.output
    assert again.output.splitlines()[0] == result.output.splitlines()[0]  # kept once, shown again
    assert bad.exit_code != 0 and "weeks" in bad.output
