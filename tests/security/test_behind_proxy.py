"""Issue 20.2: behind nginx the client is the client.

A real nginx, configured from deploy/nginx.conf, in front of a real `hall serve` whose config
trusts it. An outsider's five bad logins lock the clerk out of the outsider's address only; a
forged X-Forwarded-For changes nothing (through nginx or straight to the server); the audit
trail shows the client's address, not nginx's.
"""
from __future__ import annotations

import http.client
import json
import sqlite3

from served_hall import hall_config, need_nginx, proxied, served

OUTSIDER, CLERK_DESK = "127.0.5.1", "127.0.5.2"


def post(port: int, path: str, body: dict, source: str, headers: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"} | (headers or {}))
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_an_outsider_cannot_lock_out_the_hall_and_the_audit_names_the_client(tmp_path):
    need_nginx()
    config = hall_config(tmp_path, 'trusted_proxies = ["127.0.0.1"]')
    with served(tmp_path, config) as (port, _log):
        with proxied(tmp_path, port) as listen:
            login = "/api/v1/auth/login"
            guesses = [post(listen, login, {"username": "clerk01", "password": f"guess{i}"}, OUTSIDER,
                            {"X-Forwarded-For": f"10.9.9.{i}"})[0] for i in range(5)]
            assert guesses == [401] * 5
            # The outsider is locked out, whatever address it claims to come from …
            status, body = post(listen, login, {"username": "clerk01", "password": "test1234"}, OUTSIDER,
                                {"X-Forwarded-For": "10.9.9.77"})
            assert status == 429 and body["error"]["code"] == "login_locked"
            # … and the clerk at her own desk is not.
            status, body = post(listen, login, {"username": "clerk01", "password": "test1234"}, CLERK_DESK)
            assert status == 200 and body["staff"]["username"] == "clerk01"
            # Straight to the server, from an address not listed as a proxy, the header counts for nothing.
            status, _ = post(port, login, {"username": "clerk02", "password": "nope"}, "127.0.6.1",
                             {"X-Forwarded-For": CLERK_DESK})
            assert status == 401
    # The server stopped (its audit writer flushed): who did what, from where.
    with sqlite3.connect(tmp_path / "data" / "hall.db") as db:
        rows = db.execute("SELECT actor, status, origin FROM audit_entries WHERE target = '/api/v1/auth/login'"
                          " ORDER BY id").fetchall()
    assert rows == ([("staff:clerk01", 401, OUTSIDER)] * 5 + [("staff:clerk01", 429, OUTSIDER),
                    ("staff:clerk01", 200, CLERK_DESK), ("staff:clerk02", 401, "127.0.6.1")])


def test_only_a_listed_proxy_says_the_client_came_over_https(tmp_path):
    config = hall_config(tmp_path, 'trusted_proxies = ["127.0.0.1"]')
    with served(tmp_path, config) as (port, _log):
        def hsts(source: str) -> str | None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
            try:
                conn.request("GET", "/", headers={"X-Forwarded-Proto": "https"})
                response = conn.getresponse()
                response.read()
                return response.getheader("Strict-Transport-Security")
            finally:
                conn.close()
        assert hsts("127.0.0.1") is not None          # nginx, listed, terminated TLS
        assert hsts(OUTSIDER) is None                  # anyone else's word is not taken
