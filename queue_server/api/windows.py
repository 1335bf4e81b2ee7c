from flask import g, jsonify
from sqlalchemy import select

from .. import auth, staffing, windows as ops
from ..errors import HallError
from ..models import Ticket, Window
from ..shapes import ticket_dict, waiting_counts, window_dict
from . import api
from .common import field, json_body, runtime
from ..scoping import in_hall

CLERKS = ("clerk", "admin")


def _window_op(window_id: int):
    auth.check_window(g.principal, window_id)
    return runtime(), g.principal.hall_id, g.principal.actor


@api.get("/windows")
@auth.require()
def list_windows():
    rt = runtime()
    h = g.principal.hall_id
    with rt.read() as s:
        counts = waiting_counts(s, h, rt.clock.now().date())["by_window"]
        rows = s.scalars(select(Window).where(Window.hall_id == h, Window.active.is_(True)).order_by(Window.number))
        return jsonify({"windows": [window_dict(s, w, counts.get(str(w.id), 0)) for w in rows]})


@api.get("/windows/<int:window_id>/skipped")
@auth.require(*CLERKS)
def skipped(window_id):
    """Today's no-shows at this window, newest first: the clerk re-queues one when its citizen returns."""
    rt, h, _ = _window_op(window_id)
    with rt.read() as s:
        in_hall(s, Window, window_id, h)   # another hall's window is not there for this hall
        rows = s.scalars(select(Ticket).where(
            Ticket.hall_id == h, Ticket.window_id == window_id, Ticket.day == rt.clock.now().date(),
            Ticket.status == "skipped").order_by(Ticket.closed_at.desc()).limit(200))
        return jsonify({"tickets": [ticket_dict(s, t) for t in rows]})


def _sign_in(rt, h, window_id, actor) -> dict:
    return staffing.sign_in(rt, h, window_id, staff_id=g.principal.staff_id,
                            session_started=staffing.session_start(rt, auth.bearer_token()), actor=actor)


@api.post("/windows/<int:window_id>/sign-in")
@auth.require(*CLERKS)
def sign_in(window_id):
    """签到: the clerk is at the window, which opens to citizens (the caller page does it on
    opening the window, and again now and then while the clerk works: the idle close)."""
    rt, h, actor = _window_op(window_id)
    return jsonify({"window": _sign_in(rt, h, window_id, actor)})


@api.post("/windows/<int:window_id>/sign-out")
@auth.require(*CLERKS)
def sign_out(window_id):
    """签退: the window closes; refused while a citizen is still at it."""
    rt, h, actor = _window_op(window_id)
    return jsonify({"window": staffing.sign_out(rt, h, window_id, actor=actor)})


@api.post("/windows/<int:window_id>/call-next")
@auth.require(*CLERKS)
def call_next(window_id):
    """Calling on a closed window signs its caller in first (叫号即签到)."""
    rt, h, actor = _window_op(window_id)
    try:
        return jsonify({"ticket": ops.call_next(rt, h, window_id, actor, staff_id=g.principal.staff_id)})
    except HallError as exc:
        if exc.code != "window_closed":
            raise
    _sign_in(rt, h, window_id, actor)
    return jsonify({"ticket": ops.call_next(rt, h, window_id, actor, staff_id=g.principal.staff_id)})


@api.post("/windows/<int:window_id>/recall")
@auth.require(*CLERKS)
def recall(window_id):
    rt, h, actor = _window_op(window_id)
    return jsonify({"ticket": ops.recall(rt, h, window_id, actor)})


@api.post("/windows/<int:window_id>/skip")
@auth.require(*CLERKS)
def skip(window_id):
    rt, h, actor = _window_op(window_id)
    return jsonify({"ticket": ops.skip(rt, h, window_id, actor)})


@api.post("/windows/<int:window_id>/requeue")
@auth.require(*CLERKS)
def requeue(window_id):
    rt, h, actor = _window_op(window_id)
    ticket_id = field(json_body(), "ticket_id", int, required=True)
    return jsonify({"ticket": ops.requeue(rt, h, window_id, ticket_id, actor)})


@api.post("/windows/<int:window_id>/transfer")
@auth.require(*CLERKS)
def transfer(window_id):
    rt, h, actor = _window_op(window_id)
    body = json_body()
    return jsonify({"ticket": ops.transfer(rt, h, window_id, to_window=field(body, "to_window", int),
                                           to_matter=field(body, "to_matter", int), actor=actor)})


@api.get("/windows/<int:window_id>/transfer-targets")
@auth.require(*CLERKS)
def transfer_targets(window_id):
    """Where the called ticket may be transferred: open windows serving its matter, and matters."""
    rt, h, _ = _window_op(window_id)
    return jsonify(ops.transfer_targets(rt, h, window_id))


@api.post("/windows/<int:window_id>/pause")
@auth.require(*CLERKS)
def pause(window_id):
    rt, h, actor = _window_op(window_id)
    return jsonify({"window": ops.set_paused(rt, h, window_id, True, actor)})


@api.post("/windows/<int:window_id>/resume")
@auth.require(*CLERKS)
def resume(window_id):
    rt, h, actor = _window_op(window_id)
    return jsonify({"window": ops.set_paused(rt, h, window_id, False, actor)})


@api.post("/windows/<int:window_id>/accept")
@auth.require(*CLERKS)
def accept(window_id):
    """受理; `finish: true` for a 即办件 done on the spot; `case_id` of a case waiting for materials."""
    rt, h, actor = _window_op(window_id)
    body = json_body()
    finish_now = field(body, "finish", bool, default=False)
    return jsonify(ops.accept(rt, h, window_id, actor, staff_id=g.principal.staff_id,
                              case_id=field(body, "case_id", int), finish_now=finish_now))


@api.post("/windows/<int:window_id>/correct")
@auth.require(*CLERKS)
def correct(window_id):
    """补正: `missing` lists the matter's materials the citizen lacks; the one-time notice follows."""
    rt, h, actor = _window_op(window_id)
    missing = field(json_body(), "missing", list, required=True)
    return jsonify(ops.correct(rt, h, window_id, missing, actor, staff_id=g.principal.staff_id))


@api.post("/windows/<int:window_id>/refuse")
@auth.require(*CLERKS)
def refuse(window_id):
    rt, h, actor = _window_op(window_id)
    reason = field(json_body(), "reason", str, required=True, max_len=300)
    return jsonify(ops.refuse(rt, h, window_id, reason, actor, staff_id=g.principal.staff_id))


@api.post("/windows/<int:window_id>/finish")
@auth.require(*CLERKS)
def finish(window_id):
    rt, h, actor = _window_op(window_id)
    return jsonify(ops.finish(rt, h, window_id, actor))
