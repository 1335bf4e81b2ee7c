"""The 一次性补正告知单 at the counter: the clerk ticks the missing materials and the notice comes
out of the window's own printer (`[[windows]] printer`), sent through the same print queue as the
kiosk's slip. Out of paper is said plainly and nothing is half-counted; a window without a
printer is told to print through the browser."""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pytest

from printers.decode import decode, text_lines
from queue_server.app import create_app
from queue_server.clock import FrozenClock
from queue_server.config import ConfigError, load_hall_config

from conftest import SMALL_HALL, HallDriver

sys.path.insert(0, str(Path(__file__).parent / "printers"))
from printer_fakes import TcpPrinter  # noqa: E402

COMPANY = "XK00101001"   # 企业设立登记: 承诺件 with four materials, windows 1 and 2


def with_window_printer(tmp_path: Path, number: int, url: str) -> Path:
    text = SMALL_HALL.read_text(encoding="utf-8")
    head = f"[[windows]]\nnumber = {number}\n"
    assert head in text
    path = tmp_path / "hall.toml"
    path.write_text(text.replace(head, head + f'printer = "{url}"\n', 1), encoding="utf-8")
    return path


@pytest.fixture
def printer():
    fake = TcpPrinter()
    yield fake
    fake.close()


@pytest.fixture
def hall(tmp_path, sqlite_db, printer):
    clock = FrozenClock(datetime(2026, 9, 22, 9, 0))
    app = create_app([with_window_printer(tmp_path, 2, printer.url + "?status_timeout=0.5")],
                     sqlite_db(tmp_path / "hall.db"), secret=b"test-secret", clock=clock)
    yield HallDriver(app.test_client())
    app.extensions["hall"].engine.dispose()


def printed_lines(printer) -> list[str]:
    raw = bytes(printer.model.raw).replace(b"\x10\x04\x01", b"").replace(b"\x10\x04\x04", b"")
    return [line.text for line in text_lines(decode(raw))]


def correct_at(hall, window: int) -> dict:
    hall.issue(COMPANY)
    hall.op(window, "call-next")
    materials = hall.matters[COMPANY]["materials"]
    answer = hall.op(window, "correct", {"missing": [materials[2], materials[0]]})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["case"]


def test_the_notice_prints_on_the_windows_printer(hall, printer):
    case = correct_at(hall, 2)
    materials = hall.matters[COMPANY]["materials"]
    done = hall.c.post(f"/api/v1/cases/{case['id']}/correction-notice/print", json={},
                       headers=hall.headers("clerk02"))
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["outcome"] == "printed" and done.get_json()["window"] == 2
    lines = printed_lines(printer)
    assert "一次性补正告知单" in lines
    assert [t for t in lines if t[:2] in ("1.", "2.", "3.", "4.")] == [f"1. {materials[0]}", f"2. {materials[2]}"]
    assert any(case["number"] in t for t in lines)
    # The audit trail names the case, the window and how it went.
    trail = hall.c.get("/api/v1/supervision/audit?limit=5", headers=hall.headers("supervisor")).get_json()
    printed = [e for e in trail["entries"] if e["action"] == "case.correction_notice_printed"]
    assert printed and printed[0]["detail"]["case_id"] == case["id"] and printed[0]["detail"]["outcome"] == "printed"


def test_out_of_paper_is_said_and_a_window_without_a_printer_prints_in_the_browser(hall, printer):
    case = correct_at(hall, 2)
    printer.model.paper = "out"
    failed = hall.c.post(f"/api/v1/cases/{case['id']}/correction-notice/print", json={},
                         headers=hall.headers("clerk02"))
    assert failed.status_code == 503 and failed.get_json()["error"]["code"] == "printer_failed"
    assert "未能打印" in failed.get_json()["error"]["message"] and "纸" in failed.get_json()["error"]["message"]
    # Window 1 has no printer of its own: the caller falls back to the browser's print dialog.
    elsewhere = hall.c.post(f"/api/v1/cases/{case['id']}/correction-notice/print",
                            json={"window_id": hall.windows[1]["id"]}, headers=hall.headers("clerk01"))
    assert elsewhere.status_code == 409 and elsewhere.get_json()["error"]["code"] == "no_desk_printer"
    # The case itself is untouched by a failed print: still waiting for its materials.
    shown = hall.c.get(f"/api/v1/cases/{case['id']}", headers=hall.headers("clerk02")).get_json()["case"]
    assert shown["status"] == "correction" and len(shown["missing"]) == 2


def test_a_bad_window_printer_address_is_refused_at_load(tmp_path):
    path = with_window_printer(tmp_path, 1, "lpt://1")
    with pytest.raises(ConfigError) as err:
        load_hall_config(path)
    assert "windows" in str(err.value) and "不支持" in str(err.value)
