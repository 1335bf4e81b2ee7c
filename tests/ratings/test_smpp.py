"""The SMPP 3.4 client against the fake SMSC on a real socket: segmentation of UCS-2 text,
keep-alive, refusals, a dead SMSC."""
from __future__ import annotations

import socket

import pytest

from queue_server.ratings.sms import gateways
from queue_server.ratings.sms.gateways import GatewayError, SmppGateway
from queue_server.ratings.sms.smpp import SmppClient, ucs2_parts

from .fake_smsc import FakeSmsc


@pytest.fixture
def smsc():
    server = FakeSmsc()
    yield server
    server.close()


def test_seventy_chinese_characters_fit_one_message_seventy_one_do_not():
    assert [esm for esm, _ in ucs2_parts("政" * 70, 7)] == [0]
    parts = ucs2_parts("政" * 71, 7)
    assert [(esm, len(body)) for esm, body in parts] == [(0x40, 6 + 134), (0x40, 6 + 8)]
    assert [body[:6] for _, body in parts] == [bytes([5, 0, 3, 7, 2, 1]), bytes([5, 0, 3, 7, 2, 2])]


def test_a_surrogate_pair_is_never_split_between_parts():
    text = "务" * 66 + "😀" + "务" * 10  # the emoji's two UTF-16 units would straddle part 1's end
    parts = ucs2_parts(text, 1)
    decoded = [body[6:].decode("utf-16-be") for _, body in parts]  # each part decodes alone
    assert "".join(decoded) == text and all(len(body) <= 140 for _, body in parts)


def test_long_text_reaches_the_phone_whole(smsc):
    text = "【测试中心】" + "您办理的事项已办结，请评价。" * 20 + "😀"
    gw = SmppGateway(smsc.url + "&dest_prefix=86")
    ids = gw.send("13812345678", text, "hall1-sms9").split(",")
    gw.close()
    assert smsc.messages == [{"dest": "8613812345678", "source": "10690001", "text": text, "parts": len(ids)}]
    submits = [f for name, f in smsc.pdus if name == "submit_sm"]
    assert len({f["udh"][2] for f in submits}) == 1  # one reference for all parts
    assert [name for name, _ in smsc.pdus][-1] == "unbind"


def test_idle_session_is_checked_with_enquire_link(smsc, monkeypatch):
    gw = SmppGateway(smsc.url)
    gw.send("13812345678", "一", "a")
    gw.client.last_used -= gateways.ENQUIRE_IDLE + 1
    gw.send("13812345678", "二", "b")
    names = [name for name, _ in smsc.pdus]
    assert names == ["bind_transmitter", "submit_sm", "enquire_link", "submit_sm"]
    assert smsc.connections == 1  # the same bound session
    gw.close()


def test_a_dead_smsc_is_a_plain_retry_not_an_ambiguous_send():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    gw = SmppGateway(f"smpp://u:p@127.0.0.1:{port}?timeout=1")
    with pytest.raises(GatewayError) as failed:
        gw.send("13812345678", "测试", "r")
    assert failed.value.retryable and not failed.value.ambiguous


def test_a_part_refused_after_others_were_accepted_is_ambiguous(smsc):
    gw = SmppGateway(smsc.url)
    gw.send("13800000000", "热身", "w")  # bind first, so the client exists to instrument
    real_request, submits = gw.client._request, []

    def request(command_id, body):
        if command_id == 0x00000004:
            submits.append(body)
            if len(submits) == 2:
                smsc.refuse_next.append(0x58)  # the long text's second part is throttled
        return real_request(command_id, body)
    gw.client._request = request
    with pytest.raises(GatewayError) as failed:
        gw.send("13812345678", "政" * 100, "r")
    assert failed.value.ambiguous and failed.value.retryable  # part 1 is already on its way
    gw.close()


def test_client_answers_the_smscs_enquire_link(smsc):
    smsc.ping_before_reply = True
    client = SmppClient("127.0.0.1", smsc.port, "hall", "secret", source="1069")
    client.connect()
    assert client.submit("13812345678", "您好", 1)
    assert smsc.enquire_link_resps == 1
    client.unbind()
