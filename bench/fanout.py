"""Websocket fan-out: many screens on /hall, windows calling at a fixed rate; is every event
delivered, and how long after the call was made?

    python bench/fanout.py [--clients 500] [--rate 20] [--seconds 10] [--processes 2]
                           [--database-url postgresql+psycopg://…] [--client-procs 4]

The screens are Socket.IO clients (python-socketio, websocket transport, device tokens: hall
displays, window LED strips and rating devices in the proportion a hall has them), spread
round-robin over the server processes and run in several client processes so one GIL does not
distort the arrival times. A driver makes `--rate` calls per second, round-robin over the
windows; each call-next is followed by a skip (the window must be free to call again), so every
call produces two events. Tickets are issued before the screens connect.

Every screen records each event's arrival (time.time(); same machine as the driver). Delivery
latency is arrival minus the start of the request that caused the event. Lost: for each display,
the seq numbers between the start and the end of the run that it never received; for each LED
strip and rating device (they hear only their own window), the window's `window_seq` numbers
from its snapshot to the window's last that it never received. Out of order:
events that arrived after one with a higher seq (across processes each one publishes after its own
commit, so two close events can cross in Redis; a real screen then sees a gap and asks for a
snapshot).
"""
from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import queue
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hall_config import write_bench_hall  # noqa: E402
from bench.http_bench import Client, load, percentile, split_evenly  # noqa: E402
from bench.servers import REDIS_URL, api, deployment, exit_cleanly_on_sigterm  # noqa: E402

NAMESPACE = "/hall"


# --- the screens (in client processes) --------------------------------------------------------
#
# python-socketio as a hall's screens use it, with one change: each message goes to its handler
# in the read loop, in arrival order, as a browser's socket.io does. As shipped, the engineio
# client starts a thread (threaded client) or a task (asyncio client) per message: with 500
# screens the thread per message cost more CPU than the server's sending (about 0.7 ms a message
# here), delayed the arrival stamp and let events overtake each other. With aiohttp installed the
# screens run on asyncio (one thread per client process, about 5× less CPU a message); without
# it on python-socketio's threaded client.

def screen_client() -> str:
    """python-socketio's asyncio client needs aiohttp for websockets."""
    return "asyncio" if importlib.util.find_spec("aiohttp") else "threads"


def _inline_client_class(asynchronous: bool):
    import engineio
    import socketio
    if asynchronous:
        class InlineAsyncEngineIO(engineio.AsyncClient):
            async def _trigger_event(self, event, *args, **kwargs):
                if event == "message":
                    kwargs["run_async"] = False
                return await super()._trigger_event(event, *args, **kwargs)

        class InlineAsyncClient(socketio.AsyncClient):
            def _engineio_client_class(self):
                return InlineAsyncEngineIO
        return InlineAsyncClient

    class InlineEngineIO(engineio.Client):
        def _trigger_event(self, event, *args, **kwargs):
            if event == "message":
                kwargs["run_async"] = False
            return super()._trigger_event(event, *args, **kwargs)

    class InlineClient(socketio.Client):
        def _engineio_client_class(self):
            return InlineEngineIO
    return InlineClient


class Screen:
    """One connected device: what it received and when."""

    def __init__(self, port: int, kind: str, token: str, client_class):
        self.port, self.kind, self.token = port, kind, token
        self.snapshot_seq: int | None = None
        self.scope: dict | None = None      # {"window_id", "window_seq"} for a window's device
        # (seq, window_seq, type, ticket id, arrival)
        self.events: list[tuple[int, int | None, str, int | None, float]] = []
        self.disconnected = False
        self.sio = client_class(reconnection=False, handle_sigint=False)
        self.sio.on("snapshot", self._snapshot, namespace=NAMESPACE)
        self.sio.on("*", self._event, namespace=NAMESPACE)
        self.sio.on("disconnect", self._gone, namespace=NAMESPACE)

    def _snapshot(self, data):
        if self.snapshot_seq is None:
            self.snapshot_seq = data.get("seq")
            self.scope = data.get("scope")

    def _event(self, event, data):
        arrival = time.time()
        ticket = data.get("ticket") if isinstance(data, dict) else None
        if not isinstance(data, dict):
            return
        self.events.append((data.get("seq"), data.get("window_seq"), event,
                            ticket.get("id") if isinstance(ticket, dict) else None, arrival))

    def _gone(self, *_):
        self.disconnected = True

    def connect_args(self) -> tuple[tuple, dict]:
        return ((f"http://127.0.0.1:{self.port}",),
                dict(namespaces=[NAMESPACE], auth={"token": self.token}, transports=["websocket"], wait_timeout=30))

    def has_all(self, last_seq: int, window_seqs: dict[int, int]) -> bool:
        if self.disconnected:
            return True
        at, wanted = expected(self.scope, self.snapshot_seq or 0, last_seq, window_seqs)
        return wanted <= {e[at] for e in self.events}

    def report(self) -> dict:
        return {"kind": self.kind, "snapshot_seq": self.snapshot_seq, "scope": self.scope, "events": self.events,
                "disconnected": self.disconnected}


