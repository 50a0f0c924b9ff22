"""One guard for every request: NUL bytes in the path, query, form or JSON body (which PostgreSQL refuses in
text), and JSON nested too deeply, are refused before any view, query or recursive code meets them."""
from __future__ import annotations

from typing import Callable

from flask import Flask, Response, request

from rules.problems import MAX_DEPTH, Problem, hostile_problems
from web.common.i18n import short_lang
from web.common.problems import problem, refused

#: Endpoints that take a list of items and answer per item: their JSON body is checked item by item there.
PER_ITEM: set[str] = {"api.post_events_batch"}
#: The bodies Werkzeug reads into request.form.
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
#: Per blueprint, how its clients read a refusal (Open311 has its own error list); problem+json otherwise.
Renderer = Callable[[list[Problem]], Response]
RENDERERS: dict[str, Renderer] = {}


def request_problems() -> list[Problem]:
    """Every NUL byte in the request, by field; or the one problem of JSON too deep to read."""
    problems: list[Problem] = []
    if "\x00" in request.path:
        problems.append(Problem("(path)", "the address holds a NUL byte", "地址中含有空字符（NUL）"))
    sources = [request.args] if request.query_string else []
    if request.mimetype in FORM_TYPES:  # any other body leaves request.form empty: not parsed for nothing
        sources.append(request.form)
    for source in sources:
        for key, values in source.lists():
            problems += hostile_problems({key: values if len(values) > 1 else values[0]})
    if request.is_json:
        try:
            body = request.get_json(silent=True)
            if request.endpoint not in PER_ITEM:
                problems += hostile_problems(body)
        except RecursionError:  # the parser itself gave up: far deeper than MAX_DEPTH
            problems.append(Problem("(body)", f"nested more than {MAX_DEPTH} levels deep", f"嵌套超过 {MAX_DEPTH} 层"))
    return problems


def refuse_hostile() -> Response | None:
    """NUL bytes are invalid input (422, each field named); JSON too deep to read is a bad request (400)."""
    problems = request_problems()
    if not problems:
        return None
    render = RENDERERS.get(request.blueprint or "")
    if render is not None:
        return render(problems)
    too_deep = any(p.en.startswith("nested more than") for p in problems)
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        if too_deep:
            return problem(400, "bad-request", errors=problems)
        return refused(problems)
    lang = short_lang()
    text = "\n".join(f"{p.where}: {p.message(lang)}" for p in problems)
    return Response(f"Bad request / 请求无效\n{text}", status=400 if too_deep else 422, mimetype="text/plain")


def init_wellformed(app: Flask) -> None:
    app.before_request(refuse_hostile)
