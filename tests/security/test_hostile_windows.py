"""Staff and devices reaching past their own window: a clerk on a colleague's window (every window
operation in the served description), on another window's case, rating or 差评 follow-up; a
window's rating device rating another window's case, a case that is not the one just finished,
a case twice, or too late. Every refusal has the error shape and changes nothing stored."""
from __future__ import annotations

import pytest

from hostile_helpers import OneHall, Problems, ok, unchanged



class Hall(OneHall):
    def __init__(self, tmp):
        super().__init__(tmp)
        spec = self.spec
        self.window_ops = [(m, p) for p, ops in spec["paths"].items() for m in ops
                           if p.startswith("/windows/{window_id}/")]
        # A no-show at window 4 (户籍): window 1 (商事登记) does not serve its matter.
        self.issue("QR00201001")
        self.op(4, "call-next")
        self.skipped_elsewhere = self.op(4, "skip")["ticket"]
        for n in range(1, 11):
            self.who.token(f"clerk{n:02d}")

    def issue(self, code: str) -> dict:
        return ok(self.who.call("POST", "/tickets", "kiosk", {"matter_id": self.f.matters[code]}), 201)["ticket"]

    def op(self, number: int, action: str, who: str | None = None, body: dict | None = None) -> dict:
        return ok(self.who.call("POST", f"/windows/{self.f.windows[number]}/{action}", who or f"clerk{number:02d}",
                                body or {}))

    def serve(self, number: int, code: str) -> dict:
        """Issue, call, accept and finish at a window: the finished case."""
        self.issue(code)
        self.op(number, "call-next")
        self.op(number, "accept")
        self.clock.advance(minutes=3)
        return self.op(number, "finish")["case"]

    def rate(self, body: dict, who: str = "rater"):
        return self.who.call("POST", "/ratings", who, {"level": 5, **body})


@pytest.fixture(scope="module")
def h(tmp_path_factory):
    return Hall(tmp_path_factory.mktemp("hostile_windows"))


def test_every_window_operation_on_a_colleagues_window_is_not_your_window(h):
    """clerk02 on window 1 (a ticket called there), clerk01 on window 3 (a case being served),
    clerk01 on a window number that does not exist: 403 not_your_window, before anything else."""
    bodies = {"requeue": {"ticket_id": h.f.skipped_ticket["id"]}, "transfer": {"to_window": h.f.windows[2]}}
    problems = Problems()
    assert h.window_ops, "the description lists no window operations"
    with unchanged(h.app):
        for clerk, window_id in (("clerk02", h.f.windows[1]), ("clerk01", h.f.windows[3]), ("clerk01", 2**31)):
            for method, path in h.window_ops:
                op = path.rsplit("/", 1)[-1]
                r = h.who.call(method, path.replace("{window_id}", str(window_id)), clerk, bodies.get(op, {}))
                problems.expect(r, 403, "not_your_window",
                                f"{method.upper()} {path} by {clerk} on window id {window_id}")
    problems.check()


def test_a_clerk_cannot_act_on_another_windows_case_rating_or_follow_up(h):
    f = h.f
    problems = Problems()
    with unchanged(h.app):
        case = f.accepted_case["id"]          # accepted at window 3 (公安), its clock suspended
        # A case is worked by its department (the case desk's rule), not by other departments' clerks.
        problems.expect(h.who.call("POST", f"/cases/{case}/resume-clock", "clerk01"), 403, "not_your_department",
                        "clerk01 (市场监管) resumes the clock of window 3's case")
        problems.expect(h.who.call("POST", f"/cases/{case}/suspend", "clerk05", {"reason": "专家评审"}), 403,
                        "not_your_department", "clerk05 (人社) suspends window 3's case")
        problems.expect(h.who.call("POST", f"/cases/{case}/finish", "clerk05"), 403,
                        "not_your_department", "clerk05 (人社) finishes window 3's case at the desk")
        problems.expect(h.who.call("POST", f"/ratings/{f.rating_id}/appeal", "clerk03", {"reason": "误评"}), 403,
                        "not_your_window", "clerk03 appeals window 1's rating")
        problems.expect(h.who.call("POST", f"/follow-ups/{f.follow_up_id}/verify", "clerk03", {"note": "已核实"}), 403,
                        "not_your_department", "clerk03 (公安) steps window 1's (市场监管) follow-up")
        problems.expect(h.who.call("POST", f"/windows/{f.windows[1]}/requeue", "clerk01",
                                   {"ticket_id": h.skipped_elsewhere["id"]}), 409, "not_this_window",
                        "clerk01 re-queues at window 1 a no-show of window 4")
        problems.expect(h.who.call("POST", f"/windows/{f.windows[1]}/transfer", "clerk01", {"to_window": 2**31}),
                        404, "unknown_window", "clerk01 transfers to a window that does not exist")
    problems.check()


def test_a_rating_device_rates_only_its_windows_just_finished_case_once(h):
    f = h.f
    elsewhere = h.serve(7, "QT00401001")                  # finished at window 7, not the device's
    problems = Problems()
    with unchanged(h.app):
        for body, status, code, what in [
            ({"channel": "device", "case_id": elsewhere["id"]}, 403, "not_your_window", "window 7's case"),
            ({"channel": "device", "case_id": f.accepted_case["id"]}, 409, "case_not_finished", "a case not finished"),
            ({"channel": "device", "case_id": 2**40}, 404, "unknown_case", "a case that does not exist"),
            ({"channel": "device"}, 400, "missing_field", "no case named"),
            ({"channel": "default", "case_id": f.finished_case["id"]}, 400, "invalid_channel",
             "a forged default rating"),
            ({"channel": "slip", "case_id": f.finished_case["id"]}, 403, "forbidden_role", "the slip channel"),
        ]:
            problems.expect(h.rate(body), status, code, f"rating device on {what}")
        problems.expect(h.rate({"channel": "default", "case_id": f.finished_case["id"]}, "supervisor"), 400,
                        "invalid_channel", "a supervisor's forged default rating")
    problems.check()

    earlier = f.finished_case                             # window 1's first case; now a newer one finishes
    h.op(1, "accept")                                     # the ticket called there in the morning
    h.clock.advance(minutes=3)
    latest = h.op(1, "finish")["case"]
    with unchanged(h.app):
        r = h.rate({"channel": "device", "case_id": earlier["id"]})
        problems.expect(r, 409, "rating_closed", "rating device on its window's earlier case")
        shown = ok(h.who.call("GET", "/ratings/device", "rater"))["case"]
        assert shown["id"] == latest["id"], shown
    problems.check()

    assert h.rate({"channel": "device", "case_id": latest["id"], "level": 4}).status_code == 201
    with unchanged(h.app):
        for level in (5, 1):
            problems.expect(h.rate({"channel": "device", "case_id": latest["id"], "level": level}), 409,
                            "already_rated", f"rating device on the same case again (level {level})")
    problems.check()

    late = h.serve(1, "XK00102001")
    h.clock.advance(seconds=301)                          # device_seconds is 300
    with unchanged(h.app):
        problems.expect(h.rate({"channel": "device", "case_id": late["id"]}), 409, "rating_closed",
                        "rating device five minutes after 办结")
        assert ok(h.who.call("GET", "/ratings/device", "rater"))["case"] is None
    problems.check()
