"""Indicators and the composite ranking against hand-worked examples (pure functions, no clock)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from engine.assessment.indicators import (HAPPENINGS, Indicators, PeriodError, ReboundRow, TaskRow, compute,
                                          parse_period, points_for)
from engine.assessment.rollup import lost_by_person
from engine.assessment.ranking import DEFAULT_WEIGHTS, rank, score

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 12, 5, tzinfo=timezone.utc)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=CST)


def task(tid, created, deadline, moves, source="hotline", unit=1):
    points = points_for({"overdue": 3, "rebound": 4, "inspection": 5}, 2)
    row = TaskRow(tid, unit, "06001", source, created, deadline, points,
                  [(created, "dispatch", "dispatched")] + [(when, action, to) for when, action, to in moves])
    return row


def november_rows():
    return [
        task("A", at(11, 2), at(11, 4), [(at(11, 3), "submit", "submitted"), (at(11, 3, 12), "pass_check", "closed")]),
        task("B", at(11, 5), at(11, 6), [(at(11, 8), "submit", "submitted"), (at(11, 9), "fail_check", "returned"),
                                         (at(11, 10), "submit", "submitted"), (at(11, 11), "pass_check", "closed")]),
        task("C", at(11, 10), at(11, 14), [(at(11, 10, 11), "sign", "signed"),
                                           (at(11, 11), "approve_extension", "signed")]),
        task("D", at(11, 20), at(12, 10), [(at(11, 21), "approve_park", "parked")]),
        task("E", at(10, 28), at(11, 1), [(at(11, 2), "submit", "submitted")]),
        task("F", at(11, 15), at(11, 17), [(at(11, 16), "approve_void", "voided")]),
        task("G", at(11, 25), at(11, 27),
             [(at(11, 26), "submit", "submitted"), (at(11, 27, 9), "pass_check", "closed")], source="inspection"),
    ]


def test_period_labels_follow_the_campaign_time_zone():
    month = parse_period("2026-11", "Asia/Shanghai")
    assert (month.kind, month.start, month.end) == ("month", datetime(2026, 10, 31, 16, tzinfo=timezone.utc),
                                                    datetime(2026, 11, 30, 16, tzinfo=timezone.utc))
    week = parse_period("2026-W47", "Asia/Shanghai")
    assert week.first_day.isoformat() == "2026-11-16" and week.end - week.start == timedelta(days=7)
    quarter = parse_period("2026-Q4", "Asia/Shanghai")
    assert quarter.first_day.isoformat() == "2026-10-01" and quarter.previous("Asia/Shanghai").label == "2026-Q3"
    assert parse_period("2026-01").previous("Asia/Shanghai").label == "2025-12"
    for bad in ("2026-13", "2026-W60", "2026-Q5", "november"):
        with pytest.raises(PeriodError):
            parse_period(bad)


def test_november_by_hand():
    """Due A B C D G (E was dispatched in October, F voided); see docs/ASSESSMENT.md for each count."""
    rebound = ReboundRow(1, at(11, 20), 4.0)
    ind = compute(november_rows(), [rebound], parse_period("2026-11"), NOW)[1]
    assert (ind.due, ind.handled, ind.handled_on_time) == (5, 3, 2)  # A B G handled; B late
    assert (ind.due_to_close, ind.closed, ind.closed_on_time) == (4, 3, 2)  # D parked at the cut-off
    assert (ind.reworked, ind.overdue_unhandled, ind.extended) == (1, 1, 1)  # B; C; C
    assert (ind.overdue, ind.failed_checks, ind.inspection_findings, ind.rebounds) == (3, 1, 1, 1)  # B C E
    assert ind.points_lost == 3 * 3 + 2 + 5 + 4
    rates = ind.rates()
    assert rates["handling_rate"] == pytest.approx(0.6) and rates["on_time_handling_rate"] == pytest.approx(0.4)
    assert rates["closure_rate"] == pytest.approx(0.75) and rates["on_time_closure_rate"] == pytest.approx(0.5)
    # rework over the cases due to close (Jinniu, brief d.1): B of A B C G, not B of the three handled
    assert rates["rework_rate"] == pytest.approx(0.25) and rates["overdue_unhandled_rate"] == pytest.approx(0.2)
    assert rates["extension_rate"] == pytest.approx(0.2)
    # 0.6·30 + 0.4·20 + (1 − 0.25)·20 + (1 − 0.2)·20 + (1 − 0.2)·10 − 20 points = 45
    assert score(ind, DEFAULT_WEIGHTS) == 45.0


def test_a_week_counts_only_what_happened_before_its_end():
    """W45 is 2–8 November: A and B are due; B's submission on the 8th is late, its failed check falls later."""
    ind = compute(november_rows(), [], parse_period("2026-W45"), NOW)[1]
    assert (ind.due, ind.handled, ind.handled_on_time, ind.closed) == (2, 2, 1, 1)
    assert (ind.reworked, ind.failed_checks, ind.overdue_unhandled) == (0, 0, 0)
    assert ind.overdue == 1 and ind.points_lost == 3  # B's deadline on the 6th; E's on 1 November is in W44


