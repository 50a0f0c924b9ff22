"""Exports people can open (issue 21 point 8): every CSV and XLSX export read back with the csv module and openpyxl
as Excel on a Chinese PC would read it — a UTF-8 BOM, headers in the reader's language, local times to the second,
codes and names instead of database ids, rates as numbers with a percentage format, and a name written like a
formula (=, +, -, @) kept as text."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from engine.core import clock
from engine.core.models import Campaign, Firing, Grid, SecurityAuditEntry, Unit
from tests.helpers import bearer, event

SHANGHAI = ZoneInfo("Asia/Shanghai")
FORMULA = "=HYPERLINK(\"http://evil.example\",\"点我\")"


def _csv(answer) -> list[list[str]]:
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/csv; charset=utf-8"  # charset once
    assert answer.data.startswith(b"\xef\xbb\xbf"), "a UTF-8 BOM, so Excel on a Chinese PC reads the file as UTF-8"
    return list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))


@pytest.fixture()
def fired(client, drain, intake_token, session) -> Firing:
    """A report whose firings carry a grid renamed like a formula; the newest of its firings."""
    grid = session.scalar(select(Grid).where(Grid.code == "XC-04"))
    grid.name_zh = grid.name_en = FORMULA
    session.commit()
    answer = client.post("/api/v1/events", json=event("06029", "XC-04", hour=23), headers=bearer(intake_token))
    assert answer.status_code == 202
    drain()
    return session.scalar(select(Firing).where(Firing.grid_id == grid.id).order_by(Firing.id.desc()))


def test_the_firing_history_csv_and_xlsx(client, login, session, fired):
    login(client, "auditor")
    query = f"grid_id={fired.grid_id}"
    unit = session.get(Unit, fired.unit_id)
    campaign = session.get(Campaign, fired.campaign_id)
    local = fired.fired_at.astimezone(ZoneInfo(campaign.timezone)).replace(tzinfo=None, microsecond=0)

    rows = _csv(client.get(f"/admin/history/export.csv?{query}&lang=zh_Hans_CN"))
    header = rows[0]
    assert header[:3] == ["触发记录", "触发时间（当地时间）", "创城活动"] and "单位" in header and "网格" in header
    line = dict(zip(header, next(r for r in rows[1:] if int(r[0]) == fired.id)))
    assert line["触发时间（当地时间）"] == local.strftime("%Y-%m-%d %H:%M:%S")  # 东八区, no microseconds
    assert line["单位"] == f"{unit.code} {unit.name_zh}" and line["问题类别"].startswith("06029 ")
    assert line["创城活动"] == f"{campaign.code} {campaign.name_zh}" and line["规则集版本"].startswith("#")
    assert line["网格"] == f"XC-04 {FORMULA}"  # code and name, the code first
    english = _csv(client.get(f"/admin/history/export.csv?{query}&lang=en"))[0]
    assert english[:2] == ["Firing", "Fired at (local time)"] and "Unit" in english

    answer = client.get(f"/admin/history/export.xlsx?{query}&lang=zh_Hans_CN")
    sheet = load_workbook(io.BytesIO(answer.data)).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[1] == "触发时间（当地时间）" and header[6] == "评估" and header[11] == "单位"
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == fired.id)
    assert row[1].value == local and row[1].is_date and row[1].number_format == "yyyy-mm-dd hh:mm:ss"
    assert row[6].value == {"intake": "受理评估", "filing": "立案评估", "intake+filing": "受理即立案"}[fired.phase]
    assert row[11].value == f"{unit.code} {unit.name_zh}"
    assert row[13].value == f"XC-04 {FORMULA}" and row[13].data_type == "s"  # text, never a formula


def test_a_name_written_like_a_formula_stays_text_in_the_security_log_csv(app, login, session):
    """The security audit log: local time to the second, Chinese headers, and `=`, `+`, `-`, `@` cells escaped."""
    at = datetime(2026, 11, 30, 17, 5, 9, 123456, tzinfo=timezone.utc)
    for text in ("=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)"):
        session.add(SecurityAuditEntry(at=at, kind="export", username="assessor", address="10.9.9.9", what=text))
    session.commit()
    client = app.test_client()
    login(client, "audit_admin")
    rows = _csv(client.get("/admin/security_audit/export/csv/?lang=zh_Hans_CN"))
    assert rows[0] == ["时间", "类型", "用户", "地址", "对象", "涉及对象"]
    mine = [r for r in rows[1:] if r[3] == "10.9.9.9"]
    assert sorted(r[4] for r in mine) == ["'+1+1", "'-2+3", "'=cmd|' /C calc'!A0", "'@SUM(A1)"]
    assert {r[0] for r in mine} == {"2026-12-01 01:05:09"}  # 东八区, to the second


def test_the_security_log_csv_is_named_in_the_readers_language_and_local_time_and_says_what_in_it(
        app, login, session):
    """安全审计日志 cannot go into a Latin-1 header as it is (the server answered 500): RFC 5987 carries it, with the
    endpoint's ASCII name beside it; the English name is quoted; both stamped 17:10 local, not 09:10 UTC. The "What"
    column holds the reader's half, as the list does."""
    clock.set_clock(lambda: datetime(2026, 12, 7, 9, 10, 40, tzinfo=timezone.utc))
    session.add(SecurityAuditEntry(at=datetime(2026, 12, 7, 9, tzinfo=timezone.utc), kind="export",
                                   username="assessor", address="10.9.9.8", what="导出通报 / bulletin xlsx"))
    session.commit()
    client = app.test_client()
    login(client, "audit_admin")
    zh = client.get("/admin/security_audit/export/csv/?lang=zh_Hans_CN")
    disposition = zh.headers["Content-Disposition"]
    assert disposition.encode("latin-1")  # what a WSGI server refuses otherwise
    assert disposition == ("attachment; filename=security_audit_2026-12-07_17-10-40.csv; filename*=UTF-8''"
                           + quote("安全审计日志_2026-12-07_17-10-40.csv"))
    assert [r[4] for r in _csv(zh)[1:] if r[3] == "10.9.9.8"] == ["导出通报"]
    en = client.get("/admin/security_audit/export/csv/?lang=en")
    assert en.headers["Content-Disposition"] == 'attachment; filename="Security audit log_2026-12-07_17-10-40.csv"'
    assert [r[4] for r in _csv(en)[1:] if r[3] == "10.9.9.8"] == ["bulletin xlsx"]


