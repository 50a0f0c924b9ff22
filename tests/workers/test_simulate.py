"""The simulator through the API and the admin page, answered by a real engine worker: rules that fire,
each condition with its fact value, the tasks the hit policy would create; draft and active differ
when the draft does; nothing is stored; no worker means 503 with Retry-After."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.core.models import Campaign, Event, Rule
from tests.helpers import PROBE_RULE, bearer, csrf_from, local_time, start, stop, user_token

pytestmark = pytest.mark.slow
NIGHT = {"category": "06029", "grid": "DC-01", "occurred_at": local_time(23)}


def events_stored(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Event))


def test_draft_and_active_side_by_side_with_every_condition_explained(env, app, client, session, factory, login):
    app.config["CIVICRULES_SIMULATE_TIMEOUT"] = 60
    worker = start(env, "worker")
    admin = user_token(client, "admin")
    before = events_stored(session)
    with factory() as s:
        campaign = s.scalar(select(Campaign).where(Campaign.status == "active"))
        s.add(Rule(campaign_id=campaign.id, key=PROBE_RULE["key"], version=1, document=PROBE_RULE, enabled=True))
        s.commit()
    try:
        active = client.post("/api/v1/simulate", json={"event": NIGHT, "ruleset": "active"}, headers=bearer(admin))
        assert active.status_code == 200, active.get_json()
        result = active.get_json()["campaigns"][0]
        assert {"zero_tolerance.zt4", "night-street-order"} <= set(result["fired"])
        night = next(r for r in result["rules"] if r["key"] == "night-street-order")
        assert {"fact": "local_hour", "op": "not_between", "value": [6, 21], "actual": 23, "held": True} in night["conditions"]
        rebound = next(r for r in result["rules"] if r["key"] == "rebound-alert")
        assert rebound["fired"] is False and rebound["conditions"][0]["held"] is False
        assert {t["unit"] for t in result["tasks"]} == {"JD-DC", "ZD-DC"}

        probe = {**NIGHT, "category": "09014", "grid": "NC-04"}
        draft = client.post("/api/v1/simulate", json={"event": probe, "ruleset": "draft"}, headers=bearer(admin))
        current = client.post("/api/v1/simulate", json={"event": probe, "ruleset": "active"}, headers=bearer(admin))
        assert PROBE_RULE["key"] in draft.get_json()["campaigns"][0]["fired"]
        assert PROBE_RULE["key"] not in current.get_json()["campaigns"][0]["fired"]

        app.config["WTF_CSRF_ENABLED"] = True
        login(client, "admin")
        page = client.get("/admin/simulator/").get_data(as_text=True)
        shown = client.post("/admin/simulator/", data={
            "csrf_token": csrf_from(page), "category": "09014", "grid": "NC-04", "source_type": "hotline",
            "occurred_at": NIGHT["occurred_at"][:16]}).get_data(as_text=True)
        assert 'id="result-draft"' in shown and 'id="result-active"' in shown
        assert f'data-rule="{PROBE_RULE["key"]}" data-fired="yes"' in shown.split('id="result-active"')[0]
        assert f'data-rule="{PROBE_RULE["key"]}" data-fired="yes"' not in shown.split('id="result-active"')[1]

        refused = client.post("/api/v1/simulate", json={"event": NIGHT}, headers=bearer(user_token(client, "dongcheng")))
        assert refused.status_code == 403
        bad = client.post("/api/v1/simulate", json={"event": {**NIGHT, "category": "99999"}}, headers=bearer(admin))
        assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "category"
        assert events_stored(session) == before  # nothing written
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
        stop(worker)
        with factory() as s:
            s.delete(s.scalar(select(Rule).where(Rule.key == PROBE_RULE["key"])))
            s.commit()
    app.config["CIVICRULES_SIMULATE_TIMEOUT"] = 1
    gone = client.post("/api/v1/simulate", json={"event": NIGHT}, headers=bearer(admin))
    assert gone.status_code == 503 and gone.headers["Retry-After"].isdigit()
