"""The window caller (/caller) in a real browser against a real server: what a clerk does all day."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import expect

from queue_server.clock import FrozenClock

from .conftest import serve_live
from .support import ARTIFACTS, PASSWORD

pytestmark = pytest.mark.browser

ENTERPRISE = "XK00101001"   # 企业设立登记, 承诺件 3 working days, windows 1, 2, 10
SOLE_TRADER = "XK00102001"  # 个体工商户登记, 即办件


def login(page, hall, username="clerk01", password=PASSWORD):
    page.goto(hall.url + "/caller")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-submit")


def open_window(page, hall, username="clerk01"):
    login(page, hall, username)
    expect(page.locator("#main-view")).to_be_visible()
    expect(page.locator("#conn-state")).to_have_text("实时连接")
    expect(page.locator("#waiting-mine")).to_have_text(re.compile(r"^\d+$"))


def skip(page):
    """过号 asks first (one requeue only afterwards): F3, then Enter on 确认过号."""
    page.keyboard.press("F3")
    expect(page.locator("#skip-dialog")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#skip-dialog")).to_be_hidden()


def test_wrong_password_shows_the_chinese_error(page, live_hall):
    login(page, live_hall, password="wrong-password")
    expect(page.locator("#login-error")).to_have_text("用户名或密码不正确")
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#main-view")).to_be_hidden()
    expect(page.locator("#login-hall")).to_have_text("测试市政务服务中心")


def test_call_recall_accept_finish(page, live_hall):
    open_window(page, live_hall)
    expect(page.locator("#window-name")).to_have_text("1号窗口 · 商事登记窗口")
    expect(page.locator("#clerk-name")).to_contain_text("王芳")
    expect(page.locator("#waiting-mine")).to_have_text("0")
    expect(page.locator("#btn-call")).to_be_disabled()

    ticket = live_hall.issue(ENTERPRISE)                       # the kiosk issues; no reload here
    expect(page.locator("#waiting-mine")).to_have_text("1")
    expect(page.locator("#btn-call")).to_be_enabled()
    for action in ("recall", "skip", "accept", "finish", "transfer"):
        expect(page.locator(f"#btn-{action}")).to_be_disabled()

    page.keyboard.press("F1")
    expect(page.locator("#ticket-number")).to_have_text(ticket["number"])
    expect(page.locator("#ticket-status")).to_have_text("已叫号")
    expect(page.locator("#ticket-matter")).to_have_text("企业设立登记")
    expect(page.locator("#ticket-calls")).to_have_text("1 次")
    expect(page.locator("#waiting-mine")).to_have_text("0")
    expect(page.locator("#btn-call")).to_be_disabled()
    expect(page.locator("#btn-finish")).to_be_disabled()
    expect(page.locator("#recent-list li").first).to_contain_text(ticket["number"])

    page.click("#btn-recall")
    expect(page.locator("#ticket-calls")).to_have_text("2 次")

    nxt = live_hall.issue(SOLE_TRADER)                          # someone waits behind
    expect(page.locator("#waiting-mine")).to_have_text("1")
    page.keyboard.press("F4")                                  # 受理 a 承诺件: the visit ends here
    expect(page.locator("#ticket-number")).to_have_text("—")
    expect(page.locator("#last-line")).to_contain_text(re.compile(
        ticket["number"] + r" 已受理 · 办件编号 \S{6,} · 承诺 \d{4}年\d+月\d+日（周.） \d\d:\d\d 前办结"))
    expect(page.locator("#btn-call")).to_be_enabled()          # the next person, at once
    assert live_hall.ticket(ticket["id"])["status"] == "done"

    page.keyboard.press("F1")
    expect(page.locator("#ticket-number")).to_have_text(nxt["number"])
    page.keyboard.press("F4")                                  # a 即办件 is served on at the window
    expect(page.locator("#ticket-status")).to_have_text("办理中")
    expect(page.locator("#case-box")).to_be_visible()
    expect(page.locator("#case-number")).to_have_text(re.compile(r"\S{6,}"))
    expect(page.locator("#case-kind")).to_have_text("即办件")
    expect(page.locator("#case-due")).to_have_text(re.compile(r"\d{4}年\d+月\d+日（周.） \d\d:\d\d"))
    for action in ("call", "recall", "skip", "accept", "transfer", "correct", "refuse"):
        expect(page.locator(f"#btn-{action}")).to_be_disabled()
    case_number = page.locator("#case-number").inner_text()

    page.click("#btn-finish")
    expect(page.locator("#ticket-number")).to_have_text("—")
    expect(page.locator("#case-box")).to_be_hidden()
    expect(page.locator("#last-line")).to_contain_text(f"{nxt['number']} 已办结 · 办件编号 {case_number}")
    assert live_hall.ticket(nxt["id"])["status"] == "done"


def test_correction_notice_lists_what_is_missing_and_frees_the_window(page, live_hall):
    open_window(page, live_hall)
    ticket = live_hall.issue(ENTERPRISE)
    expect(page.locator("#waiting-mine")).to_have_text("1")
    page.keyboard.press("F1")
    expect(page.locator("#ticket-number")).to_have_text(ticket["number"])
    page.keyboard.press("F9")                                  # 补正
    expect(page.locator("#correct-dialog")).to_be_visible()
    boxes = page.locator("#correct-list input[type=checkbox]")
    expect(boxes).to_have_count(4)
    expect(page.locator("#correct-confirm")).to_be_disabled()
    boxes.nth(1).check()
    boxes.nth(3).check()
    expect(page.locator("#correct-count")).to_have_text("已勾选 2 项缺少的材料")
    page.screenshot(path=_shot("1366x768-correction-dialog.png"))
    page.click("#correct-confirm")
    expect(page.locator("#notice-dialog")).to_be_visible()
    page.wait_for_function("() => document.getElementById('notice-img').naturalWidth > 0")
    page.screenshot(path=_shot("1366x768-correction-notice.png"))
    # Window 1 has no desk printer of its own: 打印 falls back to the browser's print dialog.
    # (a function body: an expression that is a function would be called by evaluate itself)
    page.evaluate("() => { window.print = () => { window.printed = (window.printed || 0) + 1; }; }")
    page.click("#notice-print")
    page.wait_for_function("() => window.printed === 1")
    page.click("#notice-close")
    expect(page.locator("#ticket-number")).to_have_text("—")
    expect(page.locator("#last-line")).to_contain_text(f"{ticket['number']} 已出具补正告知")
    assert live_hall.ticket(ticket["id"])["status"] == "done"

    # Days later the citizen is back with the materials: a new number, and their waiting case.
    back = live_hall.issue(ENTERPRISE)
    expect(page.locator("#waiting-mine")).to_have_text("1")
    page.keyboard.press("F1")
    expect(page.locator("#ticket-number")).to_have_text(back["number"])
    page.keyboard.press("F4")
    expect(page.locator("#resume-dialog")).to_be_visible()
    expect(page.locator("#resume-list .pick")).to_have_count(1)
    page.screenshot(path=_shot("1366x768-correction-returns.png"))
    page.locator("#resume-list .pick").first.click()
    expect(page.locator("#last-line")).to_contain_text(f"{back['number']} 已受理")
    status, cases = live_hall.request("GET", "/api/v1/cases?scope=hall&status=all", token=live_hall.token("supervisor"))
    assert [(c["status"], c["ticket_id"]) for c in cases["cases"]] == [("accepted", back["id"])]


def _shot(name: str):
    (ARTIFACTS / "caller").mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / "caller" / name


def test_a_due_date_in_a_year_the_calendar_lacks_says_provisional(page, tmp_path):
    """29 December: 3 working days reach into 2027, whose holidays are not in the calendar yet.
    The clerk must not promise the citizen a date that may fall on New Year's Day as final."""
    hall = serve_live(tmp_path, FrozenClock(datetime(2026, 12, 29, 10, 0)))
    open_window(page, hall)
    ticket = hall.issue(ENTERPRISE)
    expect(page.locator("#waiting-mine")).to_have_text("1")
    page.keyboard.press("F1")
    expect(page.locator("#ticket-number")).to_have_text(ticket["number"])
    page.keyboard.press("F4")     # a 承诺件: the visit ends at 受理, the date is said as it leaves
    expect(page.locator("#last-line")).to_contain_text("承诺 2027年1月1日（周五） 17:30（暂定） 前办结")
    expect(page.locator("#message-text")).to_contain_text("2027年1月1日（周五） 17:30（暂定）")
    (ARTIFACTS / "caller").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "caller" / "1366x768-provisional-due.png")


