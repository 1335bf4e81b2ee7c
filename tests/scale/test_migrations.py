"""Alembic takes an existing database forward without loss.

A database is built at the core revision (0001) only, as a hall running the first release had
it, and filled with a day's worth of rows written straight into those tables (no app code that
knows about later revisions). Then the server starts on it: `create_app` upgrades to every head
and syncs the same hall's config. Every old row must still be there, byte for byte, and the app
must carry on from it: the day's ticket counter continues, and a case accepted before the upgrade
can be finished through the API.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, func, select

from conftest import DISPLAY, HallDriver, SMALL_HALL, fresh_postgres_url, migrate
from queue_server import crypto
from queue_server.app import create_app
from queue_server.config import load_hall_config
from queue_server.db import make_engine
from queue_server.schema import alembic_config

TODAY = date(2026, 3, 10)  # the `clock` fixture's day (a Tuesday)
YESTERDAY = date(2026, 3, 9)
_KEYS = crypto.PhoneKeys.from_secret(b"test-secret")
CORE_TABLES = ["halls", "counters", "departments", "staff", "auth_tokens", "matters", "windows",
               "devices", "staff_windows", "window_matters", "tickets", "cases", "events"]


def _all_heads() -> set[str]:
    """Every branch's newest revision, as the server upgrades to them."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def _heads(engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}


def _tables(conn, only: list[str] | None = None) -> dict:
    meta = MetaData()
    meta.reflect(conn, only=only or CORE_TABLES)
    return meta.tables


def _dump(engine, only: dict[str, list[str]] | None = None) -> dict[str, list[tuple]]:
    """Every row of the core tables, in primary-key order (window_matters and staff_windows are
    rewritten by the config sync, so they compare as sorted rows, which is the same thing);
    `only` keeps the columns the old schema had (later migrations add some)."""
    out = {}
    with engine.connect() as conn:
        tables = _tables(conn)
        for name in CORE_TABLES:
            table = tables[name]
            cols = sorted((c for c in table.c if only is None or c.name in only[name]),
                          key=lambda c: c.name)  # column order independent of migrations
            pk = list(table.primary_key.columns)
            rows = conn.execute(select(*cols).order_by(*pk)).all()
            out[name] = [tuple(_clear(v) for v in r) for r in rows]
    return out


def _clear(value):
    """Phone numbers are stored encrypted from 0005 on (a fresh nonce each time): compare the
    numbers themselves."""
    if isinstance(value, str) and crypto.is_encrypted(value):
        return _KEYS.decrypt(value)
    return value


def _insert(conn, table, **values) -> int | None:
    result = conn.execute(table.insert().values(**values))
    key = result.inserted_primary_key
    return key[0] if key and len(key) == 1 else None


