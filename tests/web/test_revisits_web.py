"""The citizen's and the hotline's side through the real interfaces (issue 14 point 8): the closing and the
reopening reach the hotline platform's webhook (a real HTTP receiver), the platform revisits its own cases with its
intake token, Open311 reads closed with the closing text or the refusal reason, and the dispatcher revisits and
reopens from the 待回访 queue and the case page."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.accounts.users import issue_intake_token
from engine.cases.closing import close_case, lead_task
from engine.cases.replies import reply_to_source
from engine.cases.verification import Photo, verify
from engine.core import clock
from engine.core.models import Case, CaseRevisit, Event, OutboxMessage, Recipient, Task, User
from engine.delivery import outbox as delivery
from engine.evaluation.filing import refuse_case
from engine.handling.tasks import apply
from tests.helpers import answered, bearer, csrf_from, event, jpeg, local_time, unique, user_token

HOTLINE = "hotline-12345"  # the demo's hotline platform (the `intake_token` fixture)
SPOT = {"lat": 35.025, "long": 110.995}  # inside DC-01


@pytest.fixture()
def receiver():
    """A hotline platform's reply endpoint on 127.0.0.1, allowed by the webhook allow-list for the test."""
    received: list[tuple[dict[str, str], dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((dict(self.headers), json.loads(body.decode("utf-8"))))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/replies", received
    server.shutdown()
    server.server_close()


def user(session, name: str) -> User:
    return session.scalar(select(User).where(User.username == name))


def checked(session, case_id: int) -> None:
    """The lead unit handles its task and the checker passes it; the cooperating units (the night squad of a
    barbecue) have answered the lead."""
    answered(session, session.get(Case, case_id), clock.now())
    task = lead_task(session.get(Case, case_id))
    unit_user = "dongcheng" if task.unit.code == "JD-DC" else task.unit.code
    for action, who in (("sign", unit_user), ("start", unit_user), ("submit", unit_user), ("pass_check", "checker")):
        task = session.get(Task, task.id)
        apply(session, task, action, user(session, who), "已整改", expected_version=task.version)
    session.commit()


def outbox_caught_up(session) -> None:
    """Deliver what files before left due, as the delivery worker keeps the outbox in a running service: a delivery
    run takes the 500 oldest due rows, so a backlog would hold this test's own reply back (and rows not yet fanned
    out would fan out to the test's webhook once it is registered)."""
    due = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending",
                                                                OutboxMessage.next_attempt_at <= clock.now())
    while session.scalar(due):
        delivery.deliver_due(session)


def case_of(client, token: str, event_id: int) -> int:
    return client.get(f"/api/v1/events/{event_id}", headers=bearer(token)).get_json()["case"]["id"]


def test_the_hotline_hears_the_closing_revisits_with_its_own_token_and_hears_the_reopening(
        client, intake_token, patrol_token, drain, session, receiver, monkeypatch):
    monkeypatch.setenv("CIVICRULES_WEBHOOK_ALLOW", "127.0.0.1/32")
    url, received = receiver
    outbox_caught_up(session)
    session.add(Recipient(name="12345 回复", scope="source", source=HOTLINE, channel="webhook", address=url,
                          language="zh", enabled=True))
    session.commit()
    order = unique("12345-")
    posted = client.post("/api/v1/events", json=event("06029", "DC-01", hour=23, source_event_id=order),
                         headers=bearer(intake_token))  # a zero-tolerance item: filed and dispatched at once
    assert posted.status_code == 202
    drain()
    admin, leader = user_token(client, "admin"), user_token(client, "shift_leader")
    case_id = case_of(client, admin, posted.get_json()["id"])
    checked(session, case_id)

    closed = client.post(f"/api/v1/cases/{case_id}/close", json={"comment": "已取缔烧烤摊"}, headers=bearer(leader))
    assert closed.status_code == 200 and closed.get_json()["stage"] == "closed"
    [row] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "case_reply")
                            .where(OutboxMessage.payload["case"].as_integer() == case_id)).all()
    assert reply_to_source(session, case_id, clock.now()) == [row.idempotency_key]  # written once per move
    session.commit()
    delivery.deliver_due(session)
    [(headers, body)] = received
    assert headers["Idempotency-Key"] == row.idempotency_key and body["title"] == "案件办理情况回复"
    reply = body["payload"]
    assert (reply["case"], reply["source_event_ids"], reply["outcome"]) == (case_id, [order], "closed")
    assert "已取缔烧烤摊" in reply["message"] and reply["closing_condition"]
    assert datetime.fromisoformat(reply["at"]).utcoffset() == timedelta(hours=8)
    delivery.deliver_due(session)
    assert len(received) == 1

    revisit = f"/api/v1/cases/{case_id}/revisit"
    assert client.post(revisit, json={"reached": True, "rating": "satisfied", "resolved": True},
                       headers=bearer(patrol_token)).status_code == 404  # another source's token
    assert client.post(revisit, json={"reached": True, "rating": "satisfied", "resolved": True},
                       headers=bearer(user_token(client, "dongcheng"))).status_code == 403
    bad = client.post(revisit, json={"reached": True, "rating": "great", "resolved": "yes"},
                      headers={**bearer(intake_token), "Accept-Language": "zh-CN"})
    assert bad.status_code == 422 and "满意、基本满意或不满意" in str(bad.get_json())
    assert session.scalar(select(func.count()).select_from(CaseRevisit).where(CaseRevisit.case_id == case_id)) == 0
    done = client.post(revisit, json={"reached": True, "rating": "not_satisfied", "resolved": False,
                                      "comment": "12345 回访：仍有烧烤"}, headers=bearer(intake_token))
    assert done.status_code == 200, done.get_json()
    shown = done.get_json()
    assert shown["stage"] == "revisited" and shown["revisits"][0]["source"] == HOTLINE
    assert shown["revisits"][0]["rating"] == "not_satisfied" and shown["revisits"][0]["resolved"] is False

    dispatcher = user_token(client, "dispatcher")
    empty = client.post(f"/api/v1/cases/{case_id}/reopen", json={"reason": ""},
                        headers={**bearer(dispatcher), "Accept-Language": "zh-CN"})
    assert empty.status_code == 422 and "重启" in str(empty.get_json())
    reopened = client.post(f"/api/v1/cases/{case_id}/reopen", json={"reason": "回访不满意，重新处置"},
                           headers=bearer(dispatcher))
    body = reopened.get_json()
    assert reopened.status_code == 200 and body["stage"] == "dispatched"
    assert [s["to"] for s in body["stages"]][-4:] == ["closed", "revisited", "reopened", "dispatched"]
    assert session.get(Task, body["task"]).reopening == 1
    delivery.deliver_due(session)
    assert [b["payload"]["outcome"] for _h, b in received] == ["closed", "reopened"]
    assert received[1][1]["payload"]["message"] == "回访不满意，重新处置"


