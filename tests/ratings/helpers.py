"""Serving a citizen from ticket to 办结 through the API, as the kiosk and the window do."""
from __future__ import annotations

RATER = "test-rater-01"  # the rating device of window 1 (tests/halls/small.toml)


def serve(hall, clock, code: str = "XK00101001", window: int = 1, phone: str | None = None,
          minutes: int = 10) -> dict:
    """Issue, call, accept, finish; returns {"ticket", "case"} (the finished case). A 即办件 is
    finished at the window; a 承诺件's visit ends at 受理 and the window's clerk finishes it from
    the case desk `minutes` later."""
    extra = {"phone": phone} if phone else {}
    issued = hall.issue(code, **extra)
    assert issued.status_code == 201, issued.get_json()
    ticket = issued.get_json()["ticket"]
    called = hall.op(window, "call-next")
    assert called.status_code == 200, called.get_json()
    assert called.get_json()["ticket"]["id"] == ticket["id"], "another ticket was waiting"
    accepted = hall.op(window, "accept")
    assert accepted.status_code == 200, accepted.get_json()
    clock.advance(minutes=minutes)
    case = accepted.get_json()["case"]
    if case["kind"] == "即办件":
        finished = hall.op(window, "finish")
    else:
        finished = hall.case_op(case["id"], "finish", who=f"clerk{window:02d}")
    assert finished.status_code == 200, finished.get_json()
    return {"ticket": ticket, "case": finished.get_json()["case"]}


def accept_only(hall, code: str = "XK00101001", window: int = 1) -> dict:
    ticket = hall.issue(code).get_json()["ticket"]
    assert hall.op(window, "call-next").status_code == 200
    r = hall.op(window, "accept")
    assert r.status_code == 200, r.get_json()
    return {"ticket": ticket, "case": r.get_json()["case"]}


def rate(hall, body: dict, who: str | None = None):
    headers = hall.headers(who) if who else {}
    return hall.c.post("/api/v1/ratings", json=body, headers=headers)


def error(response) -> str:
    return response.get_json()["error"]["code"]
