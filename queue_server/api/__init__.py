"""The REST API under /api/v1: the contract devices and other systems depend on (DESIGN.md)."""
from flask import Blueprint, request

from ..errors import bad_request
from .common import json_body

api = Blueprint("api", __name__, url_prefix="/api/v1")

from . import appointments, auth, cases, catalog, devices, openapi_route, queue, ratings, supervision, tickets, windows  # noqa: E402,F401  (routes register on `api`)


@api.before_request
def _refuse_nul():
    """PostgreSQL text cannot hold NUL (0x00): refuse it at the door, a 400 rather than a 500 deep inside."""
    body = request.get_data(cache=True) or b""
    if "\x00" in request.path or b"%00" in request.query_string or b"\x00" in body or b"\\u0000" in body:
        raise bad_request("invalid_characters", "请求中含有不允许的控制字符")
    if body:
        json_body()  # a body, when sent, is a JSON object, on every endpoint (not only those that read one)
