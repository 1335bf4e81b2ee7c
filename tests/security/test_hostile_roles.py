"""Hostile callers on every operation of the served OpenAPI description: no token, garbage tokens,
each role that may not call it, a revoked or re-keyed device, an expired or logged-out staff
session, and another hall's staff and devices. Then the same over the /hall Socket.IO stream.

The operations come from the served description, so a new endpoint is covered the day it is
added; the roles each may be called by come from ROLE_TABLE (hostile_helpers.py), written by
reading the `require(...)` decorators and the views, and checked against the description's
`x-roles`. An operation missing from the table fails the first test with what to add.

Every refusal is a 4xx with the error shape and leaves every stored table as it was (the audit
trail, which records refusals, excepted).
"""
from __future__ import annotations

import hashlib

import pytest

from hostile_helpers import (API, ROLE_TABLE, ROLES, STAFF, Callers, Problems, Rule, bearer, clock_at, earlier,
                             furnish, make_app, rules_for, unchanged, write_two_halls)

GARBAGE = {
    "random": "Bearer 9fJq2Lr0sXh7Vb1mWc5kTz8Ny3Ud6Pa4Ge0Hi2Ko7Qs",
    "the stored hash of a real token": "Bearer " + hashlib.sha256(b"test-kiosk").hexdigest(),
    "sql": "Bearer ' OR '1'='1' --",
    "600 characters": "Bearer " + "a" * 600,
    "empty bearer": "Bearer ",
    "basic scheme": "Basic dGVzdC1raW9zazo=",
    "token without scheme": "test-kiosk",
    "token in a cookie header only": None,
}


# --- one hall mid-morning, and its enemies --------------------------------------------------

class Setting:
    def __init__(self, tmp):
        self.clock = clock_at()
        self.app = make_app(list(write_two_halls(tmp)), tmp, self.clock)
        self.c = self.app.test_client()
        self.a = Callers(self.c)
        self.b = Callers(self.c, prefix="b_", device_prefix="b-")
        self.f = furnish(self.app, self.clock, self.a)
        for role in STAFF:                  # logging in is a change: done before any fingerprint
            self.a.token(role)
            self.b.token(role)
        self.spec = self.c.get(API + "/openapi.json").get_json()
        self.dead = self._dead_tokens()

    def _dead_tokens(self) -> dict[str, str]:
        """Tokens that worked once (and sit in the principal cache) and were then ended the way
        the hall ends them: revoked and re-keyed devices, a logged-out and an expired session."""
        a, f = self.a, self.f
        admin = a.headers("admin")
        for token in ("spare-kiosk", "spare-display-1"):
            assert self.c.get(API + "/me", headers=bearer(token)).status_code == 200
        assert self.c.post(API + f"/devices/{f.devices['备用取号机']}/revoke", headers=admin).status_code == 200
        r = self.c.post(API + f"/devices/{f.devices['备用综合屏一']}/token", headers=admin)
        assert r.status_code == 200, r.get_json()
        logged_out = a.login("supervisor")
        assert self.c.get(API + "/me", headers=bearer(logged_out)).status_code == 200
        assert self.c.post(API + "/auth/logout", headers=bearer(logged_out)).status_code == 200
        restore = earlier(self.clock, hours=12, minutes=1)      # a login from last night has run out
        expired = a.login("clerk02")
        assert self.c.get(API + "/me", headers=bearer(expired)).status_code == 200
        self.clock.set(restore)
        refreshed = a.login("clerk04")                          # a refreshed token's predecessor
        r = self.c.post(API + "/auth/refresh", headers=bearer(refreshed))
        assert r.status_code == 200, r.get_json()
        return {"revoked device": "spare-kiosk", "re-keyed device (old token)": "spare-display-1",
                "logged-out session": logged_out, "expired session": expired, "refreshed-away session": refreshed}

    def operations(self):
        """(method, path, x-roles, body schema name) for every described operation."""
        for path, ops in self.spec["paths"].items():
            for method, op in ops.items():
                ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
                yield method, path, op.get("x-roles"), ref.get("$ref", "").rsplit("/", 1)[-1] or None

    def rules(self, method: str, path: str) -> list[Rule]:
        return rules_for(method, path)

    def body(self, rule: Rule, schema: str | None) -> dict:
        if rule.body is not None:
            return {**rule.body, "case_id": self.f.finished_case["id"]}
        return self.f.body(schema)

    def send(self, method: str, path: str, body: dict, headers: dict | None = None):
        return self.c.open(API + self.f.fill(path), method=method.upper(), json=body, headers=headers or {})


