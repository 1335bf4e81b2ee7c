"""`hall slip` and `hall print-test` as an administrator runs them."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import SMALL_HALL, HallDriver
from printers.decode import decode, text_lines
from queue_server.app import create_app

ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    return subprocess.run([sys.executable, "-m", "queue_server.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_hall_slip_writes_the_bytes_and_the_picture(tmp_path, clock):
    data = tmp_path / "var"
    app = create_app([SMALL_HALL], f"sqlite:///{data / 'hall.db'}", secret=b"s", clock=clock)
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
