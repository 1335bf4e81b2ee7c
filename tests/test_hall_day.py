"""A hall's day through the API: issue, call, accept, finish; priorities, transfers, skips, pauses."""
from __future__ import annotations



def number(response):
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()["ticket"]["number"]


def test_issue_call_accept_finish(hall, clock):
    issued = hall.issue("XK00101001")
    assert issued.status_code == 201
    ticket = issued.get_json()["ticket"]
    assert ticket["number"] == "A001" and ticket["status"] == "waiting"
    assert ticket["waiting_ahead"] == 0 and set(ticket["window_ids"]) == {
        hall.windows[1]["id"], hall.windows[2]["id"], hall.windows[10]["id"]}

    called = hall.op(1, "call-next").get_json()["ticket"]
    assert called["id"] == ticket["id"] and called["status"] == "called"
    assert called["window"]["number"] == 1

    clock.advance(minutes=5)
    case = hall.op(1, "accept").get_json()["case"]
    assert case["kind"] == "承诺件" and case["status"] == "accepted"
    # Accepted Tuesday 2026-03-10: 3 working days -> Friday 2026-03-13 at the hall's deadline time.
    assert case["due_at"] == "2026-03-13T17:30:00+08:00"
    assert case["number"] == "370000T01202603100001"
    assert case["staff"]["name"] == "王芳"

    # A 承诺件's visit ends at 受理: the window is free at once, the case lives on at the desk.
    shown = hall.c.get(f"/api/v1/tickets/{ticket['id']}", headers=hall.headers("test-display")).get_json()
    assert shown["ticket"]["status"] == "done" and shown["ticket"]["status_text"] == "办理完毕"
    assert hall.op(1, "finish").get_json()["error"]["code"] == "no_current_ticket"
    assert hall.op(1, "call-next").get_json()["error"]["code"] == "queue_empty"

    clock.advance(days=2)
    hall.tokens.clear()     # a new working day, a new login
    finished = hall.case_op(case["id"], "finish").get_json()["case"]
    assert finished["status"] == "finished" and finished["on_time"] is True
    shown = hall.c.get(f"/api/v1/tickets/{ticket['id']}", headers=hall.headers("test-display")).get_json()
    assert [h["type"] for h in shown["history"]] == [
        "ticket.issued", "ticket.called", "case.accepted", "case.finished"]


def test_numbers_per_prefix_restart_each_day(hall, clock):
    assert [number(hall.issue(c)) for c in ("XK00101001", "XK00102001", "QR00201001", "XK00101001")] == [
        "A001", "A002", "B001", "A003"]
    clock.advance(days=1)
    assert number(hall.issue("XK00101001")) == "A001"
    assert number(hall.issue("QR00201001")) == "B001"
    # Yesterday's waiting tickets are not called today.
    assert hall.op(3, "call-next").get_json()["ticket"]["number"] == "B001"
    assert hall.op(3, "skip").status_code == 200
    assert hall.op(3, "call-next").get_json()["error"]["code"] == "queue_empty"


def test_priority_before_ordinary_then_first_come_first_served(hall, clock):
    order = []
    for priority in (None, None, "elderly", None, "military"):
        order.append(number(hall.issue("QR00201001", priority=priority) if priority else hall.issue("QR00201001")))
        clock.advance(seconds=30)
    called = []
    for _ in range(5):
        called.append(number(hall.op(3, "call-next")))
        assert hall.op(3, "skip").status_code == 200
    assert called == ["B003", "B005", "B001", "B002", "B004"]


def test_ranked_window_ranks_series_and_keeps_each_series_in_issue_order(hall, clock):
    # Window 8 ranks 社保卡 (C) before 户口迁移 (B): the C series goes first even if B came earlier.
    # Window 5 ranks 社保卡 (C, GG00301001) before 失业金 (C, JF00302001): one series, so the
    # earlier number goes first — a later C never overtakes an earlier C. Window 9 is one FIFO queue.
    b = number(hall.issue("QR00201001"))
    clock.advance(seconds=10)
    first = number(hall.issue("JF00302001"))
    clock.advance(seconds=10)
    second = number(hall.issue("GG00301001"))
    clock.advance(seconds=10)
    third = number(hall.issue("JF00302001"))
    assert number(hall.op(8, "call-next")) == second   # C ranked over B at window 8
    assert number(hall.op(5, "call-next")) == first    # C001 before C003 though 失业金 ranks second
    assert number(hall.op(9, "call-next")) == third
    assert number(hall.op(3, "call-next")) == b


