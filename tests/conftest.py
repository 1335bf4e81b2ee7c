"""Fixtures for a hall's day: an app on a fresh database, a clock the test moves, and helpers
that speak the API the way the kiosk and the window caller do."""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from queue_server import services
from queue_server.app import create_app
from queue_server.clock import FrozenClock

HERE = Path(__file__).resolve().parent
SMALL_HALL = HERE / "halls" / "small.toml"
DEMO_HALL = HERE.parent / "config" / "demo" / "hall.toml"
PASSWORD = "test1234"
KIOSK = "test-kiosk"
DISPLAY = "test-display"

# Background checkers (warnings, SMS sender, device watch) stay off unless a test starts them.
os.environ.setdefault("HALL_WORKERS", "0")

PG_URL = os.environ.get("HALL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HALL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# CI sets this: a missing PostgreSQL or Redis is then a failure, not a skip.
REQUIRE_SERVICES = os.environ.get("HALL_REQUIRE_SERVICES") == "1"


def migrate(engine, how: str, revision: str) -> None:
    """Alembic `upgrade`/`downgrade` to `revision` on this engine, under the server's start-up lock."""
    from alembic import command

    from queue_server.schema import alembic_config, migrating
    cfg = alembic_config()
    with migrating(engine) as conn:
        cfg.attributes["connection"] = conn
        getattr(command, how)(cfg, revision)


def busy_hall_config(tmp_path: Path) -> Path:
    """The small hall with the per-kiosk rate limit off, for load tests: their one kiosk token
    stands for a hall's many kiosks, which together issue far more than one kiosk's 30 a minute."""
    path = tmp_path / "busy-hall.toml"
    path.write_text(SMALL_HALL.read_text(encoding="utf-8").replace(
        "[hall]\n", "[hall]\nkiosk_tickets_per_minute = 0\n", 1), encoding="utf-8")
    return path


def unlimited_kiosks(app) -> None:
    """In-process load tests: the same as busy_hall_config, on a running app."""
    for cfg in app.extensions["hall"].halls.values():
        cfg.kiosk_tickets_per_minute = 0


def service_missing(what: str, exc: Exception):
    message = f"{what} is not reachable ({exc.__class__.__name__}: {exc})"
    if REQUIRE_SERVICES:
        pytest.fail(message + " and HALL_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip("SKIPPED LOUDLY: " + message + "; start it to run the scaled-deployment tests")


def fresh_postgres_url() -> str:
    """A new schema on the test database per test, so tests never see each other's rows."""
    try:
        engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            schema = f"t_{uuid.uuid4().hex[:12]}"
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        service_missing("PostgreSQL at " + PG_URL, exc)
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


_pg_made: list[str] = []   # databases this worker made, its template first; dropped when the run ends


def migrated_postgres_url() -> str:
    """A new database on the test server, copied (CREATE DATABASE … TEMPLATE) from one this worker
    migrated once: a fresh schema took seconds of migrations per test, a copy a fraction of one.
    Tests of the migrations themselves take fresh_postgres_url() instead."""
    try:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not _pg_made:
                _pg_made.append(f"hall_template_{uuid.uuid4().hex[:12]}")
                conn.execute(text(f"CREATE DATABASE {_pg_made[0]}"))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        service_missing("PostgreSQL at " + PG_URL, exc)
    if len(_pg_made) == 1:
        from queue_server.db import make_engine
        from queue_server.schema import upgrade
        engine = make_engine(_database_url(_pg_made[0]))
        upgrade(engine)
        engine.dispose()   # a template may have no one connected while it is copied
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {_pg_made[0]}"))
        _pg_made.append(name)
    admin.dispose()
    return _database_url(name)


def _database_url(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_copies():
    """The databases migrated_postgres_url made, dropped at the end (with anyone still connected)."""
    yield
    if not _pg_made:
        return
    services.stop_all()   # no monitor of a module-scoped app polls a database being dropped
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in reversed(_pg_made):
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


CHROMIUM = Path("/usr/bin/chromium")
# Started as the hall's display and kiosk browsers are (README): voice may play without a tap.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="session")
def chromium():
    """One Debian Chromium for the whole run. Playwright's sync API allows one instance per
    thread, so every area's browser tests share this one. Missing: a loud skip, or a failure
    in CI (HALL_REQUIRE_SERVICES=1)."""
    if not CHROMIUM.exists():
        service_missing(f"Chromium at {CHROMIUM}", FileNotFoundError("install Debian's chromium"))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        service_missing("the playwright package", exc)
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except Exception as exc:  # noqa: BLE001 - any launch failure
        pw.stop()
        service_missing(f"Chromium at {CHROMIUM}", exc)
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 10, 9, 0))  # a Tuesday morning


_sqlite_template: list[Path] = []   # this worker's migrated SQLite file, made on first use


def copy_migrated_sqlite(path: Path) -> str:
    """A copy at `path` of one SQLite file this worker brought to the head revision once, and
    its URL: the app's (or a served process's) `upgrade` then finds nothing to do instead of
    running every migration again (0.7 s each). The schema is empty of rows, so the server
    secret it was made under does not matter. Tests of the migrations start from an empty file."""
    if not _sqlite_template:
        import tempfile

        from queue_server.db import make_engine
        from queue_server.schema import upgrade
        template = Path(tempfile.mkdtemp(prefix="hall-migrated-")) / "hall.db"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        engine.dispose()   # the last connection closed checkpoints the WAL into the file itself
        assert not template.with_name("hall.db-wal").exists()
        _sqlite_template.append(template)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template[0], path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session", autouse=True)
def _drop_sqlite_template():
    yield
    if _sqlite_template:
        shutil.rmtree(_sqlite_template[0].parent, ignore_errors=True)


@pytest.fixture
def sqlite_db():
    """sqlite_db(path) -> URL of a migrated database at `path` (copy_migrated_sqlite)."""
    return copy_migrated_sqlite


@pytest.fixture
def db_url(tmp_path, sqlite_db) -> str:
    return sqlite_db(tmp_path / "hall.db")


@pytest.fixture
def app(db_url, clock):
    app = create_app([SMALL_HALL], db_url, secret=b"test-secret", clock=clock)
    misshapen = check_published_events(app)
    yield app
    services.stop(app)                        # no thread of this app polls after its test
    app.extensions["hall"].engine.dispose()   # its pooled connections hold descriptors until the run ends
    assert not misshapen, f"events not of their declared shape (queue_server/schemas.py): {misshapen[:3]}"


def check_published_events(app) -> list[str]:
    """Every event the app publishes is checked against its type in schemas.py: so every test
    that drives the hall also checks the event contract. Returns the list of mismatches."""
    from pydantic import ValidationError

    from queue_server.schemas import check_event
    rt = app.extensions["hall"]
    send, misshapen = rt.publish, []

    def publish(hall_id: int, event: dict) -> None:
        try:
            check_event(event)
        except (KeyError, ValidationError) as exc:
            misshapen.append(f"{event.get('type')}: {exc}")
        send(hall_id, event)
    rt.publish = publish
    return misshapen


@pytest.fixture
def client(app):
    return app.test_client()


class HallDriver:
    """The API as the hall's devices and staff use it."""

    def __init__(self, client, *, staffed: bool = True):
        self.c = client
        if staffed:   # a working morning: every window's clerk signed in on it (staffing.py)
            sign_in_clerks(client.application)
        self.tokens: dict[str, str] = {}
        catalogue = client.get("/api/v1/matters").get_json()
        self.matters = {m["code"]: m for m in catalogue["matters"]}
        self.windows = {w["number"]: w for w in catalogue["windows"]}

    def token(self, username: str) -> str:
        if username not in self.tokens:
            r = self.c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.get_json()
            self.tokens[username] = r.get_json()["token"]
        return self.tokens[username]

    def headers(self, who: str) -> dict:
        token = who if who in (KIOSK, DISPLAY) or who.startswith("test-") else self.token(who)
        return {"Authorization": f"Bearer {token}"}

    def issue(self, code: str, **extra):
        return self.c.post("/api/v1/tickets", json={"matter_id": self.matters[code]["id"], **extra},
                           headers=self.headers(KIOSK))

    def op(self, number: int, action: str, body: dict | None = None, who: str | None = None):
        window = self.windows[number]
        return self.c.post(f"/api/v1/windows/{window['id']}/{action}", json=body or {},
                           headers=self.headers(who or f"clerk{number:02d}"))

    def queue(self):
        return self.c.get("/api/v1/queue", headers=self.headers(DISPLAY)).get_json()

    def case_op(self, case_id: int, action: str, body: dict | None = None, who: str = "clerk01"):
        """The case desk: finish, accept, refuse or deliver a case after its visit."""
        return self.c.post(f"/api/v1/cases/{case_id}/{action}", json=body or {}, headers=self.headers(who))

    def serve(self, number: int) -> dict:
        """The window's called ticket accepted and finished: on the spot for a 即办件, at the desk
        for a 承诺件 (its visit ends at 受理). The finished case."""
        case = self.op(number, "accept").get_json()["case"]
        if case["status"] == "finished":
            return case
        if case["kind"] == "即办件":
            return self.op(number, "finish").get_json()["case"]
        return self.case_op(case["id"], "finish", who=f"clerk{number:02d}").get_json()["case"]


def sign_in_clerks(app) -> None:
    """Every window's clerk signed in on it (staffing.py), as on a working morning."""
    from queue_server.staffing import sign_in_assigned
    rt = app.extensions["hall"]
    for hall_id in rt.halls:
        sign_in_assigned(rt, hall_id, actor="test:morning")


@pytest.fixture
def hall(client) -> HallDriver:
    """The hall at work: its clerks signed in on their windows."""
    return HallDriver(client)


@pytest.fixture
def empty_hall(client) -> HallDriver:
    """The hall before anyone signed in: every window closed (未开放)."""
    return HallDriver(client, staffed=False)
