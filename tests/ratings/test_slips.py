"""投箱评议 through the API: open the box, scan each slip's barcode (the ticket's random ballot code,
as the kiosk printed it), tick the level, next; duplicates, unknown and guessed codes refused and
counted; the tally at the end."""
from __future__ import annotations

from .helpers import accept_only, error, serve


def test_box_opening_tally(hall, clock):
    served = [serve(hall, clock, code="QR00201001", window=3) for _ in range(4)]
    open_case = accept_only(hall, code="GG00301001", window=5)
    sup = hall.headers("supervisor")
    batch = hall.c.post("/api/v1/slips/batches", headers=sup)
    assert batch.status_code == 201
    bid = batch.get_json()["batch"]["id"]

    def scan(code, level=None):
        body = {"code": code} if level is None else {"code": code, "level": level}
        return hall.c.post(f"/api/v1/slips/batches/{bid}/scan", json=body, headers=sup)

    first = served[0]["ticket"]["ballot_code"]
    checked = scan(first)  # the scanner typed the digits + Enter: the page checks the code first
    assert checked.status_code == 200 and checked.get_json()["ticket"]["number"] == served[0]["ticket"]["number"]
    assert scan(first, 5).status_code == 200
    dup = scan(first)
    assert dup.status_code == 409 and error(dup) == "already_rated"
    assert scan(served[1]["ticket"]["ballot_code"], 4).status_code == 200
    assert scan(served[2]["ticket"]["ballot_code"], 1).status_code == 200
    assert scan(served[3]["ticket"]["ballot_code"], 5).status_code == 200
    unknown = scan("999999")
    assert unknown.status_code == 404 and error(unknown) == "unknown_code"
    # The ticket's id, what an old slip's barcode carried and anyone can count up, is no ballot.
    by_id = scan(str(served[0]["ticket"]["id"]), 1)
    assert by_id.status_code == 404 and error(by_id) == "unknown_code" and "旧式" in by_id.get_json()["error"]["message"]
    assert error(scan("A001-garbage")) == "unknown_code"
    not_finished = scan(open_case["ticket"]["ballot_code"])
    assert not_finished.status_code == 409 and error(not_finished) == "case_not_finished"
    bad_level = scan(open_case["ticket"]["ballot_code"], 9)
    assert bad_level.status_code in (400, 409)

    tally = hall.c.post(f"/api/v1/slips/batches/{bid}/close", headers=sup).get_json()["batch"]
    assert tally["rated"] == 4
    assert {c["level"]: c["count"] for c in tally["counts"]} == {5: 2, 4: 1, 3: 0, 2: 0, 1: 1}
    refused = [(r["code"], r["reason"]) for r in tally["refused"]]
    assert (first, "already_rated") in refused and ("999999", "unknown_code") in refused
    assert (open_case["ticket"]["ballot_code"], "case_not_finished") in refused
    assert error(scan(first)) == "batch_closed"

    # The slip ratings are ordinary ratings of the slip channel; the 差评 opened its follow-up.
    ratings = hall.c.get("/api/v1/ratings", headers=sup).get_json()["ratings"]
    assert sorted(r["level"] for r in ratings if r["channel"] == "slip") == [1, 4, 5, 5]
    assert [r["follow_up_id"] is not None for r in ratings if r["level"] == 1] == [True]


def test_tickets_of_another_hall_or_without_a_case_are_unknown(hall, clock):
    sup = hall.headers("supervisor")
    bid = hall.c.post("/api/v1/slips/batches", headers=sup).get_json()["batch"]["id"]
    skipped = hall.issue("QR00201001").get_json()["ticket"]
    hall.op(3, "call-next")
    hall.op(3, "skip")
    r = hall.c.post(f"/api/v1/slips/batches/{bid}/scan", json={"code": skipped["ballot_code"]}, headers=sup)
    assert r.status_code == 409 and error(r) == "case_not_finished"
    assert hall.c.post(f"/api/v1/slips/batches/{bid}/scan", json={"code": "1"}, headers=hall.headers("clerk03")).status_code == 403
