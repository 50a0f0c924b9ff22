"""The composition root: the Flask app factory (configuration, extensions, blueprints, admin, error pages)."""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request, send_from_directory
from flask_babel import get_locale
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from admin import init_admin
from admin.queues import init_queue_dashboard
from engine.cases.attachments import MAX_PER_CASE
from engine.core.config import Settings, load_settings
from engine.core.db import configure_engine, engine_options, ping
from engine.core import sealed_text
from engine.core.worktime import describe_limit
from engine.core.tables import MAX_FILE_BYTES
from engine.supervision.inspection import MAX_PHOTOS as MAX_FINDING_PHOTOS
from engine.readiness.daily import MAX_CHECK_PHOTOS as READINESS_PHOTOS
from web import (api, appraisal, assessment, assessment_api, attachments, bulletin_issues, case_pages, cases,
                 change_actor, command, errors, evaluation, evidence, frontage, handover, inbox, inspection_api,
                 inspection_pages, inspection_points, open311, openapi, pages, people, permits, plan, posts, readiness,
                 request_pages, sanction_records, scenarios_api, simulate, supervision, workflow, zones)
from web.common import display, widget_words
from web.common.extensions import babel, csrf, db, login_manager
from web.common.i18n import html_lang, remember_choice, select_locale, switch_link
from web.common.problems import problem
from web.common.wellformed import RENDERERS, init_wellformed
from web.observability import init_observability
from web.security import init_security
from workers.queues import connection

WEB = Path(__file__).resolve().parent.parent / "web"  # templates, static files and catalogs of the pages
MAX_BODY_BYTES = 2 * 1024 * 1024


class _App(Flask):
    """Flask asks of every hook and the view, on every request, whether it is a coroutine function (through
    inspect: about 20 calls, 0.1 ms a request); a plain function's code flags answer it directly."""

    def ensure_sync(self, func):
        code = getattr(func, "__code__", None)
        if code is None or code.co_flags & inspect.CO_COROUTINE or hasattr(func, "_is_coroutine_marker"):
            return super().ensure_sync(func)
        return func


