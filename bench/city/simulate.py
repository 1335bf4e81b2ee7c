"""The simulated day: real `hall serve` processes driven over HTTP in compressed simulated time.

The simulator keeps a sim clock and runs the day in ticks. In each tick it first issues the
tick's arrivals at the kiosks (concurrently), then lets every window act: a free window calls
next, a called citizen is accepted after walking up and finished after the service time, a
no-show is recalled once and skipped. The server chooses which ticket a window gets; the sim
only reads the answer, and measures the wait in sim time (call − issue) for the ticket the
server returned. Waits are exact to one tick: a ticket counts as issued at its tick's start.

An idle window (told `queue_empty`) does not poll: its clerk watches the waiting count on the
caller page. At each tick, for every matter with tickets waiting, as many idle windows serving it
as there are such tickets call next, those idle longest first; the server may still hand them
other tickets or none. Calls stop at closing time; called citizens are still served; the rest
are "waiting at close".
"""
from __future__ import annotations

import resource
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from . import arrivals as day_plan
from .arrivals import CLOSE, OPEN, Arrival
from .client import Failed, Wire
from .halls import PASSWORD, HallPlan, write_city
from .matters import RECALL_SECONDS, SKIP_SECONDS, WALK_SECONDS
from .processes import (PG_SERVER, BackendSampler, cpu_seconds, database_bytes, fresh_database, memory_kb,
                        postgres_cpu_total, reset_peak, start_servers, tag)


@dataclass
class Desk:
    """A window as the simulator sees it: its clerk's token and what it is doing."""
    hall: int
    id: int
    number: int
    port: int
    token: str = ""
    state: str = "free"            # free | called | absent (a no-show) | serving
    free_since: float = OPEN
    wants_work: bool = False       # a ticket for its matters was issued since its last queue_empty
    plan: list[tuple[float, str]] = field(default_factory=list)
    called_at: float = 0.0
    ticket: "Ticket | None" = None
    busy: float = 0.0              # seconds from calls to finishes/skips


@dataclass
class Ticket:
    arrival: Arrival
    issued_at: float
    called_at: float | None = None
    window: int | None = None
    outcome: str | None = None     # done | skipped


@dataclass
class DayResult:
    plans: list[HallPlan]
    tickets: dict[int, Ticket]
    desks: list[Desk]
    tick: float
    processes: int
    wall: dict[str, float]                       # start, setup, day (seconds)
    requests: int
    latency: dict[str, list[float]]
    statuses: dict[tuple[str, int], int]
    servers: list[dict]                          # per process: cpu_start, cpu_setup, cpu_day, peak_kb, rss_kb
    postgres: dict[str, float]
    client_cpu: float
    refused: dict[str, int]
    double_calls: list[int]
    check: dict[str, object]
    database_url: str = ""


