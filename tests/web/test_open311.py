"""Open311 GeoReport v2, driven by unmodified clients from PyPI over real HTTP: civicbot files a request
(form-encoded, api_key = an intake token) and georeport reads it back in JSON and XML."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine.accounts.users import issue_intake_token
from engine.core import clock
from engine.core.models import Event, Task
from tests.helpers import local_time, unique


@pytest.fixture()
def night():
    """Freeze the clock at 23:00 in Shanghai (a GeoReport request is filed 'now')."""
    instant = datetime.fromisoformat(local_time(23))
    clock.set_clock(lambda: instant)
    return instant


@pytest.fixture()
def citizen_token(session) -> str:
    """A citizen app's api_key: the source type whose requests GeoReport reads show."""
    token = issue_intake_token(session, unique("citizen-app"), "citizen")
    session.commit()
    return token


def test_civicbot_files_a_request_and_georeport_reads_it_back(live_server, citizen_token, drain, session, night):
    from civicbot.http import HttpTransport, RateLimiter
    from civicbot.open311 import Open311Client
    from civicbot.registry import Endpoint
    from georeport import GeoReport

    base = f"{live_server}/open311/v2"
    endpoint = Endpoint(id="civicrules", name="CivicRules", base_url=base, write=True)
    client = Open311Client(endpoint, transport=HttpTransport(rate_limiter=RateLimiter(min_interval=0)))
    services = client.list_services()
    barbecue = next(s for s in services if s["service_code"] == "06029")
    assert barbecue["service_name"] == "露天烧烤" and barbecue["metadata"] is True

    prepared = client.create_request("06029", dry_run=False, confirm="SEND", api_key=citizen_token,
                                     lat=35.025, lng=110.995, description="夜间露天烧烤，油烟扰民",
                                     media_url="https://photos.example.org/1.jpg", validate_remote=True)
    request_id = prepared.response[0]["service_request_id"]
    stored = session.get(Event, int(request_id))
    assert stored.grid.code == "DC-01" and stored.source_type == "citizen"
    assert stored.media_url == "https://photos.example.org/1.jpg"

    drain()
    session.expire_all()
    tasks = session.scalars(select(Task).where(Task.event_id == int(request_id))).all()
    primary = next(t for t in tasks if t.list_kind == "zero_tolerance")

    as_json = GeoReport(base).get_service_request(request_id)
    assert as_json["status"] == "open"
    assert as_json["agency_responsible"] == primary.unit.name_zh
    assert datetime.fromisoformat(as_json["expected_datetime"]) == primary.deadline_at.replace(microsecond=0)
    assert as_json["media_url"] == "https://photos.example.org/1.jpg"

    as_xml = GeoReport(base, output_format="xml").get_service_request(request_id)
    assert as_xml["service_request_id"] == request_id
    assert as_xml["agency_responsible"] == primary.unit.name_zh
    assert datetime.fromisoformat(as_xml["expected_datetime"]) == primary.deadline_at.replace(microsecond=0)

    listed = GeoReport(base).get_service_requests(service_request_id=request_id)
    assert [r["service_request_id"] for r in listed] == [request_id]
    services_xml = GeoReport(base, output_format="xml").get_service_list()
    assert any(s["service_code"] == "06029" for s in services_xml)


def test_an_address_alone_must_be_a_registered_one(client, intake_token, session, night):
    known = client.post("/open311/v2/requests.json", data={
        "api_key": intake_token, "service_code": "06029", "address_string": "东城区 解放路12号"})
    assert known.status_code == 201, known.get_json()
    event = session.get(Event, int(known.get_json()[0]["service_request_id"]))
    assert event.grid.code == "DC-01" and event.address == "东城区 解放路12号"

    before = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    unknown = client.post("/open311/v2/requests.json", data={
        "api_key": intake_token, "service_code": "06029", "address_string": "不存在路 1 号"})
    assert unknown.status_code == 400
    assert "address" in unknown.get_json()[0]["description"]
    outside = client.post("/open311/v2/requests.json", data={
        "api_key": intake_token, "service_code": "06029", "lat": "39.9", "long": "116.4"})
    assert outside.status_code == 201  # a place outside every grid is kept: its case waits in 待派遣
    session.expire_all()
    last = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    assert last == int(outside.get_json()[0]["service_request_id"]) and session.get(Event, last).grid_id is None
    assert session.scalar(select(Event.id).where(Event.id > before, Event.id < last)) is None  # the unknown address


def test_filing_needs_an_intake_token_and_errors_come_in_the_callers_format(client, intake_token):
    refused = client.post("/open311/v2/requests.xml", data={"service_code": "06029", "lat": "35.025",
                                                            "long": "110.995"})
    assert refused.status_code == 403 and refused.mimetype == "text/xml"
    assert b"<errors><error><code>403</code>" in refused.data
    unknown = client.post("/open311/v2/requests.json", data={"api_key": intake_token, "service_code": "99999",
                                                             "lat": "35.025", "long": "110.995"},
                          headers={"Accept-Language": "en"})
    assert unknown.status_code == 400 and "unknown category" in unknown.get_json()[0]["description"]
    assert client.get("/open311/v2/services/99999.json").status_code == 404
    too_wide = client.get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-11-01T00:00:00Z")
    assert too_wide.status_code == 400


def test_a_service_definition_lists_the_filing_conditions(client):
    definition = client.get("/open311/v2/services/06029.json").get_json()
    attribute = definition["attributes"][0]
    assert attribute["code"] == "filing_condition" and attribute["datatype"] == "singlevaluelist"
    assert attribute["values"]


def test_the_reporter_and_the_source_type_come_from_the_form_and_the_api_key(client, citizen_token, intake_token,
                                                                             session, night):
    filed = client.post("/open311/v2/requests.json", data={
        "api_key": citizen_token, "service_code": "06029", "lat": "35.025", "long": "110.995",
        "first_name": "伟", "last_name": "张", "phone": "139-0000-1234"})
    assert filed.status_code == 201, filed.get_json()
    event = session.get(Event, int(filed.get_json()[0]["service_request_id"]))
    assert (event.source_type, event.reporter_name, event.reporter_phone) == ("citizen", "张伟", "13900001234")
    public = client.get(f"/open311/v2/requests/{event.id}.json").get_data(as_text=True)
    assert "1390000" not in public and "张伟" not in public  # GeoReport reads are public: no reporter in them

    latin = client.post("/open311/v2/requests.json", data={
        "api_key": citizen_token, "service_code": "06029", "lat": "35.025", "long": "110.995",
        "first_name": "Jane", "last_name": "Doe"})
    assert session.get(Event, int(latin.get_json()[0]["service_request_id"])).reporter_name == "Jane Doe"

    hotline = client.post("/open311/v2/requests.json", data={
        "api_key": intake_token, "service_code": "06029", "lat": "35.025", "long": "110.995"})
    request_id = hotline.get_json()[0]["service_request_id"]
    assert session.get(Event, int(request_id)).source_type == "hotline"  # the token's type, not "citizen"
    assert client.get(f"/open311/v2/requests/{request_id}.json").status_code == 404  # hotline events stay internal

    bad_phone = client.post("/open311/v2/requests.json", data={
        "api_key": citizen_token, "service_code": "06029", "lat": "35.025", "long": "110.995", "phone": "x"},
        headers={"Accept-Language": "en"})
    assert bad_phone.status_code == 400
    assert bad_phone.get_json()[0]["description"] == "phone: a phone number of 6–30 digits (an optional leading +)"
