"""The simulator on the on-demand queue, beside replay: the job (JSON in, one engine call, JSON out) and
the wait for it from a web request, since web processes never load durable_rules."""
from __future__ import annotations

from typing import Any

from engine.core.config import Settings, load_settings
from engine.core.db import session_factory
from rules.problems import InputError, Problem
from workers.engine_call import call
from engine.authoring.simulate import simulate

DEFAULT_TIMEOUT = 20.0


def job(request: dict[str, Any]) -> dict[str, Any]:
    """The on-demand job: simulate in a session of its own; bad input comes back as bilingual problems."""
    with session_factory(load_settings().database_url)() as session:
        try:
            return {"ok": True, "result": simulate(session, request.get("event"), request.get("event_id"),
                                                   request.get("ruleset", "active"), request.get("lang", "zh"))}
        except InputError as err:
            return {"ok": False, "problems": [p.to_json() for p in err.problems]}


def run(settings: Settings, body: dict[str, Any], lang: str,
        timeout: float = DEFAULT_TIMEOUT) -> tuple[int, dict[str, Any] | list[Problem]]:
    """Ask an engine worker; (200, result) or (422, problems). Raises EngineUnavailable."""
    answer = call(settings, "workers.simulate.job", {**body, "lang": lang}, timeout=timeout)
    if answer["ok"]:
        return 200, answer["result"]
    return 422, [Problem.from_json(p) for p in answer["problems"]]
