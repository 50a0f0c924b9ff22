"""Replay with a real engine worker: a generated month of events (taken in and evaluated by the normal
intake and pipeline, so their facts are stored) through the draft and the active version. A draft that
adds a zero-tolerance row and changes a row's limit shows exactly those tasks added and deadlines changed,
for the units owning the grids, and nothing elsewhere; progress moves; Cancel stops a running replay;
nothing is written to tasks, firings or the outbox."""
from __future__ import annotations

import os
import random
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.evaluation import pipeline
from engine.intake.events import IntakeSource, accept_event
from engine.core.models import (Campaign, Event, Firing, Grid, ListItem, OutboxMessage, RuleList, RulesetVersion, Task, TaskTransition)
from tests.helpers import SHANGHAI, csrf_from, start, stop, wait_for

pytestmark = pytest.mark.slow
# A month no other test writes events into (the suite shares one database).
FIRST, LAST = date(2025, 5, 1), date(2025, 5, 31)
NEW_CATEGORY, CHANGED_ROW, CHANGED_CATEGORY = "07001", "SM6", "09004"
#: Categories of the month: the two the draft edit touches, and others it must leave alone.
MIX = [NEW_CATEGORY, CHANGED_CATEGORY, "06029", "09010", "06020", "08001", "09014", "06001"]
EVENTS = 900


@pytest.fixture(scope="module")
def month(factory, settings) -> dict:
    """A month of events through intake and the pipeline; per event its category, grid unit and evaluation time."""
    rng = random.Random(20250501)
    source = IntakeSource(f"replay-{uuid.uuid4().hex[:8]}", "patrol")
    with factory() as session:  # start from draft == active: earlier tests may have left edits in the draft
        from engine.authoring.drafts import draft_view, publish
        active = session.scalar(select(Campaign).where(Campaign.status == "active").order_by(Campaign.id))
        published = session.get(RulesetVersion, active.published_version_id)
        if draft_view(session, active).content_hash != published.content_hash:
            publish(session, active, comment="replay tests: the draft as left by earlier tests")
            session.commit()
    with factory() as session:
        grids = {g.code: g.unit.code for g in session.scalars(select(Grid))}
        ids = []
        for i in range(EVENTS):
            day = FIRST + timedelta(days=rng.randrange((LAST - FIRST).days + 1))
            at = datetime(day.year, day.month, day.day, rng.randrange(8, 20), rng.randrange(60), tzinfo=SHANGHAI)
            payload = {"source_event_id": f"m{i}", "category": rng.choice(MIX), "grid": rng.choice(sorted(grids)),
                       "occurred_at": at.isoformat()}
            ids.append(accept_event(session, payload, source)[0].id)
        session.commit()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        limits = settings.pipeline
        pipeline.drain(factory, limits.batch_size, limits.lease_seconds, limits.max_attempts)
        with factory() as session:
            left = session.scalar(select(func.count()).select_from(Event).where(Event.id.in_(ids),
                                                                                  Event.status != "evaluated"))
        if not left:
            break
    with factory() as session:
        rows = session.execute(select(Event.id, Event.category_id, Event.grid_id, Event.evaluated_at, Event.facts)
                               .where(Event.id.in_(ids))).all()
        codes = {g.id: (g.code, g.unit.code) for g in session.scalars(select(Grid))}
        campaign = session.scalar(select(Campaign).where(Campaign.status == "active").order_by(Campaign.id))
        assert all(r.facts and str(campaign.id) in r.facts for r in rows), "the pipeline stores each event's facts"
        events = {r.id: {"category": r.facts[str(campaign.id)]["category"], "unit": codes[r.grid_id][1],
                         "evaluated_at": r.evaluated_at} for r in rows}
    return {"events": events, "campaign": campaign.id}


@pytest.fixture()
def worker(env):
    proc = start(env, "worker")
    yield proc
    stop(proc)  # a stop asked during the warm-up after a job: tests/workers/test_worker_stop.py


def written(factory) -> dict[str, int]:
    with factory() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Task, Firing, OutboxMessage, TaskTransition)}


def run_through_page(app, client, month: dict, **compare: str) -> tuple[str, dict, list[int]]:
    """Start a replay through the form (draft against active unless told), follow its bar to the end."""
    page = client.get("/admin/replay/").get_data(as_text=True)
    response = client.post("/admin/replay/", data={
        "csrf_token": csrf_from(page), "campaign": str(month["campaign"]), "date_from": FIRST.isoformat(),
        "date_to": LAST.isoformat(), **(compare or {"compare": "draft"})})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    job_url = response.headers["Location"]
    job_id = job_url.rstrip("/").rsplit("/", 1)[1]
    seen = []

    def finished():
        state = client.get(f"/admin/replay/{job_id}/status.json").get_json()
        seen.append(state["done"])
        return state if state["finished"] else None

    state = wait_for(finished, 120, every=0.05)
    assert state["status"] == "finished", state
    from workers.replay import fetch, outcome

    answer = outcome(fetch(app.extensions["civicrules.settings"], job_id))
    assert answer["ok"], answer
    return job_url, answer["result"], seen


