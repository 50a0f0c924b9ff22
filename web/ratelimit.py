"""Rate limits on the app's Redis: sign-in per username and address and per address across usernames (so
rotating usernames from one address is throttled too), and wrong current passwords on the own password change
per account, through Flask-Limiter; intake per token through one Lua
script, which also reads the token revocation epoch in the same round trip (engine/accounts/tokens.py).

Limits live in Redis so every web process counts together. If Redis is unreachable the limits fall back to
counting in process memory (logged), so sign-in and intake keep working.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from functools import lru_cache, wraps
from typing import Callable

from limits import RateLimitItem, parse
from redis import RedisError
from redis.commands.core import Script

from flask import Flask, Response, current_app, flash, g, render_template, request
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user

from engine.accounts.tokens import epoch_key
from engine.core.config import Settings
from web.forms import LoginForm, PasswordChangeForm
from web.common.problems import problem
from workers.queues import connection

log = logging.getLogger("civicrules.sign_in")
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
    app.config.setdefault("CIVICRULES_LOGIN_ADDRESS_RATE_LIMIT", settings.web.login_address_rate_limit)
    app.config.setdefault("CIVICRULES_INTAKE_RATE_LIMIT", settings.web.intake_rate_limit)
    app.after_request(_keep_account_wait)  # registered first, so it runs after the limiter's header hook
    limiter.init_app(app)
    _hooks_only_where_limited(app)
    app.register_error_handler(RateLimitExceeded, _too_many)


def _hooks_only_where_limited(app: Flask) -> None:
    """Flask-Limiter hooks every request (about 0.3 ms of CPU each): a before hook for default, application and
    blueprint limits, and after and teardown hooks for headers, deductions on failure and its per-request state.
    This app has none of the former (the sign-in limits are decorators, which check in the view), so the before
    hook is dropped, and the others run only in a request where a limit ran and left its state."""
    manager = limiter.limit_manager
    if manager.default_limits or manager.application_limits or getattr(manager, "_blueprint_limits", True) \
            or getattr(limiter, "_meta_limits", True):
        return
    app.before_request_funcs[None] = [f for f in app.before_request_funcs.get(None, [])
                                      if getattr(f, "__self__", None) is not limiter]
    app.after_request_funcs[None] = [_where_limited(f) if _is_limiters(f) else f
                                     for f in app.after_request_funcs.get(None, [])]
    app.teardown_request_funcs[None] = [_where_limited(f) if _is_limiters(f) else f
                                        for f in app.teardown_request_funcs.get(None, [])]


def _is_limiters(hook: Callable) -> bool:
    return getattr(hook, "__self__", None) is limiter or limiter in getattr(hook, "args", ())


def _where_limited(hook: Callable) -> Callable:
    """`hook` where Flask-Limiter has request state (a limit decorator ran), else nothing."""
    def guarded(value):
        return hook(value) if hasattr(request_ctx, "_limiter_request_context") else value
    return guarded


def _keep_account_wait(response: Response) -> Response:
    """The limiter sets Retry-After to its own window on every limited route; an account's wait says when."""
    seconds = g.get("account_wait")
    if seconds is not None:
        response.headers["Retry-After"] = str(seconds)
    return response


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
    """Only failed guesses count, also one that starts an account's wait (its answer is 429): the view says so in
    g.sign_in_failed as soon as a password was tried. A request that tried none (an empty field, a missing or
    stale CSRF token, an overlong name, a body that is no JSON object) never does, whatever its status."""
    return bool(g.get("sign_in_failed"))


def note_sign_in(failed: bool) -> None:
    """Tell the sign-in limits whether this request was a failed guess at a password."""
    g.sign_in_failed = failed