def test_demo_hall_a_later_a_ticket_never_overtakes_an_earlier_one(hall, clock):
    """The issue's case: 个体工商户登记 (即办件) first, then 企业设立登记 (承诺件); window 1 ranks
    企业设立 first, yet both are series A, so A001 (个体) is called before A002 (企业设立), and
    the second slip's 前面还有 1 人 was true."""
    early = hall.issue("XK00102001").get_json()["ticket"]
    clock.advance(seconds=20)
    later = hall.issue("XK00101001").get_json()["ticket"]
    assert (early["number"], later["number"]) == ("A001", "A002")
    assert later["waiting_ahead"] == 1            # A001 is another matter of the same series
    assert number(hall.op(1, "call-next")) == "A001"
    assert number(hall.op(2, "call-next")) == "A002"


def test_waiting_ahead_counts_the_queue(hall, clock):
    for _ in range(3):
        hall.issue("GG00301001")
        clock.advance(seconds=5)
    assert hall.issue("GG00301001").get_json()["ticket"]["waiting_ahead"] == 3
    assert hall.issue("GG00301001", priority="pregnant").get_json()["ticket"]["waiting_ahead"] == 0


def test_transfer_to_window_keeps_the_place(hall, clock):
    moved = number(hall.issue("XK00101001"))
    clock.advance(minutes=1)
    for _ in range(2):
        hall.issue("QR00201001")
        clock.advance(minutes=1)
    assert number(hall.op(1, "call-next")) == moved
    # Window 10 (综合) serves 企业设立登记 and 户口迁移.
    transferred = hall.op(1, "transfer", {"to_window": hall.windows[10]["id"]})
    assert transferred.status_code == 200
    body = transferred.get_json()["ticket"]
    assert body["status"] == "waiting" and body["window_ids"] == [hall.windows[10]["id"]]
    # Sent to window 10, it is called first there, before the two B tickets; window 2 (which
    # serves its matter too) does not see it any more.
    assert hall.op(2, "call-next").status_code == 404
    assert number(hall.op(10, "call-next")) == moved


def test_transfer_to_matter_joins_that_queue_by_issue_time(hall, clock):
    moved = number(hall.issue("XK00102001"))
    clock.advance(minutes=1)
    later = number(hall.issue("GG00301001"))
    assert number(hall.op(2, "call-next")) == moved
    r = hall.op(2, "transfer", {"to_matter": hall.matters["GG00301001"]["id"]})
    assert r.get_json()["ticket"]["matter_name"] == "社会保障卡申领"
    assert number(hall.op(5, "call-next")) == moved
    assert number(hall.op(6, "call-next")) == later


def test_skip_then_requeue_once_behind_others(hall, clock):
    first = number(hall.issue("QR00201001"))
    for _ in range(3):
        clock.advance(seconds=10)
        hall.issue("QR00201001")
    assert number(hall.op(3, "call-next")) == first
    skipped = hall.op(3, "skip").get_json()["ticket"]
    assert skipped["status"] == "skipped"
    again = hall.op(3, "requeue", {"ticket_id": skipped["id"]})
    assert again.status_code == 200 and again.get_json()["ticket"]["status"] == "waiting"
    # The small hall re-queues behind 2 waiting tickets: B002, B003, then B001, then B004.
    calls = []
    for _ in range(4):
        calls.append(number(hall.op(3, "call-next")))
        hall.op(3, "skip")
    assert calls == ["B002", "B003", "B001", "B004"]
    twice = hall.op(3, "requeue", {"ticket_id": skipped["id"]})
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "already_requeued"


def test_pause_blocks_calling_until_resume(hall):
    hall.issue("QT00401001")
    assert hall.op(7, "pause").get_json()["window"]["state"] == "paused"
    refused = hall.op(7, "call-next")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "window_paused"
    assert hall.op(7, "pause").status_code == 409
    assert hall.op(7, "resume").status_code == 200
    assert hall.op(7, "call-next").status_code == 200


def test_recall_counts_and_busy_window_refuses_next(hall):
    hall.issue("QT00401001")
    hall.issue("QT00401001")
    assert hall.op(7, "call-next").get_json()["ticket"]["call_count"] == 1
    assert hall.op(7, "recall").get_json()["ticket"]["call_count"] == 2
    busy = hall.op(7, "call-next")
    assert busy.status_code == 409 and busy.get_json()["error"]["code"] == "window_busy"


