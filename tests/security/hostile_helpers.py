"""What the hostile-case tests share: two halls in one app, a hall mid-morning holding one of
everything the API can address, every kind of caller (each role, garbage, revoked, expired,
another hall's), and a fingerprint of the stored halls that a refusal must leave as it was.

A plain module, not a conftest.py: a second conftest here would shadow the root one that the
test modules import from.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

from security_helpers import Collect, error_problem, invariant_problems
from sqlalchemy import inspect, select, text

from conftest import PASSWORD, SMALL_HALL
from queue_server.app import create_app
from queue_server.clock import FrozenClock

API = "/api/v1"
MORNING = datetime(2026, 3, 10, 9, 0)   # a Tuesday, as the root conftest's clock
ROLES = ("kiosk", "display", "led", "rater", "clerk", "supervisor", "admin")
STAFF = ("clerk", "supervisor", "admin")
DEVICES = ("kiosk", "display", "led", "rater")
PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"
# Tables a refused request may still write to, and why.
MAY_GROW = {"audit_entries": "every changing request is audited, refusals included (supervision/audit.py)"}

# The strings every free-text field is fed (the very long one is made per field, at its limit).
INJECTIONS = [
    "'; DROP TABLE tickets;--",
    '" OR 1=1 --',
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{7*7}}",
    "${7*7}",
    "\u202e号票A001\u202c",            # right-to-left override: looks reversed if rendered raw
]
MARKER = "甲厅专用标记"                # in every free text of hall A: must never show in hall B


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def toml_str(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=True)


# --- the halls -------------------------------------------------------------------------------

SPARE_DEVICES = "".join(f"""
[[devices]]
name = "{name}"
kind = "{kind}"
token_sha256 = "{sha256(token)}"
""" for name, kind, token in [("备用取号机", "kiosk", "spare-kiosk"), ("备用综合屏一", "display", "spare-display-1"),
                              ("备用综合屏二", "display", "spare-display-2"), ("备用综合屏三", "display", "spare-display-3")])

DEVICE_TOKENS = {"kiosk": "test-kiosk", "display": "test-display", "led": "test-led-01", "rater": "test-rater-01"}


def write_two_halls(folder: Path) -> tuple[Path, Path]:
    """Hall A: the small test hall plus spare devices to revoke. Hall B: the same hall under
    another code, with its own device tokens (`b-…`), device names (`乙厅…`) and staff (`b_clerk01`, …)."""
    base = SMALL_HALL.read_text(encoding="utf-8")
    a = folder / "hall_a.toml"
    a.write_text(base + SPARE_DEVICES, encoding="utf-8")
    other = base.replace('code = "370000T01"', 'code = "370000T02"', 1)
    other = other.replace('name = "测试市政务服务中心"', 'name = "另一市政务服务中心"', 1)
    other = re.sub(r'username = "(\w+)"', r'username = "b_\1"', other)
    other = re.sub(r'(\[\[devices\]\]\nname = ")', r'\1乙厅', other)
    for token in DEVICE_TOKENS.values():
        other = other.replace(sha256(token), sha256("b-" + token))
    b = folder / "hall_b.toml"
    b.write_text(other, encoding="utf-8")
    return a, b


def make_app(halls: list[Path], folder: Path, clock: FrozenClock):
    return create_app(halls, f"sqlite:///{folder / 'hall.db'}", secret=b"hostile-secret", clock=clock)


# --- who may call what (read from the require(...) decorators and the views) -----------------


@dataclass(frozen=True)
class Rule:
    """The roles allowed; the status and code others get; a body to send instead of the example."""
    allowed: frozenset
    refused: tuple = (403, "forbidden_role")
    body: dict | None = None
    what: str = ""


def only(*roles: str, refused=(403, "forbidden_role")) -> list[Rule]:
    return [Rule(frozenset(roles), refused)]


PUBLIC: list[Rule] = []           # anyone; a token only adds what the caller's hall may see
EVERY = ROLES
SUP = ("supervisor", "admin")
CLERK = ("clerk", "admin")
CASE_PEOPLE = ("clerk", "supervisor", "admin")
BOOKING_READERS = ("admin", "kiosk", "clerk", "supervisor")

ROLE_TABLE: dict[tuple[str, str], list[Rule]] = {
    ("post", "/auth/login"): PUBLIC,
    ("post", "/auth/refresh"): only(*STAFF),
    ("post", "/auth/logout"): only(*STAFF, refused=(401, "unauthorized")),   # a device token has no session
    ("get", "/me"): only(*EVERY),
    ("get", "/matters"): PUBLIC,
    ("get", "/matters/availability"): PUBLIC,
    ("post", "/tickets"): only("kiosk", "admin"),
    ("get", "/tickets/{ref}"): PUBLIC,
    ("get", "/queue"): only(*EVERY),
    ("get", "/windows"): only(*EVERY),
    **{("post", f"/windows/{{window_id}}/{op}"): only(*CLERK)
       for op in ("call-next", "recall", "skip", "requeue", "transfer", "pause", "resume", "accept", "finish",
                  "correct", "refuse", "sign-in", "sign-out")},
    ("get", "/windows/{window_id}/skipped"): only(*CLERK),
    ("get", "/windows/{window_id}/transfer-targets"): only(*CLERK),
    ("post", "/appointments"): only("admin"),
    ("get", "/appointments/slots"): only(*BOOKING_READERS),
    ("get", "/appointments/{code}"): only(*BOOKING_READERS),
    ("post", "/appointments/{code}/cancel"): only("admin"),
    ("post", "/appointments/check-in"): only("kiosk", "admin"),
    ("get", "/ratings/levels"): PUBLIC,
    # Public for the sms (signed link) and web (query code) channels; the device channel is
    # proven by the caller's token. Slips are not taken here at all (only a batch's scan).
    ("post", "/ratings"): [Rule(frozenset({"rater"}), body={"channel": "device", "level": 5}, what="device channel")],
    ("get", "/ratings"): only(*SUP),
    ("get", "/ratings/device"): only("rater"),
    ("get", "/ratings/web/{code}"): PUBLIC,
    ("get", "/ratings/link/{token}"): PUBLIC,
    ("post", "/ratings/{rating_id}/appeal"): only(*CASE_PEOPLE),
    ("get", "/appeals"): only(*SUP),
    ("post", "/appeals/{appeal_id}/decide"): only(*SUP),
    ("get", "/follow-ups"): only(*CASE_PEOPLE),
    ("get", "/follow-ups/{follow_up_id}"): only(*CASE_PEOPLE),
    ("post", "/follow-ups/{follow_up_id}/{step}"): only(*CASE_PEOPLE),
    ("post", "/slips/batches"): only(*SUP),
    ("get", "/slips/batches/{batch_id}"): only(*SUP),
    ("post", "/slips/batches/{batch_id}/scan"): only(*SUP),
    ("post", "/slips/batches/{batch_id}/close"): only(*SUP),
    ("get", "/sms/outbox"): only(*SUP),
    ("post", "/sms/outbox/{message_id}/{action}"): only("admin"),
    ("get", "/cases"): only(*CASE_PEOPLE),
    ("get", "/cases/{case_id}"): only(*CASE_PEOPLE),
    ("get", "/cases/{case_id}/correction-notice"): only(*CASE_PEOPLE),
    ("post", "/cases/{case_id}/correction-notice/print"): only(*CASE_PEOPLE),
    **{("post", f"/cases/{{case_id}}/{op}"): only(*CASE_PEOPLE) for op in ("finish", "accept", "refuse", "deliver")},
    ("post", "/cases/{case_id}/suspend"): only(*CASE_PEOPLE),
    ("post", "/cases/{case_id}/resume-clock"): only(*CASE_PEOPLE),
    ("get", "/cases/{case_id}/suspensions"): only(*CASE_PEOPLE),
    ("get", "/supervision/warnings"): only(*SUP),
    ("post", "/supervision/check"): only("admin"),
    **{("get", f"/supervision/{name}"): only(*SUP)
       for name in ("live", "stats", "cases", "export.{fmt}", "audit", "report")},
    ("post", "/devices/heartbeat"): only(*DEVICES, refused=(403, "devices_only")),
    ("get", "/devices"): only(*SUP),
    ("post", "/devices/{device_id}/revoke"): only("admin"),
    ("post", "/devices/{device_id}/token"): only("admin"),
    ("post", "/devices/{device_id}/pairing-code"): only("admin"),
    ("post", "/devices/pair"): PUBLIC,   # a one-time code, or the kiosk's own token
}


def rules_for(method: str, path: str) -> list[Rule]:
    """The rules of one described operation; an operation the table does not know fails loudly."""
    if (method, path) not in ROLE_TABLE:
        raise AssertionError(
            f"{method.upper()} {path} is in the served OpenAPI description but not in the hostile suite's "
            "ROLE_TABLE (tests/security/hostile_helpers.py): add it with the roles its require(...) allows")
    return ROLE_TABLE[(method, path)]


# --- callers ---------------------------------------------------------------------------------

class Callers:
    """Tokens by who holds them; staff log in once."""

    def __init__(self, client, prefix: str = "", device_prefix: str = ""):
        self.c = client
        self.prefix, self.device_prefix = prefix, device_prefix
        self.tokens: dict[str, str] = {}

    def login(self, username: str) -> str:
        r = self.c.post(API + "/auth/login", json={"username": self.prefix + username, "password": PASSWORD})
        assert r.status_code == 200, r.get_json()
        return r.get_json()["token"]

    def token(self, who: str) -> str:
        """`who`: a role (kiosk, display, led, rater, clerk = clerk01, supervisor, admin) or a username."""
        if who in DEVICE_TOKENS:
            return self.device_prefix + DEVICE_TOKENS[who]
        username = "clerk01" if who == "clerk" else who
        if username not in self.tokens:
            self.tokens[username] = self.login(username)
        return self.tokens[username]

    def headers(self, who: str) -> dict:
        return bearer(self.token(who))

    def call(self, method: str, path: str, who: str | None = None, body=None, **kwargs):
        headers = self.headers(who) if who else {}
        if body is not None:
            kwargs["json"] = body
        return self.c.open(API + path, method=method.upper(), headers=headers, **kwargs)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --- a hall mid-morning ----------------------------------------------------------------------

@dataclass
class Furnished:
    """Hall A's objects, one of each thing a path or a body can name."""
    hall_id: int
    matters: dict[str, int]
    windows: dict[int, int]                 # number -> id
    devices: dict[str, int]                 # name -> id
    finished_ticket: dict = field(default_factory=dict)
    finished_case: dict = field(default_factory=dict)
    accepted_case: dict = field(default_factory=dict)
    called_ticket: dict = field(default_factory=dict)
    skipped_ticket: dict = field(default_factory=dict)
    rating_id: int = 0
    follow_up_id: int = 0
    appeal_id: int = 0
    batch_id: int = 0
    message_id: int = 0
    link: str = ""
    appointment: str = ""

    def path_value(self, name: str, path: str) -> str:
        """A real hall-A value for a path parameter, so a refusal is never just 'no such thing'."""
        values = {
            "window_id": self.windows[1], "case_id": self.accepted_case["id"], "rating_id": self.rating_id,
            "appeal_id": self.appeal_id, "follow_up_id": self.follow_up_id, "batch_id": self.batch_id,
            "message_id": self.message_id, "device_id": self.devices["1号窗口屏"], "step": "verify",
            "action": "retry", "fmt": "csv", "ref": self.finished_ticket["id"], "token": self.link,
            "code": self.appointment if path.startswith("/appointments") else self.finished_ticket["query_code"],
        }
        return str(values[name])

    def secrets(self) -> list[str]:
        """What only hall A's own callers may see: its free texts, slip codes, booking and link."""
        return [MARKER, self.link, self.appointment, *(t[k] for t in
                (self.finished_ticket, self.called_ticket, self.skipped_ticket) for k in ("query_code", "ballot_code"))]

    def fill(self, path: str) -> str:
        return re.sub(r"{(\w+)}", lambda m: self.path_value(m[1], path), path)

    def body(self, name: str | None) -> dict:
        """A valid body of the described schema, naming hall A's objects."""
        bodies = {
            "Login": {"username": "clerk01", "password": "wrong-password"},
            "IssueTicket": {"matter_id": self.matters["QR00201001"]},
            "Requeue": {"ticket_id": self.skipped_ticket["id"]},
            "Transfer": {"to_window": self.windows[2]},
            "BookAppointment": {"matter_id": self.matters["XK00101001"], "id_number": ID_NUMBER,
                                "slot_start": "2026-03-12T10:00"},
            "CheckIn": {"code": self.appointment},
            "Rate": {"channel": "device", "case_id": self.finished_case["id"], "level": 5},
            "Appeal": {"reason": "评价人误操作 " + MARKER},
            "Decide": {"decision": "upheld", "note": "核实属实 " + MARKER},
            "FollowUpStep": {"note": "已核实 " + MARKER},
            "SlipScan": {"code": self.finished_ticket["ballot_code"], "level": 5},
            "Suspend": {"reason": "专家评审 " + MARKER},
            "Accept": {},
            "Correct": {"missing": ["身份证明"]},
            "Refuse": {"reason": "不属于本机关职权范围 " + MARKER},
            "Deliver": {"how": "window", "note": "本人领取 " + MARKER},
            "PrintNotice": {},
            "Heartbeat": {"status": {"printer": "ok"}},
        }
        return dict(bodies[name]) if name else {}


