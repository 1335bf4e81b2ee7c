"""How often each of the demo hall's matters is asked for, and how long it takes at the window.

The matters themselves (names, materials, limits) come from `config/demo/hall.toml`; this table
adds what the config does not say: a relative daily volume and the mean service time at the
window (from the clerk's 受理 to 办结), in minutes. 即办 matters that are a card, a form or a
question take 1–3 minutes and make most of a hall's volume; registrations and 承诺件 take 6–8
minutes or more. Service times are lognormal around that mean (a long right tail: the citizen
whose materials are incomplete).

The volumes are chosen so that 100,000 tickets over 600 windows in a 9-hour day (one ticket
per window every 3.2 minutes) is a busy but servable day: the city-wide mean service time is
about 2.5 minutes, i.e. windows about 75 % busy on average and over 100 % in the morning peak.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    weight: float        # relative number of tickets a day
    minutes: float       # mean service time (受理 → 办结)
    sigma: float = 0.5   # lognormal shape: 0.5 is a modest tail, 0.7 a long one


PROFILES: dict[str, Profile] = {
    # 市场监督管理局
    "XK00101001": Profile(1.0, 8.0, 0.6),   # 有限责任公司设立登记
    "XK00101002": Profile(2.0, 5.0),        # 个体工商户登记
    "XK00102001": Profile(0.8, 7.0, 0.6),   # 食品经营许可
    # 公安
    "QR00201001": Profile(1.5, 5.0),        # 户口迁移
    "QR00201002": Profile(1.0, 5.0),        # 出生登记
    "QR00202001": Profile(5.0, 2.0),        # 身份证换领、补领
    "XK00203001": Profile(4.0, 3.0),        # 港澳通行证及签注
    "XK00204001": Profile(3.0, 2.0),        # 驾驶证补换
    # 人社
    "GG00301001": Profile(10.0, 1.5, 0.4),   # 社保卡申领
    "GG00301002": Profile(8.0, 1.5, 0.4),   # 社保卡补换
    "GG00302001": Profile(4.0, 2.5),        # 灵活就业参保
    "JF00303001": Profile(1.5, 3.0),        # 失业保险金
    "JF00304001": Profile(0.8, 8.0, 0.6),   # 退休待遇申领
    # 不动产
    "QR00401001": Profile(1.2, 8.0, 0.7),   # 二手房转移登记（联办）
    "QR00402001": Profile(1.0, 6.0),        # 抵押登记
    "GG00403001": Profile(4.0, 1.5, 0.4),   # 登记资料查询
    # 税务
    "QT00501001": Profile(3.0, 1.5, 0.4),   # 发票领用
    "QT00502001": Profile(4.0, 2.0),        # 代开增值税发票
    "GG00503001": Profile(2.0, 2.5),        # 个税汇算咨询
    # 医保
    "GG00601001": Profile(4.0, 1.5, 0.4),   # 异地就医备案
    "GG00602001": Profile(5.0, 1.5, 0.4),   # 城乡居民医保参保
    "GG00603001": Profile(0.8, 6.0),        # 门诊慢特病认定
    # 公积金
    "GG00701001": Profile(3.0, 2.0),        # 提取（租房）
    "GG00701002": Profile(2.0, 3.0),        # 提取（购房）
    "GG00702001": Profile(0.5, 8.0, 0.6),   # 个人住房贷款
    # 民政
    "QR00801001": Profile(1.0, 7.0),        # 结婚登记
    "QR00802001": Profile(0.4, 8.0),        # 离婚登记
    "JF00803001": Profile(0.6, 7.0, 0.6),   # 最低生活保障（上报）
    # 卫健、残联
    "QR00901001": Profile(0.5, 3.0),        # 出生医学证明补发
    "XK00902001": Profile(0.3, 6.0),        # 医师执业注册
    "QR01001001": Profile(0.6, 6.0),        # 残疾人证
    # 帮办代办、咨询
    "QT01101001": Profile(1.5, 4.0, 0.6),   # 帮办代办（老年人、残疾人）
    "QT01102001": Profile(12.0, 1.0, 0.5),  # 政务服务综合咨询
}

# Which matters each tier of hall offers. A city centre takes everything; a county centre all
# but two matters the city keeps; a township 便民服务中心 the everyday 社保/医保/民政/税务 ones.
TIER_MATTERS: dict[str, set[str] | None] = {
    "city": None,
    "county": set(PROFILES) - {"XK00902001", "GG00702001"},
    "township": {"GG00301001", "GG00301002", "GG00302001", "JF00303001", "GG00601001", "GG00602001",
                 "JF00803001", "QR01001001", "QT00502001", "QT01101001", "QT01102001"},
}

PRIORITY_SHARE = {"elderly": 0.055, "disabled": 0.01, "military": 0.01, "pregnant": 0.005}
NO_SHOW_SHARE = 0.05          # called, never came: the clerk recalls once, then skips
WALK_SECONDS = 20             # from the call to the citizen at the window (受理)
RECALL_SECONDS = 30           # a no-show: recall after this long …
SKIP_SECONDS = 60             # … and skip after this long (from the call)


def matters_for(tier: str, available: list[str]) -> list[str]:
    """The tier's matter codes, in the demo hall's order."""
    keep = TIER_MATTERS[tier]
    return [code for code in available if code in PROFILES and (keep is None or code in keep)]


def service_seconds(rng: random.Random, code: str, scale: float = 1.0) -> float:
    """One draw of a matter's service time; the lognormal's mean is the profile's minutes."""
    p = PROFILES[code]
    mu = math.log(p.minutes * 60 * scale) - p.sigma ** 2 / 2
    return rng.lognormvariate(mu, p.sigma)


def window_seconds(code: str, scale: float = 1.0) -> float:
    """Expected time a ticket of this matter holds a window (call to finish or skip)."""
    served = WALK_SECONDS + PROFILES[code].minutes * 60 * scale
    return (1 - NO_SHOW_SHARE) * served + NO_SHOW_SHARE * SKIP_SECONDS


def draw_priority(rng: random.Random) -> str | None:
    x = rng.random()
    for name, share in PRIORITY_SHARE.items():
        if x < share:
            return name
        x -= share
    return None
