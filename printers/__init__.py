"""The slip printer: layout, ESC/POS bytes, connectors, print queue and PNG preview.

    from printers import Slip, build_slip, P80, connect, PrintQueue
    queue = PrintQueue(connect("tcp://192.168.1.50:9100"), on_event=push_to_screen)
    queue.submit(ticket_id, build_slip(slip, P80))
"""
from .connectors import (Connector, FileConnector, PreviewConnector, PrinterError,
                         PrinterTimeout, PrinterUnconfirmed, connect)
from .profile import P58, P80, PrinterProfile, profile_by_name
from .queue import JobInfo, JobState, PrintQueue
from .render import render_png, write_png
from .slip import Slip, build_slip, compose
from .status import PrinterState, PrinterStatus

__all__ = [
    "Slip", "build_slip", "compose", "PrinterProfile", "P58", "P80", "profile_by_name", "connect",
    "Connector", "FileConnector", "PreviewConnector", "PrinterError", "PrinterTimeout",
    "PrinterUnconfirmed", "PrintQueue", "JobInfo", "JobState", "PrinterState", "PrinterStatus", "render_png",
    "write_png",
]