def test_open311_reads_closed_with_the_closing_text_or_the_refusal_reason(client, drain, session, tmp_path):
    token = issue_intake_token(session, unique("citizen-app"), "citizen")
    session.commit()
    night = datetime.fromisoformat(local_time(23))
    clock.set_clock(lambda: night)
    filed = client.post("/open311/v2/requests.json", data={"api_key": token, "service_code": "06029", **SPOT})
    assert filed.status_code == 201
    request_id = filed.get_json()[0]["service_request_id"]
    drain()
    assert client.get(f"/open311/v2/requests/{request_id}.json").get_json()[0]["status"] == "open"
    case_id = session.get(Event, int(request_id)).case_id
    checked(session, case_id)
    close_case(session, case_id, "", user(session, "shift_leader"), clock.now(), "烧烤摊已清理")
    session.commit()
    [shown] = client.get(f"/open311/v2/requests/{request_id}.json?lang=zh-CN").get_json()
    assert shown["status"] == "closed"
    assert shown["status_notes"].startswith("已处置结案：") and "烧烤摊已清理" in shown["status_notes"]
    [english] = client.get(f"/open311/v2/requests/{request_id}.json?lang=en").get_json()
    assert english["status_notes"].startswith("Handled and closed: ")

    day = datetime.fromisoformat(local_time(10))
    clock.set_clock(lambda: day)
    daytime = client.post("/open311/v2/requests.json", data={"api_key": token, "service_code": "09005", **SPOT})
    daytime_id = daytime.get_json()[0]["service_request_id"]
    drain()
    [waiting] = client.get(f"/open311/v2/requests/{daytime_id}.json?lang=zh-CN").get_json()
    assert waiting["status"] == "open" and "核实" in waiting["status_notes"]
    case = session.get(Event, int(daytime_id)).case
    verify(session, case, user(session, "collector"), "not_found", "现场无店外经营", None,
           [Photo("spot.jpg", jpeg())], tmp_path, 5 * 2**20, night.tzinfo, day + timedelta(minutes=20))
    refuse_case(session, case.id, "现场未发现店外经营", user(session, "shift_leader"), day + timedelta(minutes=30))
    session.commit()
    [refused] = client.get(f"/open311/v2/requests/{daytime_id}.json?lang=zh-CN").get_json()
    assert refused["status"] == "closed" and refused["status_notes"] == "不予立案：现场未发现店外经营"


