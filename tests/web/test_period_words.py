"""A bulletin speaks of its own period: a monthly or quarterly PDF says 本月 / 本季度 and charts the last six months
or quarters, not 本周 and six weeks; pages name periods as readers say them (2026年第四季度), not by ISO code."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timezone

import pytest

from engine.core import clock


@pytest.fixture()
def december():
    """Today is 7 December 2026, for this test only."""
    clock.set_clock(lambda: datetime(2026, 12, 7, 3, tzinfo=timezone.utc))


def _pdf_text(client, tmp_path, label: str, lang: str) -> str:
    response = client.get(f"/assessment/bulletins/{label}.pdf?lang={lang}")
    if response.status_code == 503 or shutil.which("pdftotext") is None:
        pytest.skip("no Chinese font or no pdftotext (poppler-utils): cannot read the PDF's text")
    assert response.status_code == 200
    path = tmp_path / f"{label}-{lang}.pdf"
    path.write_bytes(response.data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("label, this, trend, named", [
    ("2026-12", "本月", "近六个月得分走势", "2026年12月"), ("2026-Q4", "本季度", "近六个季度得分走势", "2026年第四季度")])
def test_a_monthly_or_quarterly_pdf_speaks_of_its_month_or_quarter(app, december, login, tmp_path, label, this,
                                                                   trend, named):
    client = app.test_client()
    login(client, "assessor")
    flat = "".join(_pdf_text(client, tmp_path, label, "zh_Hans_CN").split())
    assert "本周" not in flat and "近六周" not in flat
    assert trend in flat and f"{this}问题反弹共" in flat and named in flat


@pytest.mark.parametrize("label, this, trend", [
    ("2026-12", "this month", "Score trend, last six months"),
    ("2026-Q4", "this quarter", "Score trend, last six quarters")])
def test_the_english_pdf_says_this_month_or_quarter(app, december, login, tmp_path, label, this, trend):
    client = app.test_client()
    login(client, "assessor")
    flat = re.sub(r"\s+", " ", _pdf_text(client, tmp_path, label, "en"))
    assert "this week" not in flat and "six weeks" not in flat
    assert trend in flat and f"rebounded {this}." in flat


@pytest.mark.parametrize("lang, title, labels", [
    ("zh_Hans_CN", "季度排名 2026年第四季度", ["2026年第三季度", "2026年第四季度"]),
    ("en", "Quarterly ranking Q4 2026", ["Q3 2026", "Q4 2026"])])
def test_the_bulletin_page_names_its_period_and_the_trend_s(app, december, login, lang, title, labels):
    client = app.test_client()
    login(client, "assessor")
    html = client.get(f"/assessment/bulletins/2026-Q4?lang={lang}").get_data(as_text=True)
    assert title in html and all(label in html for label in labels)
    assert ">2026-Q3<" not in html and "2026-Q4</" not in html


@pytest.mark.parametrize("lang, week, quarter", [("zh_Hans_CN", "2026年第50周", "2026年第四季度"),
                                                  ("en", "week 50 of 2026", "Q4 2026")])
def test_the_assessment_index_names_weeks_and_quarters(app, december, login, lang, week, quarter):
    client = app.test_client()
    login(client, "assessor")
    html = client.get(f"/assessment/?lang={lang}").get_data(as_text=True)
    assert week in html and quarter in html
    assert ">2026-W50<" not in html and ">2026-Q4<" not in html and 'href="/assessment/bulletins/2026-W50' in html


@pytest.mark.parametrize("lang, month", [("zh_Hans_CN", "2026年11月"), ("en", "November 2026")])
def test_sanction_records_name_their_month(app, december, login, lang, month):
    client = app.test_client()
    login(client, "assessor")
    html = client.get(f"/assessment/sanction-records/?period=2026-11&lang={lang}").get_data(as_text=True)
    heading = html[html.index("<h1>"):html.index("</h1>")]
    assert month in heading and "2026-11" not in heading
