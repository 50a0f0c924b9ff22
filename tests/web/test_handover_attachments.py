"""交办 materials: the committee's files come with the hand-over, are checked by their content, stored with the
case in the same transaction and shown to the units of the case's tasks; a bad file refuses the whole hand-over
next to the file field and leaves nothing behind."""
from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, datetime

from sqlalchemy import func, select

from engine.cases.attachments import MAX_PER_CASE
from engine.core import clock
from engine.core.models import Case, CaseAttachment, Event, Task
from tests.helpers import bearer, csrf_from, jpeg, user_token

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
WORD = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
EXCEL = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
MACRO_WORD = "application/vnd.ms-word.document.macroEnabled.main+xml"


def office(main_part: str) -> bytes:
    """A minimal Office Open XML package whose [Content_Types].xml declares `main_part`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas'
                         '.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" '
                         f'ContentType="{main_part}"/></Types>')
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def _counts(session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(model)) for model in (Event, Case, Task,
                                                                                       CaseAttachment))


def _stored(settings) -> set[str]:
    folder = settings.evidence.dir / "attachments"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def _form(page: str, files: list[tuple[bytes, str]], **change) -> dict:
    data = {"csrf_token": csrf_from(page), "title": "清理东城老街积存杂物", "description": "附整改通知书与现场照片",
            "grid": "DC-01", "address": "", "lat": "", "lon": "", "lead": "JD-DC", "cooperating": ["HWZX"],
            "limit_value": "3", "limit_unit": "working_days",
            "attachments": [(io.BytesIO(content), name) for content, name in files]}
    return data | change


def _handover_page(app, client, login) -> str:
    clock.set_clock(lambda: NOW)
    app.config["WTF_CSRF_ENABLED"] = True
    login(client, "dispatcher")
    page = client.get("/handovers/new?lang=zh-CN").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="attachments"' in page and "multiple" in page
    return page


def _errors_of(html: str, field: str) -> str:
    return html.split(f'id="field-{field}"')[1].split('id="field-')[0]


def test_a_pdf_and_a_photo_come_with_the_handover_and_the_units_task_page_links_them(app, client, session, login,
                                                                                      settings):
    page = _handover_page(app, client, login)
    photo = jpeg()
    before = _counts(session)
    done = client.post("/handovers/new", data=_form(page, [(PDF, "整改通知书.pdf"), (photo, "现场.jpg")]),
                       content_type="multipart/form-data")
    assert done.status_code == 302, _errors_of(done.get_data(as_text=True), "attachments")
    assert _counts(session) == (before[0] + 1, before[1] + 1, before[2] + 2, before[3] + 2)
    case_id = session.scalar(select(func.max(Case.id)))
    rows = list(session.scalars(select(CaseAttachment).where(CaseAttachment.case_id == case_id)
                                .order_by(CaseAttachment.id)))
    assert [(r.original_name, r.content_type, r.size) for r in rows] == [
        ("整改通知书.pdf", "application/pdf", len(PDF)), ("现场.jpg", "image/jpeg", len(photo))]
    for row, content, extension in zip(rows, (PDF, photo), ("pdf", "jpg")):  # stored whole, by content hash
        assert row.sha256 == hashlib.sha256(content).hexdigest()
        assert row.stored_name == f"attachments/{row.sha256}.{extension}"
        assert (settings.evidence.dir / row.stored_name).read_bytes() == content

    login(client, "dongcheng")  # the lead unit opens its task: both files, by name and size
    task_id = int(done.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    task_page = client.get(f"/tasks/{task_id}?lang=zh-CN").get_data(as_text=True)
    section = task_page.split('id="attachments"')[1].split("</section>")[0]
    assert "附件" in section and "整改通知书.pdf" in section and "现场.jpg" in section and "KB" in section
    links = [f"/attachments/{r.id}" for r in rows]
    assert all(f'href="{link}"' in section for link in links)
    pdf = client.get(links[0])
    assert pdf.status_code == 200 and pdf.data == PDF and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"] and pdf.headers["X-Content-Type-Options"] == "nosniff"
    picture = client.get(links[1])
    assert picture.status_code == 200 and picture.data == photo and picture.mimetype == "image/jpeg"

    login(client, "shift_leader")  # and the case page for staff
    case_page = client.get(f"/cases/{case_id}?lang=en").get_data(as_text=True)
    assert "Attachments" in case_page and "整改通知书.pdf" in case_page and f'href="{links[0]}"' in case_page


def test_an_exe_renamed_pdf_refuses_the_whole_handover_next_to_the_file_field(app, client, session, login, settings):
    page = _handover_page(app, client, login)
    before, files = _counts(session), _stored(settings)
    program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
    bad = client.post("/handovers/new", data=_form(page, [(PDF, "通知.pdf"), (program, "通知书.pdf")]),
                      content_type="multipart/form-data")
    assert bad.status_code == 422
    shown = _errors_of(bad.get_data(as_text=True), "attachments")
    assert "通知书.pdf：不接受该文件，仅限 PDF、JPEG、PNG、WebP、Word（DOCX）或 Excel（XLSX）" in shown
    assert "通知.pdf：" not in shown  # the good file is not named as a problem
    assert _counts(session) == before and _stored(settings) == files  # no event, case, task, row or file

    english = client.post("/handovers/new?lang=en", data=_form(page, [(program, "notice.pdf")], title=""),
                          content_type="multipart/form-data").get_data(as_text=True)
    assert "notice.pdf: not an accepted file" in _errors_of(english, "attachments")
    assert "required" in _errors_of(english, "title")  # the other fields' problems come back at the same time
    assert _counts(session) == before and _stored(settings) == files


def test_a_file_over_the_size_limit_and_too_many_files_are_refused(app, client, session, login, settings):
    page = _handover_page(app, client, login)
    before, files = _counts(session), _stored(settings)
    huge = PDF + b"0" * settings.evidence.max_bytes
    answer = client.post("/handovers/new", data=_form(page, [(huge, "大文件.pdf")]),
                         content_type="multipart/form-data")
    assert answer.status_code == 422
    limit = f"{settings.evidence.max_bytes / 2**20:g}"
    assert f"大文件.pdf：单个文件不得超过 {limit} MB" in _errors_of(answer.get_data(as_text=True), "attachments")
    many = client.post("/handovers/new", data=_form(page, [(PDF, f"{n}.pdf") for n in range(MAX_PER_CASE + 1)]),
                       content_type="multipart/form-data")
    assert many.status_code == 422
    assert f"每个案件最多 {MAX_PER_CASE} 个附件" in _errors_of(many.get_data(as_text=True), "attachments")
    assert _counts(session) == before and _stored(settings) == files


def _handed_over(client) -> int:
    answer = client.post("/api/v1/handovers", headers=bearer(user_token(client, "dispatcher")), json={
        "title": "老街商户占道经营", "grid": "DC-01", "lead": "JD-DC", "limit": {"value": 3, "unit": "working_days"}})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def test_the_api_attaches_word_and_excel_and_only_the_cases_units_and_staff_fetch_them(app, client, session,
                                                                                      login):
    clock.set_clock(lambda: NOW)
    case_id = _handed_over(client)
    dispatcher = bearer(user_token(client, "dispatcher"))
    word, excel = office(WORD), office(EXCEL)
    answer = client.post(f"/api/v1/cases/{case_id}/attachments", headers=dispatcher, content_type="multipart/form-data",
                         data={"file": [(io.BytesIO(word), "通知.docx"), (io.BytesIO(excel), "清单.xlsx")]})
    assert answer.status_code == 201, answer.get_json()
    attached = answer.get_json()["attachments"]
    assert [(a["name"], a["content_type"].rsplit(".", 1)[-1], a["size"]) for a in attached] == [
        ("通知.docx", "document", len(word)), ("清单.xlsx", "sheet", len(excel))]

    lead = bearer(user_token(client, "dongcheng"))
    listed = client.get(f"/api/v1/cases/{case_id}/attachments", headers=lead)
    assert listed.status_code == 200 and [a["id"] for a in listed.get_json()["attachments"]] == [a["id"] for a in
                                                                                                attached]
    fetched = client.get(f"/api/v1/attachments/{attached[0]['id']}", headers=lead)
    assert fetched.status_code == 200 and fetched.data == word
    assert fetched.mimetype == "application/octet-stream" and "attachment" in fetched.headers["Content-Disposition"]
    assert client.get(f"/api/v1/attachments/{attached[1]['id']}", headers=dispatcher).data == excel

    other = bearer(user_token(client, "xicheng"))  # a field unit with no task in the case
    assert client.get(f"/api/v1/attachments/{attached[0]['id']}", headers=other).status_code == 404
    assert client.get(f"/api/v1/cases/{case_id}/attachments", headers=other).status_code == 404
    login(client, "xicheng")
    assert client.get(f"/attachments/{attached[0]['id']}").status_code == 404
    login(client, "dongcheng")
    assert client.get(f"/attachments/{attached[0]['id']}").data == word
    assert client.post(f"/api/v1/cases/{case_id}/attachments", headers=lead,
                       data={"file": [(io.BytesIO(word), "x.docx")]}).status_code == 403  # units do not attach


def test_the_api_refuses_macros_other_zips_and_a_case_over_its_limit_with_nothing_written(client, session,
                                                                                        settings):
    clock.set_clock(lambda: NOW)
    case_id = _handed_over(client)
    headers = {**bearer(user_token(client, "shift_leader")), "Accept-Language": "en"}
    files = _stored(settings)
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("notes.txt", "not an office file")
    for content, name in ((office(MACRO_WORD), "macro.docx"), (plain_zip.getvalue(), "sheet.xlsx"),
                          (b"GIF89a\x01\x00\x01\x00", "pic.png"), (b"", "empty.pdf")):
        answer = client.post(f"/api/v1/cases/{case_id}/attachments", headers=headers,
                             data={"file": [(io.BytesIO(PDF), "ok.pdf"), (io.BytesIO(content), name)]})
        assert answer.status_code == 422, name
        assert [e["field"] for e in answer.get_json()["errors"]] == ["attachments"]
        assert answer.get_json()["errors"][0]["message"].startswith(f"{name}: "), answer.get_json()
    assert client.post(f"/api/v1/cases/{case_id}/attachments", headers=headers, data={}).status_code == 422
    assert session.scalar(select(func.count()).select_from(CaseAttachment)
                          .where(CaseAttachment.case_id == case_id)) == 0 and _stored(settings) == files

    full = [(io.BytesIO(PDF + bytes([n])), f"{n}.pdf") for n in range(MAX_PER_CASE)]
    assert client.post(f"/api/v1/cases/{case_id}/attachments", headers=headers,
                       data={"file": full}).status_code == 201
    one_more = client.post(f"/api/v1/cases/{case_id}/attachments", headers=headers,
                           data={"file": [(io.BytesIO(PDF), "more.pdf")]})
    assert one_more.status_code == 422 and "10 already there" in one_more.get_json()["errors"][0]["message"]
