"""/metrics read from SQL and Redis, protected; request ids in and out; JSON log lines; readiness."""
from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.core import clock
from engine.core.logs import configure_logging
from tests.helpers import bearer, event

TOKEN = "metrics-secret-for-tests"


@pytest.fixture()
def scrape(app):
    app.config["CIVICRULES_METRICS_TOKEN"] = TOKEN

    def run() -> dict[tuple[str, tuple], float]:
        response = app.test_client().get("/metrics", headers=bearer(TOKEN))
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(response.get_data(as_text=True))
                for s in family.samples}

    return run


def test_metrics_are_closed_without_the_token_or_an_allowed_address(app):
    app.config["CIVICRULES_METRICS_TOKEN"] = TOKEN
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer("guess")).status_code == 401
    assert client.get("/metrics", headers=bearer(TOKEN)).status_code == 200
    app.config["CIVICRULES_METRICS_ALLOW"] = "10.20.0.0/16, 192.0.2.7"
    client.environ_base["REMOTE_ADDR"] = "10.20.3.4"
    assert client.get("/metrics").status_code == 200
    client.environ_base["REMOTE_ADDR"] = "10.21.3.4"
    assert client.get("/metrics").status_code == 401


def test_metrics_follow_an_event_from_intake_to_tasks(app, client, intake_token, scrape, env):
    from workers.jobs import drain_events

    before = scrape()
    created = client.post("/api/v1/events", json=event("06029", "DC-02", hour=23), headers=bearer(intake_token))
    assert created.status_code == 202
    after_intake = scrape()
    assert after_intake[("civicrules_events_received_total", ())] == before[("civicrules_events_received_total", ())] + 1
    assert after_intake[("civicrules_events", (("status", "pending"),))] >= 1
    queue = next(labels for name, labels in after_intake if name == "civicrules_queue_depth")
    assert dict(queue)["queue"].endswith("-evaluate") or dict(queue)["queue"].endswith("-outbox")

    drain_events()  # the worker's job, in this process: evaluates and records latencies in Redis
    evaluated = scrape()
    count = ("civicrules_evaluation_latency_seconds_count", ())
    assert evaluated[count] >= before.get(count, 0) + 1
    assert evaluated[("civicrules_evaluation_latency_seconds_bucket", (("le", "+Inf"),))] == evaluated[count]
    assert evaluated[("civicrules_events_evaluated_total", ())] >= before[("civicrules_events_evaluated_total", ())] + 1
    assert evaluated[("civicrules_tasks", (("status", "dispatched"),))] >= 2  # sub-district and squad
    assert evaluated[("civicrules_up", (("component", "database"),))] == 1
    assert evaluated[("civicrules_up", (("component", "redis"),))] == 1
    assert ("civicrules_events_failed", ()) in evaluated
    assert ("civicrules_events", (("status", "failed"),)) in evaluated
    assert ("civicrules_events_parked", ()) not in evaluated

    later = clock.now() + timedelta(minutes=10)
    clock.set_clock(lambda: later)
    lagging = scrape()
    assert lagging[("civicrules_outbox_pending", ())] >= 1
    assert lagging[("civicrules_outbox_lag_seconds", ())] >= 600


@pytest.fixture()
def service_log():
    """`service_log(fmt)` sends the service's log to a string for this test only and returns the string's stream."""
    stream = io.StringIO()

    def capture(fmt: str) -> io.StringIO:
        configure_logging(fmt=fmt, stream=stream)
        return stream
    yield capture
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "civicrules":
            root.removeHandler(handler)


def test_a_request_id_goes_in_and_out_and_into_the_log(app, client, intake_token, service_log):
    stream = service_log("json")
    response = client.post("/api/v1/events", json=event(), headers={**bearer(intake_token),
                                                                     "X-Request-ID": "hotline-batch-42"})
    fresh = client.get("/healthz")
    assert response.headers["X-Request-ID"] == "hotline-batch-42"
    assert len(fresh.headers["X-Request-ID"]) == 32  # made up when none (or a strange one) is sent
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    line = next(entry for entry in lines if entry.get("request_id") == "hotline-batch-42")
    assert line["event_id"] == response.get_json()["id"] and line["status"] == 202
    assert line["path"] == "/api/v1/events" and line["level"] == "INFO" and "time" in line
    odd = '"><script>alert(1)</script>'
    assert client.get("/healthz", headers={"X-Request-ID": odd}).headers["X-Request-ID"] != odd


def test_text_logs_name_the_request_too(app, client, service_log):
    stream = service_log("text")
    client.get("/healthz", headers={"X-Request-ID": "probe-7"})
    assert "[request=probe-7]" in stream.getvalue() and "GET /healthz 200" in stream.getvalue()


def test_readiness_checks_database_and_redis(client):
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
