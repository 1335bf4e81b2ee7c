"""The supervisor's pages: the dashboard `/supervisor`, the slip box opening `/supervisor/slips`,
the printable monthly report `/supervisor/report`. The pages are shells: they log in through the
API, keep the token in sessionStorage and fetch everything with it.

Registering this blueprint also installs the audit hook, the append-only guard and, on the real
clock, the background workers (`app.extensions["hall_workers"].stop()` ends them)."""
from __future__ import annotations

from flask import Blueprint, render_template

from .audit import after_request, guard_engine

pages = Blueprint("supervision", __name__, template_folder="templates", static_folder="static",
                  static_url_path="/static/supervision")
pages.after_app_request(after_request)


@pages.record_once
def _install(state) -> None:
    app = state.app
    rt = app.extensions["hall"]
    guard_engine(rt.engine)


@pages.get("/supervisor")
def dashboard():
    return render_template("supervision/dashboard.html")


@pages.get("/supervisor/slips")
def slip_box():
    return render_template("supervision/slips.html")


@pages.get("/cases")
def case_desk():
    """办件台: clerks, the back office and supervisors work the cases after their visits."""
    return render_template("supervision/cases.html")


@pages.get("/supervisor/report")
def report():
    return render_template("supervision/report.html")