def test_a_running_period_is_cut_off_at_now():
    """On 11 November 09:00 C is neither extended yet nor overdue; B has failed its check. C is due on the 14th
    and unhandled, so the running month leaves it out: only work already due counts (issue 17)."""
    ind = compute(november_rows(), [], parse_period("2026-11"), at(11, 11, 9))[1]
    assert (ind.due, ind.handled, ind.reworked, ind.extended, ind.closed) == (2, 2, 1, 0, 1)
    assert ind.not_yet_due == 1 and ind.rates()["handling_rate"] == 1.0


def test_zero_denominators_are_undefined_and_score_as_perfect():
    empty = compute([], [], parse_period("2026-11"), NOW, unit_ids=[7])[7]
    assert all(value is None for value in empty.rates().values())
    assert score(empty, DEFAULT_WEIGHTS) == 100.0


def test_ties_share_a_rank_within_each_peer_group():
    def unit(uid, points):
        return Indicators(uid, points_lost=points, dispatched=1)
    inds = {1: unit(1, 0), 2: unit(2, 5), 3: unit(3, 5), 4: unit(4, 9), 5: unit(5, 50), 6: unit(6, 0)}
    groups = {1: "streets", 2: "streets", 3: "streets", 4: "streets", 5: "departments", 6: "departments"}
    ranked = {r.unit_id: r for r in rank(inds, groups, DEFAULT_WEIGHTS)}
    assert [ranked[u].rank for u in (1, 2, 3, 4)] == [1, 2, 2, 4]
    assert [ranked[u].rank for u in (6, 5)] == [1, 2] and ranked[5].size == 2
    assert {u for u in (1, 2, 3, 4) if ranked[u].in_bottom(3)} == {2, 3, 4}
    assert {u for u in (1, 2, 3, 4) if ranked[u].in_bottom(1)} == {4}
    assert {u for u in (1, 2, 3, 4) if ranked[u].in_bottom(2)} == {2, 3, 4}  # the tie at 2 comes in whole


def test_nobody_is_in_the_bottom_when_all_tie():
    ranked = rank({u: Indicators(u, dispatched=2) for u in (1, 2, 3)}, {1: "streets", 2: "streets", 3: "streets"},
                  DEFAULT_WEIGHTS)
    assert [r.rank for r in ranked] == [1, 1, 1] and not any(r.in_bottom(3) for r in ranked)
    idle = rank({}, {1: "streets", 2: "streets", 3: "streets"}, DEFAULT_WEIGHTS)  # no cases at all: none ranked
    assert [r.rank for r in idle] == [None] * 3 and all(r.no_cases for r in idle)
    assert not any(r.in_bottom(3) for r in idle)


def moved(tid, created, deadline, moves, unit=1, dispatches=(), list_kind="zero_tolerance", source="hotline"):
    """A task row of a list kind, with the (instant, unit) of its dispatch and reroutes when it was rerouted."""
    row = task(tid, created, deadline, moves, source=source, unit=unit)
    row.list_kind, row.dispatches = list_kind, list(dispatches)
    return row


