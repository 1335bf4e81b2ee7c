"""Issue 20.2: behind nginx the client is the client.

A real nginx, configured from deploy/nginx.conf, in front of a real `hall serve` whose config
trusts it. An outsider's five bad logins lock the clerk out of the outsider's address only; a
forged X-Forwarded-For changes nothing (through nginx or straight to the server); the audit
trail shows the client's address, not nginx's.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from live import free_port
from served_hall import ROOT, hall_config, served

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
OUTSIDER, CLERK_DESK = "127.0.5.1", "127.0.5.2"


def _need_nginx():
    if NGINX is None:
        message = "nginx is not installed (Debian: nginx-light)"
        if os.environ.get("HALL_REQUIRE_SERVICES") == "1":
            pytest.fail(message + " and HALL_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip("SKIPPED LOUDLY: " + message + "; install it to run the proxy tests")


def nginx_conf(tmp_path: Path, listen: int, upstream: int) -> Path:
    """deploy/nginx.conf as shipped, with its upstream on our server and its port ours."""
    site = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    start, end = site.index("upstream hall_servers {"), site.index("}", site.index("upstream hall_servers {"))
    site = site[:start] + f"upstream hall_servers {{\n    server 127.0.0.1:{upstream};\n" + site[end:]
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    temp = tmp_path / "nginx"
    temp.mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""pid {temp}/nginx.pid;
error_log {temp}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fcgi; uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;
{site}
}}
""", encoding="utf-8")
    return conf


def post(port: int, path: str, body: dict, source: str, headers: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"} | (headers or {}))
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_an_outsider_cannot_lock_out_the_hall_and_the_audit_names_the_client(tmp_path):
    _need_nginx()
    config = hall_config(tmp_path, 'trusted_proxies = ["127.0.0.1"]')
    with served(tmp_path, config) as (port, _log):
        listen = free_port()
        conf = nginx_conf(tmp_path, listen, port)
        proxy = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path / "nginx"), "-g", "daemon off;"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    http.client.HTTPConnection("127.0.0.1", listen, timeout=2).connect()
                    break
                except OSError:
                    assert proxy.poll() is None and time.monotonic() < deadline, proxy.stdout.read()
                    time.sleep(0.1)
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
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
    # The server stopped (its audit writer flushed): who did what, from where.
    with sqlite3.connect(tmp_path / "data" / "hall.db") as db:
        rows = db.execute("SELECT actor, status, origin FROM audit_entries WHERE target = '/api/v1/auth/login'"
                          " ORDER BY id").fetchall()
    assert rows == ([("staff:clerk01", 401, OUTSIDER)] * 5 + [("staff:clerk01", 429, OUTSIDER),
                    ("staff:clerk01", 200, CLERK_DESK), ("staff:clerk02", 401, "127.0.6.1")])
