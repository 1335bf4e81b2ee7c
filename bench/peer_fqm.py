"""Issue and call-next against FQM (github mrf345/FQM), the open-source peer of issue 7, over HTTP only.

    python bench/peer_fqm.py --peer-url http://127.0.0.1:5050 [--tickets 1000] [--clients 8] [--pull api|web]

FQM is not part of this project and nothing here installs or starts it: bring it up by hand from its
own README and pass its URL. The bench does what bench/http_bench.py does in its closed mode, on
the same hall shape: `--clients` kiosk threads issue tickets for random matters (FQM "tasks"),
then as many windows pull until the queue is empty. Every window serves every matter: in FQM each
task is a "common task" of every office, one office per window. FQM has at most 26 offices (one
prefix letter each), so past 26 windows several windows share an office, as operators do there.

It logs in as FQM's admin (form + CSRF token) to find or create the offices, tasks and an API
token, and DELETES ALL OF FQM'S TICKETS before each run so that the counts can be checked against
FQM's own ticket list afterwards.

The FQM requests:
- issue: `POST /api/v1/tickets/ {"task_id": N}` with `Authorization: Token …`, FQM's REST API
  (it puts the ticket in the task's office with the fewest waiting tickets).
- call-next, `--pull api` (default): `GET /api/v1/tickets/pull?office_id=N`, FQM's REST pull: the
  oldest waiting ticket of the hall, marked processed, as our 综合窗口 call the oldest waiting
  ticket of any matter. Our window also sends a skip after each call; FQM needs no second request.
- call-next, `--pull web`: `GET /pull/<task>/<office>`, the operator's "Pull a ticket" link, with
  the admin's session cookie; a window walks the tasks of its office. FQM answers 302 either way;
  the outcome is the flash message it writes into the (signed, not encrypted) session cookie.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import random
import re
import sys
import threading
import time
import urllib.parse
import zlib
from collections import Counter

USER_AGENT = "hall-bench-peer/1"
TOKEN_NAME = "hall-bench"
MAX_OFFICES = 26   # one prefix letter A–Z per office; TaskForm also has only check0…check26
TASKS = 6          # bench/hall_config.py's generated hall has six matters
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
OFFICE_LINK = re.compile(r'href="#dropdown-lvl(\d+)">\s*<span class="fa fa-desktop"></span>\s*\d+\.\S*\s+([A-Z])(\S+)')
PULL_LINK = re.compile(r'href="/pull/(\d+)/(\d+)"')
TOKEN_ROW = re.compile(r"<strong>\d+\. (.*?)</strong>.*?copyToClipboard\('([0-9a-f]{32})'\)", re.S)


def percentile(values: list[float], p: float) -> float | None:
    """The same nearest-rank percentile as bench/http_bench.py."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def last_flash(set_cookie: str | None) -> tuple[str, str] | None:
    """The newest flash message in a Flask session cookie: base64 JSON, zlib'd when it starts with a dot.

    FQM's pages answer every pull with a redirect; only the flash says whether a ticket was pulled."""
    match = re.search(r"(?:^|[;,]\s*)session=([^;]+)", set_cookie or "")
    if not match:
        return None
    value = match.group(1)
    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    flashes = json.loads(zlib.decompress(raw) if compressed else raw).get("_flashes") or []
    return tuple(flashes[-1][" t"]) if flashes else None


