from flask import g, jsonify
from sqlalchemy import select

from .. import auth
from ..models import Department, Hall, Matter, Window, WindowMatter
from ..public_url import public_url
from ..shapes import window_clerks
from . import api
from .common import hall_id, runtime


@api.get("/matters")
def matters():
    """The catalogue: public (it is what the hall publishes), with the caller's hall or ?hall=."""
    g.principal = auth.authenticate(runtime(), auth.bearer_token())
    h = hall_id()
    with runtime().read() as s:
        hall = s.get(Hall, h)
        cfg = runtime().hall_config(h)
        departments = s.scalars(select(Department).where(Department.hall_id == h, Department.active.is_(True))
                                .order_by(Department.id)).all()
        rows = s.scalars(select(Matter).where(Matter.hall_id == h, Matter.active.is_(True))
                         .order_by(Matter.department_id, Matter.id)).all()
        windows = s.scalars(select(Window).where(Window.hall_id == h, Window.active.is_(True))
                            .order_by(Window.number)).all()
        served: dict[int, list[int]] = {}
        for window_id, matter_id in s.execute(select(WindowMatter.window_id, WindowMatter.matter_id)
                                              .order_by(WindowMatter.rank)):
            served.setdefault(matter_id, []).append(window_id)
        clerks = window_clerks(s, h)
        english = {m.code: m for m in cfg.matters}    # name_en & co. live in the config only
        department_en = {d.code: d.name_en for d in cfg.departments}
        return jsonify({
            "hall": {"code": hall.code, "name": hall.name, "complaint_phone": cfg.complaint_phone,
                     "consult_phone": cfg.consult_phone,
                     "base_url": public_url(runtime(), h), "notice": cfg.notice,
                     "call_repeat_seconds": cfg.call_repeat_seconds,
                     "open_time": cfg.open_time.strftime("%H:%M"), "close_time": cfg.close_time.strftime("%H:%M")},
            "departments": [{"id": d.id, "code": d.code, "name": d.name, "name_en": department_en.get(d.code, "")}
                            for d in departments],
            "matters": [{**_english(english.get(m.code)),
                         "id": m.id, "code": m.code, "name": m.name, "department_id": m.department_id,
                         "department_name": m.department.name, "prefix": m.prefix, "kind": m.kind,
                         "promised_days": m.promised_days, "legal_days": m.legal_days,
                         "materials": m.materials, "fees": m.fees, "description": m.description,
                         "process": m.process, "pinyin": m.pinyin, "daily_quota": m.daily_quota,
                         "last_ticket_time": m.last_ticket_time,
                         "window_ids": served.get(m.id, [])} for m in rows],
            "windows": [{"id": w.id, "number": w.number, "name": w.name, "state": w.state,
                         "department_id": w.department_id, "order": w.order,
                         "staff_name": clerks[w.id][0] if w.id in clerks else None,
                         "staff_no": clerks[w.id][1] or None if w.id in clerks else None} for w in windows],
        })


def _english(matter) -> dict:
    """The matter's English words from the config ("" / [] where it has none)."""
    if matter is None:
        return {"name_en": "", "materials_en": [], "description_en": ""}
    return {"name_en": matter.name_en, "materials_en": list(matter.materials_en), "description_en": matter.description_en}