def test_same_request_id_gives_the_same_ticket(hall):
    first = hall.issue("GG00301001", request_id="kiosk1-0001")
    again = hall.issue("GG00301001", request_id="kiosk1-0001")
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["ticket"]["id"] == again.get_json()["ticket"]["id"]
    assert hall.queue()["waiting"]["total"] == 1


def test_just_in_time_case_is_due_the_same_working_day(hall, clock):
    hall.issue("QT00401001")
    hall.op(7, "call-next")
    case = hall.op(7, "accept").get_json()["case"]
    assert case["kind"] == "即办件" and case["due_at"] == "2026-03-10T17:30:00+08:00"


def test_late_finish_is_not_on_time(hall, clock):
    hall.issue("QT00401001")
    hall.op(7, "call-next")
    hall.op(7, "accept")
    clock.advance(hours=9)
    assert hall.op(7, "finish").get_json()["case"]["on_time"] is False


def test_id_and_phone_masked_and_checked(hall):
    ok = hall.issue("GG00301001", id_number="11010519491231002X", phone="13812345678").get_json()["ticket"]
    assert ok["id_number"] == "110***********002X" and ok["phone"] == "138****5678"
    bad = hall.issue("GG00301001", id_number="110105194912310021")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_id_number"
    public = hall.c.get(f"/api/v1/tickets/{ok['query_code']}").get_json()["ticket"]
    assert "id_number" not in public and "phone" not in public and public["number"] == ok["number"]


def test_snapshot_shows_windows_and_recent_calls(hall, clock):
    hall.issue("QR00201001")
    hall.issue("QR00201001")
    hall.op(3, "call-next")
    snap = hall.queue()
    w3 = next(w for w in snap["windows"] if w["number"] == 3)
    assert w3["current"]["number"] == "B001" and w3["staff"]["name"] == "张伟"
    assert snap["waiting"]["by_prefix"] == {"B": 1}
    assert snap["recent_calls"][0]["ticket_number"] == "B001"
    assert snap["seq"] == 10 + 3   # ten windows opened in the morning, then two issued and one call


def test_restart_keeps_tickets_and_cases(db_url, clock):
    from conftest import SMALL_HALL, HallDriver
    from queue_server.app import create_app
    first = HallDriver(create_app([SMALL_HALL], db_url, secret=b"s", clock=clock).test_client())
    first.issue("QT00401001")
    first.issue("QT00401001")
    first.op(7, "call-next")
    case = first.op(7, "accept").get_json()["case"]
    clock.advance(minutes=1)
    second = HallDriver(create_app([SMALL_HALL], db_url, secret=b"s", clock=clock).test_client())
    assert second.op(7, "finish").get_json()["case"]["id"] == case["id"]
    assert number(second.issue("QT00401001")) == "E003"
    assert second.queue()["waiting"]["total"] == 2


def test_skipped_list_and_serving_case_in_snapshot(hall, clock):
    hall.issue("QR00201001")
    hall.issue("QR00201001")
    hall.op(3, "call-next")
    hall.op(3, "skip")
    hall.op(3, "call-next")
    case = hall.op(3, "accept").get_json()["case"]
    listed = hall.c.get(f"/api/v1/windows/{hall.windows[3]['id']}/skipped", headers=hall.headers("clerk03"))
    assert [t["number"] for t in listed.get_json()["tickets"]] == ["B001"]
    assert hall.c.get(f"/api/v1/windows/{hall.windows[3]['id']}/skipped",
                      headers=hall.headers("clerk04")).status_code == 403
    current = next(w for w in hall.queue()["windows"] if w["number"] == 3)["current"]
    assert current["case"]["number"] == case["number"] and current["case"]["due_at"] == case["due_at"]
    assert current["issued_at"] == "2026-03-10T09:00:00+08:00"


def test_me_tells_a_device_its_printer(hall):
    me = hall.c.get("/api/v1/me", headers=hall.headers("test-kiosk")).get_json()
    assert me["kind"] == "device" and me["role"] == "kiosk" and me["printer"] is None
    staff = hall.c.get("/api/v1/me", headers=hall.headers("clerk01")).get_json()
    assert staff["role"] == "clerk" and "printer" not in staff
