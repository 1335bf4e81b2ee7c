"""A hall's outbox: events leave in `seq` order whatever order their commits finish in."""
from __future__ import annotations

import threading

from queue_server.outbox import Outbox


def test_an_event_waits_for_the_one_before_it_still_committing():
    sent = []
    box = Outbox(sent.append)
    first, second = box.take_place(), box.take_place()   # numbered 1 then 2
    box.settle(second, {"seq": 2})     # 2 committed first: held back, its request goes on
    assert sent == [] and box.waiting() == 2
    box.settle(first, {"seq": 1})      # 1's thread sends both
    assert [e["seq"] for e in sent] == [1, 2] and box.waiting() == 0


def test_a_rolled_back_change_does_not_hold_the_line():
    sent = []
    box = Outbox(sent.append)
    failed, later = box.take_place(), box.take_place()
    box.settle(later, {"seq": 7})
    box.settle(failed, None)
    assert sent == [{"seq": 7}] and box.waiting() == 0


def test_a_failing_send_is_logged_and_the_rest_still_go(caplog):
    sent = []

    def send(event):
        if event["seq"] == 1:
            raise ConnectionError("redis away")
        sent.append(event)

    box = Outbox(send)
    places = [box.take_place() for _ in range(3)]
    for n, place in reversed(list(enumerate(places, 1))):
        box.settle(place, {"seq": n, "type": "ticket.issued"})
    assert [e["seq"] for e in sent] == [2, 3]
    assert "sending ticket.issued 1 failed" in caplog.text


def test_many_threads_settling_at_random_still_send_in_order():
    sent = []
    box = Outbox(sent.append)
    places = [box.take_place() for _ in range(400)]
    start = threading.Barrier(8)

    def committer(part):
        start.wait()
        for n, place in part:
            box.settle(place, {"seq": n})

    numbered = list(enumerate(places, 1))
    threads = [threading.Thread(target=committer, args=(numbered[i::8][::-1],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [e["seq"] for e in sent] == list(range(1, 401))
