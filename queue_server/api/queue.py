from flask import jsonify

from .. import auth
from ..shapes import queue_snapshot
from . import api
from .common import hall_id, runtime


@api.get("/queue")
@auth.require()
def queue():
    rt = runtime()
    with rt.read() as s:
        now = rt.clock.now()
        return jsonify(queue_snapshot(s, hall_id(), now.date(), now))
