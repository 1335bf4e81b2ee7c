"""The supervisor's dashboard, the monthly report, the slip box page and the citizen's pages in
Chromium, with screenshots under tests/_artifacts/supervision/ (looked at by a person)."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from queue_server.ratings.followups import open_follow_up
from queue_server.ratings.models import FollowUp, FollowUpStep, Rating, SmsMessage
from queue_server.supervision.alerts import check_warnings

from .conftest import ARTIFACTS
from .month import generate

pytestmark = pytest.mark.browser
PASSWORD = "test1234"


def token(live, username):
    r = live.client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def furnish(live) -> dict:
    """March as generated, its 差评 followed up (most closed), and a busy morning today."""
    rt = live.rt
    generate(rt, live.hall_id, first=date(2026, 2, 23), last=date(2026, 4, 1), now=live.clock.now() - timedelta(hours=2))
    with rt.writing() as s:
        bad = s.scalars(select(Rating).where(Rating.level <= 2, Rating.voided.is_(False))).all()
        for i, rating in enumerate(bad):
            f = open_follow_up(rt, s, rating, rating.rated_at)
            if i % 3:
                for n, stage in enumerate(("verify", "fix", "callback")):
                    s.add(FollowUpStep(follow_up_id=f.id, stage=stage, note="已处理", actor="staff:supervisor",
                                       at=rating.rated_at + timedelta(days=n + 1)))
                f.stage, f.fix_rating, f.closed_at = "closed", ("满意", "基本满意")[i % 2], rating.rated_at + timedelta(days=3)
        s.commit()
    kiosk = {"Authorization": "Bearer test-kiosk"}
    catalogue = live.client.get("/api/v1/matters").get_json()
    matters = {m["code"]: m["id"] for m in catalogue["matters"]}
    windows = {w["number"]: w["id"] for w in catalogue["windows"]}
    live.clock.advance(minutes=-50)
    for code in ["QR00201001"] * 6 + ["XK00101001"] * 4 + ["GG00301001"] * 5 + ["QT00401001"] * 3:
        live.client.post("/api/v1/tickets", json={"matter_id": matters[code], "phone": "13812345678"}, headers=kiosk)
        live.clock.advance(minutes=2)
    for number in (1, 3, 5, 7):
        clerk = token(live, f"clerk{number:02d}")
        live.client.post(f"/api/v1/windows/{windows[number]}/call-next", headers=clerk)
        if number != 7:
            live.client.post(f"/api/v1/windows/{windows[number]}/accept", headers=clerk)
    live.client.post(f"/api/v1/windows/{windows[4]}/pause", headers=token(live, "clerk04"))
    live.clock.set(live.clock.now().replace(hour=10, minute=30))
    check_warnings(rt)
    return {"windows": windows, "matters": matters}


def login(page, url):
    page.goto(url)
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_dashboard_and_monthly_report(page, live):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    furnish(live)
    login(page, live.url + "/supervisor")
    page.wait_for_selector("#live-cards .card")
    page.wait_for_function("() => document.getElementById('conn').textContent === '实时'")
    cards = page.inner_text("#live-cards")
    assert "等候人数" in cards and "暂停窗口" in cards and "4号" in cards and "红色预警" in cards
    page.screenshot(path=str(ARTIFACTS / "dashboard_live.png"), full_page=True)

    # A ticket issued now reaches the open dashboard over the websocket.
    before = page.inner_text("#live-cards .card:first-child .value")
    live.client.post("/api/v1/tickets", json={"matter_id": 3}, headers={"Authorization": "Bearer test-kiosk"})
    page.wait_for_function(f"() => document.querySelector('#live-cards .card:first-child .value').textContent !== '{before}'")

    page.click("[data-tab=stats]")
    page.click("[data-range=last]")
    page.wait_for_function("() => document.getElementById('from').value === '2026-03-01'")
    page.wait_for_selector("#groups tbody tr.click")
    page.wait_for_selector("#chart-groups svg")
    assert page.input_value("#to") == "2026-03-31"
    stats = live.client.get("/api/v1/supervision/stats?from=2026-03-01&to=2026-03-31&by=department",
                            headers=token(live, "supervisor")).get_json()
    shown = page.inner_text("#stat-cards")
    assert f"{stats['totals']['on_time_rate']:.1f}%" in shown and f"{stats['totals']['satisfaction_rate']:.1f}%" in shown

    def card(label: str) -> str:
        return page.inner_text(f"#stat-cards .card:has(.label:text-is('{label}')) .value")
    # The dashboard's 差评 and 作废 are the report's (tests/supervision/test_figures_agree.py has the exports).
    report = live.client.get("/api/v1/supervision/report?month=2026-03", headers=token(live, "supervisor")).get_json()
    assert card("差评") == str(stats["totals"]["bad"]) == str(report["follow_ups"]["total"])
    assert card("作废评价") == str(stats["totals"]["voided"]) == str(report["totals"]["voided"])
    assert card("满意率") == f"{report['totals']['satisfaction_rate']:.1f}%"
    page.screenshot(path=str(ARTIFACTS / "dashboard_stats.png"), full_page=True)
    page.select_option("#by", "window")
    page.wait_for_function("() => document.getElementById('groups-title').textContent.includes('窗口')")
    page.click("#groups tbody tr.click >> nth=0")
    page.wait_for_selector("#drill:not([hidden]) #drill-table tbody tr")
    page.select_option("#drill-only", "late")
    page.wait_for_function("() => document.getElementById('drill-title').textContent.includes('办件明细')")
    page.screenshot(path=str(ARTIFACTS / "dashboard_drill.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#export-xlsx")
    assert download.value.suggested_filename.endswith(".xlsx")

    page.click("[data-tab=warnings]")
    page.wait_for_selector("#warnings-table tbody tr td .level-r")
    page.screenshot(path=str(ARTIFACTS / "dashboard_warnings.png"))
    page.click("[data-tab=followups]")
    page.select_option("#followups-state", "all")
    page.wait_for_selector("#followups-table tbody tr")
    page.screenshot(path=str(ARTIFACTS / "dashboard_followups.png"))
    page.click("[data-tab=audit]")
    page.check("#audit-events")
    page.click("#audit-query")
    page.wait_for_selector("#audit-table tbody tr td")
    assert "叫号" in page.inner_text("#audit-table")
    page.screenshot(path=str(ARTIFACTS / "dashboard_audit.png"))

    page.goto(live.url + "/supervisor/report?month=2026-03")
    page.wait_for_selector(".sheet h1")
    assert "2026年3月" in page.inner_text(".sheet h1")
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    page.emulate_media(media="print")
    page.pdf(path=str(ARTIFACTS / "report.pdf"), format="A4", print_background=True)


def test_slip_box_opening_in_the_browser(page, live):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    furnish(live)
    with live.rt.read() as s:
        from queue_server.models import Case
        from queue_server.models import Ticket
        cases = s.scalars(select(Case).where(Case.status == "finished").order_by(Case.id).limit(40)).all()
        rated = {r.case_id for r in s.scalars(select(Rating).where(Rating.node == "finish", Rating.is_default.is_(False)))}
        slipped = {r.case_id for r in s.scalars(select(Rating).where(Rating.channel == "slip"))}
        ballots = dict(s.execute(select(Ticket.id, Ticket.ballot_code)).all())  # the slips' barcodes
        fresh = [ballots[c.ticket_id] for c in cases if c.id not in rated][:3]
        taken = next(ballots[c.ticket_id] for c in s.scalars(select(Case)) if c.id in slipped)
    login(page, live.url + "/supervisor/slips")
    page.click("#start")
    for code, key in zip(fresh, ("5", "4", "1")):
        page.fill("#code", code)
        page.press("#code", "Enter")  # what the scanner types after the digits
        page.wait_for_selector("#levels button:not([disabled])")
        page.keyboard.press(key)
        page.wait_for_function("() => document.getElementById('current').textContent.includes('已录入')")
    page.fill("#code", str(fresh[0]))
    page.press("#code", "Enter")
    page.wait_for_selector("#current.refused")
    page.wait_for_function("() => document.getElementById('refused-count').textContent === '1'")
    assert "评议单已录入" in page.inner_text("#current")
    page.fill("#code", str(taken))
    page.press("#code", "Enter")
    # Wait for this scan's own answer: the 「拒绝」 of the previous one is still on screen.
    page.wait_for_function("() => document.getElementById('refused-count').textContent === '2'")
    assert "拒绝" in page.inner_text("#current")
    page.fill("#code", "88888888")
    page.press("#code", "Enter")
    page.wait_for_function("() => document.getElementById('current').textContent.includes('无法识别')")
    page.wait_for_function("() => document.getElementById('refused-count').textContent === '3'")
    page.screenshot(path=str(ARTIFACTS / "slips_scanning.png"))
    page.click("#finish")
    page.wait_for_selector("#result-view:not([hidden])")
    tally = page.inner_text("#final-tally")
    assert re.search(r"非常满意\s*1", tally) and re.search(r"满意\s*1", tally) and re.search(r"非常不满意\s*1", tally)
    assert "88888888" in page.inner_text("#refused")
    page.screenshot(path=str(ARTIFACTS / "slips_tally.png"), full_page=True)


def test_citizen_progress_page_and_sms_link(page, live, chromium):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    kiosk = {"Authorization": "Bearer test-kiosk"}
    ticket = live.client.post("/api/v1/tickets", json={"matter_id": 1, "phone": "13812345678"}, headers=kiosk).get_json()["ticket"]
    clerk = token(live, "clerk01")
    window = live.client.get("/api/v1/matters").get_json()["windows"][0]["id"]
    live.client.post(f"/api/v1/windows/{window}/call-next", headers=clerk)
    case = live.client.post(f"/api/v1/windows/{window}/accept", headers=clerk).get_json()["case"]
    mobile = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=2)
    phone = mobile.new_page()
    errors = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    phone.goto(f"{live.url}/t/{ticket['query_code']}")
    phone.wait_for_selector("#ticket-card:not([hidden])")
    assert "办理中" in phone.inner_text("#ticket-status") and "承诺办结" in phone.inner_text("#ticket-facts")
    assert phone.is_hidden("#rating-box")
    phone.screenshot(path=str(ARTIFACTS / "progress_serving.png"), full_page=True)

    live.clock.advance(minutes=12)      # a 承诺件: finished at the case desk after its visit
    assert live.client.post(f"/api/v1/cases/{case['id']}/finish", headers=clerk).status_code == 200
    phone.reload()
    phone.wait_for_selector("#rating-box .level")
    assert phone.locator(".level[aria-pressed=true]").count() == 0  # nothing suggested
    phone.click(".level[data-level='2']")
    phone.click(".tag >> text=等候时间长")
    phone.fill("#rating-box textarea", "叫号后等了很久")
    phone.screenshot(path=str(ARTIFACTS / "progress_rating.png"), full_page=True)
    phone.click(".submit")
    phone.wait_for_selector(".done")
    phone.screenshot(path=str(ARTIFACTS / "progress_rated.png"), full_page=True)

    # The SMS link of the same case: 一事一评, the web rating stands, no second form.
    def sms_token() -> str:
        with live.rt.read() as s:
            text = s.scalars(select(SmsMessage).order_by(SmsMessage.id.desc())).first().text
        return re.search(r"/r/(\S+)", text).group(1)

    phone.goto(f"{live.url}/r/{sms_token()}")
    phone.wait_for_selector(".done")
    assert "网页" in phone.inner_text("#rating-box") and "一事一评" in phone.inner_text("#rating-box")
    assert phone.locator("#rating-box .level").count() == 0
    phone.screenshot(path=str(ARTIFACTS / "sms_already_rated.png"), full_page=True)

    # The next citizen's case, not rated yet: the SMS link opens its rating page (channel sms).
    live.client.post("/api/v1/tickets", json={"matter_id": 1, "phone": "13812345678"}, headers=kiosk)
    live.client.post(f"/api/v1/windows/{window}/call-next", headers=clerk)
    second = live.client.post(f"/api/v1/windows/{window}/accept", headers=clerk).get_json()["case"]
    live.clock.advance(minutes=12)
    assert live.client.post(f"/api/v1/cases/{second['id']}/finish", headers=clerk).status_code == 200
    phone.goto(f"{live.url}/r/{sms_token()}")
    phone.wait_for_selector("#rating-box .level")
    assert "企业设立登记" in phone.inner_text("#matter-name")
    phone.screenshot(path=str(ARTIFACTS / "sms_rating_page.png"), full_page=True)
    phone.click(".level[data-level='5']")
    phone.click(".submit")
    phone.wait_for_selector(".done")
    phone.reload()
    phone.wait_for_selector(".notice.error")
    assert "已经使用过" in phone.inner_text("#notice")
    mobile.close()
    assert not errors
    with live.rt.read() as s:
        assert sorted(r.channel for r in s.scalars(select(Rating))) == ["sms", "web"]
        assert s.scalars(select(FollowUp)).one().stage == "verify"
