"""岗位考核 (brief d.1): the command centre's people per post over a week, built through the real paths in a week of
its own (2029-W10): the collector verifies, the shift leader files, refuses and dispatches, the dispatcher routes and
merges a duplicate, the unit sends an order back, the checker returns and passes work, an inspector reports."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy import event as sql_event, select

from engine.assessment.periods import parse_period
from engine.assessment.posts import Posts, compute
from engine.cases.by_hand import link_report
from engine.cases.cooperation import lead_task
from engine.cases.verification import Photo, verify
from engine.core import clock
from engine.core.models import Campaign, Case, Event, InspectionPlan, Person, Task
from engine.evaluation.filing import file_case, refuse_case
from engine.evaluation.hand_routing import route_case
from engine.handling.tasks import apply
from engine.intake.events import IntakeSource, accept_event
from engine.supervision import inspection
from tests.engine.test_case_stages import ZONE, condition, user
from tests.helpers import event, jpeg

HOTLINE = IntakeSource("posts-tests-hotline", "hotline")
PATROL = IntakeSource("posts-tests-patrol", "patrol")
#: Inside grid DC-01 of the demo pack, and a spot in China outside every grid (Shanghai).
DC01, NOWHERE = (35.025, 110.995), (31.23, 121.47)


def at(moment: datetime) -> None:
    clock.set_clock(lambda: moment)


def step(session, task: Task, action: str, who: str, comment: str = "", data: dict | None = None) -> None:
    session.refresh(task)
    apply(session, task, action, user(session, who), comment, data, expected_version=task.version)
    session.commit()


def build_week(factory, drain, session, settings, tmp_path, start: datetime) -> dict[str, Case]:
    """The week's cases, all opened at `start` and moved in its first hours; committed (the drain's own sessions
    read them)."""
    def minutes(n: int) -> datetime:
        return start + timedelta(minutes=n)

    drain()  # reports other tests left unevaluated would open their cases in this week
    at(start)
    bodies = {"verified_in_time": (HOTLINE, event("09005", "DC-03", hour=10)),
              "verified_late": (HOTLINE, event("08003", "DC-03", hour=10)),
              "refused": (HOTLINE, event("09005", "DC-02", hour=10)),
              "patrol": (PATROL, event("09005", "DC-03", hour=10)),
              "duplicate": (HOTLINE, event("09005", "DC-04", hour=10)),
              "outside": (HOTLINE, {**event("09005", hour=10), "grid": None,
                                    "location": {"lat": NOWHERE[0], "lon": NOWHERE[1]}})}
    with factory() as s:
        ids = {name: accept_event(s, body, source)[0].id for name, (source, body) in bodies.items()}
        s.commit()
    inspector = user(session, "supervisor")
    plan = session.scalar(select(InspectionPlan).where(InspectionPlan.code == "DCZD-TARGETED"))
    round_ = inspection.start_round(session, inspector, plan)
    for name, spot in (("finding", DC01), ("finding_outside", NOWHERE)):
        ids[name] = inspection.record_finding(session, round_, inspector, "06029", "人行道上露天烧烤",
                                              [inspection.Photo("a.jpg", jpeg())],
                                              inspection.Position(*spot, "gps"), settings.evidence.dir,
                                              settings.evidence.max_bytes).event_id
    inspection.end_round(session, round_, inspector)
    session.commit()
    drain()
    session.expire_all()
    cases = {name: session.get(Event, event_id).case for name, event_id in ids.items()}
    collector, leader = user(session, "collector"), user(session, "shift_leader")
    for name, after in (("verified_in_time", 20), ("verified_late", 45), ("refused", 10), ("duplicate", 15)):
        verify(session, cases[name], collector, "confirmed", "", None, [Photo("a.jpg", jpeg())], tmp_path, 2**20,
               ZONE, minutes(after))
    for name, after in (("verified_in_time", 25), ("verified_late", 70), ("duplicate", 20)):
        at(minutes(after))
        code = cases[name].category.code
        file_case(session, cases[name].id, condition(session, code), None, leader, minutes(after))
    refuse_case(session, cases["refused"].id, "现场未发现", leader, minutes(12))
    route_case(session, cases["outside"].id, "JD-DC", user(session, "dispatcher"), minutes(10))
    session.commit()
    session.expire_all()
    at(minutes(80))  # the unit sends the late case's order back: not its duty
    step(session, lead_task(cases["verified_late"]), "send_back", "dongcheng", "不属于本单位",
         {"grounds": "not_our_duty"})
    for task in session.scalars(select(Task).where(Task.event_id == ids["duplicate"])):  # a duplicate: void it
        step(session, task, "request_void", "dongcheng", "重复上报")
        step(session, task, "approve_void", "dispatcher")
    link_report(session, cases["verified_in_time"].id, ids["duplicate"], user(session, "dispatcher"), minutes(85))
    session.commit()
    work = lead_task(cases["patrol"])
    assert work.unit.code == "JD-DC"
    for after, action, who in ((55, "sign", "dongcheng"), (56, "start", "dongcheng"), (60, "submit", "dongcheng"),
                               (100, "fail_check", "checker"), (110, "start", "dongcheng"),
                               (120, "submit", "dongcheng"), (125, "pass_check", "checker")):
        at(minutes(after))
        step(session, work, action, who, "已处理" if action in ("submit", "fail_check") else "")
    session.expire_all()
    return {name: session.get(Case, case.id) for name, case in cases.items()}


#: Tuesday 2029-03-06, 10:00 in Shanghai: a week (2029-W10) no other test works in.
START = datetime(2029, 3, 6, 2, tzinfo=timezone.utc)


def built(factory, drain, session, settings, tmp_path, start: datetime, label: str) -> Callable[[], Posts]:
    """The week built from `start`, and how to count it a day later."""
    try:
        cases = build_week(factory, drain, session, settings, tmp_path, start)
    finally:
        clock.set_clock(None)
    campaign = session.get(Campaign, cases["patrol"].campaign_id)
    period = parse_period(label, campaign.timezone)
    return lambda: compute(session, campaign, period, start + timedelta(days=1))


def rates(line, *names: str) -> list:
    return [None if getattr(line, n) is None else round(getattr(line, n), 4) for n in names]


def test_each_post_gets_the_standards_rates_from_what_its_people_did(factory, drain, session, settings, tmp_path):
    posts = built(factory, drain, session, settings, tmp_path, START, "2029-W10")()
    named = {p.user_id: p.name for p in session.scalars(select(Person).where(Person.user_id.is_not(None)))}
    leader = next(d for d in posts.dispatchers if d.who.name == named[user(session, "shift_leader").id])
    assert (leader.decided, leader.filed, leader.filed_on_time, leader.filed_voided) == (4, 3, 2, 1)
    assert rates(leader, "filing_rate", "on_time_filing_rate", "accurate_filing_rate") == [0.75, 0.6667, 0.6667]
    assert (leader.dispatched, leader.dispatched_on_time, leader.sent_back) == (3, 2, 1)
    assert rates(leader, "on_time_dispatch_rate", "accurate_dispatch_rate") == [0.6667, 0.6667]
    dispatcher = next(d for d in posts.dispatchers if d.who.name == "dispatcher")  # no person: the login name
    assert (dispatcher.decided, dispatcher.dispatched, dispatcher.dispatched_on_time) == (0, 1, 1)
    assert dispatcher.filing_rate is None and dispatcher.on_time_dispatch_rate == 1
    # the patrol report and the inspection finding were filed and dispatched at intake, by no person
    assert (posts.system.filed, posts.system.dispatched, posts.system.decided) == (2, 2, 0)
    assert posts.system.who is None and all(d.who is not None for d in posts.dispatchers)
    assert (posts.accepted, posts.accepted_filed) == (8, 6) and posts.filing_rate == 0.75

    [checker] = [c for c in posts.checkers if c.who.name == "checker"]
    assert (checker.decided, checker.passed, checker.returned, checker.on_time) == (2, 1, 1, 1)
    assert checker.on_time_check_rate == 0.5  # returned after 40 minutes (limit 30), passed after 5

    collector = next(s for s in posts.supervisors if s.who.name == "吴敏")  # DC-01…04 and HD-01's 监督员
    assert (collector.grids, collector.verified, collector.verified_on_time) == (5, 4, 3)
    assert collector.on_time_verification_rate == 0.75
    # filed in her grids: two hotline cases she did not report, the patrol's and the inspector's (the duplicate,
    # merged into another case, is none of its own)
    assert (collector.grid_filed, collector.missed) == (4, 2) and collector.missed_report_rate == 0.5
    assert collector.reported == 0 and collector.valid_report_rate is None
    inspector = next(s for s in posts.supervisors if s.who.name == named[user(session, "supervisor").id])
    assert (inspector.reported, inspector.reported_filed) == (2, 1)  # the one outside every grid waits for dispatch
    assert inspector.valid_report_rate == 0.5 and inspector.grids == 0


def test_a_week_without_work_has_no_lines_and_no_rates(session):
    campaign = session.scalar(select(Campaign).order_by(Campaign.id))
    empty = compute(session, campaign, parse_period("2029-W12", campaign.timezone), START + timedelta(days=30))
    assert empty.dispatchers == [] and empty.checkers == [] and empty.accepted == 0 and empty.filing_rate is None
    assert all(s.reported == s.verified == s.grid_filed == 0 for s in empty.supervisors)
    assert all(s.missed_report_rate is None for s in empty.supervisors)


def test_the_queries_do_not_grow_with_the_people_or_the_cases(factory, drain, session, settings, tmp_path):
    """Counted in a week of its own (2029-W14): the same statements for one case or many, one person or many."""
    posts_of = built(factory, drain, session, settings, tmp_path, START + timedelta(weeks=4), "2029-W14")
    statements: list[str] = []
    bind = session.connection().engine

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    sql_event.listen(bind, "before_cursor_execute", count)
    try:
        session.expire_all()
        posts_of()
    finally:
        sql_event.remove(bind, "before_cursor_execute", count)
    assert len(statements) <= 13, statements  # 11 here; 2 more when a report's case moved before the week
