"""The reporter's side (issue 14 point 8): a closed case is revisited (回访), "not satisfied" lets the dispatcher
reopen it for its lead unit, and 响应率, 解决率 and 满意率 per lead unit match hand counts on a generated month."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.assessment import case_rates
from engine.assessment.bulletin import build
from engine.assessment.indicators import Indicators, parse_period
from engine.cases.closing import close_case, lead_task, why_not_closable
from engine.cases.revisits import Answer, record_revisit
from engine.core import clock
from engine.core.models import AssessmentConfig, Campaign, Case, CaseRevisit, Event, Task, Unit, User
from engine.evaluation.reopening import reopen_case
from engine.handling.tasks import apply
from engine.intake.events import IntakeSource, accept_event
from rules.problems import InputError
from tests.helpers import answered, unique

PATROL = IntakeSource("revisit-tests-patrol", "patrol")
ZONE = ZoneInfo("Asia/Shanghai")


def user(session, name: str) -> User:
    return session.scalar(select(User).where(User.username == name))


def report(session, drain, at: datetime, grid: str = "DC-03") -> Case:
    """A daytime 店外经营 from a patrol at `at`: filed and dispatched to the sub-district in the intake job."""
    clock.set_clock(lambda: at)
    payload = {"source_event_id": unique(), "category": "09005", "grid": grid,
               "occurred_at": (at - timedelta(minutes=5)).isoformat(), "description": "店外经营"}
    event_id = accept_event(session, payload, PATROL)[0].id
    session.commit()
    drain()
    session.expire_all()
    return session.get(Event, event_id).case


def act(session, task: Task, action: str, who: str, at: datetime) -> None:
    clock.set_clock(lambda: at)
    task = session.get(Task, task.id)
    apply(session, task, action, user(session, who), "整改完毕" if action != "sign" else "",
          expected_version=task.version)
    session.flush()


def handled_and_closed(session, case: Case, at: datetime, signed: bool = True) -> None:
    """The lead unit signs, handles and submits; the checker passes; the shift leader closes at `at`."""
    task = lead_task(case)
    unit_user = "dongcheng" if task.unit.code == "JD-DC" else "xicheng"
    if signed:
        act(session, task, "sign", unit_user, at - timedelta(hours=3))
    for action, who, back in (("start", unit_user, 2), ("submit", unit_user, 1), ("pass_check", "checker", 0.5)):
        act(session, task, action, who, at - timedelta(hours=back))
    answered(session, case, at - timedelta(hours=1))
    close_case(session, case.id, "", user(session, "shift_leader"), at, "已整改")
    session.flush()


def test_not_satisfied_reopens_the_case_with_a_new_task_for_its_lead_unit(session, drain):
    start = datetime(2026, 3, 9, 9, 0, tzinfo=ZONE)
    case = report(session, drain, start)
    first = lead_task(case)
    assert case.stage == "dispatched" and first.unit.code == "JD-DC"
    handled_and_closed(session, case, start + timedelta(days=1))
    dispatcher = user(session, "dispatcher")
    with pytest.raises(InputError) as early:  # only a revisited, not satisfied case is reopened
        reopen_case(session, case.id, "群众不满意", dispatcher, start + timedelta(days=2))
    assert "回访不满意" in early.value.problems[0].zh

    with pytest.raises(InputError) as incomplete:  # reached, but no rating and no answer: nothing is written
        record_revisit(session, case.id, Answer(True, None, None, ""), start + timedelta(days=2), dispatcher)
    assert {p.where for p in incomplete.value.problems} == {"rating", "resolved"}
    with pytest.raises(InputError):  # a field unit does not revisit
        record_revisit(session, case.id, Answer(True, "satisfied", True), start, user(session, "dongcheng"))
    assert session.scalar(select(func.count()).select_from(CaseRevisit).where(CaseRevisit.case_id == case.id)) == 0
    closed_at = session.get(Case, case.id).closed_at

    record_revisit(session, case.id, Answer(True, "not_satisfied", False, "摊位又出来了"),
                   start + timedelta(days=2), dispatcher)
    session.flush()
    case = session.get(Case, case.id)
    assert case.stage == "revisited" and case.closed_at == closed_at  # the revisit keeps the closing time
    with pytest.raises(InputError) as no_reason:
        reopen_case(session, case.id, "  ", dispatcher, start + timedelta(days=2, hours=1))
    assert no_reason.value.problems[0].where == "reason" and session.get(Case, case.id).stage == "revisited"

    task_id = reopen_case(session, case.id, "群众反映摊位仍在", dispatcher, start + timedelta(days=2, hours=1))
    session.flush()
    session.expire_all()
    case = session.get(Case, case.id)
    again = session.get(Task, task_id)
    assert [h.to_stage for h in case.stages][-5:] == ["dispatched", "closed", "revisited", "reopened", "dispatched"]
    assert case.stages[-2].comment == "群众反映摊位仍在"
    assert (again.unit.code, again.reopening, again.status, again.event_id) == ("JD-DC", 1, "dispatched",
                                                                              first.event_id)
    assert again.deadline_at > start + timedelta(days=2, hours=1)
    assert lead_task(case).id == task_id and why_not_closable(case)  # closed again only after the new check
    with pytest.raises(InputError):  # reopened once per unsatisfied revisit
        reopen_case(session, case.id, "再次重启", dispatcher, start + timedelta(days=2, hours=2))


def test_a_reporter_not_reached_gives_no_rating(session, drain):
    start = datetime(2026, 3, 10, 9, 0, tzinfo=ZONE)
    case = report(session, drain, start)
    handled_and_closed(session, case, start + timedelta(days=1))
    dispatcher = user(session, "dispatcher")
    with pytest.raises(InputError) as refused:
        record_revisit(session, case.id, Answer(False, "satisfied", None), start + timedelta(days=2), dispatcher)
    assert "未联系上" in refused.value.problems[0].zh
    revisit = record_revisit(session, case.id, Answer(False, None, None, "电话无人接听"), start + timedelta(days=2),
                             dispatcher)
    assert (revisit.reached, revisit.rating, revisit.resolved) == (False, None, None)
    with pytest.raises(InputError):  # one revisit per closing
        record_revisit(session, case.id, Answer(True, "satisfied", True), start + timedelta(days=3), dispatcher)


# --- the three rates on a generated month -------------------------------------------------------------------

OFFICE = ((8 * 60 + 30, 12 * 60), (14 * 60, 17 * 60 + 30))  # the default office hours, in minutes of the day


def working_minute(moment: datetime) -> bool:
    """Is the minute starting at `moment` office time? Monday–Friday (March 2026 has no holiday or make-up day)."""
    local = moment.astimezone(ZONE)
    minute = local.hour * 60 + local.minute
    return local.weekday() < 5 and any(opens <= minute < closes for opens, closes in OFFICE)


def response_due(dispatched: datetime, hours: float) -> datetime:
    """By hand: walk minute by minute until `hours` of office time have passed."""
    moment, left = dispatched, int(hours * 60)
    while left:
        if working_minute(moment):
            left -= 1
        moment += timedelta(minutes=1)
    return moment


@dataclass
class Plan:
    at: datetime
    grid: str
    sign_after: int | None  # minutes after dispatch, None: never signed
    revisit: tuple[bool, str | None, bool | None] | None  # reached, rating, resolved; None: not revisited


def generated_month(seed: int, size: int) -> list[Plan]:
    rng = random.Random(seed)
    plans = []
    for _ in range(size):
        day = rng.randint(1, 25)
        at = datetime(2026, 3, day, rng.randint(7, 18), rng.choice((0, 15, 30, 45)), tzinfo=ZONE)
        sign_after = rng.choice((None, rng.randint(1, 100), rng.randint(100, 900)))
        revisit = None
        if sign_after is not None and rng.random() < 0.8:
            reached = rng.random() < 0.8
            revisit = (reached, rng.choice(("satisfied", "basically_satisfied", "not_satisfied")) if reached else None,
                       rng.random() < 0.6 if reached else None)
        plans.append(Plan(at, rng.choice(("DC-01", "DC-02", "DC-03", "XC-01", "XC-02")), sign_after, revisit))
    return sorted(plans, key=lambda p: p.at)


def test_response_resolution_and_satisfaction_rates_match_hand_counts_on_a_generated_month(session, drain):
    campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
    config = session.scalar(select(AssessmentConfig).where(AssessmentConfig.campaign_id == campaign.id))
    if config is None:
        config = AssessmentConfig(campaign_id=campaign.id, weights={}, peer_groups={})
        session.add(config)
    config.response_hours, config.basic_satisfaction_weight = 2.0, 0.5
    session.flush()
    month = parse_period("2026-03", campaign.timezone)
    after = datetime(2026, 4, 10, tzinfo=ZONE)
    before = case_rates.add(session, campaign, month, after, {})  # whatever other tests left committed
    units = {code: session.scalar(select(Unit.id).where(Unit.code == code)) for code in ("JD-DC", "JD-XC")}

    hand: dict[int, dict[str, Decimal]] = {uid: {k: Decimal(0) for k in ("accepted", "responded", "rated",
                                                                          "resolved", "satisfied")}
                                           for uid in units.values()}
    plans = generated_month(seed=14, size=40)
    for plan in plans:
        case = report(session, drain, plan.at, plan.grid)
        task = lead_task(case)
        counts = hand[case.lead_unit_id]
        assert task.created_at == plan.at and case.lead_unit_id == units["JD-DC" if plan.grid < "E" else "JD-XC"]
        counts["accepted"] += 1
        if plan.sign_after is not None:
            signed = plan.at + timedelta(minutes=plan.sign_after)
            counts["responded"] += signed <= response_due(plan.at, 2.0)
            unit_user = "dongcheng" if plan.grid.startswith("DC") else "xicheng"
            act(session, task, "sign", unit_user, signed)
            if plan.revisit is not None:
                closed = signed + timedelta(hours=6)
                for action, who in (("start", unit_user), ("submit", unit_user), ("pass_check", "checker")):
                    act(session, task, action, who, closed - timedelta(hours=1))
                answered(session, case, closed - timedelta(hours=1))
                close_case(session, case.id, "", user(session, "shift_leader"), closed)
                reached, rating, resolved = plan.revisit
                record_revisit(session, case.id, Answer(reached, rating, resolved, ""), closed + timedelta(days=1),
                               user(session, "dispatcher"))
                session.flush()
                if reached:
                    counts["rated"] += 1
                    counts["resolved"] += resolved
                    counts["satisfied"] += {"satisfied": Decimal(1), "basically_satisfied": Decimal("0.5")
                                            }.get(rating, Decimal(0))
    assert sum(c["accepted"] for c in hand.values()) == 40
    signed_plans = [p for p in plans if p.sign_after is not None]
    assert any((p.sign_after <= 120) != (p.at + timedelta(minutes=p.sign_after) <= response_due(p.at, 2.0))
               for p in signed_plans)  # working hours, not clock hours, decide some of them
    assert all(c["rated"] and c["responded"] < c["accepted"] for c in hand.values())  # the month has every kind

    counted = case_rates.add(session, campaign, month, after, {})
    bulletin = {r.unit_id: r.indicators for r in build(session, campaign, month, after).ranked}
    for unit_id, expected in hand.items():
        base, got = before.get(unit_id, Indicators(unit_id)), counted[unit_id]
        totals = {k: v + Decimal(getattr(base, k)) for k, v in expected.items()}
        assert (got.accepted, got.responded, got.rated, got.resolved) == tuple(
            int(totals[k]) for k in ("accepted", "responded", "rated", "resolved"))
        assert got.satisfied == totals["satisfied"]
        rates = bulletin[unit_id].rates()
        assert rates["response_rate"] == pytest.approx(float(totals["responded"] / totals["accepted"]))
        assert rates["resolution_rate"] == pytest.approx(float(totals["resolved"] / totals["rated"]))
        assert rates["satisfaction_rate"] == pytest.approx(float(totals["satisfied"] / totals["rated"]))
