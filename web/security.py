"""HTTP hardening: proxy headers, cookie flags, Content-Security-Policy, HSTS, and the rate limits.

Our own pages run no inline script, so their policy allows scripts from this origin only. The
admin (Flask-Admin) uses inline `onclick` handlers (bulk actions, delete confirmations) that a
nonce cannot cover (nonces never apply to event-handler attributes), and the queue dashboard
(rq-dashboard) renders with an inline script and underscore templates compiled by `new Function`.
So /admin gets `'unsafe-inline'` scripts and /rq also `'unsafe-eval'`; only administrators and
auditors reach them, and every other directive (frame-ancestors, form-action, object-src) stays.
Inline styles are allowed everywhere: templates use `style=` attributes, and a style cannot run code.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import URLSafeTimedSerializer

from flask import Flask, Response, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.core.config import Settings
from rules.problems import InputError, Problem
from web.ratelimit import init_rate_limits

_BASE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
#: Third-party UIs with inline script that we do not write, reached by administrators (and auditors) only; each
#: is a first path segment (content_security_policy looks the segment up).
RELAXED_SCRIPTS = {"/admin": "'self' 'unsafe-inline'", "/rq": "'self' 'unsafe-inline' 'unsafe-eval'"}
HSTS = "max-age=31536000; includeSubDomains"
#: One answer for every failed sign-in, so that it never tells whether the username exists or is locked.
SIGN_IN_FAILED = _l("Wrong username or password. After repeated failures each further attempt must wait a while; "
                    "an administrator can lift the wait.")


def local_target(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: a `next=` must never lead elsewhere.

    Browsers drop tabs and newlines inside a URL and read a backslash as a slash, so `/%09/evil.example` or
    `/%5C/evil.example` (decoded into the parameter) would become `//evil.example`, another host: any control
    character, whitespace or backslash is refused, as is anything with a scheme or host, or starting with two slashes."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ord(c) < 0x21 or c in "\\\x7f" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def tile_source(url: str) -> str:
    """The CSP source of a base-map tile URL template: its origin, with a `{s}` subdomain as a wildcard."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    host = ".".join("*" if "{" in label else label for label in parts.netloc.split("."))
    return f"{parts.scheme}://{host}"


def content_security_policy(path: str, tiles: str = "") -> str:
    """The policy of a page; `tiles` (a CSP source) may serve images to the admin's zone map."""
    section = path.split("/", 2)[1] if path.startswith("/") else ""
    return _policy("/" + section if "/" + section in RELAXED_SCRIPTS else "", tiles)


@lru_cache(maxsize=16)
def _policy(path: str, tiles: str) -> str:
    """The policy text, built once per section (the relaxed ones or any other page) and tile source."""
    policy = dict(_BASE_POLICY)
    for prefix, scripts in RELAXED_SCRIPTS.items():
        if path == prefix or path.startswith(prefix + "/"):
            policy["script-src"] = scripts
    if tiles and (path == "/admin" or path.startswith("/admin/")):
        policy["img-src"] = f"{policy['img-src']} {tiles}"
    return "; ".join(f"{name} {value}" for name, value in policy.items())


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure when configured, and whenever the request itself came over TLS. Its signing
    serializer is built once per secret key and fallbacks, not on every request (Flask builds one each time,
    even for a request without a cookie)."""

    def __init__(self) -> None:
        super().__init__()
        self._serializers: dict[tuple, URLSafeTimedSerializer | None] = {}

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if keys not in self._serializers:
            self._serializers = {keys: super().get_signing_serializer(app)}  # only the current keys are kept
        return self._serializers[keys]


def init_security(app: Flask, settings: Settings) -> None:
    proxies = str(app.config.get("CIVICRULES_PROXY_FIX", settings.web.proxy_fix)).strip()
    if proxies:
        hops = int(proxies) if proxies.isdecimal() else 1
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax")
    if settings.web.secure_cookies:
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    app.session_interface = _SessionInterface()
    tiles = tile_source(settings.web.map_tiles)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", content_security_policy(request.path, tiles))
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        return response


    init_rate_limits(app, settings)


def credentials(data: dict[str, Any]) -> tuple[str, str]:
    """The username and password of an API sign-in, as the login form takes them: a missing, empty or overlong
    one is a mistake in the request, refused next to its field before any password is tried, so it counts
    towards no limit."""
    problems = [Problem(field, f"a text of 1–{longest} characters", f"须为 1–{longest} 个字符的文本")
                for field, longest in (("username", 64), ("password", 256))
                if not isinstance(data.get(field), str) or not 0 < len(data[field]) <= longest]
    if problems:
        raise InputError(problems)
    return data["username"], data["password"]