@contextmanager
def draft_edit(factory, campaign_id: int):
    """The draft gets a zero-tolerance row for NEW_CATEGORY (4 points) and CHANGED_ROW a 3-hour limit;
    both are undone afterwards. Yields the new row's rule key."""
    key = f"ZTR{uuid.uuid4().hex[:6].upper()}"
    with factory() as session:
        lists = select(ListItem).join(RuleList).where(RuleList.campaign_id == campaign_id)
        zero = session.scalar(select(RuleList).where(RuleList.campaign_id == campaign_id,
                                                     RuleList.kind == "zero_tolerance"))
        zero.items.append(ListItem(position=len(zero.items), key=key, title_zh="张贴喷涂零容忍",
                                   title_en="Posting or spraying, zero tolerance", categories=[NEW_CATEGORY],
                                   conditions=[], assign="grid_unit", template_code="zt-clearance",
                                   timeline_code="zt-ladder", points=4, enabled=True))
        row = session.scalar(lists.where(ListItem.key == CHANGED_ROW))
        old_limit, row.limit = row.limit, {"value": 3, "unit": "urgent_hours"}
        session.commit()
    try:
        yield f"zero_tolerance.{key.lower()}"
    finally:
        with factory() as session:
            session.delete(session.scalar(select(ListItem).where(ListItem.key == key)))
            session.scalar(lists.where(ListItem.key == CHANGED_ROW)).limit = old_limit
            session.commit()


