"""The hall description (TOML) and its checks.

A hall's config is written by hand by the hall's IT staff. A mistake must stop the server at
start with the file, the line and what is wrong, in Chinese, rather than surface later as a
window that calls nobody. The schema is documented in `config/README.md`.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

from printers.connectors import connect

from . import passwords

KINDS = ("即办件", "承诺件", "联办件", "上报件")
ROLES = ("clerk", "supervisor", "admin")
DEVICE_KINDS = ("kiosk", "display", "led", "rater")
WINDOW_ORDERS = ("ranked", "fifo")


class ConfigError(ValueError):
    def __init__(self, file: str, line: int, where: str, message: str):
        self.file, self.line, self.where, self.message = file, line, where, message
        super().__init__(f"{file}:{line}: {where}: {message}" if where else f"{file}:{line}: {message}")


@dataclass
class Department:
    code: str
    name: str
    name_en: str = ""


@dataclass
class Matter:
    code: str
    name: str
    department: str
    prefix: str
    kind: str
    promised_days: int = 0
    legal_days: int = 0
    materials: list[str] = field(default_factory=list)
    fees: str = "不收费"
    description: str = ""
    process: str = ""            # 办理流程, one line on the slip
    pinyin: str = ""
    daily_quota: int = 0
    last_ticket_time: time | None = None
    # English for the kiosk's English mode; empty: the page shows the Chinese.
    name_en: str = ""
    materials_en: list[str] = field(default_factory=list)
    description_en: str = ""


@dataclass
class Window:
    number: int
    name: str
    matters: list[str]
    department: str | None = None
    order: str = "ranked"
    printer: str = ""            # the window's desk printer (一次性补正告知单); none: the browser prints


@dataclass
class Staff:
    username: str
    name: str
    role: str
    password_hash: str
    staff_no: str = ""
    windows: list[int] = field(default_factory=list)


@dataclass
class Device:
    name: str
    kind: str
    token_sha256: str
    window: int | None = None
    printer: str = ""


@dataclass
class HallConfig:
    code: str
    name: str
    source: str
    complaint_phone: str = "12345"
    consult_phone: str = ""      # 咨询电话 on the slip; none printed when empty
    base_url: str = "http://127.0.0.1:8000"
    deadline_time: time = time(17, 30)
    open_time: time = time(8, 30)
    close_time: time = time(17, 30)
    # When the day's leftover tickets close as 未办理 (日终); None: at close_time. At the latest at midnight.
    day_close_time: time | None = None
    requeue_behind: int = 3
    max_tickets_per_id: int = 3
    # Rate limits (0 = none): a kiosk's issuing requests per minute (a runaway script, not a
    # queue of people, prints faster), and tickets one ID number may take within a few minutes.
    kiosk_tickets_per_minute: int = 30
    id_burst_tickets: int = 3
    id_burst_minutes: int = 10
    notice: str = ""
    call_repeat_seconds: int = 30   # the hall TV says a call again once after this, if nobody came (0: never)
    window_idle_minutes: int = 30   # a signed-in window with no operation this long closes (0: never); staffing.py
    elderly_age: int = 60           # 老年人 priority: the age the ID number must show
    # Host names this server answers to besides base_url's and loopback (queue_server/public_url.py).
    allowed_hosts: list[str] = field(default_factory=list)
    # Query-code tries (progress look-ups, web ratings) one client address may make per minute (0: none).
    lookups_per_minute: int = 30
    calendar: Path | None = None
    ratings: dict = field(default_factory=dict)       # [ratings]: 好差评 defaults and deadlines
    supervision: dict = field(default_factory=dict)   # [supervision]: warning thresholds
    server: dict = field(default_factory=dict)        # [server]: proxies and socket limits (first hall's)
    departments: list[Department] = field(default_factory=list)
    matters: list[Matter] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    staff: list[Staff] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)


# --- reading -------------------------------------------------------------------------------


class _Locator:
    """Maps a path such as ("matters", 3, "department") to its line in the TOML text."""

    _header = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
    _key = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")

    def __init__(self, text: str):
        self.blocks: list[tuple[str, int, int, dict[str, int]]] = []  # (table, index, line, keys)
        counts: dict[str, int] = {}
        current = ("", 0, 1, {})
        self.blocks.append(current)
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._header.match(line)
            if header:
                name = header.group(2)
                if header.group(1) == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                else:
                    index = 0
                current = (name, index, number, {})
                self.blocks.append(current)
                continue
            key = self._key.match(line)
            if key:
                current[3].setdefault(key.group(1), number)

    def line(self, table: str, index: int = 0, key: str | None = None) -> int:
        for name, idx, line, keys in self.blocks:
            if name == table and idx == index:
                return keys.get(key, line) if key else line
        return self.blocks[0][3].get(table, 1)   # written as a top-level key (`ratings = [...]`)


class _Reader:
    def __init__(self, path: Path, text: str):
        self.path, self.loc = path, _Locator(text)

    def fail(self, table: str, index: int | None, key: str | None, message: str):
        where = table if index is None else f"{table}[{index}]"
        if key:
            where = f"{where}.{key}"
        raise ConfigError(str(self.path), self.loc.line(table, index or 0, key), where, message)

    def take(self, table: str, index: int | None, item: dict, spec: dict, required: set[str]):
        """Check one table against {key: type} and return its values."""
        for key in item:
            if key not in spec:
                self.fail(table, index, key, f"未知的配置项 “{key}”，可用的有：{', '.join(spec)}")
        for key in required:
            if key not in item:
                self.fail(table, index, None, f"缺少必填项 “{key}”")
        out = {}
        for key, kind in spec.items():
            if key not in item:
                continue
            value = item[key]
            out[key] = self.convert(table, index, key, value, kind)
        return out

    def convert(self, table, index, key, value, kind):
        if kind == "str":
            if not isinstance(value, str):
                self.fail(table, index, key, f"应为文字（带引号的字符串），实际是 {value!r}")
            if key in ("code", "name", "username", "prefix") and not value.strip():
                self.fail(table, index, key, "不能为空")
            return value.strip() if key != "notice" else value
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                self.fail(table, index, key, f"应为整数，实际是 {value!r}")
            if value < 0:
                self.fail(table, index, key, f"不能为负数：{value}")
            if value > _int_limit(key):
                self.fail(table, index, key, f"数值过大：{value}（最大 {_int_limit(key)}）")
            return value
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                self.fail(table, index, key, f"应为不小于 0 的数，实际是 {value!r}")
            return float(value)
        if kind == "time":
            if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}", value):
                self.fail(table, index, key, f"应为 \"HH:MM\" 格式的时间，实际是 {value!r}")
            if value == "24:00" and key in ("close_time", "day_close_time"):
                return time.max  # open until midnight
            hours, minutes = map(int, value.split(":"))
            if hours > 23 or minutes > 59:
                self.fail(table, index, key, f"不是有效的时间：{value}")
            return time(hours, minutes)
        if kind in ("list[str]", "list[int]"):
            inner = kind[5:-1]
            if not isinstance(value, list):
                self.fail(table, index, key, f"应为列表 [...]，实际是 {value!r}")
            for element in value:
                ok = isinstance(element, str) if inner == "str" else (
                    isinstance(element, int) and not isinstance(element, bool))
                if not ok:
                    self.fail(table, index, key, f"列表中的 {element!r} 应为{'文字' if inner == 'str' else '整数'}")
            return list(value)
        raise AssertionError(kind)

    def tables(self, data: dict, name: str) -> list[dict]:
        items = data.get(name, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            self.fail(name, None, None, f"应写成 [[{name}]] 表数组")
        return items


_HALL = {"code": "str", "name": "str", "complaint_phone": "str", "consult_phone": "str", "base_url": "str",
         "deadline_time": "time", "open_time": "time", "close_time": "time", "day_close_time": "time",
         "requeue_behind": "int", "max_tickets_per_id": "int", "notice": "str", "calendar": "str",
         "kiosk_tickets_per_minute": "int", "id_burst_tickets": "int", "id_burst_minutes": "int",
         "call_repeat_seconds": "int", "window_idle_minutes": "int", "elderly_age": "int"}
_HALL |= {"allowed_hosts": "list[str]", "lookups_per_minute": "int"}
_RATINGS = {"default_after_days": "int", "default_level": "int", "follow_up_days": "int",
            "device_seconds": "int", "link_days": "int", "sms_gateway": "str", "sms_sign": "str",
            "sms_per_phone_per_day": "int", "sms_per_hall_per_minute": "int"}
_RATINGS |= {"web_days": "int"}
_SERVER = {"trusted_proxies": "list[str]", "socket_join_seconds": "int", "sockets_per_address": "int",
           "sockets_total": "int"}
_SUPERVISION = {"yellow_days": "float", "yellow_share": "float", "check_seconds": "int"}
_DEPARTMENT = {"code": "str", "name": "str", "name_en": "str"}
_MATTER = {"code": "str", "name": "str", "department": "str", "prefix": "str", "kind": "str",
           "promised_days": "int", "legal_days": "int", "materials": "list[str]", "fees": "str",
           "description": "str", "process": "str", "pinyin": "str", "daily_quota": "int",
           "last_ticket_time": "time", "name_en": "str", "materials_en": "list[str]", "description_en": "str"}
_WINDOW = {"number": "int", "name": "str", "department": "str", "matters": "list[str]", "order": "str",
           "printer": "str"}
_STAFF = {"username": "str", "name": "str", "staff_no": "str", "role": "str", "windows": "list[int]",
          "password_hash": "str"}
_DEVICE = {"name": "str", "kind": "str", "token_sha256": "str", "window": "int", "printer": "str"}

PHONE = re.compile(r"\d[\d-]{2,19}(转\d{1,6})?")
PROCESS_MAX = 60
_INT_MAX = 2**31 - 1   # a database INTEGER column (PostgreSQL) holds no more


def _int_limit(key: str) -> int:
    """Day and second counts feed date arithmetic and waits: ten years, one day at most."""
    return 3650 if key.endswith("_days") else 86_400 if key.endswith("_seconds") else _INT_MAX


DEFAULT_CALENDAR = Path(__file__).resolve().parent.parent / "config" / "calendar" / "cn.toml"


def load_hall_config(path: str | Path) -> HallConfig:
    """Read and check a hall file; raise ConfigError naming the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), 0, "", "找不到配置文件") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), 1, "", f"配置文件不是 UTF-8 编码：{exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ConfigError(str(path), int(match.group(1)) if match else 1, "",
                          f"TOML 语法错误：{exc}") from None
    return _check(_Reader(path, text), data, path)


