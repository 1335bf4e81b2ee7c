"""A generated hall for the benches: as many windows, clerks and devices as a load needs.

The demo hall has 14 windows and three LED strips; 100 windows calling at once, or 500 screens
each with its own token, need a bigger hall. Every window is a 综合窗口 (无差别综合受理) serving
every matter in one FIFO queue, so any window can call any waiting ticket and a window's
call-next never finds its queue empty while tickets wait elsewhere. Open round the clock, so a
bench runs at any hour without special flags, and without the per-kiosk issuing limit: a bench
client issuing hundreds a minute stands for many kiosks.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from queue_server.passwords import hash_password

PASSWORD = "bench1234"

# (code, department, department name, prefix): one prefix per department, as halls number them.
_MATTERS = [
    ("XK00101001", "scjg", "市场监督管理局", "A", "有限责任公司设立登记"),
    ("QR00201001", "ga", "公安分局", "B", "户口迁移"),
    ("GG00301001", "rs", "人力资源和社会保障局", "C", "社会保障卡申领"),
    ("QR00401001", "bdc", "不动产登记中心", "D", "不动产转移登记"),
    ("QT00501001", "sw", "税务局", "E", "发票代开"),
    ("GG00601001", "yb", "医疗保障局", "F", "医保关系转移接续"),
]


@dataclass(frozen=True)
class BenchHall:
    path: Path
    windows: int
    kiosks: list[str]                 # device tokens
    displays: list[str]
    leds: list[str]                   # one per window, index = window number - 1
    raters: list[str]
    admin: str = "admin"
    password: str = PASSWORD

    def clerk(self, window_number: int) -> str:
        return f"clerk{window_number:03d}"

    def screen_tokens(self) -> list[tuple[str, str]]:
        """(kind, token) for every display, LED strip and rating device, interleaved so that any
        prefix of the list is a hall-like mix (one display per two windows' strips and raters)."""
        out: list[tuple[str, str]] = []
        for i in range(max(len(self.displays), len(self.leds))):
            if i < len(self.displays):
                out.append(("display", self.displays[i]))
            if i < len(self.leds):
                out += [("led", self.leds[i]), ("rater", self.raters[i])]
        return out


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_bench_hall(path: Path, windows: int, *, displays: int = 10, kiosks: int = 10) -> BenchHall:
    """Write the hall TOML at `path` and return what a bench needs to speak to it."""
    password_hash = hash_password(PASSWORD)  # one salt for all: a bench
    hall = BenchHall(path=path, windows=windows,
                     kiosks=[f"bench-kiosk-{i:02d}" for i in range(1, kiosks + 1)],
                     displays=[f"bench-display-{i:02d}" for i in range(1, displays + 1)],
                     leds=[f"bench-led-{i:03d}" for i in range(1, windows + 1)],
                     raters=[f"bench-rater-{i:03d}" for i in range(1, windows + 1)])
    lines = ['[hall]', 'code = "370000B01"', 'name = "压测市政务服务中心"', 'base_url = "http://127.0.0.1:8000"',
             'open_time = "00:00"', 'close_time = "24:00"', 'max_tickets_per_id = 0',
             # A bench client stands for many kiosks: one kiosk's 30-a-minute limit would cap it.
             'kiosk_tickets_per_minute = 0', '']
    departments = {}
    for _code, dept, dept_name, _prefix, _name in _MATTERS:
        departments[dept] = dept_name
    for dept, dept_name in departments.items():
        lines += ['[[departments]]', f'code = {_q(dept)}', f'name = {_q(dept_name)}', '']
    for code, dept, _dept_name, prefix, name in _MATTERS:
        lines += ['[[matters]]', f'code = {_q(code)}', f'name = {_q(name)}', f'department = {_q(dept)}',
                  f'prefix = {_q(prefix)}', 'kind = "即办件"', 'materials = ["居民身份证（原件）"]', '']
    all_matters = "[" + ", ".join(_q(m[0]) for m in _MATTERS) + "]"
    for n in range(1, windows + 1):
        lines += ['[[windows]]', f'number = {n}', 'name = "综合窗口"', f'matters = {all_matters}',
                  'order = "fifo"', '']
    for n in range(1, windows + 1):
        lines += ['[[staff]]', f'username = {_q(hall.clerk(n))}', f'name = {_q(f"窗口人员{n}")}',
                  'role = "clerk"', f'windows = [{n}]', f'password_hash = {_q(password_hash)}', '']
    lines += ['[[staff]]', f'username = {_q(hall.admin)}', 'name = "管理员"', 'role = "admin"',
              f'password_hash = {_q(password_hash)}', '']

    def device(name: str, kind: str, token: str, window: int | None = None) -> list[str]:
        out = ['[[devices]]', f'name = {_q(name)}', f'kind = {_q(kind)}',
               f'token_sha256 = {_q(hashlib.sha256(token.encode()).hexdigest())}']
        return out + ([f'window = {window}'] if window else []) + ['']

    for i, token in enumerate(hall.kiosks, 1):
        lines += device(f"自助取号机{i}", "kiosk", token)
    for i, token in enumerate(hall.displays, 1):
        lines += device(f"综合屏{i}", "display", token)
    for n in range(1, windows + 1):
        lines += device(f"{n}号窗口屏", "led", hall.leds[n - 1], n)
        lines += device(f"{n}号窗口评价器", "rater", hall.raters[n - 1], n)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return hall
