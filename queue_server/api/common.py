"""Reading request bodies: every wrong type or size becomes a 400 with a code, never a 500."""
from __future__ import annotations

from typing import Any

from flask import current_app, g, request

from ..errors import bad_request, HallError
from ..runtime import Runtime

MISSING = object()
_TYPE_WORDS = {int: "整数", str: "文字", bool: "true/false"}


def runtime() -> Runtime:
    return current_app.extensions["hall"]


def json_body() -> dict[str, Any]:
    if not request.get_data(cache=True):
        return {}
    data = request.get_json(force=True, silent=True)
    if data is None:
        raise bad_request("invalid_json", "请求内容不是合法的 JSON")
    if not isinstance(data, dict):
        raise bad_request("invalid_body", "请求内容应为 JSON 对象 {...}")
    return data


def field(body: dict, name: str, kind: type, *, required: bool = False, max_len: int = 200,
          default: Any = None) -> Any:
    value = body.get(name, MISSING)
    if value is MISSING or value is None:
        if required:
            raise bad_request("missing_field", f"缺少必填字段 {name}", field=name)
        return default
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise bad_request("invalid_field", f"字段 {name} 应为{_TYPE_WORDS[int]}", field=name)
    if kind is not int and not isinstance(value, kind):
        raise bad_request("invalid_field", f"字段 {name} 应为{_TYPE_WORDS.get(kind, kind.__name__)}", field=name)
    if kind is int and not (-2**62 < value < 2**62):
        raise bad_request("invalid_field", f"字段 {name} 超出范围", field=name)
    if kind is str and len(value) > max_len:
        raise bad_request("field_too_long", f"字段 {name} 太长（最多 {max_len} 个字符）", field=name)
    return value


def hall_id() -> int:
    """The hall of the caller; public requests name it with ?hall=CODE (or the server has one)."""
    principal = getattr(g, "principal", None)
    if principal is not None:
        return principal.hall_id
    rt = runtime()
    code = request.args.get("hall")
    if code:
        if code not in rt.hall_codes:
            raise HallError("unknown_hall", "没有这个大厅", 404)
        return rt.hall_codes[code]
    if len(rt.hall_codes) == 1:
        return next(iter(rt.hall_codes.values()))
    raise bad_request("hall_required", "请用 ?hall=大厅编码 指明大厅")
