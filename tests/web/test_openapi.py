"""The OpenAPI description stays true: every JSON route is described with its methods, nothing
described is missing, the document is valid OpenAPI 3, and the browsable UI loads offline."""
from __future__ import annotations

import re

import pytest

DOCUMENTED_PREFIXES = ("/api/", "/open311/")
NOT_JSON = {"openapi.docs_page", "openapi.docs_assets"}  # the UI itself


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+(?:\([^)]*\))?:)?([^<>]+)>", r"{\1}", rule)


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/openapi.json").get_json()


def test_every_route_is_described_and_every_description_is_a_route(app, spec):
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(DOCUMENTED_PREFIXES) and rule.endpoint not in NOT_JSON:
            routes.setdefault(openapi_path(rule.rule), set()).update(
                m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    described = {path: {m for m in item if m in ("get", "post", "put", "patch", "delete")}
                 for path, item in spec["paths"].items()}
    missing = sorted(f"{m.upper()} {p}" for p, ms in routes.items() for m in ms - described.get(p, set()))
    stale = sorted(f"{m.upper()} {p}" for p, ms in described.items() for m in ms - routes.get(p, set()))
    assert not missing, "routes without a description (add them to the module's OPENAPI_PATHS): " + ", ".join(missing)
    assert not stale, "described but not routed: " + ", ".join(stale)


def test_the_description_is_valid_openapi_3(spec):
    from openapi_spec_validator import validate

    validate(spec)
    assert spec["openapi"].startswith("3.")
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation.get("responses"), f"{method.upper()} {path} documents no response"
            for name in re.findall(r"{([^}]+)}", path):
                declared = [p["name"] for p in operation.get("parameters", []) + item.get("parameters", [])
                            if p["in"] == "path"]
                assert name in declared, f"{method.upper()} {path}: path parameter {name} is not declared"


def test_the_browsable_ui_is_served_from_this_server(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(client.get(a).status_code == 200 for a in assets)


def test_the_people_api_and_the_fields_it_adds_are_described(spec):
    """Issue 13's contract: staff with name, position and unit; grids' responsible and collector; the roster;
    handing a task to a person; a task's assignee and chain."""
    described = spec["paths"]
    assert "get" in described["/api/v1/staff"] and "get" in described["/api/v1/roster"]
    assert "post" in described["/api/v1/tasks/{task_id}/assign"]
    schemas = spec["components"]["schemas"]
    assert {"name", "position", "unit"} <= set(schemas["Person"]["required"])
    assert {"responsible", "collector"} <= set(schemas["Grid"]["required"])
    assert {"assignee", "chain"} <= set(schemas["Task"]["properties"])
    assert {"on_duty", "gap", "at_local"} <= set(schemas["OnDuty"]["required"])
    roster = spec["paths"]["/api/v1/roster"]["get"]
    assert {p["name"] for p in roster["parameters"]} == {"unit", "at"} and "422" in roster["responses"]