def create_app(settings: Settings | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    settings = settings or load_settings()
    app = _App(__name__, root_path=str(WEB), instance_path=str(settings.instance), instance_relative_config=True)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        BABEL_TRANSLATION_DIRECTORIES=str(WEB / "translations"),
        BABEL_DEFAULT_LOCALE="zh_Hans_CN",
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    app.config.update(overrides or {})
    app.extensions["civicrules.settings"] = settings
    sealed_text.configure(settings)  # recipients' keys and secrets are sealed with this instance's ring
    app.url_map.converters["int"] = _DatabaseId  # before any route is added

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    login_manager.init_app(app)
    login_manager.login_view = "pages.login"
    change_actor.install(app)  # the change log knows who edits, and through which interface
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    init_wellformed(app)  # NUL bytes and too-deep JSON are refused before any view meets them
    RENDERERS["open311"] = open311.refusal  # Open311 clients read their own error list
    app.before_request(remember_choice)  # a ?lang= choice is kept on the user's row
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["html_lang"] = html_lang  # base.html's <html lang>; the admin's is set in admin/__init__.py
    app.jinja_env.globals["switch_link"] = switch_link  # the nav's language switch keeps the page's query
    app.jinja_env.globals["describe_limit"] = describe_limit
    display.register(app)  # |local, |duration and the names of codes, for every page and admin list
    widget_words.register(app)  # maps' and admin widgets' own words in the reader's language

    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # the API authenticates by bearer token, never by cookie
    app.register_blueprint(supervision.api)
    csrf.exempt(supervision.api)
    app.register_blueprint(inbox.api)
    csrf.exempt(inbox.api)  # bearer tokens only, like the rest of the API
    app.register_blueprint(people.bp)  # the people API: bearer tokens only, CSRF-exempt in web/people.py
    app.register_blueprint(plan.bp)  # the task breakdown table (创建任务分解表): pages
    app.register_blueprint(plan.api)  # and its API: bearer tokens only
    app.register_blueprint(inspection_points.bp)  # the evaluation points register: bearer tokens only
    app.register_blueprint(permits.bp)  # the permits API: bearer tokens only, CSRF-exempt in web/permits.py
    app.register_blueprint(cases.bp)  # the cases API: bearer tokens only, CSRF-exempt in web/cases.py
    app.register_blueprint(openapi.bp)
    app.register_blueprint(zones.bp)  # zones as GeoJSON: bearer tokens only, CSRF-exempt in web/zones.py
    app.register_blueprint(zones.leaflet)  # Leaflet's files for the admin's zone map
    app.register_blueprint(frontage.api)  # frontage holders and notices: bearer tokens only, CSRF-exempt there
    app.register_blueprint(frontage.bp)  # 门前三包: the holders' pages
    app.register_blueprint(simulate.bp)
    csrf.exempt(simulate.bp)
    app.register_blueprint(scenarios_api.bp)
    csrf.exempt(scenarios_api.bp)
    app.register_blueprint(evidence.bp)
    csrf.exempt(evidence.bp)  # bearer tokens only, like the rest of the API
    app.register_blueprint(attachments.api)
    csrf.exempt(attachments.api)  # bearer tokens only, like the rest of the API
    app.register_blueprint(attachments.bp)  # a case's attachments downloaded from its pages (session)
    app.register_blueprint(open311.bp)
    csrf.exempt(open311.bp)  # GeoReport clients post forms with an api_key, never a session cookie
    app.register_blueprint(pages.bp)
    app.register_blueprint(workflow.bp)
    app.register_blueprint(request_pages.bp)  # the dispatcher's queue: bulk decisions by a form with CSRF
    app.register_blueprint(handover.bp)  # 交办: the committee's items, a form with CSRF
    app.register_blueprint(case_pages.bp)  # 核实, 立案 and 结案: forms with CSRF
    app.register_blueprint(supervision.bp)
    app.register_blueprint(inbox.bp)  # 消息: the user's messages, marked read by forms with CSRF
    app.register_blueprint(assessment.bp)  # bulletins and rankings (督考办)
    app.register_blueprint(bulletin_issues.bp)  # the published weekly bulletins (周通报 第N期)
    app.register_blueprint(bulletin_issues.api)  # their frozen JSON: bearer tokens only, CSRF-exempt there
    app.register_blueprint(sanction_records.bp)  # 约谈纪要 and other sanction records: a form with CSRF
    app.register_blueprint(appraisal.bp)  # the results as XLSX for the cadre appraisal (科级领导班子实绩考核)
    app.register_blueprint(posts.bp)  # 岗位考核: the command centre's people per post, page and CSV
    app.register_blueprint(assessment_api.api)  # rankings and sanction records: bearer tokens, CSRF-exempt there
    app.register_blueprint(inspection_pages.bp)  # 三级督查: the round's phone page and the weekly coverage
    app.register_blueprint(inspection_api.api)  # bearer tokens only, CSRF-exempt in web/inspection_api.py
    app.register_blueprint(readiness.bp)  # 每日自查: the point's phone check (a form with CSRF) and the board
    app.register_blueprint(evaluation.bp)  # 模拟测评: rounds, rates, the phone scoring page (forms with CSRF)
    app.register_blueprint(evaluation.api)  # its rates as JSON: bearer tokens only, CSRF-exempt there
    app.register_blueprint(command.bp)  # 指挥平台: the command centre's page and the state it polls
    app.register_blueprint(command.api)  # and its JSON for other systems: bearer tokens only, CSRF-exempt

    @app.url_value_preprocessor
    def larger_uploads(endpoint, _values) -> None:
        """Event and staff files may exceed the API's body limit; runs before CSRF reads the form."""
        if endpoint in ("import.index", "staff_import.index"):
            request.max_content_length = MAX_FILE_BYTES + 64 * 1024
        elif endpoint == "evidence_api.upload":
            request.max_content_length = settings.evidence.max_bytes + 64 * 1024
        elif endpoint in ("handover.new", "attachments_api.upload"):  # up to a case's attachments at once
            request.max_content_length = settings.evidence.max_bytes * MAX_PER_CASE + 256 * 1024
        elif endpoint in ("inspection.finding", "inspection_api.post_finding"):  # a finding's photos at once
            request.max_content_length = settings.evidence.max_bytes * MAX_FINDING_PHOTOS + 256 * 1024
        elif endpoint in ("readiness.check", "evaluation.score"):  # a photo or two for each failed item of a morning's checklist
            request.max_content_length = settings.evidence.max_bytes * READINESS_PHOTOS + 256 * 1024

    init_admin(app)
    init_queue_dashboard(app, settings.redis_url)
    init_security(app, settings)
    init_observability(app, settings)

    @app.get("/healthz")
    def healthz():
        checks = {"database": _check(lambda: ping(db.engine)),
                  "redis": _check(lambda: _redis_ping(settings))}
        ok = all(v == "ok" for v in checks.values())  # liveness: 200 while we answer; /readyz is the one that fails
        return jsonify({"status": "ok" if ok else "degraded", "checks": checks}), 200

    @app.get("/favicon.ico")
    def favicon():
        """Browsers ask for /favicon.ico whatever the page links; the same icon as static/favicon.svg."""
        return send_from_directory(app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                                   max_age=86400)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if request.path.startswith("/api/"):
            keys = {404: "not_found", 403: "forbidden", 413: "too_large", 401: "token_missing"}
            return problem(err.code or 500, (err.name or "error").lower().replace(" ", "-"), detail_key=keys.get(err.code))
        if request.path.startswith("/open311/"):
            return err
        return errors.page_for(err)

    @app.errorhandler(Exception)
    def internal_error(err: Exception):
        try:
            db.session.rollback()
        except Exception:  # the database may be the thing that is gone
            db.session.remove()
        if _database_unreachable(err):
            app.logger.warning("database unreachable: %s", type(err).__name__)
            if request.path.startswith(("/api/", "/open311/")):
                response = problem(503, "unavailable", detail_key="unavailable")
            else:
                response = app.response_class("Service unavailable, try again shortly / 服务暂不可用，请稍后重试", 503)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        app.logger.exception("unhandled error")
        if request.path.startswith("/api/"):
            return problem(500, "internal", detail_key="internal")
        if request.path.startswith("/open311/"):
            return "Internal error / 内部错误", 500
        return errors.internal_page()

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app


class _DatabaseId(IntegerConverter):
    """`<int:…>` matches only ids a database column can hold; a larger number is simply not found."""

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = None, max: int | None = 2**63 - 1,
                 signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


RETRY_AFTER_SECONDS = 5


def _database_unreachable(err: Exception) -> bool:
    """A lost or refused database connection: nothing was stored, so the sender should simply retry."""
    return isinstance(err, (OperationalError, InterfaceError)) or (
        isinstance(err, DBAPIError) and bool(err.connection_invalidated))


def _check(fn) -> str:
    try:
        fn()
        return "ok"
    except Exception as err:  # reported, not raised: this is the health endpoint
        return f"error: {type(err).__name__}"


def _redis_ping(settings: Settings) -> None:
    connection(settings).ping()