def test_a_draft_edit_shows_exactly_its_differences_per_unit(app, client, factory, month, worker, login):
    app.config["WTF_CSRF_ENABLED"] = True
    login(client, "auditor")  # a read-only role may replay: nothing is written
    try:
        before = written(factory)
        _, baseline, _ = run_through_page(app, client, month)
        assert baseline["status"] == "finished" and baseline["units"] == [], \
            f"the draft already differs from the active version for this month's categories: {baseline['units']}"
        with draft_edit(factory, month["campaign"]) as rule_key:
            job_url, result, seen = run_through_page(app, client, month)
            events = month["events"]
            added = Counter(e["unit"] for e in events.values() if e["category"] == NEW_CATEGORY)
            changed = Counter(e["unit"] for e in events.values() if e["category"] == CHANGED_CATEGORY)
            # every report already reaches the grid's sub-district by the duty lists (a routine task), so the new
            # row does not add a task there: it changes that task's rule (routine -> the row) and adds its points
            expected = {unit: {"added": 0, "removed": 0, "deadlines": changed[unit], "rules": added[unit],
                               "points": 4.0 * added[unit]} for unit in added | changed}
            got = {u["unit"]: {k: u[k] for k in ("added", "removed", "deadlines", "rules", "points")} for u in result["units"]}
            assert got == expected
            assert result["in_period"] == len(events)
            assert result["compared"] == sum(added.values()) + sum(changed.values())  # other categories skipped
            assert result["reenriched"] == 0  # every event's stored facts were used
            assert seen[-1] == result["compared"] and seen == sorted(seen)

            for d in result["differences"]:
                assert d["event"] in events
                if d["kind"] == "rule":  # the routine task of the duty lists becomes the new row's
                    assert (d["category"], d["rule_after"], d["rule_before"], d["points"]) == (
                        NEW_CATEGORY, rule_key, "routine", 4.0)
                else:
                    assert d["kind"] == "deadline" and d["category"] == CHANGED_CATEGORY
                    assert d["rule_before"] == d["rule_after"] == "strict_management.sm6"
                    assert datetime.fromisoformat(d["deadline_after"]) == \
                        events[d["event"]]["evaluated_at"] + timedelta(hours=3)
                    assert d["deadline_before"] != d["deadline_after"]
            assert len(result["differences"]) == result["difference_count"] == sum(added.values()) + sum(changed.values())
            assert written(factory) == before  # no task, firing, transition or outbox row from either replay

            html = client.get(job_url).get_data(as_text=True)
            assert 'id="replay-units"' in html
            for unit, row in expected.items():
                assert f'<tr data-unit="{unit}">' in html and f'<details class="mb-2" data-unit="{unit}">' in html
            assert html.count('data-kind="rule"') == sum(added.values())
            assert html.count('data-kind="deadline"') == sum(changed.values())
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_two_published_versions_can_be_compared(app, client, factory, month, worker, login):
    with factory() as session:
        campaign = session.get(Campaign, month["campaign"])
        number = session.scalar(select(RulesetVersion.number).where(RulesetVersion.id == campaign.published_version_id))
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        login(client, "admin")
        job_url, result, _ = run_through_page(app, client, month, compare="versions", base_version=str(number),
                                              other_version=str(number))
        assert (result["base"], result["other"], result["units"]) == (number, number, [])
        assert result["compared"] == 0 and result["in_period"] == len(month["events"])  # nothing can differ
        html = client.get(job_url + "?lang=en").get_data(as_text=True)
        assert f"Version {number}</strong> → <strong>Version {number}" in html and 'id="replay-no-differences"' in html
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_progress_moves_and_cancel_stops_a_running_replay(app, client, factory, month, settings, worker, login):
    from workers.replay import fetch, outcome, start as start_replay

    app.config["WTF_CSRF_ENABLED"] = True
    login(client, "assessor")
    try:
        before = written(factory)
        onlooker = app.test_client()  # another reader watches but may not stop someone else's replay
        login(onlooker, "auditor")  # signed in first: between the progress seen and the cancel, the replay runs on
        job_id = start_replay(settings, {"campaign": month["campaign"], "from": FIRST.isoformat(),
                                         "to": LAST.isoformat(), "base": "active", "other": "draft",
                                         "batch_size": 1, "skip_unchanged": False}, by="assessor")
        seen = []

        def far_enough():
            state = client.get(f"/admin/replay/{job_id}/status.json").get_json()
            seen.append(state["done"])
            return state if state["done"] >= 30 else None

        watched = onlooker.get(f"/admin/replay/{job_id}/").get_data(as_text=True)
        assert 'id="replay-cancel"' not in watched
        assert onlooker.post(f"/admin/replay/{job_id}/cancel",
                             data={"csrf_token": csrf_from(watched)}).status_code == 403
        state = wait_for(far_enough, 120, every=0.02)
        page = client.get(f"/admin/replay/{job_id}/").get_data(as_text=True)
        asked = time.monotonic()
        client.post(f"/admin/replay/{job_id}/cancel", data={"csrf_token": csrf_from(page)})
        assert not state["finished"] and state["total"] == len(month["events"])
        assert 'id="replay-cancel"' in page and 'class="progress-bar"' in page

        def ended():
            state = client.get(f"/admin/replay/{job_id}/status.json").get_json()
            seen.append(state["done"])
            return state if state["finished"] else None

        state = wait_for(ended, 30, every=0.02)
        assert time.monotonic() - asked < 5
        assert state["cancel_requested"] and state["status"] == "finished"
        result = outcome(fetch(settings, job_id))["result"]
        assert result["status"] == "cancelled"
        assert 30 <= result["compared"] < result["total"] == len(month["events"])
        assert seen == sorted(seen) and len(set(seen)) >= 3  # the bar moved in steps
        html = client.get(f"/admin/replay/{job_id}/").get_data(as_text=True)
        assert 'id="replay-cancelled"' in html and 'id="replay-cancel"' not in html
        assert written(factory) == before
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_draft_that_does_not_validate_shows_its_problems_instead_of_a_result(app, client, factory, month,
                                                                                settings, worker, login):
    from workers.replay import fetch, outcome, start as start_replay

    key = f"ZTBAD{uuid.uuid4().hex[:4].upper()}"
    with factory() as session:
        zero = session.scalar(select(RuleList).where(RuleList.campaign_id == month["campaign"],
                                                     RuleList.kind == "zero_tolerance"))
        zero.items.append(ListItem(position=len(zero.items), key=key, title_zh="坏行", title_en="Broken row",
                                   categories=[NEW_CATEGORY], conditions=[], assign="grid_unit",
                                   template_code="no-such-template", points=1, enabled=True))
        session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        login(client, "admin")
        job_id = start_replay(settings, {"campaign": month["campaign"], "from": FIRST.isoformat(),
                                         "to": LAST.isoformat()}, by="test")
        wait_for(lambda: client.get(f"/admin/replay/{job_id}/status.json").get_json()["finished"], 120)
        answer = outcome(fetch(settings, job_id))
        assert answer["ok"] is False and any("no-such-template" in p["en"] for p in answer["problems"]), answer
        html = client.get(f"/admin/replay/{job_id}/?lang=en").get_data(as_text=True)
        assert 'id="replay-problems"' in html and "no-such-template" in html and 'id="replay-units"' not in html
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
        with factory() as session:
            session.delete(session.scalar(select(ListItem).where(ListItem.key == key)))
            session.commit()