def test_a_serving_case_due_in_a_year_the_calendar_lacks_says_provisional(page, tmp_path):
    """New Year's Eve after the deadline time: a 即办件 accepted now is due the next working day,
    in 2027, whose holidays are not in the calendar yet. The case panel says so while the
    citizen is still at the window (and the page raises no script error: the page fixture)."""
    hall = serve_live(tmp_path, FrozenClock(datetime(2026, 12, 31, 17, 45)))
    open_window(page, hall)
    ticket = hall.issue("XK00102001")    # 个体工商户登记, a 即办件 at window 1
    expect(page.locator("#waiting-mine")).to_have_text("1")
    page.keyboard.press("F1")
    expect(page.locator("#ticket-number")).to_have_text(ticket["number"])
    page.keyboard.press("F4")
    expect(page.locator("#case-due")).to_contain_text("2027年1月1日（周五） 17:30")
    expect(page.locator("#case-due .due-note")).to_have_text("暂定：2027年节假日安排尚未录入，录入后重新计算")


def test_skip_then_requeue(page, live_hall):
    open_window(page, live_hall)
    first = live_hall.issue(ENTERPRISE)
    expect(page.locator("#waiting-mine")).to_have_text("1")
    page.click("#btn-call")
    expect(page.locator("#ticket-number")).to_have_text(first["number"])

    skip(page)                                                 # 过号, confirmed
    expect(page.locator("#ticket-number")).to_have_text("—")
    row = page.locator(f"#skipped-list li[data-ticket-id='{first['id']}']")
    expect(row).to_contain_text(first["number"])
    expect(page.locator("#waiting-mine")).to_have_text("0")

    row.get_by_role("button", name="重新排队").click()
    expect(page.locator("#skipped-list li")).to_have_count(0)
    expect(page.locator("#waiting-mine")).to_have_text("1")
    assert live_hall.ticket(first["id"])["status"] == "waiting"

    page.keyboard.press("F1")                                  # the citizen is back: called again
    expect(page.locator("#ticket-number")).to_have_text(first["number"])
    expect(page.locator("#ticket-calls")).to_have_text("2 次")

    # Skipped a second time: it stays listed, but cannot be requeued again.
    skip(page)
    again = page.locator(f"#skipped-list li[data-ticket-id='{first['id']}'] button")
    expect(again).to_have_text("已重排过")
    expect(again).to_be_disabled()


