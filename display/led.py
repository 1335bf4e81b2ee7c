"""Window LED strip driver (窗口屏): shows a window's current ticket on a serial LED strip.

    python -m display.led --server http://127.0.0.1:8000 --token demo-led-01 \\
        --port /dev/ttyUSB0 --baudrate 9600 --protocol hl1 --address 1

called / recalled → 「请A012号」 (flashing) · accepted → 「A012号办理中」 · paused or closed (nobody signed in) → 「暂停服务」
· otherwise the idle text (「欢迎光临」, or e.g. --idle-text "{number}号窗口 {name}").

One strip per `led` device token (its configured window) by default. Several strips on one
RS-485 bus are driven by one process with `--window NUMBER=ADDRESS` (repeatable). The process
reconnects to the server and re-opens the port by itself; every (re)open re-sends the current
text, and it is re-sent every `--refresh` seconds anyway (a strip that lost power comes back).
Frame formats: display/ledproto.py.
"""
from __future__ import annotations

import argparse
import logging
import threading
from dataclasses import dataclass, field

from .hallclient import HallClient
from .ledproto import PROTOCOLS, make_protocol
from .seriallink import SerialLink, run_until_signalled

log = logging.getLogger("hall.led")

CALL_FLASHES = 3


@dataclass
class WindowView:
    number: int
    name: str = ""
    state: str = "open"
    ticket: str | None = None          # number of the ticket at the window
    ticket_id: int | None = None
    status: str | None = None          # called | serving


@dataclass
class Strip:
    protocol: object
    window_id: int | None = None
    window_number: int | None = None
    shown: tuple[str, int] | None = field(default=None)


class LedDriver:
    def __init__(self, server: str, token: str, port: str, *, baudrate: int = 9600, protocol: str = "hl1",
                 address: int = 1, colour: str = "red", align: str = "center", encoding: str = "gb18030",
                 idle_text: str = "欢迎光临", refresh: float = 60.0, windows: dict[int, int] | None = None,
                 heartbeat: float = 30.0):
        self.idle_text = idle_text
        self.refresh = refresh
        self._opts = dict(colour=colour, align=align, encoding=encoding)
        self._protocol = protocol
        self._lock = threading.RLock()
        self.views: dict[int, WindowView] = {}     # window id -> what it is doing
        self.strips: list[Strip] = ([Strip(make_protocol(protocol, address=a, **self._opts), window_number=n)
                                     for n, a in windows.items()] if windows else
                                    [Strip(make_protocol(protocol, address=address, **self._opts))])
        self.link = SerialLink(port, baudrate, on_open=self._resend_all)
        # Strips of several windows need the whole hall's events; one strip hears its window's.
        self.client = HallClient(server, token, on_snapshot=self._snapshot, on_event=self._event,
                                 status=self._status, heartbeat=heartbeat, scope="hall" if windows else None)
        self._stop = threading.Event()
        self._refresher = threading.Thread(target=self._refresh_loop, daemon=True, name="led-refresh")

    # ---------------------------------------------------------------- life
    def start(self) -> "LedDriver":
        if self.strips[0].window_number is None:
            me = self._whoami()
            self.strips[0].window_id = me["window_ids"][0]
        self.link.start()
        self.client.start()
        self._refresher.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.client.stop()
        self.link.stop()

    def _whoami(self) -> dict:
        """The token's window, asked until the server answers (it may still be starting)."""
        while True:
            try:
                me = self.client.api("GET", "/me")
            except Exception as exc:  # noqa: BLE001 - not up yet
                log.warning("server not answering (%s); retrying", exc)
                if self._stop.wait(2):
                    raise SystemExit(1)
                continue
            if not me.get("window_ids"):
                raise SystemExit("this token has no window: give a `led` device token with `window`, "
                                 "or --window NUMBER=ADDRESS")
            return me

    def _status(self) -> dict:
        shown = [s.shown[0] for s in self.strips if s.shown]
        return {"serial": "ok" if self.link.is_open else "disconnected", "led": " | ".join(shown)[:64]}

    # ---------------------------------------------------------------- what to show
    def text_for(self, view: WindowView | None) -> tuple[str, int]:
        """(text, flashes) for a window: the rule the strip follows."""
        if view is None:
            return self.idle_text, 0
        if view.state == "paused":
            return "暂停服务", 0
        if view.state == "closed":       # nobody signed in (queue_server/staffing.py)
            return "暂停服务", 0
        if view.ticket and view.status == "called":
            return f"请{view.ticket}号", CALL_FLASHES
        if view.ticket and view.status == "serving":
            return f"{view.ticket}号办理中", 0
        return self.idle_text.format(number=view.number, name=view.name), 0

    def _show(self, strip: Strip, force: bool = False) -> None:
        view = self.views.get(strip.window_id) if strip.window_id is not None else None
        text, flash = self.text_for(view)
        if strip.shown and strip.shown[0] == text and not force:
            return
        strip.shown = (text, flash)
        self.link.send(strip.protocol.encode(text, flash=flash))

    def _resend_all(self) -> None:
        with self._lock:
            for strip in self.strips:
                if strip.shown:
                    self.link.send(strip.protocol.encode(strip.shown[0], flash=0))

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.refresh):
            self._resend_all()

    # ---------------------------------------------------------------- the stream
    def _snapshot(self, snap: dict) -> None:
        with self._lock:
            self.views = {}
            for w in snap.get("windows", []):
                cur = w.get("current") or {}
                self.views[w["id"]] = WindowView(w["number"], w["name"], w["state"], cur.get("number"),
                                                 cur.get("id"), cur.get("status"))
                for strip in self.strips:
                    if strip.window_number == w["number"]:
                        strip.window_id = w["id"]
            for strip in self.strips:
                self._show(strip)

    def _event(self, e: dict) -> None:
        window = e.get("window") or {}
        with self._lock:
            view = self.views.get(window.get("id"))
            if view is None:
                return
            view.state = window.get("state", view.state)
            ticket = e.get("ticket") or {}
            kind = e["type"]
            force = False
            if kind in ("ticket.called", "ticket.recalled"):
                view.ticket, view.ticket_id, view.status = ticket.get("number"), ticket.get("id"), "called"
                force = True                               # a recall flashes again, same text
            elif kind == "case.accepted" and view.ticket_id == ticket.get("id") and ticket.get("status") == "serving":
                view.status = "serving"                    # a 即办件; a 承诺件's visit ends at 受理
            elif kind in ("case.accepted", "case.finished", "case.correction", "case.refused", "ticket.skipped",
                          "ticket.transferred") and view.ticket_id == ticket.get("id"):
                view.ticket = view.ticket_id = view.status = None
            for strip in self.strips:
                if strip.window_id == window.get("id"):
                    self._show(strip, force=force)


