"""Hall config files with the wrong types and values, section by section: a string where a number
goes, a list where a table goes, negative quotas, numbers no database column holds, unknown keys
and sections, times like "25:00", hashes that are not hashes. Each stops the load with a
ConfigError naming the file, the line and a Chinese reason; `hall serve` exits 2 on one."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import SMALL_HALL
from queue_server.config import ConfigError, load_hall_config

TEXT = SMALL_HALL.read_text(encoding="utf-8")
HASH = re.search(r'password_hash = "([^"]+)"', TEXT)[1]
# An older kind of hash (werkzeug's scrypt, which `hall hash-password` made before Argon2id): still valid.
OLD_HASH = ("scrypt:32768:8:1$Z8bsmruNNh6FpgL2$543755d0144d43b9cdd534b5e450b723c2b30e291b899f0364466eee7e37db08"
            "ef9ba67e495ea28a14e43ae2338c95841862911cb788328e2440cc893574d098")
RATER_HASH = "b33e5ae68d6605667ee6aba64cc41e6c666910981e80638a48a610f9343baee6"
CJK = re.compile(r"[\u4e00-\u9fff]")
LAST = "LAST:"

# (what, old text, new text, the line's text (LAST: its last occurrence, #N: its Nth), words in the reason);
# old None appends new, a callable old rewrites the whole text.
CASES = [
    # [hall]
    ("hall code a number", 'code = "370000T01"', "code = 370000", "code = 370000", "应为文字"),
    ("hall name a table", 'name = "测试市政务服务中心"', "name = { zh = \"中心\" }", "name = { zh", "应为文字"),
    ("notice a list", 'notice = "请携带身份证件"', 'notice = ["请携带身份证件"]', "notice = [", "应为文字"),
    ("requeue_behind a string", "requeue_behind = 2", 'requeue_behind = "2"', 'requeue_behind = "2"', "应为整数"),
    ("requeue_behind a float", "requeue_behind = 2", "requeue_behind = 2.5", "requeue_behind = 2.5", "应为整数"),
    ("requeue_behind a boolean", "requeue_behind = 2", "requeue_behind = true", "requeue_behind = true", "应为整数"),
    ("requeue_behind negative", "requeue_behind = 2", "requeue_behind = -1", "requeue_behind = -1", "不能为负数"),
    ("requeue_behind beyond a database integer", "requeue_behind = 2", "requeue_behind = 9223372036854775807",
     "requeue_behind = 922", "数值过大"),
    ("open_time 25:00", "requeue_behind = 2", 'requeue_behind = 2\nopen_time = "25:00"', 'open_time = "25:00"',
     "不是有效的时间"),
    ("close_time 17:60", "requeue_behind = 2", 'requeue_behind = 2\nclose_time = "17:60"', 'close_time = "17:60"',
     "不是有效的时间"),
    ("open_time a TOML time", "requeue_behind = 2", "requeue_behind = 2\nopen_time = 08:30:00", "open_time = 08:30",
     "HH:MM"),
    ("deadline_time words", "requeue_behind = 2", 'requeue_behind = 2\ndeadline_time = "下午五点"',
     'deadline_time = "下午五点"', "HH:MM"),
    ("close before open", "requeue_behind = 2", 'requeue_behind = 2\nclose_time = "08:00"', 'close_time = "08:00"',
     "下班时间应晚于上班时间"),
    ("unknown hall key", "requeue_behind = 2", "requeue_behind = 2\nmax_queue = 9", "max_queue = 9", "未知的配置项"),
    ("hall an array of tables", "[hall]", "[[hall]]", "[[hall]]", "[hall]"),
    # [ratings] and [supervision]
    ("ratings link_days a string", None, '[ratings]\nlink_days = "7"', 'link_days = "7"', "应为整数"),
    ("ratings follow_up_days beyond ten years", None, "[ratings]\nfollow_up_days = 99999999",
     "follow_up_days = 99999999", "数值过大"),
    ("ratings device_seconds beyond a day", None, "[ratings]\ndevice_seconds = 86401", "device_seconds = 86401",
     "数值过大"),
    ("ratings default_level 9", None, "[ratings]\ndefault_level = 9", "default_level = 9", "默认评价等级"),
    ("ratings sms_gateway a number", None, "[ratings]\nsms_gateway = 5", "sms_gateway = 5", "应为文字"),
    ("ratings unknown key", None, "[ratings]\nstars = 5", "stars = 5", "未知的配置项"),
    ("ratings an array of tables", None, "[[ratings]]\nlink_days = 7", "[[ratings]]", "应写成 [ratings] 表"),
    ("supervision yellow_days a string", None, '[supervision]\nyellow_days = "1"', 'yellow_days = "1"', "不小于 0"),
    ("supervision yellow_days negative", None, "[supervision]\nyellow_days = -1.0", "yellow_days = -1.0", "不小于 0"),
    ("supervision yellow_share 2", None, "[supervision]\nyellow_share = 2", "yellow_share = 2", "黄灯比例"),
    ("supervision check_seconds 0", None, "[supervision]\ncheck_seconds = 0", "check_seconds = 0", "至少 1 秒"),
    ("supervision a list", "[hall]", "supervision = [1, 2]\n[hall]", "supervision = [1, 2]", "应写成 [supervision] 表"),
    # [[departments]]
    ("department code a number", 'code = "ga"', "code = 12", "code = 12", "应为文字"),
    ("department name empty", 'name = "公安局"', 'name = "  "', 'name = "  "', "不能为空"),
    ("departments a list of codes", lambda text: 'departments = ["scjg", "ga", "rs", "sw"]\n' + re.sub(
        r'\[\[departments\]\]\ncode = "\w+"\nname = "[^"]+"\n', "", text), None, "departments = [", "[[departments]]"),
    ("department code twice", 'code = "sw"', 'code = "ga"', 'LAST:code = "ga"', "部门编码重复"),
    # [[matters]]
    ("materials a string", 'materials = ["居民身份证（原件）"]', 'materials = "居民身份证（原件）"',
     'materials = "居民身份证（原件）"', "应为列表"),
    ("materials of numbers", 'materials = ["居民身份证（原件）"]', "materials = [1, 2]", "materials = [1, 2]", "应为文字"),
    ("daily_quota negative", 'prefix = "C"', 'prefix = "C"\ndaily_quota = -5', "daily_quota = -5", "不能为负数"),
    ("daily_quota a float", 'prefix = "C"', 'prefix = "C"\ndaily_quota = 1.5', "daily_quota = 1.5", "应为整数"),
    ("last_ticket_time 25:00", 'prefix = "C"', 'prefix = "C"\nlast_ticket_time = "25:00"',
     'last_ticket_time = "25:00"', "不是有效的时间"),
    ("promised_days beyond legal_days", "promised_days = 3", "promised_days = 30", "promised_days = 30",
     "不能长于法定时限"),
    ("legal_days negative", "legal_days = 15", "legal_days = -15", "legal_days = -15", "不能为负数"),
    ("prefix a digit", 'prefix = "E"', 'prefix = "1"', 'prefix = "1"', "号段"),
    ("unknown matter key", 'prefix = "E"', 'prefix = "E"\nurl = "http://x"', 'url = "http://x"', "未知的配置项"),
    # [[windows]]
    ("window number a string", "number = 7\n", 'number = "7"\n', 'number = "7"', "应为整数"),
    ("window number 0", "number = 7\n", "number = 0\n", "number = 0", "从 1 开始"),
    ("window number beyond a database integer", "number = 7\n", "number = 4294967296\n", "number = 4294967296",
     "数值过大"),
    ("window matters a string", 'matters = ["QT00401001"]', 'matters = "QT00401001"', 'matters = "QT00401001"',
     "应为列表"),
    ("window matters empty", 'matters = ["QT00401001"]', "matters = []", "matters = []", "至少要办理一个事项"),
    ("window order random", 'order = "fifo"', 'order = "random"', 'order = "random"', "叫号顺序"),
    ("window department a number", 'department = "sw"\nmatters', "department = 4\nmatters", "department = 4", "应为文字"),
    # [[staff]]
    ("staff windows a number", "windows = [3]", "windows = 3", "windows = 3", "应为列表"),
    ("staff windows with a string", "windows = [3]", 'windows = [3, "4"]', 'windows = [3, "4"]', "应为整数"),
    ("staff window that does not exist", "windows = [3]", "windows = [99]", "windows = [99]", "没有 99 号窗口"),
    ("staff role root", 'role = "supervisor"', 'role = "root"', 'role = "root"', "角色应为"),
    ("staff username twice", 'username = "clerk02"', 'username = "clerk01"', 'LAST:username = "clerk01"',
     "用户名重复"),
    ("password in plain text", f'password_hash = "{HASH}"', 'password_hash = "test1234"', 'password_hash = "test1234"',
     "明文"),
    ("password hash cut short", f'password_hash = "{HASH}"', f'password_hash = "{HASH[:30]}"',
     f'password_hash = "{HASH[:30]}"', "完整哈希"),
    ("password hash with too little memory", f'password_hash = "{HASH}"',
     f'password_hash = "{HASH.replace("m=19456", "m=64")}"', 'password_hash = "$argon2id$v=19$m=64,', "argon2id 参数"),
    ("older password hash with a bad scrypt N", f'password_hash = "{HASH}"',
     f'password_hash = "{OLD_HASH.replace("scrypt:32768", "scrypt:30000")}"', 'password_hash = "scrypt:30000',
     "scrypt 参数"),
    ("password hash of another kind", f'password_hash = "{HASH}"',
     'password_hash = "md5$abc$0123456789abcdef0123456789abcdef"', 'password_hash = "md5$', "完整哈希"),
    # [[devices]]
    ("token hash in capitals", 'token_sha256 = "d6335ff4', 'token_sha256 = "D6335FF4', 'token_sha256 = "D6335FF4',
     "64 位十六进制"),
    ("token hash too short", 'token_sha256 = "d6335ff4027fd8b096d53c9f6f1122ffdf23f229d222fe83738720d07ddb2c0d"',
     'token_sha256 = "d6335ff4"', 'token_sha256 = "d6335ff4"', "64 位十六进制"),
    ("token hash a number", 'token_sha256 = "d6335ff4027fd8b096d53c9f6f1122ffdf23f229d222fe83738720d07ddb2c0d"',
     "token_sha256 = 12345", "token_sha256 = 12345", "应为文字"),
    ("device kind printer", 'kind = "display"', 'kind = "printer"', 'kind = "printer"', "设备类型"),
    ("device window a string", "window = 1\n\n[[devices]]\nname = \"1号窗口屏\"",
     "window = \"1\"\n\n[[devices]]\nname = \"1号窗口屏\"", 'window = "1"', "应为整数"),
    ("rater without a window", f'kind = "rater"\ntoken_sha256 = "{RATER_HASH}"\nwindow = 1',
     f'kind = "rater"\ntoken_sha256 = "{RATER_HASH}"', "[[devices]]#3", "必须写所属窗口"),
    # the file
    ("unknown section", None, "[extras]\ncolour = \"red\"", "[extras]", "未知的配置段"),
]


def write(tmp_path, old, new: str | None):
    """The test hall with `old` replaced by `new` (`old` None: `new` appended; callable: applied)."""
    if callable(old):
        text = old(TEXT)
    elif old is None:
        text = TEXT.rstrip("\n") + "\n\n" + new + "\n"
    else:
        assert old in TEXT, old
        text = TEXT.replace(old, new, 1)
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    last = needle.startswith(LAST)
    needle, _, nth = needle.removeprefix(LAST).partition("#")
    found = [n for n, line in enumerate(lines, start=1) if needle in line]
    assert found, needle
    return found[-1] if last else found[int(nth or 1) - 1]


@pytest.mark.parametrize("what,old,new,needle,words", CASES, ids=[c[0] for c in CASES])
def test_a_wrong_config_names_file_line_and_reason(tmp_path, what, old, new, needle, words):
    path = write(tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        load_hall_config(path)
    err = caught.value
    assert err.file == str(path)
    assert err.line == line_of(path, needle), (str(err), needle)
    assert words in err.message, str(err)
    assert CJK.search(err.message), str(err)
    assert str(err).startswith(f"{path}:{err.line}:")


def test_a_file_that_is_not_utf8_is_named_with_its_line(tmp_path):
    path = tmp_path / "hall.toml"
    path.write_bytes(TEXT.encode("gb18030"))
    with pytest.raises(ConfigError) as caught:
        load_hall_config(path)
    assert "UTF-8" in caught.value.message and str(caught.value).startswith(f"{path}:")


def test_hall_serve_exits_2_on_a_wrong_type(tmp_path):
    path = write(tmp_path, None, '[ratings]\nlink_days = "7"')
    result = subprocess.run([sys.executable, "-m", "queue_server.cli", "serve", "--config", str(path),
                             "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"{path}:{line_of(path, 'link_days')}: ratings.link_days: 应为整数" in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