@pytest.fixture(scope="module")
def s(tmp_path_factory):
    return Setting(tmp_path_factory.mktemp("hostile_roles"))


def protected(s: Setting):
    """(method, path, rule, body) for each operation that needs a token."""
    for method, path, _roles, schema in s.operations():
        for rule in s.rules(method, path):
            yield method, path, rule, s.body(rule, schema)


# --- the table is complete and agrees with the description ------------------------------------

def test_every_described_operation_is_in_the_role_table(s):
    described = {(m, p): roles for m, p, roles, _ in s.operations()}
    missing = sorted(set(described) - set(ROLE_TABLE))
    assert not missing, (
        "operations in the served OpenAPI description that the hostile suite does not know — add each "
        "to ROLE_TABLE in tests/security/hostile_helpers.py with the roles its require(...) allows: "
        + ", ".join(f"{m.upper()} {p}" for m, p in missing))
    stale = sorted(set(ROLE_TABLE) - set(described))
    assert not stale, "ROLE_TABLE names operations the API no longer has: " + ", ".join(f"{m} {p}" for m, p in stale)
    disagree = []
    for key, roles in described.items():
        rules = ROLE_TABLE[key]
        if roles is None:
            if rules and key != ("post", "/ratings"):
                disagree.append(f"{key}: public in the description, not in the table")
        elif not rules:
            disagree.append(f"{key}: public in the table, roles {roles} in the description")
        elif roles and set(roles) != set(rules[0].allowed):
            disagree.append(f"{key}: description {sorted(roles)}, table {sorted(rules[0].allowed)}")
    assert not disagree, "the description's x-roles and the hostile table disagree:\n" + "\n".join(disagree)


# --- tokens that are no tokens ---------------------------------------------------------------

def test_no_token_and_garbage_tokens_are_401_everywhere(s):
    problems = Problems()
    with unchanged(s.app):
        for method, path, rule, body in protected(s):
            for name, header in {"no token": None, **GARBAGE}.items():
                headers = {"Authorization": header} if header else {}
                if name == "token in a cookie header only":
                    headers = {"Cookie": "token=test-kiosk; session=test-kiosk"}
                r = s.send(method, path, body, headers)
                problems.expect(r, 401, "unauthorized", f"{method.upper()} {path} {rule.what} [{name}]")
        for method, path, _roles, _schema in s.operations():
            if not s.rules(method, path) and method == "get":
                r = s.send(method, path, {}, {"Authorization": GARBAGE["random"]})
                if r.status_code == 401 or r.status_code >= 500:
                    problems.append(f"public GET {path} with a garbage token: {r.status_code}")
    problems.check()


def test_ended_tokens_are_401_everywhere(s):
    """Revoked and re-keyed devices, logged-out, refreshed-away and expired sessions: each worked
    before it was ended (and sat in the principal cache); none works after, anywhere."""
    problems = Problems()
    with unchanged(s.app):
        for method, path, rule, body in protected(s):
            for name, token in s.dead.items():
                r = s.send(method, path, body, bearer(token))
                problems.expect(r, 401, "unauthorized", f"{method.upper()} {path} {rule.what} [{name}]")
    problems.check()


def test_each_role_not_allowed_is_refused_with_the_error_shape(s):
    problems = Problems()
    with unchanged(s.app):
        for method, path, rule, body in protected(s):
            for role in ROLES:
                if role in rule.allowed:
                    continue
                r = s.send(method, path, body, s.a.headers(role))
                problems.expect(r, rule.refused[0], rule.refused[1], f"{method.upper()} {path} {rule.what} as {role}")
    problems.check()


# --- another hall's callers -------------------------------------------------------------------

# Bodies that name hall A's objects (matter, case, ticket, window, appointment, slip).
FOREIGN_BODY_IDS = {"IssueTicket", "BookAppointment", "CheckIn", "Rate", "Requeue", "Transfer", "SlipScan"}


