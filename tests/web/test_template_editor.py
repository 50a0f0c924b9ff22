"""The low-code template editor: an administrator builds a template with a required photo field and a
choice field in a real browser, the live preview shows the runtime form, saving makes a new version,
and a task created from it renders and validates that form (older tasks keep their version)."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from engine.core.models import Task, TaskTemplate
from tests.helpers import bearer, event, move, step, upload_photo, user_token


def test_admin_builds_a_template_the_preview_shows_it_and_a_task_uses_it(live_server, browser, client, intake_token,
                                                                         drain, session, tmp_path, login, browser_login):
    from playwright.sync_api import expect

    shots = Path(os.environ.get("CIVICRULES_ARTIFACTS") or tmp_path) / "template-editor"
    shots.mkdir(parents=True, exist_ok=True)
    before = session.scalar(select(TaskTemplate.version).where(TaskTemplate.code == "night-patrol")
                            .order_by(TaskTemplate.version.desc()).limit(1))
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    browser_login(page, live_server)
    page.goto(f"{live_server}/admin/templates/edit/?code=night-patrol")
    page.click("#add-field")
    row = page.locator("#fields tbody tr").last
    row.locator("[data-f=name]").fill("outcome")
    row.locator("[data-f=type]").select_option("choice")
    row.locator("[data-f=zh]").fill("处置结果")
    row.locator("[data-f=en]").fill("Outcome")
    row.locator("[data-f=required]").check()
    row.locator("[data-f=options]").fill("only_one | 只有一项")
    expect(page.locator(".field-problem")).to_contain_text("至少两个选项")  # the problem, next to the field
    row.locator("[data-f=options]").fill("removed | 已取缔 | Removed\nwarned | 已警告 | Warned")
    page.click("#add-field")
    photo = page.locator("#fields tbody tr").last
    photo.locator("[data-f=name]").fill("scene")
    photo.locator("[data-f=type]").select_option("photo")
    photo.locator("[data-f=zh]").fill("现场照片")
    photo.locator("[data-f=en]").fill("Scene photo")
    photo.locator("[data-f=required]").check()
    expect(page.locator("#preview select[name=outcome] option")).to_have_count(2)
    expect(page.locator("#preview")).to_contain_text("现场照片")
    expect(page.locator(".field-problem")).to_have_count(0)
    page.screenshot(path=str(shots / "editor-preview.png"), full_page=True)
    page.click("#save")
    expect(page.locator(".alert")).to_contain_text("版本")

    session.expire_all()
    saved = session.scalar(select(TaskTemplate).where(TaskTemplate.code == "night-patrol")
                           .order_by(TaskTemplate.version.desc()).limit(1))
    assert saved.version == before + 1
    assert [f["name"] for f in saved.fields][-2:] == ["outcome", "scene"]

    # Templates belong to the campaign's bundle: new tasks take the saved version once it is published.
    from engine.authoring.drafts import publish
    from engine.core.models import Campaign
    campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
    publish(session, campaign, comment="night-patrol form: outcome and scene photo")
    session.commit()
    event_id = client.post("/api/v1/events", json=event("06029", "DC-03", hour=23),
                           headers=bearer(intake_token)).get_json()["id"]
    drain()
    task = session.scalar(select(Task).where(Task.event_id == event_id, Task.template_id == saved.id))
    assert task is not None, "the night patrol task should use the new version"
    squad = user_token(client, "squad_dc")
    body = step(client, squad, {"id": task.id, "version": task.version}, "sign")
    body = step(client, squad, body, "start")
    app = client.application
    app.config["WTF_CSRF_ENABLED"] = True
    login(client, "squad_dc")
    page_html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'name="outcome"' in page_html and "已取缔" in page_html and "已警告" in page_html  # the runtime form

    refused = move(client, squad, task.id, "submit", body["version"], data={"result": "已巡查", "outcome": "burned"})
    assert refused.status_code == 422
    assert {e["field"] for e in refused.get_json()["errors"]} >= {"outcome", "scene"}
    assert upload_photo(client, squad, task.id, field="scene").status_code == 201
    accepted = move(client, squad, task.id, "submit", body["version"], data={"result": "已巡查", "outcome": "warned"})
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["transitions"][-1]["data"]["outcome"] == "warned"
