"""The kiosk for everyone, on the demo hall in Debian's Chromium: whole-pinyin search, 医保 finding
every 医保 matter, an idle timeout that lets a person read and warns first, the browser's back that
never leaves the kiosk, portrait using its height, and English names and plurals."""
from __future__ import annotations

from kiosk.views import close_all as close_kiosks

from datetime import datetime

import pytest
from playwright.sync_api import expect

from kiosk_fixtures import browser  # noqa: F401  (fixture)
from kiosk_helpers import FakePrinter, Server
from queue_server.app import create_app
from queue_server.cli import DEMO_CONFIG
from queue_server.clock import FrozenClock
from queue_server.config import load_hall_config
from test_kiosk_browser import LANDSCAPE, PORTRAIT, check_layout, open_kiosk, shot  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

@pytest.fixture
def demo_kiosk(tmp_path, sqlite_db):
    cfg = load_hall_config(DEMO_CONFIG)
    for m in cfg.matters:
        if m.name == "社会保障卡申领":
            m.name_en = "Social security card application"
            m.description_en = "First social security card, made while you wait."
            m.materials_en = [f"Document {i + 1} (English)" for i in range(len(m.materials))]
    for d in cfg.departments:
        if d.code == "rs":
            d.name_en = "Human Resources and Social Security"
    printer = FakePrinter()
    app = create_app([cfg], sqlite_db(tmp_path / "hall.db"), secret=b"kiosk",
                     clock=FrozenClock(datetime(2026, 3, 10, 10, 0)))
    app.config.update(KIOSK_TOKEN="demo-kiosk", KIOSK_PRINTER=printer.url)
    server = Server(app)
    yield server.url + "/kiosk/"
    server.stop()
    close_kiosks(app)
    printer.close()


def found(page, query: str) -> list[str]:
    page.fill("#search", query)
    page.wait_for_timeout(50)
    return page.locator("#search-results .card strong").all_text_contents()


def test_whole_pinyin_initials_and_chinese_find_the_matter(demo_kiosk, open_kiosk):
    page = open_kiosk(demo_kiosk, PORTRAIT)
    page.click("#search")
    assert found(page, "shebao")[:2] == ["社会保障卡申领", "社会保障卡补领、换领"]
    assert found(page, "gongjijin") == ["住房公积金提取（租赁住房）", "住房公积金提取（购买住房）", "住房公积金个人住房贷款申请"]
    assert found(page, "hukou")[0] == "户口迁移（市内、省内）"
    assert found(page, "jiashizheng") == ["机动车驾驶证补领、换领"]
    assert found(page, "sbk")[0] == "社会保障卡申领"                 # initials still work
    yibao = {"基本医疗保险参保人员异地就医备案", "城乡居民基本医疗保险参保登记", "门诊慢特病待遇认定"}
    assert set(found(page, "医保")) == yibao                          # 医保 is 医疗保障: all three, no others
    assert set(found(page, "yibao")[:3]) == yibao                     # first, before chance matches
    shot(page, "30-search-yibao")
    assert found(page, "户口")[0] == "户口迁移（市内、省内）"        # then those whose text names the 户口簿
    assert found(page, "qqqqq") == []
    expect(page.locator("#search-results")).to_contain_text("没有找到相关事项")


def test_idle_counts_from_the_last_scroll_warns_first_and_keeps_elder_mode(demo_kiosk, open_kiosk):
    page = open_kiosk(demo_kiosk, PORTRAIT)
    page.click("#btn-elder")
    page.click(".tile:has-text('不动产登记中心')")
    page.click("#matters .card:has-text('不动产转移登记')")
    # A long materials list: 90 s to read, twice that in 长辈模式.
    assert page.evaluate("window.kiosk.state.idle") == 180
    page.evaluate("window.kiosk.state.idle = 20")
    page.mouse.move(540, 1000)
    page.mouse.wheel(0, 400)                                           # reading on: a scroll counts
    page.wait_for_function("() => window.kiosk.state.idle > 170")
    # Left alone: warned before anything happens, in large letters, still in 长辈模式.
    page.evaluate("window.kiosk.state.idle = 11")
    expect(page.locator("#idle-warning")).to_be_visible(timeout=3000)
    expect(page.locator("#idle-text")).to_contain_text("秒后返回首页")
    expect(page.locator("html")).to_have_class("elder")
    shot(page, "31-idle-warning")
    page.click("#idle-stay")                                           # 继续办理
    expect(page.locator("#idle-warning")).to_be_hidden()
    expect(page.locator("#screen-detail")).to_be_visible()
    expect(page.locator("html")).to_have_class("elder")
    assert page.evaluate("window.kiosk.state.idle") >= 179


