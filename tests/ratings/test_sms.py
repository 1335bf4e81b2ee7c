"""SMS invitations end to end: 办结 → invitation → outbox → gateway (outbox, HTTP, SMPP through a
fake SMSC on a real socket) → the link in the text → the rating. Refused links: forged, expired,
reused. The sender: retries with backoff, never loses a message, never sends one twice."""
from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from queue_server.ratings.models import SmsMessage
from queue_server.ratings.sms import sender
from queue_server.ratings.sms.gateways import GatewayError, HttpGateway, OutboxGateway, SmppGateway

from .fake_smsc import FakeSmsc
from .helpers import error, rate, serve

PHONE = "13812345678"
LINK = re.compile(r"http://hall\.test/r/(\S+)")


@pytest.fixture
def rt(app):
    return app.extensions["hall"]


@pytest.fixture
def smsc():
    server = FakeSmsc()
    yield server
    server.close()


def use_gateway(rt, url: str) -> None:
    for cfg in rt.halls.values():
        cfg.ratings = {"sms_gateway": url}


def messages(rt) -> list[SmsMessage]:
    with rt.read() as s:
        return list(s.scalars(select(SmsMessage).order_by(SmsMessage.id)))


def token_in(text: str) -> str:
    match = LINK.search(text)
    assert match, text
    return match.group(1)



def serve_due(hall, clock, **kw) -> dict:
    """Served at window 1, which has a rating device: its invitation waits out the device's
    rating window ([ratings] device_seconds) before it is due."""
    served = serve(hall, clock, **kw)
    clock.advance(seconds=301)
    return served

