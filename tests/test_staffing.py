"""Staffed windows (issue 19): a window is open to citizens only while a clerk is signed in on it;
transfers go only where they can be done; 老年人 priority is checked against the ID number."""
from __future__ import annotations


from sqlalchemy import select

from queue_server.models import Event
from queue_server.staffing import sweep

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_born(yyyymmdd: str, serial: str = "123") -> str:
    """A well-formed GB 11643 number of someone born that day (region 370102)."""
    body = "370102" + yyyymmdd + serial
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS)) % 11]


def events(app, *types):
    with app.extensions["hall"].read() as s:
        return [(e.type, e.window_id, e.data) for e in s.scalars(
            select(Event).where(Event.type.in_(types)).order_by(Event.seq))]


def availability(hall, code):
    body = hall.c.get("/api/v1/matters/availability").get_json()
    return body["matters"][str(hall.matters[code]["id"])]


# --- nobody signed in: every window closed ----------------------------------------------------

def test_before_anyone_signs_in_every_window_is_closed_and_the_slip_names_none(empty_hall):
    hall = empty_hall
    snap = hall.queue()
    assert {w["state"] for w in snap["windows"]} == {"closed"}
    ticket = hall.issue("QR00201001").get_json()["ticket"]
    assert ticket["window_ids"] == []        # the kiosk says: 暂无窗口开放，请咨询导办台
    a = availability(hall, "QR00201001")
    assert a["open"] and a["open_windows"] == 0 and a["estimate_minutes"] is None
    live = hall.c.get("/api/v1/supervision/live", headers=hall.headers("supervisor"))
    assert sorted(live.get_json()["closed"]) == list(range(1, 11))
    assert {w["state"] for w in live.get_json()["windows"]} == {"closed"}


def test_window_3_signs_in_and_only_it_is_named_and_counted(app, empty_hall):
    hall = empty_hall
    r = hall.op(3, "sign-in")
    assert r.status_code == 200 and r.get_json()["window"]["state"] == "open"
    assert hall.op(3, "sign-in").status_code == 200          # again: the idle clock restarts, no event
    assert [t for t, _, _ in events(app, "window.opened")] == ["window.opened"]
    ticket = hall.issue("QR00201001").get_json()["ticket"]
    assert ticket["window_ids"] == [hall.windows[3]["id"]]   # window 4 serves 户口迁移 too, but is closed
    assert availability(hall, "QR00201001")["open_windows"] == 1
    states = {w["number"]: w["state"] for w in hall.queue()["windows"]}
    assert states[3] == "open" and states[4] == "closed"
    hall.op(3, "pause")
    assert {w["number"]: w["state"] for w in hall.queue()["windows"]}[3] == "paused"
    assert availability(hall, "QR00201001")["open_windows"] == 0


def test_calling_on_a_closed_window_signs_the_clerk_in(app, empty_hall):
    hall = empty_hall
    hall.issue("GG00301001")
    called = hall.op(5, "call-next")
    assert called.status_code == 200 and called.get_json()["ticket"]["number"] == "C001"
    assert [(t, w) for t, w, _ in events(app, "window.opened")] == [("window.opened", hall.windows[5]["id"])]
    assert {w["number"]: w["state"] for w in hall.queue()["windows"]}[5] == "open"


# --- closing: 签退, logout, an ended login, a long idle -----------------------------------------

def test_sign_out_waits_for_the_citizen_at_the_window_then_closes_it(app, hall):
    hall.issue("XK00102001")
    hall.op(1, "call-next")
    refused = hall.op(1, "sign-out")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "window_busy"
    assert "A001" in refused.get_json()["error"]["message"]
    hall.op(1, "accept", {"finish": True})
    closed = hall.op(1, "sign-out")
    assert closed.status_code == 200 and closed.get_json()["window"]["state"] == "closed"
    assert events(app, "window.closed")[-1][2]["reason"] == "signed_out"
    # A new 个体工商户登记 ticket now names window 2 and 9 only (1 is closed).
    ticket = hall.issue("XK00102001").get_json()["ticket"]
    assert sorted(ticket["window_ids"]) == sorted([hall.windows[2]["id"], hall.windows[9]["id"]])
    again = hall.op(1, "sign-out")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "window_closed"


def test_logout_closes_the_window_that_login_opened(app, empty_hall):
    hall = empty_hall
    hall.op(7, "sign-in")
    assert {w["number"]: w["state"] for w in hall.queue()["windows"]}[7] == "open"
    r = hall.c.post("/api/v1/auth/logout", headers=hall.headers("clerk07"))
    assert r.status_code == 200
    assert {w["number"]: w["state"] for w in hall.queue()["windows"]}[7] == "closed"
    assert events(app, "window.closed")[-1][2]["reason"] == "logout"


