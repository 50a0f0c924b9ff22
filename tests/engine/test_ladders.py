"""Ladders anchored to the deadline (DESIGN 14, issue 15 points 1-2): a 5-working-day and a 2-working-hour task,
for a squad and for a sub-district; no step before its anchor, no public listing before the deadline, steps moved by
an extension, the right body at each step, and the task API and pages that show them. Bad input: a ladder out of
order, a public listing by hand without a reason, a rule that lists publicly without its deadline or authority."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.core.models import Category, OutboxMessage, Person, Supervision, Task, Unit
from engine.evaluation.context import active_contexts
from engine.handling.dispatch import TaskOrder, dispatch
from engine.handling.ladder import DEFAULT_LADDER, Clock, FrozenStep, order_problems, plan_steps
from engine.intake.events import IntakeSource, accept_event
from engine.supervision import board
from rules.document import Catalog, validate_rule
from rules.problems import InputError
from tests.helpers import act, bearer, event, steps_of, steps_run, user, user_token

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)  # a working Monday morning
SOURCE = IntakeSource("ladder-tests", "patrol")
#: The demo's bodies: the bureau's squads go 中队 → 督察中队 → 局领导; sub-districts to the committee's bodies.
SQUAD_BODIES = [None, 1, 2, 3, 3]
SUBDISTRICT_BODIES = [None, 4, 5, 6, 6]


def _task(session, unit_code: str, value: float, unit: str, timeline: str | None, category: str = "06029",
          bodies=None) -> Task:
    """A task dispatched at MONDAY for the unit, under the demo campaign's published version (and its bodies,
    unless `bodies` are given)."""
    clock.set_clock(lambda: MONDAY)
    stored = accept_event(session, event(category, "DC-01", hour=9), SOURCE)[0]
    ctx = active_contexts(session)[0]
    unit_id = session.scalar(select(Unit.id).where(Unit.code == unit_code))
    order = TaskOrder(event_id=stored.id, campaign_id=ctx.id, ruleset_version_id=ctx.version_id, unit_id=unit_id,
                      template_id=ctx.template_id("zt-clearance"), timeline_id=ctx.timeline_id(timeline),
                      rule_key="ladder-test", list_kind="custom", limit_value=value, limit_unit=unit,
                      deadline_at=ctx.calendar.deadline(MONDAY, value, unit), points=0,
                      steps=ctx.steps(timeline), calendar=ctx.calendar, continuous_time=False,
                      bodies=ctx.bodies if bodies is None else bodies)
    [task_id] = dispatch(session, [order], MONDAY)
    session.commit()
    return session.get(Task, task_id)


def _anchors_kept(session, task: Task, timeline: str) -> None:
    """Every step is due exactly at its anchor, counted in working time; none before it; listing only overdue."""
    ctx = active_contexts(session)[0]
    frozen = {s.position: s for s in ctx.steps(timeline)}
    for step in steps_of(session, task.id):
        spec = frozen[step.position]
        if spec.anchor == "share":
            expected = ctx.calendar.add_working_minutes(task.created_at, spec.share * _limit_minutes(ctx, task))
            assert step.due_at == expected and step.due_at < task.deadline_at
        elif spec.anchor == "at":
            assert step.due_at == task.deadline_at
        elif spec.anchor == "after":
            assert step.due_at == ctx.calendar.add_working_minutes(task.deadline_at, spec.after_minutes)
            assert step.due_at > task.deadline_at
        if step.action == "list_publicly":
            assert step.due_at > task.deadline_at


def _limit_minutes(ctx, task: Task) -> float:
    return task.limit_value * (60 if task.limit_unit == "working_hours" else ctx.calendar.day_minutes)


@pytest.mark.parametrize("unit_code, bodies", [("ZD-DC", SQUAD_BODIES), ("JD-DC", SUBDISTRICT_BODIES)],
                         ids=["squad", "subdistrict"])
def test_a_five_working_day_task_is_urged_at_80_percent_ordered_at_the_deadline_and_listed_only_overdue(
        session, unit_code, bodies):
    task = _task(session, unit_code, 5, "working_days", "zt-ladder")
    assert task.deadline_at == datetime(2026, 12, 14, 9, 0, tzinfo=SHANGHAI)
    steps = steps_of(session, task.id)
    assert [(s.action, s.tier_level) for s in steps] == list(zip(
        ["remind", "order", "escalate", "escalate", "list_publicly"], bodies))
    assert steps[0].due_at == datetime(2026, 12, 11, 9, 0, tzinfo=SHANGHAI)  # 4 of 5 working days: Friday
    assert steps[1].due_at == task.deadline_at
    assert steps[2].due_at == datetime(2026, 12, 14, 15, 0, tzinfo=SHANGHAI)  # 4 working hours overdue
    _anchors_kept(session, task, "zt-ladder")


@pytest.mark.parametrize("unit_code, bodies", [("ZD-DC", SQUAD_BODIES[:3] + [3]),
                                               ("JD-DC", SUBDISTRICT_BODIES[:3] + [6])], ids=["squad", "subdistrict"])
def test_a_two_working_hour_task_is_urged_before_its_deadline_not_after(session, unit_code, bodies):
    task = _task(session, unit_code, 2, "working_hours", "sm-ladder", category="09010")
    assert task.deadline_at == datetime(2026, 12, 7, 11, 0, tzinfo=SHANGHAI)
    steps = steps_of(session, task.id)
    assert [(s.action, s.tier_level) for s in steps] == list(zip(["remind", "order", "escalate", "list_publicly"],
                                                                 bodies))
    assert steps[0].due_at == datetime(2026, 12, 7, 10, 36, tzinfo=SHANGHAI)  # 80 % of two working hours
    assert steps[2].due_at == datetime(2026, 12, 8, 12, 0, tzinfo=SHANGHAI)  # 8 working hours overdue
    _anchors_kept(session, task, "sm-ladder")


def test_each_step_reaches_its_body_and_the_person_chain(session):
    squad = _task(session, "ZD-DC", 2, "working_hours", "sm-ladder")
    office = _task(session, "JD-DC", 2, "working_hours", "sm-ladder")
    last = steps_of(session, office.id)[-1]
    steps_run(session, last.due_at + timedelta(seconds=1))
    for task, expected in ((squad, ["unit:%d" % squad.unit_id, "tier:1", "tier:2", "tier:3"]),
                           (office, ["unit:%d" % office.unit_id, "tier:4", "tier:5", "tier:6"])):
        steps = steps_of(session, task.id)
        assert [s.status for s in steps] == ["done"] * 4
        rows = [session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == f"step:{s.id}"))
                for s in steps]
        assert [r.target for r in rows] == expected
        assert rows[0].payload["body"] == {"unit": task.unit_id}
        chains = [r.payload["chain"] for r in rows]
        assert [len(c) for c in chains] == sorted(len(c) for c in chains) and chains[-1]  # higher steps reach higher
        assert all(session.get(Person, pid) is not None for pid in chains[-1])
    names = [session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == f"step:{s.id}"))
             .payload["body"]["name"]["zh"] for s in steps_of(session, office.id)[1:]]
    assert names == ["城管委办公室", "督考办", "分管区领导"]
    order = session.scalar(select(OutboxMessage).where(
        OutboxMessage.idempotency_key == f"step:{steps_of(session, squad.id)[1].id}"))
    assert order.payload["body"]["name"]["zh"] == "本单位负责人"


def test_an_extension_moves_the_pending_steps_to_the_new_deadline(session):
    task = _task(session, "JD-DC", 2, "working_hours", "sm-ladder")
    before = [s.due_at for s in steps_of(session, task.id)]
    clock.set_clock(lambda: MONDAY + timedelta(minutes=30))
    for action, who in (("sign", "dongcheng"), ("request_extension", "dongcheng"), ("approve_extension", "dispatcher")):
        session.expire_all()
        act(session, session.get(Task, task.id), action, who, "需要更多时间")
    session.expire_all()
    task = session.get(Task, task.id)
    assert task.deadline_at == datetime(2026, 12, 7, 15, 0, tzinfo=SHANGHAI)  # 11:00 + two working hours
    after = [s.due_at for s in steps_of(session, task.id)]
    assert after[0] == datetime(2026, 12, 7, 14, 36, tzinfo=SHANGHAI)  # 80 % into the extension
    assert after[1] == task.deadline_at and after[1] > before[1]
    assert after[2] == datetime(2026, 12, 8, 16, 0, tzinfo=SHANGHAI)  # 8 working hours past the new deadline
    assert all(a > b for a, b in zip(after, before))


def test_the_planner_never_lists_a_task_publicly_before_its_deadline():
    steps = [FrozenStep(0, "share", 0.5, 0, "list_publicly", 3, None)]
    from engine.core.worktime import WorkCalendar
    calendar = WorkCalendar.build("Asia/Shanghai", None, {}, frozenset({2026}))
    start = MONDAY
    deadline = calendar.deadline(start, 5, "working_days")
    [row] = plan_steps(1, start, deadline, Clock.of(calendar, 5, "working_days", False), steps)
    assert row["due_at"] == deadline
    assert [p.where for p in order_problems(steps)] == ["steps[0].anchor"]


def test_every_task_has_a_ladder_the_category_s_else_the_default(session):
    category = session.scalar(select(Category).where(Category.code == "09010"))
    default = _task(session, "JD-DC", 2, "working_hours", None, category="09010")
    assert [(s.action, s.anchor) for s in steps_of(session, default.id)] == [("remind", "share"), ("order", "at")]
    ctx = active_contexts(session)[0]
    assert ctx.ladder_code(None, category.timeline_code, "default") == "default"
    assert [s.action for s in ctx.steps(None)] == [s.action for s in DEFAULT_LADDER]
    category.timeline_code = "sm-ladder"
    session.commit()
    from engine.evaluation.decide import routine_task
    assert routine_task(ctx, default.unit_id, (2, "working_hours"), MONDAY, category.timeline_code).timeline_code \
        == "sm-ladder"


def test_a_ladder_out_of_order_is_refused_in_both_languages():
    steps = [FrozenStep(0, "share", 0.8, 0, "remind", None, None), FrozenStep(1, "after", None, 2880, "list_publicly", 3, None),
             FrozenStep(2, "after", None, 30, "escalate", 1, None)]
    [problem] = order_problems(steps)
    assert problem.where == "steps[2].anchor"
    assert problem.message("en") == "step 3 is due before step 2: put the steps in the order they fall due"
    assert problem.message("zh") == "第 3 步早于第 2 步到期：请按到期先后排列各步"


def test_a_public_listing_by_hand_needs_a_reason_and_is_recorded(session):
    task = _task(session, "JD-DC", 2, "working_hours", "sm-ladder")
    leader = user(session, "bureau_lead")
    with pytest.raises(InputError) as refused:
        board.act(session, task, leader, 3, "list_publicly", "  ")
    [problem] = refused.value.problems
    assert problem.where == "message" and "reason" in problem.message("en") and "理由" in problem.message("zh")
    assert session.scalar(select(Supervision.id).where(Supervision.task_id == task.id)) is None
    row = board.act(session, task, leader, 3, "list_publicly", "群众反复投诉，局领导决定挂牌")
    session.commit()
    assert (row.kind, row.created_by, row.message) == ("list_publicly", leader.id, "群众反复投诉，局领导决定挂牌")


def test_a_rule_lists_publicly_only_with_its_own_deadline_and_ordering_authority():
    rule = {"key": "listed", "title": {"zh": "挂牌", "en": "Listed"}, "when": {"all": [
        {"fact": "repeats_7d", "op": "gte", "value": 2}]}, "then": [{"do": "escalate", "tier": 2, "list_publicly": True}]}
    with pytest.raises(InputError) as refused:
        validate_rule(rule, Catalog())
    assert {p.where for p in refused.value.problems} == {"then[0].deadline", "then[0].authority"}
    assert "rectification deadline" in refused.value.problems[0].message("en") + refused.value.problems[1].message("en")
    rule["then"][0].update({"deadline": {"value": 3, "unit": "working_days"}, "authority": "区城管委"})
    assert validate_rule(rule, Catalog()) == rule


def test_the_task_api_page_and_list_show_the_ladder(session, client, login):
    task = _task(session, "ZD-DC", 2, "working_hours", "sm-ladder")
    steps_run(session, task.deadline_at + timedelta(seconds=1))  # urge and 督办 have run
    clock.set_clock(lambda: task.deadline_at + timedelta(minutes=1))
    token = user_token(client, "admin")
    data = client.get(f"/api/v1/tasks/{task.id}?lang=en", headers=bearer(token)).get_json()
    steps = data["steps"]
    assert [(s["action"], s["body"]["tier"], s["status"]) for s in steps] == [
        ("remind", None, "done"), ("order", 1, "done"), ("escalate", 2, "pending"), ("list_publicly", 3, "pending")]
    assert steps[1]["body"]["name"] == "Head of the unit"
    assert steps[1]["due_at"] == task.deadline_at.isoformat() and steps[1]["done_at"]
    assert steps[2]["done_at"] is None

    assert login(client, "admin").status_code == 302
    page = client.get(f"/tasks/{task.id}?lang=zh").get_data(as_text=True)
    assert 'id="ladder"' in page and "督察中队" in page and "督察中队定向督查" not in page
    assert "2026-12-08 12:00" in page  # the escalation's due time, in Shanghai time
    history = page[page.find('id="history"'):]
    assert history.count('class="ladder-step"') == 2 and "本单位负责人" in history and "中队内部全面督查" not in history
    listing = client.get(f"/tasks?state=open&q={task.id}&lang=zh").get_data(as_text=True)  # by number: others page first
    row = listing[listing.find(f"#{task.id} "):][:3000]
    assert "已升级" in row and "下一步" in row and "督察中队" in row and "2026-12-08 12:00" in row


def test_migration_0026_anchors_an_old_ladder_counted_from_dispatch_in_due_order(tmp_path):
    import sqlalchemy as sa
    from migrations import upgrade

    url = f"sqlite:///{tmp_path / 'ladders.db'}"
    upgrade(url, "0025")
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO campaigns (id, code, name_zh, name_en, status, timezone, office_hours, "
                          "continuous_time, digest_time) VALUES (1, 'c', 'c', 'c', 'active', 'Asia/Shanghai', '[]', "
                          "0, '06:40')"))
        c.execute(sa.text("INSERT INTO timelines (id, campaign_id, code, name_zh, name_en) VALUES (1, 1, 'old', '旧', 'old')"))
        for position, minutes, action, tier in ((0, 60, "remind", None), (1, 2880, "list_publicly", 3),
                                                (2, 120, "order", 1), (3, 30, "escalate", 1)):  # out of order
            c.execute(sa.text("INSERT INTO timeline_steps (timeline_id, position, after_minutes, time_mode, action, "
                              "tier_level) VALUES (1, :p, :m, 'working', :a, :t)"),
                      {"p": position, "m": minutes, "a": action, "t": tier})
    upgrade(url, "0026")
    with engine.begin() as c:
        rows = c.execute(sa.text("SELECT position, anchor, share, after_minutes, action FROM timeline_steps "
                                 "ORDER BY position")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(0, "share", 0.8, 0, "remind"), (1, "at", None, 0, "order"),
                                        (2, "after", None, 30, "escalate"), (3, "after", None, 2880, "list_publicly")]
    steps = [FrozenStep(r.position, r.anchor, r.share, r.after_minutes, r.action, None, None) for r in rows]
    assert order_problems(steps) == []


def test_a_version_frozen_before_anchors_reads_its_steps_as_the_migration_did():
    old = [{"position": 0, "after_minutes": 60.0, "time_mode": "continuous", "action": "remind", "tier_level": None,
            "unless_state": "submitted"},
           {"position": 1, "after_minutes": 120.0, "time_mode": "continuous", "action": "order", "tier_level": 1,
            "unless_state": "submitted"},
           {"position": 2, "after_minutes": 2880.0, "time_mode": "continuous", "action": "list_publicly",
            "tier_level": 3, "unless_state": "closed"}]
    steps = [FrozenStep.frozen(step) for step in old]
    assert [(s.anchor, s.share, s.after_minutes) for s in steps] == [("share", 0.8, 0), ("at", None, 0),
                                                                      ("after", None, 2880.0)]


def test_a_rule_that_lists_publicly_records_its_rectification_deadline_and_authority(factory, drain, session):
    from engine.authoring.drafts import publish
    from engine.core.models import Campaign, Event, Rule

    campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
    session.add(Rule(campaign_id=campaign.id, key="listed-burning", document={
        "key": "listed-burning", "title": {"zh": "焚烧垃圾挂牌", "en": "Burning listed"},
        "when": {"all": [{"fact": "category", "op": "eq", "value": "06020"},
                         {"fact": "grid", "op": "eq", "value": "NC-04"}]},
        "then": [{"do": "escalate", "tier": 3, "list_publicly": True,
                  "deadline": {"value": 3, "unit": "working_days"}, "authority": "区城管委"}]}))
    session.flush()
    publish(session, campaign, comment="a rule that lists publicly")
    session.commit()
    event_id = accept_event(session, event("06020", "NC-04", hour=10), SOURCE)[0].id
    session.commit()
    drain()
    session.expire_all()
    tasks = session.get(Event, event_id).tasks
    listed = session.scalars(select(Supervision).where(Supervision.task_id.in_([t.id for t in tasks]))).all()
    assert listed and all(s.kind == "list_publicly" and s.reply_due_at is not None for s in listed)
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.task_id == listed[0].task_id,
                                                         OutboxMessage.kind == "supervision_list_publicly"))
    assert message.payload["authority"] == "区城管委" and message.payload["rectify_by"]


def _ladder_rows(page: str) -> list[tuple[str, str]]:
    table = page[page.index('id="ladder"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr class=\"step-[a-z]+\"><td>(.*?)</td><td>(.*?)</td>", table, re.S)
    return [(action.strip(), re.sub(r"<[^>]+>", "", body).strip()) for action, body in rows]


@pytest.mark.parametrize("lang, expected", [
    ("zh_Hans_CN", [("催办提醒", "东城街道办事处"), ("督办", "城管委办公室"), ("上报督办", "督考办"),
                    ("上报督办", "分管区领导"), ("挂牌督办", "分管区领导")]),
    ("en", [("urge", "Dongcheng Sub-district Office"), ("order handling", "Committee office"),
            ("escalate", "Assessment office"), ("escalate", "District leader in charge"),
            ("list publicly", "District leader in charge")])])
def test_each_rung_of_a_sub_district_s_zero_tolerance_ladder_names_its_own_body(session, client, login, lang,
                                                                                 expected):
    task = _task(session, "JD-DC", 5, "working_days", "zt-ladder")
    login(client, "dongcheng")
    rows = _ladder_rows(client.get(f"/tasks/{task.id}?lang={lang}").get_data(as_text=True))
    assert rows == expected and len(set(rows)) == len(rows)


def test_a_squad_s_ladder_names_bodies_not_inspections(session, client, login):
    task = _task(session, "ZD-DC", 5, "working_days", "zt-ladder")
    login(client, "squad_dc")
    page = client.get(f"/tasks/{task.id}?lang=zh_Hans_CN").get_data(as_text=True)
    assert [body for _a, body in _ladder_rows(page)][1:] == ["本单位负责人", "督察中队", "局领导", "局领导"]
    assert "中队内部全面督查" not in page and "督察中队定向督查" not in page and "局领导专项督查" not in page


def test_a_rung_above_the_unit_s_highest_body_says_it_reaches_no_higher_body(session, client, login):
    """A campaign whose sub-district bodies stop at the assessment office: both escalations reach it; the second
    says so rather than repeating the first line."""
    ctx = active_contexts(session)[0]
    task = _task(session, "JD-DC", 5, "working_days", "zt-ladder", bodies=[b for b in ctx.bodies if b.level != 6])
    login(client, "dongcheng")
    rows = _ladder_rows(client.get(f"/tasks/{task.id}?lang=zh_Hans_CN").get_data(as_text=True))
    assert rows[2] == ("上报督办", "督考办") and rows[4] == ("挂牌督办", "督考办")
    assert rows[3] == ("上报督办", "督考办 · 再次：该单位没有更高一级的督办机构")
