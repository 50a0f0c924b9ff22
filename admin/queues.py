"""rq-dashboard for operators, mounted at /rq behind the admin role. Its POSTs are checked by CSRFProtect like
every form: its script sends the `_csrf_token` cookie's value as X-CSRFToken, so its pages set that cookie."""
from __future__ import annotations

from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user
import rq_dashboard
from rq_dashboard.web import setup_rq_connection
from flask_wtf.csrf import generate_csrf


def _admins_only():
    if not current_user.is_authenticated:
        return redirect(url_for("pages.login", next=request.full_path))
    if current_user.role != "admin":
        abort(403)
    if request.endpoint == "rq_dashboard.requeue_all" and request.method != "POST":
        abort(405)  # it requeues every failed job: a link or an image must not do that
    return None


def _csrf_cookie(response):
    """The token the dashboard's script reads (rq_dashboard/scripts/dashboard.js), for its pages only."""
    if response.mimetype == "text/html" and current_user.is_authenticated and current_user.role == "admin":
        response.set_cookie("_csrf_token", generate_csrf(), path="/rq", samesite="Strict", secure=request.is_secure)
    return response


def init_queue_dashboard(app: Flask, redis_url: str) -> None:
    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", redis_url)
    blueprint = rq_dashboard.blueprint
    if _admins_only not in blueprint.before_request_funcs.get(None, []):
        blueprint.before_request(_admins_only)
    if _csrf_cookie not in blueprint.after_request_funcs.get(None, []):
        blueprint.after_request(_csrf_cookie)
    app.register_blueprint(blueprint, url_prefix="/rq")
    setup_rq_connection(app)