def test_an_ended_login_and_a_long_idle_close_windows_but_not_a_citizen_being_served(app, empty_hall, clock):
    hall = empty_hall
    for n in (3, 4, 5):
        hall.op(n, "sign-in")
    hall.issue("GG00301001")
    hall.op(5, "call-next")                 # a citizen at window 5: not idle however long it takes
    clock.advance(minutes=20)
    hall.op(4, "sign-in")                   # window 4's clerk is still working (the caller page does this)
    clock.advance(minutes=11)
    assert sweep(app.extensions["hall"]) == 1
    states = {w["number"]: w["state"] for w in hall.queue()["windows"]}
    assert (states[3], states[4], states[5]) == ("closed", "open", "open")
    assert events(app, "window.closed")[-1][2]["reason"] == "idle"
    # Past the login's life (12 hours, never refreshed): the other two close too.
    clock.advance(hours=12)
    assert sweep(app.extensions["hall"]) == 2
    assert [d["reason"] for _, _, d in events(app, "window.closed")][-2:] == ["session_expired"] * 2


def test_the_tests_morning_sign_ins_have_no_login_and_do_not_idle_out(app, hall, clock):
    clock.advance(hours=3)
    assert sweep(app.extensions["hall"]) == 0
    assert {w["state"] for w in hall.queue()["windows"]} == {"open"}


# --- transfer only where it can be done ----------------------------------------------------------

def test_transfer_targets_are_open_windows_of_the_matter_and_matters_with_an_open_window(hall):
    hall.issue("XK00101001")                              # 企业设立登记: windows 1, 2, 10
    hall.op(2, "sign-out")
    hall.op(1, "call-next")
    targets = hall.c.get(f"/api/v1/windows/{hall.windows[1]['id']}/transfer-targets",
                         headers=hall.headers("clerk01")).get_json()
    assert targets["ticket"]["number"] == "A001"
    assert [w["number"] for w in targets["windows"]] == [10]   # not itself, not closed window 2
    assert hall.matters["XK00101001"]["id"] not in {m["id"] for m in targets["matters"]}
    assert hall.matters["GG00301001"]["id"] in {m["id"] for m in targets["matters"]}

    for body, code in (({"to_window": hall.windows[3]["id"]}, "window_not_serving"),
                       ({"to_window": hall.windows[2]["id"]}, "window_closed"),
                       ({"to_matter": hall.matters["XK00101001"]["id"]}, "same_matter")):
        refused = hall.op(1, "transfer", body)
        assert refused.get_json()["error"]["code"] == code, body
        assert refused.status_code in (400, 409)
    assert "3号窗口不办理「企业设立登记」" in hall.op(1, "transfer", {"to_window": hall.windows[3]["id"]}) \
        .get_json()["error"]["message"]
    hall.op(7, "sign-out")                                # 发票代开 has no other window: none open now
    hall.op(9, "sign-out")
    hall.op(8, "sign-out")
    no_window = hall.op(1, "transfer", {"to_matter": hall.matters["QT00401001"]["id"]})
    assert no_window.status_code == 409 and no_window.get_json()["error"]["code"] == "no_open_window"
    assert hall.op(1, "transfer", {"to_window": hall.windows[10]["id"]}).status_code == 200


def test_transfer_targets_need_a_called_ticket(hall):
    r = hall.c.get(f"/api/v1/windows/{hall.windows[1]['id']}/transfer-targets", headers=hall.headers("clerk01"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "no_current_ticket"


# --- 老年人 priority and the ID number's age -----------------------------------------------------

def test_elderly_priority_under_60_is_refused_and_the_clerk_sees_the_age(hall):
    # The hall's today is 2026-03-10.
    young = hall.issue("QR00201001", priority="elderly", id_number=id_born("19900101"))
    assert young.status_code == 400
    error = young.get_json()["error"]
    assert error["code"] == "not_elderly" and "60周岁" in error["message"]
    almost = hall.issue("QR00201001", priority="elderly", id_number=id_born("19660311"))
    assert almost.get_json()["error"]["code"] == "not_elderly"      # 60 tomorrow
    sixty = hall.issue("QR00201001", priority="elderly", id_number=id_born("19660310"))
    assert sixty.status_code == 201 and sixty.get_json()["ticket"]["age"] == 60
    # A 55-year-old may still take an ordinary number, and an elderly one without an ID is the clerk's to judge.
    assert hall.issue("QR00201001", id_number=id_born("19710101")).status_code == 201
    no_id = hall.issue("QR00201001", priority="elderly").get_json()["ticket"]
    assert "age" not in no_id and no_id["priority_label"] == "老年人"

    hall.op(3, "call-next")
    window = {w["number"]: w for w in hall.queue()["windows"]}[3]
    assert window["current"]["priority_label"] == "老年人" and window["current"]["age"] == 60
