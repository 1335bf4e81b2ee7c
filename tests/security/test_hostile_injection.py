"""SQL and script injection strings in every free text the hall stores or prints: stored verbatim
(read back through the API), shown escaped on every page that shows them (server-rendered pages
parsed as a browser parses them; the pages filled by JavaScript opened in Chromium, where no
dialog may open), and printed verbatim on the slip.

The free texts: rating comments, appeal reasons and decisions, 差评 follow-up notes, suspension
reasons, device heartbeat values, slip-box codes, login names (kept in the audit trail), paths
(kept in the audit trail), and the hall's own config texts (hall, department, matter, materials,
fees, window, staff and device names, notice), which reach the pages, the SMS outbox and the slip.
Appointments carry no free text and transfers no reason (the API has no such fields).
"""
from __future__ import annotations

import re

import pytest

from hostile_helpers import (API, INJECTIONS, PHONE, Callers, PageParts, Problems, clock_at, make_app, ok,
                             toml_str, unchanged)

from conftest import SMALL_HALL
from live import LiveServer

COMBINED = " ".join(INJECTIONS)
DANGEROUS = [x for x in INJECTIONS if "<" in x]


def long_text(limit: int) -> str:
    """Exactly `limit` characters of hostile text, the longest a field takes."""
    text = ((COMBINED + " ") * (limit // len(COMBINED) + 1))[:limit - 1]
    return text + "。"


# The hall's own texts, as its IT staff might (mis)write them.
CONFIG = {
    "hall": "测试中心<script>alert(1)</script>",
    "notice": "<img src=x onerror=alert(1)>请携带身份证件",
    "department": "'; DROP TABLE tickets;--局",
    "matter": "企业设立登记{{7*7}}${7*7}",
    "fees": '" OR 1=1 --',
    "window": "<img src=x onerror=alert(1)>商事登记窗口",
    "staff": "王芳<script>alert(1)</script>",
    "device": "<img src=x onerror=alert(1)>1号窗口评价器",
}


def write_injection_hall(folder) -> object:
    text = SMALL_HALL.read_text(encoding="utf-8")
    for old, new in [('name = "测试市政务服务中心"', "name = " + toml_str(CONFIG["hall"])),
                     ('notice = "请携带身份证件"', "notice = " + toml_str(CONFIG["notice"])),
                     ('name = "市场监督管理局"', "name = " + toml_str(CONFIG["department"])),
                     ('name = "企业设立登记"', "name = " + toml_str(CONFIG["matter"])),
                     ('fees = "不收费"', "fees = " + toml_str(CONFIG["fees"])),
                     ('name = "商事登记窗口"', "name = " + toml_str(CONFIG["window"])),
                     ('name = "王芳"', "name = " + toml_str(CONFIG["staff"])),
                     ('name = "1号窗口评价器"', "name = " + toml_str(CONFIG["device"])),
                     ('materials = ["公司登记（备案）申请书（原件1份）", "公司章程（原件1份）", "股东主体资格证明（复印件1份）", '
                      '"住所使用证明（复印件1份）"]', "materials = [" + ", ".join(map(toml_str, INJECTIONS)) + "]")]:
        assert text.count(old) >= 1, old
        text = text.replace(old, new, 1)
    path = folder / "injected.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Injected:
    """A hall whose every free text holds the hostile strings."""

    def __init__(self, tmp):
        self.clock = clock_at()
        self.app = make_app([write_injection_hall(tmp)], tmp, self.clock)
        self.rt = self.app.extensions["hall"]
        self.c = self.app.test_client()
        self.who = Callers(self.c)
        catalogue = ok(self.c.get(API + "/matters"))
        self.matters = {m["code"]: m["id"] for m in catalogue["matters"]}
        self.windows = {w["number"]: w["id"] for w in catalogue["windows"]}
        for who in ("clerk01", "clerk03", "supervisor", "admin"):
            self.who.token(who)
        self.case_a, self.code_a = self.serve("XK00101001")
        self.case_b, self.code_b = self.serve("XK00102001")
        self.fill()

    def call(self, method, path, who=None, body=None, **kwargs):
        return self.who.call(method, path, who, body, **kwargs)

    def serve(self, code: str) -> tuple[dict, str]:
        ticket = ok(self.call("POST", "/tickets", "kiosk", {"matter_id": self.matters[code], "phone": PHONE}), 201)
        ok(self.call("POST", f"/windows/{self.windows[1]}/call-next", "clerk01"))
        case = ok(self.call("POST", f"/windows/{self.windows[1]}/accept", "clerk01"))["case"]
        if case["kind"] == "即办件":
            case = ok(self.call("POST", f"/windows/{self.windows[1]}/finish", "clerk01"))["case"]
        else:   # a 承诺件 is finished at the case desk, after its visit
            case = ok(self.call("POST", f"/cases/{case['id']}/finish", "clerk01"))["case"]
        return case, ticket["ticket"]["query_code"]

    def fill(self) -> None:
        """Every free-text field, through the API, at its longest."""
        rate = lambda code, level, comment: ok(self.call("POST", "/ratings", None, {  # noqa: E731
            "channel": "web", "query_code": code, "level": level, "comment": comment}), 201)["rating"]
        self.rating_a = rate(self.code_a, 1, COMBINED)
        self.rating_b = rate(self.code_b, 2, long_text(500))
        self.appeal_a = ok(self.call("POST", f"/ratings/{self.rating_a['id']}/appeal", "clerk01",
                                     {"reason": COMBINED}), 201)["appeal"]
        ok(self.call("POST", f"/appeals/{self.appeal_a['id']}/decide", "supervisor",
                     {"decision": "upheld", "note": long_text(1000)}))
        self.appeal_b = ok(self.call("POST", f"/ratings/{self.rating_b['id']}/appeal", "clerk01",
                                     {"reason": long_text(1000)}), 201)["appeal"]
        self.follow_up = next(f for f in ok(self.call("GET", "/follow-ups?state=all", "supervisor"))["follow_ups"]
                              if f["rating_id"] == self.rating_b["id"])
        self.notes = {"verify": COMBINED, "fix": long_text(1000), "callback": COMBINED}
        for step, note in self.notes.items():
            ok(self.call("POST", f"/follow-ups/{self.follow_up['id']}/{step}", "supervisor",
                         {"note": note, "fix_rating": "满意" if step == "callback" else None}))
        ticket = ok(self.call("POST", "/tickets", "kiosk", {"matter_id": self.matters["QR00201001"]}), 201)["ticket"]
        self.code_c = ticket["query_code"]
        ok(self.call("POST", f"/windows/{self.windows[3]}/call-next", "clerk03"))
        self.case_c = ok(self.call("POST", f"/windows/{self.windows[3]}/accept", "clerk03"))["case"]
        ok(self.call("POST", f"/cases/{self.case_c['id']}/suspend", "clerk03", {"reason": COMBINED}))
        ok(self.call("POST", f"/cases/{self.case_c['id']}/resume-clock", "clerk03"))
        ok(self.call("POST", f"/cases/{self.case_c['id']}/suspend", "clerk03", {"reason": long_text(300)}))
        self.status = {f"k{i}": text for i, text in enumerate(INJECTIONS)}
        ok(self.call("POST", "/devices/heartbeat", "rater", {"status": self.status}))
        self.batch = ok(self.call("POST", "/slips/batches", "supervisor"), 201)["batch"]["id"]
        for text in INJECTIONS:
            r = self.call("POST", f"/slips/batches/{self.batch}/scan", "supervisor", {"code": text, "level": 5})
            assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_code", r.get_json()
        for i, text in enumerate(INJECTIONS):     # each from its own address: the login guard counts per address
            r = self.c.post(API + "/auth/login", json={"username": text, "password": "x"},
                            environ_base={"REMOTE_ADDR": f"10.9.0.{i + 1}"})
            assert r.status_code == 401, r.get_json()
        self.bad_path = f"/follow-ups/{self.follow_up['id']}/<img src=x onerror=alert(1)>"
        assert self.call("POST", self.bad_path, "supervisor", {"note": "x"}).status_code == 400


@pytest.fixture(scope="module")
def h(tmp_path_factory):
    return Injected(tmp_path_factory.mktemp("hostile_injection"))


def test_every_free_text_is_stored_verbatim(h):
    sup = "supervisor"
    ratings = {r["id"]: r for r in ok(h.call("GET", "/ratings", sup))["ratings"]}
    assert ratings[h.rating_a["id"]]["comment"] == COMBINED
    assert ratings[h.rating_b["id"]]["comment"] == long_text(500)
    assert ok(h.c.get(f"{API}/ratings/web/{h.code_a}"))["rating"]["comment"] == COMBINED
    appeals = {a["id"]: a for a in ok(h.call("GET", "/appeals", sup))["appeals"]}
    assert appeals[h.appeal_a["id"]]["reason"] == COMBINED
    assert appeals[h.appeal_a["id"]]["decision_note"] == long_text(1000)
    assert appeals[h.appeal_b["id"]]["reason"] == long_text(1000)
    steps = ok(h.call("GET", f"/follow-ups/{h.follow_up['id']}", sup))["follow_up"]["steps"]
    assert {s["stage"]: s["note"] for s in steps if s["stage"] in h.notes} == h.notes
    reasons = [x["reason"] for x in ok(h.call("GET", f"/cases/{h.case_c['id']}/suspensions", sup))["suspensions"]]
    assert reasons == [COMBINED, long_text(300)]
    shown = ok(h.c.get(f"{API}/ratings/web/{h.code_c}"))["case"]
    assert shown["suspended"] is True and shown["suspension_reason"] == long_text(300)
    device = next(d for d in ok(h.call("GET", "/devices", "admin"))["devices"] if d["kind"] == "rater")
    assert (device["name"], device["status"]) == (CONFIG["device"], h.status)
    refused = ok(h.call("GET", f"/slips/batches/{h.batch}", sup))["batch"]["refused"]
    assert [x["code"] for x in refused] == INJECTIONS
    audit = ok(h.call("GET", "/supervision/audit?from=2026-03-10&to=2026-03-10&limit=2000", sup))["entries"]
    actors = {e["actor"] for e in audit}
    assert {"staff:" + text for text in INJECTIONS} | {"device:" + CONFIG["device"]} <= actors, actors
    assert API + h.bad_path in {e["target"] for e in audit}
    catalogue = ok(h.c.get(API + "/matters"))
    matter = next(m for m in catalogue["matters"] if m["code"] == "XK00101001")
    assert (catalogue["hall"]["name"], catalogue["hall"]["notice"]) == (CONFIG["hall"], CONFIG["notice"])
    assert (matter["name"], matter["department_name"], matter["fees"], matter["materials"]) == (
        CONFIG["matter"], CONFIG["department"], CONFIG["fees"], INJECTIONS)
    window = next(w for w in catalogue["windows"] if w["number"] == 1)
    assert (window["name"], window["staff_name"]) == (CONFIG["window"], CONFIG["staff"])
    texts = [m["text"] for m in ok(h.call("GET", "/sms/outbox", sup))["messages"]]
    assert any(CONFIG["matter"] in t and CONFIG["hall"] in t for t in texts), texts


def test_one_character_too_many_is_refused_and_stores_nothing(h):
    problems = Problems()
    with unchanged(h.app):
        for method, path, who, body, code in [
            ("POST", f"/ratings/{h.rating_b['id']}/appeal", "supervisor", {"reason": long_text(1001)},
             "field_too_long"),
            ("POST", f"/follow-ups/{h.follow_up['id']}/verify", "supervisor", {"note": long_text(1001)},
             "field_too_long"),
            ("POST", f"/cases/{h.case_c['id']}/suspend", "clerk03", {"reason": long_text(301)}, "field_too_long"),
            ("POST", "/devices/heartbeat", "rater", {"status": {"k": "x" * 65}}, "invalid_status"),
            ("POST", "/ratings", None, {"channel": "web", "query_code": h.code_c, "level": 5,
                                        "comment": long_text(501)}, "field_too_long"),
        ]:
            problems.expect(h.call(method, path, who, body), 400, code, f"{path} one character over")
    problems.check()


SHELLS = ["/", "/caller", "/supervisor", "/supervisor/slips", "/supervisor/report", "/admin/devices", "/kiosk/",
          "/display?token=test-display", "/rater?token=test-rater-01"]


def test_server_rendered_pages_show_every_text_escaped(h):
    from queue_server.supervision.report import standalone_html
    pages = {path: h.c.get(path) for path in SHELLS}
    pages["/r/<link>"] = h.c.get("/r/1.AAAAAAAAAAAA")
    pages["/t/<code>"] = h.c.get(f"/t/{h.code_a}")
    for i, text in enumerate(INJECTIONS):
        if "/" not in text:
            pages[f"/t/ injection {i}"] = h.c.get("/t/" + text)
            pages[f"/r/ injection {i}"] = h.c.get("/r/" + text)
    report = h.call("GET", "/supervision/report?month=2026-03&format=html", "supervisor")
    problems = []
    for path, r in pages.items():
        if r.status_code != 200:
            problems.append(f"{path}: {r.status_code}")
            continue
        parts = PageParts(r.get_data(as_text=True))
        problems += [f"{path}: {d}" for d in parts.dangers()]
    assert not problems, problems
    shown = {path: PageParts(pages[path].get_data(as_text=True)).text for path in
             ("/", "/admin/devices", "/t/<code>", "/r/<link>")}
    for path, text in shown.items():
        assert CONFIG["hall"] in text, f"{path} does not show the hall's name as written"
    assert h.code_a in shown["/t/<code>"]
    for i, text in enumerate(INJECTIONS):
        if "/" not in text:
            assert text[:32] in PageParts(pages[f"/t/ injection {i}"].get_data(as_text=True)).text

    standalone = standalone_html(h.app, next(iter(h.rt.halls)), "2026-03")
    for name, html in [("report via the API", report.get_data(as_text=True)),
                       ("standalone report (hall monthly-report)", standalone)]:
        parts = PageParts(html)
        assert not parts.dangers(), (name, parts.dangers())
        for text in (COMBINED, long_text(500), CONFIG["hall"], CONFIG["department"], CONFIG["window"],
                     CONFIG["staff"], CONFIG["matter"], "申诉成立：" + COMBINED):
            assert text in parts.text, f"{name} does not show {text[:40]!r} as written"
        for text in DANGEROUS:
            assert text not in html, f"{name} has {text!r} unescaped"


def test_hostile_paths_outside_the_api_are_never_a_500(h):
    for path in ["/display/voice/<script>/1.wav", "/display/voice/'; DROP TABLE tickets;--/1.wav",
                 "/display/voice/A001/99999999999999999999.wav", "/t/" + "%E2%80%AE" * 50, "/r/" + "{{7*7}}" * 20,
                 "/kiosk/?hall=<script>", "/supervisor/report?month='; DROP TABLE tickets;--"]:
        r = h.c.get(path)
        assert r.status_code < 500, (path, r.status_code)
        if r.mimetype == "text/html":
            assert not PageParts(r.get_data(as_text=True)).dangers(), path


def test_the_slip_prints_every_config_text_verbatim(h):
    from printers.ticket import ticket_slip
    from printers import P80, build_slip
    from printers.decode import decode, text_lines
    ticket = ok(h.call("POST", "/tickets", "kiosk", {"matter_id": h.matters["XK00101001"]}), 201)["ticket"]
    slip = build_slip(ticket_slip(ticket, ok(h.c.get(API + "/matters"))), P80)
    printed = re.sub(r"\s", "", "".join(line.text for line in text_lines(decode(slip))))
    formats = re.compile("[\u202a-\u202e\u2066-\u2069]")      # direction controls: never sent to a printer
    for text in (CONFIG["hall"], CONFIG["matter"], CONFIG["department"], CONFIG["fees"], CONFIG["window"],
                 CONFIG["staff"], *INJECTIONS):
        assert re.sub(r"\s", "", formats.sub("", text)) in printed, f"the slip does not print {text!r}"
    assert not formats.search(printed)


@pytest.mark.browser
def test_pages_filled_by_javascript_show_the_texts_literally(h, chromium):
    """The supervisor's dashboard (差评整改, 申诉复核, 短信发件箱, 审计日志) and the citizen's
    progress page in Chromium: no dialog opens, and each hostile text reads as written."""
    dialogs: list[str] = []
    with LiveServer(h.app) as live:
        page = chromium.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        try:
            page.goto(live.url + "/supervisor")
            page.fill("input[name=username]", "supervisor")
            page.fill("input[name=password]", "test1234")
            page.click("button[type=submit]")
            page.wait_for_selector("#app:not([hidden])")
            seen = {}
            for tab, ready, prepare in [
                ("followups", "#followups-table tbody tr", lambda: page.select_option("#followups-state", "all")),
                ("appeals", "#appeals-table tbody tr", lambda: page.select_option("#appeals-state", "")),
                ("outbox", "#outbox-table tbody tr", None),
                ("audit", "#audit-table tbody tr", lambda: (page.fill("#audit-from", "2026-03-10"),
                                                             page.fill("#audit-to", "2026-03-10"),
                                                             page.click("#audit-query"))),
            ]:
                page.click(f"[role=tab][data-tab={tab}]")
                if prepare:
                    prepare()
                page.wait_for_selector(ready)
                page.wait_for_timeout(300)
                seen[tab] = page.inner_text(f"#{tab}-table")
            for text in INJECTIONS:
                assert text in seen["followups"], f"差评整改 does not show {text!r}"
                assert text in seen["appeals"], f"申诉复核 does not show {text!r}"
                assert "staff:" + text in seen["audit"], f"审计日志 does not show the login {text!r}"
            assert "device:" + CONFIG["device"] in seen["audit"]
            assert CONFIG["matter"] in seen["outbox"]
            page.goto(f"{live.url}/t/{h.code_c}")
            page.wait_for_selector("#ticket-card:not([hidden])")
            facts = page.inner_text("#ticket-facts")
            assert long_text(300)[:100] in facts.replace("\n", " "), facts
            assert page.evaluate("document.querySelectorAll('img[src=x], script:not([src])').length") == 0
        finally:
            page.close()
    assert dialogs == [], f"a hostile text ran as script: {dialogs}"
