"""Scores a bureau can defend (issue 17 point 6), against hand-worked examples: deductions capped per indicator
(扣完为止) and no score below zero; units with no cases (无案件) never first, placed by the campaign's rule; a
running period counts only work already due; one rebound per spot; the seed's bottom three with 末位淘汰."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from engine.assessment.indicators import Indicators, ReboundRow, TaskRow, compute, parse_period, points_for
from engine.assessment.ranking import DEFAULT_WEIGHTS, Scoring, config_for, rank, score, unit_groups
from engine.assessment.sanctions import SANCTIONS, evaluate
from engine.assessment.spots import roots
from engine.core.models import Campaign, SanctionRule, Unit

CST = timezone(timedelta(hours=8))
TZ = "Asia/Shanghai"


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=CST)


def worked(unit_id: int, due: int, handled: int, on_time: int, points: float = 0.0, rebounds: int = 0) -> Indicators:
    return Indicators(unit_id, due=due, handled=handled, handled_on_time=on_time, due_to_close=due, dispatched=due,
                      points_lost=points, rebounds=rebounds)


def test_a_unit_with_97_percent_on_time_and_243_points_lost_scores_above_zero():
    """The quarter that showed −143: 100 tasks, 97 handled on time, 243 points lost. Uncapped that is
    30 + 19.4 + 20 + 20 + 10 − 243 = −143.6; capped at 20 points (Jinniu's "up to 20") it is 79.4."""
    ind = worked(1, 100, 100, 97, points=243)
    assert score(ind, DEFAULT_WEIGHTS) == 79.4
    assert score(ind, DEFAULT_WEIGHTS, {"points_lost": 30}) == 69.4
    assert score(worked(2, 100, 100, 97, points=5), DEFAULT_WEIGHTS) == 94.4  # under the cap: every point counts


def test_no_score_falls_below_zero_even_uncapped():
    """Nothing handled (0 + 0 + 20 + 0 + 10 = 30 earned) and 500 points and 40 rebounds lost: capped 20 + 20,
    the score is 0 — not −10; with no caps at all the floor still holds. Nothing handled, 15 points and 3
    rebounds lost: 50 − 15 − 3 = 32."""
    ind = Indicators(1, due=10, dispatched=10, due_to_close=10, overdue_unhandled=10, points_lost=500, rebounds=40)
    weights = {**DEFAULT_WEIGHTS, "rebounds": 1}
    assert score(ind, weights) == 0.0
    assert score(ind, weights, {}) == 0.0
    assert score(Indicators(1, due=10, dispatched=10, points_lost=15, rebounds=3), weights) == 32.0


def _group(placement: str) -> dict[int, object]:
    inds = {1: worked(1, 10, 10, 10, points=10), 2: worked(2, 10, 5, 5), 3: Indicators(3), 4: worked(4, 10, 9, 9)}
    ranked = rank(inds, {u: "streets" for u in inds}, DEFAULT_WEIGHTS, Scoring(no_cases=placement))
    return {r.unit_id: r for r in ranked}


def test_a_unit_with_no_cases_is_marked_and_not_ranked_first_by_default():
    """Unit 3 had nothing dispatched: its undefined rates would score a perfect 100 and rank it first."""
    ranked = _group("unranked")
    assert ranked[3].no_cases and ranked[3].score == 100.0 and ranked[3].rank is None
    assert [ranked[u].rank for u in (4, 1, 2)] == [1, 2, 3] and ranked[1].size == 3
    assert not ranked[3].in_bottom(3)
    assert {u for u in ranked if ranked[u].in_bottom(1)} == {2}


def test_no_case_units_after_the_others_are_never_in_the_bottom():
    ranked = _group("after")
    assert ranked[3].rank == 4 and ranked[3].size == 4 and not ranked[3].in_bottom(3)
    assert {u for u in ranked if ranked[u].in_bottom(1)} == {2}
    assert {u for u in ranked if ranked[u].in_bottom(2)} == {1, 2}


def test_no_case_units_placed_last_count_in_the_bottom():
    ranked = _group("last")
    assert ranked[3].rank == 4 and ranked[3].in_bottom(1)
    assert {u for u in ranked if ranked[u].in_bottom(1)} == {3}
    assert {u for u in ranked if ranked[u].in_bottom(2)} == {2, 3}


def row(tid: str, created: datetime, deadline: datetime, moves=()) -> TaskRow:
    return TaskRow(tid, 1, "06001", "hotline", created, deadline, points_for({}, 2),
                   [(created, "dispatch", "dispatched"), *moves])


def test_a_running_week_counts_only_work_already_due():
    """W47 (16–22 Nov). Tuesday 17th 12:00: A (due Mon 18:00, handled) and B (due Tue 09:00, not handled) are due;
    C (due Thu) is not yet due and left out; D (due Fri) was handled early and counts, handled on time."""
    rows = [row("A", at(11, 16, 9), at(11, 16, 18), [(at(11, 16, 17), "submit", "submitted")]),
            row("B", at(11, 16, 10), at(11, 17, 9)),
            row("C", at(11, 16, 11), at(11, 19, 9)),
            row("D", at(11, 16, 12), at(11, 20, 9), [(at(11, 17, 8), "submit", "submitted")])]
    week = parse_period("2026-W47", TZ)
    tuesday = compute(rows, [], week, at(11, 17, 12))[1]
    assert (tuesday.due, tuesday.not_yet_due, tuesday.handled, tuesday.overdue_unhandled) == (3, 1, 2, 1)
    assert tuesday.rates()["handling_rate"] == 2 / 3  # C does not count as unhandled
    assert tuesday.responding == 4  # C's first response (60 minutes after its dispatch) was due all the same
    thursday = compute(rows, [], week, at(11, 19, 12))[1]  # C is overdue now
    assert (thursday.due, thursday.not_yet_due, thursday.overdue_unhandled) == (4, 0, 2)
    ended = compute(rows, [], week, at(12, 1))[1]  # a finished period counts every task dispatched in it
    assert (ended.due, ended.not_yet_due) == (4, 0)


def test_a_task_counts_in_the_local_period_in_which_it_was_dispatched():
    """Dispatched 1 December 00:30 in Shanghai (30 November 16:30 UTC): December's task, not November's."""
    late = row("X", datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc), at(12, 3), [(at(12, 2), "submit", "submitted")])
    november = compute([late], [], parse_period("2026-11", TZ), at(12, 5))[1]
    december = compute([late], [], parse_period("2026-12", TZ), at(12, 5))[1]
    assert (november.due, november.dispatched) == (0, 0) and (december.due, december.dispatched) == (1, 1)


