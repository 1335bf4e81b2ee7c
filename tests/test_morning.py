"""A hall's morning under concurrency: 300 tickets from 8 kiosks, 10 windows calling at once.

Every ticket is called exactly once, only by a window that serves its matter, and each window's
calls follow its order (priority first, then its matter rank, then first come first served).
Run on SQLite (BEGIN IMMEDIATE) and PostgreSQL (FOR UPDATE SKIP LOCKED).
"""
from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import KIOSK, SMALL_HALL, HallDriver, migrated_postgres_url, unlimited_kiosks
from queue_server.app import create_app
from queue_server.config import load_hall_config

CFG = load_hall_config(SMALL_HALL)
MATTERS = [m.code for m in CFG.matters]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def morning_app(request, tmp_path, sqlite_db):
    # The real clock: the tickets' issue times are what the threads really did.
    url = sqlite_db(tmp_path / "hall.db") if request.param == "sqlite" else migrated_postgres_url()
    app = create_app([SMALL_HALL], url, secret=b"morning")
    app.extensions["hall"].ignore_hours = True  # the real clock: the morning may be played at night
    unlimited_kiosks(app)  # the morning's many kiosks, played through one token
    yield app
    app.extensions["hall"].engine.dispose()


def issue_many(app, matters: dict, count: int, threads: int) -> list[dict]:
    rng = random.Random(7)
    plan = [(rng.choice(MATTERS), rng.choice([None] * 9 + ["elderly", "military", "disabled", "pregnant"]))
            for _ in range(count)]

    def kiosk(part):
        client = app.test_client()
        out = []
        for code, priority in part:
            body = {"matter_id": matters[code]["id"]} | ({"priority": priority} if priority else {})
            r = client.post("/api/v1/tickets", json=body, headers={"Authorization": f"Bearer {KIOSK}"})
            assert r.status_code == 201, r.get_json()
            out.append(r.get_json()["ticket"])
        return out

    with ThreadPoolExecutor(threads) as pool:
        parts = [plan[i::threads] for i in range(threads)]
        return [t for chunk in pool.map(kiosk, parts) for t in chunk]


def run_windows(app, driver: HallDriver, numbers: list[int]) -> dict[int, list[dict]]:
    calls: dict[int, list[dict]] = defaultdict(list)
    start = threading.Barrier(len(numbers))
    headers = {n: driver.headers(f"clerk{n:02d}") for n in numbers}

    def window(number: int):
        client = app.test_client()
        wid = driver.windows[number]["id"]
        start.wait()
        step = 0
        while True:
            r = client.post(f"/api/v1/windows/{wid}/call-next", headers=headers[number])
            if r.status_code == 404:
                assert r.get_json()["error"]["code"] == "queue_empty"
                return
            assert r.status_code == 200, r.get_json()
            calls[number].append(r.get_json()["ticket"])
            step += 1
            if step % 3 == 0:
                assert client.post(f"/api/v1/windows/{wid}/skip", headers=headers[number]).status_code == 200
            else:
                accepted = client.post(f"/api/v1/windows/{wid}/accept", headers=headers[number])
                assert accepted.status_code == 200
                if accepted.get_json()["case"]["kind"] == "即办件":   # a 承诺件's visit ends at 受理
                    assert client.post(f"/api/v1/windows/{wid}/finish", headers=headers[number]).status_code == 200

    with ThreadPoolExecutor(len(numbers)) as pool:
        list(pool.map(window, numbers))
    return calls


def test_morning_every_ticket_called_exactly_once_in_order(morning_app):
    driver = HallDriver(morning_app.test_client())
    issued = issue_many(morning_app, driver.matters, 300, threads=8)
    assert len(issued) == 300

    # Numbers: unique, and per prefix exactly 1..n with no gap.
    by_prefix = defaultdict(list)
    for t in issued:
        by_prefix[t["number"][0]].append(int(t["number"][1:]))
    for prefix, numbers in by_prefix.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), prefix

    calls = run_windows(morning_app, driver, list(range(1, 11)))
    called = Counter(t["id"] for per_window in calls.values() for t in per_window)
    assert set(called) == {t["id"] for t in issued}
    assert max(called.values()) == 1, "a ticket was called twice"

    issued_by_id = {t["id"]: t for t in issued}
    code_of = {m["id"]: code for code, m in driver.matters.items()}
    for number, tickets in calls.items():
        window_cfg = next(w for w in CFG.windows if w.number == number)
        # A number series ranks as its best-ranked matter here; within a series, issue order.
        prefix = {code: driver.matters[code]["prefix"] for code in window_cfg.matters}
        rank = {code: min(i for i, c in enumerate(window_cfg.matters) if prefix[c] == prefix[code])
                for code in window_cfg.matters}
        keys = []
        for t in tickets:
            code = code_of[t["matter_id"]]
            assert code in rank, f"window {number} called {t['number']} of a matter it does not serve"
            original = issued_by_id[t["id"]]
            keys.append((0 if original["priority"] else 1,
                         rank[code] if window_cfg.order == "ranked" else 0,
                         original["issued_at"], t["id"]))
        # With no new arrivals, each call takes the best remaining ticket: keys never go down.
        # (issued_at has second resolution; the id breaks ties the same way the server does.)
        coarse = [k[:2] for k in keys]
        assert coarse == sorted(coarse), f"window {number} broke priority/series order"
        for a, b in zip(keys, keys[1:]):
            if a[:2] == b[:2]:
                assert a[2] <= b[2], f"window {number} broke first-come-first-served"

    snap = driver.queue()
    assert snap["waiting"]["total"] == 0
    assert all(w["current"] is None for w in snap["windows"])


def test_issuing_and_calling_at_the_same_time(morning_app):
    driver = HallDriver(morning_app.test_client())
    results: dict[str, list] = {}

    def issue():
        results["issued"] = issue_many(morning_app, driver.matters, 120, threads=4)

    issuer = threading.Thread(target=issue)
    issuer.start()
    calls = run_windows(morning_app, driver, list(range(1, 11)))
    issuer.join()
    # Windows may have emptied the queue before the kiosks finished: drain the rest.
    calls2 = run_windows(morning_app, driver, list(range(1, 11)))
    every = [t["id"] for c in (calls, calls2) for per in c.values() for t in per]
    assert len(every) == len(set(every)) == 120
    assert set(every) == {t["id"] for t in results["issued"]}