def test_the_form_names_what_is_wrong_and_field_units_have_no_access(app, client, month, login):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        login(client, "admin")
        page = client.get("/admin/replay/").get_data(as_text=True)
        assert 'type="date"' in page and 'id="replay-form"' in page
        refused = client.post("/admin/replay/?lang=en", data={
            "csrf_token": csrf_from(page), "campaign": str(month["campaign"]), "date_from": "2026-06-30",
            "date_to": "2026-06-01", "compare": "versions", "base_version": "1", "other_version": "99999"})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 200
        assert "The period ends before it starts." in html and "No published version 99999." in html
        assert client.get("/admin/replay/replay-no-such-job/status.json").status_code == 404
        field_unit = app.test_client()
        login(field_unit, "dongcheng")
        assert field_unit.get("/admin/replay/").status_code == 403
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_an_assessor_replays_the_month_in_a_browser_on_a_phone_and_a_desktop(app, live_server, browser, factory,
                                                                            month, worker, tmp_path, browser_login):
    from playwright.sync_api import expect

    shots = Path(os.environ.get("CIVICRULES_ARTIFACTS") or tmp_path) / "replay"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        with draft_edit(factory, month["campaign"]):
            for name, viewport in (("phone", {"width": 390, "height": 844}), ("desktop", {"width": 1280, "height": 900})):
                page = browser.new_page(viewport=viewport, locale="zh-CN")
                browser_login(page, live_server, "assessor")
                page.goto(f"{live_server}/admin/replay/")
                expect(page.locator("h1")).to_have_text("回放")
                page.select_option("#compare", "versions")
                expect(page.locator("#replay-versions")).to_be_visible()
                page.select_option("#compare", "draft")
                expect(page.locator("#replay-versions")).to_be_hidden()
                page.select_option("#campaign", str(month["campaign"]))
                page.fill("#date_from", FIRST.isoformat())
                page.fill("#date_to", LAST.isoformat())
                page.click("#replay-start")
                expect(page.locator("#replay-progress .progress-bar")).to_be_attached()
                expect(page.locator("#replay-units")).to_be_visible(timeout=120_000)  # the bar's page reloads at the end
                expect(page.locator("#replay-units tr[data-unit]")).not_to_have_count(0)
                first = page.locator("details[data-unit]").first
                first.locator("summary").click()
                expect(first.locator("tr[data-kind]").first).to_be_visible()
                assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
                page.screenshot(path=str(shots / f"replay-{name}.png"), full_page=True)
                page.close()
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_events_without_stored_facts_are_enriched_anew_with_the_same_outcome(factory, month):
    from engine.authoring.replay import replay

    target = min(i for i, e in month["events"].items() if e["category"] == NEW_CATEGORY)
    with factory() as session:
        stored = session.get(Event, target).facts
    with draft_edit(factory, month["campaign"]) as rule_key:
        with factory() as session:
            kept = replay(session, month["campaign"], FIRST, LAST)
        try:
            with factory() as session:
                session.get(Event, target).facts = None  # as if evaluated before the campaign existed
                session.commit()
            with factory() as session:
                anew = replay(session, month["campaign"], FIRST, LAST)
        finally:
            with factory() as session:
                session.get(Event, target).facts = stored
                session.commit()
    assert (kept["reenriched"], anew["reenriched"]) == (0, 1)
    assert anew["units"] == kept["units"] and anew["difference_count"] == kept["difference_count"]
    assert any(d["event"] == target and d["rule_after"] == rule_key for d in anew["differences"])


def test_a_replay_still_waiting_for_a_worker_is_cancelled_by_rq(app, client, month, settings, login):
    from workers.replay import start as start_replay

    job_id = start_replay(settings, {"campaign": month["campaign"], "from": FIRST.isoformat(),
                                     "to": LAST.isoformat()}, by="auditor")  # no worker runs in this test
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        login(client, "auditor")
        page = client.get(f"/admin/replay/{job_id}/?lang=en").get_data(as_text=True)
        assert "Waiting for an engine worker" in page and 'id="replay-cancel"' in page
        client.post(f"/admin/replay/{job_id}/cancel", data={"csrf_token": csrf_from(page)})
        state = client.get(f"/admin/replay/{job_id}/status.json").get_json()
        assert (state["status"], state["finished"]) == ("canceled", True)
        html = client.get(f"/admin/replay/{job_id}/?lang=en").get_data(as_text=True)
        assert 'id="replay-failed"' in html and "Cancelled" in html and 'id="replay-cancel"' not in html
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
