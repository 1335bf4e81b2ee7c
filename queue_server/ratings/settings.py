"""Per-hall rating rules with the defaults the national texts suggest (DOMAIN §1).

Provinces differ (Guangxi: unrated after 7 natural days → 非常满意; Guangdong → 基本满意), so
every number here is a hall setting. Until the hall file has a `[ratings]` table, a hall config
may carry a `ratings` dict attribute (tests set it); missing keys take these defaults.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ..runtime import Runtime


@dataclass(frozen=True)
class RatingSettings:
    default_after_days: int = 7      # natural days after 办结 without a rating → default rating
    default_level: int = 5           # 5 非常满意 (Guangxi); Guangdong uses 3 基本满意
    follow_up_days: int = 5          # 差评 follow-up deadline, in working days
    device_seconds: int = 300        # a rating device may rate its window's last case this long after 办结
    link_days: int = 7               # an SMS rating link expires after this many natural days
    web_days: int = 7                # the QR page rates a node for this many natural days after it
    sms_gateway: str = "outbox:"     # outbox: | http(s)://… | smpp://user:pass@host:port?source=…
    sms_sign: str = ""               # 短信签名, e.g. 【某市政务服务中心】; empty = the hall's name
    sms_per_phone_per_day: int = 3   # SMS to one phone number per day, all halls together; 0 = no limit
    sms_per_hall_per_minute: int = 60  # SMS a hall sends per minute; 0 = no limit


def rating_settings(rt: Runtime, hall_id: int) -> RatingSettings:
    extra = getattr(rt.hall_config(hall_id), "ratings", None) or {}
    known = {f.name for f in fields(RatingSettings)}
    return replace(RatingSettings(), **{k: v for k, v in dict(extra).items() if k in known})
