"""The kiosk's parts without a browser: pinyin search keys, the slip of a ticket, the backend's
answers when the server is away, and the printer chores around it (`print_test` in
printers/testslip.py, the desk's `write_slip` in queue_server/slips.py)."""
from __future__ import annotations

import tomllib
from datetime import datetime

import pytest

from kiosk_fixtures import app  # noqa: F401  (fixture)
from kiosk_helpers import ENTERPRISE, ID_A, KIOSK, SMALL_HALL, FakePrinter
from live import free_port
from kiosk.backend import KioskBackend, Refused, ServerDown
from kiosk.pinyin import initials, syllable_table, syllables, table
from printers import PrinterError
from printers.decode import decode, text_lines
from printers.testslip import print_test
from queue_server.cli import DEMO_CONFIG
from queue_server.slips import write_slip


def test_initials_cover_every_matter_and_department_name_of_the_shipped_halls():
    for known in (table(), syllable_table()):
        for path in (DEMO_CONFIG, SMALL_HALL):
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            for item in data["matters"] + data["departments"]:
                missing = [ch for ch in item["name"] if "\u4e00" <= ch <= "\u9fff" and ch not in known]
                assert not missing, f"{path.name}: {item['name']} lacks pinyin for {missing}"


def test_syllables_are_whole_readings_without_tones():
    assert syllables("社会保障卡") == [["she"], ["hui", "kuai"], ["bao"], ["zhang"], ["ka", "qia"]]
    assert syllables("驾驶证") == [["jia"], ["shi"], ["zheng"]]
    assert "hang" in syllables("银行")[1] and "xing" in syllables("行政")[0]
    assert syllables("绿A3，") == [["lu", "lv"], ["a"], ["3"]]   # ü typed as v; punctuation dropped


def test_initials_keep_both_readings_of_a_polyphone():
    assert initials("社会保障卡") == ["s", "hk", "b", "z", "kq"]
    assert "h" in initials("银行")[1] and "x" in initials("行政")[0]
    assert initials("A区3号，") == ["a", "oq", "3", "hx"]  # 区 ōu/qū, 号 háo/hào; punctuation dropped


def test_backend_says_server_down_when_nothing_answers():
    backend = KioskBackend(token=KIOSK, server_url=f"http://127.0.0.1:{free_port()}", printer_url="preview:")
    with pytest.raises(ServerDown):
        backend.catalogue()
    assert backend.status()["server"] is False
    backend.close()


