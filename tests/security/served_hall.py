"""`hall serve` in its own process for the attack tests, and the raw websockets of an attacker.

The hall is the small test hall (tests/halls/small.toml) with the kiosk limit off and a
`[server]` section of the test's choosing, on SQLite in the test's directory, started by the
real command as a hall's IT would start it.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import client
from live import free_port

ROOT = Path(__file__).resolve().parents[2]
SMALL_HALL = ROOT / "tests" / "halls" / "small.toml"
SECRET = "a-hall-secret-long-enough-for-production-use-0001"


NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def hall_config(tmp_path: Path, server: str = "") -> Path:
    """The small hall, kiosks unlimited (the test's one kiosk token stands for many), `server`
    written as its [server] section."""
    text = SMALL_HALL.read_text(encoding="utf-8").replace("[hall]\n", "[hall]\nkiosk_tickets_per_minute = 0\n", 1)
    path = tmp_path / "hall.toml"
    path.write_text(text + (f"\n[server]\n{server}\n" if server else ""), encoding="utf-8")
    return path


call = client.local   # (status, JSON) from a served hall's port


def run_hall(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`hall ARGS…` to its end (for the commands that must refuse to start)."""
    return subprocess.run([sys.executable, "-m", "queue_server.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=os.environ | {"HALL_SECRET": SECRET} | (env or {}))


@contextmanager
def served(tmp_path: Path, config: Path, *extra: str, env: dict | None = None):
    """`hall serve` on a free port until the block ends; yields (port, log path)."""
    port = free_port()
    log_path = tmp_path / f"serve-{port}.log"
    template = sys.modules.get("conftest")   # under pytest: start from the worker's migrated copy
    if template is not None and "--database-url" not in extra and not (tmp_path / "data" / "hall.db").exists():
        template.copy_migrated_sqlite(tmp_path / "data" / "hall.db")
    proc = subprocess.Popen(
        [sys.executable, "-m", "queue_server.cli", "serve", "--config", str(config), "--port", str(port),
         "--data-dir", str(tmp_path / "data"), "--ignore-hours", *extra],
        cwd=ROOT, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT,
        env=os.environ | {"HALL_SECRET": SECRET, "HALL_WORKERS": "0"} | (env or {}))
    try:
        deadline = time.time() + 90
        while True:
            try:
                call(port, "GET", "/api/v1/matters", timeout=5)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise AssertionError(log_path.read_text(errors="replace")) from None
                time.sleep(0.2)
        yield port, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def need_nginx() -> None:
    import pytest
    if NGINX is None:
        message = "nginx is not installed (Debian: nginx-light)"
        if os.environ.get("HALL_REQUIRE_SERVICES") == "1":
            pytest.fail(message + " and HALL_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip("SKIPPED LOUDLY: " + message + "; install it to run the proxy tests")


def nginx_conf(tmp_path: Path, listen: int, upstream: int, sockets: int | None = None) -> Path:
    """deploy/nginx.conf as shipped, its port ours, its API upstream on `upstream` and its
    sockets' on `sockets` (the same process when not given)."""
    site = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    for name, port in (("hall_servers", upstream), ("hall_sockets", sockets or upstream)):
        start = site.index(f"upstream {name} {{")
        end = site.index("}", start)
        site = site[:start] + f"upstream {name} {{\n    server 127.0.0.1:{port};\n" + site[end:]
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    temp = tmp_path / "nginx"
    temp.mkdir(exist_ok=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""pid {temp}/nginx.pid;
error_log {temp}/error.log;
worker_rlimit_nofile 16384;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fcgi; uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;
{site}
}}
""", encoding="utf-8")
    return conf


@contextmanager
def proxied(tmp_path: Path, upstream: int, sockets: int | None = None):
    """A real nginx from deploy/nginx.conf in front of the given ports; yields its port."""
    listen = free_port()
    conf = nginx_conf(tmp_path, listen, upstream, sockets)
    proxy = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path / "nginx"), "-g", "daemon off;"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=2).close()
                break
            except OSError:
                if proxy.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proxy.stdout.read().decode(errors="replace")) from None
                time.sleep(0.1)
        yield listen
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)


# --- the attacker: raw Engine.IO websockets that answer pings and never join /hall ---------------


@dataclass
class Flood:
    """What the attacker's sockets met."""
    opened: int = 0
    closed_by_server: int = 0
    refused: dict[int, int] = field(default_factory=dict)      # HTTP status → count
    failed: list[str] = field(default_factory=list)             # anything else (timeouts, resets)
    open_now: int = 0
    most_open: int = 0


async def _attacker(session, url: str, flood: Flood, stop: asyncio.Event, hall_token: str | None) -> None:
    import aiohttp
    while not stop.is_set():
        try:
            ws = await session.ws_connect(url, autoping=True, heartbeat=None, timeout=aiohttp.ClientWSTimeout(ws_close=5))
        except aiohttp.WSServerHandshakeError as exc:
            flood.refused[exc.status] = flood.refused.get(exc.status, 0) + 1
            await asyncio.sleep(0.2)
            continue
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            flood.failed.append(type(exc).__name__)
            await asyncio.sleep(0.2)
            continue
        flood.opened += 1
        flood.open_now += 1
        flood.most_open = max(flood.most_open, flood.open_now)
        try:
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                if message.data == "2":                      # Engine.IO ping: answer it, stay alive
                    await ws.send_str("3")
                elif message.data.startswith("0") and hall_token is not None:
                    await ws.send_str("40/hall," + json.dumps({"token": hall_token}))   # a wrong token
            flood.closed_by_server += 1
        finally:
            flood.open_now -= 1
            await ws.close()


async def flood(port: int, addresses: list[str], per_address: int, stop: asyncio.Event, flood: Flood,
                wrong_token_share: int = 0) -> None:
    """`per_address` sockets from each address (127.x.y.z are all this machine's), reconnecting
    whenever the server closes or refuses one, until `stop`; then until the server closed every
    socket still open. Every `wrong_token_share`-th socket tries /hall with a wrong token."""
    import aiohttp
    url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
    sessions, tasks = [], []
    n = 0
    for address in addresses:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0), limit=0,
                                                                       force_close=True))
        sessions.append(session)
        for _ in range(per_address):
            n += 1
            token = "not-a-token" if wrong_token_share and n % wrong_token_share == 0 else None
            tasks.append(asyncio.create_task(_attacker(session, url, flood, stop, token)))
    try:
        await asyncio.gather(*tasks)
    finally:
        for session in sessions:
            await session.close()


def raise_open_files(n: int) -> None:
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
