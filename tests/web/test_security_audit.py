"""等保 2.0 / PIPL (issue 19 point 8): the three administrators cannot do each other's work, the security audit log
records sign-ins, sign-outs, exports and each view of a reporter's whole number and only the audit administrator
reads it (in local time), idle page sessions end while API tokens go on, and the retention periods hold."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.audit import security_log
from engine.core import clock
from engine.core.config import read_settings
from engine.core.models import Event, SecurityAuditEntry
from engine.intake.reporter import forget_reporters
from rules.problems import InputError
from tests.helpers import bearer, csrf_from, event, user_token

PHONE, MASKED = "13912345678", "139****5678"


def _client(app):
    """A client from an address of its own: the sign-in limits count per address, and the log names it."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    return client


def _entries(session, kind: str) -> list[SecurityAuditEntry]:
    session.expire_all()
    return list(session.scalars(select(SecurityAuditEntry).where(SecurityAuditEntry.kind == kind)
                                .order_by(SecurityAuditEntry.id)))


@pytest.fixture()
def reported(client, intake_token, drain, session) -> Event:
    """A hotline report with the caller's name and number, evaluated into a case."""
    event_id = client.post("/api/v1/events", json=event("06029", "DC-01", hour=23, reporter_name="钱女士",
                                                        reporter_phone=PHONE),
                           headers=bearer(intake_token)).get_json()["id"]
    drain()
    session.expire_all()
    found = session.get(Event, event_id)
    assert found.case_id is not None
    return found


def test_a_phone_view_on_the_case_page_writes_an_audit_row(app, csrf_on, login, reported, session):
    collector = _client(app)
    login(collector, "collector")
    page = collector.get(f"/cases/{reported.case_id}?lang=zh_Hans_CN").get_data(as_text=True)
    assert MASKED in page and PHONE not in page and "显示号码" in page
    shown = collector.post(f"/cases/{reported.case_id}/reports/{reported.id}/phone?lang=zh_Hans_CN",
                           data={"csrf_token": csrf_from(page)})
    body = shown.get_data(as_text=True)
    assert shown.status_code == 200 and PHONE in body and shown.headers["Cache-Control"] == "no-store"
    [entry] = [e for e in _entries(session, "reporter_phone") if e.subject == f"event {reported.id}"]
    assert (entry.username, entry.address) == ("collector", collector.environ_base["REMOTE_ADDR"])

    checker = _client(app)  # a checker never calls reporters: no button, and the request itself is refused
    login(checker, "checker")
    page = checker.get(f"/cases/{reported.case_id}?lang=zh_Hans_CN").get_data(as_text=True)
    assert MASKED in page and PHONE not in page and "显示号码" not in page
    refused = checker.post(f"/cases/{reported.case_id}/reports/{reported.id}/phone",
                           data={"csrf_token": csrf_from(page)})
    assert refused.status_code == 403 and PHONE not in refused.get_data(as_text=True)
    assert len([e for e in _entries(session, "reporter_phone") if e.subject == f"event {reported.id}"]) == 1


def test_only_the_audit_administrator_reads_the_log_in_local_time(app, login, session):
    session.add(SecurityAuditEntry(at=datetime(2026, 11, 30, 17, 5, tzinfo=timezone.utc), kind="export",
                                   username="assessor", address="10.9.9.9", what="appraisal 2026-11"))
    session.commit()
    auditor = _client(app)
    login(auditor, "audit_admin")
    home = auditor.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/admin/")
    assert auditor.get("/admin/").headers["Location"].endswith("/admin/security_audit/")
    listing = auditor.get("/admin/security_audit/?lang=en&flt0_0=export").get_data(as_text=True)
    assert "2026-12-01 01:05" in listing and "2026-11-30 17:05" not in listing  # 东八区, not UTC
    assert "appraisal 2026-11" in listing and "10.9.9.9" in listing and "Export" in listing
    exported = auditor.get("/admin/security_audit/export/csv/")
    assert exported.status_code == 200 and "appraisal 2026-11" in exported.get_data(as_text=True)
    assert ("audit_admin", "导出安全审计日志 / security audit log csv") in [(e.username, e.what) for e in _entries(session, "export")]
    for path in ("/tasks", "/admin/account/", "/admin/category/", "/admin/history/"):
        assert auditor.get(path).status_code == 403, path  # no business page, account, master data or firing
    token = auditor.post("/api/v1/auth/token", json={"username": "audit_admin", "password": "civicrules-demo"})
    assert auditor.get("/api/v1/categories", headers=bearer(token.get_json()["token"])).status_code == 403

    for username in ("admin", "security_admin", "auditor"):  # the rule-firing auditor keeps the firing history
        other = _client(app)
        login(other, username)
        assert other.get("/admin/security_audit/").status_code == 403, username
    security = _client(app)
    login(security, "security_admin")
    assert security.get("/admin/").headers["Location"].endswith("/admin/account/")
    assert security.get("/admin/account/").status_code == 200
    assert security.get("/admin/category/").status_code == 403 and security.get("/tasks").status_code == 403


