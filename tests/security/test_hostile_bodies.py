"""Oversized and malformed request bodies on every POST operation of the served description,
sent by a caller the operation allows (so the body is what decides): just over the 64 KB cap,
10 MB, truncated JSON, a top level that is not an object, repeated keys, nesting 10,000 deep,
invalid UTF-8, a byte order mark, an escaped lone surrogate, NaN and overflowing numbers.
Each is a 4xx with the error shape, never a 5xx, and nothing is stored."""
from __future__ import annotations

import io
import json

import pytest

from hostile_helpers import API, OneHall, Problems, rules_for, unchanged


CAP = 64 * 1024


def over_the_cap(size: int) -> bytes:
    head = b'{"note": "'
    return head + b"a" * (size - len(head) - 2) + b'"}'


def malformed(example: dict) -> dict[str, tuple[bytes, int, tuple]]:
    """name -> (body, status, acceptable codes), built around the operation's own field names."""
    key, value = next(iter(example.items())) if example else ("note", "x")
    good = json.dumps(example or {key: value}, ensure_ascii=False)
    return {
        "just over 64 KB": (over_the_cap(CAP + 1), 413, ("payload_too_large",)),
        "10 MB": (over_the_cap(10 * 1024 * 1024), 413, ("payload_too_large",)),
        "truncated": (good[:-1].encode(), 400, ("invalid_json",)),
        "cut inside a string": (good[:len(good) // 2].encode() + b'"abc', 400, ("invalid_json",)),
        "a list": (f"[{good}]".encode(), 400, ("invalid_body",)),
        "a string": (json.dumps(good).encode(), 400, ("invalid_body",)),
        "a number": (b"42", 400, ("invalid_body",)),
        "null": (b"null", 400, ("invalid_body", "invalid_json")),
        "repeated key": (f'{{"{key}": {json.dumps(value)}, "{key}": {json.dumps(value)}}}'.encode(), 400,
                         ("invalid_json",)),
        "objects 10,000 deep": (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, 400, ("invalid_json",)),
        "lists 10,000 deep": (f'{{"{key}": '.encode() + b"[" * 10_000 + b"]" * 10_000 + b"}", 400, ("invalid_json",)),
        "invalid UTF-8": (b'{"' + key.encode() + b'": "\xff\xfe\xc3"}', 400, ("invalid_json",)),
        "UTF-8 byte order mark": (b"\xef\xbb\xbf" + good.encode(), 400, ("invalid_json",)),
        "UTF-16": (good.encode("utf-16"), 400, ("invalid_json", "invalid_characters")),
        "escaped lone surrogate": (f'{{"{key}": "\\ud800x"}}'.encode(), 400, ("invalid_characters",)),
        "NaN": (f'{{"{key}": NaN}}'.encode(), 400, ("invalid_json",)),
        "1e999": (f'{{"{key}": 1e999}}'.encode(), 400, ("invalid_json",)),
        "5,000 digits": (f'{{"{key}": {"9" * 5000}}}'.encode(), 400, ("invalid_json",)),
        "NUL": (f'{{"{key}": "a\\u0000b"}}'.encode(), 400, ("invalid_characters",)),
    }


class Setting(OneHall):
    def __init__(self, tmp):
        super().__init__(tmp)
        spec = self.spec
        self.posts = []
        for path, ops in spec["paths"].items():
            if "post" in ops:
                media = ops["post"].get("requestBody", {}).get("content", {}).get("application/json", {})
                schema = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1] or None
                self.posts.append((path, schema))
        for who in ("clerk01", "supervisor", "admin"):
            self.who.token(who)

    def caller(self, path: str) -> dict:
        rules = rules_for("post", path)
        if not rules:
            return {}
        role = sorted(rules[0].allowed)[0]
        return self.who.headers(role)


@pytest.fixture(scope="module")
def s(tmp_path_factory):
    return Setting(tmp_path_factory.mktemp("hostile_bodies"))


def test_malformed_and_oversized_bodies_on_every_post(s):
    problems = Problems()
    assert len(s.posts) >= 25, s.posts
    with unchanged(s.app):          # also: nothing in the server's error log (a lost audit row)
        for path, schema in s.posts:
            url = API + s.f.fill(path)
            for name, (body, status, codes) in malformed(s.f.body(schema)).items():
                r = s.c.post(url, data=body, content_type="application/json", headers=s.caller(path))
                problems.expect(r, status, codes, f"POST {path} with {name}")
    problems.check()


def test_a_streamed_body_without_a_length_stops_at_the_cap(s):
    """A chunked upload (no Content-Length) is cut at the cap, not read to its end."""
    stream = io.BytesIO(over_the_cap(10 * 1024 * 1024))
    with unchanged(s.app):
        r = s.c.post(API + "/tickets", input_stream=stream, content_type="application/json",
                     headers=s.who.headers("kiosk"), environ_overrides={"wsgi.input_terminated": True})
        assert r.status_code == 413, r.get_data(as_text=True)[:300]
        assert r.get_json()["error"]["code"] == "payload_too_large"
    assert stream.tell() <= CAP + 64 * 1024, f"read {stream.tell()} bytes of a body over the cap"
