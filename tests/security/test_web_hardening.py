"""Web hardening (issue 8): a Content-Security-Policy without inline script or style on every page,
and the pages still work under it in Chromium; state-changing requests from another site's page
refused; no cookies; HSTS only over https."""
from __future__ import annotations

from kiosk.views import close_all as close_kiosks

import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import DISPLAY, KIOSK, SMALL_HALL, HallDriver
from hallkit.web_security import CSP, HSTS
from live import LiveServer, wait_for
from queue_server.app import create_app
from queue_server.clock import FrozenClock
from security_helpers import error_problem

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "queue_server" / "templates", ROOT / "queue_server" / "ratings" / "templates",
                 ROOT / "queue_server" / "supervision" / "templates", ROOT / "kiosk" / "templates",
                 ROOT / "display" / "templates", ROOT / "hallkit" / "templates"]
STATIC_DIRS = [ROOT / "queue_server" / "static", ROOT / "queue_server" / "ratings" / "static",
               ROOT / "queue_server" / "supervision" / "static", ROOT / "kiosk" / "static",
               ROOT / "display" / "static", ROOT / "hallkit" / "static"]
# Every page a person opens (the walk below must find each of them among the app's routes).
PAGES = {"/", "/caller", "/admin/devices", "/display", "/rater", "/kiosk/", "/r/<token>", "/t/<code>",
         "/supervisor", "/supervisor/slips", "/supervisor/report"}