def test_another_halls_staff_and_devices_cannot_touch_this_hall(s):
    """Hall B's callers, each in a role the operation allows, aimed at hall A's objects (in the
    path or the body): a change is refused with 403/404; so is a read of an object named in the
    path (another hall's window or case is not there, not an empty list); and hall A is
    unchanged. A read by query code (public by design) must show nothing personal of hall A."""
    problems = Problems()
    secrets = s.f.secrets()
    with unchanged(s.app):
        for method, path, _roles, schema in s.operations():
            names_hall_a = "{" in path or schema in FOREIGN_BODY_IDS
            if not names_hall_a or path in ("/ratings/web/{code}", "/ratings/link/{token}"):
                continue       # public by query code or link: the hall of a token plays no part
            for rule in s.rules(method, path) or [Rule(frozenset(ROLES))]:
                for role in sorted(rule.allowed):
                    r = s.send(method, path, s.body(rule, schema), bearer(s.b.token(role)))
                    what = f"{method.upper()} {path} {rule.what} as hall B {role}"
                    shown = [x for x in secrets if x in r.get_data(as_text=True)]
                    # Not objects: the slip's query code (public, next test) and an export's format.
                    no_object = path in ("/tickets/{ref}", "/supervision/export.{fmt}") or "{" not in path
                    if method == "get" and r.status_code == 200 and not shown and no_object:
                        continue
                    if shown:
                        problems.append(f"{what}: shows hall A's {shown}")
                    problems.expect(r, (403, 404), None, what)
    problems.check()


def test_another_halls_lists_show_nothing_of_this_hall(s):
    """Every GET without a path object, as each of hall B's roles allowed to call it: nothing of
    hall A (its free texts, codes, links) appears."""
    problems = Problems()
    secrets = s.f.secrets()
    with unchanged(s.app):
        for method, path, _roles, _schema in s.operations():
            if method != "get" or ("{" in path and path != "/supervision/export.{fmt}"):
                continue
            for rule in s.rules(method, path) or [Rule(frozenset(ROLES))]:
                for role in sorted(rule.allowed):
                    r = s.send(method, path, {}, bearer(s.b.token(role)))
                    answer = r.get_data(as_text=True)
                    if path == "/supervision/audit" and r.status_code == 200:
                        # Requests without a valid token belong to no hall, and every hall's
                        # supervisors see them (by design); every other entry must be hall B's.
                        answer = str([e for e in r.get_json()["entries"] if not (
                            e["actor"] == "anonymous" or e["actor"].startswith(("staff:b_", "device:乙厅")))])
                    shown = [x for x in secrets if x in answer]
                    if r.status_code >= 500 or shown:
                        problems.append(f"GET {path} as hall B {role}: {r.status_code}, shows hall A's {shown}")
    problems.check()


def test_a_ticket_read_by_its_query_code_with_another_halls_token_has_no_personal_data(s):
    code = s.f.finished_ticket["query_code"]
    own = s.c.get(f"{API}/tickets/{code}", headers=s.a.headers("display")).get_json()["ticket"]
    assert own["phone"], "hall A's own devices see the (masked) phone"
    for role in ROLES:
        r = s.c.get(f"{API}/tickets/{code}", headers=bearer(s.b.token(role)))
        assert r.status_code == 200, r.get_json()
        ticket = r.get_json()["ticket"]
        assert ticket.get("phone") is None and ticket.get("id_number") is None, (role, ticket)
    r = s.c.get(f"{API}/tickets/{s.f.finished_ticket['id']}", headers=bearer(s.b.token("admin")))
    assert r.status_code == 404, "by id, a ticket is only found by its own hall"


# --- the /hall stream -------------------------------------------------------------------------

CLIENT_EVENTS = ["ticket.issued", "ticket.called", "ticket.skipped", "case.finished", "rating.received",
                 "window.paused", "device.revoked", "call-next", "call_next", "issue", "rate", "message",
                 "json", "connect", "disconnect", "snapshot", "*"]
JUNK = [None, {"token": "test-kiosk"}, {"seq": 999, "type": "ticket.called", "window": {"id": 1}},
        "x" * 10_000, [1, 2, 3], {"matter_id": 1, "window_id": 1, "level": 1, "case_id": 1}]


