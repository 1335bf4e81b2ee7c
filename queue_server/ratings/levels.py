"""The five levels, the channels and the tags a rater may pick (DOMAIN §1).

The words are those of the national scheme; the order on every page is 5 → 1 and no level is
ever preselected or highlighted (the page must not suggest a grade).
"""
from __future__ import annotations

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
GOOD = (5, 4, 3)      # 好评
BAD = (2, 1)          # 差评
SATISFIED = (5, 4)    # counted by 满意率

# device: the window's rating device; sms: the invitation link; slip: 投箱评议; web: the QR page;
# default: given by the system after N days without a rating.
CHANNELS = {"device": "评价器", "sms": "短信", "slip": "投箱评议", "web": "网页（二维码）",
            "default": "默认评价"}
SUBMITTED_CHANNELS = ("device", "sms", "slip", "web")
NODES = {"finish": "办结", "accept": "受理"}

# Tags per level: the sub-items (服务效率/服务水平/服务态度) seen from the rater's side.
TAGS = {
    5: ["办事效率高", "服务热情", "一次性告知清楚", "环境舒适"],
    4: ["办事效率高", "服务热情", "一次性告知清楚", "环境舒适"],
    3: ["等候时间较长", "告知不够清楚", "流程较复杂"],
    2: ["等候时间长", "办事效率低", "服务态度差", "一次性告知不清", "多次跑动", "窗口无人", "其他"],
    1: ["等候时间长", "办事效率低", "服务态度差", "一次性告知不清", "多次跑动", "窗口无人", "其他"],
}

FIX_RATINGS = ("满意", "基本满意", "不满意")  # the rater's verdict on a 差评's 整改


def is_bad(level: int) -> bool:
    return level in BAD


def level_word(level: int | None) -> str:
    return LEVELS.get(level or 0, "")


def catalogue() -> dict:
    """What a rating page needs: levels in display order, their tags, the channel words."""
    return {"levels": [{"level": n, "word": LEVELS[n], "bad": is_bad(n), "tags": TAGS[n]} for n in LEVELS],
            "channels": CHANNELS, "nodes": NODES, "fix_ratings": list(FIX_RATINGS)}
