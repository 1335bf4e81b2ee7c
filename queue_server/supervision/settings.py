"""Per-hall supervision thresholds (DOMAIN §2: 提示 one working day before the deadline; 黄 when
1–2 working days are left; 红 past the 承诺时限). A hall config may carry a `supervision` dict
attribute until the hall file has a `[supervision]` table; missing keys take these defaults."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ..runtime import Runtime


@dataclass(frozen=True)
class SupervisionSettings:
    yellow_days: float = 1.0      # yellow when at most this many working days are left …
    yellow_share: float = 0.2     # … or at most this share of the whole limit is left
    check_seconds: int = 60       # how often the background checker runs


def supervision_settings(rt: Runtime, hall_id: int) -> SupervisionSettings:
    extra = getattr(rt.hall_config(hall_id), "supervision", None) or {}
    known = {f.name for f in fields(SupervisionSettings)}
    return replace(SupervisionSettings(), **{k: v for k, v in dict(extra).items() if k in known})
