"""/metrics in the Prometheus text format, read at scrape time from the database and Redis.

Nothing is counted in process memory, so every web process answers alike, whatever gunicorn
worker or machine the scrape reaches, and figures from RQ workers elsewhere are included. Access
needs the configured bearer token (CIVICRULES_METRICS_TOKEN) or a client address inside
CIVICRULES_METRICS_ALLOW (comma-separated addresses or CIDRs); with neither set, /metrics is closed.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Iterator

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.config import Settings
from engine.core.models import Delivery, Event, OutboxMessage, Task, TaskStep
from engine.core.states import EventStatus
from rq.registry import FailedJobRegistry
from workers.metrics import read_histogram
from workers.queues import all_queues, connection
from web.common.extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)


class DeploymentCollector:
    """One scrape: a handful of grouped counts in SQL, queue lengths and the latency histogram in Redis."""

    def __init__(self, session: Session, settings: Settings):
        self.session, self.settings = session, settings

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("civicrules_up", "Whether a backing service answered this scrape (1) or not (0).",
                               labels=["component"])
        try:
            yield from self._database()
            up.add_metric(["database"], 1)
        except Exception:
            self.session.rollback()
            log.warning("metrics: database unavailable", exc_info=True)
            up.add_metric(["database"], 0)
        try:
            yield from self._redis()
            up.add_metric(["redis"], 1)
        except Exception:
            log.warning("metrics: Redis unavailable", exc_info=True)
            up.add_metric(["redis"], 0)
        yield up

    def _grouped(self, column, *where) -> dict[str, int]:
        query = select(column, func.count()).group_by(column)
        for clause in where:
            query = query.where(clause)
        return {str(key): int(count) for key, count in self.session.execute(query).all()}

    def _database(self) -> Iterator[Metric]:
        # Build every family before yielding any, so a failing query yields nothing half-read.
        events = self._grouped(Event.status)
        tasks = self._grouped(Task.status)
        steps_done = self._grouped(TaskStep.action, TaskStep.status == "done")
        now = clock.now()
        steps_due = self.session.scalar(select(func.count()).select_from(TaskStep).where(
            TaskStep.status == "pending", TaskStep.due_at <= now)) or 0
        outbox_pending, oldest = self.session.execute(select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == "pending")).one()
        deliveries = self._grouped(Delivery.status, Delivery.status != "delivered")

        received = CounterMetricFamily("civicrules_events_received", "Events accepted by intake (all time).")
        received.add_metric([], sum(events.values()))
        evaluated = CounterMetricFamily("civicrules_events_evaluated", "Events evaluated (all time).")
        evaluated.add_metric([], events.get(EventStatus.EVALUATED, 0))
        failed = GaugeMetricFamily("civicrules_events_failed", "Events given up after failing alone repeatedly.")
        failed.add_metric([], events.get(EventStatus.FAILED, 0))
        by_status = GaugeMetricFamily("civicrules_events", "Events by status.", labels=["status"])
        for status in sorted({*EventStatus, *events}):
            by_status.add_metric([status], events.get(status, 0))
        task_family = GaugeMetricFamily("civicrules_tasks", "Tasks by state.", labels=["status"])
        for status, count in sorted(tasks.items()):
            task_family.add_metric([status], count)
        escalations = CounterMetricFamily("civicrules_escalation_steps_done",
                                          "Timeline steps run by the escalation poller, by action.", labels=["action"])
        for action, count in sorted(steps_done.items()):
            escalations.add_metric([action], count)
        due = GaugeMetricFamily("civicrules_escalation_steps_due", "Timeline steps due and not yet run.")
        due.add_metric([], steps_due)
        pending = GaugeMetricFamily("civicrules_outbox_pending", "Outbox messages not yet delivered.")
        pending.add_metric([], outbox_pending or 0)
        lag = GaugeMetricFamily("civicrules_outbox_lag_seconds",
                                "Age of the oldest undelivered outbox message (0 when none).")
        lag.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        delivery_family = GaugeMetricFamily("civicrules_deliveries", "Per-recipient deliveries not delivered, by status.",
                                            labels=["status"])
        for status in sorted({"pending", "failed", *deliveries}):
            delivery_family.add_metric([status], deliveries.get(status, 0))
        yield from (received, evaluated, failed, by_status, task_family, escalations, due, pending, lag,
                    delivery_family)

    def _redis(self) -> Iterator[Metric]:
        conn = connection(self.settings)
        depth = GaugeMetricFamily("civicrules_queue_depth", "Jobs waiting in each RQ queue.", labels=["queue"])
        failed = GaugeMetricFamily("civicrules_queue_failed_jobs", "Jobs in each RQ queue's failed registry.",
                                   labels=["queue"])
        for queue in all_queues(self.settings, conn):
            depth.add_metric([queue.name], queue.count)
            failed.add_metric([queue.name], FailedJobRegistry(queue=queue).count)
        buckets, total = read_histogram(self.settings, conn)
        latency = HistogramMetricFamily("civicrules_evaluation_latency_seconds",
                                        "Time from intake to evaluation of each event, in seconds.")
        latency.add_metric([], buckets, total)
        yield from (depth, failed, latency)


def _allowed() -> bool:
    settings: Settings = current_app.extensions["civicrules.settings"]
    token = current_app.config.get("CIVICRULES_METRICS_TOKEN", settings.web.metrics_token)
    header = request.headers.get("Authorization", "")
    if token and header.lower().startswith("bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    allow = current_app.config.get("CIVICRULES_METRICS_ALLOW", settings.web.metrics_allow)
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    for entry in filter(None, (part.strip() for part in allow.split(","))):
        if address in ipaddress.ip_network(entry, strict=False):
            return True
    return False


@bp.get("/metrics")
def metrics() -> Response:
    if not _allowed():
        return Response("metrics: send the configured bearer token, or scrape from an allowed address\n",
                        status=401, mimetype="text/plain", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})

    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeploymentCollector(db.session, current_app.extensions["civicrules.settings"]))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