def test_transfer_to_window_10(page, live_hall):
    """Window 10 (综合) serves 企业设立登记 too, and its clerk is signed in."""
    open_window(page, live_hall)
    ticket = live_hall.issue(ENTERPRISE)
    expect(page.locator("#waiting-mine")).to_have_text("1")
    page.keyboard.press("F1")
    expect(page.locator("#ticket-number")).to_have_text(ticket["number"])

    page.keyboard.press("F7")
    dialog = page.locator("#transfer-dialog")
    expect(dialog).to_be_visible()
    window10 = live_hall.windows[10]
    expect(dialog.locator(f"[data-window-id='{live_hall.windows[1]['id']}']")).to_have_count(0)  # not to itself
    dialog.locator(f".transfer-windows [data-window-id='{window10['id']}']").click()
    expect(page.locator("#transfer-choice")).to_contain_text("10号窗口")
    page.click("#transfer-confirm")
    expect(dialog).to_be_hidden()
    expect(page.locator("#ticket-number")).to_have_text("—")
    expect(page.locator("#last-line")).to_contain_text(f"{ticket['number']} 已转移 → 10号窗口")

    moved = live_hall.ticket(ticket["id"])
    assert moved["status"] == "waiting" and moved["target_window_id"] == window10["id"]
    assert live_hall.queue()["waiting"]["by_window"][str(window10["id"])] == 1
    expect(page.locator("#waiting-mine")).to_have_text("0")


