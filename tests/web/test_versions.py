"""The versions page over HTTP: the draft's differences from the active version row by row, publishing
(refused with the problems in Chinese and English when the draft is broken, else a new version with its
author and comment in the change log), rollback to an older version that new events then run under,
and read-only roles that see everything but cannot publish or roll back."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from engine.authoring.drafts import publish, rollback
from engine.core.models import Campaign, ChangeLogEntry, Firing, ListItem, Rule, RuleList, RulesetVersion, Scenario, User
from tests.helpers import bearer, csrf_from, event, reviewed_hash

BROKEN = {"title": {"zh": "坏规则", "en": "Broken"},
          "when": {"all": [{"fact": "local_hour", "op": "between", "value": [23]}]},
          "then": [{"do": "create_task", "template": "no-such-template", "assign": "grid_unit"}]}


def _probe(key: str) -> dict:
    """A rule that only notifies (no task), on a category and grid no other test posts together."""
    return {"key": key, "title": {"zh": "版本探针", "en": "Version probe"},
            "when": {"all": [{"fact": "category", "op": "eq", "value": "09014"},
                             {"fact": "grid", "op": "eq", "value": "XC-02"}]},
            "then": [{"do": "notify", "to": "tier:1"}]}


@pytest.fixture()
def campaign(session) -> Campaign:
    return session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))


@pytest.fixture()
def admin_client(app, csrf_on, login):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.253.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    assert login(client, "admin").status_code in (302, 303)
    return client


def _row(session, campaign, kind: str, key: str) -> ListItem:
    return session.scalar(select(ListItem).join(RuleList).where(RuleList.campaign_id == campaign.id,
                                                               RuleList.kind == kind, ListItem.key == key))


def _versions(session, campaign) -> list[RulesetVersion]:
    session.expire_all()
    return list(session.scalars(select(RulesetVersion).where(RulesetVersion.campaign_id == campaign.id)
                                .order_by(RulesetVersion.number)))


def _post_publish(client, campaign, comment: str, lang: str):
    url = f"/admin/versions/{campaign.id}/draft?lang={lang}"
    page = client.get(url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_from(page), "reviewed": reviewed_hash(page), "comment": comment})


def test_the_draft_diff_shows_a_changed_row_field_by_field(admin_client, session, campaign):
    row = _row(session, campaign, "zero_tolerance", "ZT1")
    before = list(row.categories)
    row.categories = before + ["09014"]
    session.commit()
    page = admin_client.get(f"/admin/versions/{campaign.id}/draft?lang=en").get_data(as_text=True)
    assert 'data-subject="zero_tolerance/ZT1" data-path="categories" data-kind="added"' in page
    assert "List row ZT1 (zero-tolerance list), categories: added 09014" in page
    assert 'id="differs"' in page
    zh = admin_client.get(f"/admin/versions/{campaign.id}/draft?lang=zh").get_data(as_text=True)
    assert "零容忍清单的清单行 ZT1 的 categories：新增 09014" in zh
    row.categories = before
    session.commit()
    page = admin_client.get(f"/admin/versions/{campaign.id}/draft?lang=en").get_data(as_text=True)
    assert 'data-subject="zero_tolerance/ZT1"' not in page


def test_publishing_refuses_a_draft_that_changed_since_it_was_reviewed(admin_client, session, campaign):
    start = _versions(session, campaign)[-1]
    url = f"/admin/versions/{campaign.id}/draft?lang=en"
    row = _row(session, campaign, "zero_tolerance", "ZT2")
    points = row.points
    row.points = points + 3
    session.commit()
    page = admin_client.get(url).get_data(as_text=True)  # the admin reviews +3 ...
    row.points = points + 5  # ... and another editor changes the row again before the admin publishes
    session.commit()
    response = admin_client.post(url, data={"csrf_token": csrf_from(page), "reviewed": reviewed_hash(page),
                                            "comment": "reviewed something else"})
    answer = response.get_data(as_text=True)
    assert response.status_code == 200 and "the draft changed since you reviewed it" in answer
    assert 'data-subject="zero_tolerance/ZT2" data-path="points"' in answer  # the new difference, to review
    assert _versions(session, campaign)[-1].id == start.id


def test_a_draft_equal_to_the_active_version_has_nothing_to_publish(admin_client, session, campaign):
    publish(session, campaign, comment="draft and active made equal")
    session.commit()
    start = _versions(session, campaign)[-1]
    url = f"/admin/versions/{campaign.id}/draft?lang=en"
    page = admin_client.get(url).get_data(as_text=True)
    assert 'id="no-changes"' in page and 'id="nothing-to-publish"' in page and 'id="publish-form"' not in page
    response = admin_client.post(url, data={"csrf_token": csrf_from(admin_client.get("/admin/versions/").get_data(
        as_text=True)), "reviewed": start.content_hash, "comment": "again"})
    assert "the draft is the same as the active version" in response.get_data(as_text=True)
    assert _versions(session, campaign)[-1].id == start.id


def test_publish_refuses_a_broken_draft_then_publishes_and_rolls_back(admin_client, app, session, campaign,
                                                                    intake_token, drain):
    admin_id = session.scalar(select(User.id).where(User.username == "admin"))
    start = _versions(session, campaign)[-1]
    broken_key, probe_key = "broken-rule", "probe-rule"
    session.add(Rule(campaign_id=campaign.id, key=broken_key, version=1, document={"key": broken_key, **BROKEN}))
    session.commit()
    for lang, words in (("zh", ("未知的任务模板", "没有发布任何版本")),
                        ("en", ("unknown task template", "Nothing was published"))):
        response = _post_publish(admin_client, campaign, "should not publish", lang)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        for text in words:
            assert text in page, (lang, text)
        assert f"{broken_key}: then[0].template" in page and f"{broken_key}: when.all[0].value" in page
        beside = page.split(f'data-subject="{broken_key}"')[1].split("</tr>")[0]  # next to the rule that caused it
        assert f"{broken_key}: then[0].template: {words[0]}" in beside
    assert _versions(session, campaign)[-1].id == start.id

    session.execute(delete(Rule).where(Rule.key == broken_key))
    session.add(Rule(campaign_id=campaign.id, key=probe_key, version=1, document=_probe(probe_key)))
    session.commit()
    response = _post_publish(admin_client, campaign, "probe rule for the versions test", "en")
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    published = _versions(session, campaign)[-1]
    assert published.number == start.number + 1
    assert (published.author_id, published.comment) == (admin_id, "probe rule for the versions test")
    assert probe_key in published.rules and published.bundle["templates"]
    assert session.get(Campaign, campaign.id).published_version_id == published.id
    logged = session.scalar(select(ChangeLogEntry).where(ChangeLogEntry.object_type == "RulesetVersion",
                                                         ChangeLogEntry.object_id == str(published.id),
                                                         ChangeLogEntry.action == "insert"))
    assert logged is not None and (logged.username, logged.interface) == ("admin", "admin")
    assert logged.after["comment"] == "probe rule for the versions test"
    index = admin_client.get("/admin/versions/?lang=en").get_data(as_text=True)
    assert f'data-number="{published.number}"' in index and "probe rule for the versions test" in index
    diff = admin_client.get(f"/admin/versions/{campaign.id}/diff?old={start.number}&new={published.number}&lang=en")
    assert f'data-subject="{probe_key}"' in diff.get_data(as_text=True)

    index = admin_client.get("/admin/versions/").get_data(as_text=True)
    response = admin_client.post(f"/admin/versions/{campaign.id}/rollback/{start.number}",
                                 data={"csrf_token": csrf_from(index), "comment": "probe done"})
    assert response.status_code in (302, 303)
    rolled = _versions(session, campaign)[-1]
    assert rolled.number == start.number + 2
    assert rolled.content_hash == start.content_hash and rolled.rules == start.rules
    assert rolled.comment == "probe done" and rolled.author_id == admin_id
    assert session.get(Campaign, campaign.id).published_version_id == rolled.id
    draft = admin_client.get(f"/admin/versions/{campaign.id}/draft?lang=en").get_data(as_text=True)
    assert f'data-subject="{probe_key}"' in draft and 'id="differs"' in draft  # the draft is left as it was
    index = admin_client.get("/admin/versions/?lang=en").get_data(as_text=True)
    # the row names the oldest version with this content (earlier tests of the run may have published it before)
    oldest = min(v.number for v in _versions(session, campaign) if v.content_hash == start.content_hash)
    assert oldest <= start.number
    assert f'data-to="{oldest}"' in index.split(f'data-number="{rolled.number}"')[1].split("</tr>")[0]
    assert 'data-state="differs"' in index.split(f'id="campaign-{campaign.id}"')[1].split("</section>")[0]

    api = app.test_client()
    api.environ_base["REMOTE_ADDR"] = "10.253.251.1"
    posted = api.post("/api/v1/events", json=event("09014", "XC-02", hour=10), headers=bearer(intake_token))
    assert posted.status_code == 202, posted.get_json()
    drain()
    session.expire_all()
    firings = session.scalars(select(Firing).where(Firing.event_id == posted.get_json()["id"])).all()
    assert firings and {f.ruleset_version_id for f in firings} == {rolled.id}
    assert probe_key not in {f.rule_key for f in firings}


def test_an_auditor_reads_every_page_but_cannot_publish_or_roll_back(app, session, campaign, csrf_on, login):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.253.252.1"
    assert login(client, "auditor").status_code in (302, 303)
    count = session.scalar(select(func.count()).select_from(RulesetVersion))
    for url in ("/admin/versions/", f"/admin/versions/{campaign.id}/draft", f"/admin/versions/{campaign.id}/diff"):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert 'id="publish-form"' not in page and "/rollback/" not in page  # no edit controls for readers
    token = csrf_from(client.get("/admin/simulator/").get_data(as_text=True))  # a valid token: the 403 is the role
    oldest = _versions(session, campaign)[0].number
    publishing = client.post(f"/admin/versions/{campaign.id}/draft", data={"csrf_token": token, "comment": "x"})
    assert publishing.status_code == 403
    assert client.post(f"/admin/versions/{campaign.id}/rollback/{oldest}",
                       data={"csrf_token": token, "comment": "x"}).status_code == 403
    assert session.scalar(select(func.count()).select_from(RulesetVersion)) == count


def test_in_a_browser_an_admin_reviews_publishes_and_rolls_back(live_server, browser, session, campaign,
                                                                 tmp_path, browser_login):
    from playwright.sync_api import expect

    shots = Path(os.environ.get("CIVICRULES_ARTIFACTS") or tmp_path) / "versions"
    shots.mkdir(parents=True, exist_ok=True)
    row = _row(session, campaign, "strict_management", "SM1")
    points = row.points
    start = _versions(session, campaign)[-1]
    row.points = points + 1
    guard = session.scalar(select(Scenario).where(Scenario.campaign_id == campaign.id, Scenario.title.like("SM1 %")))
    guard.expected = {**guard.expected, "tasks": [{**t, "points": points + 1} for t in guard.expected["tasks"]]}
    session.commit()  # the demo's SM1 scenario states the new points too, or the publish would be refused
    try:
        for size, viewport in (("desktop", {"width": 1280, "height": 900}),
                               ("phone", {"width": 390, "height": 844})):
            page = browser.new_page(viewport=viewport, locale="zh-CN")
            browser_login(page, live_server)
            page.goto(f"{live_server}/admin/versions/{campaign.id}/draft")
            changed = page.locator('tr.change[data-subject="strict_management/SM1"][data-path="points"]')
            expect(changed).to_have_count(1)
            expect(changed.locator("td.new")).to_contain_text(str(points + 1))
            page.screenshot(path=str(shots / f"draft-{size}.png"), full_page=True)
            if size == "phone":
                break
            page.click("#publish")  # no comment: the browser holds the form back (the field is required)
            expect(page.locator("textarea[name=comment]:invalid")).to_have_count(1)
            page.fill("textarea[name=comment]", "SM1 一分")
            page.click("#publish")
            expect(page.locator(".alert-success")).to_contain_text(f"第 {start.number + 1} 版")
            newest = page.locator(f'#campaign-{campaign.id} tr.version[data-number="{start.number + 1}"]')
            expect(newest).to_contain_text("生效中")
            page.screenshot(path=str(shots / f"versions-{size}.png"), full_page=True)
            page.once("dialog", lambda dialog: dialog.accept())
            older = page.locator(f'#campaign-{campaign.id} tr.version[data-number="{start.number}"]')
            older.locator("input[name=comment]").fill("撤回")
            older.locator("button[type=submit]").click()
            expect(page.locator(".alert-success")).to_contain_text(f"第 {start.number + 2} 版")
            page.close()
        rolled = _versions(session, campaign)[-1]
        assert (rolled.number, rolled.content_hash) == (start.number + 2, start.content_hash)
        assert rolled.comment == "撤回"
    finally:
        session.rollback()
        row = session.get(ListItem, row.id)
        row.points = points
        guard = session.get(Scenario, guard.id)
        guard.expected = {**guard.expected, "tasks": [{**t, "points": points} for t in guard.expected["tasks"]]}
        session.commit()


def test_a_rollback_without_a_reason_is_refused_next_to_its_field(session, campaign, admin_client):
    """The button names the version it goes back to; no reason, no new version, and the page says why."""
    oldest = _versions(session, campaign)[-1].number
    rollback(session, campaign, oldest, comment="同内容再发布")  # the same content as a newer, active version
    session.commit()
    numbers = [v.number for v in _versions(session, campaign)]
    index = admin_client.get("/admin/versions/?lang=zh").get_data(as_text=True)
    assert f"回退到第 {oldest} 版" in index
    answer = admin_client.post(f"/admin/versions/{campaign.id}/rollback/{oldest}?lang=zh",
                               data={"csrf_token": csrf_from(index), "comment": "  "})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    row = page.split(f'id="campaign-{campaign.id}"')[1].split(f'data-number="{oldest}"')[1].split("</tr>")[0]
    assert "rollback-error" in row and "请说明回退原因" in row and "is-invalid" in row
    assert [v.number for v in _versions(session, campaign)] == numbers
