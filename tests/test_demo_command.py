"""`hall demo` as a person runs it: starts on a port, prints the URLs and accounts, keeps data across restarts."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from client import ok as call
from live import free_port

ROOT = Path(__file__).resolve().parent.parent


def start(port, data_dir):
    process = subprocess.Popen([sys.executable, "-m", "queue_server.cli", "demo", "--port", str(port),
                                "--data-dir", str(data_dir)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=os.environ | {"PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            call(port, "GET", "/api/v1/matters")
            return process
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.stdout.read())
            time.sleep(0.2)
    process.kill()
    raise AssertionError("hall demo did not answer within 60 s")


def stop(process) -> str:
    process.terminate()
    out, _ = process.communicate(timeout=20)
    return out


def test_demo_starts_prints_accounts_and_survives_restart(tmp_path):
    port = free_port()
    demo = start(port, tmp_path)
    try:
        catalogue = call(port, "GET", "/api/v1/matters")
        assert len(catalogue["departments"]) >= 8 and len(catalogue["matters"]) >= 25
        assert len(catalogue["windows"]) >= 12
        matter = next(m for m in catalogue["matters"] if m["name"].startswith("社会保障卡"))
        ticket = call(port, "POST", "/api/v1/tickets", {"matter_id": matter["id"]}, token="demo-kiosk")["ticket"]
        window = ticket["window_ids"][0]
        number = next(w["number"] for w in catalogue["windows"] if w["id"] == window)
        token = call(port, "POST", "/api/v1/auth/login", {"username": f"clerk{number:02d}", "password": "demo1234"})["token"]
        assert call(port, "POST", f"/api/v1/windows/{window}/call-next", {}, token)["ticket"]["id"] == ticket["id"]
        case = call(port, "POST", f"/api/v1/windows/{window}/accept", {}, token)["case"]
    finally:
        output = stop(demo)
    assert f"http://127.0.0.1:{port}/" in output
    assert "clerk01" in output and "demo1234" in output and "demo-kiosk" in output and "demo-display" in output

    demo = start(port, tmp_path)
    try:
        # The login token, the ticket and the case all survived the restart.
        assert call(port, "GET", f"/api/v1/tickets/{ticket['id']}", token="demo-display")["ticket"]["status"] == "serving"
        finished = call(port, "POST", f"/api/v1/windows/{window}/finish", {}, token)["case"]
        assert finished["id"] == case["id"] and finished["status"] == "finished"
        again = call(port, "POST", "/api/v1/tickets", {"matter_id": matter["id"]}, token="demo-kiosk")["ticket"]
        assert again["number"] == ticket["number"][0] + "002"
    finally:
        stop(demo)


def test_demo_on_another_port_links_there_and_starts_with_last_months_history(tmp_path):
    """`hall demo --port N`: the slip QR and 查询网址 (the catalogue's base_url, which the kiosk
    prints), the SMS rating links all name port N; a new demo hall already has last month's
    rated cases, a 差评 being followed up and open 承诺件 near their limits."""
    port = free_port()
    demo = start(port, tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        assert call(port, "GET", "/api/v1/matters")["hall"]["base_url"] == base
        boss = call(port, "POST", "/api/v1/auth/login", {"username": "supervisor", "password": "demo1234"})["token"]
        report = call(port, "GET", "/api/v1/supervision/report", token=boss)   # last month, by default
        assert report["totals"]["finished"] >= 100 and report["totals"]["bad"] == 1, report["totals"]
        follow_ups = call(port, "GET", "/api/v1/follow-ups", token=boss)["follow_ups"]
        assert [f["stage"] for f in follow_ups] == ["fix"]          # verified, 整改 still to do
        admin = call(port, "POST", "/api/v1/auth/login", {"username": "admin", "password": "demo1234"})["token"]
        call(port, "POST", "/api/v1/supervision/check", {}, admin)   # the minute's check, now
        warnings = call(port, "GET", "/api/v1/supervision/warnings", token=boss)["warnings"]
        promised = {w["case_number"] for w in warnings if w["kind"] == "case" and w["case_status"] == "accepted"}
        assert len(promised) == 3, warnings            # the open 承诺件, each within days of its limit
    finally:
        output = stop(demo)
    assert f"{base}/kiosk/" in output and "上月" in output
    demo = start(port, tmp_path)     # a restart adds no second history
    try:
        report_again = call(port, "GET", "/api/v1/supervision/report", token=boss)
        assert report_again["totals"] == report["totals"]
    finally:
        output = stop(demo)
    assert "上月" not in output
