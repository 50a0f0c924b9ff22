"""The weekly bulletin as a publication (周通报 第N期): the poller publishes the week just ended once, at the
campaign's local day and hour; the issue is numbered, frozen and hashed; a correction is a new number; every
unit gets it in its inbox, by e-mail with the PDF and on its robot; the PDF reads as the bureau's 通报."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import threading
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine.assessment import issues
from engine.assessment.bulletin import build
from engine.assessment.indicators import parse_period
from engine.cases.closing import close_case
from engine.core import clock
from engine.core.models import BulletinIssue, Campaign, Event, OutboxMessage, Recipient, Unit
from engine.delivery import outbox
from engine.handling.tasks import apply
from engine.intake.events import IntakeSource, accept_event
from rules.problems import InputError
from tests.helpers import no_bulletin_issues, event, free_port, unique, user

SHANGHAI = ZoneInfo("Asia/Shanghai")
INSPECTION = IntakeSource("inspection-tests", "patrol")
FRIDAY = datetime(2026, 11, 27, 12, 0, tzinfo=SHANGHAI)  # in week 2026-W48 (23–29 November)
MONDAY_8 = datetime(2026, 11, 30, 8, 0, tzinfo=SHANGHAI)  # the default publication time for W48


def finding(factory, drain, category: str, grid: str, tier: int, **extra: Any) -> int:
    """A report found on an inspection round of `tier` on Friday of W48, evaluated into a case and tasks."""
    clock.set_clock(lambda: FRIDAY.astimezone(SHANGHAI))
    try:
        with factory() as s:
            body = {**event(category, grid), "occurred_at": (FRIDAY - timedelta(hours=2)).isoformat(), **extra}
            event_id = accept_event(s, body, INSPECTION)[0].id
            s.get(Event, event_id).inspection_tier = tier
            s.commit()
        drain()
    finally:
        clock.set_clock(None)
    return event_id


def rectify(session, event_id: int) -> None:
    """The garbage case of a finding handled by its lead (JD-NC) and its cooperating unit (HWZX), then closed."""
    from engine.accounts.users import create_user

    case = session.get(Event, event_id).case
    nanchang = create_user(session, unique("nc"), "field_unit", "Passw0rd!Passw0rd", "JD-NC")
    session.flush()
    for task, actor, data in ((next(t for t in case.tasks if t.unit.code == "JD-NC"), nanchang, None),
                              (next(t for t in case.tasks if t.unit.code == "HWZX"), user(session, "sanitation"),
                               {"result": "调派清运车一辆"})):
        for action in ("sign", "start"):
            apply(session, task, action, actor, "", None, expected_version=task.version)
            session.flush()
        apply(session, task, "submit", actor, "已清运", data, expected_version=task.version)
        session.flush()
        if task.unit.code == "JD-NC":
            apply(session, task, "pass_check", user(session, "checker"), "", None, expected_version=task.version)
            session.flush()
    close_case(session, case.id, "", user(session, "shift_leader"), case.opened_at + timedelta(hours=3))
    session.commit()


@pytest.fixture(autouse=True)
def unpublished(session) -> None:
    """Every test here publishes its weeks afresh (rolled back afterwards)."""
    no_bulletin_issues(session)


@pytest.fixture()
def week(factory, drain, session) -> dict[str, Any]:
    """W48 with two findings: a tier-2 garbage finding in NC-02 (rectified) and a tier-3 barbecue in DC-02."""
    garbage = finding(factory, drain, "06011", "NC-02", 2, filing_condition="over_2_days")
    barbecue = finding(factory, drain, "06029", "DC-02", 3)
    rectify(session, garbage)
    campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
    before = session.scalar(select(func.max(BulletinIssue.number)).where(BulletinIssue.campaign_id == campaign.id))
    return {"campaign": campaign, "garbage": garbage, "barbecue": barbecue, "next": (before or 0) + 1}


def publish_w48(factory, session, week) -> BulletinIssue:
    with factory() as s:
        (issue_id,) = issues.run_due(s, now=MONDAY_8)
    session.expire_all()
    return session.get(BulletinIssue, issue_id)


def test_the_poller_publishes_the_week_just_ended_once_at_monday_0800_local(factory, session, week):
    from workers.escalation import publish_bulletins

    count = session.scalar(select(func.count()).select_from(BulletinIssue))
    clock.set_clock(lambda: MONDAY_8 - timedelta(minutes=1))
    publish_bulletins(factory)  # what the escalation poller runs each round, on the injected clock
    assert session.scalar(select(func.count()).select_from(BulletinIssue)) == count
    clock.set_clock(lambda: MONDAY_8)
    publish_bulletins(factory)
    clock.set_clock(None)
    session.expire_all()
    issue = session.scalar(select(BulletinIssue).where(BulletinIssue.scheduled_for == "2026-W48"))
    with factory() as s:  # a second poller, and the same poller a minute later, publish nothing more
        assert issues.run_due(s, now=MONDAY_8) == []
        assert issues.run_due(s, now=MONDAY_8 + timedelta(minutes=1)) == []
    assert (issue.number, issue.period, issue.scheduled_for) == (week["next"], "2026-W48", "2026-W48")
    assert issue.generated_at == MONDAY_8 and issue.corrects_id is None
    findings = issue.content["findings"]
    assert (findings["found"], findings["rectified"]) == (2, 1)
    assert [(t["tier"], t["found"], t["rectified"]) for t in findings["by_tier"]] == [(2, 1, 1), (3, 1, 0)]
    assert {(line["unit"]["code"], line["tier"]) for line in findings["by_unit"]} == {("JD-NC", 2), ("JD-DC", 3)}
    assert issue.content["number"] == issue.number and issue.content["issued_on"] == "2026-11-30"
    canonical = json.dumps(issue.content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert issue.content_sha256 == hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    # the next week's issue takes the next number, on the next Monday only
    with factory() as s:
        assert issues.run_due(s, now=MONDAY_8 + timedelta(days=6, hours=23)) == []
        (next_id,) = issues.run_due(s, now=MONDAY_8 + timedelta(days=7))
    following = session.get(BulletinIssue, next_id)
    assert (following.number, following.period) == (issue.number + 1, "2026-W49")


def test_the_day_and_hour_are_the_campaigns_own(factory, session, week):
    campaign = week["campaign"]
    campaign.bulletin_weekday, campaign.bulletin_time = 2, "17:30"  # Wednesday 17:30, Shanghai time
    session.commit()
    wednesday = datetime(2026, 12, 2, 17, 30, tzinfo=SHANGHAI)
    with factory() as s:
        assert issues.run_due(s, now=MONDAY_8) == []
        assert issues.run_due(s, now=wednesday - timedelta(seconds=1)) == []
        (issue_id,) = issues.run_due(s, now=wednesday)
    assert session.get(BulletinIssue, issue_id).period == "2026-W48"


def test_the_issue_stays_frozen_when_the_data_changes_and_a_correction_is_a_new_number(
        factory, drain, session, week):
    issue = publish_w48(factory, session, week)
    frozen, digest, pdf = json.dumps(issue.content, sort_keys=True), issue.content_sha256, issue.pdf_zh
    finding(factory, drain, "06029", "DC-03", 2)  # a finding of W48 recorded late
    with factory() as s:
        assert issues.run_due(s, now=MONDAY_8 + timedelta(hours=1)) == []  # never regenerated silently
    session.expire_all()
    issue = session.get(BulletinIssue, issue.id)
    assert (json.dumps(issue.content, sort_keys=True), issue.content_sha256, issue.pdf_zh) == (frozen, digest, pdf)
    assert issue.content["findings"]["found"] == 2
    assert sum(line.found for line in build(session, week["campaign"], parse_period("2026-W48"), MONDAY_8).findings) == 3

    with pytest.raises(InputError) as refused:
        issues.correct(session, issue, "  ", user(session, "assessor"))
    assert refused.value.problems[0].where == "reason" and "更正" in refused.value.problems[0].zh
    assert session.scalar(select(func.count()).select_from(BulletinIssue).where(
        BulletinIssue.corrects_id == issue.id)) == 0

    corrected = issues.correct(session, issue, "补录督察中队11月27日发现的问题一处", user(session, "assessor"),
                               now=MONDAY_8 + timedelta(hours=2))
    session.commit()
    assert (corrected.number, corrected.period, corrected.corrects_id) == (issue.number + 1, "2026-W48", issue.id)
    assert corrected.scheduled_for is None and corrected.content["findings"]["found"] == 3
    assert corrected.content["corrects"] == {"number": issue.number, "reason": "补录督察中队11月27日发现的问题一处"}
    assert corrected.content_sha256 != issue.content_sha256 and issue.content_sha256 == digest
    assert f"本期更正第{issue.number}期" in issues.publication.narrative(corrected.content, "zh")[0]


def test_two_pollers_cannot_publish_one_week_twice(factory, session, week):
    issue = publish_w48(factory, session, week)
    twin = BulletinIssue(campaign_id=issue.campaign_id, number=issue.number + 1, period=issue.period,
                         scheduled_for=issue.scheduled_for, period_start=issue.period_start,
                         period_end=issue.period_end, generated_at=issue.generated_at, content=issue.content,
                         content_sha256=issue.content_sha256, pdf_zh=b"", pdf_en=b"")
    session.add(twin)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.flush()


def test_every_unit_gets_the_issue_in_its_inbox(factory, session, week):
    issue = publish_w48(factory, session, week)
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "bulletin_published",
                                                       OutboxMessage.payload["issue"].as_integer() == issue.id)).all()
    units = session.scalars(select(Unit.id)).all()
    assert sorted(r.target for r in rows) == sorted(f"unit:{u}" for u in units)
    assert {r.channel for r in rows} == {"inbox"}
    assert {r.idempotency_key for r in rows} == {f"bulletin:{issue.id}:unit:{u}" for u in units}
    payload = rows[0].payload
    assert payload["number"] == issue.number and payload["url"] == f"/assessment/issues/{issue.id}.pdf"
    assert "本周三级督查共发现问题2个，已整改1个" in payload["summary"]["zh"]


class Robot(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        Robot.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        body = b'{"errcode": 0, "errmsg": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


def test_the_email_carries_the_pdf_and_the_robot_a_summary(factory, session, week, monkeypatch):
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.mails: list[bytes] = []

        async def handle_DATA(self, server, smtp_session, envelope) -> str:
            self.mails.append(envelope.content)
            return "250 OK"

    mailbox, port = Inbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    robot = ThreadingHTTPServer(("127.0.0.1", 0), Robot)
    threading.Thread(target=robot.serve_forever, daemon=True).start()
    Robot.received = []
    monkeypatch.setenv("CIVICRULES_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CIVICRULES_SMTP_PORT", str(port))
    monkeypatch.setenv("CIVICRULES_SMTP_FROM", "bulletin@example.org")
    monkeypatch.setenv("CIVICRULES_WEBHOOK_ALLOW", "127.0.0.1/32")
    nanchang = session.scalar(select(Unit).where(Unit.code == "JD-NC"))
    for channel, address, language in (("email", "jd-nc@example.org", "zh"), ("email", "jd-nc-en@example.org", "en"),
                                       ("wecom", f"http://127.0.0.1:{robot.server_address[1]}/robot?key=k", "zh")):
        session.add(Recipient(name=unique("rcpt"), scope="unit", unit_id=nanchang.id, channel=channel,
                              address=address, language=language, enabled=True))
    session.commit()
    issue = publish_w48(factory, session, week)
    controller.start()
    try:
        clock.set_clock(lambda: MONDAY_8 + timedelta(seconds=5))
        with factory() as s:
            outbox.deliver_due(s)
            while outbox.pending_count(s):
                outbox.deliver_due(s)
    finally:
        clock.set_clock(None)
        controller.stop()
        robot.shutdown()
    mails = {m["To"]: m for m in (message_from_bytes(raw, policy=policy.default) for raw in mailbox.mails)}
    zh, en = mails["jd-nc@example.org"], mails["jd-nc-en@example.org"]
    assert zh["X-CivicRules-Idempotency-Key"] == f"bulletin:{issue.id}:unit:{nanchang.id}"
    assert zh["Subject"] == f"[CivicRules] 督查通报第{issue.number}期"
    [attached] = list(zh.iter_attachments())
    assert attached.get_content_type() == "application/pdf" and attached.get_payload(decode=True) == issue.pdf_zh
    [attached_en] = list(en.iter_attachments())
    assert attached_en.get_payload(decode=True) == issue.pdf_en and attached_en.get_filename().endswith("-en.pdf")
    assert "本周三级督查共发现问题2个" in zh.get_body(("plain",)).get_content()
    [text] = [m["text"]["content"] for m in Robot.received if "督查通报" in m["text"]["content"]]
    assert f"【督查通报第{issue.number}期】" in text and "已整改1个" in text and len(text) < 1000


def _pdf_text(tmp_path, data: bytes, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_the_pdf_reads_as_the_bureaus_bulletin_with_charts_and_an_embedded_chinese_font(
        factory, session, week, tmp_path):
    issue = publish_w48(factory, session, week)
    import os
    if os.environ.get("BULLETIN_KEEP"):
        (tmp_path.parent / "kept-zh.pdf").write_bytes(issue.pdf_zh)
        (tmp_path.parent / "kept-en.pdf").write_bytes(issue.pdf_en)
    text = _pdf_text(tmp_path, issue.pdf_zh, "zh.pdf")
    flat = "".join(text.split())
    assert "城市管理综合执法局" in flat and "督查通报" in flat and f"第{issue.number}期" in flat
    assert "2026年11月30日" in flat and "2026年11月23日至2026年11月29日" in flat
    assert "本周三级督查共发现问题2个，已整改1个" in flat
    assert "督察中队定向督查" in flat and "局领导专项督查" in flat  # findings per tier, named as the campaign names them
    assert "南城街道" in flat or "JD-NC" in flat
    for heading in ("一、三级督查发现问题", "二、整改和任务办理情况", "三、超期和反弹", "四、排名情况",
                    "各层级发现问题数", "近六周得分走势", "超期任务按督办层级"):
        assert heading in flat, heading
    assert "第1页共" in flat and "约谈、末位淘汰等按月度和季度排名执行" in flat
    fonts = subprocess.run(["pdffonts", str(tmp_path / "zh.pdf")], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts if line.strip())
    assert any("WenQuanYi" in line or "wqy" in line.lower() for line in fonts)

    english = "".join(_pdf_text(tmp_path, issue.pdf_en, "en.pdf").split())
    assert f"InspectionBulletinNo.{issue.number}" in english or f"No.{issue.number}" in english
    assert "foundthree" not in english and "thethreetiersofinspectionfound2problems;1rectifiedsofar(50.0%)" in english

    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "40", "-png", str(tmp_path / "zh.pdf"), str(tmp_path / "page")], check=True)
    colours: set[tuple[int, int, int]] = set()
    for page in sorted(tmp_path.glob("page*.png")):
        colours |= {pixel[:3] for pixel in Image.open(page).convert("RGB").getdata()}
    near = lambda target: any(sum(abs(a - b) for a, b in zip(pixel, target)) < 30 for pixel in colours)  # noqa: E731
    assert near((31, 119, 180)) and near((214, 39, 40)), "the bar charts are drawn"


def _rounds(session, plan_code: str, days: list[int]) -> None:
    """Rounds under a plan, one on each given day of November 2026 at 09:00 local, by the tier-1 inspector."""
    from engine.core.models import InspectionPlan, InspectionRound

    plan = session.scalar(select(InspectionPlan).where(InspectionPlan.code == plan_code))
    for day in days:
        start = datetime(2026, 11, day, 9, 0, tzinfo=SHANGHAI)
        session.add(InspectionRound(plan_id=plan.id, campaign_id=plan.campaign_id, tier_level=plan.tier_level,
                                    inspector_id=user(session, "squad_lead").id, started_at=start,
                                    ended_at=start + timedelta(hours=1), track=[]))
    session.commit()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_the_issue_shows_each_plans_rounds_against_its_frequency_and_names_who_held_none(
        factory, session, week, tmp_path):
    """Seed 002: 三级督查…随时掌握工作开展情况，并将情况一周通报一次. 东城's squad went out on three days of W48
    (twice on Tuesday), nobody else walked a round: the tiers that found something but held no round, and every
    squad that held none, are named instead of left out."""
    _rounds(session, "ZD-DC-DAILY", [24, 24, 25, 27])
    issue = publish_w48(factory, session, week)
    rounds = issue.content["rounds"]
    plans = {p["code"]: p for p in rounds["plans"]}
    dongcheng = plans["ZD-DC-DAILY"]
    assert (dongcheng["rounds"], dongcheng["held"], dongcheng["due"]) == (4, 3, 7)
    assert dongcheng["held_text"] == {"zh": "3/7 天", "en": "3 of 7 days"}
    assert dongcheng["status"]["zh"] == "未达到督查频次"
    assert plans["ZD-NC-DAILY"]["status"]["zh"] == "本期未开展督查" and plans["ZD-NC-DAILY"]["rounds"] == 0
    assert plans["JLD-SPECIAL"]["held_text"]["en"] == "0 of 1 week"
    tiers = {t["tier"]: t for t in rounds["by_tier"]}
    assert [tiers[t]["rounds"] for t in (1, 2, 3)] == [4, 0, 0]
    squads = ("BC", "CG", "HD", "KF", "NC", "XC", "XH")  # all but 东城
    assert [p["code"] for p in tiers[1]["idle"]] == [f"ZD-{s}-DAILY" for s in squads]
    zh = "".join(issues.publication.narrative(issue.content, "zh"))
    assert "本周三级督查共开展督查4轮，其中中队内部全面督查4轮，督察中队定向督查0轮，局领导专项督查0轮。" in zh
    assert "本期未开展督查的：北城中队网格全面督查" in zh and "局领导专项督查（占道经营与露天烧烤）" in zh
    en = " ".join(issues.publication.narrative(issue.content, "en"))
    assert "Inspection squad targeted inspection 0" in en and "No round held under: Beicheng squad: all its grids" in en
    flat = "".join(_pdf_text(tmp_path, issue.pdf_zh, "zh.pdf").split())
    assert "督查计划" in flat and "按频次开展" in flat and "3/7天" in flat
    assert "南城中队网格全面督查" in flat and "本期未开展督查" in flat
    english = "".join(_pdf_text(tmp_path, issue.pdf_en, "en.pdf").split())
    assert "Inspectionplan" in english and "3of7days" in english and "noroundheld" in english