def test_transfer_to_a_matter_by_filter(page, live_hall):
    open_window(page, live_hall)
    ticket = live_hall.issue(ENTERPRISE)
    expect(page.locator("#waiting-mine")).to_have_text("1")
    page.keyboard.press("F1")
    expect(page.locator("#btn-transfer")).to_be_enabled()
    page.click("#btn-transfer")
    page.fill("#transfer-filter", "户口")
    matters = page.locator("#transfer-matters .pick")
    expect(matters).to_have_count(1)
    matters.first.click()
    page.keyboard.press("Enter")
    expect(page.locator("#transfer-dialog")).to_be_hidden()
    moved = live_hall.ticket(ticket["id"])
    assert moved["matter_name"] == "户口迁移" and moved["status"] == "waiting"


def test_transfer_refused_shows_the_reason_in_the_dialog(page, live_hall):
    open_window(page, live_hall)
    ticket = live_hall.issue(ENTERPRISE)
    expect(page.locator("#btn-call")).to_be_enabled()
    page.keyboard.press("F1")
    expect(page.locator("#ticket-number")).to_have_text(ticket["number"])
    page.keyboard.press("F7")
    page.locator(f".transfer-windows [data-window-id='{live_hall.windows[10]['id']}']").click()
    status, _ = live_hall.op(1, "skip")                        # the same clerk, from another tab
    assert status == 200
    expect(page.locator(f"#skipped-list li[data-ticket-id='{ticket['id']}']")).to_have_count(1)
    page.click("#transfer-confirm")
    expect(page.locator("#transfer-error")).to_have_text("1号窗口当前没有号，请先叫号")
    expect(page.locator("#transfer-dialog")).to_be_visible()
    page.click("#transfer-cancel")
    expect(page.locator("#message-text")).to_have_text("1号窗口当前没有号，请先叫号")
    assert live_hall.ticket(ticket["id"])["status"] == "skipped"


def test_pause_disables_call_and_resume_enables(page, live_hall):
    open_window(page, live_hall)
    live_hall.issue(ENTERPRISE)
    expect(page.locator("#btn-call")).to_be_enabled()

    page.keyboard.press("F8")
    expect(page.locator("#window-state")).to_have_text("暂停服务")
    expect(page.locator("#btn-call")).to_be_disabled()
    expect(page.locator("#pause-label")).to_have_text("恢复服务")
    expect(page.locator("#paused-note")).to_be_visible()
    page.keyboard.press("F1")                                  # refused on the page, nothing called
    expect(page.locator("#message-text")).to_contain_text("本窗口已暂停")
    assert live_hall.queue()["windows"][0]["current"] is None

    page.click("#btn-pause")
    expect(page.locator("#window-state")).to_have_text("服务中")
    expect(page.locator("#btn-call")).to_be_enabled()
    expect(page.locator("#paused-note")).to_be_hidden()


