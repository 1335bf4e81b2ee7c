"""Every screen's waiting counts: per window, the tickets that window could call next.

Windows that serve the same matters (in any order) count alike; a ticket sent to one window
counts for that window alone."""
from __future__ import annotations


def test_each_window_counts_the_tickets_it_could_call(hall):
    for code, n in (("XK00101001", 2), ("XK00102001", 1), ("QR00201001", 1), ("GG00301001", 3), ("QT00401001", 1)):
        for _ in range(n):
            assert hall.issue(code).status_code == 201
    assert hall.op(3, "call-next").get_json()["ticket"]["matter_id"] == hall.matters["QR00201001"]["id"]
    moved = hall.op(3, "transfer", {"to_window": hall.windows[8]["id"]})   # 综合 8: serves 户口迁移 too
    assert moved.status_code == 200

    waiting = hall.queue()["waiting"]
    by_number = {n: waiting["by_window"].get(str(w["id"]), 0) for n, w in hall.windows.items()}
    # 1, 2: both 商事登记 matters (same two, ranked differently); 3, 4: 户籍, now nothing waiting;
    # 7: the one 税务 ticket; 8, 9, 10: 综合 windows, each its own mix, 8 with the transferred one.
    assert by_number == {1: 3, 2: 3, 3: 0, 4: 0, 5: 3, 6: 3, 7: 1, 8: 5, 9: 5, 10: 2}
    assert str(hall.windows[3]["id"]) not in waiting["by_window"]   # a window with none is left out
    assert waiting["total"] == 8


def test_the_counts_are_read_from_the_index_alone(app, clock):
    """Every change to the queue carries the counts: they must not read a table row per waiting ticket (with
    5,000 waiting that was most of a change's time on SQLite; migration 0010)."""
    from queue_server.shapes import _WAITING
    engine = app.extensions["hall"].engine
    compiled = _WAITING.compile(dialect=engine.dialect)
    values = compiled.construct_params({"hall_id": 1, "day": clock.now().date()})
    with engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled),
                                    tuple(values[k] for k in compiled.positiontup)).all()
    assert any("COVERING INDEX ix_tickets_queue" in row[-1] for row in plan), plan
    assert not any("TEMP B-TREE" in row[-1] for row in plan), plan