def test_sign_ins_sign_outs_and_exports_are_logged(app, csrf_on, login, session):
    client = _client(app)
    address = client.environ_base["REMOTE_ADDR"]
    name = f"nobody-{uuid.uuid4().hex[:6]}"
    assert login(client, name, "wrong-password-1").status_code == 200
    assert login(client, "assessor").status_code == 302
    assert client.get("/assessment/appraisal/2026-11.xlsx").status_code == 200
    page = client.get("/password").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_from(page)}).status_code == 302

    assert (name, address) in [(e.username, e.address) for e in _entries(session, "sign_in_failed")]
    assert ("assessor", address) in [(e.username, e.address) for e in _entries(session, "sign_in")]
    assert ("assessor", "导出考评表 / appraisal chuangcheng-2026 2026-11") in [(e.username, e.what) for e in
                                                                   _entries(session, "export")]
    assert ("assessor", address) in [(e.username, e.address) for e in _entries(session, "sign_out")]


def test_an_idle_session_ends_and_an_api_token_does_not(app, client, login, session, settings):
    app.config["CIVICRULES_IDLE_MINUTES"] = settings.privacy.idle_minutes  # the default, 30 (the shared app's is off)
    start = datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)
    now = [start]
    clock.set_clock(lambda: now[0])
    token = user_token(client, "dispatcher")
    page = _client(app)
    assert login(page, "dispatcher").status_code == 302
    now[0] = start + timedelta(minutes=29)
    assert page.get("/tasks").status_code == 200  # each request starts the 30 minutes again
    now[0] = start + timedelta(minutes=29 + 31)
    ended = page.get("/tasks?lang=en")
    assert ended.status_code == 302 and "/login?next=" in ended.headers["Location"]
    shown = page.get(ended.headers["Location"]).get_data(as_text=True)
    assert "signed out after 30 minutes without activity" in shown
    assert page.get("/tasks").status_code == 302  # the session is gone, not just one request refused
    assert "dispatcher" in [e.username for e in _entries(session, "session_idle")]
    now[0] = start + timedelta(hours=5)
    assert client.get("/api/v1/categories", headers=bearer(token)).status_code == 200


def test_the_idle_time_is_a_setting_and_the_audit_log_is_kept_at_least_six_months(tmp_path):
    defaults = read_settings({"CIVICRULES_INSTANCE": str(tmp_path)}).privacy
    assert (defaults.idle_minutes, defaults.security_audit_days, defaults.reporter_data_days) == (30, 180, 365)
    assert read_settings({"CIVICRULES_INSTANCE": str(tmp_path), "CIVICRULES_IDLE_MINUTES": "10"}).privacy.idle_minutes == 10
    with pytest.raises(ValueError, match="CIVICRULES_SECURITY_AUDIT_DAYS=90.*180"):
        read_settings({"CIVICRULES_INSTANCE": str(tmp_path), "CIVICRULES_SECURITY_AUDIT_DAYS": "90"})


def test_the_purge_never_removes_an_entry_younger_than_six_months(session):
    now = datetime(2027, 6, 1, tzinfo=timezone.utc)
    for days in (181, 179):
        session.add(SecurityAuditEntry(at=now - timedelta(days=days), kind="sign_in", username=f"age-{days}",
                                       what="signed in"))
    session.flush()
    with pytest.raises(InputError) as refused:
        security_log.purge(session, 179, now)
    assert refused.value.problems[0].zh == "安全审计日志至少保存 180 天"
    assert security_log.purge(session, 180, now) >= 1
    left = set(session.scalars(select(SecurityAuditEntry.username).where(SecurityAuditEntry.username.like("age-%"))))
    assert left == {"age-179"}


def test_reporters_are_blanked_on_cases_ended_longer_ago_than_the_period(client, intake_token, drain, session):
    ids = [client.post("/api/v1/events", json=event("06029", grid, hour=23, reporter_name="孙先生",
                                                   reporter_phone=PHONE),
                       headers=bearer(intake_token)).get_json()["id"] for grid in ("DC-01", "XC-01")]
    drain()
    session.expire_all()
    old, recent = (session.get(Event, i).case for i in ids)
    assert old.id != recent.id
    now = datetime(2028, 1, 1, tzinfo=timezone.utc)
    for case, days in ((old, 400), (recent, 100)):
        case.stage, case.closed_at = "closed", now - timedelta(days=days)
    session.flush()
    assert forget_reporters(session, 365, now) >= 1
    session.expire_all()
    assert (session.get(Event, ids[0]).reporter_name, session.get(Event, ids[0]).reporter_phone) == (None, None)
    assert (session.get(Event, ids[1]).reporter_name, session.get(Event, ids[1]).reporter_phone) == ("孙先生", PHONE)


def test_the_retention_command_trims_the_log_and_says_what_it_removed(session):
    from click.testing import CliRunner

    from app.cli import main

    now = datetime(2027, 6, 1, tzinfo=timezone.utc)
    clock.set_clock(lambda: now)
    for days in (200, 100):
        session.add(SecurityAuditEntry(at=now - timedelta(days=days), kind="sign_in", username=f"cli-{days}",
                                       what="signed in"))
    session.commit()
    result = CliRunner().invoke(main, ["retention"])
    assert result.exit_code == 0 and "security audit entries removed:" in result.output, result.output
    assert "kept 180 days" in result.output and "after 365 days" in result.output
    session.expire_all()
    left = set(session.scalars(select(SecurityAuditEntry.username).where(SecurityAuditEntry.username.like("cli-%"))))
    assert left == {"cli-100"}
