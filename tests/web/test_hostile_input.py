"""Issue 19 points 6 and 7: every malformed input gets a 4xx with a bilingual reason, and one bad item of a
batch or an import spoils nothing else."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.core.models import Event
from tests.helpers import bearer, csrf_from, event


def _events(session) -> int:
    return session.scalar(select(func.count(Event.id)))


def test_a_nul_byte_in_a_json_field_is_refused_by_name_and_nothing_is_stored(client, intake_token, session):
    before = _events(session)
    answer = client.post("/api/v1/events", json=event(description="bad\x00text"), headers=bearer(intake_token))
    assert answer.status_code == 400
    assert answer.json["errors"] == [{"field": "description", "message": "文本中含有空字符（NUL）"}]
    assert _events(session) == before
    english = client.post("/api/v1/events", json=event(address="a\x00"),
                          headers={**bearer(intake_token), "Accept-Language": "en"})
    assert english.json["errors"] == [{"field": "address", "message": "the text holds a NUL byte"}]


def test_a_nul_byte_in_a_query_or_a_form_field_is_refused(client, intake_token):
    query = client.get("/api/v1/tasks?status=open%00", headers=bearer(intake_token))
    assert query.status_code == 400 and query.json["errors"][0]["field"] == "status"
    token = csrf_from(client.get("/login?lang=en").get_data(as_text=True))
    page = client.post("/login?lang=en", data={"username": "admin\x00", "password": "x", "csrf_token": token})
    assert page.status_code == 400
    assert "username: the text holds a NUL byte" in page.get_data(as_text=True)
    open311 = client.get("/open311/v2/requests.json?service_code=06029%00")
    assert open311.status_code == 400 and "service_code" in open311.json[0]["description"]


def test_deeply_nested_json_is_refused_with_400(client, intake_token, session):
    before = _events(session)
    for depth in (40, 100_000):
        body = "[" * depth + "]" * depth
        answer = client.post("/api/v1/events", data=body, content_type="application/json",
                             headers={**bearer(intake_token), "Accept-Language": "en"})
        assert answer.status_code == 400, depth
        assert answer.json["errors"][0]["message"] == "nested more than 32 levels deep"
    batch = client.post("/api/v1/events/batch", data='{"events": ' + "[" * 100_000 + "]" * 100_000 + "}",
                        content_type="application/json", headers=bearer(intake_token))
    assert batch.status_code == 400
    assert _events(session) == before


def test_open311_ids_that_are_not_ascii_digits_or_too_large_are_not_found(client):
    for request_id in ("²", "9" * 25, str(2**63)):
        answer = client.get(f"/open311/v2/requests/{request_id}.json")
        assert answer.status_code == 404, request_id
    for ids in ("²", str(2**63), "1,²"):
        listing = client.get("/open311/v2/requests.json", query_string={"service_request_id": ids})
        assert listing.status_code == 400, ids
        assert "service_request_id" in listing.json[0]["description"]


def test_one_nul_item_of_a_batch_is_refused_and_the_others_are_stored(client, intake_token, session):
    good, bad, other = event(), event(description="x\x00y"), event()
    answer = client.post("/api/v1/events/batch", json={"events": [good, bad, other]}, headers=bearer(intake_token))
    assert answer.status_code == 207
    assert answer.json["accepted"] == 2 and answer.json["refused"] == 1
    refused = answer.json["results"][1]
    assert refused["status"] == "refused" and refused["errors"][0]["field"] == "description"
    stored = set(session.scalars(select(Event.source_event_id).where(
        Event.source_event_id.in_([good["source_event_id"], bad["source_event_id"], other["source_event_id"]]))))
    assert stored == {good["source_event_id"], other["source_event_id"]}


def test_a_negative_or_huge_admin_page_number_is_a_400(client, login):
    login(client, "admin")
    assert client.get("/admin/event/?page=1").status_code == 200
    for query in ("page=-1", "page=99999999999999999999", "page_size=-5", "page=%C2%B2"):
        answer = client.get(f"/admin/event/?{query}&lang=en")
        assert answer.status_code == 400, query
        assert "must be a whole number from 0 to 1000000" in answer.get_data(as_text=True)