def test_rebounds_count_once_per_spot():
    """Three reports at spot 7 and one at spot 9 in November, another at spot 7 in December: two rebounds in
    November (4 points each), one in December."""
    rebounds = [ReboundRow(1, at(11, 3), 4.0, spot=7), ReboundRow(1, at(11, 10), 4.0, spot=7),
                ReboundRow(1, at(11, 20), 4.0, spot=9), ReboundRow(1, at(11, 25), 4.0, spot=7),
                ReboundRow(1, at(12, 2), 4.0, spot=7)]
    november = compute([], rebounds, parse_period("2026-11", TZ), at(12, 5))[1]
    assert (november.rebounds, november.points_lost) == (2, 8.0)
    assert compute([], rebounds, parse_period("2026-12", TZ), at(12, 5))[1].rebounds == 1


def test_a_spot_is_the_first_task_of_its_rebound_chain(factory, drain, session):
    from tests.helpers import new_task

    first, second, third = (new_task(factory, drain, session) for _ in range(3))
    second.event.rebound_task_id = first.id  # second's report came back where first had been closed
    third.event.rebound_task_id = second.id  # and again where second had been closed
    session.flush()
    assert roots(session, [third.id, second.id, first.id]) == {third.id: first.id, second.id: first.id,
                                                               first.id: first.id}


def _rule(code: str, kind: str, n: int, k: int, sanction: str) -> SanctionRule:
    return SanctionRule(id=hash(code) % 1000, campaign_id=1, code=code, kind=kind, bottom_n=n, periods=k,
                        peer_group=None, sanction=sanction, enabled=True)


def test_the_seed_rules_name_the_bottom_three_for_interview_and_last_place_elimination():
    """Eight sub-districts by hand: units 6, 7, 8 are the bottom three of the month, unit 9 had no cases. In the
    three quarters, unit 8 is in the bottom three each time and unit 6 only in the last."""
    month = {u: worked(u, 10, 10 - u, 10 - u) for u in range(1, 9)} | {9: Indicators(9)}
    quarters = {"2026-Q4": month, "2026-Q3": {**month, 6: worked(6, 10, 10, 10)},
                "2026-Q2": {**month, 6: worked(6, 10, 10, 10), 7: worked(7, 10, 10, 10)}}
    groups = {u: "subdistricts" for u in range(1, 10)}

    def rankings(period):
        return rank(quarters.get(period.label, month), groups, DEFAULT_WEIGHTS)
    monthly = evaluate(_rule("seed-month", "month", 3, 1, "interview"), parse_period("2026-11", TZ), TZ, rankings)
    assert [d.unit_id for d in monthly] == [6, 7, 8]
    assert [x["rank"] for d in monthly for x in d.ranks] == [6, 7, 8] and monthly[0].ranks[0]["size"] == 8
    quarterly = evaluate(_rule("seed-3-quarters", "consecutive_quarters", 3, 3, "elimination"),
                         parse_period("2026-Q4", TZ), TZ, rankings)
    assert [d.unit_id for d in quarterly] == [8] and quarterly[0].rule.sanction == "elimination"
    assert SANCTIONS["elimination"] == ("末位淘汰", "Last-place elimination")


