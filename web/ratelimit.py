"""Rate limits (Flask-Limiter on the app's Redis): sign-in per username and address, intake per token.

Limits live in Redis so every web process counts together. If Redis is unreachable the limiter
falls back to counting in process memory (logged), so sign-in and intake keep working.
"""
from __future__ import annotations

import hashlib
import time
from typing import Callable

from flask import Flask, Response, current_app, flash, render_template, request
from flask_babel import gettext as _
from flask_limiter import Limiter, RateLimitExceeded

from engine.core.config import Settings
from web.forms import LoginForm
from web.common.problems import problem

limiter = Limiter(key_func=lambda: request.remote_addr or "unknown")


def storage_uri(redis_url: str) -> str:
    """The limits library names the unix-socket scheme `redis+unix://`; redis-py's `unix://` is the same socket."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


def init_rate_limits(app: Flask, settings: Settings) -> None:
    app.config.setdefault("RATELIMIT_ENABLED", settings.web.rate_limits)
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(settings.redis_url))
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 2, "socket_timeout": 2})
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")  # "5 in any 60 s", not per clock minute
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", settings.queues.prefix)
    app.config.setdefault("CIVICRULES_LOGIN_RATE_LIMIT", settings.web.login_rate_limit)
    app.config.setdefault("CIVICRULES_INTAKE_RATE_LIMIT", settings.web.intake_rate_limit)
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many)


def _login_key() -> str:
    data = request.get_json(silent=True) if request.is_json else None
    username = (data.get("username") if isinstance(data, dict) else None) or request.form.get("username") or ""
    return f"{request.remote_addr}|{str(username).strip().lower()}"


def _intake_key() -> str:
    """The token itself (hashed): the Authorization header, or Open311's api_key parameter."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else request.values.get("api_key", "")
    return hashlib.sha256(token.encode()).hexdigest()[:24] if token else f"anonymous|{request.remote_addr}"


def _failed_sign_in(response: Response) -> bool:
    """Only failures count: a successful sign-in (201 token, 302 redirect) and a refusal (429) do not."""
    return response.status_code not in (201, 302, 429)


def _config_value(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


#: Sign-in (page and API share one count): 5 failures a minute per username and address.
login_limit = limiter.shared_limit(_config_value("CIVICRULES_LOGIN_RATE_LIMIT"), scope="login",
                                   key_func=_login_key, methods=["POST"], deduct_when=_failed_sign_in)

#: Intake (JSON, batch, Open311): a generous ceiling per token against runaway clients.
intake_limit = limiter.shared_limit(_config_value("CIVICRULES_INTAKE_RATE_LIMIT"), scope="intake",
                                    key_func=_intake_key, methods=["POST"])


def _retry_after() -> int:
    current = limiter.current_limit
    try:
        return max(1, int(current.reset_at - time.time())) if current else 60
    except Exception:  # the storage went away between the check and now
        return 60


def _too_many(err: RateLimitExceeded) -> Response:
    seconds = _retry_after()
    if request.endpoint == "pages.login":

        flash(_("Too many failed sign-ins. Try again in %(seconds)s seconds.", seconds=seconds), "danger")
        response = Response(render_template("login.html", form=LoginForm()), status=429)
    else:

        if err.limit.scope == "login":
            detail = _("Too many failed sign-ins. Try again in %(seconds)s seconds.", seconds=seconds)
        else:
            detail = _("Too many requests for this token. Try again in %(seconds)s seconds.", seconds=seconds)
        response = problem(429, "too-many-requests", detail=detail, retry_after=seconds)
    response.headers["Retry-After"] = str(seconds)
    return response
