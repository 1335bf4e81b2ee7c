"""The city's halls as config files: one city centre, county centres and township 便民服务中心.

Each hall is a normal hall TOML (schema in `config/README.md`) made from the demo hall's
departments and matters: a tier keeps its subset of matters, windows are shared out between the
departments by expected workload (so no matter's queue is starved by the layout), a few 综合窗口
take the everyday matters in one FIFO queue, and every window has one clerk. Township centres
are 综合窗口 (一窗受理) and one 帮办代办 window, as such small centres are.

The city is made up (东州市, codes 3799xx); matters, materials and limits are the demo hall's.
Daily quotas and last-ticket times are left out, and the per-kiosk rate limit is switched off
(`kiosk_tickets_per_minute = 0`): the servers run on the wall clock, in which the simulated day
passes some fifty times faster, and the bench measures the queue, not the kiosk's refusals.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from queue_server.config import HallConfig
from queue_server.passwords import hash_password

from .matters import PROFILES, matters_for, window_seconds

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo" / "hall.toml"
CALENDAR = ROOT / "config" / "calendar" / "cn.toml"
PASSWORD = "city1234"

CITY_NAME = "东州市"
CITY_CODE = "379900"
COUNTIES = ["东城区", "西城区", "北湖区", "南山区", "青河县", "白石县", "临泉县", "安平县", "永宁县",
            "长乐县", "石门县", "清源县"]
TOWNS = ["城关镇", "河东街道", "河西街道", "新华街道", "张庄镇", "李集镇", "王庄镇", "马店镇", "石桥镇",
         "高桥镇", "大店镇", "白马镇", "青山镇", "桃园镇", "柳林镇", "杨集镇", "双河镇", "三里镇",
         "孙庄镇", "刘集镇", "黄岗镇", "花园乡", "古城镇", "太平镇", "兴隆镇", "龙泉镇", "铁山乡",
         "金沙镇", "泉水乡", "南湖街道", "北关街道", "东关镇", "西坡乡", "庙前镇", "桥头镇", "官庄镇",
         "五里铺镇", "十里镇", "沙河镇", "红星乡", "梨园镇", "枣林乡", "凤凰镇", "卧龙镇", "朝阳街道"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = ["芳", "伟", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
         "超", "秀英", "霞", "平", "刚", "桂英", "建华", "海燕", "晓东", "文斌", "玉兰", "志强", "雪梅", "立新"]

TIER_WINDOWS = {"city": 80, "county": 24, "township": 8}   # 3 in 5 townships have 8, the others 7
TIER_NAMES = {"city": "市级政务服务中心", "county": "县级政务服务中心", "township": "乡镇（街道）便民服务中心"}


@dataclass
class HallPlan:
    tier: str
    code: str
    name: str
    windows: int
    kiosks: list[str] = field(default_factory=list)   # device tokens (plain; the config has hashes)
    path: Path | None = None


def layout(halls: int, sizes: dict[str, int] | None = None) -> list[HallPlan]:
    """1 city centre, about 9 county centres per 50 halls, the rest townships.

    At 50 halls: 80 + 9 × 24 + 24 × 8 + 16 × 7 = 600 windows. `sizes` overrides the windows of
    the city and county centres and the larger townships (a tiny city for a test)."""
    sizes = TIER_WINDOWS | (sizes or {})
    if halls < 1:
        raise ValueError("at least one hall")
    counties = min(len(COUNTIES), max(1 if halls >= 3 else 0, round(halls * 9 / 50)))
    towns = halls - 1 - counties
    plans = [HallPlan("city", f"{CITY_CODE}000", f"{CITY_NAME}政务服务中心", sizes["city"])]
    for i in range(counties):
        plans.append(HallPlan("county", f"{CITY_CODE[:4]}{i + 1:02d}000",
                              f"{CITY_NAME}{COUNTIES[i]}政务服务中心", sizes["county"]))
    for k in range(towns):
        county = k % max(counties, 1)
        town = TOWNS[k % len(TOWNS)] + ("" if k < len(TOWNS) else str(k // len(TOWNS) + 1))
        where = COUNTIES[county] if counties else ""
        plans.append(HallPlan("township", f"{CITY_CODE[:4]}{county + 1:02d}{k + 101:03d}",
                              f"{CITY_NAME}{where}{town}便民服务中心",
                              sizes["township"] - (0 if k % 5 < 3 else 1)))
    for plan in plans:
        n = max(1, plan.windows // 10)
        plan.kiosks = [f"city-kiosk-{plan.code}-{i + 1}" for i in range(n)]
    return plans


def demo_catalogue() -> dict:
    with DEMO.open("rb") as f:
        return tomllib.load(f)


def _share(total: int, weights: dict[str, float]) -> dict[str, int]:
    """`total` places shared by weight, at least one each: each further place goes to whoever
    has the most weight per place so far, so every department's windows are about as busy."""
    if total < len(weights):
        raise ValueError("fewer windows than departments")
    out = {k: 1 for k in weights}
    for _ in range(total - len(weights)):
        busiest = max(out, key=lambda k: weights[k] / out[k])
        out[busiest] += 1
    return out


