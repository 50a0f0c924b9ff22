"""Request ids, request logs, readiness and metrics for the web processes.

Every response carries X-Request-ID (the caller's, if it sent a sane one, else a new one), and every
log line written while serving the request carries it too. /readyz answers 503 while the database
or Redis is unreachable, so a load balancer stops sending traffic; /healthz stays a liveness probe.
"""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, jsonify, request

from engine.core import logs
from engine.core.config import Settings
from engine.core.db import ping
from web.metrics import bp as metrics_bp
from web.common.extensions import db
from workers.queues import connection

log = logging.getLogger("civicrules.request")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


def init_observability(app: Flask, settings: Settings) -> None:
    if not app.testing:
        logs.configure_logging()

    app.register_blueprint(metrics_bp)

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_token = logs.request_id.set(g.request_id)
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
            event_id = g.get("event_id") or (request.view_args or {}).get("event_id")
            log.info("%s %s %s %.1f ms", request.method, request.path, response.status_code,
                     (time.perf_counter() - g.request_started) * 1000,
                     extra={"method": request.method, "path": request.path, "status": response.status_code,
                            "event_id": event_id, "remote_addr": request.remote_addr})
        return response

    @app.teardown_request
    def _forget(_error: BaseException | None) -> None:
        token = g.pop("request_token", None)
        if token is not None:
            logs.request_id.reset(token)

    @app.get("/readyz")
    def readyz():
        checks = {"database": _check(lambda: ping(db.engine)),
                  "redis": _check(lambda: connection(settings).ping())}
        ready = all(value == "ok" for value in checks.values())
        return jsonify({"status": "ready" if ready else "unavailable", "checks": checks}), 200 if ready else 503


def _check(probe) -> str:
    try:
        probe()
        return "ok"
    except Exception as err:  # reported in the answer, not raised: this is the readiness probe
        return f"error: {type(err).__name__}"
