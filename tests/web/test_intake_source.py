"""The source type is the token's, and the reporter's number is masked for everyone; only a role that contacts
reporters reads it whole, by an explicit request that the security audit log records:
real HTTP through Flask's test client, as an integrator's system and the bureau's staff would meet it."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.accounts.users import issue_intake_token
from engine.core.models import Event, SecurityAuditEntry
from tests.helpers import bearer, event, unique, user_token

PHONE = "138 0013-8000"  # as a hotline operator types it
STORED_PHONE = "13800138000"
MASKED_PHONE = "138****8000"


def all_events(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Event))


def stored(session, event_id: int) -> Event:
    session.expire_all()
    return session.get(Event, event_id)


def errors(response) -> dict[str, str]:
    assert response.status_code == 422 and response.mimetype == "application/problem+json", response.get_data()
    return {e["field"]: e["message"] for e in response.get_json()["errors"]}


@pytest.fixture()
def camera_token(session) -> str:
    token = issue_intake_token(session, unique("camera"), "camera")
    session.commit()
    return token


def test_a_hotline_token_claiming_inspection_is_refused_in_both_languages_and_nothing_is_stored(
        client, intake_token, session):
    before = all_events(session)
    body = event(source_type="inspection")
    chinese = client.post("/api/v1/events", json=body, headers={**bearer(intake_token), "Accept-Language": "zh-CN"})
    assert errors(chinese) == {"source_type": "该来源的事件类型为 hotline，不能声明为 inspection；"
                                              "请省略 source_type 或填写 hotline"}
    english = client.post("/api/v1/events", json=body, headers={**bearer(intake_token), "Accept-Language": "en"})
    assert "may not claim inspection" in errors(english)["source_type"]

    batch = client.post("/api/v1/events/batch", json={"events": [event(source_type="patrol"), body]},
                        headers={**bearer(intake_token), "Accept-Language": "en"})
    assert batch.status_code == 207 and batch.get_json()["accepted"] == 0
    assert [r["errors"][0]["field"] for r in batch.get_json()["results"]] == ["source_type", "source_type"]
    assert all_events(session) == before


def test_the_tokens_type_is_applied_when_the_payload_omits_or_repeats_it(client, intake_token, patrol_token,
                                                                          session):
    patrol = client.post("/api/v1/events", json=event(), headers=bearer(patrol_token))
    hotline = client.post("/api/v1/events", json=event(source_type="hotline"), headers=bearer(intake_token))
    assert patrol.status_code == hotline.status_code == 202
    assert stored(session, patrol.get_json()["id"]).source_type == "patrol"
    assert stored(session, hotline.get_json()["id"]).source_type == "hotline"
    read = client.get(f"/api/v1/events/{patrol.get_json()['id']}", headers=bearer(patrol_token)).get_json()
    assert read["source_type"] == "patrol" and read["confidence"] is None


def test_a_camera_reports_its_confidence_and_no_other_source_may(client, camera_token, patrol_token, session):
    camera = client.post("/api/v1/events", json=event(confidence=0.8), headers=bearer(camera_token))
    assert camera.status_code == 202
    row = stored(session, camera.get_json()["id"])
    assert (row.source_type, row.confidence) == ("camera", 0.8)
    read = client.get(f"/api/v1/events/{row.id}", headers=bearer(camera_token)).get_json()
    assert read["confidence"] == 0.8

    before = all_events(session)
    patrol = client.post("/api/v1/events", json=event(confidence=0.8),
                         headers={**bearer(patrol_token), "Accept-Language": "zh-CN"})
    assert set(errors(patrol)) == {"confidence"} and "仅视频监控" in errors(patrol)["confidence"]
    english = client.post("/api/v1/events", json=event(confidence=0.8),
                          headers={**bearer(patrol_token), "Accept-Language": "en"})
    assert "only camera sources" in errors(english)["confidence"]
    for wrong in (1.5, -0.1, "0.8", True):
        refused = client.post("/api/v1/events", json=event(confidence=wrong),
                              headers={**bearer(camera_token), "Accept-Language": "en"})
        assert errors(refused) == {"confidence": "a number from 0 to 1"}, wrong
    assert all_events(session) == before


def test_an_anonymous_report_keeps_no_name_and_no_phone(client, intake_token, session):
    body = event(reporter_name="李女士", reporter_phone=PHONE, anonymous=True)
    response = client.post("/api/v1/events", json=body, headers=bearer(intake_token))
    assert response.status_code == 202
    row = stored(session, response.get_json()["id"])
    assert (row.anonymous, row.reporter_name, row.reporter_phone) == (True, None, None)
    dispatcher = user_token(client, "dispatcher")
    read = client.get(f"/api/v1/events/{row.id}", headers=bearer(dispatcher)).get_json()
    assert read["anonymous"] is True and read["reporter"] is None


def test_bad_reporter_fields_are_named_and_nothing_is_stored(client, intake_token, session):
    before = all_events(session)
    body = event(reporter_name="张" * 65, reporter_phone="call me", anonymous="yes")
    response = client.post("/api/v1/events", json=body, headers={**bearer(intake_token), "Accept-Language": "zh-CN"})
    found = errors(response)
    assert set(found) == {"reporter_name", "reporter_phone", "anonymous"}
    assert found["reporter_phone"] == "电话号码须为 6–30 位数字（可带前导 +）"
    for phone in ("12345", "1" * 31, "１３８００１３８０００"):  # too short, too long, full-width digits
        assert "reporter_phone" in errors(client.post("/api/v1/events", json=event(reporter_phone=phone),
                                                      headers=bearer(intake_token)))
    assert all_events(session) == before


def test_the_reporters_phone_is_masked_for_all_and_shown_whole_only_on_a_logged_request(client, intake_token,
                                                                                         session, drain):
    body = event("06029", "DC-01", hour=23, reporter_name="王先生", reporter_phone=PHONE)
    event_id = client.post("/api/v1/events", json=body, headers=bearer(intake_token)).get_json()["id"]
    assert stored(session, event_id).reporter_phone == STORED_PHONE
    drain()  # the field unit reads the event through its task (ZT4 goes to JD-DC)

    def reporter(token: str) -> dict:
        response = client.get(f"/api/v1/events/{event_id}", headers=bearer(token))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["reporter"]

    dispatcher = user_token(client, "dispatcher")
    for token in (dispatcher, user_token(client, "shift_leader"), user_token(client, "auditor"),
                  user_token(client, "dongcheng"), intake_token):  # the field unit; the sender reads it back masked
        assert reporter(token) == {"name": "王先生", "phone": MASKED_PHONE}

    def views() -> list[tuple[str, str | None]]:
        session.expire_all()
        return list(session.execute(select(SecurityAuditEntry.username, SecurityAuditEntry.subject).where(
            SecurityAuditEntry.kind == "reporter_phone", SecurityAuditEntry.subject == f"event {event_id}")))

    for username in ("auditor", "admin", "dongcheng"):  # roles that never call a reporter: refused, nothing logged
        denied = client.post(f"/api/v1/events/{event_id}/reporter-phone", headers=bearer(user_token(client, username)))
        assert denied.status_code == 403
    assert views() == []
    shown = client.post(f"/api/v1/events/{event_id}/reporter-phone", headers=bearer(dispatcher))
    assert shown.status_code == 200 and shown.get_json() == {"event": event_id, "phone": STORED_PHONE}
    assert shown.headers["Cache-Control"] == "no-store"
    assert views() == [("dispatcher", f"event {event_id}")]


def test_the_admin_event_list_masks_the_phone_for_every_reader(app, session, intake_token, login):
    named = app.test_client().post("/api/v1/events", json=event(reporter_name="赵先生", reporter_phone=PHONE),
                                   headers=bearer(intake_token)).get_json()["id"]
    hidden = app.test_client().post("/api/v1/events", json=event(reporter_phone=PHONE, anonymous=True),
                                    headers=bearer(intake_token)).get_json()["id"]

    def pages(username: str) -> tuple[str, str, str]:
        reader = app.test_client()
        login(reader, username)
        listing = reader.get("/admin/event/").get_data(as_text=True)
        named_page = reader.get(f"/admin/event/details/?id={named}").get_data(as_text=True)
        hidden_page = reader.get(f"/admin/event/details/?id={hidden}&lang=en").get_data(as_text=True)
        return listing, named_page, hidden_page

    listing, named_page, hidden_page = pages("auditor")
    assert "赵先生" in listing and MASKED_PHONE in listing and STORED_PHONE not in listing
    assert "赵先生" in named_page and MASKED_PHONE in named_page and STORED_PHONE not in named_page
    assert "Anonymous" in hidden_page and MASKED_PHONE not in hidden_page and STORED_PHONE not in hidden_page

    listing, named_page, _ = pages("admin")  # the system administrator has no need of reporters' numbers
    assert MASKED_PHONE in listing and STORED_PHONE not in listing and STORED_PHONE not in named_page
