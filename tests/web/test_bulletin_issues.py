"""The published weekly bulletins as users reach them: the list of past issues in local time, each PDF as sent,
the frozen JSON through the API, a correction by the assessment office, the schedule set in the admin."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.assessment import issues
from engine.core.models import BulletinIssue, Campaign
from tests.helpers import no_bulletin_issues, bearer, csrf_from, user_token

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_8 = datetime(2026, 11, 30, 8, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def unpublished(session) -> None:
    """Every test here publishes its weeks afresh (rolled back afterwards)."""
    no_bulletin_issues(session)


def published(factory, session) -> BulletinIssue:
    with factory() as s:
        (issue_id,) = issues.run_due(s, now=MONDAY_8)
    session.expire_all()
    return session.get(BulletinIssue, issue_id)


def test_past_issues_are_listed_in_local_time_and_each_pdf_downloads(app, factory, session, login):
    issue = published(factory, session)
    client = app.test_client()
    assert client.get("/assessment/issues/").status_code in (302, 401)
    login(client, "dongcheng")  # a field unit: the issue was sent to it
    page = client.get("/assessment/issues/?lang=zh_Hans_CN").get_data(as_text=True)
    assert f"第 {issue.number} 期" in page or f"第{issue.number}期" in page
    assert "2026年第48周（2026-11-23 至 2026-11-29）" in page or "2026年第48周 (2026-11-23 至 2026-11-29)" in page
    assert ">2026-W48" not in page and "2026-11-30 08:00" in page  # Shanghai time, not 00:00 UTC
    assert "每周一 08:00" in page or "周一" in page
    assert "发布更正" not in page  # only the assessment office corrects
    pdf = client.get(f"/assessment/issues/{issue.id}.pdf?language=zh")
    assert pdf.status_code == 200 and pdf.data == issue.pdf_zh and pdf.headers["X-Content-SHA256"] == issue.content_sha256
    assert client.get(f"/assessment/issues/{issue.id}.pdf?language=en").data == issue.pdf_en
    assert client.get("/assessment/issues/999999.pdf").status_code == 404


def test_the_frozen_json_comes_from_the_api(app, factory, session):
    issue = published(factory, session)
    client = app.test_client()
    token = user_token(client, "auditor")
    listing = client.get("/api/v1/bulletin-issues", headers=bearer(token)).get_json()
    assert listing["issues"][0]["number"] == issue.number and listing["issues"][0]["sha256"] == issue.content_sha256
    one = client.get(f"/api/v1/bulletin-issues/{issue.id}", headers=bearer(token)).get_json()
    assert one["content"] == issue.content and one["period"] == "2026-W48"
    assert issues.digest(one["content"]) == one["sha256"]
    assert client.get("/api/v1/bulletin-issues/999999", headers=bearer(token)).status_code == 404
    # past a 32-bit id column: not found, not a PostgreSQL "integer out of range" (found by the fuzz on PostgreSQL)
    assert client.get("/api/v1/bulletin-issues/99374617811", headers=bearer(token)).status_code == 404
    assert client.get("/assessment/issues/99374617811.pdf", headers=bearer(token)).status_code in (302, 401, 404)
    assert client.get("/api/v1/bulletin-issues").status_code == 401


def test_a_correction_is_a_new_issue_and_a_missing_reason_is_refused_next_to_the_field(
        app, factory, session, login, csrf_on):
    issue = published(factory, session)
    client = app.test_client()
    login(client, "assessor")
    page = client.get("/assessment/issues/?lang=zh_Hans_CN").get_data(as_text=True)
    count = session.scalar(select(func.count()).select_from(BulletinIssue))
    refused = client.post(f"/assessment/issues/{issue.id}/correction?lang=zh_Hans_CN",
                          data={"reason": " ", "csrf_token": csrf_from(page)})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "请说明更正的内容和原因" in html
    assert html.index("请说明更正的内容和原因") > html.index(f'id="reason-{issue.id}"')  # beside its field
    assert session.scalar(select(func.count()).select_from(BulletinIssue)) == count
    done = client.post(f"/assessment/issues/{issue.id}/correction",
                       data={"reason": "东城街道一处发现问题归属有误", "csrf_token": csrf_from(page)})
    assert done.status_code == 302
    session.expire_all()
    corrected = session.scalar(select(BulletinIssue).where(BulletinIssue.corrects_id == issue.id))
    assert corrected.number == issue.number + 1 and corrected.issued_by.username == "assessor"
    listing = client.get("/assessment/issues/?lang=zh_Hans_CN").get_data(as_text=True)
    assert "东城街道一处发现问题归属有误" in listing


def test_the_schedule_and_office_are_set_in_the_admin(app, session, login):
    client = app.test_client()
    login(client, "admin")
    campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
    page = client.get(f"/admin/campaign/edit/?id={campaign.id}&lang=zh_Hans_CN").get_data(as_text=True)
    assert "周通报发布日" in page and "周三" in page and 'value="08:00"' in page
    english = client.get(f"/admin/campaign/edit/?id={campaign.id}&lang=en").get_data(as_text=True)
    assert "Weekly bulletin time (local)" in english and "Issuing office of the bulletin (Chinese)" in english


def test_the_bulletin_page_counts_findings_per_tier_and_unit(app, factory, drain, session, login):
    from tests.engine.test_bulletin_issues import finding

    finding(factory, drain, "06029", "DC-02", 2)
    client = app.test_client()
    login(client, "assessor")
    zh = client.get("/assessment/bulletins/2026-W48?lang=zh_Hans_CN").get_data(as_text=True)
    section = zh[zh.index("三级督查发现问题"):]
    assert "督察中队定向督查" in section and "东城街道办事处" in section
    assert "<title>各层级督查发现问题数</title>" in zh
    en = client.get("/assessment/bulletins/2026-W48?lang=en").get_data(as_text=True)
    assert "Inspection findings" in en and "Inspection squad targeted inspection" in en
