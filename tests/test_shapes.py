"""One shape per thing (issue 22): the events a hall's day publishes, the answers, and the
OpenAPI document all follow the types in queue_server/schemas.py."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from queue_server import schemas
from queue_server.dayclose import close_day
from queue_server.openapi import build_spec
from queue_server.supervision.alerts import check_warnings

from ratings.helpers import RATER

SUP = "supervisor"


@pytest.fixture
def published(app):
    """Every event the app publishes, as it goes to the stream (after conftest's own check)."""
    rt = app.extensions["hall"]
    events: list[dict] = []
    send = rt.publish

    def publish(hall_id, event):
        events.append(event)
        send(hall_id, event)
    rt.publish = publish
    return events


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_every_event_of_a_hall_day_has_its_declared_shape(hall, clock, app, published):
    rt = app.extensions["hall"]
    sup = hall.headers(SUP)
    # Morning: tickets, a call, a recall, a skip and its requeue, a transfer, a pause.
    ok(hall.issue("XK00101001", priority="elderly"), 201)
    for code in ("XK00101001", "XK00102001", "QR00201001", "XK00102001"):
        ok(hall.issue(code), 201)
    ok(hall.op(1, "call-next"))
    ok(hall.op(1, "recall"))
    skipped = ok(hall.op(1, "skip"))["ticket"]
    ok(hall.op(1, "requeue", {"ticket_id": skipped["id"]}))
    ok(hall.op(2, "call-next"))
    ok(hall.op(2, "transfer", {"to_window": hall.windows[1]["id"]}))
    ok(hall.op(3, "pause"))
    ok(hall.op(3, "resume"))
    ok(hall.op(4, "sign-out"))
    ok(hall.op(4, "sign-in"))
    # Cases: 受理 of a 承诺件, a 即办件 accepted and finished, 补正, 不予受理.
    ok(hall.op(1, "call-next"))
    promised = ok(hall.op(1, "accept"))["case"]
    ok(hall.op(9, "call-next"))
    ok(hall.op(9, "accept"))
    ok(hall.op(9, "finish"))
    ok(hall.issue("XK00101001"), 201)
    ok(hall.op(10, "call-next"))
    ok(hall.op(10, "correct", {"missing": [hall.matters["XK00101001"]["materials"][0]]}))
    ok(hall.op(3, "call-next"))
    ok(hall.op(3, "refuse", {"reason": "不属于本机关职权范围"}))
    # The case desk and supervision: a suspension, 办结, 出件; a rating from the window's device.
    ok(hall.c.post(f"/api/v1/cases/{promised['id']}/suspend", json={"reason": "专家评审"}, headers=sup))
    ok(hall.c.post(f"/api/v1/cases/{promised['id']}/resume-clock", headers=sup))
    ok(hall.case_op(promised["id"], "finish"))
    ok(hall.case_op(promised["id"], "deliver", {"how": "window"}))
    ok(hall.c.post("/api/v1/ratings", json={"channel": "device", "case_id": promised["id"], "level": 1},
                   headers=hall.headers(RATER)), 201)
    clock.advance(days=3)
    check_warnings(rt)
    close_day(rt, next(iter(rt.halls)))

    seen = {e["type"] for e in published}
    assert seen >= {
        "ticket.issued", "ticket.called", "ticket.recalled", "ticket.skipped", "ticket.requeued",
        "ticket.transferred", "window.paused", "window.resumed", "window.opened", "window.closed",
        "case.accepted", "case.finished", "case.correction", "case.refused", "case.delivered",
        "case.suspended", "case.clock_resumed", "rating.received", "day.closed"}, seen
    for event in published:
        schemas.check_event(event)   # conftest checks them too; here a failure names the event


def test_a_misshapen_event_is_refused():
    """The check can fail: an undeclared key, a missing one, an unknown event name."""
    good = {"type": "window.paused", "seq": 3, "at": "2026-03-10T09:00:00+08:00", "window_id": 1,
            "window_seq": 2, "window": {"id": 1, "number": 1, "name": "一号窗口", "state": "paused"},
            "ticket": None}
    schemas.check_event(good)
    with pytest.raises(ValidationError):
        schemas.check_event(good | {"surprise": 1})
    with pytest.raises(ValidationError):
        schemas.check_event({k: v for k, v in good.items() if k != "window"})
    with pytest.raises(KeyError):
        schemas.check_event(good | {"type": "window.vanished"})


def test_each_event_type_names_itself():
    for name, shape in schemas.EVENTS.items():
        assert schemas.adapter(shape).json_schema()["properties"]["type"]["const"] == name


def test_the_answers_have_the_declared_shapes(hall, clock):
    ticket = ok(hall.issue("XK00102001"), 201)["ticket"]
    schemas.check(schemas.Ticket, ticket)
    assert {"query_code", "ballot_code", "waiting_ahead"} <= set(ticket)
    ok(hall.op(1, "call-next"))
    accepted = ok(hall.op(1, "accept"))
    schemas.check(schemas.Case, accepted["case"])
    schemas.check(schemas.Ticket, accepted["ticket"])
    snapshot = hall.queue()
    schemas.check(schemas.Snapshot, snapshot)
    windows = ok(hall.c.get("/api/v1/windows", headers=hall.headers("test-display")))["windows"]
    for window in windows:
        schemas.check(schemas.Window, window)
    desk = ok(hall.c.get("/api/v1/cases?scope=hall&status=all", headers=hall.headers(SUP)))["cases"]
    for case in desk:
        schemas.check(schemas.Case, case)
        assert {"light", "actions", "suspended"} <= set(case)


def test_a_window_carries_its_whole_current_ticket_and_case(hall):
    """The caller page needs no second look-up after a snapshot (it used to fetch the ticket)."""
    issued = ok(hall.issue("XK00102001"), 201)["ticket"]
    ok(hall.op(1, "call-next"))
    by_id = ok(hall.c.get(f"/api/v1/tickets/{issued['id']}", headers=hall.headers("test-display")))["ticket"]
    current = next(w for w in hall.queue()["windows"] if w["number"] == 1)["current"]
    assert current["case"] is None
    assert {k: v for k, v in current.items() if k != "case"} == {
        k: v for k, v in by_id.items() if k not in ("waiting_ahead", "hall")}
    case = ok(hall.op(1, "accept"))["case"]
    current = next(w for w in hall.queue()["windows"] if w["number"] == 1)["current"]
    assert current["status"] == "serving" and current["case"] == case


def test_the_openapi_schemas_are_generated_from_the_shapes():
    components = build_spec()["components"]["schemas"]
    for shape in (schemas.Ticket, schemas.Case, schemas.Window, schemas.WindowBrief, schemas.Rating):
        generated = schemas.adapter(shape).json_schema(ref_template="#/components/schemas/{model}")
        generated.pop("$defs", None)
        assert components[shape.__name__] == generated
    ticket = components["Ticket"]
    assert set(ticket["properties"]) == set(schemas.Ticket.__annotations__)
    assert ticket["properties"]["case"]["anyOf"][0] == {"$ref": "#/components/schemas/Case"}
    assert ticket["additionalProperties"] is False


def test_who_devices_and_refusals_have_the_declared_shapes(hall):
    """/me, the admin's device list and answers, and every refusal: built from their types."""
    me = ok(hall.c.get("/api/v1/me", headers=hall.headers("clerk01")))
    schemas.check(schemas.Principal, me)
    assert me["kind"] == "staff" and me["expires_in"] > 0
    kiosk = ok(hall.c.get("/api/v1/me", headers=hall.headers("test-kiosk")))
    schemas.check(schemas.Principal, kiosk)
    assert kiosk["kind"] == "device" and "expires_in" not in kiosk

    ok(hall.c.post("/api/v1/devices/heartbeat", json={"status": {"printer": "paper_out"}},
                   headers=hall.headers("test-kiosk")))
    devices = ok(hall.c.get("/api/v1/devices", headers=hall.headers("admin")))["devices"]
    for device in devices:
        schemas.check(schemas.DeviceListed, device)
    alerted = next(d for d in devices if d["kind"] == "kiosk")
    assert alerted["state"] == "online" and [a["code"] for a in alerted["alerts"]] == ["status:printer"]
    led = next(d for d in devices if d["kind"] == "led")
    revoked = ok(hall.c.post(f"/api/v1/devices/{led['id']}/revoke", headers=hall.headers("admin")))["device"]
    schemas.check(schemas.Device, revoked)
    assert revoked["revoked"] is True

    for refused in (hall.c.get("/api/v1/me"),                                      # no token
                    hall.c.post("/api/v1/tickets", json={}, headers=hall.headers("test-kiosk")),
                    hall.c.post("/api/v1/devices/999999/revoke", headers=hall.headers("admin"))):
        assert 400 <= refused.status_code < 500
        schemas.check(schemas.Error, refused.get_json())
    with pytest.raises(ValidationError):
        schemas.check(schemas.Error, {"error": {"code": "x", "message": ""}})   # a refusal says why


def test_the_supervisors_lists_have_the_declared_shapes(hall, clock):
    """Today live, the period's figures (for the hall and by group), the drill-down's case lines,
    the warnings and a case's suspensions, from their types."""
    ok(hall.issue("XK00102001"), 201)
    ok(hall.op(1, "call-next"))
    finished = hall.serve(1)
    ok(hall.issue("XK00101001"), 201)   # a 承诺件 left open, with its warnings due later
    ok(hall.op(1, "call-next"))
    open_case = ok(hall.op(1, "accept"))["case"]
    ok(hall.case_op(open_case["id"], "suspend", {"reason": "需要补充鉴定材料"}, who=SUP))
    schemas.check(schemas.Live, ok(hall.c.get("/api/v1/supervision/live", headers=hall.headers(SUP))))
    for by in ("", "&by=window", "&by=staff"):
        stats = ok(hall.c.get(f"/api/v1/supervision/stats?from=2026-03-01&to=2026-03-31{by}",
                              headers=hall.headers(SUP)))
        schemas.check(schemas.Stats, stats)
    assert stats["totals"]["accepted"] == 2 and stats["groups"][0]["accepted"] == 2
    lines = ok(hall.c.get("/api/v1/supervision/cases?from=2026-03-01&to=2026-03-31",
                          headers=hall.headers(SUP)))["cases"]
    assert {line["number"] for line in lines} == {finished["number"], open_case["number"]}
    for line in lines:
        schemas.check(schemas.CaseLine, line)
    suspended = ok(hall.c.get(f"/api/v1/cases/{open_case['id']}/suspensions", headers=hall.headers(SUP)))
    assert len(suspended["suspensions"]) == 1
    schemas.check(schemas.Suspension, suspended["suspensions"][0])
    clock.advance(hours=1)
    ok(hall.case_op(open_case["id"], "resume-clock", who=SUP))
    clock.advance(days=30)
    check_warnings(hall.c.application.extensions["hall"], clock.now())
    hall.tokens.clear()                                   # a month on: the supervisor logs in again
    warnings = ok(hall.c.get("/api/v1/supervision/warnings", headers=hall.headers(SUP)))["warnings"]
    assert warnings
    for warning in warnings:
        schemas.check(schemas.Warning, warning)
