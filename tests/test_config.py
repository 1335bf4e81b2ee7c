"""A wrong hall file stops the server with the file, the line and what is wrong."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import SMALL_HALL
from queue_server.config import ConfigError, load_hall_config

TEXT = SMALL_HALL.read_text(encoding="utf-8")


def broken(tmp_path, old: str, new: str, count: int = 1):
    assert old in TEXT, old
    path = tmp_path / "hall.toml"
    path.write_text(TEXT.replace(old, new, count), encoding="utf-8")
    return path


def line_of(path, needle: str) -> int:
    """The first line holding `needle`; "LAST:" before it asks for the last such line."""
    last = needle.startswith("LAST:")
    needle = needle.removeprefix("LAST:")
    found = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if needle in line]
    assert found, needle
    return found[-1] if last else found[0]


@pytest.mark.parametrize("old,new,needle,words", [
    ('department = "ga"\nprefix = "B"', 'department = "gaa"\nprefix = "B"', 'department = "gaa"', "未知部门"),
    ('prefix = "B"', 'prefix = "BB"', 'prefix = "BB"', "号段"),
    ('promised_days = 5', 'promised_days = "5"', 'promised_days = "5"', "应为整数"),
    ('kind = "即办件"', 'kind = "马上办"', 'kind = "马上办"', "办件类型"),
    ('matters = ["QT00401001"]', 'matters = ["QT99999999"]', 'matters = ["QT99999999"]', "未知事项编码"),
    ('requeue_behind = 2', 'requeue_behind = 2\ncolour = "red"', 'colour = "red"', "未知的配置项"),
    ('number = 7\n', 'number = 6\n', 'LAST:number = 6', "窗口号重复"),
    ('requeue_behind = 2', 'requeue_behind = 2\ncall_repeat_seconds = 900', 'call_repeat_seconds = 900', "重复叫号间隔"),
    ('materials = ["居民身份证（原件）"]', 'materials = ["居民身份证（原件）"]\nmaterials_en = ["ID card", "Photo"]',
     'materials_en', "一一对应"),
    ('requeue_behind = 2', 'requeue_behind = 2\nconsult_phone = "请拨 8888"', 'consult_phone = "请拨 8888"',
     "电话号码"),
    ('kind = "即办件"', 'kind = "即办件"\nprocess = "受理\\n审核"', 'process = "受理', "只写一行"),
])
def test_semantic_errors_name_file_and_line(tmp_path, old, new, needle, words):
    path = broken(tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        load_hall_config(path)
    err = caught.value
    assert err.file == str(path)
    assert err.line == line_of(path, needle.split("\n")[0])
    assert words in err.message
    assert str(err).startswith(f"{path}:{err.line}:")


def test_syntax_error_has_line(tmp_path):
    path = broken(tmp_path, 'name = "户口迁移"', 'name = "户口迁移')
    with pytest.raises(ConfigError) as caught:
        load_hall_config(path)
    assert caught.value.line == line_of(path, 'name = "户口迁移') and "TOML" in caught.value.message


def test_matter_served_by_no_window_is_refused(tmp_path):
    path = broken(tmp_path, 'matters = ["QT00401001"]', 'matters = ["QR00201001"]')
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(', "QT00401001"]', ']'), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_hall_config(path)
    assert "没有任何窗口办理" in caught.value.message


def test_plain_password_refused(tmp_path):
    path = tmp_path / "hall.toml"
    lines = TEXT.splitlines()
    first = next(i for i, l in enumerate(lines) if l.startswith("password_hash"))
    lines[first] = 'password_hash = "demo1234"'
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_hall_config(path)
    assert caught.value.line == first + 1 and "明文" in caught.value.message


def test_server_refuses_to_start_with_bad_config(tmp_path):
    path = broken(tmp_path, 'prefix = "B"', 'prefix = "b"')
    result = subprocess.run([sys.executable, "-m", "queue_server.cli", "serve", "--config", str(path),
                             "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    line = line_of(path, 'prefix = "b"')
    assert f"{path}:{line}: matters[2].prefix" in result.stderr


def test_demo_and_test_halls_are_valid():
    from conftest import DEMO_HALL
    for path in (SMALL_HALL, DEMO_HALL):
        if path.exists():
            load_hall_config(path)


def test_slip_keys_are_read(tmp_path):
    path = broken(tmp_path, 'requeue_behind = 2', 'requeue_behind = 2\nconsult_phone = "0633-8779000转123"')
    text = path.read_text(encoding="utf-8").replace('kind = "即办件"', 'kind = "即办件"\nprocess = "受理→审核→出证"', 1)
    path.write_text(text, encoding="utf-8")
    cfg = load_hall_config(path)
    assert cfg.consult_phone == "0633-8779000转123"
    assert [m.process for m in cfg.matters if m.process] == ["受理→审核→出证"]


def test_server_section_names_a_wrong_proxy_address(tmp_path):
    path = tmp_path / "hall.toml"
    path.write_text(SMALL_HALL.read_text(encoding="utf-8") + '\n[server]\ntrusted_proxies = ["127.0.0.1", "nginx"]\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_hall_config(path)
    assert caught.value.where == "server.trusted_proxies" and "“nginx” 不是 IP 地址或网段" in caught.value.message
    path.write_text(SMALL_HALL.read_text(encoding="utf-8") + '\n[server]\ntrusted_proxies = ["10.0.0.0/8"]\n'
                    'socket_join_seconds = 3\n', encoding="utf-8")
    cfg = load_hall_config(path)
    assert cfg.server == {"trusted_proxies": ["10.0.0.0/8"], "socket_join_seconds": 3}