SAMPLE = {"token": "abc", "code": "ABCD1234", "ticket_number": "A001", "window_number": "1", "filename": "x",
          "fmt": "csv", "step": "verify", "action": "retry", "ref": "1"}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def _fill(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: SAMPLE.get(m[1], "1"), rule)


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith("static"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.rule, method


# ------------------------------------------------------------------------------------ the policy

def test_the_policy_is_the_one_asked_for():
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["script-src"] == "'self'" and "unsafe" not in CSP
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'self'" and directives["form-action"] == "'self'"
    assert directives["connect-src"] == "'self' ws: wss:"


def test_every_page_and_answer_carries_the_policy_and_no_cookie(app, hall):
    """All routes, anonymous and with the admin's token: HTML answers have the CSP; nothing sets a cookie."""
    admin = hall.headers("admin")
    html_routes = set()
    for rule, method in _routes(app):
        for headers in ({}, admin):
            r = hall.c.open(_fill(rule), method=method, headers=headers,
                            json={} if method in STATE_CHANGING else None)
            assert "Set-Cookie" not in r.headers, (method, rule, r.headers.get("Set-Cookie"))
            # (503: the kiosk's backend finds no hall server on the test client's "localhost")
            assert r.status_code < 500 or r.status_code == 503, (method, rule, r.status_code)
            if r.mimetype == "text/html":
                html_routes.add(rule)
                assert r.headers.get("Content-Security-Policy") == CSP, (method, rule)
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["Referrer-Policy"] == "no-referrer"
    assert PAGES <= html_routes, PAGES - html_routes
    # Error pages (a page that does not exist) carry the policy too.
    assert hall.c.get("/no-such-page").headers["Content-Security-Policy"] == CSP


def test_the_kiosk_machines_own_server_has_the_same_defences():
    from kiosk import create_kiosk_app
    client = create_kiosk_app("http://127.0.0.1:9", KIOSK).test_client()
    page = client.get("/kiosk/")
    assert page.status_code == 200 and page.headers["Content-Security-Policy"] == CSP
    r = client.post("/kiosk/api/tickets", json={"matter_id": 1}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "cross_origin"


def test_the_socket_io_handshake_sets_no_cookie(client):
    r = client.get("/socket.io/?EIO=4&transport=polling")
    assert r.status_code == 200, r.get_data(as_text=True)[:200]
    assert "Set-Cookie" not in r.headers


class _InlineFinder(HTMLParser):
    """Inline script, inline style and event-handler attributes in a template."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        line = self.getpos()[0]
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append(f"line {line}: inline <script>")
        if tag == "style":
            self.found.append(f"line {line}: <style> element")
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"line {line}: {name}= on <{tag}>")
        if tag == "a" and (names.get("href") or "").strip().lower().startswith("javascript:"):
            self.found.append(f"line {line}: javascript: link")


def test_no_template_has_inline_script_style_or_handlers():
    templates = [p for d in TEMPLATE_DIRS for p in d.rglob("*.html")]
    assert len(templates) >= 11
    problems = []
    for path in templates:
        finder = _InlineFinder()
        finder.feed(path.read_text(encoding="utf-8"))
        problems += [f"{path.relative_to(ROOT)} {p}" for p in finder.found]
    assert not problems, problems


def test_no_page_script_writes_inline_style_or_handlers_as_markup():
    """innerHTML with style=/on…= would be refused by the policy; eval would be too."""
    markup = re.compile(r"""(innerHTML|outerHTML|insertAdjacentHTML)[^;]*(style\s*=|\son[a-z]+\s*=)""")
    attribute = re.compile(r"""setAttribute\(\s*["'](style|on[a-z]+)["']""")
    evaluating = re.compile(r"""\beval\(|new Function\(|set(Timeout|Interval)\(\s*["']""")
    scripts = [p for d in STATIC_DIRS for p in d.rglob("*.js") if "vendor" not in p.parts]
    assert len(scripts) >= 15
    problems = []
    for path in scripts:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if markup.search(line) or attribute.search(line) or evaluating.search(line):
                problems.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not problems, problems


# ------------------------------------------------------------------------------------ cross-site writes

def test_a_write_from_another_sites_page_is_refused(client, hall):
    login = {"username": "clerk01", "password": "test1234"}
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                    {"Referer": "https://evil.example/form.html"},
                    {"Origin": "http://localhost:8001"},             # same host, another port
                    {"Origin": "http://localhost.evil.example"},
                    {"Origin": "http://evil.example", "Referer": "http://localhost/caller"}):
        r = client.post("/api/v1/auth/login", json=login, headers=headers)
        assert r.status_code == 403, (headers, r.status_code)
        assert r.get_json()["error"]["code"] == "cross_origin" and error_problem(r) is None
    # The kiosk's own small API is a write too (it prints a slip).
    r = client.post("/kiosk/api/tickets", json={"matter_id": 1}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "cross_origin"
    # A window operation with a valid token from another site's page: refused before anything happens.
    hall.issue("XK00101001")
    window = hall.windows[1]["id"]
    r = client.post(f"/api/v1/windows/{window}/call-next", headers={**hall.headers("clerk01"),
                                                                    "Origin": "https://evil.example"})
    assert r.status_code == 403
    assert hall.queue()["waiting"]["total"] == 1


def test_the_halls_own_pages_devices_and_reads_pass(client, hall):
    login = {"username": "clerk01", "password": "test1234"}
    for headers in ({}, {"Origin": "http://localhost"}, {"Origin": "http://LOCALHOST:80"},
                    {"Referer": "http://localhost/caller"},
                    {"Origin": "https://localhost", "X-Forwarded-Proto": "https"}):  # TLS at nginx
        r = client.post("/api/v1/auth/login", json=login, headers=headers)
        assert r.status_code == 200, (headers, r.get_json())
    r = client.post("/api/v1/auth/login", json=login, headers={"Origin": "https://hall.test:8443"},
                    base_url="https://hall.test:8443")   # the base_url host (public_url.py)
    assert r.status_code == 200
    # A device sends no Origin; reads are never refused for their Origin (no CORS: nothing leaks).
    assert hall.issue("XK00101001").status_code == 201
    assert client.get("/api/v1/queue", headers={"Authorization": f"Bearer {DISPLAY}",
                                                "Origin": "https://evil.example"}).status_code == 200
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/matters",
                                                           headers={"Origin": "https://evil.example"}).headers


# ------------------------------------------------------------------------------------ cookies, HSTS

def test_a_cookie_anything_sets_goes_out_secure_httponly_strict(app):
    from flask import make_response, session

    @app.get("/test-session-cookie")
    def with_session():
        session["x"] = 1
        return "ok"

    @app.get("/test-plain-cookie")
    def with_plain():
        response = make_response("ok")
        response.set_cookie("plain", "1", samesite="Lax")
        return response

    client = app.test_client()
    for path in ("/test-session-cookie", "/test-plain-cookie"):
        cookies = client.get(path).headers.getlist("Set-Cookie")
        assert cookies, path
        for cookie in cookies:
            flags = [part.strip().lower() for part in cookie.split(";")[1:]]
            assert "secure" in flags and "httponly" in flags, cookie
            assert "samesite=strict" in flags and "samesite=lax" not in flags, cookie
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Strict"


def test_hsts_only_when_the_request_came_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    assert "Strict-Transport-Security" not in client.get("/", headers={"X-Forwarded-Proto": "http"}).headers
    assert client.get("/", headers={"X-Forwarded-Proto": "https"}).headers["Strict-Transport-Security"] == HSTS
    assert client.get("/api/v1/matters", base_url="https://localhost").headers["Strict-Transport-Security"] == HSTS


def test_nginx_passes_on_the_scheme_and_the_host_with_its_port():
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    locations = [block for block in re.findall(r"location [^{]+\{([^}]*)\}", conf) if "proxy_pass" in block]
    assert len(locations) == 2
    for block in locations:
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in block
        assert "proxy_set_header Host $http_host;" in block


# ------------------------------------------------------------------------------------ in the browser

WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  {directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile, line: e.lineNumber}));
"""


class Walk:
    """One Chromium context that records policy violations, script errors and CSP console lines."""

    def __init__(self, chromium, base: str):
        self.base = base
        self.context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN",
                                            timezone_id="Asia/Shanghai")
        self.context.add_init_script(WATCH)
        self.problems: list[str] = []
        self.pages = []

    def open(self, path: str):
        page = self.context.new_page()
        page.set_default_timeout(8000)
        page.on("pageerror", lambda exc, p=path: self.problems.append(f"{p}: script error {exc}"))
        page.on("console", lambda msg, p=path: self.problems.append(f"{p}: console {msg.text}")
                if "Content Security Policy" in msg.text else None)
        page.goto(self.base + path)
        self.pages.append((path, page))
        return page

    def violations(self, page) -> list:
        return page.evaluate("window.__csp")

    def check(self, page, path: str) -> None:
        self.problems += [f"{path}: {v}" for v in self.violations(page)]

    def close(self) -> list[str]:
        for path, page in self.pages:
            if not page.is_closed():
                self.check(page, path)
        self.context.close()
        return self.problems


def _login(page, username: str, selector_user="input[name=username]", selector_pass="input[name=password]"):
    page.fill(selector_user, username)
    page.fill(selector_pass, "test1234")
    page.press(selector_pass, "Enter")


@pytest.fixture
def live_hall(tmp_path, sqlite_db):
    clock = FrozenClock(datetime(2026, 3, 10, 10, 0))   # a Tuesday morning: the hall is open
    app = create_app([SMALL_HALL], sqlite_db(tmp_path / "hall.db"), secret=b"csp", clock=clock)
    app.config.update(KIOSK_TOKEN=KIOSK, KIOSK_PRINTER="preview:")
    with LiveServer(app) as server:
        yield app, server.url, clock
    close_kiosks(app)


@pytest.mark.browser
def test_the_watch_sees_a_violation_when_there_is_one(chromium, live_hall):
    """The walk below can fail: an inline style and an inline script are caught."""
    _app, url, _clock = live_hall
    walk = Walk(chromium, url)
    page = walk.open("/")
    page.evaluate("""document.body.insertAdjacentHTML("beforeend", '<b style="color:red">x</b>');
                     const s = document.createElement("script"); s.textContent = "window.__ran = 1";
                     document.body.append(s);""")
    wait_for(lambda: len(walk.violations(page)) >= 2)
    assert page.evaluate("window.__ran") is None
    directives = {v["directive"] for v in walk.violations(page)}
    assert any(d.startswith("style-src") for d in directives) and any(d.startswith("script-src") for d in directives)
    walk.close()


@pytest.mark.browser
def test_every_page_works_under_the_policy_without_a_violation(chromium, live_hall):
    from playwright.sync_api import expect
    app, url, clock = live_hall
    hall = HallDriver(app.test_client())
    walk = Walk(chromium, url)
    try:
        page = walk.open("/")
        expect(page.locator(".parts a").first).to_be_visible()

        # The kiosk: a ticket and its slip picture.
        # The kiosk: paired once (its token as Bearer, as an installer would), then a ticket and its slip picture.
        assert walk.context.request.post(url + "/api/v1/devices/pair", headers={"Authorization": f"Bearer {KIOSK}"}).ok
        kiosk = walk.open("/kiosk/")
        kiosk.click(".tile:has-text('人力资源和社会保障局')")
        kiosk.click("#matters .card:has-text('社会保障卡申领')")
        kiosk.click("#detail-take")
        kiosk.click("#identity-skip")
        kiosk.click("#priority-none")
        expect(kiosk.locator("#ticket-number")).to_have_text(re.compile(r"^C\d{3}$"))
        kiosk.wait_for_function("() => document.querySelector('#slip-img').naturalWidth > 300")

        # The hall TV (with its voice) and window 1's rating tablet stay open while the clerk works.
        tv = walk.open(f"/display?token={DISPLAY}")
        tv.wait_for_function("() => window.hallTV && hallTV.stream.stats.snapshots > 0")
        rater = walk.open("/rater?token=test-rater-01")
        rater.wait_for_function("() => window.hallRater && hallRater.stream.stats.snapshots > 0")

        hall.issue("XK00102001", phone="13812345678")       # a 即办件: served and finished at the window
        caller = walk.open("/caller")
        _login(caller, "clerk01", "#login-username", "#login-password")
        expect(caller.locator("#main-view")).to_be_visible()
        caller.click("#btn-call")
        expect(caller.locator("#ticket-number")).to_have_text("A001")
        expect(tv.locator("#call-ticket")).to_have_text("A001")
        tv.wait_for_function("() => hallTV.voice.log.some((i) => i.ticket === 'A001')", timeout=20000)
        assert tv.evaluate("hallTV.voice.log.find((i) => i.ticket === 'A001').how") == "ended"
        caller.click("#btn-transfer")                       # the transfer dialog, then cancelled
        expect(caller.locator("#transfer-dialog")).to_be_visible()
        caller.click("#transfer-cancel")
        caller.click("#btn-accept")
        expect(caller.locator("#case-box")).to_be_visible()
        clock.advance(minutes=5)
        caller.click("#btn-finish")
        expect(rater.locator("#rate-view")).to_be_visible()
        rater.locator(".level").first.click()
        expect(rater.locator("#thanks-view")).to_be_visible()

        # The admin's devices page: the list, and a token rotated (shown once in a dialog).
        admin = walk.open("/admin/devices")
        _login(admin, "admin", "#login-username", "#login-password")
        admin.on("dialog", lambda d: d.accept())
        admin.locator("#device-rows tr", has_text="1号窗口屏").locator("button", has_text="更换令牌").click()
        expect(admin.locator("#token-dialog")).to_be_visible()
        admin.click("#token-close")

        # The supervisor's dashboard, every tab; the slip box; the monthly report.
        sup = walk.open("/supervisor")
        _login(sup, "supervisor")
        sup.wait_for_selector("#live-cards .card")
        for tab in ("stats", "warnings", "followups", "appeals", "outbox", "audit", "live"):
            sup.click(f"[data-tab={tab}]")
            sup.wait_for_timeout(150)
        sup.click("[data-tab=stats]")
        sup.wait_for_selector("#chart-channels svg, #chart-channels p")
        sup.click("[data-tab=audit]")
        sup.click("#audit-query")
        sup.wait_for_selector("#audit-table tbody tr td")
        slips = walk.open("/supervisor/slips")              # a new tab: its own sessionStorage, its own login
        _login(slips, "supervisor")
        slips.click("#start")
        slips.fill("#code", "88888888")
        slips.press("#code", "Enter")
        slips.wait_for_function("() => document.getElementById('refused-count').textContent === '1'")
        slips.click("#finish")
        slips.wait_for_selector("#result-view:not([hidden])")
        report = walk.open("/supervisor/report?month=2026-02")
        _login(report, "supervisor")
        report.wait_for_selector(".sheet h1")
        desk = walk.open("/cases")                          # the case desk, a case opened
        _login(desk, "clerk01")
        desk.wait_for_selector("#app:not([hidden])")
        desk.select_option("#f-status", "all")               # the morning's case is finished already
        desk.locator("#cases tbody tr").first.click()
        desk.wait_for_selector("#detail h2")

        # The citizen's pages: the QR progress page with its rating form, and the SMS link.
        with app.extensions["hall"].read() as s:
            from queue_server.models import Ticket
            from queue_server.ratings.models import SmsMessage
            code = s.scalar(select(Ticket.query_code).where(Ticket.number == "A001"))
            text = s.scalars(select(SmsMessage)).first().text
        progress = walk.open(f"/t/{code}")
        progress.wait_for_selector("#ticket-card:not([hidden])")
        link = re.search(r"/r/(\S+)", text).group(1)
        sms = walk.open(f"/r/{link}")
        sms.wait_for_selector(".done")  # 一事一评: A001 was rated on window 1's device above
        assert "评价器" in sms.inner_text("#rating-box")
        walk.open("/r/not-a-valid-link").wait_for_selector(".notice.error")
    finally:
        problems = walk.close()
    assert not problems, problems