def test_write_slip_as_bytes_and_as_picture(app, hall, tmp_path):
    ticket = hall.issue(ENTERPRISE, id_number=ID_A, priority="military").get_json()["ticket"]
    out = write_slip(app, str(ticket["id"]), tmp_path / "slip.bin", reprint=True)
    lines = [line.text for line in text_lines(decode(out.read_bytes()))]
    assert "A001" in lines and "【补打】" in lines and "【优先·军人】" in lines
    assert "1. 公司登记（备案）申请书（原件1份）" in lines
    # The clerk's 工号 makes the line too long for 80 mm: the clerk goes on the next line, whole.
    at = lines.index("请到：1号窗口 商事登记窗口")
    assert lines[at + 1] == "      经办人：王芳 工号T0001"
    assert "承诺时限：3个工作日　法定时限：15个工作日" in lines
    assert f"查询网址：hall.test/t/{ticket['query_code']}" in lines
    png = write_slip(app.extensions["hall"], ticket["query_code"].lower(), tmp_path / "slip.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from queue_server.errors import HallError
    with pytest.raises(HallError):
        write_slip(app, "999999", tmp_path / "none.bin")


def test_print_test_on_a_network_printer_and_on_the_preview(tmp_path):
    printer = FakePrinter()
    try:
        message = print_test(printer.url, timeout=5)
        assert message.startswith("测试页已打印：tcp://127.0.0.1:") and "P80" in message
        lines = [line for slip in printer.slips() for line in slip]
        assert "打印机测试页" in lines and "型号：P80" in lines
        printer.paper = "out"
        with pytest.raises(PrinterError, match="缺纸"):
            print_test(printer.url, timeout=0.4)
    finally:
        printer.close()
    assert "P58" in print_test("preview:?width=384", png=tmp_path / "test.png", timeout=5)
    assert (tmp_path / "test.png").exists()
    with pytest.raises(PrinterError):
        print_test(f"tcp://127.0.0.1:{free_port()}?connect_timeout=0.5", timeout=0.4)
    with pytest.raises(ValueError):
        print_test("lpt1")


def test_kiosk_api_checks_its_input_before_asking_the_server():
    """The kiosk on its own machine (`python -m kiosk`), its server away."""
    from kiosk import create_kiosk_app
    app = create_kiosk_app(f"http://127.0.0.1:{free_port()}", KIOSK, "preview:")
    client = app.test_client()
    for body, code in (({"matter_id": "1"}, "invalid_matter"),
                       ({"matter_id": 1, "priority": "vip"}, "invalid_priority"),
                       ({"matter_id": 1, "id_number": "110105194912310021"}, "invalid_id_number"),
                       ({"matter_id": 1, "phone": "12345"}, "invalid_phone"),
                       ({"matter_id": 1, "request_id": "<script>"}, "invalid_request_id")):
        r = client.post("/kiosk/api/tickets", json=body)
        assert r.status_code == 400 and r.get_json()["error"]["code"] == code, (body, r.get_json())
    assert client.post("/kiosk/api/check-in", json={}).get_json()["error"]["code"] == "missing_code"
    down = client.post("/kiosk/api/tickets", json={"matter_id": 1})
    assert down.status_code == 503 and down.get_json()["error"]["code"] == "server_down"
    assert client.get("/kiosk/slip/12.png").status_code == 404
    assert client.get("/kiosk/").status_code == 200
    app.extensions["kiosk"].close()


def test_refusal_from_the_server_passes_through_unchanged(app, clock):
    from kiosk_helpers import Server
    server = Server(app)
    try:
        backend = KioskBackend(token=KIOSK, server_url=server.url, printer_url="preview:")
        clock.set(datetime(2026, 3, 10, 7, 0))
        with pytest.raises(Refused) as caught:
            backend.take_ticket({"matter_id": 1})
        assert caught.value.status == 403 and caught.value.code == "hall_closed"
        assert caught.value.message.startswith("大厅尚未开始办公")
        bad = KioskBackend(token="not-a-token", server_url=server.url, printer_url="preview:")
        assert bad.status()["message"] == "取号机令牌无效或已停用，请联系管理员"
        backend.close()
        bad.close()
    finally:
        server.stop()


def test_unknown_printer_state_clears_by_itself(monkeypatch):
    """After a reset the printer is 'unknown'; asked again while idle (through the queue's own
    connection) it is fine, and the kiosk says so (banner, heartbeat) without waiting for a slip."""
    import kiosk.printing
    from kiosk.printing import SlipPrinter
    from live import wait_for
    from printers.queue import JobState

    monkeypatch.setattr(kiosk.printing, "PROBE_EVERY", 0.2)
    fake = FakePrinter()
    printer = SlipPrinter(fake.url)
    changes: list[str] = []
    printer.on_change = changes.append
    try:
        assert printer.status()["state"] == "unknown"        # not asked yet
        wait_for(lambda: printer.status()["state"] == "ok")   # asked at once, found fine
        fake.silent_after_slip = True                         # takes a slip, then resets
        printer.queue.submit("ticket-1", b"\x1b@A001\n\x1dV\x01")
        wait_for(lambda: printer.queue.state("ticket-1") == JobState.UNCONFIRMED)
        assert printer.status()["state"] == "unknown" and not printer.status()["ok"]
        fake.silent_after_slip = False                        # back up, nothing printed since
        wait_for(lambda: printer.status()["state"] == "ok")
        assert changes == ["ok", "unknown", "ok"]
    finally:
        printer.close()
        fake.close()


def test_a_printer_that_changes_state_tells_the_server_at_once(monkeypatch):
    """Paper runs out at the next slip: the kiosk's backend sends a heartbeat with the new state
    from its own thread (not the printing thread), so the admin's device page turns red now."""
    import kiosk.printing
    from kiosk.backend import KioskBackend
    from live import wait_for

    monkeypatch.setattr(kiosk.printing, "PROBE_EVERY", 0.2)
    fake = FakePrinter()
    sent: list[tuple[str, str, dict | None]] = []

    def server(method, path, body, token):
        sent.append((method, path, body))
        return 200, {"kind": "device", "role": "kiosk"} if path == "/api/v1/me" else {}

    backend = KioskBackend(token="test-kiosk", transport=server, printer_url=fake.url)
    try:
        backend.status()                                      # asks the printer: unknown → ok
        wait_for(lambda: ("POST", "/api/v1/devices/heartbeat", {"status": {"printer": "ok"}}) in sent)
        fake.paper = "out"
        backend.printer().queue.submit("ticket-1", b"\x1b@A001\n\x1dV\x01")
        wait_for(lambda: backend.printer().status()["state"] == "paper_out")
        wait_for(lambda: ("POST", "/api/v1/devices/heartbeat", {"status": {"printer": "paper_out"}}) in sent)
    finally:
        backend.close()
        fake.close()
