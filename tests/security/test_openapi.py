"""The OpenAPI description says what the code does: the same routes and methods, the same
required body fields, a valid OpenAPI 3.1 document, served at /api/v1/openapi.json."""
from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter
from security_helpers import error_problem

from queue_server.openapi import BODIES, EXAMPLES, ROUTES, build_spec, openapi_spec

PREFIX = "/api/v1"
IGNORED = {"HEAD", "OPTIONS"}


def _code_routes(app) -> dict[str, set[str]]:
    """{'/windows/{window_id}/call-next': {'POST'}, …} from Flask's url map."""
    out: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/") or rule.rule == PREFIX + "/openapi.json":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(PREFIX):])
        out.setdefault(path, set()).update(rule.methods - IGNORED)
    return out


def _int_params(app) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(PREFIX):])
            out[path] = {name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)}
    return out


def test_every_route_is_described_with_its_methods_and_nothing_else(app):
    spec = openapi_spec(app)
    described = {path: {m.upper() for m in ops} for path, ops in spec["paths"].items()}
    code = _code_routes(app)
    assert set(code) - set(described) == set(), "routes in the code but not in the description"
    assert set(described) - set(code) == set(), "described paths that the code does not have"
    for path, methods in code.items():
        assert described[path] == methods, path


def test_path_parameters_are_typed_as_the_converters(app):
    spec = openapi_spec(app)
    ints = _int_params(app)
    for path, ops in spec["paths"].items():
        for op in ops.values():
            names = re.findall(r"{(\w+)}", path)
            params = {p["name"]: p for p in op["parameters"] if p["in"] == "path"}
            assert set(params) == set(names), path
            for name, p in params.items():
                assert p["required"] is True
                expected = "integer" if name in ints[path] else "string"
                assert p["schema"]["type"] == expected, (path, name)


def test_the_description_is_valid_openapi_31(app):
    spec = openapi_spec(app)
    try:
        from openapi_spec_validator import validate
    except ImportError:  # pragma: no cover - structural checks only
        validate = None
    if validate is not None:
        validate(spec)
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    refs = set(re.findall(r'"#/components/schemas/(\w+)"', str(spec).replace("'", '"')))
    assert refs <= set(spec["components"]["schemas"]), refs - set(spec["components"]["schemas"])
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op["operationId"] and op["summary"], (method, path)
            assert "4XX" in op["responses"] and any(s.startswith("2") for s in op["responses"]), (method, path)
            assert op["responses"]["4XX"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def test_body_schemas_are_consistent():
    for name, schema in BODIES.items():
        assert schema["type"] == "object"
        for field in schema.get("required", []):
            assert field in schema["properties"], (name, field)
        for field, value in EXAMPLES[name].items():
            assert field in schema["properties"], (name, field)
        for field in schema.get("required", []):
            assert field in EXAMPLES[name], (name, field)
    used = {route[4] for route in ROUTES if route[4]}
    assert used == set(BODIES)


def test_the_description_is_served(client, app):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert r.get_json() == openapi_spec(app)
    assert build_spec()["paths"] == r.get_json()["paths"]


def _fill(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: {"step": "verify", "action": "retry", "fmt": "csv"}.get(m[1], "1"), path)


def _body_operations():
    for method, path, roles, _summary, body, *_ in ROUTES:
        if body:
            for field in BODIES[body].get("required", []) or BODIES[body].get("x-required-one-of", [])[:1]:
                yield pytest.param(method, path, roles, body, field, id=f"{method} {path} -{field}")


@pytest.mark.parametrize("method,path,roles,body,field", list(_body_operations()))
def test_a_missing_required_field_is_missing_field(hall, app, method, path, roles, body, field):
    """Each described body without one of its required fields: 400 missing_field naming it."""
    who = None if roles in (None, "optional") else ("test-kiosk" if roles == () else "admin")
    headers = hall.headers(who) if who else {}
    sent = {k: v for k, v in EXAMPLES[body].items() if k not in BODIES[body].get("x-required-one-of", [field])}
    r = hall.c.open(PREFIX + _fill(path), method=method.upper(), json=sent, headers=headers)
    assert r.status_code == 400, (r.status_code, r.get_json())
    assert error_problem(r) is None, error_problem(r)
    assert r.get_json()["error"]["code"] == "missing_field", r.get_json()
    if body != "CheckIn":
        assert field in r.get_json()["error"]["message"] or r.get_json()["error"].get("detail", {}).get("field") == field


def test_documented_roles_are_enforced(hall):
    """A token of a role the description leaves out is refused (403) before anything else."""
    every = {"kiosk": "test-kiosk", "display": "test-display", "rater": "test-rater-01", "clerk": "clerk01",
             "supervisor": "supervisor", "admin": "admin"}
    for method, path, roles, _summary, body, *_ in ROUTES:
        if roles in (None, "optional") or roles == ():
            continue
        for role, who in every.items():
            if role in roles:
                continue
            r = hall.c.open(PREFIX + _fill(path), method=method.upper(), json=EXAMPLES.get(body, {}),
                            headers=hall.headers(who))
            assert r.status_code == 403, (method, path, role, r.status_code, r.get_json())
            assert r.get_json()["error"]["code"] == "forbidden_role", (method, path, role)
        r = hall.c.open(PREFIX + _fill(path), method=method.upper(), json={})
        assert r.status_code == 401 and error_problem(r) is None, (method, path)