def test_accurate_dispatch_by_hand():
    """Units 1–3 in November: each unit counts the tasks dispatched to it in the month (dispatch or reroute, once
    per task) and those it sent back (退单) before the next reroute and the cut-off."""
    rows = [
        moved("A", at(11, 2), at(11, 4), [(at(11, 2, 11), "sign", "signed"), (at(11, 3), "submit", "submitted")]),
        moved("B", at(11, 5), at(11, 6), [(at(11, 5, 12), "send_back", "sent_back"),
                                          (at(11, 5, 14), "reroute", "dispatched")],
              unit=2, dispatches=[(at(11, 5), 1), (at(11, 5, 14), 2)]),
        moved("C", at(11, 10), at(11, 12), [(at(11, 10, 11), "send_back", "sent_back"),
                                            (at(11, 10, 12), "reroute", "dispatched"),
                                            (at(11, 10, 13), "send_back", "sent_back"),
                                            (at(11, 10, 15), "reroute", "dispatched")],
              unit=2, dispatches=[(at(11, 10), 2), (at(11, 10, 12), 3), (at(11, 10, 15), 2)]),
        moved("D", at(10, 30), at(11, 4), [(at(11, 1), "send_back", "sent_back"), (at(11, 2), "reroute", "dispatched")],
              unit=3, dispatches=[(at(10, 30), 1), (at(11, 2), 3)]),
        moved("E", at(11, 29), at(12, 2), [(at(12, 1), "send_back", "sent_back")]),
        moved("F", at(11, 15), at(11, 17), [(at(11, 16), "approve_void", "voided")]),
    ]
    month = compute(rows, [], parse_period("2026-11"), NOW)
    # 1: A B E F dispatched, B sent back (D went to it in October, E's send-back is in December)
    # 2: B C (C twice, counted once), C sent back; 3: C D, C sent back
    assert {u: (month[u].dispatched, month[u].sent_back) for u in (1, 2, 3)} == {1: (4, 1), 2: (2, 1), 3: (2, 1)}
    assert month[1].rates()["accurate_dispatch_rate"] == pytest.approx(0.75)
    assert month[2].rates()["accurate_dispatch_rate"] == month[3].rates()["accurate_dispatch_rate"] == 0.5
    running = compute(rows, [], parse_period("2026-11"), at(11, 5, 13))  # B sent back, not yet rerouted
    assert (running[1].dispatched, running[1].sent_back, running[2].dispatched) == (2, 1, 0)
    assert compute([], [], parse_period("2026-11"), NOW, [1])[1].rates()["accurate_dispatch_rate"] is None


def test_zero_tolerance_points_count_only_once_the_unit_has_signed():
    """The counts count; the points of a zero-tolerance task only if its unit had signed for it (and not sent it
    back) by the instant counted: overdue 3, inspection 5, rebound 4 (list row), see docs/ASSESSMENT.md."""
    rows = [
        moved("never-signed", at(11, 2), at(11, 4), []),
        moved("signed", at(11, 2), at(11, 4), [(at(11, 2, 11), "sign", "signed")]),
        moved("sent-back", at(11, 5), at(11, 6), [(at(11, 5, 11), "send_back", "sent_back")]),
        moved("inspected-signed", at(11, 10), at(12, 20), [(at(11, 10, 11), "sign", "signed")], source="inspection"),
        moved("inspected-unsigned", at(11, 10), at(12, 20), [], source="inspection"),
        moved("signed-late", at(11, 12), at(11, 13), [(at(11, 14), "sign", "signed")]),
        moved("strict", at(11, 2), at(11, 4), [], list_kind="strict_management"),
    ]
    rebounds = [ReboundRow(1, at(11, 20), 4.0, list_kind="zero_tolerance"),
                ReboundRow(1, at(11, 21), 4.0, list_kind="zero_tolerance", moves=((at(11, 2, 11), "sign"),))]
    ind = compute(rows, rebounds, parse_period("2026-11"), NOW)[1]
    assert (ind.overdue, ind.inspection_findings, ind.rebounds) == (5, 2, 2)
    assert ind.points_by == {"overdue": Decimal(6), "inspection": Decimal(5), "rebound": Decimal(4)}
    assert ind.points_lost == 3 + 3 + 5 + 4  # signed, strict; inspected-signed; the signed origin's rebound
    assert (ind.dispatched, ind.sent_back) == (7, 1)
    by_person = lost_by_person(rows, rebounds, parse_period("2026-11"), NOW)
    assert sum((i.points_by.get(h, Decimal(0)) for i in by_person.values() for h in HAPPENINGS), Decimal(0)) == 15