@pytest.fixture()
def december():
    clock.set_clock(lambda: datetime(2026, 12, 5, 3, tzinfo=timezone.utc))


def test_the_bulletin_xlsx_has_rates_as_percentages_and_inert_names(app, login, session, december):
    unit = session.scalar(select(Unit).where(Unit.code == "JD-DC"))
    unit.name_zh = "@恶意单位"
    session.commit()
    client = app.test_client()
    login(client, "assessor")
    book = load_workbook(io.BytesIO(client.get("/assessment/bulletins/2026-11.xlsx?lang=zh_Hans_CN").data))
    ranking = book.worksheets[0]
    header = [c.value for c in ranking[2]]
    assert header[:5] == ["同类组", "名次", "单位代码", "单位", "得分"] and "处置率" in header
    rows = {r[2].value: r for r in ranking.iter_rows(min_row=3)}
    assert rows["JD-DC"][3].value == "'@恶意单位"
    cells = [c for sheet in book.worksheets for r in sheet.iter_rows(min_row=3) for c in r if c.value is not None]
    rates = [c for c in cells if "%" in c.number_format]
    assert rates and all(isinstance(c.value, (int, float)) and 0 <= c.value <= 1 for c in rates)
    assert not [c.value for c in cells if isinstance(c.value, str) and c.value.endswith("%")]  # no rate as text
    page = client.get("/assessment/bulletins/2026-11?lang=zh_Hans_CN").get_data(as_text=True)
    assert f"{100 * rates[0].value:.1f}%" in page  # the page still shows a rate as 85.3%


def test_the_appraisal_xlsx_names_units_and_keeps_formulas_as_text(app, login, session, december):
    unit = session.scalar(select(Unit).where(Unit.code == "JD-XC"))
    unit.name_zh = "-1+2"
    session.commit()
    client = app.test_client()
    login(client, "assessor")
    sheet = load_workbook(io.BytesIO(client.get("/assessment/appraisal/2026-11.xlsx?lang=zh_Hans_CN").data)).active
    assert [c.value for c in sheet[2]][:5] == ["单位代码", "单位", "同类组", "期间", "得分"]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=3) if r[0].value}
    assert rows["JD-XC"][1].value == "'-1+2" and rows["JD-XC"][1].data_type == "s"
    assert isinstance(rows["JD-DC"][4].value, (int, float))
