"""The slip of a ticket as the hall's API gives it: the ticket and the hall's catalogue in, a
`Slip` out. The kiosk prints it when it issues the ticket; the service desk prints the same
slip again from the database (`hall slip`, queue_server/slips.py), so both say the same."""
from __future__ import annotations

from datetime import datetime
from collections.abc import Mapping
from typing import Any

from .slip import Slip


def ticket_slip(ticket: Mapping[str, Any], catalogue: Mapping[str, Any], *, reprint: bool = False) -> Slip:
    """The slip of a ticket as the server returned it, with the hall's catalogue for the rest."""
    hall = catalogue["hall"]
    matter = next(m for m in catalogue["matters"] if m["id"] == ticket["matter_id"])
    windows = {w["id"]: w for w in catalogue["windows"]}
    places = [(f"{windows[i]['number']}号窗口 {windows[i]['name']}", clerk(windows[i]))
              for i in ticket.get("window_ids") or [] if i in windows]
    priority = ticket.get("priority")
    return Slip(
        # The barcode carries the ballot code (random, counted in 投箱评议), not the ticket id;
        # a ticket from before ballot codes prints its id, which the slip batch refuses.
        hall_name=hall["name"], ticket_id=ticket.get("ballot_code") or f"{ticket['id']:08d}",
        ticket_number=ticket["number"],
        matter_name=matter["name"], department_name=matter["department_name"], windows=places,
        waiting_ahead=max(0, int(ticket.get("waiting_ahead") or 0)),
        issued_at=datetime.fromisoformat(ticket["issued_at"]).replace(tzinfo=None),
        materials=list(matter.get("materials") or []), fees=matter.get("fees") or "不收费",
        matter_kind=matter["kind"], promised_days=matter.get("promised_days") or 0,
        query_code=ticket["query_code"], progress_url=progress_url(hall, ticket["query_code"]),
        complaint_phone=hall.get("complaint_phone") or "12345",
        priority=ticket.get("priority_label") if priority and priority != "appointment" else None,
        appointment_code=ticket.get("appointment_code"), reprint=reprint,
        legal_days=matter.get("legal_days") or 0, process=matter.get("process") or "",
        consult_phone=hall.get("consult_phone") or "")


def clerk(window: dict[str, Any]) -> str:
    """The clerk as the slip names them: 张伟 工号0123 (the 工号 where the config has one)."""
    name, number = window.get("staff_name") or "", window.get("staff_no") or ""
    return f"{name} 工号{number}" if name and number else name


def progress_url(hall: dict[str, Any], query_code: str) -> str:
    return (hall.get("base_url") or "http://127.0.0.1:8000").rstrip("/") + "/t/" + query_code