def redone(tid, moves):
    """A two-hour zero-tolerance order dispatched on 2 November 20:00 and signed at once, then `moves`."""
    return moved(tid, at(11, 2, 20), at(11, 2, 22), [(at(11, 2, 20).replace(minute=5), "sign", "signed")] + moves)


def test_work_redone_after_a_failed_check_past_the_deadline_is_overdue():
    """Seed 002 「工作不达标不放过」, brief b.4 「退回重办继续计」: submitted at 100 minutes, failed at 3 hours, really
    fixed on day 3. The submission that passed came after the deadline: overdue when the check failed, with its
    points beside the failed check's, and not handled on time."""
    late = redone("late", [(at(11, 2, 21).replace(minute=40), "submit", "submitted"),
                           (at(11, 2, 23), "fail_check", "returned"), (at(11, 5, 9), "start", "handling"),
                           (at(11, 5, 10), "submit", "submitted"), (at(11, 5, 11), "pass_check", "closed")])
    ind = compute([late], [], parse_period("2026-11"), NOW)[1]
    assert (ind.handled, ind.handled_on_time, ind.overdue, ind.failed_checks) == (1, 0, 1, 1)
    assert ind.rates()["on_time_handling_rate"] == 0.0
    assert ind.points_by == {"overdue": Decimal(3), "failed_check": Decimal(2)}
    waiting = compute([late], [], parse_period("2026-11"), at(11, 2, 22).replace(minute=30))[1]
    assert (waiting.overdue, waiting.handled_on_time) == (0, 1)  # in time until the check fails
    returned = compute([late], [], parse_period("2026-11"), at(11, 3))[1]
    assert (returned.overdue, returned.handled_on_time, returned.overdue_unhandled) == (1, 0, 1)


def test_work_redone_within_the_deadline_stays_on_time():
    """Failed at 21:00 and resubmitted at 21:50, within the two hours: on time, not overdue."""
    quick = redone("quick", [(at(11, 2, 20).replace(minute=30), "submit", "submitted"),
                             (at(11, 2, 21), "fail_check", "returned"),
                             (at(11, 2, 21).replace(minute=50), "submit", "submitted"),
                             (at(11, 2, 23), "pass_check", "closed")])
    ind = compute([quick], [], parse_period("2026-11"), NOW)[1]
    assert (ind.handled_on_time, ind.overdue, ind.failed_checks, ind.reworked) == (1, 0, 1, 1)
    assert ind.points_by == {"failed_check": Decimal(2)}


def test_a_check_failed_after_the_month_counts_the_overdue_in_the_next_month():
    """Due 30 November 22:00, submitted in time, failed on 1 December: November keeps what it knew at its end,
    December counts the overdue at the failed check, so each month reads the same however often it is recomputed."""
    row = moved("turn", at(11, 30, 20), at(11, 30, 22), [(at(11, 30, 20).replace(minute=5), "sign", "signed"),
                                                          (at(11, 30, 21), "submit", "submitted"),
                                                          (at(12, 1, 9), "fail_check", "returned")])
    november = compute([row], [], parse_period("2026-11"), NOW)[1]
    assert (november.overdue, november.handled_on_time, november.failed_checks) == (0, 1, 0)
    december = compute([row], [], parse_period("2026-12"), at(12, 4))[1]
    assert (december.overdue, december.failed_checks, december.points_lost) == (1, 1, 3 + 2)