def expected(scope: dict | None, first_seq: int, last_seq: int, window_seqs: dict[int, int]) -> tuple[int, set[int]]:
    """What a screen must receive of a run: (the index of its number in an event record, the
    numbers). A display: every seq after `first_seq`; a window's device: its window's
    `window_seq` numbers after the one its snapshot gave."""
    if scope:
        return 1, set(range(scope["window_seq"] + 1, window_seqs.get(scope["window_id"], 0) + 1))
    return 0, set(range(first_seq + 1, last_seq + 1))


def _finished(screens: list[Screen], last_seq: int, window_seqs: dict[int, int]) -> bool:
    return all(s.has_all(last_seq, window_seqs) for s in screens if s.snapshot_seq is not None)


def _screens_process(specs: list[tuple[int, str, str]], ready, conn) -> None:
    """Connect the screens, say how many made it, wait for the run's last seq (sent by the
    driver), hand back what each screen received."""
    asynchronous = screen_client() == "asyncio"
    client_class = _inline_client_class(asynchronous)
    screens = [Screen(*spec, client_class=client_class) for spec in specs]
    failures: list[str] = []

    def connected() -> None:
        ready.put((os.getpid(), sum(1 for s in screens if s.snapshot_seq is not None), failures[:3]))

    def done(cpu0: float) -> None:
        conn.send({"cpu_s": time.process_time() - cpu0, "screens": [s.report() for s in screens]})

    if asynchronous:
        import asyncio

        async def main():
            gate = asyncio.Semaphore(16)

            async def connect(screen: Screen):
                async with gate:
                    try:
                        args, kwargs = screen.connect_args()
                        await screen.sio.connect(*args, **kwargs)
                        for _ in range(3000):
                            if screen.snapshot_seq is not None:
                                break
                            await asyncio.sleep(0.01)
                    except Exception as exc:  # noqa: BLE001 - report any failure, keep the rest
                        failures.append(f"{type(exc).__name__}: {exc}")

            await asyncio.gather(*(connect(s) for s in screens))
            connected()
            cpu0 = time.process_time()
            last_seq, window_seqs, grace = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            deadline = time.time() + grace
            while time.time() < deadline and not _finished(screens, last_seq, window_seqs):
                await asyncio.sleep(0.05)
            done(cpu0)
        asyncio.run(main())
    else:
        def connect(screen: Screen):
            try:
                args, kwargs = screen.connect_args()
                screen.sio.connect(*args, **kwargs)
                deadline = time.time() + 30
                while screen.snapshot_seq is None and time.time() < deadline:
                    time.sleep(0.01)
            except Exception as exc:  # noqa: BLE001 - report any failure, keep the rest
                failures.append(f"{type(exc).__name__}: {exc}")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(connect, screens))
        connected()
        cpu0 = time.process_time()
        last_seq, window_seqs, grace = conn.recv()
        deadline = time.time() + grace
        while time.time() < deadline and not _finished(screens, last_seq, window_seqs):
            time.sleep(0.05)
        done(cpu0)
    conn.close()
    os._exit(0)   # the screens' sockets close with the process; nothing to wait for


# --- the driver ---------------------------------------------------------------------------------

