"""Importing a hotline export through the admin: column mapping guessed from Chinese headers, a dry run
naming each bad row, the import as a real RQ job with progress, and a re-import that creates nothing."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from openpyxl import Workbook
from rq import SimpleWorker
from sqlalchemy import func, select

from engine.core.models import Event, ImportRun
from tests.helpers import csrf_from, local_time, unique

HEADERS = ["工单编号", "问题类别代码", "受理时间", "网格", "问题描述"]


def workbook(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def naive_local(hour: int) -> str:
    """'2026-11-21 23:00' as a hotline export writes it: local time without an offset."""
    return local_time(hour)[:16].replace("T", " ")


@pytest.fixture()
def admin_client(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    login(client, "admin")
    return client


def upload(client, data: bytes, name: str, source: str):
    page = client.get("/admin/import/").get_data(as_text=True)
    return client.post("/admin/import/", data={"csrf_token": csrf_from(page), "source": source,
                                               "source_type": "hotline", "timezone": "Asia/Shanghai",
                                               "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def run_worker(settings, redis_url):
    from workers.queues import connection, on_demand_queue

    conn = connection(settings)
    SimpleWorker([on_demand_queue(settings, conn)], connection=conn).work(burst=True)


def count_source(session, source: str) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Event).where(Event.source == source))


def test_dry_run_names_bad_rows_then_the_import_job_creates_events_once(admin_client, session, settings, redis_url):
    source = unique("hotline-export")
    ids = [unique("gd") for _ in range(6)]
    data = workbook([
        [ids[0], "06029", naive_local(23), "DC-01", "夜间烧烤"],
        [ids[1], "06029", naive_local(22), "DC-02", "夜间烧烤"],
        [ids[2], "99999", naive_local(22), "DC-02", "类别错误"],
        [ids[3], "06029", "昨天晚上", "DC-03", "时间错误"],
        [ids[4], "06029", naive_local(21), "DC-04", "夜间烧烤"],
        [ids[5], "06029", naive_local(20), "XC-01", "夜间烧烤"],
    ])
    response = upload(admin_client, data, "12345导出.xlsx", source)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    mapping_url = response.headers["Location"]
    page = admin_client.get(mapping_url).get_data(as_text=True)
    assert re.search(r'<option selected value="工单编号">', page)  # guessed from the header

    fields = {"source_event_id": "工单编号", "category": "问题类别代码", "occurred_at": "受理时间", "grid": "网格",
              "description": "问题描述"}
    dry = admin_client.post(mapping_url, data={"csrf_token": csrf_from(page), "action": "dry_run", **fields})
    html = dry.get_data(as_text=True)
    assert "6 行：4 行有效" in html and "2 行被拒绝" in html
    bad = re.findall(r"<tr><td>(\d+)</td><td>(\w+)</td><td>([^<]+)</td></tr>", html)
    assert [(row, field) for row, field, _ in bad] == [("4", "category"), ("5", "occurred_at")]
    assert "未知的问题类别" in bad[0][2]
    assert count_source(session, source) == 0  # a dry run writes nothing

    started = admin_client.post(mapping_url, data={"csrf_token": csrf_from(html), "action": "import", **fields})
    assert started.status_code == 302 and started.headers["Location"].endswith("/progress")
    run_worker(settings, redis_url)
    run_id = int(re.search(r"/import/(\d+)/", mapping_url).group(1))
    progress = admin_client.get(f"/admin/import/{run_id}/progress.json").get_json()
    assert progress == {"status": "done", "status_name": "已完成", "total": 6, "processed": 6, "created": 4,
                        "duplicates": 0, "refused": 2, "error": None}
    assert count_source(session, source) == 4
    assert "progress-bar" in admin_client.get(f"/admin/import/{run_id}/progress").get_data(as_text=True)

    again = upload(admin_client, data, "12345导出.xlsx", source)
    page = admin_client.get(again.headers["Location"]).get_data(as_text=True)
    admin_client.post(again.headers["Location"], data={"csrf_token": csrf_from(page), "action": "import", **fields})
    run_worker(settings, redis_url)
    second = int(re.search(r"/import/(\d+)/", again.headers["Location"]).group(1))
    assert admin_client.get(f"/admin/import/{second}/progress.json").get_json()["duplicates"] == 4
    assert count_source(session, source) == 4


def test_a_gb18030_csv_with_coordinates_and_a_cancelled_run(admin_client, session, factory):
    from engine.intake import imports

    source = unique("patrol-export")
    text = "编号,类别,发生时间,纬度,经度\n" + f"{unique('x')},06029,{naive_local(23)},35.025,110.995\n"
    response = upload(admin_client, text.encode("gb18030"), "巡查.csv", source)
    run_id = int(re.search(r"/import/(\d+)/", response.headers["Location"]).group(1))
    job = session.get(ImportRun, run_id)
    assert job.mapping == {"source_event_id": "编号", "category": "类别", "occurred_at": "发生时间",
                           "lat": "纬度", "lon": "经度"}
    assert imports.dry_run(session, job)["valid"] == 1
    job.status = "cancelling"
    session.commit()
    assert imports.run(factory, run_id).status == "cancelled"
    assert count_source(session, source) == 0


def test_a_file_that_is_not_a_table_is_refused_and_nothing_is_kept(admin_client, session, instance):
    before = session.scalar(select(func.count()).select_from(ImportRun))
    refused = upload(admin_client, b"\x89PNG\r\n\x1a\nnot a sheet", "photo.xlsx", unique("s"))
    assert refused.status_code == 200 and "无法读取的 XLSX 工作簿" in refused.get_data(as_text=True)
    refused = upload(admin_client, b"a,b\n", "notes.txt", unique("s"))
    assert "须为 .csv 或 .xlsx 文件" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ImportRun)) == before
    folder = Path(instance) / "imports"
    assert not folder.exists() or all(p.suffix in (".csv", ".xlsx") for p in folder.iterdir())


def test_a_row_claiming_another_source_type_is_refused_with_its_row_and_callers_are_kept(admin_client, session,
                                                                                        factory):
    from engine.intake import imports

    source = unique("hotline-export")
    ids = [unique("gd") for _ in range(3)]
    text = ("工单编号,问题类别代码,受理时间,网格,来源类型,来电人,来电号码\n"
            f"{ids[0]},06029,{naive_local(23)},DC-01,hotline,李女士,0359-2021234\n"
            f"{ids[1]},06029,{naive_local(22)},DC-02,inspection,王先生,13900001234\n"
            f"{ids[2]},06029,{naive_local(21)},DC-03,,,\n")
    response = upload(admin_client, text.encode("utf-8"), "12345.csv", source)  # the run's source type: hotline
    mapping_url = response.headers["Location"]
    run_id = int(re.search(r"/import/(\d+)/", mapping_url).group(1))
    job = session.get(ImportRun, run_id)
    assert {k: job.mapping[k] for k in ("source_type", "reporter_name", "reporter_phone")} == {
        "source_type": "来源类型", "reporter_name": "来电人", "reporter_phone": "来电号码"}

    page = admin_client.get(mapping_url).get_data(as_text=True)
    fields = {"source_event_id": "工单编号", "category": "问题类别代码", "occurred_at": "受理时间", "grid": "网格",
              "source_type": "来源类型"}
    html = admin_client.post(mapping_url, data={"csrf_token": csrf_from(page), "action": "dry_run", **fields}
                             ).get_data(as_text=True)
    bad = re.findall(r"<tr><td>(\d+)</td><td>(\w+)</td><td>([^<]+)</td></tr>", html)
    assert [(row, field) for row, field, _ in bad] == [("3", "source_type")]
    assert "不能声明为 inspection" in bad[0][2]
    assert count_source(session, source) == 0

    job = session.get(ImportRun, run_id)
    job.mapping = imports.guess_mapping(["工单编号", "问题类别代码", "受理时间", "网格", "来源类型", "来电人", "来电号码"])
    session.commit()
    done = imports.run(factory, run_id)
    assert (done.created, done.refused) == (2, 1)
    assert [(r["row"], [p["field"] for p in r["problems"]]) for r in done.report] == [(3, ["source_type"])]
    events = {e.source_event_id: e for e in session.scalars(select(Event).where(Event.source == source))}
    assert set(events) == {ids[0], ids[2]}
    assert (events[ids[0]].source_type, events[ids[0]].reporter_name, events[ids[0]].reporter_phone) == (
        "hotline", "李女士", "03592021234")
    assert (events[ids[2]].source_type, events[ids[2]].reporter_name, events[ids[2]].reporter_phone) == (
        "hotline", None, None)
