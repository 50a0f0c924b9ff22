"""First response (首次响应, issue 15 point 6): minutes from a task's dispatch to its unit's signing and to its
arrival on site (到达现场), the share within 60 minutes of the tasks due and the medians (pure, no clock)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.assessment.indicators import FIRST_RESPONSE_MINUTES, TaskRow, compute, parse_period, points_for

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 12, 5, tzinfo=timezone.utc)
NOVEMBER = parse_period("2026-11", "Asia/Shanghai")


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=CST)


def task(tid: str, created: datetime, moves: list[tuple[datetime, str, str]], unit: int = 1,
         dispatches: list[tuple[datetime, int]] | None = None) -> TaskRow:
    return TaskRow(tid, unit, "06029", "hotline", created, created + timedelta(days=2), points_for({}, 1),
                   [(created, "dispatch", "dispatched"), *moves], dispatches=dispatches or [])


def test_signing_and_arrival_within_the_target_count_and_the_medians_are_in_minutes():
    rows = [
        task("quick", at(3), [(at(3, 10, 20), "sign", "signed"), (at(3, 10, 45), "arrive", "signed")]),
        task("slow", at(4), [(at(4, 11, 30), "sign", "signed"), (at(4, 13), "arrive", "signed")]),
        task("never", at(5), []),
    ]
    ind = compute(rows, [], NOVEMBER, NOW)[1]
    assert FIRST_RESPONSE_MINUTES == 60
    assert (ind.due, ind.signed_in_time, ind.arrived_in_time) == (3, 1, 1)
    first = ind.first_response()
    assert first["sign_in_time_rate"] == first["arrival_in_time_rate"] == 1 / 3
    assert first["sign_median_minutes"] == 55.0 and first["arrival_median_minutes"] == 112.5


def test_a_rerouted_task_counts_from_its_dispatch_to_the_unit_that_holds_it():
    rerouted = task("moved", at(6), [(at(6, 10, 10), "sign", "signed"), (at(6, 10, 20), "send_back", "sent_back"),
                                     (at(6, 12), "reroute", "dispatched"), (at(6, 12, 30), "sign", "signed"),
                                     (at(6, 13, 15), "arrive", "signed")],
                    unit=2, dispatches=[(at(6), 1), (at(6, 12), 2)])
    ind = compute([rerouted], [], NOVEMBER, NOW)[2]
    assert ind.sign_minutes == [30.0] and ind.arrival_minutes == [75.0]
    assert (ind.signed_in_time, ind.arrived_in_time) == (1, 0)


def test_an_arrival_after_the_cut_off_is_not_counted_yet():
    row = task("late", at(30, 23, 30), [(datetime(2026, 12, 1, 0, 10, tzinfo=CST), "arrive", "dispatched")])
    ind = compute([row], [], NOVEMBER, NOW)[1]
    assert ind.due == 1 and ind.arrival_minutes == [] and ind.first_response()["arrival_in_time_rate"] == 0.0
