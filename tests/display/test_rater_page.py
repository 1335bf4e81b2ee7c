"""The window rating tablet (/rater) in Chromium against a real server: idle with the clerk, the five
levels when the window's case is finished, one rating lands, a second tap is refused."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from display_fixtures import artifacts, hall_process, open_page  # noqa: F401 (fixtures)
from display_helpers import Api

pytestmark = pytest.mark.browser

RATER = "test-rater-01"


def finish_case(api: Api, code: str = "XK00102001") -> dict:   # a 即办件, finished at the window
    api.issue(code)
    api.op(1, "call-next")
    api.op(1, "accept")
    return api.op(1, "finish")["case"]


def ratings(api: Api, case_id: int) -> list[dict]:
    status, body = api.request("GET", f"/api/v1/ratings?case_id={case_id}", token=api.token("supervisor"))
    assert status == 200, body
    return body["ratings"]


def test_a_rating_lands_once_and_a_second_tap_is_refused(open_page, hall_process, artifacts):
    server = hall_process()
    api = Api(server.url)
    api.issue("XK00102001")                                 # a 即办件: finished at the window
    api.op(1, "call-next")                                  # 王芳 signs in at window 1
    page = open_page(server.url + f"/rater?token={RATER}", 1280, 800)
    page.wait_for_function("() => window.hallRater && hallRater.stream.stats.snapshots > 0")
    expect(page.locator("#window-name")).to_have_text("1号窗口 · 商事登记窗口")
    expect(page.locator("#clerk-name")).to_have_text("王芳")
    expect(page.locator("#clerk-no")).to_have_text("工号 T0001")
    expect(page.locator("#avatar")).to_have_text("王")
    expect(page.locator("#idle-view")).to_be_visible()
    expect(page.locator("#rate-view")).to_be_hidden()
    page.screenshot(path=str(artifacts / "rater_idle.png"))

    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" and r.url.endswith("/api/v1/ratings") else None)
    api.op(1, "accept")
    case = api.op(1, "finish")["case"]
    expect(page.locator("#rate-view")).to_be_visible()
    expect(page.locator("#case-line")).to_contain_text(case["number"])
    levels = page.locator(".level")
    expect(levels).to_have_text(["非常满意", "满意", "基本满意", "不满意", "非常不满意"])
    expect(page.locator(".level.chosen")).to_have_count(0)          # nothing pre-selected
    styles = page.evaluate("() => [...document.querySelectorAll('.level')].map(b => getComputedStyle(b).backgroundColor + getComputedStyle(b).color + b.offsetWidth)")
    assert len(set(styles)) == 1                                    # all five look alike
    page.screenshot(path=str(artifacts / "rater_rating.png"))

    levels.nth(1).dblclick()                                        # 满意, tapped twice
    expect(page.locator("#thanks-view")).to_be_visible()
    expect(page.locator("#thanks-text")).to_have_text("感谢您的评价！")
    page.screenshot(path=str(artifacts / "rater_thanks.png"))
    page.wait_for_timeout(300)
    assert len(posts) == 1 and posts[0].post_data_json == {"case_id": case["id"], "level": 4, "channel": "device",
                                                           "tags": [], "node": "finish"}
    got = ratings(api, case["id"])
    assert [(r["level"], r["channel"]) for r in got] == [(4, "device")]
    # The same device trying again is refused by the server too.
    status, body = api.request("POST", "/api/v1/ratings", {"case_id": case["id"], "level": 1, "channel": "device"},
                               token=RATER)
    assert status == 409 and body["error"]["code"] == "already_rated"
    assert len(ratings(api, case["id"])) == 1


def test_no_rating_times_out_and_a_bad_rating_asks_for_reasons(open_page, hall_process, artifacts):
    server = hall_process()
    api = Api(server.url)
    page = open_page(server.url + f"/rater?token={RATER}&timeout=3", 1280, 800)   # 3 s instead of 20
    page.wait_for_function("() => window.hallRater && hallRater.stream.stats.snapshots > 0")
    finish_case(api)                                                # nobody rates: back to idle
    expect(page.locator("#rate-view")).to_be_visible()
    expect(page.locator("#idle-view")).to_be_visible(timeout=5000)
    assert page.evaluate("() => hallRater.posts.length") == 0
    case = finish_case(api, "XK00102001")
    expect(page.locator("#rate-view")).to_be_visible()
    expect(page.locator("#clerk-name")).to_have_text("王芳")
    page.locator(".level[data-level='1']").click()                  # 非常不满意
    expect(page.locator("#tags")).to_be_visible()
    tags = page.locator(".tag")
    expect(tags.first).to_be_visible()
    names = tags.all_text_contents()
    assert "办事效率低" in names and "其他" in names
    page.locator(".tag", has_text="办事效率低").click()
    page.locator(".tag", has_text="一次性告知不清").click()
    page.screenshot(path=str(artifacts / "rater_reasons.png"))
    page.locator("#tags-submit").click()
    expect(page.locator("#thanks-sub")).to_contain_text("核实整改")
    got = ratings(api, case["id"])
    assert [(r["level"], sorted(r["tags"])) for r in got] == [(1, sorted(["办事效率低", "一次性告知不清"]))]


def test_a_promised_case_is_rated_at_acceptance_as_the_citizen_leaves(open_page, hall_process, artifacts):
    """A 承诺件's visit ends at 受理: the tablet offers the levels then, for the 受理 node; its 办结
    comes days later at the case desk, and the tablet does not light up for it."""
    server = hall_process()
    api = Api(server.url)
    page = open_page(server.url + f"/rater?token={RATER}", 1280, 800)
    page.wait_for_function("() => window.hallRater && hallRater.stream.stats.snapshots > 0")
    api.issue("XK00101001")                                         # 企业设立登记, a 承诺件
    api.op(1, "call-next")
    case = api.op(1, "accept")["case"]
    expect(page.locator("#rate-view")).to_be_visible()
    expect(page.locator("#case-line")).to_contain_text(case["number"])
    page.locator(".level[data-level='5']").click()
    expect(page.locator("#thanks-view")).to_be_visible()
    got = ratings(api, case["id"])
    assert [(r["level"], r["channel"], r["node"]) for r in got] == [(5, "device", "accept")]
    expect(page.locator("#idle-view")).to_be_visible(timeout=10000)
    status, _ = api.request("POST", f"/api/v1/cases/{case['id']}/finish", {}, token=api.token("clerk02"))
    assert status == 200
    page.wait_for_timeout(1000)
    expect(page.locator("#idle-view")).to_be_visible()             # the desk's 办结 is not the tablet's
