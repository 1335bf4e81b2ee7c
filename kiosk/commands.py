"""The kiosk's admin chores behind `hall print-test` and `hall slip`.

`print_test(url)` proves a printer setup end to end (connection, status, Chinese, barcode, QR)
before the kiosk opens; `write_slip(app, ticket, out)` makes a ticket's slip again from the
database, as ESC/POS bytes for a printer or as a PNG to look at (the service desk's reprint).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from printers import PrintQueue, PrinterError, build_slip, connect, write_png
from printers.queue import JobState
from printers.testslip import test_slip

from .printing import profile_for, ticket_slip


def print_test(url: str, profile: str | None = None, *, timeout: float = 15.0,
               png: str | Path | None = None) -> str:
    """Print the test page on `url` and wait for it; a line saying so, or PrinterError saying why not.
    With `png`, the picture of the same bytes is written there too."""
    conn = connect(url)
    model = profile_for(url, profile)
    data = test_slip(model)
    with PrintQueue(conn, retry_delays=(0.5, 1, 2), give_up_after=timeout) as queue:
        queue.submit("print-test", data)
        info = queue.wait("print-test", timeout + 10)
        status = queue.last_status
    if png:
        write_png(data, png, model.width_dots)
    if info is not None and info.state == JobState.UNCONFIRMED:
        raise PrinterError(f"测试页已全部送出，但打印机未确认，请查看是否打出：{info.error}")
    if info is None or info.state != JobState.PRINTED:
        reason = (info.error if info else "") or (status.message if status else "打印机无应答")
        raise PrinterError(f"测试页未能打印：{reason}")
    return f"测试页已打印：{conn.url}（{model.name}，{model.width_dots}点/{model.columns}列）"


def write_slip(app_or_rt: Any, ticket_ref: str, out: str | Path, *, printer: str = "preview:",
               profile: str | None = None, reprint: bool = False) -> Path:
    """The slip of a ticket (its id or query code) to `out`: a PNG when the name ends in .png,
    else the ESC/POS bytes for the given printer model."""
    rt = app_or_rt.extensions["hall"] if hasattr(app_or_rt, "extensions") else app_or_rt
    ticket, catalogue = _ticket_and_catalogue(rt, ticket_ref)
    model = profile_for(printer, profile)
    data = build_slip(ticket_slip(ticket, catalogue, reprint=reprint), model)
    out = Path(out)
    if out.suffix.lower() == ".png":
        return write_png(data, out, model.width_dots)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out


def _ticket_and_catalogue(rt, ref: str) -> tuple[dict, dict]:
    """The ticket and the catalogue entries its slip needs, in the API's shapes."""
    from queue_server.errors import not_found
    from queue_server.models import Hall, Matter, Staff, StaffWindow, Ticket, Window
    from queue_server.views import ticket_dict, waiting_ahead

    ref = ref.strip()
    with rt.read() as s:
        ticket = s.get(Ticket, int(ref)) if ref.isdigit() else \
            s.scalar(select(Ticket).where(Ticket.query_code == ref.upper()))
        if ticket is None:
            raise not_found("unknown_ticket", f"没有找到号票 {ref}")
        body = ticket_dict(s, ticket, waiting_ahead=waiting_ahead(s, ticket) if ticket.status == "waiting" else 0)
        cfg = rt.hall_config(ticket.hall_id)
        hall = s.get(Hall, ticket.hall_id)
        matter = s.get(Matter, ticket.matter_id)
        staff = dict(s.execute(select(StaffWindow.window_id, Staff.name)
                               .join(Staff, Staff.id == StaffWindow.staff_id)
                               .where(Staff.hall_id == hall.id, Staff.role == "clerk")).all())
        windows = [{"id": w.id, "number": w.number, "name": w.name, "staff_name": staff.get(w.id)}
                   for w in s.scalars(select(Window).where(Window.hall_id == hall.id))]
        catalogue = {
            "hall": {"name": hall.name, "complaint_phone": cfg.complaint_phone, "base_url": cfg.base_url},
            "matters": [{"id": matter.id, "name": matter.name, "department_name": matter.department.name,
                         "materials": matter.materials, "fees": matter.fees, "kind": matter.kind,
                         "promised_days": matter.promised_days}],
            "windows": windows,
        }
        return body, catalogue