def test_sms_through_fake_smsc_to_the_link_to_the_rating(hall, clock, rt, smsc):
    use_gateway(rt, smsc.url)
    served = serve_due(hall, clock, phone=PHONE)
    assert serve(hall, clock)["case"]  # no phone: no invitation
    outbox = messages(rt)
    assert [(m.status, m.phone) for m in outbox] == [("pending", PHONE)]

    smsc.ping_before_reply = True  # the SMSC checks on us while we wait: we must answer
    counts = sender.send_due(rt)
    assert counts["sent"] == 1, counts
    assert smsc.enquire_link_resps >= 1
    sent = messages(rt)[0]
    assert sent.status == "sent" and sent.provider_id and sent.gateway == "smpp"

    # What the SMSC saw, decoded independently: a bound transmitter, UCS-2, concatenated parts.
    kinds = [name for name, _ in smsc.pdus]
    assert kinds[0] == "bind_transmitter" and "submit_sm" in kinds
    bind = smsc.pdus[0][1]
    assert (bind["system_id"], bind["password"], bind["interface_version"]) == ("hall", "secret", 0x34)
    submits = [f for name, f in smsc.pdus if name == "submit_sm"]
    assert all(f["data_coding"] == 0x08 and f["dest"] == PHONE and f["source"] == "10690001" for f in submits)
    assert len(submits) >= 2 and all(f["esm_class"] & 0x40 for f in submits)  # a long Chinese text
    assert sent.provider_id.count(",") == len(submits) - 1
    assert len(smsc.messages) == 1
    text = smsc.messages[0]["text"]
    assert text == sent.text and "企业设立登记" in text and "已办结" in text

    # The citizen opens the link and rates.
    token = token_in(text)
    page = hall.c.get(f"/r/{token}")
    assert page.status_code == 200 and "评价" in page.get_data(as_text=True)
    state = hall.c.get(f"/api/v1/ratings/link/{token}").get_json()
    assert state["case"]["id"] == served["case"]["id"] and state["case"]["matter_name"] == "企业设立登记"
    r = rate(hall, {"channel": "sms", "link": token, "level": 1, "tags": ["等候时间长"], "comment": "等了很久"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["rating"]["channel"] == "sms" and r.get_json()["rating"]["follow_up_id"]

    reused = rate(hall, {"channel": "sms", "link": token, "level": 5})
    assert reused.status_code == 409 and error(reused) == "link_used"
    shown = hall.c.get("/api/v1/sms/outbox", headers=hall.headers("admin")).get_json()["gateway"]
    assert shown == f"smpp://127.0.0.1:{smsc.port}" and "secret" not in shown
    sender.close_gateways(rt)
    assert smsc.pdus[-1][0] == "unbind"


def test_forged_and_expired_links_are_refused(hall, clock, rt):
    serve_due(hall, clock, phone=PHONE)
    token = token_in(messages(rt)[0].text)
    head, mac = token.split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    for forged in (f"{head}.{flipped}", f"{int(head, 36) + 1:x}.{mac}", "garbage", "", "1." + "x" * 12,
                   token + "x", "zzzzzzzzzzzzz." + mac):
        r = rate(hall, {"channel": "sms", "link": forged, "level": 5})
        assert r.status_code in (400, 403), (forged, r.get_json())
        assert error(r) in ("invalid_link", "missing_field"), forged
    assert error(hall.c.get(f"/api/v1/ratings/link/{head}.{flipped}")) == "invalid_link"

    clock.advance(days=7, minutes=1)
    expired = rate(hall, {"channel": "sms", "link": token, "level": 5})
    assert expired.status_code == 410 and error(expired) == "link_expired"


def test_a_link_rates_its_own_case_only(hall, clock, rt):
    first = serve_due(hall, clock, phone=PHONE)["case"]
    serve_due(hall, clock, phone="13900000000")
    token = token_in(messages(rt)[0].text)
    other = messages(rt)[1]
    assert other.phone == "13900000000"
    r = rate(hall, {"channel": "sms", "link": token, "level": 5, "case_id": first["id"] + 1})
    assert r.status_code == 403 and error(r) == "invalid_link"
    assert rate(hall, {"channel": "sms", "link": token, "level": 5, "case_id": first["id"]}).status_code == 201


def test_outbox_gateway_is_the_default_and_listed(hall, clock, rt):
    serve_due(hall, clock, phone=PHONE)
    assert sender.send_due(rt)["sent"] == 1
    listed = hall.c.get("/api/v1/sms/outbox", headers=hall.headers("admin")).get_json()
    assert listed["gateway"] == "outbox:"
    (m,) = listed["messages"]
    assert m["status"] == "sent" and m["phone"] == "138****5678" and m["provider_id"].startswith("outbox:")
    assert hall.c.get("/api/v1/sms/outbox", headers=hall.headers("clerk01")).status_code == 403


class Flaky:
    """A gateway that fails as told, then works; counts what actually left."""
    scheme, idempotent = "flaky", False

    def __init__(self, failures: list[GatewayError]):
        self.failures, self.sent = list(failures), []

    def send(self, phone, text, ref):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(ref)
        return f"id-{len(self.sent)}"

    def close(self):
        pass


def test_failures_are_retried_with_backoff_and_never_lost(hall, clock, rt):
    serve_due(hall, clock, phone=PHONE)
    gateway = Flaky([GatewayError("timeout"), GatewayError("throttled")])
    assert sender.send_due(rt, gateway=gateway)["retry"] == 1
    m = messages(rt)[0]
    assert m.status == "pending" and m.attempts == 1 and "timeout" in m.last_error
    assert m.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert sender.send_due(rt, gateway=gateway) == {"sent": 0, "retry": 0, "failed": 0, "recovered": 0,
                                                     "rate_limited": 0, "not_needed": 0}
    clock.advance(seconds=30)
    assert sender.send_due(rt, gateway=gateway)["retry"] == 1
    assert messages(rt)[0].next_attempt_at == clock.now() + timedelta(minutes=1)
    clock.advance(minutes=1)
    assert sender.send_due(rt, gateway=gateway)["sent"] == 1
    clock.advance(hours=2)
    sender.send_due(rt, gateway=gateway)
    assert gateway.sent == [f"hall{m.hall_id}-sms{m.id}"]  # exactly once
    m = messages(rt)[0]
    assert (m.status, m.attempts, m.provider_id) == ("sent", 3, "id-1")


def test_permanent_failure_and_too_many_attempts_end_as_failed_and_can_be_retried(hall, clock, rt):
    serve_due(hall, clock, phone=PHONE)
    sender.send_due(rt, gateway=Flaky([GatewayError("目标号码无效", retryable=False)]))
    assert messages(rt)[0].status == "failed"
    serve_due(hall, clock, phone="13900000000")
    always = Flaky([GatewayError("down")] * 100)
    for _ in range(sender.MAX_ATTEMPTS):
        sender.send_due(rt, gateway=always)
        clock.advance(hours=1)
    assert [m.status for m in messages(rt)] == ["failed", "failed"]
    retry = hall.c.post(f"/api/v1/sms/outbox/{messages(rt)[1].id}/retry", headers=hall.headers("admin"))
    assert retry.status_code == 200 and retry.get_json()["message"]["status"] == "pending"
    working = Flaky([])
    assert sender.send_due(rt, gateway=working)["sent"] == 1


def test_crash_between_send_and_commit(hall, clock, rt, smsc):
    """SMPP cannot deduplicate: an interrupted send becomes `unknown`, never resent blindly.
    The HTTP and outbox gateways pass our ref for deduplication, so they are resent."""
    use_gateway(rt, smsc.url)
    serve_due(hall, clock, phone=PHONE)
    smsc.drop_next_submit = 1  # the SMSC got the first part, the answer never came
    assert sender.send_due(rt)["failed"] == 1
    m = messages(rt)[0]
    assert m.status == "unknown" and "不自动重发" in m.last_error
    clock.advance(hours=2)
    assert sender.send_due(rt)["sent"] == 0
    assert len([p for p, _ in smsc.pdus if p == "submit_sm"]) == 1  # not resent

    # A crash after the send leaves the row in `sending`; simulate it directly.
    with rt.writing() as s:
        m = s.scalars(select(SmsMessage)).one()
        m.status, m.claimed_at, m.gateway = "sending", clock.now(), "smpp"
        s.commit()
    clock.advance(minutes=10)
    assert sender.send_due(rt)["recovered"] == 1
    m = messages(rt)[0]
    assert m.status == "unknown" and "核对" in m.last_error
    clock.advance(hours=2)
    assert sender.send_due(rt)["sent"] == 0  # nothing resent without a person deciding
    marked = hall.c.post(f"/api/v1/sms/outbox/{m.id}/mark-sent", headers=hall.headers("admin"))
    assert marked.get_json()["message"]["status"] == "sent"
    sender.close_gateways(rt)

    with rt.writing() as s:  # the same crash on an idempotent gateway is resent
        m = s.scalars(select(SmsMessage)).one()
        m.status, m.claimed_at, m.gateway = "sending", clock.now(), "outbox"
        s.commit()
    clock.advance(minutes=10)
    assert sender.send_due(rt, gateway=OutboxGateway())["recovered"] == 1
    assert messages(rt)[0].status == "sent"


def test_smsc_refusals_and_bad_password(hall, clock, rt, smsc):
    use_gateway(rt, smsc.url)
    serve_due(hall, clock, phone=PHONE)
    smsc.refuse_next = [0x58]  # throttled: retry later
    assert sender.send_due(rt)["retry"] == 1
    assert "限流" in messages(rt)[0].last_error
    clock.advance(seconds=30)
    assert sender.send_due(rt)["sent"] == 1
    sender.close_gateways(rt)

    gateway = SmppGateway(smsc.url.replace(":secret@", ":wrong@"))
    with pytest.raises(GatewayError) as refused:
        gateway.send(PHONE, "测试", "r1")
    assert "密码" in str(refused.value) and refused.value.retryable

    gateway = SmppGateway(smsc.url)
    smsc.refuse_next = [0x0B]  # invalid destination: resending cannot help
    with pytest.raises(GatewayError) as bad_number:
        gateway.send("1", "测试", "r2")
    assert not bad_number.value.retryable
    gateway.close()


class _Provider(BaseHTTPRequestHandler):
    received: list = []
    fail_first = 0

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers["Idempotency-Key"]
        if _Provider.fail_first:
            _Provider.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        _Provider.received.append((key, body))
        answer = json.dumps({"message_id": f"P-{len(_Provider.received)}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def test_http_gateway_posts_json_with_idempotency_key(hall, clock, rt):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Provider.received, _Provider.fail_first = [], 1
    try:
        use_gateway(rt, f"http://127.0.0.1:{server.server_port}/sms/send")
        serve_due(hall, clock, phone=PHONE)
        assert sender.send_due(rt)["retry"] == 1  # 503: retryable
        assert "503" in messages(rt)[0].last_error
        clock.advance(seconds=30)
        assert sender.send_due(rt)["sent"] == 1
        ((key, body),) = _Provider.received
        m = messages(rt)[0]
        assert key == body["ref"] == f"hall{m.hall_id}-sms{m.id}"
        assert body["phone"] == PHONE and "http://hall.test/r/" in body["text"]
        assert m.provider_id == "P-1"
    finally:
        server.shutdown()
    unreachable = HttpGateway(f"http://127.0.0.1:{server.server_port}/gone", timeout=0.5)
    with pytest.raises(GatewayError) as down:
        unreachable.send(PHONE, "x", "r")
    assert down.value.retryable


def test_missed_invitations_are_caught_up(hall, clock, rt):
    """A crash between the 办结 commit and the invitation's commit: the worker invites late."""
    from queue_server.ratings.invitations import invite_missed
    subscribers = rt.subscribers[:]
    rt.subscribers.clear()
    try:
        serve_due(hall, clock, phone=PHONE)
    finally:
        rt.subscribers.extend(subscribers)
    assert messages(rt) == []
    assert invite_missed(rt) == 1 and invite_missed(rt) == 0
    assert len(messages(rt)) == 1