class FQM:
    """One HTTP connection to a FQM server; `clone()` gives each thread its own."""

    def __init__(self, url: str, token: str | None = None, cookie: str | None = None,
                 offices: dict[int, list[int]] | None = None):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"need an http:// URL, got {url!r}")
        self.url = url
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
        self.token, self.cookie = token, cookie
        self.offices = offices or {}  # office id → the ids of the tasks it serves
        self.keep_cookies = False     # setup follows the session; the bench sends one fixed cookie
        self.csrf = ""
        self.last_error = ""
        self.pulled: list[int] = []   # ticket ids pulled through the API (the web pull does not say)

    def clone(self) -> FQM:
        return FQM(self.url, self.token, self.cookie, self.offices)

    @property
    def task_ids(self) -> list[int]:
        return sorted({t for tasks in self.offices.values() for t in tasks})

    # -- plumbing -------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, form: dict | None = None, payload: dict | None = None,
                api: bool = False) -> tuple[int, http.client.HTTPResponse | None, bytes, float]:
        """(status, response, body, seconds); status 0 when the connection failed."""
        headers = {"User-Agent": USER_AGENT}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif payload is not None:
            body = json.dumps(payload)
            headers["Content-Type"] = "application/json"
        if api:
            headers["Authorization"] = f"Token {self.token}"
        elif self.cookie:
            headers["Cookie"] = f"session={self.cookie}"
        start = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()  # the next request opens a new connection
            self.last_error = f"{method} {path}: {exc!r}"
            return 0, None, b"", time.perf_counter() - start
        seconds = time.perf_counter() - start
        if self.keep_cookies:
            match = re.search(r"session=([^;]+)", response.getheader("Set-Cookie") or "")
            if match:
                self.cookie = match.group(1)
        return response.status, response, data, seconds

    def page(self, path: str) -> str:
        """An admin page (slow in FQM: it builds a translation client per string, so setup loads
        as few as it can). Tried up to three times, since on a loaded machine a page can pass
        gunicorn's 30 s worker timeout, which answers 500. Keeps the page's CSRF token."""
        for _ in range(3):
            status, _, data, _ = self.request("GET", path)
            if status == 200:
                html = data.decode("utf-8", "replace")
                csrf = CSRF.search(html)
                self.csrf = csrf.group(1) if csrf else self.csrf
                return html
            if status and status < 500:
                break
        raise RuntimeError(f"FQM GET {path}: HTTP {status} {self.last_error}")

    def submit(self, path: str, fields: dict, form_page: str | None = None) -> str:
        """Post one of FQM's forms; returns where FQM redirected. One CSRF token serves every form
        of a session (Flask-WTF, valid an hour): a page is loaded only when there is none yet,
        or when FQM shows the form again instead of redirecting (the token was refused)."""
        for attempt in range(2):
            if not self.csrf or attempt:
                self.page(form_page or path)
            status, response, _, _ = self.request("POST", path, form={"csrf_token": self.csrf, **fields})
            if status == 302:
                return response.getheader("Location", "")
        raise RuntimeError(f"FQM POST {path}: HTTP {status}, expected a redirect {self.last_error}")

    def api_list(self, path: str) -> list[dict]:
        """All rows of one of FQM's API lists (30 a chunk)."""
        rows, chunk = [], 1
        while True:
            status, _, data, _ = self.request("GET", f"{path}?chunk={chunk}", api=True)
            if status != 200:
                raise RuntimeError(f"FQM GET {path}: HTTP {status} {self.last_error}")
            page = json.loads(data)
            if not page:
                return rows
            rows += page
            chunk += 1

    # -- setup ----------------------------------------------------------------------------------

    def login(self, user: str = "Admin", password: str = "admin") -> None:
        self.keep_cookies = True
        if "/log/" in self.submit("/", {"name": user, "password": password}):
            raise RuntimeError(f"FQM refused the login of {user!r}")

    def _offices(self) -> dict[str, tuple[int, str]]:
        """office name → (id, prefix letter), from the admin sidebar; the page also shows (and so
        drops) pending flash messages, so the session cookie carries none into the bench."""
        return {name: (int(i), prefix) for i, prefix, name in OFFICE_LINK.findall(self.page("/manage"))}

    def _api_token(self) -> str:
        def listed() -> str | None:
            rows = TOKEN_ROW.findall(self.page("/auth_tokens"))
            return next((token for name, token in rows if name.strip() == TOKEN_NAME), None)

        if listed() is None:
            self.submit("/auth_tokens_a", {"name": TOKEN_NAME, "description": "issue 7 benchmark"},
                        form_page="/auth_tokens")
        token = listed()
        if token is None:
            raise RuntimeError("FQM does not list the API token it was asked to create")
        return token

    def setup(self, n_tasks: int = TASKS, n_offices: int = 8) -> None:
        """Log in as FQM's admin; find or create `n_offices` offices and `n_tasks` tasks served by
        every one of them, and the API token. Tasks are named by their office count, so a run with
        another count gets its own tasks."""
        if not 1 <= n_offices <= MAX_OFFICES:
            raise ValueError(f"FQM holds 1 to {MAX_OFFICES} offices, not {n_offices}")
        if not self.cookie:
            self.login()
        self.token = self.token or self._api_token()

        names = [f"window{n:02d}" for n in range(1, n_offices + 1)]
        offices = self._offices()
        free = [p for p in map(chr, range(ord("A"), ord("Z") + 1)) if p not in {p for _, p in offices.values()}]
        missing = [name for name in names if name not in offices]
        if len(missing) > len(free):
            raise RuntimeError(f"FQM has no free office prefix left ({MAX_OFFICES} offices at most)")
        for name, prefix in zip(missing, free):
            self.submit("/office_a", {"name": name, "prefix": prefix})
        if missing:
            offices = self._offices()
        ids = [offices[name][0] for name in names]
        if max(ids) > MAX_OFFICES:
            raise RuntimeError(f"FQM office ids above {MAX_OFFICES} cannot hold common tasks; start FQM afresh")

        tasks = [f"matter {t} for {n_offices} windows" for t in range(1, n_tasks + 1)]
        existing = {row["name"]: row["id"] for row in self.api_list("/api/v1/tasks/")}
        for task in tasks:
            if task not in existing:
                if n_offices == 1:
                    self.submit(f"/task_a/{ids[0]}", {"name": task})
                else:
                    self.submit("/common_task_a", {"name": task, **{f"check{i}": "y" for i in ids}})
        existing = {row["name"]: row["id"] for row in self.api_list("/api/v1/tasks/")}

        # What FQM really has: the operator's pull links name every (task, office) pair.
        pairs = {(int(t), int(o)) for t, o in PULL_LINK.findall(self.page("/manage"))}
        self.offices = {o: [existing[t] for t in tasks] for o in ids}
        absent = [(t, o) for o, ts in self.offices.items() for t in ts if (t, o) not in pairs]
        if absent:
            raise RuntimeError(f"FQM lacks these (task, office) pairs after setup: {absent[:5]}")
        self.keep_cookies = False

    # -- the two operations ---------------------------------------------------------------------

    def issue(self, task: int) -> tuple[bool, float]:
        """A kiosk takes a ticket for a task; FQM chooses the office."""
        status, _, data, seconds = self.request("POST", "/api/v1/tickets/", payload={"task_id": task}, api=True)
        ok = status == 200 and json.loads(data).get("task_id") == task
        if not ok and status:
            self.last_error = f"issue: HTTP {status} {data[:160]!r}"
        return ok, seconds

    def call_next(self, office: int, task: int | None = None) -> tuple[bool, float]:
        """A window pulls its next ticket: FQM's API pull, or with `task` the operator's link for
        that task at `office`. ok is False when nothing was pulled; then `last_error` is "empty"
        if FQM said there was nothing left."""
        if task is None:
            status, _, data, seconds = self.request("GET", f"/api/v1/tickets/pull?office_id={office}", api=True)
            ticket = json.loads(data) if status == 200 else {}
            if ticket.get("p") is True:
                self.pulled.append(ticket["id"])
                return True, seconds
            if status == 404:
                self.last_error = "empty"
            elif status:
                self.last_error = f"pull: HTTP {status} {data[:160]!r}"
            return False, seconds
        status, response, _, seconds = self.request("GET", f"/pull/{task}/{office}")
        flash = last_flash(response.getheader("Set-Cookie")) if status == 302 else None
        if flash and "Ticket has been pulled" in flash[1]:
            return True, seconds
        if flash and "no tickets left" in flash[1]:
            self.last_error = "empty"
        elif status:
            self.last_error = f"pull: HTTP {status}, flash {flash}"
        return False, seconds

    def delete_all_tickets(self) -> None:
        status, _, _, _ = self.request("DELETE", "/api/v1/tickets/", api=True)
        if status != 204:
            raise RuntimeError(f"FQM ticket reset: HTTP {status} {self.last_error}")


