"""Tells the change log who acts in a web request and through which interface (admin, api, web)."""
from __future__ import annotations

from flask import Flask, g, request
from flask_login import current_user

from engine.audit.changelog import reset_actor, set_actor


def _interface(path: str) -> str:
    if path.startswith("/admin"):
        return "admin"
    if path.startswith(("/api", "/open311")):
        return "api"
    return "web"


def _who() -> tuple[int | None, str | None]:
    user = g.get("user")  # API tokens (web/auth.py require_token)
    if user is None and current_user and current_user.is_authenticated:
        user = current_user
    return (user.id, user.username) if user is not None else (None, None)


def install(app: Flask) -> None:
    @app.before_request
    def change_actor() -> None:
        g.change_actor_token = set_actor(_interface(request.path), _who)

    @app.teardown_request
    def change_actor_done(_exc) -> None:
        token = g.pop("change_actor_token", None)
        if token is not None:
            reset_actor(token)
