"""A ticket's slip again, from the database: `hall slip` at the service desk.

`write_slip(app, ticket, out)` makes the slip as ESC/POS bytes or as a PNG to look at;
`print_slip(app, ticket, url)` prints it, marked 【补打】, on the desk's printer and says how that
went. The slip is the one the kiosk printed (printers/ticket.py): the ticket and the hall's
catalogue in the API's shapes, built here from the database instead of asked over HTTP.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from printers import PrinterError, build_slip, connect, write_png
from printers.profile import profile_for
from printers.queue import JobState, print_once
from printers.ticket import ticket_slip

from . import schemas
from .errors import bad_request, not_found
from .models import Hall, Matter, Ticket, Window
from .public_url import public_url
from .shapes import slip_codes, ticket_dict, waiting_ahead, window_clerks

PRINTER_URL = re.compile(r"^(tcp|serial|usb|preview):", re.IGNORECASE)
NUMBER = re.compile(r"[A-Z]{1,4}\d{1,6}")


def write_slip(app_or_rt: Any, ticket_ref: str, out: str | Path, *, printer: str = "preview:",
               profile: str | None = None, reprint: bool = False) -> Path:
    """The slip of a ticket (its id, query code or today's number) to `out`: a PNG when the
    name ends in .png, else the ESC/POS bytes for the given printer model."""
    if PRINTER_URL.match(str(out)):
        raise bad_request("out_is_a_printer", f"“{out}”是打印机地址，不是文件：请用 --printer {out} 打印")
    rt = app_or_rt.extensions["hall"] if hasattr(app_or_rt, "extensions") else app_or_rt
    ticket, catalogue = slip_of(rt, ticket_ref)
    model = profile_for(printer, profile)
    data = build_slip(ticket_slip(ticket, catalogue, reprint=reprint), model)
    out = Path(out)
    if out.suffix.lower() == ".png":
        return write_png(data, out, model.width_dots)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out


def print_slip(app_or_rt: Any, ticket_ref: str, url: str, *, profile: str | None = None,
               timeout: float = 30.0) -> str:
    """The ticket's slip, marked 【补打】, on the printer at `url`; waits for the outcome. A line
    saying it printed, or PrinterError saying it failed or was sent but not confirmed."""
    rt = app_or_rt.extensions["hall"] if hasattr(app_or_rt, "extensions") else app_or_rt
    conn = connect(url)
    ticket, catalogue = slip_of(rt, ticket_ref)
    model = profile_for(url, profile)
    data = build_slip(ticket_slip(ticket, catalogue, reprint=True), model)
    job = f"desk-{ticket['id']}"
    info = print_once(conn, job, data, ready_within=timeout, wait=60)  # a raster slip at 9600 baud: half a minute
    if info is not None and info.state == JobState.PRINTED:
        return f"已补打 {ticket['number']} 的告知单：{conn.url}"
    if info is not None and info.state == JobState.UNCONFIRMED:
        raise PrinterError(f"{ticket['number']} 的告知单已送出，但打印机未确认，请查看是否已打出"
                           f"（不要急于再打一张）：{info.error}")
    raise PrinterError(f"{ticket['number']} 的告知单未能打印：{(info.error if info else '') or '打印机无应答'}")


def find_ticket(s, rt, ref: str) -> Ticket:
    """By id (digits), today's number (A012, in every hall of this server) or query code."""
    ref = ref.strip().upper()
    if ref.isdigit():
        ticket = s.get(Ticket, int(ref))
    else:
        ticket = None
        if NUMBER.fullmatch(ref):
            today = rt.clock.now().date()
            found = s.scalars(select(Ticket).where(Ticket.day == today, Ticket.number == ref)).all()
            if len(found) > 1:
                raise bad_request("ambiguous_ticket", f"今天有 {len(found)} 张号票都是 {ref}（多个大厅），"
                                  "请用号票编号或查询码")
            ticket = found[0] if found else None
        if ticket is None:
            ticket = s.scalar(select(Ticket).where(Ticket.query_code == ref))
    if ticket is None:
        raise not_found("unknown_ticket", f"没有找到号票 {ref}（今天的号码如 A012、号票编号或查询码）")
    return ticket


def slip_of(rt, ref: str) -> tuple[schemas.Ticket, dict[str, Any]]:
    """The ticket and the catalogue entries its slip needs, in the API's shapes (the kiosk gets
    the same from `POST /tickets` and `GET /matters`)."""
    with rt.read() as s:
        ticket = find_ticket(s, rt, ref)
        body = ticket_dict(s, ticket, waiting_ahead=waiting_ahead(s, ticket) if ticket.status == "waiting" else 0)
        body.update(slip_codes(ticket))  # the hall's own command prints the slip: it needs its codes
        cfg = rt.hall_config(ticket.hall_id)
        hall = s.get(Hall, ticket.hall_id)
        matter = s.get(Matter, ticket.matter_id)
        clerks = window_clerks(s, hall.id)
        windows = [{"id": w.id, "number": w.number, "name": w.name,
                    "staff_name": clerks.get(w.id, ("", ""))[0], "staff_no": clerks.get(w.id, ("", ""))[1]}
                   for w in s.scalars(select(Window).where(Window.hall_id == hall.id))]
        catalogue = {
            "hall": {"name": hall.name, "complaint_phone": cfg.complaint_phone,
                     "consult_phone": cfg.consult_phone, "base_url": public_url(rt, hall.id)},
            "matters": [{"id": matter.id, "name": matter.name, "department_name": matter.department.name,
                         "materials": matter.materials, "fees": matter.fees, "kind": matter.kind,
                         "promised_days": matter.promised_days, "legal_days": matter.legal_days,
                         "process": matter.process}],
            "windows": windows,
        }
        return body, catalogue