# -- the run ------------------------------------------------------------------------------------

def _row(op: str, name: str, records: list[dict]) -> dict:
    """A row shaped like bench/http_bench.py's summary(): wall time from first send to last answer."""
    ms = [v for r in records for v in r["ms"]]
    firsts = [r["first"] for r in records if r["first"] is not None]
    wall = max(r["last"] for r in records if r["last"] is not None) - min(firsts) if firsts else 0.0
    errors = [e for r in records for e in r["errors"]]
    return {"op": op, "name": name, "requests": len(ms), "seconds": round(wall, 2),
            "per_s": round(len(ms) / wall, 1) if wall else 0.0,
            "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99), "max_ms": max(ms) if ms else None,
            "errors": len(errors), "error_kinds": dict(Counter(errors).most_common(5)), "ms": ms}


def _threads(target, args_list: list[tuple]) -> list[dict]:
    records = [{"ms": [], "errors": [], "first": None, "last": None} for _ in args_list]
    threads = [threading.Thread(target=target, args=(rec, *args)) for rec, args in zip(records, args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return records


def run(peer_url: str, tickets: int, clients: int, pull: str = "api", n_tasks: int = TASKS,
        seed: int = 7, label: str = "FQM") -> dict:
    """Closed-mode issue then call-next against FQM. Rows carry the latencies (`ms`) and the
    figures of http_bench's rows (requests, per_s, p50/p99/max ms, errors); `check` holds the
    counts the bench answered and FQM's own."""
    if pull not in ("api", "web"):
        raise ValueError("pull is api or web")
    admin = FQM(peer_url)
    admin.setup(n_tasks, min(clients, MAX_OFFICES))
    admin.delete_all_tickets()
    task_ids, office_ids = admin.task_ids, sorted(admin.offices)

    def kiosk(rec: dict, count: int, seed: int):
        rng, fqm = random.Random(seed), admin.clone()
        for _ in range(count):
            sent = time.perf_counter()
            ok, seconds = fqm.issue(rng.choice(task_ids))
            rec["first"] = sent if rec["first"] is None else rec["first"]
            rec["last"] = sent + seconds
            if ok:
                rec["ms"].append(seconds * 1000)
            else:
                rec["errors"].append(fqm.last_error)

    counts = [tickets // clients + (1 if i < tickets % clients else 0) for i in range(clients)]
    issued = _threads(kiosk, [(counts[i], seed + i) for i in range(clients)])
    after_issue = admin.api_list("/api/v1/tickets/")
    budget = 2 * len(after_issue) + 100  # each window stops after this many requests, whatever happens

    def window(rec: dict, office: int):
        fqm, sent_count = admin.clone(), 0
        for task in (admin.offices[office] if pull == "web" else [None]):
            misses = 0
            while sent_count < budget and misses < 3:
                sent = time.perf_counter()
                ok, seconds = fqm.call_next(office, task)
                sent_count += 1
                if not ok and fqm.last_error == "empty":
                    break  # this queue is empty: as our windows stop on 404
                rec["first"] = sent if rec["first"] is None else rec["first"]
                rec["last"] = sent + seconds
                if ok:
                    rec["ms"].append(seconds * 1000)
                    misses = 0
                else:
                    rec["errors"].append(fqm.last_error)
                    misses += 1
        rec["pulled"] = fqm.pulled

    called = _threads(window, [(office_ids[i % len(office_ids)],) for i in range(clients)])
    final = admin.api_list("/api/v1/tickets/")

    pulled_ids = [t for rec in called for t in rec["pulled"]]
    numbers = Counter(t["number"] for t in after_issue)
    issue_row = _row("issue", f"issue ticket ({clients} kiosk clients)", issued)
    call_row = _row("call-next", f"pull ({clients} windows, {'API pull' if pull == 'api' else 'operator link'})",
                    called)
    distinct = len(set(pulled_ids)) if pull == "api" else None
    check = {
        "issued_ok": issue_row["requests"], "pulled_ok": call_row["requests"],
        "fqm_tickets": len(after_issue), "fqm_waiting_after_issue": sum(not t["p"] for t in after_issue),
        "fqm_pulled_at_end": sum(bool(t["p"]) for t in final), "fqm_waiting_at_end": sum(not t["p"] for t in final),
        # FQM's own faults, found on the way (its numbering and its pull read, then write, unlocked):
        "fqm_duplicate_numbers": sum(c - 1 for c in numbers.values() if c > 1),
        "pulled_twice": call_row["requests"] - (distinct if distinct is not None else sum(bool(t["p"]) for t in final)),
    }
    # Every ticket the kiosks were told about is in FQM's list, waiting, and pulled by the end;
    # through the API pull each one was also handed out (at least once).
    check["agree"] = (check["issued_ok"] == check["fqm_tickets"] == check["fqm_waiting_after_issue"]
                      == check["fqm_pulled_at_end"] and not check["fqm_waiting_at_end"]
                      and (distinct is None or distinct == check["fqm_tickets"]))
    return {"database": label, "mode": "closed", "clients": clients, "pull": pull,
            "offices": len(office_ids), "tasks": len(task_ids), "rows": [issue_row, call_row], "check": check}


def _fmt(v, digits: int = 1) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def table(result: dict) -> str:
    lines = ["| deployment | operation | requests | per second | p50 ms | p99 ms | max ms | errors |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in result["rows"]:
        lines.append(f"| {result['database']} | {row['name']} | {row['requests']} | {_fmt(row['per_s'], 0)} | "
                     f"{_fmt(row['p50_ms'])} | {_fmt(row['p99_ms'])} | {_fmt(row['max_ms'])} | {row['errors']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-url", help="FQM's base URL, e.g. http://127.0.0.1:5050")
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pull", choices=("api", "web"), default="api")
    parser.add_argument("--label", default="FQM", help="the deployment column, e.g. 'FQM, gunicorn ×2, SQLite'")
    args = parser.parse_args(argv)
    if not args.peer_url:
        print("No FQM peer given: nothing measured. Start FQM by hand from its own README and pass "
              "--peer-url http://127.0.0.1:PORT.", file=sys.stderr)
        return 2
    r = run(args.peer_url, args.tickets, args.clients, args.pull, label=args.label)
    c = r["check"]
    print(f"FQM at {args.peer_url}: {r['clients']} kiosk clients, then {r['clients']} windows on "
          f"{r['offices']} FQM offices, {r['tasks']} tasks each\n")
    print(table(r))
    print(f"\nanswered as done: {c['issued_ok']} issued, {c['pulled_ok']} pulled. FQM's own ticket list: "
          f"{c['fqm_tickets']} tickets after issuing, {c['fqm_waiting_after_issue']} of them waiting; "
          f"at the end {c['fqm_pulled_at_end']} pulled, {c['fqm_waiting_at_end']} waiting.")
    print(f"FQM faults seen: {c['fqm_duplicate_numbers']} tickets issued with a number already given out; "
          f"{c['pulled_twice']} pulls handed out a ticket another window had already pulled.")
    for row in r["rows"]:
        for kind, n in row["error_kinds"].items():
            print(f"  {row['op']} error ×{n}: {kind}")
    print("counts agree: every ticket issued is in FQM's list and was pulled" if c["agree"]
          else "COUNTS DO NOT AGREE")
    return 0 if c["agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