def _fill_core(engine) -> dict:
    """A hall's data as release 0001 wrote it: catalogue from the same config the server will
    sync, one retired matter, yesterday's finished day and a busy morning today."""
    cfg = load_hall_config(SMALL_HALL)
    ids: dict = {"departments": {}, "matters": {}, "windows": {}, "staff": {}, "devices": {}}
    at = datetime(2026, 3, 10, 8, 30)
    with engine.begin() as conn:
        t = _tables(conn)
        hall = _insert(conn, t["halls"], code=cfg.code, name=cfg.name, event_seq=0)
        ids["hall"] = hall
        for d in cfg.departments:
            ids["departments"][d.code] = _insert(conn, t["departments"], hall_id=hall, code=d.code,
                                                 name=d.name, active=True)
        for m in cfg.matters:
            ids["matters"][m.code] = _insert(conn, t["matters"], hall_id=hall, code=m.code, name=m.name,
                department_id=ids["departments"][m.department], prefix=m.prefix, kind=m.kind,
                promised_days=m.promised_days, legal_days=m.legal_days, materials=list(m.materials),
                fees=m.fees, description=m.description, pinyin=m.pinyin, daily_quota=m.daily_quota,
                last_ticket_time=m.last_ticket_time.strftime("%H:%M") if m.last_ticket_time else None,
                active=True)
        # A matter the hall no longer offers: sync must keep the row (old tickets point at it).
        ids["matters"]["OLD"] = _insert(conn, t["matters"], hall_id=hall, code="ZZ09901001",
            name="旧事项（已取消）", department_id=ids["departments"]["ga"], prefix="B", kind="即办件",
            promised_days=0, legal_days=0, materials=["居民身份证（原件）"], fees="不收费",
            description="", pinyin="", daily_quota=0, last_ticket_time=None, active=True)
        for w in sorted(cfg.windows, key=lambda w: w.number):
            ids["windows"][w.number] = _insert(conn, t["windows"], hall_id=hall, number=w.number,
                name=w.name, department_id=ids["departments"][w.department] if w.department else None,
                order=w.order, state="open", current_ticket_id=None, staff_id=None, active=True)
            for rank, code in enumerate(w.matters):
                _insert(conn, t["window_matters"], window_id=ids["windows"][w.number],
                        matter_id=ids["matters"][code], rank=rank)
        for p in cfg.staff:
            ids["staff"][p.username] = _insert(conn, t["staff"], hall_id=hall, username=p.username,
                name=p.name, staff_no=p.staff_no, role=p.role, password_hash=p.password_hash, active=True)
            for number in p.windows:
                _insert(conn, t["staff_windows"], staff_id=ids["staff"][p.username],
                        window_id=ids["windows"][number])
        for dev in cfg.devices:
            ids["devices"][dev.name] = _insert(conn, t["devices"], hall_id=hall, name=dev.name,
                kind=dev.kind, token_sha256=dev.token_sha256,
                window_id=ids["windows"][dev.window] if dev.window is not None else None,
                printer=dev.printer, revoked=False, last_seen_at=at)
        _insert(conn, t["auth_tokens"], token_sha256="ab" * 32, staff_id=ids["staff"]["clerk03"],
                hall_id=hall, created_at=at, expires_at=at + timedelta(hours=12), revoked=False)
        kiosk = ids["devices"]["测试取号机"]
        seq = 0

        def event(type, when, ticket=None, case=None, window=None, actor="kiosk:测试取号机", **data):
            nonlocal seq
            seq += 1
            _insert(conn, t["events"], hall_id=hall, seq=seq, type=type, at=when, ticket_id=ticket,
                    case_id=case, window_id=window, actor=actor, data=data)

        def ticket(day, number, matter, status, issued, **extra):
            values = dict(hall_id=hall, day=day, number=number, matter_id=ids["matters"][matter],
                          target_window_id=None, priority=None, is_priority=False, status=status,
                          issued_at=issued, queue_since=issued, window_id=None, called_at=None,
                          call_count=0, requeued=False, closed_at=None,
                          query_code=f"Q{number}{day:%d}".ljust(8, "X")[:8], request_id=None,
                          device_id=kiosk, appointment_code=None, phone=None, id_hash=None,
                          id_masked=None, printed_at=issued)
            values.update(extra)
            tid = _insert(conn, t["tickets"], **values)
            event("ticket.issued", issued, ticket=tid, ticket_number=number)
            return tid

        w3, w5 = ids["windows"][3], ids["windows"][5]
        clerk3, clerk5 = ids["staff"]["clerk03"], ids["staff"]["clerk05"]
        # Yesterday: one ticket on the retired matter, served and finished.
        y = datetime(2026, 3, 9, 9, 0)
        old = ticket(YESTERDAY, "B001", "OLD", "done", y, window_id=w3, called_at=y + timedelta(minutes=5),
                     call_count=1, closed_at=y + timedelta(minutes=20))
        old_case = _insert(conn, t["cases"], hall_id=hall, number=f"{cfg.code}202603090001", ticket_id=old,
            matter_id=ids["matters"]["OLD"], window_id=w3, staff_id=clerk3,
            department_id=ids["departments"]["ga"], kind="即办件", status="finished",
            accepted_at=y + timedelta(minutes=6), due_at=y + timedelta(hours=8),
            finished_at=y + timedelta(minutes=20))
        event("case.finished", y + timedelta(minutes=20), ticket=old, case=old_case, window=w3, actor="clerk03")
        _insert(conn, t["counters"], hall_id=hall, day=YESTERDAY, series="B", last=1)
        _insert(conn, t["counters"], hall_id=hall, day=YESTERDAY, series="#case", last=1)
        # Today so far: B001 done, B002 being served at window 3 (case accepted), C001 skipped,
        # C002 and B003 waiting (B003 elderly priority), A001 waiting with a phone and ID.
        b1 = ticket(TODAY, "B001", "QR00201001", "done", at, window_id=w3, called_at=at + timedelta(minutes=1),
                    call_count=1, closed_at=at + timedelta(minutes=9))
        c1 = _insert(conn, t["cases"], hall_id=hall, number=f"{cfg.code}202603100001", ticket_id=b1,
            matter_id=ids["matters"]["QR00201001"], window_id=w3, staff_id=clerk3,
            department_id=ids["departments"]["ga"], kind="即办件", status="finished",
            accepted_at=at + timedelta(minutes=2), due_at=at + timedelta(hours=9),
            finished_at=at + timedelta(minutes=9))
        event("case.finished", at + timedelta(minutes=9), ticket=b1, case=c1, window=w3, actor="clerk03")
        b2 = ticket(TODAY, "B002", "QR00201001", "serving", at + timedelta(minutes=3), window_id=w3,
                    called_at=at + timedelta(minutes=10), call_count=2)
        c2 = _insert(conn, t["cases"], hall_id=hall, number=f"{cfg.code}202603100002", ticket_id=b2,
            matter_id=ids["matters"]["QR00201001"], window_id=w3, staff_id=clerk3,
            department_id=ids["departments"]["ga"], kind="即办件", status="accepted",
            accepted_at=at + timedelta(minutes=11), due_at=at + timedelta(hours=9), finished_at=None)
        event("ticket.called", at + timedelta(minutes=10), ticket=b2, window=w3, actor="clerk03")
        event("case.accepted", at + timedelta(minutes=11), ticket=b2, case=c2, window=w3, actor="clerk03")
        conn.execute(t["windows"].update().where(t["windows"].c.id == w3).values(current_ticket_id=b2, staff_id=clerk3))
        ticket(TODAY, "C001", "GG00301001", "skipped", at + timedelta(minutes=4), window_id=w5,
               called_at=at + timedelta(minutes=12), call_count=1, closed_at=at + timedelta(minutes=15))
        conn.execute(t["windows"].update().where(t["windows"].c.id == w5).values(staff_id=clerk5))
        ticket(TODAY, "C002", "GG00301001", "waiting", at + timedelta(minutes=5))
        ticket(TODAY, "B003", "QR00201001", "waiting", at + timedelta(minutes=6), priority="elderly",
               is_priority=True)
        ticket(TODAY, "A001", "XK00101001", "waiting", at + timedelta(minutes=7), phone="13812345678",
               id_hash="f" * 64, id_masked="3701**********1234", request_id="kiosk-req-0001")
        for series, last in (("B", 3), ("C", 2), ("A", 1), ("#case", 2)):
            _insert(conn, t["counters"], hall_id=hall, day=TODAY, series=series, last=last)
        conn.execute(t["halls"].update().where(t["halls"].c.id == hall).values(event_seq=seq))
    ids["seq"], ids["case"] = seq, c2
    return ids


