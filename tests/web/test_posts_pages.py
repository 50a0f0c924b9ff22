"""岗位考核 where the assessment office reads it: the page of a week with a line per person of each post, names not
logins where the account has a person, the centre's cut-off in local time, the same as CSV (UTF-8 with a BOM), in
Chinese and English; linked from the nav; refused to a field unit."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.assessment.periods import parse_period
from engine.assessment.posts import compute
from engine.core import clock
from engine.core.models import Campaign, Case, Person
from tests.engine.test_posts import build_week
from tests.helpers import user

#: Tuesday 2029-05-15, 10:00 in Shanghai: a week (2029-W20) no other test works in.
START = datetime(2029, 5, 15, 2, tzinfo=timezone.utc)


@pytest.fixture()
def week(factory, drain, session, settings, tmp_path):
    """The engine test's week, built once for these tests (its cases open at START), read a day later."""
    if session.scalar(select(Case.id).where(Case.opened_at == START).limit(1)) is None:
        try:
            build_week(factory, drain, session, settings, tmp_path, START)
        finally:
            clock.set_clock(None)
    try:
        clock.set_clock(lambda: START + timedelta(days=1))
        yield
    finally:
        clock.set_clock(None)


def centre(session) -> tuple[str, str]:
    """The centre-wide figures as the engine counts them now: every case of the week, which a report another test
    left may join; the engine test holds their exact values in weeks of its own."""
    campaign = session.scalar(select(Campaign).order_by(Campaign.id))
    posts = compute(session, campaign, parse_period("2029-W20", campaign.timezone), clock.now())
    system = posts.system
    return (f"{100 * posts.accepted_filed / posts.accepted:.1f}%",
            f"{system.filed} — {system.filed_on_time} 100.0% {system.filed_voided}")


def person_of(session, username: str) -> str:
    return session.scalar(select(Person.name).where(Person.user_id == user(session, username).id))


def rows(html: str, heading: str) -> list[str]:
    """The text of each row of the table under `heading`."""
    table = html[html.find(f"<h2>{heading}</h2>"):]
    table = table[:table.find("</table>")]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip() for r in re.findall(r"<tr.*?</tr>", table, re.S)]


@pytest.mark.parametrize("lang, words", [
    ("zh_Hans_CN", {"checkers": "核查员", "dispatch": "受理员/派遣员", "supervisors": "监督员",
                    "system": "系统自动立案（无操作人）", "rate": "按时核查率", "centre": "指挥中心立案率",
                    "counted": "统计截至 2029-05-16 10:00", "period": "2029年第20周", "none": "未记录操作人"}),
    ("en", {"checkers": "Checkers (核查员)", "dispatch": "Filing and dispatch (受理员/派遣员)",
            "supervisors": "Supervisors (监督员)", "system": "Filed automatically at intake (no person)",
            "rate": "On-time check rate", "centre": "Filing rate of the centre", "counted": "Counted up to 2029-05-16 10:00",
            "period": "week 20 of 2029", "none": "records no person"})])
def test_the_assessor_reads_each_posts_people_with_their_rates(client, login, session, week, lang, words):
    login(client, "assessor")
    html = client.get(f"/assessment/posts/2029-W20?lang={lang}").get_data(as_text=True)
    assert words["period"] in html and words["counted"] in html and words["none"] in html
    rate, system = centre(session)
    assert words["rate"] in html and f"{words['centre']}</th><td>{rate}" in html
    assert "checker 2 1 1 1 50.0%" in rows(html, words["checkers"])
    dispatch = rows(html, words["dispatch"])
    leader = person_of(session, "shift_leader")
    assert f"{leader} 4 3 75.0% 2 66.7% 1 66.7% 3 2 66.7% 1 66.7%" in dispatch, dispatch
    assert any(row.startswith(f"{words['system']} 0 {system} ") for row in dispatch), dispatch
    assert "dispatcher 0 0 — 0 — 0 — 1 1 100.0% 0 100.0%" in dispatch  # an account with no person: its login
    supervisors = rows(html, words["supervisors"])
    assert any(row.startswith("吴敏 5 0 0 — 4 3 75.0% ") for row in supervisors), supervisors  # her own work
    assert f"{person_of(session, 'supervisor')} 0 2 1 50.0% 0 0 — 0 0 —" in supervisors
    assert 'id="nav-posts"' in html


def test_the_csv_has_the_same_figures_with_a_bom_names_and_local_time(client, login, session, week):
    login(client, "auditor")
    answer = client.get("/assessment/posts/2029-W20.csv?lang=zh_Hans_CN")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    text = answer.get_data().decode("utf-8")
    assert text.startswith("\ufeff") and "岗位考核 2029年第20周" in text.splitlines()[0]
    assert "统计截至 2029-05-16 10:00" in text
    lines = text.splitlines()
    assert "checker,2,1,1,1,50.0%" in lines
    assert f"{person_of(session, 'shift_leader')},4,3,75.0%,2,66.7%,1,66.7%,3,2,66.7%,1,66.7%" in lines
    assert any(line.startswith("吴敏,5,0,0,,4,3,75.0%,") for line in lines), lines
    en = client.get("/assessment/posts/2029-W20.csv?lang=en").get_data().decode("utf-8")
    assert "On-time check rate" in en and "Filed automatically at intake (no person)" in en


def test_the_nav_and_the_assessment_page_lead_to_this_weeks_figures(client, login, week):
    login(client, "admin")
    assert 'id="nav-posts"' in client.get("/").get_data(as_text=True)
    assert 'id="posts-link"' in client.get("/assessment/").get_data(as_text=True)
    answer = client.get("/assessment/posts/")
    assert answer.status_code == 302 and "/assessment/posts/2029-W20" in answer.headers["Location"]
    assert client.get("/assessment/posts/2029-W99").status_code == 404
    assert client.get("/assessment/posts/2029-W20.xlsx").status_code == 404


def test_a_field_unit_is_refused_and_not_shown_the_link(client, login, week):
    login(client, "dongcheng")
    assert client.get("/assessment/posts/2029-W20").status_code == 403
    assert client.get("/assessment/posts/2029-W20.csv").status_code == 403
    assert 'id="nav-posts"' not in client.get("/tasks").get_data(as_text=True)
