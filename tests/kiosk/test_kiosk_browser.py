"""The kiosk page in Debian's Chromium against a real hall server, at 1080×1920 and 1920×1080.

The hall's clock is frozen on Tuesday 2026-03-10 10:00; the kiosk prints to a fake network printer
that answers DLE EOT and keeps the bytes, which are decoded to check the slip.
"""
from __future__ import annotations

from kiosk.views import backends as kiosk_backends, close_all as close_kiosks

import time
from datetime import datetime

import pytest
from playwright.sync_api import expect

from kiosk_fixtures import browser  # noqa: F401  (fixture)
from kiosk_helpers import (ARTIFACTS, DISPLAY, ENTERPRISE, ID_A, INVOICE, KIOSK, MIGRATION, PASSWORD,
                           SOCIAL_CARD, FakePrinter, Server, rules_hall)
from client import call
from conftest import copy_migrated_sqlite
from live import wait_for
from queue_server.app import create_app
from queue_server.clock import FrozenClock

pytestmark = pytest.mark.browser

PORTRAIT, LANDSCAPE = (1080, 1920), (1920, 1080)
SIZES = [pytest.param(PORTRAIT, id="portrait"), pytest.param(LANDSCAPE, id="landscape")]


class KioskHall:
    """A hall server with the kiosk mounted in it (as in `hall demo`), and the test's API calls."""

    def __init__(self, app, server: Server, clock: FrozenClock, printer: FakePrinter):
        self.app, self.server, self.clock, self.printer = app, server, clock, printer
        self.url = server.url
        catalogue = self.api("GET", "/api/v1/matters")[1]
        self.matters = {m["code"]: m for m in catalogue["matters"]}
        self._admin = None

    def api(self, method, path, body=None, token=None):
        return call(self.url + path, method, body, token)

    def admin(self) -> str:
        if self._admin is None:
            status, body = self.api("POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORD})
            assert status == 200, body
            self._admin = body["token"]
        return self._admin

    def issue(self, code, **extra) -> dict:
        status, body = self.api("POST", "/api/v1/tickets", {"matter_id": self.matters[code]["id"], **extra}, KIOSK)
        assert status == 201, body
        return body["ticket"]

    def ticket(self, ticket_id) -> dict:
        return self.api("GET", f"/api/v1/tickets/{ticket_id}", token=DISPLAY)[1]["ticket"]

    def waiting(self) -> int:
        return self.api("GET", "/api/v1/queue", token=DISPLAY)[1]["waiting"]["total"]


@pytest.fixture
def printer():
    p = FakePrinter()
    yield p
    p.close()


def _hall_app(tmp_path, clock, printer, *, staffed: bool = True):
    """`staffed`: each window's clerk signed in on it (staffing.py), as on a working morning."""
    app = create_app([rules_hall()], copy_migrated_sqlite(tmp_path / "hall.db"), secret=b"kiosk", clock=clock)
    app.config.update(KIOSK_TOKEN=KIOSK, KIOSK_PRINTER=printer.url)
    if staffed:
        from queue_server.staffing import sign_in_assigned
        for hall_id in app.extensions["hall"].halls:
            sign_in_assigned(app.extensions["hall"], hall_id, actor="test:morning")
    return app


@pytest.fixture
def kiosk_hall(tmp_path, printer):
    clock = FrozenClock(datetime(2026, 3, 10, 10, 0))
    app = _hall_app(tmp_path, clock, printer)
    server = Server(app)
    yield KioskHall(app, server, clock, printer)
    server.stop()
    close_kiosks(app)


@pytest.fixture
def open_kiosk(browser):
    contexts, errors = [], []

    def open_(url: str, size=PORTRAIT):
        context = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN",
                                      timezone_id="Asia/Shanghai", has_touch=True)
        contexts.append(context)
        # Paired as an installer would pair it (the kiosk's token as Bearer): the browser gets its cookie.
        origin = "/".join(url.split("/")[:3])
        for token in (KIOSK, "demo-kiosk"):
            if context.request.post(origin + "/api/v1/devices/pair", headers={"Authorization": f"Bearer {token}"}).ok:
                break
        page = context.new_page()
        page.set_default_timeout(6000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        expect(page.locator("#departments .tile").first).to_be_visible()
        return page

    yield open_
    for c in contexts:
        c.close()
    assert not errors, f"JavaScript errors on the kiosk page: {errors}"


def shot(page, name: str) -> None:
    size = page.viewport_size
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(120)  # let the layout settle
    page.screenshot(path=str(ARTIFACTS / f"{size['width']}x{size['height']}-{name}.png"))


def check_layout(page) -> None:
    """Nothing sticks out sideways, and every visible control is a finger's size (≥ 64 px)."""
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"the page is {wide}px wider than the screen"
    small = page.evaluate("""() => Array.from(document.querySelectorAll('button, input'))
        .filter((el) => el.offsetParent !== null)
        .map((el) => [el.id || el.dataset.key || el.textContent.trim().slice(0, 12), el.getBoundingClientRect()])
        .filter(([, r]) => r.height < 64 || r.width < 64)
        .map(([name, r]) => `${name}: ${Math.round(r.width)}x${Math.round(r.height)}`)""")
    assert not small, f"touch targets smaller than 64 px: {small}"


def to_priority(page, department="人力资源和社会保障局", matter="社会保障卡申领"):
    page.click(f".tile:has-text('{department}')")
    page.click(f"#matters .card:has-text('{matter}')")
    page.click("#detail-take")
    page.click("#identity-skip")
    expect(page.locator("#screen-priority")).to_be_visible()


@pytest.mark.parametrize("size", SIZES)
def test_tap_through_to_a_ticket_and_its_printed_slip(kiosk_hall, open_kiosk, size):
    page = open_kiosk(kiosk_hall.url + "/kiosk/", size)
    expect(page.locator("#hall-name")).to_have_text("测试市政务服务中心")
    expect(page.locator(".tile")).to_have_count(4)
    check_layout(page)
    shot(page, "1-home")

    page.click(".tile:has-text('人力资源和社会保障局')")
    expect(page.locator("#department-name")).to_have_text("人力资源和社会保障局")
    card = page.locator("#matters .card:has-text('社会保障卡申领')")
    expect(card.locator(".wait")).to_have_text("无需等候")
    check_layout(page)
    shot(page, "2-matters")

    card.click()
    expect(page.locator("#detail-materials li")).to_have_text(["居民身份证（原件）"])
    expect(page.locator("#detail-windows")).to_have_text("5号、6号、8号、9号窗口")
    expect(page.locator("#detail-kind")).to_have_text("即办件")
    check_layout(page)
    shot(page, "3-detail")

    page.click("#detail-take")
    expect(page.locator("#id-number")).to_be_focused()
    page.keyboard.type(ID_A)               # the ID card reader types like a keyboard …
    page.keyboard.press("Enter")           # … and ends with Enter
    expect(page.locator("#phone")).to_be_focused()
    for digit in "13812345678":
        page.click(f"#screen-identity .keypad button[data-key='{digit}']")
    expect(page.locator("#phone")).to_have_value("13812345678")
    check_layout(page)
    shot(page, "4-identity")

    page.click("#identity-next")
    expect(page.locator("#screen-priority")).to_be_visible()
    check_layout(page)
    shot(page, "5-priority")

    page.click("[data-priority='elderly']")
    expect(page.locator("#ticket-number")).to_have_text("C001")
    expect(page.locator("#ticket-windows")).to_have_text("5号、6号、8号、9号窗口")
    expect(page.locator("#ticket-ahead")).to_have_text("前面没有人等候，请留意叫号")
    expect(page.locator("#print-note")).to_have_text("请取走您的告知单")
    page.wait_for_function("() => document.querySelector('#slip-img').naturalWidth > 500")
    expect(page.locator("#countdown")).to_contain_text("秒后返回首页")
    check_layout(page)
    shot(page, "6-ticket")

    ticket_id = page.evaluate("window.kiosk.state.ticket.id")
    ticket = kiosk_hall.ticket(ticket_id)
    assert ticket["number"] == "C001" and ticket["priority"] == "elderly"
    assert ticket["id_number"] == "110***********002X" and ticket["phone"] == "138****5678"

    slips = kiosk_hall.printer.slips()
    assert len(slips) == 1
    lines = slips[0]
    assert "C001" in lines and "【优先·老年人】" in lines
    assert "请到：5号窗口 社保窗口（经办人：陈静 工号T0005）" in lines
    assert "1. 居民身份证（原件）" in lines
    assert "前面还有 0 人等候" in lines
    # The slip's query code: the kiosk has it from its issuing answer (a read by id does not carry it).
    assert "query_code" not in ticket
    code = page.evaluate("window.kiosk.state.ticket.query_code")
    assert code and any(line.startswith("查询码：" + code) for line in lines)

    page.click("#ticket-done")
    expect(page.locator("#screen-home")).to_be_visible()


def test_search_by_pinyin_initials_and_chinese(kiosk_hall, open_kiosk):
    page = open_kiosk(kiosk_hall.url + "/kiosk/", PORTRAIT)
    page.click("#search")
    expect(page.locator("#letters")).to_be_visible()
    for letter in "SBK":
        page.click(f"#letters button[data-key='{letter}']")
    expect(page.locator("#search")).to_have_value("sbk")
    expect(page.locator("#search-results .card strong")).to_have_text(["社会保障卡申领"])
    check_layout(page)
    shot(page, "7-search")
    page.click("#search-clear")
    page.fill("#search", "hkqy")
    expect(page.locator("#search-results .card strong")).to_have_text(["户口迁移"])
    page.fill("#search", "发票")
    expect(page.locator("#search-results .card strong")).to_have_text(["发票代开"])
    page.fill("#search", "zzzz")
    expect(page.locator("#search-results")).to_contain_text("没有找到相关事项")
    page.fill("#search", "qysl")
    page.click("#search-results .card:has-text('企业设立登记')")
    expect(page.locator("#detail-name")).to_have_text("企业设立登记")
    expect(page.locator("#detail-limit")).to_have_text("3个工作日")


def test_appointment_check_in_by_code_and_refused_when_early(kiosk_hall, open_kiosk):
    h = kiosk_hall
    status, body = h.api("POST", "/api/v1/appointments", {"matter_id": h.matters[ENTERPRISE]["id"],
                         "id_number": ID_A, "slot_start": "2026-03-11T10:00"}, h.admin())
    assert status == 201, body
    code = body["appointment"]["code"]
    status, later = h.api("POST", "/api/v1/appointments", {"matter_id": h.matters[INVOICE]["id"],
                          "id_number": "110101199003074477", "slot_start": "2026-03-11T14:00"}, h.admin())
    assert status == 201, later
    h.clock.set(datetime(2026, 3, 11, 9, 40))

    page = open_kiosk(h.url + "/kiosk/", LANDSCAPE)
    page.click("#go-checkin")
    expect(page.locator("#checkin-input")).to_be_focused()
    for digit in code:
        page.click(f"#screen-checkin .keypad button[data-key='{digit}']")
    check_layout(page)
    shot(page, "8-checkin")
    page.click("#checkin-submit")
    expect(page.locator("#ticket-number")).to_have_text("A001")
    expect(page.locator("#ticket-label")).to_have_text("预约签到成功 · 10:00–10:30")
    expect(page.locator("#ticket-matter")).to_have_text("企业设立登记（预约）")
    ticket = h.ticket(page.evaluate("window.kiosk.state.ticket.id"))
    assert ticket["priority"] == "appointment" and ticket["appointment_code"] == code
    wait_for(lambda: h.printer.slips())
    assert "【预约】" in "".join(h.printer.slips()[0])

    page.click("#ticket-done")
    page.click("#go-checkin")
    page.keyboard.type("110101199003074477")
    page.click("#checkin-submit")
    expect(page.locator("#message-text")).to_have_text("您预约的是今天14:00–14:30，请于13:30后再来签到取号")
    shot(page, "9-checkin-refused")
    page.click("#message-ok")
    assert h.waiting() == 1


def test_refusals_are_shown_in_chinese(kiosk_hall, open_kiosk):
    h = kiosk_hall
    for _ in range(3):
        h.issue(SOCIAL_CARD)
    for code in (ENTERPRISE, MIGRATION, "JF00302001"):
        h.issue(code, id_number=ID_A)
    page = open_kiosk(h.url + "/kiosk/", PORTRAIT)

    page.click(".tile:has-text('人力资源和社会保障局')")
    card = page.locator("#matters .card:has-text('社会保障卡申领')")
    expect(card.locator(".wait")).to_have_text("今日号已取完")
    card.click()
    expect(page.locator("#detail-closed")).to_have_text(
        "今日社会保障卡申领的号已取完（每日限3个），请明天8:30后再来，或提前网上预约")
    expect(page.locator("#detail-take")).to_be_disabled()
    shot(page, "10-quota-full")

    page.click("#screen-detail [data-back]")
    page.click("#screen-matters [data-back]")
    page.click(".tile:has-text('税务局')")
    page.click("#matters .card:has-text('发票代开')")
    page.click("#detail-take")
    page.keyboard.type("110105194912310021")  # a wrong check digit
    page.click("#identity-next")
    expect(page.locator("#id-error")).to_have_text("身份证号码不正确，请核对（18位，最后一位可能是X）")
    page.fill("#id-number", ID_A)
    page.click("#identity-next")
    page.click("#priority-none")
    expect(page.locator("#message-text")).to_have_text(
        "同一身份证号码每天最多取3个号，您今天已取3个；如需办理更多事项，请到服务台咨询")
    shot(page, "11-id-limit")
    page.click("#message-ok")
    assert h.waiting() == 6

    h.clock.set(datetime(2026, 3, 10, 16, 45))
    [b.__setattr__("_availability", None) for b in kiosk_backends(h.app)]  # the backend keeps it 3 s
    page.reload()
    page.click(".tile:has-text('公安局')")
    page.click("#matters .card:has-text('户口迁移')")
    expect(page.locator("#detail-closed")).to_have_text("今日户口迁移已停止取号（16:30后），请明天8:30后再来")

    h.clock.set(datetime(2026, 3, 10, 17, 40))
    [b.__setattr__("_availability", None) for b in kiosk_backends(h.app)]
    page.reload()
    expect(page.locator("#banner")).to_have_text(
        "今日大厅已停止取号（17:30下班），请明天8:30后再来（办公时间 8:30–17:30）")
    shot(page, "12-hall-closed")
    # A kiosk that still shows an open matter (or a stale page) is refused by the server all the same.
    status, refused = call(h.url + "/kiosk/api/tickets", "POST", {"matter_id": h.matters[INVOICE]["id"]}, KIOSK)
    assert status == 403 and refused["error"]["code"] == "hall_closed"


def test_double_tap_and_a_retried_request_give_one_ticket(kiosk_hall, open_kiosk):
    h = kiosk_hall
    page = open_kiosk(h.url + "/kiosk/", LANDSCAPE)
    to_priority(page)
    page.dblclick("#priority-none")
    expect(page.locator("#ticket-number")).to_have_text("C001")
    page.locator("#priority-none").dispatch_event("click")  # a late tap on a hidden button does nothing
    assert h.waiting() == 1

    # Two requests with one request id at the same moment (a retry racing the first answer).
    numbers = page.evaluate("""async () => {
        const body = JSON.stringify({matter_id: %d, request_id: "K-0123456789abcdef"});
        const send = () => fetch("/kiosk/api/tickets", {method: "POST", headers: {"Content-Type": "application/json"}, body})
            .then((r) => r.json());
        const [a, b] = await Promise.all([send(), send()]);
        return [a.ticket.number, b.ticket.number];
    }""" % h.matters[INVOICE]["id"])
    assert numbers == ["E001", "E001"]
    assert h.waiting() == 2
    wait_for(lambda: len(h.printer.slips()) == 2)
    time.sleep(0.5)
    assert [s[s.index("统一受理告知单") + 1] for s in h.printer.slips()] == ["C001", "E001"]


def test_paper_out_the_ticket_stands_and_the_screen_says_where_to_get_the_slip(kiosk_hall, open_kiosk, monkeypatch):
    import kiosk.printing
    monkeypatch.setattr(kiosk.printing, "PROBE_EVERY", 0.5)
    monkeypatch.setattr(kiosk.printing, "GIVE_UP_AFTER", 2.0)
    h = kiosk_hall
    h.printer.paper = "out"
    page = open_kiosk(h.url + "/kiosk/", LANDSCAPE)
    to_priority(page, "公安局", "户口迁移")
    page.click("#priority-none")
    expect(page.locator("#ticket-number")).to_have_text("B001")
    # While the slip still waits it may print: nothing says "failed" yet …
    expect(page.locator("#print-note")).to_have_text("打印机暂时不能打印，正在等待，请稍候…")
    # … until the queue gives up; then it never prints by itself, the citizen goes to the desk.
    expect(page.locator("#print-note")).to_have_text("打印机缺纸，请凭号码到服务台补打告知单")
    expect(page.locator("#ticket-reprint")).to_be_hidden()
    shot(page, "13-paper-out")
    ticket_id = page.evaluate("window.kiosk.state.ticket.id")
    assert h.ticket(ticket_id)["status"] == "waiting"
    assert not h.printer.slips()

    expect(page.locator("#banner")).to_have_text("打印机缺纸：仍可取号，告知单请到服务台补打")
    status, _ = h.api("GET", "/api/v1/devices", token=h.admin())
    if status == 200:  # the device registry (another area) shows what the kiosk reported
        def reported():
            devices = h.api("GET", "/api/v1/devices", token=h.admin())[1]["devices"]
            return next(d for d in devices if d.get("name") == "测试取号机").get("status", {}).get("printer")
        wait_for(lambda: reported() == "paper_out")
    h.printer.paper = "ok"
    expect(page.locator("#banner")).to_be_hidden(timeout=10000)
    # Paper is back while the citizen still looks: the failed slip did not come out late, and
    # the kiosk offers to print it again, once, marked 补打.
    expect(page.locator("#ticket-reprint")).to_be_visible(timeout=10000)
    expect(page.locator("#ticket-reprint")).to_have_text("重新打印")
    assert not h.printer.slips()
    page.click("#ticket-reprint")
    wait_for(lambda: len(h.printer.slips()) == 1)
    assert "【补打】" in h.printer.slips()[0] and "B001" in h.printer.slips()[0]
    expect(page.locator("#print-note")).to_have_text("请取走您的告知单")
    expect(page.locator("#ticket-reprint")).to_be_hidden()
    status, again = call(h.url + f"/kiosk/api/reprint/{ticket_id}", "POST", {}, KIOSK)
    assert status == 409 and again["error"]["message"] == "告知单已补打过一次，请到服务台补打"


def test_a_printed_slip_is_not_reprinted_at_the_kiosk(kiosk_hall):
    h = kiosk_hall
    status, body = call(h.url + "/kiosk/api/tickets", "POST", {"matter_id": h.matters[SOCIAL_CARD]["id"]}, KIOSK)
    assert status == 201, body
    ticket_id = body["ticket"]["id"]
    wait_for(lambda: call(h.url + f"/kiosk/api/print/{ticket_id}", token=KIOSK)[1]["state"] == "printed")
    status, refused = call(h.url + f"/kiosk/api/reprint/{ticket_id}", "POST", {}, KIOSK)
    assert status == 409 and refused["error"]["code"] == "slip_not_failed"
    assert len(h.printer.slips()) == 1


def test_slip_sent_but_unconfirmed_asks_the_citizen_to_look(kiosk_hall, open_kiosk, monkeypatch):
    """The printer took the whole slip and then stopped answering (a reset): the slip is
    most likely in the tray. The screen says to look; a reprint only when asked, once."""
    import kiosk.printing
    monkeypatch.setattr(kiosk.printing, "PROBE_EVERY", 0.5)
    h = kiosk_hall
    h.printer.silent_after_slip = True
    page = open_kiosk(h.url + "/kiosk/", PORTRAIT)
    to_priority(page, "公安局", "户口迁移")
    page.click("#priority-none")
    expect(page.locator("#print-note")).to_have_text("告知单已送到打印机，请查看出纸口是否已打出")
    assert len(h.printer.slips()) == 1
    h.printer.silent_after_slip = False      # the printer is up again …
    expect(page.locator("#ticket-reprint")).to_be_visible(timeout=10000)
    expect(page.locator("#ticket-reprint")).to_have_text("没有打出，补打")
    shot(page, "14-slip-unconfirmed")
    page.click("#ticket-reprint")            # … and the citizen says it did not come out
    wait_for(lambda: len(h.printer.slips()) == 2)
    assert "【补打】" in h.printer.slips()[1]
    expect(page.locator("#print-note")).to_have_text("请取走您的告知单")
    expect(page.locator("#ticket-reprint")).to_be_hidden()


def test_server_down_shows_paused_and_comes_back_by_itself(tmp_path, sqlite_db, printer, open_kiosk):
    """The kiosk as its own machine: its backend reaches the hall server over the network."""
    from kiosk import create_kiosk_app
    clock = FrozenClock(datetime(2026, 3, 10, 10, 0))
    hall = Server(create_app([rules_hall()], sqlite_db(tmp_path / "hall.db"), secret=b"k", clock=clock))
    kiosk_app = create_kiosk_app(hall.url, KIOSK, printer.url)
    kiosk_server = Server(kiosk_app)
    try:
        page = open_kiosk(kiosk_server.url + "/kiosk/", PORTRAIT)
        expect(page.locator("#paused")).to_be_hidden()
        hall.stop()
        expect(page.locator("#paused")).to_be_visible(timeout=8000)
        expect(page.locator("#paused h2")).to_have_text("暂停服务")
        shot(page, "14-paused")
        hall.start()
        expect(page.locator("#paused")).to_be_hidden(timeout=8000)
        to_priority(page, "公安局", "户口迁移")
        page.click("#priority-none")
        expect(page.locator("#ticket-number")).to_have_text("B001")
    finally:
        hall.stop()
        kiosk_server.stop()
        kiosk_app.extensions["kiosk"].close()


@pytest.mark.parametrize("size", SIZES)
def test_every_screen_fits_in_elder_contrast_and_english(kiosk_hall, open_kiosk, size):
    """Screenshots of the remaining screens and modes; nothing overflows, targets stay large."""
    page = open_kiosk(kiosk_hall.url + "/kiosk/", size)
    page.click("#btn-elder")
    expect(page.locator("html")).to_have_class("elder")
    check_layout(page)
    shot(page, "20-elder-home")
    to_priority(page)
    check_layout(page)
    shot(page, "21-elder-priority")
    page.click("[data-priority='pregnant']")
    expect(page.locator("#ticket-number")).to_have_text("C001")
    page.wait_for_function("() => document.querySelector('#slip-img').naturalWidth > 500")
    check_layout(page)
    shot(page, "22-elder-ticket")
    page.click("#ticket-done")  # a new citizen: the modes reset
    expect(page.locator("html")).not_to_have_class("elder")

    page.click("#btn-contrast")
    check_layout(page)
    shot(page, "23-contrast-home")
    page.click(".tile:has-text('市场监督管理局')")
    page.click("#matters .card:has-text('企业设立登记')")
    check_layout(page)
    shot(page, "24-contrast-detail")
    page.click("#screen-detail [data-back]")
    page.click("#screen-matters [data-back]")
    page.click("#btn-contrast")

    page.click("#btn-lang")
    expect(page.locator("#home-title")).to_have_text("Choose a department")
    expect(page.locator("#btn-lang")).to_have_text("中文")
    check_layout(page)
    shot(page, "25-english-home")
    page.click(".tile:has-text('公安局')")
    page.click("#matters .card:has-text('户口迁移')")
    expect(page.locator("#detail-take")).to_have_text("Take a ticket")
    check_layout(page)
    shot(page, "26-english-detail")


def test_idle_screen_returns_home_with_a_visible_countdown(kiosk_hall, open_kiosk):
    page = open_kiosk(kiosk_hall.url + "/kiosk/", PORTRAIT)
    page.click(".tile:has-text('税务局')")
    expect(page.locator("#countdown")).to_have_text("30 秒后返回首页")
    page.evaluate("window.kiosk.state.idle = 2")
    expect(page.locator("#screen-home")).to_be_visible(timeout=4000)
    expect(page.locator("#countdown")).to_be_hidden()


def test_no_window_open_for_a_matter_is_said_and_the_number_still_given(tmp_path, printer, open_kiosk):
    """Before anyone signs in (staffing.py) every window is closed: the kiosk says so on the matter,
    still gives a number (called when a window opens), and the slip names no window. When window 5's
    clerk signs in, the next slip names window 5 alone."""
    clock = FrozenClock(datetime(2026, 3, 10, 10, 0))
    app = _hall_app(tmp_path, clock, printer, staffed=False)
    server = Server(app)
    h = KioskHall(app, server, clock, printer)
    try:
        page = open_kiosk(h.url + "/kiosk/", PORTRAIT)
        page.click(".tile:has-text('人力资源和社会保障局')")
        card = page.locator("#matters .card:has-text('社会保障卡申领')")
        expect(card.locator(".wait")).to_have_text("暂无窗口开放")
        card.click()
        expect(page.locator("#detail-closed")).to_be_visible()
        expect(page.locator("#detail-closed")).to_contain_text("该事项暂无窗口开放，请咨询导办台")
        expect(page.locator("#detail-take")).to_be_enabled()
        shot(page, "15-no-window-open")
        page.click("#detail-take")
        page.click("#identity-skip")
        page.click("#priority-none")
        expect(page.locator("#ticket-number")).to_have_text("C001")
        expect(page.locator("#ticket-windows")).to_have_text("暂无窗口开放，请咨询导办台")
        shot(page, "16-ticket-no-window")
        wait_for(lambda: len(h.printer.slips()) == 1)
        assert "请到：服务台咨询" in h.printer.slips()[0]

        status, body = h.api("POST", "/api/v1/auth/login", {"username": "clerk05", "password": PASSWORD})
        assert status == 200
        status, _ = h.api("POST", f"/api/v1/windows/{_window_id(h, 5)}/sign-in", {}, body["token"])
        assert status == 200
        for backend in kiosk_backends(app):
            backend._availability = None               # the backend keeps it 3 s
        page.click("#ticket-done")
        page.reload()
        page.click(".tile:has-text('人力资源和社会保障局')")
        card = page.locator("#matters .card:has-text('社会保障卡申领')")
        expect(card.locator(".wait")).to_contain_text("前面 1 人")
        card.click()
        expect(page.locator("#detail-closed")).to_be_hidden()
        page.click("#detail-take")
        page.click("#identity-skip")
        page.click("#priority-none")
        expect(page.locator("#ticket-number")).to_have_text("C002")
        expect(page.locator("#ticket-windows")).to_have_text("5号窗口")
    finally:
        server.stop()
        if "kiosk" in app.extensions:
            app.extensions["kiosk"].close()


def _window_id(h: KioskHall, number: int) -> int:
    catalogue = h.api("GET", "/api/v1/matters")[1]
    return next(w["id"] for w in catalogue["windows"] if w["number"] == number)


def test_elderly_priority_with_a_young_id_number_is_refused_plainly(kiosk_hall, open_kiosk):
    page = open_kiosk(kiosk_hall.url + "/kiosk/", PORTRAIT)
    page.click(".tile:has-text('公安局')")
    page.click("#matters .card:has-text('户口迁移')")
    page.click("#detail-take")
    page.keyboard.type("110101199003074477")   # born 1990-03-07: 36 on the hall's today
    page.keyboard.press("Enter")
    page.click("#identity-next")
    page.click("[data-priority='elderly']")
    expect(page.locator("#message-text")).to_contain_text("老年人优先须年满60周岁")
    shot(page, "17-not-elderly")
    page.click("#message-ok")
    assert kiosk_hall.waiting() == 0
