"""Messages (消息): a supervisor's urge and a timeline step reach the field unit's inbox (API and page),
never another unit's; read marks are per user; the header's unread count follows them."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.core import clock, outbox
from engine.delivery.inbox import address_new
from engine.core.models import Event, InboxAddress, MessageRead, OutboxMessage, TaskStep, Unit
from engine.supervision import escalation
from tests.helpers import bearer, csrf_from, event, user_token

pytestmark = pytest.mark.usefixtures("messages_caught_up")


def zero_tolerance_task(client, factory, drain, intake_token, grid: str = "DC-01") -> int:
    """A zero-tolerance task of the grid's unit (DC-01: 东城街道, its 责任人 张伟 of the 东城 squad)."""
    event_id = client.post("/api/v1/events", json=event("06029", grid, hour=23),
                           headers=bearer(intake_token)).get_json()["id"]
    drain()
    with factory() as session:
        return next(t.id for t in session.get(Event, event_id).tasks if t.list_kind == "zero_tolerance")


def inbox(client, token: str, **params) -> dict:
    response = client.get("/api/v1/inbox", headers={**bearer(token), "Accept-Language": "zh-CN"},
                          query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def about(data: dict, task_id: int) -> list[dict]:
    return [m for m in data["messages"] if m["task"] and m["task"]["id"] == task_id]


def about_in_all_pages(client, token: str, task_id: int, language: str = "zh-CN") -> list[dict]:
    """The task's messages on every page: a poll that ran other tests' steps too may put more than a page before it."""
    found, offset, total = [], 0, 1
    while offset < total:
        response = client.get("/api/v1/inbox", headers={**bearer(token), "Accept-Language": language},
                              query_string={"limit": 200, "offset": offset})
        found += about(response.get_json(), task_id)
        offset, total = offset + 200, response.get_json()["total"]
    return found


def urge(client, task_id: int, message: str = "请立即到场处置") -> dict:
    response = client.post(f"/api/v1/tasks/{task_id}/supervisions", headers=bearer(user_token(client, "supervisor")),
                           json={"kind": "urge", "message": message})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_supervisors_urge_reaches_the_unit_and_its_people_and_no_other_unit(client, factory, drain, intake_token):
    task_id = zero_tolerance_task(client, factory, drain, intake_token)
    urge(client, task_id, "督察发现现场仍未清理，请立即处置")
    dongcheng, zhangwei, squad, xicheng = (user_token(client, name)
                                           for name in ("dongcheng", "zhangwei", "squad_dc", "xicheng"))
    seen = [m for m in about(inbox(client, dongcheng), task_id) if m["kind"] == "supervision_urge"]
    assert len(seen) == 1
    message = seen[0]
    assert message["title"] == "催办" and message["message"] == "督察发现现场仍未清理，请立即处置"
    assert message["task"]["unit"] == "东城街道办事处" and message["task"]["url"] == f"/tasks/{task_id}"
    assert message["task"]["category"] and not re.fullmatch(r"[0-9]+", message["task"]["category"])  # a name
    assert message["from"].startswith("督查人员") and message["read"] is False
    assert message["created_at"].endswith("+08:00")  # the campaign's local time
    assert [m["kind"] for m in about(inbox(client, zhangwei), task_id)].count("supervision_urge") == 1  # 责任人
    assert [m["kind"] for m in about(inbox(client, squad), task_id)].count("supervision_urge") == 1  # 中队长
    assert about(inbox(client, xicheng), task_id) == []


def test_a_timeline_step_appears_in_the_units_messages_once_it_has_run(client, factory, drain, intake_token):
    task_id = zero_tolerance_task(client, factory, drain, intake_token)
    dongcheng, xicheng = user_token(client, "dongcheng"), user_token(client, "xicheng")
    assert [m["kind"] for m in about(inbox(client, dongcheng), task_id)] == ["task_dispatched"]
    with factory() as session:
        due = session.scalar(select(TaskStep.due_at).where(TaskStep.task_id == task_id, TaskStep.position == 0))
    for _ in range(100):  # other tests' steps may be due too: run batches until this task's first step has run
        with factory() as session:
            escalation.run_due(session, now=due + timedelta(seconds=1))
            status = session.scalar(select(TaskStep.status).where(TaskStep.task_id == task_id, TaskStep.position == 0))
        if status != "pending":
            break
    with factory() as session:  # the poller addresses what its steps wrote; other tests' steps may have run too
        while address_new(session, limit=5000):
            session.commit()
    step = next(m for m in about_in_all_pages(client, dongcheng, task_id) if m["kind"] == "remind")
    assert step["title"] == "催办" and step["from"].startswith("时限流程")
    assert about_in_all_pages(client, xicheng, task_id) == []
    english = about_in_all_pages(client, dongcheng, task_id, "en")
    assert next(m for m in english if m["kind"] == "remind")["title"] == "Urge (催办)"


def test_read_marks_are_per_user_and_only_for_ones_own_messages(client, factory, drain, intake_token):
    task_id = zero_tolerance_task(client, factory, drain, intake_token)
    urge(client, task_id)
    dongcheng, zhangwei, xicheng = (user_token(client, n) for n in ("dongcheng", "zhangwei", "xicheng"))
    message_id = next(m["id"] for m in about(inbox(client, dongcheng), task_id) if m["kind"] == "supervision_urge")
    before = inbox(client, dongcheng)["unread"]
    assert client.post(f"/api/v1/inbox/{message_id}/read", headers=bearer(xicheng)).status_code == 404
    marked = client.post(f"/api/v1/inbox/{message_id}/read", headers=bearer(dongcheng))
    assert marked.status_code == 200 and marked.get_json()["unread"] == before - 1
    again = client.post(f"/api/v1/inbox/{message_id}/read", headers=bearer(dongcheng))
    assert again.get_json()["unread"] == before - 1  # marking twice changes nothing
    assert message_id not in {m["id"] for m in inbox(client, dongcheng, unread=1, limit=200)["messages"]}
    assert message_id in {m["id"] for m in inbox(client, zhangwei, unread=1, limit=200)["messages"]}
    with factory() as session:
        assert session.scalar(select(MessageRead.user_id).where(MessageRead.outbox_id == message_id)) is not None
        assert len(session.scalars(select(OutboxMessage.id).where(OutboxMessage.id == message_id)).all()) == 1


def test_paging_and_bad_parameters(client, factory, drain, intake_token):
    task_id = zero_tolerance_task(client, factory, drain, intake_token)
    urge(client, task_id, "第一次")
    urge(client, task_id, "第二次")
    token = user_token(client, "dongcheng")
    first, second = inbox(client, token, limit=1), inbox(client, token, limit=1, offset=1)
    assert first["total"] >= 3 and len(first["messages"]) == 1
    assert first["messages"][0]["message"] == "第二次" and second["messages"][0]["message"] == "第一次"
    bad = client.get("/api/v1/inbox?limit=0&unread=yes", headers={**bearer(token), "Accept-Language": "zh-CN"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"limit", "unread"}
    assert client.get("/api/v1/inbox").status_code == 401


def test_each_message_is_stored_once_whoever_reads_it(client, factory, drain, intake_token):
    task_id = zero_tolerance_task(client, factory, drain, intake_token)
    row = urge(client, task_id)
    for name in ("dongcheng", "zhangwei", "squad_dc"):
        inbox(client, user_token(client, name))
    with factory() as session:
        rows = session.scalars(select(OutboxMessage.id).where(OutboxMessage.idempotency_key
                                                              == f"supervision:{row['id']}")).all()
        assert len(rows) == 1
        addresses = session.execute(select(InboxAddress.scope, InboxAddress.ref)
                                    .where(InboxAddress.outbox_id == rows[0])).all()
    assert {scope for scope, _ in addresses} == {"unit", "person"}  # the unit and its chain, not each reader


def badge(html: str) -> int:
    found = re.search(r'id="unread-count"[^>]*>(\d+)<', html)
    return int(found.group(1)) if found else 0


def test_the_page_lists_messages_and_the_header_counts_the_unread(app, client, factory, drain, intake_token, login):
    app.config["WTF_CSRF_ENABLED"] = True
    task_id = zero_tolerance_task(client, factory, drain, intake_token)
    urge(client, task_id, "请今天内完成整改")
    login(client, "dongcheng")
    page = client.get("/inbox", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "消息" in page and "请今天内完成整改" in page and "东城街道办事处" in page
    assert f'href="/tasks/{task_id}"' in page
    count = badge(page)
    assert count >= 2  # the new task and the urge, at least
    assert badge(client.get("/tasks", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)) == count
    message_id = int(re.search(r'id="message-(\d+)"', page).group(1))
    refused = client.post(f"/inbox/{message_id}/read")  # no CSRF token: nothing is marked
    assert refused.status_code == 400
    marked = client.post(f"/inbox/{message_id}/read", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    after = marked.get_data(as_text=True)
    assert badge(after) == count - 1
    unread = client.get("/inbox?unread=1", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert f'id="message-{message_id}"' not in unread
    cleared = client.post("/inbox/read-all", data={"csrf_token": csrf_from(after)}, follow_redirects=True)
    assert badge(cleared.get_data(as_text=True)) == 0 and 'id="unread-count"' not in cleared.get_data(as_text=True)
    login(client, "zhangwei")
    assert badge(client.get("/inbox").get_data(as_text=True)) >= 1  # zhangwei's own marks are untouched


def test_another_units_message_cannot_be_marked_from_the_page(app, client, factory, drain, intake_token, login):
    task_id = zero_tolerance_task(client, factory, drain, intake_token)
    urge(client, task_id)
    message_id = next(m["id"] for m in about(inbox(client, user_token(client, "dongcheng")), task_id)
                      if m["kind"] == "supervision_urge")
    login(client, "xicheng")
    page = client.get("/inbox")
    assert page.status_code == 200 and f'id="message-{message_id}"' not in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    assert client.post(f"/inbox/{message_id}/read", data={"csrf_token": token}).status_code == 404
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/inbox").status_code == 302


def test_the_daily_summary_reads_as_a_sentence(client, factory):
    with factory() as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == "JD-DC"))
        outbox.write(session, [outbox.message("digest:inbox-test", "digest", f"unit:{unit_id}",
                                              {"day": "2026-12-01", "open": 3, "overdue": 1, "tasks": []},
                                              clock.now())])
        session.commit()
    data = inbox(client, user_token(client, "dongcheng"))
    summary = next(m for m in data["messages"] if m["kind"] == "digest")
    assert summary["title"] == "每日汇总" and summary["message"] == "未办结任务 3 件，其中超期 1 件"
    assert summary["task"] is None
    assert all(m["kind"] != "digest" or m["id"] != summary["id"]
               for m in inbox(client, user_token(client, "xicheng"))["messages"])


def test_a_step_naming_its_body_shows_the_bodys_name(client, factory):
    with factory() as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == "JD-DC"))
        outbox.write(session, [outbox.message("step:inbox-test-body", "order", f"unit:{unit_id}",
                                              {"action": "order", "tier": 4, "chain": [],
                                               "body": {"tier": 4, "name": {"zh": "城管委办公室",
                                                                            "en": "Committee office"}}},
                                              clock.now())])
        session.commit()
    step = next(m for m in inbox(client, user_token(client, "dongcheng"))["messages"] if m["kind"] == "order")
    assert step["title"] == "督办" and step["from"] == "时限流程 · 城管委办公室"


def test_a_published_weekly_bulletin_reaches_every_unit_with_its_title_and_pdf(client, factory, session):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from engine.assessment import issues
    from tests.helpers import no_bulletin_issues

    no_bulletin_issues(session)
    with factory() as s:
        (issue_id,) = issues.run_due(s, now=datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    token = user_token(client, "xicheng")
    mine = [m for m in inbox(client, token)["messages"] if m["kind"] == "bulletin_published"]
    assert len(mine) == 1, "the sub-district's account reads the issue once (its copy and the squad's are one)"
    assert mine[0]["title"] == "周通报" and "督查通报" in mine[0]["message"], mine[0]
    assert "第" in mine[0]["message"] and "期" in mine[0]["message"]
    assert client.get(mine[0]["link"]["url"], headers=bearer(token)).status_code in (200, 302)


def test_a_bulletin_reads_once_in_an_account_of_several_units_and_other_copies_of_sub_units_stay(
        client, factory, session):
    """A sub-district's account reads its unit and the squad under it: the issue's copy to each is one message,
    one unread; messages to those units that differ (a digest each) are still both there."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from engine.assessment import issues
    from engine.core.models import User
    from tests.helpers import no_bulletin_issues

    no_bulletin_issues(session)
    tokens = {name: user_token(client, name) for name in ("dongcheng", "dc_point", "squad_dc")}
    before = {name: inbox(client, token)["unread"] for name, token in tokens.items()}
    with factory() as s:
        (issue_id,) = issues.run_due(s, now=datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
        units = (s.scalar(select(Unit.id).where(Unit.code == "JD-DC")),
                 s.scalar(select(User.unit_id).where(User.username == "squad_dc")))
        outbox.write(s, [outbox.message(f"digest-test-{unit}-{issue_id}", "digest", f"unit:{unit}",
                                        {"open": n, "overdue": 0}, clock.now()) for n, unit in enumerate(units, 1)])
        s.commit()
    for name, token in tokens.items():
        data = inbox(client, token)
        bulletins = [m for m in data["messages"] if m["kind"] == "bulletin_published"]
        assert len(bulletins) == 1 and not bulletins[0]["read"], (name, bulletins)
        assert data["unread"] == before[name] + 1 + sum(m["kind"] == "digest" and not m["read"]
                                                        and m["id"] > bulletins[0]["id"] for m in data["messages"])
    digests = {m["message"] for m in inbox(client, tokens["dongcheng"])["messages"] if m["kind"] == "digest"}
    assert {"未办结任务 1 件，其中超期 0 件", "未办结任务 2 件，其中超期 0 件"} <= digests  # the squad's too
