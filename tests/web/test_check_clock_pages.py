"""The 核查 clock where readers see the stage clocks: the case page and its API list each wait for a check next
to 受理, 核实 and 派遣, and the bulletin's 案件环节时限 table gives the on-time check rate (按时核查率)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.cases.cooperation import lead_task
from engine.core.models import Event, User
from engine.handling.tasks import apply
from tests.helpers import bearer, event, user_token

#: June 2027: a month no other test submits in, so its bulletin counts these checks only.
SUBMITTED = datetime(2027, 6, 10, 2, tzinfo=timezone.utc)


def user(session, name: str) -> User:
    return session.scalar(select(User).where(User.username == name))


@pytest.fixture()
def checked_late(client, patrol_token, drain, session):
    """A patrol case whose task the unit submitted, the checker failed 50 minutes later (返工), and which the unit
    submitted again and the checker passed after 10 minutes."""
    event_id = client.post("/api/v1/events", json=event("09005", "DC-03", hour=10),
                           headers=bearer(patrol_token)).get_json()["id"]
    drain()
    report = session.get(Event, event_id)
    task = lead_task(report.case)  # after other tests' 09005 reports in DC-03, the repeat-hotspot rule adds 中队's
    assert task.unit.code == "JD-DC", task.unit.code  # 东城, the grid's office, leads by its duties
    unit, checker = user(session, "dongcheng"), user(session, "checker")
    steps = [(SUBMITTED - timedelta(minutes=2), "sign", unit, ""),
             (SUBMITTED - timedelta(minutes=1), "start", unit, ""), (SUBMITTED, "submit", unit, "已收回"),
             (SUBMITTED + timedelta(minutes=50), "fail_check", checker, "仍有货物"),
             (SUBMITTED + timedelta(hours=1), "start", unit, ""),
             (SUBMITTED + timedelta(hours=2), "submit", unit, "已清"),
             (SUBMITTED + timedelta(hours=2, minutes=10), "pass_check", checker, "")]
    try:
        for moment, action, actor, comment in steps:
            clock.set_clock(lambda moment=moment: moment)
            session.refresh(task)
            apply(session, task, action, actor, comment, None, expected_version=task.version)
        session.commit()
        clock.set_clock(lambda: SUBMITTED + timedelta(days=1))
        yield report.case_id
    finally:
        clock.set_clock(None)


@pytest.mark.parametrize("lang, name", [("zh-CN", "核查"), ("en", "Check")])
def test_the_case_page_and_its_api_show_each_wait_for_the_check(client, login, checked_late, lang, name):
    login(client, "shift_leader")
    html = client.get(f"/cases/{checked_late}?lang={lang}").get_data(as_text=True)
    table = re.search(r'<section id="clocks">(.*?)</section>', html, re.S).group(1)
    rows = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip() for r in re.findall(r"<tr.*?</tr>", table, re.S)]
    checks = [r for r in rows if r.startswith(name + " ")]
    assert len(checks) == 2, rows
    assert "50" in checks[0] and "30" in checks[0] and "10" in checks[1]
    assert re.search(r'<tr class="overdue">\s*<td>\s*' + name, table)
    body = client.get(f"/api/v1/cases/{checked_late}",
                      headers={**bearer(user_token(client, "shift_leader")), "Accept-Language": lang}).get_json()
    found = [(c["name"], c["minutes"], c["limit_minutes"], c["overdue"], c["ended"] is None)
             for c in body["clocks"] if c["clock"] == "check"]
    assert found == [(name, 50.0, 30, True, False), (name, 10.0, 30, False, False)]


@pytest.mark.parametrize("lang, name, counted", [("zh_Hans_CN", "核查", "计入次数"), ("en", "Check", "Clocks counted")])
def test_the_bulletin_gives_the_on_time_check_rate(client, login, checked_late, lang, name, counted):
    clock.set_clock(lambda: datetime(2027, 7, 2, 2, tzinfo=timezone.utc))
    login(client, "assessor")
    html = client.get(f"/assessment/bulletins/2027-06?lang={lang}").get_data(as_text=True)
    table = html[html.find('id="stage-clocks"'):]
    table = table[:table.find("</table>")]
    assert counted in table
    rows = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip() for r in re.findall(r"<tr.*?</tr>", table, re.S)]
    assert f"{name} 30 2 1 50.0%" in rows, rows  # the 50-minute wait was late, the 10-minute one on time
