"""The bulletin pages and files as the assessment office and auditors use them."""
from __future__ import annotations

import io
import shutil
import subprocess
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook

from engine.core import clock


@pytest.fixture()
def december():
    """Today is 5 December 2026, for this test only (every test ends on the real clock)."""
    clock.set_clock(lambda: datetime(2026, 12, 5, 3, tzinfo=timezone.utc))


def test_monthly_ranking_page_shows_units_charts_and_exports(app, december, login):
    client = app.test_client()
    login(client, "assessor")
    page = client.get("/assessment/bulletins/2026-11?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Monthly ranking November 2026" in html and "Dongcheng Sub-district Office" in html
    assert html.count("<svg") >= 1 and "<script" not in html.split("</nav>")[-1]
    assert "/assessment/bulletins/2026-11.xlsx" in html and "/assessment/bulletins/2026-11.pdf" in html
    index = client.get("/assessment/?lang=zh_Hans_CN")
    assert index.status_code == 200 and "2026年第49周" in index.get_data(as_text=True)
    assert 'href="/assessment/"' in client.get("/").get_data(as_text=True)  # the assessor's menu leads here


def test_the_sanctions_note_stands_under_the_sanctions_heading(app, december, login):
    """The note on whether the list is kept belongs to 应问责单位, whichever sheet the page ends with."""
    client = app.test_client()
    login(client, "assessor")
    html = client.get("/assessment/bulletins/2026-12?lang=zh_Hans_CN").get_data(as_text=True)
    note = html.find("暂定名单：期间结束后生成并留存正式名单。")
    assert note > 0 and html.count("暂定名单") == 1
    assert html.rfind("<h2>", 0, note) == html.find("<h2>应问责单位</h2>")


def test_xlsx_bulletin_holds_the_ranking(app, december, login):
    client = app.test_client()
    login(client, "auditor")
    response = client.get("/assessment/bulletins/2026-Q4.xlsx?lang=zh_Hans_CN")
    assert response.status_code == 200 and "bulletin-2026-Q4.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    ranking = book[book.sheetnames[0]]
    assert "季度" in ranking["A1"].value or "2026-Q4" in ranking["A1"].value
    units = {row[2] for row in ranking.iter_rows(min_row=3, values_only=True)}
    assert {"JD-DC", "JD-XC", "JD-NC"} <= units


def test_pdf_bulletin_embeds_the_chinese_font(app, december, tmp_path, login):
    client = app.test_client()
    login(client, "assessor")
    response = client.get("/assessment/bulletins/2026-W48.pdf?lang=zh_Hans_CN")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts (poppler-utils) is not installed: cannot check the embedded font")
    path = tmp_path / "bulletin.pdf"
    path.write_bytes(response.data)
    listing = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    fonts = [line for line in listing.splitlines()[2:] if line.strip()]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), listing  # emb column
    assert any("WenQuanYi" in line or "wqy" in line.lower() for line in fonts), listing


def test_roles_and_bad_periods(app, december, login):
    client = app.test_client()
    assert client.get("/assessment/bulletins/2026-11").status_code in (302, 401)
    login(client, "dispatcher")
    assert client.get("/assessment/bulletins/2026-11").status_code == 403
    client = app.test_client()
    login(client, "assessor")
    assert client.get("/assessment/bulletins/2026-13").status_code == 404
    assert client.get("/assessment/bulletins/2026-11.docx").status_code == 404


def test_a_dispatched_demo_task_counts_for_its_unit_this_week(app, drain, intake_token, login):
    from engine.assessment.indicators import period_containing
    from tests.helpers import bearer, event

    client = app.test_client()
    assert client.post("/api/v1/events", json=event("06029", "XC-02"), headers=bearer(intake_token)).status_code == 202
    drain()
    week = period_containing("week", clock.now(), "Asia/Shanghai").label
    login(client, "assessor")
    book = load_workbook(io.BytesIO(client.get(f"/assessment/bulletins/{week}.xlsx?lang=en").data))
    header = [cell.value for cell in book["Counts"][2]]
    counts = {row[0]: dict(zip(header, row)) for row in book["Counts"].iter_rows(min_row=3, values_only=True)}
    # Dispatched this week; a running week counts it as due only once its deadline has passed (issue 17).
    assert counts["JD-XC"]["Dispatched"] >= 1
    assert counts["JD-XC"]["Tasks due"] + counts["JD-XC"]["Not yet due (running period)"] >= 1


def test_without_a_chinese_font_the_pdf_says_so_in_both_languages(app, december, monkeypatch, login):
    monkeypatch.setenv("CIVICRULES_PDF_FONT", "/nonexistent/font.ttc")
    client = app.test_client()
    login(client, "assessor")
    response = client.get("/assessment/bulletins/2026-11.pdf")
    text = response.get_data(as_text=True)
    assert response.status_code == 503 and "/nonexistent/font.ttc" in text
    assert "找不到用于 PDF 的中文字体" in text and "No Chinese font for the PDF" in text


def test_accurate_dispatch_is_labelled_on_the_page_and_in_the_files(app, december, login):
    """准确派遣率 (issue 14) beside the other rates, with its counts, in both languages and in the XLSX."""
    client = app.test_client()
    login(client, "assessor")
    zh = client.get("/assessment/bulletins/2026-11?lang=zh_Hans_CN").get_data(as_text=True)
    assert "准确派遣率" in zh and "派遣数" in zh and "退单数" in zh
    en = client.get("/assessment/bulletins/2026-11?lang=en").get_data(as_text=True)
    assert "Accurate dispatch rate" in en and "Sent back" in en
    book = load_workbook(io.BytesIO(client.get("/assessment/bulletins/2026-11.xlsx?lang=en").data))
    headers = {cell.value for sheet in book.worksheets for row in sheet.iter_rows(max_row=3) for cell in row}
    assert {"Accurate dispatch rate", "Dispatched", "Sent back"} <= headers
