"""The case desk (/cases) in a real browser: a 承诺件 finished days after its visit, by another clerk."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .support import ARTIFACTS, PASSWORD

pytestmark = pytest.mark.browser

ENTERPRISE = "XK00101001"   # 企业设立登记, 承诺件 (windows 1, 2)


def accepted(hall, n: int) -> list[dict]:
    cases = []
    for _ in range(n):
        hall.issue(ENTERPRISE)
        hall.op(1, "call-next")
        status, body = hall.op(1, "accept")
        assert status == 200, body
        cases.append(body["case"])
    return cases


def test_the_desk_lists_open_cases_and_finishes_one(page, live_hall):
    cases = accepted(live_hall, 3)
    hall = live_hall
    hall.issue(ENTERPRISE)
    hall.op(2, "call-next")
    materials = hall.matters[ENTERPRISE]["materials"]
    status, body = hall.op(2, "correct", {"missing": [materials[0], materials[2]]})
    assert status == 200, body

    page.goto(hall.url + "/cases")
    page.fill("input[name=username]", "clerk02")                 # another clerk of the department
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    rows = page.locator("#cases tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator("#summary")).to_contain_text("共 4 件")
    expect(rows.nth(0)).to_contain_text(cases[0]["number"])
    expect(rows.nth(3)).to_contain_text("待补正")
    (ARTIFACTS / "cases").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "cases" / "1366x768-desk.png")

    rows.nth(0).click()
    detail = page.locator("#detail")
    expect(detail.locator("h2")).to_have_text(cases[0]["number"])
    expect(detail).to_contain_text("受理")
    expect(detail.locator("button[data-act=finish]")).to_be_visible()
    expect(detail.locator("button[data-act=deliver]")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "cases" / "1366x768-case.png")
    detail.locator("button[data-act=finish]").click()
    expect(detail.locator(".state")).to_have_text("已办结")
    expect(rows).to_have_count(3)
    detail.locator("button[data-act=deliver]").click()
    page.select_option("#deliver-how", "mail")
    page.fill("#deliver-note", "SF1234567890")
    detail.locator("form button[type=submit]").click()
    expect(detail).to_contain_text(re.compile(r"出件.*邮寄 SF1234567890"))
    expect(detail.locator("button[data-act=deliver]")).to_have_count(0)
    expect(detail.locator("ol.history")).to_contain_text("出件")

    rows.nth(2).click()                                          # the one waiting for materials
    expect(detail).to_contain_text(materials[0] + "、" + materials[2])
    expect(detail.locator("button[data-act=accept]")).to_have_text("材料已补齐，受理")
    page.screenshot(path=ARTIFACTS / "cases" / "1366x768-correction.png")
