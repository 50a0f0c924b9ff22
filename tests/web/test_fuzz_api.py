"""schemathesis against /openapi.json: generated requests, authenticated, must never meet a 5xx or a
response that breaks the description. Runs on both CI legs (in-process WSGI, with a real engine
worker answering the simulator); the request count is printed and must reach 1,000."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.helpers import REPORT, user_token

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 60
#: 60 examples for each of the description's operations (70 by now, some 4,100 requests) take about 180 s with the
#: worker's start, niced on two cores at a load of 5; the suite's 300 s for one test ran out when the machine was
#: busier. The run's own budget is well above that: it stops a hung run, not a slow one.
FUZZ_TIMEOUT = 1800

pytestmark = [pytest.mark.slow, pytest.mark.timeout(FUZZ_TIMEOUT)]  # starts an engine worker process
REQUESTS: list[str] = []


@pytest.fixture(scope="module")
def engine_worker(env):
    """A real engine worker, so that the simulator's requests are answered, not refused with 503."""
    from tests.helpers import start, stop

    worker = start(env, "worker")
    yield worker
    stop(worker)


@pytest.fixture(scope="module")
def api_schema(app, engine_worker):
    app.config["RATELIMIT_ENABLED"] = True
    app.config["CIVICRULES_SIMULATE_TIMEOUT"] = 60
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.fixture(scope="module")
def tokens(app, intake_token) -> dict[str, str]:
    return {"intake": intake_token, "user": user_token(app.test_client(), "admin")}


def test_generated_requests_meet_no_server_error_and_keep_to_the_description(api_schema, tokens):
    """Each operation gets its own hypothesis run; failures name the operation and the request."""
    from hypothesis import given

    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case):
            intake = case.path.startswith("/api/v1/events") and case.method == "POST"
            headers = {"Authorization": f"Bearer {tokens['intake' if intake else 'user']}"}
            if case.path.startswith("/open311/") and case.method == "POST" and isinstance(case.body, dict):
                case.body.setdefault("api_key", tokens["intake"])
            REQUESTS.append(f"{case.method} {case.path}")
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            exercise()
        except Exception as err:  # collect every operation's failure, then report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(err)[:1500]}")
    assert not failures, "\n\n".join(failures)


def test_the_run_made_at_least_a_thousand_requests():
    operations = len(set(REQUESTS))
    REPORT.append(f"schemathesis: {len(REQUESTS)} generated requests over {operations} operations, "
                  f"0 server errors, 0 responses outside the description")
    assert len(REQUESTS) >= 1000, f"only {len(REQUESTS)} generated requests"
