"""`hall slip` and `hall print-test` as an administrator runs them."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import SMALL_HALL, HallDriver
from printers.decode import decode, text_lines
from queue_server.app import create_app
from queue_server.clock import Clock

ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    return subprocess.run([sys.executable, "-m", "queue_server.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_hall_slip_writes_the_bytes_and_the_picture(tmp_path, sqlite_db, clock):
    data = tmp_path / "var"
    app = create_app([SMALL_HALL], sqlite_db(data / "hall.db"), secret=b"s", clock=clock)
    ticket = HallDriver(app.test_client()).issue("QR00201001").get_json()["ticket"]
    app.extensions["hall"].engine.dispose()

    raw = run("slip", str(ticket["id"]), "--out", str(tmp_path / "b001.bin"), "--config", str(SMALL_HALL),
              "--data-dir", str(data))
    assert raw.returncode == 0, raw.stderr
    text = "\n".join(line.text for line in text_lines(decode((tmp_path / "b001.bin").read_bytes())))
    assert "B001" in text and "户口迁移" in text and "居民户口簿（原件）" in text

    picture = run("slip", ticket["query_code"], "--out", str(tmp_path / "b001.png"), "--config", str(SMALL_HALL),
                  "--data-dir", str(data), "--reprint")
    assert picture.returncode == 0, picture.stderr
    assert (tmp_path / "b001.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    missing = run("slip", "99999", "--out", str(tmp_path / "x.bin"), "--config", str(SMALL_HALL), "--data-dir", str(data))
    assert missing.returncode == 1 and "没有找到" in missing.stderr


def test_hall_print_test_to_a_file_printer_and_a_bad_url(tmp_path):
    done = run("print-test", "--printer", f"file:{tmp_path / 'test.bin'}")
    assert done.returncode == 0, done.stderr
    assert "测试页已打印" in done.stdout
    assert (tmp_path / "test.bin").read_bytes().startswith(b"\x1b@")
    bad = run("print-test", "--printer", "lpt://nowhere")
    assert bad.returncode != 0 and bad.stderr.strip()


def test_hall_slip_reprints_todays_number_on_the_desk_printer(tmp_path, sqlite_db, clock):
    """At the service desk: `hall slip B001 --printer tcp://…` prints the slip marked 【补打】 on a
    network printer and says it printed; a silent printer is reported, not called printed."""
    sys.path.insert(0, str(ROOT / "tests" / "printers"))
    from printer_fakes import TcpPrinter

    data = tmp_path / "var"
    app = create_app([SMALL_HALL], sqlite_db(data / "hall.db"), secret=b"s", clock=clock)
    ticket = HallDriver(app.test_client()).issue("QR00201001").get_json()["ticket"]
    app.extensions["hall"].engine.dispose()
    assert ticket["number"] == "B001"
    fake = TcpPrinter()
    try:
        # The command runs on the real clock: today's number is looked up on today's date.
        with sqlite3.connect(data / "hall.db") as db:
            db.execute("UPDATE tickets SET day = ? WHERE id = ?", (Clock().now().date().isoformat(), ticket["id"]))
        done = run("slip", "b001", "--printer", fake.url, "--config", str(SMALL_HALL), "--data-dir", str(data))
        assert done.returncode == 0, done.stderr
        assert "已补打 B001" in done.stdout
        lines = [line.text for line in text_lines(decode(bytes(fake.model.raw).replace(b"\x10\x04\x01", b"")
                                                         .replace(b"\x10\x04\x04", b"")))]
        assert "【补打】" in lines and "B001" in lines and any("户口迁移" in s for s in lines)

        # The printer takes the whole slip, then resets: sent, not confirmed, and said so.
        first = bytes(fake.model.raw)
        slip_size = len(first) - 3 * first.count(b"\x10\x04")
        fake.model.reset_after = len(first) + 6 + slip_size
        sent = run("slip", ticket["query_code"], "--printer", fake.url + "?status_timeout=0.3", "--config",
                   str(SMALL_HALL), "--data-dir", str(data))
        assert sent.returncode == 1 and "已送出，但打印机未确认" in sent.stderr, sent.stderr
        assert len(fake.model.raw) == len(first) + 6 + slip_size   # one copy, not two
    finally:
        fake.close()

    wrong = run("slip", "B001", "--out", "tcp://192.0.2.1:9100", "--config", str(SMALL_HALL), "--data-dir", str(data))
    assert wrong.returncode == 1 and "--printer" in wrong.stderr
    assert not Path(ROOT / "tcp:").exists()
    neither = run("slip", "B001", "--config", str(SMALL_HALL), "--data-dir", str(data))
    assert neither.returncode == 2 and "--printer" in neither.stderr
    unknown = run("slip", "Z999", "--printer", fake.url, "--config", str(SMALL_HALL), "--data-dir", str(data))
    assert unknown.returncode == 1 and "没有找到号票 Z999" in unknown.stderr


def test_demo_slip_carries_legal_limit_steps_phones_and_clerk_number(tmp_path, sqlite_db, clock):
    """From the hall config through the database to the slip: 法定时限, 办理流程, 咨询电话, 工号."""
    from queue_server.cli import DEMO_CONFIG
    from queue_server.slips import write_slip
    from queue_server.models import Matter
    from sqlalchemy import select

    app = create_app([DEMO_CONFIG], sqlite_db(tmp_path / "hall.db"), secret=b"s", clock=clock)
    rt = app.extensions["hall"]
    with rt.read() as s:
        food = s.scalar(select(Matter).where(Matter.code == "XK00102001")).id
    reply = app.test_client().post("/api/v1/tickets", json={"matter_id": food},
                                   headers={"Authorization": "Bearer demo-kiosk"})
    assert reply.status_code == 201, reply.get_json()
    ticket = reply.get_json()["ticket"]
    out = write_slip(app, ticket["number"], tmp_path / "slip.bin")   # today's number, on the hall's clock
    text = "".join(line.text.strip() for line in text_lines(decode(out.read_bytes())))
    assert "承诺时限：5个工作日　法定时限：10个工作日" in text
    assert "办理流程：窗口受理→材料审查→现场核查（需要时）→作出决定→领取许可证" in text
    assert "咨询电话：0633-8779000" in text and "投诉电话：12345" in text
    assert "工号DG" in text
    write_slip(app, ticket["number"], ROOT / "tests" / "_artifacts" / "slips" / "demo_food_licence.png")
