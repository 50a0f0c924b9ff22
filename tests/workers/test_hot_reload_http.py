"""Hot reload through the browser's path: with a real engine worker running, an administrator publishes
over HTTP (POST /admin/versions/<campaign>/draft with the CSRF token), and the next event posted to the
API is evaluated under the new version, no restart; the latency is reported (promise: 5 s)."""
from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import delete, select

from engine.authoring.drafts import publish
from engine.core.models import Campaign, Event, Firing, Rule, RulesetVersion
from tests.helpers import REPORT, bearer, csrf_from, event, reviewed_hash, start, stop, wait_for

pytestmark = pytest.mark.slow


def _probe(key: str) -> dict:
    return {"key": key, "title": {"zh": "网页发布探针", "en": "Published over HTTP probe"},
            "when": {"all": [{"fact": "category", "op": "eq", "value": "09014"},
                             {"fact": "grid", "op": "eq", "value": "NC-03"}]},
            "then": [{"do": "notify", "to": "tier:1"}]}


def _status(factory, event_id: int) -> str | None:
    with factory() as session:
        return session.scalar(select(Event.status).where(Event.id == event_id))


def test_publishing_over_http_reaches_a_running_worker_within_seconds(env, factory, app, intake_token, demo, login):
    key = f"http-probe-{uuid.uuid4().hex[:8]}"
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = "10.254.0.1"
    api = app.test_client()
    api.environ_base["REMOTE_ADDR"] = "10.254.0.2"
    worker = start(env, "worker")
    try:
        warm = api.post("/api/v1/events", json=event("09014", "NC-03", hour=10), headers=bearer(intake_token))
        assert wait_for(lambda: _status(factory, warm.get_json()["id"]) == "evaluated", 60)
        with factory() as session:
            campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
            session.add(Rule(campaign_id=campaign.id, key=key, version=1, document=_probe(key), enabled=True))
            session.commit()
            campaign_id = campaign.id
        assert login(browser, "admin").status_code in (302, 303)
        url = f"/admin/versions/{campaign_id}/draft?lang=en"
        page = browser.get(url).get_data(as_text=True)
        assert f'data-subject="{key}"' in page  # the diff shows what is about to go live
        published = browser.post(url, data={"csrf_token": csrf_from(page), "reviewed": reviewed_hash(page),
                                             "comment": "hot reload over HTTP"})
        at = time.monotonic()
        assert published.status_code in (302, 303), published.get_data(as_text=True)[:2000]

        second = api.post("/api/v1/events", json=event("09014", "NC-03", hour=10), headers=bearer(intake_token))
        assert second.status_code == 202, second.get_json()
        assert wait_for(lambda: _status(factory, second.get_json()["id"]) == "evaluated", 60, every=0.02)
        latency = time.monotonic() - at
        with factory() as session:
            newest = session.scalar(select(RulesetVersion).where(RulesetVersion.campaign_id == campaign_id)
                                    .order_by(RulesetVersion.number.desc()).limit(1))
            fired = session.scalars(select(Firing).where(Firing.event_id == second.get_json()["id"])).all()
            before = session.scalars(select(Firing.rule_key).where(Firing.event_id == warm.get_json()["id"])).all()
        assert newest.comment == "hot reload over HTTP"
        assert key not in before
        assert key in {f.rule_key for f in fired}
        assert {f.ruleset_version_id for f in fired} == {newest.id}
        REPORT.append(f"hot reload over HTTP: admin POST publish -> event evaluated under it by a running worker "
                      f"in {latency:.2f} s (promise: 5 s)")
        assert latency < 30  # generous on a shared machine: the figure is reported, the promise measured
    finally:
        stop(worker)
        with factory() as session:
            session.execute(delete(Rule).where(Rule.key == key))
            session.flush()
            publish(session, session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026")),
                    comment="http hot reload probe removed")
            session.commit()
