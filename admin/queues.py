"""rq-dashboard for operators, mounted at /rq behind the admin role (its POSTs carry no CSRF token,
so its blueprint is exempted from CSRFProtect and closed to everyone but administrators)."""
from __future__ import annotations

from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user
import rq_dashboard
from rq_dashboard.web import setup_rq_connection
from web.common.extensions import csrf


def _admins_only():
    if not current_user.is_authenticated:
        return redirect(url_for("pages.login", next=request.full_path))
    if current_user.role != "admin":
        abort(403)
    return None


def init_queue_dashboard(app: Flask, redis_url: str) -> None:
    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", redis_url)
    blueprint = rq_dashboard.blueprint
    if _admins_only not in blueprint.before_request_funcs.get(None, []):
        blueprint.before_request(_admins_only)
    app.register_blueprint(blueprint, url_prefix="/rq")
    csrf.exempt(blueprint)
    setup_rq_connection(app)
