"""The citizen's pages: the SMS rating page `/r/<token>` and the QR progress page `/t/<query_code>`.

Both are public and mobile-first; their data comes from the public API with the token or query
code. Registering this blueprint also subscribes the SMS invitation to `case.finished`."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from .invitations import on_event

pages = Blueprint("ratings", __name__, template_folder="templates", static_folder="static",
                  static_url_path="/static/ratings")


@pages.record_once
def _install(state) -> None:
    app = state.app
    rt = app.extensions["hall"]
    if getattr(rt, "subscribers", None) is None:
        rt.subscribers = []  # Runtime field wanted: subscribers: list[Callable[[int, dict], None]]

    class _Wake:
        def set(self) -> None:
            workers = app.extensions.get("hall_workers")
            if workers is not None:
                workers.sms_wake.set()

    rt.subscribers.append(on_event(rt, _Wake()))


def _hall_name() -> str:
    rt = current_app.extensions["hall"]
    return next(iter(rt.halls.values())).name if len(rt.halls) == 1 else "政务服务中心"


@pages.get("/r/<token>")
def rate_by_link(token: str):
    return render_template("ratings/rate.html", token=token[:64], hall_name=_hall_name())


@pages.get("/t/<code>")
def progress(code: str):
    from .. import lookups
    lookups.guard()   # the page's own look-ups are limited too; this one counts the visit
    return render_template("ratings/progress.html", code=code[:32], hall_name=_hall_name())