def _window_map(values: list[str]) -> dict[int, int]:
    out = {}
    for item in values:
        number, _, address = item.partition("=")
        out[int(number)] = int(address or number, 0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m display.led", description="窗口屏 LED strip driver")
    ap.add_argument("--server", required=True, help="the hall server, e.g. http://127.0.0.1:8000")
    ap.add_argument("--token", required=True, help="the strip's device token (kind = \"led\")")
    ap.add_argument("--port", required=True, help="serial device or pyserial URL, e.g. /dev/ttyUSB0")
    ap.add_argument("--baudrate", type=int, default=9600)
    ap.add_argument("--protocol", choices=sorted(PROTOCOLS), default="hl1")
    ap.add_argument("--address", type=lambda v: int(v, 0), default=1, help="RS-485 address (hl1), default 1")
    ap.add_argument("--colour", "--color", dest="colour", choices=["red", "green", "yellow"], default="red")
    ap.add_argument("--align", choices=["left", "center", "right"], default="center")
    ap.add_argument("--encoding", choices=["gb18030", "gb2312", "gbk"], default="gb18030")
    ap.add_argument("--idle-text", default="欢迎光临", help="shown when idle; {number} and {name} are replaced")
    ap.add_argument("--refresh", type=float, default=60.0, help="re-send the text every N seconds")
    ap.add_argument("--window", action="append", default=[], metavar="NUMBER=ADDRESS",
                    help="drive the strip of another window on the same bus (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    driver = LedDriver(args.server, args.token, args.port, baudrate=args.baudrate, protocol=args.protocol,
                       address=args.address, colour=args.colour, align=args.align, encoding=args.encoding,
                       idle_text=args.idle_text, refresh=args.refresh, windows=_window_map(args.window) or None)
    return run_until_signalled(driver)


if __name__ == "__main__":
    raise SystemExit(main())