def test_api_refusal_shows_its_message(page, live_hall):
    open_window(page, live_hall)
    ticket = live_hall.issue(ENTERPRISE)
    expect(page.locator("#btn-call")).to_be_enabled()
    # Someone else (window 2) takes the only ticket between the event and the click.
    page.evaluate("() => { window.hallCaller.socket().disconnect(); }")
    status, _ = live_hall.op(2, "call-next")
    assert status == 200
    expect(page.locator("#conn-banner")).to_have_text(re.compile("连接中断，正在重连"))
    page.click("#btn-call")
    expect(page.locator("#message")).to_have_class(re.compile("error"))
    expect(page.locator("#message-text")).to_have_text("当前没有等候的号")
    expect(page.locator("#ticket-number")).to_have_text("—")
    assert live_hall.ticket(ticket["id"])["window"]["number"] == 2


def test_reconnect_and_gap_resync_from_snapshot(page, live_hall):
    open_window(page, live_hall)
    # Lose the stream and keep it down (the reconnect's polling is refused) while tickets come.
    page.route("**/socket.io/**", lambda route: route.abort())
    page.evaluate("() => window.hallCaller.socket().io.engine.close()")
    expect(page.locator("#conn-banner")).to_be_visible()
    expect(page.locator("#conn-banner")).to_contain_text("连接中断，正在重连…")
    expect(page.locator("#conn-state")).to_have_text("连接中断")
    live_hall.issue(ENTERPRISE)
    live_hall.issue(ENTERPRISE)
    page.unroute("**/socket.io/**")
    expect(page.locator("#conn-banner")).to_be_hidden(timeout=10000)
    expect(page.locator("#waiting-mine")).to_have_text("2")   # from the reconnect's snapshot

    # A hole in seq: the page must not apply the out-of-order event but take a fresh snapshot.
    snapshots = page.evaluate("() => window.hallCaller.stream().stats.snapshots")
    seq = page.evaluate("() => window.hallCaller.stream().seq")
    window1 = str(live_hall.windows[1]["id"])
    page.evaluate("""([seq, w]) => window.hallCaller.receive({type: "ticket.issued", seq: seq + 5,
                     waiting: {total: 99, by_window: {[w]: 99}}})""", [seq, window1])
    page.wait_for_function("n => window.hallCaller.stream().stats.snapshots > n", arg=snapshots)
    expect(page.locator("#waiting-mine")).to_have_text("2")
    live_hall.issue(ENTERPRISE)                                # and live events flow on after it
    expect(page.locator("#waiting-mine")).to_have_text("3")


def test_reload_keeps_the_session_and_the_current_ticket(page, live_hall):
    open_window(page, live_hall)
    ticket = live_hall.issue(SOLE_TRADER)                      # a 即办件: served at the window
    expect(page.locator("#btn-call")).to_be_enabled()
    page.keyboard.press("F1")
    expect(page.locator("#ticket-number")).to_have_text(ticket["number"])
    page.click("#btn-accept")
    expect(page.locator("#case-number")).to_have_text(re.compile(r"\S{6,}"))
    case_number = page.locator("#case-number").inner_text()
    page.reload()
    expect(page.locator("#main-view")).to_be_visible()
    expect(page.locator("#ticket-number")).to_have_text(ticket["number"])
    expect(page.locator("#ticket-status")).to_have_text("办理中")
    expect(page.locator("#case-number")).to_have_text(case_number)
    expect(page.locator("#ticket-issued")).to_have_text(re.compile(r"\d\d:\d\d"))

    page.click("#btn-logout")
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#login-error")).to_have_text("您已退出登录")
    page.reload()
    expect(page.locator("#login-view")).to_be_visible()


def test_expired_token_returns_to_login(page, live_hall):
    open_window(page, live_hall)
    page.evaluate("() => { window.hallCaller.state.token = 'expired-token'; }")
    live_hall.issue(ENTERPRISE)
    expect(page.locator("#btn-call")).to_be_enabled()
    page.click("#btn-call")
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#login-error")).to_have_text("请先登录或提供有效的令牌")