def ok(response, *statuses: int) -> dict:
    assert response.status_code in (statuses or (200, 201)), (response.status_code, response.get_json())
    return response.get_json()


def _codes(ticket: dict) -> dict:
    return {"query_code": ticket["query_code"], "ballot_code": ticket["ballot_code"]}


def furnish(app, clock: FrozenClock, who: Callers) -> Furnished:
    """Hall A mid-morning: a finished case with a 差评 (its follow-up, a pending appeal and an
    SMS link), a case accepted with its clock suspended, a ticket called, one skipped, one
    waiting, an open slip batch and tomorrow's appointment. Free texts carry MARKER."""
    rt = app.extensions["hall"]
    catalogue = ok(who.c.get(API + "/matters?hall=370000T01"))
    f = Furnished(hall_id=rt.hall_codes["370000T01"], matters={m["code"]: m["id"] for m in catalogue["matters"]},
                  windows={w["number"]: w["id"] for w in catalogue["windows"]}, devices={})
    f.devices = {d["name"]: d["id"] for d in ok(who.call("GET", "/devices", "admin"))["devices"]}

    def issue(code: str, **extra) -> dict:
        return ok(who.call("POST", "/tickets", "kiosk", {"matter_id": f.matters[code], **extra}), 201)["ticket"]

    def window_op(number: int, op: str, body: dict | None = None) -> dict:
        return ok(who.call("POST", f"/windows/{f.windows[number]}/{op}", f"clerk{number:02d}", body or {}))

    f.finished_ticket = issue("XK00102001", phone=PHONE)   # a 即办件, finished at the window
    window_op(1, "call-next")
    window_op(1, "accept")
    clock.advance(minutes=5)
    f.finished_case = window_op(1, "finish")["case"]
    rating = ok(who.call("POST", "/ratings", None, {"channel": "web", "query_code": f.finished_ticket["query_code"],
                                                     "level": 1, "comment": "态度差 " + MARKER}), 201)["rating"]
    f.rating_id = rating["id"]
    f.follow_up_id = next(x["id"] for x in ok(who.call("GET", "/follow-ups", "supervisor"))["follow_ups"]
                          if x["rating_id"] == f.rating_id)
    f.appeal_id = ok(who.call("POST", f"/ratings/{f.rating_id}/appeal", "clerk01",
                              {"reason": "误评 " + MARKER}), 201)["appeal"]["id"]

    issue("QR00201001")
    window_op(3, "call-next")
    f.accepted_case = window_op(3, "accept")["case"]
    ok(who.call("POST", f"/cases/{f.accepted_case['id']}/suspend", "clerk03", {"reason": "现场勘验 " + MARKER}))

    slip = issue("XK00102001")  # the slip's codes come only with the kiosk's issuing answer
    f.skipped_ticket = {**window_op(1, "call-next")["ticket"], **_codes(slip)}
    window_op(1, "skip")
    slip = issue("XK00102001")   # a 即办件: accepted and finished at the window later in some tests
    f.called_ticket = {**window_op(1, "call-next")["ticket"], **_codes(slip)}
    issue("GG00301001")

    f.batch_id = ok(who.call("POST", "/slips/batches", "supervisor"), 201)["batch"]["id"]
    f.appointment = ok(who.call("POST", "/appointments", "admin", {
        "matter_id": f.matters["XK00101001"], "id_number": ID_NUMBER, "slot_start": "2026-03-11T09:00"}),
        201)["appointment"]["code"]
    f.message_id, f.link = sms_link(rt, f.finished_case["id"])
    return f


