"""Tap-to-ticket time at the kiosk, measured in the browser.

    python bench/kiosk_tap_bench.py [--taps 50] [--size 1080x1920]

Starts the demo hall (SQLite, kiosk mounted in the same process at /kiosk, `preview:` printer)
in a separate process, opens the kiosk page in Debian's Chromium, and 50 times walks
department → matter → 取号 → 跳过 → 否，普通取号 on random matters. For each walk it times, in the
page (performance.now), from the tap on the priority button to (1) the ticket number on the
screen and (2) the slip picture loaded. Prints a markdown table: median and worst.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "demo" / "hall.toml"
CHROMIUM = os.environ.get("HALL_CHROMIUM", "/usr/bin/chromium")

# Installed in the page: the time of the tap, of the number shown, and of the slip picture.
PROBE = """() => {
  window.__tap = null; window.__shown = null; window.__slip = null;
  document.querySelectorAll('#screen-priority .choice').forEach((b) =>
    b.addEventListener('pointerdown', () => { window.__tap = performance.now(); }, {capture: true}));
  new MutationObserver(() => {
    if (!document.querySelector('#screen-ticket').hidden && window.__shown === null) window.__shown = performance.now();
  }).observe(document.querySelector('#screen-ticket'), {attributes: true});
  document.querySelector('#slip-img').addEventListener('load', () => { window.__slip = performance.now(); });
}"""


def serve(port: int, data_dir: str) -> None:
    """The server process: the demo hall, open at any hour (the demo's flag)."""
    sys.path.insert(0, str(ROOT))
    from queue_server.app import create_app
    app = create_app([DEMO], f"sqlite:///{data_dir}/hall.db", secret=b"bench")
    app.extensions["hall"].ignore_hours = True
    app.extensions["socketio"].run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True,
                                   use_reloader=False, log_output=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, data_dir: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), data_dir], cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/matters", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the demo hall did not start")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--taps", type=int, default=50)
    parser.add_argument("--size", default="1080x1920")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return 0
    width, height = (int(v) for v in args.size.split("x"))
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_server(port, data_dir)
        try:
            shown, slips = run(port, width, height, args.taps)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"\n{args.taps} taps at {width}×{height}, {platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} cores\n")
    print("| from the tap on 「否，普通取号」 to | taps | median ms | worst ms |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| the ticket number on the screen | {len(shown)} | {statistics.median(shown):.0f} | {max(shown):.0f} |")
    print(f"| the slip picture loaded | {len(slips)} | {statistics.median(slips):.0f} | {max(slips):.0f} |")
    return 0


def run(port: int, width: int, height: int, taps: int) -> tuple[list[float], list[float]]:
    from playwright.sync_api import sync_playwright
    rng = random.Random(4)
    shown, slips = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        # Paired as the demo's kiosk (its token as Bearer), as an installer pairs a kiosk browser.
        context.request.post(f"http://127.0.0.1:{port}/api/v1/devices/pair",
                             headers={"Authorization": "Bearer demo-kiosk"})
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/kiosk/")
        page.wait_for_selector("#departments .tile")
        page.evaluate(PROBE)
        departments = page.locator("#departments .tile").count()
        for _ in range(taps):
            page.locator("#departments .tile").nth(rng.randrange(departments)).click()
            cards = page.locator("#matters .card:not(.closed)")
            cards.nth(rng.randrange(cards.count())).click()
            page.click("#detail-take")
            page.click("#identity-skip")
            page.evaluate("() => { window.__tap = window.__shown = window.__slip = null; }")
            page.click("#priority-none")
            page.wait_for_function("window.__shown !== null && window.__slip !== null", timeout=15000)
            tap, seen, slip = page.evaluate("[window.__tap, window.__shown, window.__slip]")
            shown.append(seen - tap)
            slips.append(slip - tap)
            page.click("#ticket-done")
            page.wait_for_selector("#screen-home:not([hidden])")
        browser.close()
    return shown, slips


if __name__ == "__main__":
    sys.exit(main())