@pytest.mark.parametrize("width,height", [(1366, 768), (1920, 1080)])
def test_screenshots(browser, live_hall, width, height):
    """Pictures of the screens a clerk sees, for a person to look at (tests/_artifacts/caller/)."""
    out = ARTIFACTS / "caller"
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(5000)
    try:
        name = f"{width}x{height}"
        page.goto(live_hall.url + "/caller")
        expect(page.locator("#login-hall")).to_have_text("测试市政务服务中心")
        page.screenshot(path=out / f"{name}-1-login.png")

        # A morning's moment: others called at other windows, one no-show here, three waiting.
        for code in (SOLE_TRADER, ENTERPRISE, "QR00201001", "GG00301001"):
            live_hall.issue(code)
        live_hall.op(3, "call-next")
        live_hall.op(5, "call-next")
        live_hall.op(5, "recall")
        open_window(page, live_hall)
        page.keyboard.press("F1")
        expect(page.locator("#ticket-status")).to_have_text("已叫号")
        skip(page)
        expect(page.locator("#skipped-list li")).to_have_count(1)
        for _ in range(3):
            live_hall.issue(SOLE_TRADER, priority="elderly" if _ == 0 else None)
        expect(page.locator("#waiting-mine")).to_have_text("4")
        page.keyboard.press("F1")
        page.click("#btn-recall")
        expect(page.locator("#ticket-calls")).to_have_text("2 次")
        page.screenshot(path=out / f"{name}-2-called.png")

        page.keyboard.press("F7")
        expect(page.locator("#transfer-windows .pick").first).to_be_visible()
        page.locator("#transfer-windows .pick").nth(1).click()
        page.screenshot(path=out / f"{name}-3-transfer.png")
        page.keyboard.press("Escape")
        expect(page.locator("#transfer-dialog")).to_be_hidden()

        page.keyboard.press("F4")
        expect(page.locator("#case-box")).to_be_visible()
        page.screenshot(path=out / f"{name}-4-serving.png")

        page.keyboard.press("F6")
        expect(page.locator("#last-line")).to_contain_text("已办结")
        page.screenshot(path=out / f"{name}-5-finished.png")

        page.route("**/socket.io/**", lambda route: route.abort())
        page.evaluate("() => window.hallCaller.socket().io.engine.close()")
        expect(page.locator("#conn-banner")).to_be_visible()
        page.keyboard.press("F2")                              # refused on the page: shows why
        expect(page.locator("#message-text")).to_contain_text("重呼")
        page.screenshot(path=out / f"{name}-6-offline.png")
    finally:
        context.close()


def test_admin_chooses_a_window_and_supervisor_is_turned_away(page, live_hall):
    login(page, live_hall, "admin")
    choose = page.locator("#choose-list button")
    expect(choose).to_have_count(10)                           # admins may cover any window
    page.screenshot(path=ARTIFACTS / "caller" / "1366x768-0-choose-window.png")
    page.click(f"#choose-list [data-window-id='{live_hall.windows[3]['id']}']")
    expect(page.locator("#window-name")).to_have_text("3号窗口 · 户籍窗口")
    expect(page.locator("#conn-state")).to_have_text("实时连接")
    page.click("#btn-switch")
    expect(page.locator("#choose-view")).to_be_visible()
    page.click("#choose-logout")

    login(page, live_hall, "supervisor")
    expect(page.locator("#login-error")).to_contain_text("不是窗口工作人员")


def test_front_page_links_only_what_exists(page, live_hall):
    page.goto(live_hall.url + "/")
    expect(page.locator("h1")).to_have_text("测试市政务服务中心")
    hrefs = page.locator(".parts a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["/kiosk/", "/caller", "/cases", "/display#token=设备令牌", "/rater#token=设备令牌", "/supervisor",
                     "/supervisor/slips", "/supervisor/report", "/admin/devices", "/api/v1/matters?hall=370000T01"]
    for href in hrefs:
        assert page.request.get(live_hall.url + href).status == 200
    page.screenshot(path=ARTIFACTS / "caller" / "front-page.png")