def stream(s: Setting, token: str | None = None, query: str | None = None):
    sio = s.app.extensions["socketio"]
    auth = {"token": token} if token is not None else None
    return sio.test_client(s.app, namespace="/hall", auth=auth, query_string=query)


def test_connecting_without_a_good_token_is_refused(s):
    with unchanged(s.app):
        tries = {"no token": stream(s), "garbage": stream(s, "9fJq2Lr0sXh7Vb1mWc5kTz8Ny3Ud6Pa4"),
                 "garbage in the query": stream(s, query="token=garbage"),
                 "auth not an object": s.app.extensions["socketio"].test_client(
                     s.app, namespace="/hall", auth="test-kiosk"),
                 **{name: stream(s, token) for name, token in s.dead.items()},
                 **{f"{name} in the query": stream(s, query=f"token={token}") for name, token in s.dead.items()}}
        connected = [name for name, client in tries.items() if client.is_connected("/hall")]
        assert not connected, f"connections accepted: {connected}"
        good = stream(s, "test-display")
        assert good.is_connected("/hall") and good.get_received("/hall")[0]["name"] == "snapshot"
        good.disconnect(namespace="/hall")


def test_no_client_event_changes_anything_or_reaches_others(s):
    """Every role (display included) sends every event name with junk: nothing is stored, no one
    else hears it, and each still gets only its own hall's snapshot."""
    listener = stream(s, "test-display")
    listener.get_received("/hall")
    clients = {role: stream(s, s.a.token(role)) for role in ROLES}
    clients["hall B display"] = stream(s, "b-test-display")
    with unchanged(s.app):
        for who, client in clients.items():
            assert client.is_connected("/hall"), who
            first = client.get_received("/hall")[0]["args"][0]
            for event in CLIENT_EVENTS:
                for junk in JUNK:
                    try:
                        client.emit(event, junk, namespace="/hall")
                    except ConnectionRefusedError:
                        pytest.fail(f"{who}: a {event!r} event re-ran the connection handler")
            assert client.is_connected("/hall"), who
            answer = client.emit("snapshot", namespace="/hall", callback=True)
            mine = {"window_seq": first["scope"]["window_seq"]} if "scope" in first else {}  # a window's device
            assert answer == {"seq": first["seq"], **mine}, (who, answer)
            again = [m for m in client.get_received("/hall") if m["name"] == "snapshot"][-1]["args"][0]
            assert again["seq"] == first["seq"] and again.get("windows") == first.get("windows"), who
            assert again.get("scope") == first.get("scope"), who
        heard = listener.get_received("/hall")
        assert heard == [], f"another client heard: {[m['name'] for m in heard]}"
    hall_b = clients["hall B display"]
    snap_a = stream(s, "test-display").get_received("/hall")[0]["args"][0]
    hall_b.emit("snapshot", namespace="/hall")
    snap_b = [m for m in hall_b.get_received("/hall") if m["name"] == "snapshot"][-1]["args"][0]
    assert {w["id"] for w in snap_b["windows"]}.isdisjoint({w["id"] for w in snap_a["windows"]})
    for client in (listener, *clients.values()):
        client.disconnect(namespace="/hall")


def test_a_revoked_device_is_cut_off_even_after_faking_its_own_disconnect(s):
    """A stolen display token: the thief sends a fake 'disconnect' event (so the server might
    forget who the connection is), then the admin revokes the device: the stream still ends."""
    thief = stream(s, "spare-display-2")
    assert thief.is_connected("/hall")
    thief.emit("disconnect", "io client disconnect", namespace="/hall")
    thief.emit("connect", None, {"token": "garbage"}, namespace="/hall")
    assert thief.is_connected("/hall")
    r = s.c.post(f"{API}/devices/{s.f.devices['备用综合屏二']}/revoke", headers=s.a.headers("admin"))
    assert r.status_code == 200, r.get_json()
    assert not thief.is_connected("/hall"), "the revoked device still receives the hall's events"
    rekeyed = stream(s, "spare-display-3")
    assert rekeyed.is_connected("/hall")
    r = s.c.post(f"{API}/devices/{s.f.devices['备用综合屏三']}/token", headers=s.a.headers("admin"))
    assert r.status_code == 200, r.get_json()
    assert not rekeyed.is_connected("/hall"), "a re-keyed device's old connection stays open"
    assert not stream(s, "spare-display-3").is_connected("/hall")
