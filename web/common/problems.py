"""RFC 9457 problem details (`application/problem+json`) in the caller's language."""
from __future__ import annotations

from typing import Any

from flask import Response, json
from flask_babel import gettext, lazy_gettext as _l

from rules.problems import Problem
from web.common.i18n import short_lang

TITLES = {
    400: _l("Bad request"), 401: _l("Authentication required"), 403: _l("Forbidden"), 404: _l("Not found"),
    405: _l("Method not allowed"), 409: _l("Conflict"), 413: _l("Request too large"),
    415: _l("Unsupported media type"), 422: _l("Invalid input"), 429: _l("Too many requests"),
    500: _l("Internal error"), 503: _l("Service unavailable"),
}
DETAILS = {
    "token_missing": _l("Send an 'Authorization: Bearer <token>' header."),
    "token_invalid": _l("The token is unknown, expired or revoked."),
    "forbidden": _l("Your role may not use this resource."),
    "not_found": _l("No such resource, or not visible to you."),
    "malformed_json": _l("The body is not valid JSON."),
    "json_required": _l("Send the body as application/json."),
    "invalid_input": _l("Some fields are invalid; see errors."),
    "bad_credentials": _l("Wrong username or password."),
    "password_change_required": _l("This account must change its password first: sign in on the web page and "
                                   "set a new one."),
    "too_large": _l("The request body is too large."),
    "internal": _l("Something went wrong on our side; the error was logged."),
    "unavailable": _l("A backing service is unavailable; try again shortly."),
}


def problem(status: int, slug: str, detail_key: str | None = None, errors: list[Problem] | None = None,
            **extra: Any) -> Response:
    lang = short_lang()
    body: dict[str, Any] = {"type": f"https://civicrules.invalid/problems/{slug}",
                            "title": str(TITLES.get(status, gettext("Error"))), "status": status}
    if detail_key:
        body["detail"] = str(DETAILS[detail_key])
    if errors:
        body["errors"] = [p.as_dict(lang) for p in errors]
    body.update(extra)
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")


def refused(problems: list[Problem]) -> Response:
    """Bad input as the API answers it: 422 with every problem in the caller's language."""
    return problem(422, "invalid-input", detail_key="invalid_input", errors=problems)