def plan_windows(tier: str, count: int, matters: list[dict]) -> list[dict]:
    """The hall's [[windows]]: departmental windows by workload, plus 综合窗口 and 帮办代办."""
    codes = [m["code"] for m in matters]
    load = {c: PROFILES[c].weight * window_seconds(c) for c in codes}
    quick = [c for c in sorted(codes, key=lambda c: -load[c]) if PROFILES[c].minutes <= 3]
    helper = ["QT01101001"] + [c for c in codes if c != "QT01101001"] if "QT01101001" in codes else codes
    windows: list[dict] = []
    if tier == "township":
        windows.append({"name": "帮办代办窗口", "matters": helper, "order": "ranked"})
        for _ in range(count - 1):
            windows.append({"name": "综合受理窗口", "matters": codes, "order": "fifo"})
    else:
        general = max(2, round(count * (0.15 if tier == "city" else 0.2)))
        by_department: dict[str, list[str]] = {}
        for m in matters:
            by_department.setdefault(m["department"], []).append(m["code"])
        weights = {d: sum(load[c] for c in cs) for d, cs in by_department.items()}
        shares = _share(count - general, weights)
        names = {"scjg": "商事登记窗口", "ga": "公安综合窗口", "rs": "社会保险窗口", "bdc": "不动产登记窗口",
                 "sw": "税务窗口", "yb": "医疗保障窗口", "gjj": "住房公积金窗口", "mz": "民政窗口",
                 "wsj": "卫生健康窗口", "cl": "残联窗口", "sp": "综合咨询窗口"}
        for department, cs in by_department.items():
            ranked = sorted(cs, key=lambda c: -load[c])
            for k in range(shares[department]):
                turn = k % len(ranked)  # each matter is first at some window of its department
                windows.append({"name": names.get(department, "业务窗口"), "department": department,
                                "matters": ranked[turn:] + ranked[:turn], "order": "ranked"})
        windows.append({"name": "帮办代办窗口（老年人、残疾人绿色通道）", "matters": helper, "order": "ranked"})
        for _ in range(general - 1):
            windows.append({"name": "综合窗口", "matters": quick, "order": "fifo"})
    for number, w in enumerate(windows, start=1):
        w["number"] = number
    return windows


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(type(v))


def _table(name: str, item: dict, array: bool = True) -> str:
    head = f"[[{name}]]" if array else f"[{name}]"
    return "\n".join([head] + [f"{k} = {_value(v)}" for k, v in item.items() if v is not None]) + "\n"


def hall_toml(plan: HallPlan, catalogue: dict, password_hash: str) -> str:
    all_matters = {m["code"]: m for m in catalogue["matters"]}
    codes = matters_for(plan.tier, list(all_matters))
    matters = [{k: v for k, v in all_matters[c].items() if k not in ("daily_quota", "last_ticket_time")}
               for c in codes]
    used = {m["department"] for m in matters}
    departments = [d for d in catalogue["departments"] if d["code"] in used]
    windows = plan_windows(plan.tier, plan.windows, matters)
    hall = {"code": plan.code, "name": plan.name, "complaint_phone": "12345", "base_url": "http://127.0.0.1:8000",
            "calendar": str(CALENDAR), "notice": "办事请携带本人有效身份证件原件。"}
    if "kiosk_tickets_per_minute" in HallConfig.__dataclass_fields__:
        hall["kiosk_tickets_per_minute"] = 0  # compressed time: a wall-clock minute is ~an hour of the day
    parts = [f"# {TIER_NAMES[plan.tier]} — generated by bench/city_day.py (schema: config/README.md)\n",
             _table("hall", hall, array=False)]
    parts += [_table("departments", d) for d in departments]
    parts += [_table("matters", m) for m in matters]
    parts += [_table("windows", w) for w in windows]
    for w in windows:
        n = w["number"]
        seed = int(plan.code) + n
        name = SURNAMES[seed % len(SURNAMES)] + GIVEN[(seed // 7) % len(GIVEN)]
        parts.append(_table("staff", {"username": f"clerk{n:02d}", "name": name,
                                      "staff_no": f"{plan.code[-5:]}{n:03d}", "role": "clerk",
                                      "windows": [n], "password_hash": password_hash}))
    parts.append(_table("staff", {"username": "admin", "name": "管理员", "role": "admin",
                                  "password_hash": password_hash}))
    for i, token in enumerate(plan.kiosks, start=1):
        parts.append(_table("devices", {"name": f"自助取号机{i}", "kind": "kiosk",
                                        "token_sha256": hashlib.sha256(token.encode()).hexdigest()}))
    parts.append(_table("devices", {"name": "大厅综合屏", "kind": "display",
                                    "token_sha256": hashlib.sha256(f"city-display-{plan.code}".encode()).hexdigest()}))
    return "\n".join(parts)


def write_city(halls: int, out_dir: Path, sizes: dict[str, int] | None = None) -> list[HallPlan]:
    """Write one TOML per hall into `out_dir`; the password is hashed once for every clerk."""
    out_dir.mkdir(parents=True, exist_ok=True)
    catalogue = demo_catalogue()
    password_hash = hash_password(PASSWORD)
    plans = layout(halls, sizes)
    for plan in plans:
        plan.path = out_dir / f"{plan.code}.toml"
        plan.path.write_text(hall_toml(plan, catalogue, password_hash), encoding="utf-8")
    return plans