def _config_value(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def _address_key() -> str:
    return request.remote_addr or "unknown"


#: Sign-in (page and API share one count): 5 failures a minute per username and address.
_login_per_name = limiter.shared_limit(_config_value("CIVICRULES_LOGIN_RATE_LIMIT"), scope="login",
                                       key_func=_login_key, methods=["POST"], deduct_when=_failed_sign_in)
#: And 20 failures a minute per address whatever the usernames: one address trying many names.
_login_per_address = limiter.shared_limit(_config_value("CIVICRULES_LOGIN_ADDRESS_RATE_LIMIT"),
                                          scope="login-address", key_func=_address_key, methods=["POST"],
                                          deduct_when=_failed_sign_in)


def login_limit(view: Callable) -> Callable:
    """Both sign-in limits on a view (the login page, the API's token endpoint)."""
    return _login_per_address(_login_per_name(view))


def _account_key() -> str:
    """The signed-in account: colleagues behind one address (a NAT) never share its count."""
    return str(getattr(current_user, "username", "") or request.remote_addr or "unknown").lower()


def _wrong_password(response: Response) -> bool:
    """Only a wrong current password counts, as the view says in g.sign_in_failed; a form error never does."""
    return bool(g.get("sign_in_failed"))


#: The own password change, inside the sign-in check: 5 wrong current passwords a minute per account.
password_limit = limiter.shared_limit(_config_value("CIVICRULES_LOGIN_RATE_LIMIT"), scope="password",
                                      key_func=_account_key, methods=["POST"], deduct_when=_wrong_password)

#: One round trip per intake request: read the revocation epoch, then a moving window per token (a list of
#: the last `limit` request times): refused while the oldest of them is younger than the window.
_INTAKE_SCRIPT = Script(None, b"""
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local epoch = redis.call('GET', KEYS[2]) or '0'
local oldest = redis.call('LINDEX', KEYS[1], limit - 1)
if oldest and tonumber(oldest) > tonumber(ARGV[3]) - window then
  return {0, oldest, epoch}
end
redis.call('LPUSH', KEYS[1], ARGV[3])
redis.call('LTRIM', KEYS[1], 0, limit - 1)
redis.call('EXPIRE', KEYS[1], window)
return {1, '0', epoch}
""")
_memory: dict[str, deque[float]] = {}
_memory_lock = threading.Lock()


@lru_cache(maxsize=8)
def _intake_item(text: str) -> RateLimitItem:
    return parse(text)


def _intake_wait() -> int:
    """Count this intake request against its token; the seconds to wait if it is over the limit, else 0.
    Sets g.token_epoch to the revocation epoch read on the way (None when Redis could not be read)."""
    settings: Settings = current_app.extensions["civicrules.settings"]
    prefix, now = settings.queues.prefix, time.time()
    item = _intake_item(current_app.config["CIVICRULES_INTAKE_RATE_LIMIT"])
    window = item.get_expiry()
    g.token_epoch = None
    try:
        conn = connection(settings)
        if not current_app.config.get("RATELIMIT_ENABLED", True):
            g.token_epoch = (conn.get(epoch_key(prefix)) or b"0").decode()
            return 0
        allowed, oldest, epoch = _INTAKE_SCRIPT(keys=[f"{prefix}:intake:{_intake_key()}", epoch_key(prefix)],
                                                args=[item.amount, window, repr(now)], client=conn)
        g.token_epoch = epoch.decode()
    except RedisError:
        log.warning("intake rate limit: Redis unreachable, falling back to in-memory storage in this process",
                    exc_info=True)
        if not current_app.config.get("RATELIMIT_ENABLED", True):
            return 0
        allowed, oldest = _memory_hit(f"{prefix}:intake:{_intake_key()}", item.amount, window, now)
    return 0 if allowed else max(1, int(float(oldest) + window - now + 0.999))


def _memory_hit(key: str, limit: int, window: int, now: float) -> tuple[bool, float]:
    with _memory_lock:
        times = _memory.setdefault(key, deque(maxlen=limit))
        if len(times) == limit and times[0] > now - window:
            return False, times[0]
        times.append(now)
        return True, 0.0


def intake_limit(view: Callable) -> Callable:
    """Intake (JSON, batch, Open311): a generous ceiling per token against runaway clients; a batch counts once."""
    @wraps(view)
    def limited(*args, **kwargs):
        seconds = _intake_wait() if request.method == "POST" else 0
        if seconds:
            log.warning("intake refused: rate limit", extra={"address": request.remote_addr, "retry_after": seconds})
            return _refusal(seconds, sign_in=False)
        return view(*args, **kwargs)
    return limited


def _retry_after() -> int:
    current = limiter.current_limit
    try:
        return max(1, int(current.reset_at - time.time())) if current else 60
    except Exception:  # the storage went away between the check and now
        return 60


def _too_many(err: RateLimitExceeded) -> Response:
    seconds = _retry_after()
    log.warning("sign-in refused: rate limit", extra={"scope": err.limit.scope, "address": request.remote_addr,
                                                      "retry_after": seconds})
    return _refusal(seconds, sign_in=err.limit.scope in ("login", "login-address"))


def account_waits(username: str, seconds: int) -> Response:
    """The answer to a sign-in while the account waits (engine/accounts/lockout.py): 429, Retry-After, logged."""
    log.warning("sign-in refused: account waits", extra={"username": username, "address": request.remote_addr,
                                                         "retry_after": seconds})
    g.account_wait = seconds
    return _refusal(seconds, sign_in=True)


def _refusal(seconds: int, sign_in: bool) -> Response:
    if request.endpoint == "pages.login":
        flash(_("Too many failed sign-ins. Try again in %(seconds)s seconds.", seconds=seconds), "danger")
        response = Response(render_template("login.html", form=LoginForm()), status=429)
    elif request.endpoint == "pages.change_password":
        flash(_("Too many wrong passwords. Try again in %(seconds)s seconds.", seconds=seconds), "danger")
        forced = getattr(current_user, "must_change_password", False)
        response = Response(render_template("password.html", form=PasswordChangeForm(), forced=forced), status=429)
    else:
        if sign_in:
            detail = _("Too many failed sign-ins. Try again in %(seconds)s seconds.", seconds=seconds)
        else:
            detail = _("Too many requests for this token. Try again in %(seconds)s seconds.", seconds=seconds)
        response = problem(429, "too-many-requests", detail=detail, retry_after=seconds)
    response.headers["Retry-After"] = str(seconds)
    return response
