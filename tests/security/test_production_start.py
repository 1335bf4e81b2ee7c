"""Issue 20.6: `hall serve` is not the demo. It refuses a short secret, and the demo's accounts and
device tokens unless told `--demo`, before it listens on anything."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from queue_server.config import load_hall_config
from queue_server.production import DEMO_CONFIG
from served_hall import ROOT, call, hall_config, run_hall, served


def serve_args(config, tmp_path, *extra):
    return ("serve", "--config", str(config), "--data-dir", str(tmp_path / "data"), "--port", "9", *extra)


def test_a_short_secret_is_refused(tmp_path):
    config = hall_config(tmp_path)
    result = run_hall(*serve_args(config, tmp_path), env={"HALL_SECRET": "hall-2026"})
    assert result.returncode == 2, result.stderr[-2000:]
    assert "密钥太短（9 字节）" in result.stderr and "至少 32 字节" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_short_key_file_is_refused_too(tmp_path):
    config = hall_config(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secret.key").write_text("0123456789abcdef\n")
    env = {k: v for k, v in os.environ.items() if k != "HALL_SECRET"}
    result = subprocess.run([sys.executable, "-m", "queue_server.cli", *serve_args(config, tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2 and "密钥太短（16 字节）" in result.stderr, result.stderr[-2000:]


def _with_demo_leftovers(tmp_path):
    """The small hall whose admin kept the demo admin's password hash and whose first kiosk the
    demo kiosk's token."""
    demo = load_hall_config(DEMO_CONFIG)
    demo_admin = next(p for p in demo.staff if p.username == "admin")
    config = hall_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    ours = load_hall_config(config)
    admin = next(p for p in ours.staff if p.username == "admin")
    kiosk = next(d for d in ours.devices if d.kind == "kiosk")
    text = text.replace(admin.password_hash, demo_admin.password_hash)
    text = text.replace(kiosk.token_sha256, hashlib.sha256(b"demo-kiosk").hexdigest())
    config.write_text(text, encoding="utf-8")
    return config, kiosk.name


def test_the_demo_accounts_and_tokens_are_refused(tmp_path):
    config, kiosk_name = _with_demo_leftovers(tmp_path)
    result = run_hall(*serve_args(config, tmp_path))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "人员 admin 使用演示密码" in result.stderr
    assert f"设备 {kiosk_name} 使用演示令牌" in result.stderr
    assert "--demo" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "hall.db").exists()     # refused before touching the database


def test_with_demo_it_serves_them(tmp_path):
    config, _ = _with_demo_leftovers(tmp_path)
    with served(tmp_path, config, "--demo") as (port, _log):
        status, body = call(port, "POST", "/api/v1/auth/login", {"username": "admin", "password": "demo1234"})
        assert status == 200 and body["staff"]["role"] == "admin"
        matter = call(port, "GET", "/api/v1/matters")[1]["matters"][0]
        assert call(port, "POST", "/api/v1/tickets", {"matter_id": matter["id"]}, token="demo-kiosk")[0] == 201