def _drive(ports_of_windows: list[tuple[int, int, str]], rate: float, seconds: float) -> list[dict]:
    """`rate` calls per second, round-robin over the windows, for `seconds`; each call then a skip.
    One thread per window, so a slow answer delays only its own window."""
    calls = int(rate * seconds)
    t0 = time.time() + 0.2
    ops: list[dict] = []
    lock = threading.Lock()

    def window(w: int):
        port, window_id, token = ports_of_windows[w]
        client, mine = Client(port, token), []
        for k in range(w, calls, len(ports_of_windows)):
            due = t0 + k / rate
            time.sleep(max(0.0, due - time.time()))
            start = time.time()
            status, body, sent, done = client.call("POST", f"/api/v1/windows/{window_id}/call-next")
            ticket = (body.get("ticket") or {}).get("id")
            mine.append({"type": "ticket.called", "ticket_id": ticket, "status": status, "start": start,
                         "late": start - due, "answered": start + (done - sent)})
            if status == 200:
                start = time.time()
                status, _, sent, done = client.call("POST", f"/api/v1/windows/{window_id}/skip")
                mine.append({"type": "ticket.skipped", "ticket_id": ticket, "status": status, "start": start,
                             "late": 0.0, "answered": start + (done - sent)})
        with lock:
            ops.extend(mine)

    threads = [threading.Thread(target=window, args=(w,)) for w in range(len(ports_of_windows))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ops


def _seqs(port: int, token: str) -> tuple[int, dict[int, int]]:
    """The hall's last seq and each window's last window_seq."""
    status, body = api(port, "GET", "/api/v1/queue", token=token)
    if status != 200:
        raise RuntimeError(f"GET /queue: {status} {body}")
    return body["seq"], {w["id"]: w["window_seq"] for w in body["windows"]}


def run(database_url: str | None, processes: int, clients: int = 500, rate: float = 20, seconds: float = 10,
        *, windows: int = 20, client_procs: int = 4, redis_url: str = REDIS_URL, grace: float = 15.0,
        log=lambda line: None) -> dict:
    """One deployment's fan-out figures (see `table`)."""
    calls = int(rate * seconds)
    with tempfile.TemporaryDirectory(prefix="hall-fanout-") as tmp:
        hall = write_bench_hall(Path(tmp) / "hall.toml", windows=windows, displays=max(1, windows // 2))
        with deployment(hall.path, processes, postgres=database_url, redis_url=redis_url,
                        data_dir=Path(tmp) / "run") as cluster:
            catalogue = api(cluster.ports[0], "GET", "/api/v1/matters")[1]
            window_ids = {w["number"]: w["id"] for w in catalogue["windows"]}
            # Tickets first (their events come before the screens connect), enough for every call.
            issuers = min(8, calls) or 1
            load([{"op": "issue", "port": cluster.port_for(i), "token": hall.kiosks[i % len(hall.kiosks)],
                   "seed": i, "count": n, "rate": None} for i, n in enumerate(split_evenly(calls + windows, issuers))],
                 {"mode": "closed", "matters": [m["id"] for m in catalogue["matters"]], "seconds": 0}, 1)
            driver = []
            for n in range(1, windows + 1):
                port = cluster.port_for(n - 1)
                status, body = api(port, "POST", "/api/v1/auth/login",
                                   {"username": hall.clerk(n), "password": hall.password})
                if status != 200:
                    raise RuntimeError(f"login {hall.clerk(n)}: {status} {body}")
                # 签到 before the screens connect, as a morning does (queue_server/staffing.py):
                # its window.opened is not one of the measured events.
                status, signed = api(port, "POST", f"/api/v1/windows/{window_ids[n]}/sign-in", {}, body["token"])
                if status != 200:
                    raise RuntimeError(f"sign-in {hall.clerk(n)}: {status} {signed}")
                driver.append((port, window_ids[n], body["token"]))

            # The screens: a hall-like mix of kinds, round-robin over the server processes.
            tokens = hall.screen_tokens()
            specs = [(cluster.port_for(i), *tokens[i % len(tokens)]) for i in range(clients)]
            ctx = multiprocessing.get_context("fork")
            ready = ctx.Queue()
            procs, pipes = [], []
            t_connect = time.time()
            for g in range(client_procs):
                group = specs[g::client_procs]
                if not group:
                    continue
                mine, theirs = ctx.Pipe()
                procs.append(ctx.Process(target=_screens_process, args=(group, ready, theirs), daemon=True))
                pipes.append(mine)
                procs[-1].start()
                theirs.close()      # a screens process that dies then ends our recv() with EOFError
            connected, failures = 0, []
            for _ in procs:
                while True:
                    try:
                        _pid, n, errs = ready.get(timeout=1)
                        break
                    except queue.Empty:
                        if any(p.exitcode not in (None, 0) for p in procs):
                            raise RuntimeError("a screens process failed; see its traceback above") from None
                connected += n
                failures += errs
            connect_s = time.time() - t_connect
            log(f"  fan-out: {connected}/{clients} screens connected in {connect_s:.1f} s")

            cluster.mark()
            first_seq, _ = _seqs(cluster.ports[0], hall.displays[0])
            ops = _drive(driver, rate, seconds)
            time.sleep(0.2)
            last_seq, window_seqs = _seqs(cluster.ports[0], hall.displays[0])
            for pipe in pipes:
                pipe.send((last_seq, window_seqs, grace))
            screens, client_cpu = [], 0.0
            for pipe in pipes:
                got = pipe.recv()
                screens += got["screens"]
                client_cpu += got["cpu_s"]
            usage = cluster.usage()
            for p in procs:
                p.join(timeout=10)
            cluster.check_alive()

    return _figures(database_url, processes, clients, connected, failures, connect_s, rate, seconds,
                    ops, screens, first_seq, last_seq, window_seqs, usage | {"client_cpu_s": round(client_cpu, 2)},
                    client_procs) \
        | {"screen_client": screen_client()}


def _figures(database_url, processes, clients, connected, failures, connect_s, rate, seconds, ops, screens,
             first_seq, last_seq, window_seqs, usage, client_procs) -> dict:
    started = {(op["type"], op["ticket_id"]): op["start"] for op in ops if op["status"] == 200}
    ok_ops = len(started)
    must = delivered = lost = duplicates = out_of_order = dropped = 0
    latencies: list[float] = []
    for screen in screens:
        if screen["snapshot_seq"] is None:
            continue
        at, wanted = expected(screen["scope"], first_seq, last_seq, window_seqs)
        got = [e[at] for e in screen["events"] if e[at] in wanted]
        must += len(wanted)
        delivered += len(set(got))
        lost += len(wanted - set(got))
        duplicates += len(got) - len(set(got))
        out_of_order += sum(1 for a, b in zip(got, got[1:]) if b < a)
        dropped += screen["disconnected"]
        for event in screen["events"]:
            key, arrival = (event[2], event[3]), event[4]
            if event[at] in wanted and key in started:
                latencies.append((arrival - started[key]) * 1000)
    call_ms = [(op["answered"] - op["start"]) * 1000 for op in ops if op["type"] == "ticket.called" and op["status"] == 200]
    call_starts = sorted(op["start"] for op in ops if op["type"] == "ticket.called")
    # calls made per second: n calls span n - 1 gaps from the first call's start to the last's
    made = (len(call_starts) - 1) / (call_starts[-1] - call_starts[0]) if len(call_starts) > 1 else None
    statuses: dict[str, int] = {}
    for op in ops:
        key = f"{op['type'].split('.')[1]} {op['status']}"
        statuses[key] = statuses.get(key, 0) + 1
    return {"database": "PostgreSQL" if database_url else "SQLite", "processes": processes,
            "clients": clients, "connected": connected, "connect_failures": failures, "connect_s": round(connect_s, 1),
            "client_procs": client_procs, "rate": rate, "seconds": seconds,
            "calls": sum(1 for op in ops if op["type"] == "ticket.called" and op["status"] == 200),
            "events": last_seq - first_seq, "driver_ops_ok": ok_ops, "driver_statuses": statuses,
            "expected": must, "delivered": delivered, "lost": lost,
            "duplicates": duplicates, "out_of_order": out_of_order, "disconnected": dropped,
            "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies) if latencies else None,
            "calls_per_s": round(made, 1) if made else None,
            "call_p50_ms": percentile(call_ms, 50), "call_p99_ms": percentile(call_ms, 99),
            "driver_late_p99_ms": percentile([op["late"] * 1000 for op in ops if op["type"] == "ticket.called"], 99),
            **usage}


def _fmt(v, digits=1) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def table(results: list[dict]) -> str:
    out = ["| deployment | screens connected | calls (events) | calls/s made | delivered / expected | lost | out of order | p50 ms | p99 ms | max ms | call-next p99 ms | server CPU s | screens' CPU s | peak RSS MiB |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in results:
        deploy = f"{r['database']}, {r['processes']} process{'es' if r['processes'] > 1 else ''}"
        out.append(f"| {deploy} | {r['connected']}/{r['clients']} | {r['calls']} ({r['events']}) | {_fmt(r['calls_per_s'])} | "
                   f"{r['delivered']:,} / {r['expected']:,} | {r['lost']} | {r['out_of_order']} | {_fmt(r['p50_ms'])} | {_fmt(r['p99_ms'])} | "
                   f"{_fmt(r['max_ms'])} | {_fmt(r['call_p99_ms'])} | {r['cpu_s']} | {r.get('client_cpu_s', '–')} | "
                   f"{' + '.join(str(m) for m in r['peak_rss_mb'])} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--rate", type=float, default=20, help="calls per second")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--database-url", help="a PostgreSQL server (a fresh database is made on it); default SQLite")
    ap.add_argument("--windows", type=int, default=20)
    ap.add_argument("--client-procs", type=int, default=4)
    args = ap.parse_args(argv)
    exit_cleanly_on_sigterm()
    result = run(args.database_url, args.processes, args.clients, args.rate, args.seconds, windows=args.windows,
                 client_procs=args.client_procs, log=lambda line: print(line, file=sys.stderr))
    print(table([result]))
    extra = {k: result[k] for k in ("duplicates", "out_of_order", "disconnected", "driver_statuses",
                                    "connect_failures", "connect_s", "driver_late_p99_ms", "screen_client")}
    print(extra)
    return 0 if result["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
