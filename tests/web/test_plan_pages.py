"""The task breakdown table through HTTP: a unit sees and reports on its own items only (progress with a photo,
errors next to the field), another unit's item is refused; the monthly report for the 推进会 names who is behind;
the API answers the same, in the reader's language."""
from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from engine.core import clock
from engine.core.models import PlanItem, PlanProgress
from engine.readiness import plan
from tests.helpers import bearer, csrf_from, jpeg, user_token

pytestmark = pytest.mark.usefixtures("messages_caught_up")  # the overdue item's message is the inbox's newest


@pytest.fixture()
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True


def item_id(session, code: str) -> int:
    return session.scalar(select(PlanItem.id).where(PlanItem.code == code))


def test_a_unit_reports_progress_with_a_photo_on_its_own_item_only(client, login, session, csrf_on):
    clock.set_clock(lambda: datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert login(client, "xicheng").status_code == 302
    page = client.get("/plan?lang=zh").get_data(as_text=True)
    assert "背街小巷路面破损修补" in page and "主次干道占道经营" not in page  # 1.2 is 西城's, 1.1 is 东城's
    assert "已超期" in page or "超期" in page
    token = csrf_from(page)
    mine, theirs = item_id(session, "1.2"), item_id(session, "1.1")
    bad = client.post(f"/plan/{mine}/progress?lang=zh", data={"percent": "120", "text": "", "csrf_token": token})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "须为 0 到 100 的整数" in html and "必填：说明完成情况" in html
    done = client.post(f"/plan/{mine}/progress", data={"percent": "70", "text": "已修补 8 处", "csrf_token": token,
                                                       "photos": (io.BytesIO(jpeg()), "patch.jpg")},
                       content_type="multipart/form-data")
    assert done.status_code == 302
    session.expire_all()
    [report] = session.scalars(select(PlanProgress).where(PlanProgress.item_id == mine)).all()
    assert report.percent == 70 and len(report.photos) == 1
    assert client.get(f"/plan/{mine}/photos/{report.photos[0]}").status_code == 200
    again = client.get("/plan?lang=zh").get_data(as_text=True)
    assert "70%" in again and "2026-12-03 10:00" in again  # local time of the report
    assert client.post(f"/plan/{theirs}/progress", data={"percent": "10", "text": "x", "csrf_token": token}
                       ).status_code == 404
    assert client.get("/plan/report").status_code == 403  # the report is for the leaders and assessors


def test_the_api_refuses_another_units_item_and_the_report_names_who_is_behind(client, session):
    from engine.core.models import Campaign
    from engine.readiness.plan import save_item
    clock.set_clock(lambda: datetime(2026, 12, 25, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
    rows = (("W-1", "JD-DC", "2026-12-20"), ("W-2", "JD-XC", "2026-12-10"), ("W-3", "JD-XC", "2026-12-31"))
    people = {"JD-DC": "DC-002", "JD-XC": "XC-002"}
    for code, lead, due in rows:
        save_item(session, campaign, {"code": code, "title": f"测试任务 {code}", "lead_unit": lead,
                                      "person": people[lead], "due_on": due})
    session.commit()
    dongcheng = user_token(client, "dongcheng")
    refused = client.post(f"/api/v1/plan-items/{item_id(session, 'W-2')}/progress", headers=bearer(dongcheng),
                          json={"percent": 50, "text": "越权"})
    assert refused.status_code == 403 and "不属于贵单位" in refused.get_data(as_text=True)
    items = client.get("/api/v1/plan-items", headers=bearer(dongcheng)).get_json()["items"]
    mine = next(i for i in items if i["code"] == "W-1")
    assert mine["lead_unit"]["name"] == "东城街道办事处" and mine["overdue"]
    assert not {"W-2", "W-3"} & {i["code"] for i in items}  # 西城's rows are not 东城's to see
    assessor = user_token(client, "assessor")
    report = client.get("/api/v1/plan/report?month=2026-12", headers=bearer(assessor)).get_json()
    behind = {u["unit"]["code"]: u["behind"] for u in report["units"]}
    assert "W-1" in behind["JD-DC"] and "W-2" in behind["JD-XC"] and "W-3" not in behind["JD-XC"]
    assert client.get("/api/v1/plan/report?month=2026-13", headers=bearer(assessor)).status_code == 422
    assert client.get("/api/v1/plan/report", headers=bearer(dongcheng)).status_code == 403


def test_an_administrator_adds_a_row_and_a_late_milestone_is_named_next_to_its_field(app, client, login, session):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    url = "/admin/plan_items/new/?lang=zh"
    token = csrf_from(client.get(url).get_data(as_text=True))
    row = {"code": "3.1", "title": "公厕保洁提升", "lead_unit": "JD-NC", "cooperating": ["HWZX"], "person": "",
           "due_on": "2027-01-31", "milestones": "2027-02-10 验收", "csrf_token": token}
    refused = client.post(url, data=row).get_data(as_text=True)
    at = refused.find('name="milestones"')
    assert at > 0 and "节点时间晚于完成时限" in refused[at:at + 1500]
    assert session.scalar(select(PlanItem).where(PlanItem.code == "3.1")) is None
    person = refused[refused.find('name="person"'):]
    assert "必填：请指定该任务的具体责任人" in person[person.find("</select>"):][:600]
    saved = client.post(url, data={**row, "person": "NC-002", "milestones": "2027-01-10 排查\n2027-01-25 整改"})
    assert saved.status_code == 302
    item = session.scalar(select(PlanItem).where(PlanItem.code == "3.1"))
    assert [m.title for m in item.milestones] == ["排查", "整改"] and item.lead_unit.code == "JD-NC"
    assert item.person.code == "NC-002"


def test_a_task_without_its_person_is_refused_beside_the_person_field_in_english(app, client, login, session):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    url = "/admin/plan_items/new/?lang=en"
    token = csrf_from(client.get(url).get_data(as_text=True))
    refused = client.post(url, data={"code": "3.2", "title": "Public toilets", "lead_unit": "JD-NC", "person": "",
                                     "due_on": "2027-01-31", "milestones": "", "csrf_token": token})
    html = refused.get_data(as_text=True)
    person = html[html.find('name="person"'):]
    assert "required: name the person responsible for this task" in person[person.find("</select>"):][:600]
    assert session.scalar(select(PlanItem).where(PlanItem.code == "3.2")) is None


def test_a_due_date_after_the_inspection_start_is_held_back_beside_its_field_until_kept(app, client, login, session):
    """Seed 003: 所有测评点在3月22日之前整改到位. The demo's inspection starts 2026-11-01 00:00 Shanghai time."""
    app.config["WTF_CSRF_ENABLED"] = True
    clock.set_clock(lambda: datetime(2026, 10, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert login(client, "admin").status_code == 302
    row = {"code": "3.3", "title": "农贸市场周边整治", "lead_unit": "JD-DC", "person": "DC-002", "milestones": ""}
    for lang, words in (("zh", "完成时限晚于测评开始时间（2026-11-01 00:00）"), ("en", "due after the inspection starts "
                                                                           "(2026-11-01 00:00)")):
        url = f"/admin/plan_items/new/?lang={lang}"
        token = csrf_from(client.get(url).get_data(as_text=True))
        html = client.post(url, data={**row, "due_on": "2026-11-01", "csrf_token": token}).get_data(as_text=True)
        at = html.find('name="due_on"')
        assert at > 0 and words in html[at:at + 1500], f"the warning stands beside the due date ({lang})"
        assert session.scalar(select(PlanItem).where(PlanItem.code == "3.3")) is None
    url = "/admin/plan_items/new/?lang=zh"
    token = csrf_from(client.get(url).get_data(as_text=True))
    kept = client.post(url, data={**row, "due_on": "2026-11-01", "keep_late_due": "y", "csrf_token": token})
    assert kept.status_code == 302 and session.scalar(select(PlanItem.due_on).where(PlanItem.code == "3.3"))
    token = csrf_from(client.get(url).get_data(as_text=True))
    early = client.post(url, data={**row, "code": "3.4", "due_on": "2026-10-31", "csrf_token": token})
    assert early.status_code == 302, "a due date before the inspection starts needs no confirmation"


def section(html: str, ident: str) -> str:
    start = html.find(f'id="{ident}"')
    return html[start:html.find("</section>", start)] if start >= 0 else ""


def test_the_monthly_report_names_who_shares_experience_and_who_makes_a_statement(client, login, session):
    """Seed 002: 任务落实好的中队做经验交流，推进慢或停止不前的中队做表态发言. 住建局 finished 2.2 before its
    due date; 东城 (1.1) and 西城 (1.2) are overdue."""
    from engine.core.models import User
    from engine.readiness.plan import report_progress
    clock.set_clock(lambda: datetime(2026, 12, 25, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    admin = session.scalar(select(User).where(User.username == "admin"))
    report_progress(session, session.get(PlanItem, item_id(session, "2.2")), admin, 100, "围挡全部规范")
    session.commit()
    assert login(client, "assessor").status_code == 302
    zh = client.get("/plan/report?month=2026-12&lang=zh").get_data(as_text=True)
    sharing, pledging = section(zh, "experience-sharing"), section(zh, "pledge-statements")
    assert "经验交流" in sharing and "住房和城乡建设局" in sharing and "到期任务 1 项，按期完成 1 项" in sharing
    assert "截至月底到期的任务全部按期完成" in sharing  # the criterion is on the page
    assert "东城街道办事处" not in sharing and "西城街道办事处" not in sharing
    assert "表态发言" in pledging and "东城街道办事处" in pledging and "西城街道办事处" in pledging
    assert "住房和城乡建设局" not in pledging and "超期 1 项" in pledging
    en = client.get("/plan/report?month=2026-12&lang=en").get_data(as_text=True)
    assert "Housing and Construction Bureau" in section(en, "experience-sharing")
    assert "Dongcheng Sub-district Office" in section(en, "pledge-statements")
    assert "done on time (at least one)" in section(en, "experience-sharing")
    november = client.get("/plan/report?month=2026-11&lang=zh").get_data(as_text=True)
    assert "本月无。" in section(november, "experience-sharing")
    token = user_token(client, "assessor")
    units = {u["unit"]["code"]: u for u in client.get("/api/v1/plan/report?month=2026-12",
                                                     headers=bearer(token)).get_json()["units"]}
    assert units["ZJJ"]["shares_experience"] and not units["ZJJ"]["makes_pledge"]
    assert units["JD-DC"]["makes_pledge"] and not units["JD-DC"]["shares_experience"]


def test_an_overdue_items_message_is_worded_in_each_readers_language(client, login, session):
    """The 督办 of an overdue item stores its facts; each reader reads them in their own language (an English
    reader read a Chinese sentence stored with it), only the item's own title as it was written."""
    from engine.core.models import OutboxMessage
    overdue = item_id(session, "1.2")  # JD-XC's, due on 30 November
    sent = select(OutboxMessage.id).where(OutboxMessage.idempotency_key.startswith(f"plan-overdue-{overdue}-"))
    if session.scalar(sent.limit(1)) is None:  # a running poller or an earlier test may have raised it already
        session.execute(update(PlanItem).where(PlanItem.id == overdue).values(escalated_at=None))
        clock.set_clock(lambda: datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
        assert plan.run_due(session) >= 1
    assert session.scalar(sent.limit(1)) is not None
    title = session.scalar(select(PlanItem.title).where(PlanItem.code == "1.2"))
    token = user_token(client, "xicheng")

    def messages(lang: str) -> list[str]:
        data = client.get("/api/v1/inbox", headers={**bearer(token), "Accept-Language": lang}).get_json()
        return [m["message"] for m in data["messages"] if m["kind"] == "plan_overdue"]
    assert messages("en")[0] == (f"Item 1.2 of the task breakdown table, “{title}”, is past its due date (2026-11-30) "
                                 "at 0% done: finish it and report its progress.")
    assert messages("zh-CN")[0].startswith(f"创建任务分解表第 1.2 项「{title}」已超过完成时限（2026-11-30）")
    login(client, "xicheng")
    pages = [client.get(f"/inbox?lang=en&page={n}").get_data(as_text=True) for n in range(1, 6)]
    [page] = [p for p in pages if "is past its due date (2026-11-30)" in p][:1]  # older messages page later
    assert "Plan item overdue" in page and "已超过完成时限" not in page


def test_the_squads_report_at_the_monthly_meeting(client, login, session):
    """Seed 002 names squads (中队) for both: 东城中队 finished its 4.1 on time and shares its experience in January;
    西城中队's 4.2 is overdue and it makes a statement."""
    from engine.core.models import User
    from engine.readiness.plan import report_progress
    clock.set_clock(lambda: datetime(2027, 1, 8, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    squad = session.scalar(select(User).where(User.username == "squad_dc"))
    report_progress(session, session.get(PlanItem, item_id(session, "4.1")), squad, 100, "巡查台账建立，夜间巡查常态化")
    session.commit()
    clock.set_clock(lambda: datetime(2027, 1, 25, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert login(client, "assessor").status_code == 302
    january = client.get("/plan/report?month=2027-01&lang=zh").get_data(as_text=True)
    sharing, pledging = section(january, "experience-sharing"), section(january, "pledge-statements")
    assert "东城街道执法中队" in sharing and "东城街道执法中队" not in pledging
    assert "西城街道执法中队" in pledging and "西城街道执法中队" not in sharing
