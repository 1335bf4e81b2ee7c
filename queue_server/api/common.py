"""Reading request bodies: every wrong type or size becomes a 400 with a code, never a 500."""
from __future__ import annotations

import json
from typing import Any

from flask import current_app, g, request

from ..errors import bad_request, HallError
from ..runtime import Runtime

MISSING = object()
_TYPE_WORDS = {int: "整数", str: "文字", bool: "true/false"}


def runtime() -> Runtime:
    return current_app.extensions["hall"]


def json_body() -> dict[str, Any]:
    """The request's JSON object ({} without a body), parsed once per request."""
    if "json_body" not in g:
        raw = request.get_data(cache=True)
        g.json_body = parse_body(raw) if raw else {}
    return g.json_body


def parse_body(raw: bytes) -> dict[str, Any]:
    """Strict JSON: UTF-8 without a BOM, each key once (a proxy and this server must not read two
    different requests out of one body), nesting the parser survives, text that can be stored."""
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_repeated_keys,
                          parse_constant=_no_constant, parse_float=_finite)
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # an escaped lone surrogate ("\ud800") fails
    except UnicodeEncodeError:
        raise bad_request("invalid_characters", "请求中含有无效的 Unicode 字符") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad_request("invalid_json", "请求内容不是合法的 JSON（UTF-8 编码、字段不重复）") from None
    if not isinstance(data, dict):
        raise bad_request("invalid_body", "请求内容应为 JSON 对象 {...}")
    return data


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("repeated key")
    return out


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: PostgreSQL's JSON refuses them


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


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