def sms_link(rt, case_id: int) -> tuple[int, str]:
    """The outbox message and the signed link token of a finished case's SMS invitation."""
    from queue_server.ratings.links import make_token
    from queue_server.ratings.models import SmsInvitation, SmsMessage
    with rt.read() as s:
        invitation = s.scalar(select(SmsInvitation).where(SmsInvitation.case_id == case_id))
        assert invitation is not None, f"case {case_id} has no SMS invitation"
        message = s.scalar(select(SmsMessage.id).where(SmsMessage.invitation_id == invitation.id))
        return message, make_token(rt.secret, invitation)


# --- nothing changed -------------------------------------------------------------------------

def fingerprint(app) -> dict[str, tuple]:
    """Every table's row count, highest id and a digest of all its rows (MAY_GROW left out)."""
    engine = app.extensions["hall"].engine
    out = {}
    with engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            if table in MAY_GROW or table.startswith("alembic"):
                continue
            columns = [c["name"] for c in inspect(conn).get_columns(table)]
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            digest = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()[:16]
            top = conn.execute(text(f'SELECT MAX(id) FROM "{table}"')).scalar() if "id" in columns else None
            out[table] = (len(rows), top, digest)
    return out


@contextmanager
def unchanged(app):
    """The block must leave every stored table as it found it, the hall consistent, and nothing
    in the server's error log (a 500, a lost audit row)."""
    errors = Collect()
    logging.getLogger("hall").addHandler(errors)
    before = fingerprint(app)
    try:
        yield
    finally:
        logging.getLogger("hall").removeHandler(errors)
    assert not errors.records, errors.tracebacks()
    after = fingerprint(app)
    moved = {t: (before.get(t), after.get(t)) for t in set(before) | set(after) if before.get(t) != after.get(t)}
    assert not moved, f"refused requests changed stored tables (count, max id, digest): {moved}"
    problems = invariant_problems(app)
    assert not problems, problems