def _old_database(url: str):
    engine = make_engine(url)
    crypto.bind(engine, b"test-secret")  # the server's secret: the phone migration needs it both ways
    migrate(engine, "upgrade", "0001")
    assert _heads(engine) == {"0001"}
    ids = _fill_core(engine)
    return engine, ids


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return fresh_postgres_url()


def test_an_existing_database_is_taken_forward_without_loss(database_url, clock):
    engine, ids = _old_database(database_url)
    before = _dump(engine)
    with engine.connect() as conn:
        old_columns = {name: [c.name for c in table.c] for name, table in _tables(conn).items()}
    assert len(before["tickets"]) == 7 and len(before["events"]) == ids["seq"]

    app = create_app([SMALL_HALL], database_url, secret=b"test-secret", clock=clock)
    rt = app.extensions["hall"]
    try:
        assert _heads(engine) == _all_heads()
        after = _dump(engine, old_columns)
        # The only change the sync may make: the matter missing from the config is retired,
        # its row kept.
        old_matter = ids["matters"]["OLD"]
        matters = after["matters"]
        with engine.connect() as conn:
            names = [c.name for c in sorted(_tables(conn)["matters"].c, key=lambda c: c.name)]
        active, mid = names.index("active"), names.index("id")
        retired = [m for m in matters if m[mid] == old_matter]
        assert len(retired) == 1 and not retired[0][active]
        after["matters"] = [m[:active] + (True,) + m[active + 1:] if m[mid] == old_matter else m
                            for m in matters]
        for table in CORE_TABLES:
            assert after[table] == before[table], f"{table} changed by the upgrade"

        hall = HallDriver(app.test_client(), staffed=False)   # nobody signed in since the upgrade (0016)
        assert "ZZ09901001" not in hall.matters
        # The day's counter continues: B001..B003 were issued before the upgrade.
        issued = hall.issue("QR00201001")
        assert issued.status_code == 201, issued.get_json()
        assert issued.get_json()["ticket"]["number"] == "B004"
        assert hall.issue("XK00101001").get_json()["ticket"]["number"] == "A002"
        # The same request_id as a pre-upgrade ticket still answers with that ticket.
        again = hall.c.post("/api/v1/tickets", json={"matter_id": hall.matters["XK00101001"]["id"],
                                                     "request_id": "kiosk-req-0001"},
                            headers=hall.headers("test-kiosk"))
        assert again.status_code == 200 and again.get_json()["ticket"]["number"] == "A001"
        # The case accepted before the upgrade is finished through the API.
        finished = hall.op(3, "finish")
        assert finished.status_code == 200, finished.get_json()
        case = finished.get_json()["case"]
        assert case["id"] == ids["case"] and case["status"] == "finished"
        assert case["number"] == "370000T01202603100002"
        # The next call at window 3 takes the elderly priority ticket issued before the upgrade.
        called = hall.op(3, "call-next")
        assert called.status_code == 200 and called.get_json()["ticket"]["number"] == "B003"
        accepted = hall.op(3, "accept").get_json()["case"]
        assert accepted["number"] == "370000T01202603100003"  # the case counter continues too
        queue = hall.c.get("/api/v1/queue", headers=hall.headers(DISPLAY)).get_json()
        # Events continue the old numbering: two issued, 办结, window 3 opened by its call, the call, 受理.
        assert queue["seq"] == ids["seq"] + 6
        with engine.connect() as conn:
            t = _tables(conn)
            assert conn.execute(select(func.count()).select_from(t["tickets"])).scalar() == 9
            seqs = [r[0] for r in conn.execute(select(t["events"].c.seq).order_by(t["events"].c.seq))]
            assert seqs == list(range(1, ids["seq"] + 7))
    finally:
        rt.engine.dispose()

    # Down to the core and up again: the branches' tables go and come back, the core data stays.
    kept = _dump(engine, old_columns)
    migrate(engine, "downgrade", "0001")
    assert _heads(engine) == {"0001"}
    assert _dump(engine) == kept
    migrate(engine, "upgrade", "heads")
    assert _heads(engine) == _all_heads()
    assert _dump(engine, old_columns) == kept
    engine.dispose()
    # And the server starts on it again.
    app = create_app([SMALL_HALL], database_url, secret=b"test-secret", clock=clock)
    try:
        assert HallDriver(app.test_client()).issue("GG00301001").get_json()["ticket"]["number"] == "C003"
    finally:
        app.extensions["hall"].engine.dispose()