def _unique(r: _Reader, table: str, items: list, key: str, message: str):
    seen = set()
    for index, item in enumerate(items):
        value = getattr(item, key)
        if value in seen:
            r.fail(table, index, key, f"{message}重复：{value}")
        seen.add(value)


def _check_server(r: _Reader, server: dict) -> None:
    import ipaddress
    for entry in server.get("trusted_proxies", []):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            r.fail("server", None, "trusted_proxies", f"“{entry}” 不是 IP 地址或网段（如 127.0.0.1、10.0.0.0/8）")
    if server.get("socket_join_seconds") == 0:
        r.fail("server", None, "socket_join_seconds", "至少 1 秒：连接后须在此时间内用令牌加入大厅")
    for key in ("sockets_per_address", "sockets_total"):
        if server.get(key) == 0:
            r.fail("server", None, key, "至少 1 个连接")


def _check(r: _Reader, data: dict, path: Path) -> HallConfig:
    known = {"hall", "departments", "matters", "windows", "staff", "devices", "ratings", "supervision", "server"}
    for key in data:
        if key not in known:
            r.fail(key, None, None, f"未知的配置段 [{key}]，可用的有：{', '.join(sorted(known))}")
    if not isinstance(data.get("hall"), dict):
        r.fail("hall", None, None, "缺少 [hall] 段（大厅编码和名称）")
    hall = r.take("hall", None, data["hall"], _HALL, {"code", "name"})
    calendar = hall.pop("calendar", None)
    cfg = HallConfig(source=str(path), **hall)
    cfg.calendar = (path.parent / calendar).resolve() if calendar else DEFAULT_CALENDAR
    if cfg.open_time >= cfg.close_time:
        r.fail("hall", None, "close_time", "下班时间应晚于上班时间")
    for key in ("complaint_phone", "consult_phone"):
        phone = getattr(cfg, key)
        if phone and not PHONE.fullmatch(phone):
            r.fail("hall", None, key, f"电话号码“{phone}”格式不对：只用数字和“-”，如 0633-8888888、12345，分机写“转123”")
    if cfg.id_burst_tickets and not cfg.id_burst_minutes:
        r.fail("hall", None, "id_burst_minutes", "限制同一身份证号码短时间内取号时，须写时间段分钟数（大于 0）")
    if cfg.call_repeat_seconds > 600:
        r.fail("hall", None, "call_repeat_seconds", "重复叫号间隔最长 600 秒（0 表示不重复）")
    if cfg.id_burst_minutes > 24 * 60:
        r.fail("hall", None, "id_burst_minutes", "时间段最长 1440 分钟（一天）；按天限制请用 max_tickets_per_id")
    for name, spec in (("ratings", _RATINGS), ("supervision", _SUPERVISION), ("server", _SERVER)):
        section = data.get(name, {})
        if not isinstance(section, dict):
            r.fail(name, None, None, f"应写成 [{name}] 表")
        setattr(cfg, name, r.take(name, None, section, spec, set()))
    _check_server(r, cfg.server)
    level = cfg.ratings.get("default_level")
    if level is not None and not 1 <= level <= 5:
        r.fail("ratings", None, "default_level", "默认评价等级应为 1（非常不满意）到 5（非常满意）")
    if cfg.supervision.get("check_seconds") == 0:
        r.fail("supervision", None, "check_seconds", "检查间隔至少 1 秒（0 会让检查不停地运行）")
    share = cfg.supervision.get("yellow_share")
    if share is not None and share > 1:
        r.fail("supervision", None, "yellow_share", "黄灯比例应在 0 到 1 之间，如 0.2 表示剩余 20%")

    for i, item in enumerate(r.tables(data, "departments")):
        cfg.departments.append(Department(**r.take("departments", i, item, _DEPARTMENT, {"code", "name"})))
    _unique(r, "departments", cfg.departments, "code", "部门编码")
    if not cfg.departments:
        r.fail("departments", None, None, "至少需要一个 [[departments]]")
    departments = {d.code for d in cfg.departments}

    for i, item in enumerate(r.tables(data, "matters")):
        values = r.take("matters", i, item, _MATTER, {"code", "name", "department", "prefix", "kind"})
        matter = Matter(**values)
        if matter.department not in departments:
            r.fail("matters", i, "department", f"未知部门 “{matter.department}”")
        if not re.fullmatch(r"[A-Z]", matter.prefix):
            r.fail("matters", i, "prefix", f"号段应为一个大写字母 A–Z，实际是 “{matter.prefix}”")
        if matter.kind not in KINDS:
            r.fail("matters", i, "kind", f"办件类型应为 {' / '.join(KINDS)} 之一，实际是 “{matter.kind}”")
        if matter.kind != "即办件" and "promised_days" not in values:
            r.fail("matters", i, None, f"{matter.kind}必须写承诺时限 promised_days（工作日）")
        if matter.legal_days and matter.promised_days > matter.legal_days:
            r.fail("matters", i, "promised_days", "承诺时限不能长于法定时限")
        if matter.materials_en and len(matter.materials_en) != len(matter.materials):
            r.fail("matters", i, "materials_en", f"英文材料清单应与 materials 一一对应：materials 有 "
                   f"{len(matter.materials)} 项，materials_en 有 {len(matter.materials_en)} 项")
        if "\n" in matter.process or len(matter.process) > PROCESS_MAX:
            r.fail("matters", i, "process", f"办理流程印在告知单上，只写一行、不超过 {PROCESS_MAX} 个字，"
                   "如 “窗口受理→审核→办结出证”")
        cfg.matters.append(matter)
    _unique(r, "matters", cfg.matters, "code", "事项编码")
    if not cfg.matters:
        r.fail("matters", None, None, "至少需要一个 [[matters]]")
    matters = {m.code for m in cfg.matters}

    for i, item in enumerate(r.tables(data, "windows")):
        window = Window(**r.take("windows", i, item, _WINDOW, {"number", "name", "matters"}))
        if window.number < 1:
            r.fail("windows", i, "number", "窗口号应从 1 开始")
        if window.department is not None and window.department not in departments:
            r.fail("windows", i, "department", f"未知部门 “{window.department}”")
        if window.order not in WINDOW_ORDERS:
            r.fail("windows", i, "order", f"叫号顺序应为 {' / '.join(WINDOW_ORDERS)}，实际是 “{window.order}”")
        if not window.matters:
            r.fail("windows", i, "matters", "窗口至少要办理一个事项")
        if window.printer:
            try:
                connect(window.printer)
            except ValueError as exc:
                r.fail("windows", i, "printer", str(exc))
        for code in window.matters:
            if code not in matters:
                r.fail("windows", i, "matters", f"未知事项编码 “{code}”")
        if len(set(window.matters)) != len(window.matters):
            r.fail("windows", i, "matters", "事项编码重复")
        cfg.windows.append(window)
    _unique(r, "windows", cfg.windows, "number", "窗口号")
    served = {code for w in cfg.windows for code in w.matters}
    for i, matter in enumerate(cfg.matters):
        if matter.code not in served:
            r.fail("matters", i, "code", f"事项 “{matter.name}” 没有任何窗口办理，请在某个 [[windows]] 的 matters 中加入 “{matter.code}”")
    numbers = {w.number for w in cfg.windows}

    for i, item in enumerate(r.tables(data, "staff")):
        staff = Staff(**r.take("staff", i, item, _STAFF, {"username", "name", "role", "password_hash"}))
        if staff.role not in ROLES:
            r.fail("staff", i, "role", f"角色应为 {' / '.join(ROLES)}，实际是 “{staff.role}”")
        problem = passwords.problem(staff.password_hash)
        if problem:
            r.fail("staff", i, "password_hash", problem)
        for number in staff.windows:
            if number not in numbers:
                r.fail("staff", i, "windows", f"没有 {number} 号窗口")
        cfg.staff.append(staff)
    _unique(r, "staff", cfg.staff, "username", "用户名")

    for i, item in enumerate(r.tables(data, "devices")):
        device = Device(**r.take("devices", i, item, _DEVICE, {"name", "kind", "token_sha256"}))
        if device.kind not in DEVICE_KINDS:
            r.fail("devices", i, "kind", f"设备类型应为 {' / '.join(DEVICE_KINDS)}，实际是 “{device.kind}”")
        if not re.fullmatch(r"[0-9a-f]{64}", device.token_sha256):
            r.fail("devices", i, "token_sha256", "应为 64 位十六进制 SHA-256（hall hash-token 生成）")
        if device.kind in ("led", "rater") and device.window is None:
            r.fail("devices", i, None, f"{device.kind} 设备必须写所属窗口 window")
        if device.window is not None and device.window not in numbers:
            r.fail("devices", i, "window", f"没有 {device.window} 号窗口")
        cfg.devices.append(device)
    _unique(r, "devices", cfg.devices, "name", "设备名称")
    _unique(r, "devices", cfg.devices, "token_sha256", "设备令牌")
    return cfg