def test_the_demo_carries_the_seed_ladder_for_sub_districts_and_departments_only(session, demo):
    """Seed 001: 「对当月、连续三个月和连续三个季度排名后三位的镇街和部门，及时采取约谈和末位淘汰等措施」. In the demo
    the month and three months give 约谈, three quarters 末位淘汰, each for sub-districts and for departments; the
    Xi'an ladder (another city's) is off, at its own bottom three. With every squad and the committee (城管委, the
    assessor) doing worst, a month's list still names only the three worst sub-districts and departments."""
    campaign = session.scalar(select(Campaign).where(Campaign.code == demo["campaign"]))
    rules = list(session.scalars(select(SanctionRule).where(SanctionRule.campaign_id == campaign.id)))
    enabled = {r.code: (r.kind, r.periods, r.peer_group, r.sanction) for r in rules if r.enabled}
    assert enabled == {f"{stem}-{group}": (kind, k, group, sanction)
                       for stem, kind, k, sanction in (("seed-month", "month", 1, "interview"),
                                                       ("seed-3-months", "consecutive_months", 3, "interview"),
                                                       ("seed-3-quarters", "consecutive_quarters", 3, "elimination"))
                       for group in ("subdistricts", "departments")}
    assert {r.bottom_n for r in rules} == {3}
    assert all(r.code.startswith("xian-") for r in rules if not r.enabled)

    weights, peer_groups = config_for(session, campaign)
    groups = unit_groups(session, peer_groups)
    units = {u.id: u for u in session.scalars(select(Unit))}
    inds, expected = {}, set()
    for kind in ("subdistrict", "department"):
        members = sorted((u for u in units.values() if u.type == kind), key=lambda u: u.code)
        inds |= {u.id: worked(u.id, 40, 40 - i, 40 - i) for i, u in enumerate(members)}
        expected |= {u.code for u in members[-3:]}
    inds |= {u.id: worked(u.id, 40, 0, 0) for u in units.values() if u.type == "squad" or u.code == "CGW"}
    month, quarter = parse_period("2026-11", TZ), parse_period("2026-Q4", TZ)

    def named(period) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for rule in rules:
            for due in evaluate(rule, period, TZ, lambda p: rank(inds, groups, weights)):
                found.setdefault(due.rule.sanction, set()).add(units[due.unit_id].code)
        return found
    assert named(month) == {"interview": expected}  # no squad, not the committee
    assert named(quarter) == {"elimination": expected}


def test_units_tied_at_the_boundary_are_named_together_whatever_their_ids_or_order():
    """The bottom three by the documented rule, with no tie broken by id or by the order the units are read in
    (PostgreSQL's ids and row order are not insertion order): Q4 has units 3 and 4 tied for fourth-from-top of six,
    so both are among the bottom three with 5 and 6; in Q3 unit 3 did better, so three quarters name 4, 5, 6."""
    handled = {1: 10, 2: 9, 3: 7, 4: 7, 5: 6, 6: 5}
    by_quarter = {"2026-Q4": handled, "2026-Q3": {**handled, 3: 8}, "2026-Q2": handled}
    streak = _rule("seed-3-quarters", "consecutive_quarters", 3, 3, "interview")
    this_quarter = _rule("one-quarter", "consecutive_quarters", 3, 1, "interview")
    for order in (sorted(handled), sorted(handled, reverse=True)):
        def rankings(period, order=order):
            shares = by_quarter[period.label]
            inds = {u: worked(u, 10, shares[u], shares[u]) for u in order}
            return rank(inds, {u: "subdistricts" for u in order}, DEFAULT_WEIGHTS)
        q4 = parse_period("2026-Q4", TZ)
        named = evaluate(this_quarter, q4, TZ, rankings)
        assert [d.unit_id for d in named] == [3, 4, 5, 6]
        assert [d.ranks[0]["rank"] for d in named] == [3, 3, 5, 6]  # competition ranks: the tie shares third
        assert [d.unit_id for d in evaluate(streak, q4, TZ, rankings)] == [4, 5, 6]