@pytest.mark.postgres
def test_the_migrations_build_what_the_models_say():
    """A database made by the migrations alone matches the models, index for index (on
    PostgreSQL, which applies every type change; SQLite keeps old column types in place)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from queue_server.models import Base
    from queue_server.schema import upgrade

    engine = make_engine(fresh_postgres_url())
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()


RATED = ["cases", "ratings", "follow_ups"]


def test_one_rating_per_node_comes_in_without_losing_a_rating(database_url):
    """0013: a case rated by two channels under the old rule keeps the first as its rating; the
    later one stays, voided as a duplicate with the reason, its open follow-up stopped; a voided
    default says it was superseded; from then on the database refuses a second counted rating."""
    from sqlalchemy.exc import IntegrityError
    engine, ids = _old_database(database_url)
    migrate(engine, "upgrade", "0012_cases_due_guessed_index")
    at = datetime(2026, 3, 10, 10, 0)
    with engine.begin() as conn:
        t = _tables(conn, RATED)
        case = conn.execute(select(t["cases"]).where(t["cases"].c.status == "finished")
                            .order_by(t["cases"].c.id)).mappings().first()
        same = dict(hall_id=case["hall_id"], case_id=case["id"], ticket_id=case["ticket_id"],
                    matter_id=case["matter_id"], window_id=case["window_id"], staff_id=case["staff_id"],
                    department_id=case["department_id"], node="finish", tags=[], comment="", source="old")
        default = _insert(conn, t["ratings"], **same, channel="default", level=5, rated_at=at, is_default=True,
                          voided=True, void_reason="收到评价器评价，默认评价不再计入", voided_at=at)
        first = _insert(conn, t["ratings"], **same, channel="device", level=5, rated_at=at + timedelta(minutes=1),
                        is_default=False, voided=False)
        later = _insert(conn, t["ratings"], **same, channel="web", level=1, rated_at=at + timedelta(minutes=9),
                        is_default=False, voided=False)
        _insert(conn, t["follow_ups"], hall_id=case["hall_id"], rating_id=later, case_id=case["id"],
                department_id=case["department_id"], stage="verify", opened_at=at, due_at=at + timedelta(days=7))
    migrate(engine, "upgrade", "heads")
    with engine.begin() as conn:
        t = _tables(conn, RATED)
        rows = {r["id"]: r for r in conn.execute(select(t["ratings"])).mappings()}
        assert len(rows) == 3
        assert rows[first]["voided"] is False or rows[first]["voided"] == 0
        assert rows[first]["void_kind"] is None
        assert bool(rows[later]["voided"]) and rows[later]["void_kind"] == "duplicate"
        assert "一事一评" in rows[later]["void_reason"]
        assert rows[default]["void_kind"] == "superseded"
        stage = conn.execute(select(t["follow_ups"].c.stage).where(t["follow_ups"].c.rating_id == later)).scalar()
        assert stage == "voided"
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _insert(conn, _tables(conn, RATED)["ratings"], **same, channel="sms", level=4, rated_at=at + timedelta(hours=1),
                is_default=False, voided=False)
    engine.dispose()