class Day:
    """One simulated day against running servers."""

    def __init__(self, plans: list[HallPlan], ports: list[int], arrivals: list[Arrival], wire: Wire,
                 pool: ThreadPoolExecutor, tick: float):
        self.plans, self.ports, self.arrivals = plans, ports, arrivals
        self.wire, self.pool, self.tick = wire, pool, tick
        self.matter_ids: list[dict[str, int]] = []
        self.servers_of: list[dict[int, list[Desk]]] = []                   # hall -> matter id -> desks
        self.desks: list[Desk] = []
        self.tickets: dict[int, Ticket] = {}
        self.waiting: list[dict[int, int]] = []                             # hall -> matter id -> tickets
        self.refused: dict[str, int] = {}
        self.double_calls: list[int] = []
        self.lock = threading.Lock()

    # --- the morning: catalogue and logins ---

    def port_of(self, client: str) -> int:
        """Every kiosk and every clerk sticks to one server process, as behind nginx `ip_hash`
        (each device has its own address)."""
        return self.ports[zlib.crc32(client.encode()) % len(self.ports)]

    def open_halls(self) -> None:
        def catalogue(h):
            status, body = self.wire.call(self.ports[h % len(self.ports)], "catalogue", "GET",
                                          f"/matters?hall={self.plans[h].code}")
            if status != 200:
                raise Failed(f"catalogue of {self.plans[h].code}: {status} {body}")
            return body
        for h, body in enumerate(self.pool.map(catalogue, range(len(self.plans)))):
            self.matter_ids.append({m["code"]: m["id"] for m in body["matters"]})
            desks = {w["id"]: Desk(h, w["id"], w["number"], self.port_of(f"{self.plans[h].code}/{w['number']}"))
                     for w in body["windows"]}
            self.desks.extend(desks.values())
            self.servers_of.append({m["id"]: [desks[w] for w in m["window_ids"]] for m in body["matters"]})
            self.waiting.append({})

        def login(desk: Desk):
            status, body = self.wire.call(desk.port, "login", "POST", "/auth/login",
                                          {"username": f"clerk{desk.number:02d}", "password": PASSWORD,
                                           "hall": self.plans[desk.hall].code})
            if status != 200:
                raise Failed(f"login clerk{desk.number:02d}@{self.plans[desk.hall].code}: {status} {body}")
            desk.token = body["token"]
        list(self.pool.map(login, self.desks))

    # --- the day ---

    def _issue(self, a: Arrival) -> tuple[Arrival, int | None, str | None]:
        plan = self.plans[a.hall]
        kiosk = plan.kiosks[int(a.key.rsplit("-", 1)[1]) % len(plan.kiosks)]
        body = {"matter_id": self.matter_ids[a.hall][a.matter], "request_id": a.key}
        if a.priority:
            body["priority"] = a.priority
        status, answer = self.wire.call(self.port_of(kiosk), "issue", "POST", "/tickets", body, kiosk, retry=True)
        if status in (200, 201):
            return a, answer["ticket"]["id"], None
        if status == 403:  # a hall rule said no: counted, as a kiosk would show it
            return a, None, answer["error"]["code"]
        raise Failed(f"issue {a.key}: {status} {answer}")

    def _window(self, desk: Desk, op: str) -> dict:
        status, body = self.wire.call(desk.port, op, "POST", f"/windows/{desk.id}/{op}", {}, desk.token)
        if status != 200:
            raise Failed(f"{op} at window {desk.number} of {self.plans[desk.hall].code}: {status} {body}")
        return body

    def _act(self, desk: Desk, t0: float, t1: float) -> None:
        """Everything this window does in [t0, t1), in order."""
        while True:
            if desk.state == "free":
                at = max(desk.free_since, t0)
                if not desk.wants_work or at >= CLOSE or at >= t1:
                    return
                status, body = self.wire.call(desk.port, "call-next", "POST", f"/windows/{desk.id}/call-next",
                                              {}, desk.token)
                if status == 404 and body["error"]["code"] == "queue_empty":
                    desk.wants_work = False
                    return
                if status != 200:
                    raise Failed(f"call-next at window {desk.number}: {status} {body}")
                ticket_id = body["ticket"]["id"]
                with self.lock:
                    ticket = self.tickets[ticket_id]
                    if ticket.called_at is not None:
                        self.double_calls.append(ticket_id)
                    else:
                        self.waiting[desk.hall][body["ticket"]["matter_id"]] -= 1
                    ticket.called_at, ticket.window = at, desk.id
                desk.called_at = at
                if ticket.arrival.no_show:
                    desk.state = "absent"
                    desk.plan = [(at + RECALL_SECONDS, "recall"), (at + SKIP_SECONDS, "skip")]
                else:
                    desk.state = "called"
                    accepted = at + WALK_SECONDS
                    desk.plan = [(accepted, "accept"), (accepted + ticket.arrival.service, "finish")]
                desk.ticket = ticket
                continue
            at, op = desk.plan[0]
            if at >= t1:
                return
            body = self._window(desk, op) if op != "paperwork" else None
            desk.plan.pop(0)
            if op == "accept" and body["ticket"]["status"] == "done":
                # A 承诺件's visit ends at 受理 (its case is finished at the desk, not here); the
                # clerk is busy with it for the planned service time all the same.
                desk.ticket.outcome = "done"
                desk.plan = [(desk.plan[0][0], "paperwork")]
            if op == "paperwork":
                desk.state, desk.free_since = "free", at
                desk.busy += at - desk.called_at
            if op in ("finish", "skip"):
                desk.ticket.outcome = "done" if op == "finish" else "skipped"
                desk.state, desk.free_since = "free", at
                desk.busy += at - desk.called_at

    def _wake(self) -> None:
        """Idle clerks who see tickets waiting for their matters press 「叫号」."""
        idle_halls = {d.hall for d in self.desks if d.state == "free" and not d.wants_work}
        for h in idle_halls:
            for matter, n in self.waiting[h].items():
                if n <= 0:
                    continue
                idle = [d for d in self.servers_of[h][matter] if d.state == "free" and not d.wants_work]
                for desk in sorted(idle, key=lambda d: d.free_since)[:n]:
                    desk.wants_work = True

    def run(self, log=None) -> None:
        i, t = 0, float(OPEN)
        began, hour = time.monotonic(), int(OPEN // 3600)
        while True:
            if log and int(t // 3600) != hour:
                hour = int(t // 3600)
                waiting = sum(n for w in self.waiting for n in w.values())
                log(f"  sim {day_plan.clock(t)}: {len(self.tickets):,} issued, {waiting:,} waiting, "
                    f"{self.wire.requests():,} requests, {time.monotonic() - began:,.0f} s")
            t1 = t + self.tick
            batch = []
            while i < len(self.arrivals) and self.arrivals[i].at < t1:
                batch.append(self.arrivals[i])
                i += 1
            for a, ticket_id, refusal in self.pool.map(self._issue, batch):
                if ticket_id is None:
                    self.refused[refusal] = self.refused.get(refusal, 0) + 1
                    continue
                self.tickets[ticket_id] = Ticket(a, t)
                waiting = self.waiting[a.hall]
                matter = self.matter_ids[a.hall][a.matter]
                waiting[matter] = waiting.get(matter, 0) + 1
            if t < CLOSE:
                self._wake()
            busy = [d for d in self.desks
                    if (d.state != "free" and d.plan and d.plan[0][0] < t1)
                    or (d.state == "free" and d.wants_work and max(d.free_since, t) < min(t1, CLOSE))]
            list(self.pool.map(lambda d: self._act(d, t, t1), busy))
            t = t1
            if t >= CLOSE and i >= len(self.arrivals) and all(d.state == "free" for d in self.desks):
                return


def check_database(url: str) -> dict[str, object]:
    """What the database says about the day: tickets by status, tickets called more than once
    (by the event log), and finished cases."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            statuses = dict(conn.execute(text("SELECT status, count(*) FROM tickets GROUP BY status")).all())
            twice = conn.execute(text(
                "SELECT count(*) FROM (SELECT ticket_id FROM events WHERE type = 'ticket.called' "
                "GROUP BY ticket_id HAVING count(*) > 1) x")).scalar()
            cases = conn.execute(text("SELECT count(*) FROM cases WHERE status = 'finished'")).scalar()
            busy_windows = conn.execute(text("SELECT count(*) FROM windows WHERE current_ticket_id IS NOT NULL")).scalar()
            rows = {i: (status, window) for i, status, window in
                    conn.execute(text("SELECT id, status, window_id FROM tickets")).all()}
    finally:
        engine.dispose()
    return {"statuses": statuses, "called_twice": twice, "finished_cases": cases,
            "windows_holding_ticket": busy_windows, "tickets": rows}


def disagreements(tickets: dict[int, Ticket], rows: dict[int, tuple[str, int | None]]) -> int:
    """Tickets whose database status or window differs from what the simulator saw."""
    wrong = len(set(rows) ^ set(tickets))
    for ticket_id, t in tickets.items():
        status, window = rows.get(ticket_id, (None, None))
        expected = t.outcome or ("waiting" if t.called_at is None else "called")
        if status != expected or (t.window is not None and window != t.window):
            wrong += 1
    return wrong


def run_day(halls: int, tickets: int, processes: int = 2, tick: float = 10.0, clients: int = 16,
            seed: int = 7, service_scale: float = 1.0, pg_server: str = PG_SERVER,
            use_database: str | None = None, work_dir: Path | None = None, log=None,
            sizes: dict[str, int] | None = None) -> DayResult:
    """Generate the city, start the servers, simulate the day, measure; stop and clean up.

    The servers get a fresh database on `pg_server` (dropped after), or `use_database` as it is
    (a test's own schema, which it reads afterwards). `sizes`: windows per tier (halls.layout)."""
    with ExitStack() as stack:
        if work_dir is None:
            work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hall-city-")))
        plans = write_city(halls, work_dir / "halls", sizes)
        arrivals = day_plan.day(tickets, [(p.windows, _codes(p)) for p in plans], tick, seed, service_scale)
        url = tag(use_database, "city-day") if use_database else stack.enter_context(fresh_database(pg_server))
        sampler = stack.enter_context(BackendSampler(url))
        wall0 = time.monotonic()
        servers = stack.enter_context(start_servers([p.path for p in plans], processes, url, work_dir))
        wall_start = time.monotonic() - wall0
        cpu_start = [cpu_seconds(s.pid) for s in servers]
        rss_start = [memory_kb(s.pid).get("VmRSS", 0) for s in servers]
        wire = Wire()
        pool = stack.enter_context(ThreadPoolExecutor(clients))
        day = Day(plans, [s.port for s in servers], arrivals, wire, pool, tick)
        t0 = time.monotonic()
        day.open_halls()
        wall_setup = time.monotonic() - t0
        cpu_setup = [cpu_seconds(s.pid) for s in servers]
        peak_setup = [memory_kb(s.pid).get("VmHWM", 0) for s in servers]
        for s in servers:
            reset_peak(s.pid)  # the day's peak, without the logins' password-hash buffers
        sampler.sample()
        pg_backends0, pg_all0 = sampler.total(), postgres_cpu_total()
        requests0 = wire.requests()
        client0 = _own_cpu()
        t0 = time.monotonic()
        day.run(log)
        wall_day = time.monotonic() - t0
        client_cpu = _own_cpu() - client0
        cpu_day = [cpu_seconds(s.pid) for s in servers]
        sampler.sample()
        pg_backends1, pg_all1 = sampler.total(), postgres_cpu_total()
        server_rows = [{"pid": s.pid, "port": s.port, "cpu_start": a, "cpu_setup": b - a, "cpu_day": c - b,
                        "rss_start_kb": r, "peak_setup_kb": p, "peak_kb": memory_kb(s.pid).get("VmHWM", 0),
                        "rss_kb": memory_kb(s.pid).get("VmRSS", 0)}
                       for s, a, b, c, p, r in zip(servers, cpu_start, cpu_setup, cpu_day, peak_setup, rss_start)]
        check = check_database(url)
        size = database_bytes(url)
        return DayResult(
            plans=plans, tickets=day.tickets, desks=day.desks, tick=tick, processes=processes,
            wall={"start": wall_start, "setup": wall_setup, "day": wall_day},
            requests=wire.requests() - requests0,
            latency={op: v for op, v in wire.latency.items()}, statuses=dict(wire.statuses),
            servers=server_rows,
            postgres={"backends_day": pg_backends1 - pg_backends0, "all_day": pg_all1 - pg_all0,
                      "backends_total": pg_backends1, "db_bytes": size},
            client_cpu=client_cpu, refused=day.refused, double_calls=day.double_calls, check=check,
            database_url=url)


def _codes(plan: HallPlan) -> list[str]:
    import tomllib
    with plan.path.open("rb") as f:
        return [m["code"] for m in tomllib.load(f)["matters"]]


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
