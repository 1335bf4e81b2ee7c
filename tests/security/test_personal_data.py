"""Personal data (issue 8): phone numbers encrypted at rest, ID numbers only as a keyed digest and a
masked form; neither ever in a log line, a URL, an answer a person sees, or the database file.

The main test runs a hall's day on a real socket (so werkzeug writes its real access log) with
every logger at DEBUG — SQLAlchemy's statements, parameters and rows included — through the
kiosk's own endpoints and the API: tickets with an ID and a phone, an appointment booked and
checked in by ID number, 办结 → SMS invitation → a fake SMS provider on HTTP, the 差评 through the
link, its follow-up, exports. Then it looks for the full numbers everywhere. The other tests:
the column format (AES-GCM, fresh nonce, version prefix, tamper-proof), and the migration that
encrypts an existing database's clear numbers (SQLite and PostgreSQL) and back.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import urllib.error
import urllib.request
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text

from conftest import HallDriver, KIOSK, PASSWORD, SMALL_HALL, fresh_postgres_url, migrate
from live import LiveServer
from queue_server import crypto
from queue_server.app import create_app
from queue_server.db import make_engine
from queue_server.ratings.sms import sender
from queue_server.schema import alembic_config

ID_A = "11010519491231002X"   # valid GB 11643 numbers
ID_B = "110101199003074477"
PHONE_A = "13812345678"
PHONE_B = "15900001111"
SECRETS = (ID_A, ID_B, PHONE_A, PHONE_B)
ROOT = Path(__file__).resolve().parents[2]
SECRET = b"test-secret"


# --- the column format ---------------------------------------------------------------------------


def test_a_phone_is_sealed_with_a_fresh_nonce_and_a_version_and_opens_only_with_its_key(tmp_path):
    keys = crypto.PhoneKeys.from_secret(SECRET)
    one, two = keys.encrypt(PHONE_A), keys.encrypt(PHONE_A)
    assert one.startswith("v1:") and two.startswith("v1:") and one != two
    assert PHONE_A not in one and len(one) <= crypto.ENCRYPTED_LENGTH
    assert keys.decrypt(one) == keys.decrypt(two) == PHONE_A
    other = crypto.PhoneKeys.from_secret(b"another hall's secret")
    with pytest.raises(crypto.NotEncrypted):
        other.decrypt(one)
    flipped = one[:-2] + ("A" if one[-2] != "A" else "B") + one[-1]
    with pytest.raises(crypto.NotEncrypted):
        keys.decrypt(flipped)
    for clear in (PHONE_A, "v9:" + one[3:], "v1:"):
        with pytest.raises(crypto.NotEncrypted):
            keys.decrypt(clear)
    # Read back through the column type: the full number as text, masked in its repr (row logs).
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    crypto.bind(engine, SECRET)
    column = crypto.EncryptedPhone()
    loaded = column.process_result_value(column.process_bind_param(PHONE_A, engine.dialect), engine.dialect)
    assert loaded == PHONE_A and f"{loaded}" == PHONE_A and json.dumps(loaded) == f'"{PHONE_A}"'
    assert PHONE_A not in repr(loaded) and PHONE_A not in repr((1, loaded)) and "138****5678" in repr(loaded)
    engine.dispose()
    # The digest matches equal numbers, is keyed, and is not the ID hash of the same text.
    assert keys.digest(PHONE_A) == crypto.phone_digest(SECRET, PHONE_A) != other.digest(PHONE_A)
    assert keys.digest(PHONE_A) != keys.digest(PHONE_B)


def test_an_engine_without_the_secret_refuses_to_write_a_phone(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(crypto.KeyMissing):
        crypto.EncryptedPhone().process_bind_param(PHONE_A, engine.dialect)
    assert crypto.EncryptedPhone().process_bind_param(None, engine.dialect) is None
    engine.dispose()


def test_a_server_started_with_another_secret_stops_before_serving(db_url, clock):
    app = create_app([SMALL_HALL], db_url, secret=SECRET, clock=clock)
    hall = HallDriver(app.test_client())
    assert hall.issue("QR00201001", phone=PHONE_A).status_code == 201
    app.extensions["hall"].engine.dispose()
    with pytest.raises(crypto.KeyMismatch, match="HALL_SECRET"):
        create_app([SMALL_HALL], db_url, secret=b"a different secret", clock=clock)
    again = create_app([SMALL_HALL], db_url, secret=SECRET, clock=clock)  # the right one still works
    assert HallDriver(again.test_client()).issue("QR00201001").status_code == 201
    again.extensions["hall"].engine.dispose()


# --- a day on a real socket, everything logged ---------------------------------------------------


class FakeSmsProvider:
    """An SMS provider's HTTP API on 127.0.0.1: logs its own access line (through logging, as a
    provider's proxy would) and keeps the bodies, which must carry the clear number."""

    def __init__(self):
        received = self.received = []
        log = logging.getLogger("fake_sms_provider")

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                received.append(body)
                answer = json.dumps({"message_id": f"m{len(received)}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, fmt, *args):
                log.info("%s " + fmt, self.address_string(), *args)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Web:
    """Speaks HTTP to the live server; keeps every answer's text to look for full numbers."""

    def __init__(self, url: str):
        self.url, self.answers, self.tokens = url, [], {}

    def call(self, method: str, path: str, body=None, token: str | None = None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, method=method, headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                status, raw = res.status, res.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        self.answers.append((path, raw))
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def ok(self, method: str, path: str, body=None, who: str | None = None):
        status, answer = self.call(method, path, body, self.token(who) if who else None)
        assert 200 <= status < 300, (method, path, status, answer)
        return answer

    def token(self, who: str) -> str:
        if who.startswith("test-"):
            return who
        if who not in self.tokens:
            answer = self.call("POST", "/api/v1/auth/login", {"username": who, "password": PASSWORD})[1]
            self.tokens[who] = answer["token"]
        return self.tokens[who]


@pytest.fixture
def everything_logged(caplog):
    """Every logger at DEBUG (SQLAlchemy's engine logs statements, parameters and rows), set
    before the app exists so its connections log too; the old levels restored after."""
    loggers = [logging.getLogger()] + [lg for lg in logging.Logger.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    for name in ("sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "werkzeug", "alembic",
                 "hall", "hall.sms", "hall.kiosk", "fake_sms_provider", "urllib3"):
        loggers.append(logging.getLogger(name))
    saved = [(lg, lg.level) for lg in loggers]
    for lg, _ in saved:
        lg.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    yield caplog
    for lg, level in saved:
        lg.setLevel(level)


def _lines(caplog) -> list[str]:
    out = []
    for record in caplog.records:
        line = f"{record.name} {record.levelname} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + logging.Formatter().formatException(record.exc_info)
        out.append(line)
    return out


def _personal(data: bytes | str) -> list[str]:
    raw = data.encode() if isinstance(data, str) else data
    return [s for s in SECRETS if s.encode() in raw or s.encode("utf-16-le") in raw]


def test_a_day_leaves_no_full_id_or_phone_in_logs_urls_answers_or_the_database(
        everything_logged, tmp_path, sqlite_db, clock):
    db = tmp_path / "hall.db"
    app = create_app([SMALL_HALL], sqlite_db(db), secret=SECRET, clock=clock)
    app.config["KIOSK_TOKEN"] = KIOSK
    rt = app.extensions["hall"]
    provider = FakeSmsProvider()
    for cfg in rt.halls.values():
        cfg.ratings = {"sms_gateway": provider.url}
    matters = {m["code"]: m for m in HallDriver(app.test_client()).matters.values()}
    windows = {w["number"]: w for w in app.test_client().get("/api/v1/matters").get_json()["windows"]}
    try:
        with LiveServer(app) as live:
            web = Web(live.url)

            def serve(window: int) -> dict:
                w = windows[window]["id"]
                web.ok("POST", f"/api/v1/windows/{w}/call-next", {}, f"clerk{window:02d}")
                case = web.ok("POST", f"/api/v1/windows/{w}/accept", {}, f"clerk{window:02d}")["case"]
                clock.advance(minutes=8)
                if case["kind"] == "即办件":
                    return web.ok("POST", f"/api/v1/windows/{w}/finish", {}, f"clerk{window:02d}")["case"]
                # a 承诺件's visit ends at 受理; its case is finished at the desk
                return web.ok("POST", f"/api/v1/cases/{case['id']}/finish", {}, f"clerk{window:02d}")["case"]

            # Tuesday: the booking system books Wednesday 10:00 for B, with B's phone.
            booked = web.ok("POST", "/api/v1/appointments", {
                "matter_id": matters["GG00301001"]["id"], "id_number": ID_B, "phone": PHONE_B,
                "slot_start": "2026-03-11T10:00"}, "admin")["appointment"]
            assert booked["id_number"] == "110***********4477" and booked["phone"] == "159****1111"

            # A at the kiosk, through the kiosk page's own endpoints (they call the API in turn).
            web.ok("GET", "/kiosk/")
            web.ok("GET", "/kiosk/api/catalogue", who=KIOSK)
            web.ok("GET", "/kiosk/api/availability", who=KIOSK)
            taken = web.ok("POST", "/kiosk/api/tickets", {
                "matter_id": matters["XK00101001"]["id"], "id_number": ID_A, "phone": PHONE_A,
                "request_id": "KIOSK-0001-AAAA"}, who=KIOSK)
            ticket = taken["ticket"]
            assert ticket["id_number"] == "110***********002X" and ticket["phone"] == "138****5678"
            web.ok("GET", f"/kiosk/api/print/{ticket['id']}", who=KIOSK)
            web.call("GET", f"/kiosk/slip/{ticket['id']}.png", token=KIOSK)
            # And straight through the API, as another kiosk program would.
            other = web.ok("POST", "/api/v1/tickets", {"matter_id": matters["QR00201001"]["id"],
                                                      "id_number": ID_A, "phone": PHONE_A}, KIOSK)["ticket"]
            assert other["phone"] == "138****5678"
            web.ok("GET", f"/api/v1/tickets/{ticket['id']}", who="clerk01")
            web.ok("GET", f"/api/v1/tickets/{ticket['query_code']}")
            web.ok("GET", "/api/v1/queue", who="test-display")

            # 办结 → an SMS invitation, sent through the provider, rated 差评 through its link.
            case_a = serve(1)
            serve(3)
            assert sender.send_due(rt)["sent"] == 2
            assert [m["phone"] for m in provider.received] == [PHONE_A, PHONE_A]
            token = re.search(r"/r/(\S+)", provider.received[0]["text"]).group(1)
            web.ok("GET", f"/r/{token}")
            web.ok("GET", f"/api/v1/ratings/link/{token}")
            rating = web.ok("POST", "/api/v1/ratings", {"channel": "sms", "link": token, "level": 1,
                                                        "comment": "等了很久"})["rating"]
            assert rating["case_id"] == case_a["id"] and rating["follow_up_id"]
            fid = rating["follow_up_id"]
            web.ok("POST", f"/api/v1/follow-ups/{fid}/verify", {"note": "已核实"}, "supervisor")
            web.ok("POST", f"/api/v1/follow-ups/{fid}/fix", {"note": "已整改"}, "supervisor")
            web.ok("POST", f"/api/v1/follow-ups/{fid}/callback", {"note": "已回访", "fix_rating": "满意"},
                   "supervisor")

            # Wednesday: B checks in by ID number at the kiosk; the booking's phone gets the SMS.
            clock.set(datetime(2026, 3, 11, 9, 45))
            web.tokens.clear()  # yesterday's logins have expired
            checked = web.ok("POST", "/kiosk/api/check-in", {"id_number": ID_B, "request_id": "KIOSK-0002-BBBB"}, who=KIOSK)
            assert checked["ticket"]["priority"] == "appointment" and checked["ticket"]["phone"] == "159****1111"
            web.ok("GET", f"/api/v1/appointments/{booked['code']}", who="test-kiosk")
            web.ok("GET", f"/t/{checked['ticket']['query_code']}")
            serve(5)
            assert sender.send_due(rt)["sent"] == 1 and provider.received[-1]["phone"] == PHONE_B

            # What supervisors look at and take away.
            outbox = web.ok("GET", "/api/v1/sms/outbox", who="supervisor")["messages"]
            assert sorted(m["phone"] for m in outbox) == ["138****5678", "138****5678", "159****1111"]
            for path in ("/api/v1/supervision/export.csv?what=cases&from=2026-03-10&to=2026-03-11",
                         "/api/v1/supervision/export.xlsx?what=cases&from=2026-03-10&to=2026-03-11",
                         "/api/v1/supervision/cases?from=2026-03-10&to=2026-03-11",
                         "/api/v1/supervision/audit", "/api/v1/ratings", "/api/v1/follow-ups?state=all"):
                web.ok("GET", path, who="supervisor")
            for page in ("/", "/caller", "/supervisor", "/display", "/rater"):
                web.call("GET", page)
    finally:
        provider.close()
        rt.engine.dispose()

    lines = _lines(everything_logged)
    access = [line for line in lines if line.startswith("werkzeug ") and '"' in line]
    # The logs were really there: SQL with its parameters, the access log, the provider's log.
    assert any("sqlalchemy.engine" in line and "INSERT INTO tickets" in line for line in lines)
    assert any("v1:" in line for line in lines), "the encrypted phone should appear in the SQL log"
    assert any("POST /kiosk/api/tickets" in line for line in access)
    assert any("POST /api/v1/tickets" in line for line in access)
    assert any(line.startswith("fake_sms_provider") and "POST /send" in line for line in lines)
    leaks = [(s, line[:300]) for line in lines for s in _personal(line)]
    assert leaks == [], "full ID or phone numbers in the logs"
    # Access logs record URLs: no query string may carry a number (the live server's and the
    # kiosk backend's calls to it are both in there).
    queries = [q for line in access for q in re.findall(r'"[A-Z]+ [^" ?]*\?([^" ]*)', line)]
    assert any("what=cases" in q for q in queries)  # the exports' queries were seen
    for query in queries:
        assert not re.search(r"\d{11}|id_number|phone", query), query
    # Every answer a person or program got shows the numbers masked only.
    assert [(path, _personal(raw)) for path, raw in web.answers if _personal(raw)] == []
    # And the database file (with its WAL) holds neither the numbers nor anything decryptable
    # without the secret; the SMS text (not personal) is there, so the scan does see the data.
    files = [p for p in tmp_path.iterdir() if p.name.startswith("hall.db")]
    content = b"".join(p.read_bytes() for p in files)
    assert b"http://hall.test/r/" in content
    assert _personal(content) == []


def test_no_page_script_puts_an_id_or_phone_in_a_query_string():
    """The kiosk and staff pages send personal data in JSON bodies only; a URL built from a
    field named like one would end up in every access log and proxy log on the way."""
    scripts = [p for folder in ("kiosk", "display", "queue_server", "hallkit") for p in (ROOT / folder).rglob("*")
               if p.suffix in (".js", ".html") and "vendor" not in p.parts]
    assert any(p.name == "kiosk.js" for p in scripts)
    pattern = re.compile(r"[?&](id_number|idNumber|id_card|phone|mobile|tel)=")
    found = [(str(p.relative_to(ROOT)), m.group(0)) for p in scripts
             for m in pattern.finditer(p.read_text(encoding="utf-8", errors="replace"))]
    assert found == []


# --- the migration: clear numbers in an existing database get encrypted --------------------------


BEFORE = ("0002_appointments", "0003_devices", "0004_ratings_supervision")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return fresh_postgres_url()


def _old_rows(engine) -> dict:
    """A hall as the release before this revision wrote it: clear phone numbers in a ticket, a
    booking, an SMS invitation and its message (rows written with SQL, no app code)."""
    at, day = datetime(2026, 3, 9, 9, 0), datetime(2026, 3, 9).date()
    with engine.begin() as conn:
        meta = MetaData()
        meta.reflect(conn)
        t = meta.tables

        def add(table, **values) -> int:
            return conn.execute(t[table].insert().values(**values)).inserted_primary_key[0]

        hall = add("halls", code="370000T01", name="测试市政务服务中心", event_seq=0)
        dept = add("departments", hall_id=hall, code="ga", name="公安局", active=True)
        matter = add("matters", hall_id=hall, code="QR00201001", name="户口迁移", department_id=dept, prefix="B",
                     kind="即办件", promised_days=0, legal_days=0, materials=[], fees="不收费", description="",
                     pinyin="", daily_quota=0, active=True)
        window = add("windows", hall_id=hall, number=3, name="户籍窗口", order="ranked", state="open", active=True)
        tickets = [add("tickets", hall_id=hall, day=day, number=f"B00{n}", matter_id=matter, is_priority=False,
                       status="done", issued_at=at, queue_since=at, call_count=1, requeued=False,
                       query_code=f"QCODE00{n}", phone=phone) for n, phone in ((1, PHONE_A), (2, None))]
        add("appointments", hall_id=hall, code="12345678", matter_id=matter, id_hash="e" * 64,
            id_masked="110***********4477", phone=PHONE_B, slot_start=datetime(2026, 3, 12, 10, 0),
            slot_end=datetime(2026, 3, 12, 10, 30), status="booked", created_at=at)
        case = add("cases", hall_id=hall, number="OLD0001", ticket_id=tickets[0], matter_id=matter,
                   window_id=window, department_id=dept, kind="即办件", status="finished", accepted_at=at,
                   finished_at=at)
        invitation = add("sms_invitations", hall_id=hall, case_id=case, phone=PHONE_A, created_at=at,
                         expires_at=datetime(2026, 3, 16, 9, 0))
        add("sms_messages", hall_id=hall, invitation_id=invitation, phone=PHONE_A, text="请评价", status="sent",
            attempts=1, created_at=at, next_attempt_at=at, claimed_at=at, sent_at=at, gateway="outbox",
            last_error="")
    return {"ticket": tickets[0]}


def _phones(engine) -> dict[str, list]:
    with engine.connect() as conn:
        out = {t: [r[0] for r in conn.execute(text(f"SELECT phone FROM {t} ORDER BY id"))]
               for t in ("tickets", "appointments", "sms_invitations", "sms_messages")}
        if "phone_hash" in {c for c in conn.execute(text("SELECT * FROM sms_messages")).keys()}:
            out["hash"] = [r[0] for r in conn.execute(text("SELECT phone_hash FROM sms_messages"))]
        return out


def test_the_migration_encrypts_existing_numbers_in_place_and_the_downgrade_restores_them(old_url, clock):
    engine = make_engine(old_url)
    for revision in BEFORE:
        migrate(engine, "upgrade", revision)
    ids = _old_rows(engine)
    clear = _phones(engine)
    assert clear["tickets"] == [PHONE_A, None] and clear["sms_messages"] == [PHONE_A]

    # Without the secret (an `alembic upgrade` by hand) the numbers cannot be encrypted: it stops.
    with pytest.raises(crypto.KeyMissing):
        migrate(engine, "upgrade", "heads")
    assert _phones(engine) == clear  # rolled back whole
    crypto.bind(engine, SECRET)  # this test's own engine, for the downgrade below

    app = create_app([SMALL_HALL], old_url, secret=SECRET, clock=clock)  # upgrades to every head
    rt = app.extensions["hall"]
    try:
        heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
        with engine.connect() as conn:
            assert {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))} == heads
        sealed = _phones(engine)
        keys = crypto.PhoneKeys.from_secret(SECRET)
        for table in ("tickets", "appointments", "sms_invitations", "sms_messages"):
            for old, new in zip(clear[table], sealed[table]):
                assert (new is None) if old is None else (new.startswith("v1:") and keys.decrypt(new) == old)
        assert sealed["hash"] == [keys.digest(PHONE_A)]
        # The app reads them: masked for people, clear for the SMS sender.
        hall = HallDriver(app.test_client())
        shown = hall.c.get(f"/api/v1/tickets/{ids['ticket']}", headers=hall.headers("clerk03")).get_json()["ticket"]
        assert shown["phone"] == "138****5678"
        booking = hall.c.get("/api/v1/appointments/12345678", headers=hall.headers("admin")).get_json()
        assert booking["appointment"]["phone"] == "159****1111"
        outbox = hall.c.get("/api/v1/sms/outbox", headers=hall.headers("supervisor")).get_json()["messages"]
        assert [m["phone"] for m in outbox] == ["138****5678"]

        # Down to the revisions before and up again: clear, then sealed again (new nonces).
        for revision in ("0002_appointments", "0004_ratings_supervision"):
            migrate(engine, "downgrade", revision)
        assert _phones(engine) == clear
        migrate(engine, "upgrade", "heads")
        again = _phones(engine)
        assert again["tickets"][0] != sealed["tickets"][0] and keys.decrypt(again["tickets"][0]) == PHONE_A
    finally:
        rt.engine.dispose()
        engine.dispose()