def test_the_dispatcher_revisits_from_the_queue_and_reopens_on_the_case_page(app, client, patrol_token, drain,
                                                                             session, login):
    posted = client.post("/api/v1/events", json=event("09005", "DC-03", hour=10), headers=bearer(patrol_token))
    drain()
    case_id = case_of(client, user_token(client, "admin"), posted.get_json()["id"])
    checked(session, case_id)
    close_case(session, case_id, "", user(session, "shift_leader"), clock.now(), "已整改")
    session.commit()

    app.config["WTF_CSRF_ENABLED"] = True
    login(client, "dispatcher")
    assert "待回访" in client.get("/?lang=zh-CN").get_data(as_text=True)
    queue = client.get("/cases?queue=revisit&lang=zh-CN").get_data(as_text=True)
    assert f'id="case-{case_id}"' in queue and "待回访" in queue
    page = client.get(f"/cases/{case_id}?lang=zh-CN").get_data(as_text=True)
    assert 'id="revisit-form"' in page and 'id="reopen-form"' not in page
    token = csrf_from(page)
    missing = client.post(f"/cases/{case_id}/revisit?lang=zh-CN", data={"csrf_token": token, "reached": "yes"})
    text = missing.get_data(as_text=True)
    assert missing.status_code == 422 and "请选择满意、基本满意或不满意" in text and "请选择上报人是否认为问题已解决" in text
    assert session.get(Case, case_id).stage == "closed"
    recorded = client.post(f"/cases/{case_id}/revisit", data={
        "csrf_token": token, "reached": "yes", "rating": "not_satisfied", "resolved": "no", "comment": "仍在经营"})
    assert recorded.status_code == 302
    page = client.get(f"/cases/{case_id}?lang=zh-CN").get_data(as_text=True)
    assert 'id="reopen-form"' in page and "不满意" in page and "未解决" in page
    no_reason = client.post(f"/cases/{case_id}/reopen?lang=zh-CN", data={"csrf_token": token, "reason": " "})
    assert no_reason.status_code == 422 and "请填写重启案件的理由" in no_reason.get_data(as_text=True)
    assert client.post(f"/cases/{case_id}/reopen", data={"csrf_token": token, "reason": "群众不满意"}).status_code == 302
    session.expire_all()
    case = session.get(Case, case_id)
    assert case.stage == "dispatched" and [t.reopening for t in case.tasks if t.unit_id == case.lead_unit_id] == [0, 1]
    tasks = client.get(f"/cases/{case_id}?lang=zh-CN").get_data(as_text=True)
    assert "(重启前)" in tasks and "(主办)" in tasks and "(协办)" not in tasks  # the first round is not a 协办

    client.get("/logout")
    login(client, "collector")
    assert client.get("/cases?queue=revisit").status_code == 404


def test_the_bulletin_shows_the_three_rates_with_the_other_indicators(client, login):
    login(client, "admin")
    page = client.get("/assessment/bulletins/2026-03?lang=zh-CN").get_data(as_text=True)
    assert all(label in page for label in ("响应率", "解决率", "满意率", "受理案件数", "参评案件数"))
    english = client.get("/assessment/bulletins/2026-03?lang=en").get_data(as_text=True)
    assert all(label in english for label in ("Response rate", "Resolution rate", "Satisfaction rate"))
    xlsx = client.get("/assessment/bulletins/2026-03.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