class Problems(list):
    """Collects every refusal that went wrong, so one run reports all of them at once."""

    def expect(self, response, status: int | tuple, code: str | tuple | None, what: str) -> None:
        statuses = status if isinstance(status, tuple) else (status,)
        codes = code if isinstance(code, tuple) or code is None else (code,)
        body = response.get_json(silent=True)
        got = (body or {}).get("error", {}).get("code") if isinstance(body, dict) else None
        if response.status_code not in statuses or (codes and got not in codes):
            self.append(f"{what}: expected {statuses} {codes}, got {response.status_code} "
                        f"{response.get_data(as_text=True)[:200]!r}")
        elif response.status_code >= 400 and (problem := error_problem(response)):
            self.append(f"{what}: {problem}")

    def check(self) -> None:
        assert not self, f"{len(self)} hostile cases answered wrongly:\n" + "\n".join(self)


# --- HTML as a browser reads it --------------------------------------------------------------

class PageParts(HTMLParser):
    """The tags, attributes and text of a page, the way a browser's parser splits them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.chunks: list[str] = []
        self._in_script = False
        self.inline_scripts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            if data.strip():
                self.inline_scripts.append(data)
        else:
            self.chunks.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def dangers(self) -> list[str]:
        """What an injected string would have added to the page: handlers, inline scripts, images."""
        found = [f"<{tag} {name}=…>" for tag, attrs in self.tags for name in attrs if name.lower().startswith("on")]
        found += [f"<script> without src: {s[:60]!r}" for s in self.inline_scripts]
        found += [f"<img src={attrs.get('src')!r}>" for tag, attrs in self.tags
                  if tag == "img" and attrs.get("src") == "x"]
        found += [f"<script src={attrs.get('src')!r}>" for tag, attrs in self.tags
                  if tag == "script" and not str(attrs.get("src") or "").startswith("/")]
        return found


class OneHall:
    """The small hall, furnished (hall objects for every operation), with its callers and the
    served API description: the setting of the hostile tests that stay within one hall."""

    def __init__(self, tmp: Path):
        self.clock = clock_at()
        self.app = make_app([SMALL_HALL], tmp, self.clock)
        self.c = self.app.test_client()
        self.who = Callers(self.c)
        self.f = furnish(self.app, self.clock, self.who)
        self.spec = self.c.get(API + "/openapi.json").get_json()


def clock_at(when: datetime = MORNING) -> FrozenClock:
    return FrozenClock(when)


def earlier(clock: FrozenClock, **delta) -> datetime:
    """Move the clock back by `delta` and return the time to restore."""
    now = clock.now()
    clock.set(now - timedelta(**delta))
    return now
