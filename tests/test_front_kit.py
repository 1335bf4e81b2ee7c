"""The front-end kit (issue 22 point 5): every page is framed by `kit/base.html`, talks to the API
through the kit's api.js and follows the hall stream through its stream.js only, in one dialect."""
from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, nodes

from kiosk import create_kiosk_app

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "hallkit" / "static"
TEMPLATE_DIRS = [p for p in ROOT.glob("*/**/templates") if ".venv" not in p.parts]
PAGE_SCRIPTS = [p for p in ROOT.glob("*/**/static/**/*.js")
                if ".venv" not in p.parts and "vendor" not in p.parts and not p.is_relative_to(KIT)]
MARKER = '<meta name="hall-kit" content="base">'
# The pages a person opens: the walk over the app's routes must find each of them.
PAGES = {"/", "/caller", "/cases", "/admin/devices", "/display", "/rater", "/kiosk/", "/r/<token>", "/t/<code>",
         "/supervisor", "/supervisor/slips", "/supervisor/report"}
SAMPLE = {"token": "abc", "code": "ABCD1234"}


def _templates():
    return [p for d in TEMPLATE_DIRS for p in d.rglob("*.html")]


def _extends(source: str) -> str | None:
    tree = Environment().parse(source)
    found = tree.find(nodes.Extends)
    return found.template.value if found is not None and isinstance(found.template, nodes.Const) else None


def test_every_page_template_extends_the_kit_base():
    """A template is a page (it has <html>, <head> or <body>) only by extending kit/base.html;
    the rest are fragments (the monthly report's body, rendered into a page)."""
    templates = _templates()
    assert len(templates) >= 13
    pages = 0
    for path in templates:
        source = path.read_text(encoding="utf-8")
        if path.parent.name == "kit" and path.name == "base.html":
            continue
        if _extends(source) == "kit/base.html":
            pages += 1
            assert not re.search(r"<(!doctype|html|head|body)\b", source, re.I), f"{path}: frames itself too"
        else:
            assert not re.search(r"<(!doctype|html|head|body)\b", source, re.I), f"{path}: a page not on the kit's base"
    assert pages >= 12


def test_every_page_the_app_serves_carries_the_base(app, client):
    """Every GET route answering HTML (a sample value for each part of its path) is on the base."""
    served = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint.endswith("static"):
            continue
        r = client.get(re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: SAMPLE.get(m[1], "1"), rule.rule))
        if r.status_code == 200 and r.mimetype == "text/html":
            text = r.get_data(as_text=True)
            assert MARKER in text and '<html lang="zh-CN">' in text, rule.rule
            assert "/static/kit/api.js" in text, rule.rule
            served.add(rule.rule)
    assert PAGES <= served, PAGES - served
    assert client.get("/static/kit/api.js").status_code == 200


def test_the_kiosk_machines_own_app_serves_the_kit():
    client = create_kiosk_app("http://127.0.0.1:9", "token").test_client()
    page = client.get("/kiosk/").get_data(as_text=True)
    assert MARKER in page and "/static/kit/api.js" in page
    assert client.get("/static/kit/api.js").status_code == 200


def test_no_page_carries_its_own_stream_client_or_fetch_wrapper():
    """Only stream.js opens the hall socket and asks for snapshots; only api.js calls fetch."""
    assert len(PAGE_SCRIPTS) >= 15
    own = re.compile(r"""\bio\(\s*["'/]|\.emit\(\s*["']snapshot|\.on\(\s*["']snapshot|\bfetch\(|XMLHttpRequest""")
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()[:100]}" for p in PAGE_SCRIPTS
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if own.search(line)]
    assert found == []
    assert "io(" in (KIT / "stream.js").read_text(encoding="utf-8")


def test_one_dialect_es2017_classic_scripts():
    """Every script (the kit's and the pages') is ES2017+ in a classic <script>: const/let, no var,
    no XMLHttpRequest, no jQuery-style $.ajax, no ES module syntax."""
    scripts = PAGE_SCRIPTS + [p for p in KIT.glob("*.js")]
    old = re.compile(r"^\s*var\s|\bvar\s+\w+\s*=|XMLHttpRequest|\$\.(ajax|get|post)\(|^\s*(import|export)\s", re.M)
    found = [str(p.relative_to(ROOT)) for p in scripts if old.search(p.read_text(encoding="utf-8"))]
    assert found == []


def test_the_halls_time_of_day_comes_from_the_kits_clock():
    """Hours, minutes and weekdays are the hall's (UTC+8, the server's clock: clock.js), never the
    browser machine's zone: a kiosk or TV set to UTC showed 04:04 beside the caller's 12:04."""
    local = re.compile(r"\.get(Hours|Minutes|Seconds|Day)\(\)")
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()[:100]}" for p in PAGE_SCRIPTS
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if local.search(line)]
    assert found == []
    assert "getUTCHours" in (KIT / "clock.js").read_text(encoding="utf-8")


def test_the_kit_clock_says_the_halls_time_in_a_browser_set_to_utc(chromium, app):
    """In a browser whose zone is UTC, a server time of 2026-03-10 01:30 +08:00 reads as
    Tuesday 01:30 on every page's clock, and the day is the 10th, not the 9th."""
    from live import LiveServer
    with LiveServer(app) as server:
        context = chromium.new_context(timezone_id="UTC")
        page = context.new_page()
        page.goto(server.url + "/")
        got = page.evaluate("""() => {
            const c = new HallClock(); c.sync("2026-03-10T01:30:00+08:00");
            const p = c.parts(); return [p.day, p.short, p.hm, new Date().getTimezoneOffset()];
        }""")
        context.close()
    assert got[:3] == ["2026-03-10", "3月10日 周二", "01:30"] and got[3] == 0
