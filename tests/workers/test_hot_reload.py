"""Hot reload: a running RQ worker evaluates with a newly published version from its next batch, no
restart; firings record the version. The compiled-version cache of a long-lived process stays
bounded however many versions are published."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from engine.evaluation.context import _compiled_cache, active_contexts
from engine.authoring.drafts import publish
from engine.core.models import Campaign, Event, Firing, Rule, RulesetVersion
from tests.helpers import PROBE_RULE, REPORT, ROOT, bearer, event, start, stop, wait_for

pytestmark = pytest.mark.slow


def test_a_running_worker_uses_the_new_version_at_once(env, factory, client, intake_token, demo):
    worker = start(env, "worker")
    try:
        first = client.post("/api/v1/events", json=event("09014", "NC-04", hour=10), headers=bearer(intake_token))
        assert wait_for(lambda: _status(factory, first.get_json()["id"]) == "evaluated", 60)

        with factory() as session:
            campaign = session.scalar(select(Campaign).where(Campaign.status == "active"))
            session.add(Rule(campaign_id=campaign.id, key=PROBE_RULE["key"], version=1, document=PROBE_RULE, enabled=True))
            session.commit()
        published = subprocess.run([sys.executable, "-m", "app.cli", "rules", "publish", "--campaign", campaign.code,
                                    "--comment", "hot reload probe"], cwd=ROOT, env=env, capture_output=True,
                                   text=True, check=True)
        at = time.monotonic()
        assert "published version" in published.stdout

        second = client.post("/api/v1/events", json=event("09014", "NC-04", hour=10), headers=bearer(intake_token))
        assert wait_for(lambda: _status(factory, second.get_json()["id"]) == "evaluated", 60)
        latency = time.monotonic() - at
        with factory() as session:
            newest = session.scalar(select(RulesetVersion).where(RulesetVersion.campaign_id == campaign.id)
                                    .order_by(RulesetVersion.number.desc()).limit(1))
            fired = session.scalars(select(Firing).where(Firing.event_id == second.get_json()["id"])).all()
            before = session.scalars(select(Firing.rule_key).where(Firing.event_id == first.get_json()["id"])).all()
        assert PROBE_RULE["key"] not in before
        assert PROBE_RULE["key"] in {f.rule_key for f in fired}
        assert {f.ruleset_version_id for f in fired} == {newest.id}
        REPORT.append(f"hot reload: published -> evaluated under the new version in {latency:.2f} s (promise: 5 s)")
        assert latency < 30  # generous: the promise is measured, not asserted tightly on a shared machine
    finally:
        stop(worker)
        with factory() as session:
            campaign = session.scalar(select(Campaign).where(Campaign.status == "active"))
            session.delete(session.scalar(select(Rule).where(Rule.key == PROBE_RULE["key"])))
            session.flush()
            publish(session, campaign, comment="hot reload probe removed")
            session.commit()


def test_the_compiled_cache_stays_bounded_over_many_publishes(factory, demo):
    with factory() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.status == "active"))
        active = len(session.scalars(select(Campaign).where(Campaign.status == "active")).all())
        for n in range(30):
            publish(session, campaign, comment=f"bounded cache {n}")
            session.flush()
            active_contexts(session)
            assert len(_compiled_cache) <= active
        session.commit()


def _status(factory, event_id: int) -> str | None:
    with factory() as session:
        return session.scalar(select(Event.status).where(Event.id == event_id))