def test_the_browser_back_goes_back_a_screen_and_never_leaves_the_kiosk(demo_kiosk, open_kiosk):
    page = open_kiosk(demo_kiosk, LANDSCAPE)
    page.click(".tile:has-text('公安分局')")
    page.click("#matters .card:has-text('户口迁移')")
    expect(page.locator("#screen-detail")).to_be_visible()
    page.evaluate("history.back()")
    expect(page.locator("#screen-matters")).to_be_visible()
    page.evaluate("history.back()")
    expect(page.locator("#screen-home")).to_be_visible()
    page.keyboard.press("Alt+ArrowLeft")
    page.evaluate("history.back()")
    page.wait_for_timeout(300)
    assert page.url == demo_kiosk                                       # still the kiosk, not the page before
    expect(page.locator("#screen-home")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).overscrollBehaviorX") == "none"   # no swipe-back


def test_portrait_uses_its_height(demo_kiosk, open_kiosk):
    page = open_kiosk(demo_kiosk, PORTRAIT)
    expect(page.locator("#departments .tile").first).to_be_visible()
    # Read in one step: the tiles are redrawn when the matters' availability refreshes.
    tile = page.evaluate("(() => { const r = document.querySelector('#departments .tile')"
                         ".getBoundingClientRect(); return {width: r.width, height: r.height}; })()")
    assert tile["width"] > 450 and tile["height"] >= 160, tile      # two columns of large tiles
    expect(page.locator("#home-notice")).to_be_visible()
    expect(page.locator("#home-notice-text")).to_contain_text("办事请携带本人有效身份证件原件")
    bottom = page.evaluate("document.querySelector('#home-notice').getBoundingClientRect().bottom")
    assert bottom > 1300                                                 # the screen's lower half is used
    check_layout(page)
    shot(page, "32-portrait-home")
    page.set_viewport_size({"width": LANDSCAPE[0], "height": LANDSCAPE[1]})
    expect(page.locator("#home-notice")).to_be_hidden()                  # landscape: no room, no notice
    check_layout(page)
    shot(page, "33-landscape-home")


def test_english_shows_english_names_and_materials_and_plurals(demo_kiosk, open_kiosk):
    page = open_kiosk(demo_kiosk, PORTRAIT)
    page.click("#btn-lang")
    expect(page.locator(".tile:has-text('Human Resources and Social Security')")).to_be_visible()
    expect(page.locator(".tile:has-text('残疾人联合会')")).to_contain_text("1 matter ·")   # one: no plural s
    expect(page.locator(".tile:has-text('公安分局')")).to_contain_text("5 matters")
    page.click(".tile:has-text('Human Resources and Social Security')")
    expect(page.locator("#department-name")).to_have_text("Human Resources and Social Security")
    page.click("#matters .card:has-text('Social security card application')")
    expect(page.locator("#detail-name")).to_have_text("Social security card application")
    expect(page.locator("#detail-description")).to_have_text("First social security card, made while you wait.")
    expect(page.locator("#detail-materials li").first).to_have_text("Document 1 (English)")
    expect(page.locator("#detail-fees")).to_have_text("Free")
    expect(page.locator("#detail-kind")).to_have_text("on the spot")
    check_layout(page)
    shot(page, "34-english-detail")
    page.click("#screen-detail [data-back]")
    page.click("#matters .card:has-text('退休待遇申领')")              # no English in the config: Chinese shown
    expect(page.locator("#detail-name")).to_have_text("企业职工基本养老保险退休待遇申领")
    expect(page.locator("#detail-limit")).to_have_text("10 working days")
    expect(page.locator("#detail-kind")).to_have_text("promised")
